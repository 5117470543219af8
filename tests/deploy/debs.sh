#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian packages (deploy/debian/): build them, lint them, install them
# into a throwaway root and use them there.
#
#   debs.sh [--debs DIR] [--keep]
#
# --debs DIR: test the packages already in DIR (scripts/build-debs.sh's
# output) instead of building them (about 70 s with 2 cores). --keep leaves
# the work directory behind.
#
# 1. scripts/build-debs.sh (DEB_BUILD_OPTIONS="nocheck parallel=2").
# 2. lintian on the .changes: any E: fails the test (W:, I: are shown).
# 3. Each package's file list has what it must.
# 4. A private mount and PID namespace (unshare) mounts an overlay whose
#    lower layer is the host's / and whose upper layer is a tmpfs, chroots
#    into it, and there:
#    - apt-get installs every package (dependencies from the host's apt;
#      the postinsts run as on a machine without a running systemd or udev:
#      systemd-sysusers creates the group, the unit is enabled, nothing is
#      started; iiostream-dkms registers the module with DKMS);
#    - checks the conffile, the group, the enablement, --check-config of the
#      shipped configuration;
#    - runs the installed /usr/sbin/iiostreamd on a free loopback port and
#      `iiostream rx --blocks 20 --verify` against it;
#    - builds tests/deploy/debs/client.c against the installed
#      libiiostream-dev twice, with pkg-config and with CMake's
#      find_package(iiostream), and runs both against the daemon;
#    - imports gnuradio.iiostream and makes a source (gr-iiostream built);
#    - stops the daemon (SIGTERM, exit 0) and purges the packages.
#    Leaving the namespace drops the overlay: the host is checked unchanged
#    (no iiostream package known to its dpkg, no /etc/iiostream).
# 5. tests/deploy/systemd-guest.sh boots a Debian 12 root with the packages
#    under systemd (PID 1) in a qemu guest and checks the service there.
# Needs root (mounts, chroot).
set -euo pipefail

prog=${0##*/}
fail() { echo "$prog: FAIL: $*" >&2; exit 1; }
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if [ "${1:-}" = --inner ]; then
	inner=1
else
	inner=''
	debs='' keep=''
	while [ $# -gt 0 ]; do
		case $1 in
		--debs) debs=$(cd "$2" && pwd); shift ;;
		--keep) keep=1 ;;
		-h|--help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		*) echo "$prog: unknown option $1" >&2; exit 2 ;;
		esac
		shift
	done
fi

t0=$(date +%s%N)
step_t0=$t0
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
step() {
	printf '%s: %-60s %6s ms\n' "$prog" "$*" "$(ms "$step_t0")"
	step_t0=$(date +%s%N)
}

