// SPDX-License-Identifier: MIT
/* Verification of the simulated sample pattern and stream continuity. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "iiostream.h"
#include "iiostream/pattern.h"

void iios_verify_init(struct iios_verify *v)
{
	memset(v, 0, sizeof(*v));
}

static int bad(struct iios_verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct iios_verify *v, const char *fmt, ...)
{
	va_list ap;

	v->integrity_errors++;
	if (v->integrity_errors == 1) {
		va_start(ap, fmt);
		vsnprintf(v->first_error, sizeof(v->first_error), fmt, ap);
		va_end(ap);
	}
	return -EILSEQ;
}

/*
 * iios_pattern_check(), faster: expected bytes come from the fast fill in
 * chunks and are compared with memcmp; only a chunk that differs is walked
 * sample by sample to name the first wrong one.
 */
static long check_pattern(const uint8_t *data, size_t len, uint64_t first,
			  const unsigned char *ids, uint32_t channels)
{
	uint8_t expect[16384];
	size_t scan_bytes = (size_t)channels * IIOS_PATTERN_SAMPLE_BYTES;
	size_t chunk = sizeof(expect) / scan_bytes * scan_bytes;
	size_t off;

	for (off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		uint64_t scan = first + off / scan_bytes;

		iios_pattern_fill_fast_ids(expect, scan, (uint32_t)(n / scan_bytes), ids, channels);
		if (memcmp(expect, data + off, n) != 0)
			return (long)off + iios_pattern_check_ids(data + off, n, scan, ids, channels);
	}
	return -1;
}

int iios_verify_block(struct iios_verify *v, const struct iios_stream_info *info,
		      const struct iios_block *blk)
{
	bool had_prev = v->have_prev;
	uint64_t want_seq = v->next_sequence + blk->lost_before;
	uint64_t want_sample = v->next_sample + blk->lost_samples;
	uint32_t channels = info->scan_bytes / IIOS_PATTERN_SAMPLE_BYTES;
	unsigned char ids[IIOS_MAX_CHANNELS];
	uint32_t i;
	long off;

	v->blocks++;
	v->bytes += blk->len;
	v->lost_blocks += blk->lost_before;
	v->lost_samples += blk->lost_samples;
	/* Whatever this block holds, the next one follows from it. */
	v->have_prev = true;
	v->next_sequence = blk->sequence + 1;
	v->next_sample = blk->first_sample + (info->scan_bytes ? blk->len / info->scan_bytes : 0);

	if (info->scan_bytes == 0 || info->scan_bytes % IIOS_PATTERN_SAMPLE_BYTES ||
	    channels > IIOS_MAX_CHANNELS || blk->len % info->scan_bytes)
		return bad(v, "block %" PRIu64 ": %zu bytes is not a whole number of %u-byte scans",
			   blk->sequence, blk->len, info->scan_bytes);
	if (had_prev && blk->sequence != want_seq)
		return bad(v, "block %" PRIu64 ": expected sequence %" PRIu64
			   " (lost_before %" PRIu64 ")", blk->sequence, want_seq, blk->lost_before);
	if (had_prev && blk->first_sample != want_sample)
		return bad(v, "block %" PRIu64 ": first sample %" PRIu64 ", expected %" PRIu64
			   " (lost_samples %" PRIu64 ")", blk->sequence, blk->first_sample,
			   want_sample, blk->lost_samples);
	if (had_prev && blk->lost_samples && !blk->lost_before && !(blk->flags & IIOS_BLOCK_OVERFLOW))
		return bad(v, "block %" PRIu64 ": %" PRIu64 " scans lost without a cause",
			   blk->sequence, blk->lost_samples);
	/* The channels each scan holds, by index (the pattern depends on it);
	 * a stream described without them holds channels 0..n-1. */
	if (info->n_channels != channels)
		for (i = 0; i < channels; i++)
			ids[i] = (unsigned char)i;
	else
		for (i = 0; i < channels; i++)
			ids[i] = (unsigned char)info->channels[i].index;
	off = check_pattern(blk->data, blk->len, blk->first_sample, ids, channels);
	if (off >= 0)
		return bad(v, "block %" PRIu64 ": wrong sample at byte %ld (scan %" PRIu64
			   ", channel %lu)", blk->sequence, off,
			   blk->first_sample + (uint64_t)off / info->scan_bytes,
			   (unsigned long)(off % info->scan_bytes) / IIOS_PATTERN_SAMPLE_BYTES);
	return 0;
}
