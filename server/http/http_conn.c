// SPDX-License-Identifier: MIT
/*
 * One HTTP connection's life: accept, the TLS handshake, reading, writing,
 * its timer, its states, and close. The socket is watched by a uv_poll_t
 * and read and written directly (recv/send, or SSL_read_ex/SSL_write_ex on
 * the same fd), as the native sessions do (net/session_tls.c), so one TLS
 * context serves every port.
 *
 * Ownership: a connection is freed in one place, on_closed(), once both
 * of its handles are closed; the WebSocket's on_close() is called there,
 * from the loop, never from inside a send.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>

#include "log.h"
#include "server.h"
#include "tls.h"

#define HTTP_IN_START (16 * 1024) /* input buffer at first: a whole head fits */

static void on_poll(uv_poll_t *h, int status, int events);
static void read_input(struct http_conn *c);

/* ------------------------------------------------------------------ */
/* States                                                              */

static const char *const state_names[] = {
	[HTTP_CONN_HANDSHAKE] = "handshake", [HTTP_CONN_REQUEST] = "request",
	[HTTP_CONN_WEBSOCKET] = "websocket", [HTTP_CONN_FLUSH] = "flush",
	[HTTP_CONN_LINGER] = "linger",       [HTTP_CONN_CLOSED] = "closed",
};

/* legal[from][to] */
static const bool legal[][HTTP_CONN_CLOSED + 1] = {
	[HTTP_CONN_HANDSHAKE] = { [HTTP_CONN_REQUEST] = true, [HTTP_CONN_LINGER] = true,
				  [HTTP_CONN_CLOSED] = true },
	[HTTP_CONN_REQUEST] = { [HTTP_CONN_WEBSOCKET] = true, [HTTP_CONN_FLUSH] = true,
				[HTTP_CONN_CLOSED] = true },
	[HTTP_CONN_WEBSOCKET] = { [HTTP_CONN_FLUSH] = true, [HTTP_CONN_CLOSED] = true },
	[HTTP_CONN_FLUSH] = { [HTTP_CONN_LINGER] = true, [HTTP_CONN_CLOSED] = true },
	[HTTP_CONN_LINGER] = { [HTTP_CONN_CLOSED] = true },
	[HTTP_CONN_CLOSED] = { [HTTP_CONN_CLOSED] = false },
};

void http__conn_set_state(struct http_conn *c, enum http_conn_state to)
{
	if (!legal[c->state][to]) {
		/* a bug: say so, and end the connection rather than guess */
		log_error("http client %u: illegal state change %s -> %s", c->id,
			  state_names[c->state], state_names[to]);
		if (c->state != HTTP_CONN_CLOSED && to != HTTP_CONN_CLOSED)
			http__conn_close(c, "internal error");
		return;
	}
	c->state = to;
}

/* ------------------------------------------------------------------ */
/* Close, the one place a connection is freed                          */

static void on_closed(uv_handle_t *h)
{
	struct http_conn *c = h->data;
	struct http_server *hs = c->hs;

	if (--c->open_handles > 0)
		return;
	TAILQ_REMOVE(&hs->conns, c, link);
	if (c->refusing)
		hs->nrefusing--;
	else
		hs->nconns--;
	if (c->upgraded) {
		hs->nws--;
		if (c->ws.h.on_close)
			c->ws.h.on_close(&c->ws, c->ws.ctx);
	}
	if (c->reset) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	SSL_free(c->ssl);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c->ws.dec);
	free(c);
	server_client_gone(hs->srv);
}

void http__conn_close(struct http_conn *c, const char *why)
{
	if (c->state == HTTP_CONN_CLOSED)
		return;
	if (why)
		log_debug("http client %u (%s) closed: %s", c->id, c->peer, why);
	http__conn_set_state(c, HTTP_CONN_CLOSED);
	uv_close((uv_handle_t *)&c->poll, on_closed);
	uv_close((uv_handle_t *)&c->timer, on_closed);
}

/* ------------------------------------------------------------------ */
/* Socket I/O, plain or TLS                                            */

