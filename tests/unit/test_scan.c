// SPDX-License-Identifier: MIT
/*
 * Every IIO scan format (iiostream/scan.h): type strings parsed, printed and
 * refused; scan layouts as the IIO core computes them; the pattern filled
 * and checked in every format, with le:s16/16 byte for byte pattern.h's;
 * wrong data (a flipped byte, a scan shifted by one, a timestamp going
 * back) caught at its offset; values read back as numbers.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iiostream/pattern.h"
#include "iiostream/scan.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct iios_scan_type type_of(const char *s)
{
	struct iios_scan_type t;

	cr_assert_eq(iios_scan_type_parse(s, &t), 0, "'%s' parses", s);
	return t;
}

/* A layout of one element per type string, scan indices 0, 1, ...; a
 * string starting with '@' is the timestamp. */
static void layout_of(struct iios_scan_layout *l, const char *const *types, size_t n)
{
	size_t i;

	iios_scan_layout_init(l);
	for (i = 0; i < n; i++) {
		bool ts = types[i][0] == '@';
		struct iios_scan_type t = type_of(types[i] + ts);

		cr_assert_eq(iios_scan_layout_add(l, &t, (uint32_t)i, ts), 0, "add %s", types[i]);
	}
}

/* ---- type strings -------------------------------------------------------- */

Test(scan_type, parses_the_fields_of_iios_type_strings)
{
	struct iios_scan_type t;

	t = type_of("le:S12/16>>0");
	cr_assert(t.is_signed && t.fully_defined && !t.big_endian);
	cr_assert_eq(t.bits, 12);
	cr_assert_eq(t.storage_bits, 16);
	cr_assert_eq(t.shift, 0);
	cr_assert_eq(t.repeat, 1);

	t = type_of("be:s24/32>>8");
	cr_assert(t.is_signed && !t.fully_defined && t.big_endian);
	cr_assert_eq(t.bits, 24);
	cr_assert_eq(t.storage_bits, 32);
	cr_assert_eq(t.shift, 8);

	t = type_of("le:u8/8>>0");
	cr_assert(!t.is_signed && !t.fully_defined);
	cr_assert_eq(t.bits, 8);

	t = type_of("be:U10/16X3>>6");
	cr_assert(!t.is_signed && t.fully_defined && t.big_endian);
	cr_assert_eq(t.repeat, 3);
	cr_assert_eq(t.shift, 6);

	t = type_of("le:s64/64>>0\n"); /* as sysfs gives it */
	cr_assert_eq(t.bits, 64);

	t = type_of("le:s16/16"); /* shift left out: 0 */
	cr_assert(iios_scan_type_is_s16le(&t));
	t = iios_scan_type_s16();
	cr_assert(iios_scan_type_is_s16le(&t));
}

Test(scan_type, print_is_iios_form_and_round_trips)
{
	static const char *const canon[] = {
		"le:s16/16>>0", "le:S12/16>>0", "be:s24/32>>8", "le:s64/64>>0", "le:u8/8>>0",
		"be:U1/8>>7", "le:s16/16X2>>0", "be:S64/64X255>>0", "le:u32/64>>32",
		"le:u1/64>>63",
	};
	char buf[IIOS_SCAN_TYPE_STR_MAX];
	size_t i;

	for (i = 0; i < N(canon); i++) {
		struct iios_scan_type t = type_of(canon[i]), back;

		cr_assert_eq(iios_scan_type_print(&t, buf, sizeof(buf)), strlen(canon[i]));
		cr_assert_str_eq(buf, canon[i]);
		back = type_of(buf);
		cr_assert_eq(memcmp(&back, &t, sizeof(t)), 0, "%s", canon[i]);
	}
	/* The longest there is fits IIOS_SCAN_TYPE_STR_MAX. */
	{
		struct iios_scan_type t = type_of("le:S64/64X255>>0");

		t.bits = 1;
		t.shift = 63;
		cr_assert_lt(iios_scan_type_print(&t, buf, sizeof(buf)), sizeof(buf));
		cr_assert_str_eq(buf, "le:S1/64X255>>63");
	}
}

Test(scan_type, print_into_a_short_buffer_cuts_and_says_how_long)
{
	struct iios_scan_type t = type_of("be:s24/32>>8");
	char buf[6];

	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(iios_scan_type_print(&t, buf, sizeof(buf)), strlen("be:s24/32>>8"));
	cr_assert_str_eq(buf, "be:s2");
	cr_assert_eq(iios_scan_type_print(&t, NULL, 0), strlen("be:s24/32>>8"));
}

Test(scan_type, refuses_what_iio_cannot_describe_and_leaves_the_type_alone)
{
	static const char *const bad[] = {
		"", "le", "le:", "xe:s16/16>>0", "lx:s16/16>>0", "le-s16/16>>0",
		"le:x16/16>>0", "le:s/16>>0", "le:s16>>0", "le:s16/>>0", "le:s16/16>>",
		"le:s16/16>0", "le:s16/16>>>0", "le:s16/16>>0 ", " le:s16/16>>0",
		"le:s16/16>>0\n\n", "le:s16/16>>0x", "le:s-16/16>>0",
		"le:s16/12>>0",    /* storage not 8/16/32/64 */
		"le:s16/128>>0", "le:s8/24>>0", "le:s0/0>>0",
		"le:s17/16>>0",    /* bits over storage */
		"le:s0/16>>0",     /* no bits */
		"le:s12/16>>5",    /* bits + shift over storage */
		"le:u64/64>>1",
		"le:s16/16X0>>0",  /* repeat 0 */
		"le:s16/16X256>>0", "le:s16/16X>>0",
		"le:s99999999999999999999/16>>0", /* no overflow into a small number */
	};
	size_t i;

	for (i = 0; i < N(bad); i++) {
		struct iios_scan_type t = iios_scan_type_s16(), before = t;

		cr_assert_eq(iios_scan_type_parse(bad[i], &t), -EINVAL, "'%s'", bad[i]);
		cr_assert_eq(memcmp(&t, &before, sizeof(t)), 0, "'%s' changed the type", bad[i]);
	}
}

