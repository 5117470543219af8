// SPDX-License-Identifier: MIT
/*
 * Transmit (protocol version 3): a client owns the sim's DAC, sends blocks
 * under credits, and what the DAC plays comes back through its loopback
 * into the sim's ADC, where another connection receives it and every
 * sample is checked: the pattern sent, in order, no gap; a cyclic block
 * repeated whole and replaced exactly at a repetition's end. Underflows are
 * reported to the owner, a second owner is refused naming the first, and
 * bad input (no credit, lengths, a client gone mid-block) is refused
 * without losing a block. The TX side speaks raw frames on purpose, so the
 * server is tested on its own; the client library's transmit API has its
 * own tests.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "certs.h"
#include "harness.h"
#include "iiostream/pattern.h"
#include "loopback.h"

#define CHANNELS LOOPBACK_CHANNELS
#define SCAN_BYTES LOOPBACK_SCAN_BYTES

/* A sim board at 1 MS/s: blocks of 64 KiB (16384 scans, 16 ms), rings of
 * 32 blocks (half a second of play ahead of the DAC). */
static const char *const board[] = {
	"--source", "sim:channels=2,rate=1M", "--block-size", "64K", "--blocks", "32", NULL,
};

/* ---- raw transmit connection ---- */

/* Read frames until one of `want` arrives (an Error fails the test unless
 * want is an Error). */
static Iiostream__Envelope *read_until(int fd, Iiostream__Envelope__MsgCase want)
{
	for (;;) {
		Iiostream__Envelope *e = raw_read_frame(fd);

		cr_assert_not_null(e, "connection closed waiting for %d", want);
		if (e->msg_case == want)
			return e;
		if (e->msg_case == IIOSTREAM__ENVELOPE__MSG_ERROR)
			cr_assert_fail("server error %d: %s", e->error->errnum, e->error->message);
		iios_frame_free(e);
	}
}

struct tx_conn {
	int fd;
	uint32_t block_size, block_count, scan_bytes;
	uint64_t credits, sent;
	Iiostream__TxStatus last;   /* the latest TxStatus's counts */
};

static void send_tx_start(int fd, const char *device, uint32_t prefill, bool keep)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__TxStart m = IIOSTREAM__TX_START__INIT;

	m.device = (char *)device;
	m.prefill_blocks = prefill;
	m.on_disconnect = keep ? IIOSTREAM__TX_DISCONNECT__TX_DISCONNECT_KEEP
			       : IIOSTREAM__TX_DISCONNECT__TX_DISCONNECT_STOP;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_START;
	env.tx_start = &m;
	raw_send_env(fd, &env);
}

static void tx_open(struct tx_conn *t, const struct daemon *d, uint32_t prefill, bool keep)
{
	Iiostream__Envelope *e;

	memset(t, 0, sizeof(*t));
	t->fd = raw_connect(d);
	raw_handshake(t->fd);
	send_tx_start(t->fd, "sim-dac", prefill, keep);
	e = read_until(t->fd, IIOSTREAM__ENVELOPE__MSG_TX_START_REPLY);
	t->block_size = e->tx_start_reply->block_size;
	t->block_count = e->tx_start_reply->block_count;
	t->scan_bytes = e->tx_start_reply->scan_bytes;
	t->credits = e->tx_start_reply->credits;
	cr_assert_eq(t->scan_bytes, SCAN_BYTES);
	iios_frame_free(e);
}

static void note_status(struct tx_conn *t, const Iiostream__TxStatus *st)
{
	t->last = *st;
	if (st->credits > t->credits)
		t->credits = st->credits;
}

