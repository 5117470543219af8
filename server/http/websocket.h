/* SPDX-License-Identifier: MIT */
/*
 * RFC 6455 WebSocket framing, the server's side, as pure functions: the
 * handshake's Sec-WebSocket-Accept, the decoding of what a client sends
 * (one frame per call, messages reassembled from fragments) and the
 * encoding of what the server sends. No I/O, no allocation: the decoder's
 * buffers are in its struct.
 *
 * The decoder refuses, with the close code to send (RFC 6455, 7.4.1):
 *   1002  an unmasked frame, RSV bits set (no extension is negotiated), an
 *         unknown opcode, a control frame longer than 125 bytes or
 *         fragmented, a continuation with no message begun or a new
 *         message inside one, a length not in its shortest form or with
 *         the 64-bit length's top bit set, a close payload of 1 byte or
 *         with a code that may not be sent (RFC 6455, 7.4)
 *   1007  a text message, or a close reason, that is not UTF-8
 *   1009  a message longer than WS_MAX_MESSAGE, refused at the frame head
 *         that would make it so, before its payload arrives
 */
#ifndef IIOSTREAMD_WEBSOCKET_H
#define IIOSTREAMD_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_MAX_MESSAGE (64 * 1024) /* bytes of a client's message, fragments together */
#define WS_MAX_CONTROL 125         /* bytes of a control frame's payload */
#define WS_MAX_HEAD 14             /* bytes of a frame head: 2 + 8 (length) + 4 (mask) */
#define WS_ACCEPT_LEN 28           /* characters of Sec-WebSocket-Accept */

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

/* Close codes this code sends (RFC 6455, 7.4.1). */
enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,    /* the daemon stops */
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_NO_STATUS = 1005,     /* received only: a close frame without a code */
	WS_CLOSE_BAD_DATA = 1007,      /* text that is not UTF-8 */
	WS_CLOSE_POLICY = 1008,        /* the access lists no longer allow it */
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

/*
 * Sec-WebSocket-Accept for the client's Sec-WebSocket-Key: base64 of the
 * SHA-1 of the key and RFC 6455's GUID, into out (WS_ACCEPT_LEN + 1).
 * 0, or -EINVAL when the key is not the base64 of 16 bytes (RFC 6455,
 * 4.2.1: a 400), or -EIO when OpenSSL's digest fails.
 */
int ws_accept_key(const char *client_key, char out[WS_ACCEPT_LEN + 1]);

/* What one decoded frame means. */
enum ws_event_type {
	WS_EV_NONE,    /* a fragment of a message not complete yet */
	WS_EV_TEXT,    /* a whole text message (UTF-8 checked) */
	WS_EV_BINARY,  /* a whole binary message */
	WS_EV_PING,    /* answer with a pong carrying data[len] */
	WS_EV_PONG,
	WS_EV_CLOSE,   /* the client closes: close_code (1005 if it gave none) */
};

struct ws_event {
	enum ws_event_type type;
	const uint8_t *data;   /* the message or control payload, unmasked, in the
				  decoder: valid until the next ws_decode() */
	size_t len;
	uint16_t close_code;   /* WS_EV_CLOSE */
};

/* A client's frames, decoded one at a time; zero it to start. */
struct ws_decoder {
	uint8_t msg[WS_MAX_MESSAGE];  /* private: the message being reassembled */
	size_t msg_len;
	uint8_t msg_opcode;           /* WS_OP_TEXT or WS_OP_BINARY; 0: none begun */
	uint8_t ctrl[WS_MAX_CONTROL]; /* private: the last control frame's payload */
};

/*
 * Decode the frame that starts buf[0] (`len` bytes have arrived). Returns:
 *   > 0   bytes the frame took: *ev says what it meant
 *   0     not a whole frame yet (nothing consumed; call again with more)
 *   < 0   the negated close code refusing the stream (above); the
 *         connection is to be closed with it
 */
long ws_decode(struct ws_decoder *d, const uint8_t *buf, size_t len, struct ws_event *ev);

/*
 * The head of one unmasked, unfragmented server frame of `len` payload
 * bytes into out: its length (2, 4 or 10 bytes).
 */
size_t ws_encode_head(uint8_t out[WS_MAX_HEAD], enum ws_opcode op, uint64_t len);

/*
 * A whole close frame: code, and as much of `reason` as fits in a
 * control frame (NULL: none). Its length (at most 2 + WS_MAX_CONTROL).
 */
size_t ws_encode_close(uint8_t out[2 + WS_MAX_CONTROL], uint16_t code, const char *reason);

/* Is s[len] well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF)? */
bool ws_utf8_valid(const uint8_t *s, size_t len);

#endif /* IIOSTREAMD_WEBSOCKET_H */
