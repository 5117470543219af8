/* SPDX-License-Identifier: MIT */
/*
 * A spectrum frame as the browser receives it: one binary WebSocket
 * message, a fixed little-endian header and one byte per bin.
 *
 *   off  type  field
 *     0  u32   magic           0x50534949: the bytes "IISP"
 *     4  u16   version         1
 *     6  u16   header_bytes    96: where the values start (a later
 *                              version may grow the header; readers skip
 *                              what they do not know)
 *     8  u32   bins            values that follow: 1024, 2048 or 4096
 *    12  u32   flags           bit 0: complex (I/Q), else real
 *    16  f64   sample_rate     Hz (scans per second); 0: unpaced source,
 *                              the frequencies are then in cycles per scan
 *                              with sample_rate taken as 1
 *    24  f64   centre_hz       frequency of the middle of the span
 *    32  f64   span_hz         bins * bin width; bin i is at
 *                              centre_hz - span_hz/2 + i * span_hz / bins:
 *                              complex: centre 0, span fs (-fs/2 .. fs/2);
 *                              real: centre fs/4, span fs/2 (0 .. fs/2)
 *    40  u64   timestamp_ns    the source's stamp of the frame's first scan
 *                              (CLOCK_MONOTONIC on the board, or the
 *                              device's clock)
 *    48  u64   first_sample    absolute scan index of the frame's first scan
 *    56  u64   sequence        frames computed for this spectrum so far
 *                              (shared by its viewers: a gap is frames not
 *                              sent to this viewer, by its rate or skipped)
 *    64  u64   frames_skipped  frames this viewer missed because its
 *                              connection had not taken the ones before
 *    72  u32   peak_bin        strongest bin (computed in float, before
 *                              quantisation)
 *    76  f32   peak_dbfs       its level, dBFS
 *    80  f32   db_offset       value v (0..255) means db_offset + v * db_step
 *    84  f32   db_step           dBFS (now -159.375 and 0.625: v 255 is
 *                              0 dBFS, v 0 is -159.375 dBFS or below)
 *    88  u16   channel_i       scan index of I (the real channel)
 *    90  u16   channel_q       scan index of Q, 0xffff: none (real)
 *    92  u32   reserved        0
 *    96  u8[bins]  levels
 *
 * Why one byte per bin: 4096 float32 at 25 frames/s is 410 KB/s per
 * viewer, 4096 bytes is 102 KB/s; a waterfall shows 256 shades at most,
 * and 0.625 dB steps over 160 dB cover a 16-bit ADC's range after the
 * FFT's processing gain (a 4096-bin noise floor near -130 dBFS) with room
 * below. The peak, which the cursor readout and the tests want exactly,
 * travels unquantised in the header. Little-endian because both the
 * boards and the browsers are (DataView reads it either way).
 */
#ifndef IIOSTREAMD_SPECTRUM_FRAME_H
#define IIOSTREAMD_SPECTRUM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define SPECTRUM_FRAME_MAGIC 0x50534949u
#define SPECTRUM_FRAME_VERSION 1
#define SPECTRUM_FRAME_HEADER_BYTES 96
#define SPECTRUM_FRAME_COMPLEX (1u << 0)
#define SPECTRUM_FRAME_NO_CHANNEL 0xffffu
#define SPECTRUM_DB_STEP 0.625f
#define SPECTRUM_DB_OFFSET (-255 * SPECTRUM_DB_STEP)
/* The largest frame: the header and 4096 levels. */
#define SPECTRUM_FRAME_MAX (SPECTRUM_FRAME_HEADER_BYTES + 4096)

/* The header's fields, as numbers (the layout above is the wire's). */
struct spectrum_frame_header {
	uint32_t bins;
	uint32_t flags;
	double sample_rate, centre_hz, span_hz;
	uint64_t timestamp_ns, first_sample, sequence, frames_skipped;
	uint32_t peak_bin;
	float peak_dbfs;
	float db_offset, db_step;
	uint16_t channel_i, channel_q;
};

/* The level a byte says, dBFS. */
static inline float spectrum_frame_level(const struct spectrum_frame_header *h, uint8_t v)
{
	return h->db_offset + v * h->db_step;
}

/* Write the header *h (db_offset and db_step are set to the constants
 * above) and bins levels quantised from db[] (dBFS, clamped to 0..255) to
 * out[len]. Returns the frame's length, or 0 if len is too small. */
size_t spectrum_frame_encode(struct spectrum_frame_header *h, const float *db, uint8_t *out,
			     size_t len);

/* Change frames_skipped of an encoded frame (each viewer its own). */
void spectrum_frame_set_skipped(uint8_t *frame, uint64_t skipped);

/* Read a frame: header into *h, *levels to its first level. 0, or
 * -EBADMSG for a wrong magic or version, a header_bytes under 96, a bins
 * of 0 or over 4096, or a len that does not hold header_bytes + bins
 * (checked before anything is read past the fixed header). */
int spectrum_frame_parse(const uint8_t *buf, size_t len, struct spectrum_frame_header *h,
			 const uint8_t **levels);

#endif /* IIOSTREAMD_SPECTRUM_FRAME_H */
