// SPDX-License-Identifier: MIT
/*
 * The client library against a scripted fake server on loopback: what it
 * does with a server that breaks the protocol. Each case must end in a clear
 * error, never a crash, a hang or a read past a bound.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

enum fake_misdeed {
	FAKE_BLOCK_LONGER_THAN_STREAM,  /* payload_len > announced block_size */
	FAKE_LENGTH_OUT_OF_BOUNDS,      /* a frame length of 2^31 */
	FAKE_GARBAGE_ENVELOPE,          /* bytes that are not protobuf */
	FAKE_HANGS_UP_MID_PAYLOAD,      /* closes half way through a block */
	FAKE_WRONG_VERSION,             /* HelloReply with version 7 */
	FAKE_SILENT,                    /* accepts and never answers */
	FAKE_VERSION_1,                 /* an older server: version 1, one block */
	FAKE_BLOCK_OF_ANOTHER_STREAM,   /* a block of a stream never subscribed */
};

struct fake {
	int listen_fd;
	uint16_t port;
	enum fake_misdeed misdeed;
};

static void send_env(int fd, Iiostream__Envelope *env)
{
	uint8_t buf[512];
	long n = iios_frame_encode(env, buf, sizeof(buf), sizeof(buf));

	if (n > 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL) < 0)
		return;
}

static void skip_frame(int fd)
{
	uint8_t head[4], body[1024];
	uint32_t len;

	if (recv(fd, head, 4, MSG_WAITALL) != 4)
		return;
	len = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
	if (len <= sizeof(body))
		recv(fd, body, len, MSG_WAITALL);
}

/* Hold the connection until the client hangs up (or HANG_S, a hang). */
static void until_client_leaves(int fd)
{
	struct timeval tv = { HANG_S, 0 };
	uint8_t sink[4096];

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (recv(fd, sink, sizeof(sink), 0) > 0)
		;
}

static void *fake_server(void *arg)
{
	struct fake *f = arg;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__HelloReply hr = IIOSTREAM__HELLO_REPLY__INIT;
	Iiostream__SubscribeReply sr = IIOSTREAM__SUBSCRIBE_REPLY__INIT;
	Iiostream__BlockHeader bh = IIOSTREAM__BLOCK_HEADER__INIT;
	static const uint8_t huge[] = { 0x80, 0, 0, 0 };
	static const uint8_t garbage[] = { 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff };
	uint8_t payload[2048] = { 0 };
	int fd = accept(f->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (f->misdeed == FAKE_SILENT) {
		/* silent until the client gives up: however late that is on a
		 * loaded machine, it must be its timeout that ends it */
		until_client_leaves(fd);
		close(fd);
		return NULL;
	}
	skip_frame(fd); /* Hello */
	hr.version = f->misdeed == FAKE_WRONG_VERSION ? 7
		     : f->misdeed == FAKE_VERSION_1   ? 1
						      : IIOS_PROTOCOL_VERSION;
	hr.server_name = "fake";
	hr.source = "sim";
	hr.device = "first-adc";
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY;
	env.hello_reply = &hr;
	send_env(fd, &env);
	if (f->misdeed == FAKE_WRONG_VERSION)
		goto out;
	skip_frame(fd); /* Subscribe */
	sr.block_size = 4096;
	sr.block_count = 4;
	sr.scan_bytes = 4;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE_REPLY;
	env.subscribe_reply = &sr;
	send_env(fd, &env);
	switch (f->misdeed) {
	case FAKE_BLOCK_LONGER_THAN_STREAM:
		bh.payload_len = bh.bytes_used = 8192;
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_BLOCK;
		env.block = &bh;
		send_env(fd, &env);
		break;
	case FAKE_VERSION_1:
	case FAKE_BLOCK_OF_ANOTHER_STREAM:
		bh.payload_len = bh.bytes_used = 4096;
		bh.stream_id = f->misdeed == FAKE_VERSION_1 ? 0 : 3;
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_BLOCK;
		env.block = &bh;
		send_env(fd, &env);
		send(fd, payload, sizeof(payload), MSG_NOSIGNAL); /* 2 x 2048 */
		send(fd, payload, sizeof(payload), MSG_NOSIGNAL);
		break;
	case FAKE_LENGTH_OUT_OF_BOUNDS:
		send(fd, huge, sizeof(huge), MSG_NOSIGNAL);
		break;
	case FAKE_GARBAGE_ENVELOPE:
		send(fd, garbage, sizeof(garbage), MSG_NOSIGNAL);
		break;
	case FAKE_HANGS_UP_MID_PAYLOAD:
		bh.payload_len = bh.bytes_used = 4096;
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_BLOCK;
		env.block = &bh;
		send_env(fd, &env);
		send(fd, payload, sizeof(payload), MSG_NOSIGNAL);
		close(fd); /* half way through the block */
		return NULL;
	default:
		break;
	}
out:
	/* the client reads the misdeed and hangs up; only then do we */
	until_client_leaves(fd);
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f, pthread_t *th, enum fake_misdeed m)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	f->misdeed = m;
	f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(f->listen_fd >= 0);
	cr_assert_eq(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f->listen_fd, 1), 0);
	cr_assert_eq(getsockname(f->listen_fd, (struct sockaddr *)&sa, &sl), 0);
	f->port = ntohs(sa.sin_port);
	cr_assert_eq(pthread_create(th, NULL, fake_server, f), 0);
}

static void fake_finish(struct fake *f, pthread_t th)
{
	pthread_join(th, NULL);
	close(f->listen_fd);
}

