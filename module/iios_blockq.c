// SPDX-License-Identifier: GPL-2.0-only
/*
 * iios_blockq.c - the block queue behind ALLOC, FREE, QUERY, ENQUEUE, DEQUEUE
 *
 * A block is owned by one side at a time (enum iios_block_state). Every
 * state change goes through iios_block_set_state(), which warns about an
 * illegal one, so a bug shows in the kernel log instead of as a block two
 * owners write.
 *
 * Locks: iios_dev.qlock (a spinlock) guards the table, the two lists and
 * the states; it is never held while memory is allocated, freed or filled.
 * ALLOC, FREE and the generator's fill additionally run under
 * iios_dev.gen_lock (a mutex), which is what makes FREE safe while a block
 * is being filled: FREE waits for the fill in progress to end.
 */
#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/timekeeping.h>


#include "iios_sim.h"

/* Blocks alive anywhere (queue, filler or a VMA); 0 once all are freed. */
static atomic_long_t iios_live_blocks = ATOMIC_LONG_INIT(0);

long iios_blocks_live(void)
{
	return atomic_long_read(&iios_live_blocks);
}

static void iios_block_release(struct kref *ref)
{
	struct iios_block *blk = container_of(ref, struct iios_block, ref);

	if (!blk->borrowed)
		vfree(blk->vaddr);
	kfree(blk);
	atomic_long_dec(&iios_live_blocks);
}

void iios_block_get(struct iios_block *blk)
{
	kref_get(&blk->ref);
}

/* May free the block: never call it under qlock (vfree can sleep). */
void iios_block_put(struct iios_block *blk)
{
	kref_put(&blk->ref, iios_block_release);
}

/* The legal moves of the life cycle; anything else is a driver bug. */
static void iios_block_set_state(struct iios_block *blk, enum iios_block_state to)
{
	static const bool legal[4][4] = {
		[IIOS_BLOCK_USER][IIOS_BLOCK_QUEUED] = true,	/* ENQUEUE */
		[IIOS_BLOCK_QUEUED][IIOS_BLOCK_ACTIVE] = true,	/* filler takes it */
		[IIOS_BLOCK_ACTIVE][IIOS_BLOCK_QUEUED] = true,	/* disabled before any scan */
		[IIOS_BLOCK_ACTIVE][IIOS_BLOCK_DONE] = true,	/* full (played), or disabled */
		[IIOS_BLOCK_DONE][IIOS_BLOCK_USER] = true,	/* DEQUEUE */
		[IIOS_BLOCK_USER][IIOS_BLOCK_DONE] = true,	/* DEQUEUE's copy failed */
	};

	WARN(!legal[blk->state][to], "iiostream-sim: block %u: illegal state %d -> %d\n",
	     blk->id, blk->state, to);
	blk->state = to;
}

/* A block in state USER with one reference, no memory yet. */
static struct iios_block *iios_block_alloc(void)
{
	struct iios_block *blk = kzalloc(sizeof(*blk), GFP_KERNEL);

	if (!blk)
		return NULL;
	kref_init(&blk->ref);
	INIT_LIST_HEAD(&blk->list);
	blk->state = IIOS_BLOCK_USER;
	atomic_long_inc(&iios_live_blocks);
	return blk;
}

static struct iios_block *iios_block_new(u32 size)
{
	struct iios_block *blk = iios_block_alloc();

	if (!blk)
		return NULL;
	/*
	 * vmalloc_user(): zeroed order-0 pages that remap_vmalloc_range()
	 * inserts one by one with vm_insert_page(). Unlike remap_pfn_range()
	 * (VM_PFNMAP), such pages can be pinned by get_user_pages(), which
	 * send(MSG_ZEROCOPY) and O_DIRECT need.
	 * sim: a DMA driver would allocate DMA-able memory instead.
	 */
	blk->vaddr = vmalloc_user(PAGE_ALIGN(size));
	if (!blk->vaddr) {
		iios_block_put(blk);
		return NULL;
	}
	blk->size = size;
	return blk;
}

/*
 * A block over memory someone else owns: a DMABUF's kernel mapping
 * (iios_dmabuf.c), which sets @vaddr, @size and @fence. Freed with its
 * last reference; the memory is left alone.
 */
