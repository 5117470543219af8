// SPDX-License-Identifier: MIT
/* RFC 6455 framing: the RFC's own examples, masking, fragmentation, the
 * limits, every refusal of websocket.h, and frames split at every byte. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "websocket.h"

static struct ws_decoder *dec;
static struct ws_event ev;

static void setup(void)
{
	dec = calloc(1, sizeof(*dec));
}

static void teardown(void)
{
	free(dec);
}

TestSuite(websocket, .init = setup, .fini = teardown);

/* A client's frame: masked with `mask`, into out; its length. */
static size_t client_frame(uint8_t *out, uint8_t b0, const void *payload, size_t n,
			   const uint8_t mask[4])
{
	size_t hl = ws_encode_head(out, WS_OP_TEXT, n), i;

	out[0] = b0;
	out[1] |= 0x80;
	memcpy(out + hl, mask, 4);
	for (i = 0; i < n; i++)
		out[hl + 4 + i] = ((const uint8_t *)payload)[i] ^ mask[i & 3];
	return hl + 4 + n;
}

static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

Test(websocket, rfc6455_accept_key_example)
{
	char accept[WS_ACCEPT_LEN + 1];

	cr_assert_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept), 0);
	cr_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	cr_assert_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", accept), -EINVAL);
	cr_assert_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==x", accept), -EINVAL);
	cr_assert_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZR==", accept), -EINVAL, "17th byte bits");
	cr_assert_eq(ws_accept_key("dGhlIHNhbXBsZSBub25j!Q==", accept), -EINVAL);
	cr_assert_eq(ws_accept_key("", accept), -EINVAL);
}

Test(websocket, rfc6455_masked_hello)
{
	static const uint8_t f[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f,
				     0x4d, 0x51, 0x58 };

	cr_assert_eq(ws_decode(dec, f, sizeof(f), &ev), (long)sizeof(f));
	cr_assert_eq(ev.type, WS_EV_TEXT);
	cr_assert_eq(ev.len, 5);
	cr_assert_arr_eq(ev.data, "Hello", 5);
}

Test(websocket, a_frame_split_at_every_byte_needs_more_until_whole)
{
	static const uint8_t f[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f,
				     0x4d, 0x51, 0x58 };
	size_t i;

	for (i = 0; i < sizeof(f); i++)
		cr_assert_eq(ws_decode(dec, f, i, &ev), 0, "at %zu", i);
	cr_assert_eq(ws_decode(dec, f, sizeof(f), &ev), (long)sizeof(f));
}

Test(websocket, rfc6455_fragmented_text_and_a_ping_between)
{
	uint8_t buf[64];
	size_t n;

	n = client_frame(buf, 0x01, "Hel", 3, mask); /* text, not FIN */
	cr_assert_eq(ws_decode(dec, buf, n, &ev), (long)n);
	cr_assert_eq(ev.type, WS_EV_NONE);
	n = client_frame(buf, 0x89, "hi", 2, mask); /* a ping inside the message */
	cr_assert_eq(ws_decode(dec, buf, n, &ev), (long)n);
	cr_assert_eq(ev.type, WS_EV_PING);
	cr_assert_arr_eq(ev.data, "hi", 2);
	n = client_frame(buf, 0x80, "lo", 2, mask); /* continuation, FIN */
	cr_assert_eq(ws_decode(dec, buf, n, &ev), (long)n);
	cr_assert_eq(ev.type, WS_EV_TEXT);
	cr_assert_eq(ev.len, 5);
	cr_assert_arr_eq(ev.data, "Hello", 5);
}

Test(websocket, server_frames_use_the_shortest_length)
{
	uint8_t h[WS_MAX_HEAD];

	cr_assert_eq(ws_encode_head(h, WS_OP_PING, 5), 2);
	cr_assert_eq(h[0], 0x89);
	cr_assert_eq(h[1], 0x05);
	cr_assert_eq(ws_encode_head(h, WS_OP_BINARY, 256), 4);
	cr_assert_eq(h[0], 0x82);
	cr_assert_eq(h[1], 0x7e);
	cr_assert_eq(h[2], 0x01);
	cr_assert_eq(h[3], 0x00);
	cr_assert_eq(ws_encode_head(h, WS_OP_BINARY, 65536), 10);
	cr_assert_eq(h[1], 0x7f);
	cr_assert_eq(h[7], 0x01);
	cr_assert_eq(h[8], 0x00);
	cr_assert_eq(h[9], 0x00);
}

