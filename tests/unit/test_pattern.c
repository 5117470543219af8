// SPDX-License-Identifier: MIT
/*
 * The verifiable sample pattern (iiostream/pattern.h) and the library's
 * stream verifier (iios_verify_*): good data passes, and every kind of wrong
 * data (a flipped byte, a shifted scan, a stale lap, a broken sequence, loss
 * without a cause, a torn scan) is caught and described.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iiostream.h"
#include "iiostream/pattern.h"

static void *pattern(uint64_t first, uint32_t scans, uint32_t channels)
{
	void *p = malloc((size_t)scans * channels * IIOS_PATTERN_SAMPLE_BYTES);

	cr_assert_not_null(p);
	iios_pattern_fill(p, first, scans, channels);
	return p;
}

/* ---- pattern.h ----------------------------------------------------------- */

Test(pattern, fill_then_check_round_trips_across_index_boundaries)
{
	static const uint64_t firsts[] = {
		0, 1, 12345,
		65536 - 300, 65536 - 1, 65536,           /* crossing 2^16 */
		(1ull << 32) - 300, (1ull << 32) - 1,    /* crossing 2^32 */
		(1ull << 32), (1ull << 48) - 7, UINT64_MAX - 600,
	};
	static const uint32_t chans[] = { 1, 2, 3, 8, 64 };
	size_t i, j;

	for (i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++) {
		for (j = 0; j < sizeof(chans) / sizeof(chans[0]); j++) {
			uint32_t scans = 512;
			unsigned long len = (unsigned long)scans * chans[j] * 2;
			void *p = pattern(firsts[i], scans, chans[j]);

			cr_assert_eq(iios_pattern_check(p, len, firsts[i], chans[j]), -1,
				     "first %llu, %u channels",
				     (unsigned long long)firsts[i], chans[j]);
			free(p);
		}
	}
}

Test(pattern, samples_are_little_endian_int16)
{
	uint8_t buf[4];
	uint16_t s0 = iios_pattern_sample(1000, 0), s1 = iios_pattern_sample(1000, 1);

	iios_pattern_fill(buf, 1000, 1, 2);
	cr_assert_eq(buf[0], (uint8_t)s0);
	cr_assert_eq(buf[1], (uint8_t)(s0 >> 8));
	cr_assert_eq(buf[2], (uint8_t)s1);
	cr_assert_eq(buf[3], (uint8_t)(s1 >> 8));
}

Test(pattern, check_finds_a_flipped_byte_at_its_offset)
{
	const uint32_t scans = 256, channels = 3;
	unsigned long len = scans * channels * 2, off;
	uint8_t *p = pattern(70000, scans, channels);

	for (off = 0; off < len; off += 37) {
		p[off] ^= 0x10;
		/* The offset reported is that of the sample holding the byte. */
		cr_assert_eq(iios_pattern_check(p, len, 70000, channels), (long)(off & ~1ul),
			     "byte %lu flipped", off);
		p[off] ^= 0x10;
	}
	cr_assert_eq(iios_pattern_check(p, len, 70000, channels), -1);
	/* The very last byte too. */
	p[len - 1] ^= 0x80;
	cr_assert_eq(iios_pattern_check(p, len, 70000, channels), (long)(len - 2));
	free(p);
}

Test(pattern, data_of_scan_n_fails_as_any_other_scan)
{
	static const uint64_t firsts[] = { 1, 1000, 65535, 65536, 131071, (1ull << 32) - 1,
					   (1ull << 32), 5000000000ull };
	const uint32_t scans = 64, channels = 2;
	unsigned long len = scans * channels * 2;
	size_t i;

	for (i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++) {
		uint64_t n = firsts[i];
		void *p = pattern(n, scans, channels);

		cr_assert_eq(iios_pattern_check(p, len, n, channels), -1);
		cr_assert_eq(iios_pattern_check(p, len, n + 1, channels), 0, "n=%llu, +1",
			     (unsigned long long)n);
		cr_assert_eq(iios_pattern_check(p, len, n - 1, channels), 0, "n=%llu, -1",
			     (unsigned long long)n);
		/* Stale data from one 65536-scan lap of the ring earlier/later. */
		cr_assert_eq(iios_pattern_check(p, len, n + 65536, channels), 0,
			     "n=%llu, +65536", (unsigned long long)n);
		cr_assert_eq(iios_pattern_check(p, len, n - 65536, channels), 0,
			     "n=%llu, -65536", (unsigned long long)n);
		free(p);
	}
}

