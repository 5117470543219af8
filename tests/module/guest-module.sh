#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the qemu guest (busybox sh) as /test.sh: loads the module,
# checks its parameters' limits, runs the conformance program and libiio's
# tools against it, and unloads it. Exit status = number of failed checks.
fail=0
pass() { echo "GUEST-OK   $*"; }
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

if /bin/iio_block_compliance; then
	pass "iio_block_compliance"
else
	bad "iio_block_compliance"
fi

# libiio's local backend (Debian's iio_info / iio_readdev) sees the device.
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

# A module with an open file cannot go; without one it unloads cleanly.
sleep 30 </dev/iio_block0 &
holder=$!
sleep 1
if rmmod iiostream_sim 2>/dev/null; then bad "rmmod with the node open"; else pass "rmmod refused while open"; fi
kill $holder; wait $holder 2>/dev/null
rmmod iiostream_sim && pass "rmmod" || bad "rmmod"
[ -e /dev/iio_block0 ] && bad "/dev/iio_block0 left behind" || pass "node gone"
exit $fail
