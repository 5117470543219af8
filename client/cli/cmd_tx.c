// SPDX-License-Identifier: MIT
/*
 * `iiostream tx`: transmit to an output device (a DAC): blocks from a file
 * or stdin, or the simulated pattern (--pattern: scan 0 first, in the
 * device's formats, so a loopback ADC verifies it: rx --verify-loopback),
 * or one block in a loop (--cyclic). The server's credits pace the sending;
 * every underflow it reports is printed when it comes; progress on stderr
 * once a second, a summary at the end (with --json: one JSON object on
 * stdout). Exit 0, 1 (an error), 2 (usage), or 4 (with --fail-on-underflow:
 * the device underflowed; else underflows are reported, as rx reports
 * losses, and are no failure).
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

/* What the input holds (--format). */
enum tx_format {
	TX_RAW,      /* the device's scans as they are (rx --output writes them) */
	TX_S16,      /* one int16 (host order) per channel per scan, full scale */
	TX_F32,      /* one float per channel per scan, -1.0 .. 1.0 full scale */
};

struct tx_opts {
	struct cli_conn conn;
	const char *device;     /* NULL: the server's first output device */
	const char *input;      /* FILE, "-" (stdin), or NULL with --pattern */
	bool pattern;
	bool cyclic;
	enum tx_format format;
	uint64_t blocks;        /* limits; 0: none */
	uint64_t bytes;
	double duration;
	uint32_t block_size;    /* 0: the server's */
	uint32_t prefill;
	bool keep;
	bool drain;
	bool loopback;          /* set the device's "loopback" attribute to 1 first */
	double replace_after;   /* --cyclic: replace the block after this many s */
	const char *replace;    /* by this file's (the argument after the options) */
	int timeout_ms;
	bool json;
	bool quiet;
	bool fail_on_underflow; /* exit 4 after underflows */
};

#define MAX_POSITIONS 64    /* underflow positions kept for the summary */

struct tx_run {
	const char *end;        /* "completed", "interrupted", "server_shutdown", "error" */
	struct iios_tx_info info;
	struct iios_tx_status st;
	uint32_t block;         /* bytes per block sent */
	uint64_t next_scan;     /* --pattern: the next scan's index */
	double t0, t_last_send, next_progress;
	uint64_t underflows_seen;
	uint64_t positions[MAX_POSITIONS];
	uint32_t n_positions;
	uint8_t *buf;           /* one block */
	uint8_t *in;            /* --format s16/f32: the input of one block */
	FILE *fin;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: iiostream tx (--input FILE|- | --pattern) [options]\n"
		CLI_CONN_USAGE
		"  --device NAME    the output device, by name or id (default: the server's\n"
		"                   first; `iiostream info` lists them)\n"
		"  --input FILE     send FILE's scans ('-': stdin), block after block\n"
		"  --pattern        send the simulated pattern from scan 0 in the device's\n"
		"                   formats (a loopback ADC verifies it: rx --verify-loopback)\n"
		"  --format F       what --input holds: raw (default: the device's scans as\n"
		"                   they are), s16 (an int16 per channel per scan, full\n"
		"                   scale) or f32 (a float per channel, -1.0..1.0)\n"
		"  --cyclic         send one block (the whole input, or --block-size bytes of\n"
		"                   the pattern) that the device plays in a loop, until\n"
		"                   --duration or Ctrl-C\n"
		"  --blocks N       stop after N blocks\n"
		"  --bytes N        stop after N bytes (whole scans)\n"
		"  --duration S     stop after S seconds (decimals allowed)\n"
		"  --block-size N   bytes per block (whole scans; default and at most the\n"
		"                   server's)\n"
		"  --prefill N      blocks queued before the device starts (default: the\n"
		"                   server's, half its ring)\n"
		"  --replace-after S FILE2  --cyclic: after S seconds send FILE2 as the block\n"
		"                   to loop, which replaces the first at the end of a\n"
		"                   repetition (no gap, no glitch)\n"
		"  --keep           leave a cyclic block playing after we exit (else the\n"
		"                   device stops when we leave)\n"
		"  --drain          at the end the device plays what is queued, then stops\n"
		"                   (the default; Ctrl-C never drains)\n"
		"  --no-drain       at the end stop at once, dropping what is queued\n"
		"  --loopback       set the device's attribute \"loopback\" to 1 first (the sim\n"
		"                   DAC: what it plays is what its ADC captures)\n"
		"  --timeout MS     give up when the server says nothing for MS ms (default\n"
		"                   5000, or longer while a block takes longer to play)\n"
		"  --json           print the summary as one JSON object on stdout\n"
		"  --quiet          no progress lines (underflows are always printed)\n"
		"  --fail-on-underflow  exit 4 when the device underflowed (else underflows\n"
		"                   are printed and counted in the summary, and exit 0)\n"
		"Throughput is in MB/s of payload sent, MB = 10^6 bytes, from the start to\n"
		"the last block.\n");
}

