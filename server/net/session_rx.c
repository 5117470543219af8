// SPDX-License-Identifier: MIT
/* A session's receive path: reading (plain or TLS) and acting on every
 * whole frame read. See session.h. */
#define _GNU_SOURCE
#include "session_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include "config.h"

#include "clock.h"
#include "protocol.h"
#include "server.h"

/* One read from TLS: as session_read(). */
static ssize_t tls_read(struct session *s, void *buf, size_t len, char *why, size_t whylen)
{
	size_t got = 0;
	int ret;

	ERR_clear_error();
	errno = 0;
	ret = SSL_read_ex(s->ssl, buf, len, &got);
	if (tx_sealed_pending(&s->tx)) {
		/* reading made OpenSSL write (an alert): it leaves with the
		 * next flush, or from session_close() if the read failed */
		s->want_write = true;
		session__update_poll(s);
	}
	if (ret > 0)
		return (ssize_t)got;
	switch (tls_result(s->ssl, ret, why, whylen)) {
	case TLS_IO_WANT_READ:
		return -EAGAIN;
	case TLS_IO_WANT_WRITE:
		s->want_write = true; /* poll says when; the read is retried */
		session__update_poll(s);
		return -EAGAIN;
	case TLS_IO_CLOSED:
		return 0;
	default:
		return -EPROTO;
	}
}

/* One read from the socket, or from TLS: > 0 bytes, 0 at the peer's close,
 * -EAGAIN when nothing is there, or another negative errno (*why says it). */
static ssize_t session_read(struct session *s, void *buf, size_t len, char *why, size_t whylen)
{
	ssize_t n;

	if (s->ssl)
		return tls_read(s, buf, len, why, whylen);
	do
		n = recv(s->fd, buf, len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	return n;
}

/* A frame that does not parse: a fatal Error saying why. */
static void bad_frame(struct session *s, long used, const uint8_t *p)
{
	uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];

	if (used == -EMSGSIZE)
		session_send_error(s, EMSGSIZE, true,
				   "bad frame: length %u out of bounds (1..%u, --max-frame)", len,
				   s->srv->cfg->max_frame);
	else
		session_send_error(s, EBADMSG, true, "bad frame: envelope does not decode");
}

/* Act on every whole frame in rx; keep the partial rest. */
static void parse_frames(struct session *s)
{
	size_t off = 0;

	while (s->state == SESSION_HANDSHAKE || s->state == SESSION_READY) {
		Iiostream__Envelope *env;
		size_t want;
		uint8_t *dst = session_tx_payload_dst(s, &want);
		long used;

		if (dst) {
			/* a TxBlock's payload: its first bytes came in with
			 * its head; the rest is read straight into the block */
			size_t n = s->rx_len - off < want ? s->rx_len - off : want;

			if (!n)
				break;
			memcpy(dst, s->rx + off, n);
			off += n;
			session_tx_payload_got(s, n);
			continue;
		}
		used = iios_frame_parse(s->rx + off, s->rx_len - off, s->srv->cfg->max_frame, &env);

		if (used == IIOS_FRAME_PARTIAL)
			break;
		if (used < 0) {
			bad_frame(s, used, s->rx + off);
			return;
		}
		off += (size_t)used;
		protocol_handle(s, env);
		iios_frame_free(env);
	}
	if (s->state == SESSION_CLOSED)
		return;
	memmove(s->rx, s->rx + off, s->rx_len - off);
	s->rx_len -= off;
}

/* How much to read into rx: all the room there is, except on a plain
 * connection that transmits, where a frame head is read alone (its length
 * peeked first) so that the TxBlock payload after it is read straight into
 * the device's block, not into rx and copied (an extra recv() per frame). */
static size_t rx_room(struct session *s)
{
	size_t room = sizeof(s->rx) - s->rx_len;
	uint8_t prefix[IIOS_FRAME_PREFIX];
	uint32_t len;
	ssize_t n;

	if (s->ssl || !s->txm.os || s->state != SESSION_READY)
		return room;
	if (s->rx_len)
		return room; /* a head already begun: its bytes are coming */
	n = recv(s->fd, prefix, sizeof(prefix), MSG_PEEK | MSG_DONTWAIT);
	if (n != (ssize_t)sizeof(prefix))
		return room;
	len = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 | (uint32_t)prefix[2] << 8 |
	      prefix[3];
	if (len == 0 || len > room - IIOS_FRAME_PREFIX)
		return room; /* out of bounds: the parser says so */
	return IIOS_FRAME_PREFIX + len;
}

/* Read what arrived and act on every whole frame in it. One recv() per
 * readiness event: a client that floods us must not keep the loop from
 * serving everyone else (uv_poll is level-triggered, so we come back). */
static void on_readable(struct session *s)
{
	uint8_t *dst = NULL;
	char why[200];
	size_t want = 0;
	ssize_t n;

	if (s->rx_len == sizeof(s->rx))
		return; /* cannot happen: a whole frame fits and is parsed */
	if (s->state == SESSION_READY && s->rx_len == 0)
		dst = session_tx_payload_dst(s, &want);
	if (dst)
		/* a TxBlock's payload, straight into the device's block */
		n = session_read(s, dst, want, why, sizeof(why));
	else
		n = session_read(s, s->rx + s->rx_len, rx_room(s), why, sizeof(why));
	if (n == 0) {
		session_close(s, s->state == SESSION_DRAINING ? NULL : "peer closed");
		return;
	}
	if (n < 0) {
		if (n != -EAGAIN)
			session_close(s, why);
		return;
	}
	s->last_rx_ns = monotonic_ns();
	if (dst) {
		session_tx_payload_got(s, (size_t)n);
		return;
	}
	if (s->state == SESSION_DRAINING)
		return; /* discard: we are leaving */
	if (!s->ssl && s->state == SESSION_HANDSHAKE && s->rx_len == 0 && n >= 3 &&
	    s->rx[0] == 0x16 && s->rx[1] == 0x03) {
		/* A TLS record (ClientHello) where a Hello frame belongs. */
		session_send_error(s, EPROTO, true,
				   "TLS on the plain TCP port: use tcp:// here, or tls:// on the "
				   "TLS port");
		return;
	}
	s->rx_len += (size_t)n;
	parse_frames(s);
}

void session__readable(struct session *s)
{
	int more = 16;

	on_readable(s);
	/* Plaintext OpenSSL decrypted but we had no room for does not make
	 * the socket readable: take it now. */
	while (s->ssl && s->state != SESSION_CLOSED && SSL_pending(s->ssl) > 0 && more--)
		on_readable(s);
}
