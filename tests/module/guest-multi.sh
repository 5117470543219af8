# SPDX-License-Identifier: MIT
# Sourced by tests/module/guest-module.sh in the same guest boot, after it
# has unloaded the module (run.sh adds it as /guest-multi.sh): the module's
# ADCs as a real board's. It uses that script's pass, bad, json_field,
# block_bytes and slower, and adds its failures to $fail.
#  - devices=2: two IIO devices, two block nodes, two triggers;
#  - the triggers: none current at load, trigger/current_trigger takes the
#    device's own and refuses the other's, libiio sets it (iio_readdev -t)
#    and reads it (iio_info), locally and through Debian's iiod (GETTRIG,
#    SETTRIG); a current trigger holds the module (IIO core), unbind with
#    one current tears down cleanly;
#  - direct_reg_access through Debian's iio_attr -D: the ID register, a
#    scratch register round trip per device, an address past the file;
#  - both devices streamed at once by one iiostreamd (a --source each), to
#    rx --device on each and iio_readdev through its iiod port, every byte
#    verified;
#  - the trigger and debug-register round trips through iiostreamd's iiod
#    port.

multi_reg() { # IIO_DEVICE_ID ADDR [VALUE]: through iio_attr -D, write VALUE to
	# register ADDR or only select ADDR, then print what it reads there
	# (libiio 0.24's iio_attr prints nothing of a debug attribute with -q;
	# without it, one attribute of one device is its value alone)
	iio_attr -u local: -D "$1" direct_reg_access "$2${3:+ $3}" >/dev/null 2>&1
	iio_attr -u local: -D "$1" direct_reg_access 2>&1 | tail -1
}

if modprobe iiostream_sim devices=2 channels=2 max_block_size=4194304 max_alloc_bytes=33554432; then
	pass "modprobe iiostream_sim devices=2"
else
	bad "modprobe iiostream_sim devices=2"
fi
m_ok=1
for n in 0 1; do
	d=$(cat /sys/class/iio_block/iio_block$n/iio_device 2>/dev/null)
	[ -c /dev/iio_block$n ] && [ "$d" = "iio:device$n" ] &&
		[ "$(cat /sys/bus/iio/devices/iio:device$n/block_device)" = "iio_block$n" ] || m_ok=0
done
[ $m_ok = 1 ] && pass "devices=2: iio:device0/iio_block0 and iio:device1/iio_block1" ||
	{ bad "devices=2: nodes"; ls -l /dev/iio_block* /sys/bus/iio/devices/; }
iio0=/sys/bus/iio/devices/iio:device0
iio1=/sys/bus/iio/devices/iio:device1

# ---- triggers ----
trig_names=$(cat /sys/bus/iio/devices/trigger*/name 2>/dev/null | sort | paste -sd' ' -)
if [ "$trig_names" = "iiostream-sim-dev0 iiostream-sim-dev1" ] &&
	iio_info 2>/dev/null | grep -q "trigger[0-9]*: iiostream-sim-dev1"; then
	pass "a trigger per ADC: $trig_names (libiio lists them)"
else
	bad "triggers: '$trig_names'"; iio_info 2>&1 | grep -i trigger
fi
cur0=$(cat $iio0/trigger/current_trigger 2>&1)
[ -z "$cur0" ] && pass "no current trigger at load" || bad "current_trigger at load: '$cur0'"
echo iiostream-sim-dev0 >$iio0/trigger/current_trigger
cur0=$(cat $iio0/trigger/current_trigger)
if echo iiostream-sim-dev1 >$iio0/trigger/current_trigger 2>/dev/null; then
	bad "iio:device0 accepted iiostream-sim-dev1"
elif [ "$cur0" = iiostream-sim-dev0 ] && [ "$(cat $iio0/trigger/current_trigger)" = iiostream-sim-dev0 ] &&
	iio_info 2>/dev/null | grep -q "Current trigger: trigger[0-9]*(iiostream-sim-dev0)"; then
	pass "current_trigger takes the device's own trigger (libiio reads it back) and refuses the other ADC's"
else
	bad "current_trigger: set '$cur0', now '$(cat $iio0/trigger/current_trigger)'"
	iio_info 2>&1 | grep -i trigger
fi
# A current trigger holds its module (the IIO core's reference), so the
# module stays while one is set.
if rmmod iiostream_sim 2>/dev/null; then
	bad "rmmod with a current trigger"
	modprobe iiostream_sim devices=2 channels=2
else
	pass "rmmod refused while a trigger is current"
