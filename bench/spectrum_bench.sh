#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# spectrum_bench.sh - what the web console's live spectrum costs the stream.
#
#   bench/spectrum_bench.sh BUILD_DIR [SECONDS] [RATE]
#
# 1. CPU per spectrum frame (BUILD_DIR/bench/spectrum_bench cpu): 1024,
#    2048 and 4096 bins, I/Q and real, and what 25 frames/s take of a core.
# 2. Side by side in one run, on 127.0.0.1 only, each for SECONDS (default
#    5): one `iiostream rx` client of a daemon streaming 2 channels at RATE
#    scans/s (default 25000000: 100 MB/s; 0: unpaced, as fast as blocks
#    come back) with no spectrum viewer, with one, with four of one
#    spectrum (computed once) and four of four spectra (WebSockets of 4096
#    bins at 25 frames/s, reading every frame); then the same unpaced. For each: the client's MB/s and skipped blocks, the daemon's
#    CPU (% of one core, from /proc/PID/stat) and the viewers' frames/s.
# The extra daemon CPU with viewers is what the console costs; the goal is
# under 5 % of one core with four viewers and no block lost (issue 20).
# See bench/README.md, "Spectrum".
set -euo pipefail

readonly HOST=127.0.0.1
usage() {
	echo "usage: $0 BUILD_DIR [SECONDS] [RATE]" >&2
	exit 2
}
die() {
	echo "spectrum_bench: $*" >&2
	exit 1
}
log() { echo "spectrum_bench: $*" >&2; }

[[ $# -ge 1 && $# -le 3 ]] || usage
BUILD_DIR=$1
SECONDS_RUN=${2:-5}
RATE=${3:-25000000}
[[ $SECONDS_RUN =~ ^[1-9][0-9]*$ && $RATE =~ ^[0-9]+$ ]] || usage
DAEMON=$BUILD_DIR/server/iiostreamd
CLI=$BUILD_DIR/client/iiostream
SB=$BUILD_DIR/bench/spectrum_bench
for bin in "$DAEMON" "$CLI" "$SB"; do
	[[ -x $bin ]] || die "$bin not found (build BUILD_DIR first)"
done
command -v python3 >/dev/null || die "python3 is required (JSON)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/spectrum_bench.XXXXXX")
BG_PIDS=()
cleanup() {
	local pid
	trap - EXIT INT TERM
	for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# json FILE KEY: a top-level number of the JSON object on FILE's last line.
json() {
	python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])' "$1" "$2"
}

# cpu_ticks PID: user + system time of PID, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
HZ=$(getconf CLK_TCK)

DAEMON_PID= HTTP_PORT= PORT=
daemon_start() { # daemon_start RATE
	local pf=$TMP/port i
	rm -f "$pf"
	"$DAEMON" --listen "$HOST:0" --http-listen "$HOST:0" --port-file "$pf" --rate "$1" \
		--channels 2 --block-size 1M --blocks 16 --client-queue 8 --log-level info \
		>"$TMP/daemon.log" 2>&1 &
	DAEMON_PID=$!
	BG_PIDS+=("$DAEMON_PID")
	for ((i = 0; i < 100; i++)); do
		[[ -s $pf ]] && break
		kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$TMP/daemon.log" >&2; die "iiostreamd exited"; }
		sleep 0.1
	done
	[[ -s $pf ]] || die "no port file from iiostreamd"
	PORT=$(sed -n 1p "$pf")
	HTTP_PORT=$(sed -n 4p "$pf")
}

daemon_stop() {
	local rc=0
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID" || rc=$?
	((rc == 0)) || { cat "$TMP/daemon.log" >&2; die "iiostreamd exited with $rc"; }
}

ROWS=()
# phase NAME VIEWERS [distinct]: one client for SECONDS beside VIEWERS
# viewers, of one spectrum (shared: computed once), or with `distinct` of
# as many different spectra (channels 0,1; 1,0; 0; 1: each computed).
phase() {
	local name=$1 nv=$2 distinct=${3:-} i t0 t1 vpids=() fps=0 before
	local chans=(0,1 1,0 0 1)
	before=$(grep -c "spectrum of" "$TMP/daemon.log" || true)
	for ((i = 1; i <= nv; i++)); do
		q="bins=4096&fps=25"
		[[ -n $distinct ]] && q="$q&channels=${chans[i - 1]}"
		"$SB" viewer "$HTTP_PORT" "/api/v1/spectrum?$q" $((SECONDS_RUN + 2)) \
			>"$TMP/v$i.json" 2>"$TMP/v$i.err" &
		vpids+=($!)
	done
	for ((i = 0; i < 100; i++)); do # until every viewer is attached
		(($(grep -c "spectrum of" "$TMP/daemon.log" || true) >= before + nv)) && break
		sleep 0.1
	done
	sleep 0.5 # the first frames are computed
	t0=$(cpu_ticks "$DAEMON_PID")
	"$CLI" rx --url "tcp://$HOST:$PORT" --seconds "$SECONDS_RUN" --json --quiet \
		>"$TMP/rx.json" 2>"$TMP/rx.err" || { cat "$TMP/rx.err" >&2; die "$name: rx failed"; }
	t1=$(cpu_ticks "$DAEMON_PID")
	for ((i = 1; i <= nv; i++)); do
		wait "${vpids[i - 1]}" || { cat "$TMP/v$i.err" >&2; die "$name: viewer $i failed"; }
		fps=$(awk -v a="$fps" -v b="$(json "$TMP/v$i.json" fps)" 'BEGIN { print a + b }')
	done
	ROWS+=("$(printf '%-18s %-16s %10.1f %8s %10.1f %12s' "$name" "$nv${distinct:+ (${nv} spectra)}" \
		"$(json "$TMP/rx.json" mbytes_per_s)" "$(json "$TMP/rx.json" lost_blocks)" \
		"$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v s="$SECONDS_RUN" 'BEGIN { print d / hz / s * 100 }')" \
		"$( ((nv)) && awk -v f="$fps" -v n="$nv" 'BEGIN { printf "%.1f", f / n }' || echo -)")")
	log "$name, $nv viewers: done"
}

log "1. CPU per frame (this process, one core)"
"$SB" cpu 1
echo
for rate in "$RATE" 0; do
	daemon_start "$rate"
	label=$( ((rate)) && echo "$((rate * 4 / 1000000)) MB/s paced" || echo "unpaced")
	for nv in 0 1 4; do
		phase "$label" "$nv"
	done
	phase "$label" 4 distinct
	daemon_stop
done
log "2. one client beside 0, 1 and 4 spectrum viewers (4096 bins, 25/s)"
printf '%-18s %-16s %10s %8s %10s %12s\n' "stream" "viewers" "rx MB/s" "skipped" "daemon %" "viewer fps"
printf '%s\n' "${ROWS[@]}"
