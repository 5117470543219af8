// SPDX-License-Identifier: MIT
/* TLS contexts and connections of iiostreamd: see tls.h. */
#define _GNU_SOURCE
#include "tls.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include <iiostream/identity.h>

/* The most recent OpenSSL error in words ("" if none), queue cleared. */
static const char *openssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	buf[0] = '\0';
	if (e) {
		const char *r = ERR_reason_error_string(e);

		snprintf(buf, len, "%s", r ? r : "unknown OpenSSL error");
	}
	ERR_clear_error();
	return buf;
}

/* An error about `key` (a flag's name without "--"), named where it was
 * set (s->where): "--tls-key /k.pem: ..." or "FILE:LINE: tls-key /k.pem: ...". */
static int key_error(const struct tls_settings *s, const char *key, int err, char *out,
		     size_t len, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int key_error(const struct tls_settings *s, const char *key, int err, char *out,
		     size_t len, const char *fmt, ...)
{
	char where[320], what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (s->where)
		s->where(s->where_arg, key, where, sizeof(where));
	else
		snprintf(where, sizeof(where), "--%s", key);
	snprintf(out, len, "%s %s", where, what);
	return err;
}

/* Can the file be opened for reading? */
static int check_readable(const struct tls_settings *s, const char *key, const char *path,
			  char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return key_error(s, key, -errno, out, len, "%s: %s", path, strerror(errno));
	fclose(f);
	return 0;
}

/*
 * Is kernel TLS there? Setting the "tls" ULP on an unconnected socket makes
 * the kernel load the module if it can, then refuse with ENOTCONN; ENOENT
 * means this kernel has no TLS.
 */
static void probe_ktls(char *out, size_t len)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(out, len, "unavailable: socket: %s", strerror(errno));
		return;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) == 0 || errno == ENOTCONN)
		snprintf(out, len, "available");
	else if (errno == ENOENT)
		snprintf(out, len, "unavailable: the kernel has no TLS module");
	else
		snprintf(out, len, "unavailable: TCP_ULP tls: %s", strerror(errno));
	close(fd);
}

static void warn_if_expired(const char *path, SSL_CTX *ctx)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);

	if (!cert)
		return;
	/* A board without a real-time clock may boot in 1970: warn only, the
	 * clients' own verification is what protects them. */
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
		log_warn("--tls-cert %s has expired: clients will refuse it", path);
	else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
		log_warn("--tls-cert %s is not valid yet (is the clock set?)", path);
}

/* Is every suite of the colon-separated list one that kernel TLS and
 * libiiostream's record opener handle (the AES-GCM and ChaCha20-Poly1305
 * AEADs, OpenSSL's TLS 1.3 defaults)? */
static bool sealable_suites(const char *list)
{
	static const char *const ok[] = { "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
					  "TLS_CHACHA20_POLY1305_SHA256" };

	while (*list) {
		size_t len = strcspn(list, ":");
		bool found = false;
		unsigned i;

		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
			found |= strlen(ok[i]) == len && strncmp(ok[i], list, len) == 0;
		if (!found)
			return false;
		list += len;
		list += *list == ':';
	}
	return true;
}

/* The certificate and key the server presents: --tls-cert and --tls-key,
 * or the board's own identity. */
struct server_cert {
	const char *cert, *key;   /* NULL: an identity not made yet (check only) */
	struct iios_identity id;  /* the board's identity, when self_made */
	bool self_made;
};

/* Find the server's certificate: the files given, or the board's identity
 * (made now when `create`). */
static int find_cert(const struct tls_settings *s, bool create, struct server_cert *sc,
		     char *err, size_t errlen)
{
	char why[600];
	int r;

	memset(sc, 0, sizeof(*sc));
	if (s->cert[0] || s->key[0]) {
		sc->cert = s->cert;
		sc->key = s->key;
		return 0;
	}
	sc->self_made = true;
	r = board_identity_open(s->identity, create, &sc->id, why, sizeof(why));
	if (r < 0) {
		if (s->identity[0])
			return key_error(s, "identity", r, err, errlen, "%s", why);
		snprintf(err, errlen, "the board's identity (no --tls-cert, --tls-key): %s", why);
		return r;
	}
	if (r == 0) {
		sc->cert = sc->id.cert_file;
		sc->key = sc->id.key_file;
	}
	return 0;
}

/* Are the certificate, key and CA files there to be read? */
static int check_files(const struct tls_settings *s, const struct server_cert *sc, char *err,
		       size_t errlen)
{
	int r;

	if (sc->cert && !sc->self_made &&
	    ((r = check_readable(s, "tls-cert", sc->cert, err, errlen)) ||
	     (r = check_readable(s, "tls-key", sc->key, err, errlen))))
		return r;
	if (s->client_ca[0] && (r = check_readable(s, "client-ca", s->client_ca, err, errlen)))
		return r;
	return 0;
}

