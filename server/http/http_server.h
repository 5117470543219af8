/* SPDX-License-Identifier: MIT */
/*
 * The daemon's HTTP/1.1 + WebSocket front-end (--http-listen): a small
 * server of its own on the daemon's libuv loop, for /metrics, the status
 * API and the web console. HTTPS with the daemon's own TLS context and
 * access lists when --listen-tls is configured (server/tls/), so one TLS
 * configuration and one access policy hold for every port. Why not
 * libwebsockets or microhttpd: docs/observability.md.
 *
 * Features register routes (exact paths) before the server listens, one
 * function each, called from http_routes_register() (http_routes.c).
 * Everything runs on the loop's thread; nothing here is locked.
 *
 * Limits (each refused with a status and a one-line body, then closed):
 * a request head of HTTP_MAX_HEAD bytes and HTTP_MAX_HEADERS lines (431),
 * a body of HTTP_MAX_BODY (413) (http_parse.h), HTTP_MAX_CONNS connections
 * and HTTP_MAX_WEBSOCKETS WebSockets (503), a request head (and body) in
 * --http-head-timeout (408), HTTP_KEEPALIVE_MS between requests on a kept
 * connection (closed quietly). These connections do not count against
 * --max-clients: hostile HTTP cannot take a streaming client's place.
 */
#ifndef IIOSTREAMD_HTTP_SERVER_H
#define IIOSTREAMD_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_parse.h" /* struct http_header */

#define HTTP_MAX_CONNS 64          /* connections served at once, WebSockets included */
#define HTTP_MAX_WEBSOCKETS 16     /* of those, WebSockets */
#define HTTP_KEEPALIVE_MS 30000    /* a kept connection's wait for its next request */
#define WS_SEND_LIMIT (256 * 1024) /* bytes a WebSocket may have queued (ws_send_*) */
#define WS_SOCKET_SNDBUF (128 * 1024) /* its socket's send buffer (the kernel doubles it) */

struct server;            /* server/core/server.h */
struct http_server;       /* the front-end (a struct frontend inside) */
struct http_exchange;     /* one request being answered; valid during the handler call only */
struct ws_conn;           /* one WebSocket */

/* One request, as a handler sees it. Every pointer is valid during the
 * handler call only. */
struct http_request {
	const char *method;        /* "GET", "POST", "HEAD", ... as sent */
	const char *path;          /* target without the query, percent-decoded, e.g. "/api/v1/status" */
	const char *query;         /* after '?', raw; "" if none */
	const struct http_header *headers;
	unsigned nheaders;
	const unsigned char *body; /* Content-Length bytes (no chunked bodies: 411/501) */
	size_t body_len;
	bool tls;                  /* came over HTTPS */
	const char *peer;          /* "ADDR:PORT" of the client */
	const char *peer_identity; /* HTTPS with a client certificate: "sha256:<64 hex>", else NULL */
	bool may_write;            /* HTTPS, and the identity is allowed by --allow-write (server/tls/access.h) */
	bool may_subscribe;        /* --allow-subscribe admits this client (its certificate, or `plain`
	                            * for plain HTTP and HTTPS without one): it may see the samples
	                            * (the live spectrum), as a native client may stream them */
};
/* Case-insensitive lookup; NULL if absent. */
const char *http_request_header(const struct http_request *req, const char *name);

/* A handler answers synchronously, exactly once, with http_reply() or http_upgrade_websocket(). */
typedef void (*http_handler_fn)(struct http_exchange *x, const struct http_request *req, void *ctx);
/* Register before the server listens; method "GET" also answers HEAD. 0 or -ENOMEM/-EEXIST. */
int http_server_route(struct http_server *hs, const char *method, const char *path,
                      http_handler_fn fn, void *ctx);
/* The body is copied. content_type may be NULL for no body. extra_headers: NULL or CRLF-terminated
 * lines ("Cache-Control: no-store\r\n"). 0 or -errno. */
int http_reply(struct http_exchange *x, int status, const char *content_type,
               const char *extra_headers, const void *body, size_t len);

struct ws_handlers {
	void (*on_text)(struct ws_conn *ws, const char *msg, size_t len, void *ctx); /* optional */
	void (*on_close)(struct ws_conn *ws, void *ctx); /* the socket is gone; ws is invalid after */
};
/* Checks the Upgrade request (RFC 6455 handshake); answers 101, or an error itself and returns NULL. */
struct ws_conn *http_upgrade_websocket(struct http_exchange *x, const struct http_request *req,
                                       const struct ws_handlers *h, void *ctx);
/* Queue one message. -EAGAIN when the peer has not taken what was queued before (more than about
 * 256 KiB in flight): the caller drops this message (a slow viewer skips frames); -EPIPE once closing. */
int ws_send_binary(struct ws_conn *ws, const void *data, size_t len);
int ws_send_text(struct ws_conn *ws, const char *text, size_t len);
void ws_close(struct ws_conn *ws, uint16_t code, const char *reason);

/* Where routes are registered (server/http/http_routes.c, one function per feature):
 *   void http_routes_register(struct http_server *hs, struct server *srv);
 * calls metrics_register(hs, srv), status_register(hs, srv), spectrum_register(hs, srv), console... */
void http_routes_register(struct http_server *hs, struct server *srv);

/*
 * Details of the contract above:
 *  - http_reply(): -EALREADY when the exchange was answered already,
 *    -EINVAL for a status outside 200..599 or extra_headers not ending in
 *    CRLF, -ENOMEM. A HEAD request gets the headers alone (Content-Length
 *    as for GET). The connection is kept for the next request unless the
 *    client or an error status (400, 408, 413, 431, 5xx) says otherwise.
 *  - A handler that returns without answering gets a 500 sent for it.
 *  - http_upgrade_websocket() refuses with 400 (not GET, no "Connection:
 *    upgrade" and "Upgrade: websocket", a bad Sec-WebSocket-Key), 426
 *    (Sec-WebSocket-Version other than 13), 403 (an Origin whose host is
 *    not the Host the request was sent to: another site's page) and 503
 *    (HTTP_MAX_WEBSOCKETS open). After a 101, on_text() gets each whole
 *    text message (UTF-8 checked) and binary messages are ignored; pings
 *    are answered; a client's close is answered and ends the socket.
 *  - on_close() is called once for every WebSocket handed out, from the
 *    loop (a libuv close callback), never from inside ws_send_*() or
 *    ws_close(): a caller may walk its list of viewers and send to each.
 *  - ws_close(): sends a close frame (code, reason cut to fit) and waits
 *    for the client's (at most 2 s); nothing more is sent. Idempotent.
 */

/* ---- The front-end's life, for daemon/daemon.c ---- */

/* A front-end on srv's loop, not listening yet: register routes, then
 * http_server_listen(). NULL when out of memory. */
struct http_server *http_server_new(struct server *srv);

/* Listen on every --http-listen address of srv's configuration (HTTPS
 * when srv has a TLS context), and register with the core
 * (server_add_frontend): from then on the core counts, shuts down and
 * reloads it. 0, or a negative errno (logged, naming the address); then
 * nothing listens, the listeners opened close with the loop's next turn,
 * and the caller frees it once the loop has returned. */
int http_server_listen(struct http_server *hs);

/* The port the i-th --http-listen address is bound to (its port 0 picks
 * a free one), 0 if there is no such listener. */
uint16_t http_server_port(const struct http_server *hs, unsigned i);

/* Free it once the loop has returned (every handle closed). NULL is fine. */
void http_server_free(struct http_server *hs);

#endif /* IIOSTREAMD_HTTP_SERVER_H */
