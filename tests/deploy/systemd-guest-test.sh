#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the systemd guest (tests/deploy/systemd-guest.sh) as the
# oneshot iiostream-guest-test.service, after systemd has started the
# packaged iiostreamd.service: the unit as shipped, under a real systemd,
# streaming from the kernel module's node through its sandbox. Prints
# GUEST-OK/GUEST-FAIL lines and GUEST-RESULT N (failed checks) on the
# console, then powers the guest off.
fail=0
pass() { echo "GUEST-OK   $*"; }
bad() { echo "GUEST-FAIL $*"; fail=$((fail + 1)); }
prop() { systemctl show -P "$1" iiostreamd.service; }
# host_step NAME ARGS...: ask the host side of the guest (systemd-guest.sh)
# to act, as a PC on the LAN, and wait until it says it is done
stty -F /dev/ttyS1 raw -echo 2>/dev/null
host_step() {
	echo "HOST-STEP $*"
	[ "$(timeout 300 head -n1 /dev/ttyS1)" = "done $1" ] || bad "the host did not answer step $1"
}

# Type=notify: "active" only once the daemon said READY=1 (waited for, up
# to 120 s: an emulated guest on a loaded host is slow)
for _ in $(seq 600); do
	[ "$(systemctl is-active iiostreamd.service)" = active ] && break
	sleep 0.2
done
if [ "$(systemctl is-active iiostreamd.service)" = active ]; then
	pass "iiostreamd.service active (Type=notify: READY=1 came), status: $(prop StatusText)"
else
	bad "iiostreamd.service is $(systemctl is-active iiostreamd.service)"
	systemctl status --no-pager iiostreamd.service
fi
[ -n "$(prop StatusText)" ] || bad "no STATUS= text from the daemon"

# the sandbox as systemd applied it: a transient user, no capabilities
pid=$(prop MainPID)
uid=$(stat -c %u "/proc/$pid")
caps=$(sed -n 's/^CapEff:\t//p' "/proc/$pid/status")
groups=$(sed -n 's/^Groups:\t//p' "/proc/$pid/status")
gid=$(getent group iiostream | cut -d: -f3)
# DynamicUser= takes uids from 61184-65519
if [ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] && [ "$caps" = 0000000000000000 ] &&
	echo " $groups " | grep -q " $gid "; then
	pass "runs as dynamic uid $uid in group iiostream ($gid), no capabilities (CapEff $caps)"
else
	bad "runs as uid $uid, groups '$groups' (iiostream: $gid), CapEff $caps"
fi
ls -l /dev/iio_block0 | grep -q " iiostream " &&
	pass "udev gave /dev/iio_block0 to group iiostream: $(ls -l /dev/iio_block0 | cut -d' ' -f1,3,4)" ||
	bad "/dev/iio_block0: $(ls -l /dev/iio_block0)"

# the shipped lists admit paired clients only: a plain client on the
# guest's loopback (no certificate, so never paired) is refused, told to
# pair over tls://; the module's blocks through the sandbox (DeviceAllow=,
# the group) are verified by the paired client below
if ! iiostream rx --url tcp://127.0.0.1:30432 --blocks 20 --verify --json --quiet --timeout 60000 \
	>/tmp/rx.json 2>/tmp/rx.err && grep -q "paired clients connect with tls://" /tmp/rx.err; then
	pass "plain TCP on loopback: refused by the shipped lists, told to pair over tls://"
else
	bad "plain rx from the service: $(cat /tmp/rx.json /tmp/rx.err)"
	journalctl -u iiostreamd.service --no-pager | tail -20
fi

# with no source configured (auto): the module's device, found by the scan
if journalctl -u iiostreamd.service --no-pager | grep -q -- "--source auto: 1 IIO device with a buffer" &&
	! journalctl -u iiostreamd.service --no-pager | grep -q "streaming the simulated ADC"; then
	pass "source auto: the module's device ($(journalctl -u iiostreamd.service --no-pager |
		sed -n 's/.*--source auto: \(kernel[^ ]*\).*/\1/p' | head -1))"
else
	bad "source auto did not find the module's device"
	journalctl -u iiostreamd.service --no-pager | grep -- "--source" | head -5
