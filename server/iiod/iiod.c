// SPDX-License-Identifier: MIT
/*
 * The iiod-compatible listener: see iiod.h for what it is, iiod_cmd.c for
 * the command lines, iiod_xml.c for the context, docs/iiod-compat.md for
 * the protocol as served.
 *
 * Wire rules (libiio 0.24's client): commands end in "\r\n" (a bare "\n" is
 * taken); every reply starts with a decimal integer and "\n", negative for
 * an errno; the client waits for each reply before its next command, except
 * that WRITE is followed at once by its value's bytes.
 */
#include "iiod.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "block_pool.h"
#include "devices.h"
#include "iiod_xml.h"
#include "log.h"
#include "server.h"

/* Bytes of input kept: a command line, or the part of a WRITE value that
 * has arrived. */
#define IN_CAP (IIOD_MAX_LINE + 2)
/* Longest attribute value taken by WRITE; a longer one is read and
 * discarded, and refused. */
#define MAX_VALUE 4096
/* READBUF data waiting in libuv's queue before we stop adding to it. */
#define MAX_QUEUED_BYTES (4u << 20)
#define MAX_QUEUE_BLOCKS 64u

struct iiod_conn {
	TAILQ_ENTRY(iiod_conn) link;
	struct iiod_server *is;
	uv_tcp_t tcp;
	uint32_t id;
	char peer[64];
	bool closing;
	int open_handles;        /* tcp, and timer once started: freed when none is left */
	uv_timer_t timer;        /* the first command's deadline, then the stall check */
	bool got_command;        /* a whole line arrived (--handshake-timeout) */

	/* output: what libuv has of ours (--max-send-queue, --idle-timeout) */
	uint64_t submitted;      /* bytes handed to uv_write, ever */
	uint64_t reply_pending;  /* bytes of replies (not samples) whose write has not completed */
	uint64_t taken_seen;     /* bytes the socket had taken at the last look */
	uint64_t progress_ns;    /* when it last took a byte, or had nothing to take */
	uint64_t writes_submitted, writes_done; /* libuv completes them in order */

	/* input: a line being assembled, or a WRITE value */
	char in[IN_CAP];
	size_t in_len;
	bool overlong;           /* the line outgrew in[]: refused at its end */
	struct iiod_cmd pending; /* WRITE whose value is arriving */
	uint64_t value_left;     /* bytes of that value still to come */
	char value[MAX_VALUE + 1];
	size_t value_len;

	/* the buffer (OPEN .. CLOSE) */
	bool open;
	char device[64];         /* as OPEN named it */
	uint32_t mask[IIOD_MAX_MASK_WORDS]; /* as OPEN sent it, echoed by READBUF */
	unsigned mask_words;
	uint32_t cap_scan_bytes; /* a scan of the capture */
	uint32_t scan_bytes;     /* a scan as this client gets it */
	uint32_t nsel;           /* its channels ... */
	uint32_t sel_off[64];    /* ... at these byte offsets in a capture scan */
	bool passthrough;        /* it gets whole capture scans: no copy */
	struct subscriber sub;   /* in the fan-out while open (subscriber.h) */
	struct pool_block *q[MAX_QUEUE_BLOCKS]; /* blocks queued, oldest first */
	uint32_t q_head, q_len;
	/* Blocks sent whole out of q whose writes still hold them: the write
	 * number of each one's last chunk. They count against sub.max_queue with q,
	 * as a native client's blocks in flight count against its queue: a
	 * client must never hold every block of the ring. */
	uint64_t held_seq[MAX_QUEUE_BLOCKS];
	uint32_t held_head, held_len;
	TAILQ_HEAD(, iiod_write) writes; /* handed to libuv, not yet called back */
	uint32_t head_scan;      /* scans of q[q_head] already sent */
	uint64_t readbuf_left;   /* bytes of the READBUF under way */
	bool mask_sent;          /* its mask line went with its first chunk */

	uint64_t blocks_sent, bytes_sent; /* skips: sub.blocks_skipped */
};

static void conn_close(struct iiod_conn *c);
static void iiod_stop(struct iiod_server *is);
static const struct frontend_ops iiod_fe_ops;
static void on_conn_timer(uv_timer_t *t);

/* One uv_write: a reply, or a chunk of samples (a block reference or a
 * copy), freed in its callback. */
struct iiod_write {
	uv_write_t req;
	TAILQ_ENTRY(iiod_write) link; /* in its connection's writes */
	struct pool_block *blk;  /* samples sent from the block itself */
	uint8_t *copy;           /* samples copied apart (channel subset), or a reply's body */
	size_t len;
	size_t reply_len;        /* of a reply: its bytes, counted in reply_pending; 0: samples */
	char data[];             /* the reply or the chunk's header */
};

_Static_assert(offsetof(struct iiod_write, req) == 0, "on_write() casts the request back");

