#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Cross-build for ARM and run it under qemu-user:
#   tests/cross/run.sh aarch64|armhf [BUILD_DIR]
#
# 1. A sysroot of the target's Debian 12 packages (libuv, protobuf-c,
#    OpenSSL, libiio, avahi-client, Criterion where Debian has it, and what
#    they depend on), fetched with `apt-get download` and unpacked with
#    dpkg-deb into BUILD_DIR/sysroot: nothing is installed for the target,
#    so the build machine's own libraries need not be at the very versions
#    the target's are (multiarch co-installation demands that).
# 2. CMake with deploy/cross/TRIPLET.cmake (clang --target, or TRIPLET-gcc if
#    installed), GNU Radio off; only the daemon,
#    libiiostream, the CLI and the unit tests are built (-j2).
#    For armhf, where Debian 12 builds no Criterion, Criterion is built from
#    Debian's source packages into the sysroot (tests/cross/criterion.sh).
# 3. The unit tests (Criterion) through ctest, which runs them in qemu-user.
# 4. A loopback stream, both ends ARM binaries under qemu-user: iiostreamd
#    on 127.0.0.1:0 with --port-file, `iiostream rx --blocks 50 --verify`,
#    then SIGTERM, after which the daemon must exit 0.
# 5. The kernel module against Debian's linux-headers-arm64 / -armmp, with
#    TRIPLET-gcc-12: the installed one, else Debian's packages of it unpacked
#    into BUILD_DIR/cross-gcc (installing them would remove gcc-multilib).
# 6. aarch64 only: the module loaded and tested in Debian's arm64 kernel.
#    linux-image-KV:arm64 (KV the headers' ABI) and busybox-static:arm64 are
#    unpacked into BUILD_DIR/guest, and libiio-utils:arm64, iiod:arm64 and
#    libaio1:arm64 into the sysroot; the conformance program and the fuzzer
#    (tests/module/) are built static; tests/module/run-guest.sh --arch
#    aarch64 --sysroot boots the kernel under qemu-system-aarch64 (TCG,
#    -M virt, cortex-a57, 2 vCPUs, slub_debug and page poisoning) with the
#    ARM iiostreamd, iiostream, libiiostream and libiio's tools, their
#    libraries taken from the sysroot (tests/module/elf-closure.sh), and runs
#    tests/module/guest-module.sh: the parameter limits, the conformance
#    program, the fuzzer (4 processes, 10 s), no block left allocated
#    (blocks_live 0), the conformance program again, iio_info, iio_readdev
#    and iiod on the device, iiostreamd --source kernel and readfd to
#    iiostream rx --verify over the guest's loopback (every byte verified,
#    nothing lost, overflows as counted gaps, zero-copy, a picked channel,
#    exit 0 on SIGTERM with every block back), the device's attributes
#    through the daemon, rmmod. It fails on a
#    failed check, a guest that hangs (600 s) or panics, and any WARNING,
#    BUG, Oops or Call Trace in the guest's log. The result comes back as a
#    GUEST-RESULT line before a PSCI poweroff. Boot to /init 5 s, 72 s in
#    qemu, the step about 76 s (8 s more on a first run: 57 MiB to fetch,
#    356 MiB unpacked); the whole script 125 s, 154 s on a first run.
# 6b. aarch64 only: Debian's arm64 Linux 6.12 (tests/kernels/fetch.sh), the
#    module built for it, and in its guest only the mainline DMABUF tests
#    (tests/module/guest-dmabuf.sh, guest-dmabuf-stream.sh: the conformance
#    program, iiostreamd through DMABUF); no dma-heaps on arm64, udmabuf only.
#    Steps 1, 2, 5 and 6 run first; then 3 and 4 in a user namespace.
set -euo pipefail
arch=${1:?usage: $0 aarch64|armhf [BUILD_DIR]}
src=$(cd "$(dirname "$0")/../.." && pwd)
case $arch in
aarch64|arm64) arch=aarch64 deb=arm64 triplet=aarch64-linux-gnu qemu=qemu-aarch64
	karch=arm64 kflavour=arm64 guest=qemu-system-aarch64 ;;
armhf|arm) arch=armhf deb=armhf triplet=arm-linux-gnueabihf qemu=qemu-arm
	karch=arm kflavour=armmp guest= ;;
