// SPDX-License-Identifier: MIT
/* A client connection's life cycle: creation, states, socket events and
 * timers, close. See session.h. */
#define _GNU_SOURCE
#include "session_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "config.h"

#include "log.h"
#include "net.h"
#include "server.h"

static void on_poll(uv_poll_t *h, int status, int events);

void session__update_poll(struct session *s)
{
	int events = UV_READABLE | (s->want_write ? UV_WRITABLE : 0);

	if (s->state == SESSION_CLOSED || events == s->poll_events)
		return;
	s->poll_events = events;
	uv_poll_start(&s->poll, events, on_poll);
}

/* The legal changes of a session's state (session.h). DRAINING may be
 * entered again (a fatal Error, then shutdown's Bye): it stays. */
static const bool state_legal[SESSION_CLOSED + 1][SESSION_CLOSED + 1] = {
	[SESSION_TLS] = { [SESSION_HANDSHAKE] = true, [SESSION_CLOSED] = true },
	[SESSION_HANDSHAKE] = { [SESSION_READY] = true, [SESSION_DRAINING] = true,
				[SESSION_CLOSED] = true },
	[SESSION_READY] = { [SESSION_DRAINING] = true, [SESSION_CLOSED] = true },
	[SESSION_DRAINING] = { [SESSION_DRAINING] = true, [SESSION_CLOSED] = true },
};

void session_set_state(struct session *s, enum session_state to)
{
	if (!state_legal[s->state][to]) {
		log_error("client %u: illegal session state change %d -> %d", s->id, s->state, to);
		abort();
	}
	s->state = to;
}

/* POLLERR with zero-copy sends made: the error queue holds completions
 * (libuv stopped the poll handle and said EBADF). */
static void on_errqueue(struct session *s)
{
	int err = s->tx.ops->errqueue(&s->tx);

	if (err) {
		session_close(s, strerror(-err));
		return;
	}
	s->poll_events = 0; /* restart the stopped handle */
	session__update_poll(s);
	session__end_if_drained(s);
}

/* The socket failed (libuv says EBADF for POLLERR; the socket knows what
 * it was). */
static void on_poll_error(struct session *s, int status)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	const char *why = uv_strerror(status);

	if (status == UV_EBADF && getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
	    soerr)
		why = strerror(soerr);
	if (s->state == SESSION_TLS && !s->lingering) {
		/* e.g. a client that refused our certificate and reset */
		s->srv->tls_handshake_failures++;
		log_warn("client %u (%s): TLS handshake failed: %s", s->id, s->peer, why);
		why = NULL;
	}
	session_close(s, why);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct session *s = h->data;

	if (status == UV_EBADF && tx_has_errqueue(&s->tx)) {
		on_errqueue(s);
		return;
	}
	if (status < 0) {
		on_poll_error(s, status);
		return;
	}
	if (s->lingering) {
		session__linger_read(s);
		return;
	}
	if (s->state == SESSION_TLS) {
		session__tls_step(s);
		return;
	}
	if (!TAILQ_EMPTY(&s->tx.q.pinned))
		session__release(s);
	if (events & UV_WRITABLE) {
		s->want_write = false;
		session__flush_or_close(s);
	}
	if ((events & UV_READABLE) && s->state != SESSION_CLOSED)
		session__readable(s);
}

void session_check_idle(struct session *s, uint64_t now_ns)
{
	uint64_t limit = (uint64_t)s->srv->cfg->idle_timeout_s * 1000000000ull;

	if (!limit || s->state != SESSION_READY)
		return; /* the handshake has its own deadline */
	if (!TAILQ_EMPTY(&s->tx.q.outq)) {
		if (now_ns - s->tx.last_tx_ns < limit)
			return;
		/* its socket took nothing for that long: it is stalled (the
		 * Error waits behind what it does not read; the drain timeout
		 * then closes) */
		log_warn("client %u (%s): took no byte for %u s (--idle-timeout): closing", s->id,
			 s->peer, s->srv->cfg->idle_timeout_s);
		s->srv->idle_closed++;
		session_send_error(s, ETIMEDOUT, true, "took no data for %u s: closing",
				   s->srv->cfg->idle_timeout_s);
		return;
	}
	if (s->nsubs || now_ns - s->last_rx_ns < limit)
		return; /* waiting for the source is not idleness */
	log_info("client %u (%s): idle for %u s (--idle-timeout): closing", s->id, s->peer,
		 s->srv->cfg->idle_timeout_s);
	s->srv->idle_closed++;
	session_send_error(s, ETIMEDOUT, true, "idle for %u s: closing",
			   s->srv->cfg->idle_timeout_s);
}

void session__on_deadline(uv_timer_t *t)
{
	struct session *s = t->data;

	if (s->lingering) {
		session_close(s, NULL);
		return;
	}
	if (s->state == SESSION_HANDSHAKE) {
		/* the connection is framed (plain, or TLS after its handshake):
		 * the client can read why, as from any other limit */
		session_send_error(s, ETIMEDOUT, true, "no Hello within %u ms (--handshake-timeout)",
				   s->srv->cfg->handshake_timeout_ms);
		return;
	}
	/* a TLS handshake unfinished has no record to carry an Error in */
	if (s->state == SESSION_TLS)
		s->srv->tls_handshake_failures++;
	session_close(s, s->state == SESSION_TLS ? "no TLS handshake in time (--handshake-timeout)"
						 : "did not read its last frames in time");
}

