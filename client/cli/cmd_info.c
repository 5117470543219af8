// SPDX-License-Identifier: MIT
/* `iiostream info` and `iiostream stats`. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "iiostream.h"

/* Both commands take only --url. */
static int parse_url_only(int argc, char **argv, const char *cmd, const char **url)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*url = CLI_DEFAULT_URL;
	optind = 0;
	while ((c = getopt_long(argc, argv, "u:h", opts, NULL)) != -1) {
		if (c == 'u') {
			*url = optarg;
		} else {
			fprintf(c == 'h' ? stdout : stderr, "usage: iiostream %s [--url URL]\n", cmd);
			return c == 'h' ? -1 : CLI_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "iiostream %s: unexpected argument '%s'\n", cmd, argv[optind]);
		return CLI_USAGE;
	}
	return 0;
}

static struct iios_client *connect_or_say(const char *cmd, const char *url)
{
	struct iios_client *c;
	char err[256];

	if (iios_connect(url, NULL, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "iiostream %s: %s\n", cmd, err);
		return NULL;
	}
	return c;
}

int cmd_info(int argc, char **argv)
{
	const struct iios_server_info *si;
	struct iios_stream_info st;
	struct iios_client *c;
	const char *url;
	uint32_t i;
	int r = parse_url_only(argc, argv, "info", &url);

	if (r)
		return r < 0 ? CLI_OK : r;
	c = connect_or_say("info", url);
	if (!c)
		return CLI_FAILED;
	si = iios_server_info(c);
	printf("server:     %s (protocol %u)\n", si->server_name, si->version);
	printf("source:     %s\n", si->source);
	printf("device:     %s\n", si->device);
	/* Subscribing is how the stream describes itself; leave at once. */
	if (iios_subscribe(c, 1, &st) < 0 || iios_unsubscribe(c) < 0) {
		fprintf(stderr, "iiostream info: %s\n", iios_errmsg(c));
		iios_close(c);
		return CLI_FAILED;
	}
	printf("rate:       %" PRIu64 " scans/s%s\n", st.sample_rate,
	       st.sample_rate ? "" : " (unpaced)");
	printf("blocks:     %u of %u bytes\n", st.block_count, st.block_size);
	printf("scan:       %u bytes, %u channels\n", st.scan_bytes, st.n_channels);
	for (i = 0; i < st.n_channels; i++) {
		const struct iios_channel *ch = &st.channels[i];

		printf("  [%u] %-10s %s%u/%u>>%u %s\n", ch->index, ch->id, ch->is_signed ? "s" : "u",
		       ch->bits, ch->storage_bits, ch->shift, ch->big_endian ? "be" : "le");
	}
	iios_close(c);
	return CLI_OK;
}

int cmd_stats(int argc, char **argv)
{
	static struct iios_stats st;
	struct iios_client *c;
	const char *url;
	uint32_t i;
	int r = parse_url_only(argc, argv, "stats", &url);

	if (r)
		return r < 0 ? CLI_OK : r;
	c = connect_or_say("stats", url);
	if (!c)
		return CLI_FAILED;
	if (iios_stats(c, &st) < 0) {
		fprintf(stderr, "iiostream stats: %s\n", iios_errmsg(c));
		iios_close(c);
		return CLI_FAILED;
	}
	printf("uptime:          %.1f s\n", (double)st.uptime_ns / 1e9);
	printf("source:          %s, %s\n", st.source.name, st.source.enabled ? "capturing" : "idle");
	printf("blocks:          %u total, %u in source, %u held\n", st.source.blocks_total,
	       st.source.blocks_in_source, st.source.blocks_held);
	printf("produced:        %" PRIu64 " blocks, %" PRIu64 " bytes\n",
	       st.source.blocks_produced, st.source.bytes_produced);
	printf("overflows:       %" PRIu64 " (%" PRIu64 " scans lost)\n", st.source.overflows,
	       st.source.lost_samples);
	printf("clients:         %u now, %u subscribed, %" PRIu64 " since start\n", st.clients,
	       st.subscribers, st.clients_total);
	printf("client skips:    %" PRIu64 " blocks\n", st.blocks_skipped_total);
	printf("protocol errors: %" PRIu64 "\n", st.protocol_errors);
	for (i = 0; i < st.n_listed; i++)
		printf("  client %u %s%s: %" PRIu64 " blocks, %" PRIu64 " bytes, %" PRIu64
		       " skipped, %u queued, %s\n", st.client[i].id, st.client[i].peer,
		       st.client[i].subscribed ? " (subscribed)" : "", st.client[i].blocks_sent,
		       st.client[i].bytes_sent, st.client[i].blocks_skipped,
		       st.client[i].queue_blocks, st.client[i].transport);
	iios_close(c);
	return CLI_OK;
}
