#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What the web console's tests share: a real iiostreamd from the build and
its ports, waits for conditions, certificates made with the openssl CLI,
HTTP(S) requests, and a client-certificate proxy for the browser. Debian's
/usr/bin/python3 and its standard library only (cdp.py adds
python3-websocket)."""
import base64
import hashlib
import http.client
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HANG_S = 60  # the longest any one condition is waited for


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def main(usage, run, log_name, passed, failures=(TestFailure,)):
    """A web test's command line, `TEST BUILD_DIR OUT_DIR`: run(build, out,
    work) in a fresh work directory (removed after); on one of `failures`,
    FAIL, with the daemon's log kept in OUT_DIR as log_name. Its exit status."""
    if len(sys.argv) != 3:
        sys.exit(usage)
    build, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="iios-web-")
    try:
        run(build, out, work)
    except failures as e:
        print("FAIL: %s" % e)
        log = os.path.join(work, "daemon.log")
        if os.path.exists(log):
            shutil.copy(log, os.path.join(out, log_name))
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("PASS: %s" % passed)
    return 0


def wait_until(fn, what, timeout=HANG_S, interval=0.05):
    """fn()'s first truthy value; TestFailure naming `what` after timeout s."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = fn()
            if last:
                return last
        except (OSError, ValueError, http.client.HTTPException) as e:
            last = e
        time.sleep(interval)
    raise TestFailure("waited %d s for %s (last: %r)" % (timeout, what, last))


class Daemon:
    """iiostreamd from `build` with `args`, its log and port file in `workdir`."""

    def __init__(self, build, workdir, args):
        self.log_path = os.path.join(workdir, "daemon.log")
        port_file = os.path.join(workdir, "port")
        argv = [os.path.join(build, "server", "iiostreamd"), "--listen", "127.0.0.1:0",
                "--port-file", port_file] + args
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

        def ports():
            check(self.proc.poll() is None, "iiostreamd exited at start-up (%s):\n%s"
                  % (self.proc.returncode, self.read_log()))
            with open(port_file) as f:
                return [int(x) for x in f.read().split()]
        # a line each: plain, TLS, iiod, then each --http-listen port
        p = wait_until(ports, "iiostreamd's port file")
        self.port, self.tls_port, self.iiod_port = p[0], p[1], p[2]
        self.http_port = p[3] if len(p) > 3 else 0

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM, then its exit status (it must give every block back first)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(HANG_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure("iiostreamd did not exit within %d s of SIGTERM" % HANG_S)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# ---- certificates ----

def openssl(*args):
    subprocess.run(("openssl",) + args, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def make_cert(directory, name, cn, san=None):
    """A P-256 key and a self-signed certificate: (cert path, key path)."""
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn]
    if san:
        args += ["-addext", "subjectAltName=" + san]
    openssl(*args)
    return cert, key


def fingerprint(cert):
    """'sha256:HEX' of the DER certificate, as --allow-write names it."""
    with open(cert) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return "sha256:" + hashlib.sha256(der).hexdigest()


def spki_pin(cert):
    """Base64 SHA-256 of the public key (Chromium's --ignore-certificate-errors-spki-list)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, check=True,
                         capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def client_context(ca, cert=None, key=None):
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


# ---- requests ----

def request(port, method, path, headers=None, body=None, ctx=None):
    """(status, headers with lower-case names, body text) of one request;
    HTTPS when ctx is given."""
    if ctx:
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=HANG_S)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_S)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        c.close()


def status(port, ctx=None, attributes=True):
    s, _, body = request(port, "GET", "/api/v1/status" + ("" if attributes else "?attributes=0"),
                         ctx=ctx)
    check(s == 200, "GET /api/v1/status: %d %s" % (s, body))
    return json.loads(body)


def attribute(port, device, name, ctx=None):
    """A device attribute's value as /api/v1/status shows it."""
    for d in status(port, ctx)["devices"]:
        if d["id"] == device:
            return d["attributes"].get(name)
    raise TestFailure("no device %s in the status" % device)


# ---- a client certificate for the browser ----

class CertProxy:
    """HTTPS in (the browser, with `cert` as the server's) and HTTPS out to
    the daemon's port holding a client certificate: it stands in for a
    browser's certificate store, which headless Chromium cannot be given on
    its command line. Bytes pass unchanged both ways, so the daemon judges
    exactly what the page sent (its Origin and Host are the proxy's, as they
    would be the daemon's behind no proxy)."""

    def __init__(self, target_port, cert, key, out_ctx):
        self.target_port, self.out_ctx = target_port, out_ctx
        self.in_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.in_ctx.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, raw):
        try:
            a = self.in_ctx.wrap_socket(raw, server_side=True)
            b = self.out_ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.target_port)),
                                         server_hostname="127.0.0.1")
        except (OSError, ssl.SSLError):
            raw.close()
            return
        try:
            self._relay(a, b)
        finally:
            a.close()
            b.close()

    @staticmethod
    def _relay(a, b):
        peer = {a: b, b: a}
        for s in (a, b):
            s.setblocking(False)
        while True:
            ready = [s for s in (a, b) if s.pending()] or select.select([a, b], [], [], 120)[0]
            if not ready:
                return
            for s in ready:
                try:
                    data = s.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    continue
                except OSError:
                    return
                if not data:
                    return
                out = peer[s]
                out.setblocking(True)
                try:
                    out.sendall(data)
                except OSError:
                    return
                out.setblocking(False)

    def close(self):
        self.stopping = True
        self.sock.close()
