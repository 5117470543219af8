// SPDX-License-Identifier: MIT
/*
 * Authorisation lists (server/tls/access.c): parsing, every kind of entry, and
 * matching identities with and without a client certificate, CA-verified or
 * pinned-only; and which client certificates the TLS layer takes without a
 * CA (tls_verify_unchained, server/tls/tls.c).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "access.h"
#include "pairing.h"
#include "tls.h"

#define FP "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct access_list l;
static char err[256];

static const struct peer_identity good = {
	.has_cert = true, .ca_verified = true, .subject = "CN=good-client,O=lab", .cn = "good-client", .sha256 = FP,
};
static const struct peer_identity other = {
	.has_cert = true, .ca_verified = true, .subject = "CN=other", .cn = "other",
	.sha256 = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
};
static const struct peer_identity anonymous = { .has_cert = false };
/* a self-signed certificate that claims good-client's names */
static const struct peer_identity pinned = {
	.has_cert = true, .ca_verified = false, .subject = "CN=good-client,O=lab",
	.cn = "good-client",
	.sha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};
#define PINNED_FP "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

Test(access, no_list_allows_everyone)
{
	struct access_list none = { 0 };

	cr_assert(access_allows(&none, &good));
	cr_assert(access_allows(&none, &anonymous));
}

Test(access, each_kind_of_entry_matches_only_its_identity)
{
	cr_assert_eq(access_list_parse(&l, "sha256:" FP, err, sizeof(err)), 0, "%s", err);
	cr_assert(access_allows(&l, &good));
	cr_assert(!access_allows(&l, &other));
	cr_assert(!access_allows(&l, &anonymous));

	cr_assert_eq(access_list_parse(&l, "cn:other", err, sizeof(err)), 0, "%s", err);
	cr_assert(!access_allows(&l, &good));
	cr_assert(access_allows(&l, &other));

	cr_assert_eq(access_list_parse(&l, "subject:CN=good-client,O=lab", err, sizeof(err)), 0);
	cr_assert(access_allows(&l, &good));
	cr_assert(!access_allows(&l, &other));

	/* a DN's own commas stay in it; the next entry still counts */
	cr_assert_eq(access_list_parse(&l, "subject:CN=good-client,O=lab,cn:other", err,
				       sizeof(err)), 0, "%s", err);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(l.entry[0].value, "CN=good-client,O=lab");
	cr_assert(access_allows(&l, &good));
	cr_assert(access_allows(&l, &other));

	cr_assert_eq(access_list_parse(&l, "any-cert", err, sizeof(err)), 0);
	cr_assert(access_allows(&l, &good));
	cr_assert(access_allows(&l, &other));
	cr_assert(!access_allows(&l, &anonymous));

	cr_assert_eq(access_list_parse(&l, "plain", err, sizeof(err)), 0);
	cr_assert(!access_allows(&l, &good));
	cr_assert(access_allows(&l, &anonymous));
}

Test(access, fingerprints_ignore_colons_and_case)
{
	cr_assert_eq(access_list_parse(&l, "sha256:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:ab:cd:ef:"
					   "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef",
				       err, sizeof(err)), 0, "%s", err);
	cr_assert(access_allows(&l, &good));
}

