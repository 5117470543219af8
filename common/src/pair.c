// SPDX-License-Identifier: MIT
/* Pairing codes and proofs: see iiostream/pair.h. */
#include "iiostream/pair.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* Crockford's base32: no I, L, O, U, so no symbol reads as another */
static const char ALPHABET[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int iios_pair_code_new(char out[IIOS_PAIR_CODE_LEN])
{
	uint8_t random[IIOS_PAIR_CODE_SYMBOLS];
	size_t i, n = 0;

	if (RAND_bytes(random, sizeof(random)) != 1)
		return -EIO;
	for (i = 0; i < IIOS_PAIR_CODE_SYMBOLS; i++) {
		if (i && i % 4 == 0)
			out[n++] = '-';
		out[n++] = ALPHABET[random[i] & 31]; /* 256 is a multiple of 32: uniform */
	}
	out[n] = '\0';
	return 0;
}

static int symbol(char c)
{
	const char *p;

	c = (char)toupper((unsigned char)c);
	if (c == 'O')
		c = '0';
	else if (c == 'I' || c == 'L')
		c = '1';
	p = c ? strchr(ALPHABET, c) : NULL;
	return p ? (int)(p - ALPHABET) : -1;
}

int iios_pair_key(const char *code, uint8_t key[IIOS_PAIR_KEY_LEN])
{
	static const char domain[] = "iiostream pair code v1";
	char canonical[IIOS_PAIR_CODE_SYMBOLS];
	size_t n = 0;
	unsigned int len = 0;
	int s;

	for (; *code; code++) {
		if (*code == '-' || *code == ' ')
			continue;
		s = symbol(*code);
		if (s < 0 || n == IIOS_PAIR_CODE_SYMBOLS)
			return -EINVAL;
		canonical[n++] = ALPHABET[s];
	}
	if (n != IIOS_PAIR_CODE_SYMBOLS)
		return -EINVAL;
	/* HMAC's key: a hash of the code, domain-separated from other uses */
	{
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
			 EVP_DigestUpdate(md, domain, sizeof(domain)) == 1 &&
			 EVP_DigestUpdate(md, canonical, n) == 1 &&
			 EVP_DigestFinal_ex(md, key, &len) == 1 && len == IIOS_PAIR_KEY_LEN;

		EVP_MD_CTX_free(md);
		return ok ? 0 : -EIO;
	}
}

int iios_pair_proof(const uint8_t key[IIOS_PAIR_KEY_LEN], enum iios_pair_role role,
		    const uint8_t exporter[IIOS_PAIR_EXPORTER_LEN],
		    const char *client_fp, const char *server_fp,
		    uint8_t proof[IIOS_PAIR_PROOF_LEN])
{
	/* NUL-terminated fields: no two inputs concatenate to the same bytes */
	const char *label = role == IIOS_PAIR_CLIENT ? "iiostream pair v1 client"
						     : "iiostream pair v1 server";
	unsigned char out[EVP_MAX_MD_SIZE];
	size_t label_len = strlen(label) + 1, c_len = strlen(client_fp) + 1,
	       s_len = strlen(server_fp) + 1, n = 0;
	unsigned char msg[64 + IIOS_PAIR_EXPORTER_LEN + 2 * 80];
	unsigned int out_len = 0;

	if (label_len + IIOS_PAIR_EXPORTER_LEN + c_len + s_len > sizeof(msg))
		return -EINVAL;
	memcpy(msg + n, label, label_len);
	n += label_len;
	memcpy(msg + n, exporter, IIOS_PAIR_EXPORTER_LEN);
	n += IIOS_PAIR_EXPORTER_LEN;
	memcpy(msg + n, client_fp, c_len);
	n += c_len;
	memcpy(msg + n, server_fp, s_len);
	n += s_len;
	if (!HMAC(EVP_sha256(), key, IIOS_PAIR_KEY_LEN, msg, n, out, &out_len) ||
	    out_len != IIOS_PAIR_PROOF_LEN)
		return -EIO;
	memcpy(proof, out, IIOS_PAIR_PROOF_LEN);
	return 0;
}
