// SPDX-License-Identifier: MIT
/* RFC 6455 framing, the server's side: see websocket.h. */
#include "websocket.h"

#include <errno.h>
#include <string.h>
#include <openssl/evp.h>

/* ---- the handshake ---- */

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* The base64 of 16 bytes: 22 characters (the last holding 2 bits, its
 * low 4 zero) and "==". */
static bool key_is_16_bytes(const char *key)
{
	int i;

	if (strlen(key) != 24 || strcmp(key + 22, "==") != 0)
		return false;
	for (i = 0; i < 22; i++)
		if (!is_b64(key[i]))
			return false;
	return strchr("AQgw", key[21]) != NULL;
}

int ws_accept_key(const char *client_key, char out[WS_ACCEPT_LEN + 1])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char in[24 + sizeof(guid)], sha1[20];
	unsigned int n = 0;

	if (!key_is_16_bytes(client_key))
		return -EINVAL;
	memcpy(in, client_key, 24);
	memcpy(in + 24, guid, sizeof(guid) - 1);
	if (!EVP_Digest(in, 24 + sizeof(guid) - 1, sha1, &n, EVP_sha1(), NULL) || n != 20)
		return -EIO;
	return EVP_EncodeBlock((unsigned char *)out, sha1, 20) == WS_ACCEPT_LEN ? 0 : -EIO;
}

/* ---- UTF-8 ---- */

bool ws_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false; /* a continuation byte, an overlong lead, or > U+10FFFF */
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* ---- decoding a client's frames ---- */

/* The payload length and where the mask starts; 0 for "more", or a negated
 * close code. */
static long frame_length(const uint8_t *buf, size_t len, uint64_t *plen)
{
	uint64_t n = buf[1] & 0x7f;
	int i;

	if (n < 126) {
		*plen = n;
		return 2;
	}
	if (n == 126) {
		if (len < 4)
			return 0;
		*plen = (uint64_t)buf[2] << 8 | buf[3];
		return *plen < 126 ? -WS_CLOSE_PROTOCOL : 4; /* not the shortest form */
	}
	if (len < 10)
		return 0;
	for (n = 0, i = 2; i < 10; i++)
		n = n << 8 | buf[i];
	if (n >> 63 || n < 65536)
		return -WS_CLOSE_PROTOCOL;
	*plen = n;
	return 10;
}

/* Is the frame allowed here (opcode, fragmentation, sizes)? 0 or a
 * negated close code. */
static long frame_allowed(const struct ws_decoder *d, uint8_t b0, uint64_t plen)
{
	uint8_t op = b0 & 0x0f;
	bool fin = b0 & 0x80;

	if (b0 & 0x70)
		return -WS_CLOSE_PROTOCOL; /* RSV1..3: no extension was negotiated */
	if (op & 0x8) {
		if (op > WS_OP_PONG || !fin || plen > WS_MAX_CONTROL)
			return -WS_CLOSE_PROTOCOL;
		return 0;
	}
	if (op > WS_OP_BINARY || (op == WS_OP_CONT) != (d->msg_opcode != 0))
		return -WS_CLOSE_PROTOCOL;
	if ((op == WS_OP_CONT ? d->msg_len : 0) + plen > WS_MAX_MESSAGE)
		return -WS_CLOSE_TOO_BIG;
	return 0;
}

static void unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[4])
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[i] ^ mask[i & 3];
}

/* RFC 6455, 7.4: the codes a peer may send. */
static bool close_code_valid(uint16_t code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

static long control_event(struct ws_decoder *d, uint8_t op, size_t plen, struct ws_event *ev)
{
	ev->data = d->ctrl;
	ev->len = plen;
	if (op == WS_OP_PING) {
		ev->type = WS_EV_PING;
		return 0;
	}
	if (op == WS_OP_PONG) {
		ev->type = WS_EV_PONG;
		return 0;
	}
	ev->type = WS_EV_CLOSE;
	ev->close_code = WS_CLOSE_NO_STATUS;
	if (plen == 0)
		return 0;
	if (plen == 1)
		return -WS_CLOSE_PROTOCOL;
	ev->close_code = (uint16_t)(d->ctrl[0] << 8 | d->ctrl[1]);
	if (!close_code_valid(ev->close_code))
		return -WS_CLOSE_PROTOCOL;
	ev->data = d->ctrl + 2;
	ev->len = plen - 2;
	return ws_utf8_valid(ev->data, ev->len) ? 0 : -WS_CLOSE_BAD_DATA;
}

/* A data frame's payload joins the message; a final one completes it. */
static long data_event(struct ws_decoder *d, uint8_t b0, const uint8_t *payload, size_t plen,
		       const uint8_t *mask, struct ws_event *ev)
{
	uint8_t op = b0 & 0x0f;

	if (op != WS_OP_CONT) {
		d->msg_opcode = op;
		d->msg_len = 0;
	}
	unmask(d->msg + d->msg_len, payload, plen, mask);
	d->msg_len += plen;
	ev->type = WS_EV_NONE;
	if (!(b0 & 0x80))
		return 0;
	ev->type = d->msg_opcode == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
	ev->data = d->msg;
	ev->len = d->msg_len;
	d->msg_opcode = 0;
	if (ev->type == WS_EV_TEXT && !ws_utf8_valid(d->msg, d->msg_len))
		return -WS_CLOSE_BAD_DATA;
	return 0;
}

long ws_decode(struct ws_decoder *d, const uint8_t *buf, size_t len, struct ws_event *ev)
{
	uint64_t plen = 0;
	long hl, r;

	if (len < 2)
		return 0;
	if (!(buf[1] & 0x80))
		return -WS_CLOSE_PROTOCOL; /* a client's frames are masked (5.1) */
	hl = frame_length(buf, len, &plen);
	if (hl <= 0)
		return hl;
	r = frame_allowed(d, buf[0], plen);
	if (r)
		return r;
	/* plen is now at most WS_MAX_MESSAGE: the sums below cannot wrap */
	if (len < (size_t)hl + 4 + plen)
		return 0;
	*ev = (struct ws_event){ .type = WS_EV_NONE };
	if (buf[0] & 0x8) {
		unmask(d->ctrl, buf + hl + 4, (size_t)plen, buf + hl);
		r = control_event(d, buf[0] & 0x0f, (size_t)plen, ev);
	} else {
		r = data_event(d, buf[0], buf + hl + 4, (size_t)plen, buf + hl, ev);
	}
	return r ? r : hl + 4 + (long)plen;
}

/* ---- encoding the server's frames ---- */

size_t ws_encode_head(uint8_t out[WS_MAX_HEAD], enum ws_opcode op, uint64_t len)
{
	int i;

	out[0] = 0x80 | (uint8_t)op; /* FIN: the server never fragments */
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

size_t ws_encode_close(uint8_t out[2 + WS_MAX_CONTROL], uint16_t code, const char *reason)
{
	size_t n = reason ? strlen(reason) : 0;

	if (n > WS_MAX_CONTROL - 2)
		n = WS_MAX_CONTROL - 2;
	/* a cut must not split a UTF-8 sequence: back off its continuation bytes */
	while (n && reason && (reason[n] & 0xc0) == 0x80)
		n--;
	out[0] = 0x80 | WS_OP_CLOSE;
	out[1] = (uint8_t)(2 + n);
	out[2] = (uint8_t)(code >> 8);
	out[3] = (uint8_t)code;
	if (n)
		memcpy(out + 4, reason, n);
	return 4 + n;
}
