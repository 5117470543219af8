#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The kernel module's tests, run by scripts/test.sh:
#  1. build module/ against Debian's headers with the kernel's W=1 warnings
#     as errors;
#  2. build the conformance program statically (the guest has no libc);
#  3. boot Debian's kernel under qemu (TCG) with the module, the program and
#     libiio's tools, with the debug checks Debian's kernel has (SLUB red
#     zones and poisoning, page poisoning; DEBUG_LIST is built in), run
#     tests/module/guest-module.sh there, then (same boot) the module's DAC
#     (dac=1: tests/module/guest-dac.sh and iio_block_dac_compliance),
#     iiostreamd transmitting through the DAC into its loopback
#     (tests/module/guest-tx.sh), the module with
#     devices=2 (tests/module/guest-multi.sh: triggers, debug registers
#     through iio_attr -D, both devices streamed at once by one daemon),
#     the module's scan formats (tests/module/guest-formats.sh), and fail on a
#     failed check or any WARNING/BUG/Oops or corruption report in the
#     guest's log;
#  3b. the same on Debian's Linux 6.12 (tests/kernels/fetch.sh unpacks it
#     into build/kernel-6.12-amd64): the module built for it with W=1, the
#     same guest run, plus the mainline DMABUF interface: its conformance
#     program (tests/module/guest-dmabuf.sh) and iiostreamd streaming and
#     transmitting through it (tests/module/guest-dmabuf-stream.sh);
#  4. kernel TLS in a second guest (tests/module/guest-ktls.sh);
#  5. the sendfile transport through a NIC: the guest's virtio-net to
#     iiostream rx --verify on this host (tests/module/sendfile-nic.sh);
#  6. build the module with DKMS against the installed headers.
#
#   tests/module/run.sh [OUT_DIR]      (default build/module-test)
#   BUILD_DIR=DIR: where iiostreamd and iiostream were built (default build/)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build/module-test}
build=${BUILD_DIR:-$root/build}   # iiostreamd and iiostream for the guest
[ -x "$build/server/iiostreamd" ] || { echo "run.sh: build the project into $build first" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd) # make -C KDIR M=… needs it absolute

echo "== module: build with W=1, warnings are errors"
make -s -C "$root/module" clean
make -C "$root/module" W=1 IIOS_WERROR=y 2>&1 | tee "$out/kbuild.log"
if grep -q "warning:" "$out/kbuild.log"; then
	echo "module: the build printed warnings" >&2
	exit 1
fi

echo "== module: conformance program"
cc -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 -static \
	-I"$root/module/include/uapi" -I"$root/common/include" \
	-o "$out/iio_block_compliance" "$root/tests/module/iio_block_compliance.c" -lpthread
# the output direction, against the module's DAC (dac=1; guest-dac.sh)
cc -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 -static \
	-I"$root/module/include/uapi" -I"$root/common/include" \
	-o "$out/iio_block_dac_compliance" "$root/tests/module/iio_block_dac_compliance.c" -lpthread
cc -m32 -D_FILE_OFFSET_BITS=64 -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 -static \
	-I"$root/module/include/uapi" -I"$root/common/include" \
	-o "$out/iio_block_dac_compliance32" "$root/tests/module/iio_block_dac_compliance.c" -lpthread
# the random-sequence fuzzer of the same interface
cc -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 -static \
	-I"$root/module/include/uapi" -o "$out/iio_block_fuzz" "$root/tests/module/iio_block_fuzz.c"
# and for i386, to run the ioctls through the kernel's compat path
cc -m32 -D_FILE_OFFSET_BITS=64 -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 -static \
	-I"$root/module/include/uapi" -I"$root/common/include" \
	-o "$out/iio_block_compliance32" "$root/tests/module/iio_block_compliance.c" -lpthread
# the mainline DMABUF interface (Linux 6.11+), 64- and 32-bit
for bits in 64 32; do
	m=() suffix=''
	[ $bits = 64 ] || m=(-m32 -D_FILE_OFFSET_BITS=64) suffix=32
	cc "${m[@]}" -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 -static \
		-I"$root/module/include/uapi" -I"$root/common/include" \
		-o "$out/iio_dmabuf_compliance$suffix" "$root/tests/module/iio_dmabuf_compliance.c" -lpthread
done

# The guest mounts a fresh tmpfs on /tmp, so a library the binaries find
# through a build-tree RUNPATH (a clone under /tmp) goes to a system dir.
lib=$(ldd "$build/client/iiostream" | awk '/libiiostream\.so/ { print $3 }')
[ -f "$lib" ] || { echo "run.sh: iiostream does not resolve libiiostream" >&2; exit 1; }
cp -L "$lib" "$out/$(basename "$lib")"

