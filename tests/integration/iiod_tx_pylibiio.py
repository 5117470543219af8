#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""python3-libiio (Debian's, 0.24) writes the sample pattern into iiostreamd's
sim DAC through the iiod-compatible port: Buffer.write() and Buffer.push(),
buffer after buffer, then the buffer is destroyed (CLOSE). Run by
iiod_tx_loopback_test.sh, which checks what the DAC played.

usage: iiod_tx_pylibiio.py [--buffer N] URI SAMPLES
Scans 0..SAMPLES-1 of channels voltage0 and voltage1 (SAMPLES a multiple
of N, 15000 by default).
"""
import sys

import iio
import numpy as np


def pattern(first, count, channels=2):
    """Scans first..first+count-1 of iiostream's pattern
    (common/include/iiostream/pattern.h), interleaved, little-endian."""
    n = np.arange(first, first + count, dtype=np.uint64)
    lo, mid, hi = n & 0xFFFFFFFF, (n >> 16) & 0xFFFFFFFF, n >> 32
    out = np.empty((count, channels), dtype="<u2")
    for c in range(channels):
        v = lo * 0x9E37 + mid * 0x6B43 + hi * 0x2F1D + c * 0x3C6F + 0x1234
        out[:, c] = (v & 0xFFFF).astype(np.uint16)
    return out.tobytes()


def main():
    args = sys.argv[1:]
    size = 15000
    if args[0] == "--buffer":
        size, args = int(args[1]), args[2:]
    uri, samples = args[0], int(args[1])
    ctx = iio.Context(uri)
    dev = ctx.find_device("sim-dac")
    for ch in ("voltage0", "voltage1"):
        dev.find_channel(ch, True).enabled = True
    buf = iio.Buffer(dev, size, False)
    for first in range(0, samples, size):
        data = bytearray(pattern(first, size))
        wrote = buf.write(data)
        if wrote != len(data):
            sys.exit(f"Buffer.write took {wrote} of {len(data)} bytes")
        buf.push()
    del buf  # CLOSE: what was pushed plays out
    print(f"python3-libiio: {samples} scans pushed in buffers of {size} to {uri}")


if __name__ == "__main__":
    main()