fi
# libiio sets a trigger (iio_readdev -t: iio_device_set_trigger), and the
# kfifo streams with it, data verified
echo 100000 >$iio1/sampling_frequency
if iio_readdev -u local: -t iiostream-sim-dev1 -T 5000 -b 4096 -s 16384 iio:device1 >/tmp/trig.bin 2>/tmp/trig.err &&
	/bin/iio_block_compliance --verify-stdin 2 </tmp/trig.bin >/tmp/trig.v 2>&1; then
	pass "iio_readdev -t iiostream-sim-dev1: 16384 scans verify, current_trigger now '$(cat $iio1/trigger/current_trigger)'"
else
	bad "iio_readdev -t iiostream-sim-dev1"; sed 's/WARNING/warning/' /tmp/trig.err /tmp/trig.v
fi
# The same through Debian's iiod (its GETTRIG and SETTRIG commands): what
# iiostreamd's iiod port answers too.
if [ -x /usr/sbin/iiod ]; then
	iiod >/tmp/iiod-multi.log 2>&1 &
	iiod_pid=$!
	# listening on port 30431 (0x76DF): state 0A, not guest-module.sh's
	# iiod's connections still in TIME_WAIT
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		grep -Eq ":76DF [0-9A-F]+:0000 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null && break
		sleep 0.5
	done
	rm -f /tmp/trig.err /tmp/trig.v
	get=$(iio_info -u ip:127.0.0.1 2>&1 | grep -c "Current trigger: trigger[0-9]*(iiostream-sim-dev[01])")
	echo >$iio1/trigger/current_trigger
	if [ "$get" = 2 ] &&
		iio_readdev -u ip:127.0.0.1 -t iiostream-sim-dev1 -T 5000 -b 4096 -s 16384 iio:device1 >/tmp/trig.bin 2>/tmp/trig.err &&
		/bin/iio_block_compliance --verify-stdin 2 </tmp/trig.bin >/tmp/trig.v 2>&1 &&
		[ "$(cat $iio1/trigger/current_trigger)" = iiostream-sim-dev1 ]; then
		pass "through iiod: GETTRIG reads both devices' triggers, SETTRIG (iio_readdev -t) sets one, and its 16384 scans verify"
	else
		bad "iiod GETTRIG/SETTRIG: $get current triggers read, current_trigger '$(cat $iio1/trigger/current_trigger)'"
		# (libiio's "WARNING: High-speed mode..." would read as a kernel's)
		cat /tmp/trig.err /tmp/trig.v /tmp/iiod-multi.log | sed 's/WARNING/warning/'
	fi
	kill -KILL $iiod_pid; wait $iiod_pid 2>/dev/null # as guest-module.sh: no Avahi here
fi
[ "$(cat $iio1/trigger/current_trigger)" = iiostream-sim-dev1 ] ||
	echo iiostream-sim-dev1 >$iio1/trigger/current_trigger
# unbind with a current trigger: the trigger goes with the device, and
# comes back with it
drv=/sys/bus/platform/drivers/iiostream-sim
echo iiostream-sim.1 >$drv/unbind
t_after=$(cat /sys/bus/iio/devices/trigger*/name 2>/dev/null | paste -sd' ' -)
echo iiostream-sim.1 >$drv/bind
if [ "$t_after" = iiostream-sim-dev0 ] && [ -c /dev/iio_block1 ] &&
	[ "$(cat /sys/bus/iio/devices/iio:device1/trigger/current_trigger)" = "" ] &&
	[ "$(cat /sys/bus/iio/devices/trigger*/name | sort | paste -sd' ' -)" = "iiostream-sim-dev0 iiostream-sim-dev1" ]; then
	pass "unbind with its trigger current removes the trigger; bind brings both back"
else
	bad "unbind/bind: triggers after unbind '$t_after'"; ls /sys/bus/iio/devices/
fi
echo >$iio0/trigger/current_trigger
[ -z "$(cat $iio0/trigger/current_trigger)" ] && pass "current_trigger cleared" ||
	bad "current_trigger not cleared"

# ---- direct_reg_access through iio_attr -D (libiio's debug attributes) ----
if iio_attr -u local: -D iio:device0 2>&1 | grep -q direct_reg_access; then
	pass "iio_attr -D lists direct_reg_access"
else
	bad "iio_attr -D: no direct_reg_access"; iio_attr -u local: -D iio:device0 2>&1
fi
id=$(multi_reg iio:device0 0x0)
idx1=$(multi_reg iio:device1 0x2)
[ "$id" = 0x494F5353 ] && [ "$idx1" = 0x1 ] &&
	pass "ID register 0x0 = $id, index register 0x2 of iio:device1 = $idx1" ||
	bad "ID register '$id', index of iio:device1 '$idx1'"
w=$(multi_reg iio:device0 0x9 0x12345678)
r0=$(multi_reg iio:device0 0x9)
r1=$(multi_reg iio:device1 0x9)
if [ "$w" = 0x12345678 ] && [ "$r0" = 0x12345678 ] && [ "$r1" = 0x0 ]; then
	pass "scratch register 0x9: wrote 0x12345678, read $r0 back; iio:device1's own reads $r1"
