// SPDX-License-Identifier: MIT
/* Test credentials made with the OpenSSL 3 API: see certs.h. */
#define _GNU_SOURCE
#include "certs.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define DAY_SECONDS (24L * 60 * 60)

/* A key and the certificate for it; the CAs keep theirs to sign with. */
struct cred {
	EVP_PKEY *key;
	X509 *cert;
};

/* What a certificate should say. issuer NULL means a self-signed CA. */
struct cert_spec {
	const char *cn;
	const struct cred *issuer;
	const char *eku;   /* extendedKeyUsage, leaf only */
	const char *san;   /* subjectAltName, or NULL for none */
	bool expired;
};

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "test_certs: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	/* The OpenSSL error queue says why, when it was OpenSSL that failed. */
	ERR_print_errors_fp(stderr);
}

static void cred_free(struct cred *c)
{
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	c->cert = NULL;
	c->key = NULL;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (!ext) {
		fail("bad extension", value);
		return -1;
	}
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ok) {
		fail("X509_add_ext", value);
		return -1;
	}
	return 0;
}

/* A random positive 64-bit serial, so that certificates from different runs
 * never look like the same one to a verifier. */
static int set_serial(X509 *x)
{
	unsigned char buf[8];
	BIGNUM *bn = NULL;
	int ret = -1;

	do {
		if (RAND_bytes(buf, sizeof(buf)) != 1) {
			fail("RAND_bytes", NULL);
			return -1;
		}
		BN_free(bn);
		bn = BN_bin2bn(buf, sizeof(buf), NULL);
		if (!bn) {
			fail("BN_bin2bn", NULL);
			return -1;
		}
	} while (BN_is_zero(bn));
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		ret = 0;
	else
		fail("BN_to_ASN1_INTEGER", NULL);
	BN_free(bn);
	return ret;
}

static int set_validity(X509 *x, bool expired)
{
	ASN1_TIME *ok1, *ok2;

	if (expired) {
		ok1 = X509_time_adj_ex(X509_getm_notBefore(x), -2, 0, NULL);
		ok2 = X509_time_adj_ex(X509_getm_notAfter(x), -1, 0, NULL);
	} else {
		/* An hour of slack before now for clocks that disagree a little. */
		ok1 = X509_gmtime_adj(X509_getm_notBefore(x), -3600);
		ok2 = X509_gmtime_adj(X509_getm_notAfter(x), DAY_SECONDS);
	}
	if (!ok1 || !ok2) {
		fail("setting validity", NULL);
		return -1;
	}
	return 0;
}

static int set_extensions(X509 *x, const struct cert_spec *spec)
{
	X509V3_CTX ctx;
	bool ca = !spec->issuer;

	X509V3_set_ctx(&ctx, ca ? x : spec->issuer->cert, x, NULL, NULL, 0);
	if (ca) {
		if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") ||
		    add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") ||
		    add_ext(x, &ctx, NID_subject_key_identifier, "hash"))
			return -1;
		return 0;
	}
	if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
	    add_ext(x, &ctx, NID_ext_key_usage, spec->eku) ||
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"))
		return -1;
	if (spec->san && add_ext(x, &ctx, NID_subject_alt_name, spec->san))
		return -1;
	return 0;
}

/* Make a fresh P-256 key (fast, unlike RSA) and a certificate for it. */
static int make_cred(const struct cert_spec *spec, struct cred *out)
{
	struct cred c = { NULL, NULL };
	X509_NAME *name;
	EVP_PKEY *sign_key;

	c.key = EVP_EC_gen("P-256");
	if (!c.key) {
		fail("EC key generation", spec->cn);
		return -1;
	}
	c.cert = X509_new();
	if (!c.cert) {
		fail("X509_new", NULL);
		goto err;
	}
	if (!X509_set_version(c.cert, X509_VERSION_3) || set_serial(c.cert) ||
	    set_validity(c.cert, spec->expired))
		goto err;

	name = X509_get_subject_name(c.cert);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)spec->cn, -1, -1, 0)) {
		fail("setting subject", spec->cn);
		goto err;
	}
	if (!X509_set_issuer_name(c.cert, spec->issuer ?
				  X509_get_subject_name(spec->issuer->cert) : name) ||
	    !X509_set_pubkey(c.cert, c.key)) {
		fail("setting issuer or key", spec->cn);
		goto err;
	}
	/* After the public key: subjectKeyIdentifier "hash" is made from it. */
	if (set_extensions(c.cert, spec))
		goto err;

	sign_key = spec->issuer ? spec->issuer->key : c.key;
	if (!X509_sign(c.cert, sign_key, EVP_sha256())) {
		fail("signing", spec->cn);
		goto err;
	}
	*out = c;
	return 0;
err:
	cred_free(&c);
	return -1;
}

static int join(char *buf, size_t len, const char *dir, const char *file)
{
	int n = snprintf(buf, len, "%s/%s", dir, file);

	if (n < 0 || (size_t)n >= len) {
		fail("path too long", file);
		return -1;
	}
	return 0;
}