Test(access, lists_combine_entries_with_blanks_around_them)
{
	cr_assert_eq(access_list_parse(&l, " cn:other , plain", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(l.n, 2);
	cr_assert(access_allows(&l, &other));
	cr_assert(access_allows(&l, &anonymous));
	cr_assert(!access_allows(&l, &good));
}

Test(access, bad_lists_are_refused_naming_the_entry)
{
	cr_assert_eq(access_list_parse(&l, "sha256:1234", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "sha256:1234"), "%s", err);
	cr_assert_eq(access_list_parse(&l, "sha256:" FP "00", err, sizeof(err)), -EINVAL);
	cr_assert_eq(access_list_parse(&l, "sha256:" "zz" FP, err, sizeof(err)), -EINVAL);
	cr_assert_eq(access_list_parse(&l, "admin", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "'admin'"), "%s", err);
	cr_assert_eq(access_list_parse(&l, "cn:", err, sizeof(err)), -EINVAL);
	cr_assert_eq(access_list_parse(&l, "cn:a,,cn:b", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "empty entry"), "%s", err);
	cr_assert_eq(access_list_parse(&l, "cn:a,", err, sizeof(err)), -EINVAL);
	cr_assert_eq(access_list_parse(&l, "", err, sizeof(err)), -EINVAL);
}

Test(access, describes_an_identity_for_logs)
{
	char out[400];

	access_describe(&good, out, sizeof(out));
	cr_assert_str_eq(out, "CN=good-client,O=lab sha256:" FP);
	access_describe(&anonymous, out, sizeof(out));
	cr_assert_str_eq(out, "no certificate");
}

Test(access, a_pinned_only_certificate_is_named_by_its_fingerprint_alone)
{
	cr_assert_eq(access_list_parse(&l, "sha256:" PINNED_FP, err, sizeof(err)), 0, "%s", err);
	cr_assert(access_allows(&l, &pinned));
	cr_assert(!access_allows(&l, &good));

	/* the names it claims are not proof of anything */
	cr_assert_eq(access_list_parse(&l, "cn:good-client", err, sizeof(err)), 0);
	cr_assert(access_allows(&l, &good));
	cr_assert(!access_allows(&l, &pinned));
	cr_assert_eq(access_list_parse(&l, "subject:CN=good-client,O=lab", err, sizeof(err)), 0);
	cr_assert(access_allows(&l, &good));
	cr_assert(!access_allows(&l, &pinned));
	cr_assert_eq(access_list_parse(&l, "any-cert", err, sizeof(err)), 0);
	cr_assert(access_allows(&l, &good));
	cr_assert(!access_allows(&l, &pinned));

	/* nor is it "plain": it has a certificate */
	cr_assert_eq(access_list_parse(&l, "plain", err, sizeof(err)), 0);
	cr_assert(!access_allows(&l, &pinned));

	/* a list of both kinds */
	cr_assert_eq(access_list_parse(&l, "cn:other,sha256:" PINNED_FP, err, sizeof(err)), 0);
	cr_assert(access_allows(&l, &pinned));
	cr_assert(access_allows(&l, &other));
	cr_assert(!access_allows(&l, &good));
}

/* `paired`: a certificate of either kind whose fingerprint the board's
 * pairing store holds; no store, no one. */
Test(access, paired_admits_the_fingerprints_of_the_pairing_store)
{
	struct paired_client c = { .sha256 = PINNED_FP, .label = "alice" };
	struct pairing store = { .clients = &c, .n_clients = 1 };

	cr_assert_eq(access_list_parse(&l, "paired", err, sizeof(err)), 0, "%s", err);
	cr_assert(access_lists_paired(&l));
	access_use_pairing(NULL);
	cr_assert(!access_allows(&l, &pinned), "no store: no one is paired");
	access_use_pairing(&store);
	cr_assert(access_allows(&l, &pinned));
	cr_assert(!access_allows(&l, &good), "another certificate");
	cr_assert(!access_allows(&l, &anonymous), "no certificate");
	store.n_clients = 0; /* unpaired (a reload) */
	cr_assert(!access_allows(&l, &pinned));
	access_use_pairing(NULL);

	cr_assert_eq(access_list_parse(&l, "cn:other,plain", err, sizeof(err)), 0);
	cr_assert(!access_lists_paired(&l));
}

Test(access, describes_a_pinned_only_identity_as_self_signed)
{
	char out[400];

	access_describe(&pinned, out, sizeof(out));
	cr_assert_str_eq(out, "CN=good-client,O=lab sha256:" PINNED_FP " (self-signed)");
}

/* ---- tls_verify_unchained: what a context without --client-ca accepts ---- */

/* A certificate for `key`, signed by `signer` (itself when NULL), valid
 * from `from_days` to `to_days` from now. */
static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *signer, const char *cn, long from_days,
		       long to_days, const char *eku)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509_set_version(c, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 7);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c, n);
	if (!signer) {
		X509_set_issuer_name(c, n);
	} else {
		X509_NAME *ca = X509_NAME_new();

		X509_NAME_add_entry_by_txt(ca, "CN", MBSTRING_UTF8,
					   (const unsigned char *)"unknown-ca", -1, -1, 0);
		X509_set_issuer_name(c, ca);
		X509_NAME_free(ca);
	}
	X509_gmtime_adj(X509_getm_notBefore(c), from_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(c), to_days * 86400);
	X509_set_pubkey(c, key);
	X509V3_set_ctx(&v3, c, c, NULL, NULL, 0);
	e = X509V3_EXT_conf(NULL, &v3, "extendedKeyUsage", eku);
	X509_add_ext(c, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(c, signer ? signer : key, EVP_sha256());
	X509_NAME_free(n);
	return c;
}

