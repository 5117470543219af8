/* SPDX-License-Identifier: MIT */
/*
 * The block ring of the userspace sources (sim, readfd): blocks in one
 * memfd, so that sendfile() can send them, traded with the daemon through
 * the same life cycle as the kernel's blocks (docs/block-lifecycle.md):
 *
 *   USER --enqueue--> QUEUED --start--> ACTIVE --complete--> DONE --dequeue--> USER
 *                       ^                  |
 *                       +----requeue-------+   (disabled before any byte)
 *
 * Every change of state goes through one checked setter with this table,
 * as videobuf2 does: an illegal transition is a bug, and stops the daemon
 * (logged) before a block can be filled while it is being sent.
 * An eventfd is readable while a block is DONE, for the daemon's loop.
 * What fills the ACTIVE block (the sim's pattern, read() from a device) is
 * the source's own business.
 *
 * An output device (the sim DAC) walks the same states with blocks the
 * daemon filled: it enqueues them with their bytes_used and flags
 * (block_ring_enqueue_filled()), the device starts one keeping both
 * (block_ring_start_filled()), plays it while ACTIVE and completes it,
 * empty for the daemon, when it is done with it.
 */
#ifndef IIOSTREAMD_BLOCK_RING_H
#define IIOSTREAMD_BLOCK_RING_H

#include <stdint.h>

#include "id_fifo.h"
#include "source.h"

#define BLOCK_RING_MAX ID_FIFO_MAX  /* the most blocks a ring holds */

enum ring_block_state {
	RING_BLOCK_USER,    /* owned by the daemon (after alloc or dequeue) */
	RING_BLOCK_QUEUED,  /* enqueued, waiting to be filled */
	RING_BLOCK_ACTIVE,  /* being filled */
	RING_BLOCK_DONE,    /* filled, waiting to be dequeued */
};

struct ring_block {
	/* what query() reports; the source fills these while ACTIVE */
	uint32_t bytes_used;
	uint32_t flags;            /* SOURCE_BLOCK_* */
	uint64_t timestamp_ns;
	uint64_t lost_samples;
	uint64_t first_sample;
	/* read-only for the source */
	uint8_t *addr;             /* mapping of this block */
	uint32_t size;
	uint64_t offset;           /* in the memfd */
	enum ring_block_state state;
};

struct block_ring {
	int mem_fd;                /* every block's memory */
	uint64_t mem_len;
	int event_fd;              /* readable while done is not empty */
	struct ring_block blocks[BLOCK_RING_MAX];
	uint32_t nblocks;
	struct id_fifo incoming, done;
	int32_t active;            /* the ACTIVE block, or -1 */
};

/* The memfd (named `name` in /proc) and the eventfd. 0 or a negative errno. */
int block_ring_init(struct block_ring *r, const char *name);
/* Unmap every block and close both fds. */
void block_ring_destroy(struct block_ring *r);

/* ALLOC: `count` more blocks of `size` bytes, a whole number of scans of
 * scan_bytes and at most IIOS_FRAME_MAX_PAYLOAD (what one frame carries).
 * 0 and the first new id, or -EINVAL, or an errno of ftruncate/mmap. */
int block_ring_alloc(struct block_ring *r, uint32_t size, uint32_t count, uint32_t scan_bytes,
		     uint32_t *first_id);
/* FREE: every block; the caller checks that capture is off. */
int block_ring_free(struct block_ring *r);

int block_ring_query(const struct block_ring *r, struct source_block *blk);
int block_ring_map(const struct block_ring *r, uint32_t id, void **addr);
int block_ring_block_file(const struct block_ring *r, uint32_t id, int *fd, uint64_t *offset);
/* USER -> QUEUED; -EINVAL for an unknown id, -EBUSY if the ring owns it. */
int block_ring_enqueue(struct block_ring *r, uint32_t id);
/* The same for a block the user filled (output): bytes_used and flags are
 * kept with it for the device (the caller checked them against the
 * block's size and its own flags). */
int block_ring_enqueue_filled(struct block_ring *r, uint32_t id, uint32_t bytes_used,
			      uint32_t flags);
/* DONE -> USER, the oldest first; -EAGAIN when none is done. */
int block_ring_dequeue(struct block_ring *r, struct source_block *blk);

/* The source's side. QUEUED -> ACTIVE: the next queued block, emptied
 * (bytes_used and the reported fields zero), when none is active; NULL
 * when none is queued. */
struct ring_block *block_ring_start(struct block_ring *r);
/* The same for an output device: the block keeps the bytes_used and flags
 * it was enqueued with (the reported fields timestamp_ns, lost_samples and
 * first_sample are zeroed for the device to fill). */
struct ring_block *block_ring_start_filled(struct block_ring *r);
/* The ACTIVE block, or NULL. */
static inline struct ring_block *block_ring_current(struct block_ring *r)
{
	return r->active >= 0 ? &r->blocks[r->active] : NULL;
}
/* ACTIVE -> DONE, with what it holds. */
void block_ring_complete(struct block_ring *r);
/* ACTIVE -> QUEUED, at the front of the queue: capture stopped before a
 * byte went into it (one that holds bytes is completed instead). */
void block_ring_requeue(struct block_ring *r);

#endif /* IIOSTREAMD_BLOCK_RING_H */