Test(scan_type, check_refuses_types_built_by_hand_wrongly)
{
	struct iios_scan_type t = iios_scan_type_s16();

	cr_assert_eq(iios_scan_type_check(&t), 0);
	t.storage_bits = 24;
	cr_assert_eq(iios_scan_type_check(&t), -EINVAL);
	t = iios_scan_type_s16();
	t.repeat = 0;
	cr_assert_eq(iios_scan_type_check(&t), -EINVAL);
	t = iios_scan_type_s16();
	t.bits = 12;
	t.shift = 5;
	cr_assert_eq(iios_scan_type_check(&t), -EINVAL);
}

/* ---- layouts ------------------------------------------------------------- */

static void assert_layout(const char *const *types, size_t n, const uint32_t *offsets,
			  uint32_t scan_bytes)
{
	struct iios_scan_layout l;
	size_t i;

	layout_of(&l, types, n);
	cr_assert_eq(l.count, n);
	for (i = 0; i < n; i++)
		cr_assert_eq(l.elem[i].offset, offsets[i], "%s (element %zu): offset %u, want %u",
			     types[i], i, l.elem[i].offset, offsets[i]);
	cr_assert_eq(l.scan_bytes, scan_bytes, "scan of %u bytes, want %u", l.scan_bytes,
		     scan_bytes);
}

Test(scan_layout, elements_align_to_their_length_and_the_scan_to_the_longest)
{
	{ /* AD9361 I/Q and the timestamp: the s64 waits for 8-byte alignment */
		static const char *const t[] = { "le:S12/16>>0", "le:S12/16>>0", "@le:s64/64>>0" };
		static const uint32_t off[] = { 0, 2, 8 };

		assert_layout(t, N(t), off, 16);
	}
	{ /* SPI ADCs: 24 bits in 32 */
		static const char *const t[] = { "be:s24/32>>8", "be:s24/32>>8" };
		static const uint32_t off[] = { 0, 4 };

		assert_layout(t, N(t), off, 8);
	}
	{ /* a byte and a timestamp */
		static const char *const t[] = { "le:u8/8>>0", "@le:s64/64>>0" };
		static const uint32_t off[] = { 0, 8 };

		assert_layout(t, N(t), off, 16);
	}
	{ /* a long element first: the short ones after it, the scan padded */
		static const char *const t[] = { "le:s32/32>>0", "le:s16/16>>0" };
		static const uint32_t off[] = { 0, 4 };

		assert_layout(t, N(t), off, 8);
	}
	{ /* bytes pack; the scan needs no padding */
		static const char *const t[] = { "le:u8/8>>0", "le:u8/8>>0", "le:u8/8>>0" };
		static const uint32_t off[] = { 0, 1, 2 };

		assert_layout(t, N(t), off, 3);
	}
	{ /* a repeated element's length is storage * repeat */
		static const char *const t[] = { "le:s16/16>>0", "le:s16/16X2>>0", "le:s16/16>>0" };
		static const uint32_t off[] = { 0, 4, 8 };

		assert_layout(t, N(t), off, 12);
	}
	{ /* today's layout: interleaved int16 */
		static const char *const t[] = { "le:s16/16>>0", "le:s16/16>>0", "le:s16/16>>0" };
		static const uint32_t off[] = { 0, 2, 4 };

		assert_layout(t, N(t), off, 6);
	}
}

Test(scan_layout, from_mask_takes_the_masked_indices_in_order)
{
	struct iios_scan_type types[5];
	struct iios_scan_layout l;
	int i;

	for (i = 0; i < 4; i++)
		types[i] = type_of("le:S12/16>>0");
	types[4] = type_of("le:s64/64>>0");
	cr_assert_eq(iios_scan_layout_from_mask(&l, types, 5, 0x15, 4), 0); /* 0, 2, ts */
	cr_assert_eq(l.count, 3);
	cr_assert_eq(l.elem[0].index, 0);
	cr_assert_eq(l.elem[1].index, 2);
	cr_assert_eq(l.elem[1].offset, 2);
	cr_assert(l.elem[2].timestamp);
	cr_assert_eq(l.elem[2].index, 4);
	cr_assert_eq(l.elem[2].offset, 8);
	cr_assert_eq(l.scan_bytes, 16);
	/* A bit past the types given. */
	cr_assert_eq(iios_scan_layout_from_mask(&l, types, 5, 0x21, -1), -EINVAL);
}

