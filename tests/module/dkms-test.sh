#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prove the DKMS packaging (deploy/dkms/): assemble the source tree with
# mktree.sh, then `dkms add` + `dkms build` it against the installed kernel
# headers, check the built module with modinfo and `dkms remove` it again.
#
#   dkms-test.sh [--kver KV] [--keep]
#
# KV defaults to the newest /lib/modules/* that has a `build` link (never
# `uname -r`: the host may run a kernel whose headers are not installed).
# --keep leaves the temporary directory behind for inspection.
#
# Installs nothing: it needs the dkms package and linux-headers for KV.
# dkms runs on private --sourcetree/--dkmstree/--installtree directories in a
# temporary directory (and a throwaway module signing key there), so the
# system's /usr/src, /var/lib/dkms and /lib/modules are never written; the
# test checks that at the end. Root is not needed.
set -euo pipefail

prog=${0##*/}
usage() { # STATUS
	sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit "$1"
}
fail() { echo "$prog: FAIL: $*" >&2; exit 1; }

kver='' keep=''
while [ $# -gt 0 ]; do
	case $1 in
	--kver)    [ $# -ge 2 ] || fail "--kver needs an argument"; kver=$2; shift ;;
	--keep)    keep=1 ;;
	-h|--help) usage 0 ;;
	*)         echo "$prog: unknown option: $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mktree=$top/deploy/dkms/mktree.sh
name=iiostream
ko_name=iiostream_sim
want_depends=industrialio,kfifo_buf

t0=$(date +%s%N)
step_t0=$t0
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
step() { # MESSAGE: one line per finished step, with its duration
	printf '%s: %-58s %6s ms\n' "$prog" "$*" "$(ms "$step_t0")"
	step_t0=$(date +%s%N)
}

# --- preconditions ---------------------------------------------------------
command -v dkms >/dev/null 2>&1 ||
	fail "dkms not found (apt-get install --no-install-recommends dkms)"
command -v modinfo >/dev/null 2>&1 || fail "modinfo not found (apt-get install kmod)"
[ -x "$mktree" ] || fail "missing or not executable: $mktree"
dkms_ver=$(dkms --version 2>/dev/null | sed -n 's/^dkms-//p')
[ -n "$dkms_ver" ] || fail "cannot tell the dkms version"
# --sourcetree/--dkmstree/--installtree exist since dkms 2.x and are parsed
# by 3.0.x (Debian 12) even though `dkms` usage text does not list them.
grep -q -- '--dkmstree' "$(command -v dkms)" ||
	fail "dkms $dkms_ver has no --dkmstree option; cannot build without touching /var/lib/dkms"

if [ -z "$kver" ]; then
	# shellcheck disable=SC2012 # kernel release names have no odd characters
	for k in $(ls -1 /lib/modules 2>/dev/null | sort -rV); do
		if [ -e "/lib/modules/$k/build" ]; then
			kver=$k
			break
		fi
	done
fi
[ -n "$kver" ] ||
	fail "no kernel headers: no /lib/modules/*/build (apt-get install linux-headers-amd64)"
kdir=/lib/modules/$kver/build
{ [ -f "$kdir/Makefile" ] && [ -f "$kdir/.config" ]; } ||
	fail "kernel headers for $kver incomplete or missing at $kdir (apt-get install linux-headers-$kver)"
step "dkms $dkms_ver, headers for $kver"

# What the system trees look like now; compared again at the end.
snapshot() {
	{
		find /var/lib/dkms -mindepth 1 2>/dev/null | sort
		find /usr/src -mindepth 1 -maxdepth 1 2>/dev/null | sort
		find "/lib/modules/$kver" -mindepth 1 -maxdepth 2 2>/dev/null | sort
		ls -l --time-style=+%s%N "/lib/modules/$kver" 2>/dev/null
	} | sha256sum | cut -d' ' -f1
}
sys_before=$(snapshot)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dkms-test.XXXXXX")
cleanup() {
	local rc=$?
	if [ -n "$keep" ]; then
		echo "$prog: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/src" "$tmp/dkms" "$tmp/install" "$tmp/tmp"
# dkms signs built modules when the kernel's sign-file exists (Debian: yes)
# and creates /var/lib/dkms/mok.{key,pub} if they are missing. prepare_signing
# keeps mok_signing_key/mok_certificate from the environment unless
# /etc/dkms/framework.conf sets them, so point them into $tmp.
run_dkms() { # ACTION ARGS...: log to $tmp/dkms.log
	local action=$1; shift
	env TMPDIR="$tmp/tmp" \
		mok_signing_key="$tmp/mok.key" mok_certificate="$tmp/mok.pub" \
		dkms "$action" --sourcetree "$tmp/src" --dkmstree "$tmp/dkms" \
		--installtree "$tmp/install" "$@" >>"$tmp/dkms.log" 2>&1
}
show_log() { # FILE
	echo "--- $1 (last 40 lines) ---" >&2
	tail -n 40 "$1" >&2 || true
}

# --- assemble the source tree ----------------------------------------------
version=$(sed -n 's/^[[:space:]]*project([^)]*VERSION[[:space:]]\{1,\}\([0-9][0-9.]*\).*/\1/p' \
	"$top/CMakeLists.txt" | head -n1)
[ -n "$version" ] || fail "no project version in $top/CMakeLists.txt"
srcdir=$tmp/src/$name-$version
"$mktree" "$srcdir" || fail "mktree.sh failed"
[ -f "$srcdir/dkms.conf" ] || fail "mktree.sh made no dkms.conf"
grep -q "^PACKAGE_VERSION=\"$version\"$" "$srcdir/dkms.conf" ||
	fail "mktree.sh did not fill in PACKAGE_VERSION=$version"
[ -f "$srcdir/include/iiostream/pattern.h" ] || fail "mktree.sh did not copy pattern.h"
[ -f "$srcdir/include/iiostream/scan.h" ] || fail "mktree.sh did not copy scan.h"
# every object the Kbuild links (iios_dac.o came with the DAC) has its source
for o in $(sed -n 's/^iiostream_sim-y[[:space:]]*:=//p' "$top/module/Kbuild"); do
	[ -f "$srcdir/${o%.o}.c" ] || fail "mktree.sh did not copy ${o%.o}.c (module/Kbuild links $o)"
done
junk=$(cd "$srcdir" && find . \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
	-o -name '*.mod.c' -o -name '.*.cmd' -o -name 'Module.symvers' \
	-o -name 'modules.order' \) -print)