Test(websocket, binary_messages_of_16_and_64_bit_lengths)
{
	size_t sizes[] = { 125, 126, 65535, WS_MAX_MESSAGE };
	uint8_t *payload = malloc(WS_MAX_MESSAGE), *buf = malloc(WS_MAX_MESSAGE + WS_MAX_HEAD);
	size_t i, k;

	for (k = 0; k < WS_MAX_MESSAGE; k++)
		payload[k] = (uint8_t)(k * 7);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = client_frame(buf, 0x82, payload, sizes[i], mask);

		cr_assert_eq(ws_decode(dec, buf, n - 1, &ev), 0);
		cr_assert_eq(ws_decode(dec, buf, n, &ev), (long)n, "%zu bytes", sizes[i]);
		cr_assert_eq(ev.type, WS_EV_BINARY);
		cr_assert_eq(ev.len, sizes[i]);
		cr_assert_arr_eq(ev.data, payload, sizes[i]);
	}
	free(payload);
	free(buf);
}

Test(websocket, close_frames_give_code_and_reason)
{
	uint8_t buf[200], payload[130];
	size_t n;

	n = client_frame(buf, 0x88, "\x03\xe8" "bye", 5, mask);
	cr_assert_eq(ws_decode(dec, buf, n, &ev), (long)n);
	cr_assert_eq(ev.type, WS_EV_CLOSE);
	cr_assert_eq(ev.close_code, 1000);
	cr_assert_eq(ev.len, 3);
	cr_assert_arr_eq(ev.data, "bye", 3);
	n = client_frame(buf, 0x88, "", 0, mask);
	cr_assert_eq(ws_decode(dec, buf, n, &ev), (long)n);
	cr_assert_eq(ev.close_code, WS_CLOSE_NO_STATUS);
	n = client_frame(buf, 0x88, "\x03", 1, mask);
	cr_assert_eq(ws_decode(dec, buf, n, &ev), -WS_CLOSE_PROTOCOL, "1 byte");
	n = client_frame(buf, 0x88, "\x03\xed", 2, mask); /* 1005 may not be sent */
	cr_assert_eq(ws_decode(dec, buf, n, &ev), -WS_CLOSE_PROTOCOL);
	n = client_frame(buf, 0x88, "\x03\xe7", 2, mask); /* 999 */
	cr_assert_eq(ws_decode(dec, buf, n, &ev), -WS_CLOSE_PROTOCOL);
	n = client_frame(buf, 0x88, "\x0f\xa0", 2, mask); /* 4000: private use */
	cr_assert_eq(ws_decode(dec, buf, n, &ev), (long)n);
	n = client_frame(buf, 0x88, "\x03\xe8\xff", 3, mask);
	cr_assert_eq(ws_decode(dec, buf, n, &ev), -WS_CLOSE_BAD_DATA, "reason not UTF-8");
	/* ours: the reason cut to fit, on a character boundary */
	memset(payload, 0, sizeof(payload));
	memset(payload, 'a', 122);
	memcpy(payload + 122, "\xc3\xa9", 2);
	n = ws_encode_close(buf, 1001, (const char *)payload);
	cr_assert_eq(n, 4 + 122, "the split é is left out");
	cr_assert_eq(buf[0], 0x88);
	cr_assert_eq(buf[1], 124);
	cr_assert_eq(buf[2] << 8 | buf[3], 1001);
	cr_assert_eq(ws_encode_close(buf, 1000, NULL), 4);
}