Test(pattern, neighbouring_samples_of_a_channel_always_differ)
{
	uint64_t n;

	for (n = 65536 * 3 - 1000; n < 65536 * 3 + 1000; n++)
		cr_assert_neq(iios_pattern_sample(n, 1), iios_pattern_sample(n + 1, 1));
}

Test(pattern, channels_differ)
{
	uint32_t a, b;
	uint64_t n;

	for (n = 0; n < 100000; n += 997)
		for (a = 0; a < IIOS_MAX_CHANNELS; a++)
			for (b = a + 1; b < IIOS_MAX_CHANNELS; b++)
				cr_assert_neq(iios_pattern_sample(n, a), iios_pattern_sample(n, b),
					      "scan %llu, channels %u and %u",
					      (unsigned long long)n, a, b);
}

Test(pattern, swapped_channels_are_caught)
{
	uint8_t p[8];
	uint8_t t[2];

	iios_pattern_fill(p, 42, 2, 2);
	memcpy(t, p, 2);
	memcpy(p, p + 2, 2);
	memcpy(p + 2, t, 2);
	cr_assert_eq(iios_pattern_check(p, sizeof(p), 42, 2), 0);
}

Test(pattern, check_of_zero_bytes_passes)
{
	cr_assert_eq(iios_pattern_check(NULL, 0, 123, 2), -1);
}

/* ---- iios_verify_block --------------------------------------------------- */

#define CHANNELS 2u
#define SCAN_BYTES (CHANNELS * IIOS_PATTERN_SAMPLE_BYTES)
#define BLOCK_SCANS 256u

static struct iios_stream_info info;

static void setup_info(void)
{
	memset(&info, 0, sizeof(info));
	info.block_size = BLOCK_SCANS * SCAN_BYTES;
	info.block_count = 8;
	info.scan_bytes = SCAN_BYTES;
	info.n_channels = CHANNELS;
	for (uint32_t c = 0; c < CHANNELS; c++)
		info.channels[c].index = c;
}

TestSuite(verify, .init = setup_info);

/* A block of `scans` scans of good pattern data from `first`. */
static struct iios_block make_block(uint64_t seq, uint64_t first, uint32_t scans)
{
	struct iios_block b;

	memset(&b, 0, sizeof(b));
	b.sequence = seq;
	b.first_sample = first;
	b.flags = IIOS_BLOCK_TIMESTAMP_VALID;
	b.len = b.bytes_used = scans * SCAN_BYTES;
	b.data = pattern(first, scans, CHANNELS);
	return b;
}

static void drop_block(struct iios_block *b)
{
	free((void *)b->data);
	b->data = NULL;
}

/* Feed `n` good consecutive blocks starting at sequence/scan of seq/first. */
static void feed_good(struct iios_verify *v, uint64_t *seq, uint64_t *first, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct iios_block b = make_block(*seq, *first, BLOCK_SCANS);

		cr_assert_eq(iios_verify_block(v, &info, &b), 0, "block %llu: %s",
			     (unsigned long long)*seq, v->first_error);
		drop_block(&b);
		(*seq)++;
		*first += BLOCK_SCANS;
	}
}

Test(verify, consecutive_good_blocks_have_no_error)
{
	struct iios_verify v;
	uint64_t seq = 0, first = 0;

	iios_verify_init(&v);
	feed_good(&v, &seq, &first, 20);
	cr_assert_eq(v.blocks, 20);
	cr_assert_eq(v.bytes, 20ull * BLOCK_SCANS * SCAN_BYTES);
	cr_assert_eq(v.integrity_errors, 0);
	cr_assert_eq(v.lost_blocks, 0);
	cr_assert_eq(v.lost_samples, 0);
	cr_assert_str_eq(v.first_error, "");
}

Test(verify, first_block_may_start_anywhere)
{
	struct iios_verify v;
	uint64_t seq = 1000, first = (1ull << 32) - 100;

	iios_verify_init(&v);
	feed_good(&v, &seq, &first, 3);
	cr_assert_eq(v.integrity_errors, 0);
}

Test(verify, sequence_jump_without_lost_before_is_an_error)
{
	struct iios_verify v;
	uint64_t seq = 0, first = 0;
	struct iios_block b;

	iios_verify_init(&v);
	feed_good(&v, &seq, &first, 3);
	/* Block 5 after block 2, samples continuous, nothing said about loss. */
	b = make_block(5, first, BLOCK_SCANS);
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	drop_block(&b);
	cr_assert_eq(v.integrity_errors, 1);
	cr_assert_neq(v.first_error[0], '\0');
	cr_assert(strstr(v.first_error, "sequence"), "first_error: %s", v.first_error);
	/* The stream goes on from the bad block: the next one is fine. */
	b = make_block(6, first + BLOCK_SCANS, BLOCK_SCANS);
	cr_assert_eq(iios_verify_block(&v, &info, &b), 0, "%s", v.first_error);
	drop_block(&b);
	cr_assert_eq(v.integrity_errors, 1);
}

