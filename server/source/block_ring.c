// SPDX-License-Identifier: MIT
/* The userspace sources' memfd block ring: see block_ring.h. */
#define _GNU_SOURCE
#include "block_ring.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iiostream/frame.h"
#include "log.h"

/* The legal transitions of a block (block_ring.h's diagram). */
static const bool legal[4][4] = {
	[RING_BLOCK_USER] = { [RING_BLOCK_QUEUED] = true },
	[RING_BLOCK_QUEUED] = { [RING_BLOCK_ACTIVE] = true },
	[RING_BLOCK_ACTIVE] = { [RING_BLOCK_DONE] = true, [RING_BLOCK_QUEUED] = true },
	[RING_BLOCK_DONE] = { [RING_BLOCK_USER] = true },
};

/* Checked in every build, not only with assert(): a block in two queues
 * would be filled while the daemon sends it. */
static void set_state(struct ring_block *b, enum ring_block_state to)
{
	if (!legal[b->state][to]) {
		log_error("block ring: illegal block transition %d -> %d", b->state, to);
		abort();
	}
	b->state = to;
}

int block_ring_init(struct block_ring *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->active = -1;
	r->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->mem_fd = memfd_create(name, MFD_CLOEXEC);
	if (r->event_fd < 0 || r->mem_fd < 0) {
		int err = -errno;

		if (r->event_fd >= 0)
			close(r->event_fd);
		if (r->mem_fd >= 0)
			close(r->mem_fd);
		r->event_fd = r->mem_fd = -1;
		return err;
	}
	return 0;
}

void block_ring_destroy(struct block_ring *r)
{
	block_ring_free(r);
	close(r->event_fd);
	close(r->mem_fd);
	r->event_fd = r->mem_fd = -1;
}

int block_ring_alloc(struct block_ring *r, uint32_t size, uint32_t count, uint32_t scan_bytes,
		     uint32_t *first_id)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t stride = (size + page - 1) / page * page;
	uint32_t i;

	if (count == 0 || count > BLOCK_RING_MAX - r->nblocks)
		return -EINVAL;
	if (scan_bytes == 0 || size < scan_bytes || size % scan_bytes ||
	    size > IIOS_FRAME_MAX_PAYLOAD)
		return -EINVAL;
	if (ftruncate(r->mem_fd, (off_t)(r->mem_len + stride * count)) < 0)
		return -errno;
	for (i = 0; i < count; i++) {
		struct ring_block *b = &r->blocks[r->nblocks + i];
		void *addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->mem_fd,
				  (off_t)(r->mem_len + stride * i));

		if (addr == MAP_FAILED) {
			int err = -errno;

			while (i--)
				munmap(r->blocks[r->nblocks + i].addr, size);
			return err;
		}
		memset(b, 0, sizeof(*b));
		b->state = RING_BLOCK_USER;
		b->size = size;
		b->offset = r->mem_len + stride * i;
		b->addr = addr;
	}
	*first_id = r->nblocks;
	r->nblocks += count;
	r->mem_len += stride * count;
	return 0;
}

/* The eventfd follows the done queue: readable while it is not empty. */
static void signal_ready(struct block_ring *r)
{
	uint64_t one = 1;

	if (r->done.count == 1 && write(r->event_fd, &one, sizeof(one)) < 0)
		abort(); /* an eventfd write of 1 cannot fail unless the fd is gone */
}

static void clear_ready(struct block_ring *r)
{
	uint64_t v;

	if (r->done.count == 0 && read(r->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		abort();
}

int block_ring_free(struct block_ring *r)
{
	uint32_t i;

	for (i = 0; i < r->nblocks; i++)
		munmap(r->blocks[i].addr, r->blocks[i].size);
	r->nblocks = 0;
	r->incoming.count = 0;
	r->done.count = 0;
	clear_ready(r);
	r->active = -1;
	r->mem_len = 0;
	if (r->mem_fd >= 0 && ftruncate(r->mem_fd, 0) < 0)
		return -errno;
	return 0;
}

int block_ring_query(const struct block_ring *r, struct source_block *blk)
{
	const struct ring_block *b;

	if (blk->id >= r->nblocks)
		return -EINVAL;
	b = &r->blocks[blk->id];
	blk->size = b->size;
	blk->bytes_used = b->bytes_used;
	blk->flags = b->flags;
	blk->offset = b->offset;
	blk->timestamp_ns = b->timestamp_ns;
	blk->lost_samples = b->lost_samples;
	blk->first_sample = b->first_sample;
	return 0;
}

int block_ring_map(const struct block_ring *r, uint32_t id, void **addr)
{
	if (id >= r->nblocks)
		return -EINVAL;
	*addr = r->blocks[id].addr;
	return 0;
}

int block_ring_block_file(const struct block_ring *r, uint32_t id, int *fd, uint64_t *offset)
{
	if (id >= r->nblocks)
		return -EINVAL;
	*fd = r->mem_fd;
	*offset = r->blocks[id].offset;
	return 0;
}

int block_ring_enqueue(struct block_ring *r, uint32_t id)
{
	if (id >= r->nblocks)
		return -EINVAL;
	if (r->blocks[id].state != RING_BLOCK_USER)
		return -EBUSY; /* the ring owns it already */
	set_state(&r->blocks[id], RING_BLOCK_QUEUED);
	id_fifo_push(&r->incoming, id);
	return 0;
}

int block_ring_enqueue_filled(struct block_ring *r, uint32_t id, uint32_t bytes_used,
			      uint32_t flags)
{
	int err = block_ring_enqueue(r, id);

	if (err)
		return err;
	r->blocks[id].bytes_used = bytes_used;
	r->blocks[id].flags = flags;
	return 0;
}

int block_ring_dequeue(struct block_ring *r, struct source_block *blk)
{
	uint32_t id;

	if (r->done.count == 0)
		return -EAGAIN;
	id = id_fifo_pop(&r->done);
	clear_ready(r);
	set_state(&r->blocks[id], RING_BLOCK_USER);
	blk->id = id;
	return block_ring_query(r, blk);
}

struct ring_block *block_ring_start_filled(struct block_ring *r)
{
	struct ring_block *b;

	assert(r->active < 0);
	if (r->incoming.count == 0)
		return NULL;
	r->active = (int32_t)id_fifo_pop(&r->incoming);
	b = &r->blocks[r->active];
	set_state(b, RING_BLOCK_ACTIVE);
	b->timestamp_ns = 0;
	b->lost_samples = 0;
	b->first_sample = 0;
	return b;
}

struct ring_block *block_ring_start(struct block_ring *r)
{
	struct ring_block *b = block_ring_start_filled(r);

	if (b) {
		b->bytes_used = 0;
		b->flags = 0;
	}
	return b;
}

void block_ring_complete(struct block_ring *r)
{
	assert(r->active >= 0);
	set_state(&r->blocks[r->active], RING_BLOCK_DONE);
	id_fifo_push(&r->done, (uint32_t)r->active);
	r->active = -1;
	signal_ready(r);
}

void block_ring_requeue(struct block_ring *r)
{
	assert(r->active >= 0 && r->blocks[r->active].bytes_used == 0);
	set_state(&r->blocks[r->active], RING_BLOCK_QUEUED);
	id_fifo_push_front(&r->incoming, (uint32_t)r->active);
	r->active = -1;
}
