// SPDX-License-Identifier: MIT
/* The attribute write's JSON body: see attr_body.h. */
#include "attr_body.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* Where parsing is, and where a refusal's reason goes. */
struct cursor {
	const unsigned char *p, *end;
	char *why;
	size_t whylen;
};

static int refuse(struct cursor *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct cursor *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* The next byte is ch: take it. */
static bool take(struct cursor *c, unsigned char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* Four hex digits of a \u escape. -1 if they are not. */
static long hex4(struct cursor *c)
{
	long v = 0;
	int i;

	if (c->end - c->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		unsigned char h = c->p[i];

		v <<= 4;
		if (h >= '0' && h <= '9')
			v |= h - '0';
		else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
			v |= (h | 0x20) - 'a' + 10;
		else
			return -1;
	}
	c->p += 4;
	return v;
}

/* A \u escape (the "\u" taken) as a code point, a surrogate pair joined:
 * 1..0x10ffff, or 0 for a malformed one, a lone surrogate or U+0000. */
static uint32_t unicode_escape(struct cursor *c)
{
	long hi = hex4(c), lo;

	if (hi <= 0 || (hi >= 0xdc00 && hi <= 0xdfff))
		return 0;
	if (hi < 0xd800 || hi > 0xdbff)
		return (uint32_t)hi;
	if (!take(c, '\\') || !take(c, 'u'))
		return 0;
	lo = hex4(c);
	if (lo < 0xdc00 || lo > 0xdfff)
		return 0;
	return 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
}

/* Code point u as UTF-8 into out[*n..cap); false if it does not fit. */
static bool put_utf8(char *out, size_t cap, size_t *n, uint32_t u)
{
	unsigned char b[4];
	size_t k;

	if (u < 0x80)
		b[0] = (unsigned char)u, k = 1;
	else if (u < 0x800)
		b[0] = 0xc0 | (u >> 6), b[1] = 0x80 | (u & 0x3f), k = 2;
	else if (u < 0x10000)
		b[0] = 0xe0 | (u >> 12), b[1] = 0x80 | ((u >> 6) & 0x3f), b[2] = 0x80 | (u & 0x3f),
		k = 3;
	else
		b[0] = 0xf0 | (u >> 18), b[1] = 0x80 | ((u >> 12) & 0x3f),
		b[2] = 0x80 | ((u >> 6) & 0x3f), b[3] = 0x80 | (u & 0x3f), k = 4;
	if (*n + k >= cap) /* and the NUL */
		return false;
	memcpy(out + *n, b, k);
	*n += k;
	return true;
}

/* The escape after a backslash (taken) as a code point, 0 if malformed. */
static uint32_t escape(struct cursor *c)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;

	if (c->p >= c->end)
		return 0;
	if (*c->p == 'u') {
		c->p++;
		return unicode_escape(c);
	}
	e = memchr(from, *c->p, sizeof(from) - 1);
	if (!e)
		return 0;
	c->p++;
	return (unsigned char)to[e - from];
}

/* A JSON string (at its opening quote) into out[cap], NUL-terminated.
 * controls: escaped control characters (\n, \u001f) may be in it, as a
 * value may hold them; a name may not (it would go into log lines). */
static int string(struct cursor *c, char *out, size_t cap, const char *what, bool controls)
{
	size_t n = 0;

	if (!take(c, '"'))
		return refuse(c, "%s must be a string", what);
	for (;;) {
		size_t k;

		if (c->p >= c->end)
			return refuse(c, "%s: unterminated string", what);
		if (*c->p == '"')
			break;
		if (*c->p == '\\') {
			uint32_t u;

			c->p++;
			u = escape(c);
			if (!u)
				return refuse(c, "%s: a bad escape (or \\u0000)", what);
			if ((u < 0x20 || u == 0x7f) && !controls)
				return refuse(c, "%s: a control character in a name", what);
			if (!put_utf8(out, cap, &n, u))
				return refuse(c, "%s is longer than %zu bytes", what, cap - 1);
			continue;
		}
		if (*c->p < 0x20)
			return refuse(c, "%s: a control character in a string", what);
		k = utf8_seq_len(c->p, (size_t)(c->end - c->p));
		if (!k)
			return refuse(c, "%s: not UTF-8", what);
		if (n + k >= cap)
			return refuse(c, "%s is longer than %zu bytes", what, cap - 1);
		memcpy(out + n, c->p, k);
		n += k;
		c->p += k;
	}
	c->p++;
	out[n] = '\0';
	return 0;
}

static int boolean(struct cursor *c, bool *out, const char *what)
{
	if ((size_t)(c->end - c->p) >= 4 && memcmp(c->p, "true", 4) == 0) {
		c->p += 4;
		*out = true;
		return 0;
	}
	if ((size_t)(c->end - c->p) >= 5 && memcmp(c->p, "false", 5) == 0) {
		c->p += 5;
		*out = false;
		return 0;
	}
	return refuse(c, "%s must be true or false", what);
}

/* One "key": value member into *out; seen[] marks the keys given. */
static int member(struct cursor *c, struct attr_body *out, bool seen[6])
{
	static const char *const keys[6] = { "device", "channel", "attribute",
					     "value",  "output",  "buffer" };
	char key[64], shown[64];
	unsigned i;
	size_t k;

	if (string(c, key, sizeof(key), "a key", false) != 0)
		return -EINVAL;
	for (i = 0; i < 6 && strcmp(key, keys[i]) != 0; i++)
		;
	if (i == 6) {
		for (k = 0; key[k]; k++) /* printable ASCII only, as the reason goes back as text */
			shown[k] = key[k] >= 0x20 && key[k] < 0x7f ? key[k] : '?';
		shown[k] = '\0';
		return refuse(c, "unknown key \"%s\"", shown);
	}
	if (seen[i])
		return refuse(c, "\"%s\" given twice", keys[i]);
	seen[i] = true;
	skip_ws(c);
	if (!take(c, ':'))
		return refuse(c, "':' expected after \"%s\"", keys[i]);
	skip_ws(c);
	switch (i) {
	case 0: return string(c, out->device, sizeof(out->device), "\"device\"", false);
	case 1: return string(c, out->channel, sizeof(out->channel), "\"channel\"", false);
	case 2: return string(c, out->attribute, sizeof(out->attribute), "\"attribute\"", false);
	case 3: return string(c, out->value, sizeof(out->value), "\"value\"", true);
	case 4: return boolean(c, &out->output, "\"output\"");
	default: return boolean(c, &out->buffer, "\"buffer\"");
	}
}

int attr_body_parse(const unsigned char *body, size_t len, struct attr_body *out, char *why,
		    size_t whylen)
{
	struct cursor c = { body, body + len, why, whylen };
	bool seen[6] = { false };
	int err;

	memset(out, 0, sizeof(*out));
	if (whylen)
		why[0] = '\0';
	if (len > ATTR_BODY_MAX)
		return refuse(&c, "the body is longer than %d bytes", ATTR_BODY_MAX);
	skip_ws(&c);
	if (!take(&c, '{'))
		return refuse(&c, "the body must be a JSON object");
	skip_ws(&c);
	if (!take(&c, '}')) {
		for (;;) {
			if ((err = member(&c, out, seen)) != 0)
				return err;
			skip_ws(&c);
			if (take(&c, '}'))
				break;
			if (!take(&c, ','))
				return refuse(&c, "',' or '}' expected");
			skip_ws(&c);
		}
	}
	skip_ws(&c);
	if (c.p != c.end)
		return refuse(&c, "something after the object");
	if (!seen[0] || !out->device[0])
		return refuse(&c, "\"device\" is missing or empty");
	if (!seen[2] || !out->attribute[0])
		return refuse(&c, "\"attribute\" is missing or empty");
	if (!seen[3])
		return refuse(&c, "\"value\" is missing");
	return 0;
}
