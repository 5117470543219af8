// SPDX-License-Identifier: MIT
/*
 * The loopback verifier (iios_loopback_feed(): what `iiostream rx
 * --verify-loopback` checks) on synthetic captures: silence, the pattern
 * from scan 0 (as `iiostream tx --pattern` sends it), silence passes, fed
 * whole or in pieces of any size; a capture that joined the run late is
 * located from the data; silence inside the run, a jump, scans the
 * receiver lost, and data that is no pattern fail, each said in words.
 * And iios_pattern_scans(), which tx --pattern sends, in several formats.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iiostream.h"

#define SCAN 4u /* two le:s16/16 channels */

static struct iios_channel two[2] = { { .index = 0, .id = "voltage0" },
				      { .index = 1, .id = "voltage1" } };

/* A capture: pieces appended one after another. */
struct capture {
	uint8_t *buf;
	size_t len, cap;
};

static uint8_t *grow(struct capture *c, size_t n)
{
	if (c->len + n > c->cap) {
		c->cap = (c->len + n) * 2;
		c->buf = realloc(c->buf, c->cap);
		cr_assert_not_null(c->buf);
	}
	c->len += n;
	return c->buf + c->len - n;
}

static void add_silence(struct capture *c, uint32_t scans, uint32_t scan_bytes)
{
	memset(grow(c, (size_t)scans * scan_bytes), 0, (size_t)scans * scan_bytes);
}

static void add_pattern(struct capture *c, uint64_t first, uint32_t scans,
			const struct iios_channel *ch, uint32_t n, uint32_t scan_bytes)
{
	long r = iios_pattern_scans(grow(c, (size_t)scans * scan_bytes),
				    (size_t)scans * scan_bytes, first, scans, ch, n);

	cr_assert_eq(r, (long)((size_t)scans * scan_bytes));
}

/* Feed the capture in pieces of `piece` scans (0: whole). */
static int feed(struct iios_loopback_check *lc, const struct capture *c, size_t piece,
		const struct iios_channel *ch, uint32_t n, uint32_t scan_bytes)
{
	size_t off = 0, step = piece ? piece * scan_bytes : c->len;
	int r = 0;

	iios_loopback_init(lc);
	while (off < c->len) {
		size_t len = c->len - off < step ? c->len - off : step;

		r = iios_loopback_feed(lc, c->buf + off, len, 0, ch, n);
		cr_assert(r == 0 || r == -EILSEQ, "feed: %d", r);
		off += len;
	}
	return r;
}

Test(loopback, silence_pattern_silence_passes_whole_and_in_pieces)
{
	static const size_t pieces[] = { 0, 1, 3, 1000, 65536, 70001 };
	struct capture c = { 0 };
	size_t i;

	add_silence(&c, 1000, SCAN);
	add_pattern(&c, 0, 200000, two, 2, SCAN); /* past two 65536 wraps */
	add_silence(&c, 500, SCAN);
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		struct iios_loopback_check lc;

		cr_assert_eq(feed(&lc, &c, pieces[i], two, 2, SCAN), 0, "pieces of %zu: %s",
			     pieces[i], lc.first_error);
		cr_assert(iios_loopback_ok(&lc));
		cr_assert_eq(lc.first_index, 0, "pieces of %zu", pieces[i]);
		cr_assert_eq(lc.silent_before, 1000);
		cr_assert_eq(lc.matched, 200000);
		cr_assert_eq(lc.silent_after, 500);
		cr_assert_eq(lc.scans, 201500);
		cr_assert_eq(lc.gaps + lc.errors, 0);
	}
	free(c.buf);
}

