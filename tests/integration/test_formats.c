// SPDX-License-Identifier: MIT
/*
 * Every IIO scan format through the real daemon: one daemon streams a
 * 12-bit device (AD9361's le:S12/16>>0), a 24-bit SPI ADC with IIO's
 * timestamp channel (be:s24/32>>8, le:s64/64) and an 8-bit one (le:u8/8,
 * three channels: scans with tail padding). The SubscribeReply says each
 * element's type as the daemon was given it; native clients' blocks verify
 * in those formats, every one; a subset of channels (voltage1 and the
 * timestamp) is laid out as IIO lays it out, on the native port and
 * through libiio's iio_readdev on the iiod port; the 12-bit samples' spare
 * storage bits are their sign extension, as 'S' promises.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "iiostream/frame.h"
#include "iiostream/scan.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ad12 first: a client that names no device streams it. u8 blocks are
 * whole 3-byte scans (48K). */
static const char *const formats_daemon[] = {
	"--source", "sim:name=ad12,channels=2,rate=200K,format=le:S12/16>>0",
	"--source", "sim:name=spi24,channels=2,rate=200K,format=be:s24/32>>8,timestamp=on",
	"--source", "sim:name=u8adc,channels=3,rate=200K,format=le:u8/8>>0,block-size=48K",
	"--block-size", "64K", "--blocks", "8", "--client-queue", "4",
	"--iiod-listen", "127.0.0.1:0", NULL
};

/* What the daemon was given for each device, element by element. */
struct want_device {
	const char *name;
	uint32_t scan_bytes;       /* every element captured */
	const char *types[4];      /* each element's IIO type; "@": the timestamp */
};

static const struct want_device devices[] = {
	{ "ad12", 4, { "le:S12/16>>0", "le:S12/16>>0" } },
	{ "spi24", 16, { "be:s24/32>>8", "be:s24/32>>8", "@le:s64/64>>0" } },
	{ "u8adc", 3, { "le:u8/8>>0", "le:u8/8>>0", "le:u8/8>>0" } },
};

static uint32_t n_types(const struct want_device *w)
{
	uint32_t n = 0;

	while (n < N(w->types) && w->types[n])
		n++;
	return n;
}

static struct iios_scan_type type_of(const char *s)
{
	struct iios_scan_type t;

	cr_assert_eq(iios_scan_type_parse(s + (s[0] == '@'), &t), 0, "%s", s);
	return t;
}

/* ---- the SubscribeReply, as sent ----------------------------------------- */

static Iiostream__Envelope *raw_subscribe(int fd, const char *device)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__Subscribe sub = IIOSTREAM__SUBSCRIBE__INIT;

	raw_handshake(fd);
	sub.device = (char *)device;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE;
	env.subscribe = &sub;
	raw_send_env(fd, &env);
	r = raw_read_frame(fd);
	cr_assert(r && r->msg_case == IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE_REPLY, "%s: no reply",
		  device);
	return r;
}

