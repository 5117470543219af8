/* SPDX-License-Identifier: MIT */
/* Internals shared by the files of libiiostream (iios__* names). */
#ifndef IIOSTREAM_CLIENT_INTERNAL_H
#define IIOSTREAM_CLIENT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "iiostream.h"
#include "iiostream/frame.h"
#include "iiostream/tls13.h"

struct iios__url {
	bool tls;          /* tls:// */
	char host[256];
	char port[8];
};

/* Split a tcp:// or tls:// URL. 0, -EINVAL or -EPROTONOSUPPORT with err
 * filled. */
int iios__parse_url(const char *url, struct iios__url *out, char *err, size_t errlen);

/* ---- trust on first use (known_servers.c) ---- */

/* "HOST:PORT" of a parsed URL, as known-servers lines name servers: the
 * host lower case, an IPv6 address in brackets, the port always. */
void iios__server_key(const struct iios__url *u, char *out, size_t len);

/* Find `key` in the text of a known-servers file (`file` names it in
 * messages): 1 with fp and *line (if not NULL) when there, 0 when not, or
 * -EINVAL with err naming file:line when any line does not parse or a
 * second line gives the server another fingerprint. */
int iios__known_parse(const char *text, size_t len, const char *file, const char *key,
		      char fp[IIOS_FINGERPRINT_LEN], unsigned *line, char *err, size_t errlen);

/* The same on the file itself (missing: 0), checked as
 * iios_known_servers_find() says; and appending to it, as
 * iios_known_servers_add() says (fp already normalised). */
int iios__known_find(const char *file, const char *key, char fp[IIOS_FINGERPRINT_LEN],
		     unsigned *line, char *err, size_t errlen);
int iios__known_add(const char *file, const char *key, const char *fp, char *err, size_t errlen);

/* The refusals' messages: an unknown server (what to do to trust it), and
 * one whose certificate is not the pinned one (both fingerprints, and the
 * line to remove). */
void iios__known_unknown_msg(char *err, size_t errlen, const char *key, const char *file,
			     const char *fp);
void iios__known_changed_msg(char *err, size_t errlen, const char *key, const char *file,
			     unsigned line, const char *known, const char *seen);

/* How a tls:// connection authenticates its server: by CA and name
 * (ca_file given), or by the fingerprint pinned in the known-servers file. */
struct iios__pin {
	bool on;                   /* no ca_file: pinning */
	enum iios_trust_new policy;
	char file[4096];           /* the known-servers file */
	char key[320];             /* HOST:PORT of this connection */
	char known[IIOS_FINGERPRINT_LEN]; /* its pinned fingerprint, "" if unknown */
	unsigned line;             /* ... at this line of file */
	bool add;                  /* accepted as new: add it once the handshake completed */
	bool pairing;              /* iios_pair(): an unknown server is let through, */
	bool provisional;          /* and was: trusted only once it proves the code */
	int refused;               /* why the handshake's check refused the
	                            * server: -ENOKEY, -EKEYREJECTED; 0 */
};

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
	struct iios__pin pin;
	char server_fp[IIOS_FINGERPRINT_LEN]; /* what the server presented */
	char client_fp[IIOS_FINGERPRINT_LEN]; /* what we presented, "" none */
	bool cert_asked;   /* the server sent a CertificateRequest */
	char trust[4200];  /* iios_server_trust() */
};

/* Load the CA, certificate and key files of opts (or look the server of
 * u up in the known-servers file, and open our identity), before anything
 * goes on the network. 0, or a negative errno with err filled:
 * -ENOENT/-EACCES (a file could not be read), -EINVAL (not PEM, or a key
 * that does not match its certificate; a known-servers line that does not
 * parse), -EPERM (a file others may write or read). */
int iios__tls_prepare(struct iios__tls *t, const struct iios__url *u,
		      const struct iios_options *opts, char *err, size_t errlen);

/* TLS 1.3 handshake on the connected, blocking socket fd, verifying the
 * server against the CA and `host` (or opts->tls_server_name), or its pin.
 * 0, or a negative errno with err filled: -EPROTO (the handshake failed,
 * err says why), -ETIMEDOUT, -ENOKEY (an unknown server refused:
 * t->server_fp has its fingerprint), -EKEYREJECTED (not the pinned one). */
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

/* Received bytes held in the TLS layer, not yet returned (plaintext, or
 * records not yet opened): true means a read will not wait for the
 * socket. false on plain TCP. */
bool iios__tls_pending(const struct iios__tls *t);

/* ---- the connection (client.c), shared with the transmit side (tx.c) ---- */

/* A block that arrived while a request waited for its reply, kept for
 * iios_next_block() (its payload in a buffer of its own). */
struct stashed {
	struct iios_block blk;
	uint8_t *buf;             /* owns blk.data */
};

/* The transmission of a connection (tx.c). */
enum iios__tx_state {
	IIOS__TX_NONE,            /* never started on this connection */
	IIOS__TX_IDLE,            /* ended: tx.st is the final status */
	IIOS__TX_ACTIVE,          /* started: iios_tx_send() takes blocks */
	IIOS__TX_STOPPING,        /* TxStop sent, its reply not yet received */
};

