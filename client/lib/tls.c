// SPDX-License-Identifier: MIT
/*
 * libiiostream over TLS 1.3 (tls://): the handshake on the blocking socket,
 * verification of the server's certificate and host name, an optional
 * client certificate, and reads and writes through OpenSSL. Every failure
 * is said in words a user can act on.
 */
#define _GNU_SOURCE
#include "client_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "iiostream.h"
#include "iiostream/identity.h"

/*
 * OpenSSL writes with write(), which raises SIGPIPE on a closed connection
 * (plain TCP sends use MSG_NOSIGNAL). A library must not change the
 * program's signal handling, so SIGPIPE is blocked around each TLS call
 * that writes and one it caused is consumed before unblocking. Reads are
 * not guarded: SSL_read writes only to answer a KeyUpdate or a post-
 * handshake request, which iiostreamd never sends, and four system calls
 * per 16 KiB record would cost throughput.
 */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t pipe_set, pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	sigset_t pipe_set, pending;
	struct timespec zero = { 0, 0 };
	int saved = errno;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE))
		sigtimedwait(&pipe_set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
	errno = saved;
}

/* The last OpenSSL error reason, queue cleared. */
static const char *reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, len, "%s", r ? r : "");
	ERR_clear_error();
	return buf;
}

static int readable(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		int e = errno;

		snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
		return -e;
	}
	fclose(f);
	return 0;
}

/* Our own identity (struct iios_options.identity_dir), made on first use,
 * as the certificate we present. */
static int load_identity(struct iios__tls *t, const struct iios_options *o, char *err,
			 size_t errlen)
{
	struct iios_client_identity *id = malloc(sizeof(*id));
	char why[160];
	int r;

	if (!id) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = iios_client_identity(o ? o->identity_dir : NULL, id, err, errlen);
	if (!r && (SSL_CTX_use_certificate_file(t->ctx, id->cert_file, SSL_FILETYPE_PEM) != 1 ||
		   SSL_CTX_use_PrivateKey_file(t->ctx, id->key_file, SSL_FILETYPE_PEM) != 1 ||
		   SSL_CTX_check_private_key(t->ctx) != 1)) {
		snprintf(err, errlen, "our identity %s: %s", id->dir, reason(why, sizeof(why)));
		r = -EINVAL;
	}
	free(id);
	return r;
}

/* The server's certificate, checked inside the handshake (OpenSSL's
 * SSL_CTX_set_cert_verify_callback, in place of chain verification) when
 * no CA is given: its fingerprint must be the one the known-servers file
 * pins, or, for an unknown server, trust_new must say to take it. A
 * refusal aborts the handshake before we send anything of ours. */
static int pin_verify(X509_STORE_CTX *xs, void *arg)
{
	struct iios__tls *t = arg;
	struct iios__pin *p = &t->pin;

	if (iios_fingerprint(X509_STORE_CTX_get0_cert(xs), t->server_fp) < 0) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	if (p->known[0]) {
		if (strcmp(p->known, t->server_fp) == 0)
			return 1;
		p->refused = -EKEYREJECTED;
		X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	if (p->pairing) {
		/* nothing is trusted yet: the board must prove the code */
		p->provisional = true;
		return 1;
	}
	if (p->policy == IIOS_TRUST_NEW_ACCEPT) {
		p->add = true;
		return 1;
	}
	p->refused = -ENOKEY;
	X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_UNTRUSTED);
	return 0;
}

/* No CA: the server's pin, looked up before anything goes out (a file
 * that does not parse refuses the connection here). */
static int pin_prepare(struct iios__tls *t, const struct iios__url *u,
		       const struct iios_options *o, char *err, size_t errlen)
{
	struct iios__pin *p = &t->pin;
	int r;

	p->on = true;
	p->policy = o ? o->trust_new : IIOS_TRUST_NEW_REFUSE;
	iios__server_key(u, p->key, sizeof(p->key));
	if (o && o->known_servers_file) {
		snprintf(p->file, sizeof(p->file), "%s", o->known_servers_file);
	} else if ((r = iios_config_path("known_servers", p->file, sizeof(p->file)))) {
		snprintf(err, errlen, "tls://%s: no CA given and no known-servers file (%s): set "
			 "HOME or XDG_CONFIG_HOME, or name a CA or a known-servers file", p->key,
			 r == -ENOENT ? "no home directory" : strerror(-r));
		return r;
	}
	r = iios__known_find(p->file, p->key, p->known, &p->line, err, errlen);
	if (r < 0)
		return r;
	SSL_CTX_set_cert_verify_callback(t->ctx, pin_verify, t);
	return 0;
}