[ -z "$junk" ] || fail "mktree.sh copied build output: $junk"
step "mktree.sh -> $name-$version ($(find "$srcdir" -type f | wc -l) files)"

# --- dkms add / build --------------------------------------------------------
run_dkms add -m "$name" -v "$version" || { show_log "$tmp/dkms.log"; fail "dkms add"; }
[ -L "$tmp/dkms/$name/$version/source" ] || { show_log "$tmp/dkms.log"; fail "dkms add did not register the source"; }
step "dkms add -m $name -v $version"

if ! run_dkms build -m "$name" -v "$version" -k "$kver"; then
	show_log "$tmp/dkms.log"
	[ -f "$tmp/dkms/$name/$version/build/make.log" ] &&
		show_log "$tmp/dkms/$name/$version/build/make.log"
	fail "dkms build for $kver"
fi
step "dkms build -m $name -v $version -k $kver"

status=$(env TMPDIR="$tmp/tmp" dkms status --dkmstree "$tmp/dkms" \
	--sourcetree "$tmp/src" --installtree "$tmp/install" -m "$name" -v "$version" -k "$kver" 2>&1) ||
	fail "dkms status: $status"
[[ $status == *": built"* ]] || fail "dkms status does not say built: $status"

# --- check the module --------------------------------------------------------
shopt -s nullglob
kos=("$tmp/dkms/$name/$version/$kver"/*/module/"$ko_name".ko*)
shopt -u nullglob
[ ${#kos[@]} -eq 1 ] || { show_log "$tmp/dkms.log"; fail "built $ko_name.ko not found in $tmp/dkms/$name/$version/$kver/*/module/"; }
ko=${kos[0]}
[ -s "$ko" ] || fail "$ko is empty"

vermagic=$(modinfo -F vermagic "$ko") || fail "modinfo $ko"
[[ "$vermagic " == "$kver "* ]] || fail "vermagic '$vermagic' is not for $kver"
depends=$(modinfo -F depends "$ko")
[ "$(tr ',' '\n' <<<"$depends" | sort | paste -sd,)" = "$want_depends" ] ||
	fail "depends is '$depends', want '$want_depends'"
signer=$(modinfo -F signer "$ko" 2>/dev/null || true)
step "modinfo: vermagic ${vermagic%% *}, depends $depends${signer:+, signed}"

# dkms builds without IIOS_WERROR (see dkms.conf); show compiler warnings
# from its make.log, which `dkms remove` deletes, without failing on them.
makelog=$(dirname "$(dirname "$ko")")/log/make.log
[ -f "$makelog" ] || fail "no make.log next to $ko"
nwarn=$(grep -c 'warning:' "$makelog" || true)
[ "$nwarn" -eq 0 ] || grep -A3 'warning:' "$makelog" | sed "s/^/$prog: make.log: /" >&2
step "make.log: $nwarn compiler warning(s)"

# --- dkms remove -------------------------------------------------------------
run_dkms remove -m "$name" -v "$version" --all || { show_log "$tmp/dkms.log"; fail "dkms remove"; }
[ ! -e "$tmp/dkms/$name" ] || fail "dkms remove left $tmp/dkms/$name"
step "dkms remove -m $name -v $version --all"

# --- no trace on the system -------------------------------------------------
[ "$(snapshot)" = "$sys_before" ] ||
	fail "/var/lib/dkms, /usr/src or /lib/modules/$kver changed during the test"
[ -z "$(find "$tmp/install" -mindepth 1 -print -quit)" ] ||
	fail "dkms wrote to the install tree: $(find "$tmp/install" -mindepth 1 | head -3)"
step "system /usr/src, /var/lib/dkms, /lib/modules/$kver untouched"

echo "$prog: total $(ms "$t0") ms"
echo "dkms-test: PASS"
