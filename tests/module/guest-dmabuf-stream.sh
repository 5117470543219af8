#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs in the qemu guest (busybox sh), as /test.sh or as
# /guest-dmabuf-stream.sh from guest-module.sh (sh /guest-dmabuf-stream.sh):
# iiostreamd's `dmabuf` source and sink on the module's buffer1, the mainline
# IIO DMABUF interface (Linux 6.11+; before it the script says "skipped").
#  - loads iiostream_sim channels=2 dac=1: iio:device0 the ADC, iio:device1
#    the DAC, each with buffer0 (kfifo, no DMABUF) and buffer1 (DMABUF);
#  - dmabuf:iio:device0,buffer=0 is refused at start-up, naming the device
#    and the buffer (ATTACH: EPERM), and so is buffer1 while another daemon
#    streams it (EBUSY);
#  - iiostreamd --source dmabuf:iiostream-sim -> iiostream rx --verify over
#    the guest's loopback, with the copying, zero-copy (MSG_ZEROCOPY from the
#    udmabufs' memfd pages while the device refills every block given back)
#    and sendfile (from the memfds) transports: every byte the pattern, the
#    scan index continuous, nothing lost; the daemon exits 0 on SIGTERM with
#    every block back in the source;
#  - without /dev/udmabuf, blocks from /dev/dma_heap/system (when the
#    kernel has it): rx --verify over the copy transport, sendfile refused;
#  - a rate the guest cannot carry: the device's drops (buffer1/lost_scans)
#    reach the client as counted gaps, never as wrong bytes;
#  - the DAC through DMABUF: --source dmabuf:iio:device1 is an output stream;
#    `iiostream tx --pattern` into it with its loopback on, while
#    `iiostream rx --verify-loopback` captures the ADC through DMABUF: the
#    whole pattern, in order, no gap, no underflow; tx --no-drain stops the
#    DAC with blocks queued, which come back unplayed, and the next tx plays
#    the whole ring; a CYCLIC block loops until tx stops it;
#  - --source auto picks each device's block node first (the module keeps
#    the seed's block interface on 6.12; docs/architecture.md), and on the
#    same devices seen without their block nodes, DMABUF (buffer1, found by
#    an ATTACH probe) for the ADC and the DAC;
#  - unloads the module; the kernel log stays clean.
# A loss the device counted (the emulator fell behind) runs once more at a
# quarter of the rate, as guest-module.sh's streams do. Under a starved
# guest the module's generator can also be late by more than its 100 ms of
# slack: it then drops scans inside the block it is filling, a jump in the
# pattern that the DMABUF interface (no per-block header) cannot report;
# rx sees wrong bytes, and the device has counted the loss: such a run
# runs again slower too. Wrong bytes without a counted loss fail at once.
# One GUEST-OK/GUEST-FAIL line per check; exit status = failed checks.
fail=0
pass() { echo "GUEST-OK   dmabuf-stream: $* [$(cut -d" " -f1 /proc/uptime)s]"; }
bad() { echo "GUEST-FAIL dmabuf-stream: $*"; fail=$((fail + 1)); }
info() { echo "GUEST-INFO dmabuf-stream: $*"; }
kreports() { dmesg | grep -cE 'WARNING:|BUG:|Oops|Call Trace|general protection|UBSAN:|KASAN|list_add corruption|list_del corruption|refcount_t:'; }
json_field() { # FILE NAME: the number, or -1 when it is missing
	v=$(sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1" 2>/dev/null | tail -1)
	echo "${v:--1}"
}

kv=$(uname -r)
major=${kv%%.*}
minor=${kv#*.}
minor=${minor%%[!0-9]*}
if [ "$major" -lt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -lt 11 ]; }; then
	echo "GUEST-INFO dmabuf-stream: skipped: Linux $kv has no IIO DMABUF interface"
	exit 0
fi
[ -x /bin/iiostreamd ] && [ -x /bin/iiostream ] || { bad "no iiostreamd/iiostream in the guest"; exit 1; }
modprobe industrialio && modprobe kfifo_buf || bad "distro IIO modules"
rmmod iiostream_sim 2>/dev/null
reports0=$(kreports)
if ! modprobe iiostream_sim channels=2 dac=1; then
	bad "modprobe iiostream_sim channels=2 dac=1"
	exit $fail
fi
adc=/sys/bus/iio/devices/iio:device0
dac=/sys/bus/iio/devices/iio:device1
b1=$adc/buffer1

start_daemon() { # NAME ARGS...: iiostreamd on an ephemeral port; sets url, dpid
	name=$1
	shift
	rm -f /tmp/port
	iiostreamd "$@" --listen 127.0.0.1:0 --port-file /tmp/port >/tmp/daemon-$name.log 2>&1 &
	dpid=$!
	for i in $(seq 40); do
		[ -s /tmp/port ] && break
		sleep 0.25
	done
	url=tcp://127.0.0.1:$(sed -n 1p /tmp/port)
}
stop_daemon() { # sets dstatus
	kill -TERM $dpid
	wait $dpid
	dstatus=$?
}
wait_for() { # FILE VALUE: up to 10 s until FILE reads VALUE
	for i in $(seq 50); do
		[ "$(cat $1 2>/dev/null)" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
# blocks of 1/8 s of 2-channel scans at RATE, at most 256 KiB
block_bytes() {
	b=$(($1 / 8 * 4))
	b=$((b > 262144 ? 262144 : b))
	echo $((b > 4096 ? b : 4096))
}

# --- the EPERM path: buffer0 is a kfifo, without the DMABUF callbacks
timeout 30 iiostreamd --source dmabuf:iio:device0,buffer=0 --listen 127.0.0.1:0 \
	>/tmp/daemon-eperm.log 2>&1
st=$?
if [ $st != 0 ] && [ $st != 124 ] &&
	grep -q "iio:device0 (iiostream-sim) buffer0 has no DMABUF support (ATTACH: EPERM)" /tmp/daemon-eperm.log; then
	pass "dmabuf:iio:device0,buffer=0 refused (exit $st): $(grep 'EPERM' /tmp/daemon-eperm.log | head -1)"
else
	bad "dmabuf on buffer0: exit $st"; cat /tmp/daemon-eperm.log
fi

# --- EBUSY: a buffer another process streams is refused, naming it
start_daemon busy1 --source dmabuf:iiostream-sim
timeout 30 iiostreamd --source dmabuf:iio:device0,buffer=1 --listen 127.0.0.1:0 \
	>/tmp/daemon-busy2.log 2>&1
st=$?
stop_daemon
if [ $st != 0 ] && [ $st != 124 ] && [ $dstatus = 0 ] &&
	grep -q "iio:device0 (iiostream-sim) buffer1 is open elsewhere (EBUSY)" /tmp/daemon-busy2.log; then
	pass "a second daemon on the same buffer is refused (exit $st): $(grep 'EBUSY' /tmp/daemon-busy2.log | head -1)"
else
	bad "a second daemon on buffer1: exit $st, the first exited $dstatus"
	cat /tmp/daemon-busy2.log /tmp/daemon-busy1.log
fi

# --- capture: rx --verify through each transport
# cap_run NAME RATE SECS [DAEMON ARGS...]: sets f, rx_status, dstatus, lost_dev, blk
cap_run() {
	name=$1 rate=$2 secs=$3
	shift 3
	blk=$(block_bytes $rate)
	start_daemon $name --source dmabuf:iiostream-sim --rate $rate --block-size $blk "$@"
	f=/tmp/rx-$name.json
	iiostream rx --url $url --seconds $secs --verify --json --quiet $RX_ARGS >$f \
		2>/tmp/rx-$name.err
	rx_status=$?
	stop_daemon
	# buffer1's counters count from its enable, and keep their value after
	# the disable: the one capture of the run
	lost_dev=$(cat $b1/lost_scans)
	info "rx $name at $rate S/s: $(tail -1 $f); the device lost $lost_dev; daemon exit $dstatus"
}
cap_ok() { # NAME SECS BLOCKS: every byte, nothing lost, enough blocks, a clean exit
	n=$(( rate * 4 * $2 / blk / 4 ))
	[ $rx_status = 0 ] && grep -q '"verified":true' $f &&
		[ "$(json_field $f integrity_errors)" = 0 ] && [ "$(json_field $f lost_samples)" = 0 ] &&
		[ "$(json_field $f lost_blocks)" = 0 ] && [ "$(json_field $f blocks)" -ge $((n > 0 ? n : 1)) ] &&
		[ $dstatus = 0 ] && grep -q "source dmabuf: /dev/iio:device0 buffer1 (iiostream-sim, capture" /tmp/daemon-$1.log &&
		grep -q "stopped: .* $3 of $3 blocks back in the source" /tmp/daemon-$1.log
}
# cap_check NAME BLOCKS [DAEMON ARGS...]: cap_run, slower while the device counted a loss
cap_check() {
	cc_name=$1 cc_blocks=$2
	shift 2
	cc_rate=1000000
	while :; do
		cap_run $cc_name $cc_rate 3 --blocks $cc_blocks "$@"
		cap_ok $cc_name 3 $cc_blocks && return 0
		[ $lost_dev -gt 0 ] && [ $cc_rate -gt 25000 ] || return 1
		info "$cc_name: the guest fell behind $cc_rate S/s ($lost_dev scans lost); once more at $((cc_rate / 4))"
		cc_rate=$((cc_rate / 4))
	done
}
for t in copy zerocopy sendfile; do
	if [ $t = copy ]; then
		cap_check dmabuf-$t 8 --transport copy
	else
		cap_check dmabuf-$t 16 --transport $t --client-queue 8
	fi
	if [ $? = 0 ]; then
		pass "iiostreamd --source dmabuf:iiostream-sim --transport $t -> rx --verify at $rate S/s: $(json_field $f blocks) blocks, every byte verified, nothing lost, exit 0 with every block back"
	else
		bad "dmabuf capture, --transport $t"; cat /tmp/rx-dmabuf-$t.err /tmp/daemon-dmabuf-$t.log
	fi
done
# rx picks one channel of two: buffer1's scan elements, half the bytes
RX_ARGS="--channels voltage1" cap_run pick 250000 2 --blocks 8
if [ $rx_status = 0 ] && [ "$(json_field $f integrity_errors)" = 0 ] &&
	[ "$(json_field $f lost_samples)" = 0 ] && [ "$(json_field $f blocks)" -gt 0 ] &&
	grep -q "channels voltage1$" /tmp/daemon-pick.log && [ $dstatus = 0 ]; then
	pass "rx --channels voltage1 through dmabuf: buffer1's elements, $(json_field $f blocks) blocks verified"
else
	bad "channel pick through dmabuf (rx $rx_status, daemon $dstatus)"
	cat /tmp/rx-pick.err /tmp/daemon-pick.log
fi
grep -q "blocks from udmabuf" /tmp/daemon-dmabuf-copy.log && pass "blocks are udmabufs over memfds" ||
	bad "blocks not from udmabuf: $(grep 'source dmabuf' /tmp/daemon-dmabuf-copy.log)"

# --- no /dev/udmabuf: blocks from the system heap, copying transports only
if [ -c /dev/dma_heap/system ] && mv /dev/udmabuf /dev/udmabuf.off; then
	cap_run heap 250000 2 --blocks 8 --transport copy
	heap_ok=0
	[ $rx_status = 0 ] && [ "$(json_field $f integrity_errors)" = 0 ] &&
		[ "$(json_field $f blocks)" -gt 0 ] && [ $dstatus = 0 ] &&
		grep -q "blocks from the dma-heap" /tmp/daemon-heap.log &&
		grep -q "no /dev/udmabuf: blocks from /dev/dma_heap/system" /tmp/daemon-heap.log && heap_ok=1
	timeout 30 iiostreamd --source dmabuf:iiostream-sim --transport sendfile --listen 127.0.0.1:0 \
		>/tmp/daemon-heap-sf.log 2>&1
	st=$?
	# nor can MSG_ZEROCOPY pin the heap's PFNMAP pages: refused too
	timeout 30 iiostreamd --source dmabuf:iiostream-sim --transport zerocopy --listen 127.0.0.1:0 \
		>/tmp/daemon-heap-zc.log 2>&1
	zst=$?
	mv /dev/udmabuf.off /dev/udmabuf
	if [ $heap_ok = 1 ] && [ $st != 0 ] && [ $st != 124 ] && [ $zst != 0 ] && [ $zst != 124 ] &&
		grep -q "transport sendfile: the dmabuf source's blocks are not file pages" /tmp/daemon-heap-sf.log &&
		grep -q "transport zerocopy: .*cannot be pinned" /tmp/daemon-heap-zc.log; then
		pass "without /dev/udmabuf: heap blocks, rx --verify $(json_field $f blocks) blocks over copy; --transport sendfile and zerocopy refused: $(grep 'cannot be pinned' /tmp/daemon-heap-zc.log)"
	else
		bad "the system heap's blocks (rx $rx_status, daemon $dstatus; sendfile exit $st, zerocopy exit $zst)"
		cat /tmp/rx-heap.err /tmp/daemon-heap.log /tmp/daemon-heap-sf.log /tmp/daemon-heap-zc.log
	fi
else
	info "no /dev/dma_heap/system (arm64's Debian kernel): the heap path is not tried"
fi

# --- a rate the emulator cannot carry: drops arrive as counted gaps
# (a generator late by more than 100 ms drops inside a block, which shows
# as wrong bytes: up to three runs for one without)
for i in 1 2 3; do
	cap_run overflow 50000000 2 --blocks 4 --transport copy
	lost=$(json_field $f lost_samples)
	# the client also loses the blocks the daemon skipped for it
	bound=$((lost_dev + $(json_field $f lost_blocks) * (blk / 4)))
	[ "$(json_field $f integrity_errors)" = 0 ] && break
done
if [ "$(json_field $f integrity_errors)" = 0 ] && [ "$lost" -gt 0 ] && [ "$lost" -le "$bound" ] &&
	[ "$(json_field $f overflow_blocks)" -gt 0 ] && [ $dstatus = 0 ]; then
	pass "device drops reach the client as counted gaps: $(json_field $f overflow_blocks) flagged blocks, $lost scans lost (the device counted $lost_dev + skips), 0 integrity errors"
else
	bad "overflow through dmabuf: rx lost $lost, bound $bound, exit $dstatus"
	cat /tmp/rx-overflow.err /tmp/daemon-overflow.log
fi

# --- the DAC through DMABUF, into its loopback, captured through DMABUF
# tx_once RATE BLOCKS: sets tx_ok, tx_info, tx_lost
tx_once() {
	rate=$1 nblk=$2 blk=$(block_bytes $1)
	start_daemon tx --source dmabuf:iio:device0 --source dmabuf:iio:device1 --rate $rate \
		--block-size $blk --blocks 16
	tx_ok=1 tx_info=
	grep -q "output dmabuf: iiostream-sim-dac (iio:device1)" /tmp/daemon-tx.log ||
		{ tx_ok=0 tx_info="$tx_info no dmabuf output stream for iio:device1;"; }
	iiostream attr set --device iio:device1 loopback 1 --url $url >/tmp/attr-tx.txt 2>&1
	[ "$(cat $dac/loopback)" = 1 ] ||
		{ tx_ok=0 tx_info="$tx_info loopback not set ($(cat /tmp/attr-tx.txt));"; }
	secs=$((nblk * blk / 4 / rate + 5))
	iiostream rx --url $url --device iio:device0 --verify-loopback --seconds $secs \
		--json --quiet >/tmp/rx-tx.json 2>/tmp/rx-tx.err &
	rpid=$!
	wait_for $b1/enable 1 && sleep 0.5
	iiostream tx --url $url --device iio:device1 --pattern --blocks $nblk --json \
		--quiet >/tmp/tx.json 2>/tmp/tx.err
	tx_status=$?
	wait_for $dac/buffer1/enable 0
	wait $rpid; rx_status=$?
	stop_daemon
	# since their enable (kept after the disable): this run's
	tx_lost=$(($(cat $b1/lost_scans) + $(json_field /tmp/tx.json underflows)))
	echo 0 >$dac/loopback
	want=$((nblk * blk / 4))
	f=/tmp/rx-tx.json
	tx_info="$tx_info rx: $(json_field $f matched) of $want pattern scans from index $(json_field $f first_index), $(json_field $f gaps) gaps, $(json_field $f errors) errors; tx: $(json_field /tmp/tx.json blocks_played) blocks played, $(json_field /tmp/tx.json underflows) underflows; DAC buffer1/underflows $(cat $dac/buffer1/underflows) (the dry spell after the last block included); ADC lost or tx underflowed $tx_lost; daemon exit $dstatus"
	[ $rx_status = 0 ] && grep -q '"verified":true' $f && [ "$(json_field $f matched)" = $want ] &&
		[ "$(json_field $f first_index)" = 0 ] && [ "$(json_field $f gaps)" = 0 ] &&
		[ "$(json_field $f errors)" = 0 ] || tx_ok=0
	[ $tx_status = 0 ] && [ "$(json_field /tmp/tx.json underflows)" = 0 ] &&
		[ "$(json_field /tmp/tx.json blocks_played)" = $nblk ] || tx_ok=0
	[ $dstatus = 0 ] && grep -q "iiostream-sim-dac: closed: .* 16 of 16 blocks free" /tmp/daemon-tx.log ||
		tx_ok=0
}
tx_rate=250000 tx_runs=0
while :; do
	tx_once $tx_rate 24
	tx_runs=$((tx_runs + 1))
	[ $tx_ok = 1 ] && break
	info "tx at $tx_rate S/s:$tx_info"
	[ $tx_runs -lt 3 ] || break
	# a counted loss (a starved guest): slower; anything else fails
	if [ $tx_lost -gt 0 ] && [ $tx_rate -gt 25000 ]; then
		tx_rate=$((tx_rate / 4))
	else
		break
	fi
done
if [ $tx_ok = 1 ]; then
	pass "iiostream tx --pattern -> iiostreamd -> DAC buffer1 (DMABUF) -> loopback -> ADC buffer1 (DMABUF) -> rx --verify-loopback at $tx_rate S/s:$tx_info"
else
	bad "tx through the DAC's DMABUF buffer at $tx_rate S/s:$tx_info"
	cat /tmp/rx-tx.err /tmp/tx.err /tmp/rx-tx.json /tmp/tx.json /tmp/daemon-tx.log
fi

# --- --no-drain: the DAC stops with blocks queued, which come back
# unplayed (cancelled by the disable); the next tx plays through the whole
# ring; a CYCLIC block loops until tx stops it
nd_blk=$(block_bytes $tx_rate)
start_daemon nodrain --source dmabuf:iio:device1 --source dmabuf:iio:device0 --rate $tx_rate \
	--block-size $nd_blk --blocks 8
iiostream tx --url $url --device iiostream-sim-dac --pattern --blocks 12 --no-drain --json \
	--quiet >/tmp/tx-nd.json 2>/tmp/tx-nd.err
nd1=$?
iiostream tx --url $url --device iio:device1 --pattern --blocks 6 --json --quiet \
	>/tmp/tx-nd2.json 2>/tmp/tx-nd2.err
nd2=$?
iiostream tx --url $url --device iio:device1 --pattern --cyclic --duration 1 --json \
	--quiet >/tmp/tx-cyc.json 2>/tmp/tx-cyc.err
cyc=$?
stop_daemon
if [ $nd1 = 0 ] && [ $nd2 = 0 ] && [ $dstatus = 0 ] &&
	grep -q "source dmabuf: /dev/iio:device1 buffer1: [0-9]* queued blocks back unplayed" /tmp/daemon-nodrain.log &&
	[ "$(json_field /tmp/tx-nd2.json blocks_played)" = 6 ] &&
	grep -q "iiostream-sim-dac: closed: .* 8 of 8 blocks free" /tmp/daemon-nodrain.log; then
	pass "tx --no-drain through DMABUF: $(grep -o "[0-9]* queued blocks back unplayed" /tmp/daemon-nodrain.log | head -1); the next tx plays 6 blocks ($(json_field /tmp/tx-nd2.json underflows) underflows); exit 0, 8 of 8 DAC blocks free"
else
	bad "tx --no-drain, then tx, through DMABUF: exits $nd1 $nd2, daemon $dstatus"
	cat /tmp/tx-nd.json /tmp/tx-nd.err /tmp/tx-nd2.json /tmp/tx-nd2.err /tmp/daemon-nodrain.log
fi
if [ $cyc = 0 ] && grep -q '"cyclic":true' /tmp/tx-cyc.json &&
	[ "$(json_field /tmp/tx-cyc.json underflows)" = 0 ]; then
	pass "tx --cyclic through DMABUF (IIO_BUFFER_DMABUF_CYCLIC): one block looped for 1 s, $(json_field /tmp/tx-cyc.json samples_played) scans played, no underflow"
else
	bad "tx --cyclic through DMABUF (exit $cyc)"; cat /tmp/tx-cyc.json /tmp/tx-cyc.err
fi

# --- auto: the block node first, where the device has one
start_daemon auto --source auto --rate 100000
stop_daemon
if grep -q "source auto: kernel:/dev/iio_block0" /tmp/daemon-auto.log &&
	grep -q "source auto: kernel:/dev/iio_block1" /tmp/daemon-auto.log && [ $dstatus = 0 ]; then
	pass "--source auto takes each device's block node first: $(grep 'source auto: ' /tmp/daemon-auto.log | sed 's/.*source auto: //' | tr '\n' ' ')"
else
	bad "--source auto (exit $dstatus)"; cat /tmp/daemon-auto.log
fi

# --- auto on a board without block nodes (a mainline 6.11+ kernel's): the
# same devices seen through a copy of /sys/bus/iio/devices without the
# module's block_device attributes (symlinks to the real attributes,
# bind-mounted over the directory): auto probes each buffer with an ATTACH
# and picks buffer1 for both the ADC and the DAC, and the ADC streams
rm -rf /tmp/iiofake && mkdir /tmp/iiofake
for d in /sys/bus/iio/devices/*; do
	e=${d##*/}
	real=$(readlink -f $d)
	case $e in
	iio:device0 | iio:device1)
		mkdir /tmp/iiofake/$e
		for a in $real/*; do
			[ "${a##*/}" = block_device ] || ln -s $a /tmp/iiofake/$e/${a##*/}
		done
		;;
	*) ln -s $real /tmp/iiofake/$e ;;
	esac