static int load_files(struct iios__tls *t, const struct iios__url *u,
		      const struct iios_options *o, char *err, size_t errlen)
{
	SSL_CTX *ctx = t->ctx;
	char why[160];
	int r;

	if (!o || !o->ca_file) {
		if ((r = pin_prepare(t, u, o, err, errlen)))
			return r;
	} else {
		if ((r = readable("CA file", o->ca_file, err, errlen)))
			return r;
		if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1) {
			snprintf(err, errlen, "CA file %s: no PEM certificate in it (%s)", o->ca_file,
				 reason(why, sizeof(why)));
			return -EINVAL;
		}
	}
	/* Our self-made identity goes with self-made trust (pinning), or
	 * where the caller names it: with a CA, as before, only cert_file. */
	if (!o || (!o->cert_file && !o->key_file))
		return o && (o->no_identity || (o->ca_file && !o->identity_dir))
			       ? 0 : load_identity(t, o, err, errlen);
	if (!o->cert_file || !o->key_file) {
		snprintf(err, errlen, "a client certificate needs both a cert and a key file");
		return -EINVAL;
	}
	if ((r = readable("certificate", o->cert_file, err, errlen)) ||
	    (r = readable("key", o->key_file, err, errlen)))
		return r;
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
		snprintf(err, errlen, "certificate %s: not a PEM certificate (%s)", o->cert_file,
			 reason(why, sizeof(why)));
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		reason(why, sizeof(why));
		snprintf(err, errlen, "key %s: %s", o->key_file,
			 strstr(why, "mismatch") || !why[0] ? "does not match the certificate"
							    : why);
		return -EINVAL;
	}
	return 0;
}

/* Why a TLS call failed, in words; the errno for it. */
static int explain(SSL *ssl, int ret, const char *during, char *err, size_t errlen)
{
	int e = SSL_get_error(ssl, ret);
	long verify = SSL_get_verify_result(ssl);
	char why[160];

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: timed out", during);
		return -ETIMEDOUT;
	}
	if (e == SSL_ERROR_ZERO_RETURN) {
		snprintf(err, errlen, "%s: the server closed the TLS session", during);
		return -ECONNRESET;
	}
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		int sys = errno;

		if (sys == EAGAIN || sys == EWOULDBLOCK) {
			snprintf(err, errlen, "%s: timed out", during);
			return -ETIMEDOUT;
		}
		snprintf(err, errlen, "%s: %s", during,
			 sys ? strerror(sys) : "the server closed the connection");
		return sys ? -sys : -ECONNRESET;
	}
	reason(why, sizeof(why));
	if (verify != X509_V_OK) {
		snprintf(err, errlen, "%s: the server's certificate did not verify: %s", during,
			 X509_verify_cert_error_string(verify));
		return -EPROTO;
	}
	/* The server's alert about our certificate (TLS 1.3 sends it after
	 * our side of the handshake is done, so it shows up on a read). */
	if (strstr(why, "certificate required")) {
		snprintf(err, errlen, "%s: the server requires a client certificate (%s)", during,
			 why);
		return -EACCES;
	}
	if (strstr(why, "alert") && (strstr(why, "certificate") || strstr(why, "unknown ca") ||
				     strstr(why, "access denied"))) {
		snprintf(err, errlen, "%s: the server refused our certificate (%s)", during, why);
		return -EACCES;
	}
	if (strstr(why, "wrong version number") || strstr(why, "packet length too long") ||
	    strstr(why, "record layer failure")) {
		snprintf(err, errlen, "%s: the server did not answer in TLS (%s): is this the plain "
			 "TCP port? use tcp:// for it", during, why);
		return -EPROTO;
	}
	snprintf(err, errlen, "%s: %s", during, why[0] ? why : "TLS error");
	return -EPROTO;
}

