#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# guest_tx_bench.sh - transmit: iiostream against Debian's iiod on the same
# DAC, in the same qemu guest, in the same run (issue 17's guest goal).
#
#   bench/guest_tx_bench.sh [BUILD_DIR]      (default build/)
#   SECS=N RATES="..." to change the ladder (see bench/guest-tx-peer.sh)
#
# Boots Debian's kernel under qemu (TCG: an emulated CPU, so absolute figures
# are the emulator's; the ratio between the two paths is the point) with the
# iiostream_sim module's DAC (dac=1), and measures the highest sampling rate
# each path plays without the DAC running dry: iio_writedev through Debian's
# iiod into the DAC's kfifo, and iiostream tx through iiostreamd into its
# block node. Prints a table. Not run by the tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=$build/bench-tx-peer
mkdir -p "$out"
[ -x "$build/server/iiostreamd" ] || { echo "build the project into $build first" >&2; exit 2; }

make -s -C "$root/module" >/dev/null
lib=$(ldd "$build/client/iiostream" | awk '/libiiostream\.so/ { print $3 }')
cp -L "$lib" "$out/$(basename "$lib")"

"$root/tests/module/run-guest.sh" --script "$root/bench/guest-tx-peer.sh" \
	--ko "$root/module/iiostream_sim.ko" \
	--dyn /usr/bin/iio_writedev --dyn /usr/sbin/iiod \
	--dyn "$build/server/iiostreamd" --file "$build/server/iiostreamd:/bin/iiostreamd" \
	--dyn "$build/client/iiostream" --file "$build/client/iiostream:/bin/iiostream" \
	--file "$out/$(basename "$lib"):/usr/lib/x86_64-linux-gnu/$(basename "$lib")" \
	--append "iios.secs=${SECS:-3}${RATES:+ iios.rates=${RATES// /,}}" --log "$out/guest.log" --timeout 1200 >/dev/null || {
	echo "guest run failed; log: $out/guest.log" >&2
	exit 1
}
grep "^PEER " "$out/guest.log"
echo
# MB/s: what the DAC plays at that rate (2 channels of le:s16, 4-byte scans)
awk '/^RESULT/ {
	split($4, r, "=");
	rate[$2] = r[2]
}
END {
	printf "%-10s %28s %10s\n", "path", "lossless TX rate (scans/s)", "MB/s"
	for (t = 0; t < 2; t++) {
		tool = t ? "iiostream" : "iiod"
		printf "%-10s %28d %10.1f\n", tool, rate[tool], rate[tool] * 4 / 1e6
	}
	if (rate["iiod"] > 0)
		printf "ratio iiostream/iiod: %.1fx the lossless TX rate\n", rate["iiostream"] / rate["iiod"]
}' "$out/guest.log"
