// SPDX-License-Identifier: MIT
/* Command-line flags of iiostreamd: see config.h. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "iiostream/frame.h"
#include "iiostream/pattern.h"
#include "source.h"

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->source, sizeof(cfg->source), "sim");
	snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
	cfg->listen_port = IIOS_DEFAULT_PORT;
	cfg->sample_rate = 1000000;
	cfg->channels = 2;
	cfg->block_size = 1024 * 1024;
	cfg->blocks = 8;
	cfg->client_queue = 4;
	cfg->max_clients = 64;
	cfg->handshake_timeout_ms = 5000;
	cfg->idle_timeout_s = 120;
	cfg->max_frame = IIOS_FRAME_MAX_ENVELOPE;
	cfg->max_send_queue = 1u << 20;
	cfg->transport = TRANSPORT_AUTO;
	cfg->log_level = LOG_INFO;
	cfg->ktls = true;
	cfg->advertise = true;
}

void config_usage(FILE *out)
{
	fprintf(out,
		"usage: iiostreamd [options]\n"
		"  --source SPEC        block source (default sim):\n"
		"                         sim             simulated ADC in userspace\n"
		"                         kernel[:NODE]   iio_block ioctls on NODE, a path\n"
		"                                         (/dev/iio_block0) or an IIO device\n"
		"                                         name; the first iio_block node if\n"
		"                                         none. The device's channels and rate\n"
		"                                         are used unless --channels/--rate\n"
		"                                         say otherwise\n"
		"                         readfd:NODE     read() from an IIO device's\n"
		"                                         buffer (/dev/iio:deviceN or a\n"
		"                                         device name), for kernels without\n"
		"                                         a block interface\n"
		"  --listen HOST:PORT   plain TCP address to listen on (default\n"
		"                       127.0.0.1:%d; port 0 picks a free port, see\n"
		"                       --port-file); 'off': no plain TCP. Plain TCP has\n"
		"                       no encryption and no authentication: keep it on\n"
		"                       loopback and use --listen-tls for the network\n"
		"  --listen-tls HOST:PORT  TLS 1.3 address to listen on (needs --tls-cert\n"
		"                       and --tls-key)\n"
		"  --iiod-listen HOST:PORT  also speak iiod's protocol (libiio 0.24's\n"
		"                       network backend: iio_info, iio_readdev, gr-iio\n"
		"                       with ip:HOST) on this address; iiod's port is\n"
		"                       30431. Plain TCP, no authentication; off unless\n"
		"                       given (docs/iiod-compat.md)\n"
		"  --tls-cert FILE      PEM certificate (chain) of the server\n"
		"  --tls-key FILE       PEM private key of that certificate\n"
		"  --client-ca FILE     require client certificates signed by this PEM CA\n"
		"  --tls-ciphersuites L OpenSSL TLS 1.3 cipher suites, e.g.\n"
		"                       TLS_CHACHA20_POLY1305_SHA256 (default: OpenSSL's)\n"
		"  --ktls auto|off      let the kernel encrypt (kTLS) where it can (auto)\n"
		"  --advertise on|off   announce the listeners reachable from the network\n"
		"                       (not those on loopback) on the LAN with DNS-SD\n"
		"                       through avahi-daemon: _iiostream._tcp (default on;\n"
		"                       a loopback-only daemon announces nothing)\n"
		"  --allow-subscribe L  who may subscribe; L is a comma-separated list of\n"
		"                       sha256:FINGERPRINT, cn:NAME, subject:DN, any-cert,\n"
		"                       plain (clients without a certificate). Default: all\n"
		"  --allow-write L      who may write attributes (same list; default: all)\n"
		"  --config FILE        read 'key = value' lines, keys named as the flags\n"
		"                       (rate = 1000000); flags override the file. SIGHUP\n"
		"                       re-reads it (docs/deployment.md)\n"
		"  --check-config       check the flags and the file (TLS files included),\n"
		"                       print 'configuration OK' and exit 0, or exit 2\n"
		"  --rate N             scans per second (IIO's sampling_frequency: samples\n"
		"                       per second of each channel); 0 = as fast as blocks\n"
		"                       return (default 1000000)\n"
		"  --channels N         channels per scan, int16 each, 1..%u (default 2)\n"
		"  --block-size BYTES   bytes per block, a whole number of scans; K and M\n"
		"                       suffixes are binary (default 1M)\n"
		"  --blocks N           blocks in the source ring, %u..%u (default 8)\n"
		"  --client-queue N     blocks queued per client before it skips (default 4)\n"
		"  --max-clients N      connections served at once, all ports together\n"
		"                       (default 64); more get an error and are closed\n"
		"  --handshake-timeout MS  time for a client's TLS handshake and Hello\n"
		"                       (default 5000)\n"
		"  --idle-timeout S     close a client that neither sent a byte nor took\n"
		"                       one for S seconds (default 120; 0: never)\n"
		"  --max-frame BYTES    largest frame a client may send, 256..64K (default\n"
		"                       64K)\n"
		"  --max-send-queue BYTES  replies a client may leave unread before it is\n"
		"                       dropped, 64K..64M (default 1M)\n"
		"  --transport T        how block payloads are sent: zerocopy (MSG_ZEROCOPY\n"
		"                       from the mapped block), sendfile (file-backed\n"
		"                       blocks: sim), copy, or auto: copy to a local peer,\n"
		"                       else zero-copy unless the kernel copies anyway\n"
		"                       (default auto)\n"
		"  --port-file FILE     write the port actually bound to FILE\n"
		"  --log-level LEVEL    error, warn, info or debug (default info)\n"
		"  --help, --version\n",
		IIOS_DEFAULT_PORT, CONFIG_MAX_CHANNELS, CONFIG_MIN_BLOCKS, CONFIG_MAX_BLOCKS);
}

static enum config_result fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum config_result fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return CONFIG_ERROR;
}

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

static enum config_result number_flag(const char *flag, const char *arg, uint64_t min,
				      uint64_t max, bool suffix, uint64_t *out,
				      char *err, size_t errlen)
{
	int r = parse_number(arg, min, max, suffix, out);

	if (r == -EINVAL)
		return fail(err, errlen, "%s: '%s' is not a number", flag, arg);
	if (r == -ERANGE)
		return fail(err, errlen, "%s: %s is out of range (%" PRIu64 "..%" PRIu64 ")",
			    flag, arg, min, max);
	return CONFIG_OK;
}

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
		return fail(err, errlen, "%s: '%s' is not HOST:PORT", flag, arg);
	hostlen = (size_t)(colon - arg);
	if (hostlen >= 2 && host[0] == '[' && host[hostlen - 1] == ']')
		host++, hostlen -= 2; /* [::1]:30432 */
	if (hostlen == 0 || hostlen >= host_cap)
		return fail(err, errlen, "%s: '%s' has no usable host", flag, arg);
	if (parse_number(colon + 1, 0, 65535, false, &port))
		return fail(err, errlen, "%s: port '%s' is not 0..65535", flag, colon + 1);
	memcpy(host_out, host, hostlen);
	host_out[hostlen] = '\0';
	*port_out = (uint16_t)port;
	return CONFIG_OK;
}

