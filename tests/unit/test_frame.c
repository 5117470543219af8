// SPDX-License-Identifier: MIT
/*
 * The framing codec (common/src/frame.c): every message type survives an
 * encode/parse round trip, and the parser is fed whole frames, frames byte by
 * byte, every truncation, frames back to back, and hostile bytes.
 *
 * Input buffers are heap copies of exactly `avail` bytes, so AddressSanitizer
 * catches any read past what the parser was given.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iiostream/frame.h"

#define MAX_ENV IIOS_FRAME_MAX_ENVELOPE

/* ---- sample messages, one per Envelope type ------------------------------ */

static Iiostream__Hello s_hello = IIOSTREAM__HELLO__INIT;
static Iiostream__HelloReply s_hello_reply = IIOSTREAM__HELLO_REPLY__INIT;
static Iiostream__Subscribe s_subscribe = IIOSTREAM__SUBSCRIBE__INIT;
static Iiostream__ScanFormat s_fmt[2] = { IIOSTREAM__SCAN_FORMAT__INIT,
					  IIOSTREAM__SCAN_FORMAT__INIT };
static Iiostream__ChannelInfo s_chan[2] = { IIOSTREAM__CHANNEL_INFO__INIT,
					    IIOSTREAM__CHANNEL_INFO__INIT };
static Iiostream__ChannelInfo *s_chan_ptrs[2] = { &s_chan[0], &s_chan[1] };
static Iiostream__SubscribeReply s_subscribe_reply = IIOSTREAM__SUBSCRIBE_REPLY__INIT;
static Iiostream__Unsubscribe s_unsubscribe = IIOSTREAM__UNSUBSCRIBE__INIT;
static Iiostream__UnsubscribeReply s_unsubscribe_reply = IIOSTREAM__UNSUBSCRIBE_REPLY__INIT;
static Iiostream__BlockHeader s_block = IIOSTREAM__BLOCK_HEADER__INIT;
static Iiostream__Ping s_ping = IIOSTREAM__PING__INIT;
static Iiostream__Pong s_pong = IIOSTREAM__PONG__INIT;
static Iiostream__StatsRequest s_stats_request = IIOSTREAM__STATS_REQUEST__INIT;
static Iiostream__SourceStats s_source_stats = IIOSTREAM__SOURCE_STATS__INIT;
static Iiostream__ClientStats s_client_stats[2] = { IIOSTREAM__CLIENT_STATS__INIT,
						    IIOSTREAM__CLIENT_STATS__INIT };
static Iiostream__ClientStats *s_client_ptrs[2] = { &s_client_stats[0], &s_client_stats[1] };
static Iiostream__Stats s_stats = IIOSTREAM__STATS__INIT;
static Iiostream__Error s_error = IIOSTREAM__ERROR__INIT;
static Iiostream__Bye s_bye = IIOSTREAM__BYE__INIT;

#define N_TYPES 13
static Iiostream__Envelope s_env[N_TYPES];

