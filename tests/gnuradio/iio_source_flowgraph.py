#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""GNU Radio's stock iio device source (gr-iio) reading iiostreamd's
iiod-compatible listener: N samples of two channels, interleaved back into
scans and written to a file that `iiostream verify` checks.

usage: iio_source_flowgraph.py URI DEVICE SAMPLES OUT [RATE]
Run with Debian's /usr/bin/python3 (GNU Radio's modules are built for it).
"""
import sys

from gnuradio import blocks, gr, iio


def main():
    uri, device, samples, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
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
    print(f"gr-iio: {head.nitems_written(0) // 2} samples per channel to {out}")


if __name__ == "__main__":
    main()
