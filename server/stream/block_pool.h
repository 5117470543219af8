/* SPDX-License-Identifier: MIT */
/*
 * The daemon's view of the source's blocks: who owns each one, and how many
 * sends still need it.
 *
 * A block is IN_SOURCE (the source owns it: queued, filling or filled) or
 * HELD (dequeued by the daemon). A held block carries one reference per
 * client send queue that holds it, plus one while the fan-out is handing it
 * out. When the last reference drops the block is enqueued back to the
 * source at once: that is the only way a block goes back, so it never
 * returns while a send may still read it.
 */
#ifndef IIOSTREAMD_BLOCK_POOL_H
#define IIOSTREAMD_BLOCK_POOL_H

#include <stdint.h>

#include "source.h"

enum pool_block_state {
	POOL_BLOCK_IN_SOURCE,
	POOL_BLOCK_HELD,
};

struct pool_block {
	/* read-only for users of the pool */
	uint32_t id;
	const uint8_t *data;      /* mapped block, valid while HELD */
	int file_fd;              /* file holding the block (sendfile), or -1 */
	uint64_t file_offset;
	uint32_t bytes_used;
	uint32_t flags;
	uint64_t timestamp_ns;
	uint64_t sequence;        /* +1 for every block dequeued */
	uint64_t first_sample;    /* absolute index of the first scan */
	uint64_t lost_samples;    /* scans the source dropped just before it */
	uint64_t dequeue_ns;      /* CLOCK_MONOTONIC when it was dequeued */
	/* private */
	enum pool_block_state state;
	unsigned refs;
	struct block_pool *pool;
};

struct block_pool {
	/* read-only outside block_pool.c */
	struct source *src;
	uint32_t count;
	uint32_t block_size;
	uint32_t scan_bytes;      /* of the capture: block_pool_set_scan_bytes() */
	uint32_t held;            /* blocks in POOL_BLOCK_HELD */
	uint64_t enqueue_errors;
	/* set by the owner after init */
	uint64_t (*now)(void);    /* stamps dequeue_ns: monotonic_ns (clock.h),
	                           * or a unit test's clock */
	/* private */
	struct pool_block *blocks;
	uint64_t next_sequence;
};

/* Allocate, query, map and enqueue `count` blocks of `size` bytes. */
int block_pool_init(struct block_pool *pool, struct source *src, uint32_t size, uint32_t count);

/* Dequeue the next filled block with one reference held by the caller.
 * -EAGAIN when the source has none ready. */
int block_pool_dequeue(struct block_pool *pool, struct pool_block **out);

void block_pool_ref(struct pool_block *b);

/* The capture's channels changed (nothing is subscribed): a scan is now
 * `scan_bytes` long. */
void block_pool_set_scan_bytes(struct block_pool *pool, uint32_t scan_bytes);

/* Drop a reference; the last one gives the block back to the source. */
void block_pool_unref(struct pool_block *b);

/* Free the blocks (the source must be disabled and nothing HELD). */
int block_pool_free(struct block_pool *pool);

#endif /* IIOSTREAMD_BLOCK_POOL_H */