/* The only place a session is freed: its last handle closed. */
static void on_handle_closed(uv_handle_t *h)
{
	struct session *s = h->data;

	if (--s->open_handles > 0)
		return;
	SSL_free(s->ssl);
	tx_free(&s->tx); /* after SSL_free: its BIO wrote into tx */
	close(s->fd);
	free(s);
}

static void log_zerocopy(const struct session *s)
{
	const struct tx *t = &s->tx;

	log_info("client %u: %s, %" PRIu64 " zero-copy sends, %" PRIu64 " completed (%" PRIu64
		 " copied by the kernel), %" PRIu64 " fell back on ENOBUFS", s->id,
		 session_transport(s), t->zc_sends, t->zc_completed, t->zc_copied, t->zc_enobufs);
}

void session_close(struct session *s, const char *why)
{
	struct server *srv = s->srv;

	if (s->state == SESSION_CLOSED)
		return;
	if (why)
		log_info("client %u (%s) closed: %s", s->id, s->peer, why);
	if (s->tx.zc_sends)
		log_zerocopy(s);
	session_unsubscribe(s, NULL);
	session_tx_close(s);
	/* A clean end of a TLS session says so (close_notify), best effort;
	 * OpenSSL seals it (through the kernel with kTLS, into tx without). */
	if (s->ssl && s->state == SESSION_DRAINING && tx_all_sent(&s->tx))
		SSL_shutdown(s->ssl);
	/* What OpenSSL sealed last, e.g. the alert after a record that failed
	 * authentication, goes out if the socket takes it now. */
	tx_flush_sealed(&s->tx);
	ERR_clear_error();
	session_set_state(s, SESSION_CLOSED);
	/* Every block goes back now, sent or not; the memory goes later. */
	tx_abort(&s->tx);
	TAILQ_REMOVE(&s->net->sessions, s, link);
	s->net->nsessions--;
	uv_close((uv_handle_t *)&s->poll, on_handle_closed);
	uv_close((uv_handle_t *)&s->deadline, on_handle_closed);
	uv_close((uv_handle_t *)&s->ack_timer, on_handle_closed);
	server_client_gone(srv);
}

/* The libuv handles; 0 or a libuv error (nothing to undo then). */
static int init_handles(struct session *s)
{
	int err = uv_poll_init(s->srv->loop, &s->poll, s->fd);

	if (err)
		return err;
	uv_timer_init(s->srv->loop, &s->deadline);
	uv_timer_init(s->srv->loop, &s->ack_timer);
	s->poll.data = s;
	s->deadline.data = s;
	s->ack_timer.data = s;
	s->open_handles = 3;
	return 0;
}

int session_create(struct net_server *net, int fd, const char *peer, bool tls)
{
	struct server *srv = net->srv;
	struct session *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	if (tls) {
		s->ssl = tls_server_new(&srv->tls, fd);
		if (!s->ssl) {
			free(s);
			return -ENOMEM;
		}
	}
	s->srv = srv;
	s->net = net;
	s->fd = fd;
	s->id = ++net->next_session_id;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	s->state = tls ? SESSION_TLS : SESSION_HANDSHAKE;
	tx_init(&s->tx, fd, s->id, s->peer);
	tx_choose(&s->tx, srv->cfg->transport, tls);
	err = init_handles(s);
	if (err) {
		SSL_free(s->ssl);
		free(s);
		return err;
	}
	/* beyond --max-clients: served only until it can be told so, at Hello */
	s->over_limit = server_refuse_client(srv, peer, tls ? "TLS port" : "plain port");
	s->last_rx_ns = s->tx.last_tx_ns = s->rate_mark_ns = monotonic_ns();
	TAILQ_INSERT_TAIL(&net->sessions, s, link);
	net->nsessions++;
	srv->clients_total++;
	session__update_poll(s);
	uv_timer_start(&s->deadline, session__on_deadline, s->srv->cfg->handshake_timeout_ms, 0);
	log_info("client %u (%s) connected%s", s->id, s->peer, tls ? " to the TLS port" : "");
	return 0;
}

void session_sample_rate(struct session *s, uint64_t now_ns)
{
	uint64_t dt = now_ns - s->rate_mark_ns;

	if (dt == 0)
		return;
	s->rate_bps = (double)(s->tx.q.bytes_sent - s->rate_mark_bytes) * 1e9 / (double)dt;
	s->rate_mark_bytes = s->tx.q.bytes_sent;
	s->rate_mark_ns = now_ns;
}

/* "tls" or "ktls" on the TLS port; else
 * "copy", "zerocopy", "sendfile", "sendfile:copy" (no hardware NIC); under
 * --transport auto "auto:copy" (local peer), "auto:zerocopy", or
 * "auto:copied" (zero-copy sends came back copied). */
const char *session_transport(const struct session *s)
{
	if (s->ssl)
		return s->tx.ops == &tx_ktls_ops ? "ktls" : "tls";
	return tx_label(&s->tx);
}