struct iios_block *iios_block_new_borrowed(void)
{
	struct iios_block *blk = iios_block_alloc();

	if (blk)
		blk->borrowed = true;
	return blk;
}

/*
 * Caller holds gen_lock. The scan elements the block path captures from
 * the next enable on (bit i: scan index i, the timestamp's included): a
 * scan holds them in ascending scan index, laid out as the IIO core lays a
 * scan out. -EBUSY while the block path captures, -EINVAL for no element
 * or one the ADC does not have. Blocks keep their size and hold as many
 * whole scans as fit.
 */
int iios_blockq_set_mask(struct iios_dev *sd, u32 mask)
{
	int ret;

	if (sd->blk_stream.on)
		return -EBUSY;
	if (!mask || (mask & ~GENMASK(sd->elements - 1, 0)))
		return -EINVAL;
	/* The same mask again (buffer1 handing the node's back at disable):
	 * nothing changes, and a DAC's loopback ring stays readable, so the
	 * ADC still gets the last scans played before the disable. */
	if (mask == sd->blk_mask)
		return 0;
	ret = iios_scan_layout_from_mask(&sd->blk_layout, sd->types, sd->elements, mask,
					 sd->ts_index);
	if (WARN_ON(ret))	/* the types were checked at load */
		return ret;
	sd->blk_mask = mask;
	sd->scan_bytes = sd->blk_layout.scan_bytes;
	if (sd->output)
		iios_dac_layout_changed(sd);
	return 0;
}

/* Caller holds gen_lock. All or nothing: on error no block was added. */
int iios_blockq_alloc(struct iios_dev *sd, struct iio_buffer_block_alloc_req *req)
{
	struct iios_block *fresh[IIO_BUFFER_BLOCK_MAX];
	u64 mapped, total;
	u32 i, first;

	if (req->type != IIO_BUFFER_BLOCK_TYPE_MMAP || req->count == 0 || req->size == 0 ||
	    req->size % sd->scan_bytes || req->size > iios_param_max_block_size)
		return -EINVAL;

	spin_lock(&sd->qlock);
	mapped = PAGE_ALIGN((u64)req->size);
	total = mapped * req->count;	/* count < 2^32, mapped < 2^31: no overflow */
	if (req->count > IIO_BUFFER_BLOCK_MAX - sd->nblocks ||
	    total > iios_param_max_alloc_bytes - sd->bytes_alloc ||
	    total > (u64)U32_MAX + 1 - sd->next_offset) {
		spin_unlock(&sd->qlock);
		return -ENOSPC;
	}
	spin_unlock(&sd->qlock);

	/* Table and limits cannot change meanwhile: ALLOC and FREE hold gen_lock. */
	for (i = 0; i < req->count; i++) {
		fresh[i] = iios_block_new(req->size);
		if (!fresh[i]) {
			while (i--)
				iios_block_put(fresh[i]);
			return -ENOMEM;
		}
	}

	spin_lock(&sd->qlock);
	first = sd->nblocks;
	for (i = 0; i < req->count; i++) {
		fresh[i]->id = first + i;
		fresh[i]->offset = sd->next_offset;
		sd->next_offset += mapped;
		sd->blocks[first + i] = fresh[i];
	}
	sd->nblocks += req->count;
	sd->bytes_alloc += total;
	spin_unlock(&sd->qlock);

	req->id = first;
	return 0;
}

/*
 * Caller holds gen_lock, so the generator is between two fills. Every block
 * leaves the table and the queues; the queue's and the filler's references
 * drop, and a block still mapped lives on until its last munmap().
 */
void iios_blockq_free(struct iios_dev *sd)
{
	struct iios_block *gone[IIO_BUFFER_BLOCK_MAX];
	struct iios_block *active;
	unsigned int i, n;

	spin_lock(&sd->qlock);
	n = sd->nblocks;
	for (i = 0; i < n; i++) {
		gone[i] = sd->blocks[i];
		sd->blocks[i] = NULL;
		list_del_init(&gone[i]->list);
	}
	active = sd->active;
	sd->active = NULL;
	sd->nblocks = 0;
	sd->bytes_alloc = 0;
	sd->next_offset = 0;
	spin_unlock(&sd->qlock);
	if (sd->output)
		iios_dac_blocks_freed(sd);

	/* A DEQUEUE waiting for a block must learn there are none now. */
	wake_up_interruptible_poll(&sd->waitq, EPOLLIN | EPOLLRDNORM);

	if (active)
		iios_block_put(active);
	for (i = 0; i < n; i++)
		iios_block_put(gone[i]);
}

