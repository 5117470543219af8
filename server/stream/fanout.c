// SPDX-License-Identifier: MIT
/* Fan-out of filled blocks to subscribers: see fanout.h. */
#include "fanout.h"

#include <errno.h>
#include <string.h>

#include "log.h"

void fanout_init(struct fanout *fo, struct block_pool *pool, const struct fanout_hooks *hooks,
		 void *hooks_ctx)
{
	memset(fo, 0, sizeof(*fo));
	fo->pool = pool;
	fo->hooks = hooks;
	fo->hooks_ctx = hooks_ctx;
	TAILQ_INIT(&fo->subs);
}

uint32_t fanout_queue_bound(const struct fanout *fo, uint32_t want)
{
	uint32_t most = fo->pool->count > 1 ? fo->pool->count - 1 : 1;

	if (want > most)
		want = most;
	return want ? want : 1;
}

void fanout_subscribe(struct fanout *fo, struct subscriber *sub, uint32_t max_queue)
{
	sub->max_queue = max_queue;
	if (sub->subscribed)
		return;
	sub->subscribed = true;
	if (sub->leaving)
		sub->leaving = false; /* left and came back within one walk */
	else
		TAILQ_INSERT_TAIL(&fo->subs, sub, link);
	if (fo->nsubs++ == 0 && fo->hooks)
		fo->hooks->capture_start(fo->hooks_ctx);
}

void fanout_unsubscribe(struct fanout *fo, struct subscriber *sub)
{
	if (!sub->subscribed)
		return;
	sub->subscribed = false;
	fo->nsubs--;
	if (fo->walking) {
		sub->leaving = true; /* unlinked, and the capture stopped, after the walk */
		return;
	}
	TAILQ_REMOVE(&fo->subs, sub, link);
	if (fo->nsubs == 0 && fo->hooks)
		fo->hooks->capture_stop(fo->hooks_ctx);
}

/* After a walk: unlink those that left during it. */
static void end_walk(struct fanout *fo)
{
	struct subscriber *sub, *next;
	bool left = false;

	if (--fo->walking)
		return;
	for (sub = TAILQ_FIRST(&fo->subs); sub; sub = next) {
		next = TAILQ_NEXT(sub, link);
		if (sub->leaving) {
			sub->leaving = false;
			TAILQ_REMOVE(&fo->subs, sub, link);
			left = true;
		}
	}
	if (left && fo->nsubs == 0 && fo->hooks)
		fo->hooks->capture_stop(fo->hooks_ctx);
}

static void count_skip(struct fanout *fo, struct subscriber *sub)
{
	sub->blocks_skipped++;
	fo->blocks_skipped++;
	if (sub->ops->skipped)
		sub->ops->skipped(sub);
}

/* Blocks the source should always have to fill: a quarter of the ring. */
static uint32_t source_reserve(const struct block_pool *pool)
{
	return pool->count / 4 ? pool->count / 4 : 1;
}

/* The subscriber with the most blocks that could be taken back. */
static struct subscriber *most_droppable(struct fanout *fo)
{
	struct subscriber *sub, *most = NULL;
	uint32_t most_n = 0;

	TAILQ_FOREACH(sub, &fo->subs, link) {
		uint32_t n = sub->subscribed ? sub->ops->droppable(sub) : 0;

		if (n > most_n)
			most = sub, most_n = n;
	}
	return most;
}

/* Take blocks back from the slowest subscribers until the source has its
 * reserve again, or nothing more can be taken. */
static void reclaim(struct fanout *fo)
{
	while (fo->pool->count - fo->pool->held < source_reserve(fo->pool)) {
		struct subscriber *most = most_droppable(fo);

		if (!most)
			return;
		most->ops->drop_oldest(most);
		count_skip(fo, most);
	}
}

void fanout_offer(struct fanout *fo, struct pool_block *b)
{
	struct subscriber *sub;

	fo->walking++;
	fo->blocks_offered++;
	TAILQ_FOREACH(sub, &fo->subs, link) {
		if (!sub->subscribed)
			continue; /* left during this walk */
		if (sub->ops->held(sub) >= sub->max_queue) {
			/* behind: skip and count; never wait for it */
			count_skip(fo, sub);
			continue;
		}
		if (sub->ops->offer(sub, b) == SUB_SKIPPED)
			count_skip(fo, sub);
	}
	end_walk(fo);
}

int fanout_deliver_one(struct fanout *fo)
{
	struct pool_block *b;
	int err = block_pool_dequeue(fo->pool, &b);

	if (err)
		return err;
	fanout_offer(fo, b);
	block_pool_unref(b); /* the fan-out's own reference */
	reclaim(fo);
	return 0;
}

void fanout_drain(struct fanout *fo)
{
	int err;

	while ((err = fanout_deliver_one(fo)) == 0)
		;
	if (err != -EAGAIN)
		log_error("source: dequeue failed: %s", strerror(-err));
}
