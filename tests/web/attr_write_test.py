#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Attribute writes over HTTPS (POST /api/v1/attributes, server/http/
attr_write.h) against a real iiostreamd on the sim, its TLS port with a
self-signed certificate made here, and --allow-write and --allow-subscribe
naming one client certificate (the writer's) by fingerprint:

  - the writer (Python's ssl + http.client holding its certificate) writes
    the sim's sampling_frequency; the value reads back through
    /api/v1/status and through the native port (`iiostream attr get`);
  - no certificate, or a certificate not on the list: 403 with its reason,
    /api/v1/access says the same, and the value is unchanged;
  - for the writer too: no Origin, another Origin, "null", the other
    scheme: 403; a form's or text content type: 415; unknown device or
    attribute: 404; a value the device refuses: 422; bad JSON: 400; a CORS
    preflight: 403 with no Access-Control-Allow-* header;
  - in headless Chromium (cdp.py, the daemon's certificate pinned by its
    SPKI) through a proxy that holds the writer's certificate for the
    browser (webtest.CertProxy): the console is editable and a write from
    the page succeeds (read back as above), a refused value shows the
    daemon's reason; a page of another origin (a second HTTP server run
    here), and a data: URL page, each try fetch() with and without CORS and
    HTML form posts (urlencoded, and text/plain shaped as JSON) at the same
    proxy: none writes, every attempt that reaches the daemon is refused as
    cross-site, the value is unchanged;
  - straight to the daemon (no certificate) the console is read-only and
    says why, and shows no spectrum: --allow-subscribe names the writer
    only, and the page says so instead of being refused.
The daemon exits 0 at the end.

    /usr/bin/python3 tests/web/attr_write_test.py BUILD_DIR OUT_DIR
"""
import base64
import http.server
import json
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import CdpError  # noqa: E402
from console_test import need_browser  # noqa: E402
import webtest  # noqa: E402
from webtest import (CertProxy, Daemon, TestFailure, attribute, check, client_context,  # noqa: E402
                     fingerprint, make_cert, request, spki_pin)

PATH = "/api/v1/attributes"
BODY = {"device": "sim", "attribute": "sampling_frequency"}


def write(port, ctx, value, origin=True, headers=None, body=None):
    """POST a write as the console does; (status, headers, body)."""
    h = {"Content-Type": "application/json"}
    if origin is True:
        h["Origin"] = "https://127.0.0.1:%d" % port
    elif origin:
        h["Origin"] = origin
    h.update(headers or {})
    if body is None:
        body = json.dumps(dict(BODY, value=value))
    return request(port, "POST", PATH, h, body, ctx)


def expect(res, status, words, what):
    s, _, body = res
    check(s == status and words in body,
          "%s: expected %d with '%s', got %d %r" % (what, status, words, s, body))
    print("  %-44s %d %s" % (what, s, body.strip()))


def native_read(build, d):
    out = subprocess.run([os.path.join(build, "client", "iiostream"), "attr", "get", "--url",
                          "tcp://127.0.0.1:%d" % d.port, "--device", "sim",
                          "sampling_frequency"], capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, "iiostream attr get: %s" % out.stderr)
    return out.stdout.strip()


def http_checks(build, d, writer, stranger, anonymous):
    hp = d.http_port
    print("who may write (/api/v1/access)")
    for ctx, may, words in ((writer, True, None), (stranger, False, "not on --allow-write"),
                            (anonymous, False, "none was presented")):
        s, _, body = request(hp, "GET", "/api/v1/access", ctx=ctx)
        a = json.loads(body)
        check(s == 200 and a["tls"] and a["may_write"] == may and a["may_subscribe"] == may and
              (words is None or words in a["reason"]), "/api/v1/access: %s" % body)

    print("the writer writes; it reads back through the status and the native port")
    s, _, body = write(hp, writer, "2000000")
    check(s == 200 and json.loads(body)["value"] == "2000000", "write: %d %s" % (s, body))
    check(attribute(hp, "sim", "sampling_frequency", writer) == "2000000", "status read-back")
    check(native_read(build, d) == "2000000", "native read-back")

    print("refused (the value stays 2000000)")
    expect(write(hp, stranger, "3000000"), 403, "not on --allow-write", "a certificate not listed")
    expect(write(hp, anonymous, "3000000"), 403, "none was presented", "no certificate")
    expect(write(hp, writer, "3000000", origin=None), 403, "no Origin", "writer, no Origin")
    expect(write(hp, writer, "3000000", origin="https://evil.example"), 403, "cross-site",
           "writer, another site's Origin")
    expect(write(hp, writer, "3000000", origin="null"), 403, "cross-site",
           "writer, Origin null (a data: URL)")
    expect(write(hp, writer, "3000000", origin="http://127.0.0.1:%d" % hp), 403, "cross-site",
           "writer, Origin of the other scheme")
    expect(write(hp, writer, "3000000", headers={"Content-Type": "text/plain"}), 415,
           "application/json", "writer, text/plain")
    expect(write(hp, writer, None, body="device=sim&attribute=sampling_frequency&value=3000000",
                 headers={"Content-Type": "application/x-www-form-urlencoded"}), 415,
           "application/json", "writer, a form's body")
    expect(write(hp, writer, None, body=json.dumps({"device": "nope", "attribute": "x",
                                                    "value": "1"})),
           404, "no such device", "writer, unknown device")
    expect(write(hp, writer, None, body=json.dumps(dict(BODY, attribute="nope", value="1"))),
           404, "no such attribute", "writer, unknown attribute")
    expect(write(hp, writer, "abc"), 422, "value not accepted", "writer, a value refused")
    expect(write(hp, writer, None, body='{"device":"sim",'), 400, "must be a string",
           "writer, bad JSON")
    s, h, body = request(hp, "OPTIONS", PATH, {
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"}, ctx=writer)
    check(s == 403 and not [k for k in h if k.startswith("access-control-")],
          "a CORS preflight: %d %r" % (s, h))
    print("  %-44s %d %s" % ("a CORS preflight", s, body.strip()))
    s, h, _ = request(hp, "GET", PATH, ctx=writer)
    check(s == 405, "GET %s: %d" % (PATH, s))
    check(attribute(hp, "sim", "sampling_frequency", writer) == "2000000",
          "a refused write changed the value")


ATTACK = """<!DOCTYPE html>
<html><body>
<iframe name="f1"></iframe><iframe name="f2"></iframe>
<form id="urlencoded" method="POST" action="TARGET" target="f1">
<input name="device" value="sim"><input name="attribute" value="sampling_frequency">
<input name="value" value="666"></form>
<form id="textjson" method="POST" action="TARGET" target="f2" enctype="text/plain">
<input name='{"device":"sim","attribute":"sampling_frequency","value":"666","x":"' value='"}'>
</form>
<script>
const T = "TARGET", body = JSON.stringify({device: "sim", attribute: "sampling_frequency",
  value: "666"});
window.results = {};
async function attempt(name, init) {
  try { const r = await fetch(T, init); results[name] = r.type + " " + r.status; }
  catch (e) { results[name] = "blocked: " + e.message; }
}
function post(form, frame) {
  return new Promise((done) => {
    document.querySelector("iframe[name=" + frame + "]").onload = done;
    document.getElementById(form).submit();
  });
}
(async () => {
  await attempt("fetch json (preflight)", {method: "POST", credentials: "include",
    headers: {"Content-Type": "application/json"}, body});
  await attempt("fetch no-cors text", {method: "POST", mode: "no-cors", credentials: "include",
    headers: {"Content-Type": "text/plain"}, body});
  await attempt("fetch no-cors json", {method: "POST", mode: "no-cors", credentials: "include",
    headers: {"Content-Type": "application/json"}, body});
  await post("urlencoded", "f1");
  results["form urlencoded"] = "posted";
  await post("textjson", "f2");
  results["form text/plain json"] = "posted";
  window.done = true;
})();
</script></body></html>
"""


def serve_dir(directory):
    """A second origin: a plain HTTP server for the attacker's page."""
    quiet = type("Quiet", (http.server.SimpleHTTPRequestHandler,),
                 {"log_message": lambda *a: None})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                          lambda *a: quiet(*a, directory=directory))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def browser_checks(build, d, certs, writer, out, work):
    from cdp import Browser
    proxy = CertProxy(d.http_port, certs["server"][0], certs["server"][1],
                      client_context(certs["server"][0], *certs["writer"]))
    attacker = None
    try:
        with Browser(spki=spki_pin(certs["server"][0]),
                     log=os.path.join(out, "chromium-write.log")) as b:
            print("the console through the writer's certificate (proxy port %d)" % proxy.port)
            b.navigate("https://127.0.0.1:%d/" % proxy.port)
            b.wait_for("iiosConsole.mayWrite && !!document.querySelector("
                       "'#devices li[data-device=\"sim\"] input')")
            check(b.evaluate("document.getElementById('access').textContent")
                  .startswith("may write as sha256:"), "the badge names the identity")
            b.wait_for("iiosConsole.frames > 0", timeout=60)  # --allow-subscribe admits it
            row = ("[...document.querySelectorAll('#devices li[data-device=\"sim\"] .attrs li')]"
                   ".find(li => li.querySelector('.name').textContent === 'sampling_frequency')")
            b.evaluate("(() => { const li = %s; li.querySelector('input').value = '3000000';"
                       " li.querySelector('button').click(); })()" % row)
            b.wait_for("%s.querySelector('.msg').textContent === 'set' && "
                       "%s.querySelector('.value').textContent === '3000000'" % (row, row))
            check(attribute(d.http_port, "sim", "sampling_frequency", writer) == "3000000",
                  "the page's write did not reach the device")
            check(native_read(build, d) == "3000000", "native read-back of the page's write")
            print("  the page wrote 3000000: status and native port read it back")
            b.evaluate("(() => { const li = %s; li.querySelector('input').value = 'abc';"
                       " li.querySelector('button').click(); })()" % row)
            msg = b.wait_for("(() => { const m = %s.querySelector('.msg');"
                             " return m.classList.contains('bad') && m.textContent; })()" % row)
            check("value not accepted" in msg, "the page shows the refusal: %s" % msg)
            print("  a refused value shows: %s" % msg)
            b.screenshot(os.path.join(out, "console-write.png"))

            print("another origin's page, and a data: URL page, at the same proxy")
            target = "https://127.0.0.1:%d%s" % (proxy.port, PATH)
            page = ATTACK.replace("TARGET", target)
            os.makedirs(os.path.join(work, "evil"))
            with open(os.path.join(work, "evil", "attack.html"), "w") as f:
                f.write(page)
            attacker = serve_dir(os.path.join(work, "evil"))
            before = d.read_log().count("a cross-site request is refused")
            b.call("Network.enable")
            answered = 0
            for url in ("http://127.0.0.1:%d/attack.html" % attacker.server_address[1],
                        "data:text/html;base64," + base64.b64encode(page.encode()).decode()):
                del b.events[:]
                b.navigate(url)
                res = b.wait_for("window.done && window.results", timeout=60)
                print("  %s: %s" % (url[:40], json.dumps(res)))
                check(res["fetch json (preflight)"].startswith("blocked"),
                      "a JSON fetch from another origin was not stopped by its preflight")
                # what the daemon answered each POST that reached it (the
                # browser's own record, DevTools' Network domain)
                posts = {e["params"]["requestId"] for e in b.events
                         if e["method"] == "Network.requestWillBeSent"
                         and e["params"]["request"]["url"] == target
                         and e["params"]["request"]["method"] == "POST"}
                got = [e["params"]["response"]["status"] for e in b.events
                       if e["method"] == "Network.responseReceived"
                       and e["params"]["requestId"] in posts]
                failed = sorted({e["params"].get("blockedReason") or
                                 (e["params"].get("corsErrorStatus") or {}).get("corsError") or
                                 e["params"].get("errorText") for e in b.events
                                 if e["method"] == "Network.loadingFailed"
                                 and e["params"]["requestId"] in posts})
                print("    %d POSTs sent, the daemon answered %s; the browser stopped others: %s"
                      % (len(posts), got, ", ".join(failed) or "none"))
                check(all(s in (403, 415) for s in got), "a cross-site POST was answered %s" % got)
                answered += len(got)
                check(attribute(d.http_port, "sim", "sampling_frequency", writer) == "3000000",
                      "a cross-site request changed the value")
            b.call("Network.disable")
            refused = d.read_log().count("a cross-site request is refused") - before
            check(answered >= 3 and refused == answered,
                  "the daemon logged %d cross-site refusals, the browser saw %d answers"
                  % (refused, answered))
            print("  every one that reached the daemon (%d) was refused as cross-site; "
                  "value unchanged" % refused)

            print("the console straight from the daemon, no certificate")
            b.navigate("https://127.0.0.1:%d/" % d.http_port)
            b.wait_for("iiosConsole.statusPolls > 0 && !!document.querySelector("
                       "'#devices li[data-device=\"sim\"] .value')")
            check(b.evaluate("document.querySelectorAll('#devices input').length") == 0,
                  "no certificate: the attribute tree must be read-only")
            title = b.evaluate("document.getElementById('access').title")
            check("none was presented" in title, "the badge says why: %r" % title)
            state = b.wait_for("(() => { const t = document.getElementById('sp-state')"
                               ".textContent; return t.includes('allow-subscribe') && t; })()")
            check(b.evaluate("iiosConsole.frames") == 0, "a client not admitted saw the spectrum")
            print("  read-only, and the spectrum says: %s" % state)
            b.screenshot(os.path.join(out, "console-readonly-https.png"))
    finally:
        proxy.close()
        if attacker:
            attacker.shutdown()


