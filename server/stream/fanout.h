/* SPDX-License-Identifier: MIT */
/*
 * Fan-out: every block the source fills goes to every subscriber
 * (subscriber.h).
 *
 * Each subscriber that takes the block holds a reference on it; one whose
 * queue is full skips it (counted, and a native client is told in its next
 * header, as lost_before). Nobody waits for a slow subscriber: when the
 * blocks left in the source fall below a reserve, the oldest unsent blocks
 * of the subscribers holding the most are taken back (counted the same
 * way), so the source always has blocks to fill and fast clients lose
 * nothing.
 *
 * A subscriber may leave while it is offered a block (its send failed and
 * its connection closed): it is marked and unlinked once the walk is over,
 * so no callback changes the list its caller is walking. The capture hooks
 * run outside walks too.
 */
#ifndef IIOSTREAMD_FANOUT_H
#define IIOSTREAMD_FANOUT_H

#include <stdint.h>
#include <sys/queue.h>

#include "block_pool.h"
#include "subscriber.h"

/* Capture on demand: called when the first subscriber arrives and when the
 * last one has left. */
struct fanout_hooks {
	void (*capture_start)(void *ctx);
	void (*capture_stop)(void *ctx);
};

struct fanout {
	struct block_pool *pool;
	const struct fanout_hooks *hooks; /* may be NULL */
	void *hooks_ctx;
	TAILQ_HEAD(, subscriber) subs;
	/* read-only outside fanout.c */
	uint32_t nsubs;           /* subscribed, not leaving */
	uint64_t blocks_skipped;  /* every subscriber's skips, since start */
	uint64_t blocks_offered;  /* blocks handed out */
	int walking;              /* inside a walk of subs: removals wait */
};

void fanout_init(struct fanout *fo, struct block_pool *pool, const struct fanout_hooks *hooks,
		 void *hooks_ctx);

/* The blocks a subscriber may hold: `want`, but never more than the ring's
 * blocks less one (no subscriber may hold every block), at least 1. */
uint32_t fanout_queue_bound(const struct fanout *fo, uint32_t want);

/* Join with a queue bound of `max_queue` blocks (fanout_queue_bound()).
 * The first subscriber starts the capture. */
void fanout_subscribe(struct fanout *fo, struct subscriber *sub, uint32_t max_queue);

/* Leave: the fan-out offers it nothing more. Its queued blocks are its own
 * to give back. The last one leaving stops the capture. */
void fanout_unsubscribe(struct fanout *fo, struct subscriber *sub);

/* Dequeue every ready block from the pool and hand it out; after each,
 * take blocks back from the slowest subscribers if the source runs short. */
void fanout_drain(struct fanout *fo);

/* Dequeue one block, hand it out, reclaim: 0, or -EAGAIN when the source
 * has none ready (or the pool's error). */
int fanout_deliver_one(struct fanout *fo);

/* Hand out one block; the caller keeps its own reference. */
void fanout_offer(struct fanout *fo, struct pool_block *b);

#endif /* IIOSTREAMD_FANOUT_H */
