// SPDX-License-Identifier: MIT
/*
 * `iiostream rx`: receive blocks, optionally verify every sample and the
 * stream's continuity, optionally write the samples to a file; progress on
 * stderr once a second, a summary at the end (with --json: one JSON object
 * on the last line of stdout).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "iiostream.h"

struct rx_opts {
	struct cli_conn conn;
	double seconds;       /* 0: until --blocks or the stream ends */
	uint64_t blocks;      /* 0: no limit */
	bool verify;
	bool verify_loopback; /* silence, the pattern of tx --pattern, silence */
	const char *output;   /* NULL: discard; "-": stdout */
	uint32_t queue;
	uint32_t channels[IIOS_MAX_CHANNELS]; /* --channels, by scan index */
	uint32_t n_channels;                  /* 0: whatever the server captures */
	/* --device, once per device: name or id; none: the first streamed.
	 * Several: one connection subscribed to each, every stream verified
	 * on its own. */
	const char *devices[IIOS_MAX_STREAMS];
	uint32_t n_devices;
	int timeout_ms;
	bool json;
	bool quiet;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: iiostream rx [options]\n"
		CLI_CONN_USAGE
		"  --seconds N      stop after N seconds (decimals allowed)\n"
		"  --blocks N       stop after N blocks\n"
		"  --verify         check every sample of the simulated pattern and the\n"
		"                   stream's continuity; exit 3 if anything is wrong\n"
		"  --verify-loopback  check a loopback capture of `iiostream tx --pattern`\n"
		"                   (a DAC looped back into this ADC): silence, then the\n"
		"                   pattern from its first scan without a gap, then\n"
		"                   silence; exit 3 on any gap or error, or when the\n"
		"                   pattern never came or began elsewhere (start rx first)\n"
		"  --output FILE    write the raw samples to FILE ('-': stdout)\n"
		"  --device NAME    the streamed device to receive, by name or id (default:\n"
		"                   the server's first; `iiostream info` lists them); again\n"
		"                   for more devices at once on one connection (--blocks\n"
		"                   counts them all; not with --output)\n"
		"  --queue N        blocks the server may queue for us (default: server's)\n"
		"  --channels LIST  receive only these channels: scan indices or ids,\n"
		"                   comma-separated (\"0,2\" or \"voltage0,voltage2\");\n"
		"                   default: all, or what other clients receive\n"
		"  --timeout MS     give up when no block arrives for MS ms (default 5000)\n"
		"  --json           print the summary as one JSON object on stdout\n"
		"  --quiet          no progress lines\n"
		"Throughput is in MB/s of payload, MB = 10^6 bytes, measured from the\n"
		"subscription to the last block.\n");
}

