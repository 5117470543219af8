// SPDX-License-Identifier: MIT
/*
 * Authorisation lists (server/tls/access.c): parsing, every kind of entry, and
 * matching identities with and without a client certificate.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "access.h"

#define FP "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct access_list l;
static char err[256];

static const struct peer_identity good = {
	.has_cert = true, .subject = "CN=good-client,O=lab", .cn = "good-client", .sha256 = FP,
};
static const struct peer_identity other = {
	.has_cert = true, .subject = "CN=other", .cn = "other",
	.sha256 = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
};
static const struct peer_identity anonymous = { .has_cert = false };

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
