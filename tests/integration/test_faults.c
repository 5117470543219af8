// SPDX-License-Identifier: MIT
/*
 * Clients that misbehave: vanish mid-block, read too slowly, send garbage,
 * speak the wrong version. Each gets a clear answer (or is dropped), loses
 * no block for anyone else, and leaves every block back in the source.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char *const moderate[] = { "--rate", "2000000", "--channels", "2",
					"--block-size", "64K", "--blocks", "16", NULL };

/* A well-behaved client that streams until told to stop. */
struct good_client {
	const struct daemon *d;
	atomic_bool stop;
	atomic_bool subscribed;
	atomic_bool done;
	atomic_uint_fast64_t blocks; /* received so far */
	int err;
	char errmsg[256];
	struct iios_verify v;
	struct iios_counters counters;
};

static void *good_thread(void *arg)
{
	struct good_client *g = arg;
	struct iios_options o = { .timeout_ms = HANG_MS };
	struct iios_stream_info info;
	struct iios_client *c;
	struct iios_block blk;

	iios_verify_init(&g->v);
	g->err = iios_connect(g->d->url, &o, &c, g->errmsg, sizeof(g->errmsg));
	if (g->err) {
		atomic_store(&g->done, true);
		return NULL;
	}
	g->err = iios_subscribe(c, 0, &info);
	atomic_store(&g->subscribed, true);
	while (!g->err && !atomic_load(&g->stop)) {
		g->err = iios_next_block(c, &blk);
		if (!g->err) {
			iios_verify_block(&g->v, &info, &blk);
			atomic_fetch_add(&g->blocks, 1);
		}
	}
	if (g->err)
		snprintf(g->errmsg, sizeof(g->errmsg), "%s", iios_errmsg(c));
	iios_counters(c, &g->counters);
	iios_close(c);
	atomic_store(&g->done, true);
	return NULL;
}

static void good_start(struct good_client *g, pthread_t *th, const struct daemon *d)
{
	memset(g, 0, sizeof(*g));
	g->d = d;
	cr_assert_eq(pthread_create(th, NULL, good_thread, g), 0);
	WAIT_UNTIL(atomic_load(&g->subscribed) || atomic_load(&g->done),
		   "the good client to subscribe");
	cr_assert_eq(g->err, 0, "the good client: %s", g->errmsg);
}

/* The good client receives `n` more blocks: it streams on after whatever
 * came before (waited for, not slept on: a loaded machine is slow). */
static void good_streams_on(struct good_client *g, uint64_t n)
{
	uint64_t want = atomic_load(&g->blocks) + n;

	WAIT_UNTIL(atomic_load(&g->blocks) >= want || atomic_load(&g->done),
		   "the good client's next %llu blocks", (unsigned long long)n);
	cr_assert_geq(atomic_load(&g->blocks), want, "the good client stopped: %s", g->errmsg);
}

static void good_finish(struct good_client *g, pthread_t th, const struct daemon *d)
{
	atomic_store(&g->stop, true);
	pthread_join(th, NULL);
	if (g->err || g->v.integrity_errors || g->counters.lost_blocks)
		daemon_dump_log(d);
	cr_assert_eq(g->err, 0, "good client failed: %s", g->errmsg);
	cr_assert(g->v.blocks > 10, "good client got only %lu blocks", (unsigned long)g->v.blocks);
	cr_assert_eq(g->v.integrity_errors, 0, "%s", g->v.first_error);
	cr_assert_eq(g->counters.lost_blocks, 0, "the good client lost blocks");
}

static void subscribe_raw(int fd)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__Subscribe sub = IIOSTREAM__SUBSCRIBE__INIT;

	raw_handshake(fd);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE;
	env.subscribe = &sub;
	raw_send_env(fd, &env);
	r = raw_read_frame(fd);
	cr_assert(r && r->msg_case == IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE_REPLY);
	iios_frame_free(r);
}

