// SPDX-License-Identifier: MIT
/* The TLS handshake of a session on the TLS port, and what follows a
 * refused one. See session.h. */
#define _GNU_SOURCE
#include "session_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"

#include "log.h"
#include "server.h"

/* Plain bytes on the TLS port: say so in plain protocol, then close. */
static void plain_on_tls_port(struct session *s)
{
	SSL_free(s->ssl);
	s->ssl = NULL;
	session_set_state(s, SESSION_HANDSHAKE);
	session_send_error(s, EPROTO, true,
			   "this port speaks TLS: connect with tls://, or use the plain TCP port");
}

/* The TLS handshake is done: who the client is, and who encrypts. */
static void tls_established(struct session *s)
{
	char desc[96], who[400];
	bool kernel;
	int err;

	tls_peer_identity(s->ssl, &s->ident);
	kernel = tls_kernel_sends(&s->srv->tls, s->ssl, s->tls_encrypt, sizeof(s->tls_encrypt));
	err = tx_start_tls(&s->tx, s->ssl, kernel);
	if (err) {
		s->srv->tls_handshake_failures++;
		log_error("client %u (%s): no TLS send buffer: %s", s->id, s->peer,
			  strerror(-err));
		session_close(s, NULL);
		return;
	}
	s->srv->tls_handshakes++;
	tls_describe(s->ssl, desc, sizeof(desc));
	access_describe(&s->ident, who, sizeof(who));
	log_info("client %u (%s): %s, %s encrypts, client %s", s->id, s->peer, desc,
		 kernel ? "the kernel" : "userspace", who);
	if (!kernel)
		log_debug("client %u: %s", s->id, s->tls_encrypt);
	session_set_state(s, SESSION_HANDSHAKE);
	s->want_write = false;
	session__update_poll(s);
	uv_timer_start(&s->deadline, session__on_deadline, s->srv->cfg->handshake_timeout_ms, 0);
}

/* Does the connection start with a TLS handshake record (22)? 1 yes, 0
 * not yet known, -1 the session was closed or told. */
static int first_byte_is_tls(struct session *s)
{
	int r = tls_peek_first_byte(s->fd);

	if (r == -ESHUTDOWN) {
		session_close(s, "closed before the TLS handshake");
		return -1;
	}
	if (r == -EPROTO) {
		plain_on_tls_port(s);
		return -1;
	}
	if (r < 0)
		session_close(s, strerror(-r));
	return r;
}

/* OpenSSL refused the handshake and has sent the alert. Closing now, with
 * the client's next records unread, would send a reset that can destroy
 * the alert in flight: end our side and wait for theirs. */
static void refused(struct session *s, const char *why)
{
	s->srv->tls_handshake_failures++;
	log_warn("client %u (%s): TLS handshake refused: %s", s->id, s->peer, why);
	s->lingering = true;
	shutdown(s->fd, SHUT_WR);
	s->want_write = false;
	session__update_poll(s);
	uv_timer_start(&s->deadline, session__on_deadline, SESSION_LINGER_MS, 0);
}

void session__tls_step(struct session *s)
{
	char why[240];

	if (!s->tls_first_byte_seen) {
		if (first_byte_is_tls(s) <= 0)
			return;
		s->tls_first_byte_seen = true;
	}
	switch (tls_handshake(s->ssl, why, sizeof(why))) {
	case TLS_IO_DONE:
		tls_established(s);
		break;
	case TLS_IO_WANT_READ:
		s->want_write = false;
		session__update_poll(s);
		break;
	case TLS_IO_WANT_WRITE:
		s->want_write = true;
		session__update_poll(s);
		break;
	default:
		refused(s, why);
		break;
	}
}

void session__linger_read(struct session *s)
{
	uint8_t sink[4096];
	ssize_t n = recv(s->fd, sink, sizeof(sink), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		session_close(s, NULL);
}
