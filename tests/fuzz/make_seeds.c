// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpora of the fuzzers into DIR/<fuzzer>/ (they are kept
 * in the tree, tests/fuzz/corpus/; run this again when the protocol grows):
 * well-formed conversations, so the fuzzers start from inputs that reach
 * deep into the code rather than from random bytes.
 *   make_seeds DIR
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "iiostream/frame.h"

static const char *root;

static void put(const char *fuzzer, const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, fuzzer);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", root, fuzzer, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void put_str(const char *fuzzer, const char *name, const char *text)
{
	put(fuzzer, name, text, strlen(text));
}

/* A conversation: frames appended to buf. */
struct conv {
	uint8_t buf[8192];
	size_t len;
};

static void frame(struct conv *c, Iiostream__Envelope *env)
{
	long n = iios_frame_encode(env, c->buf + c->len, sizeof(c->buf) - c->len,
				   IIOS_FRAME_MAX_ENVELOPE);

	if (n < 0)
		exit(1);
	c->len += (size_t)n;
}

static void hello(struct conv *c)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Hello h = IIOSTREAM__HELLO__INIT;

	h.magic = IIOS_PROTOCOL_MAGIC;
	h.version_min = h.version_max = IIOS_PROTOCOL_VERSION;
	h.client_name = "seed";
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO;
	env.hello = &h;
	frame(c, &env);
}

static void subscribe(struct conv *c, uint32_t *chans, size_t n)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Subscribe s = IIOSTREAM__SUBSCRIBE__INIT;

	s.max_queue_blocks = 2;
	s.channels = chans;
	s.n_channels = n;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE;
	env.subscribe = &s;
	frame(c, &env);
}

static void simple(struct conv *c, Iiostream__Envelope__MsgCase which)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Ping ping = IIOSTREAM__PING__INIT;
	Iiostream__StatsRequest st = IIOSTREAM__STATS_REQUEST__INIT;
	Iiostream__DevicesRequest dr = IIOSTREAM__DEVICES_REQUEST__INIT;
	Iiostream__Unsubscribe un = IIOSTREAM__UNSUBSCRIBE__INIT;

	env.msg_case = which;
	ping.token = 42;
	env.ping = &ping; /* the oneof: only the member of `which` is read */
	if (which == IIOSTREAM__ENVELOPE__MSG_STATS_REQUEST)
		env.stats_request = &st;
	if (which == IIOSTREAM__ENVELOPE__MSG_DEVICES_REQUEST)
		env.devices_request = &dr;
	if (which == IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE)
		env.unsubscribe = &un;
	frame(c, &env);
}

static void attr(struct conv *c, const char *device, const char *name, const char *value)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__AttrRead r = IIOSTREAM__ATTR_READ__INIT;
	Iiostream__AttrWrite w = IIOSTREAM__ATTR_WRITE__INIT;

	if (value) {
		w.device = (char *)device;
		w.attr = (char *)name;
		w.value.data = (uint8_t *)value;
		w.value.len = strlen(value);
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_ATTR_WRITE;
		env.attr_write = &w;
	} else {
		r.device = (char *)device;
		r.attr = (char *)name;
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_ATTR_READ;
		env.attr_read = &r;
	}
	frame(c, &env);
}

static void block(struct conv *c)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__BlockHeader b = IIOSTREAM__BLOCK_HEADER__INIT;

	b.bytes_used = b.payload_len = 8;
	b.sequence = 7;
	b.first_sample = 100;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_BLOCK;
	env.block = &b;
	frame(c, &env);
	memcpy(c->buf + c->len, "\x34\x12\x6b\xb2\x6b\x4e\xa3\xea", 8);
	c->len += 8;
}

/* TxStart on the sim's DAC, two small blocks (one cyclic), TxStop. */
static void transmit(struct conv *c)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__TxStart st = IIOSTREAM__TX_START__INIT;
	Iiostream__TxBlock b = IIOSTREAM__TX_BLOCK__INIT;
	Iiostream__TxStop sp = IIOSTREAM__TX_STOP__INIT;
	int i;

	st.device = "sim-dac";
	st.prefill_blocks = 1;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_START;
	env.tx_start = &st;
	frame(c, &env);
	for (i = 0; i < 2; i++) {
		b.payload_len = 16;
		b.flags = i ? IIOSTREAM__BLOCK_FLAG__BLOCK_FLAG_CYCLIC : 0;
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_BLOCK;
		env.tx_block = &b;
		frame(c, &env);
		memcpy(c->buf + c->len, "\x34\x12\x6b\xb2\x6b\x4e\xa3\xea\x01\x02\x03\x04\x05\x06\x07\x08", 16);
		c->len += 16;
	}
	sp.drain = true;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_STOP;
	env.tx_stop = &sp;
	frame(c, &env);
}