Test(websocket, refusals_are_protocol_errors)
{
	static const uint8_t unmasked[] = { 0x81, 0x02, 'h', 'i' };
	static const uint8_t short16[] = { 0x82, 0xfe, 0x00, 0x7d, 0, 0, 0, 0 };
	static const uint8_t short64[] = { 0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t top64[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 1, 0, 0 };
	uint8_t buf[300], big[200];
	size_t n;

	cr_assert_eq(ws_decode(dec, unmasked, sizeof(unmasked), &ev), -WS_CLOSE_PROTOCOL);
	cr_assert_eq(ws_decode(dec, short16, sizeof(short16), &ev), -WS_CLOSE_PROTOCOL);
	cr_assert_eq(ws_decode(dec, short64, sizeof(short64), &ev), -WS_CLOSE_PROTOCOL);
	cr_assert_eq(ws_decode(dec, top64, sizeof(top64), &ev), -WS_CLOSE_PROTOCOL);
	n = client_frame(buf, 0xc1, "x", 1, mask); /* RSV1 */
	cr_assert_eq(ws_decode(dec, buf, n, &ev), -WS_CLOSE_PROTOCOL);
	n = client_frame(buf, 0x83, "x", 1, mask); /* opcode 3 */
	cr_assert_eq(ws_decode(dec, buf, n, &ev), -WS_CLOSE_PROTOCOL);
	n = client_frame(buf, 0x8b, "x", 1, mask); /* opcode 0xb */
	cr_assert_eq(ws_decode(dec, buf, n, &ev), -WS_CLOSE_PROTOCOL);
	n = client_frame(buf, 0x09, "x", 1, mask); /* a fragmented ping */
	cr_assert_eq(ws_decode(dec, buf, n, &ev), -WS_CLOSE_PROTOCOL);
	memset(big, 'p', sizeof(big));
	n = client_frame(buf, 0x89, big, 126, mask); /* a ping of 126 */
	cr_assert_eq(ws_decode(dec, buf, 4, &ev), -WS_CLOSE_PROTOCOL, "at its head");
	n = client_frame(buf, 0x80, "x", 1, mask); /* continuation of nothing */
	cr_assert_eq(ws_decode(dec, buf, n, &ev), -WS_CLOSE_PROTOCOL);
	n = client_frame(buf, 0x01, "x", 1, mask);
	cr_assert_eq(ws_decode(dec, buf, n, &ev), (long)n);
	n = client_frame(buf, 0x81, "y", 1, mask); /* a new message inside one */
	cr_assert_eq(ws_decode(dec, buf, n, &ev), -WS_CLOSE_PROTOCOL);
}

Test(websocket, text_must_be_utf8_across_fragments)
{
	uint8_t buf[64];
	size_t n;

	/* é split between two fragments is fine */
	n = client_frame(buf, 0x01, "caf\xc3", 4, mask);
	cr_assert_eq(ws_decode(dec, buf, n, &ev), (long)n);
	n = client_frame(buf, 0x80, "\xa9", 1, mask);
	cr_assert_eq(ws_decode(dec, buf, n, &ev), (long)n);
	cr_assert_eq(ev.type, WS_EV_TEXT);
	n = client_frame(buf, 0x81, "\xc3(", 2, mask);
	cr_assert_eq(ws_decode(dec, buf, n, &ev), -WS_CLOSE_BAD_DATA);
	cr_assert(!ws_utf8_valid((const uint8_t *)"\xc0\x80", 2), "overlong NUL");
	cr_assert(!ws_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3), "surrogate");
	cr_assert(!ws_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4), "above U+10FFFF");
	cr_assert(!ws_utf8_valid((const uint8_t *)"\xe0\x9f\xbf", 3), "overlong 3-byte");
	cr_assert(!ws_utf8_valid((const uint8_t *)"\xf0\x8f\xbf\xbf", 4), "overlong 4-byte");
	cr_assert(ws_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4), "an emoji");
	cr_assert(ws_utf8_valid((const uint8_t *)"\xef\xbf\xbf", 3));
}

Test(websocket, a_message_over_64k_is_1009_at_the_frame_head)
{
	uint8_t head[WS_MAX_HEAD], *buf = malloc(WS_MAX_MESSAGE + WS_MAX_HEAD);
	uint8_t *payload = calloc(1, WS_MAX_MESSAGE);
	size_t n;

	/* one frame of 64 KiB + 1: refused with only its head arrived */
	n = ws_encode_head(head, WS_OP_BINARY, WS_MAX_MESSAGE + 1);
	head[1] |= 0x80;
	cr_assert_eq(ws_decode(dec, head, n, &ev), -WS_CLOSE_TOO_BIG);
	/* fragments that add up to more */
	n = client_frame(buf, 0x02, payload, WS_MAX_MESSAGE - 10, mask);
	cr_assert_eq(ws_decode(dec, buf, n, &ev), (long)n);
	n = client_frame(buf, 0x80, payload, 11, mask);
	cr_assert_eq(ws_decode(dec, buf, 4, &ev), -WS_CLOSE_TOO_BIG);
	free(buf);
	free(payload);
}
