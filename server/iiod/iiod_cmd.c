// SPDX-License-Identifier: MIT
/* Parser of iiod's command lines: see iiod_cmd.h. */
#include "iiod_cmd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_WORDS 8

struct words {
	const char *w[MAX_WORDS];
	size_t len[MAX_WORDS];
	unsigned n;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Split at spaces and tabs; false if there are too many words or a byte
 * that is not printable ASCII. */
static bool split(const char *line, size_t len, struct words *out)
{
	size_t i = 0;

	out->n = 0;
	while (i < len) {
		size_t start;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (out->n == MAX_WORDS)
			return false;
		start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t') {
			if ((unsigned char)line[i] < 0x21 || (unsigned char)line[i] > 0x7e)
				return false;
			i++;
		}
		out->w[out->n] = line + start;
		out->len[out->n] = i - start;
		out->n++;
	}
	return true;
}

static bool is(const struct words *w, unsigned i, const char *kw)
{
	return i < w->n && w->len[i] == strlen(kw) && strncasecmp(w->w[i], kw, w->len[i]) == 0;
}

/* Copy word i into a field of `size` bytes. */
static int copy(const struct words *w, unsigned i, char *field, size_t size, const char *what,
		char *err, size_t errlen)
{
	if (w->len[i] >= size)
		return fail(err, errlen, "%s is longer than %zu bytes", what, size - 1);
	memcpy(field, w->w[i], w->len[i]);
	field[w->len[i]] = '\0';
	return 0;
}

/* A decimal number of at most 18 digits (no sign: iiod's sizes and counts
 * are never negative). */
static int number(const struct words *w, unsigned i, uint64_t *out, const char *what, char *err,
		  size_t errlen)
{
	uint64_t v = 0;
	size_t k;

	if (w->len[i] == 0 || w->len[i] > 18)
		return fail(err, errlen, "%s: '%.*s' is not a number", what, (int)w->len[i], w->w[i]);
	for (k = 0; k < w->len[i]; k++) {
		char c = w->w[i][k];

		if (c < '0' || c > '9')
			return fail(err, errlen, "%s: '%.*s' is not a number", what,
				    (int)w->len[i], w->w[i]);
		v = v * 10 + (uint64_t)(c - '0');
	}
	*out = v;
	return 0;
}

/* The channel mask: 8 hex digits per 32 channels, the word of the highest
 * channels first (as libiio prints it). */
static int mask(const struct words *w, unsigned i, struct iiod_cmd *cmd, char *err, size_t errlen)
{
	size_t len = w->len[i], k;
	unsigned words = (unsigned)(len / 8);

	if (len == 0 || len % 8 || words > IIOD_MAX_MASK_WORDS)
		return fail(err, errlen, "mask '%.*s': expected 8 to %d hex digits, 8 per word",
			    (int)len, w->w[i], IIOD_MAX_MASK_WORDS * 8);
	memset(cmd->mask, 0, sizeof(cmd->mask));
	for (k = 0; k < len; k++) {
		char c = w->w[i][k];
		unsigned d, word = words - 1 - (unsigned)(k / 8);

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (unsigned)((c | 0x20) - 'a' + 10);
		else
			return fail(err, errlen, "mask '%.*s' is not hexadecimal", (int)len, w->w[i]);
		cmd->mask[word] = cmd->mask[word] << 4 | d;
	}
	cmd->mask_words = words;
	return 0;
}

#define TRY(x)                                                                                     \
	do {                                                                                       \
		int err_ = (x);                                                                    \
		if (err_)                                                                          \
			return err_;                                                               \
	} while (0)

static int need(const struct words *w, unsigned n, const char *usage, char *err, size_t errlen)
{
	if (w->n != n)
		return fail(err, errlen, "usage: %s", usage);
	return 0;
}

/* READ and WRITE: <dev> [DEBUG|BUFFER|INPUT <ch>|OUTPUT <ch>] <attr>, and for
 * WRITE then <bytes>. READ may leave out <attr> (all attributes of that
 * kind, as iiod's grammar allows): after the device, DEBUG, BUFFER, INPUT
 * and OUTPUT are keywords, never an attribute's name. */
static int attr_cmd(const struct words *w, struct iiod_cmd *cmd, bool write, char *err,
		    size_t errlen)
{
	const char *usage = write ? "WRITE <device> [DEBUG|BUFFER|INPUT <channel>|OUTPUT "
				    "<channel>] <attribute> <bytes>"
				  : "READ <device> [DEBUG|BUFFER|INPUT <channel>|OUTPUT "
				    "<channel>] [<attribute>]";
	unsigned extra = write ? 1 : 0, a;

	if (w->n < (write ? 3u : 2u))
		return fail(err, errlen, "usage: %s", usage);
	TRY(copy(w, 1, cmd->device, sizeof(cmd->device), "device", err, errlen));
	if (is(w, 2, "INPUT") || is(w, 2, "OUTPUT")) {
		cmd->kind = IIOD_ATTR_CHANNEL;
		cmd->output = is(w, 2, "OUTPUT");
		a = 4;
	} else if (is(w, 2, "DEBUG") || is(w, 2, "BUFFER")) {
		cmd->kind = is(w, 2, "DEBUG") ? IIOD_ATTR_DEBUG : IIOD_ATTR_BUFFER;
		a = 3;
	} else {
		cmd->kind = IIOD_ATTR_DEVICE;
		a = 2;
	}
	/* the attribute (and a WRITE's size) after the a words that name it;
	 * a READ without one reads them all */
	if (!write && w->n == a)
		cmd->all_attrs = true;
	else
		TRY(need(w, a + 1 + extra, usage, err, errlen));
	if (cmd->kind == IIOD_ATTR_CHANNEL)
		TRY(copy(w, 3, cmd->channel, sizeof(cmd->channel), "channel", err, errlen));
	if (cmd->all_attrs)
		return 0;
	TRY(copy(w, a, cmd->attr, sizeof(cmd->attr), "attribute", err, errlen));
	if (write)
		TRY(number(w, a + 1, &cmd->number, "bytes", err, errlen));
	return 0;
}

