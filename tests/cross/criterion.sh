#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Criterion for a target Debian 12 does not build it for (armhf: Debian
# builds BoxFort, Criterion's sandbox, for amd64, arm64 and i386 only,
# although BoxFort has ARM code), cross-built into a sysroot:
#   tests/cross/criterion.sh TRIPLET SYSROOT WORKDIR
#
# The sources are Debian's own: the upstream tarballs of the source packages
# boxfort and criterion, fetched by `apt-get source --tar-only` through a
# deb-src list of our own under WORKDIR (apt checks their hashes against the
# signed index; the machine's apt configuration is not touched). They are
# built with meson and installed into SYSROOT/usr, where pkg-config finds
# criterion.pc as it finds the packaged libraries. Built as Debian builds
# them except: no libgit2 (-Ddiffs=disabled: string diffs in failure
# messages), no gettext, no C++ support; BoxFort is linked in statically.
# SYSROOT must already hold libnanomsg-dev, libnanopb-dev and libffi-dev of
# the target (tests/cross/run.sh puts them there); the host needs meson and
# nanopb's generator (scripts/deps.sh).
set -euo pipefail
triplet=${1:?usage: $0 TRIPLET SYSROOT WORKDIR}
sysroot=${2:?usage: $0 TRIPLET SYSROOT WORKDIR}
work=${3:?usage: $0 TRIPLET SYSROOT WORKDIR}
for tool in meson ninja protoc protoc-gen-nanopb apt-get dpkg-deb; do
	command -v "$tool" >/dev/null || { echo "criterion: needs $tool (scripts/deps.sh)" >&2; exit 1; }
done
case $triplet in
arm-linux-gnueabihf) cpu_family=arm cpu=armv7 ;;
aarch64-linux-gnu) cpu_family=aarch64 cpu=aarch64 ;;
*) echo "criterion: unknown triplet $triplet" >&2; exit 1 ;;
esac
rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"

# -- the sources, from the machine's Debian mirror ---------------------------------
# the main suite's URI and codename, as the machine's own apt has them
# shellcheck disable=SC2016 # $(...) are apt's format fields, not the shell's
read -r uri codename _ < <(apt-get indextargets --format '$(REPO_URI) $(CODENAME) $(RELEASE)' \
	'Identifier: Packages' 'Origin: Debian' 'Component: main' | awk '$2 == $3' | head -1) ||
	{ echo "criterion: apt knows no Debian main suite" >&2; exit 1; }
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $codename main" \
	>"$work/apt/sources.list"
apt=(-o Dir::Etc::SourceList="$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$work/apt/lists" -o Dir::Cache="$work/apt/cache"
	-o Debug::NoLocking=1)
apt-get "${apt[@]}" -qq update
# apt's _apt user downloads into a directory it can write, or warns
chmod 0777 "$work/src"
(cd "$work/src" && apt-get "${apt[@]}" -qq source --download-only --tar-only boxfort criterion)
tar -xzf "$work"/src/criterion_*.orig.tar.gz -C "$work/src"
tar -xzf "$work"/src/boxfort_*.orig.tar.gz -C "$work/src"
crit=$(echo "$work"/src/Criterion-*)
# meson takes a subproject's directory as it is when it exists (no download)
rm -rf "$crit/subprojects/boxfort"
mv "$work"/src/BoxFort-* "$crit/subprojects/boxfort"
# the tarball leaves out Criterion's git submodules, two header-only
# libraries: debugbreak.h (Debian's debugbreak) and klib's khash.h and
# kvec.h (Debian has no klib package; libslow5-dev ships klib's current
# headers unchanged, where minimap2's and bwa's are modified or older)
mkdir -p "$work/headers"
(cd "$work/src" && apt-get -qq download debugbreak libslow5-dev)
for f in "$work"/src/*.deb; do dpkg-deb -x "$f" "$work/headers"; done
cp "$work/headers/usr/include/debugbreak.h" "$crit/dependencies/debugbreak/"
cp "$work/headers/usr/include/slow5/klib/khash.h" "$work/headers/usr/include/slow5/klib/kvec.h" \
	"$crit/dependencies/klib/"
# Criterion 2.4.1 wants BoxFort's debugger-fallback macros, which Debian
# adds to BoxFort 0.1.2 by a patch this mirror no longer serves (the
# debian.tar.xz); the build machine's own libboxfort-dev (Criterion's
# dependency, scripts/deps.sh) has the patched header. Only `--debug` runs
# would use the fallback, which the unpatched sandbox code ignores.
cp /usr/include/boxfort.h "$crit/subprojects/boxfort/include/boxfort.h"
# nanopb 0.4.7 reads the plugin parameter "-f FILE" as the file " FILE" and
# silently skips the options that make the strings pointers; "-fFILE" works
sed -i "s/'-f ' + options_file/'-f' + options_file/" "$crit/src/protocol/gen-pb.py"
grep -q "'-f' + options_file" "$crit/src/protocol/gen-pb.py" ||
	{ echo "criterion: gen-pb.py is not the one this script patches" >&2; exit 1; }

# -- the cross build -------------------------------------------------------------------
# the compiler tests/cross/run.sh builds the project with (deploy/cross/common.cmake)
if cc=$(command -v "$triplet-gcc"); then
	c="['$cc']"
else
	c="['clang', '--target=$triplet', '--sysroot=$sysroot']"
fi
cat >"$work/cross.ini" <<EOF
[binaries]
c = $c
ar = '$triplet-ar'
strip = '$triplet-strip'
pkgconfig = 'pkg-config'
cmake = 'cmake'

[properties]
sys_root = '$sysroot'
pkg_config_libdir = '$sysroot/usr/lib/$triplet/pkgconfig:$sysroot/usr/share/pkgconfig'

[host_machine]
system = 'linux'
cpu_family = '$cpu_family'
cpu = '$cpu'
endian = 'little'
EOF
# nanopb is found through its CMake package files, in the sysroot
meson setup "$work/build" "$crit" --cross-file "$work/cross.ini" --wrap-mode=nodownload \
	--prefix=/usr --libdir="lib/$triplet" --buildtype=release \
	-Dtests=false -Dsamples=false -Ddiffs=disabled -Di18n=disabled -Dcxx-support=disabled \
	-Dtheories=enabled -Dcmake_prefix_path="$sysroot/usr/lib/$triplet/cmake" \
	>"$work/setup.log" 2>&1 || { cat "$work/setup.log"; exit 1; }
ninja -C "$work/build" -j2 >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
DESTDIR=$sysroot meson install -C "$work/build" --no-rebuild >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log"; exit 1; }
test -s "$sysroot/usr/lib/$triplet/pkgconfig/criterion.pc"
echo "criterion: $(basename "$crit") for $triplet installed into $sysroot"
