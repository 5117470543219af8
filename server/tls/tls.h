/* SPDX-License-Identifier: MIT */
/*
 * TLS for iiostreamd: the server context (certificate, key, client CA,
 * TLS 1.3 only), the non-blocking handshake of one connection, and whether
 * the kernel took over encryption (kTLS).
 *
 * After the handshake a connection sends in one of two ways:
 *  - kernel TLS (OpenSSL 3's SSL_OP_ENABLE_KTLS put the traffic keys in the
 *    socket): the daemon writes plaintext with sendmsg() straight from the
 *    mapped block and the kernel encrypts it while copying it into the
 *    socket, so the block's reference drops when sendmsg() returns;
 *  - userspace TLS: OpenSSL seals every record (SSL_write_ex), into a buffer
 *    of the daemon's that leaves in large send() calls (tls_tx.h).
 * Either way one party alone seals with the send key and numbers the
 * records, the kernel or OpenSSL, so alerts, close_notify and the answer to
 * a peer's KeyUpdate take fresh sequence numbers like everything else. The
 * cipher suites are limited to the AEADs kTLS and libiiostream's record
 * opener handle (AES-GCM, ChaCha20-Poly1305: OpenSSL's TLS 1.3 defaults).
 * Receiving always goes through SSL_read(): OpenSSL 3.0 does not offload
 * TLS 1.3 receive. Debian's 6.1 kernel cannot change kTLS send keys: with
 * kTLS a peer's KeyUpdate request is not answered (the daemon never calls
 * SSL_write there); its records still carry the kernel's fresh numbers.
 * iiostream clients never send one.
 */
#ifndef IIOSTREAMD_TLS_H
#define IIOSTREAMD_TLS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>

#include "access.h"
#include "board_identity.h"

/*
 * What the TLS layer needs of the daemon's configuration, filled by the
 * daemon (tls_settings_from_config() in core/server.c). The strings are
 * the caller's: read during the call they are passed to, never kept.
 */
struct tls_settings {
	bool enabled;              /* --listen-tls was given */
	const char *cert;          /* --tls-cert: PEM certificate (chain), "" for none */
	const char *key;           /* --tls-key: PEM private key, "" for none */
	/* --identity: the board's own identity (board_identity.h), used when
	 * neither cert nor key is given; "" for the default directory */
	const char *identity;
	const char *client_ca;     /* --client-ca: PEM CA, "" for none (then client
				      certificates are asked for, not required, and
				      only pinned: tls_verify_unchained()) */
	const char *ciphersuites;  /* --tls-ciphersuites: TLS 1.3 list, "" = default */
	bool ktls;                 /* --ktls auto (true) or off */
	/* How an error names `key` (a flag's name without "--", "tls-key"):
	 * "--tls-key", or "FILE:LINE: tls-key" when a config file set it.
	 * Writes buf and returns it. NULL: always "--KEY". */
	const char *(*where)(const void *where_arg, const char *key, char *buf, size_t len);
	const void *where_arg;     /* passed to where() */
};

struct tls_server {
	SSL_CTX *ctx;          /* NULL: no TLS listener */
	bool mutual;           /* --client-ca: a client certificate is required */
	char ktls[96];         /* "available", "off" or "unavailable: REASON" */
	/* read-only: the certificate the server presents ("" without TLS) */
	char fingerprint[IIOS_FINGERPRINT_LEN]; /* "sha256:HEX" */
	char cert_file[PATH_MAX];  /* where it is read from */
	bool self_made;            /* the board's identity, not --tls-cert */
};

/* Load and check the certificate, key and CA files of s and build the
 * context (nothing without s->enabled). Without --tls-cert and --tls-key
 * the board's identity is opened, and made if it is not there yet. One log
 * line says which certificate, its fingerprint and whether it was made now.
 * Every problem (a missing or unreadable file, a key that does not match
 * the certificate, an identity key others can read, a bad cipher list) is
 * logged naming the file and returns a negative errno, so the daemon stops
 * at start-up. */
int tls_server_init(struct tls_server *t, const struct tls_settings *s);
void tls_server_free(struct tls_server *t);

/* --check-config: would tls_server_init() succeed with s? 0, or a negative
 * errno with `err` naming where the key at fault was set and why:
 * "/etc/iiostream/iiostreamd.conf:4: tls-key /k.pem does not match the
 * certificate in /c.pem" (or "--tls-key ..." for a flag). 0 without TLS,
 * and 0 for a board identity not made yet (it is made at start, not here). */
int tls_server_check(const struct tls_settings *s, char *err, size_t errlen);

/* SIGHUP: build a new context from the files of s (read again, so a renewed
 * certificate at the same path is taken) and use it for the handshakes from
 * now on; connections already made keep theirs (each SSL holds a reference
 * to its context). On an error, `err` says why as above and t is unchanged.
 * The daemon calls it through tls_server_reload() (core/server.h). */
int tls_server_renew(struct tls_server *t, const struct tls_settings *s, char *err,
		     size_t errlen);

/* A new server-side TLS connection on the accepted socket fd. */
SSL *tls_server_new(struct tls_server *t, int fd);

/* Has the peer on the non-blocking socket fd begun a TLS handshake? Its
 * first byte is looked at, and left unread: 1 a handshake record (22), 0
 * nothing has arrived yet, -EPROTO something else (plain bytes on a TLS
 * port), -ESHUTDOWN the peer closed before sending a byte, or recv()'s
 * negated errno. */
int tls_peek_first_byte(int fd);

/* Outcome of a TLS call on a non-blocking socket. */
enum tls_io {
	TLS_IO_DONE,        /* it completed (or moved bytes) */
	TLS_IO_WANT_READ,   /* call again when the socket is readable */
	TLS_IO_WANT_WRITE,  /* call again when the socket is writable */
	TLS_IO_CLOSED,      /* the peer closed the TLS session (close_notify) */
	TLS_IO_FAILED,      /* the connection is unusable; `why` says why */
};

/* Classify the result `ret` of an SSL_* call; on TLS_IO_FAILED `why` gets a
 * reason in words, e.g. "peer did not return a certificate". */
enum tls_io tls_result(SSL *ssl, int ret, char *why, size_t len);

/* Advance the handshake. */
enum tls_io tls_handshake(SSL *ssl, char *why, size_t len);

/* After the handshake: the client certificate, if it sent one that was
 * accepted; id->ca_verified when it chains to --client-ca. */
void tls_peer_identity(SSL *ssl, struct peer_identity *id);

/*
 * The verify callback of a context without --client-ca (SSL_CTX_set_verify,
 * SSL_VERIFY_PEER without FAIL_IF_NO_PEER_CERT): a client certificate is
 * asked for, not required, and accepted without a trusted issuer (a
 * self-signed identity) or valid dates, as an identity that only a sha256:
 * entry can name (access.h). Everything else wrong with it is refused: a
 * bad signature (its own included: X509_V_FLAG_CHECK_SS_SIGNATURE), a
 * field that does not decode, a purpose other than client authentication,
 * an unknown critical extension. Exposed for the unit tests.
 */
int tls_verify_unchained(int ok, X509_STORE_CTX *ctx);

/* After the handshake: did the kernel take over encryption of what we send?
 * *why gets "kernel" or "userspace: REASON". */
bool tls_kernel_sends(const struct tls_server *t, SSL *ssl, char *why, size_t len);

/* "TLSv1.3 TLS_AES_128_GCM_SHA256" */
void tls_describe(SSL *ssl, char *out, size_t len);

#endif /* IIOSTREAMD_TLS_H */