Test(scan_layout, refuses_disorder_bad_types_odd_timestamps_and_a_full_scan)
{
	struct iios_scan_type s16 = iios_scan_type_s16(), bad = s16;
	struct iios_scan_type ts32 = type_of("le:s32/32>>0");
	struct iios_scan_type ts64 = type_of("le:s64/64>>0");
	struct iios_scan_type ts_shifted = type_of("le:s56/64>>8");
	struct iios_scan_layout l;
	uint32_t i;

	iios_scan_layout_init(&l);
	cr_assert_eq(iios_scan_layout_add(&l, &s16, 3, false), 0);
	cr_assert_eq(iios_scan_layout_add(&l, &s16, 3, false), -EINVAL, "same index twice");
	cr_assert_eq(iios_scan_layout_add(&l, &s16, 2, false), -EINVAL, "descending index");
	bad.storage_bits = 12;
	cr_assert_eq(iios_scan_layout_add(&l, &bad, 4, false), -EINVAL);
	cr_assert_eq(iios_scan_layout_add(&l, &ts32, 4, true), -EINVAL);
	cr_assert_eq(iios_scan_layout_add(&l, &ts_shifted, 4, true), -EINVAL);
	cr_assert_eq(l.count, 1, "refused elements are not added");
	cr_assert_eq(l.scan_bytes, 2);
	cr_assert_eq(iios_scan_layout_add(&l, &ts64, 4, true), 0);

	iios_scan_layout_init(&l);
	for (i = 0; i < IIOS_SCAN_MAX_ELEMENTS; i++)
		cr_assert_eq(iios_scan_layout_add(&l, &s16, i, false), 0);
	cr_assert_eq(iios_scan_layout_add(&l, &s16, i, false), -ENOSPC);
	cr_assert_eq(l.scan_bytes, 2 * IIOS_SCAN_MAX_ELEMENTS);
}

/* ---- the pattern in every format ---------------------------------------- */

/* Layouts the round trips run over. */
static const char *const formats[][4] = {
	{ "le:s16/16>>0", "le:s16/16>>0", "le:s16/16>>0" },
	{ "le:S12/16>>0", "le:S12/16>>0" },
	{ "le:S12/16>>0", "le:S12/16>>0", "@le:s64/64>>0" },
	{ "be:s24/32>>8", "be:s24/32>>8" },
	{ "le:s24/32>>0", "be:u24/32>>0", "le:U32/32>>0" },
	{ "le:u8/8>>0", "@le:s64/64>>0" },
	{ "le:s8/8>>0", "be:s8/8>>0", "le:u8/8>>0" },
	{ "be:s64/64>>0", "le:u64/64>>0", "le:s12/64>>40" },
	{ "le:s16/16X2>>0", "be:U10/16X3>>6", "le:s32/32X2>>0" },
	{ "be:S12/16>>4", "@be:s64/64>>0" },
};

static size_t format_count(size_t f)
{
	size_t n = 0;

	while (n < 4 && formats[f][n])
		n++;
	return n;
}

static uint8_t *filled(const struct iios_scan_layout *l, uint64_t first, uint32_t scans,
		       const struct iios_scan_clock *clk)
{
	uint8_t *p = malloc((size_t)scans * l->scan_bytes);

	cr_assert_not_null(p);
	iios_scan_fill(l, p, first, scans, clk);
	return p;
}

static bool has_timestamp(const struct iios_scan_layout *l)
{
	uint32_t k;

	for (k = 0; k < l->count; k++)
		if (l->elem[k].timestamp)
			return true;
	return false;
}

Test(scan_pattern, fill_then_check_round_trips_for_every_format)
{
	static const uint64_t firsts[] = { 0, 1, 65536 - 100, (1ull << 32) - 5, 5000000000ull };
	struct iios_scan_clock clk = { .t0_ns = 1000000000ull, .n0 = 0, .rate = 3000000 };
	size_t f, i;

	for (f = 0; f < N(formats); f++) {
		struct iios_scan_layout l;

		layout_of(&l, formats[f], format_count(f));
		for (i = 0; i < N(firsts); i++) {
			uint32_t scans = 300;
			uint8_t *p = filled(&l, firsts[i], scans, &clk);
			uint64_t ts = 0;

			cr_assert_eq(iios_scan_check(&l, p, (unsigned long)scans * l.scan_bytes,
						     firsts[i], &ts), -1,
				     "format %zu (%s...), first %llu", f, formats[f][0],
				     (unsigned long long)firsts[i]);
			if (has_timestamp(&l))
				cr_assert_eq(ts, iios_scan_time_ns(&clk, firsts[i] + scans - 1));
			free(p);
		}
	}
}

/* The value (element, repeat) holding byte `off` of a scan: its offset,
 * or -1 for padding (which is not checked). */
static long value_at(const struct iios_scan_layout *l, unsigned long off)
{
	unsigned long in_scan = off % l->scan_bytes, base = off - in_scan;
	uint32_t k;

	for (k = 0; k < l->count; k++) {
		unsigned long start = l->elem[k].offset;
		unsigned long bytes = l->elem[k].type.storage_bits / 8;

		if (in_scan >= start && in_scan < start + bytes * l->elem[k].type.repeat)
			return (long)(base + start + (in_scan - start) / bytes * bytes);
	}
	return -1;
}

