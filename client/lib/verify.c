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

/* The IIO type a channel describes; storage_bits 0 (a description from
 * before formats): le:s16/16, or le:s64/64 for the timestamp. -EINVAL
 * (why says it) for numbers no IIO type has. */
static int channel_type(const struct iios_channel *ch, bool ts, struct iios_scan_type *t,
			char *why, size_t len)
{
	*t = iios_scan_type_s16();
	if (!ch->storage_bits) {
		if (ts)
			*t = iios_scan_type_timestamp();
		return 0;
	}
	if (ch->bits > 64 || ch->storage_bits > 64 || ch->shift > 64 || ch->repeat > 255) {
		snprintf(why, len, "channel %u: %u/%uX%u>>%u is no IIO type", ch->index, ch->bits,
			 ch->storage_bits, ch->repeat, ch->shift);
		return -EINVAL;
	}
	t->is_signed = ch->is_signed;
	t->fully_defined = ch->fully_defined;
	t->big_endian = ch->big_endian;
	t->bits = (uint8_t)ch->bits;
	t->storage_bits = (uint8_t)ch->storage_bits;
	t->shift = (uint8_t)ch->shift;
	t->repeat = (uint8_t)(ch->repeat ? ch->repeat : 1);
	return 0;
}

/*
 * The scan layout of channels chans[0..n-1] (ascending scan index): each
 * in its format (channel_type()); the timestamp is the channel flagged so
 * or with id "timestamp" (IIO's name for it). -EINVAL (why says it) when
 * the formats are no IIO types or the indices do not ascend.
 */
static int channels_layout(const struct iios_channel *chans, uint32_t n,
			   struct iios_scan_layout *l, char *why, size_t len)
{
	uint32_t i;

