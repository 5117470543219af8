// SPDX-License-Identifier: MIT
/* Access lists over client identities: see access.h. */
#include "access.h"
#include "pairing.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Lowercase hex of a fingerprint without separators; -1 if not 64 digits. */
static int normalise_sha256(const char *in, size_t len, char out[65])
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == ':')
			continue;
		if (!isxdigit((unsigned char)in[i]) || n == 64)
			return -1;
		out[n++] = (char)tolower((unsigned char)in[i]);
	}
	out[n] = '\0';
	return n == 64 ? 0 : -1;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix);

	return len >= pl && strncmp(s, prefix, pl) == 0;
}

static int parse_entry(struct access_entry *e, const char *s, size_t len, char *err,
		       size_t errlen)
{
	if (len == 8 && strncmp(s, "any-cert", 8) == 0) {
		e->kind = ACCESS_ANY_CERT;
		return 0;
	}
	if (len == 6 && strncmp(s, "paired", 6) == 0) {
		e->kind = ACCESS_PAIRED;
		return 0;
	}
	if (len == 5 && strncmp(s, "plain", 5) == 0) {
		e->kind = ACCESS_PLAIN;
		return 0;
	}
	if (has_prefix(s, len, "sha256:")) {
		e->kind = ACCESS_SHA256;
		if (normalise_sha256(s + 7, len - 7, e->value) == 0)
			return 0;
		snprintf(err, errlen, "'%.*s' is not sha256: and 64 hex digits", (int)len, s);
		return -EINVAL;
	}
	if (has_prefix(s, len, "cn:") || has_prefix(s, len, "subject:")) {
		size_t skip = s[0] == 'c' ? 3 : 8;

		e->kind = s[0] == 'c' ? ACCESS_CN : ACCESS_SUBJECT;
		if (len - skip == 0 || len - skip >= sizeof(e->value)) {
			snprintf(err, errlen, "'%.*s' has an empty or too long name", (int)len, s);
			return -EINVAL;
		}
		memcpy(e->value, s + skip, len - skip);
		e->value[len - skip] = '\0';
		return 0;
	}
	snprintf(err, errlen,
		 "'%.*s' is not sha256:HEX, cn:NAME, subject:DN, any-cert, paired or plain",
		 (int)len, s);
	return -EINVAL;
}

/* Is this piece the next RDN of a subject ("O=lab"), not an entry? */
static bool continues_dn(const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	const char *colon = memchr(s, ':', len);

	return eq && (!colon || colon > eq);
}

int access_list_parse(struct access_list *l, const char *spec, char *err, size_t errlen)
{
	const char *p = spec;

	memset(l, 0, sizeof(*l));
	l->set = true;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		/* surrounding blanks are not part of an entry */
		while (len && isspace((unsigned char)*p))
			p++, len--;
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (len == 0) {
			snprintf(err, errlen, "empty entry in '%s'", spec);
			return -EINVAL;
		}
		if (l->n && l->entry[l->n - 1].kind == ACCESS_SUBJECT && continues_dn(p, len)) {
			/* "subject:CN=a,O=b": the DN's own commas */
			struct access_entry *e = &l->entry[l->n - 1];
			size_t have = strlen(e->value);

			if (have + 1 + len >= sizeof(e->value)) {
				snprintf(err, errlen, "subject too long in '%s'", spec);
				return -EINVAL;
			}
			e->value[have] = ',';
			memcpy(e->value + have + 1, p, len);
			e->value[have + 1 + len] = '\0';
		} else if (l->n == ACCESS_MAX_ENTRIES) {
			snprintf(err, errlen, "more than %d entries", ACCESS_MAX_ENTRIES);
			return -EINVAL;
		} else {
			if (parse_entry(&l->entry[l->n], p, len, err, errlen))
				return -EINVAL;
			l->n++;
		}
		if (!end)
			break;
		p = end + 1;
		if (!*p) {
			snprintf(err, errlen, "empty entry in '%s'", spec);
			return -EINVAL;
		}
	}
	if (l->n == 0) {
		snprintf(err, errlen, "the list is empty");
		return -EINVAL;
	}
	return 0;
}

static const struct pairing *paired_clients;

void access_use_pairing(const struct pairing *p)
{
	paired_clients = p;
}

static bool entry_matches(const struct access_entry *e, const struct peer_identity *id)
{
	switch (e->kind) {
	case ACCESS_PLAIN:
		return !id->has_cert;
	case ACCESS_SHA256:
		/* names one certificate, whoever issued it: holding its key
		 * is proven in the handshake */
		return id->has_cert && strcmp(e->value, id->sha256) == 0;
	/* Names and "any": only what a CA vouches for. Anyone can make a
	 * self-signed certificate saying CN=lab-pc. */
	case ACCESS_ANY_CERT:
		return id->has_cert && id->ca_verified;
	/* a fingerprint the board recorded when it paired: as sha256: */
	case ACCESS_PAIRED:
		return id->has_cert && pairing_has(paired_clients, id->sha256);
	case ACCESS_CN:
		return id->has_cert && id->ca_verified && id->cn[0] &&
		       strcmp(e->value, id->cn) == 0;
	case ACCESS_SUBJECT:
		return id->has_cert && id->ca_verified && strcmp(e->value, id->subject) == 0;
	}
	return false;
}

bool access_lists_paired(const struct access_list *l)
{
	unsigned i;

	for (i = 0; l->set && i < l->n; i++)
		if (l->entry[i].kind == ACCESS_PAIRED)
			return true;
	return false;
}

bool access_allows(const struct access_list *l, const struct peer_identity *id)
{
	unsigned i;

	if (!l->set)
		return true;
	for (i = 0; i < l->n; i++)
		if (entry_matches(&l->entry[i], id))
			return true;
	return false;
}

void access_describe(const struct peer_identity *id, char *out, size_t len)
{
	if (!id->has_cert)
		snprintf(out, len, "no certificate");
	else
		snprintf(out, len, "%s sha256:%s%s", id->subject, id->sha256,
			 id->ca_verified ? "" : " (self-signed)");
}
