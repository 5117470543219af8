/* SPDX-License-Identifier: MIT */
/*
 * A subscriber: anything that takes filled blocks from the fan-out. Each
 * kind embeds a `struct subscriber` and fills in a small ops table, as
 * libuv's handles and videobuf2's queues do; the fan-out walks one list of
 * them and does the queue bound, the skips and the reclaiming once, for
 * every kind.
 *
 * Kinds today: a native client session (net/session.c) and a libiio client's
 * buffer on the iiod port (iiod/iiod.c). To add one (an exporter, a
 * spectrum viewer, a DAC feeding from a stream): embed the struct, write the
 * four ops, call fanout_subscribe() and fanout_unsubscribe().
 *
 * Ownership: a queued block holds one reference (block_pool_ref), dropped
 * by the subscriber when it is done with the block's bytes, or by
 * drop_oldest(). A subscriber never waits for the source, and the source
 * never waits for a subscriber.
 */
#ifndef IIOSTREAMD_SUBSCRIBER_H
#define IIOSTREAMD_SUBSCRIBER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

struct pool_block;
struct subscriber;

/* What offer() did with a block. */
enum sub_offer {
	SUB_TAKEN,   /* queued, with a reference of its own */
	SUB_PASS,    /* not for this subscriber (e.g. no whole scan in it): not a loss */
	SUB_SKIPPED, /* could not take it now (no memory): counted as a skip */
};

struct subscriber_ops {
	/* Queue block b: take a reference and start sending if it can. Called
	 * only while held() < max_queue. It may close its owner (a send that
	 * fails); the fan-out copes (fanout_unsubscribe during a walk). */
	enum sub_offer (*offer)(struct subscriber *sub, struct pool_block *b);
	/* Blocks it holds now: queued, plus sent but still used by the kernel
	 * (zero-copy, sendfile, a libuv write in flight). */
	uint32_t (*held)(const struct subscriber *sub);
	/* Of those, the ones not started, that the fan-out may take back. */
	uint32_t (*droppable)(const struct subscriber *sub);
	/* Give back its oldest droppable block. Called only if droppable() > 0. */
	void (*drop_oldest)(struct subscriber *sub);
	/* Optional: it just skipped a block (blocks_skipped counts it already). */
	void (*skipped)(struct subscriber *sub);
};

struct subscriber {
	const struct subscriber_ops *ops;
	TAILQ_ENTRY(subscriber) link; /* in its fan-out's list while subscribed */
	/* read-only outside the fan-out */
	uint32_t max_queue;           /* blocks it may hold at once (held()) */
	uint64_t blocks_skipped;      /* blocks it missed: its queue was full, or
	                               * the fan-out took them back for the source */
	bool subscribed;              /* in the list (and counted by the fan-out) */
	bool leaving;                 /* unsubscribed during a walk: unlinked after it */
};

#endif /* IIOSTREAMD_SUBSCRIBER_H */
