// SPDX-License-Identifier: MIT
/*
 * Devices and attributes (DevicesRequest, AttrRead/AttrWrite routing) against
 * the real daemon on the sim source. This host has no IIO devices, so the
 * context is the sim's own; tests/module/guest-module.sh checks the same
 * through libiio's local context with the kernel module's device.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static const char *const four_channels[] = { "--channels", "4", "--rate", "1000000", NULL };

static bool has(char **names, uint32_t n, const char *name)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

Test(devices, the_sim_describes_its_device_channels_and_attributes)
{
	struct iios_devices *d = NULL;
	const struct iios_device_desc *sim = NULL;
	struct iios_client *c;
	struct daemon dm;
	uint32_t i;

	daemon_start(&dm, four_channels);
	c = client_connect(&dm);
	cr_assert_eq(iios_devices(c, &d), 0, "%s", iios_errmsg(c));
	cr_assert(strcmp(d->context, "sim") == 0 || strcmp(d->context, "local+sim") == 0, "%s",
		  d->context);
	for (i = 0; i < d->n_devices; i++)
		if (strcmp(d->devices[i].id, "sim") == 0)
			sim = &d->devices[i];
	cr_assert_not_null(sim, "no sim device in %u devices", d->n_devices);
	cr_assert_str_eq(sim->name, "iiostream-sim");
	cr_assert(sim->streamed);
	cr_assert_eq(sim->n_channels, 4);
	for (i = 0; i < 4; i++) {
		const struct iios_channel_desc *ch = &sim->channels[i];
		char id[16];

		snprintf(id, sizeof(id), "voltage%u", i);
		cr_assert_str_eq(ch->id, id);
		cr_assert_str_eq(ch->type, "voltage");
		cr_assert(!ch->output && ch->scan_element);
		cr_assert_eq(ch->index, (int32_t)i);
		cr_assert(ch->is_signed && ch->bits == 16 && ch->storage_bits == 16 && !ch->shift);
	}
	cr_assert(has(sim->attrs, sim->n_attrs, "sampling_frequency"));
	iios_devices_free(d);
	iios_close(c);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

Test(devices, attributes_are_routed_by_device_channel_and_kind)
{
	struct iios_attr_ref ref = { .attr = "sampling_frequency" };
	struct iios_stream_info info;
	struct iios_client *c;
	struct daemon dm;
	char value[64];

	daemon_start(&dm, four_channels);
	c = client_connect(&dm);
	/* the streamed device by default, by its id and by its name */
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), 0, "%s", iios_errmsg(c));
	cr_assert_str_eq(value, "1000000");
	ref.device = "sim";
	cr_assert_eq(iios_attr_set(c, &ref, "250000", value, sizeof(value)), 0, "%s",
		     iios_errmsg(c));
	cr_assert_str_eq(value, "250000");
	ref.device = "iiostream-sim";
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), 0, "%s", iios_errmsg(c));
	cr_assert_str_eq(value, "250000");
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	cr_assert_eq(info.sample_rate, 250000, "the stream did not take the new rate");
	cr_assert_eq(iios_unsubscribe(c), 0, "%s", iios_errmsg(c));

	/* what is not there, said and survived */
	ref.device = "no-such-device";
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), -ENODEV);
	cr_assert(strstr(iios_errmsg(c), "no-such-device"), "%s", iios_errmsg(c));
	ref.device = NULL;
	ref.buffer = true;
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), -ENOENT);
	ref.buffer = false;
	ref.channel = "voltage0";
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), -ENOENT);
	ref.channel = NULL;
	ref.attr = "no_such_attr";
	cr_assert_eq(iios_attr_set(c, &ref, "1", value, sizeof(value)), -ENOENT);
	cr_assert_eq(iios_ping(c, NULL), 0, "the connection did not survive: %s", iios_errmsg(c));
	iios_close(c);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* A frame holding an AttrWrite of the streamed device's `attr`, encoded by
 * hand: the value's bytes on the wire are the test's, a NUL included,
 * whatever C type the generated code gives the field. */
