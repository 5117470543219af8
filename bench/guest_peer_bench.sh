#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# guest_peer_bench.sh - iiostream against Debian's iiod on the same device,
# in the same qemu guest, in the same run.
#
#   bench/guest_peer_bench.sh [BUILD_DIR]      (default build/)
#   SECS=N RATES="..." to change the ladder (see bench/guest-peer.sh)
#   KERNEL=6.12: Debian's Linux 6.12 instead (tests/kernels/fetch.sh), the
#   module built for it, and a third path: iiostreamd on the same ADC's
#   mainline DMABUF interface (PATHS="iiod iiostream dmabuf" by default
#   there; CLIENTS="1 4")
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
out=$(cd "$out" && pwd)
[ -x "$build/server/iiostreamd" ] || { echo "build the project into $build first" >&2; exit 2; }

ko=$root/module/iiostream_sim.ko kernel=()
paths=${PATHS:-iiod iiostream}
if [ "${KERNEL:-}" = 6.12 ]; then
	k612=$root/build/kernel-6.12-amd64
	kv=$("$root/tests/kernels/fetch.sh" 6.12 amd64 "$k612")
	rm -rf "$out/mod612" && mkdir -p "$out/mod612"
	cp -r "$root/module" "$root/common" "$out/mod612/"
	make -s -C "$k612/usr/src/linux-headers-$kv" M="$out/mod612/module" modules >/dev/null
	ko=$out/mod612/module/iiostream_sim.ko kernel=(--kroot "$k612" --kver "$kv")
	paths=${PATHS:-iiod iiostream dmabuf}
else
	make -s -C "$root/module" >/dev/null
fi
clients=${CLIENTS:-1 4}
cc -std=gnu11 -O2 -static -I"$root/module/include/uapi" -I"$root/common/include" \
	-o "$out/iio_block_compliance" "$root/tests/module/iio_block_compliance.c" -lpthread
lib=$(ldd "$build/client/iiostream" | awk '/libiiostream\.so/ { print $3 }')
cp -L "$lib" "$out/$(basename "$lib")"

"$root/tests/module/run-guest.sh" --script "$root/bench/guest-peer.sh" \
	--ko "$ko" "${kernel[@]}" --bin "$out/iio_block_compliance" \
	--dyn /usr/bin/iio_readdev --dyn /usr/sbin/iiod \
	--dyn "$build/server/iiostreamd" --file "$build/server/iiostreamd:/bin/iiostreamd" \
	--dyn "$build/client/iiostream" --file "$build/client/iiostream:/bin/iiostream" \
	--file "$out/$(basename "$lib"):/usr/lib/x86_64-linux-gnu/$(basename "$lib")" \
	--append "iios.secs=${SECS:-3}${RATES:+ iios.rates=${RATES// /,}} iios.paths=${paths// /,} iios.clients=${clients// /,}" --log "$out/guest.log" --timeout 1200 >/dev/null || {
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
	np = split(paths, p, " "); nc = split(clients, cl, " ")
	printf "%-10s %8s %22s %10s\n", "path", "clients", "lossless rate (scans/s)", "MB/s"
	for (j = 1; j <= nc; j++)
		for (i = 1; i <= np; i++)
			printf "%-10s %8d %22d %10.1f\n", p[i], cl[j], rate[p[i], cl[j]], mbps[p[i], cl[j]]
	for (j = 1; j <= nc; j++) {
		if (rate["iiod", cl[j]] > 0)
			for (i = 1; i <= np; i++)
				if (p[i] != "iiod")
					printf "ratio %s/iiod, %d client(s): %.2fx the lossless rate\n", p[i], cl[j],
						rate[p[i], cl[j]] / rate["iiod", cl[j]]
		if (rate["iiostream", cl[j]] > 0 && rate["dmabuf", cl[j]] != "")
			printf "ratio dmabuf/iiostream (DMABUF vs the block interface), %d client(s): %.2fx\n",
				cl[j], rate["dmabuf", cl[j]] / rate["iiostream", cl[j]]
	}
}' paths="$paths" clients="$clients" "$out/guest.log"
