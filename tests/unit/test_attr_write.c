// SPDX-License-Identifier: MIT
/* POST /api/v1/attributes' pure parts: the JSON body (every key, escapes,
 * every refusal by its words, every truncation of a good body refused),
 * the Origin check and the JSON content type. The route itself runs
 * against a real daemon in tests/web/attr_write_test.py. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr_body.h"
#include "attr_write.h"

static struct attr_body *b;
static char why[256];

static void setup(void)
{
	b = calloc(1, sizeof(*b));
}

static void teardown(void)
{
	free(b);
}

TestSuite(attr_body, .init = setup, .fini = teardown);

static int parse(const char *s)
{
	return attr_body_parse((const unsigned char *)s, strlen(s), b, why, sizeof(why));
}

/* Refused, with `words` in the reason. */
static void refused(const char *s, const char *words)
{
	cr_assert_eq(parse(s), -EINVAL, "accepted: %s", s);
	cr_assert(strstr(why, words), "%s: reason \"%s\" lacks \"%s\"", s, why, words);
	cr_assert(!strchr(why, '\n'));
}

Test(attr_body, every_key)
{
	cr_assert_eq(parse(" {\"device\":\"sim\",\"channel\":\"voltage1\",\"output\":true,"
			   "\"buffer\":false,\"attribute\":\"scale\",\"value\":\"0.5\"}\r\n"),
		     0, "%s", why);
	cr_assert_str_eq(b->device, "sim");
	cr_assert_str_eq(b->channel, "voltage1");
	cr_assert_str_eq(b->attribute, "scale");
	cr_assert_str_eq(b->value, "0.5");
	cr_assert(b->output);
	cr_assert(!b->buffer);
}

Test(attr_body, device_attribute_with_defaults)
{
	cr_assert_eq(parse("{ \"value\" : \"2000000\" , \"attribute\":\"sampling_frequency\","
			   "\"device\":\"sim\" }"),
		     0, "%s", why);
	cr_assert_str_eq(b->channel, "");
	cr_assert_str_eq(b->value, "2000000");
	cr_assert(!b->output && !b->buffer);
	cr_assert_eq(parse("{\"device\":\"sim\",\"attribute\":\"a\",\"value\":\"\"}"), 0,
		     "an empty value is the device's to judge");
}

Test(attr_body, escapes_unescaped)
{
	cr_assert_eq(parse("{\"device\":\"a\\\"b\\\\c\\/d\",\"attribute\":\"x\","
			   "\"value\":\"\\t\\n\\u00e9\\u20ac\\ud83d\\ude00\\b\\f\\r\"}"),
		     0, "%s", why);
	cr_assert_str_eq(b->device, "a\"b\\c/d");
	cr_assert_str_eq(b->value, "\t\n\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\b\f\r");
	cr_assert_eq(parse("{\"device\":\"\xc3\xa9\",\"attribute\":\"x\",\"value\":\"1\"}"), 0,
		     "raw UTF-8");
}

Test(attr_body, refusals_say_why)
{
	refused("", "JSON object");
	refused("[]", "JSON object");
	refused("\"x\"", "JSON object");
	refused("{}", "\"device\" is missing");
	refused("{\"device\":\"\",\"attribute\":\"a\",\"value\":\"1\"}", "\"device\" is missing");
	refused("{\"device\":\"d\",\"value\":\"1\"}", "\"attribute\" is missing");
	refused("{\"device\":\"d\",\"attribute\":\"a\"}", "\"value\" is missing");
	refused("{\"device\":\"d\",\"attribute\":\"a\",\"value\":1}", "\"value\" must be a string");
	refused("{\"device\":\"d\",\"attribute\":\"a\",\"value\":null}", "must be a string");
	refused("{\"device\":\"d\",\"output\":\"yes\"}", "\"output\" must be true or false");
	refused("{\"device\":\"d\",\"device\":\"e\"}", "\"device\" given twice");
	refused("{\"Device\":\"d\"}", "unknown key \"Device\"");
	refused("{\"dev\x01\":\"d\"}", "a control character");
	refused("{\"device\" \"d\"}", "':' expected");
	refused("{\"device\":\"d\" \"attribute\":\"a\"}", "',' or '}' expected");
	refused("{\"device\":\"d\",}", "a key must be a string");
	refused("{\"device\":\"d\",\"attribute\":\"a\",\"value\":\"1\"} x", "after the object");
	refused("{\"device\":\"d\",\"attribute\":\"a\",\"value\":\"1\"}{}", "after the object");
	refused("{\"device\":\"d\\u0000\"}", "bad escape");
	refused("{\"device\":\"\\ud800\"}", "bad escape");
	refused("{\"device\":\"\\udc00\"}", "bad escape");
	refused("{\"device\":\"\\ud800\\u0041\"}", "bad escape");
	refused("{\"device\":\"\\x41\"}", "bad escape");
	refused("{\"device\":\"\\u12\"}", "bad escape");
	refused("{\"device\":\"a\nb\"}", "a control character");
	refused("{\"device\":\"a\\nb\"}", "a control character in a name");
	refused("{\"attribute\":\"\\u001f\"}", "a control character in a name");
	refused("{\"device\":\"\xc3\"}", "not UTF-8");
	refused("{\"device\":\"\xed\xa0\x80\"}", "not UTF-8");
	refused("{\"device\":\"\xc0\xaf\"}", "not UTF-8");
	refused("{\"device\":\"d\"", "',' or '}' expected");
	refused("{\"device\":\"d", "unterminated");
}

