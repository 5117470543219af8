// SPDX-License-Identifier: MIT
/*
 * Verification of the simulated sample pattern and stream continuity.
 *
 * A block is checked in the scan format the stream describes: each
 * channel's IIO type (iios_channel's is_signed, bits, storage_bits, shift,
 * big_endian), laid out as the IIO core lays a scan out, and the pattern in
 * that format (iiostream/scan.h). A channel whose id is "timestamp" (IIO's
 * name for it) holds each scan's time in ns, which must never go back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "iiostream.h"
#include "iiostream/pattern.h"
#include "iiostream/scan.h"

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
 * The scan layout the stream describes. A stream without channels, or a
 * channel without a format (storage_bits 0: a description from before
 * formats), means le:s16/16 channels, as every stream was then; without
 * channels they are 0..scan_bytes/2-1. -EINVAL (why says it) when the
 * formats are no IIO types or do not make scan_bytes.
 */
static int stream_layout(const struct iios_stream_info *info, struct iios_scan_layout *l,
			 char *why, size_t len)
{
	uint32_t i, n = info->n_channels;

	iios_scan_layout_init(l);
	if (n == 0) {
		struct iios_scan_type s16 = iios_scan_type_s16();

		for (i = 0; i < info->scan_bytes / IIOS_PATTERN_SAMPLE_BYTES; i++)
			if (iios_scan_layout_add(l, &s16, i, false))
				break;
	}
	for (i = 0; i < n && i < IIOS_MAX_CHANNELS; i++) {
		const struct iios_channel *ch = &info->channels[i];
		struct iios_scan_type t = iios_scan_type_s16();
		bool ts = strcmp(ch->id, "timestamp") == 0;

		if (ch->storage_bits) {
			t.is_signed = ch->is_signed;
			t.big_endian = ch->big_endian;
			if (ch->bits > 64 || ch->storage_bits > 64 || ch->shift > 64) {
				snprintf(why, len, "channel %u: %u/%u>>%u is no IIO type", ch->index,
					 ch->bits, ch->storage_bits, ch->shift);
				return -EINVAL;
			}
			t.bits = (uint8_t)ch->bits;
			t.storage_bits = (uint8_t)ch->storage_bits;
			t.shift = (uint8_t)ch->shift;
		} else if (ts) {
			t = iios_scan_type_timestamp();
		}
		if (iios_scan_layout_add(l, &t, ch->index, ts)) {
			char text[IIOS_SCAN_TYPE_STR_MAX];

			iios_scan_type_print(&t, text, sizeof(text));
			snprintf(why, len, "channel %u (%s, %s): not a %s in ascending scan index",
				 ch->index, ch->id, text, ts ? "le:s64/64 timestamp" : "valid type");
			return -EINVAL;
		}
	}
	if (l->count == 0 || l->scan_bytes != info->scan_bytes) {
		snprintf(why, len, "%u channel(s) make %u-byte scans, the stream says %u",
			 l->count, l->scan_bytes, info->scan_bytes);
		return -EINVAL;
	}
	return 0;
}

static bool has_timestamp(const struct iios_scan_layout *l)
{
	uint32_t k;

	for (k = 0; k < l->count; k++)
		if (l->elem[k].timestamp)
			return true;
	return false;
}

/*
 * iios_scan_check(), faster where it can be: without a timestamp, expected
 * bytes come from the fill in chunks and are compared with memcmp; only a
 * chunk that differs is walked value by value to name the first wrong one
 * (or to find that only padding differed). *ts_prev as iios_scan_check()'s.
 */
