// SPDX-License-Identifier: MIT
/* `iiostream info` and `iiostream stats`. */
#include <getopt.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "iiostream.h"

/* Both commands take only the connection options. */
static int parse_conn_only(int argc, char **argv, const char *cmd, struct cli_conn *cc)
{
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	cli_conn_init(cc, "iiostream");
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (cli_conn_option(cc, c, optarg))
			continue;
		if (c != 'h')
			return cli_option_error(cmd, c, argv);
		printf("usage: iiostream %s [options]\n" CLI_CONN_USAGE, cmd);
		return -1;
	}
	if (optind < argc)
		return cli_extra_argument(cmd, argv[optind]);
	return 0;
}

static void print_names(const char *what, char **names, uint32_t n)
{
	uint32_t i;

	if (!n)
		return;
	printf("      %s:", what);
	for (i = 0; i < n; i++)
		printf(" %s", names[i]);
	printf("\n");
}

/* A scan type as IIO writes it: [be|le]:[s|u|S|U]BITS/STORAGE[Xrepeat]>>SHIFT. */
static void print_type(bool big_endian, bool is_signed, bool fully_defined, uint32_t bits,
		       uint32_t storage_bits, uint32_t repeat, uint32_t shift)
{
	char rep[16] = "";

	if (repeat > 1)
		snprintf(rep, sizeof(rep), "X%u", repeat);
	printf("%s:%c%u/%u%s>>%u", big_endian ? "be" : "le",
	       fully_defined ? (is_signed ? 'S' : 'U') : (is_signed ? 's' : 'u'), bits,
	       storage_bits, rep, shift);
}

/* Every device of the server's context, its channels and attributes. */
/* The output stream of device `id`, or NULL. */
static const struct iios_stream_desc *output_of(const struct iios_server_info *si,
						const char *id)
{
	uint32_t i;

	for (i = 0; i < si->n_streams; i++)
		if (si->streams[i].output && strcmp(si->streams[i].id, id) == 0)
			return &si->streams[i];
	return NULL;
}

static int print_devices(struct iios_client *c)
{
	const struct iios_server_info *si = iios_server_info(c);
	struct iios_devices *d;
	uint32_t i, j;

	if (iios_devices(c, &d) < 0)
		return -1;
	printf("devices:    %u (%s context)\n", d->n_devices, d->context);
	for (i = 0; i < d->n_devices; i++) {
		const struct iios_device_desc *dev = &d->devices[i];

		printf("  %s: %s%s%s%s\n", dev->id, dev->name, dev->label[0] ? " (" : "",
		       dev->label, dev->label[0] ? ")" : "");
		if (output_of(si, dev->id))
			printf("      output: transmitted to by this server (stream %u)\n",
			       output_of(si, dev->id)->stream_id);
		else if (dev->streamed)
			printf("      streamed by this server (stream %u)\n", dev->stream_id);
		for (j = 0; j < dev->n_channels; j++) {
			const struct iios_channel_desc *ch = &dev->channels[j];

			printf("    %s %s%s%s", ch->output ? "out" : "in ", ch->id,
			       ch->name[0] ? " " : "", ch->name);
			if (ch->scan_element) {
				printf(" [%d] ", ch->index);
				print_type(ch->big_endian, ch->is_signed, ch->fully_defined,
					   ch->bits, ch->storage_bits, ch->repeat, ch->shift);
			}
			printf("\n");
			print_names("attrs", ch->attrs, ch->n_attrs);
		}
		print_names("device attrs", dev->attrs, dev->n_attrs);
		print_names("buffer attrs", dev->buffer_attrs, dev->n_buffer_attrs);
	}
	iios_devices_free(d);
	return 0;
}

/* Channels of a stream as its subscription describes them. */
static void print_channels(const struct iios_stream_info *st, const char *indent)
{
	uint32_t i;

	for (i = 0; i < st->n_channels; i++) {
		const struct iios_channel *ch = &st->channels[i];

		printf("%s[%u] %-10s ", indent, ch->index, ch->id);
		print_type(ch->big_endian, ch->is_signed, ch->fully_defined, ch->bits,
			   ch->storage_bits, ch->repeat, ch->shift);
		printf("%s\n", ch->timestamp ? " (timestamp)" : "");
	}
}

/* Every streamed device with its stream, and how its scans look now
 * (subscribing is how a stream describes itself: subscribe, leave). */