Test(verify, lost_blocks_consistent_with_the_jump_are_fine_and_summed)
{
	struct iios_verify v;
	uint64_t seq = 0, first = 0;
	struct iios_block b;

	iios_verify_init(&v);
	feed_good(&v, &seq, &first, 2);
	/* Blocks 2, 3 and 4 were skipped for us. */
	b = make_block(5, first + 3 * BLOCK_SCANS, BLOCK_SCANS);
	b.lost_before = 3;
	b.lost_samples = 3 * BLOCK_SCANS;
	cr_assert_eq(iios_verify_block(&v, &info, &b), 0, "%s", v.first_error);
	drop_block(&b);
	b = make_block(8, first + 6 * BLOCK_SCANS, BLOCK_SCANS);
	b.lost_before = 2;
	b.lost_samples = 2 * BLOCK_SCANS;
	cr_assert_eq(iios_verify_block(&v, &info, &b), 0, "%s", v.first_error);
	drop_block(&b);
	cr_assert_eq(v.integrity_errors, 0);
	cr_assert_eq(v.lost_blocks, 5);
	cr_assert_eq(v.lost_samples, 5 * BLOCK_SCANS);
	cr_assert_eq(v.blocks, 4);
}

Test(verify, lost_before_without_matching_sample_gap_is_an_error)
{
	struct iios_verify v;
	uint64_t seq = 0, first = 0;
	struct iios_block b;

	iios_verify_init(&v);
	feed_good(&v, &seq, &first, 2);
	/* Says one block lost but the samples jump by two blocks. */
	b = make_block(3, first + 2 * BLOCK_SCANS, BLOCK_SCANS);
	b.lost_before = 1;
	b.lost_samples = BLOCK_SCANS;
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	drop_block(&b);
	cr_assert_eq(v.integrity_errors, 1);
	cr_assert(strstr(v.first_error, "first sample"), "first_error: %s", v.first_error);
}

Test(verify, lost_samples_without_cause_is_an_error)
{
	struct iios_verify v;
	uint64_t seq = 0, first = 0;
	struct iios_block b;

	iios_verify_init(&v);
	feed_good(&v, &seq, &first, 2);
	b = make_block(seq, first + 100, BLOCK_SCANS);
	b.lost_samples = 100; /* no lost_before, no overflow flag */
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	drop_block(&b);
	cr_assert_eq(v.integrity_errors, 1);
	cr_assert(strstr(v.first_error, "lost"), "first_error: %s", v.first_error);
}

Test(verify, lost_samples_flagged_as_overflow_are_fine)
{
	struct iios_verify v;
	uint64_t seq = 0, first = 0;
	struct iios_block b;

	iios_verify_init(&v);
	feed_good(&v, &seq, &first, 2);
	b = make_block(seq, first + 100, BLOCK_SCANS);
	b.lost_samples = 100;
	b.flags |= IIOS_BLOCK_OVERFLOW;
	cr_assert_eq(iios_verify_block(&v, &info, &b), 0, "%s", v.first_error);
	drop_block(&b);
	cr_assert_eq(v.integrity_errors, 0);
	cr_assert_eq(v.lost_samples, 100);
	cr_assert_eq(v.lost_blocks, 0);
	/* and the stream continues from there */
	seq++;
	first += 100 + BLOCK_SCANS;
	feed_good(&v, &seq, &first, 2);
}

Test(verify, short_block_is_fine_and_the_next_follows_it)
{
	struct iios_verify v;
	uint64_t seq = 0, first = 0;
	struct iios_block b;

	iios_verify_init(&v);
	feed_good(&v, &seq, &first, 1);
	b = make_block(seq++, first, 10); /* e.g. flushed at disable */
	cr_assert_eq(iios_verify_block(&v, &info, &b), 0, "%s", v.first_error);
	drop_block(&b);
	first += 10;
	feed_good(&v, &seq, &first, 2);
	cr_assert_eq(v.integrity_errors, 0);
}

Test(verify, len_not_a_whole_number_of_scans_is_an_error)
{
	struct iios_verify v;
	struct iios_block b;

	iios_verify_init(&v);
	b = make_block(0, 0, BLOCK_SCANS);
	b.len -= 2; /* half a scan missing */
	b.bytes_used = (uint32_t)b.len;
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	drop_block(&b);
	cr_assert_eq(v.integrity_errors, 1);
	cr_assert(strstr(v.first_error, "scans"), "first_error: %s", v.first_error);
}

