/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iiostream_sim - a simulated high-rate ADC (and DAC) with the iio_block
 * mmap interface
 *
 * This driver is a teaching example as much as a test device: like the
 * kernel's iio_simple_dummy and vivid it has more comments than a real
 * driver, and every stand-in for hardware is marked "sim:".
 *
 * One concern per file, joined by this header:
 *   iios_core.c    module parameters, platform driver, probe/remove
 *   iios_iio.c     the IIO device: channels, sampling_frequency, kfifo buffer,
 *                  its trigger, the debugfs register file
 *   iios_gen.c     the converters' clock: a kthread per device paced by an
 *                  hrtimer sleep; the ADC's capture tick
 *   iios_dac.c     the DAC (dac=1): plays blocks at the rate, CYCLIC,
 *                  underflows, and the loopback into the ADC
 *   iios_blockq.c  the block queue: blocks, states, ALLOC..DEQUEUE semantics
 *   iios_chrdev.c  /dev/iio_blockN: ioctl, mmap, poll, sysfs
 *   iios_dmabuf.c  buffer1, mainline's IIO DMABUF interface (Linux 6.11+):
 *                  attach, enqueue, fences; its blocks go through the
 *                  block queue, so the generator and the player are shared
 *
 * Lifetimes. struct iios_dev is allocated at probe and freed when the last
 * reference to its block device goes (an open file keeps it, through the
 * cdev); so remove() can run with the node open: it marks the device gone,
 * stops the generator and wakes every waiter, and later calls get ENODEV.
 * Each block is refcounted on its own: the queue, the generator while it
 * fills it, and every VMA that maps it hold a reference, and the memory is
 * freed when the last one drops. The loopback link between ADC 0 and the
 * DAC (iios_dac.c) holds a reference on each one's device while both are
 * bound; remove() unlinks before anything else. A DMABUF block (buffer1,
 * Linux 6.11+) is one ENQUEUE: it borrows the DMABUF's kernel mapping,
 * which the IIO core keeps until the block's fence is signalled, and is
 * freed then; buffer1 itself holds a reference on the device's @dev.
 */
#ifndef IIOS_SIM_H
#define IIOS_SIM_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/version.h>
#include <linux/wait.h>

#include <iiostream/iio_block.h>
#include <iiostream/scan.h>

#define IIOS_DRV_NAME "iiostream-sim"
#define IIOS_MAX_CHANNELS 16
#define IIOS_MIN_RATE 1
#define IIOS_MAX_RATE 250000000		/* sim: 250 MS/s, AD9361 is 61.44 */

/* Mainline's IIO DMABUF interface (iios_dmabuf.c) exists from Linux 6.11 on. */
#define IIOS_HAVE_DMABUF (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0))

struct dma_fence;
struct iio_dev;
struct sg_table;
struct task_struct;

/* Module parameters (iios_core.c), checked once at load. */
extern unsigned int iios_param_channels;
extern struct iios_scan_type iios_param_type;	/* format=, parsed */
extern bool iios_param_timestamp;
extern unsigned int iios_param_max_block_size;
extern bool iios_param_dac;
extern unsigned long iios_param_max_alloc_bytes;
extern unsigned int iios_param_fifo_ms;	/* how far the capture may lag, ms */

/**
 * enum iios_block_state - who owns a block (videobuf2's naming)
 * @IIOS_BLOCK_USER:   owned by userspace: dequeued or never queued
 * @IIOS_BLOCK_QUEUED: on the incoming queue, waiting for the filler (ADC)
 *                     or the player (DAC)
 * @IIOS_BLOCK_ACTIVE: being filled by the generator (ADC), or played (DAC;
 *                     a CYCLIC block stays ACTIVE while it repeats)
 * @IIOS_BLOCK_DONE:   filled (ADC) or played (DAC), on the outgoing queue,
 *                     waiting for DEQUEUE
 */
enum iios_block_state {
	IIOS_BLOCK_USER,
	IIOS_BLOCK_QUEUED,
	IIOS_BLOCK_ACTIVE,
	IIOS_BLOCK_DONE,
};

