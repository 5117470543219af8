#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""QA of iiostream.source: headless flowgraphs against real iiostreamd
daemons on loopback (the simulated source; no mocks).

Run by ctest (gr_qa_source) with Debian's /usr/bin/python3 and:
  PYTHONPATH       the build tree's python/ (gnuradio.iiostream)
  IIOSTREAMD       the daemon, IIOSTREAM_CLI the iiostream command,
  IIOSTREAM_LIB    libiiostream.so (a second client, through ctypes),
  MAKE_TEST_CERTS  tests/tools/make_test_certs (TLS certificates).

Every sample is checked against the simulated pattern: the sample of
channel c at absolute scan n is iios_pattern_sample(n, c) (pattern.h),
with n taken from the block's rx_sample tags.
"""
import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio import iiostream

IIOSTREAMD = os.environ.get("IIOSTREAMD", "")
IIOSTREAM_CLI = os.environ.get("IIOSTREAM_CLI", "")
IIOSTREAM_LIB = os.environ.get("IIOSTREAM_LIB", "")
MAKE_TEST_CERTS = os.environ.get("MAKE_TEST_CERTS", "")

SCANS_PER_BLOCK = 65536 // 4  # --block-size 64K of two int16 channels

# Seconds: a bound on any wait, reached only by a hang. The tests wait for
# what happens, never for a time: a loaded machine is slow, not broken.
HANG = 60


# ---- the pattern (common/include/iiostream/pattern.h) -------------------

def pattern(n, channel):
    """iios_pattern_sample(n, channel) as int16, for an array of scans n."""
    n = np.asarray(n, dtype=np.uint64)
    lo = n & np.uint64(0xFFFF)
    mid = (n >> np.uint64(16)) & np.uint64(0xFFFF)
    hi = (n >> np.uint64(32)) & np.uint64(0xFFFF)
    v = (lo * np.uint64(0x9E37) + mid * np.uint64(0x6B43) + hi * np.uint64(0x2F1D)
         + np.uint64(channel * 0x3C6F + 0x1234)) & np.uint64(0xFFFF)
    return v.astype(np.uint16).view(np.int16)


def key(tag):
    return pmt.symbol_to_string(tag.key)


def tags_named(tags, name):
    return sorted((t for t in tags if key(t) == name), key=lambda t: t.offset)


def loss_of(tag):
    d = tag.value
    return (pmt.to_uint64(pmt.dict_ref(d, pmt.intern("lost_samples"), pmt.PMT_NIL)),
            pmt.to_uint64(pmt.dict_ref(d, pmt.intern("lost_blocks"), pmt.PMT_NIL)),
            pmt.symbol_to_string(pmt.dict_ref(d, pmt.intern("cause"), pmt.PMT_NIL)))


def rx_time_ns(tag):
    secs = pmt.to_uint64(pmt.tuple_ref(tag.value, 0))
    frac = pmt.to_double(pmt.tuple_ref(tag.value, 1))
    return secs * 1_000_000_000 + round(frac * 1e9)


def scan_indices(nitems, tags):
    """The absolute scan index of each of nitems items, from rx_sample tags
    (one at the first item of every block)."""
    marks = [(t.offset, pmt.to_uint64(t.value)) for t in tags_named(tags, "rx_sample")]
    assert marks and marks[0][0] == 0, "no rx_sample tag on the first item"
    idx = np.empty(nitems, dtype=np.uint64)
    for i, (off, first) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else nitems
        idx[off:end] = np.uint64(first) + np.arange(end - off, dtype=np.uint64)
    return idx


# ---- the daemon ----------------------------------------------------------

class Daemon:
    """iiostreamd on 127.0.0.1 (the sim source), stopped by stop()/kill()."""

    def __init__(self, *args, rate=1000000, channels=2, port=0, workdir=None):
        self.dir = workdir or tempfile.mkdtemp(prefix="gr-qa-")
        self.own_dir = workdir is None
        port_file = os.path.join(self.dir, f"port.{time.monotonic_ns()}")
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.log = open(self.log_path, "a")
        cmd = [IIOSTREAMD, "--rate", str(rate), "--channels", str(channels),
               "--block-size", "64K", "--listen", f"127.0.0.1:{port}",
               "--port-file", port_file, *args]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + HANG
        lines = []
        while time.monotonic() < deadline:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    lines = f.read().split()
                if len(lines) >= 2:
                    break
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        if len(lines) < 2:
            self.kill()
            raise RuntimeError(f"iiostreamd did not start: {self.read_log()}")
        self.port, self.tls_port = int(lines[0]), int(lines[1])
        # with --iiod-listen: libiio's URI of the iiod-compatible port
        self.iiod_uri = f"ip:127.0.0.1:{lines[2]}" if len(lines) > 2 and lines[2] != "0" else ""
        self.url = f"tcp://127.0.0.1:{self.port}"

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def cli(self, *args):
        return subprocess.run([IIOSTREAM_CLI, *args, "--url", self.url], check=True,
                              capture_output=True, text=True, timeout=HANG).stdout

    def skipped_total(self):
        """Blocks the daemon skipped for slow clients since it started."""
        m = re.search(r"client skips:\s+(\d+) blocks", self.cli("stats"))
        assert m, "no 'client skips' line in iiostream stats"
        return int(m.group(1))

    def cpu_wait_s(self):
        """How long the daemon's loop has waited, runnable, for a CPU
        (run_delay of /proc/PID/schedstat): what a loaded machine took."""
        with open(f"/proc/{self.proc.pid}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9

    def assert_overflow_excused(self, wait0, ring_s, lost_samples, what):
        """Scans the source lost to overflows are the daemon's fault unless
        the machine held its loop back (since wait0) at least as long as its
        ring of blocks lasts (ring_s)."""
        waited = self.cpu_wait_s() - wait0
        assert not lost_samples or waited >= ring_s, (
            f"{what}: {lost_samples} scans lost to overflows, and the daemon waited only "
            f"{waited:.3f} s for a CPU meanwhile (its ring lasts {ring_s:.3f} s)")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(HANG)
        self._close()

    def stop(self):
        """SIGTERM; the daemon's exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
        try:
            rc = self.proc.wait(HANG)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(HANG)
        self._close()
        return rc

    def _close(self):
        self.log.close()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.own_dir = False