static int print_streams(struct iios_client *c, const struct iios_server_info *si,
			 bool admitted)
{
	uint32_t i;

	printf("streams:    %u\n", si->n_streams);
	for (i = 0; i < si->n_streams; i++) {
		const struct iios_stream_desc *sd = &si->streams[i];
		struct iios_stream_info st;
		/* by id: two devices may share a name (twin ADCs) */
		const char *name = si->version < 2 ? "" : sd->id[0] ? sd->id : sd->device;
		char of[16];

		/* not admitted (not paired): what the Hello told, no channels */
		if (sd->output || !admitted) { /* (an output: subscribing refuses it) */
			printf("  stream %u: %s%s%s%s (%s): %s, %"
			       PRIu64 " scans/s%s, %u channels, ring %u x %u bytes\n",
			       sd->stream_id, sd->device, sd->id[0] ? " [" : "", sd->id,
			       sd->id[0] ? "]" : "", sd->source,
			       sd->output ? "output (transmit: iiostream tx)" : "input", sd->sample_rate,
			       sd->sample_rate ? "" : " (unpaced)", sd->channels, sd->block_count,
			       sd->block_size);
			continue;
		}
		if (iios_subscribe_device(c, name, 1, NULL, 0, &st) < 0 ||
		    iios_unsubscribe_device(c, name) < 0)
			return -1;
		/* fewer than the device has: what other clients capture */
		snprintf(of, sizeof(of), " of %u", sd->channels);
		printf("  stream %u: %s%s%s%s (%s): input, %" PRIu64 " scans/s%s, %u%s channels, "
		       "ring %u x %u bytes\n", st.stream_id, sd->device, sd->id[0] ? " [" : "",
		       sd->id, sd->id[0] ? "]" : "", sd->source, st.sample_rate,
		       st.sample_rate ? "" : " (unpaced)", st.n_channels,
		       st.n_channels < sd->channels ? of : "", st.block_count, st.block_size);
		print_channels(&st, "      ");
	}
	return 0;
}

int cmd_info(int argc, char **argv)
{
	const struct iios_server_info *si;
	static struct iios_stats stats; /* large */
	struct iios_stream_info st;
	struct iios_client *c;
	struct cli_conn cc;
	int r = parse_conn_only(argc, argv, "info", &cc);

	if (r)
		return r < 0 ? CLI_OK : r;
	c = cli_connect("info", &cc);
	if (!c)
		return CLI_FAILED;
	si = iios_server_info(c);
	printf("server:     %s (protocol %u)\n", si->server_name, si->version);
	if (iios_tls_info(c)) {
		const char *mine = iios_client_fingerprint(c);

		printf("tls:        %s\n", iios_tls_info(c));
		printf("server id:  %s (%s)\n", iios_server_fingerprint(c), iios_server_trust(c));
		printf("our id:     %s\n", mine[0] ? mine : "none presented");
	}
	printf("source:     %s\n", si->source);
	if (iios_stats(c, &stats) == 0 && stats.source_fallback[0])
		printf("            %s\n", stats.source_fallback);
	printf("device:     %s\n", si->device);
	/* Subscribing is how the stream describes itself; leave at once. A
	 * client the board does not admit (not paired) still sees the rest. */
	r = iios_subscribe(c, 1, &st);
	if (r == -EACCES) {
		printf("stream:     not allowed for this client: %s\n", iios_errmsg(c));
	} else if (r < 0 || iios_unsubscribe(c) < 0) {
		fprintf(stderr, "iiostream info: %s\n", iios_errmsg(c));
		iios_close(c);
		return CLI_FAILED;
	} else {
		printf("rate:       %" PRIu64 " scans/s%s\n", st.sample_rate,
		       st.sample_rate ? "" : " (unpaced)");
		printf("blocks:     %u of %u bytes\n", st.block_count, st.block_size);
		printf("scan:       %u bytes, %u channels\n", st.scan_bytes, st.n_channels);
		print_channels(&st, "  ");
	}
	if (print_streams(c, si, r != -EACCES) < 0 || print_devices(c) < 0) {
		fprintf(stderr, "iiostream info: %s\n", iios_errmsg(c));
		iios_close(c);
		return CLI_FAILED;
	}
	iios_close(c);
	return CLI_OK;
}

/* One output device and its transmission. */
static void print_tx_stream(const struct iios_tx_stream_stats *t)
{
	printf("  tx stream %u %s%s%s%s: %" PRIu64 " scans/s, ", t->stream_id, t->device,
	       t->id[0] ? " [" : "", t->id, t->id[0] ? "]" : "", t->sample_rate);
	if (t->kept)
		printf("kept playing (its owner left)");
	else if (t->transmitting && t->owner_peer[0])
		printf("transmitting for %s", t->owner_peer); /* "client 3 (ADDR)" */
	else if (t->transmitting)
		printf("transmitting for client %u", t->owner);
	else
		printf("idle");
	printf(", %u/%u blocks in device (credits in use), %" PRIu64 " received, %" PRIu64
	       " played (%" PRIu64 " bytes), %" PRIu64 " underflows (%" PRIu64 " scans of "
	       "silence)%s, on disconnect: %s\n", t->blocks_in_device, t->blocks_total,
	       t->blocks_received, t->blocks_played, t->bytes_played, t->underflows,
	       t->underflow_samples, t->cyclic ? ", cyclic" : "",
	       t->on_disconnect[0] ? t->on_disconnect : "stop");
}