/**
 * struct iios_block - one block of capture memory
 * @ref:        the queue's, the filler's and one per VMA
 * @vaddr:      vmalloc_user() memory: order-0 pages, mapped to userspace
 *              with vm_insert_page(), so get_user_pages() can pin them
 * @size:       bytes asked for; the mapping is PAGE_ALIGN(@size)
 * @offset:     mmap offset of this block
 * @id:         index in iios_dev.blocks
 * @state:      changed only by iios_block_set_state(), under iios_dev.qlock
 * @list:       on iios_dev.incoming or .outgoing (QUEUED, DONE)
 * @bytes_used: valid bytes, set when the block leaves ACTIVE; on a DAC
 *              also the bytes to play, set by ENQUEUE
 * @flags:      IIO_BUFFER_BLOCK_FLAG_* of the last fill (or play); on a
 *              DAC, CYCLIC from ENQUEUE
 * @timestamp:  CLOCK_MONOTONIC ns of the first scan of the last fill (or
 *              the time its first scan played)
 * @filled:     scans written (played) so far while ACTIVE, in the current
 *              repetition (generator or player only)
 * @repeats:    DAC: whole repetitions of a CYCLIC block played so far
 * @queued_ns:  DAC: CLOCK_MONOTONIC time of its ENQUEUE; it cannot play a
 *              scan slot that was due before (iios_dac.c)
 * @borrowed:   @vaddr is not ours: a DMABUF's kernel mapping (iios_dmabuf.c).
 *              Such a block lives from one DMABUF ENQUEUE to its fence
 * @fence:      a borrowed block's fence, signalled once, when the block
 *              leaves ACTIVE (filled, played) or the queue (cancelled)
 * @sgt:        a borrowed block's DMABUF as mapped for our device
 */
struct iios_block {
	struct kref ref;
	void *vaddr;
	u32 size;
	u32 offset;
	u32 id;
	enum iios_block_state state;
	struct list_head list;
	u32 bytes_used;
	u32 flags;
	u64 timestamp;
	u32 filled;
	u32 repeats;
	u64 queued_ns;
	bool borrowed;
	struct dma_fence *fence;
	struct sg_table *sgt;
};

/**
 * struct iios_stream - one consumer's view of the ADC's sample stream
 * @on:        the consumer captures
 * @t0_ns:     CLOCK_MONOTONIC time of scan 0 (when it was enabled)
 * @next_scan: index of the next scan to produce; scans are numbered from 0
 *             at enable, so every consumer sees a pattern that starts at 0
 */
struct iios_stream {
	bool on;
	u64 t0_ns;
	u64 next_scan;
};

/**
 * struct iios_dac_state - what only a DAC has (iios_dac.c), under gen_lock
 * @started:        a block played since enable: running dry from now on is
 *                  an underflow (silence before the first block is not)
 * @underflowing:   the queue is dry after @started: playing silence
 * @underflows:     times the DAC ran dry after playing started (sysfs)
 * @underflow_samples: scans of silence played while underflowing, in all
 *                  (sysfs; grows while an underflow lasts)
 * @underflow_at:   scan index (since enable) where the last underflow began
 * @cur_silence:    scans of silence of the underflow going on now
 * @last_underflow_samples: scans of silence before the last block that was
 *                  flagged IIO_BUFFER_BLOCK_FLAG_UNDERFLOW (sysfs)
 * @loopback:       what the DAC plays feeds the linked ADC (IIO attribute)
 * @ring:           the last @ring_scans scans played, in the block layout,
 *                  scan m at (m % @ring_scans); written while @loopback
 * @ring_scans:     scans @ring holds (set at enable and at loopback on)
 * @ring_from:      the oldest scan index @ring holds data of
 * @last:           the last scan played (out_voltageN_raw), a full scan
 * @lb_adc:         the ADC linked for loopback (reference on its @dev),
 *                  changed under iios_dac.c's link lock and both gen_locks
 */
struct iios_dac_state {
	bool started;
	bool underflowing;
	u64 underflows;
	u64 underflow_samples;
	u64 underflow_at;
	u64 cur_silence;
	u64 last_underflow_samples;
	bool loopback;
	u8 *ring;
	u64 ring_scans;
	u64 ring_from;
	u8 *last;
	struct iios_dev *lb_adc;
};

/**
 * struct iios_dmabuf_state - buffer1's use of the block path (iios_dmabuf.c),
 * under gen_lock; all zero before 6.11
 * @on:         buffer1 is enabled: blk_stream fills (plays) its blocks
 * @queued:     its blocks on the incoming queue or ACTIVE
 * @node_mask:  the block node's channel_mask, put back at disable
 * @base:       the counters below at enable (ADC: lost_samples, overflows;
 *              DAC: underflows, underflow_samples)
 * @frozen:     their growth from enable to the last disable
 *
 * sim: buffer1 and /dev/iio_blockN are two interfaces to one DMA engine,
 * so one of them has it at a time: the node while it is open, buffer1
 * while it is enabled or has blocks queued (-EBUSY for the other).
 */
struct iios_dmabuf_state {
	bool on;
	u32 queued;
	u32 node_mask;
	u64 base[2];
	u64 frozen[2];
};

/* Either is true: buffer1 has the block path (caller holds gen_lock). */
static inline bool iios_dmabuf_busy(const struct iios_dmabuf_state *d)
{
	return d->on || d->queued;
}

