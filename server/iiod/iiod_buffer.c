// SPDX-License-Identifier: MIT
/*
 * A libiio client's buffer (iiod_internal.h): OPEN, READBUF, CLOSE, the
 * blocks the fan-out offers it, queued and sent as READBUF asks for them.
 *
 * OPEN picks the client's channels out of the one capture every client
 * shares; a client that wants them all gets the blocks themselves
 * (passthrough), any other a copy of its channels (iiod__send_picked).
 *
 * Ownership: each queued block holds a reference, given back when it has
 * been sent (its writes take their own) or when the buffer closes; a block
 * sent whole stays counted in held_seq[] until its last write is called
 * back (iiod__buffer_written), so that a slow client never holds the ring.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "block_pool.h"
#include "container_of.h"
#include "devices.h"
#include "iiod_internal.h"
#include "iiod_xml.h"
#include "log.h"
#include "server.h"

/* READBUF data waiting in libuv's queue before we stop adding to it. */
#define MAX_QUEUED_BYTES (4u << 20)

static struct pool_block *queue_pop(struct iiod_conn *c)
{
	struct pool_block *b = c->q[c->q_head];

	c->q_head = (c->q_head + 1) % IIOD_MAX_QUEUE_BLOCKS;
	c->q_len--;
	c->head_scan = 0;
	return b;
}

void iiod__buffer_close(struct iiod_conn *c)
{
	if (!c->open)
		return;
	while (c->q_len)
		block_pool_unref(queue_pop(c));
	c->open = false;
	c->readbuf_left = 0;
	if (c->sub.blocks_skipped)
		log_warn("iiod client %u (%s): %" PRIu64 " blocks skipped (too slow; a libiio "
			 "client is not told)", c->id, c->peer, c->sub.blocks_skipped);
	fanout_unsubscribe(&c->ds->fanout, &c->sub);
	c->ds = NULL;
}

void iiod__buffer_written(struct iiod_conn *c)
{
	while (c->held_len && c->held_seq[c->held_head] <= c->writes_done) {
		c->held_head = (c->held_head + 1) % IIOD_MAX_QUEUE_BLOCKS;
		c->held_len--;
	}
}

/* The mask line READBUF sends with its first chunk: OPEN's, as sent. */
static size_t format_mask(const struct iiod_conn *c, char *out)
{
	size_t n = 0;
	unsigned w;

	for (w = c->mask_words; w-- > 0;)
		n += (size_t)sprintf(out + n, "%08" PRIx32, c->mask[w]);
	out[n++] = '\n';
	return n;
}

/* The head block's scans are all sent: it leaves the queue; its writes hold
 * it until the last one is done (passthrough). */
static void head_block_sent(struct iiod_conn *c)
{
	if (c->passthrough && c->held_len < IIOD_MAX_QUEUE_BLOCKS) {
		c->held_seq[(c->held_head + c->held_len) % IIOD_MAX_QUEUE_BLOCKS] =
			c->writes_submitted;
		c->held_len++;
	}
	block_pool_unref(queue_pop(c));
	c->blocks_sent++;
	c->ds->sent.blocks_sent++;
}

/* Send what the READBUF under way can take from the queued blocks, as long
 * as libuv's queue is not too full. */
static void pump(struct iiod_conn *c)
{
	while (!c->closing && c->readbuf_left && c->q_len &&
	       iiod__write_queue(c) < MAX_QUEUED_BYTES) {
		struct pool_block *b = c->q[c->q_head];
		uint32_t scans = b->bytes_used / c->cap_scan_bytes - c->head_scan;
		uint64_t want = c->readbuf_left / c->scan_bytes;
		const uint8_t *from = b->data + (size_t)c->head_scan * c->cap_scan_bytes;
		char head[32 + 8 * IIOD_MAX_MASK_WORDS + 2];
		size_t hlen, len;

		if (want < scans)
			scans = (uint32_t)want;
		len = (size_t)scans * c->scan_bytes;
		hlen = (size_t)sprintf(head, "%zu\n", len);
		if (!c->mask_sent) {
			hlen += format_mask(c, head + hlen);
			c->mask_sent = true;
		}
		if (!c->passthrough && len) {
			/* the client's channels only, copied out of each scan */
			iiod__send_picked(c, head, hlen, from, scans);
		} else {
			if (len)
				block_pool_ref(b); /* the write's own, until it is sent */
			iiod__send_block(c, head, hlen, from, len, len ? b : NULL);
		}
		if (c->closing)
			return; /* the write failed: iiod__buffer_close() emptied the queue */
		c->readbuf_left -= len;
		c->bytes_sent += len;
		c->ds->sent.bytes_sent += len;
		c->head_scan += scans;
		if (c->head_scan >= b->bytes_used / c->cap_scan_bytes)
			head_block_sent(c);
		if (c->readbuf_left < c->scan_bytes)
			c->readbuf_left = 0; /* less than a scan: nothing more to send */
	}
}

/* ------------------------------------------------------------------ */
/* A buffer as a subscriber of the fan-out (subscriber.h)              */

