#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# multidevice_bench.sh - one daemon streaming two devices against one
# streaming one, in the same run, on 127.0.0.1.
#
#   bench/multidevice_bench.sh BUILD_DIR [SECONDS] [ROUNDS]
#
# Each round runs, one after the other:
#   one:  iiostreamd with one unpaced sim device, one `iiostream rx` on it;
#   two:  iiostreamd with two unpaced sim devices, one `iiostream rx` on
#         each (--device), at the same time.
# and reads the daemon's memory (/proc/PID/status: VmRSS, RssAnon,
# RssShmem) while its clients stream. It prints each round, then the
# medians and the ratios the issue sets as goals: two devices together
# >= 0.9x one device, and RSS grown by the second device's ring (its
# blocks are memfd pages: RssShmem) and nothing else. See bench/README.md.
set -euo pipefail

readonly HOST=127.0.0.1
readonly BLOCK=1M BLOCKS=16
readonly COMMON=(--rate 0 --block-size "$BLOCK" --blocks "$BLOCKS" --channels 2
	--client-queue 8 --log-level warn --listen "$HOST:0")

usage() {
	echo "usage: $0 BUILD_DIR [SECONDS] [ROUNDS]   (defaults 5 and 3)" >&2
	exit 2
}
die() {
	echo "multidevice_bench: $*" >&2
	exit 1
}

[[ $# -ge 1 && $# -le 3 ]] || usage
BUILD_DIR=$1
SECONDS_RUN=${2:-5}
ROUNDS=${3:-3}
[[ $SECONDS_RUN =~ ^[1-9][0-9]*$ && $ROUNDS =~ ^[1-9][0-9]*$ ]] || usage
DAEMON=$BUILD_DIR/server/iiostreamd
CLI=$BUILD_DIR/client/iiostream
for bin in "$DAEMON" "$CLI"; do
	[[ -x $bin ]] || die "$bin not found (build BUILD_DIR first)"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/multidevice_bench.XXXXXX")
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# json_num FILE KEY: a number of the one-line JSON summary of `iiostream rx`.
json_num() {
	sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1"
}

# status_kb PID FIELD: a /proc/PID/status field in kB.
status_kb() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

DAEMON_PID=
DAEMON_PORT=
daemon_start() {
	local pf=$TMP/port i
	rm -f "$pf"
	"$DAEMON" "${COMMON[@]}" --port-file "$pf" "$@" >"$TMP/daemon.log" 2>&1 &
	DAEMON_PID=$!
	PIDS+=("$DAEMON_PID")
	for ((i = 0; i < 100; i++)); do
		[[ -s $pf ]] && break
		kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$TMP/daemon.log" >&2; die "iiostreamd exited"; }
		sleep 0.1
	done
	DAEMON_PORT=$(sed -n 1p "$pf")
	[[ $DAEMON_PORT =~ ^[0-9]+$ ]] || die "no port from iiostreamd"
}

daemon_stop() {
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID" || die "iiostreamd exited with status $?: $(cat "$TMP/daemon.log")"
	PIDS=()
}

# run TAG DEVICE...: one rx per device, at once; prints "MBPS RSS ANON SHMEM"
# (MB/s summed over the clients, kB of the daemon halfway through).
run() {
	local tag=$1 dev rxs=() pid total=0 rss anon shmem
	shift
	for dev in "$@"; do
		"$CLI" rx --url "tcp://$HOST:$DAEMON_PORT" --device "$dev" --seconds "$SECONDS_RUN" \
			--json --quiet >"$TMP/$tag-$dev.json" 2>"$TMP/$tag-$dev.err" &
		rxs+=($!)
	done
	sleep "$(awk -v s="$SECONDS_RUN" 'BEGIN { print s / 2 }')"
	rss=$(status_kb "$DAEMON_PID" VmRSS)
	anon=$(status_kb "$DAEMON_PID" RssAnon)
	shmem=$(status_kb "$DAEMON_PID" RssShmem)
	for pid in "${rxs[@]}"; do
		wait "$pid" || die "iiostream rx ($tag) failed: $(cat "$TMP"/$tag-*.err)"
	done
	for dev in "$@"; do
		total=$(awk -v a="$total" -v b="$(json_num "$TMP/$tag-$dev.json" mbytes_per_s)" \
			'BEGIN { printf "%.2f", a + b }')
	done
	echo "$total $rss $anon $shmem"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

printf '%-6s %-5s %12s %10s %10s %10s\n' round case "MB/s" "VmRSS kB" "anon kB" "shmem kB"
: >"$TMP/one" && : >"$TMP/two"
for ((r = 1; r <= ROUNDS; r++)); do
	daemon_start --source sim:name=a
	read -r mbps rss anon shmem < <(run one a)
	daemon_stop
	printf '%-6s %-5s %12s %10s %10s %10s\n' "$r" one "$mbps" "$rss" "$anon" "$shmem"
	echo "$mbps $rss $anon $shmem" >>"$TMP/one"

	daemon_start --source sim:name=a --source sim:name=b
	read -r mbps rss anon shmem < <(run two a b)
	daemon_stop
	printf '%-6s %-5s %12s %10s %10s %10s\n' "$r" two "$mbps" "$rss" "$anon" "$shmem"
	echo "$mbps $rss $anon $shmem" >>"$TMP/two"
done

col() { awk -v c="$2" '{ print $c }' "$1" | median; }
one_mbps=$(col "$TMP/one" 1) two_mbps=$(col "$TMP/two" 1)
one_rss=$(col "$TMP/one" 2) two_rss=$(col "$TMP/two" 2)
one_anon=$(col "$TMP/one" 3) two_anon=$(col "$TMP/two" 3)
one_shm=$(col "$TMP/one" 4) two_shm=$(col "$TMP/two" 4)
ring_kb=$((16 * 1024))
echo
echo "medians of $ROUNDS rounds, ${SECONDS_RUN} s each, blocks of $BLOCK x $BLOCKS per device:"
printf '  one device, one client:      %10s MB/s  VmRSS %s kB (anon %s, shmem %s)\n' \
	"$one_mbps" "$one_rss" "$one_anon" "$one_shm"
printf '  two devices, a client each:  %10s MB/s  VmRSS %s kB (anon %s, shmem %s)\n' \
	"$two_mbps" "$two_rss" "$two_anon" "$two_shm"
awk -v a="$one_mbps" -v b="$two_mbps" 'BEGIN { printf "  throughput ratio two/one:    %10.2f   (goal >= 0.90)\n", b / a }'
awk -v d="$((two_rss - one_rss))" -v s="$((two_shm - one_shm))" -v n="$((two_anon - one_anon))" \
	-v ring="$ring_kb" 'BEGIN {
	printf "  RSS growth:                  %10d kB  (second ring %d kB: shmem +%d kB, anon %+d kB)\n", d, ring, s, n }'