/**
 * struct iios_dev - one simulated ADC (or the DAC)
 * @dev:          the block device (/dev/iio_blockN); its refcount is the
 *                lifetime of this struct (release frees it)
 * @output:       a DAC (dac=1): blocks are played, not filled (fixed at
 *                probe, before the node is added)
 * @cdev:         char device; an open file holds a reference on @dev
 * @indio_dev:    the IIO device; NULL once removed
 * @channels:     voltage channels of the ADC (fixed at probe): scan
 *                indices 0..@channels-1
 * @types:        the IIO scan type of each scan index (format=; IIO's
 *                le:s64/64 at @ts_index)
 * @elements:     scan indices: @channels, + 1 with the timestamp
 * @ts_index:     scan index of the timestamp channel (@channels), or -1
 *                without one (timestamp=0)
 * @blk_mask:     elements the block path captures, bit i for scan index i
 *                (sysfs channel_mask; all of them at probe). Changed only
 *                while the block path is off, under gen_lock
 * @blk_layout:   the scan of those elements, as the IIO core lays it out
 *                (iiostream/scan.h): what the generator fills blocks with
 * @scan_bytes:   bytes per scan in a block: @blk_layout's scan_bytes
 * @rate:         sampling_frequency in scans per second
 * @gen_lock:     serialises the generator's ticks with everything that
 *                changes what it fills: enable/disable, ALLOC, FREE, rate,
 *                removal. Held while a block is being written.
 * @gen_task:     the generator kthread
 * @gen_wq:       the generator sleeps here while no consumer is on
 * @blk_stream:   the block consumer's stream
 * @fifo_stream:  the kfifo consumer's stream
 * @qlock:        protects the block table, both queues and block states
 * @blocks:       the block table; a NULL slot has no block
 * @nblocks:      used slots (ids are 0..@nblocks-1)
 * @bytes_alloc:  total allocated bytes, against max_alloc_bytes
 * @next_offset:  mmap offset of the next block to be allocated
 * @incoming:     QUEUED blocks, oldest first
 * @outgoing:     DONE blocks, oldest first
 * @active:       the ACTIVE block, or NULL (generator's reference)
 * @waitq:        DEQUEUE and poll() wait here for @outgoing
 * @open:         the node is open (it is exclusive)
 * @gone:         remove() ran: every call fails with ENODEV
 * @overflow_pending: samples were dropped; flag the next block
 * @lost_samples: scans dropped on the block path since load (sysfs)
 * @overflows:    times the block path started dropping (sysfs)
 * @fifo_lost:    scans the kfifo had no room for (sysfs); on a DAC, scans
 *                due that the kfifo had no data for (silence)
 * @blocks_filled: blocks moved to DONE since load (sysfs; blocks_played on
 *                a DAC)
 * @dac:          DAC only: the player's state (iios_dac.c)
 * @lb_dac:       ADC only: the DAC linked to this ADC for loopback, with a
 *                reference on its @dev; set and cleared under this ADC's
 *                @gen_lock and the DAC's (iios_dac_link())
 * @lb_offset:    ADC only: DAC scan index = block scan index + this, while
 *                @lb_valid (the shared sample clock, from both t0s)
 * @lb_adc_t0:    ADC only: the block stream t0 @lb_offset was worked out for
 * @lb_dac_t0:    ADC only: the DAC's t0 @lb_offset was worked out for
 * @lb_valid:     ADC only: @lb_offset is up to date
 * @dmabuf:       buffer1's share of the block path (Linux 6.11+)
 * @minor:        minor number of @dev
 * @iio_id:       N of the IIO device iio:deviceN (and of iio_blockN)
 * @added:        the node was added (remove() deletes it)
 */
struct iios_dev {
	struct device dev;
	bool output;
	struct cdev cdev;
	struct iio_dev *indio_dev;
	unsigned int channels;
	struct iios_scan_type types[IIOS_MAX_CHANNELS + 1];
	unsigned int elements;
	int ts_index;
	u32 blk_mask;
	struct iios_scan_layout blk_layout;
	unsigned int scan_bytes;
	u32 rate;

	struct mutex gen_lock;
	struct task_struct *gen_task;
	wait_queue_head_t gen_wq;
	struct iios_stream blk_stream;
	struct iios_stream fifo_stream;

	spinlock_t qlock;
	struct iios_block *blocks[IIO_BUFFER_BLOCK_MAX];
	unsigned int nblocks;
	unsigned long bytes_alloc;
	u32 next_offset;
	struct list_head incoming;
	struct list_head outgoing;
	struct iios_block *active;
	wait_queue_head_t waitq;
	bool open;
	bool gone;