static enum config_result path_flag(const char *flag, const char *arg, char *out, size_t cap,
				    char *err, size_t errlen)
{
	if (!*arg)
		return fail(err, errlen, "%s: empty path", flag);
	if (strlen(arg) >= cap)
		return fail(err, errlen, "%s: path too long", flag);
	snprintf(out, cap, "%s", arg);
	return CONFIG_OK;
}

enum {
	O_SOURCE = 256, O_LISTEN, O_RATE, O_CHANNELS, O_BLOCK_SIZE, O_BLOCKS, O_CLIENT_QUEUE,
	O_PORT_FILE, O_LOG_LEVEL, O_TRANSPORT, O_LISTEN_TLS, O_IIOD_LISTEN, O_TLS_CERT, O_TLS_KEY, O_CLIENT_CA,
	O_TLS_CIPHERSUITES, O_KTLS, O_ALLOW_SUBSCRIBE, O_ALLOW_WRITE, O_CONFIG, O_HELP, O_VERSION,
	O_ADVERTISE, O_CHECK_CONFIG, O_MAX_CLIENTS, O_HANDSHAKE_TIMEOUT, O_IDLE_TIMEOUT,
	O_MAX_FRAME, O_MAX_SEND_QUEUE, O_END,
};

/* key_line[] and key_flags have a slot per option */
_Static_assert(O_END - O_SOURCE <= CONFIG_KEYS, "CONFIG_KEYS is too small");
_Static_assert(O_END - O_SOURCE <= 32, "key_flags is too small");