static void build_samples(void)
{
	size_t i;

	s_hello.magic = IIOS_PROTOCOL_MAGIC;
	s_hello.version_min = 1;
	s_hello.version_max = 7;
	s_hello.client_name = "unit-test";

	s_hello_reply.version = IIOS_PROTOCOL_VERSION;
	s_hello_reply.server_name = "iiostreamd 0.1.0";
	s_hello_reply.source = "sim";
	s_hello_reply.device = "iiostream-sim";

	s_subscribe.max_queue_blocks = 17;

	for (i = 0; i < 2; i++) {
		s_fmt[i].is_signed = i == 0;
		s_fmt[i].bits = 12 + (uint32_t)i;
		s_fmt[i].storage_bits = 16;
		s_fmt[i].shift = 2 + (uint32_t)i;
		s_fmt[i].big_endian = i == 1;
		s_chan[i].index = (uint32_t)i;
		s_chan[i].id = i ? "voltage1" : "voltage0";
		s_chan[i].format = &s_fmt[i];
	}
	s_subscribe_reply.block_size = 1048576;
	s_subscribe_reply.block_count = 8;
	s_subscribe_reply.sample_rate = 5000000000ull; /* beyond 32 bits */
	s_subscribe_reply.scan_bytes = 4;
	s_subscribe_reply.n_channels = 2;
	s_subscribe_reply.channels = s_chan_ptrs;
	s_subscribe_reply.max_queue_blocks = 4;
	s_subscribe_reply.device = "iiostream-sim";

	s_block.block_id = 7;
	s_block.bytes_used = 65536;
	s_block.timestamp_ns = 0x123456789abcdef0ull;
	s_block.flags = IIOSTREAM__BLOCK_FLAG__BLOCK_FLAG_TIMESTAMP_VALID |
			IIOSTREAM__BLOCK_FLAG__BLOCK_FLAG_OVERFLOW;
	s_block.sequence = 0x100000001ull;
	s_block.lost_before = 3;
	s_block.payload_len = 65536;
	s_block.first_sample = 0xfffffffffffull;
	s_block.lost_samples = 0x200000002ull;

	s_ping.token = 0xdeadbeefcafef00dull;
	s_pong.token = 0xdeadbeefcafef00dull;
	s_pong.server_time_ns = 42000000000ull;

	s_source_stats.name = "sim";
	s_source_stats.blocks_total = 8;
	s_source_stats.blocks_in_source = 5;
	s_source_stats.blocks_held = 3;
	s_source_stats.blocks_produced = 1000000000000ull;
	s_source_stats.bytes_produced = 2000000000000ull;
	s_source_stats.overflows = 11;
	s_source_stats.lost_samples = 12345;
	s_source_stats.enabled = 1;
	for (i = 0; i < 2; i++) {
		s_client_stats[i].id = 100 + (uint32_t)i;
		s_client_stats[i].peer = i ? "[::1]:40000" : "127.0.0.1:50000";
		s_client_stats[i].subscribed = i == 0;
		s_client_stats[i].blocks_sent = 10 + i;
		s_client_stats[i].bytes_sent = 5000000000ull + i;
		s_client_stats[i].blocks_skipped = 2 + i;
		s_client_stats[i].queue_blocks = 3 + (uint32_t)i;
		s_client_stats[i].transport = "copy";
	}
	s_stats.uptime_ns = 987654321012ull;
	s_stats.source = &s_source_stats;
	s_stats.clients = 2;
	s_stats.subscribers = 1;
	s_stats.n_client = 2;
	s_stats.client = s_client_ptrs;
	s_stats.blocks_skipped_total = 5;
	s_stats.clients_total = 9;
	s_stats.protocol_errors = 1;

	s_error.errnum = EPROTO;
	s_error.message = "unexpected message";

	s_bye.reason = "shutting down";

	for (i = 0; i < N_TYPES; i++)
		iiostream__envelope__init(&s_env[i]);
	s_env[0].msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO;
	s_env[0].hello = &s_hello;
	s_env[1].msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY;
	s_env[1].hello_reply = &s_hello_reply;
	s_env[2].msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE;
	s_env[2].subscribe = &s_subscribe;
	s_env[3].msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE_REPLY;
	s_env[3].subscribe_reply = &s_subscribe_reply;
	s_env[4].msg_case = IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE;
	s_env[4].unsubscribe = &s_unsubscribe;
	s_env[5].msg_case = IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE_REPLY;
	s_env[5].unsubscribe_reply = &s_unsubscribe_reply;
	s_env[6].msg_case = IIOSTREAM__ENVELOPE__MSG_BLOCK;
	s_env[6].block = &s_block;
	s_env[7].msg_case = IIOSTREAM__ENVELOPE__MSG_PING;
	s_env[7].ping = &s_ping;
	s_env[8].msg_case = IIOSTREAM__ENVELOPE__MSG_PONG;
	s_env[8].pong = &s_pong;
	s_env[9].msg_case = IIOSTREAM__ENVELOPE__MSG_STATS_REQUEST;
	s_env[9].stats_request = &s_stats_request;
	s_env[10].msg_case = IIOSTREAM__ENVELOPE__MSG_STATS;
	s_env[10].stats = &s_stats;
	s_env[11].msg_case = IIOSTREAM__ENVELOPE__MSG_ERROR;
	s_env[11].error = &s_error;
	s_env[12].msg_case = IIOSTREAM__ENVELOPE__MSG_BYE;
	s_env[12].bye = &s_bye;
}

TestSuite(frame, .init = build_samples);

/* ---- helpers ------------------------------------------------------------- */

/* A heap copy of exactly n bytes (at least 1 allocated so malloc is valid). */
static uint8_t *exact_copy(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	cr_assert_not_null(p);
	if (n)
		memcpy(p, src, n);
	return p;
}

/* Encode env into a fresh heap buffer; *len gets the frame head length. */
static uint8_t *encode(const Iiostream__Envelope *env, size_t *len)
{
	uint8_t *buf = malloc(MAX_ENV + IIOS_FRAME_PREFIX);
	long n;

	cr_assert_not_null(buf);
	n = iios_frame_encode(env, buf, MAX_ENV + IIOS_FRAME_PREFIX, MAX_ENV);
	cr_assert_gt(n, (long)IIOS_FRAME_PREFIX, "encode failed: %ld", n);
	*len = (size_t)n;
	return buf;
}

