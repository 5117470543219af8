// SPDX-License-Identifier: GPL-2.0-only
/*
 * iios_dmabuf.c - buffer1: mainline's IIO DMABUF interface (Linux 6.11+)
 *
 * Mainline never merged the block interface of the seed (/dev/iio_blockN).
 * It merged this instead: userspace allocates DMABUFs (a udmabuf over a
 * memfd, a dma-heap buffer), ATTACHes them to an IIO buffer's fd, and
 * ENQUEUEs one at a time with the bytes to transfer; the IIO core puts a
 * fence on the DMABUF, and the driver signals it when the transfer is done
 * (iio_buffer_signal_dmabuf_done()). The core does the rest: the ioctls,
 * the fences, the waits, the attachment lists (industrialio-buffer.c).
 *
 * What a driver provides is an iio_buffer with the DMABUF access functions;
 * each ADC gets one as buffer1 (direction in), the DAC as its buffer1
 * (direction out). buffer0 stays the kfifo, for read(), iiod and libiio 0.x.
 *
 * sim: on a board, enqueue_dmabuf() hands the sg_table to a DMA engine.
 * Here the block goes on the same queue as the block node's blocks, and the
 * same generator (iios_blockq_produce()) or player (iios_dac.c) fills or
 * plays it, so the pattern, the clock, CYCLIC, underflows and the loopback
 * are the block path's. The CPU reaches the DMABUF's pages through the
 * exporter's kernel mapping (dma_buf_vmap()), taken at ATTACH: an importer
 * must not touch the pages behind its sg_table (CONFIG_DMABUF_DEBUG even
 * scrambles them to catch it).
 *
 * The two interfaces are two doors to one DMA engine: buffer1 has it while
 * enabled or with blocks queued, the node while it is open (struct
 * iios_dmabuf_state). The device is INDIO_BUFFER_HARDWARE for buffer1, so
 * the core enables one buffer at a time: buffer0 or buffer1.
 *
 * Locks: the core calls lock_queue() before ENQUEUE adds its fence, and
 * enqueue_dmabuf() between lock_queue() and unlock_queue(); lock_queue()
 * takes gen_lock, so an ENQUEUE and a generator tick never interleave.
 * Fences are signalled under gen_lock; the core defers everything that
 * could take the DMABUF's reservation lock to a work item.
 */
#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/iio/buffer.h>
#include <linux/iio/buffer_impl.h>
#include <linux/iio/iio.h>
#include <linux/iio/sysfs.h>
#include <linux/iosys-map.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/wait.h>

#include "iios_sim.h"

#if IIOS_HAVE_DMABUF

/* dma_buf_vmap() and friends live in the DMA_BUF symbol namespace. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
MODULE_IMPORT_NS("DMA_BUF");
#else
MODULE_IMPORT_NS(DMA_BUF);
#endif

/*
 * What the IIO core may still call us for after remove(): buffers it has
 * not released and DMABUFs it has not detached (their last fence's clean-up
 * runs from a work item). Module exit waits for them.
 */
static atomic_t iios_dmabuf_live = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(iios_dmabuf_wq);

static void iios_dmabuf_live_put(void)
{
	if (atomic_dec_and_test(&iios_dmabuf_live))
		wake_up(&iios_dmabuf_wq);
}

/**
 * struct iios_dmabuf_buf - buffer1 of one device
 * @buffer:  the core's view; first, so the core's pointer is ours
 * @sd:      the device, with a reference on its @dev (dropped at release)
 * @dma_dev: the device DMABUFs are attached to: the platform device
 * @spare:   a block lock_queue() allocated for the next ENQUEUE, under
 *           gen_lock: enqueue_dmabuf() runs in the fence-signalling
 *           section, where allocating could wait on our own fences
 * @layout:  scratch for ENQUEUE's check, under gen_lock
 */
struct iios_dmabuf_buf {
	struct iio_buffer buffer;
	struct iios_dev *sd;
	struct device *dma_dev;
	struct iios_block *spare;
	struct iios_scan_layout layout;
};

/**
 * struct iios_dmabuf_att - one attached DMABUF
 * @dmabuf: the DMABUF; the core's attachment holds a reference on it
 * @map:    its kernel mapping, from ATTACH until the core detaches it
 *
 * The core treats what attach_dmabuf() returns as opaque, a struct
 * iio_dma_buffer_block pointer it only hands back to enqueue_dmabuf() and
 * detach_dmabuf(); ours is this. It is detached when its last user goes:
 * DETACH or the buffer fd's close, and every fence of it signalled.
 */
