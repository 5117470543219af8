#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tx_bench.sh - transmit throughput against the raw loopback TCP limit, and
# a paced transmission's underflows.
#
#   bench/tx_bench.sh BUILD_DIR [SECONDS] [ROUNDS] [PACED_SECONDS]
#
# On 127.0.0.1 only:
#  1. ROUNDS times (default 3), one after the other: BUILD_DIR/bench/raw_send
#     (1 MiB send()s, SECONDS each, default 5) and `iiostream tx --pattern`
#     into the sim's DAC, unpaced (rate 0: a block plays as soon as it is
#     queued), 1 MiB blocks; the medians and their ratio are printed;
#  2. a paced transmission at 100 MB/s (25 M scans/s of 2 channels) for
#     PACED_SECONDS (default 60): its achieved rate and underflows (the goal
#     is none).
# A Release build is what the figures in docs/performance.md come from:
#   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DIIOSTREAM_TESTS=OFF \
#         -DIIOSTREAM_GNURADIO=OFF && cmake --build build-rel -j
set -euo pipefail

usage() {
	echo "usage: $0 BUILD_DIR [SECONDS] [ROUNDS] [PACED_SECONDS]" >&2
	exit 2
}

[[ $# -ge 1 && $# -le 4 ]] || usage
BUILD_DIR=$1
SECS=${2:-5}
ROUNDS=${3:-3}
PACED=${4:-60}
for n in "$SECS" "$ROUNDS" "$PACED"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || usage
done
RAW_SEND=$BUILD_DIR/bench/raw_send
DAEMON=$BUILD_DIR/server/iiostreamd
CLI=$BUILD_DIR/client/iiostream
for bin in "$RAW_SEND" "$DAEMON" "$CLI"; do
	[[ -x $bin ]] || { echo "tx_bench: $bin not found (build BUILD_DIR first)" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tx_bench.XXXXXX")
DAEMON_PID=
cleanup() {
	[[ -z $DAEMON_PID ]] || kill "$DAEMON_PID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

# start_daemon SPEC...: iiostreamd on an ephemeral port; URL set.
start_daemon() {
	rm -f "$TMP/port"
	"$DAEMON" "$@" --listen 127.0.0.1:0 --port-file "$TMP/port" --log-level warn \
		2>"$TMP/daemon.log" &
	DAEMON_PID=$!
	for _ in $(seq 500); do
		[[ -s $TMP/port ]] && break
		sleep 0.01
	done
	[[ -s $TMP/port ]] || { cat "$TMP/daemon.log" >&2; exit 1; }
	URL=tcp://127.0.0.1:$(head -1 "$TMP/port")  # its first line: the plain port
}

stop_daemon() {
	kill "$DAEMON_PID"
	wait "$DAEMON_PID" || true
	DAEMON_PID=
}

# json FILE KEY: a number from a one-line JSON object.
json() {
	grep -o "\"$2\":[-0-9.]*" "$1" | head -1 | cut -d: -f2
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

raw=() tx=()
for r in $(seq "$ROUNDS"); do
	"$RAW_SEND" --seconds "$SECS" --block-size 1M >"$TMP/raw.json"
	raw+=("$(json "$TMP/raw.json" mbytes_per_s)")
	start_daemon --source sim:rate=0,channels=2 --block-size 1M --blocks 16
	"$CLI" tx --url "$URL" --device sim-dac --pattern --duration "$SECS" --json \
		>"$TMP/tx.json" 2>"$TMP/tx.err" || { cat "$TMP/tx.err" >&2; exit 1; }
	stop_daemon
	tx+=("$(json "$TMP/tx.json" mbytes_per_s)")
	echo "tx_bench: round $r: raw send() ${raw[-1]} MB/s, iiostream tx ${tx[-1]} MB/s" >&2
done
raw_med=$(printf '%s\n' "${raw[@]}" | median)
tx_med=$(printf '%s\n' "${tx[@]}" | median)

start_daemon --source sim:rate=25M,channels=2 --block-size 1M --blocks 16
"$CLI" tx --url "$URL" --device sim-dac --pattern --duration "$PACED" --json \
	>"$TMP/paced.json" 2>"$TMP/paced.err" || { cat "$TMP/paced.err" >&2; exit 1; }
stop_daemon

printf '\n%-46s %12s\n' "loopback, 1 MiB blocks ($ROUNDS x ${SECS} s, median)" "MB/s"
printf '%-46s %12s\n' "raw send() (bench/raw_send)" "$raw_med"
printf '%-46s %12s\n' "iiostream tx -> sim DAC, unpaced" "$tx_med"
printf '%-46s %12s\n' "ratio tx / raw send() (goal >= 0.8)" \
	"$(awk -v a="$tx_med" -v b="$raw_med" 'BEGIN { printf "%.2f", a / b }')"
printf '\n%-46s %12s\n' "paced 100 MB/s for ${PACED} s" ""
printf '%-46s %12s\n' "achieved MB/s" "$(json "$TMP/paced.json" mbytes_per_s)"
printf '%-46s %12s\n' "blocks played" "$(json "$TMP/paced.json" blocks_played)"
printf '%-46s %12s\n' "underflows (goal 0)" "$(json "$TMP/paced.json" underflows)"
printf '%-46s %12s\n' "scans of silence" "$(json "$TMP/paced.json" underflow_samples)"