/* A TLS 1.3 server context with the modes every connection needs, or NULL
 * with `err` saying why. */
static SSL_CTX *new_ctx(char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char why[160];

	if (!ctx) {
		snprintf(err, errlen, "TLS: cannot create a context: %s",
			 openssl_reason(why, sizeof(why)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	/* Writes leave record by record from the mapped block; a retried
	 * write may come with the same bytes at a new address. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* No resumption: tickets would be sent after the handshake, on the
	 * socket the kernel may already encrypt. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

/* --tls-ciphersuites, if given: only suites kTLS and libiiostream seal. */
static int set_suites(SSL_CTX *ctx, const struct tls_settings *s, char *err, size_t errlen)
{
	char why[160];

	if (!s->ciphersuites[0])
		return 0;
	if (!sealable_suites(s->ciphersuites))
		return key_error(s, "tls-ciphersuites", -EINVAL, err, errlen,
				 "'%s': only TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and "
				 "TLS_CHACHA20_POLY1305_SHA256 are served (the AEADs kernel TLS and "
				 "libiiostream handle)", s->ciphersuites);
	if (!SSL_CTX_set_ciphersuites(ctx, s->ciphersuites))
		return key_error(s, "tls-ciphersuites", -EINVAL, err, errlen,
				 "'%s': no TLS 1.3 cipher suite in it (%s)", s->ciphersuites,
				 openssl_reason(why, sizeof(why)));
	return 0;
}

/* The certificate chain and its private key, which must match. (The
 * board's identity was checked by iios_identity_open(); a file changed
 * since is named the same way, as --identity's.) */
static int load_cert_and_key(SSL_CTX *ctx, const struct tls_settings *s,
			     const struct server_cert *sc, char *err, size_t errlen)
{
	const char *cert_key = sc->self_made ? "identity" : "tls-cert";
	const char *key_key = sc->self_made ? "identity" : "tls-key";
	char why[160];

	if (SSL_CTX_use_certificate_chain_file(ctx, sc->cert) != 1)
		return key_error(s, cert_key, -EINVAL, err, errlen,
				 "%s: not a PEM certificate (%s)", sc->cert,
				 openssl_reason(why, sizeof(why)));
	if (SSL_CTX_use_PrivateKey_file(ctx, sc->key, SSL_FILETYPE_PEM) != 1) {
		openssl_reason(why, sizeof(why));
		if (strstr(why, "mismatch"))
			return key_error(s, key_key, -EINVAL, err, errlen,
					 "%s does not match the certificate in %s", sc->key,
					 sc->cert);
		return key_error(s, key_key, -EINVAL, err, errlen,
				 "%s: not a PEM private key (%s)", sc->key, why);
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		key_error(s, key_key, -EINVAL, err, errlen,
			  "%s does not match the certificate in %s", sc->key, sc->cert);
		ERR_clear_error();
		return -EINVAL;
	}
	if (!sc->self_made) /* the identity never expires; its dates mean nothing */
		warn_if_expired(sc->cert, ctx);
	return 0;
}

/*
 * Without --client-ca: which verification errors of a client certificate
 * only say that nothing vouches for it, and which say it is broken.
 *
 * Accepted (the certificate is then an identity only a sha256: entry names):
 *  - no trusted issuer: the context trusts no CA at all, so every
 *    certificate ends in one of these (self-signed: DEPTH_ZERO_SELF_SIGNED;
 *    issued by a CA we do not know: UNABLE_TO_GET_ISSUER_CERT*,
 *    UNABLE_TO_VERIFY_LEAF_SIGNATURE, SELF_SIGNED_CERT_IN_CHAIN);
 *  - its validity dates: a pinned certificate is trusted for being that
 *    certificate, and a board without a real-time clock boots in 1970, before
 *    any notBefore. Revoking it is taking its fingerprint off the lists.
 * Why a pin without a CA is sound: in TLS 1.3 the client's CertificateVerify
 * signs the handshake transcript with the certificate's key, and OpenSSL
 * checks it against that certificate's public key whatever the chain's
 * verdict; so a client presenting the pinned certificate holds its key.
 *
 * Refused, as with a CA: everything that says the certificate itself is
 * wrong. A signature that does not verify (its own included: the context
 * sets X509_V_FLAG_CHECK_SS_SIGNATURE, which OpenSSL otherwise skips for a
 * self-signed certificate) means it was altered or forged: no honest client
 * has one, and accepting it would let bytes nobody signed become "an
 * identity". A field that does not decode (dates, public key, extensions),
 * a purpose other than client authentication, an unknown critical
 * extension: OpenSSL's own rules for a client certificate, which a CA
 * would not lift either. Anything not listed is refused.
 */
static bool lacks_only_trust(int error)
{
	switch (error) {
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return true;
	default:
		return false;
	}
}

int tls_verify_unchained(int ok, X509_STORE_CTX *ctx)
{
	if (ok)
		return 1;
	if (!lacks_only_trust(X509_STORE_CTX_get_error(ctx)))
		return 0;
	/* accepted: clear it, so SSL_get_verify_result() is left with the
	 * errors that matter (none, or the handshake has failed) */
	X509_STORE_CTX_set_error(ctx, X509_V_OK);
	return 1;
}

/* --client-ca, if given: clients must show a certificate it signed. */
static int load_client_ca(SSL_CTX *ctx, const struct tls_settings *s, bool *mutual,
			  char *err, size_t errlen)
{
	STACK_OF(X509_NAME) *names;
	char why[160];

	if (!s->client_ca[0]) {
		/* ask for a certificate, do not require one, pin it only */
		X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx),
					    X509_V_FLAG_CHECK_SS_SIGNATURE);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_unchained);
		return 0;
	}
	names = SSL_load_client_CA_file(s->client_ca);
	if (!names || SSL_CTX_load_verify_locations(ctx, s->client_ca, NULL) != 1) {
		key_error(s, "client-ca", -EINVAL, err, errlen, "%s: no PEM certificate in it (%s)",
			  s->client_ca, openssl_reason(why, sizeof(why)));
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		return -EINVAL;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	*mutual = true;
	return 0;
}

/*
 * A context from the files of s, everything checked: 0 and *out, or a
 * negative errno and `err` naming where the key at fault was set and why.
 * Nothing is logged but the warnings of an expired certificate.
 */
static int build_ctx(const struct tls_settings *s, bool create, struct server_cert *sc,
		     SSL_CTX **out, bool *mutual, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int r;

	*out = NULL;
	*mutual = false;
	r = find_cert(s, create, sc, err, errlen);
	if (!r)
		r = check_files(s, sc, err, errlen);
	if (r)
		return r;
	ctx = new_ctx(err, errlen);
	if (!ctx)
		return -ENOMEM;
	r = set_suites(ctx, s, err, errlen);
	if (!r && sc->cert)
		r = load_cert_and_key(ctx, s, sc, err, errlen);
	if (!r)
		r = load_client_ca(ctx, s, mutual, err, errlen);
	if (r) {
		SSL_CTX_free(ctx);
		return r;
	}
	if (s->ktls)
		SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
	*out = ctx;
	return 0;
}

/* The context's settings into t, and log lines saying what they are: the
 * certificate presented, on one line (a client pins that fingerprint). */
static void install(struct tls_server *t, const struct tls_settings *s, SSL_CTX *ctx,
		    bool mutual, const struct server_cert *sc, const char *what)
{
	SSL_CTX_free(t->ctx); /* connections made with it hold their own reference */
	t->ctx = ctx;
	t->mutual = mutual;
	t->self_made = sc->self_made;
	snprintf(t->cert_file, sizeof(t->cert_file), "%s", sc->cert);
	if (iios_fingerprint(SSL_CTX_get0_certificate(ctx), t->fingerprint))
		t->fingerprint[0] = '\0';
	if (s->ktls)
		probe_ktls(t->ktls, sizeof(t->ktls));
	else
		snprintf(t->ktls, sizeof(t->ktls), "off");
	if (sc->self_made)
		log_info("TLS identity %s: the board's own, %s in %s (%s)", t->fingerprint,
			 sc->id.created ? "made now" : "made before", sc->id.dir,
			 sc->id.created ? "clients trust it on first use, or pin it"
					: "iiostreamd --show-identity prints it");
	else
		log_info("TLS certificate %s: --tls-cert %s", t->fingerprint, sc->cert);
	log_info("%s1.3%s; kernel TLS %s", what,
		 t->mutual ? ", client certificates required"
			   : ", client certificates asked for (optional, pinned by sha256: only)",
		 t->ktls);
}

int tls_server_init(struct tls_server *t, const struct tls_settings *s)
{
	struct server_cert sc;
	char err[800];
	SSL_CTX *ctx;
	bool mutual;
	int r;

	memset(t, 0, sizeof(*t));
	if (!s->enabled)
		return 0;
	r = build_ctx(s, true, &sc, &ctx, &mutual, err, sizeof(err));
	if (r) {
		log_error("%s", err);
		return r;
	}
	install(t, s, ctx, mutual, &sc, "TLS ");
	return 0;
}

int tls_server_check(const struct tls_settings *s, char *err, size_t errlen)
{
	struct server_cert sc;
	SSL_CTX *ctx;
	bool mutual;
	int r;

	if (!s->enabled)
		return 0;
	r = build_ctx(s, false, &sc, &ctx, &mutual, err, errlen);
	SSL_CTX_free(ctx);
	return r;
}

int tls_server_renew(struct tls_server *t, const struct tls_settings *s, char *err,
		     size_t errlen)
{
	struct server_cert sc;
	SSL_CTX *ctx;
	bool mutual;
	int r;

	r = build_ctx(s, true, &sc, &ctx, &mutual, err, errlen);
	if (r)
		return r;
	install(t, s, ctx, mutual, &sc, "TLS reloaded: new handshakes use the new files; TLS ");
	return 0;
}

void tls_server_free(struct tls_server *t)
{
	SSL_CTX_free(t->ctx);
	t->ctx = NULL;
}

SSL *tls_server_new(struct tls_server *t, int fd)
{
	SSL *ssl = SSL_new(t->ctx);

	if (ssl && SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		ssl = NULL;
	}
	if (ssl)
		SSL_set_accept_state(ssl);
	ERR_clear_error();
	return ssl;
}

int tls_peek_first_byte(int fd)
{
	uint8_t first;
	ssize_t n = recv(fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n == 0)
		return -ESHUTDOWN;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	return first == 0x16 ? 1 : -EPROTO;
}

enum tls_io tls_result(SSL *ssl, int ret, char *why, size_t len)
{
	int e = SSL_get_error(ssl, ret);
	char reason[160];
	long verify;

	switch (e) {
	case SSL_ERROR_NONE:
		return TLS_IO_DONE;
	case SSL_ERROR_WANT_READ:
		return TLS_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_IO_CLOSED;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			snprintf(why, len, "%s", errno ? strerror(errno) : "peer closed mid-record");
			return TLS_IO_FAILED;
		}
		break;
	default:
		break;
	}
	openssl_reason(reason, sizeof(reason));
	verify = SSL_get_verify_result(ssl);
	if (verify != X509_V_OK)
		snprintf(why, len, "%s (client certificate: %s)", reason,
			 X509_verify_cert_error_string(verify));
	else
		snprintf(why, len, "%s", reason[0] ? reason : "TLS error");
	return TLS_IO_FAILED;
}

enum tls_io tls_handshake(SSL *ssl, char *why, size_t len)
{
	ERR_clear_error();
	errno = 0;
	return tls_result(ssl, SSL_do_handshake(ssl), why, len);
}

void tls_peer_identity(SSL *ssl, struct peer_identity *id)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	char fp[IIOS_FINGERPRINT_LEN];
	X509_NAME *subject;
	BIO *bio;

	memset(id, 0, sizeof(*id));
	/* Only a certificate that passed verification is an identity: with
	 * --client-ca, its chain; without, tls_verify_unchained() (what it
	 * let through it cleared, so the result is OK too). Which of the two
	 * decides what it can be named by (access.h). */
	if (!cert || SSL_get_verify_result(ssl) != X509_V_OK)
		return;
	id->has_cert = true;
	id->ca_verified = SSL_get_verify_callback(ssl) != tls_verify_unchained;
	subject = X509_get_subject_name(cert);
	bio = BIO_new(BIO_s_mem());
	if (bio) {
		int n;

		X509_NAME_print_ex(bio, subject, 0, XN_FLAG_RFC2253);
		n = BIO_read(bio, id->subject, sizeof(id->subject) - 1);
		id->subject[n > 0 ? n : 0] = '\0';
		BIO_free(bio);
	}
	if (X509_NAME_get_text_by_NID(subject, NID_commonName, id->cn, sizeof(id->cn)) < 0)
		id->cn[0] = '\0';
	if (iios_fingerprint(cert, fp) == 0)
		memcpy(id->sha256, fp + strlen("sha256:"), sizeof(id->sha256)); /* the hex and NUL */
	ERR_clear_error();
}

bool tls_kernel_sends(const struct tls_server *t, SSL *ssl, char *why, size_t len)
{
	if (BIO_get_ktls_send(SSL_get_wbio(ssl))) {
		snprintf(why, len, "kernel");
		return true;
	}
	if (strcmp(t->ktls, "off") == 0)
		snprintf(why, len, "userspace: --ktls off");
	else if (strcmp(t->ktls, "available") != 0)
		snprintf(why, len, "userspace: %s", t->ktls + strlen("unavailable: "));
	else
		snprintf(why, len, "userspace: the kernel refused the keys of %s",
			 SSL_get_cipher_name(ssl));
	return false;
}

void tls_describe(SSL *ssl, char *out, size_t len)
{
	snprintf(out, len, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
}