Test(verify, corrupted_sample_is_an_error_naming_the_scan)
{
	struct iios_verify v;
	uint64_t seq = 0, first = 1000;
	struct iios_block b;
	uint8_t *d;

	iios_verify_init(&v);
	feed_good(&v, &seq, &first, 1);
	b = make_block(seq, first, BLOCK_SCANS);
	d = (uint8_t *)b.data;
	/* scan 17 of the block, channel 1 */
	d[17 * SCAN_BYTES + 2] ^= 0x01;
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	drop_block(&b);
	cr_assert_eq(v.integrity_errors, 1);
	{
		char want[64];

		snprintf(want, sizeof(want), "scan %llu", (unsigned long long)(first + 17));
		cr_assert(strstr(v.first_error, want), "first_error '%s' lacks '%s'",
			  v.first_error, want);
		cr_assert(strstr(v.first_error, "channel 1"), "first_error: %s", v.first_error);
	}
}

Test(verify, stale_block_from_an_earlier_lap_is_an_error)
{
	struct iios_verify v;
	uint64_t seq = 0, first = 0;
	struct iios_block b;

	iios_verify_init(&v);
	feed_good(&v, &seq, &first, 300); /* past scan 65536 */
	/* Header says the right scan, data is from 65536 scans earlier. */
	b = make_block(seq, first - 65536, BLOCK_SCANS);
	b.first_sample = first;
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	drop_block(&b);
	cr_assert_eq(v.integrity_errors, 1);
}

Test(verify, first_error_keeps_the_first_and_counts_the_rest)
{
	struct iios_verify v;
	struct iios_block b;
	char first_msg[sizeof(v.first_error)];

	iios_verify_init(&v);
	b = make_block(0, 0, BLOCK_SCANS);
	((uint8_t *)b.data)[0] ^= 1;
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	drop_block(&b);
	memcpy(first_msg, v.first_error, sizeof(first_msg));
	b = make_block(7, BLOCK_SCANS, BLOCK_SCANS); /* sequence jump */
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	drop_block(&b);
	cr_assert_eq(v.integrity_errors, 2);
	cr_assert_str_eq(v.first_error, first_msg);
}

/* The sources' fast fill must write exactly the reference bytes: across
 * 2^16 and 2^32 scan boundaries, for every channel count, and at odd
 * (unaligned) output offsets. */
Test(pattern, fast_fill_writes_the_reference_bytes)
{
	static const uint64_t firsts[] = { 0, 1, 65535, 65000, (1ull << 32) - 700,
					   (1ull << 32) + 3, 123456789123ull };
	uint32_t c;
	size_t f;

	for (f = 0; f < sizeof(firsts) / sizeof(firsts[0]); f++) {
		for (c = 1; c <= 64; c += (c < 8 ? 1 : 7)) {
			uint32_t scans = 70000 / c + 13;
			size_t len = (size_t)scans * c * 2;
			uint8_t *ref = malloc(len), *fast = malloc(len + 1);

			cr_assert(ref && fast);
			iios_pattern_fill(ref, firsts[f], scans, c);
			iios_pattern_fill_fast(fast + (c & 1), firsts[f], scans, c);
			cr_assert(memcmp(ref, fast + (c & 1), len) == 0,
				  "fast fill differs: first %llu, %u channels",
				  (unsigned long long)firsts[f], c);
			free(ref);
			free(fast);
		}
	}
}

/* A stream of some channels only: the verifier takes their indices from the
 * stream description, and catches data of the wrong channels. */
Test(verify, a_stream_of_picked_channels_verifies_by_channel_index)
{
	static const unsigned char ids[] = { 1, 3 };
	struct iios_stream_info sub = info;
	struct iios_verify v;
	struct iios_block b;
	uint8_t data[64 * 4];

	sub.channels[0].index = 1;
	sub.channels[1].index = 3;
	iios_pattern_fill_fast_ids(data, 5000, 64, ids, 2);
	memset(&b, 0, sizeof(b));
	b.first_sample = 5000;
	b.data = data;
	b.len = b.bytes_used = sizeof(data);
	iios_verify_init(&v);
	cr_assert_eq(iios_verify_block(&v, &sub, &b), 0, "%s", v.first_error);
	cr_assert_eq(iios_pattern_check_ids(data, sizeof(data), 5000, ids, 2), -1);
	/* the same bytes read as channels 0 and 1 are wrong from the second sample on */
	iios_verify_init(&v);
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	cr_assert(strstr(v.first_error, "channel 0"), "%s", v.first_error);
}

