#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# stream_bench.sh - iiostream throughput against loopback TCP baselines.
#
#   bench/stream_bench.sh BUILD_DIR [SECONDS]
#
# Measures, one after the other and on 127.0.0.1 only:
#   iperf3 -Z (1 stream), iperf3 -P 4 -Z (4 streams), BUILD_DIR/bench/raw_send,
#   iiostream rx with 1 client, with 4 clients at once, and with 1 client
#   plus --verify; then prints a table and the ratios. See bench/README.md.
set -euo pipefail

readonly HOST=127.0.0.1
readonly DAEMON_FLAGS=(--rate 0 --block-size 1M --blocks 16 --channels 2
	--client-queue 8 --log-level warn)

usage() {
	echo "usage: $0 BUILD_DIR [SECONDS]   (SECONDS: whole number >= 1, default 5)" >&2
	exit 2
}

die() {
	echo "stream_bench: $*" >&2
	exit 1
}

log() {
	echo "stream_bench: $*" >&2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
BUILD_DIR=$1
SECONDS_RUN=${2:-5}
[[ $SECONDS_RUN =~ ^[1-9][0-9]*$ ]] || usage

RAW_SEND=$BUILD_DIR/bench/raw_send
DAEMON=$BUILD_DIR/server/iiostreamd
CLI=$BUILD_DIR/client/iiostream
for bin in "$RAW_SEND" "$DAEMON" "$CLI"; do
	[[ -x $bin ]] || die "$bin not found or not executable (build BUILD_DIR first)"
done
for tool in iperf3 ss awk; do
	command -v "$tool" >/dev/null || die "$tool is required"
done

# JSON field extraction: jq if installed, else python3.
if command -v jq >/dev/null; then
	JSON_TOOL=jq
elif command -v python3 >/dev/null; then
	JSON_TOOL=python3
else
	die "jq or python3 is required to parse JSON"
fi

# json_get FILE PATH: print the value at dotted PATH (e.g. end.sum_received.bits_per_second)
# of the JSON object in FILE; fails if it is missing.
json_get() {
	local file=$1 path=$2
	if [[ $JSON_TOOL == jq ]]; then
		jq -er ".$path" "$file"
	else
		python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
if v is None:
    sys.exit(1)
print(v)' "$file" "$path"
	fi
}

# Background processes still running, killed by the EXIT trap.
BG_PIDS=()
TMP=$(mktemp -d "${TMPDIR:-/tmp}/stream_bench.XXXXXX")

cleanup() {
	local pid
	trap - EXIT INT TERM
	for pid in "${BG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${BG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget_pid() {
	local pid=$1 i
	for i in "${!BG_PIDS[@]}"; do
		[[ ${BG_PIDS[$i]} == "$pid" ]] && unset 'BG_PIDS[i]'
	done
	BG_PIDS=("${BG_PIDS[@]}")
}

# is_listening PORT: something listens on 127.0.0.1:PORT (or on any address).
is_listening() {
	[[ -n $(ss -ltnH "( sport = :$1 )" 2>/dev/null) ]]
}

alive() {
	kill -0 "$1" 2>/dev/null
}

# stop_pid PID NAME: SIGTERM, wait up to 10 s, then SIGKILL; returns its exit status.
stop_pid() {
	local pid=$1 name=$2 i rc=0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		log "$name did not stop on SIGTERM within 10 s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" || rc=$?
	forget_pid "$pid"
	return "$rc"
}

# ---------------------------------------------------------------- iperf3

# iperf3_run NAME OUT_JSON [CLIENT_FLAGS...]: one iperf3 test on a free port;
# sets IPERF_MBPS to the receiver's rate in MB/s (10^6 bytes/s). Not meant for
# $(...): the server's pid must reach the EXIT trap.
IPERF_MBPS=
iperf3_run() {
	local name=$1 out=$2 port='' pid='' i bps
	shift 2
	for _ in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 40000))
		is_listening "$port" && continue
		iperf3 -s -1 -B "$HOST" -p "$port" >"$TMP/iperf3-server.log" 2>&1 &
		pid=$!
		BG_PIDS+=("$pid")
		for ((i = 0; i < 50; i++)); do
			is_listening "$port" && break
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid" && is_listening "$port"; then
			break
		fi
		stop_pid "$pid" "iperf3 -s" || true # lost a race for the port: try another
		pid=
	done
	[[ -n $pid ]] || die "$name: could not start iperf3 -s on $HOST"

	if ! iperf3 -c "$HOST" -B "$HOST" -p "$port" -t "$SECONDS_RUN" -J "$@" >"$out" 2>&1; then
		log "$name failed:"
		cat "$out" >&2
		stop_pid "$pid" "iperf3 -s" || true
		exit 1
	fi
	stop_pid "$pid" "iperf3 -s" >/dev/null 2>&1 || true # -1: it exits by itself
	bps=$(json_get "$out" end.sum_received.bits_per_second) ||
		die "$name: no end.sum_received.bits_per_second in $out"
	IPERF_MBPS=$(awk -v b="$bps" 'BEGIN { printf "%.2f\n", b / 8 / 1e6 }')
}