/* Send one block: TxBlock, then its payload (data NULL: the head only). */
static void tx_send_raw(int fd, const void *data, uint32_t len, uint32_t flags)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__TxBlock m = IIOSTREAM__TX_BLOCK__INIT;

	m.payload_len = len;
	m.flags = flags;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_BLOCK;
	env.tx_block = &m;
	raw_send_env(fd, &env);
	if (len && data)
		cr_assert_eq(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Send a block once there is a credit for it (reading TxStatus meanwhile). */
static void tx_send(struct tx_conn *t, const void *data, uint32_t len, uint32_t flags)
{
	while (t->sent >= t->credits) {
		Iiostream__Envelope *e = read_until(t->fd, IIOSTREAM__ENVELOPE__MSG_TX_STATUS);

		note_status(t, e->tx_status);
		iios_frame_free(e);
	}
	tx_send_raw(t->fd, data, len, flags);
	t->sent++;
}

/* TxStop; the TxStopReply's final status into t->last. */
static void tx_stop(struct tx_conn *t, bool drain)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__TxStop m = IIOSTREAM__TX_STOP__INIT;
	Iiostream__Envelope *e;

	m.drain = drain;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_STOP;
	env.tx_stop = &m;
	raw_send_env(t->fd, &env);
	e = read_until(t->fd, IIOSTREAM__ENVELOPE__MSG_TX_STOP_REPLY);
	cr_assert_not_null(e->tx_stop_reply->status);
	note_status(t, e->tx_stop_reply->status);
	iios_frame_free(e);
}

/* The next Error on fd (other frames skipped). */
static Iiostream__Envelope *read_error(int fd)
{
	return read_until(fd, IIOSTREAM__ENVELOPE__MSG_ERROR);
}

/* The daemon's Stats over a raw connection (its tx lines are version 3's). */
static Iiostream__Envelope *raw_stats(const struct daemon *d)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__StatsRequest m = IIOSTREAM__STATS_REQUEST__INIT;
	Iiostream__Envelope *e;
	int fd = raw_connect(d);

	raw_handshake(fd);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_STATS_REQUEST;
	env.stats_request = &m;
	raw_send_env(fd, &env);
	e = read_until(fd, IIOSTREAM__ENVELOPE__MSG_STATS);
	close(fd);
	cr_assert_eq(e->stats->n_tx, 1, "one DAC beside the sim ADC");
	return e;
}

/* Wait until the DAC holds no block and nobody transmits. */
static void wait_dac_idle(const struct daemon *d)
{
	double t0 = mono_s();

	for (;;) {
		Iiostream__Envelope *e = raw_stats(d);
		const Iiostream__TxStreamStats *ts = e->stats->tx[0];
		bool idle = ts->blocks_in_device == 0 && !ts->transmitting;

		iios_frame_free(e);
		if (idle)
			return;
		cr_assert_lt(mono_s() - t0, HANG_S, "waited %d s for the DAC to be idle", HANG_S);
		harness_sleep_ms(20);
	}
}

/* ---- tests ---- */

