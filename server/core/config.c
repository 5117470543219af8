// SPDX-License-Identifier: MIT
/* Command-line flags and config file of iiostreamd, driven by the option
 * table (options.h): see config.h. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "iiostream/pattern.h"
#include "options.h"

void config_defaults(struct config *cfg)
{
	char err[200];
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];

		if (!o->def)
			continue;
		if (o->kind->parse(o, cfg, o->name, o->def, err, sizeof(err)) != CONFIG_OK) {
			fprintf(stderr, "iiostreamd: the default of --%s: %s\n", o->name, err);
			abort(); /* a bug in the table: test_config.c's defaults catch it */
		}
	}
}

void config_usage(FILE *out)
{
	struct config def;
	const char *sep = "  ";
	char line[2048];
	size_t i;

	config_defaults(&def);
	fputs("usage: iiostreamd [options]\n", out);
	for (i = 0; i < config_noptions; i++) {
		if (!config_options[i].help)
			continue;
		config_option_usage(&config_options[i], &def, line, sizeof(line));
		fprintf(out, "%s\n", line);
	}
	/* the options without help text share the last line */
	for (i = 0; i < config_noptions; i++) {
		if (config_options[i].help)
			continue;
		fprintf(out, "%s--%s", sep, config_options[i].name);
		sep = ", ";
	}
	fputs("\n", out);
}

/* Set one option. `flag` is how an error names it: "--rate" on the
 * command line, "rate" in the config file. `first`: the first time this
 * key is set in its layer (file, or command line), where a list option
 * drops the values of the layer below. */
static enum config_result apply_option(struct config *cfg, const struct config_option *o,
				       const char *flag, const char *arg, bool first, char *err,
				       size_t errlen)
{
	enum config_result r;
	bool given = true;

	if ((o->flags & OPT_LIST) && first)
		memset((char *)cfg + o->off, 0, o->size);
	r = o->kind->parse(o, cfg, flag, arg, err, errlen);

	if (r == CONFIG_OK && o->given)
		memcpy((char *)cfg + o->given, &given, sizeof(given));
	return r;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* One "key = value" line of the file, or a blank or '#' comment line. */
static enum config_result read_line(struct config *cfg, char *line, const char *path,
				    unsigned lineno, char *err, size_t errlen)
{
	const struct config_option *o;
	char *key = trim(line), *value, *eq, msg[400];

	if (!*key || *key == '#')
		return CONFIG_OK;
	eq = strchr(key, '=');
	if (!eq)
		return config_fail(err, errlen, "%s:%u: '%s' is not 'key = value'", path, lineno, key);
	*eq = '\0';
	value = trim(eq + 1);
	key = trim(key);
	o = config_option_find(key);
	if (!o || (o->flags & OPT_NOT_KEY))
		return config_fail(err, errlen, "%s:%u: unknown key '%s' (keys are the long flags, see --help)",
			    path, lineno, key);
	if (!*value)
		return config_fail(err, errlen, "%s:%u: %s: needs a value", path, lineno, key);
	if (apply_option(cfg, o, key, value, !cfg->key_line[config_option_index(o)], msg,
			 sizeof(msg)) != CONFIG_OK)
		return config_fail(err, errlen, "%s:%u: %s", path, lineno, msg);
	cfg->key_line[config_option_index(o)] = lineno;
	return CONFIG_OK;
}

/* "key = value" lines; blank lines and '#' comments are skipped. Every
 * error names the file, the line and the key. */
static enum config_result read_config_file(struct config *cfg, const char *path, char *err,
					   size_t errlen)
{
	enum config_result r = CONFIG_OK;
	char line[1024];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return config_fail(err, errlen, "--config %s: %s", path, strerror(errno));
	while (r == CONFIG_OK && fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f))
			r = config_fail(err, errlen, "%s:%u: line too long", path, lineno);
		else
			r = read_line(cfg, line, path, lineno, err, errlen);
	}
	fclose(f);
	return r;
}

/* The --config argument if argv has one (the last wins), else NULL. */
static const char *find_config_arg(int argc, char **argv)
{
	const char *path = NULL;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	return path;
}

const char *config_where(const struct config *cfg, const char *key, char *buf, size_t len)
{
	const struct config_option *o = config_option_find(key);
	unsigned i = o ? config_option_index(o) : 0;

	if (o && !(cfg->key_flags & (1ull << i)) && cfg->key_line[i])
		snprintf(buf, len, "%s:%u: %s", cfg->config_file, cfg->key_line[i], key);
	else
		snprintf(buf, len, "--%s", key);
	return buf;
}

/* The first TLS-only key set (a non-empty string), or NULL. */
static const char *orphan_tls_key(const struct config *cfg)
{
	size_t i;

	for (i = 0; i < config_noptions; i++)
		if ((config_options[i].flags & OPT_NEEDS_TLS) &&
		    ((const char *)cfg + config_options[i].off)[0])
			return config_options[i].name;
	return NULL;
}

int config_check_budget(const struct config *cfg, const char (*specs)[SOURCE_SPEC_MAX],
			uint32_t n, char *err, size_t errlen)
{
	char at[320], each[512] = "";
	uint64_t total = 0;
	size_t used = 0;
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct source_spec spec;
		uint64_t size, count;

		if (source_spec_parse(specs[i], &spec, at, sizeof(at)))
			continue; /* cannot be: the option's parse checked it */
		size = spec.block_size ? spec.block_size : cfg->block_size;
		count = spec.blocks ? spec.blocks : cfg->blocks;
		/* the sim's DAC has a ring of the same blocks */
		if (spec.ops == &source_sim_ops && !spec.no_dac)
			count *= 2;
		total += size * count;
		if (used < sizeof(each))
			used += (size_t)snprintf(each + used, sizeof(each) - used,
						 "%s%s: %" PRIu64 " x %" PRIu64 "%s", i ? ", " : "",
						 specs[i], count, size,
						 spec.ops == &source_sim_ops && !spec.no_dac
							 ? " (with its DAC)"
							 : "");
	}
	if (total <= cfg->memory_budget)
		return 0;
	config_fail(err, errlen,
		    "%s: the block rings need %" PRIu64 " bytes, more than %" PRIu64
		    " (%s); raise it, or give fewer or smaller blocks",
		    config_where(cfg, "memory-budget", at, sizeof(at)), total, cfg->memory_budget,
		    each);
	return -ENOMEM;
}