static bool parse_u64(const char *cmd, const char *opt, const char *arg, uint64_t max,
		      uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end || errno || v == 0 || v > max) {
		fprintf(stderr, "iiostream %s: %s: '%s' is not a positive number up to %" PRIu64
			"\n", cmd, opt, arg, max);
		return false;
	}
	*out = v;
	return true;
}

static int check_opts(const struct tx_opts *o)
{
	if (!o->pattern == !o->input) {
		fprintf(stderr, "iiostream tx: give --input FILE or --pattern (one of them)\n");
		return CLI_USAGE;
	}
	if (o->pattern && o->format != TX_RAW) {
		fprintf(stderr, "iiostream tx: --format is what --input holds, not --pattern\n");
		return CLI_USAGE;
	}
	if (o->keep && !o->cyclic) {
		fprintf(stderr, "iiostream tx: --keep keeps a --cyclic block playing\n");
		return CLI_USAGE;
	}
	if (o->replace_after > 0 && (!o->cyclic || !o->replace)) {
		fprintf(stderr, "iiostream tx: --replace-after S FILE2 replaces a --cyclic "
			"block by FILE2's\n");
		return CLI_USAGE;
	}
	if (o->cyclic && (o->blocks || o->bytes)) {
		fprintf(stderr, "iiostream tx: --cyclic sends one block: --duration limits it\n");
		return CLI_USAGE;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct tx_opts *o)
{
	enum { O_DEVICE = 256, O_INPUT, O_PATTERN, O_FORMAT, O_CYCLIC, O_BLOCKS, O_BYTES,
	       O_DURATION, O_BLOCK_SIZE, O_PREFILL, O_KEEP, O_NO_DRAIN, O_DRAIN, O_LOOPBACK, O_TIMEOUT,
	       O_JSON, O_QUIET, O_REPLACE_AFTER, O_FAIL_ON_UNDERFLOW, O_HELP };
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{ "device", required_argument, NULL, O_DEVICE },
		{ "input", required_argument, NULL, O_INPUT },
		{ "pattern", no_argument, NULL, O_PATTERN },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "cyclic", no_argument, NULL, O_CYCLIC },
		{ "blocks", required_argument, NULL, O_BLOCKS },
		{ "bytes", required_argument, NULL, O_BYTES },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "block-size", required_argument, NULL, O_BLOCK_SIZE },
		{ "prefill", required_argument, NULL, O_PREFILL },
		{ "keep", no_argument, NULL, O_KEEP },
		{ "no-drain", no_argument, NULL, O_NO_DRAIN },
		{ "drain", no_argument, NULL, O_DRAIN },
		{ "loopback", no_argument, NULL, O_LOOPBACK },
		{ "replace-after", required_argument, NULL, O_REPLACE_AFTER },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "json", no_argument, NULL, O_JSON },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "fail-on-underflow", no_argument, NULL, O_FAIL_ON_UNDERFLOW },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	char *end;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		const char *opt = argv[optind - 1];

		if (cli_conn_option(&o->conn, c, optarg))
			continue;
		switch (c) {
		case O_DEVICE:
			o->device = optarg;
			break;
		case O_INPUT:
			o->input = optarg;
			break;
		case O_PATTERN:
			o->pattern = true;
			break;
		case O_FORMAT:
			if (strcmp(optarg, "raw") == 0) {
				o->format = TX_RAW;
			} else if (strcmp(optarg, "s16") == 0) {
				o->format = TX_S16;
			} else if (strcmp(optarg, "f32") == 0) {
				o->format = TX_F32;
			} else {
				fprintf(stderr, "iiostream tx: --format: '%s' is not raw, s16 or f32\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case O_CYCLIC:
			o->cyclic = true;
			break;
		case O_BLOCKS:
			if (!parse_u64("tx", opt, optarg, UINT64_MAX, &o->blocks))
				return CLI_USAGE;
			break;
		case O_BYTES:
			if (!parse_u64("tx", opt, optarg, UINT64_MAX, &o->bytes))
				return CLI_USAGE;
			break;
		case O_BLOCK_SIZE:
			if (!parse_u64("tx", opt, optarg, 64u << 20, &v))
				return CLI_USAGE;
			o->block_size = (uint32_t)v;
			break;
		case O_PREFILL:
		case O_TIMEOUT:
			if (!parse_u64("tx", opt, optarg, 1000000, &v))
				return CLI_USAGE;
			if (c == O_PREFILL)
				o->prefill = (uint32_t)v;
			else
				o->timeout_ms = (int)v;
			break;
		case O_DURATION:
		case O_REPLACE_AFTER: {
			double d = strtod(optarg, &end);

			if (*end || end == optarg || !(d > 0) || d > 1e7) {
				fprintf(stderr, "iiostream tx: %s: '%s' is not a positive number\n",
					opt, optarg);
				return CLI_USAGE;
			}
			if (c == O_DURATION)
				o->duration = d;
			else
				o->replace_after = d;
			break;
		}
		case O_KEEP:
			o->keep = true;
			break;
		case O_NO_DRAIN:
			o->drain = false;
			break;
		case O_DRAIN:
			o->drain = true;
			break;
		case O_LOOPBACK:
			o->loopback = true;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_QUIET:
			o->quiet = true;
			break;
		case O_FAIL_ON_UNDERFLOW:
			o->fail_on_underflow = true;
			break;
		case O_HELP:
			usage(stdout);
			return -1;
		default:
			return cli_option_error("tx", c, argv);
		}
	}
	if (o->replace_after > 0 && optind < argc)
		o->replace = argv[optind++];
	if (optind < argc)
		return cli_extra_argument("tx", argv[optind]);
	return check_opts(o);
}

