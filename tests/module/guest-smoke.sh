#!/bin/sh
# SPDX-License-Identifier: MIT
# Self-test of the guest that run-guest.sh boots (busybox sh, runs as /test.sh):
#   tests/module/run-guest.sh --script tests/module/guest-smoke.sh
# One PASS/FAIL line per check; exits 1 if any check failed.
fails=0
check() { # DESCRIPTION COMMAND...
	d=$1
	shift
	if out=$("$@" 2>&1); then
		echo "smoke: PASS $d"
	else
		echo "smoke: FAIL $d: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		fails=$((fails + 1))
	fi
}
lo_up() { ip link show lo | grep -q '<[^>]*,UP[,>]'; }
ping_lo() { ping -c 1 -W 2 127.0.0.1; }
gcm_mods() { for m in gcm ctr ghash-generic; do modprobe "$m" || return 1; done; }
tmp_rw() { echo x >/tmp/smoke && [ "$(cat /tmp/smoke)" = x ]; }
tls_stat() { [ -r /proc/net/tls_stat ] && grep -q '^TlsCurrTxSw' /proc/net/tls_stat; }

check "kernel $(uname -r) matches /lib/modules" test -d "/lib/modules/$(uname -r)"
check "modprobe industrialio" modprobe industrialio
check "modprobe kfifo_buf" modprobe kfifo_buf
check "industrialio in /sys/module" test -d /sys/module/industrialio
check "lo is up" lo_up
check "ping 127.0.0.1" ping_lo
check "/proc/net exists" test -d /proc/net
check "debugfs mounted" grep -q " /sys/kernel/debug debugfs " /proc/mounts
check "modprobe tls" modprobe tls
check "/proc/net/tls_stat" tls_stat
check "modprobe gcm ctr ghash-generic (kTLS AES-GCM)" gcm_mods
check "tmpfs /tmp writable" tmp_rw

echo "smoke: $fails check(s) failed"
[ "$fails" -eq 0 ]
