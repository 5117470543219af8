// SPDX-License-Identifier: MIT
/* TLS 1.3 record keys: see iiostream/tls13.h. */
#include "iiostream/tls13.h"

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>

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

int iios_tls13_keys_init(struct iios_tls13_keys *k, int cipher_nid, const EVP_MD *md,
			 const uint8_t *secret, size_t secret_len, int encrypt)
{
	const char *name;
	EVP_CIPHER *cipher;
	uint8_t key[32];
	int key_len, err;

	memset(k, 0, sizeof(*k));
	switch (cipher_nid) {
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
		return -ENOTSUP; /* e.g. AES-CCM */
	}
	if (!md)
		return -EINVAL;
	cipher = EVP_CIPHER_fetch(NULL, name, NULL);
	if (!cipher)
		return -ENOTSUP;
	key_len = EVP_CIPHER_get_key_length(cipher);
	err = -ENOMEM;
	k->aead = EVP_CIPHER_CTX_new();
	if (!k->aead || key_len > (int)sizeof(key))
		goto fail;
	err = expand_label(md, secret, secret_len, "key", key, (size_t)key_len);
	if (!err)
		err = expand_label(md, secret, secret_len, "iv", k->iv, sizeof(k->iv));
	if (err)
		goto fail;
	if (EVP_CipherInit_ex(k->aead, cipher, NULL, key, NULL, encrypt) != 1) {
		err = -EINVAL;
		goto fail;
	}
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_free(cipher);
	return 0;

fail:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_free(cipher);
	iios_tls13_keys_free(k);
	ERR_clear_error();
	return err;
}

void iios_tls13_keys_free(struct iios_tls13_keys *k)
{
	EVP_CIPHER_CTX_free(k->aead);
	OPENSSL_cleanse(k, sizeof(*k));
	k->aead = NULL;
}

int iios_tls13_next_secret(const EVP_MD *md, uint8_t *secret, size_t len)
{
	uint8_t next[64];
	int err;

	if (!md || len > sizeof(next))
		return -EINVAL;
	err = expand_label(md, secret, len, "traffic upd", next, len);
	if (!err)
		memcpy(secret, next, len);
	OPENSSL_cleanse(next, sizeof(next));
	return err;
}

void iios_tls13_nonce(const struct iios_tls13_keys *k, uint8_t nonce[12])
{
	int i;

	memcpy(nonce, k->iv, 12);
	for (i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t)(k->seq >> (56 - 8 * i));
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t iios_tls13_keylog_secret(const char *line, const char *label, uint8_t out[64])
{
	size_t label_len = strlen(label), n = 0;
	const char *hex;

	/* "LABEL CLIENT_RANDOM SECRET", both in hex */
	if (strncmp(line, label, label_len) != 0 || line[label_len] != ' ')
		return 0;
	hex = strchr(line + label_len + 1, ' ');
	if (!hex)
		return 0;
	for (hex++; n < 64 && hex[0] && hex[1]; hex += 2) {
		int hi = hex_nibble(hex[0]), lo = hex_nibble(hex[1]);

		if (hi < 0 || lo < 0)
			return 0;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return n;
}