static long check_scans(const struct iios_scan_layout *l, const uint8_t *data, size_t len,
			uint64_t first, uint64_t *ts_prev)
{
	uint8_t expect[16384];
	size_t scan_bytes = l->scan_bytes, chunk, off;

	if (has_timestamp(l) || scan_bytes > sizeof(expect))
		return iios_scan_check(l, data, len, first, ts_prev);
	chunk = sizeof(expect) / scan_bytes * scan_bytes;
	for (off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		uint64_t scan = first + off / scan_bytes;
		long bad_at;

		iios_scan_fill(l, expect, scan, (uint32_t)(n / scan_bytes), NULL);
		if (memcmp(expect, data + off, n) == 0)
			continue;
		bad_at = iios_scan_check(l, data + off, n, scan, NULL);
		if (bad_at >= 0)
			return (long)off + bad_at;
	}
	return -1;
}

/* The element of l holding byte `in_scan` of a scan. */
static const struct iios_scan_element *element_at(const struct iios_scan_layout *l,
						  uint32_t in_scan)
{
	uint32_t k;

	for (k = l->count; k-- > 0;)
		if (l->elem[k].offset <= in_scan)
			return &l->elem[k];
	return &l->elem[0];
}

int iios_verify_block(struct iios_verify *v, const struct iios_stream_info *info,
		      const struct iios_block *blk)
{
	bool had_prev = v->have_prev;
	uint64_t want_seq = v->next_sequence + blk->lost_before;
	uint64_t want_sample = v->next_sample + blk->lost_samples;
	struct iios_scan_layout l;
	const struct iios_scan_element *e;
	char why[128];
	long off;

	v->blocks++;
	v->bytes += blk->len;
	v->lost_blocks += blk->lost_before;
	v->lost_samples += blk->lost_samples;
	/* Whatever this block holds, the next one follows from it. */
	v->have_prev = true;
	v->next_sequence = blk->sequence + 1;
	v->next_sample = blk->first_sample + (info->scan_bytes ? blk->len / info->scan_bytes : 0);

	if (stream_layout(info, &l, why, sizeof(why)))
		return bad(v, "block %" PRIu64 ": the stream's scan format: %s", blk->sequence, why);
	if (blk->len % info->scan_bytes)
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
	/* The pattern depends on each channel's scan index and type; the
	 * timestamps may not go back from the previous block's. */
	off = check_scans(&l, blk->data, blk->len, blk->first_sample, &v->last_timestamp_ns);
	if (off < 0)
		return 0;
	e = element_at(&l, (uint32_t)((unsigned long)off % info->scan_bytes));
	if (e->timestamp)
		return bad(v, "block %" PRIu64 ": timestamp at byte %ld (scan %" PRIu64
			   ") goes back", blk->sequence, off,
			   blk->first_sample + (uint64_t)off / info->scan_bytes);
	return bad(v, "block %" PRIu64 ": wrong sample at byte %ld (scan %" PRIu64
		   ", channel %u)", blk->sequence, off,
		   blk->first_sample + (uint64_t)off / info->scan_bytes, e->index);
}

/* ---- raw scans, without block headers --------------------------------- */

#define LOCATE_SCANS 4u            /* scans that must match to accept a start */
#define STEP 0x9e37u               /* a lane's step from one scan to the next */
#define MID_STEP 0x6b43u           /* and the extra step where n >> 16 changes */

/* The inverse of an odd number modulo 2^16 (Newton's iteration). */
static uint16_t inverse16(uint16_t a)
{
	uint32_t x = a; /* right to 3 bits for any odd a */
	int i;

	for (i = 0; i < 4; i++)
		x = x * (2u - (uint32_t)a * x);
	return (uint16_t)x;
}

