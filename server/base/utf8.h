/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 checking for text that leaves the daemon in formats that must be
 * UTF-8 (JSON, Prometheus' exposition): device names and attribute values
 * come from sysfs and drivers, which promise nothing.
 */
#ifndef IIOSTREAMD_UTF8_H
#define IIOSTREAMD_UTF8_H

#include <stddef.h>

/* The length (1..4) of the well-formed UTF-8 sequence at s[0..n), or 0 if
 * it is not one: a stray continuation byte, a truncated sequence, an
 * overlong form, a surrogate (U+D800..DFFF) or a value above U+10FFFF
 * (RFC 3629). n must be at least 1. */
static inline size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0; /* continuation byte, 0xc0/0xc1 (overlong), or > 0xf4 */
	if (n < len)
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* the second byte's range excludes overlongs, surrogates, > U+10FFFF */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

#endif /* IIOSTREAMD_UTF8_H */
