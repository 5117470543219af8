// SPDX-License-Identifier: MIT
/* The head of an HTTP/1.1 request: see http_parse.h. */
#include "http_parse.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* ---- finding the end of the head ---- */

/*
 * Scan from where the last call stopped for the empty line that ends the
 * head; NUL and bare CR are refused as they are met, so a hostile peer is
 * answered at once. Empty lines before the request line are skipped
 * (RFC 9112, 2.2): p->start moves past them. Returns the head's end (after
 * its empty line), 0 for "not yet", or a negated status.
 */
static long find_end(struct http_parser *p, const char *buf, size_t len)
{
	size_t i;

	for (i = p->scanned; i < len; i++) {
		char c = buf[i];

		if (c == '\0')
			return -400;
		if (p->after_cr && c != '\n')
			return -400; /* a bare CR */
		if (c == '\r') {
			p->after_cr = true;
			continue;
		}
		p->after_cr = false;
		if (c != '\n') {
			p->in_head = true;
			p->after_lf = false;
		} else if (!p->in_head) {
			p->start = i + 1; /* an empty line before the request line */
		} else if (p->after_lf) {
			return (long)(i + 1); /* the empty line after the head's lines */
		} else {
			p->after_lf = true;
		}
	}
	p->scanned = len;
	return 0;
}

/* ---- characters ---- */