/* Caller holds qlock. */
static struct iios_block *iios_blockq_lookup(struct iios_dev *sd, u32 id)
{
	if (id >= sd->nblocks)
		return NULL;
	return sd->blocks[id];
}

static void iios_block_describe(const struct iios_block *blk, struct iio_buffer_block *ub)
{
	ub->id = blk->id;
	ub->size = blk->size;
	ub->bytes_used = blk->bytes_used;
	ub->type = IIO_BUFFER_BLOCK_TYPE_MMAP;
	ub->flags = blk->flags;
	ub->data.offset = blk->offset;
	ub->timestamp = blk->timestamp;
}

int iios_blockq_query(struct iios_dev *sd, struct iio_buffer_block *ub)
{
	struct iios_block *blk;

	spin_lock(&sd->qlock);
	blk = iios_blockq_lookup(sd, ub->id);
	if (blk)
		iios_block_describe(blk, ub);
	spin_unlock(&sd->qlock);
	return blk ? 0 : -EINVAL;
}

/*
 * A DAC's block carries what to play: @bytes_used (whole scans, 1..size)
 * and CYCLIC. A capture device takes no flag (CYCLIC is for output) and
 * ignores bytes_used.
 */
static int iios_blockq_check_enqueue(struct iios_dev *sd, const struct iios_block *blk,
				     const struct iio_buffer_block *ub)
{
	if (!sd->output)
		return 0;
	if (!ub->bytes_used || ub->bytes_used > blk->size || ub->bytes_used % sd->scan_bytes)
		return -EINVAL;
	return 0;
}

int iios_blockq_enqueue(struct iios_dev *sd, const struct iio_buffer_block *ub)
{
	struct iios_block *blk;
	int ret = 0;

	if (ub->flags & ~IIO_BUFFER_BLOCK_FLAGS_ENQUEUE ||
	    (!sd->output && ub->flags & IIO_BUFFER_BLOCK_FLAG_CYCLIC))
		return -EINVAL;

	spin_lock(&sd->qlock);
	blk = iios_blockq_lookup(sd, ub->id);
	if (!blk) {
		ret = -EINVAL;
	} else if (blk->state != IIOS_BLOCK_USER) {
		ret = -EBUSY;
	} else {
		ret = iios_blockq_check_enqueue(sd, blk, ub);
	}
	if (!ret) {
		iios_block_set_state(blk, IIOS_BLOCK_QUEUED);
		blk->bytes_used = sd->output ? ub->bytes_used : 0;
		if (sd->output) {
			blk->flags = ub->flags & IIO_BUFFER_BLOCK_FLAG_CYCLIC;
			blk->queued_ns = ktime_get_ns();
		}
		list_add_tail(&blk->list, &sd->incoming);
	}
	spin_unlock(&sd->qlock);
	return ret;
}

/* -EAGAIN when no block is done: never a half-written *ub. */
int iios_blockq_dequeue(struct iios_dev *sd, struct iio_buffer_block *ub)
{
	struct iios_block *blk;
	int ret = 0;

	spin_lock(&sd->qlock);
	blk = list_first_entry_or_null(&sd->outgoing, struct iios_block, list);
	if (!sd->nblocks) {
		ret = -EINVAL;
	} else if (!blk) {
		ret = -EAGAIN;
	} else {
		list_del_init(&blk->list);
		iios_block_set_state(blk, IIOS_BLOCK_USER);
		iios_block_describe(blk, ub);
	}
	spin_unlock(&sd->qlock);
	return ret;
}

/* DEQUEUE could not tell userspace which block it got: take it back. */
void iios_blockq_requeue_front(struct iios_dev *sd, u32 id)
{
	struct iios_block *blk;

	spin_lock(&sd->qlock);
	blk = iios_blockq_lookup(sd, id);
	if (blk && blk->state == IIOS_BLOCK_USER) {
		iios_block_set_state(blk, IIOS_BLOCK_DONE);
		list_add(&blk->list, &sd->outgoing);
	}
	spin_unlock(&sd->qlock);
}