int main(int argc, char **argv)
{
	static const char *const iiod[][2] = {
		{ "print", "PRINT\r\nTIMEOUT 2500\r\nVERSION\r\n\r\nEXIT\r\n" },
		{ "attrs", "READ sim sampling_frequency\r\nWRITE sim sampling_frequency 7\r\n"
			   "500000\0READ sim INPUT voltage0 raw\r\nREAD sim BUFFER length\r\n"
			   "GETTRIG sim\r\nSETTRIG sim\r\nSET sim BUFFERS_COUNT 4\r\n" },
		{ "stream", "OPEN sim 1024 0000000f\r\nREADBUF sim 8192\r\nREADBUF sim 100\r\n"
			    "CLOSE sim\r\n" },
		{ "subset", "OPEN sim 256 00000005\r\nREADBUF sim 1024\r\nEXIT\r\n" },
		{ "bad", "FROB\r\nOPEN sim 0 0f CYCLIC\r\nREADBUF sim 9\r\nZPRINT\r\n" },
	};
	uint32_t odd[] = { 3, 1 };
	struct conv c;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: make_seeds DIR\n");
		return 2;
	}
	root = argv[1];
	mkdir(root, 0755);

	/* the iiostream protocol: frames, and the daemon's input (byte 0 even) */
	memset(&c, 0, sizeof(c));
	c.buf[c.len++] = 0;
	hello(&c);
	simple(&c, IIOSTREAM__ENVELOPE__MSG_PING);
	simple(&c, IIOSTREAM__ENVELOPE__MSG_STATS_REQUEST);
	simple(&c, IIOSTREAM__ENVELOPE__MSG_DEVICES_REQUEST);
	attr(&c, "", "sampling_frequency", NULL);
	attr(&c, "sim", "sampling_frequency", "1500000");
	put("fuzz_daemon", "control", c.buf, c.len);
	put("fuzz_frame", "control", c.buf + 1, c.len - 1);
	memset(&c, 0, sizeof(c));
	c.buf[c.len++] = 0;
	hello(&c);
	subscribe(&c, odd, 2);
	simple(&c, IIOSTREAM__ENVELOPE__MSG_PING);
	simple(&c, IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE);
	subscribe(&c, NULL, 0);
	put("fuzz_daemon", "subscribe", c.buf, c.len);
	memset(&c, 0, sizeof(c));
	c.buf[c.len++] = 0;
	hello(&c);
	transmit(&c);
	put("fuzz_daemon", "transmit", c.buf, c.len);
	memset(&c, 0, sizeof(c));
	block(&c);
	block(&c);
	put("fuzz_frame", "blocks", c.buf, c.len);

	for (i = 0; i < sizeof(iiod) / sizeof(iiod[0]); i++) {
		size_t len = strlen(iiod[i][1]);
		char buf[512];

		/* the WRITE value's NUL: the string literal's length misses it */
		if (strstr(iiod[i][1], "WRITE"))
			len += strlen(iiod[i][1] + len + 1) + 1;
		buf[0] = 1;
		memcpy(buf + 1, iiod[i][1], len);
		put("fuzz_daemon", iiod[i][0], buf, len + 1);
		put("fuzz_iiod_cmd", iiod[i][0], iiod[i][1], len);
	}
	put_str("fuzz_config", "example",
	    "# iiostreamd.conf\nrate = 1000000\nchannels = 2\nblock-size = 1M\nblocks = 8\n"
	    "listen = 127.0.0.1:30432\niiod-listen = 127.0.0.1:30431\nlog-level = info\n"
	    "allow-write = cn:lab-pc, plain\ntransport = auto\n");
	put_str("fuzz_keylog", "line",
	    "SERVER_TRAFFIC_SECRET_0 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d"
	    "1e1f20 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	{
		uint8_t v[4 + 64];

		v[0] = 2, v[1] = 4, v[2] = 2, v[3] = 0;
		for (i = 0; i < 32; i++) {
			uint16_t s = (uint16_t)(0x1234 + i * 0x9e37u + (i & 1) * 2 * 0x3c6fu);

			v[4 + 2 * i] = (uint8_t)s;
			v[5 + 2 * i] = (uint8_t)(s >> 8);
		}
		put("fuzz_verify", "scans", v, sizeof(v));
	}
	/* fuzz_tls_records: suite byte, then chunks (flags, u16 length,
	 * bytes; flags 0: sealed as a record's inner plaintext) */
	{
		static const uint8_t stream[] = {
			0,                                    /* AES-128-GCM */
			0, 0, 6, 'b', 'l', 'o', 'c', 'k', 23, /* application data */
			0, 0, 4, 'a', 23, 0, 0,               /* with padding */
			0, 0, 1, 23,                          /* empty */
			2, 0, 10, 's', 'm', 'a', 'l', 'l', ' ', 'r', 'e', 'a', 23, /* small reads */
			0, 0, 3, 1, 0, 21,                    /* close_notify */
		};
		static const uint8_t alert[] = { 2, 0, 0, 3, 'x', 'y', 23, 0, 0, 3, 2, 48, 21 };
		static const uint8_t ticket[] = { 1, 0, 0, 5, 4, 0, 0, 0, 22 };
		static const uint8_t raw[] = { 0, 0, 0, 2, 'o', 23, 1, 0, 5, 23, 3, 3, 0, 17 };
		/* KeyUpdate (update_not_requested, then requested), data under
		 * each new key */
		static const uint8_t key_update[] = {
			1, 0, 0, 6, 24, 0, 0, 1, 0, 22, 0, 0, 3, 'k', '1', 23,
			0, 0, 6, 24, 0, 0, 1, 1, 22, 0, 0, 3, 'k', '2', 23,
		};

		put("fuzz_tls_records", "stream", stream, sizeof(stream));
		put("fuzz_tls_records", "alert", alert, sizeof(alert));
		put("fuzz_tls_records", "ticket", ticket, sizeof(ticket));
		put("fuzz_tls_records", "raw", raw, sizeof(raw));
		put("fuzz_tls_records", "key_update", key_update, sizeof(key_update));
	}
	return 0;
}
