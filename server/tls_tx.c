// SPDX-License-Identifier: MIT
/* Userspace TLS 1.3 records sealed from the mapped block: see tls_tx.h. */
#define _GNU_SOURCE
#include "tls_tx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#define CONTENT_ALERT 21
#define CONTENT_APPLICATION_DATA 23

/* HKDF-Expand-Label(secret, label, "", len) of RFC 8446 section 7.1. */
static int expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
			const char *label, uint8_t *out, size_t len)
{
	uint8_t info[2 + 1 + 255 + 1];
	size_t label_len = strlen("tls13 ") + strlen(label), n = 0;
	OSSL_PARAM params[5];
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, ok;

	info[n++] = (uint8_t)(len >> 8);
	info[n++] = (uint8_t)len;
	info[n++] = (uint8_t)label_len;
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, strlen(label));
	n += label_len;
	info[n++] = 0; /* empty context */
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!kctx)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)EVP_MD_get0_name(md), 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret,
						      secret_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	params[4] = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, out, len, params);
	EVP_KDF_CTX_free(kctx);
	return ok == 1 ? 0 : -EINVAL;
}

int tls_tx_init(struct tls_tx *t, SSL *ssl, const uint8_t *secret, size_t secret_len)
{
	const SSL_CIPHER *suite = SSL_get_current_cipher(ssl);
	const EVP_MD *md = suite ? SSL_CIPHER_get_handshake_digest(suite) : NULL;
	const char *name;
	EVP_CIPHER *cipher;
	uint8_t key[32];
	int key_len, err;

	memset(t, 0, sizeof(*t));
	if (!suite || !md || SSL_version(ssl) != TLS1_3_VERSION)
		return -ENOTSUP;
	switch (SSL_CIPHER_get_cipher_nid(suite)) {
	case NID_aes_128_gcm:
		name = "AES-128-GCM";
		break;
	case NID_aes_256_gcm:
		name = "AES-256-GCM";
		break;
	case NID_chacha20_poly1305:
		name = "ChaCha20-Poly1305";
		break;
	default:
		return -ENOTSUP; /* e.g. AES-CCM: OpenSSL's own path serves it */
	}
	cipher = EVP_CIPHER_fetch(NULL, name, NULL);
	if (!cipher)
		return -ENOTSUP;
	key_len = EVP_CIPHER_get_key_length(cipher);
	err = -ENOMEM;
	t->buf = malloc(TLS_TX_BUFFER);
	t->aead = EVP_CIPHER_CTX_new();
	if (!t->buf || !t->aead)
		goto fail;
	err = expand_label(md, secret, secret_len, "key", key, (size_t)key_len);
	if (!err)
		err = expand_label(md, secret, secret_len, "iv", t->iv, sizeof(t->iv));
	if (err)
		goto fail;
	if (EVP_EncryptInit_ex(t->aead, cipher, NULL, key, NULL) != 1) {
		err = -EINVAL;
		goto fail;
	}
	t->tag_len = 16;
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_free(cipher);
	return 0;

fail:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_free(cipher);
	tls_tx_free(t);
	ERR_clear_error();
	return err;
}

void tls_tx_free(struct tls_tx *t)
{
	EVP_CIPHER_CTX_free(t->aead);
	free(t->buf);
	OPENSSL_cleanse(t->iv, sizeof(t->iv));
	memset(t, 0, sizeof(*t));
}

/* Seal one record of content `type` from the pieces; see tls_tx_seal(). */
static long seal(struct tls_tx *t, uint8_t type, const struct tls_tx_piece *pieces, unsigned n)
{
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
	inner = take + 1 + (size_t)t->tag_len;
	/* TLSCiphertext: opaque_type 23, legacy version 3.3, length */
	hdr[0] = CONTENT_APPLICATION_DATA;
	hdr[1] = 3;
	hdr[2] = 3;
	hdr[3] = (uint8_t)(inner >> 8);
	hdr[4] = (uint8_t)inner;
	/* per-record nonce: the IV XOR the 64-bit sequence number */
	memcpy(nonce, t->iv, sizeof(nonce));
	for (i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t)(t->seq >> (56 - 8 * i));
	if (EVP_EncryptInit_ex(t->aead, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(t->aead, NULL, &outl, hdr, 5) != 1)
		goto fail;
	/* one pass from the block into the record: no plaintext copy */
	for (i = 0, room = take; room; i++) {
		size_t len = pieces[i].len < room ? pieces[i].len : room;

		if (EVP_EncryptUpdate(t->aead, out, &outl, pieces[i].data, (int)len) != 1)
			goto fail;
		out += outl;
		room -= len;
	}
	if (EVP_EncryptUpdate(t->aead, out, &outl, &type, 1) != 1)
		goto fail;
	out += outl;
	if (EVP_EncryptFinal_ex(t->aead, out, &outl) != 1)
		goto fail;
	out += outl;
	if ((size_t)(out - hdr - 5) != take + 1 ||
	    EVP_CIPHER_CTX_ctrl(t->aead, EVP_CTRL_AEAD_GET_TAG, t->tag_len, out) != 1)
		goto fail;
	t->len += 5 + inner;
	t->seq++;
	return (long)take;

fail:
	ERR_clear_error();
	return -EIO;
}

long tls_tx_seal(struct tls_tx *t, const struct tls_tx_piece *pieces, unsigned n)
{
	return seal(t, CONTENT_APPLICATION_DATA, pieces, n);
}

int tls_tx_close_notify(struct tls_tx *t)
{
	static const uint8_t close_notify[2] = { 1, 0 }; /* warning, close_notify */
	struct tls_tx_piece p = { close_notify, sizeof(close_notify) };
	long r = seal(t, CONTENT_ALERT, &p, 1);

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