	iios_scan_layout_init(l);
	for (i = 0; i < n && i < IIOS_MAX_CHANNELS; i++) {
		const struct iios_channel *ch = &chans[i];
		bool ts = ch->timestamp || strcmp(ch->id, "timestamp") == 0;
		struct iios_scan_type t;

		if (channel_type(ch, ts, &t, why, len))
			return -EINVAL;
		if (iios_scan_layout_add(l, &t, ch->index, ts)) {
			char text[IIOS_SCAN_TYPE_STR_MAX];

			iios_scan_type_print(&t, text, sizeof(text));
			snprintf(why, len, "channel %u (%s, %s): not a %s in ascending scan index",
				 ch->index, ch->id, text, ts ? "le:s64/64 timestamp" : "valid type");
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The scan layout the stream describes. A stream without channels means
 * le:s16/16 channels 0..scan_bytes/2-1, as every stream was before
 * formats. -EINVAL (why says it) when the formats are no IIO types or do
 * not make scan_bytes.
 */
static int stream_layout(const struct iios_stream_info *info, struct iios_scan_layout *l,
			 char *why, size_t len)
{
	uint32_t i;

	iios_scan_layout_init(l);
	if (info->n_channels == 0) {
		struct iios_scan_type s16 = iios_scan_type_s16();

		for (i = 0; i < info->scan_bytes / IIOS_PATTERN_SAMPLE_BYTES; i++)
			if (iios_scan_layout_add(l, &s16, i, false))
				break;
	} else if (channels_layout(info->channels, info->n_channels, l, why, len)) {
		return -EINVAL;
	}
	if (l->count == 0 || l->scan_bytes == 0 || l->scan_bytes != info->scan_bytes) {
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

	if (scan_bytes == 0)
		return -1; /* no element: nothing to check */
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

#define LOCATE_SCANS 4u            /* scans that must match to accept a start, */
#define LOCATE_BITS 64u            /* and pattern bits they must hold at least */
#define LOCATE_MAX_ERRORS 16u      /* after as many errors, mismatches are not
				    * located again (each try reads a run) */
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

/* What checking raw scans of one layout needs. */
struct raw_check {
	struct iios_scan_layout l;
	uint32_t key;              /* the element whose first value locates a
				    * run: the widest pattern value */
	unsigned int bits;         /* its pattern bits a lane shows: min(bits, 16) */
	uint64_t modulus;          /* a located index is known modulo this:
				    * 2^(16 + bits) */
	uint32_t locate_scans;     /* scans a located start must match */
};

/* The key element, its bits, and how many scans make a start sure enough:
 * LOCATE_SCANS, more when the scans hold fewer than LOCATE_BITS / 4
 * pattern bits. -EINVAL when no element holds the pattern (timestamps
 * only). */
static int raw_check_init(struct raw_check *rc)
{
	uint32_t k, scan_bits = 0;

	rc->bits = 0;
	for (k = 0; k < rc->l.count; k++) {
		const struct iios_scan_element *e = &rc->l.elem[k];
		unsigned int b = e->type.bits < 16 ? e->type.bits : 16;

		if (e->timestamp)
			continue;
		scan_bits += (uint32_t)e->type.bits * e->type.repeat;
		if (b > rc->bits) {
			rc->bits = b;
			rc->key = k;
		}
	}
	if (!rc->bits)
		return -EINVAL;
	rc->modulus = 1ull << (16 + rc->bits);
	rc->locate_scans = (LOCATE_BITS + scan_bits - 1) / scan_bits;
	if (rc->locate_scans < LOCATE_SCANS)
		rc->locate_scans = LOCATE_SCANS;
	return 0;
}

/* The key lane of scan w of the run at p: the low 16 bits of the key
 * element's first value (of its `bits` bits when narrower), i.e.
 * iios_pattern_sample() masked to them. */
static uint32_t key_lane(const struct raw_check *rc, const uint8_t *p, size_t w)
{
	iios_s64 v = iios_scan_read(&rc->l, p + w * rc->l.scan_bytes, rc->key, 0);

	return (uint32_t)((uint64_t)v & ((1u << rc->bits) - 1));
}

/*
 * The scan index of the run that starts at `p`. A lane is lo * STEP +
 * mid * MID_STEP + hi * 0x2f1d + a channel term (mod 2^16, masked to the
 * lane's bits), lo, mid and hi the 16-bit parts of the index, so within
 * 65536 scans a lane only grows by STEP, and the place where it grows by
 * STEP + MID_STEP instead is where lo wraps: that gives lo at the start,
 * and then the first value gives mid, modulo 2^bits (MID_STEP is odd, so
 * the two steps differ in every lane width). Without such a place in the
 * data (fewer than 65537 scans before the first discontinuity) the start
 * is not determined: lo is taken as 0, which predicts no wrap within the
 * run, so the run still checks whole. hi is taken as 0. A lane of b < 16
 * bits shows mid only modulo 2^b, and the scans of indices that differ by
 * a multiple of 2^(16 + b) are the same bytes: the index is found modulo
 * rc->modulus.
 */
static bool locate(const struct raw_check *rc, const uint8_t *p, size_t scans, uint64_t *first,
		   bool *determined)
{
	uint32_t mask = (1u << rc->bits) - 1, lo = 0, mid, rest;
	size_t w;

	*determined = false;
	if (scans < rc->locate_scans)
		return false;
	for (w = 1; w < scans && w <= 0x10000u; w++) {
		uint32_t step = (key_lane(rc, p, w) - key_lane(rc, p, w - 1)) & mask;

		if (step == (STEP & mask))
			continue;
		if (step == ((STEP + MID_STEP) & mask)) {
			lo = (uint32_t)(0x10000u - w);
			*determined = true;
		}
		break;
	}
	/* unsigned arithmetic: 16-bit operands would be promoted to int */
	rest = key_lane(rc, p, 0) - iios_pattern_sample(0, rc->l.elem[rc->key].index) - lo * STEP;
	mid = ((rest & mask) * (uint32_t)inverse16(MID_STEP)) & mask;
	*first = (uint64_t)mid << 16 | lo;
	return iios_scan_check(&rc->l, p, (unsigned long)rc->locate_scans * rc->l.scan_bytes,
			       *first, NULL) == -1;
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

/* The last timestamp of the scan at p into *ts (unchanged without one). */
static void scan_timestamp(const struct iios_scan_layout *l, const uint8_t *p, uint64_t *ts)
{
	uint32_t k;

	for (k = 0; k < l->count; k++)
		if (l->elem[k].timestamp)
			*ts = (uint64_t)iios_scan_read(l, p, k, 0);
}

/* The walk over a file's scans: where it is, what it expects next. */
struct raw_walk {
	const uint8_t *data;
	size_t total, i;           /* scans in all; the next one to check */
	uint64_t next;             /* the index scan i should have */
	bool run_determined;       /* the current run's index is the data's */
	bool relocated;            /* scan i was just located after a gap */
	uint64_t ts;               /* the last timestamp checked */
};

/* Scan w->i does not follow: a later run (a gap), or no pattern data. */
static void raw_mismatch(struct iios_scan_check *chk, const struct raw_check *rc,
			 struct raw_walk *w)
{
	const uint8_t *p = w->data + w->i * rc->l.scan_bytes;
	uint64_t at, d;
	bool determined;

	if (!w->relocated && chk->errors < LOCATE_MAX_ERRORS &&
	    locate(rc, p, w->total - w->i, &at, &determined)) {
		d = (at - w->next) & (rc->modulus - 1);
		if (determined && w->run_determined && d && d < rc->modulus / 2) {
			chk->gaps++;
			chk->scans_missing += d;
			w->next += d;
			w->relocated = true;
			return;
		}
		if (!determined || !w->run_determined) {
			chk->gaps++;
			chk->gaps_unsized++;
			w->run_determined = determined;
			w->next = at;
			w->relocated = true;
			return;
		}
	}
	scan_error(chk, "scan %zu of the data (index %" PRIu64 "): not the pattern", w->i,
		   w->next);
	w->relocated = false;
	w->next++;
	w->i++;
}

int iios_verify_scans_typed(struct iios_scan_check *chk, const void *data, size_t len,
			    const struct iios_channel *chans, uint32_t n_channels)
{
	struct raw_check rc;
	struct raw_walk w = { .data = data };
	char why[128];
	size_t sb;

	memset(chk, 0, sizeof(*chk));
	if (n_channels == 0 || n_channels > IIOS_MAX_CHANNELS ||
	    channels_layout(chans, n_channels, &rc.l, why, sizeof(why)) || raw_check_init(&rc))
		return -EINVAL;
	sb = rc.l.scan_bytes;
	if (sb == 0 || len % sb)
		return -EINVAL;
	w.total = len / sb;
	if (!locate(&rc, w.data, w.total, &chk->first_scan, &chk->start_determined))
		return -ENOENT;
	w.next = chk->first_scan;
	w.run_determined = chk->start_determined;
	while (w.i < w.total) {
		const uint8_t *p = w.data + w.i * sb;
		long off = iios_scan_check(&rc.l, p, (w.total - w.i) * sb, w.next, &w.ts);
		size_t j;

		if (off < 0)
			break;
		/* scans i..j-1 were right, their timestamps too */
		j = w.i + (size_t)off / sb;
		if (j > w.i) {
			scan_timestamp(&rc.l, w.data + (j - 1) * sb, &w.ts);
			w.next += j - w.i;
			w.i = j;
			w.relocated = false;
		}
		if (element_at(&rc.l, (uint32_t)((size_t)off % sb))->timestamp) {
			scan_error(chk, "scan %zu of the data (index %" PRIu64
				   "): its timestamp goes back", w.i, w.next);
			scan_timestamp(&rc.l, w.data + w.i * sb, &w.ts);
			w.next++;
			w.i++;
			continue;
		}
		raw_mismatch(chk, &rc, &w);
	}
	chk->scans = w.total;
	return chk->errors ? -EILSEQ : 0;
}

int iios_verify_scans(struct iios_scan_check *chk, const void *data, size_t len,
		      const uint32_t *channels, uint32_t n_channels)
{
	struct iios_channel chans[IIOS_MAX_CHANNELS];
	uint32_t k;

	memset(chk, 0, sizeof(*chk));
	if (n_channels == 0 || n_channels > IIOS_MAX_CHANNELS)
		return -EINVAL;
	/* no format: le:s16/16 (channels_layout()) */
	memset(chans, 0, n_channels * sizeof(chans[0]));
	for (k = 0; k < n_channels; k++) {
		if (channels[k] >= IIOS_MAX_CHANNELS)
			return -EINVAL;
		chans[k].index = channels[k];
	}
	return iios_verify_scans_typed(chk, data, len, chans, n_channels);
}

long iios_pattern_scans(void *out, size_t len, uint64_t first, uint32_t scans,
			const struct iios_channel *chans, uint32_t n_channels)
{
	struct iios_scan_layout l;
	char why[128];

	if (n_channels == 0 || n_channels > IIOS_MAX_CHANNELS ||
	    channels_layout(chans, n_channels, &l, why, sizeof(why)) || l.scan_bytes == 0 ||
	    (uint64_t)scans * l.scan_bytes > len)
		return -EINVAL;
	iios_scan_fill(&l, out, first, scans, NULL);
	return (long)((uint64_t)scans * l.scan_bytes);
}

/* ---- a loopback capture: silence, the pattern without a gap, silence ---- */

enum { LB_BEFORE, LB_RUN, LB_AFTER, LB_RESYNC };

void iios_loopback_init(struct iios_loopback_check *lc)
{
	memset(lc, 0, sizeof(*lc));
	lc->phase = LB_BEFORE;
}

bool iios_loopback_ok(const struct iios_loopback_check *lc)
{
	return lc->started && lc->silent_before && lc->first_index == 0 && !lc->gaps &&
	       !lc->errors;
}

static void lb_note(struct iios_loopback_check *lc, uint64_t *count, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void lb_note(struct iios_loopback_check *lc, uint64_t *count, const char *fmt, ...)
{
	va_list ap;

	if (!lc->gaps && !lc->errors) {
		va_start(ap, fmt);
		vsnprintf(lc->first_error, sizeof(lc->first_error), fmt, ap);
		va_end(ap);
	}
	(*count)++;
}

/* The values of a scan are all zero (timestamps aside). */
static bool silent(const struct iios_scan_layout *l, const uint8_t *p)
{
	uint32_t k, b;

	for (k = 0; k < l->count; k++) {
		const struct iios_scan_element *e = &l->elem[k];

		if (e->timestamp)
			continue;
		for (b = 0; b < iios_scan_type_bytes(&e->type); b++)
			if (p[e->offset + b])
				return false;
	}
	return true;
}

/* The pattern index of a scan whose key lane is `lane`, given the low 16
 * bits of its index (locate()'s arithmetic). */
static uint64_t index_from(const struct raw_check *rc, uint32_t lane, uint32_t lo)
{
	uint32_t mask = (1u << rc->bits) - 1;
	uint32_t rest = lane - iios_pattern_sample(0, rc->l.elem[rc->key].index) - lo * STEP;
	uint32_t mid = ((rest & mask) * (uint32_t)inverse16(MID_STEP)) & mask;

	return (uint64_t)mid << 16 | lo;
}

/* A run of the pattern begins at scan i of the piece (p, n scans): its
 * index from its first value, the low 16 bits from where they wrap within
 * the piece (else taken as 0, and found where the run first fails). */
static void lb_start_run(struct iios_loopback_check *lc, const struct raw_check *rc,
			 const uint8_t *p, size_t n, uint64_t at)
{
	uint32_t mask = (1u << rc->bits) - 1, lo = 0;
	size_t w;

	lc->run_determined = false;
	for (w = 1; w < n && w <= 0x10000u; w++) {
		uint32_t step = (key_lane(rc, p, w) - key_lane(rc, p, w - 1)) & mask;

		if (step == (STEP & mask))
			continue;
		if (step == ((STEP + MID_STEP) & mask)) {
			lo = (uint32_t)(0x10000u - w);
			lc->run_determined = true;
		}
		break;
	}
	lc->run_lane = key_lane(rc, p, 0);
	lc->run_at = at;
	lc->next = index_from(rc, lc->run_lane, lo);
	if (!lc->started) {
		lc->started = true;
		lc->first_index = lc->next;
	}
	lc->phase = LB_RUN;
}

/* Scan p (capture scan `at`) does not follow the run. */
static void lb_mismatch(struct iios_loopback_check *lc, const struct raw_check *rc,
			const uint8_t *p, size_t n, uint64_t at, long off_in_scan)
{
	uint64_t w = at - lc->run_at;
	bool first_run = !lc->gaps && !lc->errors;

	if (!lc->run_determined && w >= 1 && w <= 0x10000u) {
		/* the low 16 bits wrap here: the run's index was a guess */
		uint64_t start = index_from(rc, lc->run_lane, (uint32_t)(0x10000u - w) & 0xffffu);

		if (iios_scan_check(&rc->l, p, rc->l.scan_bytes, start + w, NULL) == -1) {
			lc->next = start + w;
			lc->run_determined = true;
			if (first_run)
				lc->first_index = start;
			return;
		}
	}
	if (element_at(&rc->l, (uint32_t)off_in_scan)->timestamp) {
		lb_note(lc, &lc->errors, "capture scan %" PRIu64 ": its timestamp goes back", at);
		lc->next++;
		lc->phase = LB_RESYNC;
		return;
	}
	if (silent(&rc->l, p)) {
		lc->phase = LB_AFTER; /* the end, unless the pattern comes back */
		return;
	}
	if (w < LOCATE_SCANS) {
		lb_note(lc, &lc->errors, "capture scan %" PRIu64 ": neither silence nor the "
			"pattern", at);
		if (first_run && lc->matched <= w)
			lc->started = false; /* that was no start */
		lc->phase = LB_RESYNC;
		return;
	}
	lb_note(lc, &lc->gaps, "capture scan %" PRIu64 ": a jump (pattern index %" PRIu64
		" expected after %" PRIu64 " in order)", at, lc->next, lc->matched);
	lb_start_run(lc, rc, p, n, at);
}

int iios_loopback_feed(struct iios_loopback_check *lc, const void *data, size_t len,
		       uint64_t lost_scans, const struct iios_channel *chans, uint32_t n_channels)
{
	const uint8_t *d = data;
	struct raw_check rc;
	char why[128];
	size_t sb, total, i = 0;

	if (n_channels == 0 || n_channels > IIOS_MAX_CHANNELS ||
	    channels_layout(chans, n_channels, &rc.l, why, sizeof(why)) || raw_check_init(&rc))
		return -EINVAL;
	sb = rc.l.scan_bytes;
	if (sb == 0 || len % sb)
		return -EINVAL;
	total = len / sb;
	if (lost_scans && (lc->phase == LB_RUN || lc->phase == LB_AFTER)) {
		lb_note(lc, &lc->gaps, "%" PRIu64 " scans lost by the receiver after capture scan %"
			PRIu64 ": the run is not whole", lost_scans, lc->scans);
		lc->phase = LB_RESYNC;
	}
	while (i < total) {
		const uint8_t *p = d + i * sb;
		long off;
		size_t j;

		if (lc->phase != LB_RUN) {
			for (j = i; j < total && silent(&rc.l, d + j * sb); j++)
				;
			if (lc->phase == LB_BEFORE)
				lc->silent_before += j - i;
			else if (lc->phase == LB_AFTER)
				lc->silent_after += j - i;
			if (j == total)
				break;
			if (lc->phase == LB_AFTER)
				lb_note(lc, &lc->gaps, "capture scan %" PRIu64 ": the pattern again "
					"after %" PRIu64 " silent scans (silence inside the run: an "
					"underflow)", lc->scans + j, lc->silent_after);
			lc->silent_after = 0;
			lb_start_run(lc, &rc, d + j * sb, total - j, lc->scans + j);
			i = j;
			continue;
		}
		off = check_scans(&rc.l, p, (total - i) * sb, lc->next, &lc->ts);
		j = off < 0 ? total : i + (size_t)off / sb;
		lc->matched += j - i;
		lc->next += j - i;
		i = j;
		if (off < 0)
			break;
		/* a wrap found (scan i matches now), the end (silence), a new
		 * run from scan i, or a bad scan, stepped over */
		lb_mismatch(lc, &rc, d + i * sb, total - i, lc->scans + i, off % (long)sb);
		if (lc->phase == LB_RESYNC)
			i++;
	}
	lc->scans += total;
	return lc->gaps || lc->errors ? -EILSEQ : 0;
}