fi

# the board's identity, with no configuration: made by the package's
# postinst before the first start (or by the daemon at it), in the unit's
# StateDirectory, the transient user's alone; the journal's fingerprint is
# what --show-identity prints
id_dir=/var/lib/iiostream/identity
shown=$(iiostreamd --show-identity --identity "$id_dir" 2>&1)
fp=$(echo "$shown" | sed -n 's/^fingerprint: //p')
cn=$(echo "$shown" | sed -n 's/^name: *//p')
logged=$(journalctl -u iiostreamd.service --no-pager |
	sed -n 's/.*TLS identity \(sha256:[0-9a-f]*\): the board.s own, \(made [a-z]*\) in \([^ ]*\) .*/\1 \2 \3/p' |
	head -1)
key_owner=$(stat -L -c '%u %a' "$id_dir/key.pem" 2>&1)
if [ -n "$fp" ] && { [ "$logged" = "$fp made before $id_dir" ] || [ "$logged" = "$fp made now $id_dir" ]; } &&
	[ "$key_owner" = "$uid 600" ] && [ "$(stat -L -c %a "$id_dir")" = 700 ]; then
	pass "identity $fp (${logged#* }), key.pem uid $uid mode 600; --show-identity agrees"
else
	bad "identity: journal '$logged', --show-identity '$shown', key.pem '$key_owner'"
	journalctl -u iiostreamd.service --no-pager | grep -i "identity\|TLS" | head -5
fi

# rx over TLS, 20 blocks verified: rx_tls NAME ARGS...
rx_tls() {
	local name=$1
	shift
	iiostream rx --url tls://127.0.0.1:30433 "$@" --blocks 20 --verify --json --quiet \
		--timeout 60000 >"/tmp/rx-$name.json" 2>"/tmp/rx-$name.err" &&
		grep -q '"integrity_errors":0,' "/tmp/rx-$name.json" &&
		grep -q '"blocks":20,' "/tmp/rx-$name.json"
}

# TLS on every address, only for paired clients (the shipped lists): a
# client the board does not know is refused with the way to pair; the
# admin's `iiostreamd --pair` (as root, beside the service) makes a code,
# `iiostream pair` presents it, and the client learns the board's key from
# the pairing (the fingerprint the journal gave); then it streams verified
# on the pin alone, with the board's certificate as a CA (--ca and its
# name, presenting the same identity), and on first use of another
# known-servers file (--trust-new)
ks=/tmp/known_servers
me="--identity /tmp/client-identity"
if journalctl -u iiostreamd.service --no-pager | grep -q "listening for TLS on 0.0.0.0:30433" &&
	! rx_tls stranger --trust-new --known-servers /tmp/ks-stranger --identity /tmp/stranger &&
	grep -q "iiostreamd --pair" /tmp/rx-stranger.err; then
	pass "TLS on 0.0.0.0:30433: an unpaired client refused, told how to pair"
else
	bad "unpaired client: $(cat /tmp/rx-stranger.json /tmp/rx-stranger.err)"
	journalctl -u iiostreamd.service --no-pager | tail -20
fi
code=$(iiostreamd --pair 2>/tmp/pair.err | sed -n 's/^Pairing code: \([^ ]*\).*/\1/p')
if [ -n "$code" ] && iiostream pair --url tls://127.0.0.1:30433 --known-servers "$ks" $me "$code" \
	>/tmp/pair.out 2>&1 && [ "$(cat "$ks")" = "127.0.0.1:30433 $fp" ] &&
	rx_tls pinned --known-servers "$ks" $me; then
	pass "paired with code $code (the board learnt from it: $fp), then 20 blocks of the kernel source streamed on the pin, every byte verified"
else
	bad "pairing: code '$code' $(cat /tmp/pair.err /tmp/pair.out "$ks" /tmp/rx-pinned.err)"
	journalctl -u iiostreamd.service --no-pager | grep -i pair | tail -5
fi
if rx_tls ca --ca "$id_dir/cert.pem" --tls-name "$cn" $me; then
	pass "--ca the identity (CN $cn), the paired identity: 20 blocks, every byte verified"