/* A NUL inside the body is a control character, not an end. */
Test(attr_body, nul_byte_refused)
{
	static const char s[] = "{\"device\":\"d\0e\",\"attribute\":\"a\",\"value\":\"1\"}";

	cr_assert_eq(attr_body_parse((const unsigned char *)s, sizeof(s) - 1, b, why, sizeof(why)),
		     -EINVAL);
	cr_assert(strstr(why, "control character"), "%s", why);
}

Test(attr_body, lengths_bounded)
{
	size_t n = ATTR_BODY_VALUE_MAX + 64, i;
	char *s = malloc(n + 64), *p;

	/* a value of ATTR_BODY_VALUE_MAX - 1 bytes fits; one more does not */
	for (i = 0; i < 2; i++) {
		p = s + sprintf(s, "{\"device\":\"d\",\"attribute\":\"a\",\"value\":\"");
		memset(p, 'v', ATTR_BODY_VALUE_MAX - 1 + i);
		strcpy(p + ATTR_BODY_VALUE_MAX - 1 + i, "\"}");
		if (i == 0) {
			cr_assert_eq(parse(s), 0, "%s", why);
			cr_assert_eq(strlen(b->value), ATTR_BODY_VALUE_MAX - 1);
		} else {
			refused(s, "\"value\" is longer than 4095 bytes");
		}
	}
	/* an escape that would overflow by its UTF-8 bytes */
	p = s + sprintf(s, "{\"device\":\"");
	memset(p, 'd', ATTR_BODY_NAME_MAX - 2);
	strcpy(p + ATTR_BODY_NAME_MAX - 2, "\\u00e9\"}");
	refused(s, "\"device\" is longer than 255 bytes");
	free(s);
	cr_assert_eq(attr_body_parse((const unsigned char *)"{", ATTR_BODY_MAX + 1, b, why,
				     sizeof(why)),
		     -EINVAL, "over ATTR_BODY_MAX: refused before a byte is read");
	cr_assert(strstr(why, "longer than 16384"), "%s", why);
}

/* Every proper prefix of a good body is refused, each in a buffer of its
 * own length (ASan sees any read past it). */
Test(attr_body, every_truncation_refused)
{
	static const char good[] = "{\"device\":\"sim\",\"channel\":\"v\\u00e9\",\"output\":false,"
				   "\"attribute\":\"scale\",\"value\":\"\\ud83d\\ude00\"}";
	size_t n;

	for (n = 0; n < sizeof(good) - 1; n++) {
		unsigned char *cut = malloc(n ? n : 1);

		memcpy(cut, good, n);
		cr_assert_eq(attr_body_parse(cut, n, b, why, sizeof(why)), -EINVAL, "prefix %zu", n);
		free(cut);
	}
	cr_assert_eq(parse(good), 0, "%s", why);
	cr_assert_str_eq(b->channel, "v\xc3\xa9");
}

Test(attr_write, same_origin_is_scheme_and_host)
{
	cr_assert(attr_write_same_origin("https://board:8443", "board:8443", true));
	cr_assert(attr_write_same_origin("HTTPS://Board:8443", "board:8443", true));
	cr_assert(attr_write_same_origin("http://127.0.0.1:8080", "127.0.0.1:8080", false));
	cr_assert(attr_write_same_origin("https://board", "board:443", true), "default port");
	cr_assert(attr_write_same_origin("https://board:443", "board", true), "default port");
	cr_assert(attr_write_same_origin("http://[::1]:80", "[::1]", false));
	cr_assert(!attr_write_same_origin("http://board:8443", "board:8443", true), "scheme");
	cr_assert(!attr_write_same_origin("https://board:8443", "board:8443", false), "scheme");
	cr_assert(!attr_write_same_origin("https://evil:8443", "board:8443", true));
	cr_assert(!attr_write_same_origin("https://board:8444", "board:8443", true), "port");
	cr_assert(!attr_write_same_origin("https://board:8443.evil", "board:8443", true));
	cr_assert(!attr_write_same_origin("https://boar", "board", true));
	cr_assert(!attr_write_same_origin("https://board:80", "board", true), "not its default");
	cr_assert(!attr_write_same_origin("null", "board", true), "a data: URL's page");
	cr_assert(!attr_write_same_origin("https://", "", true));
	cr_assert(!attr_write_same_origin(NULL, "board", true));
	cr_assert(!attr_write_same_origin("https://board", NULL, true));
}

Test(attr_write, json_content_type_only)
{
	cr_assert(attr_write_is_json("application/json"));
	cr_assert(attr_write_is_json("Application/JSON; charset=utf-8"));
	cr_assert(attr_write_is_json(" application/json;charset=UTF-8"));
	cr_assert(!attr_write_is_json("text/plain"), "a form's or a simple fetch's type");
	cr_assert(!attr_write_is_json("application/x-www-form-urlencoded"));
	cr_assert(!attr_write_is_json("multipart/form-data; boundary=x"));
	cr_assert(!attr_write_is_json("application/jsonx"));
	cr_assert(!attr_write_is_json("text/plain; application/json"));
	cr_assert(!attr_write_is_json(""));
	cr_assert(!attr_write_is_json(NULL));
}