struct iios_dmabuf_att {
	struct dma_buf *dmabuf;
	struct iosys_map map;
};

static struct iios_dmabuf_buf *to_dmabuf_buf(struct iio_buffer *buffer)
{
	return container_of(buffer, struct iios_dmabuf_buf, buffer);
}

static struct iios_dmabuf_att *to_att(struct iio_dma_buffer_block *block)
{
	return (struct iios_dmabuf_att *)block;
}

/* The counters of the sysfs attributes: ADC lost scans and overflows,
 * DAC underflows and scans of silence. Caller holds gen_lock. */
static void iios_dmabuf_counters(const struct iios_dev *sd, u64 c[2])
{
	c[0] = sd->output ? sd->dac.underflows : sd->overflows;
	c[1] = sd->output ? sd->dac.underflow_samples : sd->lost_samples;
}

/* Caller holds gen_lock. Bit i for scan index i: the buffer's own scan
 * elements (the core keeps the timestamp out of scan_mask). */
static u32 iios_dmabuf_mask(struct iios_dmabuf_buf *db)
{
	struct iios_dev *sd = db->sd;
	u32 mask = db->buffer.scan_mask ? db->buffer.scan_mask[0] : 0;

	if (sd->ts_index >= 0 && db->buffer.scan_timestamp)
		mask |= BIT(sd->ts_index);
	return mask;
}

/* ---- enable / disable: buffer1 takes the block path, or gives it back ---- */

/* Caller holds gen_lock. */
static int iios_dmabuf_start(struct iios_dmabuf_buf *db)
{
	struct iios_dev *sd = db->sd;
	struct iios_dmabuf_state *d = &sd->dmabuf;
	u32 node_mask = sd->blk_mask;
	int ret;

	if (sd->gone)
		return -ENODEV;
	if (sd->open)
		return -EBUSY;	/* /dev/iio_blockN has the block path */
	/* the block path lays its scans out as buffer1's scan elements say
	 * (-EBUSY if the node's sysfs enable started it) */
	ret = iios_blockq_set_mask(sd, iios_dmabuf_mask(db));
	if (ret)
		return ret;
	if (WARN_ON(sd->scan_bytes != db->buffer.bytes_per_datum)) {
		ret = -EINVAL;	/* the IIO core laid the scan out otherwise */
		goto err_mask;
	}
	ret = iios_gen_enable(sd, &sd->blk_stream);	/* DAC: -EBUSY if its kfifo plays */
	if (ret)
		goto err_mask;
	/* blocks queued for another scan size than this one: -EINVAL */
	iios_blockq_cancel_borrowed(sd, -EINVAL, sd->scan_bytes);
	d->node_mask = node_mask;
	iios_dmabuf_counters(sd, d->base);
	d->frozen[0] = d->frozen[1] = 0;
	d->on = true;
	return 0;

err_mask:
	iios_blockq_set_mask(sd, node_mask);
	return ret;
}

/* access->enable: the core calls it for buffer1 when buffer1/enable = 1. */
static int iios_dmabuf_enable(struct iio_buffer *buffer, struct iio_dev *indio_dev)
{
	struct iios_dmabuf_buf *db = to_dmabuf_buf(buffer);
	int ret;

	mutex_lock(&db->sd->gen_lock);
	ret = iios_dmabuf_start(db);
	mutex_unlock(&db->sd->gen_lock);
	return ret;
}

/*
 * access->disable: buffer1/enable = 0, or the device goes away. Every
 * block queued or in progress ends with -ECANCELED on its fence (a DMABUF
 * has no header to say "partly filled"); what stays attached stays.
 */
static int iios_dmabuf_disable(struct iio_buffer *buffer, struct iio_dev *indio_dev)
{
	struct iios_dmabuf_buf *db = to_dmabuf_buf(buffer);
	struct iios_dev *sd = db->sd;
	struct iios_dmabuf_state *d = &sd->dmabuf;
	u64 now[2];

	mutex_lock(&sd->gen_lock);
	if (d->on) {
		iios_blockq_cancel_borrowed(sd, -ECANCELED, 0);
		iios_gen_disable(sd, &sd->blk_stream);
		iios_blockq_set_mask(sd, d->node_mask);
		iios_dmabuf_counters(sd, now);
		d->frozen[0] = now[0] - d->base[0];
		d->frozen[1] = now[1] - d->base[1];
		d->on = false;
	}
	mutex_unlock(&sd->gen_lock);
	return 0;
}