/* Checks across options, once everything is read. Each error names where
 * the key at fault was set (config_where). */
static enum config_result check_config(struct config *cfg, char *err, size_t errlen)
{
	char at[320], at2[320];
	const char *orphan;

	/* A block holds whole scans. */
	if (cfg->block_size % (cfg->channels * IIOS_PATTERN_SAMPLE_BYTES))
		return config_fail(err, errlen,
			    "%s: %u is not a whole number of %u-byte scans (%s: %u channels)",
			    config_where(cfg, "block-size", at, sizeof(at)), cfg->block_size,
			    cfg->channels * IIOS_PATTERN_SAMPLE_BYTES,
			    config_where(cfg, "channels", at2, sizeof(at2)), cfg->channels);
	/* the server's certificate: both files, or the board's own identity */
	if (!cfg->tls_cert[0] != !cfg->tls_key[0])
		return config_fail(err, errlen, "%s: needs %s too (or neither: the board's own "
			    "identity, --identity)",
			    config_where(cfg, cfg->tls_cert[0] ? "tls-cert" : "tls-key", at, sizeof(at)),
			    cfg->tls_cert[0] ? "--tls-key" : "--tls-cert");
	if (cfg->tls_cert[0] && cfg->identity[0])
		return config_fail(err, errlen, "%s: and %s: two server certificates; give one "
			    "(the identity is used without --tls-cert and --tls-key)",
			    config_where(cfg, "identity", at, sizeof(at)),
			    config_where(cfg, "tls-cert", at2, sizeof(at2)));
	/* --show-identity, --pair, --paired: the admin's commands, beside the
	 * daemon; they read the TLS keys whether this command line listens */
	if (cfg->show_identity || cfg->pair || cfg->list_paired)
		return CONFIG_OK;
	if (!cfg->listen_tls && (orphan = orphan_tls_key(cfg)))
		return config_fail(err, errlen, "%s: only means something with --listen-tls",
			    config_where(cfg, orphan, at, sizeof(at)));
	if (cfg->listen_off && !cfg->listen_tls)
		return config_fail(err, errlen, "%s off: and no --listen-tls; nothing to listen on",
			    config_where(cfg, "listen", at, sizeof(at)));
	/* (auto counts as one device here; server.c checks again once it
	 * knows the devices) */
	return config_check_budget(cfg, (const char(*)[SOURCE_SPEC_MAX])cfg->sources.spec,
				   cfg->sources.n, err, errlen) ? CONFIG_ERROR : CONFIG_OK;
}

/* getopt_long's table, from ours: each option's val is 256 + its index. */
#define OPT_VAL0 256

static void long_options(struct option *out)
{
	size_t i;

	for (i = 0; i < config_noptions; i++)
		out[i] = (struct option){ config_options[i].name,
					  config_options[i].arg ? required_argument : no_argument,
					  NULL, OPT_VAL0 + (int)i };
	out[i] = (struct option){ NULL, 0, NULL, 0 };
}

/* The flags, over what the file set. */
static enum config_result parse_flags(struct config *cfg, int argc, char **argv, char *err,
				      size_t errlen)
{
	struct option longopts[CONFIG_KEYS + 1];
	enum config_result r = CONFIG_OK;
	int c;

	long_options(longopts);
	optind = 0;  /* reset getopt: tests parse several argv in one process */
	opterr = 0;  /* we word the errors ourselves */
	while (r == CONFIG_OK && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		const char *flag = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
		const struct config_option *o;
		char name[64];

		if (c == ':')
			return config_fail(err, errlen, "%s: needs a value", flag);
		/* In a cluster like -xy getopt has not moved past it yet. */
		if (c == '?' && optopt > 0 && optopt < OPT_VAL0)
			return config_fail(err, errlen, "unknown option '-%c' (see --help)", optopt);
		if (c < OPT_VAL0 || (size_t)(c - OPT_VAL0) >= config_noptions)
			return config_fail(err, errlen, "unknown option '%s' (see --help)", flag);
		o = &config_options[c - OPT_VAL0];
		snprintf(name, sizeof(name), "--%s", o->name);
		r = apply_option(cfg, o, name, optarg,
				 !(cfg->key_flags & (1ull << config_option_index(o))), err, errlen);
		if (!(o->flags & OPT_NOT_KEY))
			cfg->key_flags |= 1ull << config_option_index(o);
	}
	if (r == CONFIG_OK && optind < argc)
		return config_fail(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
	return r;
}

enum config_result config_parse_args(struct config *cfg, int argc, char **argv,
				     char *err, size_t errlen)
{
	const char *file = find_config_arg(argc, argv);
	enum config_result r;

	if (file) {
		if (strlen(file) >= sizeof(cfg->config_file))
			return config_fail(err, errlen, "--config: path too long");
		snprintf(cfg->config_file, sizeof(cfg->config_file), "%s", file);
		r = read_config_file(cfg, file, err, errlen);
		if (r != CONFIG_OK)
			return r;
	}
	r = parse_flags(cfg, argc, argv, err, errlen);
	if (r != CONFIG_OK)
		return r;
	return check_config(cfg, err, errlen);
}
