/* SPDX-License-Identifier: MIT */
/*
 * What the files of the HTTP front-end share, and nobody else uses. One
 * concern per file:
 *
 *   http_server.c   the listeners, the route table, the front-end's ops
 *                   (counters, shutdown, access changes) and its life
 *   http_conn.c     one connection's life: accept, TLS handshake, reading,
 *                   writing, timers, states, close (the one place it is
 *                   freed)
 *   http_exchange.c a request dispatched to its route, and what answers it:
 *                   http_reply(), error replies
 *   http_ws.c       the WebSocket side of a connection: the upgrade, frames
 *                   in and out, ping, the close handshake
 *   http_assets.c   the built-in assets, served with ETag (the table is
 *                   generated at build time from assets/)
 *
 * Cross-file functions are http__*, everything else is static.
 */
#ifndef IIOSTREAMD_HTTP_INTERNAL_H
#define IIOSTREAMD_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "access.h"
#include "frontend.h"
#include "http_parse.h"
#include "http_server.h"
#include "websocket.h"

#define HTTP_MAX_LISTENERS 4      /* --http-listen addresses (CONFIG_MAX_HTTP_LISTEN) */
#define HTTP_MAX_REFUSING 16      /* connections beyond HTTP_MAX_CONNS being told 503 */
#define HTTP_LINGER_MS 2000       /* our side shut: the wait for the peer's FIN */
#define HTTP_STOP_MS 2000         /* shutdown: the wait for replies and WebSocket closes */
#define WS_PING_MS 30000          /* a quiet WebSocket is pinged this often ... */
#define WS_CLOSE_WAIT_MS 2000     /* ... and our close frame answered within this */

struct http_route {
	char method[HTTP_MAX_METHOD + 1];
	char *path;
	http_handler_fn fn;
	void *ctx;
};

struct http_listener {
	struct http_server *hs;
	int fd;                    /* -1: not listening */
	uint16_t port;
	uv_poll_t poll;
	uv_timer_t pause;          /* out of fds: accepting resumes after it */
};

struct http_server {
	struct frontend fe;        /* registered with the core once listening */
	struct server *srv;
	struct http_listener listeners[HTTP_MAX_LISTENERS];
	unsigned nlisteners;
	bool registered;           /* fe is in the core's list */
	bool stopping;             /* shutdown began: nothing new is accepted */
	struct http_route *routes;
	size_t nroutes;
	TAILQ_HEAD(, http_conn) conns; /* every connection until freed */
	uint32_t nconns;           /* counted against HTTP_MAX_CONNS */
	uint32_t nrefusing;        /* beyond it, being told 503 */
	uint32_t nws;              /* WebSockets open */
	uint32_t next_id;
	/* counters */
	uint64_t connections_total;
	uint64_t requests_total;
	uint64_t errors_total;     /* requests refused with a 4xx/5xx by the front-end itself */
	uint64_t refused_total;    /* connections beyond HTTP_MAX_CONNS */
};

/* A connection's states; every change goes through http__conn_set_state(),
 * which checks it against the table in http_conn.c. */
enum http_conn_state {
	HTTP_CONN_HANDSHAKE,       /* HTTPS: the TLS handshake */
	HTTP_CONN_REQUEST,         /* reading a request, answering it, or idle between two */
	HTTP_CONN_WEBSOCKET,       /* upgraded (http_ws.c) */
	HTTP_CONN_FLUSH,           /* the last bytes are being sent, then our side shuts */
	HTTP_CONN_LINGER,          /* our side is shut: the peer's FIN is awaited, so that
				      what we sent last is not destroyed by a reset */
	HTTP_CONN_CLOSED,          /* handles closing; freed in the last close callback */
};

/* One WebSocket (http_ws.c): the public handle is this struct, inside its
 * connection. */
struct ws_conn {
	struct http_conn *c;
	struct ws_handlers h;
	void *ctx;
	struct ws_decoder *dec;    /* allocated at the upgrade */
	bool close_sent;           /* our close frame is queued: nothing more is sent */
	bool close_received;       /* the client's close frame came */
	bool heard;                /* a frame came since the last ping tick */
	bool pinged;               /* a ping was sent: the next tick wants something heard */
	uint64_t messages_in, messages_out, dropped; /* dropped: -EAGAIN */
};

/*
 * One HTTP connection. Each group of fields is written by the file named
 * above it; the others only read it.
 */