/* ---- the input -------------------------------------------------------- */

/* Bytes of input per scan in the --format. */
static size_t input_scan_bytes(const struct tx_opts *o, const struct iios_tx_info *info)
{
	uint32_t k, values = 0;

	if (o->format == TX_RAW)
		return info->scan_bytes;
	for (k = 0; k < info->n_channels; k++)
		values += info->channels[k].repeat > 1 ? info->channels[k].repeat : 1;
	return values * (o->format == TX_S16 ? sizeof(int16_t) : sizeof(float));
}

/* Store v (a full-scale 16-bit value, scaled to the channel's bits) in its
 * format. */
static void put_value(uint8_t *p, const struct iios_channel *ch, int32_t v16)
{
	uint32_t bits = ch->bits ? ch->bits : 16, storage = ch->storage_bits ? ch->storage_bits : 16;
	uint64_t w, v = (uint64_t)(int64_t)v16;
	uint32_t b, n = storage / 8;

	if (bits < 16)
		v = (uint64_t)((int64_t)v16 >> (16 - bits));
	else if (bits > 16)
		v = (uint64_t)(int64_t)v16 << (bits - 16);
	if (!ch->is_signed) /* offset binary: mid-scale is 0 */
		v += 1ull << (bits - 1);
	w = (bits < 64 ? v & ((1ull << bits) - 1) : v) << ch->shift;
	for (b = 0; b < n; b++)
		p[ch->big_endian ? n - 1 - b : b] = (uint8_t)(w >> (8 * b));
}

/* The IIO layout's offset of each channel (the core's alignment rules). */
static void layout(const struct iios_tx_info *info, uint32_t *offset)
{
	uint32_t k, end = 0;

	for (k = 0; k < info->n_channels; k++) {
		const struct iios_channel *ch = &info->channels[k];
		uint32_t len = (ch->storage_bits ? ch->storage_bits : 16) / 8 *
			       (ch->repeat > 1 ? ch->repeat : 1);

		offset[k] = len ? (end + len - 1) / len * len : end;
		end = offset[k] + len;
	}
}

