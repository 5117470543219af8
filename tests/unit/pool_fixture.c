// SPDX-License-Identifier: MIT
/*
 * The shared set-up of the pool's unit tests (pool_fixture.h).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "pool_fixture.h"

/* block_pool's clock takes no argument: it reads the open fixture's. */
static struct pool_fixture *current;

static uint64_t fixture_now(void)
{
	return current->clock_ns;
}

void pool_fixture_open(struct pool_fixture *f, uint32_t channels, uint32_t block_size,
		       uint32_t blocks)
{
	struct source_config cfg = { .channels = channels, .sample_rate = 0 }; /* unpaced */

	f->src = NULL;
	f->pool_up = false;
	current = f;
	cr_assert_eq(uv_loop_init(&f->loop), 0);
	cr_assert_eq(source_sim_ops.open(&f->src, &f->loop, &cfg), 0);
	cr_assert_eq(block_pool_init(&f->pool, f->src, block_size, blocks), 0);
	f->pool_up = true;
	f->pool.now = fixture_now;
}

void pool_fixture_close(struct pool_fixture *f)
{
	if (f->src) {
		f->src->ops->disable(f->src);
		if (f->pool_up && f->pool.held == 0)
			block_pool_free(&f->pool);
		f->src->ops->close(f->src);
		f->src = NULL;
	}
	f->pool_up = false;
	while (uv_run(&f->loop, UV_RUN_DEFAULT))
		;
	cr_assert_eq(uv_loop_close(&f->loop), 0, "a handle leaked");
}

struct pool_block *pool_fixture_next_block(struct pool_fixture *f)
{
	struct pool_block *b = NULL;
	long turns;

	for (turns = 0; turns < 10000000; turns++) {
		int err = block_pool_dequeue(&f->pool, &b);

		if (err == 0)
			return b;
		cr_assert_eq(err, -EAGAIN, "dequeue: %s", strerror(-err));
		uv_run(&f->loop, UV_RUN_NOWAIT);
	}
	cr_assert_fail("the source filled no block");
	return NULL;
}
