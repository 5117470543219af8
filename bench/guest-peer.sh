#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the qemu guest (busybox sh), started by bench/guest_peer_bench.sh.
# The same simulated ADC (iiostream_sim), up to three ways out of the guest's
# kernel:
#   iiod       Debian's iiod reading the kfifo (/dev/iio:device0, read()) and
#              serving iio_readdev -u ip:127.0.0.1, the path users have today;
#   iiostream  iiostreamd on the module's mmap blocks (--source kernel)
#              serving iiostream rx;
#   dmabuf     iiostreamd on the mainline DMABUF interface of the same ADC
#              (--source dmabuf: udmabufs over a memfd, Linux 6.11+)
#              serving iiostream rx.
# For each, 1 and 4 clients: climb a ladder of sampling rates and keep the
# highest one every client received without loss. Loss for iiod is what the
# kfifo dropped (fifo_lost_samples; iio_readdev cannot tell) or a sample that
# fails the pattern check; for iiostream it is any reported gap or any bad
# sample. Prints one PEER line per step and RESULT lines at the end.
# iios.secs=N and iios.rates=R1,R2,... on the kernel command line override
SECS=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^iios.secs=//p')
SECS=${SECS:-3}
RATES=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^iios.rates=//p' | tr ',' ' ')
RATES=${RATES:-"250000 500000 1000000 2000000 5000000 10000000 20000000 50000000 100000000"}
# iios.paths=iiod,iiostream,dmabuf and iios.clients=1,4: which paths and
# client counts (default: iiod and iiostream, 1 and 4 clients)
PATHS=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^iios.paths=//p' | tr ',' ' ')
PATHS=${PATHS:-"iiod iiostream"}
CLIENTS=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^iios.clients=//p' | tr ',' ' ')
CLIENTS=${CLIENTS:-"1 4"}

modprobe industrialio && modprobe kfifo_buf &&
	modprobe iiostream_sim channels=2 max_block_size=4194304 max_alloc_bytes=67108864 || exit 1
iio=/sys/bus/iio/devices/$(cat /sys/class/iio_block/iio_block0/iio_device)
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
field() { v=$(sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1" | tail -1); echo "${v:--1}"; }

iiod >/tmp/iiod.log 2>&1 &
iiod_pid=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	grep -q ":76DF " /proc/net/tcp /proc/net/tcp6 2>/dev/null && break
	sleep 0.5
done

# try_iiod RATE CLIENTS: sets ok=1/0 and mbps
try_iiod() {
	echo "$1" >"$iio/sampling_frequency"
	n=$(($1 * SECS))
	lost0=$(cat "$iio/fifo_lost_samples")
	pids=
	t0=$(now_ms)
	for c in $(seq "$2"); do
		iio_readdev -u ip:127.0.0.1 -T 30000 -b 65536 -s "$n" iiostream-sim \
			>/tmp/iiod-$c.bin 2>/tmp/iiod-$c.err &
		pids="$pids $!"
	done
	wait $pids
	t1=$(now_ms)
	lost=$(($(cat "$iio/fifo_lost_samples") - lost0))
	bytes=0
	ok=1
	for c in $(seq "$2"); do
		b=$(wc -c </tmp/iiod-$c.bin)
		bytes=$((bytes + b))
		[ "$b" -eq $((n * 4)) ] || ok=0
	done
	# one client reads from scan 0: check every sample too
	if [ "$2" = 1 ] && ! iio_block_compliance --verify-stdin 2 </tmp/iiod-1.bin >/dev/null 2>&1; then
		ok=0
	fi
	[ "$lost" = 0 ] || ok=0
	mbps=$(awk -v b=$bytes -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", b / (ms / 1000) / 1e6 }')
	echo "PEER iiod clients=$2 rate=$1 lost=$lost bytes=$bytes ms=$((t1 - t0)) MB/s=$mbps ok=$ok"
	rm -f /tmp/iiod-*.bin
}

# try_iiostream RATE CLIENTS [SOURCE]
try_iiostream() {
	rm -f /tmp/port
	iiostreamd --source "${3:-kernel}" --rate "$1" --block-size 1048576 --blocks 16 --client-queue 8 \
		--listen 127.0.0.1:0 --port-file /tmp/port --log-level warn >/tmp/d.log 2>&1 &
	dpid=$!
	for i in 1 2 3 4 5 6 7 8 9 10; do [ -s /tmp/port ] && break; sleep 0.3; done
	pids=
	for c in $(seq "$2"); do
		iiostream rx --url tcp://127.0.0.1:$(sed -n 1p /tmp/port) --seconds "$SECS" --verify --json \
			--quiet >/tmp/rx-$c.json 2>/dev/null &
		pids="$pids $!"
	done
	wait $pids
	kill -TERM $dpid
	wait $dpid
	ok=1
	mbps=0
	for c in $(seq "$2"); do
		f=/tmp/rx-$c.json
		[ "$(field $f lost_samples)" = 0 ] && [ "$(field $f lost_blocks)" = 0 ] &&
			[ "$(field $f integrity_errors)" = 0 ] || ok=0
		mbps=$(awk -v a=$mbps -v b="$(field $f mbytes_per_s)" 'BEGIN { printf "%.1f", a + b }')
	done
	echo "PEER ${4:-iiostream} clients=$2 rate=$1 MB/s=$mbps ok=$ok $(tail -1 /tmp/rx-1.json)"
}

# try_dmabuf RATE CLIENTS: the same daemon and clients, DMABUF underneath
try_dmabuf() {
	try_iiostream "$1" "$2" dmabuf:iiostream-sim dmabuf
}

for tool in $PATHS; do
	for clients in $CLIENTS; do
		best=0 best_mbps=0
		for r in $RATES; do
			try_$tool "$r" "$clients"
			[ "$ok" = 1 ] || break
			best=$r best_mbps=$mbps
		done
		echo "RESULT $tool clients=$clients lossless_rate=$best MB/s=$best_mbps"
	done
done
kill -KILL $iiod_pid
exit 0
