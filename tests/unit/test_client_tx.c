// SPDX-License-Identifier: MIT
/*
 * The client library's transmit side (iios_tx_*) and `iiostream tx`,
 * against a fake server: a thread on a loopback socket speaking the
 * protocol from proto/iiostream.proto, no daemon. What it checks: TxBlock
 * frames arrive whole (head, then exactly payload_len bytes of the caller's
 * data), never beyond the credits; iios_tx_send() waits for a credit;
 * underflows reach the caller; an Error (EBUSY naming the owner) is the
 * caller's errno and message; an older server is -EOPNOTSUPP; blocks of a
 * subscription that arrive while a send waits are kept in order, and a
 * TxStatus arriving in iios_next_block() is taken without breaking RX;
 * Stats.tx and ClientStats.tx_stream_id; the CLI's --pattern blocks are the
 * pattern from scan 0, its underflows counted (exit 4 with
 * --fail-on-underflow); `iiostream rx --verify-loopback` passes silence,
 * pattern, silence and fails a gap.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iiostream.h"
#include "iiostream/frame.h"

#define BLOCK 4096u        /* the fake output device's blocks */
#define SCAN 4u            /* two le:s16/16 channels */
#define RX_BLOCK 1024u     /* the fake ADC's blocks */

/* What the fake server does, and what it saw. */
struct fake {
	/* set by the test */
	uint32_t version;           /* HelloReply.version */
	uint32_t credits0;          /* TxStartReply.credits */
	bool busy;                  /* TxStart: Error EBUSY */
	bool bad_reply;             /* TxStartReply: blocks of 0 bytes */
	bool rx_per_block;          /* a subscription's block before each TxStatus */
	uint64_t underflow_after;   /* the status after this TxBlock reports an underflow */
	uint64_t trailing_after;    /* after this TxBlock: status, block, status
				     * (an underflow), block */
	bool check_pattern;         /* payloads must be the pattern from scan 0 */
	uint64_t end_after;         /* after this TxBlock: Error EIO (the device failed) */
	const uint8_t *capture;     /* sent to a subscriber in RX_BLOCK blocks */
	size_t capture_len;
	/* seen by the server */
	uint64_t blocks, bytes, credits, played, next_scan, rx_sent;
	uint32_t last_flags;
	uint8_t last[BLOCK];        /* the last payload */
	size_t last_len;
	bool subscribed, stopped, stop_drain;
	char fail[256];             /* the first thing that was wrong ("": none) */
	/* private */
	int lfd, port;
	pthread_t th;
	uint64_t underflows, underflow_at;
};

static void fake_fail(struct fake *f, const char *what)
{
	if (!f->fail[0])
		snprintf(f->fail, sizeof(f->fail), "%s", what);
}

static bool read_all(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (uint8_t *)buf + got, n - got);

		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static void send_env(int fd, const Iiostream__Envelope *env, const void *payload, size_t len)
{
	uint8_t buf[4096];
	long n = iios_frame_encode(env, buf, sizeof(buf), IIOS_FRAME_MAX_ENVELOPE);

	if (n > 0 && write(fd, buf, (size_t)n) == n && len)
		(void)!write(fd, payload, len);
}

static void send_status(struct fake *f, int fd)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__TxStatus st = IIOSTREAM__TX_STATUS__INIT;

	st.credits = f->credits;
	st.blocks_played = f->played;
	st.samples_played = f->played * (BLOCK / SCAN);
	st.underflows = f->underflows;
	st.underflow_samples = f->underflows * 100;
	st.underflow_position = f->underflow_at;
	st.blocks_queued = (uint32_t)(f->blocks - f->played);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_STATUS;
	env.tx_status = &st;
	send_env(fd, &env, NULL, 0);
}

/* A block of the subscription: bytes all equal to its sequence. */
static void send_rx_block(struct fake *f, int fd)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__BlockHeader h = IIOSTREAM__BLOCK_HEADER__INIT;
	uint8_t data[RX_BLOCK];

	memset(data, (int)(f->rx_sent & 0xff), sizeof(data));
	h.sequence = f->rx_sent;
	h.first_sample = f->rx_sent * (RX_BLOCK / SCAN);
	h.bytes_used = h.payload_len = RX_BLOCK;
	h.stream_id = 0;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_BLOCK;
	env.block = &h;
	send_env(fd, &env, data, sizeof(data));
	f->rx_sent++;
}