static void on_write(uv_write_t *req, int status)
{
	struct iiod_write *w = (struct iiod_write *)req;
	struct iiod_conn *c = req->data;

	TAILQ_REMOVE(&c->writes, w, link);
	if (w->blk)
		block_pool_unref(w->blk);
	c->reply_pending -= w->reply_len;
	c->writes_done++;
	while (c->held_len && c->held_seq[c->held_head] <= c->writes_done) {
		c->held_head = (c->held_head + 1) % MAX_QUEUE_BLOCKS;
		c->held_len--;
	}
	free(w->copy);
	free(w);
	if (status < 0 && status != UV_ECANCELED && !c->closing) {
		log_info("iiod client %u (%s): send failed: %s", c->id, c->peer, uv_strerror(status));
		conn_close(c);
	}
}

static size_t write_queue(const struct iiod_conn *c)
{
	return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

/* A write goes to libuv: what --idle-timeout and --max-send-queue count. */
static void count_submitted(struct iiod_conn *c, const struct iiod_write *w)
{
	if (write_queue(c) == 0) {
		/* the socket's time to take this starts now (--idle-timeout) */
		c->taken_seen = c->submitted;
		c->progress_ns = monotonic_ns();
	}
	c->reply_pending += w->reply_len;
	c->writes_submitted++;
}

/* Hand w, whose data[] starts with the head[hlen], and samples[slen] to
 * libuv; w is freed by on_write() (or here, if libuv refuses it). */
static void submit(struct iiod_conn *c, struct iiod_write *w, size_t hlen, const void *samples,
		   size_t slen)
{
	uv_buf_t bufs[2];
	int err;

	w->len = hlen + slen;
	w->req.data = c;
	bufs[0] = uv_buf_init(w->data, (unsigned)hlen);
	bufs[1] = uv_buf_init((char *)samples, (unsigned)slen);
	count_submitted(c, w);
	/* w itself, not &w->req (the same address): what libuv holds until
	 * on_write() is the whole write */
	err = uv_write((uv_write_t *)w, (uv_stream_t *)&c->tcp, bufs, slen ? 2 : 1, on_write);
	if (err) {
		on_write(&w->req, UV_ECANCELED);
		log_info("iiod client %u (%s): %s", c->id, c->peer, uv_strerror(err));
		conn_close(c);
		return;
	}
	c->submitted += w->len;
}

/* Queue head[hlen] and, if given, samples; takes over blk's reference or
 * copy (freed once sent). A reply (is_reply) is counted in reply_pending
 * until its write completes. The connection may be closed on return. */
static void send_parts(struct iiod_conn *c, const char *head, size_t hlen, const void *samples,
		       size_t slen, struct pool_block *blk, uint8_t *copy, bool is_reply)
{
	struct iiod_write *w = malloc(sizeof(*w) + hlen);

	if (!w) {
		if (blk)
			block_pool_unref(blk);
		free(copy);
		log_error("iiod client %u: out of memory", c->id);
		conn_close(c);
		return;
	}
	w->blk = blk;
	w->copy = copy;
	w->reply_len = is_reply ? hlen + slen : 0;
	memcpy(w->data, head, hlen);
	TAILQ_INSERT_TAIL(&c->writes, w, link); /* until on_write() */
	submit(c, w, hlen, samples, slen);
}

/* Queue head[hlen] and the client's channels of `scans` capture scans at
 * `from`, picked into the write's own memory (freed with it). */
static void send_picked(struct iiod_conn *c, const char *head, size_t hlen, const uint8_t *from,
			uint32_t scans)
{
	size_t len = (size_t)scans * c->scan_bytes;
	struct iiod_write *w = malloc(sizeof(*w) + hlen + len);
	uint8_t *o;
	uint32_t i, k;

	if (!w) {
		log_error("iiod client %u: out of memory", c->id);
		conn_close(c);
		return;
	}
	w->blk = NULL;
	w->copy = NULL;
	w->reply_len = 0;
	memcpy(w->data, head, hlen);
	o = (uint8_t *)w->data + hlen;
	for (i = 0; i < scans; i++, from += c->cap_scan_bytes)
		for (k = 0; k < c->nsel; k++, o += 2)
			memcpy(o, from + c->sel_off[k], 2);
	TAILQ_INSERT_TAIL(&c->writes, w, link); /* until on_write() */
	submit(c, w, hlen, w->data + hlen, len);
}

/* A reply of head[hlen] and body[blen] (body: NULL, or malloc'ed and taken
 * over). --max-send-queue bounds the replies a client leaves unread, as on
 * the iiostream ports: past it the connection is closed (a reply saying so
 * would wait behind the others). One reply of any size may always wait. */
static void send_reply(struct iiod_conn *c, const char *head, size_t hlen, char *body,
		       size_t blen)
{
	struct server *srv = c->is->srv;
	uint64_t unsent;

	if (c->closing) {
		free(body);
		return;
	}
	/* Replies whose write has not completed, but no more than libuv still
	 * holds: both over-count (a write done but not yet called back; the
	 * samples in the queue), neither under-counts. */
	unsent = c->reply_pending;
	if (unsent > write_queue(c))
		unsent = write_queue(c);
	if (unsent && unsent + hlen + blen > srv->cfg->max_send_queue) {
		free(body);
		srv->protocol_errors++;
		log_warn("iiod client %u (%s): sends commands but does not read the replies "
			 "(%" PRIu64 " bytes unread, --max-send-queue %u): closing", c->id, c->peer,
			 unsent, srv->cfg->max_send_queue);
		conn_close(c);
		return;
	}
	send_parts(c, head, hlen, body, blen, NULL, (uint8_t *)body, true);
}

static void send_text(struct iiod_conn *c, const char *text, size_t len)
{
	send_reply(c, text, len, NULL, 0);
}

/* The status line every reply starts with. */
static void send_int(struct iiod_conn *c, long long v)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%lld\n", v);

	send_text(c, line, (size_t)n);
}