else
	bad "scratch register: write -> '$w', read '$r0', iio:device1 '$r1'"
fi
oor=$(multi_reg iio:device0 0x10)
dbg=/sys/kernel/debug/iio/iio:device0/direct_reg_access
if echo "$oor" | grep -q "Invalid argument" && ! cat $dbg >/dev/null 2>&1 &&
	! echo "0x0 0x1" >$dbg 2>/dev/null && [ "$(multi_reg iio:device0 0x0)" = 0x494F5353 ]; then
	pass "address 0x10 is EINVAL ($oor), the ID register refuses a write"
else
	bad "out-of-range/read-only: 0x10 reads '$oor'"
fi

# ---- both devices streamed at once, by one daemon ----
# One iiostreamd with a --source for each node; an rx --verify on each
# device (--device, by its IIO id) and iio_readdev on the second through
# the daemon's iiod port, all at the same time; the STATUS registers (0x5)
# of both read "block path on" at one moment.
multi_reg_direct() { # N ADDR: register ADDR of iio:deviceN, read through debugfs
	echo "$2" >/sys/kernel/debug/iio/iio:device$1/direct_reg_access &&
		cat /sys/kernel/debug/iio/iio:device$1/direct_reg_access
}
multi_once() { # RATE SECONDS; sets m_ok and m_info
	rate=$1 secs=$2
	blk=$(block_bytes "$rate")
	rm -f /tmp/port
	iiostreamd --source kernel:/dev/iio_block0 --source kernel:/dev/iio_block1 --rate "$rate" \
		--block-size $blk --blocks 8 --listen 127.0.0.1:0 --iiod-listen 127.0.0.1:0 \
		--port-file /tmp/port >/tmp/daemon-multi.log 2>&1 &
	dpid=$!
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -s /tmp/port ] && break
		sleep 0.5
	done
	lost0=$(($(cat /sys/class/iio_block/iio_block0/lost_samples) + $(cat /sys/class/iio_block/iio_block1/lost_samples)))
	skips0=0
	for n in 0 1; do
		iiostream rx --url tcp://127.0.0.1:$(sed -n 1p /tmp/port) --device iio:device$n \
			--seconds "$secs" --verify --json --quiet >/tmp/rx-multi$n.json 2>/tmp/rx-multi$n.err &
		eval rpid$n=$!
	done
	# a libiio client on the second device meanwhile, through the iiod port:
	# half of what the device makes in the run, past scan 65536 (where the
	# data shows where it starts)
	scans=$((rate * secs / 2 > 70000 ? rate * secs / 2 : 70000))
	iio_readdev -u ip:127.0.0.1:$(sed -n 3p /tmp/port) -T 5000 -b 4096 -s $scans iio:device1 \
		voltage0 voltage1 >/tmp/readdev-multi.bin 2>/tmp/readdev-multi.err &
	rdpid=$!
	# both captures on at one moment: poll the STATUS registers (through
	# debugfs itself here: iio_attr is slow under TCG) while rx runs
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		st0=$(multi_reg_direct 0 5) st1=$(multi_reg_direct 1 5)
		[ "$st0" = 0x1 ] && [ "$st1" = 0x1 ] && break
		sleep 0.2
	done
	wait $rpid0; rx0=$?
	wait $rpid1; rx1=$?
	wait $rdpid; rd=$?
	iiostream verify /tmp/readdev-multi.bin --channels 0,1 >/tmp/readdev-multi.v 2>&1
	m_lost=$(($(cat /sys/class/iio_block/iio_block0/lost_samples) + $(cat /sys/class/iio_block/iio_block1/lost_samples) - lost0))
	# a libiio client cannot be told of a skip: the daemon's log says it
	m_lost=$((m_lost + $(grep -c "skipping blocks" /tmp/daemon-multi.log)))
	kill -TERM $dpid
	wait $dpid; d=$?
	want=$((rate * 4 * secs / blk / 4))
	[ $want -gt 0 ] || want=1
	m_ok=1 m_info=
	for n in 0 1; do
		f=/tmp/rx-multi$n.json
		eval "rx=\$rx$n"
		m_info="$m_info iio:device$n: $(json_field $f blocks) blocks, $(json_field $f integrity_errors) errors, $(json_field $f lost_samples) lost;"
		[ "$rx" = 0 ] && [ "$(json_field $f integrity_errors)" = 0 ] &&
			[ "$(json_field $f lost_samples)" = 0 ] && [ "$(json_field $f lost_blocks)" = 0 ] &&
			[ "$(json_field $f blocks)" -ge $want ] || m_ok=0
	done
	m_info="$m_info iio_readdev iio:device1: $(cat /tmp/readdev-multi.v);"
	[ "$rd" = 0 ] && grep -q "^$scans scans from index [0-9]*: 0 gaps.* 0 errors" /tmp/readdev-multi.v ||
		m_ok=0
	# a wrong byte is never the emulator's speed
	grep -q " [1-9][0-9]* errors" /tmp/readdev-multi.v && m_lost=-1
	m_info="$m_info STATUS $st0 $st1, device lost or skipped $m_lost, daemon exit $d"
	[ "$d" = 0 ] && [ "$st0" = 0x1 ] && [ "$st1" = 0x1 ] || m_ok=0
	echo "GUEST-INFO multi at $rate S/s:$m_info"
}
if [ -x /bin/iiostreamd ]; then
	m_rate=500000
	while :; do
		multi_once $m_rate 3
		[ $m_ok = 1 ] && { pass "one iiostreamd streams iio_block0 and iio_block1 at once at $m_rate S/s each, to rx --verify and iio_readdev, every byte verified:$m_info"; break; }
		# a loss the devices counted is the emulator's speed; else a bug
		if ! slower "two streams" $m_rate $m_lost; then
			bad "two streams at once:$m_info"
			cat /tmp/rx-multi0.err /tmp/rx-multi1.err /tmp/readdev-multi.err /tmp/daemon-multi.log |
				sed 's/WARNING/warning/'
			break
		fi
		m_rate=$((m_rate / 4))
	done
