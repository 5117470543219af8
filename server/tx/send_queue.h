/* SPDX-License-Identifier: MIT */
/*
 * A connection's send queue: the frames waiting for its socket, and the
 * frames sent whose pages the kernel still uses. No socket, no session:
 * the transports (transport.h) move bytes, this only keeps the books, so a
 * unit test can drive it with real pool blocks and no daemon.
 *
 * Frame life:   enqueued -> outq -> (taken whole) -> freed
 *                                                 \-> pinned -> released -> freed
 *               outq -> dropped unsent (never started: sent == 0) -> freed
 *
 * Ownership: every frame is the queue's, from send_queue_push_*() until it
 * is freed here. A block frame holds one pool reference (block_pool_ref at
 * push), dropped when the frame is freed: taken whole by a copying send,
 * released from `pinned` (zero-copy completion, sendfile ack), dropped
 * unsent, or dropped by send_queue_clear(). Nothing else drops it.
 */
#ifndef IIOSTREAMD_SEND_QUEUE_H
#define IIOSTREAMD_SEND_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "block_pool.h"
#include "histogram.h"
#include "zc_tracker.h"

/* Room for a BlockHeader Envelope: every field at its largest varint. */
#define BLOCK_HEAD_MAX 128

/*
 * What a stream's block frames did, every connection together (the
 * device's totals, /metrics): counted as each frame's send completes.
 */
struct send_stats {
	uint64_t blocks_sent, bytes_sent; /* frames taken whole; payload bytes */
	/* dequeue_ns to the send's completion: the socket took the frame's
	 * last byte (copy, TLS records: OpenSSL sealed it), or the kernel let
	 * go of its pages (zero-copy completion, sendfile's ack) */
	struct histogram latency;
};

/*
 * One stream of a connection: a connection subscribed to several devices
 * has one cursor per subscription. It keeps the stream's continuity (for
 * lost_before and lost_samples) and counts the stream's block frames, so
 * each subscription's queue bound counts its own blocks. Owned by the
 * subscription, it must live as long as a frame of it does (the session
 * keeps its cursors for its whole life).
 */
struct stream_cursor {
	uint32_t stream_id;           /* BlockHeader.stream_id of its frames */
	uint32_t scan_bytes;          /* bytes per scan of the stream (lost_samples) */
	struct send_stats *stats;     /* the stream's totals, NULL: none; set
				       * by the cursor's owner */
	/* read-only outside send_queue.c */
	uint32_t queued_blocks;       /* its block frames in outq */
	uint32_t pinned_blocks;       /* its block frames in pinned */
	bool have_prev;               /* a block head was written since restart */
	uint64_t prev_sequence;
	uint64_t prev_end_sample;
};

/* A new stream starts on this cursor (subscribe): the next block has no
 * predecessor. Its frames still queued or pinned stay counted. */
void stream_cursor_restart(struct stream_cursor *c, uint32_t stream_id, uint32_t scan_bytes);

/* Its block frames held: queued and pinned (what counts against a queue
 * bound). */
static inline uint32_t stream_cursor_blocks(const struct stream_cursor *c)
{
	return c->queued_blocks + c->pinned_blocks;
}

/* One frame waiting to be sent, or sent and waiting for the kernel to let
 * go of its pages. */
struct out_frame {
	TAILQ_ENTRY(out_frame) link;  /* in outq, then maybe in pinned */
	struct pool_block *blk;  /* block frame: referenced block; NULL: control */
	struct stream_cursor *cur; /* block frame: its stream */
	bool encoded;            /* block frame: head[] written (fixes lost_before) */
	bool zc_pending;         /* part of it went out with MSG_ZEROCOPY */
	uint32_t zc_last;        /* id of the last zero-copy send that carried it */
	bool ack_pending;        /* sent by sendfile: held until the peer acks */
	uint64_t ack_end;        /* stream offset just past its last byte */
	size_t sent;             /* bytes of head + payload already sent */
	size_t head_len;
	uint8_t head[];          /* u32 length + Envelope */
};

TAILQ_HEAD(out_frame_list, out_frame);

