// SPDX-License-Identifier: MIT
/*
 * One daemon, several streamed devices (--source three times, protocol
 * version 2): native clients of different devices at once, one connection
 * subscribed to two, a slow client of one device harming no other, the
 * refusals (ENODEV, EALREADY), a version-1 client, per-stream stats, and
 * the CLI's --device. Every block verified; no block leaked at the end.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* Three sims of different shapes: 8, 2 and 8 MB/s in blocks of 64, 64 and
 * 48 KiB (a block every 8, 33 and 6 ms), rings of 16 blocks (96 ms or
 * more). adc3's three channels are 12-bit big-endian samples, with IIO's
 * timestamp channel after them: scans of 16 bytes (6, padding to the
 * timestamp's 8-byte alignment, 8). */
static const char *const three[] = {
	"--source", "sim:name=adc1,channels=4,rate=1M",
	"--source", "sim:name=adc2,channels=2,rate=500K",
	"--source", "sim:name=adc3,channels=3,rate=500K,block-size=48K,format=be:S12/16>>4,"
		    "timestamp=on",
	"--block-size", "64K", "--blocks", "16", NULL,
};

static const struct {
	const char *name;
	uint32_t channels;   /* scan elements: the timestamp too (StreamInfo) */
	uint32_t received;   /* a subscription's, of all of them */
	uint32_t scan_bytes;
	uint64_t rate;
	uint32_t block_size;
} expect[] = { { "adc1", 4, 4, 8, 1000000, 65536 }, { "adc2", 2, 2, 4, 500000, 65536 },
	       { "adc3", 4, 4, 16, 500000, 49152 } };

/* The stream id HelloReply gave `device`. */
static uint32_t stream_id_of(struct iios_client *c, const char *device)
{
	const struct iios_server_info *si = iios_server_info(c);
	uint32_t i;

	for (i = 0; i < si->n_streams; i++)
		if (strcmp(si->streams[i].device, device) == 0)
			return si->streams[i].stream_id;
	cr_assert_fail("the server lists no stream of %s", device);
	return 0;
}

/* The stats of every stream, until each has every block back in its
 * source (nothing held for a client), or HANG_S. */
static void wait_all_blocks_back(const struct daemon *d)
{
	struct iios_stats *st = calloc(1, sizeof(*st));
	double t0 = mono_s();
	uint32_t i, held;

	cr_assert_not_null(st);
	for (;;) {
		daemon_stats(d, st);
		held = 0;
		for (i = 0; i < st->n_sources; i++)
			held += st->sources[i].source.blocks_held +
				(st->sources[i].source.blocks_total -
				 st->sources[i].source.blocks_in_source);
		if (st->n_sources >= 2 && held == 0)
			break;
		cr_assert_lt(mono_s() - t0, HANG_S, "waited %d s for every block back: %u held",
			     HANG_S, held);
		harness_sleep_ms(20);
	}
	free(st);
}

/* A client of one device in a thread: connect, subscribe to `device`,
 * receive and verify want_blocks blocks. */
struct dev_job {
	const struct daemon *d;
	const char *device;
	uint32_t want_blocks;
	int err;
	char errmsg[256];
	struct iios_stream_info info;
	struct iios_verify v;
	struct iios_counters counters;
	uint32_t wrong_stream;       /* blocks of another stream_id */
};

static void *dev_job_run(void *arg)
{
	struct dev_job *job = arg;
	struct iios_options o = { .timeout_ms = HANG_MS };
	struct iios_client *c;
	struct iios_block blk;
	uint32_t i;

	iios_verify_init(&job->v);
	job->err = iios_connect(job->d->url, &o, &c, job->errmsg, sizeof(job->errmsg));
	if (job->err)
		return NULL;
	job->err = iios_subscribe_device(c, job->device, 0, NULL, 0, &job->info);
	for (i = 0; !job->err && i < job->want_blocks; i++) {
		job->err = iios_next_block(c, &blk);
		if (job->err)
			break;
		job->wrong_stream += blk.stream_id != job->info.stream_id;
		iios_verify_block(&job->v, &job->info, &blk);
	}
	if (job->err)
		snprintf(job->errmsg, sizeof(job->errmsg), "%s", iios_errmsg(c));
	iios_counters(c, &job->counters);
	iios_close(c);
	return NULL;
}

