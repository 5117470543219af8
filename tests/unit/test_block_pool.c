// SPDX-License-Identifier: MIT
/*
 * The block pool (server/stream/block_pool.c) on the real `sim` source, with no
 * daemon: who owns each block, reference counts, the order blocks come in,
 * and the dequeue stamp taken from a clock the test sets (pool->now).
 */
#include <criterion/criterion.h>

#include <errno.h>

#include "pool_fixture.h"

#define BLOCKS 4
#define BLOCK_SIZE 4096

static struct pool_fixture fx;

static void setup(void)
{
	pool_fixture_open(&fx, 2, BLOCK_SIZE, BLOCKS);
	cr_assert_eq(fx.src->ops->enable(fx.src), 0);
}

static void teardown(void)
{
	pool_fixture_close(&fx);
}

TestSuite(block_pool, .init = setup, .fini = teardown);

/* The next filled block, running the loop until the source has one. */
static struct pool_block *next_block(void)
{
	return pool_fixture_next_block(&fx);
}

Test(block_pool, starts_with_every_block_in_the_source)
{
	cr_assert_eq(fx.pool.count, BLOCKS);
	cr_assert_eq(fx.pool.held, 0);
	for (uint32_t i = 0; i < fx.pool.count; i++)
		cr_assert_eq(fx.pool.blocks[i].state, POOL_BLOCK_IN_SOURCE);
}

Test(block_pool, a_dequeued_block_is_held_stamped_and_numbered)
{
	struct pool_block *a, *b;

	fx.clock_ns = 1000;
	a = next_block();
	cr_assert_eq(a->state, POOL_BLOCK_HELD);
	cr_assert_eq(a->dequeue_ns, 1000, "stamped %llu, not by the pool's clock",
		     (unsigned long long)a->dequeue_ns);
	cr_assert_eq(a->sequence, 0);
	cr_assert_gt(a->bytes_used, 0);
	cr_assert_leq(a->bytes_used, BLOCK_SIZE);
	cr_assert_not_null(a->data);
	cr_assert_eq(fx.pool.held, 1);

	fx.clock_ns = 2500;
	b = next_block();
	cr_assert_neq(a, b);
	cr_assert_eq(b->dequeue_ns, 2500);
	cr_assert_eq(b->sequence, 1, "sequences go up by one per dequeue");
	cr_assert_eq(b->first_sample, a->first_sample + a->bytes_used / fx.pool.scan_bytes,
		     "the scans of consecutive blocks follow each other");
	cr_assert_eq(fx.pool.held, 2);
	block_pool_unref(a);
	block_pool_unref(b);
	cr_assert_eq(fx.pool.held, 0);
}

Test(block_pool, a_block_goes_back_only_with_its_last_reference)
{
	struct pool_block *b = next_block();

	block_pool_ref(b); /* two client queues hold it, plus the fan-out */
	block_pool_ref(b);
	block_pool_unref(b);
	block_pool_unref(b);
	cr_assert_eq(b->state, POOL_BLOCK_HELD, "given back with a reference left");
	cr_assert_eq(fx.pool.held, 1);
	block_pool_unref(b);
	cr_assert_eq(b->state, POOL_BLOCK_IN_SOURCE);
	cr_assert_eq(fx.pool.held, 0);
	cr_assert_eq(fx.pool.enqueue_errors, 0);
}

Test(block_pool, holding_every_block_starves_the_source_and_returning_one_feeds_it)
{
	struct pool_block *held[BLOCKS], *again;
	struct pool_block *none = NULL;
	int i;

	for (i = 0; i < BLOCKS; i++)
		held[i] = next_block();
	cr_assert_eq(fx.pool.held, BLOCKS);
	for (i = 0; i < 1000; i++)
		uv_run(&fx.loop, UV_RUN_NOWAIT);
	cr_assert_eq(block_pool_dequeue(&fx.pool, &none), -EAGAIN,
		     "a block came out of a source that owns none");
	block_pool_unref(held[0]);
	again = next_block();
	cr_assert_eq(again, held[0], "the block given back is the one filled next");
	cr_assert_eq(again->sequence, BLOCKS);
	for (i = 0; i < BLOCKS; i++)
		block_pool_unref(held[i]);
	cr_assert_eq(fx.pool.held, 0);
}

Test(block_pool, cannot_be_freed_while_a_block_is_held)
{
	struct pool_block *b = next_block();

	cr_assert_eq(block_pool_free(&fx.pool), -EBUSY);
	block_pool_unref(b);
}

/* ---- a device that gives fewer blocks than asked ---------------------- */

/* The real sim behind an ALLOC that, as some kernels' block interfaces do,
 * gives at most `stingy_max` of the blocks asked for, and says how many. */
static struct source_ops stingy_ops;
static uint32_t stingy_max;

static int stingy_alloc(struct source *s, uint32_t size, uint32_t count, uint32_t *first_id)
{
	uint32_t give = count < stingy_max ? count : stingy_max;
	int err = source_sim_ops.alloc(s, size, give, first_id);

	if (err)
		return err;
	return give == count ? 0 : (int)give;
}

static struct source *stingy_open(uv_loop_t *loop, uint32_t max)
{
	struct source_config cfg = { .channels = 2, .sample_rate = 0 };
	struct source *src;

	stingy_ops = source_sim_ops;
	stingy_ops.alloc = stingy_alloc;
	stingy_max = max;
	cr_assert_eq(source_sim_ops.open(&src, loop, &cfg), 0);
	src->ops = &stingy_ops;
	return src;
}

static void stingy_close(uv_loop_t *loop, struct source *src)
{
	src->ops->close(src);
	while (uv_run(loop, UV_RUN_DEFAULT))
		;
	cr_assert_eq(uv_loop_close(loop), 0);
}

Test(block_pool_fewer, a_device_that_gives_fewer_blocks_is_used_with_what_it_gave)
{
	struct block_pool pool;
	struct pool_block *b;
	uv_loop_t loop;
	struct source *src;
	int i;

	cr_assert_eq(uv_loop_init(&loop), 0);
	src = stingy_open(&loop, 3);
	cr_assert_eq(block_pool_init(&pool, src, BLOCK_SIZE, 8), 0);
	cr_assert_eq(pool.count, 3, "the ring is the 3 blocks the device gave");
	cr_assert_eq(pool.held, 0, "every one of them is the source's");
	cr_assert_eq(src->ops->enable(src), 0);
	for (i = 0; i < 7; i++) { /* round the ring twice: each comes back */
		while (block_pool_dequeue(&pool, &b) == -EAGAIN)
			uv_run(&loop, UV_RUN_NOWAIT);
		cr_assert_eq(b->sequence, (uint64_t)i);
		block_pool_unref(b);
	}
	src->ops->disable(src);
	cr_assert_eq(block_pool_free(&pool), 0);
	stingy_close(&loop, src);
}

Test(block_pool_fewer, one_block_is_no_ring_and_is_refused_leaving_nothing)
{
	struct block_pool pool;
	uv_loop_t loop;
	struct source *src;
	uint32_t first;

	cr_assert_eq(uv_loop_init(&loop), 0);
	src = stingy_open(&loop, 1);
	cr_assert_eq(block_pool_init(&pool, src, BLOCK_SIZE, 8), -ENOMEM);
	/* the one block it gave was freed again: a new ALLOC starts afresh */
	cr_assert_eq(source_sim_ops.alloc(src, BLOCK_SIZE, 1, &first), 0);
	cr_assert_eq(first, 0u, "the source holds no block of the refused ring");
	source_sim_ops.free(src);
	stingy_close(&loop, src);
}
