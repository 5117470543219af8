#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The daemon's memory on a small board (256 MiB): iiostreamd with a 256 KiB
# ring (--blocks 4 --block-size 64K) at 1 M scans/s, its VmRSS and VmHWM
# (/proc/PID/status) idle and with 8 clients streaming (`iiostream rx`), and
# the same with the defaults (8 blocks of 1 MiB) for the docs.
#
# Bound: 32 MiB of VmHWM with 8 clients at the small settings, an eighth of
# the board. The ring is 0.25 MiB and clients queue references to its blocks,
# not copies, so the rest is the libraries (libc, libuv, OpenSSL, libiio,
# avahi) and per-client buffers of KiB: about 8 MiB measured on x86-64. The
# bound catches gross growth (MiB per client, a ring sized regardless of
# --blocks/--block-size), not a few KiB. The 8 clients are measured once the
# daemon's stats show each subscribed and sent blocks (not after a guess at
# how long that takes: waits are bounded by $hang s, a hang's bound).
# Usage: tests/deploy/small_board.sh BUILD_DIR
set -euo pipefail
hang=60
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
daemon=$build/server/iiostreamd
cli=$build/client/iiostream
limit_kib=$((32 * 1024))
if grep -q '^IIOSTREAM_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
	echo "small_board: SKIPPED: AddressSanitizer's shadow memory is not the daemon's" >&2
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/small_board.XXXXXX")
pids=()
dpid=
cleanup() {
	for p in "${pids[@]}" $dpid; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$dpid/status"; }

# measure NAME DAEMON-ARGS...: prints "NAME idle RSS HWM, 8 clients RSS HWM" (KiB)
measure() {
	local name=$1; shift
	rm -f "$tmp/port"
	"$daemon" --listen 127.0.0.1:0 --port-file "$tmp/port" --advertise off "$@" \
		>"$tmp/daemon.log" 2>&1 &
	dpid=$!
	for _ in $(seq $((hang * 10))); do [ -s "$tmp/port" ] && break; sleep 0.1; done
	[ -s "$tmp/port" ] || { cat "$tmp/daemon.log"; echo "small_board: the daemon did not start" >&2; exit 1; }
	read -r port <"$tmp/port"
	sleep 1
	idle_rss=$(kib VmRSS) idle_hwm=$(kib VmHWM)
	pids=()
	for i in $(seq 8); do
		"$cli" rx --url "tcp://127.0.0.1:$port" --seconds 3600 --timeout $((hang * 1000)) \
			--verify --quiet >"$tmp/rx$i.log" 2>&1 &
		pids+=($!)
	done
	# all 8 at once, each sent 10 blocks: then 1 s more of the 8 streaming
	for _ in $(seq $((hang * 5))); do
		n=$("$cli" stats --url "tcp://127.0.0.1:$port" 2>/dev/null |
			grep -cE '\(subscribed\): ([1-9][0-9]+) blocks' || true)
		[ "$n" -ge 8 ] && break
		sleep 0.2
	done
	[ "$n" -ge 8 ] || { cat "$tmp/daemon.log"; echo "small_board: FAIL: $n of 8 clients streaming after $hang s" >&2; exit 1; }
	sleep 1
	busy_rss=$(kib VmRSS)
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for i in $(seq 8); do
		wait "${pids[$((i - 1))]}" || { cat "$tmp/rx$i.log" "$tmp/daemon.log";
			echo "small_board: FAIL: client $i" >&2; exit 1; }
	done
	pids=()
	busy_hwm=$(kib VmHWM)
	kill -TERM "$dpid"
	wait "$dpid" || { cat "$tmp/daemon.log"; echo "small_board: FAIL: daemon exit" >&2; exit 1; }
	dpid=
	printf '%-40s idle: VmRSS %6d KiB VmHWM %6d KiB | 8 clients: VmRSS %6d KiB VmHWM %6d KiB\n' \
		"$name" "$idle_rss" "$idle_hwm" "$busy_rss" "$busy_hwm"
}

measure "small (--blocks 4 --block-size 64K)" --rate 1000000 --blocks 4 --block-size 64K
small_hwm=$busy_hwm
measure "default (8 blocks of 1M)" --rate 1000000
if [ "$small_hwm" -gt "$limit_kib" ]; then
	echo "small_board: FAIL: VmHWM $small_hwm KiB with 8 clients > $limit_kib KiB" >&2
	exit 1
fi
echo "small_board: PASS: VmHWM $small_hwm KiB with 8 clients <= $limit_kib KiB"
