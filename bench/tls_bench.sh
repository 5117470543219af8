#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tls_bench.sh - TLS throughput and the daemon's CPU per GB, beside
# `openssl speed -evp` of the same cipher measured in the same run.
#
#   bench/tls_bench.sh BUILD_DIR [SECONDS]           (default 5)
#   GUEST=1 bench/tls_bench.sh BUILD_DIR [SECONDS]   also in a qemu guest
#   BASELINE=OTHER_BUILD_DIR bench/tls_bench.sh BUILD_DIR [SECONDS]
#       also OTHER_BUILD_DIR's daemon (an older commit's build, say), with the
#       same client, run for run beside BUILD_DIR's: the ratio column
#       "vs base" is this daemon's MB/s over the baseline's
#
# On this host (loopback): one TLS 1.3 client, 1 MiB blocks, the unpaced sim
# source, for each TLS 1.3 suite (AES-256-GCM is the one OpenSSL negotiates
# by default), userspace TLS (this host's kernel has no TLS); plain TCP
# (copy) beside them as the no-encryption baseline. Each figure is the
# median of three runs. The ratio is the client's MB/s over the
# single-core `openssl speed -evp CIPHER -bytes 16384` figure.
# With GUEST=1, Debian's kernel under qemu (TCG, -cpu Westmere so that AES-NI and
# the SIMD the kernel's and OpenSSL's ciphers use exist; bench/guest-tls.sh): the same
# for userspace TLS and kTLS, and openssl speed inside the guest; the ratio
# there is kTLS over userspace. TCG figures are emulation speeds: compare
# them with each other, not with the host's.
set -euo pipefail
build=$(cd "${1:?usage: $0 BUILD_DIR [SECONDS]}" && pwd)
secs=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
daemon=$build/server/iiostreamd
base_daemon=
[ -z "${BASELINE:-}" ] || base_daemon=$(cd "$BASELINE" && pwd)/server/iiostreamd
cli=$build/client/iiostream
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tls_bench.XXXXXX")
dpid=
cleanup() { [ -n "$dpid" ] && kill "$dpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
hz=$(getconf CLK_TCK)
"$build/tests/make-test-certs" "$tmp" >/dev/null

# openssl speed -evp NAME: MB/s (10^6 bytes) on 16 KiB buffers, one core
speed() {
	openssl speed -evp "$1" -bytes 16384 -seconds "$secs" 2>/dev/null |
		awk -v n="$2" '$1 == n { v = $NF; sub(/k$/, "", v); printf "%.0f", v / 1000 }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
json() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1"; }

# median3 CMD...: runs CMD (which prints "MB/s CPU-s/GB") three times and
# prints the run with the median MB/s: single loopback runs vary by 20 %.
median3() {
	{ "$@"; echo; "$@"; echo; "$@"; echo; } | sort -n | sed -n 2p
}

# run NAME URL_SCHEME [DAEMON ARGS...]: prints "MB/s CPU-s/GB"
run() {
	local name=$1 scheme=$2
	shift 2
	rm -f "$tmp/port"
	"${run_daemon:-$daemon}" --rate 0 --block-size 1M --blocks 32 --listen 127.0.0.1:0 \
		--listen-tls 127.0.0.1:0 --tls-cert "$tmp/server.pem" --tls-key "$tmp/server.key" \
		--port-file "$tmp/port" --log-level warn "$@" >"$tmp/daemon-$name.log" 2>&1 &
	dpid=$!
	for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
	local port
	if [ "$scheme" = tls ]; then port=$(sed -n 2p "$tmp/port"); else port=$(sed -n 1p "$tmp/port"); fi
	local c0 c1
	c0=$(cpu_ticks $dpid)
	"$cli" rx --url "$scheme://localhost:$port" --ca "$tmp/ca.pem" --seconds "$secs" --json \
		--quiet >"$tmp/rx-$name.json" 2>"$tmp/rx-$name.err" ||
		{ cat "$tmp/rx-$name.err" >&2; exit 1; }
	c1=$(cpu_ticks $dpid)
	kill -TERM $dpid; wait $dpid || true; dpid=
	awk -v m="$(json "$tmp/rx-$name.json" mbytes_per_s)" -v b="$(json "$tmp/rx-$name.json" bytes)" \
		-v t=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.0f %.3f", m, (t / hz) / (b / 1e9) }'
}

# plain TCP takes no --ca: a tcp:// URL with TLS options is refused
run_plain() {
	rm -f "$tmp/port"
	"$daemon" --rate 0 --block-size 1M --blocks 32 --listen 127.0.0.1:0 \
		--port-file "$tmp/port" --log-level warn >"$tmp/daemon-plain.log" 2>&1 &
	dpid=$!
	for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
	local c0 c1
	c0=$(cpu_ticks $dpid)
	"$cli" rx --url "tcp://127.0.0.1:$(sed -n 1p "$tmp/port")" --seconds "$secs" --json --quiet \
		>"$tmp/rx-plain.json"
	c1=$(cpu_ticks $dpid)
	kill -TERM $dpid; wait $dpid || true; dpid=
	awk -v m="$(json "$tmp/rx-plain.json" mbytes_per_s)" -v b="$(json "$tmp/rx-plain.json" bytes)" \
		-v t=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.0f %.3f", m, (t / hz) / (b / 1e9) }'
}

echo "== host: loopback, 1 client, 1 MiB blocks, ${secs} s per figure ($(nproc) CPUs)"
printf "%-20s %-10s %10s %10s %14s %8s" cipher encrypts "MB/s" "CPU s/GB" "openssl MB/s" ratio
[ -z "$base_daemon" ] && echo || printf " %10s %10s %8s\n" "base MB/s" "CPU s/GB" "vs base"
read -r m c <<<"$(median3 run_plain)"
printf "%-20s %-10s %10s %10s %14s %8s\n" "none (plain TCP)" - "$m" "$c" - -
for pair in "aes-128-gcm:AES-128-GCM:TLS_AES_128_GCM_SHA256" \
	"aes-256-gcm:AES-256-GCM:TLS_AES_256_GCM_SHA384" \
	"chacha20-poly1305:ChaCha20-Poly1305:TLS_CHACHA20_POLY1305_SHA256"; do
	IFS=: read -r evp name suite <<<"$pair"
	ref=$(speed "$evp" "$name")
	if [ -n "$base_daemon" ]; then
		# alternate the two daemons, so that drift of the machine hits both
		for i in 1 2 3; do
			run "$suite" tls --tls-ciphersuites "$suite" >>"$tmp/new-$evp"; echo >>"$tmp/new-$evp"
			run_daemon=$base_daemon run "$suite" tls --tls-ciphersuites "$suite" \
				>>"$tmp/base-$evp"; echo >>"$tmp/base-$evp"
		done
		read -r m c <<<"$(sort -n "$tmp/new-$evp" | sed -n 2p)"
		read -r bm bc <<<"$(sort -n "$tmp/base-$evp" | sed -n 2p)"
	else
		read -r m c <<<"$(median3 run "$suite" tls --tls-ciphersuites "$suite")"
	fi
	printf "%-20s %-10s %10s %10s %14s %8s" "$name" userspace "$m" "$c" "$ref" \
		"$(awk -v a="$m" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')"
	[ -z "$base_daemon" ] && echo || printf " %10s %10s %8s\n" "$bm" "$bc" \
		"$(awk -v a="$m" -v b="$bm" 'BEGIN { printf "%.2f", a / b }')"
done

[ "${GUEST:-0}" = 1 ] || exit 0
echo "== qemu guest (TCG, Debian's kernel): userspace TLS vs kTLS"
lib=$(ldd "$cli" | awk '/libiiostream\.so/ { print $3 }')
cp -L "$lib" "$tmp/$(basename "$lib")"
"$root/tests/module/run-guest.sh" --script "$root/bench/guest-tls.sh" \
	--cpu Westmere --mod chacha20poly1305 --mod chacha_generic --mod poly1305_generic \
	--mod chacha-x86_64 --mod poly1305-x86_64 \
	--dyn "$daemon" --file "$daemon:/bin/iiostreamd" --dyn "$cli" --file "$cli:/bin/iiostream" \
	--dyn /usr/bin/openssl --file "/usr/bin/openssl:/bin/openssl" \
	--file "$tmp/$(basename "$lib"):/usr/lib/x86_64-linux-gnu/$(basename "$lib")" \
	--file "$tmp:/certs" --file "/dev/null:/secs-$secs" --log "$tmp/guest.log" --timeout 900 >/dev/null ||
	{ grep -E "GUEST|run-guest" "$tmp/guest.log" >&2; exit 1; }
sed -n 's/^BENCH //p' "$tmp/guest.log"