/* Close with RST rather than FIN, as a crashed or unplugged peer would. */
static void slam(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

Test(faults, client_killed_mid_block_harms_no_one_and_leaks_no_block)
{
	struct daemon d;
	struct good_client g;
	struct iios_stats st;
	pthread_t th;
	int round;

	daemon_start(&d, moderate);
	good_start(&g, &th, &d);
	for (round = 0; round < 5; round++) {
		int fd = raw_connect(&d);
		uint8_t head[4], part[1000];

		subscribe_raw(fd);
		/* Read a frame length and a little of what follows: the daemon
		 * is in the middle of that block when the client vanishes. */
		cr_assert_eq(recv(fd, head, sizeof(head), MSG_WAITALL), 4);
		cr_assert_eq(recv(fd, part, sizeof(part), MSG_WAITALL), (ssize_t)sizeof(part));
		if (round % 2)
			slam(fd);
		else
			close(fd);
	}
	good_streams_on(&g, 10);
	good_finish(&g, th, &d);
	/* every block back and every session gone, the good client's too
	 * (the daemon sees each leave when it gets to it) */
	WAIT_UNTIL((daemon_stats(&d, &st), st.source.blocks_held == 0 && st.clients == 1),
		   "every block back (%u held) and only the stats connection left (%u)",
		   st.source.blocks_held, st.clients);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st), "%u blocks never came back",
		  st.source.blocks_held);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(faults, slow_client_gets_counted_gaps_while_a_fast_one_loses_nothing)
{
	/* 16 MB/s, a 64 KiB block every 4 ms; a reader taking 10 ms per block
	 * falls behind. Its first ~70 blocks come from socket buffers (the
	 * kernel's send buffer grows to 4 MiB), so it reads 120, and on until
	 * a gap has been reported (on a loaded machine the source may lag
	 * too). */
	static const char *const args[] = { "--rate", "4000000", "--channels", "2",
					    "--block-size", "64K", "--blocks", "16", NULL };
	struct daemon d;
	struct good_client g;
	struct iios_stream_info info;
	struct iios_client *slow;
	struct iios_block blk;
	struct iios_verify v;
	struct iios_counters k;
	struct iios_stats st;
	pthread_t th;
	uint32_t i, me = 0;
	int found = -1;
	double wait0;

	daemon_start(&d, args);
	wait0 = daemon_cpu_wait_s(&d);
	good_start(&g, &th, &d);
	/* A small receive buffer, so the kernel does not hide the slowness
	 * behind megabytes of socket buffers. */
	struct iios_options opts = { .rcvbuf_bytes = 64 * 1024, .timeout_ms = HANG_MS };
	double t0 = mono_s();
	uint32_t got;
	char err[256];

	cr_assert_eq(iios_connect(d.url, &opts, &slow, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_subscribe(slow, 2, &info), 0);
	cr_assert_eq(info.max_queue_blocks, 2);
	iios_verify_init(&v);
	for (got = 0; got < 120 || !v.lost_blocks; got++) {
		cr_assert_lt(mono_s() - t0, HANG_S, "a slow client saw no gap in %u blocks", got);
		cr_assert_eq(iios_next_block(slow, &blk), 0, "%s", iios_errmsg(slow));
		/* Gaps are allowed only where the header reports them. */
		cr_assert_eq(iios_verify_block(&v, &info, &blk), 0, "%s", v.first_error);
		usleep(10000);
	}
	cr_assert_eq(iios_unsubscribe(slow), 0, "%s", iios_errmsg(slow));
	iios_counters(slow, &k);
	cr_assert(k.lost_blocks > 0, "a slow client saw no gap");
	cr_assert_eq(k.lost_blocks, v.lost_blocks);
	cr_assert(k.lost_samples > 0);

	cr_assert_eq(iios_stats(slow, &st), 0, "%s", iios_errmsg(slow));
	for (i = 0; i < st.n_listed; i++)
		if (!st.client[i].subscribed && st.client[i].blocks_skipped)
			found = (int)i, me++;
	cr_assert_eq(me, 1, "expected exactly one client with skips");
	/* Every block the daemon sent us was received or drained at
	 * unsubscribe; every gap we were told of was counted by the daemon. */
	cr_assert_eq(st.client[found].blocks_sent, got + k.discarded_blocks);
	cr_assert(st.client[found].blocks_skipped >= k.lost_blocks);
	/* the slow client holds 2 blocks at most: it cannot stall the source
	 * (an overflow is only the loaded machine's, holding the daemon back
	 * longer than the ring of 16 blocks lasts: 66 ms at 16 MB/s) */
	if (st.source.overflows)
		assert_overflow_excused(&d, wait0, 16 * 65536 / (4000000.0 * 4),
					st.source.lost_samples, "the slow client stalled the source");
	iios_close(slow);
	good_finish(&g, th, &d);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* Send bytes, expect an Error with errnum, then the connection closed. */
static void expect_error_and_close(const struct daemon *d, const void *bytes, size_t len,
				   bool after_hello, int errnum)
{
	int fd = raw_connect(d);
	Iiostream__Envelope *r;

	if (after_hello) {
		raw_handshake(fd);
	}
	cr_assert_eq(send(fd, bytes, len, MSG_NOSIGNAL), (ssize_t)len);
	r = raw_read_frame(fd);
	cr_assert_not_null(r, "no answer to bad input");
	cr_assert_eq(r->msg_case, IIOSTREAM__ENVELOPE__MSG_ERROR, "got %s", iios_frame_msg_name(r));
	cr_assert_eq(r->error->errnum, errnum, "errnum %d, want %d (%s)", r->error->errnum, errnum,
		     r->error->message);
	cr_assert(strlen(r->error->message) > 0);
	iios_frame_free(r);
	cr_assert(raw_wait_closed(fd, HANG_MS), "connection left open after a protocol error");
	close(fd);
}

Test(faults, malformed_frames_get_an_error_and_close_while_others_stream_on)
{
	static const uint8_t huge_len[] = { 0x7f, 0xff, 0xff, 0xff };
	static const uint8_t zero_len[] = { 0, 0, 0, 0 };
	static const uint8_t garbage[] = { 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff };
	/* A TLS ClientHello's first bytes, as a TLS client on the plain port. */
	static const uint8_t tls_hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc };
	/* An Envelope holding only field 99: a message this version does not know. */
	static const uint8_t unknown[] = { 0, 0, 0, 3, 0x98, 0x06, 0x01 };
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__BlockHeader bh = IIOSTREAM__BLOCK_HEADER__INIT;
	uint8_t block_frame[128];
	long block_len;
	struct daemon d;
	struct good_client g;
	struct iios_stats st;
	pthread_t th;

	env.msg_case = IIOSTREAM__ENVELOPE__MSG_BLOCK;
	env.block = &bh;
	bh.payload_len = 4;
	block_len = iios_frame_encode(&env, block_frame, sizeof(block_frame), sizeof(block_frame));
	cr_assert(block_len > 0);

	daemon_start(&d, moderate);
	good_start(&g, &th, &d);
	expect_error_and_close(&d, huge_len, sizeof(huge_len), true, EMSGSIZE);
	expect_error_and_close(&d, zero_len, sizeof(zero_len), true, EMSGSIZE);
	expect_error_and_close(&d, garbage, sizeof(garbage), true, EBADMSG);
	expect_error_and_close(&d, unknown, sizeof(unknown), true, EBADMSG);
	/* recognised as TLS, and said so (EPROTO, "TLS on the plain TCP port") */
	expect_error_and_close(&d, tls_hello, sizeof(tls_hello), false, EPROTO);
	/* A block header is a server-to-client message. */
	expect_error_and_close(&d, block_frame, (size_t)block_len, true, EPROTO);
	good_streams_on(&g, 10);
	good_finish(&g, th, &d);
	daemon_stats(&d, &st);
	cr_assert_eq(st.protocol_errors, 6);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(faults, handshake_refuses_wrong_version_magic_and_order)
{
	struct daemon d;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__Subscribe sub = IIOSTREAM__SUBSCRIBE__INIT;
	int fd;

	daemon_start(&d, moderate);

	fd = raw_connect(&d);
	raw_send_hello(fd, IIOS_PROTOCOL_MAGIC, IIOS_PROTOCOL_VERSION + 1, IIOS_PROTOCOL_VERSION + 2);
	r = raw_read_frame(fd);
	cr_assert(r && r->msg_case == IIOSTREAM__ENVELOPE__MSG_ERROR);
	cr_assert_eq(r->error->errnum, EPROTONOSUPPORT, "%s", r->error->message);
	iios_frame_free(r);
	cr_assert(raw_wait_closed(fd, HANG_MS));
	close(fd);

	fd = raw_connect(&d);
	raw_send_hello(fd, 0x12345678, 1, 1);
	r = raw_read_frame(fd);
	cr_assert(r && r->msg_case == IIOSTREAM__ENVELOPE__MSG_ERROR);
	cr_assert_eq(r->error->errnum, EPROTO, "%s", r->error->message);
	iios_frame_free(r);
	cr_assert(raw_wait_closed(fd, HANG_MS));
	close(fd);

	fd = raw_connect(&d);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE;
	env.subscribe = &sub;
	raw_send_env(fd, &env);
	r = raw_read_frame(fd);
	cr_assert(r && r->msg_case == IIOSTREAM__ENVELOPE__MSG_ERROR);
	cr_assert_eq(r->error->errnum, EPROTO);
	cr_assert(strstr(r->error->message, "hello"), "%s", r->error->message);
	iios_frame_free(r);
	cr_assert(raw_wait_closed(fd, HANG_MS));
	close(fd);

	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(faults, refused_request_gets_an_error_and_the_connection_stays_usable)
{
	struct daemon d;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__Unsubscribe un = IIOSTREAM__UNSUBSCRIBE__INIT;
	Iiostream__Ping ping = IIOSTREAM__PING__INIT;
	int fd;

	daemon_start(&d, moderate);
	fd = raw_connect(&d);
	raw_handshake(fd);

	env.msg_case = IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE;
	env.unsubscribe = &un;
	raw_send_env(fd, &env);
	r = raw_read_frame(fd);
	cr_assert(r && r->msg_case == IIOSTREAM__ENVELOPE__MSG_ERROR);
	cr_assert_eq(r->error->errnum, EINVAL, "%s", r->error->message);
	iios_frame_free(r);

	ping.token = 42;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_PING;
	env.ping = &ping;
	raw_send_env(fd, &env);
	r = raw_read_frame(fd);
	cr_assert(r && r->msg_case == IIOSTREAM__ENVELOPE__MSG_PONG, "connection not usable");
	cr_assert_eq(r->pong->token, 42);
	iios_frame_free(r);
	close(fd);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(faults, client_that_never_reads_its_replies_is_dropped_and_others_go_on)
{
	struct daemon d;
	struct good_client g;
	struct iios_stats st;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Ping ping = IIOSTREAM__PING__INIT;
	uint8_t one[64], batch[65536];
	size_t one_len, used = 0, sent_total = 0;
	int fd;
	pthread_t th;

	daemon_start(&d, moderate);
	good_start(&g, &th, &d);
	/* A tiny receive buffer, so replies pile up in the daemon soon. */
	fd = raw_connect_rcvbuf(&d, 4096);
	raw_handshake(fd);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_PING;
	env.ping = &ping;
	ping.token = 1;
	one_len = (size_t)iios_frame_encode(&env, one, sizeof(one), sizeof(one));
	while (used + one_len <= sizeof(batch)) {
		memcpy(batch + used, one, one_len);
		used += one_len;
	}
	/* Pings, never reading a Pong, until the daemon hangs up (bounded:
	 * 256 MiB of pings would be 30 MiB of unread replies). A send that
	 * blocks does so until the daemon reads or hangs up (or HANG_S). */
	while (sent_total < 256u * 1024 * 1024) {
		ssize_t n = send(fd, batch, used, MSG_NOSIGNAL);

		if (n <= 0) {
			cr_assert(errno == EPIPE || errno == ECONNRESET,
				  "the daemon neither read nor hung up: %s", strerror(errno));
			break;
		}
		sent_total += (size_t)n;
	}
	cr_assert(sent_total < 256u * 1024 * 1024, "the daemon kept buffering replies");
	close(fd);
	good_streams_on(&g, 10); /* the good client streams on after the flood */
	good_finish(&g, th, &d);
	cr_assert(daemon_log_contains(&d, "does not read the replies"));
	daemon_stats(&d, &st);
	cr_assert_eq(st.protocol_errors, 1);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(faults, out_of_file_descriptors_pauses_accepting_instead_of_spinning)
{
	struct daemon d;
	struct iios_client *c;
	int fds[40], i;
	double cpu0, cpu1;

	/* Room for the daemon's own descriptors and a handful of clients. */
	daemon_start_limited(&d, moderate, 20);
	for (i = 0; i < 40; i++)
		fds[i] = raw_connect(&d); /* the kernel completes them in the backlog */
	WAIT_UNTIL(daemon_log_contains(&d, "pausing"), "the daemon to run out of fds and pause");
	/* CPU time, not wall-clock: a loaded machine gives a spinning daemon
	 * less, never a pausing one more */
	cpu0 = daemon_cpu_seconds(&d);
	usleep(1000000);
	cpu1 = daemon_cpu_seconds(&d);
	cr_assert(cpu1 - cpu0 < 0.3, "daemon used %.2f s of CPU in 1 s while out of fds",
		  cpu1 - cpu0);
	for (i = 0; i < 40; i++)
		close(fds[i]);
	/* Descriptors are free again: a client gets in (its connect waits in
	 * the backlog until the daemon accepts again) and is served. */
	c = client_connect(&d);
	cr_assert_eq(iios_ping(c, NULL), 0, "%s", iios_errmsg(c));
	iios_close(c);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(faults, a_hello_sent_one_byte_at_a_time_is_understood)
{
	struct daemon d;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__Hello h = IIOSTREAM__HELLO__INIT;
	uint8_t buf[128];
	long n, i;
	int fd;

	daemon_start(&d, moderate);
	fd = raw_connect(&d);
	h.magic = IIOS_PROTOCOL_MAGIC;
	h.version_min = h.version_max = IIOS_PROTOCOL_VERSION;
	h.client_name = "one byte at a time";
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO;
	env.hello = &h;
	n = iios_frame_encode(&env, buf, sizeof(buf), sizeof(buf));
	cr_assert(n > 0);
	for (i = 0; i < n; i++) {
		cr_assert_eq(send(fd, buf + i, 1, MSG_NOSIGNAL), 1);
		usleep(2000); /* each byte its own segment and its own read */
	}
	r = raw_read_frame(fd);
	cr_assert(r && r->msg_case == IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY);
	iios_frame_free(r);
	close(fd);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}
