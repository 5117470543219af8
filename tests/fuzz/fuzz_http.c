// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the HTTP front-end's two decoders of network bytes.
 * The first byte chooses: even, the rest is a request head fed to
 * http_parse_head() whole and then in two parts (the results must agree,
 * and a parsed head must keep the promises of http_parse.h); odd, the
 * rest is a client's WebSocket stream decoded frame by frame
 * (ws_decode()), which must consume within what it was given and hand
 * out messages within their bounds.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"
#include "websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_head head;
static struct ws_decoder dec;

static void check_head(long r, const char *buf)
{
	unsigned i;

	if (r <= 0)
		return;
	if (r > HTTP_MAX_HEAD || !head.method || head.path[0] != '/' ||
	    strlen(head.method) > HTTP_MAX_METHOD || head.nheaders > HTTP_MAX_HEADERS ||
	    head.content_length > HTTP_MAX_BODY || head.version_minor > 1 ||
	    buf[r - 1] != '\n')
		__builtin_trap();
	for (i = 0; i < head.nheaders; i++)
		if (!head.headers[i].name[0] || strchr(head.headers[i].value, '\r'))
			__builtin_trap();
}

static void fuzz_http(const char *buf, size_t size)
{
	struct http_parser p;
	long whole, split;
	size_t cut = size ? (unsigned char)buf[0] % size : 0;

	http_parser_init(&p);
	whole = http_parse_head(&p, buf, size, &head);
	check_head(whole, buf);
	http_parser_init(&p);
	split = http_parse_head(&p, buf, cut, &head);
	if (split == HTTP_PARSE_MORE)
		split = http_parse_head(&p, buf, size, &head);
	check_head(split, buf);
	if (split != whole)
		__builtin_trap();
}

static void fuzz_ws(const uint8_t *buf, size_t size)
{
	memset(&dec, 0, sizeof(dec));
	while (size) {
		struct ws_event ev;
		long r = ws_decode(&dec, buf, size, &ev);

		if (r <= 0)
			break;
		if ((size_t)r > size)
			__builtin_trap();
		if ((ev.type == WS_EV_TEXT || ev.type == WS_EV_BINARY) && ev.len > WS_MAX_MESSAGE)
			__builtin_trap();
		if (ev.type == WS_EV_TEXT && !ws_utf8_valid(ev.data, ev.len))
			__builtin_trap();
		buf += r;
		size -= (size_t)r;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	if (size < 1)
		return 0;
	/* a copy of exactly the bytes, so ASan sees any read beyond them */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		fuzz_ws((const uint8_t *)copy, size - 1);
	else
		fuzz_http(copy, size - 1);
	free(copy);
	return 0;
}
