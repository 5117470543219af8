/* SPDX-License-Identifier: MIT */
/*
 * A growable text buffer with printf-append, for replies built in one go
 * (the /metrics text, the status JSON). Errors are sticky: once an
 * allocation fails every later append does nothing, and the caller checks
 * strbuf_error() once at the end instead of after every line.
 */
#ifndef IIOSTREAMD_STRBUF_H
#define IIOSTREAMD_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;    /* NUL-terminated once anything was appended; NULL before */
	size_t len;   /* bytes written, the NUL not counted */
	size_t cap;   /* bytes allocated */
	bool failed;  /* an allocation failed: the contents are incomplete */
};

#define STRBUF_INIT { NULL, 0, 0, false }

/* Append n bytes of s (which may hold NULs). */
void strbuf_append(struct strbuf *sb, const char *s, size_t n);

/* Append a NUL-terminated string. */
void strbuf_puts(struct strbuf *sb, const char *s);

void strbuf_putc(struct strbuf *sb, char c);

/* Append printf-style. */
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 0, or -ENOMEM if any append failed. */
int strbuf_error(const struct strbuf *sb);

/* The text so far ("" when nothing was appended); valid until the next
 * append or strbuf_free(). */
const char *strbuf_str(const struct strbuf *sb);

/* Free the memory; sb is empty again and may be reused. */
void strbuf_free(struct strbuf *sb);

#endif /* IIOSTREAMD_STRBUF_H */
