// SPDX-License-Identifier: MIT
/* Block ownership and reference counts: see block_pool.h. */
#include "block_pool.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

/* Every change of owner goes through here, so an illegal one is caught. */
static void set_state(struct block_pool *pool, struct pool_block *b, enum pool_block_state to)
{
	assert(b->state != to);
	if (to == POOL_BLOCK_HELD)
		pool->held++;
	else
		pool->held--;
	b->state = to;
}

static int give_back(struct block_pool *pool, struct pool_block *b)
{
	struct source_block sb = { .id = b->id };
	int err = pool->src->ops->enqueue(pool->src, &sb);

	if (err) {
		/* Cannot happen with a sane source: the block stays held and
		 * is counted, rather than being lost without a word. */
		pool->enqueue_errors++;
		log_error("source: enqueue of block %u failed: %s", b->id, strerror(-err));
		return err;
	}
	set_state(pool, b, POOL_BLOCK_IN_SOURCE);
	return 0;
}

int block_pool_init(struct block_pool *pool, struct source *src, uint32_t size, uint32_t count)
{
	const struct source_ops *ops = src->ops;
	struct source_format fmt;
	uint32_t first, i;
	int err;

	ops->format(src, &fmt);
	*pool = (struct block_pool){ .src = src, .block_size = size, .scan_bytes = fmt.scan_bytes,
				     .now = monotonic_ns };
	pool->blocks = calloc(count, sizeof(*pool->blocks));
	if (!pool->blocks)
		return -ENOMEM;
	err = ops->alloc(src, size, count, &first);
	if (err > 0) {
		/* the device gave fewer blocks than asked: stream with those,
		 * if they make a ring (one for the source, one to hand out) */
		log_warn("%s: asked for %u blocks, the device gave %d: using %d", fmt.device, count,
			 err, err);
		count = (uint32_t)err;
		err = count < 2 ? -ENOMEM : 0;
		if (err) {
			ops->free(src);
			goto err_free_array;
		}
	}
	if (err)
		goto err_free_array;
	for (i = 0; i < count; i++) {
		struct pool_block *b = &pool->blocks[i];
		struct source_block sb = { .id = first + i };
		void *addr;

		err = ops->query(src, &sb);
		if (!err)
			err = ops->map(src, sb.id, &addr);
		if (err)
			goto err_free_blocks;
		b->id = sb.id;
		b->data = addr;
		b->file_fd = -1;
		if (ops->block_file && ops->block_file(src, sb.id, &b->file_fd, &b->file_offset))
			b->file_fd = -1;
		b->pool = pool;
		b->state = POOL_BLOCK_HELD; /* owned by us after ALLOC */
		pool->held++;
		pool->count++;
	}
	for (i = 0; i < count; i++) {
		err = give_back(pool, &pool->blocks[i]);
		if (err)
			goto err_free_blocks;
	}
	return 0;

err_free_blocks:
	ops->free(src);
err_free_array:
	free(pool->blocks);
	pool->blocks = NULL;
	return err;
}

static struct pool_block *find(struct block_pool *pool, uint32_t id)
{
	/* Ids are dense from the first one ALLOC returned. */
	uint32_t idx = id - pool->blocks[0].id;

	return idx < pool->count ? &pool->blocks[idx] : NULL;
}

int block_pool_dequeue(struct block_pool *pool, struct pool_block **out)
{
	struct source_block sb;
	struct pool_block *b;
	int err = pool->src->ops->dequeue(pool->src, &sb);

	if (err)
		return err;
	b = find(pool, sb.id);
	if (!b || b->state != POOL_BLOCK_IN_SOURCE || sb.bytes_used > pool->block_size) {
		log_error("source: dequeued a block it does not own (id %u)", sb.id);
		return -EIO;
	}
	set_state(pool, b, POOL_BLOCK_HELD);
	b->refs = 1;
	b->bytes_used = sb.bytes_used;
	b->flags = sb.flags;
	b->timestamp_ns = sb.timestamp_ns;
	b->lost_samples = sb.lost_samples;
	b->sequence = pool->next_sequence++;
	b->first_sample = sb.first_sample; /* the source numbers its scans */
	b->dequeue_ns = pool->now();
	*out = b;
	return 0;
}

void block_pool_ref(struct pool_block *b)
{
	assert(b->state == POOL_BLOCK_HELD && b->refs > 0);
	b->refs++;
}

void block_pool_unref(struct pool_block *b)
{
	assert(b->state == POOL_BLOCK_HELD && b->refs > 0);
	if (--b->refs == 0)
		give_back(b->pool, b);
}

int block_pool_free(struct block_pool *pool)
{
	int err;

	if (pool->held)
		return -EBUSY;
	err = pool->src->ops->free(pool->src);
	if (err)
		return err;
	free(pool->blocks);
	pool->blocks = NULL;
	pool->count = 0;
	return 0;
}

void block_pool_set_scan_bytes(struct block_pool *pool, uint32_t scan_bytes)
{
	pool->scan_bytes = scan_bytes;
}
