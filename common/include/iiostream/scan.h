/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * Every scan format IIO describes: the type of a scan element, the layout of
 * a scan, and the verifiable pattern (pattern.h) in any of those formats.
 *
 * IIO describes each scan element by a type string
 *
 *     [be|le]:[s|u|S|U]BITS/STORAGE[XREPEAT]>>SHIFT
 *
 * (scan_elements/in_*_type; AD9361 "le:S12/16>>0", many SPI ADCs
 * "be:s24/32>>8", the timestamp "le:s64/64>>0"): the value has BITS
 * significant bits, sits SHIFT bits up in a STORAGE-bit word of the given
 * endianness, signed (s) or not (u); an upper-case letter says the storage
 * bits outside the value are defined (sign or zero extension) rather than
 * garbage; REPEAT values of that type make one element.
 *
 * The IIO core lays a scan out in ascending scan index, each element
 * aligned to its own length (storage bytes * repeat) and the scan padded to
 * the longest element's length (drivers/iio/industrialio-buffer.c,
 * iio_compute_scan_bytes()). iios_scan_layout_add() computes the same.
 *
 * The pattern: the value of element `index`, repeat `r`, in scan `n` is
 * built from iios_pattern_sample() so that le:s16/16 scans are byte for
 * byte those of iios_pattern_fill_ids() (the kernel module and every
 * existing verifier rely on that):
 *
 *   - 16-bit word j (j = 0 for the least significant) of the value is
 *     iios_pattern_sample(n, index + 65 * r) + j * 0x5a39 (mod 2^16), so
 *     24-, 32- and 64-bit values carry more pattern bits and the words of
 *     one value differ from each other;
 *   - a value of BITS < 16 bits is that sample masked to BITS (its step
 *     from one scan to the next stays odd, so neighbours always differ);
 *   - it is stored sign-extended (signed types) or zero-extended, shifted
 *     left by SHIFT, in STORAGE bits of the type's endianness;
 *   - repeat r of an element uses channel term index + 65 * r, so the
 *     repeats of an element differ from each other and from every other
 *     element (scan indices are below 65: 64 channels and a timestamp);
 *   - padding bytes between elements and at the scan's end are zero and
 *     not checked.
 *
 * A timestamp element (flagged as such in the layout; IIO's s64 timestamp
 * channel) holds no pattern: it holds the scan's time in ns,
 * iios_scan_time_ns() of the source's clock (how the simulated sources
 * fill it), and a check asks only that timestamps never decrease.
 *
 * One definition for kernel and userspace: fixed-width integers, no floating
 * point, no libc in the __KERNEL__ path (64-bit division through
 * linux/math64.h there). Errors are negative errno values.
 */
#ifndef IIOSTREAM_SCAN_H
#define IIOSTREAM_SCAN_H

#include "pattern.h"

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/math64.h>
#include <linux/types.h>
typedef u8 iios_u8;
typedef s64 iios_s64;
#else
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
typedef uint8_t iios_u8;
typedef int64_t iios_s64;
#endif

/* ---- the type of one scan element ------------------------------------- */

/* The longest type string iios_scan_type_print() writes, with its NUL:
 * "le:S64/64X255>>63". */
#define IIOS_SCAN_TYPE_STR_MAX 24

/* One scan element's type, as IIO's scan_type describes it. */
struct iios_scan_type {
	bool is_signed;        /* 's'/'S': two's complement; 'u'/'U': unsigned */
	bool fully_defined;    /* 'S'/'U': the storage bits outside the value
				* are its sign or zero extension, not garbage */
	bool big_endian;       /* "be:"; "le:" otherwise */
	iios_u8 bits;          /* significant bits, 1..storage_bits */
	iios_u8 storage_bits;  /* bits of the storage word: 8, 16, 32 or 64 */
	iios_u8 shift;         /* the value sits this many bits up in its
				* storage word: bits + shift <= storage_bits */
	iios_u8 repeat;        /* values of this type in one element, 1..255
				* (IIO's "Xrepeat"; 1 when absent) */
};

