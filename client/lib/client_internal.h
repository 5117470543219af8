/* SPDX-License-Identifier: MIT */
/* Internals shared by the files of libiiostream (iios__* names). */
#ifndef IIOSTREAM_CLIENT_INTERNAL_H
#define IIOSTREAM_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "iiostream/tls13.h"

struct iios_options;

struct iios__url {
	bool tls;          /* tls:// */
	char host[256];
	char port[8];
};

/* Split a tcp:// or tls:// URL. 0, -EINVAL or -EPROTONOSUPPORT with err
 * filled. */
int iios__parse_url(const char *url, struct iios__url *out, char *err, size_t errlen);

/* TLS of one connection (tls.c); all NULL on plain TCP. OpenSSL does the
 * handshake and sends; received records are opened here, straight into
 * the caller's buffer when a whole record fits (rx), else by OpenSSL. */
struct iios__tls {
	void *ctx;         /* SSL_CTX */
	void *ssl;         /* SSL */
	char desc[96];     /* "TLSv1.3 TLS_AES_128_GCM_SHA256" */
	int fd;
	uint8_t secret[64];/* the server's traffic secret, from the key log;
	                    * kept for its KeyUpdates, wiped at the end */
	size_t secret_len;
	int cipher_nid;    /* the suite's AEAD and hash, for KeyUpdate */
	const void *md;    /* EVP_MD */
	struct iios_tls13_keys rx; /* rx.aead NULL: OpenSSL receives */
	uint8_t *rbuf;     /* ciphertext received, not yet opened */
	size_t rlen, rpos;
	uint8_t *pt;       /* opened plaintext not yet returned (in rbuf) */
	size_t pt_len;
};

/* Load the CA, certificate and key files of opts, before anything goes
 * on the network. 0, or a negative errno with err filled: -ENOENT/-EACCES
 * (a file could not be read), -EINVAL (not PEM, or a key that does not
 * match its certificate). */
int iios__tls_prepare(struct iios__tls *t, const struct iios_options *opts, char *err,
		      size_t errlen);

/* TLS 1.3 handshake on the connected, blocking socket fd, verifying the
 * server against the CA and `host` (or opts->tls_server_name). 0, or a
 * negative errno with err filled: -EPROTO (the handshake failed, err says
 * why), -ETIMEDOUT. */
int iios__tls_handshake(struct iios__tls *t, int fd, const char *host,
			const struct iios_options *opts, char *err, size_t errlen);

/* From here on open the server's records on t->fd ourselves, with the
 * traffic secret in t->secret (the suite's AEAD by OpenSSL NID and its
 * hash): 0, or -ENOMEM, -ENOTSUP (an AEAD we do not open; OpenSSL goes on
 * receiving). iios__tls_handshake calls it; the record fuzzer too. */
int iios__tls_open_records(struct iios__tls *t, int cipher_nid, const EVP_MD *md);

/* Read or write up to len bytes: > 0 bytes moved, 0 when the server closed
 * the session, or a negative errno with err filled (-ETIMEDOUT: nothing in
 * the socket's timeout; -EACCES: the server refused our certificate). */
ssize_t iios__tls_recv(struct iios__tls *t, void *buf, size_t len, char *err, size_t errlen);
ssize_t iios__tls_send(struct iios__tls *t, const void *buf, size_t len, char *err,
		       size_t errlen);

/* Say goodbye (close_notify) and free. */
void iios__tls_end(struct iios__tls *t);

#endif /* IIOSTREAM_CLIENT_INTERNAL_H */