Test(scan_pattern, a_flipped_byte_is_caught_at_its_value)
{
	size_t f;

	for (f = 0; f < N(formats); f++) {
		struct iios_scan_layout l;
		uint32_t scans = 40;
		unsigned long len, off;
		uint8_t *p;

		layout_of(&l, formats[f], format_count(f));
		if (has_timestamp(&l))
			continue; /* timestamps: their own test */
		len = (unsigned long)scans * l.scan_bytes;
		p = filled(&l, 123456, scans, NULL);
		for (off = 0; off < len; off++) {
			p[off] ^= 0x01;
			cr_assert_eq(iios_scan_check(&l, p, len, 123456, NULL), value_at(&l, off),
				     "format %zu (%s...), byte %lu", f, formats[f][0], off);
			p[off] ^= 0x01;
		}
		/* bits outside the value (sign extension, below the shift) too */
		free(p);
	}
}

Test(scan_pattern, padding_is_zero_and_not_checked)
{
	static const char *const t[] = { "le:u8/8>>0", "le:s32/32>>0" }; /* 3 bytes of padding */
	struct iios_scan_layout l;
	uint8_t *p;

	layout_of(&l, t, N(t));
	cr_assert_eq(l.scan_bytes, 8);
	p = filled(&l, 99, 2, NULL);
	cr_assert(p[1] == 0 && p[2] == 0 && p[3] == 0 && p[9] == 0 && p[10] == 0 && p[11] == 0);
	p[2] = 0xaa;
	cr_assert_eq(iios_scan_check(&l, p, 16, 99, NULL), -1);
	free(p);
}

Test(scan_pattern, a_block_shifted_by_one_scan_is_caught)
{
	struct iios_scan_clock clk = { .t0_ns = 42, .n0 = 0, .rate = 1000 };
	size_t f;

	for (f = 0; f < N(formats); f++) {
		struct iios_scan_layout l;
		uint32_t scans = 64;
		unsigned long len;
		uint64_t firsts[] = { 1000, 65536, (1ull << 32) };
		size_t i;

		layout_of(&l, formats[f], format_count(f));
		len = (unsigned long)scans * l.scan_bytes;
		for (i = 0; i < N(firsts); i++) {
			uint8_t *p = filled(&l, firsts[i], scans, &clk);
			/* the first pattern value is caught: the first element,
			 * or the one after a leading timestamp */
			long want = l.elem[0].timestamp ? (long)l.elem[1].offset : 0;

			cr_assert_eq(iios_scan_check(&l, p, len, firsts[i] + 1, NULL), want,
				     "format %zu, +1", f);
			cr_assert_eq(iios_scan_check(&l, p, len, firsts[i] - 1, NULL), want,
				     "format %zu, -1", f);
			cr_assert_eq(iios_scan_check(&l, p, len, firsts[i] + 65536, NULL), want,
				     "format %zu, a lap of 2^16 later", f);
			free(p);
		}
	}
}

Test(scan_pattern, s16_scans_are_pattern_fill_byte_for_byte)
{
	static const unsigned char ids[] = { 0, 2, 5, 63 };
	struct iios_scan_type s16 = iios_scan_type_s16();
	struct iios_scan_layout l;
	uint32_t scans = 3000, k;
	uint8_t *want = malloc((size_t)scans * N(ids) * 2), *got;

	cr_assert_not_null(want);
	iios_scan_layout_init(&l);
	for (k = 0; k < N(ids); k++)
		cr_assert_eq(iios_scan_layout_add(&l, &s16, ids[k], false), 0);
	cr_assert_eq(l.scan_bytes, N(ids) * IIOS_PATTERN_SAMPLE_BYTES);
	iios_pattern_fill_ids(want, 65536 - 1000, scans, ids, N(ids));
	got = filled(&l, 65536 - 1000, scans, NULL);
	cr_assert_eq(memcmp(got, want, (size_t)scans * l.scan_bytes), 0);
	free(got);
	free(want);
}

Test(scan_pattern, generic_path_encodes_s16_as_pattern_h_does)
{
	/* A timestamp makes the layout take the generic path; its s16
	 * elements must still hold pattern.h's little-endian samples. */
	static const char *const t[] = { "le:s16/16>>0", "le:s16/16>>0", "@le:s64/64>>0" };
	struct iios_scan_layout l;
	uint32_t scans = 100, i, k;
	uint8_t *p;

	layout_of(&l, t, N(t));
	p = filled(&l, 70000, scans, NULL);
	for (i = 0; i < scans; i++)
		for (k = 0; k < 2; k++) {
			uint16_t s = iios_pattern_sample(70000 + i, k);
			const uint8_t *q = p + (size_t)i * l.scan_bytes + l.elem[k].offset;

			cr_assert(q[0] == (uint8_t)s && q[1] == (uint8_t)(s >> 8), "scan %u ch %u",
				  i, k);
		}
	free(p);
}

