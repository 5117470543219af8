/* SPDX-License-Identifier: MIT */
/*
 * The head of an HTTP/1.1 request (RFC 9112), parsed by a pure function:
 * no I/O, no allocation, every length bounded before it is trusted.
 *
 * It is incremental the picohttpparser way: give it every byte that has
 * arrived so far (the same buffer, grown), it says that it needs more,
 * that the head ended at offset N (the body, if any, starts there), or
 * which HTTP status refuses the request. A parser remembers how far it has
 * scanned, so bytes are looked at once however the head is split.
 *
 * Refused (the status returned, negated):
 *   400  a NUL byte, a bare CR, a control character in a header value, a
 *        malformed request line or header line, whitespace before a
 *        header's colon, obs-fold (a line starting with SP or HT), a
 *        target that is not origin-form ("/path?query": absolute-form and
 *        "*" are refused), a fragment, a bad or NUL percent-escape in the
 *        path, a Content-Length that is not digits or is given twice, a
 *        missing or repeated Host in HTTP/1.1
 *   413  a Content-Length above HTTP_MAX_BODY
 *   431  a head longer than HTTP_MAX_HEAD, or more than HTTP_MAX_HEADERS
 *        header lines
 *   501  Transfer-Encoding (no chunked bodies), CONNECT, a method longer
 *        than HTTP_MAX_METHOD
 *   505  an HTTP version other than 1.0 and 1.1
 * A line may end in CRLF or in a bare LF (RFC 9112, 2.2).
 */
#ifndef IIOSTREAMD_HTTP_PARSE_H
#define IIOSTREAMD_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD 8192        /* bytes of request line and headers, blank line included */
#define HTTP_MAX_HEADERS 64       /* header lines */
#define HTTP_MAX_BODY (64 * 1024) /* bytes of a Content-Length body */
#define HTTP_MAX_METHOD 15        /* characters of a method */

/* http_parse_head() when the head is not complete yet. */
#define HTTP_PARSE_MORE 0

/* One header line as sent: name and value (without surrounding
 * whitespace), each NUL-terminated. */
struct http_header {
	const char *name, *value;
};

/* A parsed head. Every string points into `store`, so it lives as long as
 * the struct. */
struct http_head {
	const char *method;        /* "GET", as sent (case-sensitive, RFC 9110 9.1) */
	const char *path;          /* the target's path, percent-decoded: "/api/v1/status" */
	const char *query;         /* after '?', raw; "" if none */
	struct http_header headers[HTTP_MAX_HEADERS];
	unsigned nheaders;
	unsigned version_minor;    /* HTTP/1.x: 0 or 1 */
	bool has_body_length;      /* Content-Length was given */
	uint32_t content_length;   /* its value (<= HTTP_MAX_BODY), else 0 */
	/* Connection: keep-alive after this request (HTTP/1.1 unless "close",
	 * HTTP/1.0 only with "keep-alive") */
	bool keep_alive;
	bool connection_upgrade;   /* Connection lists "upgrade" */
	const char *upgrade;       /* the Upgrade header's value, NULL if none */
	char store[HTTP_MAX_HEAD]; /* private: the head, split into strings */
};

/* How far a parser has looked; zero it (or http_parser_init) for each new
 * request. */
struct http_parser {
	size_t scanned;            /* bytes known to hold no end of head */
	size_t start;              /* where the request line starts (after
				      empty lines, which are skipped) */
	bool in_head;              /* the request line has started */
	bool after_lf;             /* the last line byte scanned was its LF */
	bool after_cr;             /* the last byte scanned was a CR (an LF must follow) */
};

static inline void http_parser_init(struct http_parser *p)
{
	*p = (struct http_parser){ 0 };
}

/*
 * Parse the head of the request that starts buf[0] (`len` bytes have
 * arrived; pass the same bytes again, and more, after HTTP_PARSE_MORE).
 * Returns:
 *   > 0              the head's length: *h is filled, the body (if
 *                    h->content_length) starts at buf + that length
 *   HTTP_PARSE_MORE  not complete yet; h untouched
 *   < 0              the negated HTTP status refusing the request (-400,
 *                    -413, -431, -501, -505); h may be partly written
 */
long http_parse_head(struct http_parser *p, const char *buf, size_t len, struct http_head *h);

/* The value of header `name` (case-insensitive), NULL if absent: the first
 * one when it is repeated. */
const char *http_head_header(const struct http_head *h, const char *name);

/* Does the comma-separated value list `value` hold `token`
 * (case-insensitive, surrounding whitespace ignored)? */
bool http_list_has(const char *value, const char *token);

/* The reason phrase of a status ("Not Found"), "" for an unknown one. */
const char *http_reason(int status);

#endif /* IIOSTREAMD_HTTP_PARSE_H */
