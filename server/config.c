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
	cfg->transport = TRANSPORT_AUTO;
	cfg->log_level = LOG_INFO;
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
		"  --listen HOST:PORT   TCP address to listen on (default 127.0.0.1:%d;\n"
		"                       port 0 picks a free port, see --port-file)\n"
		"  --rate N             scans per second (IIO's sampling_frequency: samples\n"
		"                       per second of each channel); 0 = as fast as blocks\n"
		"                       return (default 1000000)\n"
		"  --channels N         channels per scan, int16 each, 1..%u (default 2)\n"
		"  --block-size BYTES   bytes per block, a whole number of scans; K and M\n"
		"                       suffixes are binary (default 1M)\n"
		"  --blocks N           blocks in the source ring, %u..%u (default 8)\n"
		"  --client-queue N     blocks queued per client before it skips (default 4)\n"
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

static enum config_result parse_listen(struct config *cfg, const char *arg, char *err,
				       size_t errlen)
{
	const char *colon = strrchr(arg, ':');
	const char *host = arg;
	size_t hostlen;
	uint64_t port;

	if (!colon)
		return fail(err, errlen, "--listen: '%s' is not HOST:PORT", arg);
	hostlen = (size_t)(colon - arg);
	if (hostlen >= 2 && host[0] == '[' && host[hostlen - 1] == ']')
		host++, hostlen -= 2; /* [::1]:30432 */
	if (hostlen == 0 || hostlen >= sizeof(cfg->listen_host))
		return fail(err, errlen, "--listen: '%s' has no usable host", arg);
	if (parse_number(colon + 1, 0, 65535, false, &port))
		return fail(err, errlen, "--listen: port '%s' is not 0..65535", colon + 1);
	memcpy(cfg->listen_host, host, hostlen);
	cfg->listen_host[hostlen] = '\0';
	cfg->listen_port = (uint16_t)port;
	return CONFIG_OK;
}

enum config_result config_parse_args(struct config *cfg, int argc, char **argv,
				     char *err, size_t errlen)
{
	enum { O_SOURCE = 256, O_LISTEN, O_RATE, O_CHANNELS, O_BLOCK_SIZE, O_BLOCKS,
	       O_CLIENT_QUEUE, O_PORT_FILE, O_LOG_LEVEL, O_TRANSPORT, O_HELP, O_VERSION };
	static const struct option opts[] = {
		{ "source", required_argument, NULL, O_SOURCE },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "rate", required_argument, NULL, O_RATE },
		{ "channels", required_argument, NULL, O_CHANNELS },
		{ "block-size", required_argument, NULL, O_BLOCK_SIZE },
		{ "blocks", required_argument, NULL, O_BLOCKS },
		{ "client-queue", required_argument, NULL, O_CLIENT_QUEUE },
		{ "port-file", required_argument, NULL, O_PORT_FILE },
		{ "log-level", required_argument, NULL, O_LOG_LEVEL },
		{ "transport", required_argument, NULL, O_TRANSPORT },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	enum config_result r = CONFIG_OK;
	uint64_t v = 0;
	int c, lvl;

	optind = 0;  /* reset getopt: tests parse several argv in one process */
	opterr = 0;  /* we word the errors ourselves */
	while (r == CONFIG_OK && (c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		const char *flag = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

		switch (c) {
		case O_SOURCE:
			if (!source_find(optarg))
				return fail(err, errlen,
					    "--source: unknown source '%s' (known: sim, kernel[:NODE], readfd:NODE)",
					    optarg);
			if (strlen(optarg) >= sizeof(cfg->source))
				return fail(err, errlen, "--source: too long");
			snprintf(cfg->source, sizeof(cfg->source), "%s", optarg);
			break;
		case O_LISTEN:
			r = parse_listen(cfg, optarg, err, errlen);
			break;
		case O_RATE:
			r = number_flag("--rate", optarg, 0, CONFIG_MAX_RATE, false, &v, err, errlen);
			cfg->sample_rate = v;
			cfg->rate_set = true;
			break;
		case O_CHANNELS:
			r = number_flag("--channels", optarg, 1, CONFIG_MAX_CHANNELS, false, &v,
					err, errlen);
			cfg->channels = (uint32_t)v;
			cfg->channels_set = true;
			break;
		case O_BLOCK_SIZE:
			r = number_flag("--block-size", optarg, 1, IIOS_FRAME_MAX_PAYLOAD, true, &v,
					err, errlen);
			cfg->block_size = (uint32_t)v;
			break;
		case O_BLOCKS:
			r = number_flag("--blocks", optarg, CONFIG_MIN_BLOCKS, CONFIG_MAX_BLOCKS,
					false, &v, err, errlen);
			cfg->blocks = (uint32_t)v;
			break;
		case O_CLIENT_QUEUE:
			r = number_flag("--client-queue", optarg, 1, CONFIG_MAX_BLOCKS, false, &v,
					err, errlen);
			cfg->client_queue = (uint32_t)v;
			break;
		case O_PORT_FILE:
			if (strlen(optarg) >= sizeof(cfg->port_file))
				return fail(err, errlen, "--port-file: path too long");
			snprintf(cfg->port_file, sizeof(cfg->port_file), "%s", optarg);
			break;
		case O_LOG_LEVEL:
			lvl = log_level_parse(optarg);
			if (lvl < 0)
				return fail(err, errlen,
					    "--log-level: '%s' is not error, warn, info or debug",
					    optarg);
			cfg->log_level = (enum log_level)lvl;
			break;
		case O_TRANSPORT:
			lvl = transport_parse(optarg);
			if (lvl < 0)
				return fail(err, errlen,
					    "--transport: '%s' is not auto, copy, zerocopy or sendfile",
					    optarg);
			cfg->transport = (enum transport)lvl;
			break;
		case O_HELP:
			config_usage(stdout);
			return CONFIG_EXIT;
		case O_VERSION:
			printf("iiostreamd %s\n", IIOSTREAM_VERSION);
			return CONFIG_EXIT;
		case ':':
			return fail(err, errlen, "%s: needs a value", flag);
		default:
			/* In a cluster like -xy getopt has not moved past it yet. */
			if (optopt > 0 && optopt < 256)
				return fail(err, errlen, "unknown option '-%c' (see --help)", optopt);
			return fail(err, errlen, "unknown option '%s' (see --help)", flag);
		}
	}
	if (r != CONFIG_OK)
		return r;
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
	/* Cross-flag checks: a block holds whole scans. */
	if (cfg->block_size % (cfg->channels * IIOS_PATTERN_SAMPLE_BYTES))
		return fail(err, errlen,
			    "--block-size: %u is not a whole number of %u-byte scans (%u channels)",
			    cfg->block_size, cfg->channels * IIOS_PATTERN_SAMPLE_BYTES,
			    cfg->channels);
	return CONFIG_OK;
}