Test(formats, subscribe_reply_says_each_element_type_as_the_daemon_was_given_it)
{
	struct daemon dm;
	size_t d;

	daemon_start(&dm, formats_daemon);
	for (d = 0; d < N(devices); d++) {
		const struct want_device *w = &devices[d];
		int fd = raw_connect(&dm);
		Iiostream__Envelope *r = raw_subscribe(fd, w->name);
		const Iiostream__SubscribeReply *sr = r->subscribe_reply;
		uint32_t k;

		cr_assert_str_eq(sr->device, w->name);
		cr_assert_eq(sr->scan_bytes, w->scan_bytes, "%s: %u", w->name, sr->scan_bytes);
		cr_assert_eq(sr->n_channels, n_types(w), "%s", w->name);
		for (k = 0; k < sr->n_channels; k++) {
			const Iiostream__ScanFormat *f = sr->channels[k]->format;
			struct iios_scan_type t = type_of(w->types[k]);
			bool ts = w->types[k][0] == '@';
			char id[16];

			cr_assert_not_null(f, "%s channel %u has no format", w->name, k);
			cr_assert_eq(sr->channels[k]->index, k);
			snprintf(id, sizeof(id), ts ? "timestamp" : "voltage%u", k);
			cr_assert_str_eq(sr->channels[k]->id, id, "%s", w->name);
			cr_assert_eq(f->is_signed, t.is_signed, "%s %u", w->name, k);
			cr_assert_eq(f->bits, t.bits, "%s %u", w->name, k);
			cr_assert_eq(f->storage_bits, t.storage_bits, "%s %u", w->name, k);
			cr_assert_eq(f->shift, t.shift, "%s %u", w->name, k);
			cr_assert_eq(f->big_endian, t.big_endian, "%s %u", w->name, k);
			cr_assert_eq(f->repeat > 1 ? f->repeat : 1, t.repeat, "%s %u", w->name, k);
			cr_assert_eq(f->fully_defined, t.fully_defined, "%s %u", w->name, k);
			cr_assert_eq(f->timestamp, ts, "%s %u", w->name, k);
		}
		iios_frame_free(r);
		close(fd);
	}
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* ---- native clients ---------------------------------------------------------- */

/* Every channel of the 12-bit stream is S12 in 16 bits: the top four bits
 * of each storage word repeat its bit 11. */
static void assert_sign_extended_12(const struct iios_block *b)
{
	const uint8_t *p = b->data;
	size_t i;

	for (i = 0; i + 1 < b->len; i += 2) {
		uint16_t w = (uint16_t)(p[i] | p[i + 1] << 8);

		cr_assert_eq(w >> 11 == 0 || w >> 11 == 0x1f, true,
			     "block %llu, byte %zu: 0x%04x is no sign-extended 12-bit value",
			     (unsigned long long)b->sequence, i, w);
	}
}

Test(formats, native_clients_blocks_verify_in_every_format)
{
	struct daemon dm;
	size_t d;

	daemon_start(&dm, formats_daemon);
	for (d = 0; d < N(devices); d++) {
		const struct want_device *w = &devices[d];
		struct iios_client *c = client_connect(&dm);
		struct iios_stream_info info;
		struct iios_verify v;
		uint32_t k, blocks = 0;
		bool saw_negative = false;
		int err;

		err = iios_subscribe_device(c, w->name, 0, NULL, 0, &info);
		cr_assert_eq(err, 0, "%s: %d %s", w->name, err, iios_errmsg(c));
		cr_assert_eq(info.scan_bytes, w->scan_bytes, "%s", w->name);
		cr_assert_eq(info.n_channels, n_types(w), "%s", w->name);
		for (k = 0; k < info.n_channels; k++) {
			struct iios_scan_type t = type_of(w->types[k]);

			cr_assert_eq(info.channels[k].bits, t.bits, "%s %u", w->name, k);
			cr_assert_eq(info.channels[k].storage_bits, t.storage_bits);
			cr_assert_eq(info.channels[k].shift, t.shift);
			cr_assert_eq(info.channels[k].big_endian, t.big_endian);
			cr_assert_eq(info.channels[k].is_signed, t.is_signed);
		}
		iios_verify_init(&v);
		while (blocks < 24) {
			struct iios_block b;

			err = iios_next_block(c, &b);
			cr_assert_eq(err, 0, "%s: %d %s", w->name, err, iios_errmsg(c));
			cr_assert_eq(iios_verify_block(&v, &info, &b), 0, "%s: %s", w->name,
				     v.first_error);
			if (d == 0) {
				assert_sign_extended_12(&b);
				saw_negative |= ((const uint8_t *)b.data)[1] >= 0xf8;
			}
			blocks++;
		}
		cr_assert_eq(v.integrity_errors, 0, "%s: %s", w->name, v.first_error);
		cr_assert_eq(v.blocks, 24);
		if (d == 0)
			cr_assert(saw_negative, "no negative 12-bit value in 24 blocks");
		cr_assert_eq(iios_unsubscribe(c), 0);
		iios_close(c);
	}
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* voltage1 and the timestamp of spi24: scan indices 1 and 2, 16-byte scans
 * (the 4-byte value at 0, 4 bytes of padding, the timestamp at 8). */
Test(formats, a_subset_with_the_timestamp_is_laid_out_as_iio_lays_it_out)
{
	static const uint32_t pick[] = { 1, 2 };
	struct daemon dm;
	struct iios_client *c;
	struct iios_stream_info info;
	struct iios_scan_check chk;
	struct iios_verify v;
	size_t len = 0, cap = 16 * 70000;
	uint8_t *all = malloc(cap);
	int err;

	cr_assert_not_null(all);
	daemon_start(&dm, formats_daemon);
	c = client_connect(&dm);
	err = iios_subscribe_device(c, "spi24", 0, pick, N(pick), &info);
	cr_assert_eq(err, 0, "%d %s", err, iios_errmsg(c));
	cr_assert_eq(info.scan_bytes, 16);
	cr_assert_eq(info.n_channels, 2);
	cr_assert_eq(info.channels[0].index, 1);
	cr_assert_str_eq(info.channels[0].id, "voltage1");
	cr_assert_eq(info.channels[1].index, 2);
	cr_assert_str_eq(info.channels[1].id, "timestamp");
	iios_verify_init(&v);
	while (len < cap) {
		struct iios_block b;

		err = iios_next_block(c, &b);
		cr_assert_eq(err, 0, "%d %s", err, iios_errmsg(c));
		cr_assert_eq(iios_verify_block(&v, &info, &b), 0, "%s", v.first_error);
		if (b.len > cap - len)
			b.len = cap - len;
		memcpy(all + len, b.data, b.len);
		len += b.len;
	}
	cr_assert_eq(v.integrity_errors, 0, "%s", v.first_error);
	/* the payloads end to end are raw scans the typed verifier takes
	 * (skipped blocks are gaps) */
	err = iios_verify_scans_typed(&chk, all, len, info.channels, info.n_channels);
	cr_assert_eq(err, 0, "%d: %s", err, chk.first_error);
	cr_assert_eq(chk.scans, 70000);
	free(all);
	iios_close(c);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* The same subset through libiio 0.24 on the iiod port: iio_readdev
 * writes its buffer's scans as they come, padding included. */
Test(formats, iio_readdev_of_voltage1_and_timestamp_verifies_in_the_iio_layout)
{
	const char *argv[] = { "iio_readdev", "-T", HARNESS_STR(HANG_MS), "-u", NULL,
			       "-b", "4096", "-s", "100000", "spi24", "voltage1", "timestamp",
			       NULL };
	struct iios_channel chans[2];
	struct iios_scan_check chk;
	struct iios_stats st;
	char out[160], err[2048];
	struct daemon dm;
	size_t len;
	char *data;
	int rc;

	daemon_start(&dm, formats_daemon);
	argv[4] = dm.iiod_uri;
	snprintf(out, sizeof(out), "%s/spi24.bin", dm.dir);
	cr_assert_eq(run_command(argv, out, err, sizeof(err), HANG_MS), 0, "%s", err);
	memset(chans, 0, sizeof(chans));
	chans[0] = (struct iios_channel){ .index = 1, .id = "voltage1", .is_signed = true,
					  .bits = 24, .storage_bits = 32, .shift = 8,
					  .big_endian = true };
	chans[1] = (struct iios_channel){ .index = 2, .id = "timestamp", .is_signed = true,
					  .bits = 64, .storage_bits = 64 };
	data = file_slurp(out, &len);
	cr_assert_eq(len, (size_t)100000 * 16, "%zu bytes", len);
	rc = iios_verify_scans_typed(&chk, data, len, chans, 2);
	cr_assert_eq(rc, 0, "%d: %s", rc, chk.first_error);
	cr_assert_eq(chk.scans, 100000);
	cr_assert(chk.start_determined);
	free(data);
	cr_assert(daemon_log_contains(&dm, "open on sim1"), "libiio names spi24 by its id");
	cr_assert(wait_blocks_back(&dm, HANG_MS, &st), "blocks still held");
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}
