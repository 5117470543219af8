/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * The verifiable sample pattern of iiostream's simulated ADCs.
 *
 * Every simulated source (the daemon's `sim` source, and the kernel module's
 * simulated ADC) fills its blocks with this pattern, and every verifier
 * (`iiostream rx --verify`, the tests, the GNU Radio QA) checks it, so a byte
 * that is stale, shifted, duplicated or overwritten is caught wherever it
 * went wrong. One definition, shared by kernel and userspace: only fixed-width
 * integer arithmetic, no division, no floating point.
 *
 * Layout: scans of interleaved 16-bit signed little-endian samples, one of
 * each enabled channel in ascending channel order. The sample of channel `c`
 * in scan `n` (the absolute index of the scan since capture started) is
 * iios_pattern_sample(n, c), whichever other channels are enabled.
 *
 * The value is a ramp mod 2^16 with an odd step, so neighbouring samples of a
 * channel always differ and an off-by-one-sample shift is caught; the terms in
 * n >> 16 and n >> 32 make data 2^16 or 2^32 scans apart differ too (stale
 * data from an earlier lap of the ring is caught; the pattern repeats only
 * after 2^48 scans); the channel term separates channels.
 */
#ifndef IIOSTREAM_PATTERN_H
#define IIOSTREAM_PATTERN_H

#ifdef __KERNEL__
#include <linux/types.h>
typedef u16 iios_u16;
typedef u32 iios_u32;
typedef u64 iios_u64;
#else
#include <stdint.h>
typedef uint16_t iios_u16;
typedef uint32_t iios_u32;
typedef uint64_t iios_u64;
#endif

#define IIOS_PATTERN_SAMPLE_BYTES 2   /* int16 storage of every channel */
#define IIOS_PATTERN_BITS 16

static inline iios_u16 iios_pattern_sample(iios_u64 n, iios_u32 channel)
{
	iios_u32 lo = (iios_u32)n;
	iios_u32 mid = (iios_u32)(n >> 16);
	iios_u32 hi = (iios_u32)(n >> 32);

	return (iios_u16)(lo * 0x9e37u + mid * 0x6b43u + hi * 0x2f1du + channel * 0x3c6fu +
			  0x1234u);
}

/* The channel at position `pos` of a scan: ids[pos], or pos itself when the
 * scan holds every channel (ids NULL). */
static inline iios_u32 iios__pattern_chan(const unsigned char *ids, iios_u32 pos)
{
	return ids ? ids[pos] : pos;
}

/*
 * Fill `scans` scans starting at absolute scan index `first`, into `out`
 * (little-endian bytes, so the result is the same on every host). A scan
 * holds `channels` samples: of channels ids[0..channels-1] (ascending, as
 * IIO orders the enabled channels of a scan), or of channels
 * 0..channels-1 when ids is NULL.
 */
static inline void iios_pattern_fill_ids(void *out, iios_u64 first, iios_u32 scans,
					 const unsigned char *ids, iios_u32 channels)
{
	unsigned char *p = (unsigned char *)out;
	iios_u32 i, c;

	for (i = 0; i < scans; i++) {
		for (c = 0; c < channels; c++) {
			iios_u16 v = iios_pattern_sample(first + i, iios__pattern_chan(ids, c));

			p[0] = (unsigned char)v;
			p[1] = (unsigned char)(v >> 8);
			p += 2;
		}
	}
}

/* Every channel 0..channels-1 in each scan. */
static inline void iios_pattern_fill(void *out, iios_u64 first, iios_u32 scans,
				     iios_u32 channels)
{
	iios_pattern_fill_ids(out, first, scans, (const unsigned char *)0, channels);
}

/*
 * The same bytes as iios_pattern_fill(), several times faster: within a run
 * of scans that share n >> 16, each sample is the one of the scan before
 * plus 0x9e37, so a template of a group of scans (1024 samples in
 * userspace, 256 in the kernel) is
 * computed once and every later group is the template plus a constant in
 * each 16-bit lane,
 * added four lanes at a time in 64-bit words (SWAR: no carry crosses a lane,
 * and no SIMD unit is needed, so the kernel can use it too). The simulated
 * sources use this; verifiers use the reference above.
 */
#ifndef IIOS_PATTERN_TEMPLATE_SAMPLES
#ifdef __KERNEL__
#define IIOS_PATTERN_TEMPLATE_SAMPLES 256u	/* 512 bytes: kernel stacks are small */
#else
#define IIOS_PATTERN_TEMPLATE_SAMPLES 1024u
#endif
#endif