static int parse_opts(int argc, char **argv, struct rx_opts *o)
{
	enum { O_SECONDS = 256, O_BLOCKS, O_VERIFY, O_OUTPUT, O_QUEUE, O_TIMEOUT,
	       O_JSON, O_QUIET, O_CHANNELS, O_DEVICE, O_VERIFY_LOOPBACK, O_HELP };
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{ "seconds", required_argument, NULL, O_SECONDS },
		{ "blocks", required_argument, NULL, O_BLOCKS },
		{ "verify", no_argument, NULL, O_VERIFY },
		{ "verify-loopback", no_argument, NULL, O_VERIFY_LOOPBACK },
		{ "output", required_argument, NULL, O_OUTPUT },
		{ "queue", required_argument, NULL, O_QUEUE },
		{ "channels", required_argument, NULL, O_CHANNELS },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "json", no_argument, NULL, O_JSON },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (cli_conn_option(&o->conn, c, optarg))
			continue;
		switch (c) {
		case O_SECONDS:
			o->seconds = strtod(optarg, &end);
			if (*end || end == optarg || !(o->seconds > 0) || o->seconds > 1e7) {
				fprintf(stderr, "iiostream rx: --seconds: '%s' is not a positive number\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case O_BLOCKS:
		case O_QUEUE:
		case O_TIMEOUT: {
			unsigned long long v;

			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || errno || v == 0 ||
			    (c != O_BLOCKS && v > 1000000)) {
				fprintf(stderr, "iiostream rx: %s: '%s' is not a positive number%s\n",
					argv[optind - 1], optarg, c == O_BLOCKS ? "" : " up to 1000000");
				return CLI_USAGE;
			}
			if (c == O_BLOCKS)
				o->blocks = v;
			else if (c == O_QUEUE)
				o->queue = (uint32_t)v;
			else
				o->timeout_ms = (int)v;
			break;
		}
		case O_CHANNELS:
			if (!cli_parse_channels("rx", optarg, o->channels, &o->n_channels))
				return CLI_USAGE;
			break;
		case O_DEVICE:
			if (o->n_devices == IIOS_MAX_STREAMS) {
				fprintf(stderr, "iiostream rx: --device: at most %u devices\n",
					IIOS_MAX_STREAMS);
				return CLI_USAGE;
			}
			o->devices[o->n_devices++] = optarg;
			break;
		case O_VERIFY:
			o->verify = true;
			break;
		case O_VERIFY_LOOPBACK:
			o->verify_loopback = true;
			break;
		case O_OUTPUT:
			o->output = optarg;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_QUIET:
			o->quiet = true;
			break;
		case O_HELP:
			usage(stdout);
			return -1;
		default:
			return cli_option_error("rx", c, argv);
		}
	}
	if (optind < argc)
		return cli_extra_argument("rx", argv[optind]);
	if (o->n_devices > 1 && o->output) {
		fprintf(stderr, "iiostream rx: --output takes one device's samples, not %u\n",
			o->n_devices);
		return CLI_USAGE;
	}
	if (o->verify && o->verify_loopback) {
		fprintf(stderr, "iiostream rx: --verify checks the ADC's own pattern, "
			"--verify-loopback a DAC's looped back: one of them\n");
		return CLI_USAGE;
	}
	if (o->json && o->output && strcmp(o->output, "-") == 0) {
		fprintf(stderr, "iiostream rx: --json and --output - both want stdout\n");
		return CLI_USAGE;
	}
	return 0;
}

