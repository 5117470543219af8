/* SPDX-License-Identifier: MIT */
/*
 * `--source auto`: the streamable devices of the board, found in sysfs.
 *
 * Every IIO device with an input buffer becomes one spec (source_spec.h):
 * `kernel:/dev/iio_blockN` where the device has a block interface (the
 * iiostream_sim module's `block_device` attribute), else
 * `readfd:/dev/iio:deviceN` (the IIO core's kfifo, read()). An output
 * device (a DAC: out_*_en scan elements) with a block interface becomes
 * `kernel:/dev/iio_blockN` too, which the server opens as an output stream
 * (its node's direction is out); a DAC with only the kfifo is left to the
 * iiod port's WRITEBUF, and devices without a buffer (monitors, PHYs) to
 * the attribute interface. The kernels of ADI that carry the block ioctls
 * on the IIO node itself are streamed through read() by the scan: name
 * them with `kernel:NAME` for their block interface.
 */
#ifndef IIOSTREAMD_SOURCE_SCAN_H
#define IIOSTREAMD_SOURCE_SCAN_H

#include <stdint.h>

#include "source_spec.h"

#define SOURCE_SCAN_ROOT "/sys/bus/iio/devices"

/* Write up to `max` specs for the devices under `root` (SOURCE_SCAN_ROOT;
 * a test gives a tree of its own), in the order of their device numbers,
 * each followed by `keys` (",blocks=16", or ""). Returns how many; 0 when
 * there is no IIO (no root) or no device with an input buffer or a DAC's
 * block node. */
uint32_t source_scan(const char *root, const char *keys, char (*specs)[SOURCE_SPEC_MAX],
		     uint32_t max);

#endif /* IIOSTREAMD_SOURCE_SCAN_H */