Test(scan_pattern, wide_values_use_all_their_bits_and_repeats_differ)
{
	uint64_t n = 777;
	uint64_t v64 = iios_scan_pattern_value(n, 1, 0, 64);
	uint64_t v24 = iios_scan_pattern_value(n, 1, 0, 24);
	uint64_t v12 = iios_scan_pattern_value(n, 1, 0, 12);

	/* the low 16 bits are pattern.h's sample; more bits, more words */
	cr_assert_eq((uint16_t)v64, iios_pattern_sample(n, 1));
	cr_assert_eq(v24, v64 & 0xffffff);
	cr_assert_eq(v12, (uint64_t)(iios_pattern_sample(n, 1) & 0xfff));
	cr_assert_neq((uint16_t)(v64 >> 16), (uint16_t)v64);
	cr_assert_neq((uint16_t)(v64 >> 48), (uint16_t)(v64 >> 32));
	/* repeats of one element and neighbouring elements differ */
	cr_assert_neq(iios_scan_pattern_value(n, 1, 1, 16), iios_scan_pattern_value(n, 1, 0, 16));
	cr_assert_neq(iios_scan_pattern_value(n, 1, 1, 16), iios_scan_pattern_value(n, 2, 0, 16));
	/* neighbouring scans differ in every width */
	for (n = 65536 - 10; n < 65536 + 10; n++) {
		cr_assert_neq(iios_scan_pattern_value(n, 0, 0, 8),
			      iios_scan_pattern_value(n + 1, 0, 0, 8));
		cr_assert_neq(iios_scan_pattern_value(n, 0, 0, 12),
			      iios_scan_pattern_value(n + 1, 0, 0, 12));
	}
}

/* ---- timestamps ---------------------------------------------------------- */

Test(scan_timestamp, the_sim_clock_stamps_each_scan_at_its_time)
{
	struct iios_scan_clock clk = { .t0_ns = 5000000000ull, .n0 = 100, .rate = 3 };
	static const char *const t[] = { "le:S12/16>>0", "@le:s64/64>>0" };
	struct iios_scan_layout l;
	uint8_t *p;
	uint32_t i;

	cr_assert_eq(iios_scan_time_ns(&clk, 100), 5000000000ull);
	cr_assert_eq(iios_scan_time_ns(&clk, 101), 5333333333ull);
	cr_assert_eq(iios_scan_time_ns(&clk, 103), 6000000000ull);
	clk.rate = 25000000;
	cr_assert_eq(iios_scan_time_ns(&clk, 100 + 25000000ull * 3600 * 24 * 365 + 1),
		     5000000000ull + 1000000000ull * 3600 * 24 * 365 + 40, "a year on, no overflow");

	layout_of(&l, t, N(t));
	p = filled(&l, 150, 10, &clk);
	for (i = 0; i < 10; i++)
		cr_assert_eq(iios_scan_read(&l, p + i * l.scan_bytes, 1, 0),
			     (int64_t)iios_scan_time_ns(&clk, 150 + i));
	free(p);

	/* rate 0: every scan at the clock's time */
	clk.rate = 0;
	cr_assert_eq(iios_scan_time_ns(&clk, 123456), clk.t0_ns);
}

Test(scan_timestamp, a_timestamp_going_back_is_caught_within_and_across_blocks)
{
	struct iios_scan_clock clk = { .t0_ns = 1000, .n0 = 0, .rate = 1000 };
	static const char *const t[] = { "be:s24/32>>8", "@le:s64/64>>0" };
	struct iios_scan_layout l;
	uint32_t scans = 20;
	unsigned long len;
	uint64_t ts = 0, ts_end;
	uint8_t *a, *b;

	layout_of(&l, t, N(t));
	len = (unsigned long)scans * l.scan_bytes;
	a = filled(&l, 0, scans, &clk);
	b = filled(&l, scans, scans, &clk);
	cr_assert_eq(iios_scan_check(&l, a, len, 0, &ts), -1);
	cr_assert_eq(iios_scan_check(&l, b, len, scans, &ts), -1, "a follows b");
	ts_end = ts;
	/* b again after b: its first timestamp is before the last one seen */
	cr_assert_eq(iios_scan_check(&l, b, len, scans, &ts), (long)l.elem[1].offset);
	cr_assert_eq(ts, ts_end, "a failed check leaves *ts_prev");
	/* equal timestamps are fine (an unpaced block) */
	memcpy(a + 3 * l.scan_bytes + 8, a + 2 * l.scan_bytes + 8, 8);
	cr_assert_eq(iios_scan_check(&l, a, len, 0, NULL), -1);
	/* one going back inside the block, by 1 ns: caught where it is */
	{
		uint64_t t4 = (uint64_t)iios_scan_read(&l, a + 4 * l.scan_bytes, 1, 0) - 1;
		int i;

		for (i = 0; i < 8; i++)
			a[5 * l.scan_bytes + 8 + i] = (uint8_t)(t4 >> (8 * i));
	}
	cr_assert_eq(iios_scan_check(&l, a, len, 0, NULL), (long)(5 * l.scan_bytes + 8));
	free(a);
	free(b);
}

/* ---- reading values back --------------------------------------------------- */

Test(scan_read, values_come_back_shifted_masked_and_sign_extended)
{
	struct iios_scan_type t;
	uint8_t be24[4] = { 0xff, 0xff, 0xfe, 0x55 }; /* 0xfffffe in bits 8..31, junk below */
	uint8_t s12[2] = { 0x00, 0xf8 };              /* 0xf800: junk above 12 bits */
	uint8_t u8[1] = { 0xff };
	uint8_t s64[8] = { 0, 0, 0, 0, 0, 0, 0, 0x80 };
	uint8_t rep[4] = { 0x01, 0x00, 0xff, 0xff };

	t = type_of("be:s24/32>>8");
	cr_assert_eq(iios_scan_type_read(&t, be24, 0), -2);
	t = type_of("be:u24/32>>8");
	cr_assert_eq(iios_scan_type_read(&t, be24, 0), 0xfffffe);
	t = type_of("le:s12/16>>0");
	cr_assert_eq(iios_scan_type_read(&t, s12, 0), -2048);
	t = type_of("le:u8/8>>0");
	cr_assert_eq(iios_scan_type_read(&t, u8, 0), 255);
	t = type_of("le:s64/64>>0");
	cr_assert_eq(iios_scan_type_read(&t, s64, 0), INT64_MIN);
	t = type_of("le:u64/64>>0");
	cr_assert_eq((uint64_t)iios_scan_type_read(&t, s64, 0), 1ull << 63);
	t = type_of("le:s16/16X2>>0");
	cr_assert_eq(iios_scan_type_read(&t, rep, 0), 1);
	cr_assert_eq(iios_scan_type_read(&t, rep, 1), -1);
}

