#!/bin/sh
# SPDX-License-Identifier: MIT
# Sourced by tests/module/guest-module.sh in the qemu guest (run.sh adds it
# as /guest-dac.sh): the module's DAC (dac=1), the output direction of the
# block interface.
#  - the DAC comes after the ADC: iio:device0/iio_block0 stay the ADC's,
#    iio:device1/iio_block1 are the DAC's;
#  - iio_block_dac_compliance (64- and 32-bit): states, ENQUEUE's
#    bytes_used, order and pace, CYCLIC, underflows, loopback sample by
#    sample;
#  - unbinding either device of the loopback pair, and binding it again.
# Uses pass/bad of guest-module.sh.

if modprobe iiostream_sim channels=2 dac=1 max_block_size=4194304 max_alloc_bytes=33554432; then
	pass "modprobe iiostream_sim dac=1"
	if [ "$(cat /sys/bus/iio/devices/iio:device0/name)" = iiostream-sim ] &&
		[ "$(cat /sys/bus/iio/devices/iio:device1/name)" = iiostream-sim-dac ] &&
		[ "$(cat /sys/class/iio_block/iio_block0/direction)" = in ] &&
		[ "$(cat /sys/class/iio_block/iio_block1/direction)" = out ] &&
		[ "$(cat /sys/bus/iio/devices/iio:device1/block_device)" = iio_block1 ]; then
		pass "dac=1: the ADC is iio:device0/iio_block0 (in), the DAC iio:device1/iio_block1 (out)"
	else
		bad "dac=1: nodes"; ls -l /dev/iio_block* /sys/bus/iio/devices/
	fi
	for prog in iio_block_dac_compliance iio_block_dac_compliance32; do
		[ -x /bin/$prog ] || continue
		if timeout 120 /bin/$prog >/tmp/$prog.log 2>&1; then
			pass "$prog: $(tail -1 /tmp/$prog.log)"
		else
			bad "$prog"; grep -v "^  ok" /tmp/$prog.log
		fi
	done
	# libiio's local backend: an output device with a buffer, and
	# iio_writedev writes through the DAC's output kfifo
	if [ -x /usr/bin/iio_info ]; then
		if iio_info 2>&1 | grep -q "voltage1: .*(output, index: 1, format: le:S16/16>>0)"; then
			pass "iio_info shows the DAC's voltage1 as an output channel with its scan format"
		else
			bad "iio_info: no output channel voltage1"; iio_info 2>&1 | tail -30
		fi
	fi
	if [ -x /usr/bin/iio_writedev ]; then
		echo 100000 >/sys/bus/iio/devices/iio:device1/sampling_frequency
		if head -c 32768 /dev/zero | timeout 30 iio_writedev -b 1024 -s 8192 iiostream-sim-dac \
			>/tmp/writedev.err 2>&1; then
			pass "iio_writedev plays 8192 scans through the DAC's kfifo"
		else
			bad "iio_writedev into the DAC"; cat /tmp/writedev.err
		fi
	fi
	# either side of the loopback pair goes and comes back
	drv=/sys/bus/platform/drivers/iiostream-sim
	dac_iio=/sys/bus/iio/devices/iio:device1
	echo 1 >$dac_iio/loopback
	echo 1 >/sys/class/iio_block/iio_block1/enable
	echo iiostream-sim.0 >$drv/unbind
	lb_gone=$(echo 1 2>/dev/null >$dac_iio/loopback && echo accepted)
	echo iiostream-sim.0 >$drv/bind
	echo 0 >/sys/class/iio_block/iio_block1/enable
	echo iiostream-sim-dac.0 >$drv/unbind
	echo iiostream-sim-dac.0 >$drv/bind
	dac_iio=/sys/bus/iio/devices/$(cat /sys/class/iio_block/iio_block1/iio_device 2>/dev/null)
	if [ -z "$lb_gone" ] && echo 1 >$dac_iio/loopback && [ "$(cat $dac_iio/loopback)" = 1 ] &&
		echo 0 >$dac_iio/loopback; then
		pass "unbinding the ADC unlinks the loopback (refused meanwhile), binding links it again"
	else
		bad "loopback across unbind/bind: '$lb_gone', $(ls /sys/bus/iio/devices/)"
	fi
	rmmod iiostream_sim && pass "rmmod (dac=1)" || bad "rmmod (dac=1)"
	[ "$(cat /sys/module/iiostream_sim/parameters/blocks_live 2>/dev/null || echo 0)" = 0 ] ||
		bad "blocks left"
else
	bad "modprobe iiostream_sim dac=1"
fi

# with devices=2, format= and timestamp=: the DAC comes after both ADCs, in
# their format, without a timestamp; the ADCs keep theirs
if modprobe iiostream_sim devices=2 dac=1 channels=3 'format=le:S12/16>>0' timestamp=1; then
	d=/sys/bus/iio/devices/iio:device2
	if [ "$(cat $d/name)" = iiostream-sim-dac ] && [ -c /dev/iio_block2 ] &&
		[ "$(cat /sys/class/iio_block/iio_block2/direction)" = out ] &&
		[ "$(cat $d/scan_elements/out_voltage2_type)" = "le:S12/16>>0" ] &&
		[ ! -e $d/scan_elements/out_timestamp_en ] &&
		[ "$(cat /sys/class/iio_block/iio_block2/scan_bytes)" = 6 ] &&
		[ "$(cat /sys/class/iio_block/iio_block1/direction)" = in ] &&
		[ -e /sys/bus/iio/devices/iio:device1/scan_elements/in_timestamp_en ] &&
		echo 1 >$d/loopback && echo 0 >$d/loopback; then
		pass "devices=2 dac=1 format=le:S12/16>>0 timestamp=1: the DAC is iio:device2 (3 x le:S12/16, 6-byte scans, no timestamp), loops back"
	else
		bad "devices=2 dac=1: $(ls /sys/bus/iio/devices/ /dev/iio_block*)"
	fi
	# the loopback byte for byte in that format, the ADC's timestamps kept
	if [ -x /bin/iio_block_dac_compliance ]; then
		if timeout 60 /bin/iio_block_dac_compliance >/tmp/dac-fmt.log 2>&1; then
			pass "iio_block_dac_compliance in le:S12/16>>0 with timestamps: $(tail -1 /tmp/dac-fmt.log)"
		else
			bad "iio_block_dac_compliance (format=, timestamp=)"; grep -v "^  ok" /tmp/dac-fmt.log
		fi
	fi
	rmmod iiostream_sim || bad "rmmod (devices=2 dac=1)"
else
	bad "modprobe iiostream_sim devices=2 dac=1 format= timestamp=1"
fi
