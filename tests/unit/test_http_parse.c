// SPDX-License-Identifier: MIT
/* The HTTP request-head parser: well-formed heads, every refusal of
 * http_parse.h, the limits, and every head split at every byte. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

static struct http_head head;

/* The whole of `text` in one call, a fresh parser. */
static long parse(const char *text)
{
	struct http_parser p;

	http_parser_init(&p);
	return http_parse_head(&p, text, strlen(text), &head);
}

/* `text` fed one more byte at a time, as a slow peer sends it: every call
 * before the last says "more", the last says what parse() says. */
static long parse_bytewise(const char *text, size_t n)
{
	struct http_parser p;
	size_t i;
	long r = HTTP_PARSE_MORE;

	http_parser_init(&p);
	for (i = 1; i <= n && r == HTTP_PARSE_MORE; i++)
		r = http_parse_head(&p, text, i, &head);
	return r;
}

/* Split at every offset: the first part, then the whole. */
static void assert_same_at_every_split(const char *text, long want)
{
	size_t n = strlen(text), cut;

	for (cut = 0; cut <= n; cut++) {
		struct http_parser p;
		long r;

		http_parser_init(&p);
		r = http_parse_head(&p, text, cut, &head);
		if (r == HTTP_PARSE_MORE)
			r = http_parse_head(&p, text, n, &head);
		cr_assert_eq(r, want, "split at %zu of %zu: %ld, want %ld", cut, n, r, want);
	}
	cr_assert_eq(parse_bytewise(text, n), want);
}

Test(http_parse, a_get_with_headers_and_query)
{
	const char *req = "GET /api/v1/status?x=1&y=%20 HTTP/1.1\r\n"
			  "Host: board:8080\r\n"
			  "User-Agent:   curl/7.88  \r\n"
			  "Accept: */*\r\n"
			  "\r\n"
			  "trailing bytes of the next request";
	long r = parse(req);

	cr_assert_eq(r, (long)(strstr(req, "trailing") - req));
	cr_assert_str_eq(head.method, "GET");
	cr_assert_str_eq(head.path, "/api/v1/status");
	cr_assert_str_eq(head.query, "x=1&y=%20");
	cr_assert_eq(head.version_minor, 1);
	cr_assert_eq(head.nheaders, 3);
	cr_assert_str_eq(head.headers[1].name, "User-Agent");
	cr_assert_str_eq(head.headers[1].value, "curl/7.88");
	cr_assert_str_eq(http_head_header(&head, "user-agent"), "curl/7.88");
	cr_assert_null(http_head_header(&head, "cookie"));
	cr_assert(head.keep_alive);
	cr_assert(!head.has_body_length);
	cr_assert_null(head.upgrade);
}

Test(http_parse, bare_lf_lines_and_leading_empty_lines_are_taken)
{
	const char *req = "\r\n\nHEAD / HTTP/1.1\nHost: x\n\n";

	cr_assert_eq(parse(req), (long)strlen(req));
	cr_assert_str_eq(head.method, "HEAD");
	cr_assert_str_eq(head.path, "/");
	assert_same_at_every_split(req, (long)strlen(req));
}

Test(http_parse, the_path_is_percent_decoded_the_query_is_not)
{
	cr_assert_gt(parse("GET /a%20b%2Fc%c3%a9?q=%41 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert_str_eq(head.path, "/a b/c\xc3\xa9");
	cr_assert_str_eq(head.query, "q=%41");
	cr_assert_eq(parse("GET /a%2 HTTP/1.1\r\nHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n"), -400);
}

Test(http_parse, connection_keep_alive_close_and_upgrade)
{
	cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 0);
	cr_assert(!head.keep_alive);
	cr_assert_gt(parse("GET / HTTP/1.0\r\n\r\n"), 0);
	cr_assert(!head.keep_alive, "HTTP/1.0 closes by default");
	cr_assert_gt(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 0);
	cr_assert(head.keep_alive);
	cr_assert_gt(parse("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\n"
			   "Upgrade: websocket\r\n\r\n"), 0);
	cr_assert(head.keep_alive);
	cr_assert(head.connection_upgrade);
	cr_assert_str_eq(head.upgrade, "websocket");
	cr_assert(http_list_has(" a , Upgrade ,b", "upgrade"));
	cr_assert(!http_list_has("upgrades", "upgrade"));
}

Test(http_parse, content_length_gives_the_body)
{
	const char *req = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0005\r\n\r\nhello";

	cr_assert_eq(parse(req), (long)(strlen(req) - 5));
	cr_assert(head.has_body_length);
	cr_assert_eq(head.content_length, 5);
	cr_assert_gt(parse("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n"), 0);
	cr_assert_eq(head.content_length, HTTP_MAX_BODY);
}

/* ---- refusals ---- */

Test(http_parse, nul_and_bare_cr_are_refused_as_soon_as_they_arrive)
{
	static const char nul[] = "GET /\0 HTTP/1.1\r\n";
	struct http_parser p;

	http_parser_init(&p);
	cr_assert_eq(http_parse_head(&p, nul, 5, &head), HTTP_PARSE_MORE);
	cr_assert_eq(http_parse_head(&p, nul, 6, &head), -400, "at the NUL, not at the end");
	cr_assert_eq(parse("GET / HTTP/1.1\rHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\r\n\r\n"), -400);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\r\n"), -400);
}

Test(http_parse, malformed_request_lines)
{
	cr_assert_eq(parse("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("GET /\r\nHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("G(T / HTTP/1.1\r\nHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("GET / HTTP/1.1x\r\nHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("GET / http/1.1\r\nHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), -505);
	cr_assert_eq(parse("GET / HTTP/1.2\r\nHost: x\r\n\r\n"), -505);
}

Test(http_parse, absolute_form_asterisk_and_connect_are_refused)
{
	cr_assert_eq(parse("GET http://evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), -400);
	cr_assert_eq(parse("CONNECT evil.example:443 HTTP/1.1\r\nHost: x\r\n\r\n"), -501);
	cr_assert_eq(parse("ABCDEFGHIJKLMNOP / HTTP/1.1\r\nHost: x\r\n\r\n"), -501);
	cr_assert_gt(parse("ABCDEFGHIJKLMNO / HTTP/1.1\r\nHost: x\r\n\r\n"), 0, "15 is the limit");
}

Test(http_parse, malformed_header_lines)
{
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"), -400, "obs-fold");
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n"), -400, "obs-fold");
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), -400, "space before colon");
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n"), -400);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n"), -400);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\nA: b\x01\r\n\r\n"), -400);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\nA: b\x7f\r\n\r\n"), -400);
	cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: x\r\nA: caf\xc3\xa9\t!\r\n\r\n"), 0,
		     "obs-text and HT in a value");
}