else
	bad "rx over TLS with --ca: $(cat /tmp/rx-ca.json /tmp/rx-ca.err)"
fi
if rx_tls tofu --trust-new --known-servers /tmp/ks-tofu $me && grep -q " $fp\$" /tmp/ks-tofu; then
	pass "trust on first use: --trust-new pinned $fp, and streamed"
else
	bad "trust on first use: $(cat /tmp/rx-tofu.json /tmp/rx-tofu.err /tmp/ks-tofu)"
fi

# the host side of the guest, through the NIC: pairs with a new code (the
# admin's), streams on the pin and on first use
code=$(iiostreamd --pair 2>/tmp/pair-host.err | sed -n 's/^Pairing code: \([^ ]*\).*/\1/p')
[ -n "$code" ] || bad "no second pairing code: $(cat /tmp/pair-host.err)"
for n in /sys/class/net/*; do echo "net: ${n##*/} $(cat "$n/operstate")"; done
host_step pair "$code" "$fp"

# the watchdog: pings every WatchdogSec/2, so 12 s later nothing restarted
sleep 12
if [ "$(prop NRestarts)" = 0 ] && [ "$(prop MainPID)" = "$pid" ] &&
	[ "$(prop WatchdogUSec)" = 10s ]; then
	pass "watchdog 10s: the same process 12 s later, no restart"
else
	bad "watchdog: NRestarts $(prop NRestarts), MainPID $(prop MainPID) (was $pid), WatchdogUSec $(prop WatchdogUSec)"
fi

# reload: --check-config, then SIGHUP, the daemon says RELOADING/READY
if systemctl reload iiostreamd.service &&
	journalctl -u iiostreamd.service --no-pager | grep -q "SIGHUP" &&
	[ "$(prop MainPID)" = "$pid" ]; then
	pass "systemctl reload: checked, SIGHUP taken, same process"
else
	bad "systemctl reload"; journalctl -u iiostreamd.service --no-pager | tail -10
fi

# the exposure score of the running unit
score=$(systemd-analyze security --no-pager iiostreamd.service 2>/dev/null |
	sed -n 's/.*Overall exposure level for iiostreamd.service: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s < 2.0) }'; then
	pass "systemd-analyze security (online): exposure $score"
else
	bad "systemd-analyze security: '$score'"
fi

# stop: SIGTERM, every block back, a clean exit
systemctl stop iiostreamd.service
if [ "$(prop Result)" = success ] && [ "$(prop ExecMainStatus)" = 0 ] &&
	journalctl -u iiostreamd.service --no-pager | grep -q "8 of 8 blocks back"; then
	pass "systemctl stop: exit 0, every block back"
else
	bad "stop: Result $(prop Result), status $(prop ExecMainStatus)"
	journalctl -u iiostreamd.service --no-pager | tail -10
fi

# the board's key replaced (its identity removed: the next start makes a
# new one): the client that pinned the old one refuses it loudly, whatever
# --trust-new says, and its known-servers file is not rewritten
cp "$ks" /tmp/known_servers.before
rm -rf "$id_dir"
systemctl start iiostreamd.service
for _ in $(seq 600); do
	[ "$(systemctl is-active iiostreamd.service)" = active ] && break
	sleep 0.2
done
new_fp=$(journalctl -u iiostreamd.service --no-pager |
	sed -n 's/.*TLS identity \(sha256:[0-9a-f]*\): the board.s own, made now in.*/\1/p' | tail -1)
if [ -n "$new_fp" ] && [ "$new_fp" != "$fp" ] &&
	! rx_tls changed --trust-new --known-servers "$ks" $me &&
	grep -q "$fp" /tmp/rx-changed.err && grep -q "$new_fp" /tmp/rx-changed.err &&
	cmp -s "$ks" /tmp/known_servers.before; then
	pass "a new board key ($new_fp): refused with both fingerprints, known_servers untouched"
else
	bad "key replaced: new '$new_fp' (old $fp): $(cat /tmp/rx-changed.json /tmp/rx-changed.err)"
fi
host_step changed "$new_fp" "$fp"
systemctl stop iiostreamd.service

echo "GUEST-RESULT $fail"
systemctl poweroff --no-block