*) echo "cross: unknown ARCH $arch (aarch64 or armhf)" >&2; exit 2 ;;
esac
build=${2:-$src/build-cross-$arch}
mkdir -p "$build"
build=$(cd "$build" && pwd)
sysroot=$build/sysroot
for tool in "$triplet-ld" "$qemu" $guest protoc-c dpkg-deb apt-get file; do
	command -v "$tool" >/dev/null || { echo "cross: needs $tool (scripts/deps.sh)" >&2; exit 1; }
done
command -v "$triplet-gcc" >/dev/null || command -v clang >/dev/null ||
	{ echo "cross: needs clang or $triplet-gcc (scripts/deps.sh)" >&2; exit 1; }
foreign=$(dpkg --print-foreign-architectures)
grep -qx "$deb" <<<"$foreign" ||
	{ echo "cross: dpkg has no $deb architecture (scripts/deps.sh adds it)" >&2; exit 1; }
t0=$(date +%s)
step() { echo "cross[$arch]: $* ($(($(date +%s) - t0)) s)"; }

daemon=$build/server/iiostreamd
cli=$build/client/iiostream
if [ -z "${IIOS_CROSS_NS:-}" ]; then # steps 1, 2, 5 and 6 outside the namespace of step 3

# -- 1. the sysroot -------------------------------------------------------------
want=(libc6-dev libgcc-12-dev libuv1-dev libprotobuf-c-dev libssl-dev libiio-dev libavahi-client-dev
	libfftw3-dev)
# Criterion: Debian's package, or (armhf) what building it takes
if apt-cache show "libcriterion-dev:$deb" >/dev/null 2>&1; then
	criterion=package
	want+=(libcriterion-dev)
else
	criterion=source
	want+=(libnanomsg-dev libnanopb-dev libffi-dev)
fi
if [ "$(cat "$sysroot/.packages" 2>/dev/null)" != "${want[*]}" ]; then
	step "fetching ${want[*]} and their dependencies for $deb"
	# the closure, without recommends; elogind is an alternative to systemd's
	# libsystemd0, and pkg-config, sed and the like are programs, not libraries
	mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances \
		"${want[@]/%/:$deb}" 2>/dev/null |
		grep -E "^[a-z0-9][^ ]*:$deb\$" |
		grep -vE '^(libelogind0|libpkgconf3|pkgconf|pkgconf-bin|pkg-config|sed|rpcsvc-proto|libc-dev-bin):' |
		sort -u)
	rm -rf "$sysroot" "$build/debs"
	mkdir -p "$sysroot" "$build/debs"
	# apt's _apt user downloads into a directory it can write, or warns
	chmod 0777 "$build/debs"
	(cd "$build/debs" && apt-get download -qq "${pkgs[@]}")
	for f in "$build"/debs/*.deb; do dpkg-deb -x "$f" "$sysroot"; done
	echo "${want[*]}" >"$sysroot/.packages"
	step "sysroot: ${#pkgs[@]} packages, $(du -sm "$sysroot" | cut -f1) MiB"
fi
if [ $criterion = source ] && [ ! -s "$sysroot/usr/lib/$triplet/pkgconfig/criterion.pc" ]; then
	step "Criterion: no libcriterion-dev:$deb in Debian; building it from Debian's sources"
	"$src/tests/cross/criterion.sh" "$triplet" "$sysroot" "$build/criterion"
fi

# -- 2. the build ---------------------------------------------------------------
step "configuring"
# the toolchain file's choice; a build configured for the other one is stale
cc=$(command -v "$triplet-gcc" || command -v clang)
if [ "$(cat "$build/.compiler" 2>/dev/null)" != "$cc" ]; then
	rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
	echo "$cc" >"$build/.compiler"
fi
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_TOOLCHAIN_FILE="$src/deploy/cross/$triplet.cmake" \
	-DIIOSTREAM_SYSROOT="$sysroot" -DIIOSTREAM_GNURADIO=OFF -DIIOSTREAM_TESTS=ON \
	>"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
mapfile -t units < <(sed -n 's/^iios_test(\(unit_[a-z_]*\) .*/\1/p' "$src/tests/CMakeLists.txt")
targets=(iiostreamd iiostream iiostream_cli "${units[@]}")
step "building ${targets[*]}"
cmake --build "$build" -j2 --target "${targets[@]}" >"$build/build.log" 2>&1 ||
	{ tail -50 "$build/build.log"; exit 1; }
