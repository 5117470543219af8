#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real Prometheus server (Debian's prometheus, as this user, its own
# config, port and storage in a temp dir, scraping every second) scrapes
# iiostreamd's /metrics while two `iiostream rx --verify` clients stream
# from the sim; the test asks Prometheus' HTTP API (/api/v1/query) for
# what the daemon sent and compares it with what the clients say they
# received (their --json summaries):
#   1. the byte rate: rate(iiostream_device_sent_bytes_total[5s]) at a time
#      when both clients streamed for the whole window, against the sum of
#      the clients' average rates: within 5 %. The source is paced (2 M
#      scans/s of 4 bytes: 8 MB/s to each client), both clients keep up
#      (verified, nothing lost), so both figures are 16 MB/s; what differs
#      is the quantisation of a counter that moves in 64 KiB blocks (two
#      blocks in 40 MB: 0.3 %) and the scrapes' timing (a scrape's time is
#      its start, the counter is read a few ms later: < 1 % of 5 s).
#   2. the bytes: the counter's last value (a scrape after both clients
#      left; nothing was sent before they came: capture on demand) minus
#      the clients' bytes is what the sockets held when the clients closed
#      (sent, never read): 0 <= that <= each socket's most buffering
#      (net.ipv4.tcp_wmem + tcp_rmem maxima, twice).
# Waits are for conditions (a scrape present, a client done), each bounded
# by $hang seconds, reached only by a hang.
#
# usage: prometheus_test.sh BUILD_DIR
set -euo pipefail
hang=60
seconds=8
build=$(cd "$1" && pwd)
cli=$build/client/iiostream
tmp=$(mktemp -d)
daemon= prom= rx1= rx2=
cleanup() {
	for p in $rx1 $rx2 $prom $daemon; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- daemon log"; cat "$tmp/daemon.log"
	echo "--- prometheus log (tail)"; tail -20 "$tmp/prom.log" 2>/dev/null
	exit 1
}
until_true() {
	local what=$1
	shift
	for _ in $(seq $((hang * 20))); do "$@" && return 0; sleep 0.05; done
	fail "waited $hang s for $what"
}
command -v prometheus >/dev/null || fail "no prometheus (scripts/deps.sh installs Debian's)"
py=/usr/bin/python3
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
prom_port=$(free_port)

"$build/server/iiostreamd" --source sim:channels=2,rate=2M --block-size 64K --blocks 16 \
	--listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --port-file "$tmp/port" \
	>"$tmp/daemon.log" 2>&1 &
daemon=$!
until_true "the daemon's port file" test -s "$tmp/port"
url=tcp://127.0.0.1:$(sed -n 1p "$tmp/port")
http_port=$(sed -n 4p "$tmp/port") # the first --http-listen's

cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: iiostream
    static_configs:
      - targets: ['127.0.0.1:$http_port']
YML
promtool check config "$tmp/prometheus.yml" >/dev/null || fail "promtool check config"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
	--web.listen-address="127.0.0.1:$prom_port" >"$tmp/prom.log" 2>&1 &
prom=$!
api=http://127.0.0.1:$prom_port/api/v1
# query EXPR [TIME]: the first result's value, or "" when there is none
query() {
	$py - "$api" "$@" <<'PY'
import json, sys, urllib.parse, urllib.request
api, expr = sys.argv[1], sys.argv[2]
q = {"query": expr}
if len(sys.argv) > 3:
    q["time"] = sys.argv[3]
try:
    r = json.load(urllib.request.urlopen(api + "/query?" + urllib.parse.urlencode(q), timeout=5))
except Exception:
    sys.exit(0)
res = r.get("data", {}).get("result", [])
if r.get("status") == "success" and res:
    print(res[0]["value"][1])
PY
}
scraped_up() { [ "$(query 'up{job="iiostream"}')" = 1 ]; }
until_true "Prometheus' first scrape of the daemon" scraped_up
sent_query='iiostream_device_sent_bytes_total{job="iiostream",device="sim",direction="rx"}'
v0=$(query "$sent_query")
[ "$v0" = 0 ] || fail "bytes sent before any client: $v0"

t0=$($py -c 'import time; print(time.time())')
"$cli" rx --url "$url" --verify --seconds $seconds --json >"$tmp/rx1.json" 2>"$tmp/rx1.err" &
rx1=$!
"$cli" rx --url "$url" --verify --seconds $seconds --json >"$tmp/rx2.json" 2>"$tmp/rx2.err" &
rx2=$!
wait $rx1 || fail "client 1: $(cat "$tmp/rx1.err")"
rx1=
wait $rx2 || fail "client 2: $(cat "$tmp/rx2.err")"
rx2=
t1=$($py -c 'import time; print(time.time())')
# a scrape that began after both clients had gone
scraped_after() {
	$py - "$api" "$t1" <<'PY'
import json, sys, urllib.parse, urllib.request
api, t1 = sys.argv[1], float(sys.argv[2])
q = urllib.parse.urlencode({"query": "timestamp(up{job='iiostream'})"})
r = json.load(urllib.request.urlopen(api + "/query?" + q, timeout=5))
res = r["data"]["result"]
sys.exit(0 if res and float(res[0]["value"][1]) > t1 else 1)
PY
}
until_true "a scrape after the clients left" scraped_after
v1=$(query "$sent_query")
# the rate over [t0 + 2, t0 + 7]: inside the clients' $seconds s run (they
# connect within a second of t0), five scrapes in it
end=$($py -c "print($t0 + 7)")
rate=$(query "rate(${sent_query}[5s])" "$end")
[ -n "$rate" ] || fail "no rate at $end"

$py - "$tmp/rx1.json" "$tmp/rx2.json" "$v1" "$rate" <<'PY' || fail "the comparison"
import json, sys
c = [json.load(open(p)) for p in sys.argv[1:3]]
sent, rate = float(sys.argv[3]), float(sys.argv[4])
for i, x in enumerate(c, 1):
    assert x["verified"] and x["integrity_errors"] == 0, (i, x)
    assert x["lost_blocks"] == 0 and x["lost_samples"] == 0, (i, x)
received = sum(x["bytes"] for x in c)
client_rate = sum(x["bytes"] / x["seconds"] for x in c)
def sysctl_max(name):
    return int(open("/proc/sys/net/ipv4/" + name).read().split()[2])
inflight = 2 * (sysctl_max("tcp_wmem") + sysctl_max("tcp_rmem"))
print(f"clients received {received} B at {client_rate/1e6:.2f} MB/s; Prometheus: "
      f"{sent:.0f} B sent, rate {rate/1e6:.2f} MB/s ({100*(rate/client_rate-1):+.2f} %); "
      f"sent - received = {sent-received:.0f} B (bound {inflight} B)")
assert abs(rate / client_rate - 1) <= 0.05, "the rates differ by more than 5 %"
assert 0 <= sent - received <= inflight, "sent and received differ beyond what sockets hold"
PY
echo PASS
