#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""GNU Radio's stock iio device source (gr-iio) reading iiostreamd's
iiod-compatible listener: N samples of two channels, interleaved back into
scans and written to a file that `iiostream verify` checks.

usage: iio_source_flowgraph.py URI DEVICE SAMPLES OUT [RATE]
Run with Debian's /usr/bin/python3 (GNU Radio's modules are built for it).
It also prints how long its threads waited, runnable, for a CPU (the
run_delay of each in /proc/self/task/*/schedstat): what a loaded machine
took from it, which the test weighs against any gap.
"""
import os
import sys
import threading
import time

from gnuradio import blocks, gr, iio


def cpu_waits(seen):
    """Each thread's run_delay so far (ns), into seen[tid]."""
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                seen[tid] = max(seen.get(tid, 0), int(f.read().split()[1]))
        except (OSError, IndexError, ValueError):
            pass  # a thread that has just ended


def main():
    uri, device, samples, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    seen, done = {}, threading.Event()

    def watch():
        while not done.is_set():
            cpu_waits(seen)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    params = []
    if len(sys.argv) > 5:
        params.append(iio.iio_param_t("sampling_frequency", sys.argv[5]))
    tb = gr.top_block()
    src = iio.device_source(uri, device, ["voltage0", "voltage1"], device, params, 32768, 0)
    scans = blocks.interleave(gr.sizeof_short, 1)
    head = blocks.head(gr.sizeof_short, 2 * samples)
    sink = blocks.file_sink(gr.sizeof_short, out, False)
    sink.set_unbuffered(False)
    tb.connect((src, 0), (scans, 0))
    tb.connect((src, 1), (scans, 1))
    tb.connect(scans, head, sink)
    tb.run()
    sink.close()
    done.set()
    watcher.join()
    cpu_waits(seen)
    print(f"gr-iio: {head.nitems_written(0) // 2} samples per channel to {out}")
    print(f"cpu_wait_s: {sum(seen.values()) / 1e9:.3f}")


if __name__ == "__main__":
    main()
