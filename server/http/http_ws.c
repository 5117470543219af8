// SPDX-License-Identifier: MIT
/*
 * The WebSocket side of an HTTP connection: the upgrade (RFC 6455, 4.2),
 * the client's frames decoded (websocket.c) and acted on, messages queued
 * to it within WS_SEND_LIMIT, pings, and the close handshake. See
 * http_server.h for the contract.
 */
#include "http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "log.h"
#include "server.h"

/* ---- the upgrade ---- */

/* Does the Origin a browser sent name the host the request went to? A
 * page of another site gets a different one (or "null"). */
static bool same_origin(const char *origin, const char *host)
{
	const char *p = strstr(origin, "://");

	return p && host && strcasecmp(p + 3, host) == 0;
}

/* Why the request cannot be upgraded, answered; 0 if it can. */
static int refuse_upgrade(struct http_exchange *x, const struct http_request *req,
			  char accept[WS_ACCEPT_LEN + 1])
{
	static const char text[] = "text/plain; charset=utf-8";
	const struct http_head *h = &x->c->head;
	const char *key = http_request_header(req, "sec-websocket-key");
	const char *version = http_request_header(req, "sec-websocket-version");
	const char *origin = http_request_header(req, "origin");
	const char *why = NULL;
	int status = 400;

	if (strcmp(req->method, "GET") != 0 || !h->connection_upgrade || !h->upgrade ||
	    !http_list_has(h->upgrade, "websocket"))
		why = "not a WebSocket upgrade";
	else if (!version || strcmp(version, "13") != 0)
		status = 426, why = "WebSocket version 13 only";
	else if (!key || ws_accept_key(key, accept) != 0)
		why = "bad Sec-WebSocket-Key";
	else if (origin && !same_origin(origin, http_request_header(req, "host")))
		status = 403, why = "a WebSocket from another site's page is refused";
	else if (x->c->hs->nws >= HTTP_MAX_WEBSOCKETS || x->c->hs->stopping)
		status = 503, why = "too many WebSockets";
	if (!why)
		return 0;
	x->c->hs->errors_total++;
	log_debug("http client %u (%s): WebSocket refused (%d): %s", x->c->id, x->c->peer, status,
		  why);
	{
		char body[96];
		int n = snprintf(body, sizeof(body), "%s\n", why);

		http_reply(x, status, text, status == 426 ? "Sec-WebSocket-Version: 13\r\n" : NULL,
			   body, (size_t)n);
	}
	return -EINVAL;
}

