#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the qemu guest (busybox sh), started by bench/guest_tx_bench.sh.
# The same simulated DAC (iiostream_sim dac=1), two ways into the guest's
# kernel from a transmitting client:
#   iiod       Debian's iiod writing the DAC's output kfifo
#              (/dev/iio:device1, write()) for iio_writedev -u ip:127.0.0.1,
#              the path users have today;
#   iiostream  iiostreamd on the module's mmap blocks (--source kernel:
#              the DAC's node) for iiostream tx --pattern.
# For each: climb a ladder of sampling rates and keep the highest one the
# DAC played without running dry. For iiostream that is tx's own report
# (every underflow the node flags or counts, none forgiven but the end of
# the transmission); the kfifo has no flag, only fifo_underflow_samples,
# which also counts the silence before the first write and after the last:
# iiod's run is lossless when the counter did not grow in the middle third
# of the run (from SECS/3 to 2*SECS/3 after the buffer was enabled), while
# iio_writedev still had data to send. Prints one PEER line per step and
# RESULT lines at the end.
# iios.secs=N and iios.rates=R1,R2,... on the kernel command line override
SECS=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^iios.secs=//p')
SECS=${SECS:-3}
RATES=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^iios.rates=//p' | tr ',' ' ')
RATES=${RATES:-"250000 500000 1000000 2000000 5000000 10000000 20000000 50000000 100000000"}
BLOCK=1048576 # bytes: iiostreamd's blocks and iio_writedev's buffer (-b: scans)

modprobe industrialio && modprobe kfifo_buf &&
	modprobe iiostream_sim channels=2 dac=1 max_block_size=4194304 max_alloc_bytes=67108864 ||
	exit 1
dac=/sys/bus/iio/devices/iio:device1
[ "$(cat $dac/name)" = iiostream-sim-dac ] || exit 1
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
field() { v=$(sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1" | tail -1); echo "${v:--1}"; }
wait_for() { # FILE VALUE: up to 10 s
	for i in $(seq 100); do
		[ "$(cat "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

iiod >/tmp/iiod.log 2>&1 &
iiod_pid=$!
for i in $(seq 20); do
	grep -q ":76DF " /proc/net/tcp /proc/net/tcp6 2>/dev/null && break
	sleep 0.5
done

# try_iiod RATE: sets ok=1/0 and mbps
try_iiod() {
	echo "$1" >$dac/sampling_frequency
	n=$(($1 * SECS))
	t0=$(now_ms)
	head -c $((n * 4)) /dev/zero |
		iio_writedev -u ip:127.0.0.1 -T 30000 -b $((BLOCK / 4)) -s "$n" iiostream-sim-dac \
			>/dev/null 2>/tmp/writedev.err &
	wpid=$!
	ok=1
	# the middle third of the run: the kfifo must never be empty there
	if wait_for $dac/buffer/enable 1; then
		sleep "$(awk -v s=$SECS 'BEGIN { print s / 3 }')"
		u1=$(cat $dac/fifo_underflow_samples)
		sleep "$(awk -v s=$SECS 'BEGIN { print s / 3 }')"
		u2=$(cat $dac/fifo_underflow_samples)
	else
		u1=0 u2=-1
	fi
	wait $wpid || ok=0
	t1=$(now_ms)
	[ "$u1" = "$u2" ] || ok=0
	mbps=$(awk -v b=$((n * 4)) -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", b / (ms / 1000) / 1e6 }')
	echo "PEER iiod rate=$1 underflow_mid=$((u2 - u1)) ms=$((t1 - t0)) MB/s=$mbps ok=$ok"
}

# try_iiostream RATE
try_iiostream() {
	rm -f /tmp/port
	iiostreamd --source kernel:/dev/iio_block0 --source kernel:/dev/iio_block1 --rate "$1" \
		--block-size $BLOCK --blocks 8 --listen 127.0.0.1:0 --port-file /tmp/port \
		--log-level warn >/tmp/d.log 2>&1 &
	dpid=$!
	for i in $(seq 30); do [ -s /tmp/port ] && break; sleep 0.3; done
	iiostream tx --url tcp://127.0.0.1:$(sed -n 1p /tmp/port) --device iio:device1 --pattern \
		--bytes $(($1 * SECS * 4)) --json --quiet >/tmp/tx.json 2>/tmp/tx.err
	tx=$?
	kill -TERM $dpid
	wait $dpid
	ok=1
	[ $tx = 0 ] && [ "$(field /tmp/tx.json underflows)" = 0 ] || ok=0
	mbps=$(field /tmp/tx.json mbytes_per_s)
	echo "PEER iiostream rate=$1 MB/s=$mbps ok=$ok $(cat /tmp/tx.json)"
}

for tool in iiod iiostream; do
	best=0 best_mbps=0
	for r in $RATES; do
		try_$tool "$r"
		[ "$ok" = 1 ] || break
		best=$r best_mbps=$mbps
	done
	echo "RESULT $tool clients=1 lossless_rate=$best MB/s=$best_mbps"
done
kill -KILL $iiod_pid
exit 0
