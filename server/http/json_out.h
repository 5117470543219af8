/* SPDX-License-Identifier: MIT */
/*
 * A JSON writer into a strbuf: objects, arrays and values in order, the
 * commas placed by the writer. Strings are escaped as RFC 8259 requires
 * (quote, backslash, every control character), and bytes that are not
 * well-formed UTF-8 become U+FFFD, so the output is valid JSON whatever a
 * driver's attribute holds. No JSON library is needed for output.
 *
 * Inside an object every value takes its key; inside an array (and at the
 * top) the key is NULL.
 */
#ifndef IIOSTREAMD_JSON_OUT_H
#define IIOSTREAMD_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define JSON_MAX_DEPTH 16

struct json_out {
	struct strbuf *sb;
	unsigned depth;                 /* open objects and arrays */
	bool first[JSON_MAX_DEPTH + 1]; /* nothing written yet at that depth */
	bool failed;                    /* nested deeper than JSON_MAX_DEPTH */
};

void json_init(struct json_out *j, struct strbuf *sb);

/* 0, -ENOMEM (the strbuf's), or -EINVAL (unbalanced or too deep). */
int json_finish(const struct json_out *j);

void json_object_begin(struct json_out *j, const char *key);
void json_object_end(struct json_out *j);
void json_array_begin(struct json_out *j, const char *key);
void json_array_end(struct json_out *j);

/* value NULL writes null. */
void json_string(struct json_out *j, const char *key, const char *value);
/* n bytes, which may hold NULs (written \u0000). */
void json_string_n(struct json_out *j, const char *key, const char *value, size_t n);
void json_u64(struct json_out *j, const char *key, uint64_t v);
void json_i64(struct json_out *j, const char *key, int64_t v);
/* NaN and infinities, which JSON has not, are written null. */
void json_double(struct json_out *j, const char *key, double v);
void json_bool(struct json_out *j, const char *key, bool v);
void json_null(struct json_out *j, const char *key);

/* s[0..n) as a JSON string literal, quotes included. */
void json_escape(struct strbuf *sb, const char *s, size_t n);

#endif /* IIOSTREAMD_JSON_OUT_H */
