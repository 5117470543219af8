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
# The guest has a NIC (virtio-net on qemu's user networking, the board's
# TLS port forwarded to a free port of this host's loopback), so a client
# on the host side of the guest, from the iiostream-tools package unpacked
# here, is checked as a PC on the LAN would be: refused in batch mode
# before it trusts, paired with a code the guest's admin made, streaming
# verified on the pin, trusting on first use, and refusing the board's
# replaced key. The guest asks for each of these steps with a HOST-STEP
# line on its console and waits for "done STEP" on its second serial port.
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
mmdebstrap --variant=apt --include=systemd,systemd-sysv,udev,kmod,libavahi-client3,libfftw3-single3,libiio0,libprotobuf-c1,libssl3,libuv1 \
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
# the NIC's driver, loaded by udev for the virtio-net device
for m in $(modprobe -S "$kver" --show-depends virtio_net) $(modprobe -S "$kver" --show-depends virtio_pci); do
	case $m in /lib/modules/*.ko*) mkdir -p "$root$(dirname "$m")" && cp "$m" "$root$m" ;; esac
done
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
# the LAN: systemd-networkd gives the NIC the address qemu's user
# networking forwards to
echo iiostream-guest >"$root/etc/hostname"
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\n' \
	>"$root/etc/systemd/network/50-lan.network"
systemctl --root="$root" enable systemd-networkd.service >/dev/null 2>&1 ||
	fail "systemctl --root enable systemd-networkd"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$out/root.cpio"

# -- the host side: a PC's client, from the package ------------------------------
hroot=$out/host
mkdir -p "$hroot"
dpkg-deb -x "$(pkg iiostream-tools)" "$hroot"
dpkg-deb -x "$(pkg libiiostream0)" "$hroot"
hlib=$(dirname "$(find "$hroot/usr/lib" -name 'libiiostream.so.*' | head -1)")
host_iios() { LD_LIBRARY_PATH=$hlib "$hroot/usr/bin/iiostream" "$@"; }
# a free port on this host's loopback for the board's TLS port
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
board=127.0.0.1:$port
hfail=0
host_ok() { echo "$prog: HOST-OK   $*"; }
host_bad() { echo "$prog: HOST-FAIL $*"; hfail=$((hfail + 1)); }
# rx over TLS from the host, 20 blocks verified: host_rx NAME ARGS...
host_rx() {
	local name=$1
	shift
	host_iios rx --url "tls://$board" --identity "$hroot/identity" "$@" --blocks 20 --verify \
		--json --quiet --timeout 60000 >"$hroot/rx-$name.json" 2>"$hroot/rx-$name.err" </dev/null &&
		grep -q '"integrity_errors":0,' "$hroot/rx-$name.json" &&
		grep -q '"blocks":20,' "$hroot/rx-$name.json"
}
# HOST-STEP pair CODE FP: the admin made CODE on the board whose key is FP
host_step_pair() {
	local code=$1 fp=$2 ks=$hroot/known_servers
	# batch mode (no terminal, no --trust-new): refused, the fingerprint
	# shown, nothing remembered
	if ! host_rx batch --known-servers "$hroot/ks-batch" && grep -q "$fp" "$hroot/rx-batch.err" &&
		[ ! -s "$hroot/ks-batch" ]; then
		host_ok "a new board in batch mode: refused, its fingerprint shown, nothing remembered"
	else
		host_bad "batch mode: $(cat "$hroot/rx-batch.err" "$hroot/ks-batch" 2>&1)"
	fi
	if host_iios pair --url "tls://$board" --known-servers "$ks" --identity "$hroot/identity" \
		--label host-pc "$code" >"$hroot/pair.out" 2>&1 </dev/null &&
		[ "$(cat "$ks")" = "$board $fp" ]; then
		host_ok "paired from the host through the guest's NIC with code $code: the board is $fp"
	else
		host_bad "pairing from the host: $(cat "$hroot/pair.out" "$ks" 2>&1)"
	fi
	if host_rx pinned --known-servers "$ks"; then
		host_ok "20 blocks of the module's device from the host, on the pin, every byte verified"
	else
		host_bad "rx from the host on the pin: $(cat "$hroot/rx-pinned.json" "$hroot/rx-pinned.err")"
	fi
	if host_rx tofu --trust-new --known-servers "$hroot/ks-tofu" && [ "$(cat "$hroot/ks-tofu")" = "$board $fp" ]; then
		host_ok "trust on first use from the host (--trust-new): pinned $fp, 20 blocks verified"
	else
		host_bad "trust on first use from the host: $(cat "$hroot/rx-tofu.err" "$hroot/ks-tofu" 2>&1)"
	fi
}
# HOST-STEP changed NEW_FP OLD_FP: the board's key was replaced
host_step_changed() {
	local new=$1 old=$2 ks=$hroot/known_servers
	cp "$ks" "$hroot/known_servers.before" 2>/dev/null || :
	if ! host_rx changed --trust-new --known-servers "$ks" && grep -q "$old" "$hroot/rx-changed.err" &&
		grep -q "$new" "$hroot/rx-changed.err" && cmp -s "$ks" "$hroot/known_servers.before"; then
		host_ok "the board's new key $new refused from the host with both fingerprints, known_servers untouched"
	else
		host_bad "replaced key from the host: $(cat "$hroot/rx-changed.json" "$hroot/rx-changed.err")"
	fi
}

# -- boot ------------------------------------------------------------------------
# the guest's second serial port: this side writes "done STEP" lines into it
rm -f "$out/ctl.in" "$out/ctl.out"
mkfifo "$out/ctl.in" "$out/ctl.out"
(
	set +e
	timeout 600 qemu-system-x86_64 -machine q35 -accel tcg -cpu max -m 2048 -smp 1 -nographic \
		-no-reboot -kernel "/boot/vmlinuz-$kver" -initrd "$out/root.cpio" \
		-append "console=ttyS0 rdinit=/sbin/init panic=-1 systemd.show_status=error" \
		-netdev "user,id=lan,hostfwd=tcp:$board-10.0.2.15:30433" -device virtio-net-pci,netdev=lan \
		-serial mon:stdio -serial "pipe:$out/ctl" \
		</dev/null 2>&1 | sed -u 's/\r$//; s/\x1b\[[0-9;?]*[A-Za-z]//g' >"$out/console.log"
	echo "${PIPESTATUS[0]}" >"$out/qemu.rc"
) &
guest=$!
# answer each HOST-STEP line of the console, in order, until the guest stops
steps=0
while kill -0 $guest 2>/dev/null; do
	line=$(grep -a "^HOST-STEP " "$out/console.log" 2>/dev/null | sed -n "$((steps + 1))p" || true)
	if [ -z "$line" ]; then
		sleep 0.5
		continue
	fi
	steps=$((steps + 1))
	set -- $line
	case $2 in
	pair) host_step_pair "$3" "$4" ;;
	changed) host_step_changed "$3" "$4" ;;
	*) host_bad "unknown step: $line" ;;
	esac
	echo "done $2" >"$out/ctl.in"
done
wait $guest || true
qrc=$(cat "$out/qemu.rc" 2>/dev/null || echo none)
grep -E "^GUEST-(OK|FAIL)" "$out/console.log" | sed "s/^/$prog: /" || true
st=$(sed -n 's/^GUEST-RESULT \([0-9]*\)$/\1/p' "$out/console.log" | tail -1)
if [ "$qrc" = 124 ]; then
	tail -30 "$out/console.log"
	fail "the guest did not power off within 600 s (console: $out/console.log)"
fi
if [ -z "$st" ]; then
	tail -30 "$out/console.log"
	fail "no GUEST-RESULT line (console: $out/console.log)"
fi
[ "$st" = 0 ] || fail "$st checks failed in the guest (console: $out/console.log)"
[ "$steps" = 2 ] || fail "the guest asked for $steps host steps, not 2 (console: $out/console.log)"
[ "$hfail" = 0 ] || fail "$hfail checks failed on the host side (files: $hroot)"
rm -rf "$root" "$out/root.cpio" # 0.5 GB; the console log stays
echo "$prog: PASS ($(($(date +%s) - t0)) s)"
