/* SPDX-License-Identifier: MIT */
/*
 * Userspace TLS 1.3 records, sealed straight from the mapped block.
 *
 * After the handshake, when the kernel cannot take the send keys (no kTLS),
 * the daemon takes them itself rather than going through SSL_write():
 * OpenSSL's record layer copies each record's plaintext into its write
 * buffer before encrypting it there, and sends every 16 KiB record with its
 * own write(). Here each record is encrypted in one pass from the frame
 * head and the block (AEAD updates over several pieces) into a ciphertext
 * buffer of about 256 KiB that leaves in one send(). A block is no longer
 * needed once its last byte is sealed.
 *
 * The traffic secret comes from OpenSSL's key-log callback (the only public
 * way to it), the key and IV from HKDF-Expand-Label (RFC 8446 7.1), the
 * nonce from the IV and the record sequence number (RFC 8446 5.3). OpenSSL
 * must then never write on the connection again: it still decrypts what the
 * client sends, which needs no send key. A KeyUpdate request from the peer
 * would need one; iiostream clients never send it (see docs/security.md).
 */
#ifndef IIOSTREAMD_TLS_TX_H
#define IIOSTREAMD_TLS_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "iiostream/tls13.h"

#define TLS_TX_MAX_RECORD IIOS_TLS13_MAX_PLAINTEXT
/* header, inner content type, tag */
#define TLS_TX_OVERHEAD (IIOS_TLS13_HEADER + 1 + IIOS_TLS13_TAG)
#define TLS_TX_BUFFER (16 * (TLS_TX_MAX_RECORD + TLS_TX_OVERHEAD))

struct tls_tx {
	struct iios_tls13_keys keys;
	uint8_t *buf;             /* sealed records waiting to be sent */
	size_t len;               /* bytes in buf */
	size_t sent;              /* of them, bytes the socket took */
};

/* One piece of plaintext to seal (a frame head, a stretch of a block). */
struct tls_tx_piece {
	const uint8_t *data;
	size_t len;
};

/* Derive the key and IV from the server's application traffic secret of
 * `ssl` (the negotiated suite says the AEAD and the hash). 0, or a negative
 * errno: -ENOTSUP for a suite without an AEAD we know. */
int tls_tx_init(struct tls_tx *t, SSL *ssl, const uint8_t *secret, size_t secret_len);

void tls_tx_free(struct tls_tx *t);

/* Room for more records? (The buffer is refilled only once sent whole.) */
static inline bool tls_tx_has_room(const struct tls_tx *t)
{
	return t->len + TLS_TX_OVERHEAD + 1 <= TLS_TX_BUFFER;
}

/* Seal one record of application data from pieces[0..n) (at most
 * TLS_TX_MAX_RECORD bytes in all, and what fits the buffer): the number
 * of plaintext bytes taken from the front of the pieces, 0 if the buffer
 * is full, or a negative errno if the cipher failed. */
long tls_tx_seal(struct tls_tx *t, const struct tls_tx_piece *pieces, unsigned n);

/* Seal a close_notify alert (ends the session cleanly). */
int tls_tx_close_notify(struct tls_tx *t);

/* Send what is sealed: 0 when all of it went, -EAGAIN when the socket is
 * full (the rest waits), or a negative errno. */
int tls_tx_send(struct tls_tx *t, int fd);

#endif /* IIOSTREAMD_TLS_TX_H */
