#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the qemu guest (busybox sh) as /test.sh: kernel TLS in
# Debian's own kernel. iiostreamd on the sim source serves TLS 1.3 with
# mutual authentication over the guest's loopback; iiostream rx --verify
# checks every byte. With --ktls auto the kernel must be the one encrypting
# (the daemon's log, its stats and /proc/net/tls_stat agree); with
# --ktls off the daemon seals records in userspace and the kernel's counters
# stay still.
# Certificates come from the host's make-test-certs in /certs. 4 MB/s: the
# client decrypts in userspace, in software AES on qemu64, under TCG.
# Exit status = number of failed checks.
fail=0
pass() { echo "GUEST-OK   $* [$(cut -d" " -f1 /proc/uptime)s]"; }
bad() { echo "GUEST-FAIL $*"; fail=$((fail + 1)); }
C=/certs

modprobe tls || bad "modprobe tls"
[ -r /proc/net/tls_stat ] && pass "/proc/net/tls_stat present" || bad "no /proc/net/tls_stat"
tls_stat() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat; }
json_field() { # FILE NAME: the number, or -1 when it is missing
	v=$(sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1" | tail -1)
	echo "${v:--1}"
}
client_tls="--ca $C/ca.pem --cert $C/client.pem --key $C/client.key"

daemon_start() { # NAME [DAEMON ARGS...]
	name=$1
	shift
	rm -f /tmp/port
	iiostreamd --source sim --rate 1000000 --block-size 262144 --blocks 8 \
		--listen 127.0.0.1:0 --listen-tls 127.0.0.1:0 --tls-cert $C/server.pem \
		--tls-key $C/server.key --client-ca $C/ca.pem --port-file /tmp/port "$@" \
		>/tmp/daemon-$name.log 2>&1 &
	dpid=$!
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -f /tmp/port ] && [ -s /tmp/port ] && break
		sleep 0.5
	done
	url=tls://localhost:$(sed -n 2p /tmp/port)
}
daemon_stop() {
	kill -TERM $dpid
	wait $dpid
	daemon_status=$?
}
rx() { # NAME SECONDS
	iiostream rx --url "$url" $client_tls --seconds "$2" --verify --json --quiet \
		>/tmp/rx-$1.json 2>/tmp/rx-$1.err
	rx_status=$?
	echo "GUEST-INFO rx $1: $(tail -1 /tmp/rx-$1.json)"
}
rx_clean() { # NAME MIN_BLOCKS: every byte verified, nothing lost
	f=/tmp/rx-$1.json
	[ $rx_status = 0 ] && [ "$(json_field $f integrity_errors)" = 0 ] &&
		[ "$(json_field $f lost_blocks)" = 0 ] && [ "$(json_field $f lost_samples)" = 0 ] &&
		[ "$(json_field $f blocks)" -ge "$2" ]
}

# 1. kTLS, the default cipher suite (AES-128-GCM first in OpenSSL's TLS 1.3
#    list when the CPU has AES-NI: it is forced here to be sure).
tx0=$(tls_stat TlsTxSw)
daemon_start ktls --tls-ciphersuites TLS_AES_128_GCM_SHA256
rx ktls 4
iiostream stats --url "$url" $client_tls >/tmp/stats-ktls.txt 2>&1
tx1=$(tls_stat TlsTxSw)
daemon_stop
if rx_clean ktls 20; then
	pass "kTLS AES-128-GCM stream: $(json_field /tmp/rx-ktls.json blocks) blocks, every byte verified"
else
	bad "kTLS stream"; cat /tmp/rx-ktls.err /tmp/daemon-ktls.log
fi
grep -q "TLS_AES_128_GCM_SHA256, the kernel encrypts" /tmp/daemon-ktls.log &&
	pass "the daemon says the kernel encrypts" ||
	{ bad "the daemon did not hand encryption to the kernel"; cat /tmp/daemon-ktls.log; }
grep -q "encrypted in kernel" /tmp/stats-ktls.txt && grep -q "kernel TLS:      available" /tmp/stats-ktls.txt &&
	pass "stats report kTLS" || { bad "stats do not report kTLS"; cat /tmp/stats-ktls.txt; }
# the rx connection and the stats connection: two kernel-encrypted sessions
[ $((tx1 - tx0)) -ge 2 ] && pass "/proc/net/tls_stat TlsTxSw $tx0 -> $tx1" ||
	bad "TlsTxSw $tx0 -> $tx1: the kernel did not encrypt"
[ $daemon_status = 0 ] && pass "daemon exits 0, every block back" ||
	{ bad "daemon exit status $daemon_status"; cat /tmp/daemon-ktls.log; }

# 2. --ktls off: the same stream sealed in userspace; the kernel idle.
tx0=$(tls_stat TlsTxSw)
daemon_start userspace --ktls off --tls-ciphersuites TLS_AES_128_GCM_SHA256
rx userspace 3
tx1=$(tls_stat TlsTxSw)
daemon_stop
rx_clean userspace 15 && pass "--ktls off stream verified" ||
	{ bad "--ktls off stream"; cat /tmp/rx-userspace.err; }
grep -q "userspace encrypts" /tmp/daemon-userspace.log && [ "$tx0" = "$tx1" ] &&
	pass "--ktls off: userspace encrypts, TlsTxSw still $tx1" ||
	bad "--ktls off: TlsTxSw $tx0 -> $tx1"

# 3. The other TLS 1.3 suites: verified whoever encrypts; which one is said.
for suite in TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
	daemon_start $suite --tls-ciphersuites $suite
	rx $suite 3
	daemon_stop
	who=$(sed -n "s/.*$suite, \(.*\) encrypts.*/\1/p" /tmp/daemon-$suite.log | head -1)
	if rx_clean $suite 15 && [ $daemon_status = 0 ]; then
		pass "$suite stream verified (encrypted by ${who:-?})"
	else
		bad "$suite stream"; cat /tmp/rx-$suite.err /tmp/daemon-$suite.log
	fi
done

# 4. A kTLS client killed mid-stream harms nobody: the next one is clean
#    and every block comes back at exit.
daemon_start kill --tls-ciphersuites TLS_AES_128_GCM_SHA256
iiostream rx --url "$url" $client_tls --seconds 30 --quiet >/dev/null 2>&1 &
victim=$!
sleep 2
kill -KILL $victim
wait $victim 2>/dev/null
rx after-kill 2
daemon_stop
if rx_clean after-kill 10 && [ $daemon_status = 0 ]; then
	pass "a kTLS client killed mid-stream: the next is clean, every block back"
else
	bad "after a killed kTLS client"; cat /tmp/rx-after-kill.err /tmp/daemon-kill.log
fi
echo "GUEST-INFO $(tr '\n' ' ' </proc/net/tls_stat)"
exit $fail