int cmd_stats(int argc, char **argv)
{
	static struct iios_stats st;
	struct iios_client *c;
	struct cli_conn cc;
	uint32_t i;
	int r = parse_conn_only(argc, argv, "stats", &cc);

	if (r)
		return r < 0 ? CLI_OK : r;
	c = cli_connect("stats", &cc);
	if (!c)
		return CLI_FAILED;
	if (iios_stats(c, &st) < 0) {
		fprintf(stderr, "iiostream stats: %s\n", iios_errmsg(c));
		iios_close(c);
		return CLI_FAILED;
	}
	printf("uptime:          %.1f s\n", (double)st.uptime_ns / 1e9);
	printf("source:          %s, %s\n", st.source.name, st.source.enabled ? "capturing" : "idle");
	if (st.source_fallback[0])
		printf("                 %s\n", st.source_fallback);
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
	if (st.ktls[0]) {
		printf("kernel TLS:      %s\n", st.ktls);
		printf("TLS refused:     %" PRIu64 " handshakes\n", st.tls_handshake_failures);
	}
	if (st.tls_fingerprint[0])
		printf("TLS identity:    %s (%s)\n", st.tls_fingerprint,
		       st.tls_self_made ? "the board's own" : "--tls-cert");
	printf("requests refused: %" PRIu64 "\n", st.requests_refused);
	printf("clients refused: %" PRIu64 " (--max-clients), closed idle: %" PRIu64 "\n",
	       st.clients_refused, st.idle_closed);
	if (st.iiod_clients || st.iiod_command_errors)
		printf("iiod clients:     %u (%" PRIu64 " command lines refused)\n", st.iiod_clients,
		       st.iiod_command_errors);
	for (i = 0; i < st.n_sources; i++) {
		const struct iios_stream_stats *ss = &st.sources[i];

		printf("  stream %u %s (%s, %s): %" PRIu64 " scans/s, %" PRIu64 " blocks produced, "
		       "%u/%u blocks in source, %u held, %" PRIu64 " overflows (%" PRIu64
		       " scans lost), %u subscribers, %" PRIu64 " skipped\n",
		       ss->stream_id, ss->device, ss->source.name,
		       ss->source.enabled ? "capturing" : "idle", ss->sample_rate,
		       ss->source.blocks_produced, ss->source.blocks_in_source,
		       ss->source.blocks_total, ss->source.blocks_held, ss->source.overflows,
		       ss->source.lost_samples, ss->subscribers, ss->blocks_skipped);
	}
	for (i = 0; i < st.n_tx; i++)
		print_tx_stream(&st.tx[i]);
	for (i = 0; i < st.n_listed; i++) {
		const struct iios_client_stats *cs = &st.client[i];
		char streams[96] = "";
		size_t used = 0;
		uint32_t s;

		/* " [stream 0,2]" before " (subscribed)", which scripts grep */
		for (s = 0; s < 64 && used < sizeof(streams); s++)
			if (st.client_streams[i] & (1ull << s))
				used += (size_t)snprintf(streams + used, sizeof(streams) - used,
							 "%s%u", used ? "," : " [stream ", s);
		if (used && used < sizeof(streams))
			snprintf(streams + used, sizeof(streams) - used, "]");
		used = strlen(streams);
		if (cs->tx_stream_id >= 0 && used < sizeof(streams))
			snprintf(streams + used, sizeof(streams) - used, " [tx stream %d]",
				 cs->tx_stream_id);
		printf("  client %u %s%s%s: %" PRIu64 " blocks, %" PRIu64 " bytes, %" PRIu64
		       " skipped, %u queued, %s\n", cs->id, cs->peer, streams,
		       cs->subscribed ? " (subscribed)" : "", cs->blocks_sent, cs->bytes_sent,
		       cs->blocks_skipped, cs->queue_blocks, cs->transport);
		if (cs->tls[0])
			printf("    %s, encrypted in %s%s%s\n", cs->tls, cs->tls_encrypt,
			       cs->identity[0] ? ", certificate " : "", cs->identity);
	}
	iios_close(c);
	return CLI_OK;
}
