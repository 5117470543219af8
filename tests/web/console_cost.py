#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What watching the console costs the daemon (issue 20's goal: with one
client streaming 100 MB/s and four browsers watching the spectrum, under 5 %
of a core more, and the client loses nothing). Not a test: a measurement
for docs/observability.md, "The web console".

A sim daemon at 25 M scans/s of two int16 channels (100 MB/s) streams to one
`iiostream rx --verify`; the daemon's CPU time (/proc/PID/stat) is taken over
SECONDS with no browser, then over SECONDS with TABS tabs of one headless
Chromium each showing the console (its status poll every second, the
default spectrum: 2048 bins at 25 frames/s). Prints both, the difference,
each tab's frames/s and skips, and the client's result.

    /usr/bin/python3 tests/web/console_cost.py BUILD_DIR [SECONDS [TABS [BLOCKS]]]

(BLOCKS of 1 MiB in the sim's ring, 16 by default: 160 ms at 100 MB/s.)
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402
from webtest import Daemon, status, wait_until  # noqa: E402


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def window(pid, seconds):
    """The daemon's share of a core over `seconds`."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)  # a measurement window, not a wait for a condition
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


class Tab:
    """One more page of the browser, driven through a flat session."""

    def __init__(self, b, url):
        self.b = b
        tid = b.call("Target.createTarget", url=url)["targetId"]
        self.sid = b.call("Target.attachToTarget", targetId=tid, flatten=True)["sessionId"]

    def evaluate(self, expr):
        b = self.b
        b.next_id += 1
        mid = b.next_id
        b.ws.send(json.dumps({"id": mid, "sessionId": self.sid, "method": "Runtime.evaluate",
                              "params": {"expression": expr, "returnByValue": True}}))
        while True:
            msg = json.loads(b.ws.recv())
            if msg.get("id") == mid:
                return msg["result"]["result"].get("value")


def main():
    build = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20
    ntabs = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    blocks = sys.argv[4] if len(sys.argv) > 4 else "16"
    work = tempfile.mkdtemp(prefix="iios-cost-")
    cli = os.path.join(build, "client", "iiostream")
    with Daemon(build, work, ["--source", "sim", "--rate", "25000000", "--channels", "2",
                              "--block-size", "1M", "--blocks", blocks,
                              "--http-listen", "127.0.0.1:0"]) as d:
        rx = subprocess.Popen([cli, "rx", "--url", "tcp://127.0.0.1:%d" % d.port, "--verify",
                               "--seconds", "3600", "--json"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
        wait_until(lambda: [c for c in status(d.http_port, attributes=False)["clients"]
                            if c["bytes_sent"] > 0], "the client streaming")
        lost = lambda: status(d.http_port, attributes=False)["devices"][0]["counters"]  # noqa
        l0 = lost()
        alone = window(d.proc.pid, seconds)
        l1 = lost()
        print("daemon alone:          %5.1f %% of a core; the source lost %d samples, "
              "clients skipped %d blocks" % (100 * alone, l1["lost_samples"] - l0["lost_samples"],
                                            l1["blocks_skipped"] - l0["blocks_skipped"]))
        url = "http://127.0.0.1:%d/" % d.http_port
        with Browser() as b:
            b.navigate(url)
            tabs = [b] + [Tab(b, url) for _ in range(ntabs - 1)]
            for t in tabs:
                wait_until(lambda: t.evaluate("window.iiosConsole && iiosConsole.frames > 10"),
                           "a tab's spectrum")
            f0 = [t.evaluate("iiosConsole.frames") for t in tabs]
            t0 = time.monotonic()
            l0 = lost()
            watched = window(d.proc.pid, seconds)
            l1 = lost()
            dt = time.monotonic() - t0
            fps = [(t.evaluate("iiosConsole.frames") - f) / dt for t, f in zip(tabs, f0)]
            skips = [t.evaluate("iiosConsole.skipped") for t in tabs]
        print("daemon with %d tabs:    %5.1f %% of a core (+%.1f); the source lost %d samples, "
              "clients skipped %d blocks" %
              (ntabs, 100 * watched, 100 * (watched - alone),
               l1["lost_samples"] - l0["lost_samples"], l1["blocks_skipped"] - l0["blocks_skipped"]))
        print("tabs' frames/s: %s; skipped: %s" % (", ".join("%.1f" % f for f in fps), skips))
        rx.send_signal(signal.SIGINT)
        res = json.loads(rx.communicate(timeout=60)[0])
        print("client: %.1f MB/s, %d blocks lost, %d samples lost, verified %s" %
              (res["mbytes_per_s"], res["lost_blocks"], res["lost_samples"], res["verified"]))
        print("daemon exit status %d" % d.stop())


if __name__ == "__main__":
    main()
