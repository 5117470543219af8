#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""gr_bench.py - samples per second gr-iiostream's source block delivers
into a null_sink, beside `iiostream rx` in the same run.

    bench/gr_bench.py BUILD_DIR [SECONDS [ROUNDS]]

Every figure gets a fresh daemon on 127.0.0.1 with stream_bench.sh's flags
(--rate 0: the simulated source as fast as blocks come back; 1 MiB blocks of
two int16 channels, 16 in the ring, 8 queued per client) and runs SECONDS
(default 5); the four figures run in turn, ROUNDS times (default 3), and the
table has the medians:

  iiostream rx       `iiostream rx --seconds S --json --quiet`: received
                     bytes / 4 per second (a scan is 4 bytes)
  gr complex         iiostream.source(channels [0, 1], "complex") ->
                     null_sink: items per second (one item = one scan)
  gr float / short   the same with two float or int16 outputs, a null_sink
                     on each

The GNU Radio figures count items the block wrote from its first item on,
over SECONDS; each ratio is the median of the figure over the iiostream rx
of the same round (run just before it), which cancels some of the noise of
a shared machine. Losses (blocks the daemon skipped because the reader fell
behind) are listed: with --rate 0 the source never waits, so every reader
loses blocks and the rates count only what arrived.

Last, one paced run: the block (complex) with the daemon at --rate 25000000
(scripts/demo.sh's 100 MB/s), which it should keep up with without a loss.
Run with Debian's /usr/bin/python3 (GNU Radio's modules).
GR_BENCH_MIN_OUTPUT_BUFFER=N sets the block's minimum output buffer to N
items (0: GNU Radio's default) instead of its own 2 MiB.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

PACED_RATE = 25000000
DAEMON_FLAGS = ["--block-size", "1M", "--blocks", "16", "--channels", "2",
                "--client-queue", "8", "--log-level", "warn"]


def usage():
    sys.exit("usage: bench/gr_bench.py BUILD_DIR [SECONDS [ROUNDS]]   (whole numbers >= 1; "
             "default 5 s, 3 rounds)")


class Daemon:
    def __init__(self, build, tmp, rate=0):
        self.port_file = os.path.join(tmp, f"port.{time.monotonic_ns()}")
        self.proc = subprocess.Popen(
            [os.path.join(build, "server", "iiostreamd"), *DAEMON_FLAGS, "--rate", str(rate),
             "--listen", "127.0.0.1:0", "--port-file", self.port_file])
        for _ in range(100):
            if os.path.exists(self.port_file) and open(self.port_file).read().strip():
                break
            time.sleep(0.05)
        else:
            self.proc.kill()
            sys.exit("gr_bench: iiostreamd did not start")
        self.url = "tcp://127.0.0.1:" + open(self.port_file).read().split()[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)


def rx_rate(build, tmp, seconds):
    with Daemon(build, tmp) as d:
        out = subprocess.run([os.path.join(build, "client", "iiostream"), "rx", "--url", d.url,
                              "--seconds", str(seconds), "--json", "--quiet"],
                             check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["bytes"] / 4 / r["seconds"], r["lost_blocks"]


def gr_rate(build, tmp, seconds, output_type, rate=0):
    from gnuradio import blocks, gr, iiostream

    size = {"complex": gr.sizeof_gr_complex, "float": gr.sizeof_float,
            "short": gr.sizeof_short}[output_type]
    with Daemon(build, tmp, rate) as d:
        tb = gr.top_block()
        src = iiostream.source(d.url, [0, 1], output_type)
        if os.environ.get("GR_BENCH_MIN_OUTPUT_BUFFER"):
            src.set_min_output_buffer(int(os.environ["GR_BENCH_MIN_OUTPUT_BUFFER"]))
        for k in range(1 if output_type == "complex" else 2):
            tb.connect((src, k), blocks.null_sink(size))
        tb.start()
        while src.nitems_written(0) == 0:
            time.sleep(0.001)
        t0, n0 = time.monotonic(), src.nitems_written(0)
        time.sleep(seconds)
        t1, n1 = time.monotonic(), src.nitems_written(0)
        tb.stop()
        tb.wait()
        error = src.last_error()
    if error:
        sys.exit(f"gr_bench: the flowgraph failed: {error}")
    return (n1 - n0) / (t1 - t0), src.lost_blocks()


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def main():
    if not 2 <= len(sys.argv) <= 4 or not all(a.isdigit() and int(a) >= 1 for a in sys.argv[2:]):
        usage()
    build = os.path.abspath(sys.argv[1])
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    sys.path.insert(0, os.path.join(build, "client", "gnuradio", "python"))
    # one warning per loss would flood the terminal: the table counts them
    os.environ.setdefault("GR_CONF_LOG_LOG_LEVEL", "error")

    figures = ["iiostream rx"] + [f"gr {t} -> null_sink" for t in ("complex", "float", "short")]
    rates = {f: [] for f in figures}
    lost = {f: 0 for f in figures}
    ratios = {f: [] for f in figures}
    with tempfile.TemporaryDirectory(prefix="gr_bench.") as tmp:
        for r in range(rounds):
            for f in figures:
                print(f"gr_bench: round {r + 1}/{rounds}: {f}, {seconds} s ...", file=sys.stderr)
                if f == "iiostream rx":
                    rate, n = rx_rate(build, tmp, seconds)
                else:
                    rate, n = gr_rate(build, tmp, seconds, f.split()[1])
                rates[f].append(rate)
                lost[f] += n
                # against the iiostream rx of the same round, run just before
                ratios[f].append(rate / rates["iiostream rx"][-1])
        print(f"gr_bench: paced, gr complex at --rate {PACED_RATE}, {seconds} s ...",
              file=sys.stderr)
        paced, paced_lost = gr_rate(build, tmp, seconds, "complex", PACED_RATE)

    print(f"{'figure':<24} {'Msamples/s':>11} {'MB/s':>7} {'lost blocks':>12} "
          f"{'/ rx':>6}   (medians of {rounds} rounds of {seconds} s)")
    for f in figures:
        rate = median(rates[f])
        print(f"{f:<24} {rate / 1e6:>11.1f} {rate * 4 / 1e6:>7.0f} {lost[f]:>12} "
              f"{median(ratios[f]):>6.2f}")
    print("samples = scans of 2 int16 channels (4 bytes of stream each); MB = 10^6 bytes;")
    print("/ rx = median over rounds of the figure / the iiostream rx of its round")
    print(f"paced: gr complex at --rate {PACED_RATE} (the demo's 100 MB/s): "
          f"{paced / 1e6:.1f} Msamples/s, {paced_lost} blocks lost")


if __name__ == "__main__":
    main()
