#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# DNS-SD from end to end: iiostreamd announcing itself through avahi-daemon
# (server/daemon/advertise.c) and `iiostream discover` finding it
# (client/cli/cmd_discover.c), with a D-Bus system bus and an avahi-daemon
# of the test's own. Nothing of the host's is used or changed:
#  - a network namespace of its own, with a veth pair whose end
#    iios-mdns has 10.213.0.1/24 (avahi-daemon skips loopback);
#  - `ip netns exec` + `unshare --mount` give it a mount namespace where a
#    tmpfs hides the host's /run (avahi-daemon keeps its pid file and
#    socket in /run/avahi-daemon), `unshare --uts` a host name of its own;
#  - dbus-daemon listens on a socket in the test's directory, which
#    DBUS_SYSTEM_BUS_ADDRESS names to everybody (libdbus honours it).
#
# What it checks, in order:
#  1. no D-Bus: iiostreamd warns that it is not advertised, and streams
#     (`rx --blocks 5 --verify`); `discover` exits 1 with a clear message;
#  2. D-Bus but no avahi-daemon yet: iiostreamd (plain and TLS) warns, and
#     streams;
#  3. avahi-daemon starts: that same iiostreamd announces itself;
#     `discover --json` finds the plain and the TLS service with their
#     ports and TXT, as avahi-browse does; a second iiostreamd on the same
#     host is renamed "... #2"; a fake iiod (avahi-publish _iio._tcp) is
#     listed as iiod-compatible;
#  4. SIGTERM: the daemon exits 0 and its services leave the LAN;
#  5. avahi-daemon restarts: a running iiostreamd announces itself again.
#
# Waits are for what happens (a log line, what discover finds), each bounded
# by $hang seconds, reached only by a hang: on a loaded machine everything,
# announcing and resolving too, is slow, not broken.
#
#   tests/net/avahi_discovery.sh BUILD_DIR
set -euo pipefail
hang=60
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
self=$(readlink -f "$0")
me=avahi_discovery
addr=10.213.0.1
host=iios-avahi

if [ "${2:-}" != --inside ]; then
	if [ "$(id -u)" != 0 ]; then
		# ctest reports 77 as "skipped", never as passed
		echo "$me: SKIPPED: needs root to create network namespaces" >&2
		exit 77
	fi
	for t in ip unshare dbus-daemon avahi-daemon avahi-browse avahi-publish; do
		command -v "$t" >/dev/null ||
			{ echo "$me: needs $t (scripts/deps.sh installs it)" >&2; exit 1; }
	done
	ns=iios-avahi-$$
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX")
	cleanup() {
		# whatever still runs in the namespace is ours
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
		rm -rf "$tmp"
	}
	trap cleanup EXIT
	trap 'exit 1' INT TERM HUP # and clean up on the way out
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" link add iios-mdns type veth peer name iios-peer
	ip -n "$ns" addr add $addr/24 dev iios-mdns
	ip -n "$ns" link set iios-mdns up
	ip -n "$ns" link set iios-peer up
	# in the background: a signal to us interrupts `wait`, not a child
	ip netns exec "$ns" unshare --mount --propagation private --uts \
		"$self" "$build" --inside "$tmp" &
	wait $!
	exit
fi

# ---- inside the namespaces ----
tmp=$3
daemon=$build/server/iiostreamd
cli=$build/client/iiostream
mount -n -t tmpfs tmpfs /run # -n: no /run/mount/utab on the host's /run
mkdir /run/avahi-daemon
hostname $host
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/system_bus_socket