struct http_conn {
	/* life cycle: http_conn.c */
	TAILQ_ENTRY(http_conn) link; /* in hs->conns until freed */
	struct http_server *hs;
	enum http_conn_state state;
	uint32_t id;
	char peer[64];             /* "ADDR:PORT" */
	int fd;
	uv_poll_t poll;
	uv_timer_t timer;          /* the state's deadline (head, keep-alive, linger, ping) */
	int open_handles;          /* poll and timer: freed when none is left */
	bool refusing;             /* beyond HTTP_MAX_CONNS: answered 503 and closed */
	bool reset;                /* closed abortively: no linger */
	/* TLS: http_conn.c */
	SSL *ssl;                  /* HTTPS: set at accept, NULL on a plain port */
	bool tls_first_byte_seen;  /* the first byte was a TLS handshake record */
	bool want_write;           /* TLS asked for writability to go on */
	struct peer_identity ident;
	char identity[80];         /* "sha256:<64 hex>", "" without a certificate */
	bool may_write;            /* HTTPS, a certificate, and --allow-write allows it */
	/* input: http_conn.c reads, http_exchange.c and http_ws.c consume */
	uint8_t *in;
	size_t in_len, in_cap;
	struct http_parser parser;
	struct http_head head;
	size_t head_len;           /* the head parsed, its body awaited; 0: none yet */
	bool timing_head;          /* the head timer runs (a request has begun) */
	bool serving;              /* http__serve() is on the stack: do not re-enter it */
	/* output: appended by http_exchange.c and http_ws.c, sent by http_conn.c */
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	bool keep_alive;           /* the reply being sent leaves the connection open */
	/* the WebSocket, once upgraded: http_ws.c */
	struct ws_conn ws;
	bool upgraded;
};

/* One request being answered (http_server.h); on the stack of the call
 * that dispatches it. */
struct http_exchange {
	struct http_conn *c;
	bool head_only;            /* HEAD: the reply's headers alone */
	bool answered;
};

/* --- http_server.c ----------------------------------------------------- */

/* The route for method and path: its entry, or NULL with *path_known set
 * when another method has it (a 405; allow[] gets "GET, HEAD" etc.). */
const struct http_route *http__route_find(const struct http_server *hs, const char *method,
					  const char *path, bool *path_known, char *allow,
					  size_t allow_len);

/* --- http_conn.c ------------------------------------------------------- */

/* A new connection on an accepted fd (plain, or HTTPS when ssl_ctx_on):
 * 0, or a negative errno (fd closed). */
int http__conn_accept(struct http_server *hs, int fd, const char *peer);
void http__conn_set_state(struct http_conn *c, enum http_conn_state to);
/* Close now (idempotent): handles closed, memory freed in their callback;
 * the WebSocket's on_close is called from there. */
void http__conn_close(struct http_conn *c, const char *why);
/* Append to the output (copied). 0 or -ENOMEM. */
int http__conn_queue(struct http_conn *c, const void *data, size_t len);
/* Send what is queued, as far as the socket takes it; the connection may
 * be closed on return (a send failed). */
void http__conn_flush(struct http_conn *c);
/* Bytes queued and not yet sent. */
static inline size_t http__conn_pending(const struct http_conn *c)
{
	return c->out_len - c->out_off;
}
/* Drop the first n bytes of input. */
void http__conn_consume(struct http_conn *c, size_t n);
/* Make room for `need` bytes of input in all. 0 or -ENOMEM. */
int http__conn_reserve(struct http_conn *c, size_t need);
/* Start the timer for `ms`: at its end the connection's state decides. */
void http__conn_deadline(struct http_conn *c, uint64_t ms);
/* Shutdown: end the connection as soon as it may. */
void http__conn_stop(struct http_conn *c);
/* The access lists changed: may_write again from the identity, and a
 * WebSocket whose client --allow-subscribe no longer admits is closed. */
void http__conn_recheck(struct http_conn *c);

/* --- http_exchange.c --------------------------------------------------- */

/* Answer every whole request waiting in c->in, in order, while nothing is
 * being sent (a pipelined request waits for the reply before it). The
 * connection may be closed, or upgraded, on return. */
void http__serve(struct http_conn *c);
/* A reply of `status` with a one-line body, and the connection ends after
 * it. */
void http__fail(struct http_conn *c, int status, const char *why);

/* --- http_ws.c --------------------------------------------------------- */

/* Frames waiting in c->in, decoded and acted on. The connection may be
 * closed on return. */
void http__ws_input(struct http_conn *c);
/* The ping timer fired. */
void http__ws_tick(struct http_conn *c);
/* Shutdown, or the access lists took its write: a close frame (code) and
 * the wait for the client's. */
void http__ws_end(struct http_conn *c, uint16_t code, const char *reason);

#endif /* IIOSTREAMD_HTTP_INTERNAL_H */