static inline iios_u64 iios__pattern_add4x16(iios_u64 x, iios_u64 y)
{
	const iios_u64 low15 = 0x7fff7fff7fff7fffull;

	return ((x & low15) + (y & low15)) ^ ((x ^ y) & ~low15);
}

static inline void iios_pattern_fill_fast_ids(void *out, iios_u64 first, iios_u32 scans,
					      const unsigned char *ids, iios_u32 channels)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	iios_u64 tmpl[IIOS_PATTERN_TEMPLATE_SAMPLES / 4];
	unsigned char *p = (unsigned char *)out;
	/* scans per group: a multiple of 4, so a group is whole 64-bit words */
	iios_u32 group = (IIOS_PATTERN_TEMPLATE_SAMPLES / (channels ? channels : 1)) & ~3u;

	if (channels == 0 || channels > 64) {
		iios_pattern_fill_ids(out, first, scans, ids, channels);
		return;
	}
	while (scans) {
		/* scans left before n >> 16 changes */
		iios_u32 run = 0x10000u - (iios_u32)(first & 0xffffu);
		iios_u32 groups, g, j, words = group * channels / 4;

		if (run > scans)
			run = scans;
		groups = run / group;
		if (groups)
			iios_pattern_fill_ids(tmpl, first, group, ids, channels);
		for (g = 0; g < groups; g++) {
			iios_u64 add = (iios_u16)(g * group * 0x9e37u);
			unsigned char *o = p + (unsigned long)g * words * 8;

			add |= add << 16;
			add |= add << 32;
			j = 0;
#if !defined(__KERNEL__) && defined(__GNUC__)
			/* userspace: sixteen 16-bit lanes per add (GCC/Clang
			 * vector extension; SSE2 or NEON, no flags needed) */
			{
				typedef iios_u16 lanes16 __attribute__((vector_size(32)));
				lanes16 vadd, t;

				__builtin_memcpy(&vadd, (iios_u64[4]){ add, add, add, add }, 32);
				for (; j + 4 <= words; j += 4) {
					__builtin_memcpy(&t, &tmpl[j], 32);
					t += vadd;
					__builtin_memcpy(o + j * 8, &t, 32);
				}
			}
#endif
			for (; j < words; j++) {
				iios_u64 w = iios__pattern_add4x16(tmpl[j], add);

				__builtin_memcpy(o + j * 8, &w, 8); /* o may be unaligned */
			}
		}
		g = groups * group;
		iios_pattern_fill_ids(p + (unsigned long)g * channels * 2, first + g, run - g, ids,
				      channels);
		p += (unsigned long)run * channels * 2;
		first += run;
		scans -= run;
	}
#else
	iios_pattern_fill_ids(out, first, scans, ids, channels);
#endif
}

static inline void iios_pattern_fill_fast(void *out, iios_u64 first, iios_u32 scans,
					  iios_u32 channels)
{
	iios_pattern_fill_fast_ids(out, first, scans, (const unsigned char *)0, channels);
}

/*
 * Check `len` bytes of pattern data that start at scan `first`, scans laid
 * out as iios_pattern_fill_ids() makes them. Returns the byte offset of the
 * first sample that differs, or -1 when every sample is right. `len` must be
 * a whole number of scans (the caller checks that).
 */
static inline long iios_pattern_check_ids(const void *data, unsigned long len, iios_u64 first,
					  const unsigned char *ids, iios_u32 channels)
{
	const unsigned char *p = (const unsigned char *)data;
	unsigned long scans = len / (2ul * channels);
	unsigned long i;
	iios_u32 c;

	for (i = 0; i < scans; i++) {
		for (c = 0; c < channels; c++) {
			iios_u16 v = iios_pattern_sample(first + i, iios__pattern_chan(ids, c));
			iios_u16 got = (iios_u16)(p[0] | (p[1] << 8));

			if (got != v)
				return (long)(p - (const unsigned char *)data);
			p += 2;
		}
	}
	return -1;
}

static inline long iios_pattern_check(const void *data, unsigned long len, iios_u64 first,
				      iios_u32 channels)
{
	return iios_pattern_check_ids(data, len, first, (const unsigned char *)0, channels);
}

#endif /* IIOSTREAM_PATTERN_H */
