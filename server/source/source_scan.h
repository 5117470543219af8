/* SPDX-License-Identifier: MIT */
/*
 * `--source auto`: the streamable devices of the board, found in sysfs.
 *
 * Every IIO device with an input buffer becomes one spec (source_spec.h),
 * the first of these it has:
 *  1. `kernel:/dev/iio_blockN`: a block interface (the iiostream_sim
 *     module's `block_device` attribute): it stamps each block with its
 *     time and the scans lost before it;
 *  2. `dmabuf:iio:deviceN,buffer=K`: the mainline DMABUF interface (Linux
 *     6.11+): buffer K is the first input buffer (bufferK/direction "in")
 *     that accepts a DMA-BUF: a one-page udmabuf ATTACHed and DETACHed
 *     (iio_dmabuf_probe(); EPERM: no DMABUF);
 *  3. `readfd:/dev/iio:deviceN`: the IIO core's kfifo, read().
 * An output device (a DAC: out_*_en scan elements) becomes a spec through
 * 1 or 2 (an output buffer's), which the server opens as an output
 * stream; a DAC with only the kfifo is left to the iiod port's WRITEBUF,
 * and devices without a buffer (monitors, PHYs) to the attribute
 * interface. The kernels of ADI that carry the block ioctls
 * on the IIO node itself are streamed through read() by the scan: name
 * them with `kernel:NAME` for their block interface.
 */
#ifndef IIOSTREAMD_SOURCE_SCAN_H
#define IIOSTREAMD_SOURCE_SCAN_H

#include <stdbool.h>
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

/* Does device `entry` ("iio:device0", sysfs dir `dir`) have a buffer of
 * this direction taking DMA-BUFs? Its index into *buffer and true. */
typedef bool (*source_scan_dmabuf_fn)(const char *dir, const char *entry, bool output,
				      uint32_t *buffer);
/* The probe source_scan() uses: bufferK/direction, then iio_dmabuf_probe()
 * on /dev/ENTRY. */
bool source_scan_dmabuf_probe(const char *dir, const char *entry, bool output,
			      uint32_t *buffer);
/* source_scan() with another probe (a test's, for a tree of its own). */
uint32_t source_scan_with(const char *root, const char *keys, char (*specs)[SOURCE_SPEC_MAX],
			  uint32_t max, source_scan_dmabuf_fn probe);

#endif /* IIOSTREAMD_SOURCE_SCAN_H */