/* Parse a whole frame (given exactly) back; asserts all of it was consumed. */
static Iiostream__Envelope *parse_whole(const uint8_t *frame, size_t len)
{
	uint8_t *copy = exact_copy(frame, len);
	Iiostream__Envelope *env = NULL;
	long n = iios_frame_parse(copy, len, MAX_ENV, &env);

	free(copy);
	cr_assert_eq(n, (long)len, "parse returned %ld, frame is %zu bytes", n, len);
	cr_assert_not_null(env);
	return env;
}

static Iiostream__Envelope *round_trip(const Iiostream__Envelope *env)
{
	size_t len;
	uint8_t *buf = encode(env, &len);
	Iiostream__Envelope *out;
	uint32_t prefix = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
			  (uint32_t)buf[2] << 8 | buf[3];

	/* The prefix is the big-endian length of the Envelope that follows. */
	cr_assert_eq(prefix, len - IIOS_FRAME_PREFIX);
	cr_assert_eq(prefix, iiostream__envelope__get_packed_size(env));
	out = parse_whole(buf, len);
	free(buf);
	cr_assert_eq(out->msg_case, env->msg_case);
	return out;
}

/* Parse raw Envelope bytes wrapped in a correct length prefix. */
static long parse_raw_envelope(const uint8_t *body, size_t n, Iiostream__Envelope **env)
{
	uint8_t *frame = malloc(IIOS_FRAME_PREFIX + n);
	long r;

	cr_assert_not_null(frame);
	frame[0] = (uint8_t)(n >> 24);
	frame[1] = (uint8_t)(n >> 16);
	frame[2] = (uint8_t)(n >> 8);
	frame[3] = (uint8_t)n;
	memcpy(frame + IIOS_FRAME_PREFIX, body, n);
	r = iios_frame_parse(frame, IIOS_FRAME_PREFIX + n, MAX_ENV, env);
	free(frame);
	return r;
}

/* A Bye whose Envelope packs to exactly `target` bytes (reason is malloc'ed). */
static void make_bye_of_size(Iiostream__Envelope *env, Iiostream__Bye *bye, size_t target)
{
	size_t s = target > 16 ? target - 16 : 1;
	size_t got;

	iiostream__envelope__init(env);
	iiostream__bye__init(bye);
	env->msg_case = IIOSTREAM__ENVELOPE__MSG_BYE;
	env->bye = bye;
	for (;;) {
		bye->reason = malloc(s + 1);
		cr_assert_not_null(bye->reason);
		memset(bye->reason, 'x', s);
		bye->reason[s] = '\0';
		got = iiostream__envelope__get_packed_size(env);
		if (got == target)
			return;
		free(bye->reason);
		cr_assert_lt(got, target, "cannot build a Bye of %zu bytes", target);
		s++;
	}
}

/* ---- round trips --------------------------------------------------------- */

Test(frame, round_trips_hello)
{
	Iiostream__Envelope *e = round_trip(&s_env[0]);

	cr_assert_eq(e->hello->magic, IIOS_PROTOCOL_MAGIC);
	cr_assert_eq(e->hello->version_min, 1);
	cr_assert_eq(e->hello->version_max, 7);
	cr_assert_str_eq(e->hello->client_name, "unit-test");
	iios_frame_free(e);
}

Test(frame, round_trips_hello_reply)
{
	Iiostream__Envelope *e = round_trip(&s_env[1]);

	cr_assert_eq(e->hello_reply->version, IIOS_PROTOCOL_VERSION);
	cr_assert_str_eq(e->hello_reply->server_name, "iiostreamd 0.1.0");
	cr_assert_str_eq(e->hello_reply->source, "sim");
	cr_assert_str_eq(e->hello_reply->device, "iiostream-sim");
	iios_frame_free(e);
}

Test(frame, round_trips_subscribe)
{
	Iiostream__Envelope *e = round_trip(&s_env[2]);

	cr_assert_eq(e->subscribe->max_queue_blocks, 17);
	iios_frame_free(e);
}

