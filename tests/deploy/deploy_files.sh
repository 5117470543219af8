#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The deployment files besides the unit:
#  - deploy/iiostreamd.conf documents every key iiostreamd --help lists
#    (and no other), each with its default, commented out, but for
#    listen-tls, set: TLS on the LAN with the board's identity, and the
#    access lists, set to the paired clients;
#  - deploy/sysusers.d/iiostream.conf creates group iiostream
#    (systemd-sysusers --dry-run in an empty root);
#  - deploy/udev/iiostream-sysfs-access, on a copy of a device's sysfs
#    layout, lets the group write exactly the attributes root may write,
#    leaving uevent, power/ and what symlinks lead to alone.
#
#   tests/deploy/deploy_files.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/deploy_files.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "deploy_files: FAIL: $*" >&2; fail=1; }

echo "== deploy/iiostreamd.conf lists every key"
# the long flags that take a value; --config and --pair-ttl (with --pair)
# are command-line only, no keys
"$build/server/iiostreamd" --help | sed -n 's/^  --\([a-z-]*\) [A-Za-z|].*/\1/p' |
	grep -vxE 'config|pair-ttl' | sort -u >"$tmp/flags"
sed -n 's/^#\{0,1\}\([a-z-]*\) = .*/\1/p' "$src/deploy/iiostreamd.conf" | sort -u >"$tmp/keys"
[ "$(wc -l <"$tmp/flags")" -ge 20 ] || bad "only $(wc -l <"$tmp/flags") flags read from --help"
missing=$(comm -23 "$tmp/flags" "$tmp/keys" | tr '\n' ' ')
extra=$(comm -13 "$tmp/flags" "$tmp/keys" | tr '\n' ' ')
[ -z "$missing" ] || bad "keys not in deploy/iiostreamd.conf: $missing"
[ -z "$extra" ] || bad "deploy/iiostreamd.conf has keys iiostreamd does not: $extra"
# as shipped it sets three keys: TLS on the LAN (issue 19: useful at once,
# no plain sample beyond the board), and only paired clients may stream or
# write; plain TCP stays on its loopback default
set_keys=$(grep -E '^[a-z-]+ *=' "$src/deploy/iiostreamd.conf" | tr '\n' ';')
want_keys="listen-tls = 0.0.0.0:30433;allow-subscribe = paired;allow-write = paired;"
[ "$set_keys" = "$want_keys" ] ||
	bad "deploy/iiostreamd.conf sets '$set_keys', want '$want_keys'"
echo "$(wc -l <"$tmp/keys") keys: $(tr '\n' ' ' <"$tmp/keys")"

echo "== deploy/sysusers.d/iiostream.conf"
if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$tmp/root/etc"
	systemd-sysusers --root="$tmp/root" --dry-run "$src/deploy/sysusers.d/iiostream.conf" \
		>"$tmp/sysusers.log" 2>&1 || bad "systemd-sysusers refused it: $(cat "$tmp/sysusers.log")"
	cat "$tmp/sysusers.log"
	grep -q "group .iiostream." "$tmp/sysusers.log" || bad "no group iiostream created"
else
	bad "needs systemd-sysusers (the systemd package)"
fi

echo "== deploy/udev/iiostream-sysfs-access"
dev=$tmp/sys/devices/platform/iiostream-sim.0/iio:device0
other=$tmp/sys/devices/platform/iiostream-sim.0/elsewhere
mkdir -p "$dev/buffer" "$dev/scan_elements" "$dev/power" "$other"
for f in sampling_frequency uevent buffer/enable buffer/length scan_elements/in_voltage0_en \
	power/control; do
	install -m 0644 /dev/null "$dev/$f"
done
for f in name dev scan_elements/in_voltage0_type scan_elements/in_voltage0_index; do
	install -m 0444 /dev/null "$dev/$f"
done
install -m 0644 /dev/null "$other/attr"
ln -s ../elsewhere "$dev/subsystem"
group=$(id -gn) # a group this user may give files to
"$src/deploy/udev/iiostream-sysfs-access" "$dev" "$group"
"$src/deploy/udev/iiostream-sysfs-access" "$tmp/not-there" "$group" # a device already gone: no error
for f in sampling_frequency buffer/enable buffer/length scan_elements/in_voltage0_en; do
	[ "$(stat -c '%a %G' "$dev/$f")" = "664 $group" ] ||
		bad "$f: $(stat -c '%a %G' "$dev/$f"), want 664 $group"
done
for f in name dev scan_elements/in_voltage0_type scan_elements/in_voltage0_index; do
	[ "$(stat -c %a "$dev/$f")" = 444 ] || bad "$f became $(stat -c %a "$dev/$f")"
done
for f in "$dev/uevent" "$dev/power/control" "$other/attr"; do
	[ "$(stat -c %a "$f")" = 644 ] || bad "${f#"$tmp"/} became $(stat -c %a "$f")"
done
[ $fail = 0 ] && echo "deploy_files: OK"
exit $fail
