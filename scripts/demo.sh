#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job: iiostreamd on the simulated source at 100 MB/s (25 M scans/s
# of 2 int16 channels), streamed over loopback to `iiostream rx --verify`,
# which checks every sample and prints throughput and integrity. The web
# console and /metrics listen on loopback meanwhile (--http-listen): the
# URL is printed, and the daemon's own count of what it sent at the end.
#   SECONDS_TO_RUN=10 RATE=25000000 ./scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${SECONDS_TO_RUN:-10}
rate=${RATE:-25000000}

# only what the daemon and the CLI need; the test command installs the rest
scripts/deps.sh demo
scripts/build.sh build-demo -DIIOSTREAM_TESTS=OFF -DIIOSTREAM_GNURADIO=OFF > /dev/null
bin=build-demo

tmp=$(mktemp -d)
daemon_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$bin/server/iiostreamd" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --port-file "$tmp/port" \
  --rate "$rate" --channels 2 --block-size 1M --blocks 8 --log-level warn &
daemon_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "demo: iiostreamd did not start"; exit 1; }
url="tcp://127.0.0.1:$(sed -n 1p "$tmp/port")"
http_port=$(sed -n 4p "$tmp/port")
# GET PATH from the daemon's HTTP port, with bash alone (no curl needed)
http_get() {
  local body
  exec 3<>"/dev/tcp/127.0.0.1/$http_port"
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$1" >&3
  body=$(cat <&3)
  exec 3<&-
  printf '%s\n' "$body"
}
echo "== web console: http://127.0.0.1:$http_port/ (live spectrum, clients; /metrics for Prometheus)"

echo "== iiostream info ($url)"
"$bin/client/iiostream" info --url "$url"
echo
echo "== iiostream rx --verify for $seconds s"
rc=0
"$bin/client/iiostream" rx --url "$url" --seconds "$seconds" --verify || rc=$?
echo
echo "== iiostream stats"
"$bin/client/iiostream" stats --url "$url"
echo
echo "== /metrics: what the daemon counts it sent (Prometheus scrapes this)"
http_get /metrics | grep -E '^iiostream_device_(produced_bytes|sent_bytes|skipped_blocks|lost_samples)_total\{.*direction="rx"' || true

kill -TERM "$daemon_pid"
wait "$daemon_pid" || { echo "demo: iiostreamd exited with $?"; exit 1; }
daemon_pid=""
exit "$rc"
