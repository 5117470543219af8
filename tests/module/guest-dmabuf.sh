#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs in the qemu guest (busybox sh), as /test.sh or as /guest-dmabuf.sh
# from guest-module.sh (sh /guest-dmabuf.sh): the mainline IIO DMABUF
# interface of the module's buffer1 (Linux 6.11+).
#  - loads iiostream_sim with dac=1: iio:device0 is the ADC, iio:device1
#    the DAC, each with buffer0 (its kfifo) and buffer1 (DMABUF);
#  - runs iio_dmabuf_compliance, and its i386 build when it is there (the
#    buffer fd's ioctls through compat_ptr_ioctl, the dma-buf, udmabuf,
#    dma-heap and sync_file ioctls through their compat paths);
#  - leaves a block queued on each buffer1 (disabled, fds closed), unloads
#    the module and checks the dmabufs were released;
#  - loads it again in another scan format with the ADC's timestamp
#    (channels=3 format=be:s24/32>>8 timestamp=1) and runs it there;
#  - checks the kernel log stayed clean.
# A kernel before 6.11 has no buffer1: the program says "skipped" there.
# One GUEST-OK/GUEST-FAIL line per check; exit status = failed checks.
fail=0
pass() { echo "GUEST-OK   dmabuf: $* [$(cut -d" " -f1 /proc/uptime)s]"; }
bad() { echo "GUEST-FAIL dmabuf: $*"; fail=$((fail + 1)); }

# the words run-guest.sh looks for in the log, counted before and after
kreports() { dmesg | grep -cE 'WARNING:|BUG:|Oops|Call Trace|general protection|UBSAN:|KASAN|list_add corruption|list_del corruption|refcount_t:'; }

# the dmabufs alive (debugfs), "" without it
dmabufs() { sed -n 's/^Total \([0-9]*\) objects.*/\1/p' /sys/kernel/debug/dma_buf/bufinfo 2>/dev/null; }

modprobe industrialio && modprobe kfifo_buf || bad "distro IIO modules"
rmmod iiostream_sim 2>/dev/null
reports0=$(kreports)

# 6.11 brought the DMABUF ioctls; before it the program only reports
skip=
kv=$(uname -r)
major=${kv%%.*}
minor=${kv#*.}
minor=${minor%%[!0-9]*}
if [ "$major" -lt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -lt 11 ]; }; then
	skip=--skip-missing
fi

if modprobe iiostream_sim channels=2 dac=1; then
	pass "modprobe iiostream_sim channels=2 dac=1"
	d0=/sys/bus/iio/devices/iio:device0
	d1=/sys/bus/iio/devices/iio:device1
	if [ -z "$skip" ]; then
		if [ "$(cat $d0/name)" = iiostream-sim ] && [ "$(cat $d1/name)" = iiostream-sim-dac ] &&
			[ "$(cat $d0/buffer1/direction 2>/dev/null)" = in ] &&
			[ "$(cat $d1/buffer1/direction 2>/dev/null)" = out ] &&
			[ "$(cat $d0/buffer0/direction 2>/dev/null)" = in ]; then
			pass "buffer1 of the ADC (in) and of the DAC (out), buffer0 kept"
		else
			bad "buffer1: $(ls $d0 $d1 | tr '\n' ' ')"
		fi
		[ -c /dev/udmabuf ] && pass "/dev/udmabuf" || bad "no /dev/udmabuf"
		[ -c /dev/dma_heap/system ] && pass "/dev/dma_heap/system" ||
			echo "info: no /dev/dma_heap/system (the program skips the heap)"
	else
		echo "info: kernel $kv is older than 6.11: no DMABUF interface, the program says skipped"
	fi
	for prog in iio_dmabuf_compliance iio_dmabuf_compliance32; do
		[ -x /bin/$prog ] || continue
		# a broken module can leave a fence or a blocking ioctl hanging
		if timeout 300 /bin/$prog $skip >/tmp/$prog.log 2>&1; then
			pass "$prog: $(tail -1 /tmp/$prog.log)"
			grep "^  info" /tmp/$prog.log
		else
			bad "$prog (status $?): $(tail -1 /tmp/$prog.log)"
			grep -v "^  ok" /tmp/$prog.log
		fi
	done
	# unloading with fences pending: blocks queued on both (disabled)
	# buffer1s, every fd closed; the module must signal them and let the
	# core release the attachments (each holds its dmabuf) before it goes
	objs0=$(dmabufs)
	if [ -z "$skip" ] && [ -x /bin/iio_dmabuf_compliance ] &&
		timeout 60 /bin/iio_dmabuf_compliance --leave-queued >/tmp/leave.log 2>&1; then
		echo "info: $(cat /tmp/leave.log)"
		if rmmod iiostream_sim; then
			pass "rmmod iiostream_sim with blocks queued on both buffer1s (their fds closed)"
			n=0
			while [ "$(dmabufs)" != "$objs0" ] && [ $n -lt 3 ]; do
				sleep 1
				n=$((n + 1))
			done
			if [ "$(dmabufs)" = "$objs0" ]; then
				pass "their dmabufs were released ($objs0 alive, as before)"
			else
				bad "dmabufs left alive after rmmod: $(dmabufs), $objs0 before"
			fi
		else
			bad "rmmod iiostream_sim with blocks queued: $(lsmod | grep iiostream)"
			# leave no module behind for the next script: an enable and a
			# disable of each buffer1 cancel what was queued
			for b in $d0/buffer1 $d1/buffer1; do
				echo 1 >$b/enable
				echo 0 >$b/enable
			done
			sleep 1
			rmmod iiostream_sim || bad "rmmod iiostream_sim after cancelling them"
		fi
	else
		[ -z "$skip" ] && bad "iio_dmabuf_compliance --leave-queued: $(cat /tmp/leave.log)"
		if rmmod iiostream_sim; then
			pass "rmmod iiostream_sim"
		else
			bad "rmmod iiostream_sim: $(lsmod | grep iiostream)"
		fi
	fi
else
	bad "modprobe iiostream_sim channels=2 dac=1"
fi

# another scan format, with the ADC's timestamp: every ADC test in that
# layout (3 x be:s24/32>>8 and the le:s64 timestamp: 24-byte scans), the
# DAC's format-independent ones
if [ -z "$skip" ] && [ -x /bin/iio_dmabuf_compliance ]; then
	if modprobe iiostream_sim channels=3 dac=1 'format=be:s24/32>>8' timestamp=1; then
		if timeout 300 /bin/iio_dmabuf_compliance --no-remove >/tmp/fmt.log 2>&1; then
			pass "iio_dmabuf_compliance in be:s24/32>>8 with timestamps: $(tail -1 /tmp/fmt.log)"
		else
			bad "iio_dmabuf_compliance in be:s24/32>>8 with timestamps: $(tail -1 /tmp/fmt.log)"
			grep -v "^  ok" /tmp/fmt.log
		fi
		rmmod iiostream_sim || bad "rmmod iiostream_sim (format=, timestamp=1)"
	else
		bad "modprobe iiostream_sim channels=3 dac=1 format=be:s24/32>>8 timestamp=1"
	fi
fi

reports=$(kreports)
if [ "$reports" = "$reports0" ]; then
	pass "the kernel log stayed clean"
else
	bad "the kernel log has $((reports - reports0)) new report(s)"
fi
exit $fail