struct ws_conn *http_upgrade_websocket(struct http_exchange *x, const struct http_request *req,
				       const struct ws_handlers *h, void *ctx)
{
	struct http_conn *c = x->c;
	char accept[WS_ACCEPT_LEN + 1], head[160];
	int n;

	if (x->answered || refuse_upgrade(x, req, accept))
		return NULL;
	c->ws = (struct ws_conn){ .c = c, .h = *h, .ctx = ctx };
	c->ws.dec = calloc(1, sizeof(*c->ws.dec));
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
	if (!c->ws.dec || http__conn_reserve(c, WS_MAX_MESSAGE + WS_MAX_HEAD) ||
	    http__conn_queue(c, head, (size_t)n)) {
		free(c->ws.dec);
		c->ws.dec = NULL;
		http_reply(x, 503, "text/plain; charset=utf-8", NULL, "out of memory\n", 14);
		return NULL;
	}
	/* A viewer that stops reading must be refused frames (-EAGAIN: it
	 * skips) within a few of them, not once the kernel's send buffer has
	 * autotuned to megabytes of stale frames: bound it. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &(int){ WS_SOCKET_SNDBUF },
		       sizeof(int)) < 0)
		log_debug("http client %u (%s): SO_SNDBUF: %s", c->id, c->peer, strerror(errno));
	x->answered = true;
	c->upgraded = true;
	c->hs->nws++;
	http__conn_set_state(c, HTTP_CONN_WEBSOCKET);
	http__conn_deadline(c, WS_PING_MS);
	log_debug("http client %u (%s): WebSocket on %s", c->id, c->peer, req->path);
	return &c->ws;
}

/* ---- sending ---- */

static int ws_queue(struct http_conn *c, enum ws_opcode op, const void *data, size_t len)
{
	uint8_t head[WS_MAX_HEAD];
	size_t hl = ws_encode_head(head, op, len);

	if (http__conn_queue(c, head, hl) || (len && http__conn_queue(c, data, len)))
		return -ENOMEM;
	return 0;
}

static int ws_send(struct ws_conn *ws, enum ws_opcode op, const void *data, size_t len)
{
	struct http_conn *c = ws->c;
	size_t pending = http__conn_pending(c);

	if (c->state != HTTP_CONN_WEBSOCKET || ws->close_sent)
		return -EPIPE;
	if (pending && pending + len > WS_SEND_LIMIT) {
		ws->dropped++;
		return -EAGAIN;
	}
	if (ws_queue(c, op, data, len)) {
		http__conn_close(c, "out of memory");
		return -EPIPE;
	}
	ws->messages_out++;
	http__conn_flush(c);
	return 0;
}

int ws_send_binary(struct ws_conn *ws, const void *data, size_t len)
{
	return ws_send(ws, WS_OP_BINARY, data, len);
}

int ws_send_text(struct ws_conn *ws, const char *text, size_t len)
{
	return ws_send(ws, WS_OP_TEXT, text, len);
}

/* ---- closing ---- */

/* Queue our close frame; nothing is sent after it. */
static void queue_close(struct http_conn *c, uint16_t code, const char *reason)
{
	uint8_t frame[2 + WS_MAX_CONTROL];
	size_t n = code == WS_CLOSE_NO_STATUS ? 2 : ws_encode_close(frame, code, reason);

	if (code == WS_CLOSE_NO_STATUS) { /* the client gave no code: none back */
		frame[0] = 0x80 | WS_OP_CLOSE;
		frame[1] = 0;
	}
	c->ws.close_sent = true;
	if (http__conn_queue(c, frame, n))
		http__conn_close(c, "out of memory");
}

void http__ws_end(struct http_conn *c, uint16_t code, const char *reason)
{
	if (c->state != HTTP_CONN_WEBSOCKET || c->ws.close_sent)
		return;
	queue_close(c, code, reason);
	http__conn_deadline(c, WS_CLOSE_WAIT_MS);
	http__conn_flush(c);
}

void ws_close(struct ws_conn *ws, uint16_t code, const char *reason)
{
	http__ws_end(ws->c, code, reason);
}

/* ---- receiving ---- */

static void on_event(struct http_conn *c, const struct ws_event *ev)
{
	struct ws_conn *ws = &c->ws;

	switch (ev->type) {
	case WS_EV_TEXT:
		ws->messages_in++;
		if (!ws->close_sent && ws->h.on_text)
			ws->h.on_text(ws, (const char *)ev->data, ev->len, ws->ctx);
		break;
	case WS_EV_PING:
		if (!ws->close_sent && ws_queue(c, WS_OP_PONG, ev->data, ev->len))
			http__conn_close(c, "out of memory");
		break;
	case WS_EV_CLOSE:
		/* answered (if ours is not sent yet), then the server ends the
		 * TCP connection first (RFC 6455, 7.1.1) */
		ws->close_received = true;
		if (!ws->close_sent)
			queue_close(c, ev->close_code, NULL);
		if (c->state == HTTP_CONN_WEBSOCKET)
			http__conn_set_state(c, HTTP_CONN_FLUSH);
		break;
	default: /* binary messages, pongs and fragments: nothing to do */
		break;
	}
}

void http__ws_input(struct http_conn *c)
{
	while (c->state == HTTP_CONN_WEBSOCKET && c->in_len) {
		struct ws_event ev;
		long r = ws_decode(c->ws.dec, c->in, c->in_len, &ev);

		if (r == 0)
			break;
		if (r < 0) {
			c->hs->errors_total++;
			log_debug("http client %u (%s): WebSocket refused: close %ld", c->id, c->peer,
				  -r);
			if (!c->ws.close_sent)
				queue_close(c, (uint16_t)-r, r == -WS_CLOSE_TOO_BIG ? "message too big"
									  : "protocol error");
			if (c->state == HTTP_CONN_WEBSOCKET)
				http__conn_set_state(c, HTTP_CONN_FLUSH);
			break;
		}
		http__conn_consume(c, (size_t)r); /* ev points into the decoder, not in[] */
		c->ws.heard = true;
		on_event(c, &ev);
	}
	if (c->state == HTTP_CONN_WEBSOCKET || c->state == HTTP_CONN_FLUSH)
		http__conn_flush(c);
}

void http__ws_tick(struct http_conn *c)
{
	struct ws_conn *ws = &c->ws;
	uint8_t none = 0;

	if (ws->close_sent) {
		http__conn_close(c, "no close frame in reply to ours");
		return;
	}
	if (!ws->heard && ws->pinged) {
		http__conn_close(c, "no pong to our ping");
		return;
	}
	ws->heard = false;
	ws->pinged = true;
	if (ws_queue(c, WS_OP_PING, &none, 0)) {
		http__conn_close(c, "out of memory");
		return;
	}
	http__conn_deadline(c, WS_PING_MS);
	http__conn_flush(c);
}
