// SPDX-License-Identifier: MIT
/*
 * The fan-out (server/stream/fanout.c) with no daemon: the real `sim`
 * source and block pool, and subscribers of the test's own that hold the
 * blocks they are given until the test lets them go. The pool's clock is
 * the test's (pool.now), so every stamp is known.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "fanout.h"
#include "pool_fixture.h"

#define BLOCKS 8
#define BLOCK_SIZE 4096
#define HOLD_MAX 16

static struct pool_fixture fx;
static struct fanout fo;
static int captures_started, captures_stopped;

/* A subscriber that keeps what it takes, oldest first, until released. */
struct holder {
	struct subscriber sub;
	struct pool_block *held[HOLD_MAX];
	uint32_t n;
	uint32_t taken;                /* blocks it took, in all */
	uint64_t last_sequence;        /* of the last block taken */
	uint64_t last_stamp;           /* its dequeue_ns */
	enum sub_offer answer;         /* what offer() says instead of taking */
	bool refuse;                   /* answer instead of taking */
	struct holder *leave_on_offer; /* unsubscribed when offered a block */
	int skipped_calls;
};

static void release_all(struct holder *h)
{
	while (h->n)
		block_pool_unref(h->held[--h->n]);
}

static enum sub_offer holder_offer(struct subscriber *sub, struct pool_block *b)
{
	struct holder *h = (struct holder *)sub;

	if (h->leave_on_offer) {
		release_all(h->leave_on_offer);
		fanout_unsubscribe(&fo, &h->leave_on_offer->sub);
	}
	if (h->refuse)
		return h->answer;
	cr_assert_lt(h->n, HOLD_MAX);
	block_pool_ref(b);
	h->held[h->n++] = b;
	h->taken++;
	h->last_sequence = b->sequence;
	h->last_stamp = b->dequeue_ns;
	return SUB_TAKEN;
}

static uint32_t holder_held(const struct subscriber *sub)
{
	return ((const struct holder *)sub)->n;
}

/* All but the newest can be taken back. */
static uint32_t holder_droppable(const struct subscriber *sub)
{
	const struct holder *h = (const struct holder *)sub;

	return h->n > 1 ? h->n - 1 : 0;
}

static void holder_drop_oldest(struct subscriber *sub)
{
	struct holder *h = (struct holder *)sub;

	cr_assert_gt(h->n, 1, "drop_oldest called with nothing droppable");
	block_pool_unref(h->held[0]);
	memmove(&h->held[0], &h->held[1], (h->n - 1) * sizeof(h->held[0]));
	h->n--;
}

static void holder_skipped(struct subscriber *sub)
{
	((struct holder *)sub)->skipped_calls++;
}

static const struct subscriber_ops holder_ops = {
	.offer = holder_offer,
	.held = holder_held,
	.droppable = holder_droppable,
	.drop_oldest = holder_drop_oldest,
	.skipped = holder_skipped,
};

static void capture_start(void *ctx)
{
	(void)ctx;
	captures_started++;
	cr_assert_eq(fx.src->ops->enable(fx.src), 0);
}

static void capture_stop(void *ctx)
{
	(void)ctx;
	cr_assert_eq(fo.walking, 0, "the capture stopped inside a walk of the subscribers");
	captures_stopped++;
	fx.src->ops->disable(fx.src);
}

static const struct fanout_hooks hooks = { capture_start, capture_stop };

/* The source is enabled by the capture hooks, not here. */
static void setup(void)
{
	pool_fixture_open(&fx, 2, BLOCK_SIZE, BLOCKS);
	fanout_init(&fo, &fx.pool, &hooks, NULL);
	captures_started = captures_stopped = 0;
}

static void teardown(void)
{
	cr_assert_eq(fx.pool.held, 0, "%u blocks still held", fx.pool.held);
	pool_fixture_close(&fx);
}

TestSuite(fanout, .init = setup, .fini = teardown);

static void join(struct holder *h, uint32_t max_queue)
{
	memset(h, 0, sizeof(*h));
	h->sub.ops = &holder_ops;
	fanout_subscribe(&fo, &h->sub, max_queue);
}

/* Run the loop and the fan-out until `blocks` more blocks went out. */
static void deliver(uint64_t blocks)
{
	uint64_t until = fo.blocks_offered + blocks;
	long turns;

	for (turns = 0; fo.blocks_offered < until; turns++) {
		cr_assert_lt(turns, 10000000, "the source filled no block");
		int err = fanout_deliver_one(&fo);

		if (err == -EAGAIN)
			uv_run(&fx.loop, UV_RUN_NOWAIT);
		else
			cr_assert_eq(err, 0, "dequeue: %s", strerror(-err));
	}
}

Test(fanout, capture_runs_while_anyone_subscribes)
{
	struct holder a, b;

	join(&a, 4);
	cr_assert_eq(captures_started, 1);
	join(&b, 4);
	cr_assert_eq(captures_started, 1, "the second subscriber restarted the capture");
	cr_assert_eq(fo.nsubs, 2);
	fanout_unsubscribe(&fo, &a.sub);
	cr_assert_eq(captures_stopped, 0);
	fanout_unsubscribe(&fo, &b.sub);
	fanout_unsubscribe(&fo, &b.sub); /* twice: no effect */
	cr_assert_eq(captures_stopped, 1);
	cr_assert_eq(fo.nsubs, 0);
}