bool iios_blockq_done_ready(struct iios_dev *sd)
{
	bool ready;

	spin_lock(&sd->qlock);
	ready = !list_empty(&sd->outgoing);
	spin_unlock(&sd->qlock);
	return ready;
}

/* mmap(): the block at exactly this offset, with a reference, or NULL. */
struct iios_block *iios_blockq_find_offset(struct iios_dev *sd, u32 offset)
{
	struct iios_block *blk = NULL;
	unsigned int i;

	spin_lock(&sd->qlock);
	for (i = 0; i < sd->nblocks; i++) {
		if (sd->blocks[i]->offset == offset) {
			blk = sd->blocks[i];
			iios_block_get(blk);
			break;
		}
	}
	spin_unlock(&sd->qlock);
	return blk;
}

/* Caller holds gen_lock. The active block leaves for DONE with what it has
 * (@filled scans: filled, or played on a DAC). */
void iios_blockq_complete_active(struct iios_dev *sd)
{
	struct iios_block *blk = sd->active;

	if (blk->borrowed) {
		/* a DMABUF's block: its fence, not DEQUEUE, says it is done */
		spin_lock(&sd->qlock);
		sd->active = NULL;
		spin_unlock(&sd->qlock);
		iios_dmabuf_block_done(sd, blk, 0);
		iios_block_put(blk);	/* the filler's reference */
		return;
	}
	spin_lock(&sd->qlock);
	blk->bytes_used = blk->filled * sd->scan_bytes;
	iios_block_set_state(blk, IIOS_BLOCK_DONE);
	list_add_tail(&blk->list, &sd->outgoing);
	sd->active = NULL;
	sd->blocks_filled++;
	spin_unlock(&sd->qlock);
	/* a DAC's DONE block is one to fill again: writable too */
	wake_up_interruptible_poll(&sd->waitq, EPOLLIN | EPOLLRDNORM |
				   (sd->output ? EPOLLOUT | EPOLLWRNORM : 0));
	iios_block_put(blk);	/* the filler's reference; the queue keeps one */
}

/* Caller holds gen_lock. A DAC: when the oldest queued block was queued
 * (false: none is). */
bool iios_blockq_next_queued_ns(struct iios_dev *sd, u64 *ns)
{
	struct iios_block *blk;

	spin_lock(&sd->qlock);
	blk = list_first_entry_or_null(&sd->incoming, struct iios_block, list);
	if (blk)
		*ns = blk->queued_ns;
	spin_unlock(&sd->qlock);
	return blk;
}

/* Caller holds gen_lock. Take the oldest queued block for filling (or
 * playing). */
struct iios_block *iios_blockq_take_incoming(struct iios_dev *sd)
{
	struct iios_block *blk;

	spin_lock(&sd->qlock);
	blk = list_first_entry_or_null(&sd->incoming, struct iios_block, list);
	if (blk) {
		list_del_init(&blk->list);
		iios_block_set_state(blk, IIOS_BLOCK_ACTIVE);
		iios_block_get(blk);
	}
	spin_unlock(&sd->qlock);
	return blk;
}

/*
 * Caller holds gen_lock. Write the next @scans scans of the block stream
 * into queued blocks; what finds no block is lost, counted, and flagged on
 * the next block that is filled.
 */
