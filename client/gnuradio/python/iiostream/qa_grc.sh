#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# gr-iiostream as a user gets it, headless: `cmake --install` into a
# temporary prefix; the installed Python module imports from there (finding
# its libraries through its RPATH); grcc compiles the example flowgraphs
# with the installed block descriptions (GRC_BLOCKS_PATH); the file example's
# generated program writes N scans from a daemon, which must verify
# (`iiostream verify`), with the rate it set reaching the daemon; the FFT
# example's Qt program runs on Qt's offscreen platform until it receives,
# and until it is stopped; the tone example plays a tone on the sim's DAC
# to its end, every block it sent played. Waits are for what happens, each bounded by
# $hang seconds, reached only by a hang (a loaded machine is slow).
# usage: qa_grc.sh BUILD_DIR GR_SOURCE_DIR (client/gnuradio)
set -euo pipefail
hang=60
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
py=/usr/bin/python3
tmp=$(mktemp -d)
daemon=
fft=
cleanup() {
	[ -n "$fft" ] && kill -KILL "$fft" 2>/dev/null
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$tmp/daemon.log" ] && { echo "--- daemon log"; cat "$tmp/daemon.log"; }
	exit 1
}

# The samples' gaps are the source's own overflows, and allowed, only if the
# daemon skipped nothing, its source lost at least as many scans, and the
# machine held the daemon back (its loop waited, runnable, for a CPU: /proc
# PID/schedstat) at least as long as its ring of blocks lasts. On an idle
# machine that wait is ~0: a gap fails there, as always.
cpu_wait() { awk '{ printf "%.3f", $2 / 1e9 }' "/proc/$1/schedstat"; }
gaps_excused() { # VERIFY_JSON STATS_URL DAEMON_PID WAIT0 RING_S
	local missing stats skips lost waited
	missing=$(sed -n 's/.*"scans_missing":\([0-9]*\).*/\1/p' <<<"$1")
	stats=$("$build/client/iiostream" stats --url "$2") || return 1
	skips=$(sed -n 's/^client skips: *\([0-9]*\) blocks.*/\1/p' <<<"$stats")
	lost=$(sed -n 's/^overflows: *[0-9]* (\([0-9]*\) scans lost).*/\1/p' <<<"$stats")
	waited=$(awk -v a="$(cpu_wait "$3")" -v b="$4" 'BEGIN { printf "%.3f", a - b }')
	echo "gaps: $missing scans missing; the daemon skipped $skips blocks, lost $lost scans to" \
		"overflows, waited $waited s for a CPU (its ring lasts $5 s)"
	[ "$skips" = 0 ] && [ "${lost:-0}" -ge "${missing:-1}" ] &&
		awk -v w="$waited" -v r="$5" 'BEGIN { exit !(w >= r) }'
}

prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; fail "cmake --install"; }
init=$(find "$prefix" -path '*/gnuradio/iiostream/__init__.py' | head -1)
[ -n "$init" ] || fail "no gnuradio/iiostream/__init__.py under $prefix"
for b in source sink; do
	yml=$prefix/share/gnuradio/grc/blocks/iiostream_$b.block.yml
	[ -f "$yml" ] || fail "$yml not installed"
	[ -f "$prefix/include/gnuradio/iiostream/$b.h" ] || fail "$b.h not installed"
done
export PYTHONPATH=${init%/gnuradio/iiostream/__init__.py}
export GRC_BLOCKS_PATH=$prefix/share/gnuradio/grc/blocks
unset LD_LIBRARY_PATH

where=$($py -c 'from gnuradio import iiostream; print(iiostream.__file__)') ||
	fail "the installed module does not import"
