# SPDX-License-Identifier: MIT
# Sourced by tests/module/guest-module.sh in the same guest boot, after the
# module was unloaded (run.sh adds it as /guest-tx.sh): iiostreamd
# transmits through the module's DAC (dac=1). It uses that script's pass,
# bad, json_field and slower, and adds its failures to $fail.
#  - one iiostreamd, --source auto: the ADC (iio:device0) streams, the DAC
#    (iio:device1, its block node's direction "out") is an output stream;
#  - the DAC's loopback switched on through the daemon (iiostream attr on
#    the DAC's id: libiio's local context), then `iiostream tx --pattern`
#    into the DAC while `iiostream rx --verify-loopback` receives the ADC:
#    the whole pattern, in order, no gap, and tx reports no underflow;
#  - a second tx meanwhile is refused (EBUSY, naming the owner), and
#    `iiostream stats` shows the TX stream and its owner;
#  - tx --no-drain stops with blocks still queued in the node: the kernel
#    source takes them back (the node's disable keeps its queue), and the
#    next tx plays through the whole ring again; a CYCLIC block loops;
#    the daemon exits 0 with every block of both rings free;
#  - `--source kernel` without a node takes the ADC's node, never the DAC's.
# Under TCG a slow guest can underflow the DAC or overflow the ADC; a run
# that failed with such a loss counted runs once more at a quarter of the
# rate (slower()), as guest-module.sh's streams do, and at the slowest rate
# once more (four runs at most). A wrong scan never runs again.

tx_blk=/sys/class/iio_block/iio_block1
tx_adc_blk=/sys/class/iio_block/iio_block0
tx_dac=/sys/bus/iio/devices/iio:device1