/* > 0 bytes read, 0 the peer closed, -EAGAIN, or another negative errno. */
static ssize_t conn_recv(struct http_conn *c, void *buf, size_t n)
{
	ssize_t r;

	if (c->ssl) {
		char why[200];
		size_t got = 0;
		int ok;

		ERR_clear_error();
		errno = 0;
		ok = SSL_read_ex(c->ssl, buf, n, &got);
		if (ok == 1)
			return (ssize_t)got;
		switch (tls_result(c->ssl, ok, why, sizeof(why))) {
		case TLS_IO_WANT_WRITE:
			c->want_write = true;
			/* fall through */
		case TLS_IO_WANT_READ:
			return -EAGAIN;
		case TLS_IO_CLOSED:
			return 0;
		default:
			log_debug("http client %u: TLS: %s", c->id, why);
			return -EPROTO;
		}
	}
	r = recv(c->fd, buf, n, 0);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
	return r;
}

/* > 0 bytes sent, -EAGAIN, or another negative errno. */
static ssize_t conn_send(struct http_conn *c, const void *buf, size_t n)
{
	ssize_t r;

	if (c->ssl) {
		char why[200];
		size_t sent = 0;
		int ok;

		ERR_clear_error();
		errno = 0;
		ok = SSL_write_ex(c->ssl, buf, n, &sent);
		if (ok == 1)
			return (ssize_t)sent;
		switch (tls_result(c->ssl, ok, why, sizeof(why))) {
		case TLS_IO_WANT_READ:
		case TLS_IO_WANT_WRITE:
			c->want_write = true;
			return -EAGAIN;
		default:
			log_debug("http client %u: TLS: %s", c->id, why);
			return -EPIPE;
		}
	}
	r = send(c->fd, buf, n, MSG_NOSIGNAL);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
	return r;
}

/* ------------------------------------------------------------------ */
/* Buffers                                                             */