Test(loopback, a_capture_that_joined_late_is_located_from_the_data)
{
	static const size_t pieces[] = { 0, 1000 };
	struct capture c = { 0 };
	size_t i;

	add_pattern(&c, 70000, 100000, two, 2, SCAN);
	add_silence(&c, 10, SCAN);
	for (i = 0; i < 2; i++) {
		struct iios_loopback_check lc;

		cr_assert_eq(feed(&lc, &c, pieces[i], two, 2, SCAN), 0, "%s", lc.first_error);
		cr_assert_eq(lc.first_index, 70000, "pieces of %zu: %llu", pieces[i],
			     (unsigned long long)lc.first_index);
		cr_assert_eq(lc.matched, 100000);
		cr_assert_eq(lc.silent_before, 0);
		/* no gap, but no pass: the transmission's start was not seen (or
		 * it is an ADC's own pattern, the loopback off) */
		cr_assert_not(iios_loopback_ok(&lc));
	}
	free(c.buf);
}

Test(loopback, silence_inside_the_run_is_a_gap)
{
	struct iios_loopback_check lc;
	struct capture c = { 0 };

	add_silence(&c, 100, SCAN);
	add_pattern(&c, 0, 50000, two, 2, SCAN);
	add_silence(&c, 37, SCAN); /* an underflow: silence, then the rest */
	add_pattern(&c, 50000, 10000, two, 2, SCAN);
	add_silence(&c, 100, SCAN);
	cr_assert_eq(feed(&lc, &c, 4096, two, 2, SCAN), -EILSEQ);
	cr_assert_not(iios_loopback_ok(&lc));
	cr_assert_eq(lc.gaps, 1);
	cr_assert_eq(lc.errors, 0);
	cr_assert(strstr(lc.first_error, "capture scan 50137"), "%s", lc.first_error);
	cr_assert(strstr(lc.first_error, "after 37 silent scans"), "%s", lc.first_error);
	free(c.buf);
}

Test(loopback, a_jump_is_a_gap)
{
	struct iios_loopback_check lc;
	struct capture c = { 0 };

	add_pattern(&c, 0, 10000, two, 2, SCAN);
	add_pattern(&c, 20000, 10000, two, 2, SCAN);
	cr_assert_eq(feed(&lc, &c, 0, two, 2, SCAN), -EILSEQ);
	cr_assert_eq(lc.gaps, 1);
	cr_assert(strstr(lc.first_error, "capture scan 10000: a jump"), "%s", lc.first_error);
	free(c.buf);
}

Test(loopback, scans_lost_by_the_receiver_inside_the_run_are_a_gap)
{
	struct iios_loopback_check lc;
	struct capture c = { 0 };

	add_pattern(&c, 0, 2000, two, 2, SCAN);
	iios_loopback_init(&lc);
	cr_assert_eq(iios_loopback_feed(&lc, c.buf, 1000 * SCAN, 0, two, 2), 0);
	cr_assert_eq(iios_loopback_feed(&lc, c.buf + 1500 * SCAN, 500 * SCAN, 500, two, 2),
		     -EILSEQ);
	cr_assert_eq(lc.gaps, 1);
	cr_assert(strstr(lc.first_error, "500 scans lost"), "%s", lc.first_error);
	free(c.buf);
}

Test(loopback, losses_before_the_pattern_are_harmless)
{
	struct iios_loopback_check lc;
	struct capture c = { 0 };

	add_silence(&c, 100, SCAN);
	add_pattern(&c, 0, 1000, two, 2, SCAN);
	iios_loopback_init(&lc);
	cr_assert_eq(iios_loopback_feed(&lc, c.buf, 50 * SCAN, 0, two, 2), 0);
	cr_assert_eq(iios_loopback_feed(&lc, c.buf + 50 * SCAN, c.len - 50 * SCAN, 7, two, 2), 0);
	cr_assert(iios_loopback_ok(&lc));
	free(c.buf);
}

Test(loopback, data_that_is_no_pattern_is_an_error)
{
	struct iios_loopback_check lc;
	struct capture c = { 0 };
	uint8_t *p;
	size_t i;

	add_silence(&c, 10, SCAN);
	p = grow(&c, 64 * SCAN);
	for (i = 0; i < 64 * SCAN; i++)
		p[i] = (uint8_t)(i * 7 + 1);
	cr_assert_eq(feed(&lc, &c, 0, two, 2, SCAN), -EILSEQ);
	cr_assert_gt(lc.errors, 0);
	cr_assert_not(iios_loopback_ok(&lc));
	cr_assert(strstr(lc.first_error, "neither silence nor the pattern"), "%s",
		  lc.first_error);
	free(c.buf);
}

