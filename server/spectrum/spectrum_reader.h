/* SPDX-License-Identifier: MIT */
/*
 * Samples for a spectrum, read out of a stream's scans: the one or two
 * channels a spectrum shows, found in the capture's scan layout
 * (iiostream/scan.h) from the stream's source_format, each value converted
 * to full-scale units (-1.0 .. +1.0) as spectrum_fft.h wants them.
 *
 * Conversion: a signed value of `bits` bits is divided by 2^(bits-1), so
 * the 16-bit sim's -32768..32767 is -1.0..0.99997; an unsigned one is
 * taken as offset binary (IIO's `u` ADCs put mid-scale at 2^(bits-1)):
 * (v - 2^(bits-1)) / 2^(bits-1). Storage, shift, endianness and sign
 * extension are IIO's (iios_scan_type_read()); le:s16/16 elements, the
 * sim's and most SDR front-ends', take a direct path.
 *
 * Refused (with a message a viewer can read): a channel the device does
 * not have, its timestamp element, the same channel twice, a channel the
 * capture does not hold now, and elements the spectrum cannot show as
 * one number per scan: IIO's repeat > 1, or more than 32 significant bits
 * (a float could not hold them anyway).
 */
#ifndef IIOSTREAMD_SPECTRUM_READER_H
#define IIOSTREAMD_SPECTRUM_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"

/* No Q channel: a real spectrum of channel I alone. */
#define SPECTRUM_NO_CHANNEL (-1)

struct spectrum_reader {
	/* read-only */
	uint32_t scan_bytes;   /* bytes of one scan of the capture it was made for */
	bool complex;          /* two channels (I, Q), else one */
	uint32_t ch[2];        /* scan indices of I and Q (Q: complex only) */
	/* private */
	struct iios_scan_type type[2];
	uint32_t offset[2];    /* of the element in a scan */
	bool s16le[2];         /* le:s16/16>>0: the direct path */
	float scale[2];        /* 1 / 2^(bits-1) */
	float bias[2];         /* subtracted before scaling: 2^(bits-1) if unsigned */
};

/*
 * A reader of channel ch_i (and ch_q, or SPECTRUM_NO_CHANNEL) out of the
 * scans *fmt describes (its enabled elements, channel_mask). Returns 0, or
 * with a one-line reason in err[errlen]:
 *   -EINVAL      a channel the device does not have (or its timestamp),
 *                or ch_q == ch_i;
 *   -EBUSY       a channel the capture does not hold now (another client
 *                chose the captured channels);
 *   -EOPNOTSUPP  an element of repeat > 1 or more than 32 bits, or a
 *                format whose layout does not match fmt->scan_bytes.
 */
int spectrum_reader_init(struct spectrum_reader *rd, const struct source_format *fmt,
			 uint32_t ch_i, int ch_q, char *err, size_t errlen);

/* Convert n scans at `scans` (n * rd->scan_bytes bytes): n floats to
 * out[] (one channel), or n interleaved I, Q pairs (2n floats). */
void spectrum_reader_read(const struct spectrum_reader *rd, const uint8_t *scans, uint32_t n,
			  float *out);

#endif /* IIOSTREAMD_SPECTRUM_READER_H */
