#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A libiio writer transmits through iiostreamd's iiod-compatible port into
# the sim's DAC, whose loopback feeds what it plays into the sim's ADC; a
# native `iiostream rx --verify-loopback`, started first, must see silence,
# then the pattern from scan 0, every one of the SAMPLES written, in order
# and without a gap, then silence. And the daemon must end with every DAC
# block back.
#
# usage: iiod_tx_loopback_test.sh BUILD_DIR SAMPLES WRITER [ARGS...]
# WRITER is run as `WRITER [ARGS...] URI SAMPLES` and must write pattern
# scans 0..SAMPLES-1 of the two channels into sim-dac
# (tests/integration/iiod_tx_pylibiio.py: python3-libiio;
# tests/gnuradio/iio_sink_flowgraph.py: GNU Radio's stock iio device sink).
# Waits are for what happens, each bounded by $hang seconds, reached only by
# a hang (a loaded machine is slow, not broken).
set -euo pipefail
hang=60
build=$(cd "$1" && pwd)
samples=$2
shift 2
cli=$build/client/iiostream
tmp=$(mktemp -d)
daemon= rx=
cleanup() {
	[ -n "$rx" ] && kill "$rx" 2>/dev/null && wait "$rx" 2>/dev/null
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- daemon log"; cat "$tmp/daemon.log"
	exit 1
}
# until COMMAND succeeds, every 0.05 s, at most $hang s: else fail saying WHAT
until_true() {
	local what=$1
	shift
	for _ in $(seq $((hang * 20))); do "$@" && return 0; sleep 0.05; done
	fail "waited $hang s for $what"
}

"$build/server/iiostreamd" --source sim:channels=2,rate=1M --block-size 64K --blocks 32 \
	--listen 127.0.0.1:0 --iiod-listen 127.0.0.1:0 --port-file "$tmp/port" \
	>"$tmp/daemon.log" 2>&1 &
daemon=$!
until_true "the port file" test -s "$tmp/port"
url=tcp://127.0.0.1:$(sed -n 1p "$tmp/port")
uri=ip:127.0.0.1:$(sed -n 3p "$tmp/port")
"$cli" attr set --url "$url" --device sim-dac loopback 1 >/dev/null
stats() { "$cli" stats --url "$url" >"$tmp/stats.txt" 2>&1; }
# the ADC's blocks produced, and those the receiver was sent
produced() { stats; sed -n 's/^  stream 0 .* \([0-9]*\) blocks produced.*/\1/p' "$tmp/stats.txt"; }
received() { stats; grep -v iiod "$tmp/stats.txt" | sed -n 's/^  client .*(subscribed): \([0-9]*\) blocks.*/\1/p' | head -1; }

"$cli" rx --url "$url" --device sim --verify-loopback --json >"$tmp/rx.json" 2>"$tmp/rx.err" &
rx=$!
has_blocks() { local n; n=$(received); [ "${n:-0}" -gt 0 ]; }
until_true "the receiver's first block" has_blocks

timeout $((hang * 2)) "$@" "$uri" "$samples" >"$tmp/writer.out" 2>&1 ||
	fail "the writer ($*) failed: $(cat "$tmp/writer.out")"
cat "$tmp/writer.out"
# its buffer is closed: what it pushed plays out, then the DAC is idle
dac_idle() { stats; grep -q '^  tx stream .*, idle, 0/' "$tmp/stats.txt"; }
until_true "the DAC to play out and be idle" dac_idle
grep '^  tx stream' "$tmp/stats.txt"
# every block with the last scans played, and a few of silence after, sent
# to the receiver
want=$(($(produced) + 3))
got_past() { local n; n=$(received); [ "${n:-0}" -ge "$want" ]; }
until_true "the receiver's block $want" got_past
kill -INT "$rx"
wait "$rx" || fail "iiostream rx --verify-loopback exited $?: $(cat "$tmp/rx.err" "$tmp/rx.json")"
rx=
result=$(cat "$tmp/rx.json")
echo "rx: $result"
case $result in
*'"verified":true'*) ;;
*) fail "the loopback capture does not verify: $result" ;;
esac
case $result in
*"\"first_index\":0,\"matched\":$samples,"*) ;;
*) fail "want $samples pattern scans from 0: $result" ;;
esac
# No underflow, but one at the very end: the writer closed its buffer
# after the DAC had played all it pushed (a slow exit), which the daemon
# logs with the writer's sample position, its last
underflows=$(sed -n 's/^  tx stream .* \([0-9]*\) underflows .*/\1/p' "$tmp/stats.txt")
if [ "${underflows:-1}" != 0 ]; then
	grep "ran dry: " "$tmp/daemon.log" | grep -v "the last before its sample $samples;" &&
		fail "an underflow before the end: $(grep '^  tx stream' "$tmp/stats.txt")"
	grep -q "the last before its sample $samples;" "$tmp/daemon.log" ||
		fail "underflows not logged: $(grep '^  tx stream' "$tmp/stats.txt")"
	echo "the DAC ran dry after the last sample, before the writer closed its buffer (logged)"
fi
kill -TERM "$daemon"
wait "$daemon" || fail "iiostreamd exited $?"
daemon=
grep -q "32 of 32 blocks free" "$tmp/daemon.log" || fail "DAC blocks not all back"
echo "PASS: $* wrote $samples scans through the iiod port; all came back through the loopback, in order, without a gap"