file -L "$daemon" "$cli" | sed 's/, BuildID.*//'
case $(file -L "$daemon") in
*"ARM aarch64"*) [ $arch = aarch64 ] ;;
*"32-bit"*" ARM,"*) [ $arch = armhf ] ;;
*) false ;;
esac || { echo "cross: FAIL: $daemon is not an $arch binary" >&2; exit 1; }

# -- 5. the kernel module, for Debian's own ARM kernel -------------------------------
# linux-headers-*-$kflavour:$deb cannot be installed here: it depends on
# linux-kbuild-6.1 of the target's architecture, which would replace the build
# machine's own. Its files are unpacked instead, with the build machine's
# linux-kbuild-6.1 (the host programs: fixdep, modpost) in place of the
# target's; the module builds as the tests build it (W=1, -Werror).
#
# Debian's kernels were built with gcc-12 and their headers call
# $(CROSS_COMPILE)gcc-12 with flags clang refuses. gcc-12-TRIPLET conflicts
# with gcc-multilib (tests/module/ needs that), so unless it is installed its
# packages are unpacked into BUILD_DIR/cross-gcc, like the sysroot: gcc finds
# cc1, its specs and headers relative to itself, and binutils-TRIPLET's as and
# ld in its tooldir usr/TRIPLET/bin, there a link to /usr/TRIPLET. The rest of
# what apt would install is the host's own libraries (gcc-12 needs them too),
# binutils-TRIPLET, the target's runtime libraries (libasan…: a module links
# none) and copyright files.
kpath=$PATH
if ! command -v "$triplet-gcc-12" >/dev/null; then
	xgcc=$build/cross-gcc
	gccwant=("gcc-12-$triplet" "cpp-12-$triplet" "libgcc-12-dev-$deb-cross")
	if [ "$(cat "$xgcc/.packages" 2>/dev/null)" != "${gccwant[*]}" ]; then
		step "fetching ${gccwant[*]}"
		rm -rf "$xgcc" "$build/gccdebs"
		mkdir -p "$xgcc/usr" "$build/gccdebs"
		chmod 0777 "$build/gccdebs"
		(cd "$build/gccdebs" && apt-get download -qq "${gccwant[@]}")
		for f in "$build"/gccdebs/*.deb; do dpkg-deb -x "$f" "$xgcc"; done
		ln -s "/usr/$triplet" "$xgcc/usr/$triplet"
		echo "${gccwant[*]}" >"$xgcc/.packages"
		step "cross-gcc: $(du -sm "$xgcc" | cut -f1) MiB"
	fi
	kpath=$xgcc/usr/bin:$PATH
fi
# a bare "as" would be the build machine's own
xas=$(PATH=$kpath "$triplet-gcc-12" -print-prog-name=as)
case $xas in /*) [ -x "$xas" ] ;; *) false ;; esac ||
	{ echo "cross: FAIL: $triplet-gcc-12 finds no assembler ($xas)" >&2; exit 1; }
kpkg=$(apt-cache depends "linux-headers-$kflavour:$deb" 2>/dev/null |
	sed -n "s/.*Depends: \(linux-headers-[0-9.-]*-$kflavour\)\(:$deb\)\?\$/\1/p" | head -1)
kver=${kpkg#linux-headers-}
kroot=$build/kernel
if [ -z "$kpkg" ]; then
	echo "cross: FAIL: apt knows no linux-headers-$kflavour:$deb" >&2; exit 1
fi
[ -d /usr/lib/linux-kbuild-6.1/scripts ] ||
	{ echo "cross: needs linux-kbuild-6.1 (linux-headers-amd64, scripts/deps.sh)" >&2; exit 1; }
if [ ! -d "$kroot/usr/src/$kpkg" ]; then
	step "fetching $kpkg:$deb and its -common headers"
	common=$(apt-cache depends "$kpkg:$deb" |
		sed -n 's/.*\(linux-headers-[0-9.-]*-common\).*/\1/p' | head -1)
	rm -rf "$kroot" "$build/kdebs"
	mkdir -p "$kroot/usr/lib" "$build/kdebs"
	chmod 0777 "$build/kdebs"
	(cd "$build/kdebs" && apt-get download -qq "$kpkg:$deb" "$common")
	for f in "$build"/kdebs/*.deb; do dpkg-deb -x "$f" "$kroot"; done
	ln -s /usr/lib/linux-kbuild-6.1 "$kroot/usr/lib/linux-kbuild-6.1"
	sed -i "s|/usr/src/|$kroot/usr/src/|" "$kroot/usr/src/$kpkg/Makefile"
fi
step "module for $kver ($karch)"
rm -rf "$build/module-src"
mkdir -p "$build/module-src/common"
cp -r "$src/module" "$build/module-src/"
cp -r "$src/common/include" "$build/module-src/common/"
PATH=$kpath make -C "$kroot/usr/src/$kpkg" M="$build/module-src/module" ARCH=$karch \
	CROSS_COMPILE=$triplet- W=1 IIOS_WERROR=y modules >"$build/module.log" 2>&1 ||
	{ cat "$build/module.log"; echo "cross: FAIL: the module for $kver" >&2; exit 1; }
ko=$build/module-src/module/iiostream_sim.ko
/sbin/modinfo -F vermagic "$ko" | grep -q "^$kver " ||
	{ echo "cross: FAIL: $ko is not for $kver" >&2; exit 1; }
file "$ko" | sed 's/, BuildID.*//'