	bool overflow_pending;
	u64 lost_samples;
	u64 overflows;
	u64 fifo_lost;
	u64 blocks_filled;
	struct iios_dac_state dac;
	struct iios_dev *lb_dac;
	s64 lb_offset;
	u64 lb_adc_t0;
	u64 lb_dac_t0;
	bool lb_valid;
	struct iios_dmabuf_state dmabuf;
	int minor;
	int iio_id;
	bool added;
};

/* iios_blockq.c: the queue; callers hold the locks each function names. */
int iios_blockq_set_mask(struct iios_dev *sd, u32 mask);
int iios_blockq_alloc(struct iios_dev *sd, struct iio_buffer_block_alloc_req *req);
void iios_blockq_free(struct iios_dev *sd);
int iios_blockq_query(struct iios_dev *sd, struct iio_buffer_block *ub);
int iios_blockq_enqueue(struct iios_dev *sd, const struct iio_buffer_block *ub);
int iios_blockq_dequeue(struct iios_dev *sd, struct iio_buffer_block *ub);
void iios_blockq_requeue_front(struct iios_dev *sd, u32 id);
bool iios_blockq_done_ready(struct iios_dev *sd);
struct iios_block *iios_blockq_find_offset(struct iios_dev *sd, u32 offset);
void iios_block_get(struct iios_block *blk);
void iios_block_put(struct iios_block *blk);
struct iios_block *iios_block_new_borrowed(void);
void iios_blockq_enqueue_borrowed(struct iios_dev *sd, struct iios_block *blk);
void iios_blockq_cancel_borrowed(struct iios_dev *sd, int err, u32 scan_bytes);
void iios_blockq_produce(struct iios_dev *sd, u64 scans);
void iios_blockq_flush_active(struct iios_dev *sd);
struct iios_block *iios_blockq_take_incoming(struct iios_dev *sd);
void iios_blockq_complete_active(struct iios_dev *sd);
bool iios_blockq_next_queued_ns(struct iios_dev *sd, u64 *ns);
long iios_blocks_live(void);

/* iios_gen.c: the ADC. */
int iios_gen_start(struct iios_dev *sd);
void iios_gen_stop(struct iios_dev *sd);
int iios_gen_enable(struct iios_dev *sd, struct iios_stream *st);
void iios_gen_disable(struct iios_dev *sd, struct iios_stream *st);
u64 iios_gen_scan_time(const struct iios_stream *st, u32 rate, u64 scan);
u64 iios_gen_scans_since(u64 t0, u64 now, u32 rate);

/* iios_dac.c: the DAC; callers hold the locks each function names. */
int iios_dac_setup(struct iios_dev *sd);
void iios_dac_layout_changed(struct iios_dev *sd);
void iios_dac_tick(struct iios_dev *sd, u64 now);
void iios_dac_enable(struct iios_dev *sd);
void iios_dac_disable(struct iios_dev *sd);
void iios_dac_blocks_freed(struct iios_dev *sd);
void iios_dac_link(struct iios_dev *sd);
void iios_dac_unlink(struct iios_dev *sd);
void iios_dac_loopback_apply(struct iios_dev *adc, u8 *scans, u64 first, u32 count);
int iios_dac_set_loopback(struct iios_dev *dac, bool on);
int iios_dac_set_rate(struct iios_dev *sd, u32 rate);

/* iios_iio.c: the IIO device. */
int iios_iio_setup(struct iios_dev *sd, struct device *parent);
int iios_iio_register(struct iios_dev *sd);
void iios_iio_unregister(struct iios_dev *sd);
void iios_iio_push(struct iios_dev *sd, u64 first, u64 scans);
int iios_iio_dac_setup(struct iios_dev *sd, struct device *parent);
void iios_iio_pop(struct iios_dev *sd, u64 scans);

/* iios_dmabuf.c: buffer1, mainline's DMABUF interface (stubs before 6.11). */
#if IIOS_HAVE_DMABUF
int iios_dmabuf_setup(struct iios_dev *sd, struct iio_dev *indio_dev, struct device *parent);
void iios_dmabuf_block_done(struct iios_dev *sd, struct iios_block *blk, int err);
void iios_dmabuf_exit(void);
#else
static inline int iios_dmabuf_setup(struct iios_dev *sd, struct iio_dev *indio_dev,
				    struct device *parent)
{
	return 0;	/* no buffer1: the kernel has no DMABUF interface */
}

static inline void iios_dmabuf_block_done(struct iios_dev *sd, struct iios_block *blk, int err)
{
}

static inline void iios_dmabuf_exit(void)
{
}
#endif

/* iios_chrdev.c: the block node. */
int iios_chrdev_init(void);
void iios_chrdev_exit(void);
struct iios_dev *iios_chrdev_create(struct device *parent);
int iios_chrdev_add(struct iios_dev *sd);
void iios_chrdev_remove(struct iios_dev *sd);
void iios_chrdev_put(struct iios_dev *sd);

#endif /* IIOS_SIM_H */
