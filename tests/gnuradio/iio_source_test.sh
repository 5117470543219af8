#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A GNU Radio flowgraph with the stock iio device source (gr-iio) receives
# samples from iiostreamd's iiod-compatible listener; they must verify
# (iiostream verify), and the source's sampling_frequency parameter must
# reach the daemon. Twice:
#  - uri ip:127.0.0.1:PORT, the listener on a port of the kernel's choosing;
#  - uri ip:127.0.0.1, as users write it: the listener on iiod's own port
#    30431, in a network namespace of the test's own (unshare), so that no
#    iiod of the host is in the way; iio_info -u ip:127.0.0.1 lists the
#    device there too;
#  - a daemon streaming two devices (two --source), the flowgraph on the
#    second one (adc2) while a native client receives the first (adc1):
#    both verify.
# Waits are for what happens, each bounded by $hang seconds, reached only by
# a hang (a loaded machine is slow, not broken).
# usage: iio_source_test.sh BUILD_DIR
set -euo pipefail
hang=60
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
if ! $py -c 'from gnuradio import iio' 2>/dev/null; then
	echo "FAIL: GNU Radio's iio module does not import in $py (scripts/deps.sh installs gnuradio)"
	exit 1
fi
tmp=$(mktemp -d)
daemon=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- daemon log"; cat "$tmp/daemon.log"
	exit 1
}

