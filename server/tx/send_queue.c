// SPDX-License-Identifier: MIT
/* A connection's send queue: see send_queue.h. */
#include "send_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iiostream/frame.h"

void send_queue_init(struct send_queue *q)
{
	memset(q, 0, sizeof(*q));
	TAILQ_INIT(&q->outq);
	TAILQ_INIT(&q->pinned);
}

void stream_cursor_restart(struct stream_cursor *c, uint32_t stream_id, uint32_t scan_bytes)
{
	c->stream_id = stream_id;
	c->scan_bytes = scan_bytes;
	c->have_prev = false;
}

static void enqueue(struct send_queue *q, struct out_frame *f)
{
	TAILQ_INSERT_TAIL(&q->outq, f, link);
	if (f->blk) {
		q->queued_blocks++;
		f->cur->queued_blocks++;
	} else {
		q->queued_control += f->head_len;
	}
}

int send_queue_push_control(struct send_queue *q, const void *frame, size_t len)
{
	struct out_frame *f = calloc(1, sizeof(*f) + len);

	if (!f)
		return -ENOMEM;
	memcpy(f->head, frame, len);
	f->head_len = len;
	enqueue(q, f);
	return 0;
}

int send_queue_push_block(struct send_queue *q, struct pool_block *b, struct stream_cursor *cur)
{
	struct out_frame *f = calloc(1, sizeof(*f) + BLOCK_HEAD_MAX);

	if (!f)
		return -ENOMEM;
	block_pool_ref(b);
	f->blk = b;
	f->cur = cur;
	enqueue(q, f);
	return 0;
}

/* Off outq; the frame is the caller's now. */
static void unlink_queued(struct send_queue *q, struct out_frame *f)
{
	TAILQ_REMOVE(&q->outq, f, link);
	if (f->blk) {
		q->queued_blocks--;
		f->cur->queued_blocks--;
	} else {
		q->queued_control -= f->head_len;
	}
}

/* The frame's end: its block reference goes, then its memory. */
static void free_frame(struct out_frame *f)
{
	if (f->blk)
		block_pool_unref(f->blk);
	free(f);
}

static void remove_queued(struct send_queue *q, struct out_frame *f)
{
	unlink_queued(q, f);
	free_frame(f);
}

void send_queue_encode(struct send_queue *q, struct out_frame *f)
{
	const struct pool_block *b = f->blk;
	struct stream_cursor *c = f->cur;
	Iiostream__BlockHeader hdr = IIOSTREAM__BLOCK_HEADER__INIT;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	long n;

	(void)q; /* the continuity is the frame's stream's (f->cur) */
	if (!b || f->encoded)
		return;
	hdr.block_id = b->id;
	hdr.bytes_used = b->bytes_used;
	hdr.timestamp_ns = b->timestamp_ns;
	hdr.flags = b->flags;
	hdr.sequence = b->sequence;
	hdr.payload_len = b->bytes_used;
	hdr.first_sample = b->first_sample;
	hdr.dequeue_ns = b->dequeue_ns;
	hdr.stream_id = c->stream_id;
	if (c->have_prev) {
		hdr.lost_before = b->sequence - c->prev_sequence - 1;
		hdr.lost_samples = b->first_sample - c->prev_end_sample;
	}
	c->have_prev = true;
	c->prev_sequence = b->sequence;
	c->prev_end_sample = b->first_sample + b->bytes_used / c->scan_bytes;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_BLOCK;
	env.block = &hdr;
	n = iios_frame_encode(&env, f->head, BLOCK_HEAD_MAX, BLOCK_HEAD_MAX);
	if (n < 0)
		abort(); /* BLOCK_HEAD_MAX covers every field at its largest */
	f->head_len = (size_t)n;
	f->encoded = true;
}

int out_frame_pieces(const struct out_frame *f, struct iovec piece[2])
{
	size_t off = f->sent;
	int n = 0;

	if (off < f->head_len) {
		piece[n].iov_base = (void *)(f->head + off);
		piece[n++].iov_len = f->head_len - off;
		off = 0;
	} else {
		off -= f->head_len;
	}
	if (f->blk && off < f->blk->bytes_used) {
		piece[n].iov_base = (void *)(f->blk->data + off);
		piece[n++].iov_len = f->blk->bytes_used - off;
	}
	return n;
}

int send_queue_gather(struct send_queue *q, struct iovec *iov, int max_iov, size_t max_bytes,
		      size_t *payload)
{
	struct out_frame *f;
	size_t batch = 0;
	int n = 0;

	*payload = 0;
	TAILQ_FOREACH(f, &q->outq, link) {
		int i, k;

		if (n + 2 > max_iov || batch >= max_bytes)
			break;
		send_queue_encode(q, f);
		k = out_frame_pieces(f, &iov[n]);
		for (i = 0; i < k; i++)
			batch += iov[n + i].iov_len;
		if (f->blk && k)
			*payload += iov[n + k - 1].iov_len; /* the last piece is payload */
		n += k;
	}
	return n;
}

