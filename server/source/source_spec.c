// SPDX-License-Identifier: MIT
/* A --source spec into its driver, node and per-device keys: see source_spec.h. */
#include "source_spec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *text, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const char *text, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "'%s': %s", text, why);
	return -EINVAL;
}

/* A decimal number with an optional K or M (binary for sizes, decimal for
 * rates: `k` is 1024 or 1000). 0 or -EINVAL. */
static int parse_number(const char *s, uint64_t k, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end == 'K' || *end == 'k') {
		v *= k;
		end++;
	} else if (*end == 'M') {
		v *= k * k;
		end++;
	}
	if (*end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int set_text(char *field, size_t size, const char *value)
{
	if (!*value || strlen(value) >= size)
		return -EINVAL;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

/* One KEY=VALUE item. */
static int parse_key(struct source_spec *out, const char *key, const char *value,
		     const char *text, char *err, size_t errlen)
{
	uint64_t v = 0;

	if (strcmp(key, "name") == 0) {
		if (set_text(out->name, sizeof(out->name), value))
			return fail(err, errlen, text, "name: empty or longer than %zu bytes",
				    sizeof(out->name) - 1);
		return 0;
	}
	if (strcmp(key, "format") == 0) {
		if (set_text(out->format, sizeof(out->format), value))
			return fail(err, errlen, text, "format: empty or longer than %zu bytes",
				    sizeof(out->format) - 1);
		return 0;
	}
	if (strcmp(key, "timestamp") == 0) {
		if (strcmp(value, "on") && strcmp(value, "off"))
			return fail(err, errlen, text, "timestamp: '%s' is not on or off", value);
		out->timestamp = value[1] == 'n';
		return 0;
	}
	if (strcmp(key, "dac") == 0) {
		if (strcmp(value, "on") && strcmp(value, "off"))
			return fail(err, errlen, text, "dac: '%s' is not on or off", value);
		out->no_dac = value[1] != 'n';
		return 0;
	}
	if (strcmp(key, "channels") == 0) {
		if (parse_number(value, 1, 64, &v) || v == 0)
			return fail(err, errlen, text, "channels: '%s' is not a number 1..64",
				    value);
		out->channels = (uint32_t)v;
		return 0;
	}
	if (strcmp(key, "rate") == 0) {
		if (parse_number(value, 1000, 1000000000ull, &v))
			return fail(err, errlen, text,
				    "rate: '%s' is not a number of scans per second up to 1G",
				    value);
		out->rate = v;
		out->rate_set = true;
		return 0;
	}
	if (strcmp(key, "block-size") == 0 || strcmp(key, "blocks") == 0 ||
	    strcmp(key, "client-queue") == 0) {
		if (parse_number(value, 1024, UINT32_MAX, &v) || v == 0)
			return fail(err, errlen, text, "%s: '%s' is not a number", key, value);
		if (key[0] == 'c')
			out->client_queue = (uint32_t)v;
		else if (strcmp(key, "blocks") == 0)
			out->blocks = (uint32_t)v;
		else
			out->block_size = (uint32_t)v;
		return 0;
	}
	if (strcmp(key, "buffer") == 0) {
		if (parse_number(value, 1, 63, &v))
			return fail(err, errlen, text, "buffer: '%s' is not a buffer index 0..63",
				    value);
		out->buffer = (uint32_t)v;
		out->buffer_set = true;
		return 0;
	}
	return fail(err, errlen, text,
		    "unknown key '%s' (keys: name, channels, rate, format, timestamp, dac, "
		    "block-size, blocks, client-queue, buffer)",
		    key);
}

int source_spec_parse(const char *text, struct source_spec *out, char *err, size_t errlen)
{
	char buf[SOURCE_SPEC_MAX], *item, *save = NULL;
	const char *colon;
	int r;

	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(buf))
		return fail(err, errlen, "...", "longer than %d bytes", SOURCE_SPEC_MAX - 1);
	out->ops = source_find(text);
	out->scan = strncmp(text, "auto", 4) == 0 && (!text[4] || text[4] == ':');
	if (!out->ops && !out->scan) {
		snprintf(err, errlen,
			 "unknown source '%s' (known: auto, sim, kernel[:NODE], readfd:NODE, "
			 "dmabuf:DEVICE)", text);
		return -EINVAL;
	}
	colon = strchr(text, ':');
	if (!colon && out->ops == &source_dmabuf_ops)
		return fail(err, errlen, text,
			    "dmabuf: say which device (dmabuf:NAME or dmabuf:iio:deviceN)");
	if (!colon)
		return 0;
	memcpy(buf, colon + 1, strlen(colon + 1) + 1);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');

		if (!eq) {
			if (out->arg[0])
				return fail(err, errlen, text, "two nodes ('%s' and '%s')", out->arg,
					    item);
			memcpy(out->arg, item, strlen(item) + 1);
			continue;
		}
		*eq = '\0';
		r = parse_key(out, item, eq + 1, text, err, errlen);
		if (r)
			return r;
	}
	if (out->scan && (out->arg[0] || out->name[0] || out->format[0] || out->timestamp ||
			  out->channels || out->no_dac || out->buffer_set))
		return fail(err, errlen, text,
			    "auto takes the keys every device may have (rate, block-size, blocks, "
			    "client-queue): give a device's own settings with its own --source");
	if (!out->scan && out->ops != &source_sim_ops &&
	    (out->name[0] || out->format[0] || out->timestamp || out->no_dac))
		return fail(err, errlen, text,
			    "%s: a %s device has its own name, format and outputs (sim only)",
			    out->name[0]     ? "name"
			    : out->format[0] ? "format"
			    : out->no_dac    ? "dac"
					     : "timestamp",
			    out->ops->name);
	if (!out->scan && out->ops != &source_dmabuf_ops && out->buffer_set)
		return fail(err, errlen, text, "buffer: only a dmabuf device takes it");
	if (out->ops == &source_dmabuf_ops && !out->arg[0])
		return fail(err, errlen, text,
			    "dmabuf: say which device (dmabuf:NAME or dmabuf:iio:deviceN)");
	if (out->ops == &source_sim_ops && out->arg[0])
		return fail(err, errlen, text, "sim takes no node ('%s')", out->arg);
	return 0;
}