struct send_queue {
	/* read-only outside send_queue.c */
	struct out_frame_list outq;   /* not yet taken whole, oldest first */
	struct out_frame_list pinned; /* taken, pages still used by the kernel:
	                               * zero-copy until completion, sendfile
	                               * until the peer's ack; oldest first */
	uint32_t queued_blocks;       /* block frames in outq */
	uint32_t pinned_blocks;       /* block frames in pinned */
	size_t queued_control;        /* bytes of control frames in outq */
	uint64_t blocks_sent, bytes_sent; /* block frames taken whole, payload bytes */
};

void send_queue_init(struct send_queue *q);

/* Queue a control frame holding a copy of frame[len]. 0 or -ENOMEM. */
int send_queue_push_control(struct send_queue *q, const void *frame, size_t len);

/* Queue block b of the stream `cur`; the frame takes a reference of its
 * own. 0 or -ENOMEM (then no reference was taken). */
int send_queue_push_block(struct send_queue *q, struct pool_block *b, struct stream_cursor *cur);

/* Block frames held: queued and pinned (what counts against a queue bound). */
static inline uint32_t send_queue_blocks(const struct send_queue *q)
{
	return q->queued_blocks + q->pinned_blocks;
}

/* Nothing queued and nothing pinned. */
static inline bool send_queue_idle(const struct send_queue *q)
{
	return TAILQ_EMPTY(&q->outq) && TAILQ_EMPTY(&q->pinned);
}

static inline size_t out_frame_len(const struct out_frame *f)
{
	return f->head_len + (f->blk ? f->blk->bytes_used : 0);
}

/* Write a block frame's head if not yet done: lost_before and lost_samples
 * are fixed now, against the block of its stream encoded before it. From
 * then on the frame is no longer droppable. */
void send_queue_encode(struct send_queue *q, struct out_frame *f);

/* The bytes of f not yet sent: up to two pieces (rest of the head, rest of
 * the payload), empty ones left out. Returns how many (0..2). Its head must
 * be encoded. */
int out_frame_pieces(const struct out_frame *f, struct iovec piece[2]);

/* Gather the front of outq into iov[0..max_iov), encoding heads on the way,
 * frame by frame until max_iov or about max_bytes; *payload: bytes of block
 * payload in them. Returns the number of iovecs. Shared by every transport
 * that sends the frames themselves (copy, zero-copy, TLS records). */
int send_queue_gather(struct send_queue *q, struct iovec *iov, int max_iov, size_t max_bytes,
		      size_t *payload);

/* Unsent block frames of stream `cur` (NULL: of any) that may be dropped
 * (head not yet written). */
uint32_t send_queue_droppable(const struct send_queue *q, const struct stream_cursor *cur);

/* Drop the oldest droppable block frame of `cur` (NULL: of any), if any. */
void send_queue_drop_oldest(struct send_queue *q, const struct stream_cursor *cur);

/* Drop every block frame of `cur` (NULL: of every stream) not started; a
 * started one stays, so that the byte stream stays framed. Control
 * frames stay. */
void send_queue_drop_unsent(struct send_queue *q, const struct stream_cursor *cur);

/* The socket took n more bytes from the front of outq: advance the frames.
 * A frame taken whole is freed, or moved to pinned if zc_pending or
 * ack_pending is set. n must not exceed what outq holds. */
void send_queue_taken(struct send_queue *q, size_t n);

/* A sendmsg(MSG_ZEROCOPY) with id `id` took n bytes from the front of
 * outq: each frame it touched now waits for that id's completion. Call
 * before send_queue_taken(q, n). */
void send_queue_mark_zc(struct send_queue *q, size_t n, uint32_t id);

/* Free the pinned frames the kernel is done with, oldest first: zero-copy
 * ones whose last send is before zc_done, sendfile ones whose last byte is
 * within the first `acked` bytes of the stream. Stops at the first that is
 * not done. */
void send_queue_release(struct send_queue *q, uint32_t zc_done, uint64_t acked);

/* Drop everything, sent or not (the connection closes). If frames were
 * pinned, the kernel may still read their pages: the caller stops it first
 * (tx_abort resets the connection). */
void send_queue_clear(struct send_queue *q);

#endif /* IIOSTREAMD_SEND_QUEUE_H */
