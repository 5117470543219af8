// SPDX-License-Identifier: MIT
/* Every iiostreamd option, described once, and the kinds of value they take:
 * see options.h. */
#include "options.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iiostream/frame.h"
#include "source.h"

/* The enum kind stores an int into the field. */
_Static_assert(sizeof(enum log_level) == sizeof(int), "log_level is not an int");
_Static_assert(sizeof(enum transport) == sizeof(int), "transport is not an int");

enum config_result config_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return CONFIG_ERROR;
}

static void *field(struct config *cfg, size_t off)
{
	return (char *)cfg + off;
}

static const void *cfield(const struct config *cfg, size_t off)
{
	return (const char *)cfg + off;
}

static void set_bool(struct config *cfg, size_t off, bool v)
{
	memcpy(field(cfg, off), &v, sizeof(v));
}

static bool get_bool(const struct config *cfg, size_t off)
{
	bool v;

	memcpy(&v, cfield(cfg, off), sizeof(v));
	return v;
}

/* ---- numbers ---- */

/* A decimal number in [min, max], with an optional binary K/M suffix. */
static int parse_number(const char *s, uint64_t min, uint64_t max, bool suffix, uint64_t *out)
{
	uint64_t mult = 1, v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (suffix && (*end == 'K' || *end == 'k'))
		mult = 1024, end++;
	else if (suffix && (*end == 'M' || *end == 'm'))
		mult = 1024 * 1024, end++;
	if (*end)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	v *= mult;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* "64K" for 65536 when `human`, else "65536". */
static void show_u64(uint64_t v, bool human, char *buf, size_t len)
{
	if (human && v && v % (1024 * 1024) == 0)
		snprintf(buf, len, "%" PRIu64 "M", v / (1024 * 1024));
	else if (human && v && v % 1024 == 0)
		snprintf(buf, len, "%" PRIu64 "K", v / 1024);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

static uint64_t number_get(const struct config_option *o, const struct config *cfg)
{
	uint64_t v64;
	uint32_t v32;

	if (o->size == sizeof(v64)) {
		memcpy(&v64, cfield(cfg, o->off), sizeof(v64));
		return v64;
	}
	memcpy(&v32, cfield(cfg, o->off), sizeof(v32));
	return v32;
}

static enum config_result number_parse(const struct config_option *o, struct config *cfg,
				       const char *flag, const char *arg, char *err, size_t errlen)
{
	uint64_t v = 0;
	uint32_t v32;
	int r = parse_number(arg, o->min, o->max, o->flags & OPT_SUFFIX, &v);

	if (r == -EINVAL)
		return config_fail(err, errlen, "%s: '%s' is not a number", flag, arg);
	if (r == -ERANGE)
		return config_fail(err, errlen, "%s: %s is out of range (%" PRIu64 "..%" PRIu64 ")",
				   flag, arg, o->min, o->max);
	v32 = (uint32_t)v;
	if (o->size == sizeof(v))
		memcpy(field(cfg, o->off), &v, sizeof(v));
	else
		memcpy(field(cfg, o->off), &v32, sizeof(v32));
	return CONFIG_OK;
}

static void number_show(const struct config_option *o, const struct config *cfg, bool human,
			char *buf, size_t len)
{
	show_u64(number_get(o, cfg), human && (o->flags & OPT_SUFFIX), buf, len);
}

const struct config_kind config_kind_number = {
	.parse = number_parse,
	.show = number_show,
};

/* ---- text: strings, paths, the source ---- */

static bool string_equal(const struct config_option *o, const struct config *a,
			 const struct config *b)
{
	return strcmp(cfield(a, o->off), cfield(b, o->off)) == 0;
}

static void string_show(const struct config_option *o, const struct config *cfg, bool human,
			char *buf, size_t len)
{
	(void)human;
	snprintf(buf, len, "%s", (const char *)cfield(cfg, o->off));
}

/* The field, zero-filled behind the text so that copies compare equal. */
static void string_set(const struct config_option *o, struct config *cfg, const char *arg)
{
	memset(field(cfg, o->off), 0, o->size);
	memcpy(field(cfg, o->off), arg, strlen(arg));
}

/* Text that fits the field; `too_long` is the error when it does not. */
static enum config_result text_set(const struct config_option *o, struct config *cfg,
				   const char *flag, const char *arg, const char *too_long,
				   char *err, size_t errlen)
{
	if (strlen(arg) >= o->size)
		return config_fail(err, errlen, "%s: %s", flag, too_long);
	string_set(o, cfg, arg);
	return CONFIG_OK;
}

static enum config_result string_parse(const struct config_option *o, struct config *cfg,
				       const char *flag, const char *arg, char *err, size_t errlen)
{
	return text_set(o, cfg, flag, arg, "too long", err, errlen);
}

/* A path may not be empty. */
static enum config_result path_parse(const struct config_option *o, struct config *cfg,
				     const char *flag, const char *arg, char *err, size_t errlen)
{
	if (!*arg)
		return config_fail(err, errlen, "%s: empty path", flag);
	return text_set(o, cfg, flag, arg, "path too long", err, errlen);
}

const struct config_kind config_kind_string = {
	.parse = string_parse,
	.equal = string_equal,
	.show = string_show,
};

const struct config_kind config_kind_path = {
	.parse = path_parse,
	.equal = string_equal,
	.show = string_show,
};

/* A spec's block-size, blocks or client-queue outside the bounds of the
 * flag of that name (the table's own): true, with why[] saying which. */
static bool spec_out_of_range(const struct source_spec *spec, char *why, size_t len)
{
	const struct { const char *key; uint32_t value; } keys[] = {
		{ "block-size", spec->block_size },
		{ "blocks", spec->blocks },
		{ "client-queue", spec->client_queue },
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct config_option *o = config_option_find(keys[i].key);

		if (keys[i].value && o && (keys[i].value < o->min || keys[i].value > o->max)) {
			snprintf(why, len, "%s=%u is out of range (%" PRIu64 "..%" PRIu64 ")",
				 keys[i].key, keys[i].value, o->min, o->max);
			return true;
		}
	}
	return false;
}

/* --source: one more streamed device, a spec source_spec_parse() takes.
 * (The first --source of the command line, and the first `source` line of
 * the file, replace the list before them: config.c, OPT_LIST.) */
static enum config_result source_parse(const struct config_option *o, struct config *cfg,
				       const char *flag, const char *arg, char *err, size_t errlen)
{
	struct source_list *l = field(cfg, o->off);
	struct source_spec spec;
	char why[400];

	if (source_spec_parse(arg, &spec, why, sizeof(why)))
		return config_fail(err, errlen, "%s: %s", flag, why);
	if (spec_out_of_range(&spec, why, sizeof(why)))
		return config_fail(err, errlen, "%s: '%s': %s", flag, arg, why);
	if (l->n == CONFIG_MAX_SOURCES)
		return config_fail(err, errlen, "%s: more than %u devices", flag,
				   CONFIG_MAX_SOURCES);
	memset(l->spec[l->n], 0, sizeof(l->spec[l->n]));
	memcpy(l->spec[l->n], arg, strlen(arg)); /* fits: source_spec_parse checked */
	l->n++;
	return CONFIG_OK;
}

static void source_show(const struct config_option *o, const struct config *cfg, bool human,
			char *buf, size_t len)
{
	const struct source_list *l = cfield(cfg, o->off);
	size_t used = 0;
	uint32_t i;

	(void)human;
	buf[0] = '\0';
	for (i = 0; i < l->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? " " : "", l->spec[i]);
}

static const struct config_kind kind_source = {
	.parse = source_parse,
	.show = source_show,
};

/* ---- HOST:PORT ---- */

/* HOST:PORT or [V6]:PORT into host/port. */
static enum config_result parse_host_port(const char *flag, const char *arg, char *host_out,
					  size_t host_cap, uint16_t *port_out, char *err,
					  size_t errlen)
{
	const char *colon = strrchr(arg, ':');
	const char *host = arg;
	size_t hostlen;
	uint64_t port;

	if (!colon)
		return config_fail(err, errlen, "%s: '%s' is not HOST:PORT", flag, arg);
	hostlen = (size_t)(colon - arg);
	if (hostlen >= 2 && host[0] == '[' && host[hostlen - 1] == ']')
		host++, hostlen -= 2; /* [::1]:30432 */
	if (hostlen == 0 || hostlen >= host_cap)
		return config_fail(err, errlen, "%s: '%s' has no usable host", flag, arg);
	if (parse_number(colon + 1, 0, 65535, false, &port))
		return config_fail(err, errlen, "%s: port '%s' is not 0..65535", flag, colon + 1);
	memset(host_out, 0, host_cap);
	memcpy(host_out, host, hostlen);
	*port_out = (uint16_t)port;
	return CONFIG_OK;
}

/* Is the address used: its `enabled` bool, read the right way up. */
static bool addr_enabled(const struct config_option *o, const struct config *cfg)
{
	return get_bool(cfg, o->enabled) != !!(o->flags & OPT_NEGATED);
}

static void addr_enable(const struct config_option *o, struct config *cfg, bool on)
{
	set_bool(cfg, o->enabled, on != !!(o->flags & OPT_NEGATED));
}

static enum config_result addr_parse(const struct config_option *o, struct config *cfg,
				     const char *flag, const char *arg, char *err, size_t errlen)
{
	uint16_t port = 0; /* set by parse_host_port on CONFIG_OK; 0 quiets -Wmaybe-uninitialized at -O2 */
	enum config_result r;

	if ((o->flags & OPT_OFF) && strcmp(arg, "off") == 0) {
		addr_enable(o, cfg, false);
		return CONFIG_OK;
	}
	r = parse_host_port(flag, arg, field(cfg, o->off), o->size, &port, err, errlen);
	if (r != CONFIG_OK)
		return r;
	memcpy(field(cfg, o->port_off), &port, sizeof(port));
	addr_enable(o, cfg, true);
	return CONFIG_OK;
}

/* Two addresses not used are the same, whatever they say. */
static bool addr_equal(const struct config_option *o, const struct config *a,
		       const struct config *b)
{
	if (addr_enabled(o, a) != addr_enabled(o, b))
		return false;
	return !addr_enabled(o, a) ||
	       (string_equal(o, a, b) &&
		memcmp(cfield(a, o->port_off), cfield(b, o->port_off), sizeof(uint16_t)) == 0);
}

static void addr_show(const struct config_option *o, const struct config *cfg, bool human,
		      char *buf, size_t len)
{
	const char *host = cfield(cfg, o->off);
	uint16_t port;

	(void)human;
	memcpy(&port, cfield(cfg, o->port_off), sizeof(port));
	if (!addr_enabled(o, cfg))
		snprintf(buf, len, "off");
	else if (strchr(host, ':'))
		snprintf(buf, len, "[%s]:%u", host, port);
	else
		snprintf(buf, len, "%s:%u", host, port);
}

const struct config_kind config_kind_addr = {
	.parse = addr_parse,
	.equal = addr_equal,
	.show = addr_show,
};

/* --http-listen: one more address; a port alone is on loopback. (The
 * first of the command line, and the first line of the file, replace the
 * list before them: OPT_LIST.) */
static enum config_result addr_list_parse(const struct config_option *o, struct config *cfg,
					  const char *flag, const char *arg, char *err,
					  size_t errlen)
{
	struct addr_list *l = field(cfg, o->off);
	char spec[300];
	uint16_t port = 0;
	enum config_result r;

	if (l->n == CONFIG_MAX_HTTP_LISTEN)
		return config_fail(err, errlen, "%s: more than %u addresses", flag,
				   CONFIG_MAX_HTTP_LISTEN);
	/* "8080": 127.0.0.1:8080 */
	snprintf(spec, sizeof(spec), "%s%s", strchr(arg, ':') ? "" : "127.0.0.1:", arg);
	r = parse_host_port(flag, spec, l->host[l->n], sizeof(l->host[l->n]), &port, err, errlen);
	if (r != CONFIG_OK)
		return r;
	l->port[l->n++] = port;
	return CONFIG_OK;
}

static void addr_list_show(const struct config_option *o, const struct config *cfg, bool human,
			   char *buf, size_t len)
{
	const struct addr_list *l = cfield(cfg, o->off);
	size_t used = 0;
	uint32_t i;

	(void)human;
	buf[0] = '\0';
	if (!l->n)
		snprintf(buf, len, "off");
	for (i = 0; i < l->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, strchr(l->host[i], ':') ?
					 "%s[%s]:%u" : "%s%s:%u", i ? " " : "", l->host[i],
					 l->port[i]);
}

const struct config_kind config_kind_addr_list = {
	.parse = addr_list_parse,
	.show = addr_list_show,
};

/* ---- words: on/off and enums ---- */

static enum config_result onoff_parse(const struct config_option *o, struct config *cfg,
				      const char *flag, const char *arg, char *err, size_t errlen)
{
	if (strcmp(arg, o->words[0]) != 0 && strcmp(arg, o->words[1]) != 0)
		return config_fail(err, errlen, "%s: '%s' is not %s or %s", flag, arg, o->words[0],
				   o->words[1]);
	set_bool(cfg, o->off, strcmp(arg, o->words[0]) == 0);
	return CONFIG_OK;
}

static void onoff_show(const struct config_option *o, const struct config *cfg, bool human,
		       char *buf, size_t len)
{
	(void)human;
	snprintf(buf, len, "%s", o->words[get_bool(cfg, o->off) ? 0 : 1]);
}

const struct config_kind config_kind_onoff = {
	.parse = onoff_parse,
	.show = onoff_show,
};

/* "error, warn, info or debug" */
static void words_list(const char *const *words, char *buf, size_t len)
{
	size_t i, at = 0;

	buf[0] = '\0';
	for (i = 0; words[i] && at < len; i++) {
		const char *sep = i == 0 ? "" : words[i + 1] ? ", " : " or ";
		int n = snprintf(buf + at, len - at, "%s%s", sep, words[i]);

		at += n > 0 ? (size_t)n : 0;
	}
}

static enum config_result enum_parse(const struct config_option *o, struct config *cfg,
				     const char *flag, const char *arg, char *err, size_t errlen)
{
	char list[160];
	int i;

	for (i = 0; o->words[i]; i++)
		if (strcmp(arg, o->words[i]) == 0) {
			memcpy(field(cfg, o->off), &i, sizeof(i));
			return CONFIG_OK;
		}
	words_list(o->words, list, sizeof(list));
	return config_fail(err, errlen, "%s: '%s' is not %s", flag, arg, list);
}

static void enum_show(const struct config_option *o, const struct config *cfg, bool human,
		      char *buf, size_t len)
{
	size_t n = 0;
	int v;

	(void)human;
	memcpy(&v, cfield(cfg, o->off), sizeof(v));
	while (o->words[n])
		n++;
	snprintf(buf, len, "%s", v >= 0 && (size_t)v < n ? o->words[v] : "?");
}

const struct config_kind config_kind_enum = {
	.parse = enum_parse,
	.show = enum_show,
};

/* ---- access lists ---- */

static enum config_result access_parse(const struct config_option *o, struct config *cfg,
				       const char *flag, const char *arg, char *err, size_t errlen)
{
	char why[200];

	if (access_list_parse(field(cfg, o->off), arg, why, sizeof(why)))
		return config_fail(err, errlen, "%s: %s", flag, why);
	return CONFIG_OK;
}

const struct config_kind config_kind_access = {
	.parse = access_parse,
};

/* ---- the command line's own: --config, --check-config, --help, --version ---- */

/* The file was read before the flags (config_parse_args). */
static enum config_result config_file_parse(const struct config_option *o, struct config *cfg,
					    const char *flag, const char *arg, char *err,
					    size_t errlen)
{
	(void)o, (void)cfg, (void)flag, (void)arg, (void)err, (void)errlen;
	return CONFIG_OK;
}

static const struct config_kind kind_config_file = { .parse = config_file_parse };

static enum config_result set_parse(const struct config_option *o, struct config *cfg,
				    const char *flag, const char *arg, char *err, size_t errlen)
{
	(void)flag, (void)arg, (void)err, (void)errlen;
	set_bool(cfg, o->off, true);
	return CONFIG_OK;
}

static const struct config_kind kind_set = { .parse = set_parse };

static enum config_result help_parse(const struct config_option *o, struct config *cfg,
				     const char *flag, const char *arg, char *err, size_t errlen)
{
	(void)o, (void)cfg, (void)flag, (void)arg, (void)err, (void)errlen;
	config_usage(stdout);
	return CONFIG_EXIT;
}

static const struct config_kind kind_help = { .parse = help_parse };

static enum config_result version_parse(const struct config_option *o, struct config *cfg,
					const char *flag, const char *arg, char *err,
					size_t errlen)
{
	(void)o, (void)cfg, (void)flag, (void)arg, (void)err, (void)errlen;
	printf("iiostreamd %s\n", IIOSTREAM_VERSION);
	return CONFIG_EXIT;
}

static const struct config_kind kind_version = { .parse = version_parse };

/* ---- the table ---- */

#define FIELD(f) .off = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)
#define ADDR(host, port, on) FIELD(host), .port_off = offsetof(struct config, port), \
			     .enabled = offsetof(struct config, on)
#define GIVEN(f) .given = offsetof(struct config, f)
#define WORDS(...) .words = (const char *const[]){ __VA_ARGS__, NULL }
#define STR_(x) #x
#define STR(x) STR_(x)

const struct config_option config_options[] = {
	{ .name = "source", .arg = "SPEC", .def = "auto", .kind = &kind_source, FIELD(sources),
	  .flags = OPT_LIST, .reload = RELOAD_RESTART,
	  .help = "a device to stream (default {default}); repeat it for\n"
		  "several, the first is a client's default. SPEC is\n"
		  "SOURCE[:NODE][,KEY=VALUE...], SOURCE one of:\n"
		  "  auto            every IIO device of the board with\n"
		  "                  a buffer (kernel where it has a block\n"
		  "                  interface, else dmabuf where a buffer\n"
		  "                  takes a DMA-BUF, else readfd); sim\n"
		  "                  if there is none\n"
		  "  sim             simulated ADC in userspace\n"
		  "  kernel[:NODE]   iio_block ioctls on NODE, a path\n"
		  "                  (/dev/iio_block0) or an IIO device\n"
		  "                  name; the first iio_block node if\n"
		  "                  none. The device's channels and rate\n"
		  "                  are used unless --channels/--rate\n"
		  "                  say otherwise\n"
		  "  readfd:NODE     read() from an IIO device's\n"
		  "                  buffer (/dev/iio:deviceN or a\n"
		  "                  device name), for kernels without\n"
		  "                  a block interface\n"
		  "  dmabuf:DEVICE   an IIO buffer through the kernel's\n"
		  "                  DMABUF interface (Linux 6.11+), input\n"
		  "                  or output; DEVICE a name or\n"
		  "                  iio:deviceN; key buffer=N (default:\n"
		  "                  the first buffer taking DMA-BUFs)\n"
		  "KEYs, this device's own settings: name, channels,\n"
		  "rate, format, timestamp (sim: its device), block-size,\n"
		  "blocks, client-queue (as the flags of those names),\n"
		  "buffer (dmabuf),\n"
		  "e.g. sim:name=adc1,channels=4,rate=2M" },
	{ .name = "listen", .arg = "HOST:PORT", .def = "127.0.0.1:" STR(IIOS_DEFAULT_PORT),
	  .kind = &config_kind_addr, ADDR(listen_host, listen_port, listen_off),
	  .flags = OPT_OFF | OPT_NEGATED, .reload = RELOAD_RESTART,
	  .help = "plain TCP address to listen on (default\n"
		  "{default}; port 0 picks a free port, see\n"
		  "--port-file); 'off': no plain TCP. Plain TCP has\n"
		  "no encryption and no authentication: keep it on\n"
		  "loopback and use --listen-tls for the network" },
	{ .name = "listen-tls", .arg = "HOST:PORT", .kind = &config_kind_addr,
	  ADDR(listen_tls_host, listen_tls_port, listen_tls), .reload = RELOAD_RESTART,
	  .help = "TLS 1.3 address to listen on, e.g. 0.0.0.0:30433;\n"
		  "presents --tls-cert, or without it the board's own\n"
		  "identity (--identity)" },
	{ .name = "iiod-listen", .arg = "HOST:PORT", .kind = &config_kind_addr,
	  ADDR(iiod_host, iiod_port, iiod_listen), .flags = OPT_OFF, .reload = RELOAD_RESTART,
	  .help = "also speak iiod's protocol (libiio 0.24's\n"
		  "network backend: iio_info, iio_readdev, gr-iio\n"
		  "with ip:HOST) on this address; iiod's port is\n"
		  "30431. Plain TCP, no authentication; off unless\n"
		  "given (docs/iiod-compat.md)" },
	{ .name = "http-listen", .arg = "HOST:PORT", .kind = &config_kind_addr_list, FIELD(http_listen),
	  .flags = OPT_LIST, .reload = RELOAD_RESTART,
	  .help = "serve HTTP on this address: Prometheus metrics,\n"
		  "the status API, the web console; HTTPS with the\n"
		  "TLS port's certificate and client checks when\n"
		  "--listen-tls is given. A port alone is on\n"
		  "127.0.0.1; repeat it for several (at most 4); off\n"
		  "unless given (docs/observability.md)" },
	{ .name = "http-head-timeout", .arg = "MS", .def = "10000", .kind = &config_kind_number,
	  FIELD(http_head_timeout_ms), .min = 100, .max = 600000, .reload = RELOAD_LIVE,
	  .help = "time for an HTTP request's TLS handshake, head\n"
		  "and body; a slower one gets 408 and is closed\n"
		  "(default {default})" },
	{ .name = "tls-cert", .arg = "FILE", .kind = &config_kind_path, FIELD(tls_cert),
	  .flags = OPT_NEEDS_TLS, .reload = RELOAD_TLS,
	  .help = "PEM certificate (chain) of the server" },
	{ .name = "tls-key", .arg = "FILE", .kind = &config_kind_path, FIELD(tls_key),
	  .flags = OPT_NEEDS_TLS, .reload = RELOAD_TLS,
	  .help = "PEM private key of that certificate" },
	{ .name = "identity", .arg = "DIR", .kind = &config_kind_path, FIELD(identity),
	  .flags = OPT_NEEDS_TLS, .reload = RELOAD_TLS,
	  .help = "the board's own key and self-signed certificate,\n"
		  "made there on first start, used without --tls-cert\n"
		  "and --tls-key (default: $STATE_DIRECTORY/identity,\n"
		  "else for root /var/lib/iiostream/identity, else\n"
		  "$XDG_STATE_HOME/iiostream/identity, else\n"
		  "~/.local/state/iiostream/identity)" },
	{ .name = "pairing", .arg = "DIR", .kind = &config_kind_path, FIELD(pairing),
	  .reload = RELOAD_RESTART,
	  .help = "where one-time pairing codes and the paired clients\n"
		  "(the access lists' entry 'paired') are kept (default:\n"
		  "beside the board's default identity, e.g.\n"
		  "$STATE_DIRECTORY/pairing)" },
	{ .name = "client-ca", .arg = "FILE", .kind = &config_kind_path, FIELD(client_ca),
	  .flags = OPT_NEEDS_TLS, .reload = RELOAD_TLS,
	  .help = "require client certificates signed by this PEM CA\n"
		  "(without it a client certificate is optional and\n"
		  "only its sha256: fingerprint can be allowed)" },
	{ .name = "tls-ciphersuites", .arg = "L", .kind = &config_kind_string,
	  FIELD(tls_ciphersuites), .flags = OPT_NEEDS_TLS, .reload = RELOAD_TLS,
	  .help = "OpenSSL TLS 1.3 cipher suites, e.g.\n"
		  "TLS_CHACHA20_POLY1305_SHA256 (default: OpenSSL's)" },
	{ .name = "ktls", .arg = "auto|off", .def = "auto", .kind = &config_kind_onoff,
	  FIELD(ktls), WORDS("auto", "off"), .reload = RELOAD_TLS,
	  .help = "let the kernel encrypt (kTLS) where it can ({default})" },
	{ .name = "advertise", .arg = "on|off", .def = "on", .kind = &config_kind_onoff,
	  FIELD(advertise), GIVEN(advertise_set), WORDS("on", "off"), .reload = RELOAD_RESTART,
	  .help = "announce the listeners reachable from the network\n"
		  "(not those on loopback) on the LAN with DNS-SD\n"
		  "through avahi-daemon: _iiostream._tcp (default {default};\n"
		  "a loopback-only daemon announces nothing)" },
	{ .name = "allow-subscribe", .arg = "L", .kind = &config_kind_access,
	  FIELD(allow_subscribe), .reload = RELOAD_LIVE,
	  .live_note = "applies to subscriptions from now on",
	  .help = "who may subscribe; L is a comma-separated list of\n"
		  "sha256:FINGERPRINT, cn:NAME, subject:DN, any-cert,\n"
		  "paired (clients admitted by pairing: --pair), plain\n"
		  "(clients without a certificate). Default: all" },
	{ .name = "allow-write", .arg = "L", .kind = &config_kind_access, FIELD(allow_write),
	  .reload = RELOAD_LIVE, .live_note = "applies to attribute writes from now on",
	  .help = "who may write attributes (same list; default: all)" },
	{ .name = "config", .arg = "FILE", .kind = &kind_config_file, FIELD(config_file),
	  .flags = OPT_NOT_KEY,
	  .help = "read 'key = value' lines, keys named as the flags\n"
		  "(rate = 1000000); flags override the file. SIGHUP\n"
		  "re-reads it (docs/deployment.md)" },
	{ .name = "check-config", .kind = &kind_set, FIELD(check_only), .flags = OPT_NOT_KEY,
	  .help = "check the flags and the file (TLS files included),\n"
		  "print 'configuration OK' and exit 0, or exit 2" },
	{ .name = "show-identity", .kind = &kind_set, FIELD(show_identity), .flags = OPT_NOT_KEY,
	  .help = "print the fingerprint (sha256:...) and files of the\n"
		  "certificate the TLS port presents, making the\n"
		  "board's identity if it is not there yet; exit 0" },
	{ .name = "pair", .kind = &kind_set, FIELD(pair), .flags = OPT_NOT_KEY,
	  .help = "make a one-time code that admits one new client\n"
		  "(iiostream pair --url tls://BOARD CODE), print it\n"
		  "and exit 0 (docs/security.md, \"Pairing\")" },
	{ .name = "pair-ttl", .arg = "S", .def = "600", .kind = &config_kind_number,
	  FIELD(pair_ttl_s), .min = 10, .max = 86400, .flags = OPT_NOT_KEY,
	  .help = "seconds the --pair code is good for ({default})" },
	{ .name = "paired", .kind = &kind_set, FIELD(list_paired), .flags = OPT_NOT_KEY,
	  .help = "list the paired clients and exit 0" },
	{ .name = "rate", .arg = "N", .def = "1000000", .kind = &config_kind_number,
	  FIELD(sample_rate), GIVEN(rate_set), .min = 0, .max = CONFIG_MAX_RATE,
	  .reload = RELOAD_RESTART,
	  .help = "scans per second (IIO's sampling_frequency: samples\n"
		  "per second of each channel); 0 = as fast as blocks\n"
		  "return (default {default})" },
	{ .name = "channels", .arg = "N", .def = "2", .kind = &config_kind_number,
	  FIELD(channels), GIVEN(channels_set), .min = 1, .max = CONFIG_MAX_CHANNELS,
	  .reload = RELOAD_RESTART,
	  .help = "channels per scan, int16 each, {min}..{max} (default {default})" },
	{ .name = "block-size", .arg = "BYTES", .def = "1M", .kind = &config_kind_number,
	  FIELD(block_size), .min = 1, .max = IIOS_FRAME_MAX_PAYLOAD, .flags = OPT_SUFFIX,
	  .reload = RELOAD_RESTART,
	  .help = "bytes per block, a whole number of scans; K and M\n"
		  "suffixes are binary (default {default})" },
	{ .name = "blocks", .arg = "N", .def = "8", .kind = &config_kind_number, FIELD(blocks),
	  .min = CONFIG_MIN_BLOCKS, .max = CONFIG_MAX_BLOCKS, .reload = RELOAD_RESTART,
	  .help = "blocks in the source ring, {min}..{max} (default {default})" },
	{ .name = "client-queue", .arg = "N", .def = "4", .kind = &config_kind_number,
	  FIELD(client_queue), .min = 1, .max = CONFIG_MAX_BLOCKS, .reload = RELOAD_LIVE,
	  .live_note = "{new} blocks for subscriptions from now on",
	  .help = "blocks queued per client before it skips (default {default})" },
	{ .name = "memory-budget", .arg = "BYTES", .def = "512M", .kind = &config_kind_number,
	  FIELD(memory_budget), .min = 64 * 1024, .max = 1ull << 40, .flags = OPT_SUFFIX,
	  .reload = RELOAD_RESTART,
	  .help = "bytes the block rings of every device may take\n"
		  "together; a start-up over it is refused (default\n"
		  "{default})" },
	{ .name = "max-clients", .arg = "N", .def = "64", .kind = &config_kind_number,
	  FIELD(max_clients), .min = 1, .max = 100000, .reload = RELOAD_LIVE,
	  .help = "connections served at once, all ports together\n"
		  "(default {default}); more get an error and are closed" },
	{ .name = "handshake-timeout", .arg = "MS", .def = "5000", .kind = &config_kind_number,
	  FIELD(handshake_timeout_ms), .min = 100, .max = 600000, .reload = RELOAD_LIVE,
	  .help = "time for a client's TLS handshake and Hello\n"
		  "(default {default})" },
	{ .name = "idle-timeout", .arg = "S", .def = "120", .kind = &config_kind_number,
	  FIELD(idle_timeout_s), .min = 0, .max = 86400, .reload = RELOAD_LIVE,
	  .help = "close a client that neither sent a byte nor took\n"
		  "one for S seconds (default {default}; 0: never)" },
	/* the default is the largest Envelope the protocol allows (test_config.c) */
	{ .name = "max-frame", .arg = "BYTES", .def = "64K", .kind = &config_kind_number,
	  FIELD(max_frame), .min = 256, .max = IIOS_FRAME_MAX_ENVELOPE, .flags = OPT_SUFFIX,
	  .reload = RELOAD_LIVE,
	  .help = "largest frame a client may send, {min}..{max} (default\n"
		  "{default})" },
	{ .name = "max-send-queue", .arg = "BYTES", .def = "1M", .kind = &config_kind_number,
	  FIELD(max_send_queue), .min = 64 * 1024, .max = 64u << 20, .flags = OPT_SUFFIX,
	  .reload = RELOAD_LIVE,
	  .help = "replies a client may leave unread before it is\n"
		  "dropped, {min}..{max} (default {default})" },
	{ .name = "transport", .arg = "T", .def = "auto", .kind = &config_kind_enum,
	  FIELD(transport), WORDS("auto", "copy", "zerocopy", "sendfile"),
	  .reload = RELOAD_RESTART,
	  .help = "how block payloads are sent: zerocopy (MSG_ZEROCOPY\n"
		  "from the mapped block), sendfile (file-backed\n"
		  "blocks: sim), copy, or auto: copy to a local peer,\n"
		  "else zero-copy unless the kernel copies anyway\n"
		  "(default {default})" },
	{ .name = "port-file", .arg = "FILE", .kind = &config_kind_path, FIELD(port_file),
	  .reload = RELOAD_RESTART, .help = "write the port actually bound to FILE" },
	{ .name = "log-level", .arg = "LEVEL", .def = "info", .kind = &config_kind_enum,
	  FIELD(log_level), WORDS("error", "warn", "info", "debug"), .reload = RELOAD_LIVE,
	  .live_note = "{new}", .help = "{words} (default {default})" },
	{ .name = "help", .kind = &kind_help, .flags = OPT_NOT_KEY },
	{ .name = "version", .kind = &kind_version, .flags = OPT_NOT_KEY },
};

const size_t config_noptions = sizeof(config_options) / sizeof(config_options[0]);

/* key_line[] and key_flags have a slot per option */
_Static_assert(sizeof(config_options) / sizeof(config_options[0]) <= CONFIG_KEYS,
	       "CONFIG_KEYS is too small");
_Static_assert(CONFIG_KEYS <= 64, "key_flags is too small");

const struct config_option *config_option_find(const char *name)
{
	size_t i;

	for (i = 0; i < config_noptions; i++)
		if (strcmp(config_options[i].name, name) == 0)
			return &config_options[i];
	return NULL;
}

/* ---- comparing, copying, and the text around values ---- */

bool config_option_changed(const struct config_option *o, const struct config *a,
			   const struct config *b)
{
	if (o->given && get_bool(a, o->given) != get_bool(b, o->given))
		return true;
	if (o->kind->equal)
		return !o->kind->equal(o, a, b);
	return memcmp(cfield(a, o->off), cfield(b, o->off), o->size) != 0;
}

void config_option_copy(const struct config_option *o, struct config *dst,
			const struct config *src)
{
	memcpy(field(dst, o->off), cfield(src, o->off), o->size);
	if (o->port_off)
		memcpy(field(dst, o->port_off), cfield(src, o->port_off), sizeof(uint16_t));
	if (o->enabled)
		set_bool(dst, o->enabled, get_bool(src, o->enabled));
	if (o->given)
		set_bool(dst, o->given, get_bool(src, o->given));
}

void config_option_show(const struct config_option *o, const struct config *cfg, bool human,
			char *buf, size_t len)
{
	if (o->kind->show)
		o->kind->show(o, cfg, human, buf, len);
	else if (len)
		buf[0] = '\0';
}

struct out {
	char *buf;
	size_t len, at; /* at < len: room for the NUL */
};

static void put(struct out *w, const char *s, size_t n)
{
	if (w->at + 1 >= w->len)
		return;
	if (n > w->len - 1 - w->at)
		n = w->len - 1 - w->at;
	memcpy(w->buf + w->at, s, n);
	w->at += n;
	w->buf[w->at] = '\0';
}

/* At a '{': the '}' of a placeholder lookup() knows, its value in `value`;
 * NULL for anything else. */
static const char *placeholder(const char *p, config_lookup_fn *lookup, void *ctx,
			       char *value, size_t len)
{
	const char *close = strchr(p, '}');
	char name[16];
	size_t n;

	if (!close)
		return NULL;
	n = (size_t)(close - p - 1);
	if (n >= sizeof(name))
		return NULL;
	memcpy(name, p + 1, n);
	name[n] = '\0';
	return lookup(ctx, name, value, len) ? close : NULL;
}

void config_expand(const char *tmpl, const char *indent, config_lookup_fn *lookup, void *ctx,
		   char *buf, size_t len)
{
	struct out w = { buf, len, 0 };
	const char *p, *close;
	char value[160];

	if (len)
		buf[0] = '\0';
	for (p = tmpl; *p; p++) {
		if (*p == '\n') {
			put(&w, "\n", 1);
			put(&w, indent, strlen(indent));
		} else if (*p == '{' && (close = placeholder(p, lookup, ctx, value, sizeof(value)))) {
			put(&w, value, strlen(value));
			p = close;
		} else {
			put(&w, p, 1);
		}
	}
}

/* ---- --help ---- */

#define HELP_COLUMN 23 /* where the help text starts */

struct help_ctx {
	const struct config_option *o;
	const struct config *def;
};

/* {min}, {max}, {default} and {words} in an option's help */
static bool help_lookup(void *ctx, const char *name, char *buf, size_t len)
{
	const struct help_ctx *h = ctx;
	bool human = h->o->flags & OPT_SUFFIX;

	if (strcmp(name, "min") == 0)
		show_u64(h->o->min, human, buf, len);
	else if (strcmp(name, "max") == 0)
		show_u64(h->o->max, human, buf, len);
	else if (strcmp(name, "default") == 0)
		config_option_show(h->o, h->def, true, buf, len);
	else if (strcmp(name, "words") == 0 && h->o->words)
		words_list(h->o->words, buf, len);
	else
		return false;
	return true;
}

void config_option_usage(const struct config_option *o, const struct config *def, char *buf,
			 size_t len)
{
	static const char indent[] = "                       ";
	struct help_ctx ctx = { o, def };
	int n;

	_Static_assert(sizeof(indent) == HELP_COLUMN + 1, "indent is the help column");
	n = snprintf(buf, len, "  --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	if (n < 0 || (size_t)n >= len)
		return;
	/* the text in its column, or two spaces after a longer flag */
	n += snprintf(buf + n, len - (size_t)n, "%*s", n < HELP_COLUMN ? HELP_COLUMN - n : 2, "");
	if ((size_t)n < len)
		config_expand(o->help, indent, help_lookup, &ctx, buf + n, len - (size_t)n);
}