void iios_blockq_produce(struct iios_dev *sd, u64 scans)
{
	struct iios_stream *st = &sd->blk_stream;
	/* the timestamp element's clock: the blocks' (iios_gen_scan_time()) */
	struct iios_scan_clock clk = { .t0_ns = st->t0_ns, .n0 = 0, .rate = sd->rate };

	while (scans) {
		struct iios_block *blk = sd->active;
		u32 room;
		u64 n;

		if (!blk) {
			blk = iios_blockq_take_incoming(sd);
			if (!blk) {
				/* sim: a DMA engine with no descriptor drops samples */
				if (!sd->overflow_pending)
					sd->overflows++;
				sd->overflow_pending = true;
				sd->lost_samples += scans;
				st->next_scan += scans;
				return;
			}
			blk->filled = 0;
			blk->flags = IIO_BUFFER_BLOCK_FLAG_TIMESTAMP_VALID;
			if (sd->overflow_pending)
				blk->flags |= IIO_BUFFER_BLOCK_FLAG_OVERFLOW;
			sd->overflow_pending = false;
			blk->timestamp = iios_gen_scan_time(st, sd->rate, st->next_scan);
			sd->active = blk;
		}

		room = blk->size / sd->scan_bytes - blk->filled;
		n = min_t(u64, scans, room);
		/* sim: this is where the ADC's DMA would write (le:s16/16
		 * scans take pattern.h's fast fill inside) */
		iios_scan_fill(&sd->blk_layout,
			       (u8 *)blk->vaddr + (size_t)blk->filled * sd->scan_bytes,
			       st->next_scan, (u32)n, &clk);
		/* sim: with the DAC's loopback on, the wire carries its output */
		iios_dac_loopback_apply(sd, (u8 *)blk->vaddr + (size_t)blk->filled * sd->scan_bytes,
					st->next_scan, (u32)n);
		blk->filled += n;
		st->next_scan += n;
		scans -= n;
		if (n == room)
			iios_blockq_complete_active(sd);
	}
}

/*
 * Caller holds gen_lock; capture is being disabled. A partly filled block
 * goes to DONE with what it holds (nothing captured is lost); one that got
 * no scan yet goes back to the head of the incoming queue.
 */
void iios_blockq_flush_active(struct iios_dev *sd)
{
	struct iios_block *blk = sd->active;

	/*
	 * A DMABUF's block has no header to say where a gap is: it stays
	 * ACTIVE and the gap shows as a jump in the pattern. (At disable,
	 * iios_dmabuf.c has cancelled it before this runs.)
	 */
	if (!blk || blk->borrowed)
		return;
	if (blk->filled) {
		iios_blockq_complete_active(sd);
		return;
	}
	if (blk->flags & IIO_BUFFER_BLOCK_FLAG_OVERFLOW)
		sd->overflow_pending = true;	/* the next fill reports the gap */
	spin_lock(&sd->qlock);
	iios_block_set_state(blk, IIOS_BLOCK_QUEUED);
	list_add(&blk->list, &sd->incoming);
	sd->active = NULL;
	spin_unlock(&sd->qlock);
	iios_block_put(blk);
}

/* Caller holds gen_lock. A DMABUF ENQUEUE: @blk joins the incoming queue. */
void iios_blockq_enqueue_borrowed(struct iios_dev *sd, struct iios_block *blk)
{
	spin_lock(&sd->qlock);
	iios_block_set_state(blk, IIOS_BLOCK_QUEUED);
	list_add_tail(&blk->list, &sd->incoming);
	spin_unlock(&sd->qlock);
}

/*
 * Caller holds gen_lock. DMABUF blocks end with @err on their fence, in
 * queue order: with @scan_bytes 0 every one, the ACTIVE one too (buffer1
 * is disabled, or the device goes away); else only the queued ones that
 * are not whole scans of @scan_bytes (buffer1's scan elements changed
 * between their ENQUEUE and this enable).
 */
void iios_blockq_cancel_borrowed(struct iios_dev *sd, int err, u32 scan_bytes)
{
	struct iios_block *blk, *tmp, *active = NULL;
	LIST_HEAD(gone);

	spin_lock(&sd->qlock);
	if (!scan_bytes && sd->active && sd->active->borrowed) {
		active = sd->active;
		sd->active = NULL;
	}
	list_for_each_entry_safe(blk, tmp, &sd->incoming, list)
		if (blk->borrowed && (!scan_bytes || blk->bytes_used < scan_bytes ||
				      blk->bytes_used % scan_bytes))
			list_move_tail(&blk->list, &gone);
	spin_unlock(&sd->qlock);

	if (active) {
		iios_dmabuf_block_done(sd, active, err);
		iios_block_put(active);	/* the filler's reference */
	}
	list_for_each_entry_safe(blk, tmp, &gone, list) {
		list_del_init(&blk->list);
		iios_dmabuf_block_done(sd, blk, err);
	}
}
