// SPDX-License-Identifier: MIT
/*
 * URL parsing of libiiostream (client/lib/url.c): tcp://HOST[:PORT],
 * tcp://[IPV6][:PORT] and the same with tls://; everything else is refused
 * with a reason.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "client_internal.h"

static struct iios__url u;
static char err[256];

static int parse(const char *url)
{
	memset(&u, 0x5a, sizeof(u));
	memset(err, 0, sizeof(err));
	return iios__parse_url(url, &u, err, sizeof(err));
}

static void assert_ok(const char *url, const char *host, const char *port)
{
	int r = parse(url);

	cr_assert_eq(r, 0, "%s: %d (%s)", url, r, err);
	cr_assert_str_eq(u.host, host, "%s", url);
	cr_assert_str_eq(u.port, port, "%s", url);
}

static void assert_refused(const char *url, int want)
{
	int r = parse(url);

	cr_assert_eq(r, want, "%s: got %d, want %d", url, r, want);
	cr_assert_neq(err[0], '\0', "%s: no error text", url);
}

Test(url, splits_host_and_port)
{
	assert_ok("tcp://board:1234", "board", "1234");
	assert_ok("tcp://127.0.0.1:30432", "127.0.0.1", "30432");
	assert_ok("tcp://a:1", "a", "1");
	assert_ok("tcp://my-host.example.org:65535", "my-host.example.org", "65535");
}

Test(url, port_defaults_to_30432)
{
	assert_ok("tcp://board", "board", "30432");
	assert_ok("tcp://[::1]", "::1", "30432");
}

Test(url, accepts_bracketed_ipv6)
{
	assert_ok("tcp://[::1]:8080", "::1", "8080");
	assert_ok("tcp://[fe80::1:2:3]:1", "fe80::1:2:3", "1");
}

Test(url, port_is_normalised_to_decimal)
{
	assert_ok("tcp://h:00080", "h", "80");
}

Test(url, tls_scheme_defaults_to_30433)
{
	assert_ok("tls://board:1234", "board", "1234");
	cr_assert(u.tls);
	assert_ok("tls://board", "board", "30433");
	assert_ok("tls://[::1]", "::1", "30433");
	cr_assert(u.tls);
	assert_ok("tcp://board", "board", "30432");
	cr_assert(!u.tls);
}

Test(url, rejects_other_schemes)
{
	assert_refused("https://board:1234", -EPROTONOSUPPORT);
	assert_refused("http://board", -EPROTONOSUPPORT);
	assert_refused("udp://board:1", -EPROTONOSUPPORT);
}

Test(url, rejects_no_scheme)
{
	assert_refused("board:1234", -EINVAL);
	assert_refused("board", -EINVAL);
	assert_refused("", -EINVAL);
	assert_refused("tcp:/board:1", -EINVAL);
}

Test(url, rejects_port_out_of_range)
{
	assert_refused("tcp://board:0", -EINVAL);
	assert_refused("tcp://board:65536", -EINVAL);
	assert_refused("tcp://board:99999999999999999999999", -EINVAL);
	assert_refused("tcp://[::1]:0", -EINVAL);
	assert_refused("tcp://[::1]:65536", -EINVAL);
}

Test(url, rejects_port_that_is_not_a_number)
{
	assert_refused("tcp://board:abc", -EINVAL);
	assert_refused("tcp://board:", -EINVAL);
	assert_refused("tcp://board:12ab", -EINVAL);
	assert_refused("tcp://board:-1", -EINVAL);
	assert_refused("tcp://board:+80", -EINVAL);
	assert_refused("tcp://board: 80", -EINVAL);
	assert_refused("tcp://[::1]:", -EINVAL);
	assert_refused("tcp://[::1]:x", -EINVAL);
}

Test(url, rejects_empty_host)
{
	assert_refused("tcp://", -EINVAL);
	assert_refused("tcp://:1234", -EINVAL);
	assert_refused("tcp://[]:1234", -EINVAL);
	assert_refused("tcp://[]", -EINVAL);
}

Test(url, rejects_junk_after_the_bracket)
{
	assert_refused("tcp://[::1]x", -EINVAL);
	assert_refused("tcp://[::1]1234", -EINVAL);
	assert_refused("tcp://[::1]]:1", -EINVAL);
}

Test(url, rejects_unterminated_bracket)
{
	assert_refused("tcp://[::1", -EINVAL);
	assert_refused("tcp://[::1:1234", -EINVAL);
}

Test(url, rejects_a_path)
{
	assert_refused("tcp://board/x", -EINVAL);
	assert_refused("tcp://board:1234/", -EINVAL);
}

Test(url, rejects_unbracketed_ipv6)
{
	assert_refused("tcp://::1:1234", -EINVAL);
	assert_refused("tcp://fe80::1", -EINVAL);
}

Test(url, host_length_is_bounded)
{
	char url[300];

	strcpy(url, "tcp://");
	memset(url + 6, 'h', 255);
	strcpy(url + 6 + 255, ":1");
	cr_assert_eq(parse(url), 0, "%s", err);
	cr_assert_eq(strlen(u.host), 255);
	memset(url + 6, 'h', 256);
	strcpy(url + 6 + 256, ":1");
	assert_refused(url, -EINVAL);
}

Test(url, error_text_names_the_url)
{
	assert_refused("ssl://board:1234", -EPROTONOSUPPORT);
	cr_assert(strstr(err, "ssl://board:1234"), "%s", err);
	assert_refused("tcp://board:0", -EINVAL);
	cr_assert(strstr(err, "tcp://board:0"), "%s", err);
}

Test(url, error_text_is_truncated_to_its_buffer)
{
	char small[8];
	int r;

	memset(small, 'z', sizeof(small));
	r = iios__parse_url("ssl://a-very-long-host-name:1", &u, small, sizeof(small));
	cr_assert_eq(r, -EPROTONOSUPPORT);
	cr_assert_eq(small[sizeof(small) - 1], '\0');
	cr_assert_eq(strlen(small), sizeof(small) - 1);
}