tx_wait() { # FILE VALUE: up to 10 s until FILE reads VALUE
	for i in $(seq 50); do
		[ "$(cat $1 2>/dev/null)" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

tx_start_daemon() { # NAME DAEMON ARGS...: iiostreamd on ephemeral ports; sets tx_url, tx_dpid
	name=$1
	shift
	rm -f /tmp/port
	iiostreamd "$@" --listen 127.0.0.1:0 --port-file /tmp/port >/tmp/daemon-$name.log 2>&1 &
	tx_dpid=$!
	for i in $(seq 40); do
		[ -s /tmp/port ] && break
		sleep 0.25
	done
	tx_url=tcp://127.0.0.1:$(sed -n 1p /tmp/port)
}

# tx_block_bytes RATE: blocks of 1/8 s (whole 4-byte scans), at most 128 KiB:
# the run plays in a few seconds at any rate of the ladder, and 16 blocks
# give the ADC 2 s of slack, the DAC's prefill (half the ring) 1 s.
tx_block_bytes() {
	b=$(($1 / 8 * 4))
	echo $((b > 131072 ? 131072 : b))
}

# tx_once RATE BLOCKS: the loopback run; sets tx_ok, tx_info, tx_lost
tx_once() {
	rate=$1 nblk=$2 blk=$(tx_block_bytes $1)
	tx_start_daemon tx --source auto --rate $rate --block-size $blk --blocks 16
	tx_ok=1 tx_info=
	grep -q "output .*iio:device1" /tmp/daemon-tx.log ||
		{ tx_ok=0 tx_info="$tx_info no output stream for iio:device1;"; }
	# the DAC's loopback through the daemon: libiio's local context
	iiostream attr set --device iio:device1 loopback 1 --url $tx_url >/tmp/attr-tx.txt 2>&1
	[ "$(cat $tx_dac/loopback)" = 1 ] ||
		{ tx_ok=0 tx_info="$tx_info loopback not set ($(cat /tmp/attr-tx.txt));"; }
	lost0=$(cat $tx_adc_blk/lost_samples)
	# the playing time, and the time to start both clients
	secs=$((nblk * blk / 4 / rate + 5))
	iiostream rx --url $tx_url --device iio:device0 --verify-loopback --seconds $secs \
		--json --quiet >/tmp/rx-tx.json 2>/tmp/rx-tx.err &
	rpid=$!
	# silence first: the capture runs before the transmission starts
	tx_wait $tx_adc_blk/enable 1 && sleep 0.5
	iiostream tx --url $tx_url --device iio:device1 --pattern --blocks $nblk --json \
		--quiet >/tmp/tx.json 2>/tmp/tx.err &
	tpid=$!
	# while it plays: a second transmitter is refused, stats show the owner
	tx_wait $tx_blk/enable 1 || tx_info="$tx_info the DAC never played;"
	iiostream stats --url $tx_url >/tmp/stats-tx.txt 2>&1
	iiostream tx --url $tx_url --device iio:device1 --pattern --blocks 1 --quiet \
		>/tmp/tx2.out 2>/tmp/tx2.err
	tx2=$?
	iiostream info --url $tx_url >/tmp/info-tx.txt 2>&1
	wait $tpid; tx_status=$?
	wait $rpid; rx_status=$?
	# what the emulator's speed can cost: the ADC's lost scans, the
	# underflows tx was told of (the node also counts the dry spell after
	# the last block, which the daemon does not report: no underflow)
	tx_lost=$(($(cat $tx_adc_blk/lost_samples) - lost0 + $(json_field /tmp/tx.json underflows)))
	kill -TERM $tx_dpid
	wait $tx_dpid; d=$?
	echo 0 >$tx_dac/loopback
	want=$((nblk * blk / 4))
	f=/tmp/rx-tx.json
	tx_info="$tx_info rx: $(json_field $f matched) of $want pattern scans from index $(json_field $f first_index), $(json_field $f silent_before) silent before, $(json_field $f gaps) gaps, $(json_field $f errors) errors; tx: $(json_field /tmp/tx.json blocks_played) blocks played, $(json_field /tmp/tx.json underflows) underflows, $(json_field /tmp/tx.json mbytes_per_s) MB/s; ADC lost or tx underflowed $tx_lost; daemon exit $d"
	[ $rx_status = 0 ] && grep -q '"verified":true' $f && [ "$(json_field $f matched)" = $want ] &&
		[ "$(json_field $f first_index)" = 0 ] && [ "$(json_field $f gaps)" = 0 ] &&
		[ "$(json_field $f errors)" = 0 ] || tx_ok=0
	[ $tx_status = 0 ] && [ "$(json_field /tmp/tx.json underflows)" = 0 ] &&
		[ "$(json_field /tmp/tx.json blocks_played)" = $nblk ] || tx_ok=0
	[ $d = 0 ] || tx_ok=0
}

if [ -x /bin/iiostreamd ] &&
	modprobe iiostream_sim channels=2 dac=1 max_block_size=4194304 max_alloc_bytes=33554432; then
	# a busy host can starve the guest for longer than any slack (the
	# ADC counts what its thread could not capture in time): a loss that
	# was counted runs again, slower, then once more at the slowest rate
	tx_rate=250000 tx_runs=0
	while :; do
		tx_once $tx_rate 24
		tx_runs=$((tx_runs + 1))
		[ $tx_ok = 1 ] && break
		echo "GUEST-INFO tx at $tx_rate S/s:$tx_info"
		if ! slower "tx through the DAC" $tx_rate $tx_lost; then
			[ $tx_runs -lt 4 ] && [ $tx_lost -gt 0 ] || break
			echo "GUEST-INFO tx through the DAC: $tx_lost scans lost or underflowed at $tx_rate S/s again; once more"
		else
			tx_rate=$((tx_rate / 4))
		fi
	done
	if [ $tx_ok = 1 ]; then
		pass "iiostream tx --pattern -> iiostreamd -> module DAC -> loopback -> ADC -> rx --verify-loopback at $tx_rate S/s, the whole pattern, no gap, no underflow:$tx_info"
	else
		bad "tx through the module's DAC at $tx_rate S/s:$tx_info"
		sed 's/WARNING/warning/' /tmp/rx-tx.err /tmp/tx.err /tmp/rx-tx.json /tmp/tx.json /tmp/daemon-tx.log
	fi
	if [ $tx2 != 0 ] && grep -q "iio:device1.*is being transmitted to by client [0-9]* (127.0.0.1:" /tmp/tx2.err; then
		pass "a second tx meanwhile is refused: $(cat /tmp/tx2.err)"
	else
		bad "a second tx meanwhile: exit $tx2"; cat /tmp/tx2.out /tmp/tx2.err
	fi
	if grep -q "tx stream [0-9]* iiostream-sim-dac \[iio:device1\]: .*transmitting for client" /tmp/stats-tx.txt &&
		grep -q "output: transmitted to by this server" /tmp/info-tx.txt; then
		pass "iiostream stats shows the TX stream and its owner: $(grep "tx stream" /tmp/stats-tx.txt)"
	else
		bad "stats/info of the TX stream"; cat /tmp/stats-tx.txt /tmp/info-tx.txt
	fi

	# --no-drain: the device stops with blocks queued in the node, which
	# the source takes back; the ring is whole for the next transmission
	tx_start_daemon nodrain --source kernel:/dev/iio_block0 --source kernel:/dev/iio_block1 \
		--rate $tx_rate --block-size $(tx_block_bytes $tx_rate) --blocks 8
	iiostream tx --url $tx_url --device iiostream-sim-dac --pattern --blocks 12 --no-drain \
		--json --quiet >/tmp/tx-nd.json 2>/tmp/tx-nd.err
	nd1=$?
	iiostream tx --url $tx_url --device iio:device1 --pattern --blocks 6 --json --quiet \
		>/tmp/tx-nd2.json 2>/tmp/tx-nd2.err
	nd2=$?
	# CYCLIC through the node: one block loops until tx stops it
	iiostream tx --url $tx_url --device iio:device1 --pattern --cyclic --duration 1 --json \
		--quiet >/tmp/tx-cyc.json 2>/tmp/tx-cyc.err
	cyc=$?
	kill -TERM $tx_dpid
	wait $tx_dpid; d=$?
	if [ $cyc = 0 ] && grep -q '"cyclic":true' /tmp/tx-cyc.json &&
		[ "$(json_field /tmp/tx-cyc.json underflows)" = 0 ]; then
		pass "tx --cyclic: one block looped for 1 s, $(json_field /tmp/tx-cyc.json samples_played) scans played, no underflow"
	else
		bad "tx --cyclic (exit $cyc)"; cat /tmp/tx-cyc.json /tmp/tx-cyc.err
	fi
	if [ $nd1 = 0 ] && [ $nd2 = 0 ] && [ $d = 0 ] &&
		grep -q "queued blocks taken back unplayed" /tmp/daemon-nodrain.log &&
		[ "$(json_field /tmp/tx-nd2.json blocks_played)" = 6 ] &&
		grep -q "iiostream-sim-dac: closed: .* 8 of 8 blocks free" /tmp/daemon-nodrain.log; then
		pass "tx --no-drain: $(grep -o "[0-9]* queued blocks taken back unplayed" /tmp/daemon-nodrain.log | head -1); the next tx plays 6 blocks ($(json_field /tmp/tx-nd2.json underflows) underflows); exit 0, 8 of 8 DAC blocks free"
	else
		bad "tx --no-drain, then tx: exits $nd1 $nd2, daemon $d"
		cat /tmp/tx-nd.json /tmp/tx-nd.err /tmp/tx-nd2.json /tmp/tx-nd2.err /tmp/daemon-nodrain.log
	fi

	# an unnamed kernel source is a capturing node
	tx_start_daemon kernel --source kernel --block-size 4096 --blocks 4
	kill -TERM $tx_dpid
	wait $tx_dpid; d=$?
	if [ $d = 0 ] && grep -q "source kernel: /dev/iio_block0 (iiostream-sim," /tmp/daemon-kernel.log &&
		! grep -q "iio_block1" /tmp/daemon-kernel.log; then
		pass "--source kernel takes the ADC's node, not the DAC's"
	else
		bad "--source kernel with a DAC loaded (exit $d)"; cat /tmp/daemon-kernel.log
	fi
	rmmod iiostream_sim && pass "rmmod (tx)" || bad "rmmod (tx)"
elif [ -x /bin/iiostreamd ]; then
	bad "modprobe iiostream_sim dac=1 (tx)"
fi