int iiod_cmd_parse(const char *line, size_t len, struct iiod_cmd *cmd, char *err, size_t errlen)
{
	struct words w;

	memset(cmd, 0, sizeof(*cmd));
	if (len > IIOD_MAX_LINE)
		return fail(err, errlen, "line longer than %d bytes", IIOD_MAX_LINE);
	if (!split(line, len, &w))
		return fail(err, errlen, "not a command: more than %d words or a byte that is not "
			    "printable ASCII", MAX_WORDS);
	if (w.n == 0) {
		cmd->op = IIOD_OP_NONE;
		return 0;
	}
	if (is(&w, 0, "EXIT") || is(&w, 0, "QUIT") || is(&w, 0, "HELP") ||
	    is(&w, 0, "VERSION") || is(&w, 0, "PRINT") || is(&w, 0, "ZPRINT")) {
		TRY(need(&w, 1, "EXIT | HELP | VERSION | PRINT | ZPRINT", err, errlen));
		cmd->op = is(&w, 0, "HELP")      ? IIOD_OP_HELP
			  : is(&w, 0, "VERSION") ? IIOD_OP_VERSION
			  : is(&w, 0, "PRINT")   ? IIOD_OP_PRINT
			  : is(&w, 0, "ZPRINT")  ? IIOD_OP_ZPRINT
						 : IIOD_OP_EXIT;
		return 0;
	}
	if (is(&w, 0, "TIMEOUT")) {
		TRY(need(&w, 2, "TIMEOUT <milliseconds>", err, errlen));
		cmd->op = IIOD_OP_TIMEOUT;
		return number(&w, 1, &cmd->number, "timeout", err, errlen);
	}
	if (is(&w, 0, "OPEN")) {
		if (w.n == 5 && is(&w, 4, "CYCLIC"))
			cmd->cyclic = true;
		else
			TRY(need(&w, 4, "OPEN <device> <samples> <mask> [CYCLIC]", err, errlen));
		cmd->op = IIOD_OP_OPEN;
		TRY(copy(&w, 1, cmd->device, sizeof(cmd->device), "device", err, errlen));
		TRY(number(&w, 2, &cmd->number, "samples", err, errlen));
		return mask(&w, 3, cmd, err, errlen);
	}
	if (is(&w, 0, "CLOSE") || is(&w, 0, "GETTRIG")) {
		cmd->op = is(&w, 0, "CLOSE") ? IIOD_OP_CLOSE : IIOD_OP_GETTRIG;
		TRY(need(&w, 2, cmd->op == IIOD_OP_CLOSE ? "CLOSE <device>" : "GETTRIG <device>",
			 err, errlen));
		return copy(&w, 1, cmd->device, sizeof(cmd->device), "device", err, errlen);
	}
	if (is(&w, 0, "SETTRIG")) {
		if (w.n != 2 && w.n != 3)
			return fail(err, errlen, "usage: SETTRIG <device> [<trigger>]");
		cmd->op = IIOD_OP_SETTRIG;
		TRY(copy(&w, 1, cmd->device, sizeof(cmd->device), "device", err, errlen));
		if (w.n == 3)
			TRY(copy(&w, 2, cmd->trigger, sizeof(cmd->trigger), "trigger", err, errlen));
		return 0;
	}
	if (is(&w, 0, "READBUF") || is(&w, 0, "WRITEBUF")) {
		cmd->op = is(&w, 0, "READBUF") ? IIOD_OP_READBUF : IIOD_OP_WRITEBUF;
		TRY(need(&w, 3, "READBUF|WRITEBUF <device> <bytes>", err, errlen));
		TRY(copy(&w, 1, cmd->device, sizeof(cmd->device), "device", err, errlen));
		return number(&w, 2, &cmd->number, "bytes", err, errlen);
	}
	if (is(&w, 0, "SET")) {
		if (w.n != 4 || !is(&w, 2, "BUFFERS_COUNT"))
			return fail(err, errlen, "usage: SET <device> BUFFERS_COUNT <count>");
		cmd->op = IIOD_OP_SET_BUFFERS;
		TRY(copy(&w, 1, cmd->device, sizeof(cmd->device), "device", err, errlen));
		return number(&w, 3, &cmd->number, "count", err, errlen);
	}
	if (is(&w, 0, "READ") || is(&w, 0, "WRITE")) {
		cmd->op = is(&w, 0, "READ") ? IIOD_OP_READ : IIOD_OP_WRITE;
		return attr_cmd(&w, cmd, cmd->op == IIOD_OP_WRITE, err, errlen);
	}
	return fail(err, errlen, "unknown command '%.*s' (HELP lists them)",
		    (int)(w.len[0] > 64 ? 64 : w.len[0]), w.w[0]);
}