/* A block frame of stream `cur` (NULL: of any stream). */
static bool of_stream(const struct out_frame *f, const struct stream_cursor *cur)
{
	return f->blk && (!cur || f->cur == cur);
}

uint32_t send_queue_droppable(const struct send_queue *q, const struct stream_cursor *cur)
{
	const struct out_frame *f;
	uint32_t n = 0;

	TAILQ_FOREACH(f, &q->outq, link)
		n += of_stream(f, cur) && !f->encoded;
	return n;
}

void send_queue_drop_oldest(struct send_queue *q, const struct stream_cursor *cur)
{
	struct out_frame *f;

	TAILQ_FOREACH(f, &q->outq, link) {
		if (of_stream(f, cur) && !f->encoded) {
			remove_queued(q, f);
			return;
		}
	}
}

void send_queue_drop_unsent(struct send_queue *q, const struct stream_cursor *cur)
{
	struct out_frame *f, *next;

	/* (next saved before the free: an analyzer cannot see through
	 * TAILQ_REMOVE that the walk moved on) */
	for (f = TAILQ_FIRST(&q->outq); f; f = next) {
		next = TAILQ_NEXT(f, link);
		if (of_stream(f, cur) && f->sent == 0)
			remove_queued(q, f);
	}
}

/* A block frame's send completed: its latency, into its stream's totals. */
static void frame_completed(const struct out_frame *f)
{
	const struct pool_block *b = f->blk;

	if (b && f->cur->stats)
		histogram_add(&f->cur->stats->latency, b->pool->now() - b->dequeue_ns);
}

/* f was taken whole: done, or pinned while the kernel uses its pages. */
static void frame_done(struct send_queue *q, struct out_frame *f)
{
	if (f->blk) {
		q->blocks_sent++;
		q->bytes_sent += f->blk->bytes_used;
		if (f->cur->stats) {
			f->cur->stats->blocks_sent++;
			f->cur->stats->bytes_sent += f->blk->bytes_used;
		}
	}
	unlink_queued(q, f);
	if (!f->zc_pending && !f->ack_pending) {
		frame_completed(f);
		free_frame(f);
		return;
	}
	TAILQ_INSERT_TAIL(&q->pinned, f, link);
	if (f->blk) {
		q->pinned_blocks++;
		f->cur->pinned_blocks++;
	}
}

void send_queue_taken(struct send_queue *q, size_t n)
{
	struct out_frame *f, *next;

	/* (next saved before frame_done() frees f: see drop_unsent) */
	for (f = TAILQ_FIRST(&q->outq); f && n > 0; f = next) {
		size_t left = out_frame_len(f) - f->sent;

		next = TAILQ_NEXT(f, link);
		if (n < left) {
			f->sent += n;
			return;
		}
		n -= left;
		f->sent += left;
		frame_done(q, f);
	}
}

void send_queue_mark_zc(struct send_queue *q, size_t n, uint32_t id)
{
	struct out_frame *f;

	TAILQ_FOREACH(f, &q->outq, link) {
		f->zc_pending = true;
		f->zc_last = id;
		if (n <= out_frame_len(f) - f->sent)
			break;
		n -= out_frame_len(f) - f->sent;
	}
}

/* Off pinned, and freed. */
static void unpin(struct send_queue *q, struct out_frame *f)
{
	TAILQ_REMOVE(&q->pinned, f, link);
	if (f->blk) {
		q->pinned_blocks--;
		f->cur->pinned_blocks--;
	}
	free_frame(f);
}

void send_queue_release(struct send_queue *q, uint32_t zc_done, uint64_t acked)
{
	struct out_frame *f, *next;

	for (f = TAILQ_FIRST(&q->pinned); f; f = next) {
		next = TAILQ_NEXT(f, link);
		if (f->zc_pending && !zc_before(f->zc_last, zc_done))
			break;
		if (f->ack_pending && acked < f->ack_end)
			break;
		frame_completed(f);
		unpin(q, f);
	}
}

void send_queue_clear(struct send_queue *q)
{
	struct out_frame *f, *next;

	for (f = TAILQ_FIRST(&q->outq); f; f = next) {
		next = TAILQ_NEXT(f, link);
		remove_queued(q, f);
	}
	for (f = TAILQ_FIRST(&q->pinned); f; f = next) {
		next = TAILQ_NEXT(f, link);
		unpin(q, f);
	}
}
