// SPDX-License-Identifier: MIT
// The web console (docs/observability.md, "The web console"): the daemon's
// status polled each second (/api/v1/status), a live spectrum and waterfall
// from a WebSocket (/api/v1/spectrum, frames as server/spectrum/spectrum_frame.h
// lays them out), and attribute writes (POST /api/v1/attributes) when this
// connection may write (/api/v1/access). No framework, nothing fetched from
// elsewhere. What a test reads without scraping pixels is in `iiosConsole`
// and in the elements #peak-hz, #peak-db, #frames and #skips.
"use strict";

const $ = (id) => document.getElementById(id);

// The state a test (or a curious user in the devtools) can read.
const iiosConsole = window.iiosConsole = {
  statusPolls: 0,     // status replies rendered
  mayWrite: false,
  maySubscribe: true, // --allow-subscribe admits this connection: it may see the spectrum
  frames: 0,          // spectrum frames received on the current WebSocket
  skipped: 0,         // frames the daemon skipped for this viewer (it was slow)
  peakHz: null,       // the latest frame's strongest bin: frequency, Hz
  peakDb: null,       //   and level, dBFS (unquantised, from the header)
  spectrum: null,     // what the daemon says it computes ({"type":"spectrum",...})
  plot: null,         // the spectrum canvas' plot area and axes (device pixels)
  drawn: 0,           // frames drawn
};

// ---- formatting ---------------------------------------------------------

function fmtHz(hz) {
  const a = Math.abs(hz);
  if (a >= 1e6) return (hz / 1e6).toFixed(4) + " MHz";
  if (a >= 1e3) return (hz / 1e3).toFixed(3) + " kHz";
  return hz.toFixed(1) + " Hz";
}

function fmtRate(bps) {
  if (bps >= 1e6) return (bps / 1e6).toFixed(1) + " MB/s";
  if (bps >= 1e3) return (bps / 1e3).toFixed(1) + " kB/s";
  return bps.toFixed(0) + " B/s";
}

function fmtDuration(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return (d ? d + " d " : "") + (d || h ? h + " h " : "") + m + " min " + Math.floor(s % 60) + " s";
}

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children) e.append(c);
  return e;
}

// ---- status: daemon, clients, devices -------------------------------------

let attributes = {};       // "device/channel" -> {name: value}, from the last full read
let structureKey = "";     // the devices' shape the DOM was built for
let lastFullRead = 0;
const FULL_READ_MS = 10000; // attribute values (sysfs reads on a board) less often