Test(frame, round_trips_subscribe_reply_with_channels)
{
	Iiostream__Envelope *e = round_trip(&s_env[3]);
	Iiostream__SubscribeReply *r = e->subscribe_reply;
	size_t i;

	cr_assert_eq(r->block_size, 1048576);
	cr_assert_eq(r->block_count, 8);
	cr_assert_eq(r->sample_rate, 5000000000ull);
	cr_assert_eq(r->scan_bytes, 4);
	cr_assert_eq(r->max_queue_blocks, 4);
	cr_assert_str_eq(r->device, "iiostream-sim");
	cr_assert_eq(r->n_channels, 2);
	for (i = 0; i < 2; i++) {
		Iiostream__ChannelInfo *c = r->channels[i];

		cr_assert_eq(c->index, i);
		cr_assert_str_eq(c->id, s_chan[i].id);
		cr_assert_not_null(c->format);
		cr_assert_eq(!!c->format->is_signed, i == 0);
		cr_assert_eq(c->format->bits, 12 + i);
		cr_assert_eq(c->format->storage_bits, 16);
		cr_assert_eq(c->format->shift, 2 + i);
		cr_assert_eq(!!c->format->big_endian, i == 1);
	}
	iios_frame_free(e);
}

Test(frame, round_trips_unsubscribe_and_its_reply)
{
	Iiostream__Envelope *e = round_trip(&s_env[4]);

	cr_assert_not_null(e->unsubscribe);
	iios_frame_free(e);
	e = round_trip(&s_env[5]);
	cr_assert_not_null(e->unsubscribe_reply);
	iios_frame_free(e);
}

Test(frame, round_trips_block_header_with_all_fields)
{
	Iiostream__Envelope *e = round_trip(&s_env[6]);
	Iiostream__BlockHeader *b = e->block;

	cr_assert_eq(b->block_id, 7);
	cr_assert_eq(b->bytes_used, 65536);
	cr_assert_eq(b->timestamp_ns, 0x123456789abcdef0ull);
	cr_assert_eq(b->flags, 3);
	cr_assert_eq(b->sequence, 0x100000001ull);
	cr_assert_eq(b->lost_before, 3);
	cr_assert_eq(b->payload_len, 65536);
	cr_assert_eq(b->first_sample, 0xfffffffffffull);
	cr_assert_eq(b->lost_samples, 0x200000002ull);
	iios_frame_free(e);
}

Test(frame, round_trips_ping_and_pong)
{
	Iiostream__Envelope *e = round_trip(&s_env[7]);

	cr_assert_eq(e->ping->token, 0xdeadbeefcafef00dull);
	iios_frame_free(e);
	e = round_trip(&s_env[8]);
	cr_assert_eq(e->pong->token, 0xdeadbeefcafef00dull);
	cr_assert_eq(e->pong->server_time_ns, 42000000000ull);
	iios_frame_free(e);
}

Test(frame, round_trips_ping_with_zero_token)
{
	/* All-default inner message: the Envelope still says "ping". */
	Iiostream__Ping ping = IIOSTREAM__PING__INIT;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Envelope *e;

	env.msg_case = IIOSTREAM__ENVELOPE__MSG_PING;
	env.ping = &ping;
	e = round_trip(&env);
	cr_assert_eq(e->ping->token, 0);
	iios_frame_free(e);
}

Test(frame, round_trips_stats_request)
{
	Iiostream__Envelope *e = round_trip(&s_env[9]);

	cr_assert_not_null(e->stats_request);
	iios_frame_free(e);
}

Test(frame, round_trips_stats_with_source_and_clients)
{
	Iiostream__Envelope *e = round_trip(&s_env[10]);
	Iiostream__Stats *st = e->stats;
	Iiostream__SourceStats *src = st->source;
	size_t i;

	cr_assert_eq(st->uptime_ns, 987654321012ull);
	cr_assert_eq(st->clients, 2);
	cr_assert_eq(st->subscribers, 1);
	cr_assert_eq(st->blocks_skipped_total, 5);
	cr_assert_eq(st->clients_total, 9);
	cr_assert_eq(st->protocol_errors, 1);
	cr_assert_not_null(src);
	cr_assert_str_eq(src->name, "sim");
	cr_assert_eq(src->blocks_total, 8);
	cr_assert_eq(src->blocks_in_source, 5);
	cr_assert_eq(src->blocks_held, 3);
	cr_assert_eq(src->blocks_produced, 1000000000000ull);
	cr_assert_eq(src->bytes_produced, 2000000000000ull);
	cr_assert_eq(src->overflows, 11);
	cr_assert_eq(src->lost_samples, 12345);
	cr_assert(src->enabled);
	cr_assert_eq(st->n_client, 2);
	for (i = 0; i < 2; i++) {
		Iiostream__ClientStats *c = st->client[i];

		cr_assert_eq(c->id, 100 + i);
		cr_assert_str_eq(c->peer, s_client_stats[i].peer);
		cr_assert_eq(!!c->subscribed, i == 0);
		cr_assert_eq(c->blocks_sent, 10 + i);
		cr_assert_eq(c->bytes_sent, 5000000000ull + i);
		cr_assert_eq(c->blocks_skipped, 2 + i);
		cr_assert_eq(c->queue_blocks, 3 + i);
		cr_assert_str_eq(c->transport, "copy");
	}
	iios_frame_free(e);
}