pids=()
cleanup_inside() {
	[ ${#pids[@]} -eq 0 ] || kill -KILL "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup_inside EXIT
fail=0
ok() { echo "$me: ok   $*"; }
bad() {
	echo "$me: FAIL $*"
	fail=1
}

# wait_for FILE PATTERN: until a line of FILE matches (grep -E), $hang s at most
wait_for() {
	local i
	for i in $(seq $((hang * 10))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# until_ok COMMAND...: run it until it succeeds, $hang s at most
until_ok() {
	local t0=$SECONDS
	until "$@"; do
		[ $((SECONDS - t0)) -lt $hang ] || return 1
		sleep 0.2
	done
}

# start NAME ARGS...: an iiostreamd on $addr; its pid in NAME_pid, its log
# in $tmp/NAME.log, its ports in NAME_port (and NAME_tls_port)
start() {
	local name=$1 port_file=$tmp/$1.port
	shift
	"$daemon" --listen $addr:0 --port-file "$port_file" --block-size 64K "$@" \
		>"$tmp/$name.log" 2>&1 &
	pids+=($!)
	eval "${name}_pid=$!"
	wait_for "$port_file" . || { bad "$name did not start"; cat "$tmp/$name.log"; exit 1; }
	eval "${name}_port=$(sed -n 1p "$port_file") ${name}_tls_port=$(sed -n 2p "$port_file")" \
		"${name}_iiod_port=$(sed -n 3p "$port_file")"
}

# stop NAME: SIGTERM, and the daemon must exit 0
stop() {
	local pid status=0
	pid=$(eval echo "\$${1}_pid")
	kill -TERM "$pid"
	wait "$pid" || status=$?
	if [ $status = 0 ]; then ok "$1 exits 0 on SIGTERM"; else bad "$1 exited $status"; cat "$tmp/$1.log"; fi
}

# streams NAME PORT: 5 blocks over plain TCP, every sample verified
streams() {
	local out=$tmp/rx-$1.json
	if "$cli" rx --url tcp://$addr:"$2" --blocks 5 --timeout $((hang * 1000)) --verify --json \
		--quiet >"$out" 2>&1 &&
		grep -q '"blocks":5,' "$out" && grep -q '"integrity_errors":0,' "$out"; then
		ok "$1 streams: 5 blocks verified"
	else
		bad "$1 does not stream"; cat "$out"
	fi
}

# expect WHAT FILE PATTERN: a line of FILE matches the grep -E pattern
expect() {
	if grep -qE "$3" "$2"; then ok "$1"; else bad "$1: no line matches '$3' in:"; cat "$2"; fi
}

# 1. No D-Bus at all.
start nobus
expect "no D-Bus: one warning line" "$tmp/nobus.log" \
	"warn: advertise: no avahi-daemon running \(.*\); not advertised on the LAN"
streams nobus "$nobus_port"
stop nobus
if "$cli" discover --seconds 1 >"$tmp/discover-nobus.txt" 2>&1; then
	bad "discover without avahi-daemon exits 0"
else
	expect "discover without avahi-daemon exits 1, saying why" "$tmp/discover-nobus.txt" \
		"^iiostream discover: no avahi-daemon running"
fi

# 2. A D-Bus system bus, no avahi-daemon yet.
cat >"$tmp/dbus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$tmp/dbus.conf" --nofork --nosyslog >"$tmp/dbus.log" 2>&1 &
pids+=($!)
for _ in $(seq $((hang * 10))); do [ -S "$tmp/system_bus_socket" ] && break; sleep 0.1; done
mkdir "$tmp/certs"
"$build/tests/make-test-certs" "$tmp/certs" >/dev/null
start d1 --listen-tls $addr:0 --tls-cert "$tmp/certs/server.pem" --tls-key "$tmp/certs/server.key"
wait_for "$tmp/d1.log" "advertise: no avahi-daemon" || true
expect "D-Bus without avahi-daemon: one warning line" "$tmp/d1.log" \
	"warn: advertise: no avahi-daemon running \(.*\); not advertised on the LAN"
streams d1 "$d1_port"

# 3. avahi-daemon starts.
cat >"$tmp/avahi-daemon.conf" <<EOF
[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces=iios-mdns
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
EOF
start_avahi() {
	avahi-daemon --no-drop-root --no-chroot --no-rlimits --no-proc-title \
		-f "$tmp/avahi-daemon.conf" >>"$tmp/avahi-daemon.log" 2>&1 &
	avahi_pid=$!
	pids+=($avahi_pid)
}
start_avahi
name="iiostream on $host"
wait_for "$tmp/d1.log" "advertise: \"$name \(TLS\)\"" ||
	bad "d1 not announced once avahi-daemon runs"
expect "d1 announced once avahi-daemon runs, plain" "$tmp/d1.log" \
	"info: advertise: \"$name\" \(_iiostream._tcp, port $d1_port, tls=0, IPv4 on iios-mdns\)"
expect "d1 announced once avahi-daemon runs, TLS" "$tmp/d1.log" \
	"info: advertise: \"$name \(TLS\)\" \(_iiostream._tcp, port $d1_tls_port, tls=1, IPv4 on iios-mdns\)"
start d2 --advertise on --iiod-listen $addr:0
wait_for "$tmp/d2.log" "advertise: \"$name #2\"" || true
expect "a second daemon on the host is renamed" "$tmp/d2.log" \
	"info: advertise: \"$name\" is taken on the LAN; trying \"$name #2\""
wait_for "$tmp/d2.log" "_iio._tcp, port $d2_iiod_port" || true
expect "d2's iiod-compatible listener is announced as _iio._tcp" "$tmp/d2.log" \
	"info: advertise: \"[^\"]*\" \(_iio._tcp, port $d2_iiod_port, IPv4 on iios-mdns\)"
avahi-publish -s "iiod on $host" _iio._tcp 30431 >"$tmp/avahi-publish.log" 2>&1 &
pids+=($!)
iiod_pid=$!
wait_for "$tmp/avahi-publish.log" "Established" || bad "avahi-publish did not publish"

# discover browses for 2 s: again until all 5 services are resolved in one
# run (the checks below then say what it found)
discover_all() {
	"$cli" discover --json >"$tmp/discover.json" 2>"$tmp/discover.err" || return 1
	[ "$(grep -c '^{' "$tmp/discover.json" || true)" -ge 5 ]
}
until_ok discover_all || { bad "discover --json: not 5 services in $hang s"; cat "$tmp/discover.err"; }
q='"' # JSON pieces
expect "discover: plain service, port, TXT" "$tmp/discover.json" \
	"^\{${q}name${q}:${q}$name${q},${q}type${q}:${q}_iiostream._tcp${q},${q}iiod${q}:false,${q}interface${q}:${q}iios-mdns${q},${q}protocol${q}:${q}ipv4${q},${q}host${q}:${q}$host.local${q},${q}address${q}:${q}$addr${q},${q}port${q}:$d1_port,${q}tls${q}:false,${q}local${q}:true,${q}url${q}:${q}tcp://$addr:$d1_port${q},${q}txt${q}:\{${q}txtvers${q}:${q}1${q},${q}version${q}:${q}[0-9.]+${q},${q}protocol${q}:${q}3${q},${q}tls${q}:${q}0${q},${q}device${q}:${q}iiostream-sim${q},${q}channels${q}:${q}2${q}\}\},?$"
expect "discover: TLS service, port, TXT" "$tmp/discover.json" \
	"${q}name${q}:${q}$name \(TLS\)${q},.*${q}port${q}:$d1_tls_port,${q}tls${q}:true,.*${q}url${q}:${q}tls://$addr:$d1_tls_port${q},.*${q}tls${q}:${q}1${q}"
# the TLS certificate's fingerprint, as the daemon logged it (a hint for
# choosing a board: docs/discovery.md)
d1_fp=$(sed -n 's/.*TLS certificate \(sha256:[0-9a-f]*\):.*/\1/p' "$tmp/d1.log")
expect "discover: the TLS service's TXT fp= is the certificate's fingerprint" \
	"$tmp/discover.json" "${q}name${q}:${q}$name \(TLS\)${q},.*${q}fp${q}:${q}$d1_fp${q}"
expect "discover: the renamed second daemon" "$tmp/discover.json" \
	"${q}name${q}:${q}$name #2${q},.*${q}port${q}:$d2_port,"
expect "discover: iiod marked iiod-compatible" "$tmp/discover.json" \
	"${q}name${q}:${q}iiod on $host${q},${q}type${q}:${q}_iio._tcp${q},${q}iiod${q}:true,.*${q}port${q}:30431,"
expect "discover: d2's iiod-compatible listener" "$tmp/discover.json" \
	"${q}type${q}:${q}_iio._tcp${q},${q}iiod${q}:true,.*${q}port${q}:$d2_iiod_port,"
n=$(grep -c '^{' "$tmp/discover.json" || true)
[ "$n" = 5 ] && ok "discover: 5 services, no more" || { bad "discover: $n services, want 5"; cat "$tmp/discover.json"; }
browse_plain="^=;iios-mdns;IPv4;iiostream\\\\032on\\\\032$host;_iiostream._tcp;local;$host.local;$addr;$d1_port;.*\"tls=0\""
browse_tls="^=;iios-mdns;IPv4;iiostream\\\\032on\\\\032$host\\\\032\\\\040TLS\\\\041;_iiostream._tcp;local;$host.local;$addr;$d1_tls_port;.*\"tls=1\""
browse_both() {
	timeout $hang avahi-browse -rpt _iiostream._tcp >"$tmp/avahi-browse.txt" 2>&1 || true
	grep -qE "$browse_plain" "$tmp/avahi-browse.txt" && grep -qE "$browse_tls" "$tmp/avahi-browse.txt"
}
until_ok browse_both || true
expect "avahi-browse agrees: plain" "$tmp/avahi-browse.txt" "$browse_plain"
expect "avahi-browse agrees: TLS" "$tmp/avahi-browse.txt" "$browse_tls"
people_tls="url  tls://$addr:$d1_tls_port$"
people_plain="host $host.local, address $addr, port $d1_port, TLS no$"
discover_people() {
	"$cli" discover --seconds 1.5 >"$tmp/discover.txt" 2>&1 &&
		grep -qE "$people_tls" "$tmp/discover.txt" && grep -qE "$people_plain" "$tmp/discover.txt"
}
until_ok discover_people || true
expect "discover, for people: TLS yes and a URL" "$tmp/discover.txt" "$people_tls"
expect "discover, for people: host, address, port" "$tmp/discover.txt" "$people_plain"
expect "discover, for people: the fingerprint, as a hint" "$tmp/discover.txt" \
	"^    fingerprint $d1_fp \(as announced: a hint, not a proof\)$"

# 4. The first daemon stops: exit 0, and its services are gone.
stop d1
expect "d1 withdrew its services" "$tmp/d1.log" "info: advertise: withdrawn"
# until avahi has withdrawn them (however late it gets to it)
d1_gone() {
	"$cli" discover --json --seconds 1.5 >"$tmp/discover-after.json" 2>&1 &&
		! grep -qE "${q}port${q}:($d1_port|$d1_tls_port)," "$tmp/discover-after.json"
}
until_ok d1_gone || true
if grep -qE "${q}port${q}:($d1_port|$d1_tls_port)," "$tmp/discover-after.json"; then
	bad "d1's services are still found after it stopped"; cat "$tmp/discover-after.json"
else
	ok "d1's services are gone once it stopped"
fi

# 5. avahi-daemon restarts under a running daemon.
kill -TERM "$avahi_pid"
wait "$avahi_pid" || true
wait_for "$tmp/d2.log" "advertise: avahi-daemon went away" || bad "d2 did not see avahi-daemon go"
start_avahi
for _ in $(seq $((hang * 10))); do
	[ "$(grep -c "info: advertise: \"$name #2\"" "$tmp/d2.log")" -ge 2 ] && break
	sleep 0.1
done
[ "$(grep -c "info: advertise: \"$name #2\"" "$tmp/d2.log")" -ge 2 ] &&
	ok "d2 announced again after avahi-daemon restarted" ||
	{ bad "d2 not announced again after avahi-daemon restarted"; cat "$tmp/d2.log"; }
streams d2 "$d2_port"
stop d2
kill -TERM "$iiod_pid" 2>/dev/null || true

if [ $fail != 0 ]; then
	echo "--- logs"
	for f in "$tmp"/*.log; do echo "== $f"; cat "$f"; done
fi
exit $fail
