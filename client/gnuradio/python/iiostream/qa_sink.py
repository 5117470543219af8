#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""QA of iiostream.sink: headless flowgraphs against real iiostreamd daemons
on loopback (the simulated board: the ADC "sim" and the DAC "sim-dac"; no
mocks).

What the sink plays comes back through the DAC's loopback (its attribute
"loopback" = 1) into the ADC, where an iiostream.source receives it: the
capture must be silence (all-zero scans), then exactly the scans sent, in
order, then silence, as `iiostream rx --verify-loopback` checks it.

Run by ctest (gr_qa_sink) with Debian's /usr/bin/python3 and the
environment of qa_source.py (whose daemon and helpers it uses).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio import iiostream

from qa_source import (HANG, IIOSTREAM_CLI, IIOSTREAMD, MAKE_TEST_CERTS, Daemon, captured_log,
                       key, pattern, rx_time_ns, wait_flowgraph, wait_until)

RATE = 1000000
# blocks of 64 KiB: 16384 scans of the two int16 channels, 16 ms at 1 MS/s;
# rings of 64 (1 s): the DAC starts once half of them are queued (PREFILL),
# after which a flowgraph that keeps up has half a second of slack on a
# loaded machine, and so has the ADC's receiver
BLOCK = 16384
RING = 64
PREFILL = RING // 2


class gate(gr.sync_block):
    """Passes `limit` items of one int16 stream, then nothing (the flowgraph
    stops feeding, without ending) until open_up()."""

    def __init__(self, limit):
        gr.sync_block.__init__(self, "gate", [np.int16], [np.int16])
        self.limit = limit

    def open_up(self):
        self.limit = None

    def work(self, input_items, output_items):
        n = min(len(input_items[0]), len(output_items[0]))
        if self.limit is not None:
            n = min(n, self.limit - self.nitems_written(0))
            if n <= 0:
                time.sleep(0.01)
                return 0
        output_items[0][:n] = input_items[0][:n]
        return n


class Loopback:
    """A flowgraph receiving the ADC "sim" (the DAC's loopback) into vector
    sinks, of `kind` ("short": two int16 streams, "complex": one)."""

    def __init__(self, url, kind="short"):
        self.tb = gr.top_block()
        self.kind = kind
        self.src = iiostream.source(url, [0, 1], kind, device="sim")
        if kind == "short":
            self.snk = [blocks.vector_sink_s() for _ in range(2)]
            for k in range(2):
                self.tb.connect((self.src, k), self.snk[k])
        else:
            self.snk = [blocks.vector_sink_c()]
            self.tb.connect(self.src, self.snk[0])
        self.tb.start()
        wait_until(lambda: self.src.nitems_written(0) > 0, "the ADC's first block")

    def received(self):
        return self.src.nitems_written(0)

    def captured_until_ns(self):
        """CLOCK_MONOTONIC of the first scan of the last block received
        (its rx_time: the daemon's clock, which is ours on this host)."""
        times = [rx_time_ns(t) for t in self.snk[0].tags() if key(t) == "rx_time"]
        return max(times, default=0)

    def finish(self):
        """Receive until the ADC's capture reaches past now by two blocks
        (the receiver may lag behind the ADC by several blocks on a loaded
        machine: wait for the time its blocks say, not for a count), stop;
        the capture, as (N, 2) int16 scans (complex: I, Q scaled back to
        int16)."""
        until = time.clock_gettime_ns(time.CLOCK_MONOTONIC) + 2 * BLOCK * 1_000_000_000 // RATE
        wait_until(lambda: self.captured_until_ns() > until, "the capture to reach now")
        self.tb.stop()
        assert wait_flowgraph(self.tb) is not None, "the receiving flowgraph did not stop"
        assert self.src.last_error() == "", self.src.last_error()
        assert self.src.lost_samples() == 0, (
            f"the receiver lost {self.src.lost_samples()} scans: the check needs them all")
        if self.kind == "short":
            n = min(len(s.data()) for s in self.snk)
            return np.stack([np.array(s.data()[:n], dtype=np.int16) for s in self.snk], 1)
        c = np.array(self.snk[0].data(), dtype=np.complex64)
        return np.stack([np.round(c.real * 32768), np.round(c.imag * 32768)], 1).astype(np.int16)


