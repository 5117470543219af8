#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fetch one of Debian's kernels for the guests, without installing it:
#
#   tests/kernels/fetch.sh SERIES ARCH OUT_DIR      e.g. 6.12 amd64 build/kernel-6.12-amd64
#
# Debian 12 carries Linux 6.12 beside its own 6.1 (bookworm-security's
# linux-6.12 packages, "6.12.N+deb12"; the same kernel as bookworm-backports'
# and trixie's). The newest ABI of SERIES for which apt knows the image, its
# headers, their -common headers and the build machine's linux-kbuild is
# downloaded with `apt-get download` and unpacked with dpkg-deb into OUT_DIR:
#
#   OUT_DIR/boot/vmlinuz-KV, OUT_DIR/lib/modules/KV (with a modules.dep)
#       what tests/module/run-guest.sh --kroot OUT_DIR --kver KV boots
#   OUT_DIR/usr/src/linux-headers-KV
#       what `make -C … M=module` builds the module against (its Makefile
#       made to find -common and kbuild under OUT_DIR)
#   OUT_DIR/kver   KV, for the scripts that use it
#
# Nothing is fetched again while OUT_DIR/.packages names the same packages.
# Prints KV on stdout, progress on stderr. Needs apt-get, dpkg-deb, depmod.
# If no 6.12 is in the machine's package lists, apt's sources lack the
# security suite (or backports); scripts/deps.sh adds it from the mirror the
# machine's own sources name.
set -euo pipefail
series=${1:?usage: $0 SERIES ARCH OUT_DIR}
arch=${2:?usage: $0 SERIES ARCH OUT_DIR}
out=${3:?usage: $0 SERIES ARCH OUT_DIR}
case $arch in amd64|arm64) ;; *) echo "fetch: ARCH is amd64 or arm64" >&2; exit 2 ;; esac
hostarch=$(dpkg --print-architecture)

# the ABIs apt knows, newest first; the first whose four packages all exist
mapfile -t abis < <(apt-cache pkgnames "linux-headers-$series." |
	sed -n "s/^linux-headers-\($series\.[0-9]*+[a-z0-9]*\)-$arch\$/\1/p" | sort -rV)
kv='' want=()
for abi in "${abis[@]}"; do
	w=("linux-image-$abi-$arch-unsigned:$arch" "linux-headers-$abi-$arch:$arch"
		"linux-headers-$abi-common" "linux-kbuild-$abi:$hostarch")
	ok=1
	for p in "${w[@]}"; do
		apt-cache show "$p" >/dev/null 2>&1 || { ok=0; break; }
	done
	if [ $ok = 1 ]; then kv=$abi-$arch want=("${w[@]}"); break; fi
done
[ -n "$kv" ] || { echo "fetch: apt knows no Linux $series for $arch (scripts/deps.sh adds the suite)" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ "$(cat "$out/.packages" 2>/dev/null)" != "${want[*]}" ]; then
	echo "fetch: ${want[*]}" >&2
	rm -rf "$out" && mkdir -p "$out/debs"
	chmod 0777 "$out/debs" # apt's _apt user downloads into it
	(cd "$out/debs" && apt-get download -qq "${want[@]}")
	for f in "$out"/debs/*.deb; do dpkg-deb -x "$f" "$out"; done
	rm -rf "$out/debs"
	/sbin/depmod -b "$out" "$kv"
	# the headers' Makefile names /usr/src/linux-headers-ABI-common and
	# /usr/lib/linux-kbuild-SERIES…: under OUT_DIR here
	sed -i "s|/usr/src/|$out/usr/src/|g; s|/usr/lib/linux-kbuild|$out/usr/lib/linux-kbuild|g" \
		"$out/usr/src/linux-headers-$kv/Makefile"
	echo "$kv" >"$out/kver"
	echo "${want[*]}" >"$out/.packages"
	echo "fetch: $kv unpacked, $(du -sm "$out" | cut -f1) MiB" >&2
fi
cat "$out/kver"