/* ---- attach / detach ---- */

/*
 * ATTACH, with the DMABUF's reservation lock held by the core (as
 * dma_buf_vmap() wants). The core calls detach_dmabuf() when the last user
 * goes, which may be after remove(): iios_dmabuf_live counts it.
 */
static struct iio_dma_buffer_block *iios_dmabuf_attach(struct iio_buffer *buffer,
						       struct dma_buf_attachment *attach)
{
	struct iios_dmabuf_att *att;
	int ret;

	if (READ_ONCE(to_dmabuf_buf(buffer)->sd->gone))
		return ERR_PTR(-ENODEV);	/* removed: the buffer fd outlived it */
	att = kzalloc(sizeof(*att), GFP_KERNEL);
	if (!att)
		return ERR_PTR(-ENOMEM);
	ret = dma_buf_vmap(attach->dmabuf, &att->map);
	if (ret)
		goto err_free;
	if (att->map.is_iomem) {
		ret = -EINVAL;	/* sim: the CPU writes it as plain memory */
		goto err_vunmap;
	}
	atomic_inc(&iios_dmabuf_live);
	att->dmabuf = attach->dmabuf;
	return (struct iio_dma_buffer_block *)att;

err_vunmap:
	dma_buf_vunmap(attach->dmabuf, &att->map);
err_free:
	kfree(att);
	return ERR_PTR(ret);
}

/* The attachment's last user went (DETACH or close, and every fence of it
 * signalled): no block of ours points into the mapping any more. */
static void iios_dmabuf_detach(struct iio_buffer *buffer, struct iio_dma_buffer_block *block)
{
	struct iios_dmabuf_att *att = to_att(block);

	dma_buf_vunmap_unlocked(att->dmabuf, &att->map);
	kfree(att);
	iios_dmabuf_live_put();
}

/* ---- enqueue ---- */

/* lock_queue: before the core adds the fence; the spare block is allocated
 * here, outside the fence-signalling section. */
static void iios_dmabuf_lock_queue(struct iio_buffer *buffer)
{
	struct iios_dmabuf_buf *db = to_dmabuf_buf(buffer);

	mutex_lock(&db->sd->gen_lock);
	if (!db->spare)
		db->spare = iios_block_new_borrowed();	/* NULL: ENQUEUE fails, -ENOMEM */
}

static void iios_dmabuf_unlock_queue(struct iio_buffer *buffer)
{
	struct iios_dmabuf_buf *db = to_dmabuf_buf(buffer);

	mutex_unlock(&db->sd->gen_lock);
}

/* Caller holds gen_lock. What ENQUEUE refuses beyond the core's own checks
 * (0 < @size <= the DMABUF's size, CYCLIC only for output). */
static int iios_dmabuf_check_enqueue(struct iios_dmabuf_buf *db, size_t size)
{
	struct iios_dev *sd = db->sd;
	int ret;

	if (sd->gone)
		return -ENODEV;
	if (sd->open)
		return -EBUSY;	/* /dev/iio_blockN has the block path */
	if (size > U32_MAX)
		return -EINVAL;
	/* whole scans of the scan elements buffer1 has now */
	ret = iios_scan_layout_from_mask(&db->layout, sd->types, sd->elements,
					 iios_dmabuf_mask(db), sd->ts_index);
	if (ret || !db->layout.scan_bytes || size % db->layout.scan_bytes)
		return -EINVAL;
	if (!db->spare)
		return -ENOMEM;
	return 0;
}

/*
 * ENQUEUE, between lock_queue() and unlock_queue(), after the core put
 * @fence on the DMABUF. Input: fill exactly @size bytes; output: play
 * them (again and again if @cyclic). On an error the core signals @fence
 * with it; on success the fence is ours to signal, exactly once.
 */
