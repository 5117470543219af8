/* SPDX-License-Identifier: MIT */
/*
 * One streamed device as --source (or a `source =` line of the config file)
 * names it:
 *
 *   DRIVER[:ITEM[,ITEM...]]
 *
 * DRIVER is a source (source.h: sim, kernel, readfd, dmabuf), or `auto`: every
 * streamable device of the board (source_scan.h), the sim when there is
 * none, each with the keys given to auto. Each ITEM is either
 * KEY=VALUE, a setting of this device, or, once at most, a bare word: the
 * node or device the source opens ("/dev/iio_block0", "cf-ad9361-lpc").
 *
 *   sim:name=adc1,channels=4,rate=2M
 *   kernel:/dev/iio_block1,blocks=16,block-size=256K
 *   readfd:cf-ad9361-lpc,client-queue=4
 *   dmabuf:iiostream-sim,buffer=1
 *
 * Keys (a setting left out is the daemon's flag of the same name):
 *   name=NAME        the device's name (sim only: a kernel device has its own)
 *   channels=N       channels, 1..64 (a kernel device has its own unless given)
 *   rate=N           scans per second, K/M suffixes
 *   format=FMT       sim only: the scan format of its channels, as IIO
 *                    writes it ("le:S12/16>>0", "be:s24/32>>8")
 *   timestamp=on|off sim only: a 64-bit timestamp channel after the others
 *   dac=on|off       sim only: the sim board's DAC beside its ADC (on: an
 *                    output device "ID-dac" looping back into the ADC)
 *   block-size=N     bytes per block, K/M suffixes
 *   blocks=N         blocks in the ring
 *   client-queue=N   blocks a client may have queued
 *   buffer=N         dmabuf only: the IIO buffer (bufferN/) to use, 0..63;
 *                    without it, the first that takes a DMA-BUF
 */
#ifndef IIOSTREAMD_SOURCE_SPEC_H
#define IIOSTREAMD_SOURCE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"

#define SOURCE_SPEC_MAX 256 /* bytes of a spec, with its NUL */

struct source_spec {
	const struct source_ops *ops; /* the DRIVER; NULL for auto */
	bool scan;                    /* auto: expanded at start-up (source_scan()) */
	char arg[SOURCE_SPEC_MAX];    /* the bare word, "" if none */
	char name[64];                /* name=, "" if not given */
	char format[128];             /* format=, "" if not given */
	bool timestamp;               /* timestamp=on */
	bool no_dac;                  /* dac=off: the sim without its DAC */
	/* each 0 when not given: the daemon's flag applies */
	uint32_t channels;
	uint64_t rate;
	bool rate_set;                /* rate= was given (rate=0: unpaced) */
	uint32_t block_size;
	uint32_t blocks;
	uint32_t client_queue;
	bool buffer_set;              /* buffer= was given (dmabuf) */
	uint32_t buffer;
};

/* Parse `text`. 0, or -EINVAL with err saying what is wrong, e.g.
 * "'sim:rate=fast': rate: 'fast' is not a number" or "'kernel:a,b': two
 * nodes ('a' and 'b')". Bounds are checked here where they are the
 * daemon's own (channels 1..64, rate at most 1G); the rest when the
 * device opens. */
int source_spec_parse(const char *text, struct source_spec *out, char *err, size_t errlen);

#endif /* IIOSTREAMD_SOURCE_SPEC_H */
