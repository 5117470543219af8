#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The web console in a real browser: headless Chromium (DevTools protocol,
cdp.py) loads the page from a real iiostreamd on the sim while a native
client streams verified blocks, and must show

  - the devices (sim, sim-dac) and their attribute tree, read-only over
    plain HTTP (no input to write with);
  - the client, with its transport and a rate, updating live;
  - the live spectrum of the sim's I/Q pair with its peak where the sim's
    pattern puts it, +25033/65536 of the sample rate (server/spectrum/
    spectrum.h), within two bins, at 2048 bins, again after switching to
    4096 bins, and for one real channel (the same line in 0..fs/2);
  - that peak drawn there: the spectrum canvas' pixels read back in the page
    (getImageData), its highest trace column at the peak's x; the waterfall
    filled row after row; the peak hold drawn;
  - the cursor readout of frequency and level under the mouse (a real mouse
    event at the peak);
  - a refused spectrum's reason, given in place on the open WebSocket and
    at a new one's handshake.

The native client must end verified, with nothing lost or skipped, and the
daemon exit 0 with every block back in the source. Screenshots are kept in
OUT (console.png is the one docs/console.png was copied from).

    /usr/bin/python3 tests/web/console_test.py BUILD_DIR OUT_DIR
"""
import json
import math
import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import CdpError  # noqa: E402
import webtest  # noqa: E402
from webtest import Daemon, TestFailure, check, status, wait_until  # noqa: E402

RATE = 1000000                    # the sim's scans per second
PEAK = 25033 / 65536              # the sim's strongest line, of the sample rate


def need_browser():
    """The browser and the DevTools client are required: missing, the test
    fails (scripts/deps.sh installs both), it is never skipped."""
    try:
        import websocket  # noqa: F401  (python3-websocket)
    except ImportError:
        raise TestFailure("python3-websocket is missing for /usr/bin/python3: scripts/deps.sh "
                          "installs it")
    if not shutil.which("chromium"):
        raise TestFailure("chromium is missing: scripts/deps.sh installs it")


def expect_peak(b, bins, what):
    """The page's reported peak within two bins of the prediction (the
    same frequency for I/Q, in -fs/2..fs/2, and for a real channel)."""
    want = PEAK * RATE
    width = RATE / bins
    got = b.wait_for(
        "iiosConsole.spectrum && iiosConsole.spectrum.bins === %d && iiosConsole.frames >= 10 && "
        "Math.abs(Number(document.getElementById('peak-hz').dataset.hz) - %r) <= %r && "
        "Number(document.getElementById('peak-hz').dataset.hz)" % (bins, want, 2 * width),
        timeout=60)
    print("  %s: peak at %.1f Hz (predicted %.1f, bin %.1f Hz), %s dBFS" %
          (what, got, want, width, b.evaluate("document.getElementById('peak-db').dataset.db")))
    return want


# Read back in the page: for each plot column the topmost pixel of the live
# trace's green (#4ade80; the grid is grey, the hold amber, the peak mark
# red), the column where it is highest, and how many waterfall rows are lit.
PIXELS_JS = r"""(() => {
  const c = document.getElementById('spectrum'), p = iiosConsole.plot;
  const img = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let bestX = -1, bestY = 1e9, traced = 0, amber = 0;
  for (let x = p.x0; x < p.x1; x++)
    for (let y = p.y0; y <= p.y1; y++) {
      const i = (y * c.width + x) * 4, r = img[i], g = img[i + 1], b = img[i + 2];
      if (r > 200 && g > 120 && g < 190 && b < 60) amber++;
      if (g > 90 && g > r + 40 && b < 170) {
        traced++;
        if (y < bestY) { bestY = y; bestX = x; }
        break;
      }
    }
  const w = document.getElementById('waterfall');
  const wimg = w.getContext('2d').getImageData(0, 0, w.width, w.height).data;
  let rows = 0;
  for (let y = 0; y < w.height; y++) {
    let lit = 0;
    for (let x = p.x0; x < p.x1; x += 4) if (wimg[(y * w.width + x) * 4] > 40) lit++;
    if (lit > 10) rows++;
  }
  return JSON.stringify({bestX, bestY, traced, amber, rows, plot: p});
})()"""


def check_drawn(b, want_hz, bins):
    px = json.loads(b.evaluate(PIXELS_JS))
    p = px["plot"]
    want_x = p["x0"] + (want_hz - p["loHz"]) / (p["hiHz"] - p["loHz"]) * (p["x1"] - p["x0"])
    tol = max(3, 2 * (p["x1"] - p["x0"]) / bins)
    print("  drawn: trace in %d of %d columns, highest at x=%d (the peak's x: %.1f), "
          "%d waterfall rows lit, %d peak-hold pixels" %
          (px["traced"], p["x1"] - p["x0"], px["bestX"], want_x, px["rows"], px["amber"]))
    check(px["traced"] > 0.9 * (p["x1"] - p["x0"]), "the trace is not drawn across the plot")
    check(abs(px["bestX"] - want_x) <= tol,
          "the highest point drawn is at x=%d, not at the peak's x=%.1f" % (px["bestX"], want_x))
    return px


def run(build, out, work):
    need_browser()
    from cdp import Browser
    cli = os.path.join(build, "client", "iiostream")
    # 64 KiB blocks: 61 a second at 4 MB/s, so the spectrum runs at its 25
    # frames/s; 64 of them hold a second, so Chromium starting beside the
    # daemon on a busy machine costs the stream nothing
    with Daemon(build, work, ["--source", "sim", "--block-size", "64K", "--blocks", "64",
                              "--http-listen", "127.0.0.1:0"]) as d:
        rx_err = open(os.path.join(out, "rx.err"), "wb")
        rx = subprocess.Popen([cli, "rx", "--url", "tcp://127.0.0.1:%d" % d.port, "--verify",
                               "--seconds", "600", "--json"],
                              stdout=subprocess.PIPE, stderr=rx_err)
        client = wait_until(lambda: [c for c in status(d.http_port, attributes=False)["clients"]
                                     if c["subscribed"] and c["bytes_sent"] > 0],
                            "the native client streaming")[0]
        # tall enough for the clients and devices below the plots
        with Browser(width=1280, height=1080, log=os.path.join(out, "chromium-console.log")) as b:
            b.navigate("http://127.0.0.1:%d/" % d.http_port)
            print("devices and attributes")
            ids = b.wait_for("(() => { const l = [...document.querySelectorAll("
                             "'#devices li.device')].map(e => e.dataset.device);"
                             " return l.length >= 2 && l.join(','); })()")
            check(ids.split(",") == ["sim", "sim-dac"], "devices shown: %s" % ids)
            b.wait_for("[...document.querySelectorAll('#devices li[data-device=\"sim\"] .value')]"
                       ".some(v => v.dataset.attr === 'sampling_frequency' && "
                       "v.textContent === '%d')" % RATE)
            b.wait_for("[...document.querySelectorAll('#devices li[data-device=\"sim-dac\"] "
                       ".value')].some(v => v.dataset.attr === 'loopback')")
            check(b.evaluate("document.querySelectorAll('#devices input').length") == 0,
                  "plain HTTP: the attribute tree must be read-only")
            check(b.evaluate("document.getElementById('access').textContent") == "read-only",
                  "the access badge says read-only")

            print("clients (client %d, %s)" % (client["id"], client["peer"]))
            row = "document.querySelector('#clients tr[data-client=\"%d\"]')" % client["id"]
            b.wait_for("%s && %s.dataset.transport === 'tcp' && %s.cells[1].textContent === %s"
                       % (row, row, row, json.dumps(client["peer"])))
            # live: the blocks-sent cell grows between polls
            sent = int(b.evaluate("%s.cells[5].textContent" % row))
            b.wait_for("Number(%s.cells[5].textContent) > %d" % (row, sent), timeout=30)
            check("MB/s" in b.evaluate("%s.cells[4].textContent" % row), "a rate in MB/s")

            print("spectrum")
            sp = b.wait_for("iiosConsole.spectrum")
            check(sp["device_id"] == "sim" and sp["channels"] == [0, 1] and
                  sp["kind"] == "complex" and sp["sample_rate"] == RATE,
                  "the default spectrum is the sim's I/Q pair: %r" % sp)
            want = expect_peak(b, 2048, "I/Q, 2048 bins")
            b.evaluate("document.getElementById('peak-hold').checked = true")
            # the waterfall full (a row a frame, 200 CSS pixels) for the screenshot
            b.wait_for("iiosConsole.drawn >= 210", timeout=60)
            px = check_drawn(b, want, 2048)
            check(px["rows"] >= 200, "the waterfall has %d rows drawn" % px["rows"])
            check(px["amber"] > 0, "the peak hold is not drawn")

            # the mouse on the peak drawn (a real mouse event over the
            # canvas): the readout gives the peak's frequency and level
            rect = json.loads(b.evaluate("JSON.stringify(document.getElementById('spectrum')"
                                         ".getBoundingClientRect())"))
            # (Chromium hands the page whole CSS pixels: the first one
            # inside the column)
            scale = rect["width"] / px["plot"]["width"]
            b.call("Input.dispatchMouseEvent", type="mouseMoved",
                   x=math.ceil(rect["left"] + px["bestX"] * scale) + 0.1, y=rect["top"] + 50)
            readout = b.wait_for("(() => { const t = document.getElementById('cursor')"
                                 ".textContent; return t.includes('kHz') && t; })()")
            khz, db = float(readout.split(" kHz")[0]), float(readout.split(", ")[1].split()[0])
            print("  cursor readout on the peak drawn: %s" % readout)
            check(abs(khz * 1e3 - want) <= 2 * RATE / 2048, "cursor readout %s" % readout)
            check(abs(db - b.evaluate("iiosConsole.peakDb")) < 3,
                  "the readout's level is not the peak's: %s" % readout)
            b.screenshot(os.path.join(out, "console.png"))
            # auto range: from below the noise to above the peak
            b.evaluate("document.getElementById('db-auto').click()")
            lo, hi = b.evaluate("[Number(document.getElementById('db-min').value),"
                                " Number(document.getElementById('db-max').value)]")
            peak_db = b.evaluate("iiosConsole.peakDb")
            print("  auto range: %d .. %d dB (peak %.1f)" % (lo, hi, peak_db))
            check(lo < peak_db - 20 and peak_db < hi <= peak_db + 15, "auto range %r" % [lo, hi])
            b.wait_for("iiosConsole.plot.dbMin === %d && iiosConsole.plot.dbMax === %d" % (lo, hi))
            b.evaluate("document.getElementById('peak-reset').click()")

            # the same line at 4096 bins, changed on the open WebSocket
            b.evaluate("(() => { const s = document.getElementById('sp-bins'); s.value = '4096';"
                       " s.dispatchEvent(new Event('change')); })()")
            want = expect_peak(b, 4096, "I/Q, 4096 bins")
            check_drawn(b, want, 4096)
            # one real channel: the line in 0..fs/2
            b.evaluate("(() => { const s = document.getElementById('sp-channels'); s.value = '0';"
                       " s.dispatchEvent(new Event('change')); })()")
            b.wait_for("iiosConsole.spectrum.kind === 'real'")
            want = expect_peak(b, 4096, "real voltage0, 4096 bins")
            check_drawn(b, want, 4096)
            b.screenshot(os.path.join(out, "console-real.png"))
            # a refusal says why: in place on the open WebSocket (a device
            # that is not there), and at a new WebSocket's handshake (the
            # page asks the daemon the same as plain HTTP)
            b.evaluate("(() => { const s = document.getElementById('sp-device');"
                       " s.append(new Option('nope', 'nope')); s.value = 'nope';"
                       " document.getElementById('sp-channels').onchange(); })()")
            said = b.wait_for("(() => { const t = document.getElementById('sp-state')"
                              ".textContent; return t.startsWith('refused') && t; })()")
            print("  in place: %s" % said)
            check("nope" in said, "the refusal names the device: %s" % said)
            b.evaluate("document.getElementById('sp-run').click()")   # pause: closed
            b.evaluate("document.getElementById('sp-run').click()")   # resume: a new handshake
            said = b.wait_for("(() => { const t = document.getElementById('sp-state')"
                              ".textContent; return t.startsWith('refused (404)') && t; })()")
            print("  at the handshake: %s" % said)
            skipped = b.evaluate("iiosConsole.skipped")
            print("  frames skipped for this viewer: %d" % skipped)
            errors = [m for m in b.console_messages() if "exception" in m or "rror" in m]
            check(not errors, "the page logged errors: %r" % errors)

        rx.send_signal(signal.SIGINT)
        res = json.loads(rx.communicate(timeout=60)[0])
        rx_err.close()
        print("native client: %s" % json.dumps(res))
        check(rx.returncode == 0 and res["verified"] and res["integrity_errors"] == 0,
              "the native client's stream did not verify")
        check(res["lost_blocks"] == 0 and res["lost_samples"] == 0,
              "the native client lost blocks or samples beside the console")
        rc = d.stop()
        check(rc == 0, "iiostreamd exited %d:\n%s" % (rc, d.read_log()))
        check("64 of 64 blocks back in the source" in d.read_log(), "blocks not all given back")



if __name__ == "__main__":
    sys.exit(webtest.main(__doc__, run, "daemon-console.log",
                          "the console shows the devices, the client and the sim's peak where predicted",
                          (TestFailure, CdpError)))