static void check_job(const struct dev_job *job, const struct daemon *d)
{
	if (job->err || job->v.integrity_errors || job->counters.lost_blocks)
		daemon_dump_log(d);
	cr_assert_eq(job->err, 0, "%s: %s", job->device, job->errmsg);
	cr_assert_str_eq(job->info.device, job->device);
	cr_assert_eq(job->v.blocks, job->want_blocks);
	cr_assert_eq(job->wrong_stream, 0, "%s: %u blocks of another stream", job->device,
		     job->wrong_stream);
	cr_assert_eq(job->v.integrity_errors, 0, "%s: %s", job->device, job->v.first_error);
	cr_assert_eq(job->counters.lost_blocks, 0, "%s: lost %lu blocks at a moderate rate",
		     job->device, (unsigned long)job->counters.lost_blocks);
}

Test(multidevice, hello_lists_every_stream_and_subscribe_describes_each)
{
	struct daemon d;
	struct iios_client *c;
	const struct iios_server_info *si;
	struct iios_stream_info info;
	uint32_t i;

	daemon_start(&d, three);
	c = client_connect(&d);
	si = iios_server_info(c);
	cr_assert_eq(si->version, IIOS_PROTOCOL_VERSION);
	cr_assert_eq(si->n_streams, 6, "three ADCs, and each sim's DAC after them");
	cr_assert_str_eq(si->device, "adc1");
	for (i = 3; i < 6; i++) {
		cr_assert(si->streams[i].output, "stream %u is a DAC", i);
		cr_assert_eq(si->streams[i].stream_id, i);
		cr_assert_eq(iios_subscribe_device(c, si->streams[i].id, 1, NULL, 0, &info),
			     -ENODEV, "an output device is not subscribed to");
		cr_assert(strstr(iios_errmsg(c), "is an output device"), "%s", iios_errmsg(c));
	}
	cr_assert_str_eq(si->streams[3].id, "sim-dac");
	cr_assert_str_eq(si->streams[3].device, "adc1-dac");
	for (i = 0; i < 3; i++) {
		const struct iios_stream_desc *sd = &si->streams[i];

		cr_assert_eq(sd->stream_id, i);
		cr_assert_str_eq(sd->device, expect[i].name);
		cr_assert_str_eq(sd->source, "sim");
		cr_assert_eq(sd->channels, expect[i].channels);
		cr_assert_eq(sd->sample_rate, expect[i].rate);
		cr_assert_eq(sd->block_size, expect[i].block_size);
		cr_assert_eq(sd->block_count, 16);
		/* by id as well as by name */
		cr_assert_eq(iios_subscribe_device(c, i == 1 ? sd->id : sd->device, 1, NULL, 0,
						   &info), 0, "%s: %s", sd->device, iios_errmsg(c));
		cr_assert_eq(info.stream_id, sd->stream_id);
		cr_assert_str_eq(info.device, expect[i].name);
		cr_assert_eq(info.n_channels, expect[i].received);
		cr_assert_eq(info.sample_rate, expect[i].rate);
		cr_assert_eq(info.scan_bytes, expect[i].scan_bytes);
		cr_assert_not_null(iios_stream(c, sd->stream_id));
	}
	/* adc3's formats, as its subscription described them */
	cr_assert_eq(info.channels[0].storage_bits, 16);
	cr_assert_eq(info.channels[0].bits, 12);
	cr_assert_eq(info.channels[0].shift, 4);
	cr_assert(info.channels[0].big_endian && info.channels[0].is_signed);
	cr_assert(info.channels[0].fully_defined);
	cr_assert_str_eq(info.channels[3].id, "timestamp");
	cr_assert(info.channels[3].timestamp);
	cr_assert_eq(info.channels[3].storage_bits, 64);
	cr_assert_eq(iios_unsubscribe(c), 0, "%s", iios_errmsg(c));
	cr_assert_null(iios_stream(c, 0));
	iios_close(c);
	wait_all_blocks_back(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(multidevice, clients_of_different_devices_at_once_each_verified)
{
	struct daemon d;
	struct dev_job jobs[3];
	pthread_t th[3];
	int i;

	daemon_start(&d, three);
	for (i = 0; i < 3; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].d = &d;
		jobs[i].device = expect[i].name;
		jobs[i].want_blocks = 60;
		cr_assert_eq(pthread_create(&th[i], NULL, dev_job_run, &jobs[i]), 0);
	}
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 3; i++) {
		check_job(&jobs[i], &d);
		cr_assert_eq(jobs[i].info.stream_id, (uint32_t)i);
		cr_assert_eq(jobs[i].info.n_channels, expect[i].received);
		cr_assert_eq(jobs[i].info.block_size, expect[i].block_size);
		cr_assert_eq(jobs[i].v.bytes, 60ull * expect[i].block_size);
	}
	wait_all_blocks_back(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* Per stream of one connection: its verifier and what it received. */
struct per_stream {
	uint32_t id;
	const struct iios_stream_info *info;
	struct iios_verify v;
};

/* Receive until each stream of ps[0..n-1] has `want` more blocks; every
 * block must be of one of them. */
static void receive_each(struct iios_client *c, struct per_stream *ps, int n, uint64_t want)
{
	uint64_t goal[4];
	struct iios_block blk;
	int i, left = n;

	for (i = 0; i < n; i++)
		goal[i] = ps[i].v.blocks + want;
	while (left) {
		cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
		for (i = 0; i < n && ps[i].id != blk.stream_id; i++)
			;
		cr_assert_lt(i, n, "a block of stream %u, not subscribed", blk.stream_id);
		iios_verify_block(&ps[i].v, ps[i].info, &blk);
		cr_assert_eq(ps[i].v.integrity_errors, 0, "stream %u: %s", ps[i].id,
			     ps[i].v.first_error);
		if (ps[i].v.blocks == goal[i])
			left--;
	}
}

Test(multidevice, one_connection_receives_two_devices_and_keeps_one_after_unsubscribing)
{
	struct daemon d;
	struct iios_client *c;
	struct iios_stream_info a, b;
	struct per_stream ps[2];
	struct iios_counters k;
	struct iios_stats *st = calloc(1, sizeof(*st));
	uint32_t i;
	bool listed = false;

	cr_assert_not_null(st);
	daemon_start(&d, three);
	c = client_connect(&d);
	cr_assert_eq(iios_subscribe_device(c, "adc2", 0, NULL, 0, &a), 0, "%s", iios_errmsg(c));
	/* adc2's blocks flow while adc3 is asked for: they are kept */
	harness_sleep_ms(100); /* (a stimulus: let some of them come) */
	cr_assert_eq(iios_subscribe_device(c, "adc3", 0, NULL, 0, &b), 0, "%s", iios_errmsg(c));
	cr_assert_eq(a.stream_id, stream_id_of(c, "adc2"));
	cr_assert_eq(b.stream_id, stream_id_of(c, "adc3"));
	cr_assert_neq(a.stream_id, b.stream_id);
	ps[0] = (struct per_stream){ .id = a.stream_id, .info = iios_stream(c, a.stream_id) };
	ps[1] = (struct per_stream){ .id = b.stream_id, .info = iios_stream(c, b.stream_id) };
	iios_verify_init(&ps[0].v);
	iios_verify_init(&ps[1].v);
	cr_assert_not_null(ps[0].info);
	cr_assert_not_null(ps[1].info);
	receive_each(c, ps, 2, 30);

	/* the stats, asked on this connection between blocks: every stream,
	 * and this client on both */
	cr_assert_eq(iios_stats(c, st), 0, "%s", iios_errmsg(c));
	cr_assert_eq(st->n_sources, 3);
	for (i = 0; i < 3; i++) {
		cr_assert_str_eq(st->sources[i].device, expect[i].name);
		cr_assert_eq(st->sources[i].stream_id, i);
		cr_assert_eq(st->sources[i].sample_rate, expect[i].rate);
		cr_assert_eq(st->sources[i].source.blocks_total, 16);
		cr_assert_eq(st->sources[i].subscribers, i == 0 ? 0u : 1u, "stream %u", i);
	}
	cr_assert_eq(st->sources[0].source.blocks_produced, st->source.blocks_produced);
	cr_assert_str_eq(st->sources[0].source.name, st->source.name);
	for (i = 0; i < st->n_listed; i++)
		listed |= st->client_streams[i] == ((1ull << a.stream_id) | (1ull << b.stream_id));
	cr_assert(listed, "no client listed on streams %u and %u", a.stream_id, b.stream_id);
	receive_each(c, ps, 2, 10); /* both go on, continuous across the request */
	iios_counters(c, &k);
	cr_assert_eq(k.discarded_blocks, 0, "blocks that came during requests were dropped");
	cr_assert_eq(k.blocks, ps[0].v.blocks + ps[1].v.blocks);

	/* adc2 ends; adc3 goes on, continuous; nothing more of adc2 */
	cr_assert_eq(iios_unsubscribe_device(c, "adc2"), 0, "%s", iios_errmsg(c));
	cr_assert_null(iios_stream(c, a.stream_id));
	cr_assert_not_null(iios_stream(c, b.stream_id));
	ps[0] = ps[1];
	receive_each(c, ps, 1, 30);
	cr_assert_eq(iios_unsubscribe_device(c, "adc2"), -EINVAL);
	cr_assert(strstr(iios_errmsg(c), "not subscribed"), "%s", iios_errmsg(c));
	iios_counters(c, &k);
	cr_assert_eq(k.lost_blocks, 0, "lost %lu blocks at moderate rates",
		     (unsigned long)k.lost_blocks);
	cr_assert_eq(iios_unsubscribe_device(c, "sim2"), 0, "by id: %s", iios_errmsg(c));
	cr_assert_eq(iios_next_block(c, &(struct iios_block){ 0 }), -EINVAL);
	iios_close(c);
	free(st);
	wait_all_blocks_back(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Blocks the daemon has sent to its client of exactly the streams of
 * `mask` (0 if it has none). */
static uint64_t blocks_sent_to(const struct daemon *d, uint64_t mask)
{
	struct iios_stats *st = calloc(1, sizeof(*st));
	uint64_t n = 0;
	uint32_t i;

	cr_assert_not_null(st);
	daemon_stats(d, st);
	for (i = 0; i < st->n_listed; i++)
		if (st->client_streams[i] == mask)
			n = st->client[i].blocks_sent;
	free(st);
	return n;
}

Test(multidevice, blocks_that_arrive_during_a_request_are_kept_in_order)
{
	struct daemon d;
	struct iios_client *c;
	struct iios_stream_info a, b;
	struct per_stream ps[2];
	struct iios_block blk;
	struct iios_counters k;
	uint64_t t_ping;

	daemon_start(&d, three);
	c = client_connect(&d);
	cr_assert_eq(iios_subscribe_device(c, "adc1", 0, NULL, 0, &a), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_subscribe_device(c, "adc3", 0, NULL, 0, &b), 0, "%s", iios_errmsg(c));
	/* blocks are on their way when the ping goes (the daemon is on this
	 * host: one clock); they come before the pong, and are kept */
	WAIT_UNTIL(blocks_sent_to(&d, (1ull << a.stream_id) | (1ull << b.stream_id)) >= 2,
		   "blocks sent to the client");
	t_ping = mono_ns();
	cr_assert_eq(iios_ping(c, NULL), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
	cr_assert_lt(blk.dequeue_ns, t_ping, "the first block after the ping is a later one: "
		     "those that came during the ping were dropped");
	ps[0] = (struct per_stream){ .id = a.stream_id, .info = iios_stream(c, a.stream_id) };
	ps[1] = (struct per_stream){ .id = b.stream_id, .info = iios_stream(c, b.stream_id) };
	iios_verify_init(&ps[0].v);
	iios_verify_init(&ps[1].v);
	iios_verify_block(&ps[blk.stream_id == a.stream_id ? 0 : 1].v,
			  iios_stream(c, blk.stream_id), &blk);
	receive_each(c, ps, 2, 20); /* continuous, each, from there on */
	iios_counters(c, &k);
	cr_assert_eq(k.discarded_blocks, 0);
	cr_assert_eq(k.lost_blocks, 0);
	iios_close(c);
	wait_all_blocks_back(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(multidevice, a_slow_client_of_one_device_costs_another_device_nothing)
{
	struct iios_options slow_opts = { .timeout_ms = HANG_MS, .rcvbuf_bytes = 4096 };
	struct daemon d;
	struct iios_client *slow;
	struct iios_stream_info info;
	struct dev_job job = { .device = "adc2", .want_blocks = 80 };
	struct iios_stats *st = calloc(1, sizeof(*st));
	char err[256];
	pthread_t th;
	uint32_t i, slow_id;

	cr_assert_not_null(st);
	daemon_start(&d, three);
	cr_assert_eq(iios_connect(d.url, &slow_opts, &slow, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_subscribe_device(slow, "adc1", 2, NULL, 0, &info), 0, "%s",
		     iios_errmsg(slow));
	slow_id = info.stream_id;
	/* it never reads: adc1's stream skips blocks for it */
	do {
		daemon_stats(&d, st);
		cr_assert_eq(st->n_sources, 3);
	} while (st->sources[slow_id].blocks_skipped == 0 && (harness_sleep_ms(10), true));
	job.d = &d;
	cr_assert_eq(pthread_create(&th, NULL, dev_job_run, &job), 0);
	pthread_join(th, NULL);
	check_job(&job, &d);
	daemon_stats(&d, st);
	cr_assert_gt(st->sources[slow_id].blocks_skipped, 0);
	cr_assert_eq(st->sources[job.info.stream_id].blocks_skipped, 0,
		     "adc2's client skipped %lu blocks",
		     (unsigned long)st->sources[job.info.stream_id].blocks_skipped);
	for (i = 0; i < st->n_listed; i++)
		if (st->client_streams[i] == 1ull << slow_id)
			cr_assert_gt(st->client[i].blocks_skipped, 0);
	iios_close(slow);
	free(st);
	wait_all_blocks_back(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(multidevice, unknown_device_and_second_subscription_are_refused_the_connection_stays)
{
	struct daemon d;
	struct iios_client *c;
	struct iios_stream_info info;
	struct iios_block blk;

	daemon_start(&d, three);
	c = client_connect(&d);
	cr_assert_eq(iios_subscribe_device(c, "no-such-adc", 0, NULL, 0, &info), -ENODEV);
	cr_assert(strstr(iios_errmsg(c), "no-such-adc"), "%s", iios_errmsg(c));
	cr_assert_eq(iios_ping(c, NULL), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_subscribe_device(c, "adc3", 0, NULL, 0, &info), 0, "%s",
		     iios_errmsg(c));
	cr_assert_eq(iios_subscribe_device(c, "adc3", 0, NULL, 0, &info), -EALREADY);
	cr_assert_eq(iios_subscribe_device(c, "sim2", 0, NULL, 0, &info), -EALREADY,
		     "the same device by its id");
	cr_assert_eq(iios_unsubscribe_device(c, "adc1"), -EINVAL);
	cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
	cr_assert_eq(blk.stream_id, 2);
	iios_close(c);
	wait_all_blocks_back(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* The next frame that is not a block (a reply), from a raw connection. */
static Iiostream__Envelope *raw_next_reply(int fd, uint32_t *blocks_of_first)
{
	for (;;) {
		Iiostream__Envelope *e = raw_read_frame(fd);

		cr_assert_not_null(e, "connection closed");
		if (e->msg_case != IIOSTREAM__ENVELOPE__MSG_BLOCK)
			return e;
		cr_assert_eq(e->block->stream_id, 0);
		(*blocks_of_first)++;
		iios_frame_free(e);
	}
}

Test(multidevice, a_version_1_client_gets_the_first_device_and_one_subscription)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__Subscribe sub = IIOSTREAM__SUBSCRIBE__INIT;
	struct daemon d;
	uint32_t blocks = 0;
	int fd;

	daemon_start(&d, three);
	fd = raw_connect(&d);
	raw_send_hello(fd, IIOS_PROTOCOL_MAGIC, 1, 1);
	r = raw_read_frame(fd);
	cr_assert(r && r->msg_case == IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY);
	cr_assert_eq(r->hello_reply->version, 1);
	cr_assert_str_eq(r->hello_reply->device, "adc1");
	cr_assert_eq(r->hello_reply->n_streams, 0, "a version-1 client gets no stream list");
	iios_frame_free(r);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE;
	env.subscribe = &sub;
	raw_send_env(fd, &env);
	r = raw_next_reply(fd, &blocks);
	cr_assert_eq(r->msg_case, IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE_REPLY);
	cr_assert_str_eq(r->subscribe_reply->device, "adc1");
	cr_assert_eq(r->subscribe_reply->stream_id, 0);
	iios_frame_free(r);
	sub.device = "adc2"; /* a field version 1 does not have: still one subscription */
	raw_send_env(fd, &env);
	r = raw_next_reply(fd, &blocks);
	cr_assert_eq(r->msg_case, IIOSTREAM__ENVELOPE__MSG_ERROR);
	cr_assert_eq(r->error->errnum, EALREADY);
	iios_frame_free(r);
	while (blocks < 5) { /* still streaming adc1 */
		r = raw_read_frame(fd);
		cr_assert_not_null(r);
		cr_assert_eq(r->msg_case, IIOSTREAM__ENVELOPE__MSG_BLOCK);
		cr_assert_eq(r->block->stream_id, 0);
		blocks++;
		iios_frame_free(r);
	}
	close(fd);
	wait_all_blocks_back(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* The CLI: `iiostream CMD --url URL ARGS...` (NULL-terminated ARGS), its
 * stdout into `out`, its stderr into err; its exit status. */
static int cli(const struct daemon *d, const char *out, char *err, size_t errlen,
	       const char *cmd, ...)
{
	const char *argv[16] = { IIOSTREAM_CLI_PATH, cmd, "--url", d->url };
	const char *a;
	va_list ap;
	int n = 4;

	va_start(ap, cmd);
	while ((a = va_arg(ap, const char *)) && n < 15)
		argv[n++] = a;
	va_end(ap);
	return run_command(argv, out, err, errlen, HANG_MS);
}

Test(multidevice, cli_receives_a_named_device_and_lists_every_stream)
{
	struct daemon d;
	char err[4096], out[128], raw[128], *text;
	int rc;

	daemon_start(&d, three);
	snprintf(out, sizeof(out), "%s/cli.out", d.dir);
	rc = cli(&d, out, err, sizeof(err), "rx", "--device", "adc3", "--blocks", "20", "--verify",
		 NULL);
	cr_assert_eq(rc, 0, "rx --device adc3 --verify: %d: %s", rc, err);
	cr_assert(strstr(err, "adc3 (stream 2): 4 channels"), "%s", err);
	text = file_slurp(out, NULL);
	cr_assert(strstr(text, "every sample verified"), "%s", text);
	free(text);
	rc = cli(&d, out, err, sizeof(err), "rx", "--device", "sim1", "--blocks", "20", "--verify",
		 "--json", NULL);
	cr_assert_eq(rc, 0, "rx --device sim1 (an id) --verify: %d: %s", rc, err);
	cr_assert(strstr(err, "adc2 (stream 1): 2 channels"), "%s", err);
	/* two devices on one connection, each stream verified on its own */
	rc = cli(&d, out, err, sizeof(err), "rx", "--device", "adc1", "--device", "sim2", "--blocks",
		 "40", "--verify", NULL);
	text = file_slurp(out, NULL);
	cr_assert_eq(rc, 0, "rx --device adc1 --device sim2 --verify: %d: %s %s", rc, text, err);
	cr_assert(strstr(text, "   stream 0 adc1: "), "%s", text);
	cr_assert(strstr(text, "   stream 2 adc3: "), "%s", text);
	cr_assert(strstr(text, "integrity: every sample verified\n   stream 0"), "%s", text);
	cr_assert_null(strstr(text, "not checked"), "%s", text);
	free(text);
	rc = cli(&d, out, err, sizeof(err), "rx", "--device", "adc1", "--device", "adc2", "--output",
		 "/dev/null", NULL);
	cr_assert_eq(rc, 2, "--output of two devices: exit %d", rc);
	/* a file of adc3's scans (12-bit big-endian and the timestamp)
	 * verifies in the formats the server describes for adc3 */
	snprintf(raw, sizeof(raw), "%s/adc3.bin", d.dir);
	rc = cli(&d, out, err, sizeof(err), "rx", "--device", "adc3", "--blocks", "20", "--output",
		 raw, NULL);
	cr_assert_eq(rc, 0, "rx --device adc3 --output: %d: %s", rc, err);
	rc = cli(&d, out, err, sizeof(err), "verify", raw, "--channels", "0,1,2,3", "--device",
		 "adc3", NULL);
	text = file_slurp(out, NULL);
	cr_assert_eq(rc, 0, "verify --device adc3: %d: %s %s", rc, text, err);
	cr_assert(strstr(text, "61440 scans from index"), "%s", text);
	cr_assert(strstr(text, "0 gaps (0 scans missing), 0 errors"), "%s", text);
	free(text);
	rc = cli(&d, out, err, sizeof(err), "verify", raw, "--channels", "0,1,2,3", "--device",
		 "no-such-adc", NULL);
	cr_assert_eq(rc, 1, "verify --device no-such-adc: %d", rc);
	cr_assert(strstr(err, "no device 'no-such-adc'"), "%s", err);
	rc = cli(&d, out, err, sizeof(err), "rx", "--device", "no-such-adc", "--blocks", "1", NULL);
	cr_assert_eq(rc, 1, "an unknown device: exit %d", rc);
	cr_assert(strstr(err, "no streamed device 'no-such-adc'"), "%s", err);
	rc = cli(&d, out, err, sizeof(err), "info", NULL);
	cr_assert_eq(rc, 0, "info: %s", err);
	text = file_slurp(out, NULL);
	cr_assert(strstr(text, "streams:    6"), "%s", text);
	cr_assert(strstr(text, "stream 0: adc1 [sim] (sim): input, 1000000 scans/s, 4 channels, "
			       "ring 16 x 65536 bytes"), "%s", text);
	cr_assert(strstr(text, "stream 1: adc2 [sim1] (sim): input, 500000 scans/s, 2 channels"),
		  "%s", text);
	cr_assert(strstr(text, "stream 3: adc1-dac [sim-dac] (sim-dac): output"), "%s", text);
	cr_assert(strstr(text, "      [2] voltage2   le:s16/16>>0\n"), "%s", text);
	cr_assert(strstr(text, "      [1] voltage1   be:S12/16>>4\n"), "%s", text);
	cr_assert(strstr(text, "      [3] timestamp  le:s64/64>>0 (timestamp)\n"), "%s", text);
	cr_assert(strstr(text, "stream 2: adc3 [sim2]"), "%s", text);
	cr_assert(strstr(text, "streamed by this server (stream 2)"), "%s", text);
	free(text);
	rc = cli(&d, out, err, sizeof(err), "stats", NULL);
	cr_assert_eq(rc, 0, "stats: %s", err);
	text = file_slurp(out, NULL);
	cr_assert(strstr(text, "stream 0 adc1 (sim, "), "%s", text);
	cr_assert(strstr(text, "stream 1 adc2 (sim, "), "%s", text);
	cr_assert(strstr(text, "stream 2 adc3 (sim, "), "%s", text);
	free(text);
	wait_all_blocks_back(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(multidevice, twin_devices_of_one_name_are_told_apart_by_id)
{
	static const char *const twins[] = {
		"--source", "sim:name=twin,channels=2,rate=500K",
		"--source", "sim:name=twin,channels=3,rate=250K,block-size=48K",
		"--block-size", "64K", "--blocks", "16", NULL,
	};
	struct daemon d;
	struct iios_client *c;
	struct iios_stream_info a, b;
	struct iios_block blk;
	char err[4096], out[128], *text;
	int rc;

	daemon_start(&d, twins);
	c = client_connect(&d);
	cr_assert_eq(iios_subscribe_device(c, "sim1", 0, NULL, 0, &b), 0, "%s", iios_errmsg(c));
	cr_assert_eq(b.stream_id, 1);
	cr_assert_eq(b.n_channels, 3);
	/* the name is the first twin's, as the server matches it */
	cr_assert_eq(iios_subscribe_device(c, "twin", 0, NULL, 0, &a), 0, "%s", iios_errmsg(c));
	cr_assert_eq(a.stream_id, 0);
	cr_assert_eq(a.n_channels, 2);
	cr_assert_eq(iios_unsubscribe_device(c, "sim1"), 0, "%s", iios_errmsg(c));
	cr_assert_null(iios_stream(c, 1));
	cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
	cr_assert_eq(blk.stream_id, 0);
	cr_assert_eq(iios_unsubscribe_device(c, "twin"), 0, "%s", iios_errmsg(c));
	cr_assert_null(iios_stream(c, 0));
	iios_close(c);
	/* info subscribes to each stream in turn, by id */
	snprintf(out, sizeof(out), "%s/info.out", d.dir);
	rc = cli(&d, out, err, sizeof(err), "info", NULL);
	cr_assert_eq(rc, 0, "info: %s", err);
	text = file_slurp(out, NULL);
	cr_assert(strstr(text, "stream 0: twin [sim] (sim): input, 500000 scans/s, 2 channels"),
		  "%s", text);
	cr_assert(strstr(text, "stream 1: twin [sim1] (sim): input, 250000 scans/s, 3 channels"), "%s",
		  text);
	free(text);
	wait_all_blocks_back(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}
