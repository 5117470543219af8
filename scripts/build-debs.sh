#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build iiostream's Debian packages (deploy/debian/) with dpkg-buildpackage:
#
#   scripts/build-debs.sh [OUTDIR]        (default OUTDIR: build-debs/)
#
# dpkg-buildpackage wants debian/ at the top of the tree, so the tree's
# files (git's tracked and untracked ones, not ignored ones: no build
# directories) are copied into a temporary directory, deploy/debian/ becomes
# debian/ there, and the packages are built in that copy: the source tree
# stays clean. OUTDIR gets the .deb files, the .changes and .buildinfo, and
# lintian.txt (lintian's verdict on the .changes; this script does not fail
# on it, tests/deploy/debs.sh does on errors).
#
# Environment: DEB_BUILD_OPTIONS (default "nocheck parallel=2"; drop nocheck
# to run the unit tests during the build), DEB_BUILD_PROFILES (added to
# automatically: pkg.iiostream.nognuradio when gnuradio-dev is missing, which
# leaves out gr-iiostream; nocheck when DEB_BUILD_OPTIONS has it),
# KEEP_TMP=1 keeps the build copy.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build-debs}
mkdir -p "$out"
out=$(cd "$out" && pwd)

for t in dpkg-buildpackage dh lintian; do
	command -v "$t" >/dev/null || { echo "build-debs: $t missing (scripts/deps.sh installs it)" >&2; exit 1; }
done

export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS-nocheck parallel=2}
profiles=${DEB_BUILD_PROFILES:-}
case " $DEB_BUILD_OPTIONS " in *" nocheck "*) profiles="$profiles nocheck" ;; esac
if ! dpkg-query -W -f='${Status}' gnuradio-dev 2>/dev/null | grep -q 'install ok installed'; then
	echo "build-debs: gnuradio-dev not installed: no gr-iiostream package"
	profiles="$profiles pkg.iiostream.nognuradio"
fi
profiles=$(echo $profiles | tr ' ' ',')

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iiostream-debs.XXXXXX")
if [ -n "${KEEP_TMP:-}" ]; then
	trap 'echo "build-debs: kept $tmp" >&2' EXIT
else
	trap 'rm -rf "$tmp"' EXIT
fi
src=$tmp/iiostream
mkdir "$src"
# The files of the tree, not build output (git knows which; outside a git
# checkout, everything but build*/ directories).
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		cpio -0pdm --quiet "$src")
else
	(cd "$top" && tar --exclude='./build*' --exclude=./debian -cf - .) | tar -xf - -C "$src"
fi
rm -rf "$src/debian"
cp -a "$src/deploy/debian" "$src/debian"

echo "build-debs: dpkg-buildpackage in $src (DEB_BUILD_OPTIONS='$DEB_BUILD_OPTIONS' profiles '$profiles')"
t0=$(date +%s)
(cd "$src" && dpkg-buildpackage -us -uc -b ${profiles:+-P"$profiles"}) >"$out/build.log" 2>&1 || {
	tail -n 60 "$out/build.log" >&2
	echo "build-debs: dpkg-buildpackage failed; the log is $out/build.log" >&2
	exit 1
}
rm -f "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo
shopt -s nullglob
for f in "$tmp"/*.deb "$tmp"/*.ddeb "$tmp"/*.changes "$tmp"/*.buildinfo; do
	cp "$f" "$out/"
done
echo "build-debs: built in $(( $(date +%s) - t0 )) s:"
(cd "$out" && ls -1 ./*.deb | sed 's|^\./|  |')

changes=$(ls "$out"/*.changes)
lintian --info --display-info "$changes" >"$out/lintian.txt" 2>&1 || true
echo "build-debs: lintian: $(grep -c '^E:' "$out/lintian.txt" || true) errors," \
	"$(grep -c '^W:' "$out/lintian.txt" || true) warnings ($out/lintian.txt)"