Test(fanout, queue_bound_leaves_the_source_a_block)
{
	cr_assert_eq(fanout_queue_bound(&fo, 4), 4);
	cr_assert_eq(fanout_queue_bound(&fo, 1000), BLOCKS - 1);
	cr_assert_eq(fanout_queue_bound(&fo, 0), 1);
}

Test(fanout, everyone_who_keeps_up_gets_every_block_in_order)
{
	struct holder a, b;
	uint64_t expect_seq = 0;
	int i;

	join(&a, 4);
	join(&b, 4);
	for (i = 0; i < 50; i++) {
		fx.clock_ns = 1000u * (uint64_t)(i + 1);
		deliver(1);
		if (i > 0)
			cr_assert_eq(a.last_sequence, expect_seq + 1, "block %d out of order", i);
		expect_seq = a.last_sequence;
		cr_assert_eq(b.last_sequence, a.last_sequence);
		cr_assert_eq(a.last_stamp, fx.clock_ns, "stamped by the pool's clock");
		release_all(&a);
		release_all(&b);
	}
	cr_assert_eq(a.taken, 50);
	cr_assert_eq(b.taken, 50);
	cr_assert_eq(a.sub.blocks_skipped + b.sub.blocks_skipped + fo.blocks_skipped, 0);
	fanout_unsubscribe(&fo, &a.sub);
	fanout_unsubscribe(&fo, &b.sub);
}

Test(fanout, a_full_queue_skips_and_counts_without_slowing_the_others)
{
	struct holder slow, fast;
	int i;

	join(&slow, 2);
	join(&fast, 4);
	for (i = 0; i < 20; i++) {
		deliver(1);
		release_all(&fast);
		/* the slow one never lets go of its first two */
		while (slow.n > 2)
			block_pool_unref(slow.held[--slow.n]);
	}
	cr_assert_eq(fast.taken, 20, "the fast subscriber lost blocks");
	cr_assert_eq(slow.taken, 2);
	cr_assert_eq(slow.sub.blocks_skipped, 18);
	cr_assert_eq(slow.skipped_calls, 18);
	cr_assert_eq(fo.blocks_skipped, 18, "the total is the sum of the subscribers'");
	release_all(&slow);
	fanout_unsubscribe(&fo, &slow.sub);
	fanout_unsubscribe(&fo, &fast.sub);
}

Test(fanout, a_slow_subscriber_gives_blocks_back_to_the_source)
{
	struct holder slow, fast;
	int i;

	/* bound BLOCKS - 1: the slow one alone could starve the source */
	join(&slow, BLOCKS - 1);
	join(&fast, 4);
	for (i = 0; i < 40; i++) {
		deliver(1);
		release_all(&fast);
		cr_assert_geq(fx.pool.count - fx.pool.held, BLOCKS / 4,
			      "the source is left %u blocks after block %d",
			      fx.pool.count - fx.pool.held, i);
	}
	cr_assert_eq(fast.taken, 40, "the fast subscriber lost blocks");
	cr_assert_gt(slow.sub.blocks_skipped, 0, "nothing was taken back from the slow one");
	cr_assert_eq(fo.blocks_skipped, slow.sub.blocks_skipped);
	cr_assert_eq(slow.taken, 40, "it took every block, and gave some back");
	release_all(&slow);
	fanout_unsubscribe(&fo, &slow.sub);
	fanout_unsubscribe(&fo, &fast.sub);
}

Test(fanout, pass_is_not_a_loss_and_skipped_is)
{
	struct holder pass, fail;

	join(&pass, 4);
	join(&fail, 4);
	pass.refuse = fail.refuse = true;
	pass.answer = SUB_PASS;
	fail.answer = SUB_SKIPPED;
	deliver(3);
	cr_assert_eq(pass.sub.blocks_skipped, 0);
	cr_assert_eq(fail.sub.blocks_skipped, 3);
	cr_assert_eq(fo.blocks_skipped, 3);
	fanout_unsubscribe(&fo, &pass.sub);
	fanout_unsubscribe(&fo, &fail.sub);
}

/* A subscriber leaving while the fan-out walks the list (a session whose
 * send failed closes): the walk goes on, the one that left is offered
 * nothing more, and the capture stops once, after the walk. */
Test(fanout, leaving_during_a_walk_is_safe)
{
	struct holder a, b, c;

	join(&a, 4);
	join(&b, 4);
	join(&c, 4);
	a.leave_on_offer = &b; /* a's offer makes b leave before b is offered */
	deliver(1);
	cr_assert_eq(a.taken, 1);
	cr_assert_eq(b.taken, 0, "offered a block after it left");
	cr_assert_eq(c.taken, 1, "the walk stopped at the one that left");
	cr_assert_eq(fo.nsubs, 2);
	a.leave_on_offer = NULL;
	release_all(&a);
	release_all(&c);
	deliver(1);
	cr_assert_eq(b.taken, 0);
	release_all(&a);
	release_all(&c);

	/* the last two leave in one walk: the capture stops after it */
	a.leave_on_offer = &a;
	c.leave_on_offer = &c;
	deliver(1);
	cr_assert_eq(fo.nsubs, 0);
	cr_assert_eq(captures_stopped, 1);
	cr_assert(TAILQ_EMPTY(&fo.subs), "unlinked after the walk");
	release_all(&a);
	release_all(&c);
}