Test(loopback, a_wrong_sample_inside_the_run_fails)
{
	struct iios_loopback_check lc;
	struct capture c = { 0 };

	add_pattern(&c, 0, 5000, two, 2, SCAN);
	c.buf[3000 * SCAN + 2] ^= 0x10; /* channel 1 of scan 3000 */
	cr_assert_eq(feed(&lc, &c, 0, two, 2, SCAN), -EILSEQ);
	cr_assert_not(iios_loopback_ok(&lc));
	cr_assert(strstr(lc.first_error, "capture scan 3000"), "%s", lc.first_error);
	free(c.buf);
}

Test(loopback, the_pattern_without_silence_before_is_no_pass)
{
	struct iios_loopback_check lc;
	struct capture c = { 0 };

	/* an ADC's own pattern from scan 0 (the loopback off) */
	add_pattern(&c, 0, 10000, two, 2, SCAN);
	cr_assert_eq(feed(&lc, &c, 0, two, 2, SCAN), 0);
	cr_assert(lc.started);
	cr_assert_eq(lc.first_index, 0);
	cr_assert_not(iios_loopback_ok(&lc));
	free(c.buf);
}

Test(loopback, silence_alone_is_no_pass)
{
	struct iios_loopback_check lc;
	struct capture c = { 0 };

	add_silence(&c, 1000, SCAN);
	cr_assert_eq(feed(&lc, &c, 0, two, 2, SCAN), 0);
	cr_assert_not(lc.started);
	cr_assert_not(iios_loopback_ok(&lc));
	cr_assert_eq(lc.silent_before, 1000);
	free(c.buf);
}

Test(loopback, refuses_a_length_of_part_of_a_scan)
{
	struct iios_loopback_check lc;
	uint8_t buf[6] = { 0 };

	iios_loopback_init(&lc);
	cr_assert_eq(iios_loopback_feed(&lc, buf, sizeof(buf), 0, two, 2), -EINVAL);
	cr_assert_eq(iios_loopback_feed(&lc, buf, 4, 0, two, 0), -EINVAL);
}

/* 12-bit and 24-bit devices with IIO's timestamp: the formats a looped
 * back ADC may have. */
Test(loopback, other_formats_with_a_timestamp)
{
	struct iios_channel ch[3] = {
		{ .index = 0, .id = "voltage0", .is_signed = true, .bits = 12, .storage_bits = 16,
		  .fully_defined = true },
		{ .index = 1, .id = "voltage1", .is_signed = true, .bits = 24, .storage_bits = 32,
		  .shift = 8, .big_endian = true },
		{ .index = 2, .id = "timestamp", .is_signed = true, .bits = 64,
		  .storage_bits = 64, .timestamp = true },
	};
	const uint32_t sb = 16; /* 2 + pad 2 + 4, aligned to the timestamp's 8 */
	struct iios_loopback_check lc;
	struct capture c = { 0 };

	add_silence(&c, 300, sb);
	add_pattern(&c, 0, 70000, ch, 3, sb);
	add_silence(&c, 300, sb);
	cr_assert_eq(feed(&lc, &c, 999, ch, 3, sb), 0, "%s", lc.first_error);
	cr_assert_eq(lc.matched, 70000);
	cr_assert_eq(lc.first_index, 0);
	free(c.buf);
}

Test(pattern_scans, le_s16_is_pattern_h_and_verifies)
{
	uint8_t buf[400 * SCAN];
	struct iios_scan_check chk;

	cr_assert_eq(iios_pattern_scans(buf, sizeof(buf), 0, 400, two, 2), (long)sizeof(buf));
	cr_assert_eq(iios_verify_scans_typed(&chk, buf, sizeof(buf), two, 2), 0);
	cr_assert_eq(chk.first_scan, 0);
	cr_assert_eq(iios_pattern_scans(buf, sizeof(buf) - 1, 0, 400, two, 2), -EINVAL);
}