/* ------------------------------------------------------------------ */
/* Buffers: OPEN, READBUF, CLOSE, and the blocks the fan-out offers   */

static struct pool_block *queue_pop(struct iiod_conn *c)
{
	struct pool_block *b = c->q[c->q_head];

	c->q_head = (c->q_head + 1) % MAX_QUEUE_BLOCKS;
	c->q_len--;
	c->head_scan = 0;
	return b;
}

static void buffer_close(struct iiod_conn *c)
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
	fanout_unsubscribe(&c->is->srv->fanout, &c->sub);
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

/* Send what the READBUF under way can take from the queued blocks, as long
 * as libuv's queue is not too full. */
static void pump(struct iiod_conn *c)
{
	while (!c->closing && c->readbuf_left && c->q_len &&
	       uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < MAX_QUEUED_BYTES) {
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
			send_picked(c, head, hlen, from, scans);
		} else {
			if (len)
				block_pool_ref(b); /* the write's own, until it is sent */
			send_parts(c, head, hlen, from, len, len ? b : NULL, NULL, false);
		}
		if (c->closing)
			return; /* the write failed: buffer_close() emptied the queue */
		c->readbuf_left -= len;
		c->bytes_sent += len;
		c->head_scan += scans;
		if (c->head_scan >= b->bytes_used / c->cap_scan_bytes) {
			if (c->passthrough && c->held_len < MAX_QUEUE_BLOCKS) {
				/* its writes hold it until the last one is done */
				c->held_seq[(c->held_head + c->held_len) % MAX_QUEUE_BLOCKS] =
					c->writes_submitted;
				c->held_len++;
			}
			block_pool_unref(queue_pop(c));
			c->blocks_sent++;
		}
		if (c->readbuf_left < c->scan_bytes)
			c->readbuf_left = 0; /* less than a scan: nothing more to send */
	}
}

/* A buffer as a subscriber of the fan-out (subscriber.h) */

static struct iiod_conn *sub_conn(const struct subscriber *sub)
{
	return (struct iiod_conn *)((const char *)sub - offsetof(struct iiod_conn, sub));
}

static enum sub_offer buffer_offer(struct subscriber *sub, struct pool_block *b)
{
	struct iiod_conn *c = sub_conn(sub);

	if (!c->open || c->closing || b->bytes_used < c->cap_scan_bytes)
		return SUB_PASS; /* no whole scan in it */
	block_pool_ref(b);
	c->q[(c->q_head + c->q_len) % MAX_QUEUE_BLOCKS] = b;
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
	uint32_t second = (c->q_head + 1) % MAX_QUEUE_BLOCKS, i;

	block_pool_unref(c->q[second]);
	for (i = 1; i + 1 < c->q_len; i++)
		c->q[(c->q_head + i) % MAX_QUEUE_BLOCKS] = c->q[(c->q_head + i + 1) % MAX_QUEUE_BLOCKS];
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

/* The authorisation lists, as on the iiostream ports (protocol.c): a libiio
 * client has no certificate, so it may only when the list is unset or names
 * "plain". A refusal is logged and counted (requests_refused); the caller
 * answers -EACCES and the connection goes on. */
static bool allowed(struct iiod_conn *c, const struct access_list *list, const char *what,
		    const char *flag)
{
	static const struct peer_identity no_cert = { .has_cert = false };

	if (access_allows(list, &no_cert))
		return true;
	c->is->srv->requests_refused++;
	log_warn("iiod client %u (%s, no certificate): %s refused by %s", c->id, c->peer, what,
		 flag);
	return false;
}

/* OPEN: the mask's bits are libiio's channel numbers, i.e. positions in the
 * XML (iiod_xml.h); the capture is by scan index. 0 or a negative errno. */
/* The channels OPEN's mask names that can be streamed, as a mask of scan
 * indexes in *want. 0, or -ENODEV, -ENOSYS (a device we do not stream),
 * -EINVAL (a mask of the wrong size). */
static int wanted_channels(struct server *srv, const struct iiod_cmd *cmd, uint64_t *want)
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
	else if (cmd->mask_words != (dev->n_channels + 31) / 32)
		err = -EINVAL;
	n = dev ? iiod_xml_channel_order(dev, order, 256) : 0;
	*want = 0;
	for (k = 0; !err && k < n; k++) {
		const Iiostream__ChannelDesc *chd = dev->channels[order[k]];

		if (!(cmd->mask[k / 32] & (1u << (k % 32))))
			continue;
		/* bits of channels that cannot be streamed are ignored, as iiod
		 * does (gr-iio sets them all when given no channel list) */
		if (chd->scan_element && !chd->output && chd->index >= 0 && chd->index < 64 &&
		    (uint32_t)chd->index < srv->fmt.device_channels)
			*want |= 1ull << chd->index;
	}
	devices_describe_free(&devs);
	return err;
}