static void on_hello(struct fake *f, int fd)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__HelloReply r = IIOSTREAM__HELLO_REPLY__INIT;
	Iiostream__StreamInfo adc = IIOSTREAM__STREAM_INFO__INIT, dac = IIOSTREAM__STREAM_INFO__INIT;
	Iiostream__StreamInfo *streams[2] = { &adc, &dac };

	adc.stream_id = 0;
	adc.device = "fake-adc";
	adc.id = "sim";
	adc.channels = 2;
	dac.stream_id = 1;
	dac.device = "fake-dac";
	dac.id = "sim-dac";
	dac.channels = 2;
	dac.output = true;
	r.version = f->version;
	r.server_name = "fake";
	r.source = "sim";
	r.device = "fake-adc";
	r.n_streams = 2;
	r.streams = streams;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY;
	env.hello_reply = &r;
	send_env(fd, &env, NULL, 0);
}

/* two channels, no format: le:s16/16 */
static Iiostream__ChannelInfo chan[2] = {
	{ PROTOBUF_C_MESSAGE_INIT(&iiostream__channel_info__descriptor), 0, "voltage0", NULL },
	{ PROTOBUF_C_MESSAGE_INIT(&iiostream__channel_info__descriptor), 1, "voltage1", NULL },
};
static Iiostream__ChannelInfo *chans[2] = { &chan[0], &chan[1] };

static void on_subscribe(struct fake *f, int fd)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__SubscribeReply r = IIOSTREAM__SUBSCRIBE_REPLY__INIT;

	r.block_size = RX_BLOCK;
	r.block_count = 4;
	r.scan_bytes = SCAN;
	r.device = "fake-adc";
	r.n_channels = 2;
	r.channels = chans;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE_REPLY;
	env.subscribe_reply = &r;
	send_env(fd, &env, NULL, 0);
	f->subscribed = true;
	for (size_t off = 0; off < f->capture_len; off += RX_BLOCK) {
		Iiostream__BlockHeader h = IIOSTREAM__BLOCK_HEADER__INIT;

		h.sequence = f->rx_sent++;
		h.first_sample = off / SCAN;
		h.bytes_used = h.payload_len = RX_BLOCK;
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_BLOCK;
		env.block = &h;
		send_env(fd, &env, f->capture + off, RX_BLOCK);
	}
}

static void on_unsubscribe(struct fake *f, int fd)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__UnsubscribeReply r = IIOSTREAM__UNSUBSCRIBE_REPLY__INIT;

	f->subscribed = false;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE_REPLY;
	env.unsubscribe_reply = &r;
	send_env(fd, &env, NULL, 0);
}

/* The context: the ADC and the DAC, with an output channel. */
static void on_devices(int fd)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Devices r = IIOSTREAM__DEVICES__INIT;
	Iiostream__DeviceDesc adc = IIOSTREAM__DEVICE_DESC__INIT, dac = IIOSTREAM__DEVICE_DESC__INIT;
	Iiostream__DeviceDesc *devs[2] = { &adc, &dac };
	Iiostream__ChannelDesc out = IIOSTREAM__CHANNEL_DESC__INIT, *outs = &out;

	adc.id = "sim";
	adc.name = "fake-adc";
	adc.streamed = true;
	dac.id = "sim-dac";
	dac.name = "fake-dac";
	dac.stream_id = 1;
	out.id = "voltage0";
	out.type = "voltage";
	out.output = true;
	out.scan_element = true;
	dac.n_channels = 1;
	dac.channels = &outs;
	r.context = "sim";
	r.n_devices = 2;
	r.devices = devs;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_DEVICES;
	env.devices = &r;
	send_env(fd, &env, NULL, 0);
}

static void on_ping(int fd, const Iiostream__Ping *m)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Pong r = IIOSTREAM__PONG__INIT;

	r.token = m->token;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_PONG;
	env.pong = &r;
	send_env(fd, &env, NULL, 0);
}

static void on_tx_start(struct fake *f, int fd)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__TxStartReply r = IIOSTREAM__TX_START_REPLY__INIT;
	Iiostream__Error e = IIOSTREAM__ERROR__INIT;

	if (f->busy) {
		e.errnum = EBUSY;
		e.message = "fake-dac is transmitting for client 7 (127.0.0.1:40000)";
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_ERROR;
		env.error = &e;
		send_env(fd, &env, NULL, 0);
		return;
	}
	f->credits = f->credits0;
	r.stream_id = 1;
	r.device = "fake-dac";
	r.block_size = f->bad_reply ? 0 : BLOCK;
	r.block_count = 4;
	r.scan_bytes = SCAN;
	r.n_channels = 2;
	r.channels = chans;
	r.sample_rate = 1000000;
	r.credits = f->credits;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_START_REPLY;
	env.tx_start_reply = &r;
	send_env(fd, &env, NULL, 0);
}

