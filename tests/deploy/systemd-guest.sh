#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The packaged iiostreamd.service under a real systemd as PID 1: a Debian 12
# root made by mmdebstrap (systemd, udev, the iiostreamd, libiiostream0 and
# iiostream-tools packages under test, the kernel module), booted from an
# initramfs in Debian's kernel under qemu (TCG). systemd starts the service
# from the shipped unit, udev applies the shipped rules to the module's
# node, and tests/deploy/systemd-guest-test.sh checks, from a oneshot unit:
# readiness (Type=notify), the dynamic user without capabilities, a stream
# from the kernel source through the sandbox (DeviceAllow=), source auto,
# the board's identity (made by the postinst, the journal's fingerprint
# = --show-identity's) and a verified stream over TLS with it, the
# watchdog, reload, the online exposure score and a clean stop.
#
#   tests/deploy/systemd-guest.sh DEBS_DIR [OUT_DIR]
#   KO=FILE: the module to load (default module/iiostream_sim.ko, built
#   here when missing)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
debs=$(cd "${1:?usage: $0 DEBS_DIR [OUT_DIR]}" && pwd)
out=${2:-$top/build/systemd-guest}
prog=systemd-guest
fail() { echo "$prog: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (mmdebstrap's chroot, the device nodes)"
for t in mmdebstrap qemu-system-x86_64 cpio depmod; do
	command -v "$t" >/dev/null || fail "$t missing (scripts/deps.sh)"
done
# Debian's kernel whose headers the module is built against
kver=
for d in /lib/modules/*/build; do [ -e "$d/Makefile" ] && kver=$(basename "$(dirname "$d")"); done
[ -n "$kver" ] && [ -f "/boot/vmlinuz-$kver" ] || fail "no Debian kernel with headers (linux-image-amd64)"
ko=${KO:-$top/module/iiostream_sim.ko}
if [ ! -f "$ko" ]; then
	make -s -C "$top/module" KVER="$kver" >/dev/null || fail "module build"
fi
pkg() { # the one .deb of package $1 in $debs
	local f=("$debs/$1"_*.deb)
	[ ${#f[@]} = 1 ] && [ -f "${f[0]}" ] || fail "no single $1 .deb in $debs"
	echo "${f[0]}"
}
rm -rf "$out"
mkdir -p "$out"
root=$out/root
t0=$(date +%s)

# -- the root: Debian 12, systemd, the packages under test ---------------------
mmdebstrap --variant=apt --include=systemd,systemd-sysv,udev,kmod,libavahi-client3,libiio0,libprotobuf-c1,libssl3,libuv1 \
	--customize-hook='mkdir -p "$1/tmp/debs"' \
	--customize-hook="copy-in $(pkg iiostreamd) $(pkg libiiostream0) $(pkg iiostream-tools) /tmp/debs" \
	--customize-hook='chroot "$1" sh -c "dpkg -i /tmp/debs/*.deb && rm -rf /tmp/debs"' \
	bookworm "$root" >"$out/mmdebstrap.log" 2>&1 ||
	{ tail -20 "$out/mmdebstrap.log"; fail "mmdebstrap"; }
echo "$prog: Debian 12 root with systemd and the packages: $(du -sm "$root" | cut -f1) MiB ($(($(date +%s) - t0)) s)"

# the module and the distribution's IIO core, loaded at boot
mods=$root/lib/modules/$kver
mkdir -p "$mods/kernel/drivers/iio/buffer" "$mods/updates"
cp "/lib/modules/$kver/kernel/drivers/iio/industrialio.ko" "$mods/kernel/drivers/iio/"
cp "/lib/modules/$kver/kernel/drivers/iio/buffer/kfifo_buf.ko" "$mods/kernel/drivers/iio/buffer/"
cp "$ko" "$mods/updates/"
cp "/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$mods/"
depmod -b "$root" "$kver"
echo iiostream_sim >"$root/etc/modules-load.d/iiostream.conf"

# the service as shipped (source auto: the module's device; TLS with the
# identity the postinst made), small blocks for a short test
cat >>"$root/etc/iiostream/iiostreamd.conf" <<EOF

# tests/deploy/systemd-guest.sh
block-size = 256K
EOF

# the checks, as a oneshot unit after the service, on the serial console
install -m 0755 "$top/tests/deploy/systemd-guest-test.sh" "$root/usr/local/bin/"
cat >"$root/etc/systemd/system/iiostream-guest-test.service" <<EOF
[Unit]
Description=iiostream: the packaged service under systemd, checked
Wants=iiostreamd.service
After=iiostreamd.service

[Service]
Type=oneshot
ExecStart=/usr/local/bin/systemd-guest-test.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
EOF
ln -s ../iiostream-guest-test.service "$root/etc/systemd/system/multi-user.target.wants/"
# no login prompts: a getty on ttyS0 would hang up the checks' output
ln -s /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
ln -s /dev/null "$root/etc/systemd/system/getty@tty1.service"
# nothing of the network is needed but loopback, which systemd brings up
echo iiostream-guest >"$root/etc/hostname"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$out/root.cpio"

# -- boot ------------------------------------------------------------------------
set +e
timeout 420 qemu-system-x86_64 -machine q35 -accel tcg -cpu max -m 2048 -smp 1 -nographic \
	-no-reboot -kernel "/boot/vmlinuz-$kver" -initrd "$out/root.cpio" \
	-append "console=ttyS0 rdinit=/sbin/init panic=-1 systemd.show_status=error" \
	-nic none </dev/null 2>&1 | sed -u 's/\r$//; s/\x1b\[[0-9;?]*[A-Za-z]//g' >"$out/console.log"
qrc=${PIPESTATUS[0]}
set -e
grep -E "^GUEST-(OK|FAIL)" "$out/console.log" | sed "s/^/$prog: /" || true
st=$(sed -n 's/^GUEST-RESULT \([0-9]*\)$/\1/p' "$out/console.log" | tail -1)
if [ "$qrc" = 124 ]; then
	tail -30 "$out/console.log"
	fail "the guest did not power off within 420 s (console: $out/console.log)"
fi
if [ -z "$st" ]; then
	tail -30 "$out/console.log"
	fail "no GUEST-RESULT line (console: $out/console.log)"
fi
[ "$st" = 0 ] || fail "$st checks failed (console: $out/console.log)"
rm -rf "$root" "$out/root.cpio" # 0.5 GB; the console log stays
echo "$prog: PASS ($(($(date +%s) - t0)) s)"
