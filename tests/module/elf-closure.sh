#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The shared libraries a dynamic ELF binary of another architecture needs,
# found in a sysroot (Debian packages unpacked with dpkg-deb), where ldd
# cannot look: run-guest.sh --sysroot copies what this prints.
#
#   elf-closure.sh SYSROOT TRIPLET FILE...
#
# Prints one "SOURCE GUEST_PATH" line for the dynamic loader (PT_INTERP) and
# for each library in the closure of DT_NEEDED, searched as ld.so does
# without an ld.so.cache: the object's own DT_RUNPATH (or DT_RPATH; $ORIGIN
# expanded), host paths as they are (a build tree), then SYSROOT/lib/TRIPLET,
# SYSROOT/usr/lib/TRIPLET, SYSROOT/lib and SYSROOT/usr/lib. SOURCE is a
# regular file, its symlinks followed inside SYSROOT (an absolute link
# target means SYSROOT/target, not this machine's file); GUEST_PATH is the
# name looked up (the SONAME's link), relative to SYSROOT, or the host path
# for a RUNPATH hit. Exit 1, naming it, on a library found nowhere.
set -euo pipefail
sysroot=${1:?usage: elf-closure.sh SYSROOT TRIPLET FILE...}
triplet=${2:?usage: elf-closure.sh SYSROOT TRIPLET FILE...}
shift 2
sysroot=$(cd "$sysroot" && pwd)

inside() { # PATH-IN-SYSROOT: the regular file it names, links resolved in the sysroot
	local p=$1 t n=0
	while [ -L "$sysroot$p" ]; do
		t=$(readlink "$sysroot$p")
		case $t in /*) p=$t ;; *) p=${p%/*}/$t ;; esac
		n=$((n + 1))
		[ $n -lt 40 ] || { echo "elf-closure: symlink loop at $sysroot$1" >&2; return 1; }
	done
	[ -f "$sysroot$p" ] && echo "$sysroot$p"
}

declare -A seen=()
queue=("$@")
for f in "$@"; do
	interp=$(readelf -lW "$f" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
	if [ -n "$interp" ] && [ -z "${seen[$interp]:-}" ]; then
		src=$(inside "$interp") || { echo "elf-closure: $f: no loader $interp in $sysroot" >&2; exit 1; }
		seen[$interp]=1
		echo "$src $interp"
	fi
done
while [ ${#queue[@]} -gt 0 ]; do
	obj=${queue[0]}
	queue=("${queue[@]:1}")
	dyn=$(readelf -dW "$obj") || { echo "elf-closure: $obj: not an ELF file" >&2; exit 1; }
	origin=$(dirname "$(readlink -f "$obj")")
	runpath=$(sed -n 's/.*(RUNPATH).*\[\(.*\)\]$/\1/p' <<<"$dyn")
	[ -n "$runpath" ] || runpath=$(sed -n 's/.*(RPATH).*\[\(.*\)\]$/\1/p' <<<"$dyn")
	runpath=${runpath//\$ORIGIN/$origin}
	runpath=${runpath//\$\{ORIGIN\}/$origin}
	mapfile -t needed < <(sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' <<<"$dyn")
	for lib in ${needed[@]+"${needed[@]}"}; do
		[ -z "${seen[$lib]:-}" ] || continue
		src='' dest=''
		IFS=: read -ra rdirs <<<"$runpath"
		for d in ${rdirs[@]+"${rdirs[@]}"}; do
			if [ -n "$d" ] && [ -f "$d/$lib" ]; then
				src=$(readlink -f "$d/$lib") dest=$d/$lib
				break
			fi
		done
		for d in "/lib/$triplet" "/usr/lib/$triplet" /lib /usr/lib; do
			[ -z "$src" ] || break
			if src=$(inside "$d/$lib"); then dest=$d/$lib; fi
		done
		[ -n "$src" ] || { echo "elf-closure: $obj needs $lib: not in its RUNPATH nor $sysroot" >&2; exit 1; }
		seen[$lib]=1
		echo "$src $dest"
		queue+=("$src")
	done
done
