/* SPDX-License-Identifier: MIT */
/*
 * Who a client is, and what it may do.
 *
 * A client's identity is its TLS client certificate (verified against
 * --client-ca during the handshake): its subject, common name and SHA-256
 * fingerprint. A plain-TCP client, or a TLS client without a certificate,
 * has none.
 *
 * An access list (--allow-subscribe, --allow-write) is a comma-separated
 * list of entries; a request is allowed when any entry matches:
 *   sha256:HEX     the certificate's SHA-256 fingerprint (64 hex digits,
 *                  ':' separators and case ignored)
 *   cn:NAME        the certificate's subject common name, exactly
 *   subject:DN     the whole subject in RFC 2253 form; its own commas stay
 *                  in it ("subject:CN=a,O=b,cn:c" is a subject and a CN)
 *   any-cert       any verified client certificate
 *   plain          clients without a certificate (plain TCP, or TLS
 *                  without mutual authentication)
 * No list means everyone may.
 */
#ifndef IIOSTREAMD_ACCESS_H
#define IIOSTREAMD_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#define ACCESS_MAX_ENTRIES 32

struct peer_identity {
	bool has_cert;          /* a verified client certificate */
	char subject[256];      /* RFC 2253, e.g. "CN=good-client" */
	char cn[128];           /* subject common name, "" if none */
	char sha256[65];        /* fingerprint of the DER certificate, lowercase hex */
};

enum access_kind { ACCESS_SHA256, ACCESS_CN, ACCESS_SUBJECT, ACCESS_ANY_CERT, ACCESS_PLAIN };

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

/* May this client do what the list guards? */
bool access_allows(const struct access_list *l, const struct peer_identity *id);

/* "CN=NAME sha256:HEX" or "no certificate", for logs and stats. */
void access_describe(const struct peer_identity *id, char *out, size_t len);

#endif /* IIOSTREAMD_ACCESS_H */