static const struct option options[] = {
	{ "source", required_argument, NULL, O_SOURCE },
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "rate", required_argument, NULL, O_RATE },
	{ "channels", required_argument, NULL, O_CHANNELS },
	{ "block-size", required_argument, NULL, O_BLOCK_SIZE },
	{ "blocks", required_argument, NULL, O_BLOCKS },
	{ "client-queue", required_argument, NULL, O_CLIENT_QUEUE },
	{ "max-clients", required_argument, NULL, O_MAX_CLIENTS },
	{ "handshake-timeout", required_argument, NULL, O_HANDSHAKE_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT },
	{ "max-frame", required_argument, NULL, O_MAX_FRAME },
	{ "max-send-queue", required_argument, NULL, O_MAX_SEND_QUEUE },
	{ "port-file", required_argument, NULL, O_PORT_FILE },
	{ "log-level", required_argument, NULL, O_LOG_LEVEL },
	{ "transport", required_argument, NULL, O_TRANSPORT },
	{ "listen-tls", required_argument, NULL, O_LISTEN_TLS },
	{ "iiod-listen", required_argument, NULL, O_IIOD_LISTEN },
	{ "tls-cert", required_argument, NULL, O_TLS_CERT },
	{ "tls-key", required_argument, NULL, O_TLS_KEY },
	{ "client-ca", required_argument, NULL, O_CLIENT_CA },
	{ "tls-ciphersuites", required_argument, NULL, O_TLS_CIPHERSUITES },
	{ "ktls", required_argument, NULL, O_KTLS },
	{ "advertise", required_argument, NULL, O_ADVERTISE },
	{ "allow-subscribe", required_argument, NULL, O_ALLOW_SUBSCRIBE },
	{ "allow-write", required_argument, NULL, O_ALLOW_WRITE },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "check-config", no_argument, NULL, O_CHECK_CONFIG },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* Set one option. `flag` is how the error names it: "--rate" on the
 * command line, "rate" in the config file. */