Test(scan_read, every_filled_value_reads_back_as_the_pattern_number)
{
	size_t f;

	for (f = 0; f < N(formats); f++) {
		struct iios_scan_layout l;
		uint32_t scans = 50, i, k, r;
		uint8_t *p;

		layout_of(&l, formats[f], format_count(f));
		p = filled(&l, 4242, scans, NULL);
		for (i = 0; i < scans; i++)
			for (k = 0; k < l.count; k++) {
				const struct iios_scan_type *t = &l.elem[k].type;

				if (l.elem[k].timestamp)
					continue;
				for (r = 0; r < t->repeat; r++) {
					uint64_t v = iios_scan_pattern_value(4242 + i, l.elem[k].index,
									     r, t->bits);
					int64_t want = (int64_t)v;

					if (t->is_signed && t->bits < 64 && (v >> (t->bits - 1)))
						want = (int64_t)(v | ~0ull << t->bits);
					cr_assert_eq(iios_scan_read(&l, p + i * l.scan_bytes, k, r),
						     want, "format %zu, scan %u, element %u/%u", f,
						     i, k, r);
				}
			}
		free(p);
	}
}

/* ---- the library's verifier, in every format ------------------------------- */

#include "iiostream.h"

/* A stream of one channel per type string, as a SubscribeReply describes
 * it; "@..." is the timestamp channel (id "timestamp"). */
static void stream_of(struct iios_stream_info *info, struct iios_scan_layout *l,
		      const char *const *types, size_t n)
{
	size_t i;

	layout_of(l, types, n);
	memset(info, 0, sizeof(*info));
	info->scan_bytes = l->scan_bytes;
	info->n_channels = (uint32_t)n;
	for (i = 0; i < n; i++) {
		struct iios_channel *ch = &info->channels[i];
		const struct iios_scan_type *t = &l->elem[i].type;

		ch->index = (uint32_t)i;
		snprintf(ch->id, sizeof(ch->id), l->elem[i].timestamp ? "timestamp" : "voltage%zu",
			 i);
		ch->is_signed = t->is_signed;
		ch->bits = t->bits;
		ch->storage_bits = t->storage_bits;
		ch->shift = t->shift;
		ch->big_endian = t->big_endian;
		ch->repeat = t->repeat;
		ch->fully_defined = t->fully_defined;
	}
}

static struct iios_block block_of(uint8_t *data, size_t len, uint64_t seq, uint64_t first)
{
	struct iios_block b;

	memset(&b, 0, sizeof(b));
	b.sequence = seq;
	b.first_sample = first;
	b.data = data;
	b.len = b.bytes_used = len;
	return b;
}

Test(verify_formats, blocks_verify_in_the_stream_channels_formats)
{
	static const char *const t12[] = { "le:S12/16>>0", "le:S12/16>>0" };
	static const char *const t24[] = { "be:s24/32>>8", "be:s24/32>>8", "le:u8/8>>0" };
	const char *const *sets[] = { t12, t24 };
	size_t nsets[] = { N(t12), N(t24) }, s;

	for (s = 0; s < N(sets); s++) {
		struct iios_stream_info info;
		struct iios_scan_layout l;
		struct iios_verify v;
		uint32_t scans = 1000, i;
		uint8_t *p;

		stream_of(&info, &l, sets[s], nsets[s]);
		iios_verify_init(&v);
		for (i = 0; i < 3; i++) {
			struct iios_block b;

			p = filled(&l, (uint64_t)i * scans, scans, NULL);
			b = block_of(p, (size_t)scans * l.scan_bytes, i, (uint64_t)i * scans);
			cr_assert_eq(iios_verify_block(&v, &info, &b), 0, "set %zu block %u: %s", s,
				     i, v.first_error);
			free(p);
		}
		cr_assert_eq(v.integrity_errors, 0);
	}
}

Test(verify_formats, a_wrong_value_is_named_by_its_channel)
{
	static const char *const t[] = { "be:s24/32>>8", "be:s24/32>>8" };
	struct iios_stream_info info;
	struct iios_scan_layout l;
	struct iios_verify v;
	struct iios_block b;
	uint32_t scans = 4000;
	uint8_t *p;

	stream_of(&info, &l, t, N(t));
	p = filled(&l, 77, scans, NULL);
	p[3000 * 8 + 4 + 3] ^= 0x01; /* scan 3000, channel 1: a bit below the shift */
	b = block_of(p, (size_t)scans * 8, 0, 77);
	iios_verify_init(&v);
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	cr_assert(strstr(v.first_error, "byte 24004 (scan 3077, channel 1)"), "%s", v.first_error);
	/* the same bytes read as le:s16/16 are wrong */
	info.scan_bytes = 8;
	info.n_channels = 0;
	iios_verify_init(&v);
	p[3000 * 8 + 4 + 3] ^= 0x01;
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	free(p);
}