# ---------------------------------------------------------------- iiostream

DAEMON_PID=
DAEMON_PORT=

daemon_start() {
	local pf=$TMP/port i
	rm -f "$pf"
	"$DAEMON" --listen "$HOST:0" --port-file "$pf" "${DAEMON_FLAGS[@]}" \
		>"$TMP/daemon.log" 2>&1 &
	DAEMON_PID=$!
	BG_PIDS+=("$DAEMON_PID")
	for ((i = 0; i < 100; i++)); do
		[[ -s $pf ]] && break
		if ! alive "$DAEMON_PID"; then
			cat "$TMP/daemon.log" >&2
			die "iiostreamd exited before writing its port file"
		fi
		sleep 0.1
	done
	[[ -s $pf ]] || die "iiostreamd did not write $pf within 10 s"
	DAEMON_PORT=$(sed -n 1p "$pf")
	[[ $DAEMON_PORT =~ ^[0-9]+$ ]] || die "bad port file content: '$DAEMON_PORT'"
}

daemon_stop() {
	local rc=0
	stop_pid "$DAEMON_PID" iiostreamd || rc=$?
	if ((rc != 0)); then
		log "iiostreamd exited with status $rc; its log:"
		cat "$TMP/daemon.log" >&2
	fi
	DAEMON_PID=
}

# rx_start TAG [EXTRA_FLAGS...]: start one `iiostream rx` in the background;
# its pid is appended to RX_PIDS.
RX_PIDS=()
rx_start() {
	local tag=$1
	shift
	"$CLI" rx --url "tcp://$HOST:$DAEMON_PORT" --seconds "$SECONDS_RUN" --json --quiet "$@" \
		>"$TMP/rx-$tag.out" 2>"$TMP/rx-$tag.err" &
	RX_PIDS+=($!)
	BG_PIDS+=($!)
}

# rx_wait TAG PID: wait for it and leave its summary in $TMP/rx-TAG.json.
# Exit status 3 (--verify found wrong data) still yields a summary.
rx_wait() {
	local tag=$1 pid=$2 rc=0 end
	wait "$pid" || rc=$?
	forget_pid "$pid"
	if ((rc != 0 && rc != 3)); then
		log "iiostream rx ($tag) exited with status $rc:"
		cat "$TMP/rx-$tag.err" >&2
		exit 1
	fi
	tail -n 1 "$TMP/rx-$tag.out" >"$TMP/rx-$tag.json"
	json_get "$TMP/rx-$tag.json" mbytes_per_s >/dev/null ||
		die "iiostream rx ($tag): no JSON summary on stdout"
	end=$(json_get "$TMP/rx-$tag.json" end 2>/dev/null || echo completed)
	[[ $end == completed ]] || log "warning: iiostream rx ($tag) ended with '$end'"
	((rc == 0)) || log "warning: iiostream rx ($tag) found integrity errors"
}

# iiostream_run N TAG [EXTRA_FLAGS...]: N clients at once against a fresh daemon.
iiostream_run() {
	local n=$1 tag=$2 i
	shift 2
	daemon_start
	RX_PIDS=()
	for ((i = 1; i <= n; i++)); do
		rx_start "$tag-$i" "$@"
	done
	for ((i = 1; i <= n; i++)); do
		rx_wait "$tag-$i" "${RX_PIDS[i - 1]}"
	done
	daemon_stop
}

