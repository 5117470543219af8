/* SPDX-License-Identifier: MIT */
/*
 * Prometheus' text exposition format, version 0.0.4, into a strbuf: a
 * family's `# HELP` and `# TYPE` lines, then its samples, each
 * `name{label="value",...} number`. Label values and help text are
 * escaped as the format says (backslash, double quote in label values,
 * newline), and bytes that are not well-formed UTF-8 become U+FFFD, as
 * the format must be UTF-8. Names are the caller's: literals that already
 * match [a-zA-Z_:][a-zA-Z0-9_:]*.
 *
 * A family's samples must follow its TYPE line without another family in
 * between: the caller writes one family at a time.
 */
#ifndef IIOSTREAMD_PROM_TEXT_H
#define IIOSTREAMD_PROM_TEXT_H

#include <stdint.h>

#include "histogram.h"
#include "strbuf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct prom_label {
	const char *name;   /* a label name literal */
	const char *value;  /* any bytes, NUL-terminated; escaped here */
};

/* `# HELP name help` and `# TYPE name type` (type: "counter", "gauge",
 * "histogram"). */
void prom_family(struct strbuf *sb, const char *name, const char *type, const char *help);

/* One sample: name{labels} v. nlabels 0: no braces. */
void prom_u64(struct strbuf *sb, const char *name, const struct prom_label *labels,
	      unsigned nlabels, uint64_t v);
/* NaN and infinities are written as the format spells them (NaN, +Inf,
 * -Inf). */
void prom_double(struct strbuf *sb, const char *name, const struct prom_label *labels,
		 unsigned nlabels, double v);

/* A histogram's samples in seconds: name_bucket{labels,le="..."} for every
 * bound (cumulative counts), le="+Inf" (= count), name_sum, name_count. */
void prom_histogram(struct strbuf *sb, const char *name, const struct prom_label *labels,
		    unsigned nlabels, const struct histogram *h);

/* value as a label value, quotes not included. */
void prom_escape_label(struct strbuf *sb, const char *value);

/* A double as the format writes it ("+Inf", "NaN", else %.15g). */
void prom_format_double(struct strbuf *sb, double v);

#endif /* IIOSTREAMD_PROM_TEXT_H */