Test(http_parse, host_is_needed_once_in_http_1_1)
{
	cr_assert_eq(parse("GET / HTTP/1.1\r\n\r\n"), -400);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), -400);
	cr_assert_gt(parse("GET / HTTP/1.0\r\n\r\n"), 0);
}

Test(http_parse, content_length_must_be_digits_once_and_within_the_limit)
{
	cr_assert_eq(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
			   "Content-Length: 5\r\n\r\n"), -400, "duplicate, even equal");
	cr_assert_eq(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n"), -400);
	cr_assert_eq(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), -400);
	cr_assert_eq(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n"), -400);
	cr_assert_eq(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n"), -400);
	cr_assert_eq(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n"), -413);
	cr_assert_eq(parse("POST / HTTP/1.1\r\nHost: x\r\n"
			   "Content-Length: 99999999999999999999999999\r\n\r\n"), -413,
		     "no overflow");
}

Test(http_parse, transfer_encoding_is_not_implemented)
{
	cr_assert_eq(parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
		     -501);
	cr_assert_eq(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
			   "Transfer-Encoding: chunked\r\n\r\n"), -501, "no smuggling either way");
}

/* ---- limits ---- */

Test(http_parse, a_head_over_8k_is_431_before_it_ends)
{
	size_t n = HTTP_MAX_HEAD + 100;
	char *big = malloc(n + 1);
	struct http_parser p;

	memcpy(big, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", 32);
	memset(big + 32, 'a', n - 32);
	big[n] = '\0';
	http_parser_init(&p);
	cr_assert_eq(http_parse_head(&p, big, HTTP_MAX_HEAD - 1, &head), HTTP_PARSE_MORE);
	cr_assert_eq(http_parse_head(&p, big, HTTP_MAX_HEAD, &head), -431,
		     "refused at the limit, without waiting for the end");
	/* one that ends just past the limit */
	memcpy(big + HTTP_MAX_HEAD - 3, "\r\n\r\n", 4);
	cr_assert_eq(parse_bytewise(big, HTTP_MAX_HEAD + 1), -431);
	/* and one that ends exactly at it */
	memcpy(big + HTTP_MAX_HEAD - 4, "\r\n\r\n", 4);
	cr_assert_eq(parse_bytewise(big, HTTP_MAX_HEAD), HTTP_MAX_HEAD);
	free(big);
}

Test(http_parse, more_than_64_headers_is_431)
{
	char req[4096];
	size_t at = (size_t)sprintf(req, "GET / HTTP/1.1\r\nHost: x\r\n");
	int i;

	for (i = 1; i < HTTP_MAX_HEADERS; i++)
		at += (size_t)sprintf(req + at, "X-%d: %d\r\n", i, i);
	strcpy(req + at, "\r\n");
	cr_assert_gt(parse(req), 0, "64 headers");
	cr_assert_eq(head.nheaders, HTTP_MAX_HEADERS);
	strcpy(req + at, "X-65: 65\r\n\r\n");
	cr_assert_eq(parse(req), -431);
}

/* ---- split at every byte ---- */

Test(http_parse, every_head_parses_the_same_split_at_every_byte)
{
	static const char *const heads[] = {
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"\r\nPOST /a%20b?c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n",
		"GET /ws HTTP/1.1\nHost: x\nUpgrade: websocket\nConnection: Upgrade\n\n",
		"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\rX\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/3.0\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		assert_same_at_every_split(heads[i], parse(heads[i]));
}

Test(http_parse, reasons)
{
	cr_assert_str_eq(http_reason(404), "Not Found");
	cr_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
	cr_assert_str_eq(http_reason(299), "");
}
