#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Transports across a veth pair between two network namespaces this test
# creates (never another address): the daemon in one, `iiostream rx
# --verify` in the other, so the peer is not local by address.
#
#  - auto: zero-copy at first; veth hands the skb to the other namespace
#    and the kernel copies zero-copy pages on the way (every completion is
#    SO_EE_CODE_ZEROCOPY_COPIED), so the connection must fall back to copy
#    and say "auto:copied" - and lose no byte meanwhile;
#  - zerocopy forced: every byte verified while the unpaced source refills
#    each block the moment it returns;
#  - sendfile forced: veth is no NIC, the receiver's queue would share the
#    block's pages, so the daemon must refuse it ("sendfile:copy").
#
# Waits are for what happens (the daemon's stats), each bounded by $hang
# seconds, reached only by a hang: a loaded machine is slow, not broken.
#
#   tests/net/netns_transport.sh BUILD_DIR
set -euo pipefail
hang=60
build=${1:?usage: $0 BUILD_DIR}
daemon=$build/server/iiostreamd
cli=$build/client/iiostream
if [ "$(id -u)" != 0 ]; then
	# ctest reports 77 as "skipped", never as passed
	echo "netns_transport: SKIPPED: needs root to create network namespaces" >&2
	exit 77
fi
command -v ip >/dev/null || { echo "netns_transport: needs ip (iproute2)" >&2; exit 1; }
tag=iios$$
a=$tag-a b=$tag-b
tmp=$(mktemp -d "${TMPDIR:-/tmp}/netns_transport.XXXXXX")
cleanup() {
	[ -n "${dpid:-}" ] && kill -KILL "$dpid" 2>/dev/null || true
	ip netns del "$a" 2>/dev/null || true
	ip netns del "$b" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$a"
ip netns add "$b"
ip link add "$tag-va" type veth peer name "$tag-vb"
ip link set "$tag-va" netns "$a"
ip link set "$tag-vb" netns "$b"
ip -n "$a" addr add 10.251.0.1/24 dev "$tag-va"
ip -n "$b" addr add 10.251.0.2/24 dev "$tag-vb"
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set "$tag-va" up
ip -n "$b" link set "$tag-vb" up

fail=0
field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1" | tail -1; }

# run TRANSPORT EXPECTED_STATS_STRING
run() {
	rm -f "$tmp/port"
	ip netns exec "$a" "$daemon" --rate 0 --block-size 256K --blocks 32 --client-queue 8 \
		--transport "$1" --listen 10.251.0.1:0 --port-file "$tmp/port" --advertise off \
		>"$tmp/daemon-$1.log" 2>&1 &
	dpid=$!
	for _ in $(seq $((hang * 10))); do [ -s "$tmp/port" ] && break; sleep 0.1; done
	url=tcp://10.251.0.1:$(sed -n 1p "$tmp/port")
	# rx until stopped; stopped once the daemon's stats show it served on
	# the transport and sent it 100 blocks: then it has received at least
	# 60, whatever the machine's speed (the socket buffers between them
	# hold at most 10 MiB, 40 blocks)
	ip netns exec "$b" "$cli" rx --url "$url" --seconds 3600 --timeout $((hang * 1000)) \
		--verify --json --quiet >"$tmp/rx-$1.json" 2>"$tmp/rx-$1.err" &
	rxpid=$!
	for _ in $(seq $((hang * 5))); do
		ip netns exec "$b" "$cli" stats --url "$url" >"$tmp/stats-$1.txt" 2>&1 || true
		grep -qE "\(subscribed\): ([0-9]{4,}|[1-9][0-9]{2}) blocks.*, $2\$" "$tmp/stats-$1.txt" && break
		kill -0 $rxpid 2>/dev/null || break
		sleep 0.2
	done
	kill -INT $rxpid 2>/dev/null || true
	wait $rxpid || true
	kill -TERM $dpid
	wait $dpid && dstatus=0 || dstatus=$?
	dpid=
	f=$tmp/rx-$1.json
	if [ "$(field "$f" integrity_errors)" = 0 ] && [ "$(field "$f" blocks)" -ge 50 ] &&
		grep -q ", $2\$" "$tmp/stats-$1.txt" && [ "$dstatus" = 0 ]; then
		echo "netns_transport: ok   $1: $(field "$f" blocks) blocks of 256 KiB verified, stats say '$2'"
	else
		echo "netns_transport: FAIL $1: want '$2', 0 integrity errors, exit 0 (got $dstatus)"
		cat "$f" "$tmp/rx-$1.err" "$tmp/stats-$1.txt" "$tmp/daemon-$1.log"
		fail=1
	fi
	grep -h "zero-copy sends\|using copy" "$tmp/daemon-$1.log" | sed 's/^/    /' || true
}

run auto auto:copied
run zerocopy zerocopy
run sendfile sendfile:copy
exit $fail