static struct iiod_conn *sub_conn(const struct subscriber *sub)
{
	return container_of(sub, struct iiod_conn, sub);
}

static enum sub_offer buffer_offer(struct subscriber *sub, struct pool_block *b)
{
	struct iiod_conn *c = sub_conn(sub);

	if (!c->open || c->closing || b->bytes_used < c->cap_scan_bytes)
		return SUB_PASS; /* no whole scan in it */
	block_pool_ref(b);
	c->q[(c->q_head + c->q_len) % IIOD_MAX_QUEUE_BLOCKS] = b;
	c->q_len++;
	pump(c);
	return SUB_TAKEN;
}

static uint32_t buffer_held(const struct subscriber *sub)
{
	const struct iiod_conn *c = sub_conn(sub);

	return c->q_len + c->held_len;
}

/* Blocks behind the one being sent can go. */
static uint32_t buffer_droppable(const struct subscriber *sub)
{
	const struct iiod_conn *c = sub_conn(sub);

	return c->q_len > 1 ? c->q_len - 1 : 0;
}

static void buffer_drop_oldest(struct subscriber *sub)
{
	struct iiod_conn *c = sub_conn(sub);
	uint32_t second = (c->q_head + 1) % IIOD_MAX_QUEUE_BLOCKS, i;

	block_pool_unref(c->q[second]);
	for (i = 1; i + 1 < c->q_len; i++)
		c->q[(c->q_head + i) % IIOD_MAX_QUEUE_BLOCKS] =
			c->q[(c->q_head + i + 1) % IIOD_MAX_QUEUE_BLOCKS];
	c->q_len--;
}

static void buffer_skipped(struct subscriber *sub)
{
	struct iiod_conn *c = sub_conn(sub);

	if (sub->blocks_skipped == 1)
		log_warn("iiod client %u (%s): too slow, skipping blocks", c->id, c->peer);
}

static const struct subscriber_ops buffer_sub_ops = {
	.offer = buffer_offer,
	.held = buffer_held,
	.droppable = buffer_droppable,
	.drop_oldest = buffer_drop_oldest,
	.skipped = buffer_skipped,
};

/* ------------------------------------------------------------------ */
/* OPEN                                                                */

/* The streamed device of `devs`, if `name` names it (id, name or label). */
static const Iiostream__DeviceDesc *streamed_device(const Iiostream__Devices *devs,
						    const char *name, bool *exists)
{
	size_t i;

	*exists = false;
	for (i = 0; i < devs->n_devices; i++) {
		const Iiostream__DeviceDesc *d = devs->devices[i];

		if (strcmp(d->id, name) && strcmp(d->name, name) && (!d->label[0] ||
								    strcmp(d->label, name)))
			continue;
		*exists = true;
		if (d->streamed)
			return d;
	}
	return NULL;
}

/* The stream of the device OPEN names in *ds, and the channels its mask
 * names that can be streamed, as a mask of scan indexes in *want. The
 * mask's bits are libiio's channel numbers, i.e. positions in the XML
 * (iiod_xml.h); the capture is by scan index. 0, or -ENODEV, -ENOSYS (a
 * device we do not stream), -EINVAL (a mask of the wrong size). */
static int wanted_channels(struct server *srv, const struct iiod_cmd *cmd, uint64_t *want,
			   struct device_stream **ds)
{
	Iiostream__Devices devs = IIOSTREAM__DEVICES__INIT;
	const Iiostream__DeviceDesc *dev;
	size_t order[256], n, k;
	bool exists;
	int err = devices_describe(srv, &devs);

	if (err)
		return err;
	dev = streamed_device(&devs, cmd->device, &exists);
	if (!dev)
		err = exists ? -ENOSYS : -ENODEV;
	else if (dev->stream_id >= srv->nstreams)
		err = -ENOSYS; /* cannot be: streamed devices have a stream */
	else if (cmd->mask_words != (dev->n_channels + 31) / 32)
		err = -EINVAL;
	*ds = err ? NULL : &srv->streams[dev->stream_id];
	n = dev ? iiod_xml_channel_order(dev, order, 256) : 0;
	*want = 0;
	for (k = 0; !err && k < n; k++) {
		const Iiostream__ChannelDesc *chd = dev->channels[order[k]];

		if (!(cmd->mask[k / 32] & (1u << (k % 32))))
			continue;
		/* bits of channels that cannot be streamed are ignored, as iiod
		 * does (gr-iio sets them all when given no channel list) */
		if (chd->scan_element && !chd->output && chd->index >= 0 && chd->index < 64 &&
		    (uint32_t)chd->index < device_stream_elements(*ds))
			*want |= 1ull << chd->index;
	}
	devices_describe_free(&devs);
	return err;
}

/* Where the client's channels (`want`) sit in a scan of the capture (`cap`),
 * and where in a scan of its own, laid out as the IIO core (and libiio)
 * lay out a scan of those channels alone. */
