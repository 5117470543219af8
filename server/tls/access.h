/* SPDX-License-Identifier: MIT */
/*
 * Who a client is, and what it may do.
 *
 * A client's identity is its TLS client certificate: its subject, common
 * name and SHA-256 fingerprint. A plain-TCP client, or a TLS client without
 * a certificate, has none. A certificate is one of two kinds:
 *  - CA-verified: with --client-ca, it chains to that CA (and is in its
 *    dates). The CA vouches for its names.
 *  - pinned-only ("self-signed" in the logs): without --client-ca, any
 *    certificate the client holds the key of (TLS 1.3's CertificateVerify
 *    proves it) and that is not broken (tls_verify_unchained(), tls.h). Its
 *    names are whatever its maker wrote, so only its fingerprint names it.
 *
 * An access list (--allow-subscribe, --allow-write) is a comma-separated
 * list of entries; a request is allowed when any entry matches:
 *   sha256:HEX     the certificate's SHA-256 fingerprint (64 hex digits,
 *                  ':' separators and case ignored): either kind
 *   cn:NAME        a CA-verified certificate's subject common name, exactly
 *   subject:DN     a CA-verified certificate's whole subject in RFC 2253
 *                  form; its own commas stay in it ("subject:CN=a,O=b,cn:c"
 *                  is a subject and a CN)
 *   any-cert       any CA-verified client certificate
 *   paired         a certificate of either kind whose fingerprint is among
 *                  the board's paired clients (pairing.h)
 *   plain          clients without a certificate (plain TCP, or TLS
 *                  without one)
 * No list means everyone may.
 */
#ifndef IIOSTREAMD_ACCESS_H
#define IIOSTREAMD_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#define ACCESS_MAX_ENTRIES 32

struct peer_identity {
	bool has_cert;          /* a verified client certificate */
	bool ca_verified;       /* it chains to --client-ca; false: pinned-only */
	char subject[256];      /* RFC 2253, e.g. "CN=good-client" */
	char cn[128];           /* subject common name, "" if none */
	char sha256[65];        /* fingerprint of the DER certificate, lowercase hex */
};

enum access_kind { ACCESS_SHA256, ACCESS_CN, ACCESS_SUBJECT, ACCESS_ANY_CERT, ACCESS_PAIRED,
		   ACCESS_PLAIN };

struct access_entry {
	enum access_kind kind;
	char value[256];        /* fingerprint (lowercase hex), CN or subject */
};

struct access_list {
	bool set;               /* a list was given: only its entries may */
	unsigned n;
	struct access_entry entry[ACCESS_MAX_ENTRIES];
};

/* Parse a list. 0, or -EINVAL with `err` naming the bad entry. */
int access_list_parse(struct access_list *l, const char *spec, char *err, size_t errlen);

struct pairing;
/* The paired clients `paired` entries look up: the daemon's one store,
 * set at start (NULL: `paired` matches no one). */
void access_use_pairing(const struct pairing *p);

/* Does the list admit paired clients (so a refusal can say how to pair)? */
bool access_lists_paired(const struct access_list *l);

/* May this client do what the list guards? */
bool access_allows(const struct access_list *l, const struct peer_identity *id);

/* "CN=NAME sha256:HEX", "CN=NAME sha256:HEX (self-signed)" for a
 * pinned-only one, or "no certificate", for logs and stats. */
void access_describe(const struct peer_identity *id, char *out, size_t len);

#endif /* IIOSTREAMD_ACCESS_H */
