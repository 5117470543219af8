/* SPDX-License-Identifier: MIT */
/*
 * A minimal WebSocket client (RFC 6455) over a plain loopback TCP socket,
 * written for the tests and the benchmark so they talk to the daemon's
 * HTTP front-end as a browser would, with nothing in between: the opening
 * handshake (its Sec-WebSocket-Accept checked), masked client frames, and
 * whole server messages (fragments joined, pings answered).
 *
 * Blocking calls bounded by a timeout. Errors are negative errno values:
 * -ETIMEDOUT, -ECONNRESET (the peer closed), -EPROTO (not what RFC 6455
 * says), -EMSGSIZE (a message over WS_CLIENT_MAX).
 */
#ifndef IIOSTREAM_TEST_WS_CLIENT_H
#define IIOSTREAM_TEST_WS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#define WS_CLIENT_MAX (1 << 20) /* the largest message read */

#define WS_TEXT 0x1
#define WS_BINARY 0x2
#define WS_CLOSE 0x8

struct ws_client {
	int fd;
	uint8_t *msg;       /* the last message read (WS_CLIENT_MAX bytes) */
	uint8_t in[65536];  /* bytes read, not yet parsed */
	size_t have;
};

/*
 * Connect to 127.0.0.1:port and ask for `target` ("/api/v1/spectrum?...")
 * as a WebSocket, with an Origin of http://127.0.0.1:port; rcvbuf > 0 sets
 * SO_RCVBUF first (a small window, for a reader meant to fall behind).
 * Returns 101
 * when upgraded; another HTTP status (its body, NUL-terminated, in
 * body[bodylen]) when refused, with the connection closed; or a negative
 * errno. Call ws_client_close() after it, whatever it returned.
 */
int ws_client_open(struct ws_client *c, uint16_t port, const char *target, int rcvbuf,
		   char *body, size_t bodylen, int timeout_ms);

/* The next whole message: its opcode (WS_TEXT, WS_BINARY, WS_CLOSE), *data
 * (valid until the next call) and *len. Pings are answered on the way. */
int ws_client_read(struct ws_client *c, int timeout_ms, const uint8_t **data, size_t *len);

/* Send one text message (masked, as a client must). 0 or -errno. */
int ws_client_send_text(struct ws_client *c, const char *text);

/* Close the socket (no closing handshake) and free the buffer. */
void ws_client_close(struct ws_client *c);

#endif /* IIOSTREAM_TEST_WS_CLIENT_H */