/* Where the client's channels (`want`) sit in a scan of the capture (`cap`). */
static void select_channels(struct iiod_conn *c, uint64_t want, uint64_t cap)
{
	uint32_t ch, pos;

	c->nsel = 0;
	for (ch = 0, pos = 0; ch < 64; ch++) {
		if (!(cap & (1ull << ch)))
			continue;
		if (want & (1ull << ch))
			c->sel_off[c->nsel++] = pos * 2;
		pos++;
	}
	c->cap_scan_bytes = c->is->srv->fmt.scan_bytes;
	c->scan_bytes = c->nsel * 2;
	c->passthrough = want == cap;
}

static int buffer_open(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	struct server *srv = c->is->srv;
	uint64_t want, cap;
	uint32_t q_max;
	int err;

	/* first: a client that may not stream learns nothing more */
	if (!allowed(c, &srv->cfg->allow_subscribe, "subscribe (OPEN)", "--allow-subscribe"))
		return -EACCES;
	if (c->open)
		return -EBUSY;
	if (cmd->cyclic)
		return -ENOSYS; /* output buffers: this is an ADC */
	if (cmd->number == 0 || cmd->number > (1u << 26))
		return -EINVAL;
	err = wanted_channels(srv, cmd, &want);
	if (err)
		return err;
	if (!want)
		return -EINVAL;
	/* One capture for every client: set it if nobody uses it (all
	 * channels where the source cannot pick), else take what we need
	 * out of it. */
	if (server_subscribers(srv) == 0 && server_set_channels(srv, want) == -EOPNOTSUPP)
		server_set_channels(srv, server_all_channels(srv));
	cap = srv->fmt.channel_mask;
	if ((want & cap) != want)
		return -EBUSY;
	select_channels(c, want, cap);
	memcpy(c->mask, cmd->mask, sizeof(c->mask));
	c->mask_words = cmd->mask_words;
	snprintf(c->device, sizeof(c->device), "%s", cmd->device);
	c->open = true;
	c->sub.ops = &buffer_sub_ops;
	c->sub.blocks_skipped = 0;
	q_max = server_queue_bound(srv, 0);
	fanout_subscribe(&srv->fanout, &c->sub, q_max < MAX_QUEUE_BLOCKS ? q_max : MAX_QUEUE_BLOCKS);
	log_info("iiod client %u (%s): buffer of %" PRIu64 " samples open on %s, %u channels%s",
		 c->id, c->peer, cmd->number, cmd->device, c->nsel,
		 c->passthrough ? "" : " (copied out of the capture)");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */

static void reply_print(struct iiod_conn *c)
{
	Iiostream__Devices devs = IIOSTREAM__DEVICES__INIT;
	char head[32], *xml;
	size_t len;
	int n;

	if (devices_describe(c->is->srv, &devs)) {
		send_int(c, -ENOMEM);
		return;
	}
	xml = iiod_xml_context(&devs, "iiostreamd " IIOSTREAM_VERSION, &len);
	devices_describe_free(&devs);
	if (!xml) {
		send_int(c, -ENOMEM);
		return;
	}
	/* "<length>\n<xml>\n": the client reads length + 1 bytes */
	xml[len] = '\n';
	n = snprintf(head, sizeof(head), "%zu\n", len);
	send_reply(c, head, (size_t)n, xml, len + 1);
}

static void attr_request(const struct iiod_cmd *cmd, Iiostream__AttrRead *r)
{
	r->device = (char *)cmd->device;
	r->channel = cmd->kind == IIOD_ATTR_CHANNEL ? (char *)cmd->channel : (char *)"";
	r->attr = (char *)cmd->attr;
	r->buffer = cmd->kind == IIOD_ATTR_BUFFER;
	r->output = cmd->output;
}

/* A value: "<length with its NUL>\n<value>\0\n". */
static void reply_value(struct iiod_conn *c, const char *value)
{
	size_t len = strlen(value) + 1;
	char *text = malloc(len + 24);
	int n;

	if (!text) {
		send_int(c, -ENOMEM);
		return;
	}
	n = snprintf(text, 24, "%zu\n", len);
	memcpy(text + n, value, len);
	text[n + len] = '\n';
	send_text(c, text, (size_t)n + len + 1);
	free(text);
}

static void do_read(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	Iiostream__AttrRead r = IIOSTREAM__ATTR_READ__INIT;
	char value[MAX_VALUE];
	int err;

	if (cmd->kind == IIOD_ATTR_DEBUG) {
		send_int(c, -ENOENT); /* no debug attributes are described */
		return;
	}
	attr_request(cmd, &r);
	err = devices_attr_read(c->is->srv, &r, value, sizeof(value));
	if (err)
		send_int(c, err);
	else
		reply_value(c, value);
}

/* WRITE, once its value has arrived: the reply is the bytes taken. */
static void do_write(struct iiod_conn *c)
{
	struct server *srv = c->is->srv;
	const struct iiod_cmd *cmd = &c->pending;
	Iiostream__AttrRead r = IIOSTREAM__ATTR_READ__INIT;
	Iiostream__AttrWrite w = IIOSTREAM__ATTR_WRITE__INIT;
	char after[MAX_VALUE];
	int err;

	if (cmd->number > MAX_VALUE) {
		send_int(c, -EFBIG);
		return;
	}
	if (cmd->kind == IIOD_ATTR_DEBUG) {
		send_int(c, -ENOENT);
		return;
	}
	/* a libiio client has no certificate: --allow-write must name "plain" */
	if (!allowed(c, &srv->cfg->allow_write, "attribute write", "--allow-write")) {
		send_int(c, -EACCES);
		return;
	}
	attr_request(cmd, &r);
	w.device = r.device;
	w.channel = r.channel;
	w.attr = r.attr;
	w.buffer = r.buffer;
	w.output = r.output;
	/* libiio sends the string with its NUL, a raw write may not; any other
	 * NUL is the value's own, and refused (devices_attr_write) */
	w.value.data = (uint8_t *)c->value;
	w.value.len = c->value_len;
	if (w.value.len && c->value[w.value.len - 1] == '\0')
		w.value.len--;
	err = devices_attr_write(srv, &w, after, sizeof(after));
	if (err) {
		send_int(c, err);
		return;
	}
	log_info("iiod client %u (%s): %s %s%s%s = %s", c->id, c->peer, cmd->device,
		 cmd->channel, cmd->channel[0] ? " " : "", cmd->attr, after);
	send_int(c, (long long)cmd->number);
}

static const char help_text[] =
	"iiostreamd speaks these iiod commands (docs/iiod-compat.md):\n"
	"VERSION, PRINT, TIMEOUT <ms>, EXIT,\n"
	"READ <dev> [INPUT|OUTPUT <chn>|BUFFER] <attr>,\n"
	"WRITE <dev> [INPUT|OUTPUT <chn>|BUFFER] <attr> <bytes> + the value,\n"
	"OPEN <dev> <samples> <mask>, READBUF <dev> <bytes>, CLOSE <dev>,\n"
	"GETTRIG <dev>, SETTRIG <dev>, SET <dev> BUFFERS_COUNT <n>\n";

/* Is `dev` the device the buffer of this connection is open on? */
static bool is_open_on(const struct iiod_conn *c, const char *dev)
{
	return c->open && strcmp(c->device, dev) == 0;
}

/* READBUF: send up to `number` bytes of whole scans as they come. */
static void readbuf(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	if (!is_open_on(c, cmd->device)) {
		send_int(c, -EBADF);
		return;
	}
	if (cmd->number > INT32_MAX) {
		send_int(c, -EINVAL);
		return;
	}
	c->readbuf_left = cmd->number / c->scan_bytes * c->scan_bytes;
	c->mask_sent = false;
	if (!c->readbuf_left)
		send_int(c, 0); /* less than one sample: nothing */
	pump(c);
}

/* GETTRIG, SETTRIG, SET (buffers): the device must exist; it has no
 * trigger, and the block ring's size is the daemon's (--blocks). */
static void trigger_or_buffers(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	Iiostream__AttrRead probe = IIOSTREAM__ATTR_READ__INIT;
	char scratch[64];

	probe.device = (char *)cmd->device;
	probe.channel = (char *)"";
	probe.attr = (char *)"name";
	if (devices_attr_read(c->is->srv, &probe, scratch, sizeof(scratch)) == -ENODEV)
		send_int(c, -ENODEV);
	else if (cmd->op == IIOD_OP_SETTRIG && cmd->trigger[0])
		send_int(c, -ENOENT);
	else if (cmd->op == IIOD_OP_SET_BUFFERS && cmd->number == 0)
		send_int(c, -EINVAL);
	else
		send_int(c, 0);
}

static void execute(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	switch (cmd->op) {
	case IIOD_OP_NONE:
		return; /* libiio's "\r\nEXIT\r\n" starts with one: no reply */
	case IIOD_OP_EXIT:
		conn_close(c);
		return;
	case IIOD_OP_HELP:
		send_text(c, help_text, sizeof(help_text) - 1);
		return;
	case IIOD_OP_VERSION:
		/* "%u.%u.%-7.7s\n": major, minor, git tag */
		send_text(c, "0.24.v0.24  \n", 13);
		return;
	case IIOD_OP_PRINT:
		reply_print(c);
		return;
	case IIOD_OP_ZPRINT:
		send_int(c, -EINVAL); /* no compressed XML, as Debian's iiod */
		return;
	case IIOD_OP_TIMEOUT:
		send_int(c, 0); /* nothing here blocks: accepted, nothing to set */
		return;
	case IIOD_OP_OPEN:
		send_int(c, buffer_open(c, cmd));
		return;
	case IIOD_OP_CLOSE:
		if (!is_open_on(c, cmd->device)) {
			send_int(c, -ENXIO);
			return;
		}
		buffer_close(c);
		send_int(c, 0);
		return;
	case IIOD_OP_READBUF:
		readbuf(c, cmd);
		return;
	case IIOD_OP_WRITEBUF:
		send_int(c, -ENOSYS); /* input devices only */
		return;
	case IIOD_OP_READ:
		do_read(c, cmd);
		return;
	case IIOD_OP_WRITE:
		break; /* the value comes first: see on_read() */
	case IIOD_OP_GETTRIG:
	case IIOD_OP_SETTRIG:
	case IIOD_OP_SET_BUFFERS:
		trigger_or_buffers(c, cmd);
		return;
	}
}

/* ------------------------------------------------------------------ */
/* Input                                                               */

static void consume(struct iiod_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Run every complete command in in[]. */
static void process_input(struct iiod_conn *c)
{
	while (!c->closing && c->in_len) {
		struct iiod_cmd cmd;
		char err[160];
		char *nl;
		size_t len;

		if (c->value_left) {
			/* a WRITE's value: kept up to MAX_VALUE, always consumed */
			size_t n = c->in_len < c->value_left ? c->in_len : (size_t)c->value_left;
			size_t keep = c->value_len + n <= MAX_VALUE ? n : 0;

			memcpy(c->value + c->value_len, c->in, keep);
			c->value_len += keep;
			c->value_left -= n;
			consume(c, n);
			if (!c->value_left)
				do_write(c);
			continue;
		}
		nl = memchr(c->in, '\n', c->in_len);
		if (!nl)
			return;
		len = (size_t)(nl - c->in);
		if (!c->got_command) {
			/* even a bad line: the peer speaks. From now on, the
			 * stall check once a second (on_conn_timer). */
			c->got_command = true;
			uv_timer_start(&c->timer, on_conn_timer, 1000, 1000);
		}
		if (c->readbuf_left) {
			/* a command while samples are still owed (the client gave up
			 * waiting): end the READBUF as iiod does, with a 0 chunk */
			c->readbuf_left = 0;
			send_int(c, 0);
		}
		if (c->overlong) {
			c->overlong = false;
			c->is->command_errors++;
			log_info("iiod client %u (%s): line longer than %d bytes", c->id, c->peer,
				 IIOD_MAX_LINE);
			send_int(c, -EINVAL);
			consume(c, len + 1);
			continue;
		}
		if (len && c->in[len - 1] == '\r')
			len--;
		if (iiod_cmd_parse(c->in, len, &cmd, err, sizeof(err)) != 0) {
			c->is->command_errors++;
			log_info("iiod client %u (%s): %s", c->id, c->peer, err);
			consume(c, (size_t)(nl - c->in) + 1);
			send_int(c, -EINVAL);
			continue;
		}
		consume(c, (size_t)(nl - c->in) + 1);
		if (cmd.op == IIOD_OP_WRITE) {
			c->pending = cmd;
			c->value_left = cmd.number;
			c->value_len = 0;
			if (!c->value_left)
				do_write(c);
			continue;
		}
		execute(c, &cmd);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct iiod_conn *c = h->data;

	(void)suggested;
	if (c->in_len == sizeof(c->in) && !c->value_left) {
		/* no newline in a full buffer: the line is too long; keep the
		 * tail so its end is found, and refuse it there */
		c->overlong = true;
		c->in_len = 0;
	}
	*buf = uv_buf_init(c->in + c->in_len, (unsigned)(sizeof(c->in) - c->in_len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct iiod_conn *c = stream->data;

	(void)buf;
	if (nread < 0) {
		/* EOF or reset: libiio closes buffer connections without CLOSE */
		if (nread != UV_EOF)
			log_info("iiod client %u (%s): %s", c->id, c->peer, uv_strerror((int)nread));
		conn_close(c);
		return;
	}
	c->in_len += (size_t)nread;
	process_input(c);
}

/* ------------------------------------------------------------------ */
/* Connections and the listener                                        */

static void on_conn_closed(uv_handle_t *h)
{
	struct iiod_conn *c = h->data;
	struct iiod_server *is = c->is;

	if (--c->open_handles > 0)
		return;
	TAILQ_REMOVE(&is->conns, c, link);
	is->nconns--;
	free(c);
	server_client_gone(is->srv);
}

/* Close a connection that was never served (refused, or not accepted). */
static void conn_discard(struct iiod_conn *c)
{
	TAILQ_INSERT_TAIL(&c->is->conns, c, link);
	c->is->nconns++;
	c->closing = true;
	c->open_handles = 1;
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void conn_close(struct iiod_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	buffer_close(c);
	log_info("iiod client %u (%s) closed: %" PRIu64 " bytes of samples sent", c->id, c->peer,
		 c->bytes_sent);
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/*
 * The limits of the iiostream ports that have a meaning here (see
 * docs/iiod-compat.md, "Limits"):
 *   --handshake-timeout: a connection must send its first line in time
 *     (libiio sends VERSION or PRINT at once), else it is closed;
 *   --idle-timeout: a socket that took no byte of what is queued for it for
 *     that long (a stalled reader) is closed, and the blocks its writes held
 *     go back. Idleness alone is not: libiio keeps its context connection
 *     silent while another one streams.
 * Both are read from the configuration in force (a SIGHUP changes them).
 * Runs at the first deadline, then once a second.
 */
static void on_conn_timer(uv_timer_t *t)
{
	struct iiod_conn *c = t->data;
	struct server *srv = c->is->srv;
	uint64_t limit = (uint64_t)srv->cfg->idle_timeout_s * 1000000000ull;
	uint64_t now = monotonic_ns(), taken;
	size_t queued;

	if (c->closing)
		return;
	if (!c->got_command) {
		srv->protocol_errors++;
		log_warn("iiod client %u (%s): no command within %u ms (--handshake-timeout): "
			 "closing", c->id, c->peer, srv->cfg->handshake_timeout_ms);
		conn_close(c);
		return;
	}
	queued = write_queue(c);
	taken = c->submitted - queued;
	if (queued == 0 || taken != c->taken_seen) {
		c->taken_seen = taken;
		c->progress_ns = now;
		return;
	}
	if (!limit || now - c->progress_ns < limit)
		return;
	srv->idle_closed++;
	srv->protocol_errors++;
	log_warn("iiod client %u (%s): took no byte for %u s (--idle-timeout), %zu bytes "
		 "waiting: closing", c->id, c->peer, srv->cfg->idle_timeout_s, queued);
	conn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct iiod_server *is = server->data;
	struct sockaddr_storage ss = { 0 };
	int sslen = sizeof(ss);
	struct iiod_conn *c;

	if (status < 0) {
		log_warn("iiod: accept: %s", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->is = is;
	TAILQ_INIT(&c->writes);
	uv_tcp_init(server->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_discard(c);
		return;
	}
	c->id = ++is->next_id;
	snprintf(c->peer, sizeof(c->peer), "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) == 0) {
		char host[INET6_ADDRSTRLEN] = "?";

		if (ss.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
		else
			uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", host,
			 ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	uv_tcp_nodelay(&c->tcp, 1);
	if (server_refuse_client(is->srv, c->peer, "iiod port")) {
		/* -EBUSY where libiio waits for its first reply: its context
		 * creation fails with "Device or resource busy" */
		uv_buf_t busy = uv_buf_init((char *)"-16\n", 4);

		uv_try_write((uv_stream_t *)&c->tcp, &busy, 1);
		conn_discard(c);
		return;
	}
	TAILQ_INSERT_TAIL(&is->conns, c, link);
	is->nconns++;
	is->connections_total++;
	c->open_handles = 2;
	uv_timer_init(server->loop, &c->timer);
	c->timer.data = c;
	c->progress_ns = monotonic_ns();
	uv_timer_start(&c->timer, on_conn_timer, is->srv->cfg->handshake_timeout_ms, 1000);
	log_debug("iiod client %u (%s) connected", c->id, c->peer);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* Is the listener reachable from other machines (not loopback)? */
static bool address_is_public(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) != 127;
	if (ss->ss_family == AF_INET6)
		return !IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return false;
}

/* Log what --allow-subscribe, --allow-write and --client-ca mean for the
 * iiod port, whose clients have no certificate (a list that does not name
 * "plain" refuses them all; one that does, or none with --client-ca, lets
 * anyone in). At start-up, and again after a reload; nothing when not
 * listening. */
static void warn_access(const struct iiod_server *is)
{
	static const struct peer_identity no_cert = { .has_cert = false };
	const struct config *cfg;
	const struct access_list *sub, *wr;

	if (!is->listening)
		return; /* srv is not even set when --iiod-listen was not given */
	cfg = is->srv->cfg;
	sub = &cfg->allow_subscribe;
	wr = &cfg->allow_write;
	/* libiio clients have no identity: a list lets all of them or none */
	if (sub->set && !access_allows(sub, &no_cert))
		log_warn("--allow-subscribe with --iiod-listen: libiio clients have no certificate, "
			 "so the iiod port refuses every OPEN (-EACCES); add 'plain' to the list "
			 "to let them stream");
	else if (sub->set)
		log_warn("--allow-subscribe names 'plain': anyone who reaches the iiod port "
			 "(port %u) may stream samples; libiio clients have no certificate",
			 is->port);
	else if (cfg->client_ca[0])
		log_warn("--client-ca authenticates TLS clients only: anyone who reaches the iiod "
			 "port (port %u) may stream samples; set --allow-subscribe to refuse them",
			 is->port);
	if (wr->set && !access_allows(wr, &no_cert))
		log_info("--allow-write with --iiod-listen: libiio clients have no certificate, "
			 "so the iiod port refuses every attribute WRITE (-EACCES)");
	else if (wr->set)
		log_warn("--allow-write names 'plain': anyone who reaches the iiod port (port %u) "
			 "may write attributes", is->port);
}

int iiod_start(struct iiod_server *is, struct server *srv, const char *host, uint16_t port)
{
	struct sockaddr_storage addr;
	struct sockaddr_storage bound;
	int len = sizeof(bound), err;

	memset(is, 0, sizeof(*is));
	is->fe.ops = &iiod_fe_ops;
	is->srv = srv;
	TAILQ_INIT(&is->conns);
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0) {
		log_error("--iiod-listen: '%s' is not an IPv4 or IPv6 address", host);
		return -EINVAL;
	}
	uv_tcp_init(srv->loop, &is->listener);
	is->listener.data = is;
	is->listening = true;
	err = uv_tcp_bind(&is->listener, (struct sockaddr *)&addr, 0);
	if (!err)
		err = uv_listen((uv_stream_t *)&is->listener, 64, on_connection);
	if (err) {
		log_error("--iiod-listen %s:%u: %s", host, port, uv_strerror(err));
		iiod_stop(is);
		return err;
	}
	uv_tcp_getsockname(&is->listener, (struct sockaddr *)&bound, &len);
	is->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
	log_info("listening for iiod clients (libiio ip:) on %s:%u", host, is->port);
	if (address_is_public(&bound))
		log_warn("the iiod port %s:%u is open to the network: plain TCP, no encryption, "
			 "no client authentication (as iiod's own); prefer --listen-tls", host,
			 is->port);
	warn_access(is);
	server_add_frontend(srv, &is->fe);
	return 0;
}

int iiod_listen_fd(const struct iiod_server *is)
{
	uv_os_fd_t fd;

	if (!is->listening || uv_fileno((const uv_handle_t *)&is->listener, &fd) != 0)
		return -1;
	return fd;
}

static void iiod_stop(struct iiod_server *is)
{
	struct iiod_conn *c, *next;

	if (is->listening) {
		is->listening = false;
		uv_close((uv_handle_t *)&is->listener, NULL);
	}
	for (c = TAILQ_FIRST(&is->conns); c; c = next) {
		next = TAILQ_NEXT(c, link);
		conn_close(c);
	}
}

/* The port as a front-end of the core (frontend.h) */

static struct iiod_server *fe_iiod(const struct frontend *fe)
{
	return (struct iiod_server *)((const char *)fe - offsetof(struct iiod_server, fe));
}

static void fe_counters(const struct frontend *fe, struct frontend_counters *out)
{
	const struct iiod_server *is = fe_iiod(fe);

	*out = (struct frontend_counters){ .clients = is->nconns,
					   .command_errors = is->command_errors };
}

/* Stop listening and close every connection; server_client_gone() is
 * called as each one goes. */
static void fe_shutdown(struct frontend *fe)
{
	iiod_stop(fe_iiod(fe));
}

static void fe_access_changed(struct frontend *fe)
{
	warn_access(fe_iiod(fe));
}

static void fe_foreach_client(const struct frontend *fe,
			      void (*fn)(const struct client_brief *c, void *arg), void *arg)
{
	struct iiod_conn *c;

	TAILQ_FOREACH(c, &fe_iiod(fe)->conns, link) {
		struct client_brief b = {
			.id = c->id,
			.peer = c->peer,
			.subscribed = c->open,
			.blocks_sent = c->blocks_sent,
			.bytes_sent = c->bytes_sent,
			.blocks_skipped = c->sub.blocks_skipped,
			.queue_blocks = c->q_len + c->held_len,
			.transport = "iiod",
		};

		fn(&b, arg);
	}
}

static const struct frontend_ops iiod_fe_ops = {
	.name = "iiod",
	.counters = fe_counters,
	.shutdown = fe_shutdown,
	.access_changed = fe_access_changed,
	.foreach_client = fe_foreach_client,
};
