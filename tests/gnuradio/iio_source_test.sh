#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A GNU Radio flowgraph with the stock iio device source (gr-iio) and
# uri ip:127.0.0.1:PORT receives samples from iiostreamd's iiod-compatible
# listener; they must verify (iiostream verify), and the source's
# sampling_frequency parameter must reach the daemon.
# usage: iio_source_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
if ! $py -c 'from gnuradio import iio' 2>/dev/null; then
	echo "FAIL: GNU Radio's iio module does not import in $py (scripts/deps.sh installs gnuradio)"
	exit 1
fi
tmp=$(mktemp -d)
daemon=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- daemon log"; cat "$tmp/daemon.log"
	exit 1
}

"$build/server/iiostreamd" --channels 2 --rate 1000000 --block-size 64K \
	--listen 127.0.0.1:0 --iiod-listen 127.0.0.1:0 --port-file "$tmp/port" \
	>"$tmp/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "no port file"
plain=$(sed -n 1p "$tmp/port")
iiod=$(sed -n 3p "$tmp/port")

samples=300000
timeout 60 $py "$here/iio_source_flowgraph.py" "ip:127.0.0.1:$iiod" sim $samples \
	"$tmp/gr.bin" 500000 || fail "the flowgraph failed"
size=$(stat -c %s "$tmp/gr.bin")
[ "$size" -eq $((samples * 4)) ] || fail "$size bytes, want $((samples * 4))"
result=$("$build/client/iiostream" verify "$tmp/gr.bin" --channels 0,1 --json) ||
	fail "samples do not verify: $result"
echo "verify: $result"
case $result in
*'"gaps":0,'*'"errors":0}') ;;
*) fail "gaps or errors: $result" ;;
esac
rate=$("$build/client/iiostream" attr get sampling_frequency --url "tcp://127.0.0.1:$plain")
[ "$rate" = 500000 ] || fail "sampling_frequency is '$rate', the flowgraph set 500000"
kill -TERM "$daemon"
wait "$daemon" || fail "iiostreamd exited $?"
daemon=
grep -q "8 of 8 blocks back" "$tmp/daemon.log" || fail "blocks not all back"
echo "PASS: gr-iio received $samples verified samples of 2 channels"