async function poll() {
  const full = Date.now() - lastFullRead >= FULL_READ_MS;
  try {
    const r = await fetch("/api/v1/status" + (full ? "" : "?attributes=0"), { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    const s = await r.json();
    if (full) {
      lastFullRead = Date.now();
      collectAttributes(s);
    }
    render(s);
    $("live").textContent = "live";
    $("live").classList.remove("stale");
  } catch (e) {
    $("live").textContent = "status: " + e.message;
    $("live").classList.add("stale");
  }
  setTimeout(poll, 1000);
}

function collectAttributes(s) {
  attributes = {};
  for (const d of s.devices) {
    attributes[d.id + "/"] = d.attributes || {};
    for (const c of d.channels) attributes[d.id + "/" + c.id] = c.attributes || {};
  }
}

function render(s) {
  const dm = s.daemon;
  $("daemon").textContent = "version " + dm.version + " · up " + fmtDuration(dm.uptime_seconds) +
    " · CPU " + (100 * dm.cpu_load).toFixed(1) + " % of a core" +
    (s.spectrum ? ` · spectrum viewers ${s.spectrum.viewers}` : "");
  renderClients(s.clients);
  renderDevices(s.devices);
  updateDeviceChoice(s.devices);
  iiosConsole.statusPolls++;
}

function renderClients(clients) {
  const tbody = $("clients").tBodies[0];
  tbody.replaceChildren(...clients.map((c) => {
    const num = (v) => el("td", { className: "num", textContent: String(v) });
    const id = c.tls_identity || "";
    const tr = el("tr", {},
      num(c.id), el("td", { textContent: c.peer }), el("td", { textContent: c.transport }),
      el("td", { textContent: id.length > 22 ? id.slice(0, 22) + "…" : id, title: id }),
      el("td", { className: "num", textContent: fmtRate(c.rate_bytes_per_second) }),
      num(c.blocks_sent),
      el("td", { className: c.blocks_skipped ? "num skips" : "num", textContent: String(c.blocks_skipped) }),
      num(c.queue_blocks));
    tr.dataset.client = c.id;
    tr.dataset.transport = c.transport;
    return tr;
  }));
  $("no-clients").hidden = clients.length > 0;
}

function counterLine(d) {
  const c = d.counters;
  if (d.direction === "rx")
    return `${c.blocks_produced} blocks produced, ${c.blocks_sent} sent, ${c.blocks_skipped} ` +
      `skipped, ${c.overflows} overflows, ${c.lost_samples} samples lost`;
  return `${c.blocks_played} blocks played, ${c.underflows} underflows ` +
    `(${c.underflow_samples} samples)`;
}

// The devices' shape: rebuilt only when it changes, so an attribute being
// edited keeps its input.
function renderDevices(devices) {
  const key = JSON.stringify(devices.map((d) => [d.id, Object.keys(attributes[d.id + "/"] || {}),
    d.channels.map((c) => [c.id, Object.keys(attributes[d.id + "/" + c.id] || {})])]));
  const mayWrite = iiosConsole.mayWrite;
  if (key + mayWrite !== structureKey) {
    structureKey = key + mayWrite;
    $("devices").replaceChildren(...devices.map(deviceCard));
  }
  for (const d of devices) {
    const li = $("devices").querySelector(`li[data-device="${CSS.escape(d.id)}"]`);
    if (!li) continue;
    li.querySelector(".counters").textContent = counterLine(d);
    for (const v of li.querySelectorAll(".value")) {
      const val = (attributes[v.dataset.path] || {})[v.dataset.attr];
      if (val !== undefined) v.textContent = val;
    }
  }
}

function deviceCard(d) {
  const li = el("li", { className: "device" },
    el("h3", {}, d.id + " ", el("small", {
      textContent: `${d.name} · ${d.direction} · ${d.source} · ${d.sample_rate} samples/s`
    })),
    el("div", { className: "counters" }),
    attrList(d.id, "", false, attributes[d.id + "/"] || {}));
  li.dataset.device = d.id;
  for (const c of d.channels) {
    const det = el("details", {}, el("summary", {
      textContent: `${c.id} (${c.format}${c.enabled ? ", captured" : ""})`
    }), attrList(d.id, c.id, d.direction === "tx", attributes[d.id + "/" + c.id] || {}));
    li.append(det);
  }
  return li;
}

function attrList(device, channel, output, attrs) {
  const ul = el("ul", { className: "attrs" });
  for (const [name, value] of Object.entries(attrs)) {
    const v = el("span", { className: "value", textContent: value });
    v.dataset.path = device + "/" + channel;
    v.dataset.attr = name;
    const li = el("li", {}, el("span", { className: "name", textContent: name }), v);
    if (iiosConsole.mayWrite) {
      const input = el("input", { value: value, title: name });
      const msg = el("span", { className: "msg" });
      const set = el("button", { type: "button", textContent: "set" });
      set.onclick = () => writeAttr({ device, channel, output, attribute: name, value: input.value },
        v, msg);
      input.onkeydown = (e) => { if (e.key === "Enter") set.click(); };
      li.append(input, set, msg);
    }
    ul.append(li);
  }
  return ul;
}

// ---- attribute writes -----------------------------------------------------

async function checkAccess() {
  try {
    const a = await (await fetch("/api/v1/access", { cache: "no-store" })).json();
    iiosConsole.mayWrite = a.may_write;
    iiosConsole.maySubscribe = a.may_subscribe !== false;
    $("access").textContent = a.may_write ? "may write as " + a.identity.slice(0, 20) + "…"
      : "read-only";
    $("access").title = a.reason || "";
    $("access").classList.toggle("write", a.may_write);
  } catch (e) {
    $("access").textContent = "read-only";
  }
}

// JSON, which a page of another site cannot send here without a CORS
// preflight (refused); the browser adds this page's Origin, which the
// daemon checks.
async function writeAttr(body, valueEl, msg) {
  msg.className = "msg";
  msg.textContent = "…";
  try {
    const r = await fetch("/api/v1/attributes", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error((await r.text()).trim() || "HTTP " + r.status);
    const a = await r.json();
    valueEl.textContent = a.value;
    (attributes[body.device + "/" + body.channel] || {})[body.attribute] = a.value;
    msg.className = "msg ok";
    msg.textContent = "set";
  } catch (e) {
    msg.className = "msg bad";
    msg.textContent = e.message;
  }
}

// ---- spectrum: the choice of device and channels ----------------------------

let devicesKey = "";

function updateDeviceChoice(devices) {
  const rx = devices.filter((d) => d.direction === "rx");
  const key = JSON.stringify(rx.map((d) => [d.id, d.channels.map((c) => c.index)]));
  if (key === devicesKey) return;
  devicesKey = key;
  const sel = $("sp-device"), was = sel.value;
  sel.replaceChildren(...rx.map((d) => el("option", { value: d.id, textContent: d.id })));
  if (rx.some((d) => d.id === was)) sel.value = was;
  sel.devices = rx;
  updateChannelChoice();
  if (!ws && !paused) openSpectrum();
}

// I/Q pairs of neighbouring channels first (a complex spectrum), then
// each channel alone (a real one).
function updateChannelChoice() {
  const d = ($("sp-device").devices || []).find((x) => x.id === $("sp-device").value);
  const ch = d ? d.channels : [];
  const opts = [];
  for (let i = 0; i + 1 < ch.length; i += 2)
    opts.push([`${ch[i].index},${ch[i + 1].index}`, `I/Q ${ch[i].id} + ${ch[i + 1].id}`]);
  for (const c of ch) opts.push([String(c.index), `real ${c.id}`]);
  $("sp-channels").replaceChildren(...opts.map(([v, t]) => el("option", { value: v, textContent: t })));
}

function query() {
  return "device=" + encodeURIComponent($("sp-device").value) + "&channels=" + $("sp-channels").value +
    "&bins=" + $("sp-bins").value + "&fps=" + Math.min(25, Math.max(1, $("sp-fps").value | 0));
}

// ---- spectrum: the WebSocket --------------------------------------------------

let ws = null, paused = false, retry = null;
let frame = null;      // the latest frame, decoded
let hold = null;       // peak hold: the highest level byte per bin

function openSpectrum() {
  if (!$("sp-device").value) return;
  if (!iiosConsole.maySubscribe) {
    // the daemon would refuse it (403): the spectrum shows the samples
    $("sp-state").textContent = "not shown: --allow-subscribe does not admit this client";
    return;
  }
  clearTimeout(retry);
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    "/api/v1/spectrum?" + query();
  const sock = ws = new WebSocket(url);
  sock.binaryType = "arraybuffer";
  iiosConsole.frames = 0;
  hold = null;
  $("sp-state").textContent = "connecting";
  let heard = false;
  sock.onmessage = (m) => {
    heard = true;
    if (typeof m.data === "string") return onText(JSON.parse(m.data));
    const f = parseFrame(m.data);
    if (f) onFrame(f);
  };
  sock.onclose = (e) => {
    if (ws !== sock) return;
    ws = null;
    $("sp-state").textContent = "closed" + (e.reason ? ": " + e.reason : "") +
      (paused ? "" : "; again in 2 s");
    if (!heard && !paused) whyRefused();
    if (!paused) retry = setTimeout(openSpectrum, heard ? 2000 : 5000);
  };
}

// A WebSocket refused at its handshake tells the page nothing: the same
// request as plain HTTP gets the daemon's reason (the query is checked
// before the upgrade; a good one is answered "not a WebSocket upgrade").
async function whyRefused() {
  try {
    const r = await fetch("/api/v1/spectrum?" + query(), { cache: "no-store" });
    const text = (await r.text()).trim();
    if (!ws && !text.includes("not a WebSocket upgrade"))
      $("sp-state").textContent = `refused (${r.status}): ${text}; again in 5 s`;
  } catch (e) { /* the daemon is gone: the status badge says so */ }
}

function onText(m) {
  if (m.type === "spectrum") {
    iiosConsole.spectrum = m;
    hold = null;
    $("sp-state").textContent = `${m.device_id}: ${m.kind}, ${m.bins} bins, ${m.fps} frames/s`;
  } else if (m.type === "error") {
    $("sp-state").textContent = "refused: " + m.message;
  }
}

// A change of device, channels, bins or rate: the daemon changes the
// spectrum in place (the query's syntax as a message), or says why not.
function changeSpectrum() {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(query());
  else if (!paused) openSpectrum();
}

// A frame (spectrum_frame.h), or null if it is not one.
function parseFrame(buf) {
  if (buf.byteLength < 96) return null;
  const v = new DataView(buf);
  if (v.getUint32(0, true) !== 0x50534949 || v.getUint16(4, true) !== 1) return null;
  const hb = v.getUint16(6, true), bins = v.getUint32(8, true);
  if (hb < 96 || bins < 1 || bins > 4096 || buf.byteLength < hb + bins) return null;
  const span = v.getFloat64(32, true);
  return {
    bins, complex: (v.getUint32(12, true) & 1) === 1, sampleRate: v.getFloat64(16, true),
    lo: v.getFloat64(24, true) - span / 2, span,
    sequence: Number(v.getBigUint64(56, true)), skipped: Number(v.getBigUint64(64, true)),
    peakBin: v.getUint32(72, true), peakDb: v.getFloat32(76, true),
    dbOffset: v.getFloat32(80, true), dbStep: v.getFloat32(84, true),
    levels: new Uint8Array(buf, hb, bins),
  };
}

const binHz = (f, i) => f.lo + i * f.span / f.bins;
const levelDb = (f, v) => f.dbOffset + v * f.dbStep;

function onFrame(f) {
  if (!hold || hold.length !== f.bins) hold = new Uint8Array(f.bins);
  for (let i = 0; i < f.bins; i++) if (f.levels[i] > hold[i]) hold[i] = f.levels[i];
  frame = f;
  iiosConsole.frames++;
  iiosConsole.skipped = f.skipped;
  iiosConsole.peakHz = binHz(f, f.peakBin);
  iiosConsole.peakDb = f.peakDb;
  $("frames").textContent = iiosConsole.frames;
  $("skips").textContent = f.skipped;
  $("peak-hz").textContent = fmtHz(iiosConsole.peakHz);
  $("peak-hz").dataset.hz = iiosConsole.peakHz;
  $("peak-db").textContent = f.peakDb.toFixed(1) + " dBFS";
  $("peak-db").dataset.db = f.peakDb;
  drawSpectrum();
  drawWaterfallRow();
  iiosConsole.drawn++;
}

// ---- spectrum: drawing ---------------------------------------------------------

const M = { left: 46, right: 8, top: 8, bottom: 20 }; // the spectrum's margins, CSS pixels
let cursorX = null;

// Each canvas' backing store at its displayed size in device pixels.
function fitCanvas(c) {
  const r = window.devicePixelRatio || 1;
  const w = Math.round(c.clientWidth * r), h = Math.round(c.clientHeight * r);
  if (c.width !== w || c.height !== h) { c.width = w; c.height = h; return true; }
  return false;
}

function dbRange() {
  let lo = Number($("db-min").value), hi = Number($("db-max").value);
  if (!(hi > lo)) hi = lo + 10;
  return [lo, hi];
}

// The plot area in device pixels, shared by both canvases' x axis.
function plotArea(c) {
  const r = window.devicePixelRatio || 1;
  return { x0: Math.round(M.left * r), x1: c.width - Math.round(M.right * r),
    y0: Math.round(M.top * r), y1: c.height - Math.round(M.bottom * r), r };
}

// The strongest of the bins column x (of w columns) covers, its index:
// a narrow tone stays visible however many bins share a pixel.
function columnPeak(levels, x, w) {
  const n = levels.length, a = Math.min(n - 1, Math.floor(x * n / w));
  const b = Math.max(a + 1, Math.floor((x + 1) * n / w));
  let m = a;
  for (let i = a + 1; i < b && i < n; i++) if (levels[i] > levels[m]) m = i;
  return m;
}
const columnMax = (levels, x, w) => levels[columnPeak(levels, x, w)];

function drawSpectrum() {
  const c = $("spectrum"), ctx = c.getContext("2d");
  fitCanvas(c);
  const p = plotArea(c), w = p.x1 - p.x0, [lo, hi] = dbRange();
  const y = (db) => p.y1 - (Math.min(hi, Math.max(lo, db)) - lo) / (hi - lo) * (p.y1 - p.y0);
  ctx.fillStyle = "#0b1020";
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.font = `${11 * p.r}px system-ui, sans-serif`;
  ctx.strokeStyle = "#26304a";
  ctx.fillStyle = "#8a94b0";
  ctx.lineWidth = 1;
  const step = (hi - lo) > 80 ? 20 : 10;
  ctx.textAlign = "right";
  for (let db = Math.ceil(lo / step) * step; db <= hi; db += step) {
    ctx.beginPath(); ctx.moveTo(p.x0, y(db) + .5); ctx.lineTo(p.x1, y(db) + .5); ctx.stroke();
    ctx.fillText(String(db), p.x0 - 4 * p.r, y(db) + 4 * p.r);
  }
  if (!frame) return;
  const f = frame;
  for (let k = 0; k <= 8; k++) {
    const x = p.x0 + k * w / 8;
    ctx.beginPath(); ctx.moveTo(Math.round(x) + .5, p.y0); ctx.lineTo(Math.round(x) + .5, p.y1); ctx.stroke();
    ctx.textAlign = k === 0 ? "left" : k === 8 ? "right" : "center"; // the ends inside the canvas
    ctx.fillText(fmtHz(f.lo + k * f.span / 8), k === 0 ? 2 * p.r : x, c.height - 5 * p.r);
  }
  const trace = (levels, style) => {
    ctx.strokeStyle = style;
    ctx.beginPath();
    for (let x = 0; x < w; x++) {
      const yy = y(levelDb(f, columnMax(levels, x, w)));
      if (x) ctx.lineTo(p.x0 + x + .5, yy); else ctx.moveTo(p.x0 + .5, yy);
    }
    ctx.stroke();
  };
  if ($("peak-hold").checked && hold) trace(hold, "#f59e0b");
  trace(f.levels, "#4ade80");
  // the peak, marked where the header says it is
  const px = p.x0 + (f.peakBin + .5) * w / f.bins, py = y(f.peakDb);
  ctx.fillStyle = "#f87171";
  ctx.beginPath(); ctx.moveTo(px, py - 3 * p.r); ctx.lineTo(px - 5 * p.r, py - 11 * p.r);
  ctx.lineTo(px + 5 * p.r, py - 11 * p.r); ctx.fill();
  if (cursorX !== null && cursorX >= p.x0 && cursorX < p.x1) {
    ctx.strokeStyle = "#e8ebf2";
    ctx.setLineDash([4 * p.r, 4 * p.r]);
    ctx.beginPath(); ctx.moveTo(cursorX + .5, p.y0); ctx.lineTo(cursorX + .5, p.y1); ctx.stroke();
    ctx.setLineDash([]);
  }
  iiosConsole.plot = { x0: p.x0, x1: p.x1, y0: p.y0, y1: p.y1, loHz: f.lo, hiHz: f.lo + f.span,
    dbMin: lo, dbMax: hi, width: c.width, height: c.height };
}

// 256 colours from dark to bright (magma's stops), for the waterfall.
const PALETTE = (() => {
  const stops = [[0, 0, 4], [40, 17, 94], [114, 31, 129], [183, 55, 121], [241, 96, 93],
    [254, 176, 120], [252, 253, 191]];
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255 * (stops.length - 1), k = Math.min(stops.length - 2, Math.floor(t)), u = t - k;
    for (let j = 0; j < 3; j++) out[i * 3 + j] = stops[k][j] + u * (stops[k + 1][j] - stops[k][j]);
  }
  return out;
})();

// The waterfall moves down a row a frame; the new row on top, on the same
// x axis as the spectrum.
function drawWaterfallRow() {
  const c = $("waterfall"), ctx = c.getContext("2d"), s = $("spectrum");
  if (fitCanvas(c)) { ctx.fillStyle = "#000004"; ctx.fillRect(0, 0, c.width, c.height); }
  const p = plotArea(s), w = p.x1 - p.x0, f = frame, [lo, hi] = dbRange();
  if (w <= 0 || c.height < 2) return;
  ctx.drawImage(c, 0, 0, c.width, c.height - 1, 0, 1, c.width, c.height - 1);
  const row = ctx.createImageData(w, 1);
  for (let x = 0; x < w; x++) {
    const db = levelDb(f, columnMax(f.levels, x, w));
    const k = Math.round(Math.min(1, Math.max(0, (db - lo) / (hi - lo))) * 255) * 3;
    row.data.set([PALETTE[k], PALETTE[k + 1], PALETTE[k + 2], 255], x * 4);
  }
  ctx.putImageData(row, p.x0, 0);
}

// The cursor readout: frequency and level of the bin under the mouse (of
// the strongest, where a pixel column covers several: the one drawn).
function onMouse(e) {
  const s = $("spectrum"), r = e.target.getBoundingClientRect();
  const p = plotArea(s), x = Math.floor((e.clientX - r.left) * s.width / r.width);
  if (!frame || x < p.x0 || x >= p.x1) { cursorX = null; $("cursor").textContent = "–"; return; }
  const f = frame, i = columnPeak(f.levels, x - p.x0, p.x1 - p.x0);
  cursorX = x;
  $("cursor").textContent = fmtHz(binHz(f, i)) + ", " + levelDb(f, f.levels[i]).toFixed(1) + " dBFS";
  drawSpectrum();
}

// Fit the dB range to the current frame: from below its noise to above its peak.
function autoRange() {
  if (!frame) return;
  const sorted = Array.from(frame.levels).sort((a, b) => a - b);
  const floor = levelDb(frame, sorted[Math.floor(sorted.length * .05)]);
  $("db-min").value = Math.floor((floor - 10) / 5) * 5;
  $("db-max").value = Math.min(5, Math.ceil((frame.peakDb + 10) / 5) * 5); // 0 dBFS is the top
  drawSpectrum();
}

// ---- start -----------------------------------------------------------------------

function start() {
  $("sp-device").onchange = () => { updateChannelChoice(); changeSpectrum(); };
  for (const id of ["sp-channels", "sp-bins", "sp-fps"]) $(id).onchange = changeSpectrum;
  for (const id of ["db-min", "db-max", "peak-hold"]) $(id).onchange = drawSpectrum;
  $("db-auto").onclick = autoRange;
  $("peak-reset").onclick = () => { hold = null; drawSpectrum(); };
  $("sp-run").onclick = () => {
    paused = !paused;
    $("sp-run").textContent = paused ? "resume" : "pause";
    if (paused && ws) ws.close(1000, "paused");
    else if (!paused) openSpectrum();
  };
  for (const id of ["spectrum", "waterfall"]) {
    $(id).onmousemove = onMouse;
    $(id).onmouseleave = () => { cursorX = null; $("cursor").textContent = "–"; drawSpectrum(); };
  }
  window.onresize = drawSpectrum;
  drawSpectrum();
  checkAccess().then(poll);
}

start();