Test(verify_formats, timestamps_must_not_go_back_within_or_across_blocks)
{
	static const char *const t[] = { "le:S12/16>>0", "le:S12/16>>0", "@le:s64/64>>0" };
	struct iios_scan_clock clk = { .t0_ns = 1000000, .n0 = 0, .rate = 1000000 };
	struct iios_stream_info info;
	struct iios_scan_layout l;
	struct iios_verify v;
	struct iios_block b;
	uint32_t scans = 256;
	uint8_t *a, *c;

	stream_of(&info, &l, t, N(t));
	cr_assert_eq(info.scan_bytes, 16);
	a = filled(&l, 0, scans, &clk);
	c = filled(&l, scans, scans, &clk);
	iios_verify_init(&v);
	b = block_of(a, (size_t)scans * 16, 0, 0);
	cr_assert_eq(iios_verify_block(&v, &info, &b), 0, "%s", v.first_error);
	b = block_of(c, (size_t)scans * 16, 1, scans);
	cr_assert_eq(iios_verify_block(&v, &info, &b), 0, "%s", v.first_error);
	/* a block whose clock restarted earlier: its pattern is right, its
	 * timestamps go back */
	clk.t0_ns = 0;
	free(a);
	a = filled(&l, 2 * scans, scans, &clk);
	b = block_of(a, (size_t)scans * 16, 2, 2 * scans);
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	cr_assert(strstr(v.first_error, "timestamp at byte 8 (scan 512) goes back"), "%s",
		  v.first_error);
	free(a);
	free(c);
}

Test(verify_formats, formats_that_do_not_make_the_scan_size_are_an_error)
{
	static const char *const t[] = { "le:S12/16>>0", "@le:s64/64>>0" };
	struct iios_stream_info info;
	struct iios_scan_layout l;
	struct iios_verify v;
	struct iios_block b;
	uint8_t data[64] = { 0 };

	stream_of(&info, &l, t, N(t));
	info.scan_bytes = 10; /* packed, as IIO never lays it out */
	b = block_of(data, 60, 0, 0);
	iios_verify_init(&v);
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	cr_assert(strstr(v.first_error, "make 16-byte scans, the stream says 10"), "%s",
		  v.first_error);
	/* a storage size IIO does not have */
	stream_of(&info, &l, t, N(t));
	info.channels[0].storage_bits = 12;
	iios_verify_init(&v);
	cr_assert_eq(iios_verify_block(&v, &info, &b), -EILSEQ);
	cr_assert(strstr(v.first_error, "scan format"), "%s", v.first_error);
}

/* ---- raw scans in any format (iios_verify_scans_typed) ------------------ */

/* The channels of a stream of these types, and `scans` scans of them from
 * `first`, a timestamp (if any) of a 1 MHz clock. */
static uint8_t *raw_of(struct iios_stream_info *info, struct iios_scan_layout *l,
		       const char *const *types, size_t n, uint64_t first, uint32_t scans)
{
	struct iios_scan_clock clk = { .t0_ns = 5000, .n0 = 0, .rate = 1000000 };

	stream_of(info, l, types, n);
	return filled(l, first, scans, &clk);
}

Test(verify_typed, finds_the_start_of_12_bit_and_24_bit_runs_and_checks_them_whole)
{
	static const char *const t12[] = { "le:S12/16>>0", "le:S12/16>>0" };
	static const char *const t24[] = { "be:s24/32>>8", "be:s24/32>>8", "@le:s64/64>>0" };
	static const char *const tx[] = { "le:u10/16X2>>2", "be:U32/32>>0" };
	const char *const *sets[] = { t12, t24, tx };
	size_t nsets[] = { N(t12), N(t24), N(tx) }, s;
	/* 12 bits show the index modulo 2^28; 16 and more modulo 2^32 */
	uint64_t first = 3 * 65536 + 777, modulus[] = { 1ull << 28, 1ull << 32, 1ull << 32 };

	for (s = 0; s < N(sets); s++) {
		struct iios_stream_info info;
		struct iios_scan_layout l;
		struct iios_scan_check chk;
		uint32_t scans = 100000;
		uint8_t *p = raw_of(&info, &l, sets[s], nsets[s], first, scans);

		cr_assert_eq(iios_verify_scans_typed(&chk, p, (size_t)scans * l.scan_bytes,
						     info.channels, info.n_channels),
			     0, "set %zu: %s", s, chk.first_error);
		cr_assert(chk.start_determined, "set %zu", s);
		cr_assert_eq(chk.first_scan % modulus[s], first % modulus[s], "set %zu: %llu", s,
			     (unsigned long long)chk.first_scan);
		cr_assert_eq(chk.scans, scans);
		cr_assert_eq(chk.gaps + chk.errors, 0);
		/* one bit below the 24-bit value's shift, a garbage bit of a
		 * 12-bit one: the whole storage word is the pattern's */
		p[(size_t)4321 * l.scan_bytes + 1] ^= 0x80;
		cr_assert_eq(iios_verify_scans_typed(&chk, p, (size_t)scans * l.scan_bytes,
						     info.channels, info.n_channels),
			     -EILSEQ, "set %zu", s);
		cr_assert(strstr(chk.first_error, "scan 4321 "), "%s", chk.first_error);
		free(p);
	}
}