# The samples' gaps are allowed only as what a loaded machine causes, every
# scan accounted for: blocks the daemon skipped for the flowgraph (16384
# scans each), if the flowgraph's threads waited, runnable, for a CPU at
# least a block's time (BLOCK_S), and scans the source lost to overflows,
# if the daemon's loop waited at least as long as its ring of blocks lasts
# (RING_S) (run_delay: /proc/PID/schedstat). On an idle machine neither
# waits: a gap fails there, as always.
cpu_wait() { awk '{ printf "%.3f", $2 / 1e9 }' "/proc/$1/schedstat"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
gaps_excused() { # VERIFY_JSON STATS_URL DAEMON_PID WAIT0 RING_S FLOWGRAPH_WAIT BLOCK_S
	local missing stats skips lost waited
	missing=$(sed -n 's/.*"scans_missing":\([0-9]*\).*/\1/p' <<<"$1")
	stats=$("$build/client/iiostream" stats --url "$2") || return 1
	skips=$(sed -n 's/^client skips: *\([0-9]*\) blocks.*/\1/p' <<<"$stats")
	lost=$(sed -n 's/^overflows: *[0-9]* (\([0-9]*\) scans lost).*/\1/p' <<<"$stats")
	waited=$(awk -v a="$(cpu_wait "$3")" -v b="$4" 'BEGIN { printf "%.3f", a - b }')
	echo "gaps: $missing scans missing; the daemon skipped $skips blocks (the flowgraph waited" \
		"$6 s for a CPU, a block lasts $7 s), lost $lost scans to overflows (it waited" \
		"$waited s, its ring lasts $5 s)"
	[ "${missing:-1}" -le $((${lost:-0} + ${skips:-0} * 16384)) ] &&
		{ [ "${skips:-0}" = 0 ] || ge "$6" "$7"; } &&
		{ [ "${lost:-0}" = 0 ] || ge "$waited" "$5"; }
}

# stream IIOD_LISTEN URI [DEVICE [DAEMON_ARGS...]]: URI may hold PORT, the
# listener's port; DEVICE (default sim, the one device) is the one the
# flowgraph reads, of the daemon's (more --source with DAEMON_ARGS)
stream() {
	local listen=$1 uri_t=$2 device=${3:-sim}
	shift 2
	shift $(($# > 0 ? 1 : 0))
	rm -f "$tmp/port"
	"$build/server/iiostreamd" --channels 2 --rate 1000000 --block-size 64K \
		--listen 127.0.0.1:0 --iiod-listen "$listen" --port-file "$tmp/port" "$@" \
		>"$tmp/daemon.log" 2>&1 &
	daemon=$!
	for _ in $(seq $((hang * 10))); do [ -s "$tmp/port" ] && break; sleep 0.1; done
	[ -s "$tmp/port" ] || fail "no port file in $hang s"
	local plain iiod uri samples=300000 size result rate wait0 native=
	wait0=$(cpu_wait "$daemon")
	plain=$(sed -n 1p "$tmp/port")
	iiod=$(sed -n 3p "$tmp/port")
	uri=${uri_t/PORT/$iiod}
	if [ "$device" != sim ]; then
		# a native client of the first device meanwhile
		"$build/client/iiostream" rx --url "tcp://127.0.0.1:$plain" --device adc1 --blocks 100 \
			--verify --quiet --json >"$tmp/native.json" 2>"$tmp/native.err" &
		native=$!
	fi
	if [ "$uri" = ip:127.0.0.1 ]; then
		iio_info -u "$uri" >"$tmp/info.txt" 2>&1 || fail "iio_info -u $uri: $(cat "$tmp/info.txt")"
		grep -q "sim: iiostream-sim (buffer capable)" "$tmp/info.txt" ||
			fail "iio_info -u $uri does not list the sim: $(cat "$tmp/info.txt")"
		echo "iio_info -u $uri lists: $(grep "buffer capable" "$tmp/info.txt")"
	fi
	timeout $((hang * 2)) $py "$here/iio_source_flowgraph.py" "$uri" "$device" $samples \
		"$tmp/gr.bin" 500000 >"$tmp/gr.out" || fail "the flowgraph on $uri failed: $(cat "$tmp/gr.out")"
	cat "$tmp/gr.out"
	size=$(stat -c %s "$tmp/gr.bin")
	[ "$size" -eq $((samples * 4)) ] || fail "$size bytes, want $((samples * 4))"
	result=$("$build/client/iiostream" verify "$tmp/gr.bin" --channels 0,1 --json) ||
		fail "samples do not verify: $result"
	echo "verify ($uri): $result"
	case $result in
	*'"errors":0}') ;;
	*) fail "errors: $result" ;;
	esac
	# 8 blocks of 64 KiB at 500 k scans/s of 4 bytes: 0.262 s, a block 0.033 s
	case $result in
	*'"gaps":0,'*) ;;
	*) gaps_excused "$result" "tcp://127.0.0.1:$plain" "$daemon" "$wait0" 0.262 \
		"$(sed -n 's/^cpu_wait_s: //p' "$tmp/gr.out")" 0.033 || fail "gaps: $result" ;;
	esac
	if [ -n "$native" ]; then
		wait "$native" || fail "native client of adc1: $(cat "$tmp/native.err" "$tmp/native.json")"
		grep -q '"integrity_errors":0' "$tmp/native.json" ||
			fail "native client of adc1: $(cat "$tmp/native.json")"
		echo "native client of adc1 meanwhile: $(cat "$tmp/native.json")"
	fi
	rate=$("$build/client/iiostream" attr get sampling_frequency --device "$device" \
		--url "tcp://127.0.0.1:$plain")
	[ "$rate" = 500000 ] || fail "sampling_frequency is '$rate', the flowgraph set 500000"
	kill -TERM "$daemon"
	wait "$daemon" || fail "iiostreamd exited $?"
	daemon=
	grep -q "8 of 8 blocks back" "$tmp/daemon.log" || fail "blocks not all back"
	echo "PASS: gr-iio on $uri ($device) received $samples verified samples of 2 channels"
}

if [ "${IIOS_GR_NETNS:-}" = 1 ]; then
	# inside the namespace: its loopback is down until brought up
	ip link set lo up
	stream 127.0.0.1:30431 ip:127.0.0.1
	exit 0
fi
stream 127.0.0.1:0 ip:127.0.0.1:PORT
stream 127.0.0.1:0 ip:127.0.0.1:PORT adc2 --source sim:name=adc1,channels=4,rate=1M \
	--source sim:name=adc2,channels=2,rate=1M
# root makes a network namespace; anyone else a user namespace with one
if [ "$(id -u)" = 0 ]; then ns="unshare --net"; else ns="unshare --map-root-user --net"; fi
IIOS_GR_NETNS=1 $ns "$0" "$1" || { echo "FAIL: the run on iiod's port in a namespace"; exit 1; }