/* s16/f32 input (`scans` scans in r->in) as the device's scans in r->buf. */
static void convert(const struct tx_opts *o, struct tx_run *r, size_t scans)
{
	const struct iios_tx_info *info = &r->info;
	uint32_t offset[IIOS_MAX_CHANNELS];
	size_t i, x = 0;

	layout(info, offset);
	memset(r->buf, 0, scans * info->scan_bytes);
	for (i = 0; i < scans; i++) {
		uint8_t *scan = r->buf + i * info->scan_bytes;

		for (uint32_t k = 0; k < info->n_channels; k++) {
			const struct iios_channel *ch = &info->channels[k];
			uint32_t rep = ch->repeat > 1 ? ch->repeat : 1;
			uint32_t sb = ch->storage_bits ? ch->storage_bits / 8 : 2;

			for (uint32_t j = 0; j < rep; j++, x++) {
				int32_t v;

				if (o->format == TX_S16) {
					int16_t s;

					memcpy(&s, r->in + x * sizeof(s), sizeof(s));
					v = s;
				} else {
					float f;

					memcpy(&f, r->in + x * sizeof(f), sizeof(f));
					f = f > 1.0f ? 1.0f : f < -1.0f ? -1.0f : f;
					v = (int32_t)(f * 32767.0f + (f < 0 ? -0.5f : 0.5f));
				}
				if (!ch->timestamp)
					put_value(scan + offset[k] + j * sb, ch, v);
			}
		}
	}
}

/* Up to `want` bytes of whole scans of the next block into r->buf: from
 * the pattern, or the input (converted). 0 at the end of the input. */
static size_t next_block(const struct tx_opts *o, struct tx_run *r, size_t want)
{
	size_t sb = r->info.scan_bytes, isb, got;

	if (o->pattern) {
		uint32_t scans = (uint32_t)(want / sb);

		if (iios_pattern_scans(r->buf, want, r->next_scan, scans, r->info.channels,
				       r->info.n_channels) < 0)
			return 0;
		r->next_scan += scans;
		return (size_t)scans * sb;
	}
	isb = input_scan_bytes(o, &r->info);
	if (!isb) /* (start() refused a device without channels) */
		return 0;
	got = fread(o->format == TX_RAW ? r->buf : r->in, 1, want / sb * isb, r->fin);
	if (got % isb)
		fprintf(stderr, "iiostream tx: %s: %zu bytes at the end are not a whole scan "
			"(%zu bytes): left out\n", o->input, got % isb, isb);
	if (o->format != TX_RAW)
		convert(o, r, got / isb);
	return got / isb * sb;
}

/* ---- status, progress, summary ----------------------------------------- */

/* Say every underflow the server reported since we last looked. */
static void note_underflows(struct tx_run *r)
{
	const struct iios_tx_status *st = &r->st;

	if (st->underflows == r->underflows_seen)
		return;
	if (r->n_positions < MAX_POSITIONS)
		r->positions[r->n_positions++] = st->underflow_position;
	fprintf(stderr, "tx: UNDERFLOW: %" PRIu64 " new (%" PRIu64 " in all, %" PRIu64
		" scans of silence), the last before scan %" PRIu64 "\n",
		st->underflows - r->underflows_seen, st->underflows, st->underflow_samples,
		st->underflow_position);
	r->underflows_seen = st->underflows;
}

static void progress(const struct tx_opts *o, struct tx_run *r)
{
	double t = cli_now_s();

	note_underflows(r);
	if (o->quiet || t < r->next_progress)
		return;
	fprintf(stderr, "tx: %5.1f s %8" PRIu64 " blocks %8.1f MB/s  credits %u free  played %"
		PRIu64 " blocks, %u queued  underflows %" PRIu64 "\n", t - r->t0,
		r->st.blocks_sent, (double)r->st.bytes_sent / 1e6 / (t - r->t0), r->st.credits_free,
		r->st.blocks_played, r->st.blocks_queued, r->st.underflows);
	while (r->next_progress <= t)
		r->next_progress += 1;
}