done
if mount --bind /tmp/iiofake /sys/bus/iio/devices; then
	start_daemon autodmabuf --source auto --rate 250000 --block-size $(block_bytes 250000) --blocks 8
	f=/tmp/rx-autodmabuf.json
	iiostream rx --url $url --device iio:device0 --seconds 2 --verify --json --quiet >$f \
		2>/tmp/rx-autodmabuf.err
	rx_status=$?
	stop_daemon
	umount /sys/bus/iio/devices
	if grep -q "source auto: dmabuf:iio:device0,buffer=1" /tmp/daemon-autodmabuf.log &&
		grep -q "source auto: dmabuf:iio:device1,buffer=1" /tmp/daemon-autodmabuf.log &&
		grep -q "output dmabuf: iiostream-sim-dac (iio:device1)" /tmp/daemon-autodmabuf.log &&
		[ $rx_status = 0 ] && [ "$(json_field $f integrity_errors)" = 0 ] &&
		[ "$(json_field $f blocks)" -gt 0 ] && [ $dstatus = 0 ]; then
		pass "--source auto without block nodes: $(grep 'source auto: dmabuf' /tmp/daemon-autodmabuf.log | sed 's/.*source auto: //' | tr '\n' ' ')(the DAC an output stream); rx --verify: $(json_field $f blocks) blocks, 0 integrity errors"
	else
		bad "--source auto without block nodes (rx $rx_status, daemon $dstatus)"
		cat /tmp/rx-autodmabuf.err $f /tmp/daemon-autodmabuf.log
	fi
else
	bad "mount --bind over /sys/bus/iio/devices"
fi

if rmmod iiostream_sim; then
	pass "rmmod iiostream_sim: nothing of the daemon's held the module"
else
	bad "rmmod iiostream_sim: $(lsmod | grep iiostream)"
fi
reports=$(kreports)
if [ "$reports" = "$reports0" ]; then
	pass "the kernel log stayed clean"
else
	bad "the kernel log has $((reports - reports0)) new report(s)"
	dmesg | tail -40
fi
exit $fail
