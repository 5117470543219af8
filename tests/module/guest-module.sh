#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the qemu guest (busybox sh) as /test.sh: loads the module,
# checks its parameters' limits, runs the conformance program and libiio's
# tools against it, and unloads it. Exit status = number of failed checks.
fail=0
pass() { echo "GUEST-OK   $* [$(cut -d" " -f1 /proc/uptime)s]"; }
bad() { echo "GUEST-FAIL $*"; fail=$((fail + 1)); }

modprobe industrialio && modprobe kfifo_buf || bad "distro IIO modules"

# Linux 6.11+: the mainline DMABUF interface of the module's buffer1, its
# conformance program (tests/module/guest-dmabuf.sh) and iiostreamd
# streaming and transmitting through it (tests/module/guest-dmabuf-stream.sh);
# the 6.12 guests add them. Each loads and unloads the module. GUEST_ONLY=dmabuf
# on the kernel command line runs only these (the arm64 6.12 guest).
dmabuf_tests() {
	for s in /guest-dmabuf.sh /guest-dmabuf-stream.sh; do
		if [ -f $s ]; then
			sh $s && pass "${s#/}" || bad "${s#/} failed"
		fi
	done
}
if [ "${GUEST_ONLY:-}" = dmabuf ]; then
	dmabuf_tests
	exit $fail
fi

# Out-of-range parameters refuse the load with a line that names them.
for p in channels=0 channels=17 devices=5 sampling_frequency=0 max_block_size=100 \
	"max_block_size=1048576 max_alloc_bytes=4096" fifo_ms=0 fifo_ms=10001; do
	if modprobe iiostream_sim $p 2>/dev/null; then
		bad "modprobe iiostream_sim $p loaded"
		rmmod iiostream_sim
	elif dmesg | tail -3 | grep -q "iiostream-sim: ${p##* }"; then
		pass "refused $p, and said why"
	else
		bad "refused $p without a reason in dmesg"
	fi
done

# FIFO_MS (the kernel command line): a deeper converter FIFO for an
# emulated guest that shares a loaded host (tests/cross/run.sh)
modprobe iiostream_sim channels=2 max_block_size=4194304 max_alloc_bytes=33554432 \
	fifo_ms=${FIFO_MS:-100} ||
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

# Random sequences of the ioctls, mmap/munmap, close, fork and sysfs writes
# from several processes, under the kernel's debug checks (a WARNING, BUG or
# corruption report anywhere in the log fails the run): afterwards no block
# may be left allocated, and the device must work as before.
if [ -x /bin/iio_block_fuzz ]; then
	rate0=$(cat /sys/bus/iio/devices/iio:device0/sampling_frequency)
	live=/sys/module/iiostream_sim/parameters/blocks_live
	if timeout 120 /bin/iio_block_fuzz --seconds ${FUZZ_SECONDS:-20} --procs 4 \
		>/tmp/fuzz.log 2>&1; then
		steps=$(awk '/ steps$/ { n += $(NF - 1) } END { print n }' /tmp/fuzz.log)
		pass "iio_block_fuzz: 4 processes, ${FUZZ_SECONDS:-20} s, $steps calls ($(head -1 /tmp/fuzz.log))"
	else
		bad "iio_block_fuzz"; cat /tmp/fuzz.log
	fi
	[ "$(cat $live)" = 0 ] && pass "no block left allocated after the fuzzer (blocks_live 0)" ||
		bad "blocks_live $(cat $live) after the fuzzer"
	echo 0x3 >/sys/class/iio_block/iio_block0/channel_mask
	echo "$rate0" >/sys/bus/iio/devices/iio:device0/sampling_frequency
	if timeout 180 /bin/iio_block_compliance --no-remove >/tmp/after-fuzz.log 2>&1; then
		pass "iio_block_compliance passes again after the fuzzer"
	else
		bad "iio_block_compliance after the fuzzer"; grep -B3 "FAIL" /tmp/after-fuzz.log
	fi
fi