/* Connect and subscribe to the fake, then ask for a block. */
static int next_block_from(enum fake_misdeed m, char *msg, size_t msglen)
{
	struct iios_options opts = { .timeout_ms = HANG_MS };
	struct iios_stream_info info;
	struct iios_client *c;
	struct iios_block blk;
	struct fake f;
	pthread_t th;
	char url[64], err[256];
	int r;

	fake_start(&f, &th, m);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", f.port);
	cr_assert_eq(iios_connect(url, &opts, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	cr_assert_eq(info.block_size, 4096);
	r = iios_next_block(c, &blk);
	snprintf(msg, msglen, "%s", iios_errmsg(c));
	/* After a framing error the connection is dead for good. */
	if (r)
		cr_assert_eq(iios_next_block(c, &blk), -ENOTCONN);
	iios_close(c);
	fake_finish(&f, th);
	return r;
}

Test(client, refuses_a_payload_longer_than_the_stream_announced)
{
	char msg[256];

	cr_assert_eq(next_block_from(FAKE_BLOCK_LONGER_THAN_STREAM, msg, sizeof(msg)), -EMSGSIZE);
	cr_assert(strstr(msg, "larger than the stream allows"), "%s", msg);
}

Test(client, refuses_a_frame_length_out_of_bounds)
{
	char msg[256];

	cr_assert_eq(next_block_from(FAKE_LENGTH_OUT_OF_BOUNDS, msg, sizeof(msg)), -EMSGSIZE);
	cr_assert(strstr(msg, "out of bounds"), "%s", msg);
}

Test(client, refuses_an_envelope_that_does_not_decode)
{
	char msg[256];

	cr_assert_eq(next_block_from(FAKE_GARBAGE_ENVELOPE, msg, sizeof(msg)), -EBADMSG);
}

Test(client, reports_a_server_gone_mid_payload)
{
	char msg[256];

	cr_assert_eq(next_block_from(FAKE_HANGS_UP_MID_PAYLOAD, msg, sizeof(msg)), -ECONNRESET);
	cr_assert(strstr(msg, "payload"), "%s", msg);
}

Test(client, refuses_a_server_that_picks_an_unknown_version)
{
	struct iios_client *c;
	struct fake f;
	pthread_t th;
	char url[64], err[256];

	fake_start(&f, &th, FAKE_WRONG_VERSION);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", f.port);
	cr_assert_eq(iios_connect(url, NULL, &c, err, sizeof(err)), -EPROTONOSUPPORT);
	cr_assert_null(c);
	cr_assert(strstr(err, "version 7"), "%s", err);
	fake_finish(&f, th);
}

Test(client, gives_up_on_a_silent_server_after_its_timeout)
{
	struct iios_options opts = { .timeout_ms = 300 };
	struct iios_client *c;
	struct fake f;
	pthread_t th;
	char url[64], err[256];
	double t0;

	fake_start(&f, &th, FAKE_SILENT);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", f.port);
	t0 = mono_s();
	cr_assert_eq(iios_connect(url, &opts, &c, err, sizeof(err)), -ETIMEDOUT, "%s", err);
	cr_assert(strstr(err, "300 ms"), "%s", err);
	cr_assert_geq(mono_s() - t0, 0.3, "gave up after %.3f s, before its timeout", mono_s() - t0);
	fake_finish(&f, th);
}

Test(client, refuses_a_block_of_a_stream_it_did_not_subscribe_to)
{
	char msg[256];

	cr_assert_eq(next_block_from(FAKE_BLOCK_OF_ANOTHER_STREAM, msg, sizeof(msg)), -EPROTO);
	cr_assert(strstr(msg, "stream 3"), "%s", msg);
}

Test(client, streams_the_first_device_of_a_version_1_server_and_refuses_others)
{
	struct iios_options opts = { .timeout_ms = HANG_MS };
	const struct iios_server_info *si;
	struct iios_stream_info info;
	struct iios_client *c;
	struct iios_block blk;
	struct fake f;
	pthread_t th;
	char url[64], err[256];

	fake_start(&f, &th, FAKE_VERSION_1);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", f.port);
	cr_assert_eq(iios_connect(url, &opts, &c, err, sizeof(err)), 0, "%s", err);
	si = iios_server_info(c);
	cr_assert_eq(si->version, 1);
	cr_assert_eq(si->n_streams, 1, "its one device is listed");
	cr_assert_str_eq(si->streams[0].device, "first-adc");
	cr_assert_str_eq(si->streams[0].source, "sim");
	/* another device: refused here, nothing sent (the fake would answer) */
	cr_assert_eq(iios_subscribe_device(c, "second-adc", 0, NULL, 0, &info), -EOPNOTSUPP);
	cr_assert(strstr(iios_errmsg(c), "protocol version 1"), "%s", iios_errmsg(c));
	cr_assert(strstr(iios_errmsg(c), "second-adc"), "%s", iios_errmsg(c));
	/* its first device by name is what a version-1 Subscribe gets */
	cr_assert_eq(iios_subscribe_device(c, "first-adc", 0, NULL, 0, &info), 0, "%s",
		     iios_errmsg(c));
	cr_assert_eq(info.stream_id, 0);
	cr_assert_eq(iios_subscribe(c, 0, &info), -EALREADY);
	cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
	cr_assert_eq(blk.stream_id, 0);
	cr_assert_eq(blk.len, 4096);
	iios_close(c);
	fake_finish(&f, th);
}