static enum config_result apply_option(struct config *cfg, int code, const char *flag,
				       const char *arg, char *err, size_t errlen)
{
	enum config_result r = CONFIG_OK;
	char why[200];
	uint64_t v = 0;
	int lvl;

	switch (code) {
	case O_SOURCE:
		if (!source_find(arg))
			return fail(err, errlen,
				    "%s: unknown source '%s' (known: sim, kernel[:NODE], readfd:NODE)",
				    flag, arg);
		if (strlen(arg) >= sizeof(cfg->source))
			return fail(err, errlen, "%s: too long", flag);
		snprintf(cfg->source, sizeof(cfg->source), "%s", arg);
		break;
	case O_LISTEN:
		if (strcmp(arg, "off") == 0) {
			cfg->listen_off = true;
			break;
		}
		cfg->listen_off = false;
		r = parse_host_port(flag, arg, cfg->listen_host, sizeof(cfg->listen_host),
				    &cfg->listen_port, err, errlen);
		break;
	case O_LISTEN_TLS:
		r = parse_host_port(flag, arg, cfg->listen_tls_host, sizeof(cfg->listen_tls_host),
				    &cfg->listen_tls_port, err, errlen);
		cfg->listen_tls = true;
		break;
	case O_IIOD_LISTEN:
		if (strcmp(arg, "off") == 0) {
			cfg->iiod_listen = false;
			break;
		}
		r = parse_host_port(flag, arg, cfg->iiod_host, sizeof(cfg->iiod_host),
				    &cfg->iiod_port, err, errlen);
		cfg->iiod_listen = r == CONFIG_OK;
		break;
	case O_RATE:
		r = number_flag(flag, arg, 0, CONFIG_MAX_RATE, false, &v, err, errlen);
		cfg->sample_rate = v;
		cfg->rate_set = true;
		break;
	case O_CHANNELS:
		r = number_flag(flag, arg, 1, CONFIG_MAX_CHANNELS, false, &v, err, errlen);
		cfg->channels = (uint32_t)v;
		cfg->channels_set = true;
		break;
	case O_BLOCK_SIZE:
		r = number_flag(flag, arg, 1, IIOS_FRAME_MAX_PAYLOAD, true, &v, err, errlen);
		cfg->block_size = (uint32_t)v;
		break;
	case O_BLOCKS:
		r = number_flag(flag, arg, CONFIG_MIN_BLOCKS, CONFIG_MAX_BLOCKS, false, &v, err,
				errlen);
		cfg->blocks = (uint32_t)v;
		break;
	case O_CLIENT_QUEUE:
		r = number_flag(flag, arg, 1, CONFIG_MAX_BLOCKS, false, &v, err, errlen);
		cfg->client_queue = (uint32_t)v;
		break;
	case O_MAX_CLIENTS:
		r = number_flag(flag, arg, 1, 100000, false, &v, err, errlen);
		cfg->max_clients = (uint32_t)v;
		break;
	case O_HANDSHAKE_TIMEOUT:
		r = number_flag(flag, arg, 100, 600000, false, &v, err, errlen);
		cfg->handshake_timeout_ms = (uint32_t)v;
		break;
	case O_IDLE_TIMEOUT:
		r = number_flag(flag, arg, 0, 86400, false, &v, err, errlen);
		cfg->idle_timeout_s = (uint32_t)v;
		break;
	case O_MAX_FRAME:
		r = number_flag(flag, arg, 256, IIOS_FRAME_MAX_ENVELOPE, true, &v, err, errlen);
		cfg->max_frame = (uint32_t)v;
		break;
	case O_MAX_SEND_QUEUE:
		r = number_flag(flag, arg, 65536, 64u << 20, true, &v, err, errlen);
		cfg->max_send_queue = (uint32_t)v;
		break;
	case O_PORT_FILE:
		return path_flag(flag, arg, cfg->port_file, sizeof(cfg->port_file), err, errlen);
	case O_TLS_CERT:
		return path_flag(flag, arg, cfg->tls_cert, sizeof(cfg->tls_cert), err, errlen);
	case O_TLS_KEY:
		return path_flag(flag, arg, cfg->tls_key, sizeof(cfg->tls_key), err, errlen);
	case O_CLIENT_CA:
		return path_flag(flag, arg, cfg->client_ca, sizeof(cfg->client_ca), err, errlen);
	case O_TLS_CIPHERSUITES:
		if (strlen(arg) >= sizeof(cfg->tls_ciphersuites))
			return fail(err, errlen, "%s: too long", flag);
		snprintf(cfg->tls_ciphersuites, sizeof(cfg->tls_ciphersuites), "%s", arg);
		break;
	case O_KTLS:
		if (strcmp(arg, "auto") != 0 && strcmp(arg, "off") != 0)
			return fail(err, errlen, "%s: '%s' is not auto or off", flag, arg);
		cfg->ktls = strcmp(arg, "auto") == 0;
		break;
	case O_ADVERTISE:
		if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0)
			return fail(err, errlen, "%s: '%s' is not on or off", flag, arg);
		cfg->advertise = strcmp(arg, "on") == 0;
		cfg->advertise_set = true;
		break;
	case O_ALLOW_SUBSCRIBE:
	case O_ALLOW_WRITE:
		if (access_list_parse(code == O_ALLOW_WRITE ? &cfg->allow_write
							    : &cfg->allow_subscribe,
				      arg, why, sizeof(why)))
			return fail(err, errlen, "%s: %s", flag, why);
		break;
	case O_LOG_LEVEL:
		lvl = log_level_parse(arg);
		if (lvl < 0)
			return fail(err, errlen, "%s: '%s' is not error, warn, info or debug", flag,
				    arg);
		cfg->log_level = (enum log_level)lvl;
		break;
	case O_TRANSPORT:
		lvl = transport_parse(arg);
		if (lvl < 0)
			return fail(err, errlen, "%s: '%s' is not auto, copy, zerocopy or sendfile",
				    flag, arg);
		cfg->transport = (enum transport)lvl;
		break;
	default:
		return fail(err, errlen, "%s: cannot be set here", flag);
	}
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

/* "key = value" lines; blank lines and '#' comments are skipped. Every
 * error names the file, the line and the key. */
static enum config_result read_config_file(struct config *cfg, const char *path, char *err,
					   size_t errlen)
{
	char line[1024], msg[400];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return fail(err, errlen, "--config %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		const struct option *o;
		char *key, *value, *eq;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			fclose(f);
			return fail(err, errlen, "%s:%u: line too long", path, lineno);
		}
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			fclose(f);
			return fail(err, errlen, "%s:%u: '%s' is not 'key = value'", path, lineno, key);
		}
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
		for (o = options; o->name; o++)
			if (strcmp(o->name, key) == 0)
				break;
		if (!o->name || o->has_arg != required_argument || o->val == O_CONFIG) {
			fclose(f);
			return fail(err, errlen, "%s:%u: unknown key '%s' (keys are the long flags, see --help)",
				    path, lineno, key);
		}
		if (!*value) {
			fclose(f);
			return fail(err, errlen, "%s:%u: %s: needs a value", path, lineno, key);
		}
		if (apply_option(cfg, o->val, key, value, msg, sizeof(msg)) != CONFIG_OK) {
			fclose(f);
			return fail(err, errlen, "%s:%u: %s", path, lineno, msg);
		}
		cfg->key_line[o->val - O_SOURCE] = lineno;
	}
	fclose(f);
	return CONFIG_OK;
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
	const struct option *o;

	for (o = options; o->name; o++) {
		unsigned i = (unsigned)(o->val - O_SOURCE);

		if (strcmp(o->name, key) != 0)
			continue;
		if (!(cfg->key_flags & (1u << i)) && cfg->key_line[i]) {
			snprintf(buf, len, "%s:%u: %s", cfg->config_file, cfg->key_line[i], key);
			return buf;
		}
		break;
	}
	snprintf(buf, len, "--%s", key);
	return buf;
}

