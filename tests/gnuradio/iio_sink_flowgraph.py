#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""GNU Radio's stock iio device sink (gr-iio's iio.device_sink) writing
iiostreamd's sim DAC through the iiod-compatible listener: the sample
pattern, one stream of shorts per channel, from vector sources. Run by
tests/integration/iiod_tx_loopback_test.sh, which checks what the DAC
played through its loopback.

usage: iio_sink_flowgraph.py [--buffer N] URI SAMPLES
Scans 0..SAMPLES-1 of channels voltage0 and voltage1 (SAMPLES a multiple
of N, 15000 by default: the sink pushes whole buffers only).
Run with Debian's /usr/bin/python3 (GNU Radio's modules are built for it).
"""
import sys

import numpy as np
from gnuradio import blocks, gr, iio


def pattern(count, channel):
    """Channel `channel` of iiostream's pattern (common/include/iiostream/
    pattern.h), scans 0..count-1, as int16."""
    n = np.arange(count, dtype=np.uint64)
    lo, mid, hi = n & 0xFFFFFFFF, (n >> 16) & 0xFFFFFFFF, n >> 32
    v = lo * 0x9E37 + mid * 0x6B43 + hi * 0x2F1D + channel * 0x3C6F + 0x1234
    return (v & 0xFFFF).astype(np.uint16).view(np.int16)


def main():
    args = sys.argv[1:]
    size = 15000
    if args[0] == "--buffer":
        size, args = int(args[1]), args[2:]
    uri, samples = args[0], int(args[1])
    tb = gr.top_block()
    sink = iio.device_sink(uri, "sim-dac", ["voltage0", "voltage1"], "sim-dac", [], size, 0,
                           False)
    for ch in range(2):
        tb.connect(blocks.vector_source_s(pattern(samples, ch).tolist(), False), (sink, ch))
    tb.run()
    # the sink's buffer goes with it (CLOSE): what was pushed plays out
    del tb, sink
    print(f"gr-iio device_sink: {samples} scans of 2 channels to {uri} in buffers of {size}")


if __name__ == "__main__":
    main()