/* A TxBlock and its payload: within the credits, the pattern; then one
 * block is "played" (a credit back) and the status said. */
static bool on_tx_block(struct fake *f, int fd, const Iiostream__TxBlock *m)
{
	static uint8_t data[BLOCK], want[BLOCK];
	struct iios_channel ch[2] = { { .index = 0 }, { .index = 1 } };

	if (m->payload_len == 0 || m->payload_len > BLOCK) {
		fake_fail(f, "payload_len out of bounds");
		return false;
	}
	if (!read_all(fd, data, m->payload_len))
		return false;
	if (f->blocks >= f->credits)
		fake_fail(f, "a TxBlock beyond the credits");
	if (f->check_pattern) {
		iios_pattern_scans(want, sizeof(want), f->next_scan, m->payload_len / SCAN, ch, 2);
		if (memcmp(want, data, m->payload_len))
			fake_fail(f, "a payload that is not the pattern in order");
	}
	f->blocks++;
	f->bytes += m->payload_len;
	f->next_scan += m->payload_len / SCAN;
	f->last_flags = m->flags;
	memcpy(f->last, data, m->payload_len);
	f->last_len = m->payload_len;
	f->played++;
	f->credits++;
	if (f->blocks == f->underflow_after) {
		f->underflows++;
		f->underflow_at = f->next_scan;
	}
	if (f->blocks == f->end_after) {
		Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
		Iiostream__Error e = IIOSTREAM__ERROR__INIT;

		e.errnum = EIO;
		e.message = "fake-dac: the device failed";
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_ERROR;
		env.error = &e;
		send_env(fd, &env, NULL, 0);
		return true;
	}
	if (f->subscribed && f->rx_per_block)
		send_rx_block(f, fd);
	send_status(f, fd);
	if (f->blocks == f->trailing_after) {
		send_rx_block(f, fd);
		f->underflows++;
		f->underflow_at = f->next_scan;
		send_status(f, fd);
		send_rx_block(f, fd);
	}
	return true;
}

static void on_tx_stop(struct fake *f, int fd, const Iiostream__TxStop *m)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__TxStopReply r = IIOSTREAM__TX_STOP_REPLY__INIT;
	Iiostream__TxStatus st = IIOSTREAM__TX_STATUS__INIT;

	f->stopped = true;
	f->stop_drain = m->drain;
	st.credits = f->credits;
	st.blocks_played = f->played;
	st.samples_played = f->played * (BLOCK / SCAN);
	st.underflows = f->underflows;
	r.status = &st;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_STOP_REPLY;
	env.tx_stop_reply = &r;
	send_env(fd, &env, NULL, 0);
}

static void on_stats(struct fake *f, int fd)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Stats s = IIOSTREAM__STATS__INIT;
	Iiostream__ClientStats cs = IIOSTREAM__CLIENT_STATS__INIT, *csp = &cs;
	Iiostream__TxStreamStats tx = IIOSTREAM__TX_STREAM_STATS__INIT, *txp = &tx;

	cs.id = 7;
	cs.peer = "127.0.0.1:40000";
	cs.tx_stream_id = f->version >= 3 ? 1 : 0; /* (an older one sends none) */
	tx.stream_id = 1;
	tx.device = "fake-dac";
	tx.id = "sim-dac";
	tx.transmitting = true;
	tx.owner = 7;
	tx.owner_peer = "client 7 (127.0.0.1:40000)"; /* as the daemon names an owner */
	tx.blocks_total = 4;
	tx.blocks_in_device = 3;
	tx.blocks_played = 99;
	tx.underflows = 2;
	tx.underflow_samples = 200;
	tx.cyclic = true;
	tx.on_disconnect = "keep";
	s.n_client = 1;
	s.client = &csp;
	if (f->version >= 3) {
		s.n_tx = 1;
		s.tx = &txp;
	}
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_STATS;
	env.stats = &s;
	send_env(fd, &env, NULL, 0);
}

