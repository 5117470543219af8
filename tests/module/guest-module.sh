#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the qemu guest (busybox sh) as /test.sh: loads the module,
# checks its parameters' limits, runs the conformance program and libiio's
# tools against it, and unloads it. Exit status = number of failed checks.
fail=0
pass() { echo "GUEST-OK   $* [$(cut -d" " -f1 /proc/uptime)s]"; }
bad() { echo "GUEST-FAIL $*"; fail=$((fail + 1)); }

modprobe industrialio && modprobe kfifo_buf || bad "distro IIO modules"

# Out-of-range parameters refuse the load with a line that names them.
for p in channels=0 channels=17 devices=5 sampling_frequency=0 max_block_size=100 \
	"max_block_size=1048576 max_alloc_bytes=4096"; do
	if modprobe iiostream_sim $p 2>/dev/null; then
		bad "modprobe iiostream_sim $p loaded"
		rmmod iiostream_sim
	elif dmesg | tail -3 | grep -q "iiostream-sim: ${p##* }"; then
		pass "refused $p, and said why"
	else
		bad "refused $p without a reason in dmesg"
	fi
done

modprobe iiostream_sim channels=2 max_block_size=4194304 max_alloc_bytes=33554432 ||
	bad "modprobe iiostream_sim"
[ -c /dev/iio_block0 ] && pass "/dev/iio_block0 exists" || bad "no /dev/iio_block0"

# a broken module can leave a blocking call hanging: bound each run
if timeout 180 /bin/iio_block_compliance; then
	pass "iio_block_compliance"
else
	bad "iio_block_compliance"
fi
# The same program built for i386: the ioctls through compat_ptr_ioctl.
if [ -x /bin/iio_block_compliance32 ]; then
	if timeout 180 /bin/iio_block_compliance32; then
		pass "iio_block_compliance (32-bit process, compat ioctls)"
	else
		bad "iio_block_compliance (32-bit process, compat ioctls)"
	fi
fi

# libiio's local backend (Debian's iio_info / iio_readdev) sees the device.
# The kfifo path drops scans silently when the reader falls behind (only
# fifo_lost_samples counts them), and iiod under TCG is slow: read at a rate
# both keep up with, so a gap is a bug and not the emulator's speed.
iio=/sys/bus/iio/devices/$(cat /sys/class/iio_block/iio_block0/iio_device)
echo 100000 >$iio/sampling_frequency
if [ -x /usr/bin/iio_info ]; then
	iio_info -s >/tmp/info.txt 2>&1
	if iio_info 2>&1 | grep -q "iiostream-sim"; then
		pass "iio_info lists iiostream-sim"
	else
		bad "iio_info does not list the device"; cat /tmp/info.txt
	fi
	if iio_info 2>&1 | grep -q "voltage1: .*(input, index: 1, format: le:S16/16>>0)"; then
		pass "iio_info shows channel voltage1 with its scan format"
	else
		bad "iio_info: no voltage1 scan format"; iio_info 2>&1 | tail -30
	fi
	if iio_readdev -T 5000 -b 4096 -s 65536 iiostream-sim >/tmp/readdev.bin 2>/tmp/readdev.err &&
		/bin/iio_block_compliance --verify-stdin 2 </tmp/readdev.bin; then
		pass "iio_readdev reads 65536 scans that verify"
	else
		bad "iio_readdev"; cat /tmp/readdev.err
	fi
fi

# Debian's iiod serves the device over the network backend (guest loopback).
if [ -x /usr/sbin/iiod ]; then
	iiod >/tmp/iiod.log 2>&1 &
	iiod_pid=$!
	# listening on port 30431 (0x76DF)? busybox's nc has no -z
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		grep -q ":76DF " /proc/net/tcp /proc/net/tcp6 2>/dev/null && break
		sleep 0.5
	done
	if iio_info -u ip:127.0.0.1 2>&1 | grep -q "iiostream-sim"; then
		pass "iio_info -u ip:127.0.0.1 (iiod) lists iiostream-sim"
	else
		bad "iiod does not serve the device"; cat /tmp/iiod.log
	fi
	if iio_readdev -u ip:127.0.0.1 -T 5000 -b 4096 -s 65536 iiostream-sim \
		>/tmp/iiod.bin 2>/tmp/iiod.err &&
		/bin/iio_block_compliance --verify-stdin 2 </tmp/iiod.bin; then
		pass "iio_readdev through iiod reads 65536 scans that verify"
	else
		bad "iio_readdev through iiod"; cat /tmp/iiod.err /tmp/iiod.log
	fi
	# Without an avahi-daemon, iiod retries Avahi for about a minute before
	# it acts on SIGTERM; this is only the end of a fixture, so SIGKILL.
	kill -KILL $iiod_pid; wait $iiod_pid 2>/dev/null
fi

echo "GUEST-INFO fifo_lost_samples $(cat $iio/fifo_lost_samples)"

# A module with an open file cannot go; without one it unloads cleanly.
sleep 30 </dev/iio_block0 &
holder=$!
sleep 1
if rmmod iiostream_sim 2>/dev/null; then bad "rmmod with the node open"; else pass "rmmod refused while open"; fi
kill $holder; wait $holder 2>/dev/null
rmmod iiostream_sim && pass "rmmod" || bad "rmmod"
[ -e /dev/iio_block0 ] && bad "/dev/iio_block0 left behind" || pass "node gone"
exit $fail