fi

# ---- triggers and debug registers through iiostreamd's iiod port ----
# The same round trips as above, now to the daemon's iiod-compatible
# listener (GETTRIG, SETTRIG, READ/WRITE DEBUG), with Debian's libiio tools.
if [ -x /bin/iiostreamd ]; then
	rm -f /tmp/port
	echo 100000 >$iio1/sampling_frequency
	iiostreamd --source kernel:/dev/iio_block0 --source kernel:/dev/iio_block1 \
		--block-size $(block_bytes 100000) --blocks 8 --listen 127.0.0.1:0 \
		--iiod-listen 127.0.0.1:0 --port-file /tmp/port >/tmp/daemon-trig.log 2>&1 &
	dpid=$!
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -s /tmp/port ] && break
		sleep 0.5
	done
	uri=ip:127.0.0.1:$(sed -n 3p /tmp/port)
	echo >$iio1/trigger/current_trigger
	# SETTRIG through the daemon (iio_readdev -t), then its buffer streams
	if iio_readdev -u $uri -t iiostream-sim-dev1 -T 5000 -b 4096 -s 70000 iio:device1 \
		>/tmp/trig-d.bin 2>/tmp/trig-d.err &&
		iiostream verify /tmp/trig-d.bin --channels 0,1 >/tmp/trig-d.v 2>&1 &&
		grep -q " 0 errors" /tmp/trig-d.v &&
		[ "$(cat $iio1/trigger/current_trigger)" = iiostream-sim-dev1 ] &&
		iio_info -u $uri 2>&1 | grep -q "Current trigger: trigger[0-9]*(iiostream-sim-dev1)"; then
		pass "through iiostreamd's iiod port: SETTRIG (iio_readdev -t) sets iio:device1's trigger, GETTRIG (iio_info) reads it, and its scans verify: $(cat /tmp/trig-d.v)"
	else
		bad "iiostreamd GETTRIG/SETTRIG: current_trigger '$(cat $iio1/trigger/current_trigger)'"
		cat /tmp/trig-d.err /tmp/trig-d.v /tmp/daemon-trig.log | sed 's/WARNING/warning/'
	fi
	echo >$iio1/trigger/current_trigger
	iio_attr -u $uri -D iio:device0 direct_reg_access "0xa 0xcafe" >/dev/null 2>&1
	w=$(iio_attr -u $uri -D iio:device0 direct_reg_access 2>&1 | tail -1)
	id=$(multi_reg iio:device0 0x0)
	local_a=$(multi_reg iio:device0 0xa)
	if iio_attr -u $uri -D iio:device0 2>&1 | grep -q direct_reg_access &&
		[ "$w" = 0xCAFE ] && [ "$local_a" = 0xCAFE ] && [ "$id" = 0x494F5353 ]; then
		pass "through iiostreamd's iiod port: iio_attr -D lists direct_reg_access, writes scratch register 0xa = $w (debugfs agrees: $local_a)"
	else
		bad "iiostreamd debug attributes: wrote 0xa, read '$w' through the daemon, '$local_a' locally"
		iio_attr -u $uri -D iio:device0 2>&1 | tail -5; tail -5 /tmp/daemon-trig.log
	fi
	kill -TERM $dpid
	wait $dpid || bad "iiostreamd (triggers) exit status $?"
fi

rmmod iiostream_sim && pass "rmmod (devices=2)" || bad "rmmod (devices=2)"
