/* SPDX-License-Identifier: MIT */
/*
 * The command lines of iiod's text protocol (libiio 0.x network backend),
 * parsed into a struct and nothing else: no I/O, no state, so the parser
 * is unit-tested and fuzzed on its own. What each command does is in
 * iiod_dispatch.c; the protocol itself in docs/iiod-compat.md.
 *
 * A line is words separated by spaces, ended by "\n" (the "\r" libiio
 * sends before it is dropped by the caller). Keywords are matched without
 * regard to case, as iiod's lexer does.
 */
#ifndef IIOSTREAMD_IIOD_CMD_H
#define IIOSTREAMD_IIOD_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest command line taken (iiod's own limit is similar); a longer one is
 * an error. */
#define IIOD_MAX_LINE 1024
/* Channel mask words: 32 channels each. */
#define IIOD_MAX_MASK_WORDS 4

enum iiod_op {
	IIOD_OP_NONE,        /* an empty line: ignored */
	IIOD_OP_EXIT,        /* EXIT: close the connection */
	IIOD_OP_HELP,        /* HELP */
	IIOD_OP_VERSION,     /* VERSION */
	IIOD_OP_PRINT,       /* PRINT: the context's XML */
	IIOD_OP_ZPRINT,      /* ZPRINT: the XML compressed (not supported) */
	IIOD_OP_TIMEOUT,     /* TIMEOUT <ms> */
	IIOD_OP_OPEN,        /* OPEN <dev> <samples> <mask> [CYCLIC] */
	IIOD_OP_CLOSE,       /* CLOSE <dev> */
	IIOD_OP_READ,        /* READ <dev> [DEBUG|BUFFER|INPUT <ch>|OUTPUT <ch>] [<attr>] */
	IIOD_OP_WRITE,       /* WRITE ... <attr> <bytes>, then <bytes> of value */
	IIOD_OP_READBUF,     /* READBUF <dev> <bytes> */
	IIOD_OP_WRITEBUF,    /* WRITEBUF <dev> <bytes>, then <bytes> of samples */
	IIOD_OP_GETTRIG,     /* GETTRIG <dev> */
	IIOD_OP_SETTRIG,     /* SETTRIG <dev> [<trigger>] */
	IIOD_OP_SET_BUFFERS, /* SET <dev> BUFFERS_COUNT <n> */
};

/* Which attribute READ and WRITE name. */
enum iiod_attr_kind {
	IIOD_ATTR_DEVICE,
	IIOD_ATTR_CHANNEL,
	IIOD_ATTR_BUFFER,
	IIOD_ATTR_DEBUG,
};

struct iiod_cmd {
	enum iiod_op op;
	enum iiod_attr_kind kind;    /* READ, WRITE */
	bool output;                 /* READ, WRITE of a channel: OUTPUT */
	bool cyclic;                 /* OPEN ... CYCLIC */
	bool all_attrs;              /* READ without <attr>: every attribute of
	                              * that kind at once (attr is "") */
	char device[64];             /* every command that names a device */
	char channel[64];            /* READ, WRITE of a channel attribute */
	char attr[256];              /* READ, WRITE; "" with all_attrs */
	char trigger[64];            /* SETTRIG ("" : none) */
	uint64_t number;             /* TIMEOUT ms, OPEN samples, READBUF/WRITEBUF
	                              * and WRITE bytes, SET buffers */
	uint32_t mask[IIOD_MAX_MASK_WORDS]; /* OPEN: mask[0] holds channels 0..31 */
	unsigned mask_words;         /* OPEN: words the mask had */
};

/*
 * Parse one line (without its "\r\n"; it need not be NUL-terminated).
 * 0 and *cmd filled; or -EINVAL with a message in err[errlen] naming what
 * is wrong (unknown command, missing or extra word, bad number or mask,
 * a word longer than its field).
 */
int iiod_cmd_parse(const char *line, size_t len, struct iiod_cmd *cmd, char *err,
		   size_t errlen);

#endif /* IIOSTREAMD_IIOD_CMD_H */