# --- inside the namespace, in the chroot --------------------------------------
if [ -n "$inner" ]; then
	# the packages are in /debs, tests/deploy/debs/ in /consumer
	ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
	export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
	pkgs=(iiostreamd libiiostream0 libiiostream-dev iiostream-tools iiostream-dkms)
	shopt -s nullglob
	gr=(/debs/gr-iiostream_*.deb)
	[ ${#gr[@]} -gt 0 ] && pkgs+=(gr-iiostream)
	files=()
	for p in "${pkgs[@]}"; do
		f=(/debs/"${p}"_*.deb)
		[ ${#f[@]} -eq 1 ] || fail "no single $p .deb in the package directory"
		files+=("${f[0]}")
	done
	apt-get install -y -q --no-install-recommends "${files[@]}" >/tmp/apt.log 2>&1 ||
		{ tail -n 40 /tmp/apt.log >&2; fail "apt-get install"; }
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" | grep 'install ok installed' >/dev/null || fail "$p not installed"
	done
	step "apt-get install ${pkgs[*]}"

	dpkg-query -W -f='${Conffiles}\n' iiostreamd | grep '/etc/iiostream/iiostreamd.conf' >/dev/null ||
		fail "/etc/iiostream/iiostreamd.conf is no conffile"
	getent group iiostream >/dev/null || fail "group iiostream not created"
	[ -L /etc/systemd/system/multi-user.target.wants/iiostreamd.service ] ||
		fail "iiostreamd.service not enabled"
	/usr/sbin/iiostreamd --config /etc/iiostream/iiostreamd.conf --check-config >/dev/null 2>&1 ||
		fail "--check-config of the shipped configuration"
	dkver=$(dpkg-query -W -f='${Version}' iiostream-dkms | sed 's/-[^-]*$//')
	dks=$(dkms status -m iiostream -v "$dkver" 2>&1 | head -n1)
	[[ $dks == iiostream/"$dkver"* ]] ||
		{ grep -i -A5 dkms /tmp/apt.log >&2; fail "iiostream $dkver not registered with dkms: '$dks'"; }
	step "conffile, group iiostream, unit enabled, --check-config; dkms: $dks"
	# the postinst builds for the running kernel; when that one has no
	# headers (a container, or this machine's own kernel) build the
	# packaged source for Debian's kernel whose headers are installed
	if [[ $dks != *": installed"* ]]; then
		kver=
		for d in /lib/modules/*/build; do [ -e "$d/Makefile" ] && kver=$(basename "$(dirname "$d")"); done
		[ -n "$kver" ] || fail "no kernel headers to build the packaged module against"
		dkms build -m iiostream -v "$dkver" -k "$kver" >/tmp/dkms.log 2>&1 ||
			{ tail -n 30 /tmp/dkms.log >&2; fail "dkms build of the packaged module for $kver"; }
		dks=$(dkms status -m iiostream -v "$dkver" -k "$kver" 2>&1 | head -n1)
	fi
	[[ $dks == *": built"* || $dks == *": installed"* ]] || fail "the module is not built: '$dks'"
	ko=$(find "/var/lib/dkms/iiostream/$dkver" -name 'iiostream_sim.ko*' | head -n1)
	[ -n "$ko" ] || fail "dkms says '$dks' but left no iiostream_sim.ko"
	step "dkms: $dks ($(modinfo -F vermagic "$ko" | cut -d' ' -f1))"

	/usr/sbin/iiostreamd --listen 127.0.0.1:0 --port-file /tmp/ports --rate 1000000 \
		--block-size 64K --blocks 8 >/tmp/daemon.log 2>&1 &
	dpid=$!
	# (bounds that only catch a hang: the machine may be loaded)
	for _ in $(seq 1200); do [ -s /tmp/ports ] && break; sleep 0.05; done
	[ -s /tmp/ports ] || { cat /tmp/daemon.log >&2; fail "the daemon wrote no port file"; }
	port=$(head -n1 /tmp/ports)
	url=tcp://127.0.0.1:$port
	iiostream rx --url "$url" --blocks 20 --verify --timeout 60000 >/tmp/rx.log 2>&1 ||
		{ cat /tmp/rx.log >&2; fail "iiostream rx --verify"; }
	step "/usr/sbin/iiostreamd on port $port, iiostream rx --blocks 20 --verify"

	flags=$(pkg-config --cflags --libs iiostream) || fail "pkg-config iiostream"
	[ "$(pkg-config --modversion iiostream)" = "$(dpkg-query -W -f='${Version}' libiiostream-dev | sed 's/-[^-]*$//')" ] ||
		fail "pkg-config's version is not the package's"
	# shellcheck disable=SC2086
	cc -Wall -Werror -o /tmp/client-pc /consumer/client.c $flags || fail "cc with pkg-config"
	/tmp/client-pc "$url" 20 || fail "the pkg-config-built client"
	step "pkg-config: '$flags'; client built and verified 20 blocks"

	cmake -S /consumer -B /tmp/consumer-build >/tmp/cmake.log 2>&1 &&
		cmake --build /tmp/consumer-build >>/tmp/cmake.log 2>&1 ||
		{ cat /tmp/cmake.log >&2; fail "cmake find_package(iiostream)"; }
	# grep reads all of ldd's output (not -q): under pipefail, an ldd cut
	# short by SIGPIPE after an early match would fail the check
	ldd /tmp/consumer-build/client |
		grep -E "libiiostream.so.0 => (/usr)?/lib/$ma/libiiostream.so.0" >/dev/null ||
		fail "the CMake-built client does not use the installed library"
	/tmp/consumer-build/client "$url" 20 || fail "the CMake-built client"
	step "CMake find_package(iiostream): client built and verified 20 blocks"

	if [ ${#gr[@]} -gt 0 ]; then
		(cd / && /usr/bin/python3 -c "from gnuradio import iiostream
src = iiostream.source('$url', [0, 1], 'complex', sample_rate=1e6)
print(src.name())") >/tmp/gr.log 2>&1 || { cat /tmp/gr.log >&2; fail "import gnuradio.iiostream"; }
		[ -f /usr/share/gnuradio/grc/blocks/iiostream_source.block.yml ] || fail "no GRC block"
		[ -f /usr/share/gnuradio/grc/blocks/iiostream_sink.block.yml ] || fail "no GRC sink block"
		step "gr-iiostream: gnuradio.iiostream.source made ($(tail -n1 /tmp/gr.log))"
	fi

	kill -TERM "$dpid"
	rc=0; wait "$dpid" || rc=$?
	[ "$rc" -eq 0 ] || { cat /tmp/daemon.log >&2; fail "the daemon exited $rc on SIGTERM"; }
	apt-get purge -y -q "${pkgs[@]}" >/tmp/purge.log 2>&1 || { tail -n 30 /tmp/purge.log >&2; fail "purge"; }
	[ ! -e /etc/iiostream ] || fail "/etc/iiostream left after purge"
	step "daemon stopped (exit 0); packages purged, /etc/iiostream gone"
	exit 0
fi

# --- outside ----------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || { echo "$prog: needs root (mounts, chroot): skipped"; exit 77; }
for t in unshare chroot lintian dpkg-buildpackage; do
	command -v "$t" >/dev/null || fail "$t missing (scripts/deps.sh)"
done
work=$(mktemp -d "${TMPDIR:-/tmp}/debs-test.XXXXXX")
cleanup() {
	local rc=$?
	if [ -n "$keep" ]; then echo "$prog: kept $work" >&2; else rm -rf "$work"; fi
	exit "$rc"
}
trap cleanup EXIT

if [ -z "$debs" ]; then
	debs=$work/debs
	"$top/scripts/build-debs.sh" "$debs" | sed "s/^/$prog: /"
	step "scripts/build-debs.sh"
else
	lintian --info "$debs"/*.changes >"$debs/lintian.txt" 2>&1 || true
fi

grep -E '^[EW]:' "$debs/lintian.txt" | sed "s/^/$prog: lintian: /" || true
nerr=$(grep -c '^E:' "$debs/lintian.txt" || true)
[ "$nerr" -eq 0 ] || fail "lintian: $nerr errors"
step "lintian: 0 errors, $(grep -c '^W:' "$debs/lintian.txt" || true) warnings"

# --- what each package holds -------------------------------------------------
has() { # PACKAGE PATH...
	local p=$1 f list; shift
	f=$(ls "$debs/${p}"_*.deb) || fail "no $p package"
	list=$(dpkg-deb -c "$f" | awk '{print $6}')
	for path in "$@"; do
		grep -qx "\.$path" <<<"$list" || fail "$p lacks $path"
	done
}
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
ver=$(sed -n 's/^[[:space:]]*project([^)]*VERSION[[:space:]]\{1,\}\([0-9][0-9.]*\).*/\1/p' "$top/CMakeLists.txt" | head -n1)
has iiostreamd /usr/sbin/iiostreamd /lib/systemd/system/iiostreamd.service \
	/etc/iiostream/iiostreamd.conf /lib/udev/rules.d/70-iiostream.rules \
	/usr/lib/iiostream/iiostream-sysfs-access /usr/lib/sysusers.d/iiostream.conf \
	/usr/share/doc/iiostreamd/deployment.md
has libiiostream0 "/usr/lib/$ma/libiiostream.so.0"
has libiiostream-dev /usr/include/iiostream.h "/usr/lib/$ma/libiiostream.so" \
	"/usr/lib/$ma/pkgconfig/iiostream.pc" "/usr/lib/$ma/cmake/iiostream/iiostreamConfig.cmake"
has iiostream-tools /usr/bin/iiostream
has iiostream-dkms "/usr/src/iiostream-$ver/dkms.conf" "/usr/src/iiostream-$ver/Kbuild" \
	"/usr/src/iiostream-$ver/include/uapi/iiostream/iio_block.h"
if ls "$debs"/gr-iiostream_*.deb >/dev/null 2>&1; then
	has gr-iiostream /usr/lib/python3/dist-packages/gnuradio/iiostream/__init__.py \
		/usr/share/gnuradio/grc/blocks/iiostream_source.block.yml \
		/usr/share/gnuradio/grc/blocks/iiostream_sink.block.yml
fi
step "package contents"

# --- install into an overlay of / -------------------------------------------
etc_before=$([ -e /etc/iiostream ] && echo yes || echo no)
before=$(dpkg-query -W -f='${Package}\n' 2>/dev/null | grep -c iiostream || true)
mkdir -p "$work/ovl"
unshare --mount --pid --fork --propagation private bash -c '
	set -e
	o=$1 debs=$2 consumer=$3 self=$4
	mount -t tmpfs -o size=2G tmpfs "$o"
	mkdir -p "$o/upper" "$o/work" "$o/root"
	mount -t overlay overlay -o "lowerdir=/,upperdir=$o/upper,workdir=$o/work" "$o/root"
	r=$o/root
	mount --rbind /dev "$r/dev"
	mount -t proc proc "$r/proc"
	mount --rbind /sys "$r/sys"
	mount -t tmpfs tmpfs "$r/tmp"
	mount -t tmpfs tmpfs "$r/run"
	mkdir -p "$r/debs" "$r/consumer" "$r/selftest"
	mount --bind "$debs" "$r/debs"
	mount --bind "$consumer" "$r/consumer"
	cp "$self" "$r/selftest/debs.sh"
	exec chroot "$r" /bin/bash /selftest/debs.sh --inner
' bash "$work/ovl" "$debs" "$top/tests/deploy/debs" "$0" || fail "the install test in the overlay"
step "installed, used and purged in an overlay of /"

after=$(dpkg-query -W -f='${Package}\n' 2>/dev/null | grep -c iiostream || true)
[ "$before" = "$after" ] || fail "the host's dpkg database changed"
[ "$([ -e /etc/iiostream ] && echo yes || echo no)" = "$etc_before" ] || fail "/etc/iiostream appeared on the host"
step "host unchanged"

# 5. The service as shipped, under a real systemd (PID 1) in a qemu guest
if ! "$top/tests/deploy/systemd-guest.sh" "$debs" | sed -u "s/^/$prog: /"; then
	fail "the packaged service under systemd"
fi
step "iiostreamd.service under systemd in a guest"
echo "$prog: total $(ms "$t0") ms"
echo "$prog: PASS"