/* The iiostream default, and what every channel was before this header:
 * le:s16/16>>0. */
static inline struct iios_scan_type iios_scan_type_s16(void)
{
	struct iios_scan_type t = { .is_signed = true, .fully_defined = false,
				    .big_endian = false, .bits = 16, .storage_bits = 16,
				    .shift = 0, .repeat = 1 };

	return t;
}

/* IIO's timestamp channel: le:s64/64>>0, the scan's time in ns. */
static inline struct iios_scan_type iios_scan_type_timestamp(void)
{
	struct iios_scan_type t = iios_scan_type_s16();

	t.bits = 64;
	t.storage_bits = 64;
	return t;
}

/* 0 if *t is a type IIO can describe (the rules above), else -EINVAL. */
static inline int iios_scan_type_check(const struct iios_scan_type *t)
{
	unsigned int s = t->storage_bits;

	if (s != 8 && s != 16 && s != 32 && s != 64)
		return -EINVAL;
	if (t->bits == 0 || t->bits > s || (unsigned int)t->bits + t->shift > s)
		return -EINVAL;
	if (t->repeat == 0)
		return -EINVAL;
	return 0;
}

/* Bytes one element of type *t takes in a scan: storage bytes * repeat. */
static inline iios_u32 iios_scan_type_bytes(const struct iios_scan_type *t)
{
	return (iios_u32)t->storage_bits / 8 * t->repeat;
}

/* true for le:s16/16>>0 (either case of 's'), one value per element: the
 * layout of pattern.h, which has a fast path. */
static inline bool iios_scan_type_is_s16le(const struct iios_scan_type *t)
{
	return t->is_signed && !t->big_endian && t->bits == 16 && t->storage_bits == 16 &&
	       t->shift == 0 && t->repeat == 1;
}

/* A decimal number of at most `max` (<= 255, so no overflow) at *s;
 * *s moves past it. */
static inline int iios__scan_parse_num(const char **s, unsigned int max, unsigned int *out)
{
	const char *p = *s;
	unsigned int v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned int)(*p - '0');
		if (v > max)
			return -EINVAL;
		p++;
	}
	*s = p;
	*out = v;
	return 0;
}

/*
 * Parse IIO's type string `s` into *t. ">>SHIFT" may be left out (shift 0)
 * and one trailing newline (as sysfs gives it) is allowed; nothing else may
 * follow. Returns 0, or -EINVAL (and *t unchanged) for text that is not
 * such a type or a type that breaks iios_scan_type_check()'s rules:
 * storage not 8/16/32/64, bits 0 or over storage, bits + shift over
 * storage, repeat 0 or over 255.
 */
static inline int iios_scan_type_parse(const char *s, struct iios_scan_type *t)
{
	struct iios_scan_type v = iios_scan_type_s16();
	unsigned int bits, storage, repeat = 1, shift = 0;

	if ((s[0] != 'l' && s[0] != 'b') || s[1] != 'e' || s[2] != ':')
		return -EINVAL;
	v.big_endian = s[0] == 'b';
	switch (s[3]) {
	case 's': v.is_signed = true; break;
	case 'S': v.is_signed = true; v.fully_defined = true; break;
	case 'u': v.is_signed = false; break;
	case 'U': v.is_signed = false; v.fully_defined = true; break;
	default: return -EINVAL;
	}
	s += 4;
	if (iios__scan_parse_num(&s, 64, &bits) || *s++ != '/' ||
	    iios__scan_parse_num(&s, 64, &storage))
		return -EINVAL;
	if (*s == 'X') {
		s++;
		if (iios__scan_parse_num(&s, 255, &repeat))
			return -EINVAL;
	}
	if (s[0] == '>') {
		if (s[1] != '>')
			return -EINVAL;
		s += 2;
		if (iios__scan_parse_num(&s, 64, &shift))
			return -EINVAL;
	}
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	v.bits = (iios_u8)bits;
	v.storage_bits = (iios_u8)storage;
	v.repeat = (iios_u8)repeat;
	v.shift = (iios_u8)shift;
	if (iios_scan_type_check(&v))
		return -EINVAL;
	*t = v;
	return 0;
}