static uint16_t sample_at(const uint8_t *p, size_t scan, size_t scan_bytes)
{
	p += scan * scan_bytes;
	return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * The scan index of the run that starts at `p`. A sample is lo * STEP +
 * mid * MID_STEP + hi * 0x2f1d + a channel term (mod 2^16), lo, mid and hi
 * the 16-bit parts of the index, so within 65536 scans a lane only grows by
 * STEP, and the place where it grows by STEP + MID_STEP instead is where lo
 * wraps: that gives lo at the start, and then the first sample gives mid.
 * Without such a place in the data (fewer than 65537 scans before the first
 * discontinuity) the start is not determined: lo is taken as 0, which
 * predicts no wrap within the run, so the run still checks whole.
 * hi is taken as 0: the index is found modulo 2^32.
 */
static bool locate(const uint8_t *p, size_t scans, const unsigned char *ids, uint32_t n,
		   uint64_t *first, bool *determined)
{
	size_t scan_bytes = (size_t)n * 2, w;
	uint16_t lo = 0, mid;
	uint32_t rest;

	*determined = false;
	for (w = 1; w < scans && w <= 0x10000u; w++) {
		uint16_t step = (uint16_t)(sample_at(p, w, scan_bytes) -
					   sample_at(p, w - 1, scan_bytes));

		if (step == STEP)
			continue;
		if (step == (uint16_t)(STEP + MID_STEP)) {
			lo = (uint16_t)(0x10000u - w);
			*determined = true;
		}
		break;
	}
	/* unsigned arithmetic: 16-bit operands would be promoted to int */
	rest = (uint32_t)sample_at(p, 0, scan_bytes) - iios_pattern_sample(0, ids[0]) -
	       (uint32_t)lo * STEP;
	mid = (uint16_t)((rest & 0xffffu) * (uint32_t)inverse16(MID_STEP));
	*first = (uint64_t)mid << 16 | lo;
	return iios_pattern_check_ids(p, (unsigned long)(scans < LOCATE_SCANS ? scans
								 : LOCATE_SCANS) * scan_bytes,
				      *first, ids, n) == -1;
}

static void scan_error(struct iios_scan_check *chk, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void scan_error(struct iios_scan_check *chk, const char *fmt, ...)
{
	va_list ap;

	if (chk->errors++)
		return;
	va_start(ap, fmt);
	vsnprintf(chk->first_error, sizeof(chk->first_error), fmt, ap);
	va_end(ap);
}

int iios_verify_scans(struct iios_scan_check *chk, const void *data, size_t len,
		      const uint32_t *channels, uint32_t n_channels)
{
	const uint8_t *p = data;
	unsigned char ids[IIOS_MAX_CHANNELS];
	size_t scan_bytes = (size_t)n_channels * IIOS_PATTERN_SAMPLE_BYTES, total, i;
	uint64_t next;
	bool run_determined;
	uint32_t k;

	memset(chk, 0, sizeof(*chk));
	if (n_channels == 0 || n_channels > IIOS_MAX_CHANNELS || len % scan_bytes)
		return -EINVAL;
	for (k = 0; k < n_channels; k++) {
		if (channels[k] >= IIOS_MAX_CHANNELS || (k && channels[k] <= channels[k - 1]))
			return -EINVAL;
		ids[k] = (unsigned char)channels[k];
	}
	total = len / scan_bytes;
	if (total < LOCATE_SCANS ||
	    !locate(p, total, ids, n_channels, &chk->first_scan, &chk->start_determined))
		return -ENOENT;
	next = chk->first_scan;
	run_determined = chk->start_determined;
	for (i = 0; i < total; i++, p += scan_bytes) {
		uint64_t at;
		bool determined;

		if (iios_pattern_check_ids(p, (unsigned long)scan_bytes, next, ids, n_channels) ==
		    -1) {
			next++;
			continue;
		}
		/* not the next scan: a later one (a gap), or not pattern data */
		if (chk->errors < 16 && total - i >= LOCATE_SCANS &&
		    locate(p, total - i, ids, n_channels, &at, &determined) &&
		    (at > next || !determined || !run_determined)) {
			chk->gaps++;
			if (determined && run_determined)
				chk->scans_missing += at - next;
			else
				chk->gaps_unsized++;
			run_determined = determined;
			next = at + 1;
			continue;
		}
		scan_error(chk, "scan %zu of the data (index %" PRIu64 "): not the pattern", i,
			   next);
		next++;
	}
	chk->scans = total;
	return chk->errors ? -EILSEQ : 0;
}
