#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the qemu guest for bench/tls_bench.sh (GUEST=1): userspace TLS
# and kTLS throughput and the daemon's CPU per GB (medians of three runs),
# openssl speed of each cipher, all in this guest. Lines starting "BENCH "
# are the results.
C=/certs
secs=$(ls / | sed -n 's/^secs-//p')
secs=${secs:-5}
modprobe tls
# the kernel's fastest AES-GCM and ChaCha20/Poly1305 for this vCPU (the
# crypto API takes the highest-priority implementation registered)
for m in aesni-intel ghash-clmulni-intel chacha-x86_64 poly1305-x86_64; do
	modprobe $m 2>/dev/null
done
hz=100
json() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1"; }
speed() {
	openssl speed -evp "$1" -bytes 16384 -seconds "$secs" 2>/dev/null |
		awk -v n="$2" '$1 == n { v = $NF; sub(/k$/, "", v); printf "%.0f", v / 1000 }'
}
run() { # NAME [DAEMON ARGS...]: "MB/s CPU-s/GB"
	name=$1
	shift
	rm -f /tmp/port
	iiostreamd --rate 0 --block-size 1M --blocks 16 --listen 127.0.0.1:0 \
		--listen-tls 127.0.0.1:0 --tls-cert $C/server.pem --tls-key $C/server.key \
		--port-file /tmp/port --log-level warn "$@" >/tmp/daemon-$name.log 2>&1 &
	dpid=$!
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -f /tmp/port ] && [ -s /tmp/port ] && break
		sleep 0.5
	done
	c0=$(awk '{ print $14 + $15 }' /proc/$dpid/stat)
	iiostream rx --url tls://localhost:$(sed -n 2p /tmp/port) --ca $C/ca.pem \
		--seconds "$secs" --json --quiet >/tmp/rx-$name.json 2>&1
	c1=$(awk '{ print $14 + $15 }' /proc/$dpid/stat)
	kill -TERM $dpid
	wait $dpid
	awk -v m="$(json /tmp/rx-$name.json mbytes_per_s)" -v b="$(json /tmp/rx-$name.json bytes)" \
		-v t=$((c1 - c0)) -v hz=$hz 'BEGIN { printf "%.1f %.2f", m, (t / hz) / (b / 1e9) }'
}
# the run with the median MB/s of three: TCG figures vary a lot
median3() {
	{ "$@"; echo; "$@"; echo; "$@"; echo; } | sort -n | sed -n 2p
}
printf "BENCH %-20s %12s %10s %12s %10s %14s %10s\n" cipher "tls MB/s" "CPU s/GB" \
	"ktls MB/s" "CPU s/GB" "openssl MB/s" "ktls/tls"
for pair in "aes-128-gcm:AES-128-GCM:TLS_AES_128_GCM_SHA256" \
	"chacha20-poly1305:ChaCha20-Poly1305:TLS_CHACHA20_POLY1305_SHA256"; do
	evp=${pair%%:*}
	rest=${pair#*:}
	name=${rest%%:*}
	suite=${rest#*:}
	ref=$(speed $evp $name)
	set -- $(median3 run user-$suite --ktls off --tls-ciphersuites $suite)
	um=$1 uc=$2
	tx0=$(awk '$1 == "TlsTxSw" { print $2 }' /proc/net/tls_stat)
	set -- $(median3 run kern-$suite --tls-ciphersuites $suite)
	km=$1 kc=$2
	tx1=$(awk '$1 == "TlsTxSw" { print $2 }' /proc/net/tls_stat)
	# the kTLS figure counts only if the kernel really encrypted
	[ $((tx1 - tx0)) -ge 1 ] || km="(no kTLS)"
	printf "BENCH %-20s %12s %10s %12s %10s %14s %10s\n" "$name" "$um" "$uc" "$km" "$kc" "$ref" \
		"$(awk -v a="$km" -v b="$um" 'BEGIN { printf "%.2f", a / b }')"
done
echo "BENCH $(tr -s ' \t\n' ' ' </proc/net/tls_stat)"
exit 0