Test(tx, hello_lists_the_dac_as_an_output_device)
{
	struct daemon d;
	struct iios_client *c;
	const struct iios_server_info *si;
	Iiostream__Envelope *e;
	int fd;

	daemon_start(&d, board);
	fd = raw_connect(&d);
	raw_send_hello(fd, IIOS_PROTOCOL_MAGIC, 3, 3);
	e = raw_read_frame(fd);
	cr_assert(e && e->msg_case == IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY);
	cr_assert_eq(e->hello_reply->n_streams, 2, "the ADC and its DAC");
	cr_assert(!e->hello_reply->streams[0]->output);
	cr_assert(e->hello_reply->streams[1]->output);
	cr_assert_str_eq(e->hello_reply->streams[1]->id, "sim-dac");
	cr_assert_eq(e->hello_reply->streams[1]->stream_id, 1);
	cr_assert_eq(e->hello_reply->streams[1]->channels, CHANNELS);
	iios_frame_free(e);
	close(fd);
	/* a version-2 client sees the streams it can subscribe to only */
	fd = raw_connect(&d);
	raw_send_hello(fd, IIOS_PROTOCOL_MAGIC, 1, 2);
	e = raw_read_frame(fd);
	cr_assert(e && e->msg_case == IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY);
	cr_assert_eq(e->hello_reply->n_streams, 1);
	iios_frame_free(e);
	close(fd);
	/* the device list (and so the iiod port's context) has both */
	c = client_connect(&d);
	si = iios_server_info(c);
	cr_assert_geq(si->version, 3);
	{
		struct iios_devices *devs;
		uint32_t i;
		bool dac = false;

		cr_assert_eq(iios_devices(c, &devs), 0, "%s", iios_errmsg(c));
		for (i = 0; i < devs->n_devices; i++)
			if (strcmp(devs->devices[i].id, "sim-dac") == 0) {
				dac = true;
				cr_assert_eq(devs->devices[i].n_channels, CHANNELS);
				cr_assert(devs->devices[i].channels[0].output);
			}
		cr_assert(dac, "DevicesRequest lists sim-dac");
		iios_devices_free(devs);
	}
	iios_close(c);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tx, pattern_through_loopback_reads_back_exactly_what_was_sent)
{
	struct daemon d;
	struct tx_conn t;
	struct capture cp;
	uint8_t *blk;
	uint32_t scans, i, nblocks = 48;
	size_t at;
	Iiostream__Envelope *e;

	daemon_start(&d, board);
	set_loopback(&d, "1");
	capture_start(&cp, &d, 64u << 20);
	tx_open(&t, &d, 0, false);
	cr_assert_eq(t.credits, t.block_count, "a fresh device: every block is a credit");
	cr_assert_eq(t.block_size, 65536);
	scans = t.block_size / SCAN_BYTES;
	blk = malloc(t.block_size);
	cr_assert_not_null(blk);
	for (i = 0; i < nblocks; i++) {
		iios_pattern_fill(blk, (uint64_t)i * scans, scans, CHANNELS);
		tx_send(&t, blk, t.block_size, 0);
	}
	tx_stop(&t, true);
	cr_assert_eq(t.last.blocks_played, nblocks);
	cr_assert_eq(t.last.samples_played, (uint64_t)nblocks * scans);
	cr_assert_eq(t.last.underflows, 0, "the client kept up: no underflow (%" PRIu64 " at %" PRIu64
		     ")", t.last.underflows, t.last.underflow_position);
	capture_finish(&cp, 4);
	at = first_sound(cp.buf, cp.len / SCAN_BYTES);
	at = expect_run(&cp, at, 0, (uint64_t)nblocks * scans, "the pattern sent");
	expect_silence_to_end(&cp, at, "after the drain");
	/* the stats say the same */
	e = raw_stats(&d);
	cr_assert_eq(e->stats->tx[0]->blocks_received, nblocks);
	cr_assert_eq(e->stats->tx[0]->blocks_played, nblocks);
	cr_assert_eq(e->stats->tx[0]->underflows, 0);
	iios_frame_free(e);
	close(t.fd);
	free(blk);
	free(cp.buf);
	wait_dac_idle(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tx, a_cyclic_block_loops_whole_and_is_replaced_at_its_boundary)
{
	struct daemon d;
	struct tx_conn t;
	struct capture cp;
	uint8_t *a, *b;
	uint32_t scans_a = 5000, scans_b = 7000; /* not a divisor of anything */
	size_t at, reps = 0;

	daemon_start(&d, board);
	set_loopback(&d, "1");
	capture_start(&cp, &d, 64u << 20);
	tx_open(&t, &d, 0, false);
	a = malloc(scans_a * SCAN_BYTES);
	b = malloc(scans_b * SCAN_BYTES);
	cr_assert(a && b);
	iios_pattern_fill(a, 0, scans_a, CHANNELS);
	iios_pattern_fill(b, scans_a, scans_b, CHANNELS);
	tx_send(&t, a, scans_a * SCAN_BYTES, IIOSTREAM__BLOCK_FLAG__BLOCK_FLAG_CYCLIC);
	/* let it loop: until the capture holds three repetitions of A */
	WAIT_UNTIL(sound_scans(&cp) >= 3 * scans_a, "three repetitions of A captured (%zu scans)",
		   sound_scans(&cp));
	tx_send(&t, b, scans_b * SCAN_BYTES, 0);
	tx_stop(&t, true);
	cr_assert_eq(t.last.underflows, 0);
	capture_finish(&cp, 4);
	at = first_sound(cp.buf, cp.len / SCAN_BYTES);
	/* A, whole, again and again; then B exactly once, then silence */
	while (at + scans_a <= cp.len / SCAN_BYTES && scan_is(cp.buf + at * SCAN_BYTES, 0) &&
	       !scan_is(cp.buf + at * SCAN_BYTES, scans_a)) {
		at = expect_run(&cp, at, 0, scans_a, "a repetition of the cyclic block");
		reps++;
	}
	cr_assert_geq(reps, 2, "A looped (%zu repetitions)", reps);
	at = expect_run(&cp, at, scans_a, scans_b, "the block that replaced it, right after a "
			"whole repetition");
	expect_silence_to_end(&cp, at, "after B");
	close(t.fd);
	free(a);
	free(b);
	free(cp.buf);
	wait_dac_idle(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tx, a_client_that_stops_sending_hears_of_every_underflow)
{
	struct daemon d;
	struct tx_conn t;
	uint8_t *blk;
	uint32_t scans;
	Iiostream__Envelope *e;

	daemon_start(&d, board);
	tx_open(&t, &d, 1, false);
	scans = t.block_size / SCAN_BYTES;
	blk = calloc(1, t.block_size);
	cr_assert_not_null(blk);
	tx_send(&t, blk, t.block_size, 0);
	tx_send(&t, blk, t.block_size, 0);
	/* nothing more: the DAC runs dry after 32 ms, and the owner is told */
	do {
		e = read_until(t.fd, IIOSTREAM__ENVELOPE__MSG_TX_STATUS);
		note_status(&t, e->tx_status);
		iios_frame_free(e);
	} while (t.last.underflows == 0);
	cr_assert_eq(t.last.underflows, 1);
	cr_assert_eq(t.last.underflow_position, 2ull * scans,
		     "the silence came after the client's last scan");
	/* it lasts, and the reports say how long */
	do {
		e = read_until(t.fd, IIOSTREAM__ENVELOPE__MSG_TX_STATUS);
		note_status(&t, e->tx_status);
		iios_frame_free(e);
	} while (t.last.underflow_samples < scans);
	/* a block ends it; the next dry spell is a second underflow */
	tx_send(&t, blk, t.block_size, 0);
	do {
		e = read_until(t.fd, IIOSTREAM__ENVELOPE__MSG_TX_STATUS);
		note_status(&t, e->tx_status);
		iios_frame_free(e);
	} while (t.last.underflows < 2);
	cr_assert_eq(t.last.underflow_position, 3ull * scans);
	tx_stop(&t, false);
	e = raw_stats(&d);
	cr_assert_eq(e->stats->tx[0]->underflows, 2, "stats count them too");
	iios_frame_free(e);
	close(t.fd);
	free(blk);
	wait_dac_idle(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tx, a_second_client_is_refused_naming_the_owner)
{
	struct daemon d;
	struct tx_conn t;
	Iiostream__Envelope *e;
	int fd;

	daemon_start(&d, board);
	tx_open(&t, &d, 0, false);
	fd = raw_connect(&d);
	raw_handshake(fd);
	send_tx_start(fd, "sim-dac", 0, false);
	e = read_error(fd);
	cr_assert_eq(e->error->errnum, EBUSY);
	cr_assert(strstr(e->error->message, "being transmitted to by client"), "%s",
		  e->error->message);
	cr_assert(strstr(e->error->message, "127.0.0.1"), "names the owner: %s",
		  e->error->message);
	iios_frame_free(e);
	/* no such device; and subscribing to the DAC is not how to use it */
	send_tx_start(fd, "no-such-dac", 0, false);
	e = read_error(fd);
	cr_assert_eq(e->error->errnum, ENODEV);
	iios_frame_free(e);
	close(t.fd);
	/* the owner gone, the device is free again */
	wait_dac_idle(&d);
	send_tx_start(fd, "sim-dac", 0, false);
	e = read_until(fd, IIOSTREAM__ENVELOPE__MSG_TX_START_REPLY);
	iios_frame_free(e);
	close(fd);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tx, a_client_gone_mid_block_leaks_nothing)
{
	struct daemon d;
	struct tx_conn t;
	uint8_t *blk;
	Iiostream__Envelope *e;

	daemon_start(&d, board);
	tx_open(&t, &d, 0, false);
	blk = calloc(1, t.block_size);
	cr_assert_not_null(blk);
	tx_send(&t, blk, t.block_size, 0);
	/* a TxBlock and half its payload, then gone */
	{
		Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
		Iiostream__TxBlock m = IIOSTREAM__TX_BLOCK__INIT;

		m.payload_len = t.block_size;
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_BLOCK;
		env.tx_block = &m;
		raw_send_env(t.fd, &env);
		cr_assert_eq(send(t.fd, blk, t.block_size / 2, MSG_NOSIGNAL),
			     (ssize_t)(t.block_size / 2));
	}
	close(t.fd);
	wait_dac_idle(&d);
	cr_assert(daemon_log_contains(&d, "left in the middle of a tx_block"));
	/* every block is a credit for the next owner */
	tx_open(&t, &d, 0, false);
	cr_assert_eq(t.credits, t.block_count, "every block came back");
	e = raw_stats(&d);
	cr_assert_eq(e->stats->tx[0]->blocks_received, 1, "the half block was never played");
	cr_assert(strstr(e->stats->tx[0]->owner_peer, "127.0.0.1"), "%s",
		  e->stats->tx[0]->owner_peer);
	iios_frame_free(e);
	close(t.fd);
	free(blk);
	wait_dac_idle(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* A slow DAC (1 kS/s: a 64 KiB block lasts 16 s) so that no credit comes
 * back while the test misbehaves. */
static const char *const slow_board[] = {
	"--source", "sim:channels=2,rate=1K", "--block-size", "64K", "--blocks", "4", NULL,
};

Test(tx, a_block_without_a_credit_closes_the_connection)
{
	struct daemon d;
	struct tx_conn t;
	uint8_t *blk;
	uint32_t i;
	Iiostream__Envelope *e;

	daemon_start(&d, slow_board);
	tx_open(&t, &d, 0, false);
	blk = calloc(1, t.block_size);
	cr_assert_not_null(blk);
	for (i = 0; i < t.block_count; i++)
		tx_send_raw(t.fd, blk, t.block_size, 0);
	tx_send_raw(t.fd, blk, t.block_size, 0);
	e = read_error(t.fd);
	cr_assert_eq(e->error->errnum, EPROTO);
	cr_assert(strstr(e->error->message, "without a credit"), "%s", e->error->message);
	iios_frame_free(e);
	cr_assert(raw_wait_closed(t.fd, HANG_MS));
	close(t.fd);
	free(blk);
	wait_dac_idle(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tx, bad_blocks_are_refused_clearly)
{
	struct daemon d;
	struct tx_conn t;
	uint8_t *blk;
	Iiostream__Envelope *e;
	int fd;

	daemon_start(&d, slow_board);
	/* a TxBlock with no transmission */
	fd = raw_connect(&d);
	raw_handshake(fd);
	tx_send_raw(fd, NULL, 0, 0);
	e = read_error(fd);
	cr_assert_eq(e->error->errnum, EPROTO);
	iios_frame_free(e);
	cr_assert(raw_wait_closed(fd, HANG_MS));
	close(fd);

	tx_open(&t, &d, 0, false);
	blk = calloc(1, t.block_size + 8);
	cr_assert_not_null(blk);
	/* not whole scans: refused, the connection stays, the credit returns */
	tx_send_raw(t.fd, blk, 6, 0);
	e = read_error(t.fd);
	cr_assert_eq(e->error->errnum, EINVAL);
	cr_assert(strstr(e->error->message, "not whole 4-byte scans"), "%s", e->error->message);
	iios_frame_free(e);
	t.sent++;
	e = read_until(t.fd, IIOSTREAM__ENVELOPE__MSG_TX_STATUS);
	note_status(&t, e->tx_status);
	iios_frame_free(e);
	cr_assert_eq(t.credits, t.block_count + 1, "the refused block's credit came back");
	tx_send(&t, blk, t.block_size, 0);
	/* longer than a block: the framing cannot be trusted, close */
	tx_send_raw(t.fd, NULL, t.block_size + 4, 0);
	e = read_error(t.fd);
	cr_assert_eq(e->error->errnum, EMSGSIZE);
	iios_frame_free(e);
	cr_assert(raw_wait_closed(t.fd, HANG_MS));
	close(t.fd);
	free(blk);
	wait_dac_idle(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tx, keep_plays_the_cyclic_block_on_after_its_owner_left)
{
	struct daemon d;
	struct tx_conn t;
	uint8_t *blk;
	Iiostream__Envelope *e;
	const Iiostream__TxStreamStats *ts;

	daemon_start(&d, board);
	tx_open(&t, &d, 0, true);
	blk = calloc(1, 4000);
	cr_assert_not_null(blk);
	iios_pattern_fill(blk, 0, 1000, CHANNELS);
	tx_send(&t, blk, 4000, IIOSTREAM__BLOCK_FLAG__BLOCK_FLAG_CYCLIC);
	close(t.fd);
	/* the owner left; the block plays on, and stats say so */
	for (;;) {
		e = raw_stats(&d);
		ts = e->stats->tx[0];
		if (ts->owner == 0)
			break;
		iios_frame_free(e);
		harness_sleep_ms(10);
	}
	cr_assert(ts->kept, "kept playing");
	cr_assert(ts->transmitting);
	cr_assert(ts->cyclic);
	cr_assert_str_eq(ts->on_disconnect, "keep");
	cr_assert_eq(ts->blocks_in_device, 1);
	iios_frame_free(e);
	/* a new owner takes over: its first block replaces the loop */
	tx_open(&t, &d, 1, false);
	cr_assert_eq(t.credits, t.block_count - 1, "the looping block is not free yet");
	tx_send(&t, blk, 4000, 0);
	tx_stop(&t, true);
	cr_assert_eq(t.last.underflows, 0);
	cr_assert_eq(t.last.credits, t.block_count + 1,
		     "the replaced loop's block came back as a credit, and the block sent");
	cr_assert_eq(t.last.blocks_played, 1, "only its own block counts as played for it");
	close(t.fd);
	free(blk);
	wait_dac_idle(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* Over TLS, with the library's transmit API: a client whose certificate
 * --allow-write names transmits the pattern, and it comes back exact; the
 * owner is known by its certificate; another certificate is refused. */
Test(tx, over_tls_only_the_allowed_identity_transmits)
{
	struct test_certs certs;
	char dir[64], err[320];
	struct daemon d;
	struct iios_client *c, *other;
	struct iios_options o = { .client_name = "test_tx", .timeout_ms = HANG_MS };
	struct iios_tx_info info;
	struct iios_tx_status st;
	struct capture cp;
	uint8_t *blk;
	uint32_t scans, i, nblocks = 24;
	size_t at;
	Iiostream__Envelope *e;

	test_dir_make(dir, "tx-certs");
	cr_assert_eq(test_certs_make(dir, &certs), 0);
	{
		const char *args[] = { "--source", "sim:channels=2,rate=1M", "--block-size", "64K",
				       "--blocks", "32", "--listen-tls", "127.0.0.1:0", "--tls-cert",
				       certs.server_cert, "--tls-key", certs.server_key,
				       "--client-ca", certs.ca, "--allow-write", "cn:good-client",
				       NULL };

		daemon_start(&d, args);
	}
	o.ca_file = certs.ca;
	o.cert_file = certs.client2_cert;
	o.key_file = certs.client2_key;
	cr_assert_eq(iios_connect(d.tls_url, &o, &other, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_tx_start(other, "sim-dac", NULL, NULL), -EACCES, "%s",
		     iios_errmsg(other));
	iios_close(other);
	/* loopback on: --allow-write applies to the plain port too, which
	 * has no identity, so it is set over TLS */
	o.cert_file = certs.client_cert;
	o.key_file = certs.client_key;
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), 0, "%s", err);
	{
		struct iios_attr_ref ref = { .device = "sim-dac", .attr = "loopback" };
		char v[16];

		cr_assert_eq(iios_attr_set(c, &ref, "1", v, sizeof(v)), 0, "%s", iios_errmsg(c));
	}
	capture_start(&cp, &d, 32u << 20);
	cr_assert_eq(iios_tx_start(c, "sim-dac", NULL, &info), 0, "%s", iios_errmsg(c));
	cr_assert_eq(info.scan_bytes, SCAN_BYTES);
	e = raw_stats(&d);
	cr_assert(strstr(e->stats->tx[0]->owner_peer, "CN=good-client"), "%s",
		  e->stats->tx[0]->owner_peer);
	iios_frame_free(e);
	scans = info.block_size / SCAN_BYTES;
	blk = malloc(info.block_size);
	cr_assert_not_null(blk);
	for (i = 0; i < nblocks; i++) {
		iios_pattern_fill(blk, (uint64_t)i * scans, scans, CHANNELS);
		cr_assert_eq(iios_tx_send(c, blk, info.block_size, 0), 0, "%s", iios_errmsg(c));
	}
	cr_assert_eq(iios_tx_stop(c, true, &st), 0, "%s", iios_errmsg(c));
	cr_assert_eq(st.blocks_played, nblocks);
	cr_assert_eq(st.underflows, 0);
	capture_finish(&cp, 4);
	at = first_sound(cp.buf, cp.len / SCAN_BYTES);
	at = expect_run(&cp, at, 0, (uint64_t)nblocks * scans, "the pattern sent over TLS");
	expect_silence_to_end(&cp, at, "after the drain");
	iios_close(c);
	free(blk);
	free(cp.buf);
	wait_dac_idle(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	test_dir_remove(dir);
}

/* ---- the CLI ---- */

static int cli(const struct daemon *d, const char *out, char *err, size_t errlen,
	       const char *cmd, ...)
{
	const char *argv[24] = { IIOSTREAM_CLI_PATH, cmd, "--url", d->url };
	const char *a;
	va_list ap;
	int n = 4;

	va_start(ap, cmd);
	while ((a = va_arg(ap, const char *)) && n < 23)
		argv[n++] = a;
	va_end(ap);
	return run_command(argv, out, err, errlen, HANG_MS);
}

struct cli_rx {
	const struct daemon *d;
	char out[128], err[4096];
	int rc;
};

static void *cli_rx_run(void *arg)
{
	struct cli_rx *r = arg;

	r->rc = cli(r->d, r->out, r->err, sizeof(r->err), "rx", "--device", "sim",
		    "--verify-loopback", "--seconds", "4", NULL);
	return NULL;
}

/* The README's transmit example: `rx --verify-loopback` on the ADC while
 * `tx --pattern` plays into the DAC. */
Test(tx, cli_tx_pattern_is_verified_by_cli_rx)
{
	struct daemon d;
	struct cli_rx r = { 0 };
	struct iios_stats *st = calloc(1, sizeof(*st));
	pthread_t th;
	char out[128], err[4096], *text;
	int rc;

	cr_assert_not_null(st);
	daemon_start(&d, board);
	set_loopback(&d, "1");
	r.d = &d;
	snprintf(r.out, sizeof(r.out), "%s/rx.out", d.dir);
	cr_assert_eq(pthread_create(&th, NULL, cli_rx_run, &r), 0);
	/* tx once rx is subscribed, so that it sees the pattern's start */
	do {
		harness_sleep_ms(10);
		daemon_stats(&d, st);
	} while (st->sources[0].subscribers == 0);
	snprintf(out, sizeof(out), "%s/tx.out", d.dir);
	rc = cli(&d, out, err, sizeof(err), "tx", "--device", "sim-dac", "--pattern", "--blocks",
		 "40", "--json", NULL);
	cr_assert_eq(rc, 0, "tx: %d: %s", rc, err);
	text = file_slurp(out, NULL);
	cr_assert(strstr(text, "\"blocks_played\":40"), "%s", text);
	cr_assert(strstr(text, "\"underflows\":0"), "%s", text);
	free(text);
	pthread_join(th, NULL);
	cr_assert_eq(r.rc, 0, "rx --verify-loopback: %d: %s", r.rc, r.err);
	text = file_slurp(r.out, NULL);
	cr_assert(strstr(text, "loopback: verified"), "%s", text);
	cr_assert(strstr(text, "the pattern from scan 0: 655360 in order"), "40 x 16384 scans: %s",
		  text);
	free(text);
	/* a second tx while one plays is refused, naming the owner */
	{
		struct tx_conn t;

		tx_open(&t, &d, 0, false);
		rc = cli(&d, out, err, sizeof(err), "tx", "--device", "sim-dac", "--pattern",
			 "--blocks", "1", NULL);
		cr_assert_neq(rc, 0);
		cr_assert(strstr(err, "being transmitted to by client"), "%s", err);
		close(t.fd);
	}
	free(st);
	wait_dac_idle(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* tx reading a pipe whose writer stalls: the DAC runs dry, and tx says so
 * (in its JSON: the count and where in its samples). */
Test(tx, cli_tx_reports_the_underflow_of_a_stalled_input)
{
	struct daemon d;
	char out[128], fifo[128], *text;
	const char *argv[16];
	uint8_t *buf;
	pid_t pid;
	int fd, rc, status, outfd;

	daemon_start(&d, board);
	snprintf(fifo, sizeof(fifo), "%s/in.fifo", d.dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	snprintf(out, sizeof(out), "%s/tx.json", d.dir);
	argv[0] = IIOSTREAM_CLI_PATH;
	argv[1] = "tx";
	argv[2] = "--url";
	argv[3] = d.url;
	argv[4] = "--device";
	argv[5] = "sim-dac";
	argv[6] = "--input";
	argv[7] = fifo;
	argv[8] = "--prefill";
	argv[9] = "1";
	argv[10] = "--json";
	argv[11] = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		outfd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(outfd, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	fd = open(fifo, O_WRONLY);
	cr_assert_geq(fd, 0);
	buf = calloc(1, 2u << 16);
	cr_assert_not_null(buf);
	/* two blocks (32 ms of play), then nothing until the DAC ran dry */
	cr_assert_eq(write(fd, buf, 2u << 16), (ssize_t)(2u << 16));
	{
		double t0 = mono_s();
		bool dry = false;

		while (!dry) {
			Iiostream__Envelope *e = raw_stats(&d);

			dry = e->stats->tx[0]->underflows > 0;
			iios_frame_free(e);
			cr_assert_lt(mono_s() - t0, HANG_S, "the DAC never ran dry");
			harness_sleep_ms(10);
		}
	}
	cr_assert_eq(write(fd, buf, 2u << 16), (ssize_t)(2u << 16));
	close(fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	text = file_slurp(out, NULL);
	cr_assert_eq(rc, 0, "tx reports underflows and exits 0 (as rx reports losses): %d: %s", rc,
		     text);
	cr_assert(strstr(text, "\"underflows\":1"), "%s", text);
	cr_assert(strstr(text, "\"underflow_positions\":[32768]"),
		  "after its first 2 x 16384 scans: %s", text);
	free(text);
	free(buf);
	wait_dac_idle(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}
