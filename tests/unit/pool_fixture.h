/* SPDX-License-Identifier: MIT */
/*
 * What the unit tests of the block pool and of its users stand on, with no
 * daemon: a uv loop, the real `sim` source unpaced (it fills a block as soon
 * as it owns one), and a block pool on it that stamps dequeue_ns with the
 * test's clock (clock_ns) instead of the monotonic one.
 */
#ifndef IIOSTREAM_TEST_POOL_FIXTURE_H
#define IIOSTREAM_TEST_POOL_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "block_pool.h"
#include "source.h"

struct pool_fixture {
	uv_loop_t loop;
	struct source *src;
	struct block_pool pool;
	bool pool_up;      /* pool initialised, not yet freed */
	uint64_t clock_ns; /* the pool's clock: the test sets it */
};

/* Loop, source (left disabled) and pool, asserting each opens. One fixture
 * is open at a time: the pool's clock reads this one's clock_ns. */
void pool_fixture_open(struct pool_fixture *f, uint32_t channels, uint32_t block_size,
		       uint32_t blocks);

/* Disable and close the source, free the pool unless a block is still held,
 * run the loop until no handle is left and assert the loop closes. Also
 * after an open that failed part way. */
void pool_fixture_close(struct pool_fixture *f);

/* The next filled block, with one reference for the caller, running the
 * loop until the source has one. */
struct pool_block *pool_fixture_next_block(struct pool_fixture *f);

#endif /* IIOSTREAM_TEST_POOL_FIXTURE_H */
