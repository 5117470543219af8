#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Would the unit's sandbox let the daemon do its work? Without systemd as
# PID 1 the unit cannot run here, so the daemon runs under strace instead,
# serving every kind of client, and each system call it made (the dynamic
# loader's too: systemd's filter is in force from execve) must be in the set
# the unit's SystemCallFilter= lines allow, as `systemd-analyze
# syscall-filter` expands them, and each socket family it opened in
# RestrictAddressFamilies=.
#
# The run: TLS and plain listeners with MSG_ZEROCOPY forced, the iiod
# listener, NOTIFY_SOCKET and a watchdog; clients: iiostream info, rx
# --verify (plain and mutual TLS), attr set, stats, iio_info and iio_readdev
# through the iiod listener; a SIGHUP (the TLS files read again), SIGTERM.
# Not covered: the kernel and readfd sources' ioctl()/read() on real
# nodes, sendfile() through a NIC, avahi-daemon over D-Bus (ioctl,
# sendfile, connect and sendmsg are in the allowed set all the same).
#
# Waits are for what happens, bounded by $hang seconds (a hang's bound:
# the daemon runs under strace, and the machine may be loaded).
#
#   tests/deploy/syscalls.sh BUILD_DIR
set -euo pipefail
hang=60
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
unit=$src/deploy/systemd/iiostreamd.service
daemon=$build/server/iiostreamd
cli=$build/client/iiostream
for tool in strace systemd-analyze iio_info iio_readdev; do
	command -v "$tool" >/dev/null || { echo "syscalls: needs $tool" >&2; exit 1; }
done
if grep -q '^IIOSTREAM_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
	# ASan's runtime makes system calls of its own, and LeakSanitizer
	# cannot run under ptrace: the normal build is the one deployed
	echo "syscalls: SKIPPED: a sanitizer build; run it on the normal build" >&2
	exit 77