/* Open for writing with exactly `mode`: fchmod too, because O_CREAT's mode
 * is cut by the umask and ignored for a file left by an earlier run. */
static FILE *open_mode(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	FILE *fp;

	if (fd < 0 || fchmod(fd, mode) < 0) {
		perror(path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	fp = fdopen(fd, "w");
	if (!fp) {
		perror(path);
		close(fd);
	}
	return fp;
}

/* fclose, with a failed flush (a full disk) counted as failure. */
static int close_checked(FILE *fp, const char *path, bool ok)
{
	if (fclose(fp) != 0) {
		perror(path);
		return -1;
	}
	if (!ok) {
		fail("writing PEM", path);
		return -1;
	}
	return 0;
}

static int write_cert(const char *path, X509 *cert)
{
	FILE *fp = open_mode(path, 0644);

	if (!fp)
		return -1;
	return close_checked(fp, path, PEM_write_X509(fp, cert) == 1);
}

/* Private keys as unencrypted PKCS#8, readable by the owner only: the TLS
 * code under test may well refuse a key that others can read. */
static int write_key(const char *path, EVP_PKEY *key)
{
	FILE *fp = open_mode(path, 0600);

	if (!fp)
		return -1;
	return close_checked(fp, path,
			     PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL) == 1);
}

/* The form a pinned client is named by: "sha256:" and lowercase hex of the
 * DER certificate's SHA-256. */
static int fingerprint(X509 *cert, char *buf, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t pos;

	if (!X509_digest(cert, EVP_sha256(), md, &mdlen)) {
		fail("X509_digest", NULL);
		return -1;
	}
	if (len < sizeof("sha256:") + 2 * (size_t)mdlen) {
		fail("fingerprint buffer too small", NULL);
		return -1;
	}
	pos = (size_t)snprintf(buf, len, "sha256:");
	for (unsigned int i = 0; i < mdlen; i++)
		pos += (size_t)snprintf(buf + pos, len - pos, "%02x", md[i]);
	return 0;
}

int test_certs_make(const char *dir, struct test_certs *out)
{
	struct cred ca = { NULL, NULL }, other = { NULL, NULL };
	const struct cert_spec ca_spec = { .cn = "iiostream test CA" };
	const struct cert_spec other_spec = { .cn = "stranger CA" };
	/* Every leaf: what it says, and where its certificate and key go. */
	const struct {
		struct cert_spec spec;
		const char *name;
		char *cert_path, *key_path, *fp;
	} leaves[] = {
		{ { "localhost", &ca, "serverAuth",
		    "DNS:localhost,IP:127.0.0.1,IP:::1", false },
		  "server", out->server_cert, out->server_key, NULL },
		{ { "elsewhere.example", &ca, "serverAuth",
		    "DNS:elsewhere.example", false },
		  "wrongname", out->wrongname_cert, out->wrongname_key, NULL },
		{ { "localhost", &ca, "serverAuth",
		    "DNS:localhost,IP:127.0.0.1", true },
		  "expired", out->expired_cert, out->expired_key, NULL },
		{ { "good-client", &ca, "clientAuth", NULL, false },
		  "client", out->client_cert, out->client_key, out->client_fp },
		{ { "second-client", &ca, "clientAuth", NULL, false },
		  "client2", out->client2_cert, out->client2_key, out->client2_fp },
		{ { "stranger", &other, "clientAuth", NULL, false },
		  "stranger", out->stranger_cert, out->stranger_key, NULL },
		{ { "expired-client", &ca, "clientAuth", NULL, true },
		  "expired_client", out->expired_client_cert,
		  out->expired_client_key, NULL },
	};
	/* Every path field is this size (and every fingerprint field fp_len). */
	const size_t path_len = sizeof(out->ca), fp_len = sizeof(out->client_fp);
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (make_cred(&ca_spec, &ca) || make_cred(&other_spec, &other))
		goto out;
	if (join(out->ca, sizeof(out->ca), dir, "ca.pem") ||
	    join(out->other_ca, sizeof(out->other_ca), dir, "other_ca.pem") ||
	    write_cert(out->ca, ca.cert) || write_cert(out->other_ca, other.cert))
		goto out;

	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		struct cred leaf = { NULL, NULL };
		char file[64];
		int rc;

		if (make_cred(&leaves[i].spec, &leaf))
			goto out;
		snprintf(file, sizeof(file), "%s.pem", leaves[i].name);
		rc = join(leaves[i].cert_path, path_len, dir, file);
		snprintf(file, sizeof(file), "%s.key", leaves[i].name);
		rc = rc || join(leaves[i].key_path, path_len, dir, file) ||
		     write_cert(leaves[i].cert_path, leaf.cert) ||
		     write_key(leaves[i].key_path, leaf.key) ||
		     (leaves[i].fp &&
		      fingerprint(leaf.cert, leaves[i].fp, fp_len));
		cred_free(&leaf);
		if (rc)
			goto out;
	}
	ret = 0;
out:
	cred_free(&ca);
	cred_free(&other);
	return ret;
}