static int iios_dmabuf_enqueue(struct iio_buffer *buffer, struct iio_dma_buffer_block *block,
			       struct dma_fence *fence, struct sg_table *sgt, size_t size,
			       bool cyclic)
{
	struct iios_dmabuf_buf *db = to_dmabuf_buf(buffer);
	struct iios_dev *sd = db->sd;
	struct iios_block *blk;
	int ret;

	lockdep_assert_held(&sd->gen_lock);
	ret = iios_dmabuf_check_enqueue(db, size);
	if (ret)
		return ret;
	blk = db->spare;
	db->spare = NULL;
	blk->vaddr = to_att(block)->map.vaddr;
	blk->size = size;		/* an ADC fills this much */
	blk->bytes_used = size;		/* a DAC plays this much */
	blk->flags = cyclic ? IIO_BUFFER_BLOCK_FLAG_CYCLIC : 0;
	blk->queued_ns = ktime_get_ns();
	/*
	 * Our own reference: the core keeps the fence alive only through the
	 * DMABUF's reservation object, and an ENQUEUE of the same output
	 * DMABUF while this one is pending replaces it there (same context,
	 * later seqno), dropping that reference.
	 */
	blk->fence = dma_fence_get(fence);
	blk->sgt = sgt;		/* the core's mapping, valid while @fence is pending */
	iios_blockq_enqueue_borrowed(sd, blk);
	sd->dmabuf.queued++;
	return 0;
}

/*
 * Caller holds gen_lock; @blk just left the queue or ACTIVE (iios_blockq.c):
 * 0 when filled (played) whole, -ECANCELED at disable. After the signal the
 * DMABUF is userspace's again: nothing here touches its memory any more.
 */
void iios_dmabuf_block_done(struct iios_dev *sd, struct iios_block *blk, int err)
{
	/*
	 * The CPU wrote an input block through a cached mapping; where DMA is
	 * not cache-coherent (arm64 boards) the reader's SYNC invalidates the
	 * cache, so the lines go to memory first (a no-op on x86).
	 */
	if (!sd->output)
		dma_sync_sgtable_for_device(sd->dev.parent, blk->sgt, DMA_FROM_DEVICE);
	iio_buffer_signal_dmabuf_done(blk->fence, err);
	dma_fence_put(blk->fence);	/* the core holds one until its clean-up */
	blk->fence = NULL;
	sd->dmabuf.queued--;
	iios_block_put(blk);	/* the queue's reference */
}

/* ---- the rest of what the core needs ---- */

/* get_dma_dev: the device ATTACH maps DMABUFs for. */
static struct device *iios_dmabuf_get_dma_dev(struct iio_buffer *buffer)
{
	return to_dmabuf_buf(buffer)->dma_dev;
}

/* No read() or write() through buffer1, so nothing is ever "available". */
static size_t iios_dmabuf_data_available(struct iio_buffer *buffer)
{
	return 0;
}

/* The core's scan size for buffer1's elements, checked at enable. */
static int iios_dmabuf_set_bytes_per_datum(struct iio_buffer *buffer, size_t bpd)
{
	buffer->bytes_per_datum = bpd;
	return 0;
}

/* The last reference went (the IIO device's, and every buffer fd's). */
static void iios_dmabuf_release(struct iio_buffer *buffer)
{
	struct iios_dmabuf_buf *db = to_dmabuf_buf(buffer);

	if (db->spare)
		iios_block_put(db->spare);
	iios_chrdev_put(db->sd);
	kfree(db);
	iios_dmabuf_live_put();
}

static const struct iio_buffer_access_funcs iios_dmabuf_access = {
	.data_available = iios_dmabuf_data_available,
	.set_bytes_per_datum = iios_dmabuf_set_bytes_per_datum,
	.enable = iios_dmabuf_enable,
	.disable = iios_dmabuf_disable,
	.release = iios_dmabuf_release,
	.attach_dmabuf = iios_dmabuf_attach,
	.detach_dmabuf = iios_dmabuf_detach,
	.enqueue_dmabuf = iios_dmabuf_enqueue,
	.get_dma_dev = iios_dmabuf_get_dma_dev,
	.lock_queue = iios_dmabuf_lock_queue,
	.unlock_queue = iios_dmabuf_unlock_queue,
	/* a DMA engine's buffer: the core enables it alone, never with buffer0 */
	.modes = INDIO_BUFFER_HARDWARE,
	/* watermark means nothing without read(): read-only */
	.flags = INDIO_BUFFER_FLAG_FIXED_WATERMARK,
};