static void send_attr_write(int fd, const char *attr, const char *value, size_t len)
{
	uint8_t frame[256];
	size_t alen = strlen(attr), n = 6;

	cr_assert_lt(alen + len + 10, 128, "one-byte lengths only");
	frame[n++] = 3 << 3 | 2; /* AttrWrite.attr, length-delimited */
	frame[n++] = (uint8_t)alen;
	memcpy(frame + n, attr, alen);
	n += alen;
	frame[n++] = 4 << 3 | 2; /* AttrWrite.value */
	frame[n++] = (uint8_t)len;
	memcpy(frame + n, value, len);
	n += len;
	frame[4] = 15 << 3 | 2; /* Envelope.attr_write */
	frame[5] = (uint8_t)(n - 6);
	frame[0] = frame[1] = frame[2] = 0;
	frame[3] = (uint8_t)(n - 4); /* the frame's u32 length, big-endian */
	cr_assert_eq(send(fd, frame, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* The reply to an AttrWrite: an Error with `errnum`, or (0) an AttrReply
 * with `want`. */
static void expect_attr_reply(int fd, int errnum, const char *want)
{
	Iiostream__Envelope *r = raw_read_frame(fd);

	cr_assert_not_null(r, "no reply");
	if (errnum) {
		cr_assert_eq(r->msg_case, IIOSTREAM__ENVELOPE__MSG_ERROR, "not refused: '%s' taken",
			     r->msg_case == IIOSTREAM__ENVELOPE__MSG_ATTR_REPLY ? r->attr_reply->value
										: "?");
		cr_assert_eq(r->error->errnum, errnum, "%s", r->error->message);
	} else {
		cr_assert_eq(r->msg_case, IIOSTREAM__ENVELOPE__MSG_ATTR_REPLY, "not taken");
		cr_assert_str_eq(r->attr_reply->value, want);
	}
	iios_frame_free(r);
}

Test(devices, a_value_with_a_nul_in_it_is_refused_like_any_that_does_not_parse_whole)
{
	static const char with_nul[] = "250000\0junk";
	struct iios_attr_ref ref = { .attr = "sampling_frequency" };
	struct iios_client *c;
	struct daemon dm;
	char value[64];
	int fd;

	daemon_start(&dm, four_channels);
	fd = raw_connect(&dm);
	raw_handshake(fd);
	send_attr_write(fd, "sampling_frequency", "250000junk", 10);
	expect_attr_reply(fd, EINVAL, NULL);
	send_attr_write(fd, "sampling_frequency", with_nul, sizeof(with_nul) - 1);
	expect_attr_reply(fd, EINVAL, NULL);
	c = client_connect(&dm);
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), 0, "%s", iios_errmsg(c));
	cr_assert_str_eq(value, "1000000", "the refused value was taken");
	/* the same frame without the NUL and what follows it is taken */
	send_attr_write(fd, "sampling_frequency", with_nul, strlen(with_nul));
	expect_attr_reply(fd, 0, "250000");
	iios_close(c);
	close(fd);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* Receive `n` blocks and verify every sample against the channels the
 * stream says it holds; gaps are allowed only where they are reported
 * (a client that did not read for a while skipped blocks). */
static void receive_verified(struct iios_client *c, const struct iios_stream_info *info, int n,
			     bool gaps_allowed)
{
	struct iios_verify v;
	struct iios_block blk;
	int i;

	iios_verify_init(&v);
	for (i = 0; i < n; i++) {
		cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
		iios_verify_block(&v, info, &blk);
	}
	cr_assert_eq(v.integrity_errors, 0, "%s", v.first_error);
	if (!gaps_allowed)
		cr_assert_eq(v.lost_blocks, 0);
}

Test(devices, a_client_picks_channels_and_receives_only_those)
{
	static const uint32_t odd[] = { 3, 1 };
	struct iios_stream_info info;
	struct iios_client *c;
	struct daemon dm;

	daemon_start(&dm, four_channels);
	c = client_connect(&dm);
	cr_assert_eq(iios_subscribe_channels(c, 0, odd, 2, &info), 0, "%s", iios_errmsg(c));
	/* scans hold them in ascending index, whatever the order asked */
	cr_assert_eq(info.n_channels, 2);
	cr_assert_eq(info.scan_bytes, 4);
	cr_assert_eq(info.channels[0].index, 1);
	cr_assert_str_eq(info.channels[0].id, "voltage1");
	cr_assert_eq(info.channels[1].index, 3);
	receive_verified(c, &info, 20, false);
	iios_close(c);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

Test(devices, one_capture_is_shared_and_a_different_channel_set_is_refused)
{
	static const uint32_t ch0[] = { 0 }, ch2[] = { 2 }, bad[] = { 4 }, twice[] = { 1, 1 };
	struct iios_stream_info info, info2;
	struct iios_client *a, *b;
	struct daemon dm;

	daemon_start(&dm, four_channels);
	a = client_connect(&dm);
	b = client_connect(&dm);
	cr_assert_eq(iios_subscribe_channels(a, 0, ch0, 1, &info), 0, "%s", iios_errmsg(a));
	/* another set while a receives: refused, and says what is captured */
	cr_assert_eq(iios_subscribe_channels(b, 0, ch2, 1, &info2), -EBUSY);
	cr_assert(strstr(iios_errmsg(b), "voltage0"), "%s", iios_errmsg(b));
	cr_assert_eq(iios_subscribe_channels(b, 0, bad, 1, &info2), -EINVAL);
	cr_assert(strstr(iios_errmsg(b), "0..3"), "%s", iios_errmsg(b));
	cr_assert_eq(iios_subscribe_channels(b, 0, twice, 2, &info2), -EINVAL);
	/* no list: b joins the capture as it is, and both verify */
	cr_assert_eq(iios_subscribe(b, 0, &info2), 0, "%s", iios_errmsg(b));
	cr_assert_eq(info2.n_channels, 1);
	cr_assert_eq(info2.channels[0].index, 0);
	receive_verified(a, &info, 10, true);
	receive_verified(b, &info2, 10, true);
	iios_close(a);
	iios_close(b);
	/* once nobody receives (the daemon sees both leave when it gets to
	 * it), a client without a list gets every channel */
	{
		struct iios_stats st;

		WAIT_UNTIL((daemon_stats(&dm, &st), st.subscribers == 0),
			   "the daemon to see both clients leave (%u subscribed)", st.subscribers);
	}
	a = client_connect(&dm);
	cr_assert_eq(iios_subscribe(a, 0, &info), 0, "%s", iios_errmsg(a));
	cr_assert_eq(info.n_channels, 4);
	cr_assert_eq(info.scan_bytes, 8);
	receive_verified(a, &info, 10, false);
	iios_close(a);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}