# The guest run, on a kernel: the module's build for it (KO), its
# conformance programs, the daemon and CLI, libiio's tools; run-guest.sh's
# own options first (--kroot/--kver for an unpacked kernel, more --bin and
# --file). LOG is the console log.
module_guest() { # LOG KO [run-guest.sh options...]
	local glog=$1 ko=$2
	shift 2
	"$root/tests/module/run-guest.sh" --script "$root/tests/module/guest-module.sh" \
		--ko "$ko" \
		--bin "$out/iio_block_compliance" --bin "$out/iio_block_compliance32" \
		--bin "$out/iio_block_fuzz" --file "$root/tests/module/guest-multi.sh:/guest-multi.sh" \
		--bin "$out/iio_block_dac_compliance" --bin "$out/iio_block_dac_compliance32" \
		--file "$root/tests/module/guest-dac.sh:/guest-dac.sh" \
		--file "$root/tests/module/guest-tx.sh:/guest-tx.sh" \
		--file "$root/tests/module/guest-formats.sh:/guest-formats.sh" \
		--dyn /usr/bin/iio_info --dyn /usr/bin/iio_readdev --dyn /usr/bin/iio_attr --dyn /usr/sbin/iiod \
		--dyn /usr/bin/iio_writedev \
		--dyn "$build/server/iiostreamd" --file "$build/server/iiostreamd:/bin/iiostreamd" \
		--dyn "$build/client/iiostream" --file "$build/client/iiostream:/bin/iiostream" \
		--file "$out/$(basename "$lib"):/usr/lib/x86_64-linux-gnu/$(basename "$lib")" \
		--append "slub_debug=FZPU page_poison=1" \
		--log "$glog" --timeout 600 "$@"
	grep -E "iio_block_compliance: [0-9]+ passed" "$glog"
	grep -E "iio_block_dac_compliance: [0-9]+ passed" "$glog"
}

echo "== module: conformance in a qemu guest running Debian's kernel"
module_guest "$out/guest.log" "$root/module/iiostream_sim.ko"

# Debian's Linux 6.12 (the kernel of current boards, with mainline's IIO
# DMABUF interface): the module built for it with the same warnings, the
# same guest run, plus the DMABUF conformance program and iiostreamd
# streaming and transmitting through DMABUF.
echo "== module: Linux 6.12 (DMABUF): build with W=1, the guest"
k612=$root/build/kernel-6.12-amd64
kv612=$("$root/tests/kernels/fetch.sh" 6.12 amd64 "$k612")
rm -rf "$out/mod612" && mkdir -p "$out/mod612"
cp -r "$root/module" "$root/common" "$out/mod612/"
make -C "$k612/usr/src/linux-headers-$kv612" M="$out/mod612/module" W=1 IIOS_WERROR=y modules \
	2>&1 | tee "$out/kbuild612.log"
if grep -q "warning:" "$out/kbuild612.log"; then
	echo "module: the 6.12 build printed warnings" >&2
	exit 1
fi
module_guest "$out/guest612.log" "$out/mod612/module/iiostream_sim.ko" \
	--kroot "$k612" --kver "$kv612" \
	--bin "$out/iio_dmabuf_compliance" --bin "$out/iio_dmabuf_compliance32" \
	--file "$root/tests/module/guest-dmabuf.sh:/guest-dmabuf.sh" \
	--file "$root/tests/module/guest-dmabuf-stream.sh:/guest-dmabuf-stream.sh"
grep -E "iio_dmabuf_compliance: [0-9]+ passed" "$out/guest612.log"

echo "== kernel TLS in the guest: iiostreamd --listen-tls to rx --verify, kTLS and userspace"
certs=$out/certs
rm -rf "$certs" && mkdir -p "$certs"
"$build/tests/make-test-certs" "$certs" >/dev/null
"$root/tests/module/run-guest.sh" --script "$root/tests/module/guest-ktls.sh" \
	--mod chacha20poly1305 --mod chacha_generic --mod poly1305_generic \
	--dyn "$build/server/iiostreamd" --file "$build/server/iiostreamd:/bin/iiostreamd" \
	--dyn "$build/client/iiostream" --file "$build/client/iiostream:/bin/iiostream" \
	--file "$out/$(basename "$lib"):/usr/lib/x86_64-linux-gnu/$(basename "$lib")" \
	--file "$certs:/certs" --log "$out/guest-ktls.log" --timeout 300
grep -E "GUEST-(OK|FAIL)" "$out/guest-ktls.log"

echo "== sendfile through a NIC: guest virtio-net to rx --verify on this host"
BUILD_DIR=$build "$root/tests/module/sendfile-nic.sh" "$out"

echo "== module: DKMS build"
"$root/tests/module/dkms-test.sh"