static void select_channels(struct iiod_conn *c, uint64_t want, uint64_t cap)
{
	const struct source_format *fmt = &c->ds->fmt;
	struct iios_scan_layout from, to;
	uint32_t i, k = 0;

	/* both succeed: the source's own types, masks it accepted */
	iios_scan_layout_from_mask(&from, fmt->type, device_stream_elements(c->ds), cap,
				   fmt->timestamp_index);
	iios_scan_layout_from_mask(&to, fmt->type, device_stream_elements(c->ds), want,
				   fmt->timestamp_index);
	c->nsel = 0;
	for (i = 0; i < from.count && k < to.count; i++) {
		if (from.elem[i].index != to.elem[k].index)
			continue;
		c->sel_off[c->nsel] = from.elem[i].offset;
		c->sel_dst[c->nsel] = to.elem[k].offset;
		c->sel_len[c->nsel++] = iios_scan_type_bytes(&to.elem[k].type);
		k++;
	}
	c->cap_scan_bytes = fmt->scan_bytes;
	c->scan_bytes = to.scan_bytes;
	c->passthrough = want == cap;
}

/* The buffer is open on `cmd`'s device, with the channels `want` of the
 * capture `cap`: into the fan-out. */
static void buffer_subscribe(struct iiod_conn *c, const struct iiod_cmd *cmd,
			     struct device_stream *ds, uint64_t want, uint64_t cap)
{
	uint32_t q_max;

	c->ds = ds;
	select_channels(c, want, cap);
	memcpy(c->mask, cmd->mask, sizeof(c->mask));
	c->mask_words = cmd->mask_words;
	snprintf(c->device, sizeof(c->device), "%s", cmd->device);
	c->open = true;
	c->sub.ops = &buffer_sub_ops;
	c->sub.blocks_skipped = 0;
	q_max = device_stream_queue_bound(ds, 0);
	fanout_subscribe(&ds->fanout, &c->sub,
			 q_max < IIOD_MAX_QUEUE_BLOCKS ? q_max : IIOD_MAX_QUEUE_BLOCKS);
	log_info("iiod client %u (%s): buffer of %" PRIu64 " samples open on %s, %u channels%s",
		 c->id, c->peer, cmd->number, cmd->device, c->nsel,
		 c->passthrough ? "" : " (copied out of the capture)");
}

int iiod__buffer_open(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	struct server *srv = c->is->srv;
	struct device_stream *ds;
	struct output_stream *os = server_find_output(srv, cmd->device);
	uint64_t want, cap;
	int err;

	if (os)
		return iiod__tx_open(c, cmd, os); /* a DAC: iiod_tx.c */
	/* first: a client that may not stream learns nothing more */
	if (!iiod__allowed(c, &srv->cfg->allow_subscribe, "subscribe (OPEN)",
			   "--allow-subscribe"))
		return -EACCES;
	if (c->open || c->tx.os)
		return -EBUSY;
	if (cmd->cyclic)
		return -ENOSYS; /* cyclic buffers are output buffers: this is an ADC */
	if (cmd->number == 0 || cmd->number > (1u << 26))
		return -EINVAL;
	err = wanted_channels(srv, cmd, &want, &ds);
	if (err)
		return err;
	if (!want)
		return -EINVAL;
	/* One capture for every client: set it if nobody uses it (all
	 * channels where the source cannot pick), else take what we need
	 * out of it. */
	if (device_stream_subscribers(ds) == 0 &&
	    device_stream_set_channels(ds, want) == -EOPNOTSUPP)
		device_stream_set_channels(ds, device_stream_all_channels(ds));
	cap = ds->fmt.channel_mask;
	if ((want & cap) != want)
		return -EBUSY;
	buffer_subscribe(c, cmd, ds, want, cap);
	return 0;
}

/* ------------------------------------------------------------------ */
/* READBUF, CLOSE                                                      */

/* Is `dev` the device the buffer of this connection is open on? */
static bool is_open_on(const struct iiod_conn *c, const char *dev)
{
	return c->open && strcmp(c->device, dev) == 0;
}

/* READBUF: send up to `number` bytes of whole scans as they come. */
void iiod__readbuf(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	if (!is_open_on(c, cmd->device)) {
		iiod__send_int(c, -EBADF);
		return;
	}
	if (cmd->number > INT32_MAX) {
		iiod__send_int(c, -EINVAL);
		return;
	}
	c->readbuf_left = cmd->number / c->scan_bytes * c->scan_bytes;
	c->mask_sent = false;
	if (!c->readbuf_left)
		iiod__send_int(c, 0); /* less than one sample: nothing */
	pump(c);
}

/* A command while samples are still owed (the client gave up waiting): end
 * the READBUF as iiod does, with a 0 chunk. */
void iiod__readbuf_end(struct iiod_conn *c)
{
	if (!c->readbuf_left)
		return;
	c->readbuf_left = 0;
	iiod__send_int(c, 0);
}

void iiod__buffer_close_cmd(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	if (iiod__tx_open_on(c, cmd->device)) {
		iiod__tx_close(c);
		iiod__send_int(c, 0);
		return;
	}
	if (!is_open_on(c, cmd->device)) {
		iiod__send_int(c, -ENXIO);
		return;
	}
	iiod__buffer_close(c);
	iiod__send_int(c, 0);
}