def run(build, out, work):
    need_browser()
    certs = {
        "server": make_cert(work, "server", "localhost", "DNS:localhost,IP:127.0.0.1"),
        "writer": make_cert(work, "writer", "console-writer"),
        "stranger": make_cert(work, "stranger", "stranger"),
    }
    ca = certs["server"][0]
    writer = client_context(ca, *certs["writer"])
    stranger = client_context(ca, *certs["stranger"])
    anonymous = client_context(ca)
    with Daemon(build, work, [
            "--source", "sim", "--block-size", "64K", "--http-listen", "127.0.0.1:0",
            "--listen-tls", "127.0.0.1:0", "--tls-cert", certs["server"][0],
            "--tls-key", certs["server"][1],
            "--allow-write", fingerprint(certs["writer"][0]),
            "--allow-subscribe", fingerprint(certs["writer"][0])]) as d:
        http_checks(build, d, writer, stranger, anonymous)
        browser_checks(build, d, certs, writer, out, work)
        rc = d.stop()
        check(rc == 0, "iiostreamd exited %d:\n%s" % (rc, d.read_log()))



if __name__ == "__main__":
    sys.exit(webtest.main(__doc__, run, "daemon-write.log",
                          "writes only with the listed certificate, from this server's own page",
                          (TestFailure, CdpError)))