/* Checks across options, once everything is read. Each error names where
 * the key at fault was set (config_where). */
static enum config_result check_config(struct config *cfg, char *err, size_t errlen)
{
	char at[320], at2[320];

	/* A block holds whole scans. */
	if (cfg->block_size % (cfg->channels * IIOS_PATTERN_SAMPLE_BYTES))
		return fail(err, errlen,
			    "%s: %u is not a whole number of %u-byte scans (%s: %u channels)",
			    config_where(cfg, "block-size", at, sizeof(at)), cfg->block_size,
			    cfg->channels * IIOS_PATTERN_SAMPLE_BYTES,
			    config_where(cfg, "channels", at2, sizeof(at2)), cfg->channels);
	if (cfg->listen_tls && (!cfg->tls_cert[0] || !cfg->tls_key[0]))
		return fail(err, errlen, "%s: needs --tls-cert and --tls-key",
			    config_where(cfg, "listen-tls", at, sizeof(at)));
	if (!cfg->listen_tls) {
		const char *orphan = cfg->tls_cert[0]     ? "tls-cert"
				     : cfg->tls_key[0]    ? "tls-key"
				     : cfg->client_ca[0]  ? "client-ca"
				     : cfg->tls_ciphersuites[0] ? "tls-ciphersuites"
								: NULL;

		if (orphan)
			return fail(err, errlen, "%s: only means something with --listen-tls",
				    config_where(cfg, orphan, at, sizeof(at)));
	}
	if (cfg->listen_off && !cfg->listen_tls)
		return fail(err, errlen, "%s off: and no --listen-tls; nothing to listen on",
			    config_where(cfg, "listen", at, sizeof(at)));
	return CONFIG_OK;
}

enum config_result config_parse_args(struct config *cfg, int argc, char **argv,
				     char *err, size_t errlen)
{
	const char *file = find_config_arg(argc, argv);
	enum config_result r = CONFIG_OK;
	int c, idx = -1;

	if (file) {
		if (strlen(file) >= sizeof(cfg->config_file))
			return fail(err, errlen, "--config: path too long");
		snprintf(cfg->config_file, sizeof(cfg->config_file), "%s", file);
		r = read_config_file(cfg, file, err, errlen);
		if (r != CONFIG_OK)
			return r;
	}
	optind = 0;  /* reset getopt: tests parse several argv in one process */
	opterr = 0;  /* we word the errors ourselves */
	while (r == CONFIG_OK && (c = getopt_long(argc, argv, ":", options, &idx)) != -1) {
		const char *flag = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
		char name[64];

		switch (c) {
		case O_HELP:
			config_usage(stdout);
			return CONFIG_EXIT;
		case O_VERSION:
			printf("iiostreamd %s\n", IIOSTREAM_VERSION);
			return CONFIG_EXIT;
		case O_CONFIG:
			break; /* read above */
		case O_CHECK_CONFIG:
			cfg->check_only = true;
			break;
		case ':':
			return fail(err, errlen, "%s: needs a value", flag);
		case '?':
			/* In a cluster like -xy getopt has not moved past it yet. */
			if (optopt > 0 && optopt < 256)
				return fail(err, errlen, "unknown option '-%c' (see --help)", optopt);
			return fail(err, errlen, "unknown option '%s' (see --help)", flag);
		default:
			snprintf(name, sizeof(name), "--%s", options[idx].name);
			r = apply_option(cfg, c, name, optarg, err, errlen);
			cfg->key_flags |= 1u << (c - O_SOURCE);
			break;
		}
	}
	if (r != CONFIG_OK)
		return r;
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
	return check_config(cfg, err, errlen);
}