Test(pattern, fast_fill_of_picked_channels_writes_the_reference_bytes)
{
	static const unsigned char ids[] = { 0, 2, 5, 63 };
	uint32_t n, scans = 70000;

	for (n = 1; n <= 4; n++) {
		size_t len = (size_t)scans * n * 2;
		uint8_t *ref = malloc(len), *fast = malloc(len);

		cr_assert(ref && fast);
		iios_pattern_fill_ids(ref, 65000, scans, ids + 4 - n, n);
		iios_pattern_fill_fast_ids(fast, 65000, scans, ids + 4 - n, n);
		cr_assert(memcmp(ref, fast, len) == 0, "%u channels", n);
		cr_assert_eq(iios_pattern_check_ids(fast, len, 65000, ids + 4 - n, n), -1);
		free(ref);
		free(fast);
	}
}

/* ---- iios_verify_scans: raw scans without headers ----------------------- */

static uint8_t *scans_of(uint64_t first, uint32_t scans, const unsigned char *ids, uint32_t n)
{
	uint8_t *p = malloc((size_t)scans * n * 2);

	cr_assert(p);
	iios_pattern_fill_ids(p, first, scans, ids, n);
	return p;
}

Test(verify_scans, finds_the_start_where_the_data_crosses_a_multiple_of_65536)
{
	static const unsigned char ids[] = { 1, 3 };
	static const uint32_t chans[] = { 1, 3 };
	struct iios_scan_check chk;
	uint8_t *p = scans_of(123456789, 100000, ids, 2);

	cr_assert_eq(iios_verify_scans(&chk, p, 100000 * 4, chans, 2), 0, "%s", chk.first_error);
	cr_assert(chk.start_determined);
	cr_assert_eq(chk.first_scan, 123456789);
	cr_assert_eq(chk.scans, 100000);
	cr_assert_eq(chk.gaps + chk.errors, 0);
	/* read as the wrong channels, it is not the pattern */
	cr_assert_eq(iios_verify_scans(&chk, p, 100000 * 4, (const uint32_t[]){ 0, 1 }, 2),
		     -ENOENT);
	free(p);
}

Test(verify_scans, a_skipped_stretch_is_a_gap_and_a_corrupt_sample_an_error)
{
	static const unsigned char ids[] = { 0, 1 };
	static const uint32_t chans[] = { 0, 1 };
	struct iios_scan_check chk;
	uint8_t *p = scans_of(70000, 200000, ids, 2);
	size_t sb = 4;

	/* drop scans 100000..100999 of the data: a gap of 1000 after scan 99999 */
	memmove(p + 100000 * sb, p + 101000 * sb, (200000 - 101000) * sb);
	cr_assert_eq(iios_verify_scans(&chk, p, 199000 * sb, chans, 2), 0, "%s", chk.first_error);
	cr_assert_eq(chk.gaps, 1);
	cr_assert_eq(chk.scans_missing, 1000);
	cr_assert_eq(chk.first_scan, 70000);
	/* one wrong byte: an error naming the scan */
	p[5000 * sb + 2] ^= 0x40;
	cr_assert_eq(iios_verify_scans(&chk, p, 199000 * sb, chans, 2), -EILSEQ);
	cr_assert_eq(chk.errors, 1, "%llu", (unsigned long long)chk.errors);
	cr_assert(strstr(chk.first_error, "scan 5000 "), "%s", chk.first_error);
	/* half a scan, a wrong channel list: refused */
	cr_assert_eq(iios_verify_scans(&chk, p, 10 * sb + 2, chans, 2), -EINVAL);
	cr_assert_eq(iios_verify_scans(&chk, p, 10 * sb, (const uint32_t[]){ 1, 0 }, 2), -EINVAL);
	free(p);
}

Test(verify_scans, a_short_run_checks_its_scans_against_each_other)
{
	static const unsigned char ids[] = { 0 };
	static const uint32_t chans[] = { 0 };
	struct iios_scan_check chk;
	uint8_t *p = scans_of(5 * 65536 + 100, 1000, ids, 1);

	cr_assert_eq(iios_verify_scans(&chk, p, 2000, chans, 1), 0, "%s", chk.first_error);
	cr_assert(!chk.start_determined);
	/* a duplicated scan (stale data) is still caught */
	memcpy(p + 500 * 2, p + 499 * 2, 2);
	cr_assert_eq(iios_verify_scans(&chk, p, 2000, chans, 1), -EILSEQ);
	free(p);
}
