// SPDX-License-Identifier: MIT
/*
 * The iiod port's output (iiod_internal.h): replies and sample chunks handed
 * to libuv, one uv_write each, and what is counted of them: the bytes libuv
 * holds and whether the socket takes them (--idle-timeout), the replies a
 * client leaves unread (--max-send-queue).
 *
 * Ownership: a write owns what it carries (a block reference, a copy, a
 * reply's body) and frees it in on_write(), which libuv calls for every
 * write it took, with UV_ECANCELED when the connection closes first.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_pool.h"
#include "iiod_internal.h"
#include "log.h"
#include "server.h"

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

void iiod__output_init(struct iiod_conn *c)
{
	TAILQ_INIT(&c->writes);
	c->progress_ns = monotonic_ns();
}

static void on_write(uv_write_t *req, int status)
{
	struct iiod_write *w = (struct iiod_write *)req;
	struct iiod_conn *c = req->data;

	TAILQ_REMOVE(&c->writes, w, link);
	if (w->blk)
		block_pool_unref(w->blk);
	c->reply_pending -= w->reply_len;
	c->writes_done++;
	iiod__buffer_written(c);
	free(w->copy);
	free(w);
	if (status < 0 && status != UV_ECANCELED && !c->closing) {
		log_info("iiod client %u (%s): send failed: %s", c->id, c->peer, uv_strerror(status));
		iiod__conn_close(c);
	}
}

size_t iiod__write_queue(const struct iiod_conn *c)
{
	return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

uint64_t iiod__stalled_ns(struct iiod_conn *c, uint64_t now)
{
	size_t queued = iiod__write_queue(c);
	uint64_t taken = c->submitted - queued;

	if (queued == 0 || taken != c->taken_seen) {
		c->taken_seen = taken;
		c->progress_ns = now;
		return 0;
	}
	return now - c->progress_ns;
}

/* A write goes to libuv: what --idle-timeout and --max-send-queue count. */
static void count_submitted(struct iiod_conn *c, const struct iiod_write *w)
{
	if (iiod__write_queue(c) == 0) {
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
		iiod__conn_close(c);
		return;
	}
	c->submitted += w->len;
}

static void out_of_memory(struct iiod_conn *c)
{
	log_error("iiod client %u: out of memory", c->id);
	iiod__conn_close(c);
}

/* A write with room for head[hlen] and `extra` bytes after it, head copied
 * in, carrying blk and copy, in c's writes until on_write(); NULL when out
 * of memory. */
static struct iiod_write *write_new(struct iiod_conn *c, const char *head, size_t hlen,
				    size_t extra, struct pool_block *blk, uint8_t *copy)
{
	struct iiod_write *w = malloc(sizeof(*w) + hlen + extra);

	if (!w)
		return NULL;
	w->blk = blk;
	w->copy = copy;
	w->reply_len = 0;
	memcpy(w->data, head, hlen);
	TAILQ_INSERT_TAIL(&c->writes, w, link); /* until on_write() */
	return w;
}

/* Queue head[hlen] and, if given, samples; takes over blk's reference or
 * copy (freed once sent). A reply (is_reply) is counted in reply_pending
 * until its write completes. The connection may be closed on return. */
static void send_parts(struct iiod_conn *c, const char *head, size_t hlen, const void *samples,
		       size_t slen, struct pool_block *blk, uint8_t *copy, bool is_reply)
{
	struct iiod_write *w = write_new(c, head, hlen, 0, blk, copy);

	if (!w) {
		if (blk)
			block_pool_unref(blk);
		free(copy);
		out_of_memory(c);
		return;
	}
	w->reply_len = is_reply ? hlen + slen : 0;
	submit(c, w, hlen, samples, slen);
}

void iiod__send_block(struct iiod_conn *c, const char *head, size_t hlen, const void *samples,
		      size_t slen, struct pool_block *blk)
{
	send_parts(c, head, hlen, samples, slen, blk, NULL, false);
}

void iiod__send_picked(struct iiod_conn *c, const char *head, size_t hlen,
		       const uint8_t *from, uint32_t scans)
{
	size_t len = (size_t)scans * c->scan_bytes;
	struct iiod_write *w = write_new(c, head, hlen, len, NULL, NULL);
	uint8_t *o;
	uint32_t i, k;

	if (!w) {
		out_of_memory(c);
		return;
	}
	o = (uint8_t *)w->data + hlen;
	memset(o, 0, len); /* the padding between elements */
	for (i = 0; i < scans; i++, from += c->cap_scan_bytes, o += c->scan_bytes)
		for (k = 0; k < c->nsel; k++)
			memcpy(o + c->sel_dst[k], from + c->sel_off[k], c->sel_len[k]);
	submit(c, w, hlen, w->data + hlen, len);
}

/* --max-send-queue bounds the replies a client leaves unread, as on the
 * iiostream ports: past it the connection is closed (a reply saying so
 * would wait behind the others). One reply of any size may always wait. */
void iiod__send_reply(struct iiod_conn *c, const char *head, size_t hlen, char *body,
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
	if (unsent > iiod__write_queue(c))
		unsent = iiod__write_queue(c);
	if (unsent && unsent + hlen + blen > srv->cfg->max_send_queue) {
		free(body);
		srv->protocol_errors++;
		log_warn("iiod client %u (%s): sends commands but does not read the replies "
			 "(%" PRIu64 " bytes unread, --max-send-queue %u): closing", c->id, c->peer,
			 unsent, srv->cfg->max_send_queue);
		iiod__conn_close(c);
		return;
	}
	send_parts(c, head, hlen, body, blen, NULL, (uint8_t *)body, true);
}

void iiod__send_text(struct iiod_conn *c, const char *text, size_t len)
{
	iiod__send_reply(c, text, len, NULL, 0);
}

void iiod__send_sized(struct iiod_conn *c, const char *data, size_t len)
{
	char *text = malloc(len + 24);
	int n;

	if (!text) {
		iiod__send_int(c, -ENOMEM);
		return;
	}
	n = snprintf(text, 24, "%zu\n", len);
	memcpy(text + n, data, len);
	text[n + len] = '\n';
	iiod__send_text(c, text, (size_t)n + len + 1);
	free(text);
}

void iiod__send_int(struct iiod_conn *c, long long v)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%lld\n", v);

	iiod__send_text(c, line, (size_t)n);
}