static void print_summary(const struct tx_opts *o, const struct tx_run *r)
{
	const struct iios_tx_status *st = &r->st;
	double secs = r->t_last_send > r->t0 ? r->t_last_send - r->t0 : 0;
	double mbps = secs > 0 ? (double)st->bytes_sent / 1e6 / secs : 0;
	uint32_t i;

	if (o->json) {
		printf("{\"end\":\"%s\",\"device\":\"%s\",\"seconds\":%.3f,\"blocks\":%" PRIu64
		       ",\"bytes\":%" PRIu64 ",\"mbytes_per_s\":%.2f,\"blocks_played\":%" PRIu64
		       ",\"samples_played\":%" PRIu64 ",\"cyclic\":%s,\"kept\":%s,\"underflows\":%"
		       PRIu64 ",\"underflow_samples\":%" PRIu64 ",\"underflow_positions\":[",
		       r->end, r->info.device, secs, st->blocks_sent, st->bytes_sent, mbps,
		       st->blocks_played, st->samples_played, o->cyclic ? "true" : "false",
		       o->keep && strcmp(r->end, "error") ? "true" : "false", st->underflows,
		       st->underflow_samples);
		for (i = 0; i < r->n_positions; i++)
			printf("%s%" PRIu64, i ? "," : "", r->positions[i]);
		printf("]}\n");
		return;
	}
	printf("tx %s after %.2f s: %" PRIu64 " blocks, %" PRIu64 " bytes, %.1f MB/s; played %"
	       PRIu64 " blocks, %" PRIu64 " scans%s\n", r->end, secs, st->blocks_sent,
	       st->bytes_sent, mbps, st->blocks_played, st->samples_played,
	       o->keep && strcmp(r->end, "error") ? " (still playing: --keep)" : "");
	printf("   underflows: %" PRIu64, st->underflows);
	if (st->underflows) {
		printf(" (%" PRIu64 " scans of silence; before scan", st->underflow_samples);
		for (i = 0; i < r->n_positions; i++)
			printf("%s %" PRIu64, i ? "," : "", r->positions[i]);
		printf(")");
	}
	printf("\n");
}

/* ---- sending ------------------------------------------------------------ */

/* How long one block takes to play, in s (0: unpaced). */
static double block_seconds(const struct tx_run *r)
{
	if (!r->info.sample_rate)
		return 0;
	return (double)r->block / r->info.scan_bytes / (double)r->info.sample_rate;
}

/* A call that timed out may go on while the device takes longer than the
 * timeout to play what it holds (a slow rate): three blocks' time. */
static bool worth_waiting(const struct tx_run *r, double since, int timeout_ms)
{
	return cli_now_s() - since < 3 * block_seconds(r) + (timeout_ms ? timeout_ms : 5000) / 1e3;
}

static int send_block(struct iios_client *c, const struct tx_opts *o, struct tx_run *r,
		      size_t len, uint32_t flags)
{
	double since = cli_now_s();
	int err;

	for (;;) {
		err = iios_tx_send(c, r->buf, len, flags);
		if (err != -ETIMEDOUT || cli_interrupted || !worth_waiting(r, since, o->timeout_ms))
			break;
	}
	iios_tx_status(c, &r->st); /* (what send took: no new read) */
	if (err)
		return err;
	r->t_last_send = cli_now_s();
	progress(o, r);
	return 0;
}

static bool limit_reached(const struct tx_opts *o, const struct tx_run *r)
{
	if (o->duration > 0 && cli_now_s() - r->t0 >= o->duration)
		return true;
	return (o->blocks && r->st.blocks_sent >= o->blocks) ||
	       (o->bytes && r->st.bytes_sent >= o->bytes);
}

/* Block after block until the input ends or a limit. 0, or an error. */
static int stream_blocks(struct iios_client *c, const struct tx_opts *o, struct tx_run *r)
{
	while (!cli_interrupted && !limit_reached(o, r)) {
		size_t want = r->block, len;
		int err;

		if (o->bytes && o->bytes - r->st.bytes_sent < want)
			want = (size_t)(o->bytes - r->st.bytes_sent) / r->info.scan_bytes *
			       r->info.scan_bytes;
		if (!want)
			break;
		len = next_block(o, r, want);
		if (!len) {
			if (r->fin && ferror(r->fin)) {
				fprintf(stderr, "iiostream tx: %s: %s\n", o->input, strerror(errno));
				return -EIO;
			}
			break;
		}
		err = send_block(c, o, r, len, 0);
		if (err)
			return err;
	}
	return 0;
}