/* Verify `c` as a TLS server verifies a client certificate without a CA:
 * an empty store, purpose sslclient, tls.c's flags and callback. */
static int verify_unchained(X509 *c, int *error)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	X509_STORE_CTX_init(ctx, store, c, NULL);
	X509_STORE_CTX_set_default(ctx, "ssl_client");
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_CHECK_SS_SIGNATURE);
	X509_STORE_CTX_set_verify_cb(ctx, tls_verify_unchained);
	ok = X509_verify_cert(ctx);
	*error = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok;
}

Test(access, without_a_ca_a_self_signed_client_certificate_is_accepted)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *c = make_cert(key, NULL, "lab-pc", -1, 3650, "clientAuth");
	int error;

	cr_assert_eq(verify_unchained(c, &error), 1);
	cr_assert_eq(error, X509_V_OK, "%s", X509_verify_cert_error_string(error));
	X509_free(c);
	/* one from a CA nobody here knows: no more, no less than pinned */
	{
		EVP_PKEY *ca = EVP_EC_gen("P-256");

		c = make_cert(key, ca, "lab-pc", -1, 3650, "clientAuth");
		cr_assert_eq(verify_unchained(c, &error), 1, "%s",
			     X509_verify_cert_error_string(error));
		X509_free(c);
		EVP_PKEY_free(ca);
	}
	EVP_PKEY_free(key);
}

Test(access, without_a_ca_dates_do_not_matter_to_a_pinned_certificate)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *future = make_cert(key, NULL, "made-later", 400, 800, "clientAuth");
	X509 *expired = make_cert(key, NULL, "old", -800, -400, "clientAuth");
	int error;

	/* a board without a real-time clock boots in 1970 */
	cr_assert_eq(verify_unchained(future, &error), 1, "%s", X509_verify_cert_error_string(error));
	cr_assert_eq(verify_unchained(expired, &error), 1, "%s", X509_verify_cert_error_string(error));
	X509_free(future);
	X509_free(expired);
	EVP_PKEY_free(key);
}

Test(access, without_a_ca_a_certificate_with_a_bad_signature_is_refused)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *c = make_cert(key, NULL, "forged", -1, 3650, "clientAuth");
	unsigned char *der = NULL, *p;
	const unsigned char *q;
	int len, error;
	X509 *bad;

	/* flip a bit of the signature (its last bytes) */
	len = i2d_X509(c, &der);
	cr_assert_gt(len, 0);
	der[len - 2] ^= 0x01;
	q = p = der;
	bad = d2i_X509(NULL, &q, len);
	cr_assert_not_null(bad);
	cr_assert_eq(verify_unchained(bad, &error), 0);
	cr_assert_eq(error, X509_V_ERR_CERT_SIGNATURE_FAILURE, "%s",
		     X509_verify_cert_error_string(error));
	X509_free(bad);
	OPENSSL_free(p);
	X509_free(c);
	EVP_PKEY_free(key);
}

Test(access, without_a_ca_a_certificate_not_for_client_authentication_is_refused)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *c = make_cert(key, NULL, "a-server", -1, 3650, "serverAuth");
	int error;

	cr_assert_eq(verify_unchained(c, &error), 0);
	cr_assert_eq(error, X509_V_ERR_INVALID_PURPOSE, "%s", X509_verify_cert_error_string(error));
	X509_free(c);
	EVP_PKEY_free(key);
}