Test(verify_typed, an_8_bit_run_with_a_gap_is_located_modulo_2_24)
{
	static const char *const t8[] = { "le:u8/8>>0", "le:s8/8>>0", "le:u8/8>>0" };
	struct iios_stream_info info;
	struct iios_scan_layout l;
	struct iios_scan_check chk;
	uint64_t first = (5ull << 24) + 12345;
	uint8_t *p = raw_of(&info, &l, t8, N(t8), first, 200000);
	size_t sb = l.scan_bytes;

	cr_assert_eq(sb, 3);
	/* drop scans 100000..100499 of the data */
	memmove(p + 100000 * sb, p + 100500 * sb, (200000 - 100500) * sb);
	cr_assert_eq(iios_verify_scans_typed(&chk, p, 199500 * sb, info.channels, 3), 0, "%s",
		     chk.first_error);
	cr_assert(chk.start_determined);
	cr_assert_eq(chk.first_scan, first % (1ull << 24));
	cr_assert_eq(chk.gaps, 1);
	cr_assert_eq(chk.scans_missing, 500);
	/* the same bytes read as other channels are not the pattern (channels
	 * all shifted by one index would be: the pattern of channel c + 1 is
	 * that of c at another index) */
	info.channels[0].index = 1;
	info.channels[1].index = 2;
	info.channels[2].index = 4;
	cr_assert_eq(iios_verify_scans_typed(&chk, p, 199500 * sb, info.channels, 3), -ENOENT);
	free(p);
}

Test(verify_typed, a_timestamp_going_back_is_an_error_across_a_gap_too)
{
	static const char *const t[] = { "le:S12/16>>0", "@le:s64/64>>0" };
	struct iios_stream_info info;
	struct iios_scan_layout l;
	struct iios_scan_check chk;
	uint32_t scans = 140000;
	uint8_t *p = raw_of(&info, &l, t, N(t), 65000, scans), ts[8];
	size_t sb = l.scan_bytes;

	cr_assert_eq(sb, 16);
	cr_assert_eq(iios_verify_scans_typed(&chk, p, scans * sb, info.channels, 2), 0, "%s",
		     chk.first_error);
	/* the flag says it as well as the id */
	snprintf(info.channels[1].id, sizeof(info.channels[1].id), "ts");
	info.channels[1].timestamp = true;
	cr_assert_eq(iios_verify_scans_typed(&chk, p, scans * sb, info.channels, 2), 0, "%s",
		     chk.first_error);
	/* scan 2000 gets scan 10's timestamp: an error */
	memcpy(ts, p + 2000 * sb + 8, 8);
	memcpy(p + 2000 * sb + 8, p + 10 * sb + 8, 8);
	cr_assert_eq(iios_verify_scans_typed(&chk, p, scans * sb, info.channels, 2), -EILSEQ);
	cr_assert(strstr(chk.first_error, "scan 2000 of the data"), "%s", chk.first_error);
	cr_assert(strstr(chk.first_error, "timestamp goes back"), "%s", chk.first_error);
	cr_assert_eq(chk.errors, 1);
	memcpy(p + 2000 * sb + 8, ts, 8);
	/* scans 70000..70999 dropped: a gap both runs show the size of (each
	 * crosses a multiple of 65536); the clock may not go back across it */
	memmove(p + 70000 * sb, p + 71000 * sb, (scans - 71000) * sb);
	scans -= 1000;
	cr_assert_eq(iios_verify_scans_typed(&chk, p, scans * sb, info.channels, 2), 0, "%s",
		     chk.first_error);
	cr_assert_eq(chk.gaps, 1);
	cr_assert_eq(chk.scans_missing, 1000);
	memcpy(p + 70000 * sb + 8, p + 500 * sb + 8, 8);
	cr_assert_eq(iios_verify_scans_typed(&chk, p, scans * sb, info.channels, 2), -EILSEQ);
	cr_assert(strstr(chk.first_error, "scan 70000 of the data"), "%s", chk.first_error);
	free(p);
}

Test(verify_typed, refuses_timestamps_only_and_formats_iio_has_not)
{
	static const char *const t[] = { "le:S12/16>>0", "@le:s64/64>>0" };
	struct iios_stream_info info;
	struct iios_scan_layout l;
	struct iios_scan_check chk;
	uint8_t *p = raw_of(&info, &l, t, N(t), 0, 100);

	cr_assert_eq(iios_verify_scans_typed(&chk, p, 100 * 16, &info.channels[1], 1), -EINVAL);
	cr_assert_eq(iios_verify_scans_typed(&chk, p, 100 * 16 - 8, info.channels, 2), -EINVAL);
	info.channels[0].storage_bits = 12;
	cr_assert_eq(iios_verify_scans_typed(&chk, p, 100 * 16, info.channels, 2), -EINVAL);
	info.channels[0].storage_bits = 16;
	info.channels[0].repeat = 256;
	cr_assert_eq(iios_verify_scans_typed(&chk, p, 100 * 16, info.channels, 2), -EINVAL);
	/* too few scans to find a start */
	info.channels[0].repeat = 0;
	cr_assert_eq(iios_verify_scans_typed(&chk, p, 3 * 16, info.channels, 2), -ENOENT);
	free(p);
}