# libiio's local backend (Debian's iio_info / iio_readdev) sees the device.
# The kfifo path drops scans silently when the reader falls behind (only
# fifo_lost_samples counts them), and iiod under TCG is slow: read at a rate
# both keep up with, so a gap is a bug and not the emulator's speed.
iio=/sys/bus/iio/devices/$(cat /sys/class/iio_block/iio_block0/iio_device)
echo 100000 >$iio/sampling_frequency

# Under TCG a busy or slow host can leave the guest behind a rate it keeps
# up with on a quiet one. A check that failed while the device counted lost
# scans (lost_samples: no block queued; fifo_lost_samples: no kfifo room)
# saw the emulator's speed, not a bug: it runs once more at a quarter of
# the rate. A failure without counted loss fails at once.
counted_loss() { # scans the device has counted as lost, both paths
	echo $(($(cat /sys/class/iio_block/iio_block0/lost_samples) + $(cat $iio/fifo_lost_samples)))
}
slower() { # NAME RATE LOST: say so and succeed when NAME may run again slower
	[ "$3" -gt 0 ] && [ "$2" -gt 25000 ] || return 1
	echo "GUEST-INFO $1: the guest fell behind $2 S/s (the device counted $3 lost scans); once more at $(($2 / 4)) S/s"
}
# block_bytes RATE: the daemon's block size for a run at RATE S/s, small
# enough that a block fills in at most 1 s, so that a slower run (slower())
# still gets its blocks well within the clients' 5 s timeouts (iiostream rx
# and iio_readdev -T 5000 give up after 5 s without data). The slowest fill
# is one channel captured, 2 bytes a scan: at most 2 * RATE bytes, and at
# most the usual 256 KiB, rounded down to whole 2-channel scans (4 bytes).
# 200000 S/s keeps 262144 (0.66 s with one channel, 0.33 s with two); the
# floor of the ladder, 12500 S/s, gets 25000 bytes (1 s, 0.5 s), where a
# 256 KiB block took 262144 / (12500 * 4) = 5.24 s, past the timeout. The
# lowest rate slower() can reach is above 25000 / 4 = 6250 S/s: 12500 bytes.
block_bytes() {
	b=$(($1 * 2))
	[ $b -gt 262144 ] && b=262144
	b=$((b / 4 * 4))
	echo $((b > 4 ? b : 4))
}
# readdev_check NAME [-u URI]: 65536 scans through libiio that verify;
# returns 1 when the check failed
readdev_check() {
	name=$1
	shift
	rate=100000 ok=1
	while :; do
		echo $rate >$iio/sampling_frequency
		lost0=$(counted_loss)
		if iio_readdev "$@" -T 5000 -b 4096 -s 65536 iiostream-sim >/tmp/readdev.bin 2>/tmp/readdev.err &&
			/bin/iio_block_compliance --verify-stdin 2 </tmp/readdev.bin >/tmp/readdev.v 2>&1; then
			pass "$name reads 65536 scans that verify at $rate S/s"
			break
		fi
		if ! slower "$name" $rate $(($(counted_loss) - lost0)); then
			bad "$name"; cat /tmp/readdev.err /tmp/readdev.v
			ok=0
			break
		fi
		rate=$((rate / 4))
	done
	echo 100000 >$iio/sampling_frequency
	[ $ok = 1 ]
}
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
	readdev_check "iio_readdev"
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
	readdev_check "iio_readdev through iiod" -u ip:127.0.0.1 || cat /tmp/iiod.log
	# Without an avahi-daemon, iiod retries Avahi for about a minute before
	# it acts on SIGTERM; this is only the end of a fixture, so SIGKILL.
	kill -KILL $iiod_pid; wait $iiod_pid 2>/dev/null
fi

echo "GUEST-INFO fifo_lost_samples $(cat $iio/fifo_lost_samples)"