/* ---- sysfs: buffer1/ counters, since the last enable ---- */

/* Counter @i: its growth since enable while on, else at the last disable. */
static ssize_t iios_dmabuf_counter_show(struct device_attribute *attr, char *buf, int i)
{
	struct iios_dmabuf_buf *db = to_dmabuf_buf(to_iio_dev_attr(attr)->buffer);
	struct iios_dev *sd = db->sd;
	u64 now[2], v;

	mutex_lock(&sd->gen_lock);
	iios_dmabuf_counters(sd, now);
	v = sd->dmabuf.on ? now[i] - sd->dmabuf.base[i] : sd->dmabuf.frozen[i];
	mutex_unlock(&sd->gen_lock);
	return sysfs_emit(buf, "%llu\n", v);
}

/* ADC: times it ran out of blocks; scans dropped for want of one */
static ssize_t overflows_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return iios_dmabuf_counter_show(attr, buf, 0);
}

static ssize_t lost_scans_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return iios_dmabuf_counter_show(attr, buf, 1);
}

/* DAC: times it ran dry after playing started; scans of silence played */
static ssize_t underflows_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return iios_dmabuf_counter_show(attr, buf, 0);
}

static ssize_t underflow_scans_show(struct device *dev, struct device_attribute *attr,
				    char *buf)
{
	return iios_dmabuf_counter_show(attr, buf, 1);
}

static IIO_DEVICE_ATTR_RO(overflows, 0);
static IIO_DEVICE_ATTR_RO(lost_scans, 0);
static IIO_DEVICE_ATTR_RO(underflows, 0);
static IIO_DEVICE_ATTR_RO(underflow_scans, 0);

static const struct iio_dev_attr *iios_dmabuf_adc_attrs[] = {
	&iio_dev_attr_lost_scans,
	&iio_dev_attr_overflows,
	NULL,
};

static const struct iio_dev_attr *iios_dmabuf_dac_attrs[] = {
	&iio_dev_attr_underflows,
	&iio_dev_attr_underflow_scans,
	NULL,
};

/* ---- setup ---- */

static void iios_dmabuf_put(void *buffer)
{
	iio_buffer_put(buffer);	/* ours; the IIO device holds its own */
}

/*
 * At probe, after buffer0 (the kfifo) was attached: buffer1. It lives
 * until the IIO device and every buffer fd let go of it.
 */
int iios_dmabuf_setup(struct iios_dev *sd, struct iio_dev *indio_dev, struct device *parent)
{
	struct iios_dmabuf_buf *db;
	int ret;

	/* sim: a DMA engine's reach; ATTACH maps the DMABUF for this device */
	ret = dma_coerce_mask_and_coherent(parent, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	db = kzalloc(sizeof(*db), GFP_KERNEL);
	if (!db)
		return -ENOMEM;
	iio_buffer_init(&db->buffer);
	db->buffer.access = &iios_dmabuf_access;
	db->buffer.direction = sd->output ? IIO_BUFFER_DIRECTION_OUT : IIO_BUFFER_DIRECTION_IN;
	db->buffer.attrs = sd->output ? iios_dmabuf_dac_attrs : iios_dmabuf_adc_attrs;
	get_device(&sd->dev);
	atomic_inc(&iios_dmabuf_live);	/* until iios_dmabuf_release() */
	db->sd = sd;
	db->dma_dev = parent;
	ret = devm_add_action_or_reset(parent, iios_dmabuf_put, &db->buffer);
	if (ret)
		return ret;
	indio_dev->modes |= INDIO_BUFFER_HARDWARE;
	return iio_device_attach_buffer(indio_dev, &db->buffer);
}

/*
 * Module exit, after every device was removed (which cancelled every
 * queued block): wait for the core's clean-up to detach the DMABUFs and
 * release the buffers. A buffer fd still open keeps them: that is a user
 * who unloads under an open file, told so.
 */
void iios_dmabuf_exit(void)
{
	if (!wait_event_timeout(iios_dmabuf_wq, !atomic_read(&iios_dmabuf_live), 10 * HZ))
		pr_err("iiostream-sim: %d DMABUF buffers or attachments still held by open buffer fds\n",
		       atomic_read(&iios_dmabuf_live));
}

#endif /* IIOS_HAVE_DMABUF */