/* RFC 9110 5.6.2: tchar */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* field-vchar, SP and HT; obs-text (0x80..0xff) is taken, as RFC 9110 5.5 allows */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode %XX in place; false for a bad escape or one that decodes to NUL. */
static bool percent_decode(char *s)
{
	char *out = s;

	for (; *s; s++) {
		int hi, lo;

		if (*s != '%') {
			*out++ = *s;
			continue;
		}
		hi = hex_digit(s[1]);
		lo = hi < 0 ? -1 : hex_digit(s[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			return false;
		*out++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*out = '\0';
	return true;
}

/* ---- the request line ---- */

static long parse_target(struct http_head *h, char *target)
{
	char *q;
	size_t i;

	if (target[0] != '/')
		return -400; /* absolute-form, authority-form or "*" */
	for (i = 0; target[i]; i++)
		if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] >= 0x7f ||
		    target[i] == '#')
			return -400;
	q = strchr(target, '?');
	h->query = "";
	if (q) {
		*q = '\0';
		h->query = q + 1;
	}
	if (!percent_decode(target))
		return -400;
	h->path = target;
	return 0;
}

static long parse_version(struct http_head *h, const char *v)
{
	if (strncmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9' || v[8])
		return -400;
	if (v[5] != '1' || v[7] > '1')
		return -505;
	h->version_minor = (unsigned)(v[7] - '0');
	return 0;
}

/* "METHOD SP TARGET SP VERSION", NUL-terminated in store. */
static long parse_request_line(struct http_head *h, char *line)
{
	char *sp1 = strchr(line, ' '), *sp2;
	long r;

	if (!sp1)
		return -400;
	sp2 = strchr(sp1 + 1, ' ');
	if (!sp2 || strchr(sp2 + 1, ' '))
		return -400;
	*sp1 = *sp2 = '\0';
	if (!is_token(line, (size_t)(sp1 - line)))
		return -400;
	if (sp1 - line > HTTP_MAX_METHOD || strcmp(line, "CONNECT") == 0)
		return -501;
	h->method = line;
	r = parse_version(h, sp2 + 1);
	if (r)
		return r;
	/* HTTP/1.1 keeps the connection by default, 1.0 closes it; the
	 * Connection header may say otherwise */
	h->keep_alive = h->version_minor == 1;
	return parse_target(h, sp1 + 1);
}

/* ---- headers ---- */

/* Content-Length: digits only, once, within HTTP_MAX_BODY. */
static long content_length(struct http_head *h, const char *v)
{
	uint32_t n = 0;

	if (h->has_body_length || !*v)
		return -400;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return -400;
		n = n * 10 + (uint32_t)(*v - '0');
		if (n > HTTP_MAX_BODY)
			return -413;
	}
	h->has_body_length = true;
	h->content_length = n;
	return 0;
}

/* What the front-end itself needs of a header. */
static long known_header(struct http_head *h, const char *name, const char *value)
{
	if (strcasecmp(name, "content-length") == 0)
		return content_length(h, value);
	if (strcasecmp(name, "transfer-encoding") == 0)
		return -501;
	if (strcasecmp(name, "connection") == 0) {
		if (http_list_has(value, "close"))
			h->keep_alive = false;
		else if (http_list_has(value, "keep-alive"))
			h->keep_alive = true;
		h->connection_upgrade |= http_list_has(value, "upgrade");
	} else if (strcasecmp(name, "upgrade") == 0 && !h->upgrade) {
		h->upgrade = value;
	}
	return 0;
}

/* "NAME: VALUE", NUL-terminated in store. */
static long parse_header(struct http_head *h, char *line)
{
	char *colon = strchr(line, ':'), *v, *end;

	if (line[0] == ' ' || line[0] == '\t')
		return -400; /* obs-fold */
	if (!colon || !is_token(line, (size_t)(colon - line)))
		return -400; /* no name, or whitespace before the colon */
	if (h->nheaders == HTTP_MAX_HEADERS)
		return -431;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	*end = '\0';
	for (end = v; *end; end++)
		if (!is_value_char((unsigned char)*end))
			return -400;
	h->headers[h->nheaders++] = (struct http_header){ line, v };
	return known_header(h, line, v);
}

/* HTTP/1.1 needs exactly one Host (RFC 9112, 3.2). */
static long check_host(const struct http_head *h)
{
	unsigned i, n = 0;

	for (i = 0; i < h->nheaders; i++)
		n += strcasecmp(h->headers[i].name, "host") == 0;
	if (n > 1 || (n == 0 && h->version_minor == 1))
		return -400;
	return 0;
}

/* The head's lines, copied into store and split there. */
static long parse_lines(struct http_head *h, const char *head, size_t n)
{
	char *line = h->store, *end = h->store + n;
	bool first = true;
	long r = 0;

	memcpy(h->store, head, n);
	while (line < end && !r) {
		char *lf = memchr(line, '\n', (size_t)(end - line));
		char *eol = lf;

		if (eol > line && eol[-1] == '\r')
			eol--;
		*eol = '\0';
		if (eol == line) /* the empty line: the end */
			break;
		r = first ? parse_request_line(h, line) : parse_header(h, line);
		first = false;
		line = lf + 1;
	}
	return r ? r : check_host(h);
}

long http_parse_head(struct http_parser *p, const char *buf, size_t len, struct http_head *h)
{
	long end = find_end(p, buf, len), r;

	if (end < 0)
		return end;
	if (end == 0)
		return len >= HTTP_MAX_HEAD ? -431 : HTTP_PARSE_MORE;
	if ((size_t)end > HTTP_MAX_HEAD)
		return -431;
	memset(h, 0, offsetof(struct http_head, store));
	r = parse_lines(h, buf + p->start, (size_t)end - p->start);
	return r ? r : end;
}

const char *http_head_header(const struct http_head *h, const char *name)
{
	unsigned i;

	for (i = 0; i < h->nheaders; i++)
		if (strcasecmp(h->headers[i].name, name) == 0)
			return h->headers[i].value;
	return NULL;
}

bool http_list_has(const char *value, const char *token)
{
	size_t n = strlen(token);

	while (*value) {
		const char *comma = strchr(value, ',');
		const char *end = comma ? comma : value + strlen(value);

		while (value < end && (*value == ' ' || *value == '\t'))
			value++;
		while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - value) == n && strncasecmp(value, token, n) == 0)
			return true;
		if (!comma)
			break;
		value = comma + 1;
	}
	return false;
}

const char *http_reason(int status)
{
	static const struct { int status; const char *reason; } reasons[] = {
		{ 101, "Switching Protocols" }, { 200, "OK" }, { 204, "No Content" },
		{ 304, "Not Modified" }, { 400, "Bad Request" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" }, { 408, "Request Timeout" },
		{ 409, "Conflict" }, { 411, "Length Required" }, { 413, "Content Too Large" },
		{ 415, "Unsupported Media Type" }, { 422, "Unprocessable Content" },
		{ 426, "Upgrade Required" }, { 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
		{ 501, "Not Implemented" }, { 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "";
}