Test(frame, round_trips_error)
{
	Iiostream__Envelope *e = round_trip(&s_env[11]);

	cr_assert_eq(e->error->errnum, EPROTO);
	cr_assert_str_eq(e->error->message, "unexpected message");
	iios_frame_free(e);
}

Test(frame, round_trips_bye)
{
	Iiostream__Envelope *e = round_trip(&s_env[12]);

	cr_assert_str_eq(e->bye->reason, "shutting down");
	iios_frame_free(e);
}

Test(frame, names_every_message_type)
{
	static const char *const names[N_TYPES] = {
		"hello", "hello_reply", "subscribe", "subscribe_reply", "unsubscribe",
		"unsubscribe_reply", "block", "ping", "pong", "stats_request", "stats",
		"error", "bye",
	};
	Iiostream__Envelope none = IIOSTREAM__ENVELOPE__INIT;
	size_t i;

	for (i = 0; i < N_TYPES; i++)
		cr_assert_str_eq(iios_frame_msg_name(&s_env[i]), names[i]);
	cr_assert_str_eq(iios_frame_msg_name(&none), "unknown");
}

Test(frame, free_accepts_null)
{
	iios_frame_free(NULL);
}

/* ---- incremental parsing ------------------------------------------------- */

Test(frame, every_truncation_of_every_message_is_partial)
{
	size_t t, k;

	for (t = 0; t < N_TYPES; t++) {
		size_t len;
		uint8_t *frame = encode(&s_env[t], &len);

		for (k = 0; k < len; k++) {
			uint8_t *copy = exact_copy(frame, k);
			Iiostream__Envelope *env = (Iiostream__Envelope *)&env;
			long r = iios_frame_parse(copy, k, MAX_ENV, &env);

			free(copy);
			cr_assert_eq(r, IIOS_FRAME_PARTIAL, "%s: prefix of %zu/%zu bytes gave %ld",
				     iios_frame_msg_name(&s_env[t]), k, len, r);
			cr_assert_null(env, "env must be NULL on a partial frame");
		}
		free(frame);
	}
}

Test(frame, byte_by_byte_yields_one_frame_at_the_end)
{
	size_t len, i, frames = 0;
	uint8_t *frame = encode(&s_env[10], &len);
	uint8_t *acc = NULL;

	for (i = 1; i <= len; i++) {
		Iiostream__Envelope *env = NULL;
		long r;

		acc = realloc(acc, i); /* exactly what has "arrived" */
		cr_assert_not_null(acc);
		acc[i - 1] = frame[i - 1];
		r = iios_frame_parse(acc, i, MAX_ENV, &env);
		cr_assert_geq(r, 0, "byte %zu: error %ld", i, r);
		if (r > 0) {
			frames++;
			cr_assert_eq(i, len, "frame completed early at byte %zu of %zu", i, len);
			cr_assert_eq(r, (long)len);
			cr_assert_eq(env->msg_case, IIOSTREAM__ENVELOPE__MSG_STATS);
			cr_assert_eq(env->stats->n_client, 2);
			iios_frame_free(env);
		}
	}
	cr_assert_eq(frames, 1);
	free(acc);
	free(frame);
}