int http__conn_queue(struct http_conn *c, const void *data, size_t len)
{
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		uint8_t *out;

		while (cap < c->out_len + len)
			cap *= 2;
		out = realloc(c->out, cap);
		if (!out)
			return -ENOMEM;
		c->out = out;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

int http__conn_reserve(struct http_conn *c, size_t need)
{
	uint8_t *in;

	if (need <= c->in_cap)
		return 0;
	in = realloc(c->in, need);
	if (!in)
		return -ENOMEM;
	c->in = in;
	c->in_cap = need;
	return 0;
}

void http__conn_consume(struct http_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* ------------------------------------------------------------------ */
/* Poll and timer                                                      */

static void update_poll(struct http_conn *c)
{
	int ev = 0;

	switch (c->state) {
	case HTTP_CONN_HANDSHAKE:
	case HTTP_CONN_LINGER:
		ev = UV_READABLE;
		break;
	case HTTP_CONN_REQUEST:
		/* a pipelined request waits until the reply before it is sent */
		ev = http__conn_pending(c) ? UV_WRITABLE : UV_READABLE;
		break;
	case HTTP_CONN_WEBSOCKET:
		ev = UV_READABLE | (http__conn_pending(c) ? UV_WRITABLE : 0);
		break;
	case HTTP_CONN_FLUSH:
		ev = UV_WRITABLE;
		break;
	case HTTP_CONN_CLOSED:
		return;
	}
	if (c->want_write)
		ev = UV_WRITABLE;
	uv_poll_start(&c->poll, ev, on_poll);
}

static void on_timer(uv_timer_t *t);

void http__conn_deadline(struct http_conn *c, uint64_t ms)
{
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

static uint32_t head_timeout_ms(const struct http_conn *c)
{
	return c->hs->srv->cfg->http_head_timeout_ms;
}

static void on_timer(uv_timer_t *t)
{
	struct http_conn *c = t->data;

	if (c->hs->stopping && c->state != HTTP_CONN_LINGER) {
		http__conn_close(c, "the daemon stops");
		return;
	}
	switch (c->state) {
	case HTTP_CONN_HANDSHAKE:
		c->hs->errors_total++;
		log_warn("http client %u (%s): no TLS handshake within %u ms "
			 "(--http-head-timeout): closing", c->id, c->peer, head_timeout_ms(c));
		http__conn_close(c, NULL);
		break;
	case HTTP_CONN_REQUEST:
		if (!c->timing_head || http__conn_pending(c)) {
			/* a kept connection with nothing asked, or a reply not read */
			http__conn_close(c, c->timing_head ? "the reply was not read" : "idle");
			break;
		}
		log_warn("http client %u (%s): request not complete within %u ms "
			 "(--http-head-timeout): 408", c->id, c->peer, head_timeout_ms(c));
		http__fail(c, 408, "the request did not arrive in time");
		break;
	case HTTP_CONN_WEBSOCKET:
		http__ws_tick(c);
		break;
	case HTTP_CONN_FLUSH:
	case HTTP_CONN_LINGER:
		http__conn_close(c, c->state == HTTP_CONN_FLUSH ? "the reply was not read" : NULL);
		break;
	case HTTP_CONN_CLOSED:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */

/* Our last bytes are out: end our side, then wait for the peer's. */
static void end_our_side(struct http_conn *c)
{
	if (c->ssl && !c->reset)
		SSL_shutdown(c->ssl); /* close_notify, best effort */
	shutdown(c->fd, SHUT_WR);
	http__conn_set_state(c, HTTP_CONN_LINGER);
	http__conn_deadline(c, HTTP_LINGER_MS);
}

/* Everything queued has been sent. */
static void drained(struct http_conn *c)
{
	switch (c->state) {
	case HTTP_CONN_FLUSH:
		end_our_side(c);
		break;
	case HTTP_CONN_REQUEST:
		if (c->hs->stopping) {
			http__conn_set_state(c, HTTP_CONN_FLUSH);
			end_our_side(c);
			break;
		}
		/* the next request, if one waits (pipelined), else the keep-alive wait */
		c->timing_head = c->in_len > 0;
		http__conn_deadline(c, c->in_len ? head_timeout_ms(c) : HTTP_KEEPALIVE_MS);
		http__serve(c);
		break;
	default:
		break;
	}
}

void http__conn_flush(struct http_conn *c)
{
	bool progress = false;

	while (http__conn_pending(c) && c->state != HTTP_CONN_CLOSED) {
		ssize_t n = conn_send(c, c->out + c->out_off, http__conn_pending(c));

		if (n == -EAGAIN)
			break;
		if (n < 0) {
			c->reset = true;
			http__conn_close(c, strerror((int)-n));
			return;
		}
		c->out_off += (size_t)n;
		progress = true;
	}
	if (c->state == HTTP_CONN_CLOSED)
		return;
	/* a reader that takes nothing for the head timeout is closed */
	if (progress && (c->state == HTTP_CONN_FLUSH ||
			 (c->state == HTTP_CONN_REQUEST && http__conn_pending(c))))
		http__conn_deadline(c, head_timeout_ms(c));
	if (!http__conn_pending(c)) {
		c->out_off = c->out_len = 0;
		drained(c);
	}
	update_poll(c);
}

/* ------------------------------------------------------------------ */
/* Receiving                                                           */

static void input_ready(struct http_conn *c)
{
	if (c->state == HTTP_CONN_REQUEST) {
		if (c->in_len && !c->timing_head) {
			/* a new request began: its head has the head timeout */
			c->timing_head = true;
			http__conn_deadline(c, head_timeout_ms(c));
		}
		http__serve(c);
	} else if (c->state == HTTP_CONN_WEBSOCKET) {
		http__ws_input(c);
	}
}

/* Read once (OpenSSL: until it has nothing buffered), then act on it. */
static void read_input(struct http_conn *c)
{
	int rounds = 0;

	do {
		ssize_t n;

		if (c->in_len == c->in_cap && http__conn_reserve(c, c->in_cap ? c->in_cap * 2
									: HTTP_IN_START)) {
			http__conn_close(c, "out of memory");
			return;
		}
		n = conn_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
		if (n == -EAGAIN)
			break;
		if (n == 0) {
			http__conn_close(c, c->in_len || c->upgraded ? "closed mid-request" : NULL);
			return;
		}
		if (n < 0) {
			c->reset = true;
			http__conn_close(c, strerror((int)-n));
			return;
		}
		c->in_len += (size_t)n;
		input_ready(c);
	} while (c->ssl && c->state != HTTP_CONN_CLOSED && SSL_pending(c->ssl) > 0 &&
		 c->in_len < c->in_cap && ++rounds < 16);
	if (c->state != HTTP_CONN_CLOSED)
		update_poll(c);
}

/* Our side is shut: read and drop until the peer's FIN. */
static void linger_read(struct http_conn *c)
{
	uint8_t sink[4096];
	ssize_t n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		http__conn_close(c, NULL);
}

/* ------------------------------------------------------------------ */
/* TLS handshake                                                       */

static void tls_established(struct http_conn *c)
{
	struct server *srv = c->hs->srv;
	char desc[96], who[400];

	tls_peer_identity(c->ssl, &c->ident);
	if (c->ident.has_cert)
		snprintf(c->identity, sizeof(c->identity), "sha256:%s", c->ident.sha256);
	c->may_write = c->ident.has_cert && access_allows(&srv->cfg->allow_write, &c->ident);
	tls_describe(c->ssl, desc, sizeof(desc));
	access_describe(&c->ident, who, sizeof(who));
	log_debug("http client %u (%s): %s, client %s%s", c->id, c->peer, desc, who,
		  c->may_write ? ", may write" : "");
	c->want_write = false;
	http__conn_set_state(c, HTTP_CONN_REQUEST);
	if (c->refusing) {
		http__fail(c, 503, "too many connections");
		return;
	}
	read_input(c); /* the request may have come with the handshake's last flight */
}

static void tls_step(struct http_conn *c)
{
	char why[240];

	if (!c->tls_first_byte_seen) {
		int r = tls_peek_first_byte(c->fd);

		if (r == -EPROTO) {
			/* plain HTTP on the HTTPS port: say so in plain HTTP */
			SSL_free(c->ssl);
			c->ssl = NULL;
			http__conn_set_state(c, HTTP_CONN_REQUEST);
			http__fail(c, 400, "this port speaks HTTPS: use https://");
			return;
		}
		if (r <= 0) {
			if (r < 0)
				http__conn_close(c, r == -ESHUTDOWN ? NULL : strerror(-r));
			return;
		}
		c->tls_first_byte_seen = true;
	}
	c->want_write = false;
	switch (tls_handshake(c->ssl, why, sizeof(why))) {
	case TLS_IO_DONE:
		c->hs->srv->tls_handshakes++; /* every port's, in /metrics */
		tls_established(c);
		return;
	case TLS_IO_WANT_READ:
		break;
	case TLS_IO_WANT_WRITE:
		c->want_write = true;
		break;
	default:
		/* OpenSSL sent its alert: end our side and wait for theirs, so
		 * that a reset does not destroy the alert in flight */
		c->hs->srv->tls_handshake_failures++;
		log_warn("http client %u (%s): TLS handshake refused: %s", c->id, c->peer, why);
		shutdown(c->fd, SHUT_WR);
		http__conn_set_state(c, HTTP_CONN_LINGER);
		http__conn_deadline(c, HTTP_LINGER_MS);
		break;
	}
	update_poll(c);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct http_conn *c = h->data;
	bool wanted_write = c->want_write;

	if (status < 0) {
		c->reset = true;
		http__conn_close(c, uv_strerror(status));
		return;
	}
	c->want_write = false;
	switch (c->state) {
	case HTTP_CONN_HANDSHAKE:
		tls_step(c);
		return;
	case HTTP_CONN_LINGER:
		linger_read(c);
		return;
	case HTTP_CONN_CLOSED:
		return;
	default:
		break;
	}
	if ((events & UV_WRITABLE) || wanted_write)
		http__conn_flush(c);
	if ((events & UV_READABLE) && (c->state == HTTP_CONN_WEBSOCKET ||
				       (c->state == HTTP_CONN_REQUEST && !http__conn_pending(c))))
		read_input(c);
	else if (c->state != HTTP_CONN_CLOSED)
		update_poll(c);
}

/* ------------------------------------------------------------------ */
/* Accept, stop, access                                                */

static void conn_init(struct http_server *hs, struct http_conn *c)
{
	uv_timer_init(hs->srv->loop, &c->timer);
	c->timer.data = c;
	c->poll.data = c;
	c->open_handles = 2;
	TAILQ_INSERT_TAIL(&hs->conns, c, link);
	if (c->refusing) {
		hs->nrefusing++;
		hs->refused_total++;
	} else {
		hs->nconns++;
	}
	hs->connections_total++;
	c->keep_alive = true;
	c->timing_head = true; /* from accept, the handshake and first head have the head timeout */
	http__conn_deadline(c, head_timeout_ms(c));
}

int http__conn_accept(struct http_server *hs, int fd, const char *peer)
{
	bool refusing = hs->nconns >= HTTP_MAX_CONNS;
	struct http_conn *c;

	if (hs->stopping || (refusing && hs->nrefusing >= HTTP_MAX_REFUSING)) {
		hs->refused_total += !hs->stopping;
		close(fd);
		return -EBUSY;
	}
	c = calloc(1, sizeof(*c));
	if (!c || uv_poll_init(hs->srv->loop, &c->poll, fd) != 0) {
		free(c);
		close(fd);
		return -ENOMEM;
	}
	c->hs = hs;
	c->fd = fd;
	c->id = ++hs->next_id;
	c->refusing = refusing;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->state = hs->srv->tls.ctx ? HTTP_CONN_HANDSHAKE : HTTP_CONN_REQUEST;
	conn_init(hs, c);
	if (refusing)
		log_debug("http client %u (%s): %u connections already: 503", c->id, peer,
			  HTTP_MAX_CONNS);
	if (hs->srv->tls.ctx) {
		c->ssl = tls_server_new(&hs->srv->tls, fd);
		if (!c->ssl) {
			http__conn_close(c, "no TLS connection");
			return -ENOMEM;
		}
		/* the output buffer may grow (realloc) between SSL_write retries */
		SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
				     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	} else if (refusing) {
		http__fail(c, 503, "too many connections");
		return 0;
	}
	update_poll(c);
	return 0;
}

void http__conn_stop(struct http_conn *c)
{
	switch (c->state) {
	case HTTP_CONN_HANDSHAKE:
		http__conn_close(c, "the daemon stops");
		return;
	case HTTP_CONN_REQUEST:
		/* a reply being sent is finished (drained() ends it), else close */
		if (!http__conn_pending(c)) {
			http__conn_close(c, "the daemon stops");
			return;
		}
		break;
	case HTTP_CONN_WEBSOCKET:
		http__ws_end(c, WS_CLOSE_GOING_AWAY, "the daemon stops");
		break;
	default:
		break;
	}
	if (c->state != HTTP_CONN_CLOSED && c->state != HTTP_CONN_LINGER)
		http__conn_deadline(c, HTTP_STOP_MS);
}

void http__conn_recheck(struct http_conn *c)
{
	bool before = c->may_write;
	char who[400];

	if (c->state == HTTP_CONN_CLOSED)
		return;
	/* a WebSocket (the live spectrum) shows the samples: it ends with the
	 * client's --allow-subscribe, as a native subscription does */
	if (c->upgraded && !access_allows(&c->hs->srv->cfg->allow_subscribe, &c->ident)) {
		access_describe(&c->ident, who, sizeof(who));
		log_warn("http client %u (%s, %s): revoked: no longer on --allow-subscribe after "
			 "reload; closing its WebSocket", c->id, c->peer, who);
		http__ws_end(c, WS_CLOSE_POLICY,
			     "revoked: no longer on --allow-subscribe after reload");
		return;
	}
	if (!c->ssl)
		return;
	c->may_write = c->ident.has_cert &&
		       access_allows(&c->hs->srv->cfg->allow_write, &c->ident);
	if (before != c->may_write)
		log_info("http client %u (%s): %s by the reloaded --allow-write", c->id, c->peer,
			 c->may_write ? "may write now" : "may no longer write");
}
