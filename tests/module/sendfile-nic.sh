#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The sendfile transport, byte-verified through a NIC. In the same kernel
# (loopback, veth) the receiver's queue keeps the sender's pages after the
# ack, so sendfile is refused there (server/tx/transport.h); through a NIC the
# ack means the bytes left the machine. qemu gives us one: the guest runs
# iiostreamd --transport sendfile on its virtio-net interface, the unpaced
# source refilling every block the moment it is released, and
# `iiostream rx --verify` on this host receives through qemu's user
# networking (a forwarded port on 127.0.0.1) and checks every byte.
#
#   tests/module/sendfile-nic.sh [OUT_DIR]     BUILD_DIR=... as for run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build/module-test}
build=${BUILD_DIR:-$root/build}
mkdir -p "$out"
lib=$(ldd "$build/client/iiostream" | awk '/libiiostream\.so/ { print $3 }')
cp -L "$lib" "$out/$(basename "$lib")"
log=$out/sendfile-guest.log
rm -f "$log"

# a free port on the host's loopback for the forward
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$root/tests/module/run-guest.sh" --script "$root/tests/module/guest-sendfile.sh" \
	--mod virtio_pci --mod virtio_net \
	--nic "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$port-:30432" \
	--dyn "$build/server/iiostreamd" --file "$build/server/iiostreamd:/bin/iiostreamd" \
	--file "$out/$(basename "$lib"):/usr/lib/x86_64-linux-gnu/$(basename "$lib")" \
	--log "$log" --timeout 300 >/dev/null &
guest=$!
for _ in $(seq 240); do
	grep -q GUEST-READY "$log" 2>/dev/null && break
	kill -0 $guest 2>/dev/null || { echo "sendfile-nic: the guest stopped early; see $log" >&2; exit 1; }
	sleep 0.5
done
url=tcp://127.0.0.1:$port
"$build/client/iiostream" rx --url "$url" --seconds 6 --verify --json --quiet \
	>"$out/sendfile-rx.json" &
rx=$!
sleep 3
"$build/client/iiostream" stats --url "$url" >"$out/sendfile-stats.txt" || true
wait $rx && rx_status=0 || rx_status=$?
wait $guest && guest_status=0 || guest_status=$?
json=$(tail -1 "$out/sendfile-rx.json")
echo "sendfile-nic: rx $json"
fail=0
grep -q '"integrity_errors":0,' <<<"$json" || fail=1
blocks=$(sed -n 's/.*"blocks":\([0-9]*\).*/\1/p' <<<"$json")
[ "${blocks:-0}" -ge 20 ] || fail=1
grep -q "(subscribed).*, sendfile$" "$out/sendfile-stats.txt" || fail=1
[ "$rx_status" = 0 ] && [ "$guest_status" = 0 ] || fail=1
if [ $fail = 0 ]; then
	echo "sendfile-nic: PASS: $blocks blocks of 256 KiB through virtio-net with sendfile, every byte verified"
else
	echo "sendfile-nic: FAIL (rx $rx_status, guest $guest_status)"
	cat "$out/sendfile-stats.txt"
	grep -E "GUEST|iiostreamd" "$log" | tail -20
	exit 1
fi