/* Keep the server's application traffic secret, to open its records. */
static void on_keylog(const SSL *ssl, const char *line)
{
	struct iios__tls *t = SSL_get_app_data(ssl);
	size_t n;

	if (!t)
		return;
	n = iios_tls13_keylog_secret(line, "SERVER_TRAFFIC_SECRET_0", t->secret);
	if (n)
		t->secret_len = n;
}

/* Receive buffer of the record opener: several records per recv(). */
#define RX_BUFFER (64 * 1024)

/* After the handshake: open the server's records ourselves, unless OpenSSL
 * already holds received bytes or the suite is one we do not open. */
static void start_rx(struct iios__tls *t)
{
	const SSL_CIPHER *suite = SSL_get_current_cipher(t->ssl);

	if (suite && t->secret_len && !SSL_has_pending(t->ssl))
		iios__tls_open_records(t, SSL_CIPHER_get_cipher_nid(suite),
				       SSL_CIPHER_get_handshake_digest(suite));
	if (!t->rx.aead)
		OPENSSL_cleanse(t->secret, sizeof(t->secret)); /* OpenSSL receives */
	ERR_clear_error();
}

int iios__tls_open_records(struct iios__tls *t, int cipher_nid, const EVP_MD *md)
{
	int r;

	t->rbuf = malloc(RX_BUFFER);
	if (!t->rbuf)
		return -ENOMEM;
	t->cipher_nid = cipher_nid;
	t->md = md;
	r = iios_tls13_keys_init(&t->rx, cipher_nid, md, t->secret, t->secret_len, 0);
	if (r) {
		free(t->rbuf);
		t->rbuf = NULL;
	}
	return r;
}

/* Whether the server asks for our certificate (a server that does not
 * gets none, whatever we hold). */
static void on_message(int write_p, int version, int content_type, const void *buf, size_t len,
		       SSL *ssl, void *arg)
{
	struct iios__tls *t = SSL_get_app_data(ssl);

	(void)version;
	(void)arg;
	if (t && !write_p && content_type == SSL3_RT_HANDSHAKE && len &&
	    ((const unsigned char *)buf)[0] == SSL3_MT_CERTIFICATE_REQUEST)
		t->cert_asked = true;
}

int iios__tls_prepare(struct iios__tls *t, const struct iios__url *u,
		      const struct iios_options *opts, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	memset(t, 0, sizeof(*t));
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "TLS: out of memory");
		return -ENOMEM;
	}
	t->ctx = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_keylog_callback(ctx, on_keylog);
	SSL_CTX_set_msg_callback(ctx, on_message);
	/* No read-ahead: measured faster on loopback than 17-256 KiB read
	 * buffers (records are read straight, header then body). */
	return load_files(t, u, opts, err, errlen);
}

/* After the handshake: who the two sides were, how the server was
 * trusted, and a new server's line added. */
static int after_handshake(struct iios__tls *t, const struct iios_options *o, char *err,
			   size_t errlen)
{
	X509 *mine = SSL_get_certificate(t->ssl);
	int r;

	SSL_set_msg_callback(t->ssl, NULL); /* the handshake's messages are all seen */

	if (!t->pin.on) {
		iios_fingerprint(SSL_get0_peer_certificate(t->ssl), t->server_fp);
		/* not pinning: o->ca_file was given */
		snprintf(t->trust, sizeof(t->trust), "CA %s", o && o->ca_file ? o->ca_file : "");
	} else if (t->pin.provisional) {
		snprintf(t->trust, sizeof(t->trust), "pairing: not trusted until it proves the code");
	} else if (t->pin.add) {
		r = iios__known_add(t->pin.file, t->pin.key, t->server_fp, err, errlen);
		if (r)
			return r;
		snprintf(t->trust, sizeof(t->trust), "new: added to %s", t->pin.file);
	} else {
		snprintf(t->trust, sizeof(t->trust), "known: %s:%u", t->pin.file, t->pin.line);
	}
	if (mine && t->cert_asked)
		iios_fingerprint(mine, t->client_fp);
	return 0;
}