/* Write the decimal digits of v (< 1000) at buf[*n...], as far as len allows. */
static inline void iios__scan_put_num(char *buf, unsigned long len, unsigned long *n,
				      unsigned int v)
{
	char d[3];
	int k = 0;

	do {
		d[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k < 3);
	while (k--) {
		if (*n + 1 < len)
			buf[*n] = d[k];
		(*n)++;
	}
}

static inline void iios__scan_put_char(char *buf, unsigned long len, unsigned long *n, char c)
{
	if (*n + 1 < len)
		buf[*n] = c;
	(*n)++;
}

/*
 * Write *t as IIO prints it ("le:s16/16>>0", "be:U12/16X2>>4": the kernel's
 * iio_show_fixed_type(), Xrepeat only when repeat > 1, upper case for
 * fully_defined), NUL-terminated, into buf of len bytes
 * (IIOS_SCAN_TYPE_STR_MAX always suffices). Returns the string's length
 * (without the NUL); like snprintf(), a return >= len means it was cut.
 */
static inline unsigned long iios_scan_type_print(const struct iios_scan_type *t, char *buf,
						 unsigned long len)
{
	unsigned long n = 0;

	iios__scan_put_char(buf, len, &n, t->big_endian ? 'b' : 'l');
	iios__scan_put_char(buf, len, &n, 'e');
	iios__scan_put_char(buf, len, &n, ':');
	iios__scan_put_char(buf, len, &n,
			    t->is_signed ? (t->fully_defined ? 'S' : 's')
					 : (t->fully_defined ? 'U' : 'u'));
	iios__scan_put_num(buf, len, &n, t->bits);
	iios__scan_put_char(buf, len, &n, '/');
	iios__scan_put_num(buf, len, &n, t->storage_bits);
	if (t->repeat > 1) {
		iios__scan_put_char(buf, len, &n, 'X');
		iios__scan_put_num(buf, len, &n, t->repeat);
	}
	iios__scan_put_char(buf, len, &n, '>');
	iios__scan_put_char(buf, len, &n, '>');
	iios__scan_put_num(buf, len, &n, t->shift);
	if (len)
		buf[n < len ? n : len - 1] = '\0';
	return n;
}

/* ---- storage words ------------------------------------------------------ */

/* The storage word of `bytes` bytes at p, in the given byte order. */
static inline iios_u64 iios__scan_load(const unsigned char *p, unsigned int bytes, bool be)
{
	iios_u64 w = 0;
	unsigned int i;

	for (i = 0; i < bytes; i++)
		w |= (iios_u64)p[i] << (8 * (be ? bytes - 1 - i : i));
	return w;
}

static inline void iios__scan_store(unsigned char *p, iios_u64 w, unsigned int bytes, bool be)
{
	unsigned int i;

	for (i = 0; i < bytes; i++)
		p[i] = (unsigned char)(w >> (8 * (be ? bytes - 1 - i : i)));
}

/* The low `bits` bits of v. */
static inline iios_u64 iios__scan_mask(iios_u64 v, unsigned int bits)
{
	return bits >= 64 ? v : v & ((1ull << bits) - 1);
}

/* The storage word holding the `bits`-bit value v (its low bits) of type
 * *t: sign- or zero-extended, shifted, cut to the storage size. */
static inline iios_u64 iios_scan_type_encode(const struct iios_scan_type *t, iios_u64 v)
{
	v = iios__scan_mask(v, t->bits);
	if (t->is_signed && t->bits < 64 && (v >> (t->bits - 1)) & 1)
		v |= ~0ull << t->bits;
	return iios__scan_mask(v << t->shift, t->storage_bits);
}

/*
 * The value of repeat r of an element of type *t at p (the element's first
 * byte), as a number: the storage word shifted down by `shift`, masked to
 * `bits`, sign-extended when signed. For consumers that convert samples
 * (to float, to a picked channel). r < t->repeat (not checked).
 */
static inline iios_s64 iios_scan_type_read(const struct iios_scan_type *t, const void *p,
					   iios_u32 r)
{
	unsigned int bytes = t->storage_bits / 8;
	iios_u64 w = iios__scan_load((const unsigned char *)p + (unsigned long)r * bytes, bytes,
				     t->big_endian);
	iios_u64 m;

	w = iios__scan_mask(w >> t->shift, t->bits);
	if (!t->is_signed || t->bits == 64)
		return (iios_s64)w; /* 64 bits: two's complement, as the storage is */
	/* sign extension without overflow: w ^ m fits in bits bits, m < 2^63 */
	m = 1ull << (t->bits - 1);
	return (iios_s64)(w ^ m) - (iios_s64)m;
}

/* ---- the layout of a scan ------------------------------------------------ */

/* Elements in one scan at most: the daemon's channel masks are 64 bits. */
#define IIOS_SCAN_MAX_ELEMENTS 64

/* The pattern channel term of repeat r of scan index `index` is
 * index + IIOS_SCAN_REPEAT_STRIDE * r (see the top of this file). */
#define IIOS_SCAN_REPEAT_STRIDE 65u
/* What 16-bit word j of a pattern value adds to word 0 (times j). */
#define IIOS_SCAN_WORD_STEP 0x5a39u

/* One element of a scan. */
struct iios_scan_element {
	struct iios_scan_type type;
	bool timestamp;        /* holds the scan's time in ns (must be 64-bit
				* storage and bits, no repeat, no shift), not
				* the pattern */
	iios_u32 index;        /* scan index (IIO's): the pattern's channel */
	iios_u32 offset;       /* byte offset in the scan (set by
				* iios_scan_layout_add()) */
};

/* A scan: its elements in ascending scan index, and its size. */
struct iios_scan_layout {
	iios_u32 count;        /* elements in elem[] */
	iios_u32 scan_bytes;   /* bytes of one scan, padding included */
	iios_u32 largest;      /* the longest element's bytes (the scan's
				* alignment) */
	iios_u32 end;          /* private: end of the last element, before
				* the scan's tail padding */
	struct iios_scan_element elem[IIOS_SCAN_MAX_ELEMENTS];
};

/* An empty layout (no elements, 0 bytes). */
static inline void iios_scan_layout_init(struct iios_scan_layout *l)
{
	l->count = 0;
	l->scan_bytes = 0;
	l->largest = 0;
	l->end = 0;
}

/* The kernel's ALIGN(x, a): a rounding up for a power of two a. For the
 * rare non-power-of-two element lengths (repeat 3 and the like) it is
 * what the IIO core computes, so it is kept as such. */
static inline iios_u32 iios__scan_align(iios_u32 x, iios_u32 a)
{
	return (x + a - 1) & ~(a - 1);
}

/*
 * Append an element of type *t and scan index `index` to the scan, where
 * the IIO core puts it: at the end so far, aligned to the element's length;
 * scan_bytes becomes that end padded to the longest element's length.
 * Elements must come in ascending scan index, as IIO orders a scan.
 * Returns 0; -EINVAL for a bad type (iios_scan_type_check()), an index not
 * above the previous one, or a timestamp that is not a plain 64-bit value;
 * -ENOSPC when the layout has IIOS_SCAN_MAX_ELEMENTS already.
 */
static inline int iios_scan_layout_add(struct iios_scan_layout *l, const struct iios_scan_type *t,
				       iios_u32 index, bool timestamp)
{
	struct iios_scan_element *e;
	iios_u32 len;

	if (iios_scan_type_check(t))
		return -EINVAL;
	if (timestamp && (t->bits != 64 || t->storage_bits != 64 || t->repeat != 1 || t->shift))
		return -EINVAL;
	if (l->count && index <= l->elem[l->count - 1].index)
		return -EINVAL;
	if (l->count >= IIOS_SCAN_MAX_ELEMENTS)
		return -ENOSPC;
	len = iios_scan_type_bytes(t);
	e = &l->elem[l->count++];
	e->type = *t;
	e->timestamp = timestamp;
	e->index = index;
	e->offset = iios__scan_align(l->end, len);
	l->end = e->offset + len;
	if (len > l->largest)
		l->largest = len;
	l->scan_bytes = iios__scan_align(l->end, l->largest);
	return 0;
}

/*
 * The layout of the elements of `mask` (bit i: scan index i) out of
 * types[0..n_types-1] (the type of each scan index); the one at
 * `timestamp_index` (-1: none) is the timestamp. Returns 0, -EINVAL for a
 * mask bit at or past n_types and iios_scan_layout_add()'s errors.
 */
static inline int iios_scan_layout_from_mask(struct iios_scan_layout *l,
					     const struct iios_scan_type *types, iios_u32 n_types,
					     iios_u64 mask, int timestamp_index)
{
	iios_u32 i;
	int err;

	iios_scan_layout_init(l);
	if (n_types < 64 && (mask >> n_types))
		return -EINVAL;
	for (i = 0; i < n_types && i < 64; i++) {
		if (!(mask & (1ull << i)))
			continue;
		err = iios_scan_layout_add(l, &types[i], i, (int)i == timestamp_index);
		if (err)
			return err;
	}
	return 0;
}

/* true when every element is a pattern.h one (le:s16/16, no timestamp, an
 * index that fits pattern.h's unsigned char ids): the scans are
 * iios_pattern_fill_ids()'s, and its fast paths apply. ids gets the
 * indices. */
static inline bool iios__scan_layout_s16(const struct iios_scan_layout *l, unsigned char *ids)
{
	iios_u32 k;

	for (k = 0; k < l->count; k++) {
		if (l->elem[k].timestamp || !iios_scan_type_is_s16le(&l->elem[k].type) ||
		    l->elem[k].index > 255)
			return false;
		ids[k] = (unsigned char)l->elem[k].index;
	}
	return l->count > 0;
}

/* Element k's repeat r of the scan at `scan`, as a number
 * (iios_scan_type_read()). */
static inline iios_s64 iios_scan_read(const struct iios_scan_layout *l, const void *scan,
				      iios_u32 k, iios_u32 r)
{
	return iios_scan_type_read(&l->elem[k].type,
				   (const unsigned char *)scan + l->elem[k].offset, r);
}

/* ---- the pattern and the timestamps ------------------------------------ */

/*
 * The pattern value of repeat r of scan index `index` in scan n, as a
 * `bits`-bit number (its low bits; the rest zero). See the top of the file.
 */
static inline iios_u64 iios_scan_pattern_value(iios_u64 n, iios_u32 index, iios_u32 r,
					       unsigned int bits)
{
	iios_u16 s = iios_pattern_sample(n, index + IIOS_SCAN_REPEAT_STRIDE * r);
	iios_u64 v = 0;
	unsigned int j;

	for (j = 0; j * 16 < bits; j++)
		v |= (iios_u64)(iios_u16)(s + j * IIOS_SCAN_WORD_STEP) << (16 * j);
	return iios__scan_mask(v, bits);
}

/* The clock the simulated sources stamp scans with: scan n0 was at t0_ns,
 * one scan every 1/rate s after it. */
struct iios_scan_clock {
	iios_u64 t0_ns;        /* time of scan n0, ns (CLOCK_MONOTONIC) */
	iios_u64 n0;           /* absolute scan index at t0_ns */
	iios_u64 rate;         /* scans per second; 0: every scan at t0_ns
				* (an unpaced source stamps a block's scans
				* with the block's time) */
};

/*
 * Time of scan n (>= n0): t0_ns + (n - n0) * 1e9 / rate, rounded down,
 * computed without overflow for any rate up to 2^34 (the sim's block
 * timestamp is the same formula, so a block's first scan carries exactly
 * the block's timestamp).
 */
static inline iios_u64 iios_scan_time_ns(const struct iios_scan_clock *clk, iios_u64 n)
{
	iios_u64 d = n - clk->n0, q, rem;

	if (!clk->rate)
		return clk->t0_ns;
#ifdef __KERNEL__
	q = div64_u64_rem(d, clk->rate, &rem);
	return clk->t0_ns + q * 1000000000ull + div64_u64(rem * 1000000000ull, clk->rate);
#else
	q = d / clk->rate;
	rem = d % clk->rate;
	return clk->t0_ns + q * 1000000000ull + rem * 1000000000ull / clk->rate;
#endif
}

/*
 * Fill `scans` scans of layout *l starting at absolute scan `first` into
 * out (scans * l->scan_bytes bytes): every element's pattern values,
 * timestamps from *clk (NULL: 0), zero padding. A layout of le:s16/16
 * elements only takes pattern.h's fast fill, with its bytes.
 */
static inline void iios_scan_fill(const struct iios_scan_layout *l, void *out, iios_u64 first,
				  iios_u32 scans, const struct iios_scan_clock *clk)
{
	unsigned char *p = (unsigned char *)out;
	unsigned char ids[IIOS_SCAN_MAX_ELEMENTS];
	iios_u32 i, k, r, b;

	if (iios__scan_layout_s16(l, ids)) {
		iios_pattern_fill_fast_ids(out, first, scans, ids, l->count);
		return;
	}
	for (i = 0; i < scans; i++, p += l->scan_bytes) {
		for (b = 0; b < l->scan_bytes; b++)
			p[b] = 0;
		for (k = 0; k < l->count; k++) {
			const struct iios_scan_element *e = &l->elem[k];
			unsigned int bytes = e->type.storage_bits / 8;

			if (e->timestamp) {
				iios__scan_store(p + e->offset,
						 clk ? iios_scan_time_ns(clk, first + i) : 0, 8,
						 e->type.big_endian);
				continue;
			}
			for (r = 0; r < e->type.repeat; r++)
				iios__scan_store(p + e->offset + r * bytes,
						 iios_scan_type_encode(&e->type,
							iios_scan_pattern_value(first + i, e->index,
										r, e->type.bits)),
						 bytes, e->type.big_endian);
		}
	}
}

/*
 * Check `len` bytes of scans of layout *l that start at absolute scan
 * `first` (len a whole number of scans: the caller checks that): every
 * pattern value must be iios_scan_fill()'s, storage bits outside the value
 * included; timestamps must never decrease, within the data and from
 * *ts_prev on (ts_prev NULL: within the data only; else in/out: the last
 * timestamp seen before the data, updated to the last one in it).
 * Returns the byte offset of the first wrong value (the element's offset
 * plus its repeat's), or -1 when every one is right. Padding is not checked.
 */
static inline long iios_scan_check(const struct iios_scan_layout *l, const void *data,
				   unsigned long len, iios_u64 first, iios_u64 *ts_prev)
{
	const unsigned char *p = (const unsigned char *)data;
	unsigned char ids[IIOS_SCAN_MAX_ELEMENTS];
	unsigned long scans, i;
	iios_u64 last = ts_prev ? *ts_prev : 0;
	iios_u32 k, r;

	if (l->scan_bytes == 0)
		return -1;
	if (iios__scan_layout_s16(l, ids))
		return iios_pattern_check_ids(data, len, first, ids, l->count);
	scans = len / l->scan_bytes;
	for (i = 0; i < scans; i++, p += l->scan_bytes) {
		for (k = 0; k < l->count; k++) {
			const struct iios_scan_element *e = &l->elem[k];
			unsigned int bytes = e->type.storage_bits / 8;
			const unsigned char *q = p + e->offset;

			if (e->timestamp) {
				iios_u64 ts = iios__scan_load(q, 8, e->type.big_endian);

				if (ts < last)
					return (long)(q - (const unsigned char *)data);
				last = ts;
				continue;
			}
			for (r = 0; r < e->type.repeat; r++, q += bytes) {
				iios_u64 want = iios_scan_type_encode(&e->type,
					iios_scan_pattern_value(first + i, e->index, r,
								e->type.bits));

				if (iios__scan_load(q, bytes, e->type.big_endian) != want)
					return (long)(q - (const unsigned char *)data);
			}
		}
	}
	if (ts_prev)
		*ts_prev = last;
	return -1;
}

#endif /* IIOSTREAM_SCAN_H */
