/* SPDX-License-Identifier: MIT */
/*
 * Every iiostreamd option, described once (options.c): its long flag (which
 * is also its config-file key), the struct config field it sets, its
 * bounds and default, its --help text, and what SIGHUP may do with it.
 * Everything else is driven from that description: the getopt_long table
 * and the usage text (config.c), the config-file keys and config_where()
 * (config.c), and which keys a reload applies live or reports as needing a
 * restart (reload.c).
 *
 * Adding an option: a field in struct config (config.h), one entry in
 * config_options[] (options.c), with a kind below or a new one when none
 * fits, and what reads the field. Nothing else.
 */
#ifndef IIOSTREAMD_OPTIONS_H
#define IIOSTREAMD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct config_option;

/*
 * How one kind of value is read, compared and shown. Each op is given its
 * table entry, so one kind serves every field of its shape.
 */
struct config_kind {
	/* Set cfg's field from `arg` (NULL for a kind without an argument).
	 * `flag` names the option in an error: "--rate" on the command line,
	 * "rate" in the config file. CONFIG_EXIT asks the caller to exit 0
	 * (--help, --version). Called for the defaults too (config_defaults),
	 * where an error is a bug in the table. */
	enum config_result (*parse)(const struct config_option *o, struct config *cfg,
				    const char *flag, const char *arg, char *err, size_t errlen);
	/* Do a and b hold the same value? NULL: compare the field's bytes. */
	bool (*equal)(const struct config_option *o, const struct config *a,
		      const struct config *b);
	/* The value as text, for --help's {default} and reload's logs. `human`
	 * writes a number with a K or M suffix where the option takes one. */
	void (*show)(const struct config_option *o, const struct config *cfg, bool human,
		     char *buf, size_t len);
};

extern const struct config_kind config_kind_number; /* decimal, bounds, optional K/M */
extern const struct config_kind config_kind_string; /* text that fits the field */
extern const struct config_kind config_kind_path;   /* a non-empty path */
extern const struct config_kind config_kind_addr;   /* HOST:PORT or [V6]:PORT */
extern const struct config_kind config_kind_addr_list; /* repeatable HOST:PORT, or PORT on loopback */
extern const struct config_kind config_kind_onoff;  /* a bool from two words */
extern const struct config_kind config_kind_enum;   /* one of `words`, its index */
extern const struct config_kind config_kind_access; /* an access list (access.h) */

/* Option flags. */
#define OPT_SUFFIX 0x1u    /* number: takes binary K and M suffixes */
#define OPT_OFF 0x2u       /* addr: 'off' is accepted, and clears `enabled` */
#define OPT_NEGATED 0x4u   /* addr: the `enabled` field says "off" instead */
#define OPT_NEEDS_TLS 0x8u /* only means something with --listen-tls */
#define OPT_NOT_KEY 0x10u  /* command line only, not a config-file key */
#define OPT_LIST 0x20u     /* repeatable: each use adds a value; the first in the
			      file, and the first on the command line, replace
			      the values set before (defaults, file) */

/* What a SIGHUP reload may do with a key (reload.h). */
enum config_reload {
	RELOAD_NEVER,   /* not a key (--help, --config...): nothing to reload */
	RELOAD_RESTART, /* fixed at start-up: a change is logged, the running value stays */
	RELOAD_LIVE,    /* taken at once and applied from now on */
	RELOAD_TLS,     /* read into a new TLS context when a TLS listener runs before
			   and after; otherwise an OPT_NEEDS_TLS key needs a restart */
};

struct config_option {
	const char *name;  /* the long flag without "--", and the config-file key */
	const char *arg;   /* the argument's name in --help; NULL: takes none */
	/* --help text. '\n' starts a line indented under the first; {min},
	 * {max} and {default} are the entry's own. NULL: listed with the
	 * others without text on the last line ("--help, --version"). */
	const char *help;
	const char *def;   /* the default, parsed as a value would be; NULL: zero */
	const struct config_kind *kind;
	size_t off, size;  /* the struct config field */
	/* Offsets of bool fields; 0: none (offset 0 is `sources`, not a bool). */
	size_t port_off;   /* addr: the port's field (uint16_t) */
	size_t enabled;    /* addr: whether that address is used (listen_tls...) */
	size_t given;      /* set when the option is given, in the file or as a
			      flag, never by the defaults (rate_set...) */
	uint64_t min, max; /* number: inclusive bounds */
	const char *const *words; /* onoff: the true and the false word; enum: the
				     names, in the enum's order; NULL-terminated */
	unsigned flags;    /* OPT_* */
	enum config_reload reload;
	/* RELOAD_LIVE: what the log says after "KEY changed: ", with {old}
	 * and {new}; NULL: "{old} -> {new}, from now on" */
	const char *live_note;
};

/* The table, in --help's order; a key's index is its slot in key_line[]
 * and key_flags. */
extern const struct config_option config_options[];
extern const size_t config_noptions;

/* The entry named `name` (no "--"), or NULL. */
const struct config_option *config_option_find(const char *name);

/* Its index in config_options[]. */
static inline unsigned config_option_index(const struct config_option *o)
{
	return (unsigned)(o - config_options);
}

/* Does the option hold different values in a and b (its `given` bool
 * included)? */
bool config_option_changed(const struct config_option *o, const struct config *a,
			   const struct config *b);

/* Copy the option's value (its field, port and bools) from src to dst. */
void config_option_copy(const struct config_option *o, struct config *dst,
			const struct config *src);

/* Its value as text, "" for a kind without a show op. */
void config_option_show(const struct config_option *o, const struct config *cfg, bool human,
			char *buf, size_t len);

/* Its --help line(s), without the final newline: "  --rate N", padded to
 * the help column, and the help text with its {placeholders} filled from
 * the entry and from `def`, the defaults. */
void config_option_usage(const struct config_option *o, const struct config *def, char *buf,
			 size_t len);

/* vsnprintf into err, and CONFIG_ERROR. */
enum config_result config_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Write `tmpl` to buf with each {NAME} replaced by what lookup() writes
 * for NAME (left as it is if lookup() returns false), and `indent`
 * after each '\n'. Truncates to len. */
typedef bool config_lookup_fn(void *ctx, const char *name, char *buf, size_t len);
void config_expand(const char *tmpl, const char *indent, config_lookup_fn *lookup, void *ctx,
		   char *buf, size_t len);

#endif /* IIOSTREAMD_OPTIONS_H */