# sum_field TAG N FIELD: sum of FIELD over $TMP/rx-TAG-{1..N}.json.
sum_field() {
	local tag=$1 n=$2 field=$3 i v total=0
	for ((i = 1; i <= n; i++)); do
		v=$(json_get "$TMP/rx-$tag-$i.json" "$field")
		total=$(awk -v a="$total" -v b="$v" 'BEGIN { printf "%.2f\n", a + b }')
	done
	echo "$total"
}

# ---------------------------------------------------------------- run

log "loopback only ($HOST), ${SECONDS_RUN} s per figure, JSON via $JSON_TOOL"

log "iperf3 -Z, 1 stream ..."
iperf3_run "iperf3 -Z" "$TMP/iperf3-1.json" -Z
IPERF1=$IPERF_MBPS
log "iperf3 -P 4 -Z, 4 streams ..."
iperf3_run "iperf3 -P 4 -Z" "$TMP/iperf3-4.json" -P 4 -Z
IPERF4=$IPERF_MBPS

log "raw_send ..."
"$RAW_SEND" --seconds "$SECONDS_RUN" >"$TMP/raw.json" || die "raw_send failed"
RAW=$(json_get "$TMP/raw.json" mbytes_per_s) || die "raw_send: no mbytes_per_s"

log "iiostream, 1 client ..."
iiostream_run 1 one
IIO1=$(sum_field one 1 mbytes_per_s)
IIO1_LOST=$(sum_field one 1 lost_blocks)

log "iiostream, 4 clients ..."
iiostream_run 4 four
IIO4=$(sum_field four 4 mbytes_per_s)
IIO4_LOST=$(sum_field four 4 lost_blocks)
IIO4_MIN=$(for i in 1 2 3 4; do json_get "$TMP/rx-four-$i.json" mbytes_per_s; done |
	sort -g | head -n 1)

log "iiostream, 1 client --verify ..."
iiostream_run 1 verify --verify
IIOV=$(sum_field verify 1 mbytes_per_s)
IIOV_LOST=$(sum_field verify 1 lost_blocks)
IIOV_ERR=$(sum_field verify 1 integrity_errors)

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "n/a" }'
}

int() {
	awk -v a="$1" 'BEGIN { printf "%d\n", a }'
}

echo
echo "loopback stream benchmark, $SECONDS_RUN s per figure, MB = 10^6 bytes"
echo
printf '%-34s %10s  %s\n' "figure" "MB/s" "notes"
printf '%-34s %10.1f  %s\n' "iperf3 -Z (1 stream)" "$IPERF1" "receiver"
printf '%-34s %10.1f  %s\n' "iperf3 -P 4 -Z (4 streams)" "$IPERF4" "receiver, sum"
printf '%-34s %10.1f  %s\n' "raw_send (1 stream)" "$RAW" "receiver"
printf '%-34s %10.1f  %s\n' "iiostream rx x1" "$IIO1" "lost_blocks $(int "$IIO1_LOST")"
printf '%-34s %10.1f  %s\n' "iiostream rx x4 (aggregate)" "$IIO4" \
	"lost_blocks $(int "$IIO4_LOST"), slowest client $IIO4_MIN MB/s"
printf '%-34s %10.1f  %s\n' "iiostream rx x1 --verify (info)" "$IIOV" \
	"lost_blocks $(int "$IIOV_LOST"), integrity_errors $(int "$IIOV_ERR")"
echo
printf '%-34s %10s\n' "ratio" ""
printf '%-34s %10s\n' "iiostream-1 / iperf3-Z" "$(ratio "$IIO1" "$IPERF1")"
printf '%-34s %10s\n' "iiostream-1 / raw" "$(ratio "$IIO1" "$RAW")"
printf '%-34s %10s\n' "iiostream-4 / iperf3-P4-Z" "$(ratio "$IIO4" "$IPERF4")"
printf '%-34s %10s\n' "iiostream-4 / raw" "$(ratio "$IIO4" "$RAW")"
