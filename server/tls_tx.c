// SPDX-License-Identifier: MIT
/* Userspace TLS 1.3 records sealed from the mapped block: see tls_tx.h. */
#define _GNU_SOURCE
#include "tls_tx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/evp.h>

int tls_tx_init(struct tls_tx *t, SSL *ssl, const uint8_t *secret, size_t secret_len)
{
	const SSL_CIPHER *suite = SSL_get_current_cipher(ssl);
	int err;

	memset(t, 0, sizeof(*t));
	if (!suite || SSL_version(ssl) != TLS1_3_VERSION)
		return -ENOTSUP;
	err = iios_tls13_keys_init(&t->keys, SSL_CIPHER_get_cipher_nid(suite),
				   SSL_CIPHER_get_handshake_digest(suite), secret, secret_len, 1);
	if (err)
		return err;
	t->buf = malloc(TLS_TX_BUFFER);
	if (!t->buf) {
		iios_tls13_keys_free(&t->keys);
		return -ENOMEM;
	}
	return 0;
}

void tls_tx_free(struct tls_tx *t)
{
	iios_tls13_keys_free(&t->keys);
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

/* Seal one record of content `type` from the pieces; see tls_tx_seal(). */
static long seal(struct tls_tx *t, uint8_t type, const struct tls_tx_piece *pieces, unsigned n)
{
	EVP_CIPHER_CTX *aead = t->keys.aead;
	uint8_t nonce[12], *hdr = t->buf + t->len, *out = hdr + 5;
	size_t room = TLS_TX_BUFFER - t->len, take = 0, inner;
	unsigned i;
	int outl;

	if (room < TLS_TX_OVERHEAD + 1)
		return 0;
	room -= TLS_TX_OVERHEAD;
	if (room > TLS_TX_MAX_RECORD)
		room = TLS_TX_MAX_RECORD;
	for (i = 0; i < n && take < room; i++)
		take += pieces[i].len < room - take ? pieces[i].len : room - take;
	if (take == 0 && type == IIOS_TLS13_APPLICATION_DATA)
		return 0; /* nothing to say: no empty record */
	inner = take + 1 + IIOS_TLS13_TAG;
	/* TLSCiphertext: opaque_type 23, legacy version 3.3, length */
	hdr[0] = IIOS_TLS13_APPLICATION_DATA;
	hdr[1] = 3;
	hdr[2] = 3;
	hdr[3] = (uint8_t)(inner >> 8);
	hdr[4] = (uint8_t)inner;
	iios_tls13_nonce(&t->keys, nonce);
	if (EVP_EncryptInit_ex(aead, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(aead, NULL, &outl, hdr, 5) != 1)
		goto fail;
	/* one pass from the block into the record: no plaintext copy */
	for (i = 0, room = take; room; i++) {
		size_t len = pieces[i].len < room ? pieces[i].len : room;

		if (EVP_EncryptUpdate(aead, out, &outl, pieces[i].data, (int)len) != 1)
			goto fail;
		out += outl;
		room -= len;
	}
	if (EVP_EncryptUpdate(aead, out, &outl, &type, 1) != 1)
		goto fail;
	out += outl;
	if (EVP_EncryptFinal_ex(aead, out, &outl) != 1)
		goto fail;
	out += outl;
	if ((size_t)(out - hdr - 5) != take + 1 ||
	    EVP_CIPHER_CTX_ctrl(aead, EVP_CTRL_AEAD_GET_TAG, IIOS_TLS13_TAG, out) != 1)
		goto fail;
	t->len += 5 + inner;
	t->keys.seq++;
	return (long)take;

fail:
	ERR_clear_error();
	return -EIO;
}

long tls_tx_seal(struct tls_tx *t, const struct tls_tx_piece *pieces, unsigned n)
{
	return seal(t, IIOS_TLS13_APPLICATION_DATA, pieces, n);
}

int tls_tx_close_notify(struct tls_tx *t)
{
	static const uint8_t close_notify[2] = { 1, 0 }; /* warning, close_notify */
	struct tls_tx_piece p = { close_notify, sizeof(close_notify) };
	long r = seal(t, IIOS_TLS13_ALERT, &p, 1);

	return r == 2 ? 0 : r < 0 ? (int)r : -ENOBUFS;
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