/* --replace-after: FILE2's scans as the block to loop from the end of the
 * current repetition on. 0, or an error. */
static int replace_block(struct iios_client *c, struct tx_opts *o, struct tx_run *r)
{
	FILE *first = r->fin;
	const char *name = o->input;
	size_t len;
	int err;

	r->fin = fopen(o->replace, "rb");
	if (!r->fin) {
		fprintf(stderr, "iiostream tx: %s: %s\n", o->replace, strerror(errno));
		r->fin = first;
		return -EIO;
	}
	o->input = o->replace;
	o->pattern = false; /* (FILE2 replaces a pattern block too) */
	len = next_block(o, r, r->block);
	err = !len ? -EINVAL : fgetc(r->fin) != EOF ? -EMSGSIZE : 0;
	if (err)
		fprintf(stderr, "iiostream tx: %s: %s\n", o->replace,
			err == -EINVAL ? "no whole scan to play" : "more than one block");
	else
		err = send_block(c, o, r, len, IIOS_TX_CYCLIC);
	if (!err && !o->quiet)
		fprintf(stderr, "tx: %.1f s: %s replaces %s at the end of a repetition\n",
			cli_now_s() - r->t0, o->replace, name);
	fclose(r->fin);
	r->fin = first;
	o->input = name;
	return err;
}

/* One block in a loop until --duration or Ctrl-C. 0, or an error. */
static int play_cyclic(struct iios_client *c, struct tx_opts *o, struct tx_run *r)
{
	size_t len = next_block(o, r, r->block);
	int err;

	if (!len) {
		fprintf(stderr, "iiostream tx: %s: no whole scan to play\n", o->input);
		return -EINVAL;
	}
	if (r->fin && fgetc(r->fin) != EOF) {
		fprintf(stderr, "iiostream tx: %s: a cyclic block is one block: more than %u "
			"bytes (--block-size)\n", o->input, r->block);
		return -EMSGSIZE;
	}
	err = send_block(c, o, r, len, IIOS_TX_CYCLIC);
	while (!err && !cli_interrupted && !(o->duration > 0 && cli_now_s() - r->t0 >= o->duration) &&
	       !(o->keep && o->duration <= 0 && !o->replace)) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (o->replace && cli_now_s() - r->t0 >= o->replace_after) {
			err = replace_block(c, o, r);
			o->replace = NULL; /* (once) */
			continue;
		}
		nanosleep(&ts, NULL);
		err = iios_tx_status(c, &r->st);
		progress(o, r);
	}
	return err;
}

/* End the transmission: drain at the end of the input, stop at once when
 * interrupted (or asked); --keep leaves it playing (we just leave). */
static int finish(struct iios_client *c, const struct tx_opts *o, struct tx_run *r)
{
	double since = cli_now_s();
	/* (a looping block has no end to drain to: the server stops it) */
	bool drain = o->drain && !cli_interrupted && !o->cyclic;
	int err;

	if (o->keep) {
		iios_tx_status(c, &r->st);
		return 0;
	}
	do
		err = iios_tx_stop(c, drain, &r->st);
	while (err == -ETIMEDOUT && !cli_interrupted &&
	       cli_now_s() - since < (double)r->st.blocks_queued * block_seconds(r) + 5.0 +
					 (o->timeout_ms ? o->timeout_ms : 5000) / 1e3);
	if (err)
		iios_tx_status(c, &r->st);
	return err;
}

