#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Throughput of the iiod-compatible listener: Debian's iio_readdev (libiio
# 0.24's network backend) reading from iiostreamd, beside `iiostream rx`
# from the same daemon in the same run. The sim source is unpaced (--rate
# 0: as fast as blocks come back), so each figure is what that client
# path sustains on this machine. Medians of 3 runs.
#   bench/iiod_bench.sh [BUILD_DIR]     (SECONDS_PER_RUN=N per run, default 3)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
secs=${SECONDS_PER_RUN:-3}
tmp=$(mktemp -d)
daemon=
trap '[ -n "$daemon" ] && kill $daemon 2>/dev/null; rm -rf "$tmp"' EXIT

"$build/server/iiostreamd" --rate 0 --channels 2 --block-size 1M --blocks 16 \
	--listen 127.0.0.1:0 --iiod-listen 127.0.0.1:0 --port-file "$tmp/port" \
	--log-level warn >"$tmp/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
plain=$(sed -n 1p "$tmp/port")
iiod=$(sed -n 3p "$tmp/port")

median() { sort -n | sed -n 2p; }
rx_mbps() {
	"$build/client/iiostream" rx --url "tcp://127.0.0.1:$plain" --seconds "$secs" --json --quiet |
		sed -n 's/.*"mbytes_per_s":\([0-9.]*\).*/\1/p'
}
readdev_mbps() { # samples per read: buffers of 256 Ki scans, 4 bytes each
	local scans=$((256 * 1024 * 200)) t0 t1
	t0=$(date +%s.%N)
	iio_readdev -u "ip:127.0.0.1:$iiod" -b 262144 -s $scans sim >/dev/null
	t1=$(date +%s.%N)
	awk -v b=$((scans * 4)) -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f\n", b / (t1 - t0) / 1e6 }'
}
rx=$(for _ in 1 2 3; do rx_mbps; done | median)
rd=$(for _ in 1 2 3; do readdev_mbps; done | median)
echo "iiostream rx (iiostream protocol):  $rx MB/s"
echo "iio_readdev (iiod listener):        $rd MB/s"
echo "ratio iio_readdev / iiostream rx:   $(awk -v a="$rd" -v b="$rx" 'BEGIN { printf "%.2f", a / b }')"