Test(frame, back_to_back_frames_parse_in_turn)
{
	size_t la, lb, lc;
	uint8_t *a = encode(&s_env[0], &la);
	uint8_t *b = encode(&s_env[6], &lb);
	uint8_t *c = encode(&s_env[12], &lc);
	size_t total = la + lb + lc, off = 0;
	uint8_t *buf = malloc(total);
	Iiostream__Envelope *env;
	long r;

	cr_assert_not_null(buf);
	memcpy(buf, a, la);
	memcpy(buf + la, b, lb);
	memcpy(buf + la + lb, c, lc);

	r = iios_frame_parse(buf + off, total - off, MAX_ENV, &env);
	cr_assert_eq(r, (long)la);
	cr_assert_eq(env->msg_case, IIOSTREAM__ENVELOPE__MSG_HELLO);
	iios_frame_free(env);
	off += (size_t)r;

	r = iios_frame_parse(buf + off, total - off, MAX_ENV, &env);
	cr_assert_eq(r, (long)lb);
	cr_assert_eq(env->msg_case, IIOSTREAM__ENVELOPE__MSG_BLOCK);
	cr_assert_eq(env->block->sequence, 0x100000001ull);
	iios_frame_free(env);
	off += (size_t)r;

	r = iios_frame_parse(buf + off, total - off, MAX_ENV, &env);
	cr_assert_eq(r, (long)lc);
	cr_assert_eq(env->msg_case, IIOSTREAM__ENVELOPE__MSG_BYE);
	iios_frame_free(env);
	off += (size_t)r;

	cr_assert_eq(off, total);
	r = iios_frame_parse(buf + off, 0, MAX_ENV, &env);
	cr_assert_eq(r, IIOS_FRAME_PARTIAL);
	free(a);
	free(b);
	free(c);
	free(buf);
}

Test(frame, block_payload_is_not_consumed_with_the_head)
{
	size_t len;
	uint8_t *head = encode(&s_env[6], &len);
	uint8_t *buf = malloc(len + 100);
	Iiostream__Envelope *env;
	long r;

	cr_assert_not_null(buf);
	memcpy(buf, head, len);
	memset(buf + len, 0xff, 100); /* payload bytes: not protobuf */
	r = iios_frame_parse(buf, len + 100, MAX_ENV, &env);
	cr_assert_eq(r, (long)len);
	cr_assert_eq(env->msg_case, IIOSTREAM__ENVELOPE__MSG_BLOCK);
	iios_frame_free(env);
	free(buf);
	free(head);
}

/* ---- length prefix bounds ------------------------------------------------ */

Test(frame, rejects_zero_length)
{
	static const uint8_t zero[] = { 0, 0, 0, 0, 0x42, 0x00 };
	Iiostream__Envelope *env = (Iiostream__Envelope *)&env;
	uint8_t *buf = exact_copy(zero, 4);

	cr_assert_eq(iios_frame_parse(buf, 4, MAX_ENV, &env), -EMSGSIZE);
	cr_assert_null(env);
	free(buf);
	/* More bytes after it change nothing. */
	buf = exact_copy(zero, sizeof(zero));
	cr_assert_eq(iios_frame_parse(buf, sizeof(zero), MAX_ENV, &env), -EMSGSIZE);
	free(buf);
}

Test(frame, rejects_len_over_max_without_waiting_for_the_bytes)
{
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff };
	Iiostream__Envelope *env = (Iiostream__Envelope *)&env;
	uint8_t *buf = exact_copy(huge, sizeof(huge));

	cr_assert_eq(iios_frame_parse(buf, sizeof(huge), MAX_ENV, &env), -EMSGSIZE);
	cr_assert_null(env);
	free(buf);
}

Test(frame, rejects_len_one_over_the_callers_max)
{
	static const uint8_t p17[] = { 0, 0, 0, 17 };
	Iiostream__Envelope *env;
	uint8_t *buf = exact_copy(p17, sizeof(p17));

	cr_assert_eq(iios_frame_parse(buf, sizeof(p17), 16, &env), -EMSGSIZE);
	cr_assert_eq(iios_frame_parse(buf, sizeof(p17), 17, &env), IIOS_FRAME_PARTIAL);
	free(buf);
}

Test(frame, rejects_len_over_the_hard_bound_even_if_caller_allows_more)
{
	uint8_t p[4] = { 0, 0x01, 0x00, 0x01 }; /* 65537 */
	Iiostream__Envelope *env;
	uint8_t *buf = exact_copy(p, sizeof(p));

	cr_assert_eq(iios_frame_parse(buf, sizeof(p), (size_t)-1, &env), -EMSGSIZE);
	free(buf);
}

Test(frame, accepts_len_at_max_and_waits_for_its_bytes)
{
	static const uint8_t at_max[] = { 0, 0x01, 0x00, 0x00 }; /* 65536 */
	Iiostream__Envelope *env = (Iiostream__Envelope *)&env;
	uint8_t *buf = exact_copy(at_max, sizeof(at_max));

	cr_assert_eq(iios_frame_parse(buf, sizeof(at_max), MAX_ENV, &env), IIOS_FRAME_PARTIAL);
	cr_assert_null(env);
	free(buf);
}

