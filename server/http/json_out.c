// SPDX-License-Identifier: MIT
/* A JSON writer: see json_out.h. */
#include "json_out.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "utf8.h"

void json_init(struct json_out *j, struct strbuf *sb)
{
	memset(j, 0, sizeof(*j));
	j->sb = sb;
	j->first[0] = true;
}

int json_finish(const struct json_out *j)
{
	if (strbuf_error(j->sb))
		return strbuf_error(j->sb);
	return j->failed || j->depth ? -EINVAL : 0;
}

void json_escape(struct strbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, len;

	strbuf_putc(sb, '"');
	while (i < n) {
		unsigned char c = p[i];
		char esc[7] = "\\u00";

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7f) {
			run++; /* plain ASCII: copied in runs */
			i++;
			continue;
		}
		strbuf_append(sb, (const char *)p + i - run, run);
		run = 0;
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			strbuf_append(sb, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
					  : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;

			if (named) {
				strbuf_append(sb, named, 2);
			} else {
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				strbuf_append(sb, esc, 6);
			}
			i++;
		} else if ((len = utf8_seq_len(p + i, n - i)) != 0) {
			strbuf_append(sb, (const char *)p + i, len);
			i += len;
		} else {
			strbuf_puts(sb, "\\ufffd"); /* one replacement per bad byte */
			i++;
		}
	}
	strbuf_append(sb, (const char *)p + i - run, run);
	strbuf_putc(sb, '"');
}

/* The comma before a value, and its key inside an object. */
static void lead(struct json_out *j, const char *key)
{
	if (!j->first[j->depth])
		strbuf_putc(j->sb, ',');
	j->first[j->depth] = false;
	if (key) {
		json_escape(j->sb, key, strlen(key));
		strbuf_putc(j->sb, ':');
	}
}

static void open_(struct json_out *j, const char *key, char c)
{
	lead(j, key);
	strbuf_putc(j->sb, c);
	if (j->depth >= JSON_MAX_DEPTH) {
		j->failed = true;
		return;
	}
	j->first[++j->depth] = true;
}

static void close_(struct json_out *j, char c)
{
	strbuf_putc(j->sb, c);
	if (j->depth == 0)
		j->failed = true;
	else
		j->depth--;
}

void json_object_begin(struct json_out *j, const char *key)
{
	open_(j, key, '{');
}

void json_object_end(struct json_out *j)
{
	close_(j, '}');
}

void json_array_begin(struct json_out *j, const char *key)
{
	open_(j, key, '[');
}

void json_array_end(struct json_out *j)
{
	close_(j, ']');
}

void json_string_n(struct json_out *j, const char *key, const char *value, size_t n)
{
	lead(j, key);
	json_escape(j->sb, value, n);
}

void json_string(struct json_out *j, const char *key, const char *value)
{
	if (!value) {
		json_null(j, key);
		return;
	}
	json_string_n(j, key, value, strlen(value));
}

void json_u64(struct json_out *j, const char *key, uint64_t v)
{
	lead(j, key);
	strbuf_printf(j->sb, "%" PRIu64, v);
}

void json_i64(struct json_out *j, const char *key, int64_t v)
{
	lead(j, key);
	strbuf_printf(j->sb, "%" PRId64, v);
}

void json_double(struct json_out *j, const char *key, double v)
{
	if (!isfinite(v)) {
		json_null(j, key);
		return;
	}
	lead(j, key);
	strbuf_printf(j->sb, "%.15g", v);
}

void json_bool(struct json_out *j, const char *key, bool v)
{
	lead(j, key);
	strbuf_puts(j->sb, v ? "true" : "false");
}

void json_null(struct json_out *j, const char *key)
{
	lead(j, key);
	strbuf_puts(j->sb, "null");
}