# iiostreamd on the kernel source, iiostream rx --verify over the guest's
# loopback: every byte checked against the pattern and the stream's
# continuity, and the device's overflows arriving as counted gaps. What the
# kfifo dropped meanwhile (fifo_lost_samples: gaps the readfd source cannot
# see, which rx finds as integrity errors) is in each run's GUEST-INFO line.
json_field() { # FILE NAME: the number, or -1 when it is missing
	v=$(sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1" | tail -1)
	echo "${v:--1}"
}
daemon_run() { # RATE SECONDS NAME [DAEMON ARGS...]; sets run_block
	rate=$1 secs=$2 name=$3
	shift 3
	rm -f /tmp/port
	run_block=$(block_bytes "$rate")
	iiostreamd --source ${SOURCE:-kernel} --rate "$rate" --block-size $run_block --blocks 8 \
		--listen 127.0.0.1:0 --port-file /tmp/port "$@" >/tmp/daemon-$name.log 2>&1 &
	dpid=$!
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -s /tmp/port ] && break
		sleep 0.5
	done
	lost0=$(cat /sys/class/iio_block/iio_block0/lost_samples)
	flost0=$(cat $iio/fifo_lost_samples)
	iiostream rx --url tcp://127.0.0.1:$(sed -n 1p /tmp/port) --seconds "$secs" --verify --json \
		--quiet $RX_ARGS >/tmp/rx-$name.json 2>/tmp/rx-$name.err
	rx_status=$?
	lost_dev=$(( $(cat /sys/class/iio_block/iio_block0/lost_samples) - lost0 ))
	lost_fifo=$(( $(cat $iio/fifo_lost_samples) - flost0 ))
	kill -TERM $dpid
	wait $dpid
	daemon_status=$?
	echo "GUEST-INFO rx $name: $(tail -1 /tmp/rx-$name.json); device lost $lost_dev, kfifo lost $lost_fifo"
}
# stream_check NAME RATE SECONDS CHECK [DAEMON ARGS...]: daemon_run, then
# the function CHECK says whether the run passed. A failed run whose loss
# was counted (the device's overflows, kfifo drops, the daemon's skips)
# runs again slower; a wrong byte from the block path never does, nor one
# from the kfifo when the kfifo counted no drop. Returns 1 when it failed.
# The device's sampling_frequency (which --rate writes) is put back after,
# so that a slower run does not leave later checks at its rate.
stream_check() {
	sc_rate0=$(cat $iio/sampling_frequency)
	stream_check_runs "$@"
	sc_result=$?
	echo "$sc_rate0" >$iio/sampling_frequency
	return $sc_result
}
stream_check_runs() {
	sc_name=$1 sc_rate=$2 sc_secs=$3 sc_check=$4
	shift 4
	while :; do
		daemon_run $sc_rate $sc_secs $sc_name "$@"
		f=/tmp/rx-$sc_name.json
		$sc_check && return 0
		counted=$((lost_dev + lost_fifo + $(json_field $f lost_blocks)))
		if [ "$(json_field $f integrity_errors)" != 0 ]; then
			case ${SOURCE:-kernel} in
			readfd*) counted=$lost_fifo ;; # kfifo drops reach rx as wrong bytes
			*) counted=0 ;;
			esac
		fi
		slower "$sc_name" $sc_rate $counted || return 1
		sc_rate=$((sc_rate / 4))
	done
}
expected_blocks() { # a quarter of what the rate fills in the run's blocks, at least 1
	n=$((sc_rate * 4 * sc_secs / run_block / 4 / ${1:-1}))
	echo $((n > 0 ? n : 1))
}
paced_ok() {
	[ $rx_status = 0 ] && [ "$(json_field $f integrity_errors)" = 0 ] &&
		[ "$(json_field $f lost_samples)" = 0 ] && [ "$(json_field $f lost_blocks)" = 0 ] &&
		[ "$(json_field $f blocks)" -ge $(expected_blocks) ]
}
readfd_ok() {
	[ $rx_status = 0 ] && [ "$(json_field $f integrity_errors)" = 0 ] &&
		[ "$(json_field $f lost_blocks)" = 0 ] && [ "$(json_field $f blocks)" -ge $(expected_blocks) ] &&
		[ $daemon_status = 0 ]
}
pick_ok() { # one channel of two: half the bytes
	[ $rx_status = 0 ] && [ "$(json_field $f integrity_errors)" = 0 ] &&
		[ "$(json_field $f lost_blocks)" = 0 ] && [ "$(json_field $f blocks)" -ge $(expected_blocks 2) ] &&
		grep -q "channels voltage1$" /tmp/daemon-$sc_name.log && [ $daemon_status = 0 ]
}
if [ -x /bin/iiostreamd ]; then
	if stream_check paced 2000000 4 paced_ok; then
		pass "iiostreamd --source kernel -> rx --verify at $sc_rate S/s: $(json_field $f blocks) blocks, every byte verified, nothing lost"
	else
		bad "kernel source stream at $sc_rate S/s"; cat /tmp/rx-paced.err /tmp/daemon-paced.log
	fi
	[ $daemon_status = 0 ] && pass "iiostreamd exits 0 on SIGTERM, every block back" ||
		{ bad "iiostreamd exit status $daemon_status"; cat /tmp/daemon-paced.log; }

	# 100 MS/s x 4 bytes is more than this emulated guest can carry: the
	# device overflows, and every gap must arrive counted, never corrupt.
	daemon_run 100000000 3 overflow
	f=/tmp/rx-overflow.json
	lost=$(json_field $f lost_samples)
	ovf=$(json_field $f overflow_blocks)
	# the client also loses the blocks the daemon skipped for it (a
	# block's worth of scans each); the device keeps counting after the
	# client left
	bound=$((lost_dev + $(json_field $f lost_blocks) * (run_block / 4)))
	if [ "$(json_field $f integrity_errors)" = 0 ] && [ "${lost:-0}" -gt 0 ] &&
		[ "${ovf:-0}" -gt 0 ] && [ "$lost" -le "$bound" ]; then
		pass "device overflows reach the client as counted gaps: $ovf flagged blocks, $lost scans lost (device $lost_dev + skips), 0 integrity errors"
	else
		bad "overflow stream: rx lost '$lost', device lost $lost_dev"
		cat /tmp/rx-overflow.err /tmp/daemon-overflow.log
	fi
	[ $daemon_status = 0 ] && pass "iiostreamd exits 0 after the overflow run" ||
		{ bad "iiostreamd exit status $daemon_status"; cat /tmp/daemon-overflow.log; }

	# MSG_ZEROCOPY straight from the module's mapped pages, while the
	# module refills every block given back: a block returned before its
	# completion would be overwritten under the send, and rx would see it.
	daemon_run 20000000 3 zerocopy --transport zerocopy --blocks 16 --client-queue 8
	f=/tmp/rx-zerocopy.json
	if [ $rx_status = 0 ] && [ "$(json_field $f integrity_errors)" = 0 ] &&
		[ "$(json_field $f blocks)" -ge 20 ] &&
		grep -q "zerocopy, [1-9][0-9]* zero-copy sends" /tmp/daemon-zerocopy.log; then
		pass "zero-copy from the module's blocks: $(json_field $f blocks) blocks verified ($(grep -o '[0-9]* zero-copy sends, [0-9]* completed' /tmp/daemon-zerocopy.log))"
	else
		bad "zero-copy stream from the module"; cat /tmp/rx-zerocopy.err /tmp/daemon-zerocopy.log
	fi
	[ $daemon_status = 0 ] || { bad "iiostreamd exit status $daemon_status"; cat /tmp/daemon-zerocopy.log; }

	# The readfd source: the same device through its kfifo and read(), for
	# kernels without the block interface, at a rate the guest keeps up with.
	if SOURCE=readfd:iiostream-sim stream_check readfd 200000 3 readfd_ok; then
		pass "iiostreamd --source readfd (kfifo, read()) at $sc_rate S/s: $(json_field $f blocks) blocks verified"
	else
		bad "readfd source"; cat /tmp/rx-readfd.err /tmp/daemon-readfd.log
	fi

	# rx picks a channel: the module's blocks (channel_mask) and the IIO
	# buffer (scan_elements) capture only it, and it verifies as channel 1
	for src in kernel readfd:iiostream-sim; do
		name=pick-${src%%:*}
		if RX_ARGS="--channels voltage1" SOURCE=$src stream_check $name 200000 2 pick_ok; then
			pass "$src: rx --channels voltage1 at $sc_rate S/s: $(json_field $f bytes) bytes of channel 1 alone, verified"
		else
			bad "$src: rx --channels voltage1"; cat /tmp/rx-$name.err /tmp/daemon-$name.log
		fi
	done
