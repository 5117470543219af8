/* SPDX-License-Identifier: MIT */
/*
 * Userspace TLS send side: OpenSSL seals every record, into a buffer of
 * ours that leaves in large send() calls.
 *
 * After the handshake, when the kernel did not take the send keys (no
 * kTLS), the connection's write BIO is replaced by one that appends to
 * `buf` (tls_tx_attach()). From then on everything OpenSSL writes on the
 * connection (application data from SSL_write, and alerts, close_notify,
 * the KeyUpdate a peer may ask for, any post-handshake message) lands in
 * `buf` in the order OpenSSL sealed it, with OpenSSL's own record sequence
 * numbers: OpenSSL is the only party that ever holds the send key, so no
 * nonce can be used twice. The daemon only moves sealed bytes to the socket.
 *
 * Why a buffer and not the socket BIO: OpenSSL's socket BIO writes each
 * 16 KiB record with its own write() (and says WANT_WRITE half-way through a
 * record when the socket is full); here about 256 KiB of records leave in
 * one send(), and SSL_write never blocks. The daemon stops writing while the
 * buffer holds TLS_TX_BUFFER bytes, so a slow peer holds a bounded amount.
 *
 * A block's bytes are no longer needed once SSL_write_ex() has taken them:
 * OpenSSL encrypts them into `buf` before it returns.
 * (This replaced hand-made record sealing with keys taken from OpenSSL's key
 * log, which let OpenSSL's own alerts reuse sequence numbers: see
 * docs/security.md, "TLS records".)
 */
#ifndef IIOSTREAMD_TLS_TX_H
#define IIOSTREAMD_TLS_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

/* Most plaintext in one TLS record (RFC 8446 5.1). */
#define TLS_TX_MAX_RECORD 16384
/* Sealed bytes the daemon lets wait for the socket before it stops calling
 * SSL_write: 16 full records. */
#define TLS_TX_BUFFER (16 * (TLS_TX_MAX_RECORD + 22))
/* What OpenSSL may add beyond that on its own (alerts, a KeyUpdate reply)
 * is accepted up to this much; past it the connection fails (a peer that
 * makes the daemon write without reading). */
#define TLS_TX_HARD_LIMIT (4 * TLS_TX_BUFFER)

struct tls_tx {
	uint8_t *buf;             /* sealed records waiting for the socket */
	size_t cap;               /* bytes allocated at buf */
	size_t len;               /* bytes in buf */
	size_t sent;              /* of them, bytes the socket took */
	bool overflow;            /* OpenSSL wrote past TLS_TX_HARD_LIMIT */
};

/* After the handshake: make `ssl` write into t instead of its socket (the
 * read side stays on the socket). 0, or -ENOMEM. The SSL owns the new BIO;
 * t must outlive the SSL's last write, and be freed after SSL_free(). */
int tls_tx_attach(struct tls_tx *t, SSL *ssl);

void tls_tx_free(struct tls_tx *t);

/* Room for another record? */
static inline bool tls_tx_has_room(const struct tls_tx *t)
{
	return t->len < TLS_TX_BUFFER;
}

/* Sealed bytes not yet sent? */
static inline bool tls_tx_pending(const struct tls_tx *t)
{
	return t->sent < t->len;
}

/* SSL_write_ex one record of application data (at most TLS_TX_MAX_RECORD
 * bytes of data[len]): the number of bytes taken, or a negative errno
 * (-EPIPE after a fatal alert or close, -ENOBUFS past the hard limit,
 * -EPROTO otherwise) with `why` in words. */
long tls_tx_write(struct tls_tx *t, SSL *ssl, const void *data, size_t len, char *why,
		  size_t whylen);

/* Send what is sealed: 0 when all of it went, -EAGAIN when the socket is
 * full (the rest waits), or a negative errno. */
int tls_tx_send(struct tls_tx *t, int fd);

#endif /* IIOSTREAMD_TLS_TX_H */
