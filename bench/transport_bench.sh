#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# transport_bench.sh - throughput and the daemon's CPU per GB for each
# --transport, on loopback, in one run.
#
#   bench/transport_bench.sh BUILD_DIR [SECONDS]     (default 5)
#
# For copy and zerocopy (sendfile is refused without a hardware NIC, see
# server/tx/transport.h), with 1 and 4 clients: iiostreamd on the unpaced sim
# source, 1 MiB blocks; the clients' MB/s summed, and the daemon's user+system
# CPU seconds (from /proc/PID/stat) per GB it delivered. On loopback the
# kernel copies zero-copy sends on delivery (SO_EE_CODE_ZEROCOPY_COPIED), so
# this measures what zero-copy costs where it cannot pay off; docs/
# performance.md says what it saves behind a real NIC.
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [SECONDS]}
secs=${2:-5}
daemon=$build/server/iiostreamd
cli=$build/client/iiostream
tmp=$(mktemp -d "${TMPDIR:-/tmp}/transport_bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)

cpu_ticks() { # PID: utime + stime
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

printf "%-9s %7s %10s %12s %12s\n" transport clients "MB/s" "CPU s/GB" "zc sends"
for transport in copy zerocopy; do
	for clients in 1 4; do
		"$daemon" --rate 0 --block-size 1M --blocks 32 --client-queue 8 \
			--transport "$transport" --listen 127.0.0.1:0 --port-file "$tmp/port" \
			>"$tmp/daemon.log" 2>&1 &
		dpid=$!
		for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
		c0=$(cpu_ticks $dpid)
		pids=()
		for c in $(seq "$clients"); do
			"$cli" rx --url "tcp://127.0.0.1:$(sed -n 1p "$tmp/port")" --seconds "$secs" --json \
				--quiet >"$tmp/rx-$c.json" &
			pids+=($!)
		done
		wait "${pids[@]}"
		c1=$(cpu_ticks $dpid)
		kill -TERM $dpid
		wait $dpid || true
		rm -f "$tmp/port"
		total_mbps=0 total_bytes=0
		for c in $(seq "$clients"); do
			m=$(sed -n 's/.*"mbytes_per_s":\([0-9.]*\).*/\1/p' "$tmp/rx-$c.json")
			b=$(sed -n 's/.*"bytes":\([0-9]*\).*/\1/p' "$tmp/rx-$c.json")
			total_mbps=$(awk -v a="$total_mbps" -v b="$m" 'BEGIN { print a + b }')
			total_bytes=$((total_bytes + b))
		done
		zc=$({ grep -o '[0-9]* zero-copy sends' "$tmp/daemon.log" || true; } |
			awk '{ s += $1 } END { print s + 0 }')
		awk -v t="$transport" -v c="$clients" -v m="$total_mbps" -v b="$total_bytes" \
			-v ticks=$((c1 - c0)) -v hz="$hz" -v zc="$zc" \
			'BEGIN { printf "%-9s %7d %10.0f %12.3f %12d\n", t, c, m, (ticks / hz) / (b / 1e9), zc }'
	done
done

# Delivery latency (daemon dequeue to last byte received, one clock: same
# host) with 4 clients at 1 GB/s in total: the source paced at 62.5 M
# scans/s x 4 bytes = 250 MB/s, sent to each of the four.
echo
echo "latency, 4 clients x 250 MB/s = 1 GB/s, 1 MiB blocks, --transport auto:"
"$daemon" --rate 62500000 --block-size 1M --blocks 16 --client-queue 8 \
	--listen 127.0.0.1:0 --port-file "$tmp/port" >"$tmp/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
pids=()
for c in 1 2 3 4; do
	"$cli" rx --url "tcp://127.0.0.1:$(sed -n 1p "$tmp/port")" --seconds "$secs" --json --quiet \
		>"$tmp/lat-$c.json" &
	pids+=($!)
done
wait "${pids[@]}"
kill -TERM $dpid
wait $dpid || true
printf "%7s %10s %10s %10s %10s %12s\n" client "MB/s" "p50 ms" "p99 ms" "max ms" "lost blocks"
for c in 1 2 3 4; do
	f=$tmp/lat-$c.json
	printf "%7d %10s %10s %10s %10s %12s\n" "$c" \
		"$(sed -n 's/.*"mbytes_per_s":\([0-9.]*\).*/\1/p' "$f")" \
		"$(sed -n 's/.*"latency_p50_ms":\([0-9.]*\).*/\1/p' "$f")" \
		"$(sed -n 's/.*"latency_p99_ms":\([0-9.]*\).*/\1/p' "$f")" \
		"$(sed -n 's/.*"latency_max_ms":\([0-9.]*\).*/\1/p' "$f")" \
		"$(sed -n 's/.*"lost_blocks":\([0-9]*\).*/\1/p' "$f")"
done