case $where in
"$prefix"/*) echo "installed module: $where" ;;
*) fail "imported $where, not the installed module" ;;
esac

examples="iiostream_to_file iiostream_fft iiostream_tone_tx"
grcc -o "$tmp/gen" $(for p in $examples; do echo "$src/examples/$p.grc"; done) \
	>"$tmp/grcc.log" 2>&1 || { cat "$tmp/grcc.log"; fail "grcc"; }
for p in $examples; do
	[ -s "$tmp/gen/$p.py" ] || { cat "$tmp/grcc.log"; fail "grcc wrote no $p.py"; }
done
echo "grcc: compiled every example ($examples)"

"$build/server/iiostreamd" --channels 2 --rate 1000000 --block-size 64K \
	--listen 127.0.0.1:0 --port-file "$tmp/port" >"$tmp/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq $((hang * 10))); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "no port file in $hang s"
url=tcp://127.0.0.1:$(sed -n 1p "$tmp/port")
wait0=$(cpu_wait "$daemon")

scans=200000
timeout $((hang * 2)) $py "$tmp/gen/iiostream_to_file.py" --url "$url" --samples $scans \
	--output "$tmp/scans.bin" --samp-rate 500000 || fail "iiostream_to_file.py failed"
size=$(stat -c %s "$tmp/scans.bin")
[ "$size" -eq $((scans * 4)) ] || fail "$size bytes, want $((scans * 4))"
result=$("$build/client/iiostream" verify "$tmp/scans.bin" --channels 0,1 --json) ||
	fail "samples do not verify: $result"
echo "verify: $result"
case $result in
*'"errors":0}') ;;
*) fail "errors: $result" ;;
esac
# 8 blocks of 64 KiB at 500 k scans/s of 4 bytes: 0.262 s
case $result in
*'"gaps":0,'*) ;;
*) gaps_excused "$result" "$url" "$daemon" "$wait0" 0.262 || fail "gaps: $result" ;;
esac
rate=$("$build/client/iiostream" attr get sampling_frequency --url "$url")
[ "$rate" = 500000 ] || fail "sampling_frequency is '$rate', the flowgraph set 500000"

# The Qt example: it must run (and receive) until stopped. It is stopped
# once the daemon has sent it blocks, not after a guess at how long Python,
# GNU Radio and Qt take to start on this machine.
QT_QPA_PLATFORM=offscreen $py "$tmp/gen/iiostream_fft.py" --url "$url" \
	--samp-rate 1e6 >"$tmp/fft.log" 2>&1 &
fft=$!
receiving=
for _ in $(seq $((hang * 5))); do
	kill -0 "$fft" 2>/dev/null || break
	if "$build/client/iiostream" stats --url "$url" 2>/dev/null |
		grep -qE '\(subscribed\): [1-9][0-9]* blocks'; then
		receiving=1
		break
	fi
	sleep 0.2
done
kill -0 "$fft" 2>/dev/null || { cat "$tmp/fft.log"; fail "iiostream_fft.py ended by itself"; }
[ -n "$receiving" ] || { cat "$tmp/fft.log"; fail "iiostream_fft.py received nothing in $hang s"; }
kill -TERM "$fft"
wait "$fft" || true
fft=
grep -q "iiostream_source :info: $url: channels 0,1" "$tmp/fft.log" ||
	{ cat "$tmp/fft.log"; fail "iiostream_fft.py did not subscribe"; }
! grep -q ':error:' "$tmp/fft.log" || { cat "$tmp/fft.log"; fail "iiostream_fft.py logged an error"; }

# The tone example: 0.6 s of a tone on the sim's DAC (blocks of 64 KiB:
# 16384 scans, so 36 whole blocks and a partial one), to its end: the sink
# drains, and every block sent was played.
timeout $((hang * 2)) $py "$tmp/gen/iiostream_tone_tx.py" --url "$url" --seconds 0.6 \
	--samp-rate 1e6 >"$tmp/tone.log" 2>&1 || { cat "$tmp/tone.log"; fail "iiostream_tone_tx.py failed"; }
grep -q "iiostream_sink :info: $url: transmitting to iiostream-sim-dac: 1000000 scans/s" \
	"$tmp/tone.log" || { cat "$tmp/tone.log"; fail "iiostream_tone_tx.py did not transmit"; }
grep -qE "iiostream-sim-dac: 37 blocks sent, 37 blocks played, [0-9]+ underflows?" "$tmp/tone.log" ||
	{ cat "$tmp/tone.log"; fail "iiostream_tone_tx.py: not every block played"; }
! grep -q ':error:' "$tmp/tone.log" || { cat "$tmp/tone.log"; fail "iiostream_tone_tx.py logged an error"; }

kill -TERM "$daemon"
wait "$daemon" || fail "iiostreamd exited $?"
daemon=
echo "PASS: installed gr-iiostream; grcc compiled every example; iiostream_to_file wrote $scans verified scans; iiostream_fft ran; iiostream_tone_tx played every block"