# ---- helpers -------------------------------------------------------------

LIBC = ctypes.CDLL(None)


@contextlib.contextmanager
def captured_log(into):
    """Everything GNU Radio's log writes meanwhile (its console sink writes
    to stdout, fd 1), appended to the list `into` as one string; also
    copied to our stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+") as f:
        os.dup2(f.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            LIBC.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
            f.seek(0)
            text = f.read()
            into.append(text)
            sys.stdout.write(text)


def wait_until(cond, what, timeout=HANG):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def wait_flowgraph(tb, timeout=HANG):
    """tb.wait() bounded: the seconds it took, or None if it did not end."""
    t0 = time.monotonic()
    th = threading.Thread(target=tb.wait, daemon=True)
    th.start()
    th.join(timeout)
    return None if th.is_alive() else time.monotonic() - t0


class IiosBlock(ctypes.Structure):
    """struct iios_block (client/include/iiostream.h)."""
    _fields_ = [("block_id", ctypes.c_uint32), ("bytes_used", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("timestamp_ns", ctypes.c_uint64),
                ("sequence", ctypes.c_uint64), ("first_sample", ctypes.c_uint64),
                ("lost_before", ctypes.c_uint64), ("lost_samples", ctypes.c_uint64),
                ("dequeue_ns", ctypes.c_uint64), ("data", ctypes.c_void_p),
                ("len", ctypes.c_size_t), ("stream_id", ctypes.c_uint32)]


class OtherClient:
    """A second libiiostream client in a thread: it receives until stop(),
    keeping {first_sample: timestamp_ns} of its blocks (`seen`); started()
    once it has its first block."""

    def __init__(self, url):
        self.url, self.seen, self.error = url, {}, None
        self._first, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            block_timestamps(self.url, self.seen, self._first, self._stop)
        except Exception as e:  # reported by started() and stop()
            self.error = e
            self._first.set()

    def started(self):
        """Wait for its first block (HANG at most); it must have one."""
        assert self._first.wait(HANG), "the other client got no block"
        assert self.error is None, f"the other client: {self.error}"

    def stop(self):
        self._stop.set()
        self._thread.join(HANG)
        assert not self._thread.is_alive(), "the other client did not stop"
        assert self.error is None, f"the other client: {self.error}"
        return self.seen


def block_timestamps(url, seen, first, stop):
    """A second libiiostream client's view of the stream: {first_sample:
    timestamp_ns} of the blocks it receives into `seen` until `stop` is
    set; `first` is set once it has a block."""
    lib = ctypes.CDLL(IIOSTREAM_LIB)
    lib.iios_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p,
                                 ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p,
                                 ctypes.c_size_t]
    lib.iios_subscribe.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p]
    lib.iios_next_block.argtypes = [ctypes.c_void_p, ctypes.POINTER(IiosBlock)]
    lib.iios_close.argtypes = [ctypes.c_void_p]
    client = ctypes.c_void_p()
    err = ctypes.create_string_buffer(256)
    if lib.iios_connect(url.encode(), None, ctypes.byref(client), err, 256) < 0:
        raise RuntimeError(err.value.decode())
    info = ctypes.create_string_buffer(65536)  # struct iios_stream_info, with room
    try:
        assert lib.iios_subscribe(client, 0, info) == 0
        blk = IiosBlock()
        while not stop.is_set():
            assert lib.iios_next_block(client, ctypes.byref(blk)) == 0
            seen[blk.first_sample] = blk.timestamp_ns
            first.set()
    finally:
        lib.iios_close(client)


class last_tag_sink(gr.sync_block):
    """Consumes one int16 stream, keeping only the last rx_time tag."""

    def __init__(self):
        gr.sync_block.__init__(self, "last_tag_sink", [np.int16], [])
        self.last_rx_time = None

    def work(self, input_items, output_items):
        n = len(input_items[0])
        start = self.nitems_read(0)
        for t in self.get_tags_in_range(0, start, start + n):
            if key(t) == "rx_time":
                self.last_rx_time = t
        return n


class tag_sink(gr.sync_block):
    """Consumes two int16 streams, keeping their tags; while `slow` it takes
    at most 1000 items per 10 ms (100 k scans/s). At each rx_sample tag it
    checks the sample against the pattern."""

    def __init__(self):
        gr.sync_block.__init__(self, "tag_sink", [np.int16, np.int16], [])
        self.slow = True
        self.items = 0
        self.tags = []
        self.bad = []

    def work(self, input_items, output_items):
        n = len(input_items[0])
        if self.slow:
            time.sleep(0.01)
            n = min(n, 1000)
        start = self.nitems_read(0)
        for t in self.get_tags_in_range(0, start, start + n):
            self.tags.append(t)
            if key(t) == "rx_sample":
                scan = pmt.to_uint64(t.value)
                i = t.offset - start
                got = (int(input_items[0][i]), int(input_items[1][i]))
                want = (int(pattern([scan], 0)[0]), int(pattern([scan], 1)[0]))
                if got != want:
                    self.bad.append((scan, got, want))
        self.items += n
        return n


# ---- the tests -----------------------------------------------------------

class qa_source(gr_unittest.TestCase):

    def setUp(self):
        self.tb = gr.top_block()
        self.daemons = []
        # Python blocks, kept alive until the flowgraph is stopped: a
        # failing test's frame (its locals) is cleared while they still run
        self.python_blocks = []

    def tearDown(self):
        self.tb.stop()
        wait_flowgraph(self.tb)
        self.tb = None
        self.python_blocks = []
        for d in self.daemons:
            d.stop()

    def daemon(self, *args, **kw):
        d = Daemon(*args, **kw)
        self.daemons.append(d)
        return d

    def check_pattern(self, outputs, channels, tags, scale):
        """outputs[k] holds channel channels[k] of the scans the tags say."""
        idx = scan_indices(len(outputs[0]), tags)
        for out, ch in zip(outputs, channels):
            want = pattern(idx, ch).astype(np.float32 if scale else np.int16)
            if scale:
                want = want / np.float32(32768)
            bad = np.nonzero(np.asarray(out) != want)[0]
            self.assertEqual(len(bad), 0,
                             f"channel {ch}: {len(bad)} wrong samples, first at item "
                             f"{bad[:1]} (scan {idx[bad[:1]]})")

    def test_complex_samples_verify_and_rx_time_is_the_block_timestamp(self):
        d = self.daemon()
        wait0 = d.cpu_wait_s()
        n = 600000  # 1.2 s of stream
        t_start = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        src = iiostream.source(d.url, [0, 1], "complex", sample_rate=500000)
        head = blocks.head(gr.sizeof_gr_complex, n)
        snk = blocks.vector_sink_c()
        self.tb.connect(src, head, snk)
        # a second client sees the same blocks: their timestamps are the
        # truth. It streams from before the flowgraph until after it (not
        # for a time, which a loaded machine could spend before either runs)
        other = OtherClient(d.url)
        other.started()
        self.tb.start()
        self.assertIsNotNone(wait_flowgraph(self.tb), "the flowgraph did not end")
        truth = other.stop()

        data = np.array(snk.data(), dtype=np.complex64)
        tags = snk.tags()
        self.assertEqual(len(data), n)
        self.check_pattern([data.real, data.imag], [0, 1], tags, scale=True)
        # nothing lost; unless a loaded machine held the daemon back longer
        # than its ring of 8 blocks lasts at 500 k scans/s (262 ms): then
        # only scans the source itself lost, each one reported
        losses = [loss_of(t) for t in tags_named(tags, "rx_loss")]
        self.assertEqual([c for _, _, c in losses if c != "overflow"], [])
        d.assert_overflow_excused(wait0, 8 * 65536 / (500000 * 4),
                                  sum(s for s, _, _ in losses), "the flowgraph")
        self.assertEqual(src.last_error(), "")
        # rx_rate: the rate the flowgraph set, which the daemon now has
        rates = tags_named(tags, "rx_rate")
        self.assertEqual([(t.offset, pmt.to_double(t.value)) for t in rates], [(0, 500000.0)])
        self.assertEqual(src.stream_rate(), 500000.0)
        self.assertEqual(d.cli("attr", "get", "sampling_frequency").strip(), "500000")

        # rx_time on the first sample of every block (where rx_sample is),
        # equal to the timestamp of that block as another client got it
        times = {t.offset: rx_time_ns(t) for t in tags_named(tags, "rx_time")}
        samples = {t.offset: pmt.to_uint64(t.value) for t in tags_named(tags, "rx_sample")}
        self.assertEqual(sorted(times), sorted(samples))
        self.assertGreaterEqual(len(samples), n // SCANS_PER_BLOCK)
        self.assertEqual(sorted(samples)[:3], [0, SCANS_PER_BLOCK, 2 * SCANS_PER_BLOCK])
        by_scan = {samples[off]: times[off] for off in samples}
        common = sorted(set(by_scan) & set(truth))
        self.assertGreaterEqual(len(common), 5, "too few blocks seen by both clients")
        for scan in common:
            self.assertEqual(by_scan[scan], truth[scan], f"rx_time of the block at scan {scan}")
        # the daemon's CLOCK_MONOTONIC, which on this host is ours
        t_end = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        for t in times.values():
            self.assertTrue(t_start <= t <= t_end, f"rx_time {t} not in [{t_start}, {t_end}]")

    def test_float_and_short_outputs_scale_from_the_scan_format(self):
        d = self.daemon(channels=4)
        n = 100000
        f_src = iiostream.source(d.url, [3, 1], "float")
        s_src = iiostream.source(d.url, [3, 1], "short")  # same channels: one capture
        f_snk = [blocks.vector_sink_f() for _ in range(2)]
        s_snk = [blocks.vector_sink_s() for _ in range(2)]
        for k in range(2):
            self.tb.connect((f_src, k), blocks.head(gr.sizeof_float, n), f_snk[k])
            self.tb.connect((s_src, k), blocks.head(gr.sizeof_short, n), s_snk[k])
        self.tb.run()
        self.check_pattern([np.array(s.data(), dtype=np.float32) for s in f_snk], [3, 1],
                           f_snk[0].tags(), scale=True)
        self.check_pattern([np.array(s.data(), dtype=np.int16) for s in s_snk], [3, 1],
                           s_snk[0].tags(), scale=False)
        # every output carries the tags
        self.assertEqual([t.offset for t in tags_named(f_snk[0].tags(), "rx_sample")],
                         [t.offset for t in tags_named(f_snk[1].tags(), "rx_sample")])

    def test_channels_are_picked_from_the_capture_of_other_clients(self):
        d = self.daemon(channels=4)
        # another client receives every channel: the capture is 0..3, from
        # before the flowgraph until after it
        other = OtherClient(d.url)
        other.started()
        wait_until(lambda: "1 subscribed" in d.cli("stats"), "the other client")
        src = iiostream.source(d.url, [2, 0], "short")
        snk = [blocks.vector_sink_s() for _ in range(2)]
        for k in range(2):
            self.tb.connect((src, k), blocks.head(gr.sizeof_short, 100000), snk[k])
        self.tb.run()
        self.check_pattern([np.array(s.data(), dtype=np.int16) for s in snk], [2, 0],
                           snk[0].tags(), scale=False)
        other.stop()

    def two_devices(self, *args):
        """A daemon streaming two sim devices: adc1 of 4 channels at 1 M
        scans/s, adc2 of 2 at 500 k."""
        return self.daemon("--source", "sim:name=adc1,channels=4,rate=1M",
                           "--source", "sim:name=adc2,channels=2,rate=500K", *args)

    def test_two_sources_of_two_devices_of_one_daemon_both_verify(self):
        d = self.two_devices()
        n = 200000
        src1 = iiostream.source(d.url, [3, 1], "short", device="adc1")
        src2 = iiostream.source(d.url, [0, 1], "complex", device="sim1")  # by id
        snk1 = [blocks.vector_sink_s() for _ in range(2)]
        snk2 = blocks.vector_sink_c()
        for k in range(2):
            self.tb.connect((src1, k), blocks.head(gr.sizeof_short, n), snk1[k])
        self.tb.connect(src2, blocks.head(gr.sizeof_gr_complex, n), snk2)
        self.tb.start()
        self.assertIsNotNone(wait_flowgraph(self.tb), "the flowgraph did not end")
        self.check_pattern([np.array(s.data(), dtype=np.int16) for s in snk1], [3, 1],
                           snk1[0].tags(), scale=False)
        data = np.array(snk2.data(), dtype=np.complex64)
        self.assertEqual(len(data), n)
        self.check_pattern([data.real, data.imag], [0, 1], snk2.tags(), scale=True)
        self.assertEqual((src1.device(), src2.device()), ("adc1", "adc2"))
        self.assertEqual([pmt.to_double(t.value) for t in tags_named(snk1[0].tags(), "rx_rate")][:1],
                         [1000000.0])
        self.assertEqual([pmt.to_double(t.value) for t in tags_named(snk2.tags(), "rx_rate")][:1],
                         [500000.0])
        self.assertEqual((src1.last_error(), src2.last_error()), ("", ""))
        with self.assertRaisesRegex(RuntimeError, "no streamed device 'adc9'.*adc1, adc2"):
            iiostream.source(d.url, [0, 1], device="adc9")

    def test_two_devices_with_gr_iio_on_the_second_through_the_iiod_port(self):
        try:
            from gnuradio import iio
        except ImportError as e:
            self.skipTest(f"GNU Radio's iio module (gr-iio) does not import: {e}")
        d = self.two_devices("--iiod-listen", "127.0.0.1:0")
        self.assertTrue(d.iiod_uri, "no iiod port in the port file")
        n = 200000
        src1 = iiostream.source(d.url, [0, 2], "short", device="adc1")
        # adc2's one capture is voltage0, voltage1 for both of its clients
        src2 = iiostream.source(d.url, [0, 1], "short", device="adc2")
        stock = iio.device_source(d.iiod_uri, "adc2", ["voltage0", "voltage1"], "adc2", [],
                                  32768, 0)
        snk1 = [blocks.vector_sink_s() for _ in range(2)]
        snk2 = [blocks.vector_sink_s() for _ in range(2)]
        scans = blocks.interleave(gr.sizeof_short, 1)
        raw = os.path.join(d.dir, "gr-iio.bin")
        fsink = blocks.file_sink(gr.sizeof_short, raw, False)
        fsink.set_unbuffered(False)
        for k in range(2):
            self.tb.connect((src1, k), blocks.head(gr.sizeof_short, n), snk1[k])
            self.tb.connect((src2, k), blocks.head(gr.sizeof_short, n), snk2[k])
            self.tb.connect((stock, k), (scans, k))
        self.tb.connect(scans, blocks.head(gr.sizeof_short, 2 * n), fsink)
        self.tb.start()
        self.assertIsNotNone(wait_flowgraph(self.tb), "the flowgraph did not end")
        fsink.close()
        self.check_pattern([np.array(s.data(), dtype=np.int16) for s in snk1], [0, 2],
                           snk1[0].tags(), scale=False)
        self.check_pattern([np.array(s.data(), dtype=np.int16) for s in snk2], [0, 1],
                           snk2[0].tags(), scale=False)
        self.assertEqual(os.path.getsize(raw), 4 * n)
        # gr-iio's samples carry no tags: `iiostream verify` finds their
        # start in the data; every scan must be the pattern (a gap only
        # where the daemon skipped blocks for a slow reader, which stats say)
        out = subprocess.run([IIOSTREAM_CLI, "verify", raw, "--channels", "0,1", "--json"],
                             capture_output=True, text=True, timeout=HANG)
        self.assertEqual(out.returncode, 0, f"gr-iio's samples: {out.stdout} {out.stderr}")
        self.assertIn('"errors":0}', out.stdout)
        if '"gaps":0,' not in out.stdout:
            self.assertGreater(d.skipped_total(), 0, f"gaps no skip explains: {out.stdout}")

    def test_tls_with_a_client_certificate(self):
        certs = tempfile.mkdtemp(prefix="gr-qa-certs-")
        try:
            out = subprocess.run([MAKE_TEST_CERTS, certs], check=True, capture_output=True,
                                 text=True).stdout
            paths = dict((line.split()[0], line.split()[1:]) for line in out.splitlines())
            ca, (cert, key_file), (ccert, ckey) = (paths["ca"][0], paths["server"],
                                                   paths["client"])
            d = self.daemon("--listen-tls", "127.0.0.1:0", "--tls-cert", cert,
                            "--tls-key", key_file, "--client-ca", ca)
            url = f"tls://127.0.0.1:{d.tls_port}"
            src = iiostream.source(url, [0, 1], "complex", ca_file=ca, cert_file=ccert,
                                   key_file=ckey)
            snk = blocks.vector_sink_c()
            self.tb.connect(src, blocks.head(gr.sizeof_gr_complex, 100000), snk)
            self.tb.run()
            data = np.array(snk.data(), dtype=np.complex64)
            self.assertEqual(len(data), 100000)
            self.check_pattern([data.real, data.imag], [0, 1], snk.tags(), scale=True)
            # without our certificate the daemon refuses us, at make()
            with self.assertRaisesRegex(RuntimeError, "cannot connect to tls://"):
                iiostream.source(url, [0, 1], "complex", ca_file=ca)
        finally:
            shutil.rmtree(certs, ignore_errors=True)

    def test_tls_without_a_ca_trusts_what_the_user_trusted(self):
        """No CA file: the daemon must be in the user's known-servers file,
        which the iiostream command writes (the block never trusts a new
        daemon itself); refused at make() with what to run until then."""
        tmp = tempfile.mkdtemp(prefix="gr-qa-tofu-")
        old = os.environ.get("XDG_CONFIG_HOME")
        os.environ["XDG_CONFIG_HOME"] = os.path.join(tmp, "config")
        try:
            out = subprocess.run([MAKE_TEST_CERTS, tmp], check=True, capture_output=True,
                                 text=True).stdout
            paths = dict((line.split()[0], line.split()[1:]) for line in out.splitlines())
            cert, key_file = paths["server"]
            d = self.daemon("--listen-tls", "127.0.0.1:0", "--tls-cert", cert,
                            "--tls-key", key_file)
            url = f"tls://127.0.0.1:{d.tls_port}"
            with self.assertRaisesRegex(RuntimeError, "is not a known server: its "
                                        "certificate is sha256:[0-9a-f]{64}.*--trust-new"):
                iiostream.source(url, [0, 1], "complex")
            subprocess.run([IIOSTREAM_CLI, "info", "--url", url, "--trust-new"], check=True,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=HANG)
            src = iiostream.source(url, [0, 1], "complex")
            snk = blocks.vector_sink_c()
            self.tb.connect(src, blocks.head(gr.sizeof_gr_complex, 100000), snk)
            self.tb.run()
            data = np.array(snk.data(), dtype=np.complex64)
            self.assertEqual(len(data), 100000)
            self.check_pattern([data.real, data.imag], [0, 1], snk.tags(), scale=True)
        finally:
            if old is None:
                del os.environ["XDG_CONFIG_HOME"]
            else:
                os.environ["XDG_CONFIG_HOME"] = old
            shutil.rmtree(tmp, ignore_errors=True)

    def run_until_daemon_dies(self, sig, **kw):
        """A flowgraph streaming from a daemon that gets `sig` mid-stream:
        (the source, its log, the last rx_time tag, CLOCK_MONOTONIC in ns
        once the flowgraph has ended). What ended it is told by its error
        (the timeout's says so), not by how soon: a loaded machine is slow."""
        d = self.daemon()
        src = iiostream.source(d.url, [0, 1], "short", **kw)
        last = last_tag_sink()
        self.python_blocks.append(last)
        self.tb.connect((src, 0), last)
        self.tb.connect((src, 1), blocks.null_sink(gr.sizeof_short))
        log = []
        with captured_log(log):
            self.tb.start()
            wait_until(lambda: src.nitems_written(0) > 100000, "samples")
            d.signal(sig)
            took = wait_flowgraph(self.tb)
        self.assertIsNotNone(took, f"the flowgraph still runs {HANG} s after {sig.name}")
        ended_ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        return src, log[0], last.last_rx_time, ended_ns

    def test_killed_daemon_ends_the_flowgraph_with_an_error(self):
        src, log, _, _ = self.run_until_daemon_dies(signal.SIGKILL)
        # the lost connection ended it, not the 5 s stall timeout
        self.assertIn("lost the daemon at tcp://127.0.0.1", src.last_error())
        self.assertIn(src.last_error(), log)
        self.assertRegex(log, r"iiostream_source :error: lost the daemon")

    def test_daemon_shutting_down_ends_the_flowgraph_with_an_error(self):
        src, _, _, _ = self.run_until_daemon_dies(signal.SIGTERM)
        # the daemon's Bye ended it, not the 5 s stall timeout
        self.assertRegex(src.last_error(), r"the daemon at tcp://127.0.0.1:\d+ shut down")

    def test_stalled_daemon_ends_the_flowgraph_after_the_timeout(self):
        src, _, last, ended_ns = self.run_until_daemon_dies(signal.SIGSTOP, timeout=1.0)
        # the timeout ended it, and not before: 1 s (and a block's 16 ms)
        # without a block, counted from after the last block came, which
        # was after the capture of its first scan (its rx_time: the
        # daemon's CLOCK_MONOTONIC, which is ours). Sound however late.
        self.assertRegex(src.last_error(), r"no block from tcp://\S+ in 1\.0 s: the daemon stalled")
        self.assertIsNotNone(last, "no rx_time tag")
        self.assertGreaterEqual(ended_ns - rx_time_ns(last), 1_000_000_000,
                                "the flowgraph ended less than 1 s after its last block")

    def test_stop_is_prompt_while_the_daemon_stalls(self):
        d = self.daemon()
        src = iiostream.source(d.url, [0], "float", reconnect=True, timeout=30)
        self.tb.connect(src, blocks.null_sink(gr.sizeof_float))
        self.tb.start()
        wait_until(lambda: src.nitems_written(0) > 50000, "samples")
        d.signal(signal.SIGSTOP)
        time.sleep(0.5)
        t0 = time.monotonic()
        self.tb.stop()
        self.assertIsNotNone(wait_flowgraph(self.tb), "stop() did not end the flowgraph")
        # stop() ended it, not the source's 30 s timeout (which would have
        # said the daemon stalled): bounded by that timeout, not by how
        # fast an idle machine stops a flowgraph
        self.assertLess(time.monotonic() - t0, 30.0)
        self.assertNotIn("stalled", src.last_error())

    def test_reconnect_goes_on_after_the_daemon_restarts(self):
        d = self.daemon(rate=200000)
        port, workdir = d.port, d.dir
        src = iiostream.source(d.url, [0, 1], "short", reconnect=True, timeout=1.0)
        snk = [blocks.vector_sink_s() for _ in range(2)]
        self.tb.connect((src, 0), snk[0])
        self.tb.connect((src, 1), snk[1])
        log = []
        with captured_log(log):
            self.tb.start()
            wait_until(lambda: src.nitems_written(0) > 50000, "samples")
            d.own_dir = False  # the new daemon logs there too
            d.kill()
            self.daemons.remove(d)
            time.sleep(0.3)  # the block retries meanwhile (connection refused)
            d2 = self.daemon(rate=200000, port=port, workdir=workdir)
            d2.own_dir = True
            wait_until(lambda: any(key(t) == "rx_loss" for t in snk[0].tags()),
                       "the rx_loss tag of the reconnection")
            mark = src.nitems_written(0)
            wait_until(lambda: src.nitems_written(0) > mark + 3 * SCANS_PER_BLOCK,
                       "samples after reconnecting")
            self.tb.stop()
            self.assertIsNotNone(wait_flowgraph(self.tb))
        self.assertEqual(src.last_error(), "")
        tags = snk[0].tags()
        losses = [loss_of(t) for t in tags_named(tags, "rx_loss")]
        self.assertEqual([cause for _, _, cause in losses], ["reconnect"])
        loss_at = tags_named(tags, "rx_loss")[0].offset
        # rx_rate and rx_time start the new stream too
        self.assertIn(loss_at, [t.offset for t in tags_named(tags, "rx_rate")])
        self.assertIn(loss_at, [t.offset for t in tags_named(tags, "rx_time")])
        # the samples before and after verify
        n = min(len(snk[0].data()), len(snk[1].data()))
        self.check_pattern([np.array(s.data()[:n], dtype=np.int16) for s in snk], [0, 1],
                           [t for t in tags if t.offset < n], scale=False)
        self.assertRegex(log[0], r"lost the daemon at \S+: .*; connecting again in 0\.1 s")
        self.assertIn("reconnected: the stream goes on at scan", log[0])

    def test_slow_flowgraph_gets_loss_tags_that_match_the_daemon_stats(self):
        d = self.daemon("--client-queue", "2", rate=2000000)
        wait0 = d.cpu_wait_s()
        src = iiostream.source(d.url, [0, 1], "short", block_count=2)
        snk = tag_sink()
        self.python_blocks.append(snk)
        self.tb.connect((src, 0), (snk, 0))
        self.tb.connect((src, 1), (snk, 1))
        log = []
        with captured_log(log):
            self.tb.start()
            # 100 k scans/s taken of 2 M/s: the socket's buffers fill (the
            # kernel's, a few MB), then the daemon's queue of 2, then it
            # skips: slow until it has (however long that takes)
            wait_until(lambda: d.skipped_total() > 0, "the daemon to skip blocks")
            snk.slow = False

            # once it keeps up, the daemon's count stops growing and the
            # blocks after the last skip have told us about it: the same
            # count twice, 0.5 s apart, and the same as the source's
            counts = []

            def settled():
                before = d.skipped_total()
                time.sleep(0.5)
                counts[:] = [d.skipped_total()]
                return counts[0] == before == src.lost_blocks()

            wait_until(settled, "the daemon's skips to stop and be reported")
            skipped = counts[0]
            self.tb.stop()
            self.assertIsNotNone(wait_flowgraph(self.tb))

        self.assertEqual(snk.bad, [])
        self.assertGreater(skipped, 0, "the slow flowgraph lost nothing: no test")
        losses = tags_named(snk.tags, "rx_loss")
        self.assertGreaterEqual(len(losses), 1)
        lost = [loss_of(t) for t in losses]
        # skips, each told and counted as the daemon counted them; and, if
        # a loaded machine held the daemon back longer than its ring lasts
        # (8 blocks at 2 M scans/s: 66 ms), overflows of the source, told
        # as such: their scans are the ones beyond the skipped blocks'
        causes = {cause for _, _, cause in lost}
        self.assertIn("skipped", causes)
        self.assertLessEqual(causes, {"skipped", "overflow"})
        self.assertEqual(sum(b for _, b, _ in lost), skipped)
        self.assertEqual(src.lost_blocks(), skipped)
        self.assertEqual(src.lost_samples(), sum(s for s, _, _ in lost))
        overflowed = src.lost_samples() - skipped * SCANS_PER_BLOCK
        self.assertGreaterEqual(overflowed, 0)
        if "overflow" in causes:
            self.assertGreater(overflowed, 0)
        d.assert_overflow_excused(wait0, 8 * 65536 / (2000000 * 4), overflowed,
                                  "the slow flowgraph's daemon")
        # the rx_sample tags jump by exactly what the rx_loss tags say
        loss_at = {t.offset: loss_of(t)[0] for t in losses}
        marks = [(t.offset, pmt.to_uint64(t.value)) for t in tags_named(snk.tags, "rx_sample")]
        for (off0, first0), (off1, first1) in zip(marks, marks[1:]):
            self.assertEqual(first1, first0 + (off1 - off0) + loss_at.get(off1, 0),
                             f"rx_sample at item {off1}")
        # and rx_rate comes again after each loss
        rate_at = {t.offset for t in tags_named(snk.tags, "rx_rate")}
        self.assertTrue(set(loss_at) <= rate_at)
        # one log line per loss
        self.assertEqual(len(re.findall(r"iiostream_source :warning: lost \d+ scans", log[0])),
                         len(losses))

    def test_a_fatal_mismatch_ends_the_flowgraph_even_with_reconnect(self):
        d = self.daemon()
        for kw, message in [
                (dict(block_size=4096),
                 "the daemon's blocks are 65536 bytes, block_size asks for 4096"),
                (dict(channels=[0, 5]), r"cannot subscribe to channels 0,5: .*channel 5")]:
            with self.subTest(**kw):
                tb = gr.top_block()
                src = iiostream.source(d.url, kw.get("channels", [0, 1]), "float",
                                       block_size=kw.get("block_size", 0), reconnect=True)
                tb.connect((src, 0), blocks.null_sink(gr.sizeof_float))
                tb.connect((src, 1), blocks.null_sink(gr.sizeof_float))
                tb.start()
                self.assertIsNotNone(wait_flowgraph(tb))
                self.assertRegex(src.last_error(), message)

    def test_bad_parameters_are_refused_by_make(self):
        d = self.daemon()
        for args, exc in [(([0], "complex"), ValueError),
                          (([0, 1], "double"), ValueError),
                          (([0, 0], "float"), ValueError),
                          (([], "float"), ValueError),
                          (([64], "float"), ValueError)]:
            with self.subTest(args=args), self.assertRaises(exc):
                iiostream.source(d.url, *args)
        with self.assertRaisesRegex(RuntimeError, "Connection refused"):
            iiostream.source("tcp://127.0.0.1:1", [0, 1])
        with self.assertRaisesRegex(RuntimeError, "cannot set sampling_frequency to 0.5"):
            iiostream.source(d.url, [0, 1], sample_rate=0.5)
        # reconnect: an absent daemon is not an error yet
        iiostream.source("tcp://127.0.0.1:1", [0, 1], reconnect=True)


if __name__ == "__main__":
    for name, path in [("IIOSTREAMD", IIOSTREAMD), ("IIOSTREAM_CLI", IIOSTREAM_CLI),
                       ("IIOSTREAM_LIB", IIOSTREAM_LIB), ("MAKE_TEST_CERTS", MAKE_TEST_CERTS)]:
        if not os.path.exists(path):
            sys.exit(f"qa_source: {name} ({path!r}) does not exist (run through ctest)")
    gr_unittest.run(qa_source)