def sent_scans(n, first=0):
    """Pattern scans first..first+n-1 of channels 0 and 1, as (n, 2) int16."""
    idx = np.arange(first, first + n, dtype=np.uint64)
    return np.stack([pattern(idx, 0), pattern(idx, 1)], 1)


def sound(capture):
    """Index of the first scan that is not silence (len if none)."""
    loud = np.nonzero(np.any(capture != 0, axis=1))[0]
    return int(loud[0]) if len(loud) else len(capture)


class qa_sink(gr_unittest.TestCase):

    def setUp(self):
        self.daemons = []
        self.flowgraphs = []
        # Python blocks, kept alive until the flowgraphs are stopped: a
        # failing test's frame (its locals) is cleared while they still run
        self.python_blocks = []

    def tearDown(self):
        for tb in self.flowgraphs:
            tb.stop()
            wait_flowgraph(tb)
        self.python_blocks = []
        for d in self.daemons:
            d.stop()

    def board(self, *args):
        """A daemon of the sim's ADC and DAC, the DAC looped back."""
        d = Daemon("--blocks", str(RING), *args, rate=RATE)
        self.daemons.append(d)
        d.cli("attr", "set", "--device", "sim-dac", "loopback", "1")
        return d

    def flowgraph(self):
        tb = gr.top_block()
        self.flowgraphs.append(tb)
        return tb

    def gate(self, limit):
        g = gate(limit)
        self.python_blocks.append(g)
        return g

    def transmit(self, tb):
        """Run tb to its end (its inputs done, the sink drained); its log."""
        log = []
        with captured_log(log):
            tb.start()
            took = wait_flowgraph(tb)
        self.assertIsNotNone(took, "the transmitting flowgraph did not end")
        return log[0]

    def assert_played_back(self, capture, sent, snk, what):
        """The capture: silence, exactly `sent` in order, silence; and
        silence inside the run only where the sink reported an underflow
        (never silent): no more silent gaps than underflows, no more silent
        scans than they lasted, and when they match one for one (no report
        without a gap) the last gap is before the scan the last report
        said. (The DAC runs dry only if the flowgraph, or the daemon, fell
        behind: on an idle machine there is none.)"""
        at = sound(capture)
        self.assertLess(at, len(capture), f"{what}: the capture is all silence")
        silent = ~np.any(capture != 0, axis=1)
        end = len(capture) - int(np.argmin(silent[::-1]))  # after the last sound
        self.assertLess(end, len(capture), f"{what}: no silence after the run")
        run, quiet = capture[at:end], silent[at:end]
        played = run[~quiet]
        self.assertEqual(len(played), len(sent),
                         f"{what}: {len(played)} scans of sound, {len(sent)} sent")
        bad = np.nonzero(np.any(played != sent, axis=1))[0]
        self.assertEqual(len(bad), 0,
                         f"{what}: {len(bad)} scans differ from those sent, the first is sent "
                         f"scan {bad[:1]}: {played[bad[:1]]} for {sent[bad[:1]]}")
        # the silent gaps: where each begins (in sent scans) and how long
        edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        gaps = [(int(b - np.count_nonzero(quiet[:b])), int(e - b)) for b, e in zip(starts, ends)]
        # a DAC that ran dry after the last block, before the drain reached
        # the daemon (a flowgraph slow to end), did so in the silence after
        # the run: an underflow too, before scan len(sent)
        trailing = snk.underflows() > 0 and snk.underflow_position() == len(sent)
        told = (f"{what}: silent gaps {gaps} inside the run; reported: {snk.underflows()} "
                f"underflows, {snk.underflow_samples()} scans of silence, the last before "
                f"scan {snk.underflow_position()}")
        self.assertLessEqual(len(gaps) + trailing, snk.underflows(), told)
        self.assertLessEqual(sum(n for _, n in gaps), snk.underflow_samples(), told)
        if len(gaps) + trailing != snk.underflows():
            print(f"note: the daemon reported underflows the capture does not show: {told}")
        elif gaps and not trailing:
            self.assertEqual(gaps[-1][0], snk.underflow_position(), told)
            self.assertEqual(sum(n for _, n in gaps), snk.underflow_samples(), told)

    def sink_summary(self, snk, blocks):
        """The final line a sink that sent `blocks` blocks logs."""
        u = snk.underflows()
        return (rf"iiostream-sim-dac: {blocks} blocks sent, {blocks} blocks played, "
                rf"{u} underflows?" + (rf" \({snk.underflow_samples()} scans of silence\)"
                                       if u else "") + "; stopped")

    def test_short_pattern_plays_back_exactly_through_the_loopback(self):
        d = self.board()
        rx = Loopback(d.url, "short")
        n = 48 * BLOCK  # more than the ring: sent as credits come
        sent = sent_scans(n)
        tb = self.flowgraph()
        snk = iiostream.sink(d.url, [0, 1], "short", device="sim-dac")
        for k in range(2):
            tb.connect(blocks.vector_source_s(sent[:, k].tolist()), (snk, k))
        log = self.transmit(tb)
        capture = rx.finish()
        self.assertEqual(snk.last_error(), "")
        self.assertEqual(snk.device(), "iiostream-sim-dac")
        self.assertEqual(snk.device_rate(), RATE)
        self.assertEqual((snk.blocks_sent(), snk.blocks_played()), (48, 48))
        self.assert_played_back(capture, sent, snk, "short")
        self.assertRegex(log, r"iiostream_sink :info: tcp://\S+: transmitting to "
                         r"iiostream-sim-dac: 1000000 scans/s, blocks of 16384 scans")
        self.assertRegex(log, r"iiostream_sink :(info|warning): tcp://\S+: " +
                         self.sink_summary(snk, 48))

    def test_complex_with_a_partial_last_block_plays_back_exactly(self):
        d = self.board()
        rx = Loopback(d.url, "complex")
        n = 20 * 5000 + 123  # blocks of 5000 scans, the last one partial
        sent = sent_scans(n)
        iq = (sent[:, 0].astype(np.float32) + 1j * sent[:, 1].astype(np.float32)) / 32768
        tb = self.flowgraph()
        snk = iiostream.sink(d.url, [0, 1], "complex", block_size=5000, device="sim-dac")
        tb.connect(blocks.vector_source_c(iq.astype(np.complex64).tolist()), snk)
        log = self.transmit(tb)
        capture = rx.finish()
        self.assertEqual((snk.blocks_sent(), snk.blocks_played()), (21, 21))
        self.assert_played_back(capture, sent, snk, "complex")
        self.assertRegex(log, self.sink_summary(snk, 21))

    def test_float_full_scale_saturates_like_gr_iio(self):
        d = self.board()
        rx = Loopback(d.url, "short")
        # [-1, 1) is the int16 range; beyond it saturates, halves round to even
        x = np.array([0.5, -1.0, 1.0, 2.0, -3.0, 32766 / 32768, 1.5 / 32768, 2.5 / 32768,
                      -1.5 / 32768, 1 / 32768] * 4000, dtype=np.float32)
        want = np.array([16384, -32768, 32767, 32767, -32768, 32766, 2, 2, -2, 1] * 4000,
                        dtype=np.int16)
        tb = self.flowgraph()
        # channel 1 only: channel 0 plays 0
        snk = iiostream.sink(d.url, [1], "float", device="sim-dac")
        tb.connect(blocks.vector_source_f(x.tolist()), snk)
        self.transmit(tb)
        capture = rx.finish()
        self.assert_played_back(capture, np.stack([np.zeros_like(want), want], 1), snk,
                                "float into channel 1")

    def test_cyclic_loops_the_first_block_whole_until_stopped(self):
        d = self.board()
        rx = Loopback(d.url, "short")
        b = 10000
        sent = sent_scans(3 * b)  # only the first b scans may ever play
        tb = self.flowgraph()
        snk = iiostream.sink(d.url, [0, 1], "short", block_size=b, cyclic=True,
                             device="sim-dac")
        for k in range(2):
            tb.connect(blocks.vector_source_s(sent[:, k].tolist()), (snk, k))
        log = []
        with captured_log(log):
            tb.start()
            wait_until(lambda: snk.blocks_sent() == 1, "the cyclic block")
            # five repetitions at least reach the ADC while the flowgraph runs
            mark = rx.received()
            wait_until(lambda: rx.received() >= mark + 5 * b, "five repetitions")
            self.assertIsNone(wait_flowgraph(tb, 0.1), "a cyclic sink's flowgraph ended")
            tb.stop()
            self.assertIsNotNone(wait_flowgraph(tb), "the cyclic flowgraph did not stop")
        capture = rx.finish()
        self.assertEqual(snk.blocks_sent(), 1)
        at = sound(capture)
        loud = np.nonzero(np.any(capture[at:] != 0, axis=1))[0]
        end = at + int(loud[-1]) + 1
        # the run: the block repeated whole, without a gap; the stop may cut
        # the last repetition (a looping block has no end to drain to)
        reps = (end - at) / b
        self.assertGreaterEqual(reps, 5, f"only {reps:.2f} repetitions")
        loop = np.tile(sent[:b], (int(reps) + 1, 1))[:end - at]
        bad = np.nonzero(np.any(capture[at:end] != loop, axis=1))[0]
        self.assertEqual(len(bad), 0, f"{len(bad)} scans of the loop differ, the first at "
                         f"{bad[:1]} (repetition {bad[:1] // b})")
        self.assertTrue(np.all(capture[end:] == 0), "sound after the stop")
        self.assertRegex(log[0], r"blocks of 10000 scans \(40000 bytes\), cyclic")
        self.assertIn("1 block sent", log[0])

    def test_a_flowgraph_that_stops_feeding_gets_an_underflow_message(self):
        d = self.board()
        # the blocks the DAC waits for before it plays: all of them queued
        # when it starts, it runs dry at their end, however slow the machine
        limit = PREFILL * BLOCK
        tb = self.flowgraph()
        src = blocks.vector_source_s(pattern(np.arange(BLOCK), 0).tolist(), True)
        g = self.gate(limit)
        snk = iiostream.sink(d.url, [0], "short", device="sim-dac")
        dbg = blocks.message_debug()
        tb.connect(src, g, snk)
        tb.msg_connect((snk, "underflow"), (dbg, "store"))
        log = []

        def field(msg, name):
            return pmt.to_uint64(pmt.dict_ref(msg, pmt.intern(name), pmt.PMT_NIL))

        def messages():
            return [dbg.get_message(i) for i in range(dbg.num_messages())]

        with captured_log(log):
            tb.start()
            wait_until(lambda: dbg.num_messages() >= 1, "an underflow message")
            self.assertEqual(snk.blocks_sent(), PREFILL)
            tb.stop()
            self.assertIsNotNone(wait_flowgraph(tb), "the flowgraph did not stop")
        msgs = messages()
        self.assertTrue(all(pmt.is_dict(m) for m in msgs))
        counts = [field(m, "count") for m in msgs]
        # one message per new underflow (two in one status: one message),
        # the count growing, the last one the sink's and the daemon's
        self.assertEqual(counts, sorted(set(counts)), "a message without a new underflow")
        last = msgs[-1]
        # all of it queued when the DAC started, it runs dry at its end: the
        # silence before our scan `limit` (a loaded machine may hold the
        # daemon's sim DAC back and make it report one earlier)
        self.assertLessEqual(field(last, "position"), limit)
        if field(last, "position") != limit:
            print(f"note: the daemon reported the underflow before scan "
                  f"{field(last, 'position')}, not {limit}")
        self.assertGreater(field(last, "samples"), 0)
        # a warning per new underflow, the messages the same (one more
        # warning if the final status had a new one: published as the
        # flowgraph stopped, after message_debug's last turn)
        warned = [(int(p), int(c)) for p, c in re.findall(
            r"iiostream_sink :warning: underflow: the device ran dry (?:once|\d+ times) before "
            r"our scan (\d+) \((\d+) in all, \d+ scans of silence so far\)", log[0])]
        told = [(field(m, "position"), field(m, "count")) for m in msgs]
        self.assertEqual(warned[:len(told)], told)
        self.assertLessEqual(len(warned) - len(told), 1)
        u = snk.underflows()
        self.assertEqual(warned[-1][1], u)
        final = re.search(rf"iiostream_sink :warning: tcp://\S+: iiostream-sim-dac: {PREFILL} "
                          rf"blocks sent, {PREFILL} blocks played, {u} underflows? \((\d+) "
                          r"scans of silence\)", log[0])
        self.assertIsNotNone(final, "no final line with the underflow")
        # the daemon counted the same
        self.assertRegex(d.cli("stats"), rf"tx stream 1 iiostream-sim-dac .* {PREFILL} played "
                         rf".*, {u} underflows \({final.group(1)} scans of silence\)")

    def test_keep_playing_over_tls_leaves_the_cyclic_block_looping(self):
        certs = tempfile.mkdtemp(prefix="gr-qa-certs-")
        try:
            out = subprocess.run([MAKE_TEST_CERTS, certs], check=True, capture_output=True,
                                 text=True).stdout
            paths = dict((line.split()[0], line.split()[1:]) for line in out.splitlines())
            ca, (cert, key_file), (ccert, ckey) = (paths["ca"][0], paths["server"],
                                                   paths["client"])
            d = self.board("--listen-tls", "127.0.0.1:0", "--tls-cert", cert,
                           "--tls-key", key_file, "--client-ca", ca)
            url = f"tls://127.0.0.1:{d.tls_port}"
            rx = Loopback(d.url, "short")
            b = 8192
            sent = sent_scans(b)
            tb = self.flowgraph()
            snk = iiostream.sink(url, [0, 1], "short", block_size=b, cyclic=True,
                                 keep_playing=True, ca_file=ca, cert_file=ccert,
                                 key_file=ckey, device="sim-dac")
            for k in range(2):
                tb.connect(blocks.vector_source_s(sent[:, k].tolist()), (snk, k))
            log = []
            with captured_log(log):
                tb.start()
                wait_until(lambda: snk.blocks_sent() == 1, "the cyclic block")
                tb.stop()
                self.assertIsNotNone(wait_flowgraph(tb), "the flowgraph did not stop")
            self.assertRegex(log[0], r"transmitting to iiostream-sim-dac: .*, cyclic, plays on "
                             r"when we leave, TLSv1\.3")
            self.assertRegex(log[0], r"1 block sent, .*; the device plays on")
            # the flowgraph is gone; the loop plays on, told by the stats
            wait_until(lambda: "kept playing (its owner left)" in d.cli("stats"),
                       "the daemon to keep the device playing")
            mark = rx.received()
            wait_until(lambda: rx.received() >= mark + 4 * b, "more of the loop")
            capture = rx.finish()
            at = sound(capture)
            tail = capture[mark:]
            self.assertGreater(at, 0, "no silence before the loop")
            # after the flowgraph left, still the block, whole, repeated
            phase = int(np.nonzero(np.all(sent == tail[0], axis=1))[0][0])
            loop = np.tile(sent, (len(tail) // b + 2, 1))[phase:phase + len(tail)]
            self.assertTrue(np.array_equal(tail, loop), "the loop changed after we left")
            # without our certificate the daemon refuses us, at make()
            with self.assertRaisesRegex(RuntimeError, "cannot connect to tls://"):
                iiostream.sink(url, [0, 1], ca_file=ca)
        finally:
            shutil.rmtree(certs, ignore_errors=True)

    def test_a_second_transmitter_is_refused_naming_the_first(self):
        d = self.board()
        tb1 = self.flowgraph()
        g = self.gate(0)  # takes the device, sends nothing
        snk1 = iiostream.sink(d.url, [0], "short", device="sim-dac")
        tb1.connect(blocks.vector_source_s([1] * 100, True), g, snk1)
        tb1.start()
        wait_until(lambda: "iiostream-sim-dac" == snk1.device(), "the first sink's device")
        tb2 = self.flowgraph()
        snk2 = iiostream.sink(d.url, [0, 1], "complex")  # the first output device
        tb2.connect(blocks.vector_source_c([0.5] * 100, True), snk2)
        tb2.start()
        self.assertIsNotNone(wait_flowgraph(tb2), "the refused flowgraph did not end")
        self.assertRegex(snk2.last_error(), r"cannot transmit to sim-dac: .*client \d+")
        tb1.stop()
        self.assertIsNotNone(wait_flowgraph(tb1))
        self.assertEqual(snk1.last_error(), "")

    def transmit_until_daemon_gets(self, sig, **kw):
        """A flowgraph transmitting to a daemon that gets `sig` mid-stream:
        the sink and its log, once the flowgraph has ended by itself."""
        d = self.board()
        tb = self.flowgraph()
        snk = iiostream.sink(d.url, [0, 1], "short", device="sim-dac", **kw)
        for k in range(2):
            tb.connect(blocks.vector_source_s(pattern(np.arange(BLOCK), k).tolist(), True),
                       (snk, k))
        log = []
        with captured_log(log):
            tb.start()
            wait_until(lambda: snk.blocks_played() > 2, "blocks played")
            # an endless source, paced by the DAC: never more than its
            # ring of blocks ahead of what it has played (the credits)
            sent = snk.blocks_sent()
            self.assertLessEqual(sent, snk.blocks_played() + RING)
            wait_until(lambda: snk.blocks_played() > sent, "the DAC to play on")
            self.assertLessEqual(snk.blocks_sent(), snk.blocks_played() + RING)
            d.signal(sig)
            took = wait_flowgraph(tb)
        self.assertIsNotNone(took, f"the flowgraph still runs {HANG} s after {sig.name}")
        return snk, log[0]

    def test_killed_daemon_ends_the_flowgraph_with_an_error(self):
        snk, log = self.transmit_until_daemon_gets(signal.SIGKILL)
        self.assertRegex(snk.last_error(), r"lost the transmission to tcp://127.0.0.1:\d+: ")
        self.assertIn(f"iiostream_sink :error: {snk.last_error()}", log)

    def test_daemon_shutting_down_ends_the_flowgraph_with_an_error(self):
        snk, _ = self.transmit_until_daemon_gets(signal.SIGTERM)
        # its Bye (or, if it closed first, the lost connection)
        self.assertRegex(snk.last_error(), r"the daemon at tcp://\S+ shut down|lost the "
                         r"transmission")

    def test_stalled_daemon_ends_the_flowgraph_after_the_timeout(self):
        snk, log = self.transmit_until_daemon_gets(signal.SIGSTOP, timeout=1.0)
        # 1 s and a block's 16 ms without a credit
        self.assertRegex(snk.last_error(), r"no credit from tcp://\S+ in 1\.0 s: the daemon "
                         r"stalled")
        self.assertIn("iiostream_sink :error: no credit from", log)

    def test_bad_parameters_and_devices_are_refused_by_make(self):
        d = self.board()
        for args, exc in [(([0], "complex"), ValueError),
                          (([0, 1], "double"), ValueError),
                          (([0, 0], "short"), ValueError),
                          (([], "float"), ValueError),
                          (([64], "float"), ValueError)]:
            with self.subTest(args=args), self.assertRaises(exc):
                iiostream.sink(d.url, *args)
        with self.assertRaisesRegex(RuntimeError, r"no output device 'sim' \(the daemon's: "
                                    r"iiostream-sim-dac\)"):
            iiostream.sink(d.url, [0, 1], device="sim")
        with self.assertRaisesRegex(RuntimeError, "Connection refused"):
            iiostream.sink("tcp://127.0.0.1:1", [0, 1])
        # too large a block ends the flowgraph at start, with the reason
        tb = self.flowgraph()
        snk = iiostream.sink(d.url, [0, 1], "short", block_size=BLOCK + 1)
        for k in range(2):
            tb.connect(blocks.vector_source_s([0] * 10), (snk, k))
        tb.start()
        self.assertIsNotNone(wait_flowgraph(tb))
        self.assertRegex(snk.last_error(), r"block_size 16385 scans is more than the daemon's "
                         r"blocks of iiostream-sim-dac hold \(16384 scans")


if __name__ == "__main__":
    for name, path in [("IIOSTREAMD", IIOSTREAMD), ("IIOSTREAM_CLI", IIOSTREAM_CLI),
                       ("MAKE_TEST_CERTS", MAKE_TEST_CERTS)]:
        if not os.path.exists(path):
            sys.exit(f"qa_sink: {name} ({path!r}) does not exist (run through ctest)")
    gr_unittest.run(qa_sink)
