// SPDX-License-Identifier: MIT
/* Prometheus' text exposition format: see prom_text.h. */
#include "prom_text.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "utf8.h"

/* Escape s: backslash and newline always, the double quote in label
 * values only (help text keeps it, as the format says). */
static void escape(struct strbuf *sb, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, len;

	while (i < n) {
		if (p[i] == '\\') {
			strbuf_append(sb, "\\\\", 2);
			i++;
		} else if (p[i] == '\n') {
			strbuf_append(sb, "\\n", 2);
			i++;
		} else if (p[i] == '"' && quote) {
			strbuf_append(sb, "\\\"", 2);
			i++;
		} else if ((len = utf8_seq_len(p + i, n - i)) != 0) {
			strbuf_append(sb, (const char *)p + i, len);
			i += len;
		} else {
			strbuf_puts(sb, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
		}
	}
}

void prom_escape_label(struct strbuf *sb, const char *value)
{
	escape(sb, value, true);
}

void prom_family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	strbuf_printf(sb, "# HELP %s ", name);
	escape(sb, help, false);
	strbuf_printf(sb, "\n# TYPE %s %s\n", name, type);
}

/* name{l1="v1",...,extra="extra_value"}, then a space */
static void series(struct strbuf *sb, const char *name, const char *suffix,
		   const struct prom_label *labels, unsigned nlabels, const char *extra,
		   const char *extra_value)
{
	unsigned i;

	strbuf_puts(sb, name);
	strbuf_puts(sb, suffix);
	if (nlabels || extra) {
		strbuf_putc(sb, '{');
		for (i = 0; i < nlabels; i++) {
			strbuf_printf(sb, "%s%s=\"", i ? "," : "", labels[i].name);
			prom_escape_label(sb, labels[i].value);
			strbuf_putc(sb, '"');
		}
		if (extra) {
			strbuf_printf(sb, "%s%s=\"", nlabels ? "," : "", extra);
			prom_escape_label(sb, extra_value);
			strbuf_putc(sb, '"');
		}
		strbuf_putc(sb, '}');
	}
	strbuf_putc(sb, ' ');
}

void prom_u64(struct strbuf *sb, const char *name, const struct prom_label *labels,
	      unsigned nlabels, uint64_t v)
{
	series(sb, name, "", labels, nlabels, NULL, NULL);
	strbuf_printf(sb, "%" PRIu64 "\n", v);
}

void prom_format_double(struct strbuf *sb, double v)
{
	if (isnan(v))
		strbuf_puts(sb, "NaN");
	else if (isinf(v))
		strbuf_puts(sb, v > 0 ? "+Inf" : "-Inf");
	else
		strbuf_printf(sb, "%.15g", v);
}

void prom_double(struct strbuf *sb, const char *name, const struct prom_label *labels,
		 unsigned nlabels, double v)
{
	series(sb, name, "", labels, nlabels, NULL, NULL);
	prom_format_double(sb, v);
	strbuf_putc(sb, '\n');
}

void prom_histogram(struct strbuf *sb, const char *name, const struct prom_label *labels,
		    unsigned nlabels, const struct histogram *h)
{
	struct strbuf le = STRBUF_INIT;
	unsigned i;

	for (i = 0; i < HISTOGRAM_BUCKETS; i++) {
		le.len = 0;
		prom_format_double(&le, (double)histogram_bounds_ns[i] / 1e9);
		series(sb, name, "_bucket", labels, nlabels, "le", strbuf_str(&le));
		strbuf_printf(sb, "%" PRIu64 "\n", histogram_cumulative(h, i));
	}
	if (strbuf_error(&le))
		sb->failed = true;
	strbuf_free(&le);
	series(sb, name, "_bucket", labels, nlabels, "le", "+Inf");
	strbuf_printf(sb, "%" PRIu64 "\n", h->count);
	series(sb, name, "_sum", labels, nlabels, NULL, NULL);
	prom_format_double(sb, (double)h->sum_ns / 1e9);
	strbuf_putc(sb, '\n');
	series(sb, name, "_count", labels, nlabels, NULL, NULL);
	strbuf_printf(sb, "%" PRIu64 "\n", h->count);
}
