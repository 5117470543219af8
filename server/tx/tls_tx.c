// SPDX-License-Identifier: MIT
/* Userspace TLS send side, OpenSSL sealing into our buffer: see tls_tx.h. */
#define _GNU_SOURCE
#include "tls_tx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>

/* The BIO's write: append OpenSSL's sealed bytes to the buffer. It never
 * asks OpenSSL to retry, so a record is either wholly in buf or the
 * connection has failed. */
static int buffer_write(BIO *bio, const char *data, size_t len, size_t *written)
{
	struct tls_tx *t = BIO_get_data(bio);

	if (t->len + len > t->cap) {
		size_t cap = t->cap ? t->cap : TLS_TX_BUFFER + 2 * (TLS_TX_MAX_RECORD + 22);
		uint8_t *bigger;

		while (cap < t->len + len)
			cap *= 2;
		if (cap > TLS_TX_HARD_LIMIT) {
			t->overflow = true;
			return 0;
		}
		bigger = realloc(t->buf, cap);
		if (!bigger)
			return 0;
		t->buf = bigger;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, data, len);
	t->len += len;
	*written = len;
	return 1;
}

static long buffer_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	struct tls_tx *t = BIO_get_data(bio);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1; /* the daemon sends the buffer when the socket has room */
	case BIO_CTRL_WPENDING:
		return t ? (long)(t->len - t->sent) : 0;
	default:
		return 0;
	}
}

static int buffer_create(BIO *bio)
{
	BIO_set_init(bio, 1);
	return 1;
}

static BIO_METHOD *buffer_method(void)
{
	static BIO_METHOD *method; /* one for the process; the daemon has one thread */

	if (!method) {
		BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
					     "iiostreamd TLS send buffer");

		if (!m)
			return NULL;
		if (BIO_meth_set_write_ex(m, buffer_write) != 1 ||
		    BIO_meth_set_ctrl(m, buffer_ctrl) != 1 ||
		    BIO_meth_set_create(m, buffer_create) != 1) {
			BIO_meth_free(m);
			return NULL;
		}
		method = m;
	}
	return method;
}

int tls_tx_attach(struct tls_tx *t, SSL *ssl)
{
	BIO_METHOD *m = buffer_method();
	BIO *bio = m ? BIO_new(m) : NULL;

	memset(t, 0, sizeof(*t));
	if (!bio) {
		ERR_clear_error();
		return -ENOMEM;
	}
	BIO_set_data(bio, t);
	/* The handshake is over and its flights are sent: nothing of the
	 * socket BIO's is pending. The read side stays on the socket. */
	SSL_set0_wbio(ssl, bio);
	return 0;
}

void tls_tx_free(struct tls_tx *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

long tls_tx_write(struct tls_tx *t, SSL *ssl, const void *data, size_t len, char *why,
		  size_t whylen)
{
	size_t taken = 0;
	unsigned long e;
	int ret;

	if (len > TLS_TX_MAX_RECORD)
		len = TLS_TX_MAX_RECORD;
	ERR_clear_error();
	ret = SSL_write_ex(ssl, data, len, &taken);
	if (ret == 1)
		return (long)taken;
	if (t->overflow) {
		snprintf(why, whylen, "more than %d bytes of TLS records waiting for the peer",
			 TLS_TX_HARD_LIMIT);
		ERR_clear_error();
		return -ENOBUFS;
	}
	e = ERR_peek_last_error();
	snprintf(why, whylen, "TLS write: %s",
		 e && ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "session ended");
	ERR_clear_error();
	return SSL_get_error(ssl, ret) == SSL_ERROR_SSL ? -EPROTO : -EPIPE;
}

int tls_tx_send(struct tls_tx *t, int fd)
{
	while (t->sent < t->len) {
		ssize_t n = send(fd, t->buf + t->sent, t->len - t->sent, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		t->sent += (size_t)n;
	}
	t->len = t->sent = 0;
	return 0;
}
