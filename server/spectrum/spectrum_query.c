// SPDX-License-Identifier: MIT
/* A spectrum viewer's query and messages: see spectrum_query.h. */
#include "spectrum_query.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "spectrum_fft.h"
#include "spectrum_source.h"

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..len-1] ('+' is a space, as forms send it) into
 * out[cap]: its length, or -1 for a bad escape, a NUL, or no room. */
static long decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int h, l;

			if (i + 2 >= len || (h = hex(s[i + 1])) < 0 || (l = hex(s[i + 2])) < 0)
				return -1;
			c = (char)(h << 4 | l);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == '\0' || n + 1 >= cap)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return (long)n;
}

/* At most 32 bytes of s[0..n-1] for a message, bytes other than
 * printable ASCII as '?': the reason goes back as UTF-8 text and into
 * the log. */
static const char *shown(const char *s, size_t n, char out[33])
{
	size_t i;

	for (i = 0; i < n && i < 32; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	return out;
}

/* A decimal number of 1..5 digits, the whole string. */
static int number(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	size_t n;

	for (n = 0; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n == 5)
			return -1;
		v = v * 10 + (uint32_t)(s[n] - '0');
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

static int parse_channels(const char *v, struct spectrum_query *q)
{
	const char *comma = strchr(v, ',');
	char first[8];
	size_t n = comma ? (size_t)(comma - v) : strlen(v);

	if (n >= sizeof(first))
		return -1;
	memcpy(first, v, n);
	first[n] = '\0';
	if (number(first, &q->channels[0]) || q->channels[0] > 63)
		return -1;
	q->nchannels = 1;
	if (!comma)
		return 0;
	if (number(comma + 1, &q->channels[1]) || q->channels[1] > 63)
		return -1;
	q->nchannels = 2;
	return 0;
}

/* One key=value pair, decoded. */
static int take(struct spectrum_query *q, const char *k, const char *v, char *err, size_t errlen)
{
	char shw[33];
	bool *seen;

	if (strcmp(k, "device") == 0)
		seen = &q->device_set;
	else if (strcmp(k, "channels") == 0)
		seen = &q->channels_set;
	else if (strcmp(k, "bins") == 0)
		seen = &q->bins_set;
	else if (strcmp(k, "fps") == 0)
		seen = &q->fps_set;
	else {
		snprintf(err, errlen, "unknown key '%s': device, channels, bins or fps",
			 shown(k, strlen(k), shw));
		return -EINVAL;
	}
	if (*seen) {
		snprintf(err, errlen, "'%s' given twice", k);
		return -EINVAL;
	}
	*seen = true;
	if (seen == &q->device_set) {
		if (!v[0]) {
			snprintf(err, errlen, "device: empty");
			return -EINVAL;
		}
		snprintf(q->device, sizeof(q->device), "%s", v); /* decode() bounded it */
	} else if (seen == &q->channels_set) {
		if (parse_channels(v, q)) {
			snprintf(err, errlen, "channels '%s': 'I,Q' or 'C', scan indices 0..63",
				 shown(v, strlen(v), shw));
			return -EINVAL;
		}
	} else if (seen == &q->bins_set) {
		if (number(v, &q->bins) || !spectrum_bins_valid(q->bins)) {
			snprintf(err, errlen, "bins '%s': 1024, 2048 or 4096", shown(v, strlen(v), shw));
			return -EINVAL;
		}
	} else if (number(v, &q->fps) || q->fps < 1 || q->fps > SPECTRUM_FPS_MAX) {
		snprintf(err, errlen, "fps '%s': 1..%d", shown(v, strlen(v), shw), SPECTRUM_FPS_MAX);
		return -EINVAL;
	}
	return 0;
}

int spectrum_query_parse(const char *s, size_t len, struct spectrum_query *q, char *err,
			 size_t errlen)
{
	size_t at = 0;

	memset(q, 0, sizeof(*q));
	if (len > SPECTRUM_QUERY_MAX) {
		snprintf(err, errlen, "longer than %d bytes", SPECTRUM_QUERY_MAX);
		return -EINVAL;
	}
	while (at < len) {
		const char *pair = s + at, *amp = memchr(pair, '&', len - at), *eq;
		size_t plen = amp ? (size_t)(amp - pair) : len - at;
		char k[16] = "", v[SPECTRUM_DEVICE_MAX] = "", shw[33];
		int ret;

		at += plen + 1;
		if (plen == 0)
			continue; /* "a=1&&b=2", a trailing '&' */
		eq = memchr(pair, '=', plen);
		if (!eq) {
			snprintf(err, errlen, "'%s': key=value wanted", shown(pair, plen, shw));
			return -EINVAL;
		}
		if (decode(pair, (size_t)(eq - pair), k, sizeof(k)) < 0 ||
		    decode(eq + 1, plen - (size_t)(eq - pair) - 1, v, sizeof(v)) < 0) {
			snprintf(err, errlen, "'%s': a bad %%-escape, a NUL, or too long",
				 shown(pair, plen, shw));
			return -EINVAL;
		}
		ret = take(q, k, v, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}
