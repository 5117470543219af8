/* SPDX-License-Identifier: MIT */
/*
 * TLS 1.3 record protection (RFC 8446 5.2-5.3, 7.1-7.3), shared by the
 * daemon, which seals records from the mapped block when the kernel cannot
 * (server/tx/tls_tx.c), and the client library, which opens them straight
 * into its block buffer (client/lib/tls.c). OpenSSL does the handshake;
 * these take over one direction of a connection with its traffic secret.
 */
#ifndef IIOSTREAM_TLS13_H
#define IIOSTREAM_TLS13_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#define IIOS_TLS13_MAX_PLAINTEXT 16384   /* bytes of data per record */
#define IIOS_TLS13_HEADER 5              /* type, version, length */
#define IIOS_TLS13_TAG 16                /* every suite's AEAD tag */
/* a record's length field: at most 2^14 + 256 (RFC 8446 5.2) */
#define IIOS_TLS13_MAX_CIPHERTEXT (IIOS_TLS13_MAX_PLAINTEXT + 256)

#define IIOS_TLS13_ALERT 21
#define IIOS_TLS13_HANDSHAKE 22
#define IIOS_TLS13_APPLICATION_DATA 23

/* post-handshake messages (RFC 8446 4.6) */
#define IIOS_TLS13_NEW_SESSION_TICKET 4
#define IIOS_TLS13_KEY_UPDATE 24

/* One direction of a TLS 1.3 connection: AEAD key, IV, sequence number. */
struct iios_tls13_keys {
	EVP_CIPHER_CTX *aead;
	uint8_t iv[12];
	uint64_t seq;            /* of the next record */
};

/*
 * Derive the key and IV from a traffic secret (HKDF-Expand-Label "key",
 * "iv" with the suite's hash `md`) for the suite's AEAD, given by its
 * OpenSSL NID (NID_aes_128_gcm, NID_aes_256_gcm, NID_chacha20_poly1305),
 * to seal (encrypt 1) or open (0). 0, or -ENOTSUP for another AEAD,
 * -ENOMEM, -EINVAL.
 */
int iios_tls13_keys_init(struct iios_tls13_keys *k, int cipher_nid, const EVP_MD *md,
			 const uint8_t *secret, size_t secret_len, int encrypt);
void iios_tls13_keys_free(struct iios_tls13_keys *k);

/* KeyUpdate (RFC 8446 4.6.3, 7.2): the next traffic secret of a direction,
 * HKDF-Expand-Label(secret, "traffic upd", "", len), in place. 0 or -EINVAL. */
int iios_tls13_next_secret(const EVP_MD *md, uint8_t *secret, size_t len);

/* The nonce of the next record: the IV XOR the sequence number. */
void iios_tls13_nonce(const struct iios_tls13_keys *k, uint8_t nonce[12]);

/* The traffic secret OpenSSL's key log gives for `label` (e.g.
 * "SERVER_TRAFFIC_SECRET_0") in `line`, into out[64]: its length, or 0 if
 * the line is another one. */
size_t iios_tls13_keylog_secret(const char *line, const char *label, uint8_t out[64]);

#endif /* IIOSTREAM_TLS13_H */