Test(frame, envelope_of_exactly_max_bytes_encodes_and_parses)
{
	Iiostream__Envelope env, *out;
	Iiostream__Bye bye;
	uint8_t *buf = malloc(MAX_ENV + IIOS_FRAME_PREFIX);
	long n;

	cr_assert_not_null(buf);
	make_bye_of_size(&env, &bye, MAX_ENV);
	n = iios_frame_encode(&env, buf, MAX_ENV + IIOS_FRAME_PREFIX, MAX_ENV);
	cr_assert_eq(n, (long)(MAX_ENV + IIOS_FRAME_PREFIX));
	cr_assert_eq(iios_frame_parse(buf, (size_t)n - 1, MAX_ENV, &out), IIOS_FRAME_PARTIAL);
	cr_assert_eq(iios_frame_parse(buf, (size_t)n, MAX_ENV, &out), n);
	cr_assert_eq(strlen(out->bye->reason), strlen(bye.reason));
	iios_frame_free(out);
	free(bye.reason);
	free(buf);
}

/* ---- bad Envelope bytes -------------------------------------------------- */

Test(frame, rejects_garbage_protobuf)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	Iiostream__Envelope *env = (Iiostream__Envelope *)&env;

	cr_assert_eq(parse_raw_envelope(junk, sizeof(junk), &env), -EBADMSG);
	cr_assert_null(env);
}

Test(frame, rejects_envelope_with_only_an_unknown_field)
{
	/* field 99, varint 1: a message from a future version. */
	static const uint8_t future[] = { 0x98, 0x06, 0x01 };
	Iiostream__Envelope *env = (Iiostream__Envelope *)&env;

	cr_assert_eq(parse_raw_envelope(future, sizeof(future), &env), -EBADMSG);
	cr_assert_null(env);
}

Test(frame, ignores_unknown_field_next_to_a_known_message)
{
	/* ping{token=7}, then field 99 varint 1 */
	static const uint8_t bytes[] = { 0x42, 0x02, 0x08, 0x07, 0x98, 0x06, 0x01 };
	Iiostream__Envelope *env;

	cr_assert_eq(parse_raw_envelope(bytes, sizeof(bytes), &env),
		     (long)(IIOS_FRAME_PREFIX + sizeof(bytes)));
	cr_assert_eq(env->msg_case, IIOSTREAM__ENVELOPE__MSG_PING);
	cr_assert_eq(env->ping->token, 7);
	iios_frame_free(env);
}

Test(frame, rejects_inner_message_longer_than_the_envelope)
{
	/* hello, declared 5 bytes long, only 2 present */
	static const uint8_t bytes[] = { 0x0a, 0x05, 0x10, 0x01 };
	Iiostream__Envelope *env = (Iiostream__Envelope *)&env;

	cr_assert_eq(parse_raw_envelope(bytes, sizeof(bytes), &env), -EBADMSG);
	cr_assert_null(env);
}

Test(frame, rejects_truncated_varint)
{
	/* ping{token=<varint cut short>} */
	static const uint8_t bytes[] = { 0x42, 0x02, 0x08, 0x80 };
	Iiostream__Envelope *env;

	cr_assert_eq(parse_raw_envelope(bytes, sizeof(bytes), &env), -EBADMSG);
}

Test(frame, rejects_nul_bytes)
{
	/* Field number 0 does not exist in protobuf. */
	static const uint8_t nul[] = { 0, 0, 0 };
	Iiostream__Envelope *env = (Iiostream__Envelope *)&env;

	cr_assert_eq(parse_raw_envelope(nul, sizeof(nul), &env), -EBADMSG);
	cr_assert_null(env);
}

Test(frame, rejects_known_message_with_the_wrong_wire_type)
{
	/* field 1 (hello) sent as a varint instead of a length-delimited message */
	static const uint8_t bytes[] = { 0x08, 0x01 };
	Iiostream__Envelope *env = (Iiostream__Envelope *)&env;

	cr_assert_eq(parse_raw_envelope(bytes, sizeof(bytes), &env), -EBADMSG);
	cr_assert_null(env);
}

Test(frame, two_messages_in_one_envelope_keep_the_last_without_leaking)
{
	/* hello{version_min=1} then ping{token=9}: the oneof keeps the last. */
	static const uint8_t bytes[] = { 0x0a, 0x02, 0x10, 0x01, 0x42, 0x02, 0x08, 0x09 };
	Iiostream__Envelope *env;

	cr_assert_eq(parse_raw_envelope(bytes, sizeof(bytes), &env),
		     (long)(IIOS_FRAME_PREFIX + sizeof(bytes)));
	cr_assert_eq(env->msg_case, IIOSTREAM__ENVELOPE__MSG_PING);
	cr_assert_eq(env->ping->token, 9);
	iios_frame_free(env); /* LeakSanitizer: the hello must not leak */
}