fi
if ! strace -f -qq -o /dev/null true 2>/dev/null; then
	echo "syscalls: SKIPPED: strace cannot trace here (ptrace refused)" >&2
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/syscalls.XXXXXX")
cleanup() {
	[ -n "${dpid:-}" ] && kill -KILL "$dpid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# -- the set the unit allows -------------------------------------------------
# expand GROUP-OR-NAME: the system calls it stands for, one a line
systemd-analyze syscall-filter >"$tmp/groups" 2>/dev/null
expand() {
	awk -v want="$1" '
	/^@/ { g = $1; next }
	/^ *#/ { next }
	/^ +[^ ]/ { n[g]++; m[g, n[g]] = $1 }
	function walk(x,   i) {
		if (seen[x]++) return
		if (x !~ /^@/) { print x; return }
		if (!(x in n)) { print "unknown group " x > "/dev/stderr"; exit 1 }
		for (i = 1; i <= n[x]; i++) walk(m[x, i])
	}
	END { walk(want) }' "$tmp/groups"
}
: >"$tmp/allowed"
while read -r value; do
	deny=0
	case $value in "~"*) deny=1 value=${value#\~} ;; esac
	for item in $value; do expand "$item"; done | sort -u >"$tmp/items"
	if [ $deny = 1 ]; then
		comm -23 "$tmp/allowed" "$tmp/items" >"$tmp/next"
	else
		sort -u "$tmp/allowed" "$tmp/items" >"$tmp/next"
	fi
	mv "$tmp/next" "$tmp/allowed"
done < <(sed -n 's/^SystemCallFilter=//p' "$unit")
families=$(sed -n 's/^RestrictAddressFamilies=//p' "$unit")
echo "the unit allows $(wc -l <"$tmp/allowed") system calls and $families"

# -- the daemon at work, under strace -----------------------------------------
"$build/tests/make-test-certs" "$tmp" >/dev/null
cat >"$tmp/iiostreamd.conf" <<CONF
rate = 2000000
block-size = 64K
blocks = 16
transport = zerocopy
listen = 127.0.0.1:0
listen-tls = 127.0.0.1:0
iiod-listen = 127.0.0.1:0
tls-cert = $tmp/server.pem
tls-key = $tmp/server.key
client-ca = $tmp/ca.pem
port-file = $tmp/port
advertise = off
CONF
NOTIFY_SOCKET=$tmp/notify WATCHDOG_USEC=200000 \
	strace -f -qq -o "$tmp/trace" "$daemon" --config "$tmp/iiostreamd.conf" \
	>"$tmp/daemon.log" 2>&1 &
spid=$!
for _ in $(seq $((hang * 10))); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { cat "$tmp/daemon.log"; echo "syscalls: the daemon did not start in $hang s" >&2; exit 1; }
dpid=$(cat "/proc/$spid/task/$spid/children")
{ read -r port; read -r tls_port; read -r iiod_port; } <"$tmp/port"
tls=(--url "tls://localhost:$tls_port" --ca "$tmp/ca.pem" --cert "$tmp/client.pem"
     --key "$tmp/client.key")
patient=(--timeout $((hang * 1000)))
run() { "$@" >>"$tmp/clients.log" 2>&1 || { cat "$tmp/clients.log" "$tmp/daemon.log";
	echo "syscalls: FAIL: $*" >&2; exit 1; }; }
run "$cli" info --url "tcp://127.0.0.1:$port"
run "$cli" rx --url "tcp://127.0.0.1:$port" --blocks 40 --verify --quiet "${patient[@]}"
run "$cli" rx "${tls[@]}" --blocks 40 --verify --quiet "${patient[@]}"
run "$cli" attr set --url "tcp://127.0.0.1:$port" sampling_frequency 1000000
run "$cli" stats --url "tcp://127.0.0.1:$port"
run iio_info -T $((hang * 1000)) -u "ip:127.0.0.1:$iiod_port"
run iio_readdev -T $((hang * 1000)) -u "ip:127.0.0.1:$iiod_port" -b 4096 -s 16384 sim
kill -HUP "$dpid"
for _ in $(seq $((hang * 10))); do grep -q "configuration reloaded" "$tmp/daemon.log" && break; sleep 0.1; done
grep -q "configuration reloaded" "$tmp/daemon.log" || {
	cat "$tmp/daemon.log"; echo "syscalls: FAIL: no reload" >&2; exit 1; }
run "$cli" rx "${tls[@]}" --blocks 10 --verify --quiet "${patient[@]}"
kill -TERM "$dpid"
wait "$spid" || { cat "$tmp/daemon.log"; echo "syscalls: FAIL: the daemon did not exit 0" >&2; exit 1; }
dpid=

# -- what it used ---------------------------------------------------------------
sed -n -e 's/^[0-9]\+ \+\([a-z0-9_]\+\)(.*/\1/p' \
       -e 's/^[0-9]\+ \+<\.\.\. \([a-z0-9_]\+\) resumed>.*/\1/p' "$tmp/trace" | sort -u >"$tmp/used"
echo "the daemon made $(wc -l <"$tmp/used") different system calls:"
tr '\n' ' ' <"$tmp/used" | fold -s -w 100
echo
fail=0
if comm -23 "$tmp/used" "$tmp/allowed" | grep -q .; then
	echo "syscalls: FAIL: not allowed by the unit's SystemCallFilter=: $(comm -23 "$tmp/used" "$tmp/allowed" | tr '\n' ' ')" >&2
	fail=1
fi
used_families=$(sed -n 's/^[0-9]\+ \+socket(\(AF_[A-Z0-9]\+\),.*/\1/p' "$tmp/trace" | sort -u | tr '\n' ' ')
echo "socket families: $used_families"
for f in $used_families; do
	case " $families " in *" $f "*) ;; *)
		echo "syscalls: FAIL: socket family $f is not in RestrictAddressFamilies=" >&2
		fail=1 ;;
	esac
done
[ $fail = 0 ] && echo "syscalls: OK"
exit $fail
