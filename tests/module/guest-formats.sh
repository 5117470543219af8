# SPDX-License-Identifier: MIT
# Sourced by tests/module/guest-module.sh in the same guest boot, after
# guest-multi.sh (run.sh adds it as /guest-formats.sh): the module's
# format= and timestamp= parameters. A 12-bit device with IIO's timestamp
# and a 24-bit big-endian one, streamed by iiostreamd from the block node
# (kernel source) and from the kfifo (readfd source) to iiostream rx
# --verify, which checks every value in the formats the stream describes;
# libiio reads the same scans in IIO's layout. It uses guest-module.sh's
# pass, bad and json_field, and adds its failures to $fail.
iio=/sys/bus/iio/devices/iio:device0
blk=/sys/class/iio_block/iio_block0

if modprobe iiostream_sim format=le:s12/12 2>/dev/null; then
	bad "format=le:s12/12 loaded"; rmmod iiostream_sim
elif dmesg | tail -3 | grep -q "iiostream-sim: format=le:s12/12"; then
	pass "refused format=le:s12/12 (no IIO storage size), and said why"
else
	bad "refused format=le:s12/12 without a reason"
fi

# stream SOURCE NAME BLOCK [RX ARGS]: iiostreamd on SOURCE at 100 kS/s, rx --verify 2 s
stream() {
	src=$1 name=$2 bsize=$3
	shift 3
	rm -f /tmp/port
	iiostreamd --source "$src" --rate 100000 --block-size "$bsize" --blocks 8 \
		--listen 127.0.0.1:0 --port-file /tmp/port >/tmp/daemon-$name.log 2>&1 &
	dpid=$!
	for i in $(seq 1 40); do [ -s /tmp/port ] && break; sleep 0.5; done
	iiostream rx --url tcp://127.0.0.1:$(sed -n 1p /tmp/port) --seconds 2 --verify --json \
		--quiet "$@" >/tmp/rx-$name.json 2>/tmp/rx-$name.err
	rx_status=$?
	kill -TERM $dpid; wait $dpid; daemon_status=$?
	f=/tmp/rx-$name.json
	if [ $rx_status = 0 ] && [ $daemon_status = 0 ] &&
		[ "$(json_field $f integrity_errors)" = 0 ] && [ "$(json_field $f blocks)" -ge 2 ]; then
		pass "$name: $(json_field $f blocks) blocks verified in the device's format"
	else
		bad "$name: rx $rx_status, daemon $daemon_status: $(cat $f /tmp/rx-$name.err)"
		cat /tmp/daemon-$name.log
	fi
}

# ---- 12-bit, sign-extended, with IIO's timestamp
modprobe iiostream_sim channels=2 'format=le:S12/16>>0' timestamp=1 ||
	bad "modprobe format=le:S12/16>>0 timestamp=1"
t0=$(cat $iio/scan_elements/in_voltage0_type)
tt=$(cat $iio/scan_elements/in_timestamp_type)
if [ "$t0" = "le:S12/16>>0" ] && [ "$tt" = "le:s64/64>>0" ] &&
	[ "$(cat $iio/scan_elements/in_timestamp_index)" = 2 ] && [ "$(cat $blk/scan_bytes)" = 16 ]; then
	pass "12-bit device: in_voltage0_type $t0, in_timestamp_type $tt, 16-byte scans"
else
	bad "12-bit device: types '$t0' '$tt', scan_bytes $(cat $blk/scan_bytes)"
fi
echo 0x6 >$blk/channel_mask && [ "$(cat $blk/scan_bytes)" = 16 ] &&
	echo 0x3 >$blk/channel_mask && [ "$(cat $blk/scan_bytes)" = 4 ] &&
	echo 0x7 >$blk/channel_mask && pass "channel_mask takes the timestamp: voltage1+timestamp 16 bytes, voltages 4" ||
	bad "channel_mask with the timestamp: scan_bytes $(cat $blk/scan_bytes)"
stream kernel kernel-12bit 65536
stream readfd:iiostream-sim readfd-12bit 65536
stream kernel kernel-12bit-v1-ts 65536 --channels 1,2
grep -q "mask 0x6" /tmp/daemon-kernel-12bit-v1-ts.log ||
	echo "GUEST-INFO $(grep -i channel /tmp/daemon-kernel-12bit-v1-ts.log | tail -2)"
if iio_readdev -u local: -b 4096 -s 20000 iiostream-sim voltage1 timestamp >/tmp/readdev.bin 2>/tmp/readdev.err &&
	[ "$(wc -c </tmp/readdev.bin)" = 320000 ]; then
	pass "iio_readdev voltage1 timestamp: 20000 scans of 16 bytes (IIO's layout)"
else
	bad "iio_readdev of the 12-bit device: $(wc -c </tmp/readdev.bin) bytes"
fi
rmmod iiostream_sim || bad "rmmod (12-bit)"

# ---- 24-bit big-endian, shifted, three channels
modprobe iiostream_sim channels=3 'format=be:s24/32>>8' || bad "modprobe format=be:s24/32>>8"
if [ "$(cat $iio/scan_elements/in_voltage2_type)" = "be:s24/32>>8" ] &&
	[ ! -e $iio/scan_elements/in_timestamp_type ] && [ "$(cat $blk/scan_bytes)" = 12 ]; then
	pass "24-bit device: be:s24/32>>8, no timestamp, 12-byte scans"
else
	bad "24-bit device: $(cat $iio/scan_elements/in_voltage2_type), scan_bytes $(cat $blk/scan_bytes)"
fi
stream kernel kernel-24bit 61440
rmmod iiostream_sim || bad "rmmod (24-bit)"