static int start(struct iios_client *c, const struct tx_opts *o, struct tx_run *r)
{
	struct iios_tx_options topts = { .prefill_blocks = o->prefill, .keep_playing = o->keep };

	if (o->loopback) {
		struct iios_attr_ref ref = { .device = o->device, .attr = "loopback" };
		char v[64];

		if (iios_attr_set(c, &ref, "1", v, sizeof(v)) < 0) {
			fprintf(stderr, "iiostream tx: --loopback: %s\n", iios_errmsg(c));
			return -1;
		}
	}
	if (iios_tx_start(c, o->device, &topts, &r->info) < 0) {
		fprintf(stderr, "iiostream tx: %s%s: %s\n", o->device ? "start on " : "start",
			o->device ? o->device : "", iios_errmsg(c));
		return -1;
	}
	r->block = o->block_size ? o->block_size : r->info.block_size;
	if (r->block > r->info.block_size || r->block % r->info.scan_bytes) {
		fprintf(stderr, "iiostream tx: --block-size %u: %s takes whole %u-byte scans up "
			"to %u bytes\n", r->block, r->info.device, r->info.scan_bytes,
			r->info.block_size);
		return -1;
	}
	if (o->pattern && iios_pattern_scans(NULL, 0, 0, 0, r->info.channels,
					     r->info.n_channels) < 0) {
		fprintf(stderr, "iiostream tx: --pattern: %s's channels have no pattern (no "
			"channel, or formats that are no IIO types)\n", r->info.device);
		return -1;
	}
	if (o->format != TX_RAW && !input_scan_bytes(o, &r->info)) {
		fprintf(stderr, "iiostream tx: --format: %s describes no channel to convert to\n",
			r->info.device);
		return -1;
	}
	r->buf = malloc(r->block);
	r->in = o->format == TX_RAW ? NULL
				    : malloc(r->block / r->info.scan_bytes *
					     input_scan_bytes(o, &r->info));
	if (!r->buf || (o->format != TX_RAW && !r->in)) {
		fprintf(stderr, "iiostream tx: out of memory\n");
		return -1;
	}
	if (!o->quiet)
		fprintf(stderr, "tx: %s (stream %u): %u channels, %" PRIu64 " scans/s, blocks of "
			"%u bytes (%u in its ring)%s\n", r->info.device, r->info.stream_id,
			r->info.n_channels, r->info.sample_rate, r->block, r->info.block_count,
			o->cyclic ? ", cyclic" : "");
	return 0;
}

static int transmit(struct iios_client *c, struct tx_opts *o, struct tx_run *r)
{
	int err;

	if (start(c, o, r) < 0)
		return CLI_FAILED;
	r->t0 = cli_now_s();
	r->next_progress = r->t0 + 1;
	err = o->cyclic ? play_cyclic(c, o, r) : stream_blocks(c, o, r);
	if (!err)
		err = finish(c, o, r);
	note_underflows(r);
	if (err) {
		r->end = err == -ESHUTDOWN ? "server_shutdown" : "error";
		if (err != -EIO && err != -EINVAL && err != -EMSGSIZE)
			fprintf(stderr, "iiostream tx: %s\n", iios_errmsg(c));
		return CLI_FAILED;
	}
	r->end = cli_interrupted ? "interrupted" : "completed";
	return r->st.underflows && o->fail_on_underflow ? CLI_UNDERFLOW : CLI_OK;
}

int cmd_tx(int argc, char **argv)
{
	struct tx_opts o = { .drain = true };
	struct tx_run r = { .end = "error" };
	struct iios_client *c;
	int rc;

	cli_conn_init(&o.conn, "iiostream tx");
	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc < 0 ? CLI_OK : rc;
	o.conn.opts.timeout_ms = o.timeout_ms;
	if (o.input) {
		r.fin = strcmp(o.input, "-") == 0 ? stdin : fopen(o.input, "rb");
		if (!r.fin) {
			fprintf(stderr, "iiostream tx: %s: %s\n", o.input, strerror(errno));
			return CLI_FAILED;
		}
	}
	cli_catch_interrupt(true);
	c = cli_connect("tx", &o.conn);
	if (!c) {
		rc = CLI_FAILED;
	} else {
		rc = transmit(c, &o, &r);
		iios_close(c);
	}
	if (r.fin && r.fin != stdin)
		fclose(r.fin);
	if (r.info.block_size || o.json) /* (--json: a line for scripts, always) */
		print_summary(&o, &r);
	free(r.buf);
	free(r.in);
	return rc;
}