struct rx_result {
	const char *end;       /* "completed", "interrupted", "server_shutdown", "error" */
	double seconds;
	struct iios_counters counters;
	struct iios_verify verify;  /* all the streams': the first error of any */
	/* each subscription's stream and its own verification */
	struct iios_stream_info info[IIOS_MAX_STREAMS];
	struct iios_verify per[IIOS_MAX_STREAMS];
	struct iios_loopback_check lb[IIOS_MAX_STREAMS]; /* --verify-loopback */
	uint32_t n_streams;
	/* delivery latency of each block: received minus dequeued by the
	 * daemon (same host: one clock), in ns */
	uint64_t *latency;
	size_t nlatency, cap_latency;
	bool same_clock;  /* the server's clock is ours: latencies mean something */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void note_latency(struct rx_result *r, const struct iios_block *blk)
{
	uint64_t now = now_ns();

	if (!r->same_clock || !blk->dequeue_ns || blk->dequeue_ns > now)
		return; /* another host's clock, or an older server */
	if (r->nlatency == r->cap_latency) {
		size_t cap = r->cap_latency ? 2 * r->cap_latency : 4096;
		uint64_t *p = realloc(r->latency, cap * sizeof(*p));

		if (!p)
			return;
		r->latency = p;
		r->cap_latency = cap;
	}
	r->latency[r->nlatency++] = now - blk->dequeue_ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of the latencies, in ms (0 without any). */
static double latency_ms(const struct rx_result *r, double q)
{
	size_t i;

	if (!r->nlatency)
		return 0;
	i = (size_t)(q * (double)(r->nlatency - 1) + 0.5);
	return (double)r->latency[i] / 1e6;
}

/* The loopback check of stream i in words. */
static void print_loopback(FILE *out, const struct rx_result *r, uint32_t i)
{
	const struct iios_loopback_check *lc = &r->lb[i];

	fprintf(out, "   loopback%s%s: %s: %" PRIu64 " scans: %" PRIu64 " silent, ",
		r->n_streams > 1 ? " " : "", r->n_streams > 1 ? r->info[i].device : "",
		iios_loopback_ok(lc) ? "verified" : "FAILED", lc->scans, lc->silent_before);
	if (lc->started)
		fprintf(out, "the pattern from scan %" PRIu64 "%s: %" PRIu64 " in order, then %"
			PRIu64 " silent", lc->first_index,
			!lc->silent_before ? " (no silence before it: the ADC's own pattern? is "
			"the DAC's loopback on? or the capture began after the transmission)"
			: lc->first_index ? " (not 0: the capture missed the transmission's start)"
			: "", lc->matched, lc->silent_after);
	else
		fprintf(out, "the pattern never came");
	fprintf(out, "; %" PRIu64 " gaps, %" PRIu64 " errors%s%s\n", lc->gaps, lc->errors,
		lc->first_error[0] ? ": " : "", lc->first_error);
}

static void print_loopback_json(const struct rx_result *r)
{
	printf("\"loopback\":[");
	for (uint32_t i = 0; i < r->n_streams; i++) {
		const struct iios_loopback_check *lc = &r->lb[i];

		printf("%s{\"device\":\"%s\",\"verified\":%s,\"scans\":%" PRIu64
		       ",\"silent_before\":%" PRIu64 ",\"started\":%s,\"first_index\":%" PRIu64
		       ",\"matched\":%" PRIu64 ",\"silent_after\":%" PRIu64 ",\"gaps\":%" PRIu64
		       ",\"errors\":%" PRIu64 ",\"first_error\":\"", i ? "," : "",
		       r->info[i].device, iios_loopback_ok(lc) ? "true" : "false", lc->scans,
		       lc->silent_before, lc->started ? "true" : "false", lc->first_index,
		       lc->matched, lc->silent_after, lc->gaps, lc->errors);
		for (const char *p = lc->first_error; *p; p++) /* (no JSON escapes needed) */
			if (*p != '"' && *p != '\\')
				putchar(*p);
		printf("\"}");
	}
	printf("]");
}

static void print_summary(const struct rx_opts *o, const struct rx_result *r)
{
	const struct iios_counters *k = &r->counters;
	double mbps = r->seconds > 0 ? (double)k->bytes / 1e6 / r->seconds : 0;

	if (o->json) {
		printf("{\"end\":\"%s\",\"seconds\":%.3f,\"blocks\":%" PRIu64 ",\"bytes\":%" PRIu64
		       ",\"mbytes_per_s\":%.2f,\"lost_blocks\":%" PRIu64 ",\"lost_samples\":%" PRIu64
		       ",\"overflow_blocks\":%" PRIu64 ",\"verified\":%s,\"integrity_errors\":%" PRIu64
		       ",",
		       r->end, r->seconds, k->blocks, k->bytes, mbps, k->lost_blocks,
		       k->lost_samples, k->overflow_blocks, o->verify ? "true" : "false",
		       r->verify.integrity_errors);
		if (o->verify_loopback) {
			print_loopback_json(r);
			printf(",");
		}
		if (r->nlatency)
			printf("\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,\"latency_max_ms\":%.3f}\n",
			       latency_ms(r, 0.5), latency_ms(r, 0.99), latency_ms(r, 1.0));
		else /* another host: its clock is not ours */
			printf("\"latency_p50_ms\":null,\"latency_p99_ms\":null,\"latency_max_ms\":null}\n");
		return;
	}
	fprintf(o->output && strcmp(o->output, "-") == 0 ? stderr : stdout,
		"rx %s after %.2f s: %" PRIu64 " blocks, %" PRIu64 " bytes, %.1f MB/s\n"
		"   lost: %" PRIu64 " blocks, %" PRIu64 " scans (%" PRIu64 " overflow blocks)\n"
		"   integrity: %s\n",
		r->end, r->seconds, k->blocks, k->bytes, mbps,
		k->lost_blocks, k->lost_samples, k->overflow_blocks,
		!o->verify ? "not checked (use --verify)"
		: r->verify.integrity_errors ? r->verify.first_error
		: k->blocks ? "every sample verified" : "nothing received to verify");
	for (uint32_t i = 0; o->verify_loopback && i < r->n_streams; i++)
		print_loopback(o->output && strcmp(o->output, "-") == 0 ? stderr : stdout, r,
			       i);
	for (uint32_t i = 0; r->n_streams > 1 && i < r->n_streams; i++)
		printf("   stream %u %s: %" PRIu64 " blocks, %" PRIu64 " bytes, %" PRIu64
		       " lost blocks, integrity: %s\n", r->info[i].stream_id, r->info[i].device,
		       r->per[i].blocks, r->per[i].bytes, r->per[i].lost_blocks,
		       !o->verify ? "not checked"
		       : r->per[i].integrity_errors ? r->per[i].first_error : "every sample verified");
	if (r->nlatency)
		fprintf(o->output && strcmp(o->output, "-") == 0 ? stderr : stdout,
			"   latency (daemon dequeue to received): p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
			latency_ms(r, 0.5), latency_ms(r, 0.99), latency_ms(r, 1.0));
}

/* Verify a block against its own stream; the first error of any stream
 * is the summary's (named by its device when there are several). */
static void verify_block(struct rx_result *r, const struct iios_block *blk)
{
	uint32_t i;

	for (i = 0; i < r->n_streams && r->info[i].stream_id != blk->stream_id; i++)
		;
	if (i == r->n_streams) /* (the library refuses blocks of other streams) */
		return;
	if (iios_verify_block(&r->per[i], &r->info[i], blk) == 0)
		return;
	if (!r->verify.integrity_errors++) {
		int n = snprintf(r->verify.first_error, sizeof(r->verify.first_error), "%s%s%s",
				 r->n_streams > 1 ? r->info[i].device : "",
				 r->n_streams > 1 ? ": " : "", r->per[i].first_error);

		(void)n; /* a longer one is cut */
	}
}

/* Feed a block to its stream's loopback check; a gap or error is said
 * when it is found, not only at the end. */
static void loopback_block(struct rx_result *r, const struct iios_block *blk)
{
	struct iios_loopback_check *lc;
	const struct iios_stream_info *si;
	uint64_t was;
	uint32_t i;

	for (i = 0; i < r->n_streams && r->info[i].stream_id != blk->stream_id; i++)
		;
	if (i == r->n_streams)
		return;
	lc = &r->lb[i];
	si = &r->info[i];
	was = lc->gaps + lc->errors;
	if (iios_loopback_feed(lc, blk->data, blk->len, blk->lost_samples, si->channels,
			       si->n_channels) == -EINVAL && !lc->errors++)
		snprintf(lc->first_error, sizeof(lc->first_error),
			 "block %" PRIu64 ": not whole scans of the stream's formats", blk->sequence);
	if (!was && lc->gaps + lc->errors)
		fprintf(stderr, "rx: %s: loopback: %s\n", si->device, lc->first_error);
}

static int receive(struct iios_client *c, const struct rx_opts *o, FILE *out,
		   struct rx_result *r)
{
	struct iios_block blk;
	double t0, next_progress;
	int err;

	{
		int64_t offset;
		uint64_t rtt;

		/* latencies only against our own clock (the same host) */
		r->same_clock = iios_clock_offset(c, &offset, &rtt) == 0 &&
				(uint64_t)(offset < 0 ? -offset : offset) <= rtt / 2 + 1000000;
	}
	do {
		const char *dev = o->n_devices ? o->devices[r->n_streams] : NULL;
		struct iios_stream_info *info = &r->info[r->n_streams];

		err = iios_subscribe_device(c, dev, o->queue, o->channels, o->n_channels, info);
		if (err) {
			fprintf(stderr, "iiostream rx: subscribe%s%s: %s\n", dev ? " to " : "",
				dev ? dev : "", iios_errmsg(c));
			return CLI_FAILED;
		}
		iios_loopback_init(&r->lb[r->n_streams]);
		iios_verify_init(&r->per[r->n_streams++]);
		if (!o->quiet)
			fprintf(stderr, "rx: %s (stream %u): %u channels, %" PRIu64
				" scans/s, blocks of %u bytes\n", info->device, info->stream_id,
				info->n_channels, info->sample_rate, info->block_size);
	} while (r->n_streams < o->n_devices);
	t0 = cli_now_s();
	next_progress = t0 + 1;
	r->end = "completed";
	for (;;) {
		double t = cli_now_s();

		if (cli_interrupted) {
			r->end = "interrupted";
			break;
		}
		if ((o->seconds > 0 && t - t0 >= o->seconds) ||
		    (o->blocks && r->verify.blocks >= o->blocks))
			break;
		err = iios_next_block(c, &blk);
		if (err) {
			r->end = err == -ESHUTDOWN ? "server_shutdown" : "error";
			fprintf(stderr, "iiostream rx: %s\n", iios_errmsg(c));
			break;
		}
		note_latency(r, &blk);
		if (o->verify)
			verify_block(r, &blk);
		if (o->verify_loopback)
			loopback_block(r, &blk);
		r->verify.blocks++;
		r->verify.bytes += blk.len;
		if (out && fwrite(blk.data, 1, blk.len, out) != blk.len) {
			fprintf(stderr, "iiostream rx: --output: %s\n", strerror(errno));
			r->end = "error";
			break;
		}
		t = cli_now_s();
		if (!o->quiet && t >= next_progress) {
			iios_counters(c, &r->counters);
			fprintf(stderr, "rx: %5.1f s %8" PRIu64 " blocks %8.1f MB/s  lost %" PRIu64
				" blocks  errors %" PRIu64 "\n", t - t0, r->counters.blocks,
				(double)r->counters.bytes / 1e6 / (t - t0), r->counters.lost_blocks,
				r->verify.integrity_errors);
			next_progress += 1;
		}
	}
	r->seconds = cli_now_s() - t0;
	iios_counters(c, &r->counters);
	if (r->nlatency)
		qsort(r->latency, r->nlatency, sizeof(*r->latency), cmp_u64);
	if (strcmp(r->end, "error") == 0)
		return CLI_FAILED;
	for (uint32_t i = 0; o->verify_loopback && i < r->n_streams; i++)
		if (!iios_loopback_ok(&r->lb[i]))
			return CLI_INTEGRITY;
	return r->verify.integrity_errors ? CLI_INTEGRITY : CLI_OK;
}

int cmd_rx(int argc, char **argv)
{
	struct rx_opts o = { 0 };
	struct rx_result r = { .end = "error" };
	struct iios_client *c;
	FILE *out = NULL;
	int rc;

	cli_conn_init(&o.conn, "iiostream rx");
	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc < 0 ? CLI_OK : rc;
	o.conn.opts.timeout_ms = o.timeout_ms;
	iios_verify_init(&r.verify);
	if (o.output) {
		out = strcmp(o.output, "-") == 0 ? stdout : fopen(o.output, "wb");
		if (!out) {
			fprintf(stderr, "iiostream rx: %s: %s\n", o.output, strerror(errno));
			return CLI_FAILED;
		}
	}
	cli_catch_interrupt(false);
	c = cli_connect("rx", &o.conn);
	if (!c) {
		rc = CLI_FAILED;
	} else {
		rc = receive(c, &o, out, &r);
		iios_close(c);
	}
	if (out && out != stdout && fclose(out) != 0) {
		fprintf(stderr, "iiostream rx: %s: %s\n", o.output, strerror(errno));
		rc = CLI_FAILED;
	}
	print_summary(&o, &r);
	free(r.latency);
	return rc;
}