# -- 6. the module loaded and tested in Debian's arm64 kernel ---------------------
# Debian's own linux-image of the headers' ABI and busybox-static, fetched
# and unpacked like the sysroot (the package ships no modules.dep: depmod
# makes one, for run-guest.sh to resolve the IIO core modules with); the
# conformance program and the fuzzer static, against the sysroot's libc.a.
# The guest runs tests/module/guest-module.sh with the kernel's debug checks
# on, as tests/module/run.sh does on x86-64, with the cross-built daemon and
# CLI and Debian's arm64 libiio tools (--dyn: their libraries from the
# sysroot, at their paths there); only its check of the i386 build finds
# nothing there and is left out.
# FUZZ_SECONDS, a word of the kernel command line, reaches the script's
# environment: 10 s of fuzzing instead of 20 shorten the step by 10 s.
if [ -n "$guest" ]; then
	groot=$build/guest
	gwant=("linux-image-$kver:$deb" "busybox-static:$deb")
	if [ "$(cat "$groot/.packages" 2>/dev/null)" != "${gwant[*]}" ]; then
		step "fetching ${gwant[*]}"
		rm -rf "$groot" "$build/guestdebs"
		mkdir -p "$groot/kernel" "$groot/busybox" "$build/guestdebs"
		chmod 0777 "$build/guestdebs"
		(cd "$build/guestdebs" && apt-get download -qq "${gwant[@]}")
		dpkg-deb -x "$build"/guestdebs/linux-image-*.deb "$groot/kernel"
		dpkg-deb -x "$build"/guestdebs/busybox-static_*.deb "$groot/busybox"
		/sbin/depmod -b "$groot/kernel" "$kver"
		echo "${gwant[*]}" >"$groot/.packages"
		step "guest kernel: $(du -sm "$groot/kernel" | cut -f1) MiB unpacked"
	fi
	step "conformance program and fuzzer for $arch, static"
	tflags=(-std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 -static
		--sysroot="$sysroot" -I"$src/module/include/uapi" -I"$src/common/include")
	case $cc in */clang) tflags+=(--target="$triplet") ;; esac
	"$cc" "${tflags[@]}" -o "$build/iio_block_compliance" \
		"$src/tests/module/iio_block_compliance.c" -lpthread
	"$cc" "${tflags[@]}" -o "$build/iio_block_fuzz" "$src/tests/module/iio_block_fuzz.c"
	# libiio's tools and iiod, Debian's arm64 builds, unpacked into the
	# sysroot beside the libiio0 they link (iiod also needs libaio1)
	if [ ! -x "$sysroot/usr/bin/iio_readdev" ] || [ ! -x "$sysroot/usr/sbin/iiod" ]; then
		iwant=("libiio-utils:$deb" "iiod:$deb" "libaio1:$deb")
		step "fetching ${iwant[*]}"
		rm -rf "$build/iiodebs"
		mkdir -p "$build/iiodebs"
		chmod 0777 "$build/iiodebs"
		(cd "$build/iiodebs" && apt-get download -qq "${iwant[@]}")
		for f in "$build"/iiodebs/*.deb; do dpkg-deb -x "$f" "$sysroot"; done
	fi
	# the guest mounts a fresh tmpfs on /tmp: libiiostream, which the CLI
	# finds through its build-tree RUNPATH, goes to a system directory too
	libso=$(readelf -dW "$cli" | sed -n 's/.*(NEEDED).*\[\(libiiostream\.so[^]]*\)\]$/\1/p')
	[ -f "$build/client/$libso" ] ||
		{ echo "cross: FAIL: $cli needs no libiiostream in $build/client" >&2; exit 1; }
	step "the module, iiostreamd and libiio's tools in Debian's $kver kernel under $guest"
	"$src/tests/module/run-guest.sh" --arch "$arch" --kroot "$groot/kernel" --kver "$kver" \
		--busybox "$groot/busybox/bin/busybox" --script "$src/tests/module/guest-module.sh" \
		--ko "$ko" --bin "$build/iio_block_compliance" --bin "$build/iio_block_fuzz" \
		--sysroot "$sysroot" --dyn "$sysroot/usr/bin/iio_info" \
		--dyn "$sysroot/usr/bin/iio_readdev" --dyn "$sysroot/usr/bin/iio_attr" \
		--dyn "$sysroot/usr/sbin/iiod" \
		--dyn "$daemon" --file "$daemon:/bin/iiostreamd" \
		--dyn "$cli" --file "$cli:/bin/iiostream" \
		--file "$build/client/$libso:/usr/lib/$triplet/$libso" \
		--append "slub_debug=FZPU page_poison=1 FUZZ_SECONDS=10 FIFO_MS=1000" \
		--log "$build/guest.log" --timeout 600 >"$build/guest.out" 2>&1 ||
		{ grep -E "GUEST-|iio_block_compliance: [0-9]+ passed|  FAIL  " "$build/guest.log"
		  tail -3 "$build/guest.out"; echo "cross: FAIL: the module in the $arch guest" >&2; exit 1; }
	grep -E "^run-guest: kernel|iio_block_compliance: [0-9]+ passed|GUEST-OK +(iio_block|no block|iio_info|iio_readdev|iio_attr|iiostreamd|zero-copy|device overflows|kernel:|readfd:|attributes)" \
		"$build/guest.log"
	grep -E "^run-guest\.sh: (kernel .*initramfs|PASS)" "$build/guest.out"

	# -- 6b. Debian's arm64 Linux 6.12: the mainline DMABUF interface -----------
	# (tests/kernels/fetch.sh: image, headers and the build machine's kbuild
	# unpacked into BUILD_DIR/kernel-6.12; no dma-heaps there, UDMABUF=y)
	k612=$build/kernel-6.12
	kv612=$("$src/tests/kernels/fetch.sh" 6.12 arm64 "$k612")
	step "module for $kv612 ($karch)"
	rm -rf "$build/module612-src" && mkdir -p "$build/module612-src"
	cp -r "$src/module" "$src/common" "$build/module612-src/"
	PATH=$kpath make -C "$k612/usr/src/linux-headers-$kv612" M="$build/module612-src/module" \
		ARCH=$karch CROSS_COMPILE=$triplet- W=1 IIOS_WERROR=y modules >"$build/module612.log" 2>&1 ||
		{ cat "$build/module612.log"; echo "cross: FAIL: the module for $kv612" >&2; exit 1; }
	! grep -q "warning:" "$build/module612.log" ||
		{ cat "$build/module612.log"; echo "cross: FAIL: warnings building for $kv612" >&2; exit 1; }
	"$cc" "${tflags[@]}" -o "$build/iio_dmabuf_compliance" \
		"$src/tests/module/iio_dmabuf_compliance.c" -lpthread
	step "the DMABUF conformance program and iiostreamd through DMABUF in $kv612 under $guest"
	"$src/tests/module/run-guest.sh" --arch "$arch" --kroot "$k612" --kver "$kv612" \
		--busybox "$groot/busybox/bin/busybox" --script "$src/tests/module/guest-module.sh" \
		--ko "$build/module612-src/module/iiostream_sim.ko" --bin "$build/iio_dmabuf_compliance" \
		--file "$src/tests/module/guest-dmabuf.sh:/guest-dmabuf.sh" \
		--file "$src/tests/module/guest-dmabuf-stream.sh:/guest-dmabuf-stream.sh" \
		--sysroot "$sysroot" \
		--dyn "$daemon" --file "$daemon:/bin/iiostreamd" \
		--dyn "$cli" --file "$cli:/bin/iiostream" \
		--file "$build/client/$libso:/usr/lib/$triplet/$libso" \
		--append "slub_debug=FZPU page_poison=1 GUEST_ONLY=dmabuf" \
		--log "$build/guest612.log" --timeout 600 >"$build/guest612.out" 2>&1 ||
		{ grep -E "GUEST-|iio_dmabuf_compliance: [0-9]+ passed|  FAIL  " "$build/guest612.log"
		  tail -3 "$build/guest612.out"; echo "cross: FAIL: DMABUF in the $arch $kv612 guest" >&2; exit 1; }
	grep -E "^run-guest: kernel|iio_dmabuf_compliance: [0-9]+ passed|GUEST-OK" "$build/guest612.log"
fi
fi # not in the namespace

# -- 3. unit tests under qemu-user -----------------------------------------------
# Criterion runs each test in a child it re-executes (/proc/self/exe): an ARM
# binary, which only the kernel's binfmt_misc can hand to qemu-user. The
# handler is registered in a binfmt_misc instance of a user namespace of our
# own (Linux >= 6.7), so the machine's handlers are neither needed nor touched.
# Older kernels (Debian 12's 6.1) have one binfmt_misc for the machine: as
# root the handler goes there, under a name of this run's, until it exits.
# shellcheck disable=SC2034 # read through ${!magic}
magic_aarch64='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
# shellcheck disable=SC2034
magic_armhf='\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00'
mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
magic=magic_$arch
binfmt_rule=":iiostream-$arch-$$:M::${!magic}:$mask:$(command -v "$qemu"):F"
host_handler='' host_mounted=''
if [ -z "${IIOS_CROSS_NS:-}" ]; then
	# IIOS_CROSS_BINFMT=host takes the older kernels' way on any kernel
	if [ "${IIOS_CROSS_BINFMT:-}" != host ] &&
		unshare --user --map-root-user --mount --fork \
			mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null; then
		exec env IIOS_CROSS_NS=1 unshare --user --map-root-user --mount --fork "$0" "$arch" "$build"
	fi
	if [ "$(id -u)" = 0 ]; then
		if ! mountpoint -q /proc/sys/fs/binfmt_misc; then
			mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
			host_mounted=1
		fi
		printf '%s' "$binfmt_rule" >/proc/sys/fs/binfmt_misc/register
		host_handler=/proc/sys/fs/binfmt_misc/iiostream-$arch-$$
		echo "cross[$arch]: no binfmt_misc of a user namespace here (Linux < 6.7): $qemu registered in the machine's as ${host_handler##*/} until the end of the run" >&2
	else
		echo "cross[$arch]: no binfmt_misc of a user namespace, not root: relying on the machine's handlers (qemu-user-binfmt)" >&2
	fi
