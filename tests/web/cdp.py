#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A headless Chromium driven over the DevTools protocol: the real browser
for the web console's tests, with nothing but Debian's `chromium` and
`python3-websocket` (Debian's /usr/bin/python3).

    with Browser() as b:
        b.navigate("http://127.0.0.1:8080/")
        b.wait_for("document.querySelector('#devices li') !== null", timeout=30)
        print(b.evaluate("document.title"))
        b.screenshot("console.png")

Chromium runs with its own throw-away profile, on a DevTools port it picks
itself (read back from the profile's DevToolsActivePort file: no port race).
A test pins an HTTPS server's self-signed certificate with `spki=` (the
base64 SHA-256 of its public key, Chromium's --ignore-certificate-errors-
spki-list): every other certificate error still fails the page.
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket  # python3-websocket


class CdpError(Exception):
    pass


class Browser:
    def __init__(self, width=1280, height=900, spki=None, chromium="chromium", log=None):
        self.profile = tempfile.mkdtemp(prefix="iios-chromium-")
        args = [
            chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update",
            "--remote-debugging-port=0", "--user-data-dir=" + self.profile,
            "--window-size=%d,%d" % (width, height),
        ]
        if spki:
            args.append("--ignore-certificate-errors-spki-list=" + spki)
        args.append("about:blank")
        self.log = open(log or os.devnull, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.next_id = 0
        self.events = []
        try:
            port = self._devtools_port(60)
            self.ws = websocket.create_connection(self._page_ws(port), timeout=60)
            self.call("Page.enable")
            self.call("Runtime.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
        except Exception:
            self.close()
            raise

    def _devtools_port(self, timeout):
        path = os.path.join(self.profile, "DevToolsActivePort")
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise CdpError("chromium exited with status %d" % self.proc.returncode)
            try:
                with open(path) as f:
                    line = f.readline().strip()
                if line:
                    return int(line)
            except FileNotFoundError:
                pass
            time.sleep(0.1)
        raise CdpError("chromium gave no DevTools port in %d s" % timeout)

    @staticmethod
    def _page_ws(port):
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=30) as r:
            targets = json.load(r)
        for t in targets:
            if t.get("type") == "page":
                return t["webSocketDebuggerUrl"]
        raise CdpError("no page target in %r" % targets)

    def call(self, method, **params):
        """One DevTools command; its result, or CdpError with the protocol's."""
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CdpError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def navigate(self, url, timeout=60):
        res = self.call("Page.navigate", url=url)
        if res.get("errorText"):
            raise CdpError("navigate %s: %s" % (url, res["errorText"]))
        self.wait_for("document.readyState === 'complete'", timeout)

    def evaluate(self, expr):
        """The value of a JavaScript expression in the page (JSON-able)."""
        res = self.call("Runtime.evaluate", expression=expr, returnByValue=True,
                        awaitPromise=True)
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise CdpError("%s: %s" % (expr, d.get("exception", {}).get("description", d)))
        return res["result"].get("value")

    def wait_for(self, expr, timeout=30, interval=0.2):
        """Wait until expr is truthy in the page; its value, or CdpError after timeout s."""
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            try:
                last = self.evaluate(expr)
                if last:
                    return last
            except CdpError as e:
                last = e
            time.sleep(interval)
        raise CdpError("not true after %d s: %s (last: %r)" % (timeout, expr, last))

    def console_messages(self):
        """The page's console output and uncaught exceptions seen so far."""
        out = []
        for e in self.events:
            if e["method"] == "Runtime.consoleAPICalled":
                out.append(" ".join(str(a.get("value", a.get("description", "")))
                                    for a in e["params"]["args"]))
            elif e["method"] == "Runtime.exceptionThrown":
                out.append("exception: %s" % e["params"]["exceptionDetails"].get("text"))
        return out

    def screenshot(self, path):
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        with open(path, "wb") as f:
            f.write(png)
        return len(png)

    def close(self):
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