/* ---- encoder bounds ------------------------------------------------------ */

Test(frame, encode_refuses_a_buffer_one_byte_too_small)
{
	size_t need = IIOS_FRAME_PREFIX + iiostream__envelope__get_packed_size(&s_env[10]);
	uint8_t *buf = malloc(need);

	cr_assert_not_null(buf);
	cr_assert_eq(iios_frame_encode(&s_env[10], buf, need - 1, MAX_ENV), -EMSGSIZE);
	cr_assert_eq(iios_frame_encode(&s_env[10], buf, need, MAX_ENV), (long)need);
	free(buf);
}

Test(frame, encode_refuses_a_buffer_smaller_than_the_prefix)
{
	uint8_t buf[3];

	cr_assert_eq(iios_frame_encode(&s_env[7], buf, sizeof(buf), MAX_ENV), -EMSGSIZE);
	cr_assert_eq(iios_frame_encode(&s_env[7], buf, 0, MAX_ENV), -EMSGSIZE);
}

Test(frame, encode_refuses_envelope_over_the_callers_max)
{
	size_t len = iiostream__envelope__get_packed_size(&s_env[10]);
	uint8_t *buf = malloc(len + IIOS_FRAME_PREFIX);

	cr_assert_not_null(buf);
	cr_assert_eq(iios_frame_encode(&s_env[10], buf, len + IIOS_FRAME_PREFIX, len - 1),
		     -EMSGSIZE);
	cr_assert_eq(iios_frame_encode(&s_env[10], buf, len + IIOS_FRAME_PREFIX, len),
		     (long)(len + IIOS_FRAME_PREFIX));
	free(buf);
}

Test(frame, encode_refuses_envelope_over_the_hard_bound)
{
	Iiostream__Envelope env;
	Iiostream__Bye bye;
	size_t cap = 2 * MAX_ENV;
	uint8_t *buf = malloc(cap);

	cr_assert_not_null(buf);
	make_bye_of_size(&env, &bye, MAX_ENV + 1);
	cr_assert_eq(iios_frame_encode(&env, buf, cap, (size_t)-1), -EMSGSIZE);
	free(bye.reason);
	free(buf);
}

Test(frame, encode_refuses_an_envelope_with_no_message)
{
	Iiostream__Envelope none = IIOSTREAM__ENVELOPE__INIT;
	uint8_t buf[64];

	cr_assert_eq(iios_frame_encode(&none, buf, sizeof(buf), MAX_ENV), -EMSGSIZE);
}

/* ---- block header checks ------------------------------------------------- */

Test(frame, check_block_accepts_consistent_lengths_within_bound)
{
	Iiostream__BlockHeader b = IIOSTREAM__BLOCK_HEADER__INIT;

	b.payload_len = b.bytes_used = 4096;
	cr_assert_eq(iios_frame_check_block(&b, 4096), 0);
	cr_assert_eq(iios_frame_check_block(&b, 1 << 20), 0);
	b.payload_len = b.bytes_used = 0;
	cr_assert_eq(iios_frame_check_block(&b, 4096), 0);
}

Test(frame, check_block_rejects_payload_over_the_stream_bound)
{
	Iiostream__BlockHeader b = IIOSTREAM__BLOCK_HEADER__INIT;

	b.payload_len = b.bytes_used = 4097;
	cr_assert_eq(iios_frame_check_block(&b, 4096), -EMSGSIZE);
}

Test(frame, check_block_rejects_payload_over_the_hard_bound)
{
	Iiostream__BlockHeader b = IIOSTREAM__BLOCK_HEADER__INIT;

	b.payload_len = b.bytes_used = IIOS_FRAME_MAX_PAYLOAD + 1;
	cr_assert_eq(iios_frame_check_block(&b, (size_t)-1), -EMSGSIZE);
	b.payload_len = b.bytes_used = IIOS_FRAME_MAX_PAYLOAD;
	cr_assert_eq(iios_frame_check_block(&b, (size_t)-1), 0);
}

Test(frame, check_block_rejects_payload_len_different_from_bytes_used)
{
	Iiostream__BlockHeader b = IIOSTREAM__BLOCK_HEADER__INIT;

	b.payload_len = 4096;
	b.bytes_used = 4092;
	cr_assert_eq(iios_frame_check_block(&b, 4096), -EBADMSG);
	b.payload_len = 4092;
	b.bytes_used = 4096;
	cr_assert_eq(iios_frame_check_block(&b, 4096), -EBADMSG);
}