fi

# Devices and attributes through libiio's local context: the daemon
# describes the module's IIO device (channels, scan formats, attributes)
# and reads and writes its sysfs attributes for clients.
if [ -x /bin/iiostreamd ]; then
	rm -f /tmp/port
	# blocks that fill within 1 s down to the iio_readdev ladder's slowest
	# rung below (a quarter of the device's rate; block_bytes), and enough
	# of them for a few seconds of a slow libiio client at the first rung
	dev_rate=$(cat /sys/bus/iio/devices/iio:device0/sampling_frequency)
	iiostreamd --source kernel --listen 127.0.0.1:0 --iiod-listen 127.0.0.1:0 \
		--block-size $(block_bytes $((dev_rate / 4))) --blocks 32 \
		--port-file /tmp/port >/tmp/daemon-devices.log 2>&1 &
	dpid=$!
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -s /tmp/port ] && break
		sleep 0.5
	done
	url=tcp://127.0.0.1:$(sed -n 1p /tmp/port)
	iio=/sys/bus/iio/devices/iio:device0
	iiostream info --url $url >/tmp/info.txt 2>&1
	if grep -q "iio:device0: iiostream-sim" /tmp/info.txt &&
		grep -q "streamed by this server" /tmp/info.txt &&
		grep -q "in  voltage1 \[1\] le:s16/16>>0" /tmp/info.txt &&
		grep -q "device attrs:.*sampling_frequency" /tmp/info.txt; then
		pass "iiostream info lists the module's device through libiio"
	else
		bad "iiostream info"; cat /tmp/info.txt /tmp/daemon-devices.log
	fi
	rate0=$(iiostream attr get sampling_frequency --url $url 2>&1)
	set_to=$(iiostream attr set sampling_frequency 123456 --url $url 2>&1)
	now=$(cat $iio/sampling_frequency)
	# a buffer attribute libiio lists (it keeps enable and length to itself)
	battr=$(sed -n 's/^ *buffer attrs: \([^ ]*\).*/\1/p' /tmp/info.txt | head -1)
	bval=$(iiostream attr get --buffer "$battr" --device iio:device0 --url $url 2>&1)
	if [ "$rate0" -gt 0 ] 2>/dev/null && [ "$set_to" = 123456 ] && [ "$now" = 123456 ] &&
		[ -n "$battr" ] && [ "$bval" = "$(cat $iio/buffer/$battr)" ]; then
		pass "attributes through libiio: rate $rate0 -> $now (sysfs agrees), buffer/$battr = $bval"
	else
		bad "attributes: get '$rate0', set '$set_to', sysfs '$now', buffer/$battr '$bval'"
		cat /tmp/info.txt /tmp/daemon-devices.log
	fi
	# the next subscription streams at the written rate
	iiostream info --url $url >/tmp/info2.txt 2>&1
	grep -q "rate:       123456 scans/s" /tmp/info2.txt &&
		pass "the stream takes the written sampling_frequency" ||
		{ bad "stream rate after the write"; cat /tmp/info2.txt; }
	iiostream attr set sampling_frequency "$rate0" --url $url >/dev/null 2>&1
	if iiostream attr get x --device no-such-device --url $url 2>/tmp/attr.err; then
		bad "an unknown device was accepted"
	else
		grep -q "no such device" /tmp/attr.err && pass "an unknown device is refused, said why" ||
			{ bad "unknown device error"; cat /tmp/attr.err; }
	fi
	# the same device served to libiio's network backend by iiostreamd's
	# iiod-compatible listener, streamed from the module's blocks
	uri=ip:127.0.0.1:$(sed -n 3p /tmp/port)
	if iio_info -u $uri 2>&1 | grep -q "iio:device0: iiostream-sim (buffer capable)"; then
		pass "iio_info -u $uri (iiostreamd) lists the module's device"
	else
		bad "iio_info through iiostreamd"; iio_info -u $uri 2>&1 | tail -20
	fi
	# iio_attr through iiostreamd reads and writes the module's sysfs
	a0=$(iio_attr -u $uri -d iio:device0 sampling_frequency 2>&1)
	iio_attr -u $uri -d iio:device0 sampling_frequency 150000 >/tmp/iio_attr.txt 2>&1
	a1=$(cat $iio/sampling_frequency)
	iio_attr -u $uri -d iio:device0 sampling_frequency "$a0" >/dev/null 2>&1
	if [ "$a0" = "$(cat $iio/sampling_frequency)" ] && [ "$a1" = 150000 ]; then
		pass "iio_attr through iiostreamd: sampling_frequency $a0, set to $a1 (sysfs agrees), and back"
	else
		bad "iio_attr through iiostreamd: read '$a0', sysfs after the write '$a1'"
		cat /tmp/iio_attr.txt
	fi
	for chans in "voltage0 voltage1:0,1" "voltage1:1"; do
		ids=${chans%%:*}
		rate=$rate0
		while :; do
			iiostream attr set sampling_frequency $rate --url $url >/dev/null 2>&1
			lost0=$(counted_loss)
			skips0=$(grep -c "skipping blocks" /tmp/daemon-devices.log)
			# past scan 65536, so that the data shows where it starts
			if iio_readdev -u $uri -T 5000 -b 4096 -s 70000 iio:device0 $ids \
				>/tmp/iiod-s.bin 2>/tmp/iiod-s.err &&
				iiostream verify /tmp/iiod-s.bin --channels ${chans##*:} >/tmp/iiod-v.txt 2>&1 &&
				grep -q "^70000 scans from index [0-9]*: 0 gaps.* 0 errors" /tmp/iiod-v.txt; then
				pass "iio_readdev $ids through iiostreamd at $rate S/s: $(cat /tmp/iiod-v.txt)"
				break
			fi
			# gaps the daemon logged as skips for a slow libiio client
			# count like the device's own (libiio has no way to be told)
			skipped=$(($(grep -c "skipping blocks" /tmp/daemon-devices.log) - skips0))
			grep -q " [1-9][0-9]* errors" /tmp/iiod-v.txt && skipped=-1000000000 # a wrong byte
			if ! slower "iio_readdev $ids through iiostreamd" $rate \
				$(($(counted_loss) - lost0 + skipped)); then
				bad "iio_readdev $ids through iiostreamd"
				cat /tmp/iiod-s.err /tmp/iiod-v.txt; tail /tmp/daemon-devices.log
				break
			fi
			rate=$((rate / 4))
		done
	done
	iiostream attr set sampling_frequency "$rate0" --url $url >/dev/null 2>&1
	kill -TERM $dpid
	wait $dpid || bad "iiostreamd (devices) exit status $?"
fi

# A module with an open file cannot go; without one it unloads cleanly.
sleep 30 </dev/iio_block0 &
holder=$!
sleep 1
if rmmod iiostream_sim 2>/dev/null; then bad "rmmod with the node open"; else pass "rmmod refused while open"; fi
kill $holder; wait $holder 2>/dev/null
rmmod iiostream_sim && pass "rmmod" || bad "rmmod"
[ -e /dev/iio_block0 ] && bad "/dev/iio_block0 left behind" || pass "node gone"

# the DAC (dac=1) in the same boot: the output direction, CYCLIC,
# underflows and the loopback (tests/module/guest-dac.sh, which run.sh adds
# as /guest-dac.sh)
if [ -f /guest-dac.sh ]; then
	. /guest-dac.sh
fi
# iiostreamd transmits through the DAC: iiostream tx -> the DAC -> its
# loopback -> the ADC -> rx --verify-loopback (tests/module/guest-tx.sh,
# which run.sh adds as /guest-tx.sh)
if [ -f /guest-tx.sh ]; then
	. /guest-tx.sh
fi
# devices=2 in the same boot: triggers, debug registers, two streams at
# once (tests/module/guest-multi.sh, which run.sh adds as /guest-multi.sh)
if [ -f /guest-multi.sh ]; then
	. /guest-multi.sh
fi
# and the module's scan formats (tests/module/guest-formats.sh)
if [ -f /guest-formats.sh ]; then
	. /guest-formats.sh
fi
dmabuf_tests
exit $fail