else
	mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	printf '%s' "$binfmt_rule" >/proc/sys/fs/binfmt_misc/register
fi
unregister() { # the machine's binfmt_misc as it was
	if [ -n "$host_handler" ] && [ -e "$host_handler" ]; then echo -1 >"$host_handler"; fi
	if [ -n "$host_mounted" ]; then umount /proc/sys/fs/binfmt_misc || true; fi
	host_handler='' host_mounted=''
}
trap unregister EXIT
export QEMU_LD_PREFIX=$sysroot
run=("$qemu" -L "$sysroot")
step "unit tests under $qemu"
(cd "$build" && ctest --output-on-failure -R '^unit_' --timeout 300)

# -- 4. a loopback stream, both ends under qemu-user ---------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cross.XXXXXX")
dpid=
cleanup() {
	if [ -n "$dpid" ]; then kill -KILL "$dpid" 2>/dev/null || true; fi
	rm -rf "$tmp"
	unregister
}
trap cleanup EXIT
step "loopback stream under $qemu"
"${run[@]}" "$daemon" --listen 127.0.0.1:0 --port-file "$tmp/port" --advertise off \
	--rate 1000000 --block-size 64K --blocks 8 >"$tmp/daemon.log" 2>&1 &
dpid=$!
# (bounds that only catch a hang: emulated, on a loaded machine, all is slow)
for _ in $(seq 1200); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { cat "$tmp/daemon.log"; echo "cross: FAIL: the daemon did not start" >&2; exit 1; }
read -r port <"$tmp/port"
"${run[@]}" "$cli" rx --url "tcp://127.0.0.1:$port" --blocks 50 --verify --timeout 120000 ||
	{ cat "$tmp/daemon.log"; echo "cross: FAIL: iiostream rx --verify" >&2; exit 1; }
kill -TERM "$dpid"
rc=0; wait "$dpid" || rc=$?
dpid=
[ $rc = 0 ] || { cat "$tmp/daemon.log"; echo "cross: FAIL: the daemon exited $rc after SIGTERM" >&2; exit 1; }
step "PASS"