struct iios__tx {
	enum iios__tx_state state;
	struct iios_tx_info info;
	struct iios_tx_status st;
};

struct iios_client {
	int fd;
	bool pairing;             /* connected by iios_pair() (pin.pairing) */
	struct iios__tls tls;     /* tls.ssl NULL on plain TCP */
	int timeout_ms;
	int rcvbuf;
	bool broken;              /* framing lost: every call fails */
	struct iios_server_info server;
	/* One entry per subscription (its stream's description, its
	 * block_size the bound of its payloads); nsubs of them are used. */
	struct iios_stream_info subs[IIOS_MAX_STREAMS];
	bool sub_used[IIOS_MAX_STREAMS];
	uint32_t nsubs;
	struct iios_counters counters;
	uint8_t head[IIOS_FRAME_PREFIX + IIOS_FRAME_MAX_ENVELOPE];
	uint8_t *payload;         /* the largest block_size of the subscriptions */
	size_t payload_cap;
	/* blocks kept during requests, oldest first: stash[stash_head], ... */
	struct stashed stash[IIOS_STASH_MAX_BLOCKS];
	uint32_t stash_head, stash_len;
	size_t stash_bytes;
	uint8_t *lent;            /* a stashed payload iios_next_block() returned:
	                           * freed at the next call of it (or close) */
	struct iios__tx tx;       /* tx.c's */
	char errmsg[1024];        /* long enough for both fingerprints and a
	                           * file path (trust on first use) */
	char tls_err[224];        /* what the last TLS failure was */
};

/* Say what went wrong (iios_errmsg()). */
void iios__set_errmsg(struct iios_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Say what went wrong, and evaluate to err (a macro, so that the value is
 * plain to see for a reader and a static analyzer alike). */
#define iios__fail(c, err, ...) (iios__set_errmsg((c), __VA_ARGS__), (err))

/* An error after which the byte stream can no longer be trusted: every
 * later call fails. Returns err. */
int iios__broken(struct iios_client *c, int err, const char *what);

/* Where iios__read_frame() puts a block's payload. */
enum iios__payload_to {
	IIOS__PAYLOAD_BUFFER,     /* c->payload: iios_next_block() */
	IIOS__PAYLOAD_STASH,      /* a buffer of its own, kept (during a request) */
};

/*
 * Read one frame head. For a BlockHeader the payload is read too, into the
 * block buffer or the stash (`to`); its stream must be one we subscribed
 * to, and it at most that stream's block_size.
 * Returns 0 with *env set (free it with iios_frame_free()), or a negative
 * errno: -ETIMEDOUT before a frame began leaves the connection usable.
 */
int iios__read_frame(struct iios_client *c, Iiostream__Envelope **env, enum iios__payload_to to);

/* A frame (or a hangup) is waiting to be read: reading will not wait. */
bool iios__frame_waiting(struct iios_client *c);

/* An Error or Bye from the server as our error (set in iios_errmsg()). */
int iios__server_said(struct iios_client *c, const Iiostream__Envelope *e);

/* Send one frame without payload. 0, or a negative errno (broken). */
int iios__send_msg(struct iios_client *c, const Iiostream__Envelope *env);

/* Send a frame head and `len` payload bytes after it, straight from
 * `payload`. 0; -ETIMEDOUT when nothing went out (harmless); any other
 * error breaks the connection. */
int iios__send_payload(struct iios_client *c, const Iiostream__Envelope *env, const void *payload,
		       size_t len);

/* Wait for the reply of type `want`. Blocks that arrive meanwhile (on a
 * subscribed connection) are kept in the stash for iios_next_block()
 * (dropped and counted when it is full), transmit status is absorbed
 * (iios__tx_absorb()). An Error or Bye is returned as its errno. On
 * success *reply must be freed with iios_frame_free(). */
int iios__await(struct iios_client *c, Iiostream__Envelope__MsgCase want,
		Iiostream__Envelope **reply);

/* iios_connect(), and for iios_pair() (pairing): an unknown server is let
 * through the handshake, trusted only once it proved the code. */
int iios__connect(const char *url, const struct iios_options *opts, bool pairing,
		  struct iios_client **out, char *err, size_t errlen);

/* Send a request and iios__await() its reply. */
int iios__request(struct iios_client *c, const Iiostream__Envelope *req,
		  Iiostream__Envelope__MsgCase want, Iiostream__Envelope **reply);

/* src into dst[cap], cut to fit (not snprintf: gcc -O2 warns of the cut
 * it cannot prove harmless, and a cut name is what is meant here). */
void iios__copy_str(char *dst, size_t cap, const char *src);

/* A wire ChannelInfo as an iios_channel. */
void iios__fill_channel(struct iios_channel *o, const Iiostream__ChannelInfo *ch);

/* tx.c: take a frame of the transmission that arrived unasked (TxStatus):
 * true when e was one (the caller frees it as usual), false otherwise. */
bool iios__tx_absorb(struct iios_client *c, const Iiostream__Envelope *e);

/* tx.c: the server ended the transmission (an Error or Bye that no
 * request asked for): it is over, iios_tx_status() has its last status. */
void iios__tx_end(struct iios_client *c);

#endif /* IIOSTREAM_CLIENT_INTERNAL_H */
