#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# guest_peer_bench.sh - iiostream against Debian's iiod on the same device,
# in the same qemu guest, in the same run.
#
#   bench/guest_peer_bench.sh [BUILD_DIR]      (default build/)
#   SECS=N RATES="..." to change the ladder (see bench/guest-peer.sh)
#
# Boots Debian's kernel under qemu (TCG: an emulated CPU, so absolute figures
# are the emulator's; the ratio between the two paths is the point) with the
# iiostream_sim module, and measures the highest sampling rate each path
# carries to 1 and 4 clients without losing a sample. Prints a table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=$build/bench-peer
mkdir -p "$out"
[ -x "$build/server/iiostreamd" ] || { echo "build the project into $build first" >&2; exit 2; }

make -s -C "$root/module" >/dev/null
cc -std=gnu11 -O2 -static -I"$root/module/include/uapi" -I"$root/common/include" \
	-o "$out/iio_block_compliance" "$root/tests/module/iio_block_compliance.c" -lpthread
lib=$(ldd "$build/client/iiostream" | awk '/libiiostream\.so/ { print $3 }')
cp -L "$lib" "$out/$(basename "$lib")"

"$root/tests/module/run-guest.sh" --script "$root/bench/guest-peer.sh" \
	--ko "$root/module/iiostream_sim.ko" --bin "$out/iio_block_compliance" \
	--dyn /usr/bin/iio_readdev --dyn /usr/sbin/iiod \
	--dyn "$build/server/iiostreamd" --file "$build/server/iiostreamd:/bin/iiostreamd" \
	--dyn "$build/client/iiostream" --file "$build/client/iiostream:/bin/iiostream" \
	--file "$out/$(basename "$lib"):/usr/lib/x86_64-linux-gnu/$(basename "$lib")" \
	--append "iios.secs=${SECS:-3}${RATES:+ iios.rates=${RATES// /,}}" --log "$out/guest.log" --timeout 1200 >/dev/null || {
	echo "guest run failed; log: $out/guest.log" >&2
	exit 1
}
grep "^PEER " "$out/guest.log"
echo
awk '/^RESULT/ {
	split($3, c, "="); split($4, r, "="); split($5, m, "=");
	rate[$2, c[2]] = r[2]; mbps[$2, c[2]] = m[2]
}
END {
	printf "%-10s %8s %22s %10s\n", "path", "clients", "lossless rate (scans/s)", "MB/s"
	for (k = 1; k <= 4; k *= 4)
		for (t = 0; t < 2; t++) {
			tool = t ? "iiostream" : "iiod"
			printf "%-10s %8d %22d %10.1f\n", tool, k, rate[tool, k], mbps[tool, k]
		}
	for (k = 1; k <= 4; k *= 4)
		if (rate["iiod", k] > 0)
			printf "ratio iiostream/iiod, %d client(s): %.1fx the lossless rate\n", k,
				rate["iiostream", k] / rate["iiod", k]
}' "$out/guest.log"
