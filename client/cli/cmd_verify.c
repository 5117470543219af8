// SPDX-License-Identifier: MIT
/*
 * `iiostream verify FILE --channels LIST`: check a file of raw scans of the
 * simulated pattern, as `rx --output` or libiio's iio_readdev writes them,
 * without the block headers `rx --verify` uses: the start is found from the
 * data, then every scan must follow the one before (or jump forward: a gap,
 * reported). The channels are int16 unless --device names a device of a
 * server (--url), whose channels' scan formats the file then holds.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: iiostream verify FILE --channels LIST [--device NAME [options]] [--json]\n"
		"  --channels LIST  the channels each scan holds, ascending (\"0,1\" or\n"
		"                   \"voltage0,voltage1\"), int16 each unless --device\n"
		"  --device NAME    the device the file comes from (name or id): its\n"
		"                   channels' scan formats, as the server (--url)\n"
		"                   describes them, are the file's\n"
		CLI_CONN_USAGE
		"  --json           print the result as one JSON object\n"
		"Exit 0: every scan is the pattern, in order (gaps are reported);\n"
		"3: some are not; 1: the file cannot be read or holds no pattern.\n");
}

/* The whole file in memory (the files checked are test captures). */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	uint8_t *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		size_t n;

		if (*len == cap) {
			uint8_t *b = realloc(buf, cap = cap ? cap * 2 : 1 << 20);

			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
		if (n == 0)
			break;
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

/* The scan formats of channels[0..n-1] of `device` as the server
 * describes it (DevicesRequest), into out[]; false after saying why. */
static bool device_formats(const struct cli_conn *cc, const char *device,
			   const uint32_t *channels, uint32_t n, struct iios_channel *out)
{
	struct iios_client *c = cli_connect("verify", cc);
	const struct iios_device_desc *dev = NULL;
	struct iios_devices *d;
	uint32_t i, j;
	bool ok = true;

	if (!c)
		return false;
	if (iios_devices(c, &d) < 0) {
		fprintf(stderr, "iiostream verify: %s\n", iios_errmsg(c));
		iios_close(c);
		return false;
	}
	/* by id first, then by name, as the server matches (names repeat) */
	for (i = 0; i < d->n_devices && !dev; i++)
		if (strcmp(d->devices[i].id, device) == 0)
			dev = &d->devices[i];
	for (i = 0; i < d->n_devices && !dev; i++)
		if (strcmp(d->devices[i].name, device) == 0)
			dev = &d->devices[i];
	if (!dev) {
		fprintf(stderr, "iiostream verify: the server has no device '%s' (iiostream info "
			"lists them)\n", device);
		ok = false;
	}
	for (i = 0; ok && i < n; i++) {
		const struct iios_channel_desc *cd = NULL;

		for (j = 0; j < dev->n_channels && !cd; j++)
			if (dev->channels[j].scan_element && !dev->channels[j].output &&
			    dev->channels[j].index == (int32_t)channels[i])
				cd = &dev->channels[j];
		if (!cd) {
			fprintf(stderr, "iiostream verify: %s has no input scan element %u\n",
				device, channels[i]);
			ok = false;
			break;
		}
		memset(&out[i], 0, sizeof(out[i]));
		out[i].index = channels[i];
		snprintf(out[i].id, sizeof(out[i].id), "%s", cd->id);
		out[i].is_signed = cd->is_signed;
		out[i].bits = cd->bits;
		out[i].storage_bits = cd->storage_bits;
		out[i].shift = cd->shift;
		out[i].big_endian = cd->big_endian;
		out[i].repeat = cd->repeat;
		out[i].fully_defined = cd->fully_defined;
		out[i].timestamp = cd->timestamp;
	}
	iios_devices_free(d);
	iios_close(c);
	return ok;
}

int cmd_verify(int argc, char **argv)
{
	enum { O_CHANNELS = 256, O_JSON, O_DEVICE, O_HELP };
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{ "device", required_argument, NULL, O_DEVICE },
		{ "channels", required_argument, NULL, O_CHANNELS },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t channels[IIOS_MAX_CHANNELS], n = 0;
	static struct iios_channel typed[IIOS_MAX_CHANNELS];
	struct iios_scan_check chk;
	struct cli_conn cc;
	const char *device = NULL;
	bool json = false;
	uint8_t *data;
	size_t len;
	int c, err;

	cli_conn_init(&cc, "iiostream verify");
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (cli_conn_option(&cc, c, optarg))
			continue;
		switch (c) {
		case O_DEVICE:
			device = optarg;
			break;
		case O_CHANNELS:
			if (!cli_parse_channels("verify", optarg, channels, &n))
				return CLI_USAGE;
			break;
		case O_JSON:
			json = true;
			break;
		case O_HELP:
			usage(stdout);
			return CLI_OK;
		default:
			return cli_option_error("verify", c, argv);
		}
	}
	if (optind != argc - 1 || n == 0) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (device && !device_formats(&cc, device, channels, n, typed))
		return CLI_FAILED;
	data = read_file(argv[optind], &len);
	if (!data) {
		fprintf(stderr, "iiostream verify: %s: %s\n", argv[optind], strerror(errno));
		return CLI_FAILED;
	}
	err = device ? iios_verify_scans_typed(&chk, data, len, typed, n)
		     : iios_verify_scans(&chk, data, len, channels, n);
	free(data);
	if (err == -EINVAL || err == -ENOENT) {
		fprintf(stderr, "iiostream verify: %s: %s\n", argv[optind],
			err == -EINVAL ? "not whole scans of those channels, or channels not "
					 "ascending"
				       : "no pattern data of those channels at its start");
		return CLI_FAILED;
	}
	if (json)
		printf("{\"scans\":%" PRIu64 ",\"first_scan\":%" PRIu64
		       ",\"start_determined\":%s,\"gaps\":%" PRIu64 ",\"gaps_unsized\":%" PRIu64
		       ",\"scans_missing\":%" PRIu64 ",\"errors\":%" PRIu64 "}\n",
		       chk.scans, chk.first_scan, chk.start_determined ? "true" : "false", chk.gaps,
		       chk.gaps_unsized, chk.scans_missing, chk.errors);
	else
		printf("%" PRIu64 " scans from index %" PRIu64 "%s: %" PRIu64 " gaps (%" PRIu64
		       " scans missing%s), %" PRIu64 " errors%s%s\n",
		       chk.scans, chk.first_scan,
		       chk.start_determined ? "" : " (not determined: no multiple of 65536 in it)",
		       chk.gaps, chk.scans_missing, chk.gaps_unsized ? ", some unsized" : "",
		       chk.errors, chk.errors ? ": " : "", chk.first_error);
	return err ? CLI_INTEGRITY : CLI_OK;
}