int iios__tls_handshake(struct iios__tls *t, int fd, const char *host,
			const struct iios_options *opts, char *err, size_t errlen)
{
	const char *name = opts && opts->tls_server_name ? opts->tls_server_name : host;
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
	struct sigpipe_guard g;
	SSL *ssl;
	int r;

	ssl = SSL_new(t->ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		snprintf(err, errlen, "TLS: out of memory");
		return -ENOMEM;
	}
	t->ssl = ssl;
	t->fd = fd;
	SSL_set_app_data(ssl, t);
	/* The name the certificate must carry (with a CA; pinned, the
	 * fingerprint is all): a DNS name (also sent as SNI) or an IP address. */
	if (!is_ip)
		SSL_set_tlsext_host_name(ssl, name);
	if (!t->pin.on && is_ip)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
	else if (!t->pin.on)
		SSL_set1_host(ssl, name);
	sigpipe_block(&g);
	errno = 0;
	r = SSL_connect(ssl);
	sigpipe_restore(&g);
	if (r != 1 && t->pin.refused) {
		ERR_clear_error();
		if (t->pin.refused == -ENOKEY)
			iios__known_unknown_msg(err, errlen, t->pin.key, t->pin.file, t->server_fp);
		else
			iios__known_changed_msg(err, errlen, t->pin.key, t->pin.file, t->pin.line,
						t->pin.known, t->server_fp);
		return t->pin.refused;
	}
	if (r != 1)
		return explain(ssl, r, "TLS handshake", err, errlen);
	r = after_handshake(t, opts, err, errlen);
	if (r)
		return r;
	snprintf(t->desc, sizeof(t->desc), "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	start_rx(t);
	return 0;
}

/* Until rlen - rpos >= need: 0, 1 at the server's close, or -errno. */
static int rx_fill(struct iios__tls *t, size_t need)
{
	if (RX_BUFFER - t->rpos < need) {
		memmove(t->rbuf, t->rbuf + t->rpos, t->rlen - t->rpos);
		t->rlen -= t->rpos;
		t->rpos = 0;
	}
	while (t->rlen - t->rpos < need) {
		ssize_t n = recv(t->fd, t->rbuf + t->rlen, RX_BUFFER - t->rlen, 0);

		if (n == 0)
			return 1;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		t->rlen += (size_t)n;
	}
	return 0;
}

/* The name of a TLS alert (RFC 8446 6), or NULL. */
static const char *alert_name(uint8_t desc)
{
	switch (desc) {
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 22: return "record_overflow";
	case 40: return "handshake_failure";
	case 47: return "illegal_parameter";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 80: return "internal_error";
	case 90: return "user_canceled";
	case 109: return "missing_extension";
	default: return NULL;
	}
}

/* A TLS alert from the server, in words and as an errno. */
static int rx_alert(uint8_t desc, char *err, size_t errlen)
{
	const char *name = alert_name(desc);

	switch (desc) {
	case 116:
		snprintf(err, errlen, "the server requires a client certificate (alert "
			 "certificate required)");
		return -EACCES;
	case 42: case 43: case 44: case 45: case 46: case 48: case 49:
		snprintf(err, errlen, "the server refused our certificate (alert %s)",
			 desc == 45 ? "certificate expired" : desc == 48 ? "unknown ca" :
			 desc == 44 ? "certificate revoked" : desc == 49 ? "access denied" :
			 "bad certificate");
		return -EACCES;
	case 20:
		snprintf(err, errlen, "the server could not authenticate a record of ours (alert "
			 "bad_record_mac): the connection was tampered with, or is broken");
		return -EBADMSG;
	default:
		if (name)
			snprintf(err, errlen, "TLS alert %s (%u) from the server", name, desc);
		else
			snprintf(err, errlen, "TLS alert %u from the server", desc);
		return -EPROTO;
	}
}

/*
 * Post-handshake messages in an opened handshake record (RFC 8446 4.6):
 * each must be whole in the record (OpenSSL sends them so). A KeyUpdate
 * moves the receive keys to the next secret, and when the server asks, our
 * own KeyUpdate goes out through OpenSSL, which owns our send keys; it must
 * end its record (RFC 8446 5.1). A NewSessionTicket is ignored (we never
 * resume). Anything else ends the connection: 0 or -EPROTO.
 */
static int rx_post_handshake(struct iios__tls *t, const uint8_t *msg, size_t len, char *err,
			     size_t errlen)
{
	while (len) {
		size_t body;

		if (len < 4 || (body = (size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]) >
				       len - 4) {
			snprintf(err, errlen, "TLS receive: a handshake message split across "
				 "records (not supported after the handshake)");
			return -EPROTO;
		}
		if (msg[0] == IIOS_TLS13_KEY_UPDATE) {
			struct sigpipe_guard g;
			int r;

			if (body != 1 || msg[4] > 1 || len != 5) {
				snprintf(err, errlen, "TLS receive: a malformed KeyUpdate from the "
					 "server");
				return -EPROTO;
			}
			iios_tls13_keys_free(&t->rx);
			r = iios_tls13_next_secret(t->md, t->secret, t->secret_len);
			if (!r)
				r = iios_tls13_keys_init(&t->rx, t->cipher_nid, t->md, t->secret,
							 t->secret_len, 0);
			if (r) {
				snprintf(err, errlen, "TLS receive: cannot follow the server's "
					 "KeyUpdate: %s", strerror(-r));
				return -EPROTO;
			}
			/* update_requested (the record fuzzer has no SSL to answer with) */
			if (msg[4] == 1 && t->ssl) {
				sigpipe_block(&g);
				r = SSL_key_update(t->ssl, SSL_KEY_UPDATE_NOT_REQUESTED) == 1 &&
				    SSL_do_handshake(t->ssl) == 1;
				sigpipe_restore(&g);
				if (!r)
					return explain(t->ssl, 0, "TLS KeyUpdate", err, errlen);
			}
		} else if (msg[0] != IIOS_TLS13_NEW_SESSION_TICKET) {
			snprintf(err, errlen, "TLS receive: unexpected handshake message %u from "
				 "the server", msg[0]);
			return -EPROTO;
		}
		msg += 4 + body;
		len -= 4 + body;
	}
	return 0;
}

/*
 * Open the server's records (RFC 8446 5.2): straight into buf when the
 * whole record fits in it, else in place in rbuf and copied out from there.
 * The record is authenticated before anything is returned from it.
 */
static ssize_t rx_recv(struct iios__tls *t, uint8_t *buf, size_t len, char *err, size_t errlen)
{
	for (;;) {
		uint8_t nonce[12], *hdr, *ct, *dest;
		size_t clen, body, k;
		int outl, r;

		if (t->pt_len) {
			size_t n = len < t->pt_len ? len : t->pt_len;

			memcpy(buf, t->pt, n);
			t->pt += n;
			t->pt_len -= n;
			return (ssize_t)n;
		}
		r = rx_fill(t, IIOS_TLS13_HEADER);
		if (r == 0) {
			hdr = t->rbuf + t->rpos;
			clen = (size_t)hdr[3] << 8 | hdr[4];
			if (hdr[0] != IIOS_TLS13_APPLICATION_DATA || clen < IIOS_TLS13_TAG + 1 ||
			    clen > IIOS_TLS13_MAX_CIPHERTEXT) {
				snprintf(err, errlen, "TLS receive: not a TLS 1.3 record (type %u, "
					 "length %zu)", hdr[0], clen);
				return -EPROTO;
			}
			r = rx_fill(t, IIOS_TLS13_HEADER + clen);
		}
		if (r == 1) {
			if (t->rlen == t->rpos)
				return 0;
			snprintf(err, errlen, "TLS receive: the server closed mid-record");
			return -EPROTO;
		}
		if (r < 0) {
			snprintf(err, errlen, "TLS receive: %s", r == -ETIMEDOUT ? "timed out"
								    : strerror(-r));
			return r;
		}
		hdr = t->rbuf + t->rpos; /* rx_fill may have moved it */
		clen = (size_t)hdr[3] << 8 | hdr[4];
		ct = hdr + IIOS_TLS13_HEADER;
		body = clen - IIOS_TLS13_TAG;
		dest = len >= body ? buf : ct;
		iios_tls13_nonce(&t->rx, nonce);
		if (EVP_DecryptInit_ex(t->rx.aead, NULL, NULL, NULL, nonce) != 1 ||
		    EVP_DecryptUpdate(t->rx.aead, NULL, &outl, hdr, IIOS_TLS13_HEADER) != 1 ||
		    EVP_DecryptUpdate(t->rx.aead, dest, &outl, ct, (int)body) != 1 ||
		    EVP_CIPHER_CTX_ctrl(t->rx.aead, EVP_CTRL_AEAD_SET_TAG, IIOS_TLS13_TAG,
					ct + body) != 1 ||
		    EVP_DecryptFinal_ex(t->rx.aead, dest + outl, &outl) != 1) {
			ERR_clear_error();
			snprintf(err, errlen, "TLS receive: a record failed authentication");
			return -EBADMSG;
		}
		t->rx.seq++;
		t->rpos += IIOS_TLS13_HEADER + clen;
		/* TLSInnerPlaintext: content, type, zero padding */
		for (k = body; k && dest[k - 1] == 0; k--)
			;
		if (k == 0) {
			snprintf(err, errlen, "TLS receive: a record without a content type");
			return -EPROTO;
		}
		switch (dest[k - 1]) {
		case IIOS_TLS13_APPLICATION_DATA:
			if (k == 1)
				continue;
			if (dest == buf)
				return (ssize_t)(k - 1);
			t->pt = dest;
			t->pt_len = k - 1;
			continue;
		case IIOS_TLS13_ALERT:
			if (k >= 3 && dest[1] == 0)
				return 0; /* close_notify */
			return rx_alert(k >= 3 ? dest[1] : 0, err, errlen);
		case IIOS_TLS13_HANDSHAKE:
			/* opened in place: nothing of it is returned */
			r = rx_post_handshake(t, dest, k - 1, err, errlen);
			if (r)
				return r;
			continue;
		default:
			snprintf(err, errlen, "TLS receive: unexpected record type %u from the server",
				 dest[k - 1]);
			return -EPROTO;
		}
	}
}

ssize_t iios__tls_recv(struct iios__tls *t, void *buf, size_t len, char *err, size_t errlen)
{
	size_t got = 0;
	int r;

	if (t->rx.aead)
		return rx_recv(t, buf, len, err, errlen);
	ERR_clear_error();
	errno = 0;
	r = SSL_read_ex(t->ssl, buf, len, &got);
	if (r == 1)
		return (ssize_t)got;
	if (SSL_get_error(t->ssl, r) == SSL_ERROR_ZERO_RETURN)
		return 0;
	r = explain(t->ssl, r, "TLS receive", err, errlen);
	return r == -ECONNRESET ? 0 : r;
}

ssize_t iios__tls_send(struct iios__tls *t, const void *buf, size_t len, char *err,
		       size_t errlen)
{
	struct sigpipe_guard g;
	size_t put = 0;
	int r;

	ERR_clear_error();
	sigpipe_block(&g);
	errno = 0;
	r = SSL_write_ex(t->ssl, buf, len, &put);
	sigpipe_restore(&g);
	if (r == 1)
		return (ssize_t)put;
	return explain(t->ssl, r, "TLS send", err, errlen);
}

void iios__tls_end(struct iios__tls *t)
{
	if (t->ssl) {
		struct sigpipe_guard g;

		sigpipe_block(&g);
		SSL_shutdown(t->ssl);
		sigpipe_restore(&g);
		SSL_free(t->ssl);
	}
	SSL_CTX_free(t->ctx);
	iios_tls13_keys_free(&t->rx);
	free(t->rbuf);
	ERR_clear_error();
	memset(t, 0, sizeof(*t));
}

bool iios__tls_pending(const struct iios__tls *t)
{
	if (!t->ssl)
		return false;
	if (t->rx.aead)
		return t->pt_len > 0 || t->rlen > t->rpos;
	return SSL_has_pending(t->ssl) == 1;
}