/* One connection, frame by frame, until the client leaves. */
static void serve(struct fake *f, int fd)
{
	uint8_t head[IIOS_FRAME_PREFIX + IIOS_FRAME_MAX_ENVELOPE];

	for (;;) {
		Iiostream__Envelope *e;
		uint32_t len;
		bool go_on = true;

		if (!read_all(fd, head, 4))
			return;
		len = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 |
		      head[3];
		if (len == 0 || len > IIOS_FRAME_MAX_ENVELOPE || !read_all(fd, head + 4, len) ||
		    iios_frame_parse(head, 4 + len, IIOS_FRAME_MAX_ENVELOPE, &e) <= 0) {
			fake_fail(f, "a frame that does not parse");
			return;
		}
		switch (e->msg_case) {
		case IIOSTREAM__ENVELOPE__MSG_HELLO:
			if (e->hello->version_max != IIOS_PROTOCOL_VERSION)
				fake_fail(f, "Hello does not ask for version 3");
			on_hello(f, fd);
			break;
		case IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE:
			on_subscribe(f, fd);
			break;
		case IIOSTREAM__ENVELOPE__MSG_TX_START:
			on_tx_start(f, fd);
			break;
		case IIOSTREAM__ENVELOPE__MSG_TX_BLOCK:
			go_on = on_tx_block(f, fd, e->tx_block);
			break;
		case IIOSTREAM__ENVELOPE__MSG_TX_STOP:
			on_tx_stop(f, fd, e->tx_stop);
			break;
		case IIOSTREAM__ENVELOPE__MSG_STATS_REQUEST:
			on_stats(f, fd);
			break;
		case IIOSTREAM__ENVELOPE__MSG_PING:
			on_ping(fd, e->ping);
			break;
		case IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE:
			on_unsubscribe(f, fd);
			break;
		case IIOSTREAM__ENVELOPE__MSG_DEVICES_REQUEST:
			on_devices(fd);
			break;
		default:
			fake_fail(f, "an unexpected message");
			break;
		}
		iios_frame_free(e);
		if (!go_on)
			return;
	}
}

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);

	if (fd >= 0) {
		serve(f, fd);
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	if (!f->version)
		f->version = 3;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(f->lfd, 0);
	cr_assert_eq(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(f->lfd, 1), 0);
	cr_assert_eq(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
	f->port = ntohs(a.sin_port);
	cr_assert_eq(pthread_create(&f->th, NULL, fake_thread, f), 0);
}

/* Wait for the server to see the client leave; its verdict. */
static void fake_end(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	cr_assert_str_empty(f->fail, "the fake server saw: %s", f->fail);
}

static struct iios_client *connect_fake(struct fake *f)
{
	struct iios_client *c;
	char url[64], err[256];

	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", f->port);
	cr_assert_eq(iios_connect(url, NULL, &c, err, sizeof(err)), 0, "%s", err);
	return c;
}

Test(client_tx, an_older_server_cannot_transmit)
{
	struct fake f = { .version = 2 };
	struct iios_client *c;

	fake_start(&f);
	c = connect_fake(&f);
	cr_assert_eq(iios_tx_start(c, "fake-dac", NULL, NULL), -EOPNOTSUPP);
	cr_assert(strstr(iios_errmsg(c), "version 3"), "%s", iios_errmsg(c));
	iios_close(c);
	fake_end(&f);
}

Test(client_tx, the_server_info_lists_output_devices)
{
	struct fake f = { 0 };
	const struct iios_server_info *si;
	struct iios_client *c;

	fake_start(&f);
	c = connect_fake(&f);
	si = iios_server_info(c);
	cr_assert_eq(si->version, 3);
	cr_assert_eq(si->n_streams, 2);
	cr_assert_not(si->streams[0].output);
	cr_assert(si->streams[1].output);
	cr_assert_str_eq(si->streams[1].id, "sim-dac");
	iios_close(c);
	fake_end(&f);
}

Test(client_tx, a_busy_device_is_ebusy_naming_its_owner)
{
	struct fake f = { .busy = true };
	struct iios_client *c;

	fake_start(&f);
	c = connect_fake(&f);
	cr_assert_eq(iios_tx_start(c, "fake-dac", NULL, NULL), -EBUSY);
	cr_assert(strstr(iios_errmsg(c), "client 7"), "%s", iios_errmsg(c));
	/* the connection stays usable: the device again, still busy */
	cr_assert_eq(iios_tx_start(c, "fake-dac", NULL, NULL), -EBUSY);
	iios_close(c);
	fake_end(&f);
}

Test(client_tx, an_impossible_output_stream_is_a_protocol_error)
{
	struct fake f = { .bad_reply = true };
	static uint8_t buf[BLOCK];
	struct iios_client *c;

	fake_start(&f);
	c = connect_fake(&f);
	cr_assert_eq(iios_tx_start(c, NULL, NULL, NULL), -EPROTO);
	cr_assert(strstr(iios_errmsg(c), "impossible"), "%s", iios_errmsg(c));
	cr_assert_eq(iios_tx_send(c, buf, BLOCK, 0), -ENOTCONN);
	iios_close(c);
	fake_end(&f);
}

Test(client_tx, blocks_wait_for_credits_and_arrive_whole_and_in_order)
{
	struct fake f = { .credits0 = 2, .check_pattern = true };
	struct iios_tx_options o = { .prefill_blocks = 2 };
	static uint8_t buf[BLOCK];
	struct iios_tx_status st, fin;
	struct iios_tx_info info;
	struct iios_client *c;
	uint64_t scan = 0;
	int i;

	fake_start(&f);
	c = connect_fake(&f);
	cr_assert_eq(iios_tx_start(c, NULL, &o, &info), 0, "%s", iios_errmsg(c));
	cr_assert_eq(info.block_size, BLOCK);
	cr_assert_eq(info.scan_bytes, SCAN);
	cr_assert_eq(info.n_channels, 2);
	cr_assert_str_eq(info.device, "fake-dac");
	cr_assert_eq(iios_tx_status(c, &st), 0);
	cr_assert_eq(st.credits, 2);
	cr_assert_eq(st.credits_free, 2);
	/* refused without sending: the transmission goes on */
	cr_assert_eq(iios_tx_send(c, buf, BLOCK + SCAN, 0), -EMSGSIZE);
	cr_assert_eq(iios_tx_send(c, buf, 6, 0), -EINVAL);
	cr_assert_eq(iios_tx_send(c, buf, 0, 0), -EMSGSIZE);
	cr_assert_eq(iios_tx_send(c, buf, SCAN, 0x80), -EINVAL);
	for (i = 0; i < 20; i++) { /* 18 of them wait for a credit */
		size_t len = i == 19 ? 100 * SCAN : BLOCK;

		iios_pattern_scans(buf, sizeof(buf), scan, (uint32_t)(len / SCAN), info.channels,
				   info.n_channels);
		cr_assert_eq(iios_tx_send(c, buf, len, 0), 0, "block %d: %s", i, iios_errmsg(c));
		scan += len / SCAN;
	}
	cr_assert_eq(iios_tx_status(c, &st), 0);
	cr_assert_eq(st.blocks_sent, 20);
	cr_assert_eq(st.bytes_sent, 19 * BLOCK + 100 * SCAN);
	cr_assert_eq(iios_tx_stop(c, true, &fin), 0, "%s", iios_errmsg(c));
	cr_assert_eq(fin.blocks_played, 20);
	cr_assert_eq(iios_tx_send(c, buf, BLOCK, 0), -EINVAL); /* stopped */
	cr_assert_eq(iios_tx_stop(c, true, NULL), -EINVAL);
	iios_close(c);
	fake_end(&f);
	cr_assert_eq(f.blocks, 20);
	cr_assert(f.stopped && f.stop_drain);
}

Test(client_tx, a_cyclic_block_carries_its_flag)
{
	struct fake f = { .credits0 = 4 };
	static uint8_t buf[BLOCK];
	struct iios_client *c;

	fake_start(&f);
	c = connect_fake(&f);
	cr_assert_eq(iios_tx_start(c, "sim-dac", NULL, NULL), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_tx_start(c, "sim-dac", NULL, NULL), -EALREADY);
	cr_assert_eq(iios_tx_send(c, buf, BLOCK, IIOS_TX_CYCLIC), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_tx_stop(c, false, NULL), 0, "%s", iios_errmsg(c));
	/* a connection may transmit again after a stop */
	cr_assert_eq(iios_tx_start(c, "sim-dac", NULL, NULL), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_tx_stop(c, false, NULL), 0, "%s", iios_errmsg(c));
	iios_close(c);
	fake_end(&f);
	cr_assert_eq(f.last_flags, IIOS_TX_CYCLIC);
	cr_assert_not(f.stop_drain);
}

Test(client_tx, underflows_reach_the_caller)
{
	struct fake f = { .credits0 = 1, .underflow_after = 3 };
	static uint8_t buf[BLOCK];
	struct iios_tx_status st;
	struct iios_client *c;
	int i;

	fake_start(&f);
	c = connect_fake(&f);
	cr_assert_eq(iios_tx_start(c, NULL, NULL, NULL), 0, "%s", iios_errmsg(c));
	for (i = 0; i < 5; i++)
		cr_assert_eq(iios_tx_send(c, buf, BLOCK, 0), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_tx_status(c, &st), 0);
	cr_assert_eq(st.underflows, 1);
	cr_assert_eq(st.underflow_samples, 100);
	cr_assert_eq(st.underflow_position, 3 * (BLOCK / SCAN));
	cr_assert_geq(st.reports, 4);
	cr_assert_eq(iios_tx_stop(c, true, &st), 0);
	cr_assert_eq(st.underflows, 1);
	iios_close(c);
	fake_end(&f);
}

Test(client_tx, receiving_and_transmitting_on_one_connection)
{
	struct fake f = { .credits0 = 1, .rx_per_block = true, .trailing_after = 6 };
	static uint8_t buf[BLOCK];
	struct iios_stream_info si;
	struct iios_tx_status st;
	struct iios_counters k;
	struct iios_block blk;
	struct iios_client *c;
	uint64_t seq;
	int i;

	fake_start(&f);
	c = connect_fake(&f);
	cr_assert_eq(iios_subscribe(c, 0, &si), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_tx_start(c, NULL, NULL, NULL), 0, "%s", iios_errmsg(c));
	/* each send after the first waits for a credit, and reads an RX
	 * block first: kept */
	for (i = 0; i < 6; i++)
		cr_assert_eq(iios_tx_send(c, buf, BLOCK, 0), 0, "%s", iios_errmsg(c));
	/* 6 blocks with the statuses, then block, status (an underflow), block */
	for (seq = 0; seq < 8; seq++) {
		cr_assert_eq(iios_next_block(c, &blk), 0, "block %llu: %s",
			     (unsigned long long)seq, iios_errmsg(c));
		cr_assert_eq(blk.sequence, seq);
		cr_assert_eq(blk.len, RX_BLOCK);
		cr_assert_eq(((const uint8_t *)blk.data)[RX_BLOCK - 1], seq);
	}
	cr_assert_eq(iios_tx_status(c, &st), 0);
	cr_assert_eq(st.underflows, 1, "the status read by iios_next_block() is taken");
	iios_counters(c, &k);
	cr_assert_eq(k.discarded_blocks, 0);
	cr_assert_eq(iios_tx_stop(c, true, NULL), 0, "%s", iios_errmsg(c));
	iios_close(c);
	fake_end(&f);
}

Test(client_tx, the_server_ending_the_transmission_is_its_errno_then_einval)
{
	struct fake f = { .credits0 = 1, .end_after = 2 };
	static uint8_t buf[BLOCK];
	struct iios_tx_status st;
	struct iios_client *c;

	fake_start(&f);
	c = connect_fake(&f);
	cr_assert_eq(iios_tx_start(c, NULL, NULL, NULL), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_tx_send(c, buf, BLOCK, 0), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_tx_send(c, buf, BLOCK, 0), 0, "%s", iios_errmsg(c));
	/* no credit: waits, and reads the end */
	cr_assert_eq(iios_tx_send(c, buf, BLOCK, 0), -EIO);
	cr_assert(strstr(iios_errmsg(c), "the device failed"), "%s", iios_errmsg(c));
	cr_assert_eq(iios_tx_send(c, buf, BLOCK, 0), -EINVAL);
	cr_assert_eq(iios_tx_status(c, &st), 0);
	cr_assert_eq(st.blocks_sent, 2);
	iios_close(c);
	fake_end(&f);
}

Test(client_tx, stats_list_tx_streams_and_who_transmits)
{
	struct fake f = { 0 };
	static struct iios_stats st;
	struct iios_client *c;

	fake_start(&f);
	c = connect_fake(&f);
	cr_assert_eq(iios_stats(c, &st), 0, "%s", iios_errmsg(c));
	cr_assert_eq(st.n_tx, 1);
	cr_assert_str_eq(st.tx[0].id, "sim-dac");
	cr_assert_eq(st.tx[0].owner, 7);
	cr_assert_eq(st.tx[0].blocks_in_device, 3);
	cr_assert_eq(st.tx[0].underflows, 2);
	cr_assert(st.tx[0].cyclic);
	cr_assert_str_eq(st.tx[0].on_disconnect, "keep");
	cr_assert_eq(st.client[0].tx_stream_id, 1);
	iios_close(c);
	fake_end(&f);
}

Test(client_tx, an_older_servers_clients_transmit_nothing)
{
	struct fake f = { .version = 2 };
	static struct iios_stats st;
	struct iios_client *c;

	fake_start(&f);
	c = connect_fake(&f);
	cr_assert_eq(iios_stats(c, &st), 0, "%s", iios_errmsg(c));
	cr_assert_eq(st.n_tx, 0);
	cr_assert_eq(st.client[0].tx_stream_id, -1);
	iios_close(c);
	fake_end(&f);
}

/* `iiostream CMD --url` of the fake server ARGS: exit status, stdout. */
static int run_cmd(struct fake *f, const char *cmd_name, const char *args, char *out, size_t len)
{
	char cmd[512];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s --url tcp://127.0.0.1:%d %s 2>/dev/null",
		 IIOSTREAM_CLI_PATH, cmd_name, f->port, args);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run_cli(struct fake *f, const char *args, char *out, size_t len)
{
	return run_cmd(f, "tx", args, out, len);
}

Test(cli_tx, pattern_blocks_are_the_pattern_from_scan_0)
{
	struct fake f = { .credits0 = 2, .check_pattern = true };
	char out[1024];

	fake_start(&f);
	cr_assert_eq(run_cli(&f, "--pattern --blocks 7 --json", out, sizeof(out)), 0, "%s", out);
	fake_end(&f);
	cr_assert_eq(f.blocks, 7);
	cr_assert_eq(f.next_scan, 7 * (BLOCK / SCAN));
	cr_assert(f.stopped && f.stop_drain);
	cr_assert(strstr(out, "\"blocks\":7,"), "%s", out);
	cr_assert(strstr(out, "\"underflows\":0,"), "%s", out);
}

Test(cli_tx, bytes_and_block_size_limit_what_is_sent)
{
	struct fake f = { .credits0 = 2, .check_pattern = true };
	char out[1024];

	fake_start(&f);
	cr_assert_eq(run_cli(&f, "--pattern --block-size 1024 --bytes 5000 --json", out,
			     sizeof(out)), 0, "%s", out);
	fake_end(&f);
	cr_assert_eq(f.bytes, 5000 / SCAN * SCAN);
	cr_assert_eq(f.blocks, 5); /* 4 of 1024, one of 904 */
}

Test(cli_tx, an_underflow_is_in_the_summary_and_exit_status_4_when_asked)
{
	struct fake f = { .credits0 = 1, .underflow_after = 2 };
	char out[1024];

	fake_start(&f);
	cr_assert_eq(run_cli(&f, "--pattern --blocks 4 --json --fail-on-underflow", out,
			     sizeof(out)), 4, "%s", out);
	fake_end(&f);
	cr_assert(strstr(out, "\"underflows\":1,"), "%s", out);
	cr_assert(strstr(out, "\"underflow_positions\":[2048]"), "%s", out);
}

Test(cli_tx, an_underflow_is_counted_and_exit_status_0_by_default)
{
	struct fake f = { .credits0 = 1, .underflow_after = 2 };
	char out[1024];

	fake_start(&f);
	cr_assert_eq(run_cli(&f, "--pattern --blocks 4 --json", out, sizeof(out)), 0, "%s",
		     out);
	fake_end(&f);
	cr_assert(strstr(out, "\"underflows\":1,"), "%s", out);
}

Test(cli_tx, a_busy_device_is_exit_status_1)
{
	struct fake f = { .busy = true };
	char out[1024];

	fake_start(&f);
	cr_assert_eq(run_cli(&f, "--pattern --blocks 1", out, sizeof(out)), 1, "%s", out);
	fake_end(&f);
}

Test(cli_tx, a_file_is_sent_whole_in_s16_format)
{
	struct fake f = { .credits0 = 2 };
	char path[] = "/tmp/iios_tx_XXXXXX", args[128], out[1024];
	int16_t v[3000];
	int fd = mkstemp(path);
	size_t i;

	cr_assert_geq(fd, 0);
	for (i = 0; i < 3000; i++)
		v[i] = (int16_t)i;
	cr_assert_eq(write(fd, v, sizeof(v)), (ssize_t)sizeof(v));
	close(fd);
	fake_start(&f);
	snprintf(args, sizeof(args), "--input %s --format s16 --json", path);
	cr_assert_eq(run_cli(&f, args, out, sizeof(out)), 0, "%s", out);
	fake_end(&f);
	unlink(path);
	cr_assert_eq(f.bytes, sizeof(v)); /* s16 of 16-bit channels: the same bytes */
	cr_assert_eq(f.blocks, 2);
}

/* A capture of 64 blocks: silence, the pattern from scan 0, silence; a
 * gap of `gap` silent scans inside the pattern when not 0. */
static uint8_t *loopback_capture(size_t *len, uint32_t gap)
{
	struct iios_channel ch[2] = { { .index = 0 }, { .index = 1 } };
	size_t scans = 64 * RX_BLOCK / SCAN;
	uint8_t *c = calloc(scans, SCAN);

	cr_assert_not_null(c);
	/* 1000 silent, 10000 pattern (with the gap), the rest silent */
	iios_pattern_scans(c + 1000 * SCAN, 5000 * SCAN, 0, 5000, ch, 2);
	iios_pattern_scans(c + (6000 + gap) * SCAN, 5000 * SCAN, 5000, 5000, ch, 2);
	*len = scans * SCAN;
	return c;
}

Test(cli_rx, verify_loopback_passes_silence_pattern_silence)
{
	struct fake f = { 0 };
	char out[2048];
	uint8_t *cap = loopback_capture(&f.capture_len, 0);

	f.capture = cap;
	fake_start(&f);
	cr_assert_eq(run_cmd(&f, "rx", "--verify-loopback --blocks 64 --json --quiet", out,
			     sizeof(out)), 0, "%s", out);
	fake_end(&f);
	free(cap);
	cr_assert(strstr(out, "\"verified\":true,\"scans\":16384,\"silent_before\":1000,"
			      "\"started\":true,\"first_index\":0,\"matched\":10000,"
			      "\"silent_after\":5384,\"gaps\":0"), "%s", out);
}

Test(cli_rx, verify_loopback_fails_on_a_gap)
{
	struct fake f = { 0 };
	char out[2048];
	uint8_t *cap = loopback_capture(&f.capture_len, 300);

	f.capture = cap;
	fake_start(&f);
	cr_assert_eq(run_cmd(&f, "rx", "--verify-loopback --blocks 64", out, sizeof(out)), 3,
		     "%s", out);
	fake_end(&f);
	free(cap);
	cr_assert(strstr(out, "loopback: FAILED"), "%s", out);
	cr_assert(strstr(out, "after 300 silent scans"), "%s", out);
}

Test(cli_info, output_devices_are_listed_with_their_direction)
{
	struct fake f = { 0 };
	char out[8192];

	fake_start(&f);
	cr_assert_eq(run_cmd(&f, "info", "", out, sizeof(out)), 0, "%s", out);
	fake_end(&f);
	cr_assert(strstr(out, "stream 0: fake-adc [sim] (): input,"), "%s", out);
	cr_assert(strstr(out, "stream 1: fake-dac [sim-dac] (): output (transmit"), "%s", out);
	cr_assert(strstr(out, "output: transmitted to by this server (stream 1)"), "%s", out);
	cr_assert(strstr(out, "out voltage0"), "%s", out);
}

Test(cli_stats, tx_streams_and_their_owners)
{
	struct fake f = { 0 };
	char out[8192];

	fake_start(&f);
	cr_assert_eq(run_cmd(&f, "stats", "", out, sizeof(out)), 0, "%s", out);
	fake_end(&f);
	cr_assert(strstr(out, "tx stream 1 fake-dac [sim-dac]: 0 scans/s, transmitting for "
			      "client 7 (127.0.0.1:40000), 3/4 blocks in device (credits in use), "
			      "0 received, 99 played (0 bytes), 2 underflows (200 scans of "
			      "silence), cyclic, on disconnect: keep"), "%s", out);
	cr_assert(strstr(out, "client 7 127.0.0.1:40000 [tx stream 1]"), "%s", out);
}

Test(cli_tx, a_cyclic_block_is_replaced_by_a_file_after_a_while)
{
	struct fake f = { .credits0 = 4, .check_pattern = false };
	char path[] = "/tmp/iios_tx_XXXXXX", args[256], out[1024];
	uint8_t b[2048];
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	memset(b, 0x5a, sizeof(b));
	cr_assert_eq(write(fd, b, sizeof(b)), (ssize_t)sizeof(b));
	close(fd);
	fake_start(&f);
	snprintf(args, sizeof(args), "--pattern --cyclic --block-size 4096 --duration 0.6 "
		 "--replace-after 0.2 %s --json", path);
	cr_assert_eq(run_cli(&f, args, out, sizeof(out)), 0, "%s", out);
	fake_end(&f);
	unlink(path);
	cr_assert_eq(f.blocks, 2);
	cr_assert_eq(f.last_flags, IIOS_TX_CYCLIC);
	cr_assert_eq(f.last_len, sizeof(b));
	cr_assert_eq(memcmp(f.last, b, sizeof(b)), 0);
	cr_assert_not(f.stop_drain, "a looping block is stopped, not drained");
	cr_assert(strstr(out, "\"cyclic\":true"), "%s", out);
}
