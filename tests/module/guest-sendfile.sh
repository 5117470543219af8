#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the qemu guest as /test.sh, started by tests/module/sendfile-nic.sh:
# iiostreamd on the unpaced sim source with --transport sendfile, listening
# on the guest's virtio-net NIC, for a receiver on the host (qemu's user
# networking forwards a host port to it). Through a NIC, the ack means the
# bytes left: the only place sendfile with release-on-ack is allowed.
modprobe virtio_pci && modprobe virtio_net || { echo "GUEST-FAIL no virtio_net"; exit 1; }
for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; sleep 0.5; done
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 || { echo "GUEST-FAIL eth0"; exit 1; }
[ -e /sys/class/net/eth0/device ] || { echo "GUEST-FAIL eth0 has no device link"; exit 1; }
iiostreamd --source sim --rate 0 --channels 2 --block-size 262144 --blocks 32 --client-queue 8 \
	--transport sendfile --listen 0.0.0.0:30432 >/tmp/d.log 2>&1 &
dpid=$!
sleep 1
echo "GUEST-READY"
# the host streams, asks for stats, and disconnects: wait for its two
# connections to close (bounded)
for i in $(seq 240); do
	[ "$(grep -c ') closed' /tmp/d.log)" -ge 2 ] && break
	sleep 0.5
done
kill -TERM $dpid
wait $dpid
status=$?
cat /tmp/d.log
grep -q "sendfile only through" /tmp/d.log && { echo "GUEST-FAIL sendfile was refused on eth0"; exit 1; }
[ $status = 0 ] || { echo "GUEST-FAIL iiostreamd exit $status"; exit 1; }
echo "GUEST-OK   iiostreamd served sendfile through virtio-net and exited 0"
exit 0
