// SPDX-License-Identifier: GPL-2.0-only
/*
 * iios_chrdev.c - /dev/iio_blockN: the five block ioctls, mmap and poll
 *
 * This file turns system calls into block-queue operations and owns what
 * is about userspace: copying arguments, waiting, mapping, and the node's
 * sysfs attributes (/sys/class/iio_block/iio_blockN/).
 *
 * Fixes over the reviewed patch: a non-blocking DEQUEUE that finds nothing
 * returns EAGAIN and writes nothing; an op that fails returns its error
 * instead of looping; FREE's result is returned; unknown ioctls are ENOTTY;
 * a blocking DEQUEUE wakes on signals, on FREE and on device removal; the
 * mmap offset and size must name exactly one block.
 */
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/vmalloc.h>

#include "iios_sim.h"

#define IIOS_MAX_MINORS 16

/* The layouts are ABI: the reviewed patch's, byte for byte. */
static_assert(sizeof(struct iio_buffer_block_alloc_req) == 16);
static_assert(offsetof(struct iio_buffer_block_alloc_req, type) == 0);
static_assert(offsetof(struct iio_buffer_block_alloc_req, size) == 4);
static_assert(offsetof(struct iio_buffer_block_alloc_req, count) == 8);
static_assert(offsetof(struct iio_buffer_block_alloc_req, id) == 12);
static_assert(sizeof(struct iio_buffer_block) == 32);
static_assert(offsetof(struct iio_buffer_block, id) == 0);
static_assert(offsetof(struct iio_buffer_block, size) == 4);
static_assert(offsetof(struct iio_buffer_block, bytes_used) == 8);
static_assert(offsetof(struct iio_buffer_block, type) == 12);
static_assert(offsetof(struct iio_buffer_block, flags) == 16);
static_assert(offsetof(struct iio_buffer_block, data.offset) == 20);
static_assert(offsetof(struct iio_buffer_block, timestamp) == 24);

static dev_t iios_devt;
static struct class *iios_class;
static DEFINE_IDA(iios_minors);

/* ---- mappings: one block reference per VMA ---- */

static void iios_vm_open(struct vm_area_struct *vma)
{
	iios_block_get(vma->vm_private_data);	/* fork(), mremap() */
}

static void iios_vm_close(struct vm_area_struct *vma)
{
	iios_block_put(vma->vm_private_data);	/* may free the block */
}

/* A block is mapped whole or not at all: no partial munmap(). */
static int iios_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

static const struct vm_operations_struct iios_vm_ops = {
	.open = iios_vm_open,
	.close = iios_vm_close,
	.may_split = iios_vm_may_split,
};

static int iios_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct iios_dev *sd = file->private_data;
	unsigned long len = vma->vm_end - vma->vm_start;
	struct iios_block *blk;
	int ret;

	if (READ_ONCE(sd->gone))
		return -ENODEV;
	/* shared and readable: the point is to see the kernel's writes */
	if (!(vma->vm_flags & VM_SHARED) || !(vma->vm_flags & VM_READ) ||
	    (vma->vm_flags & VM_EXEC))
		return -EINVAL;
	if (vma->vm_pgoff > (U32_MAX >> PAGE_SHIFT))
		return -EINVAL;
	blk = iios_blockq_find_offset(sd, vma->vm_pgoff << PAGE_SHIFT);
	if (!blk)
		return -EINVAL;
	if (len != PAGE_ALIGN((unsigned long)blk->size)) {
		iios_block_put(blk);
		return -EINVAL;
	}
	/* vm_insert_page() per page; sets VM_DONTEXPAND | VM_DONTDUMP */
	ret = remap_vmalloc_range(vma, blk->vaddr, 0);
	if (ret) {
		iios_block_put(blk);
		return ret;
	}
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_clear(vma, VM_MAYEXEC);	/* vm_flags is read-only from 6.3 */
#else
	vma->vm_flags &= ~VM_MAYEXEC;
#endif
	vma->vm_private_data = blk;	/* the reference taken above */
	vma->vm_ops = &iios_vm_ops;
	return 0;
}

/* ---- the ioctls ---- */

static int iios_ioctl_alloc(struct iios_dev *sd, struct iio_buffer_block_alloc_req __user *ureq)
{
	struct iio_buffer_block_alloc_req req;
	int ret;

	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	/* prove the answer can be written before allocating anything */
	if (copy_to_user(ureq, &req, sizeof(req)))
		return -EFAULT;
	mutex_lock(&sd->gen_lock);
	ret = sd->gone ? -ENODEV : iios_blockq_alloc(sd, &req);
	mutex_unlock(&sd->gen_lock);
	if (ret)
		return ret;
	/* unlikely (the probe write worked); the blocks stay until FREE/close */
	if (copy_to_user(ureq, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

static int iios_ioctl_free(struct iios_dev *sd)
{
	mutex_lock(&sd->gen_lock);
	iios_blockq_free(sd);
	mutex_unlock(&sd->gen_lock);
	return 0;
}

static int iios_ioctl_query(struct iios_dev *sd, struct iio_buffer_block __user *ublk)
{
	struct iio_buffer_block b;
	int ret;

	if (copy_from_user(&b, ublk, sizeof(b)))
		return -EFAULT;
	ret = iios_blockq_query(sd, &b);
	if (ret)
		return ret;
	return copy_to_user(ublk, &b, sizeof(b)) ? -EFAULT : 0;
}

static int iios_ioctl_enqueue(struct iios_dev *sd, struct iio_buffer_block __user *ublk)
{
	struct iio_buffer_block b;

	if (copy_from_user(&b, ublk, sizeof(b)))
		return -EFAULT;
	return iios_blockq_enqueue(sd, &b);
}

static bool iios_dequeue_may_return(struct iios_dev *sd)
{
	bool ret;

	spin_lock(&sd->qlock);
	ret = sd->gone || !sd->nblocks || !list_empty(&sd->outgoing);
	spin_unlock(&sd->qlock);
	return ret;
}

static int iios_ioctl_dequeue(struct iios_dev *sd, struct iio_buffer_block __user *ublk,
			      bool nonblock)
{
	struct iio_buffer_block b;
	int ret;

	for (;;) {
		if (READ_ONCE(sd->gone))
			return -ENODEV;
		ret = iios_blockq_dequeue(sd, &b);
		if (ret != -EAGAIN || nonblock)
			break;
		/* -ERESTARTSYS on a signal: EINTR, or a restart under SA_RESTART */
		ret = wait_event_interruptible(sd->waitq, iios_dequeue_may_return(sd));
		if (ret)
			return ret;
	}
	if (ret)
		return ret;	/* nothing was taken, nothing is written */
	if (copy_to_user(ublk, &b, sizeof(b))) {
		iios_blockq_requeue_front(sd, b.id);
		return -EFAULT;
	}
	return 0;
}

static long iios_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct iios_dev *sd = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (READ_ONCE(sd->gone))
		return -ENODEV;
	switch (cmd) {
	case IIO_BUFFER_BLOCK_ALLOC_IOCTL:
		return iios_ioctl_alloc(sd, uarg);
	case IIO_BUFFER_BLOCK_FREE_IOCTL:
		return iios_ioctl_free(sd);
	case IIO_BUFFER_BLOCK_QUERY_IOCTL:
		return iios_ioctl_query(sd, uarg);
	case IIO_BUFFER_BLOCK_ENQUEUE_IOCTL:
		return iios_ioctl_enqueue(sd, uarg);
	case IIO_BUFFER_BLOCK_DEQUEUE_IOCTL:
		return iios_ioctl_dequeue(sd, uarg, file->f_flags & O_NONBLOCK);
	}
	return -ENOTTY;
}

static __poll_t iios_poll(struct file *file, struct poll_table_struct *wait)
{
	struct iios_dev *sd = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &sd->waitq, wait);
	spin_lock(&sd->qlock);
	if (sd->gone)
		mask = EPOLLHUP | EPOLLERR;
	else if (!list_empty(&sd->outgoing))
		mask = EPOLLIN | EPOLLRDNORM |
		       (sd->output ? EPOLLOUT | EPOLLWRNORM : 0);	/* to fill again */
	spin_unlock(&sd->qlock);
	return mask;
}

/*
 * One open file at a time: the blocks belong to it (as in the patch).
 * -EBUSY too while buffer1 (mainline's DMABUF interface) has the block
 * path: gen_lock makes that check and the open one step.
 */
static int iios_open(struct inode *inode, struct file *file)
{
	struct iios_dev *sd = container_of(inode->i_cdev, struct iios_dev, cdev);
	int ret = 0;

	mutex_lock(&sd->gen_lock);
	spin_lock(&sd->qlock);
	if (sd->gone)
		ret = -ENODEV;
	else if (sd->open || iios_dmabuf_busy(&sd->dmabuf))
		ret = -EBUSY;
	else
		sd->open = true;
	spin_unlock(&sd->qlock);
	mutex_unlock(&sd->gen_lock);
	if (ret)
		return ret;
	file->private_data = sd;
	return stream_open(inode, file);
}

/*
 * The last close, which comes after the last munmap() too (a mapping holds
 * the file): capture stops and the blocks go. The cdev's reference on
 * sd->dev drops after this returns.
 */
static int iios_release(struct inode *inode, struct file *file)
{
	struct iios_dev *sd = file->private_data;

	mutex_lock(&sd->gen_lock);
	iios_gen_disable(sd, &sd->blk_stream);
	iios_blockq_free(sd);
	mutex_unlock(&sd->gen_lock);
	spin_lock(&sd->qlock);
	sd->open = false;
	spin_unlock(&sd->qlock);
	return 0;
}

static const struct file_operations iios_fops = {
	.owner = THIS_MODULE,
	.open = iios_open,
	.release = iios_release,
	.unlocked_ioctl = iios_ioctl,
	.compat_ioctl = compat_ptr_ioctl,	/* layouts identical on 32/64-bit */
	.mmap = iios_mmap,
	.poll = iios_poll,
	/* no .llseek: lseek() fails with ESPIPE (6.1's no_llseek is NULL too) */
};

/* ---- sysfs: /sys/class/iio_block/iio_blockN/ ---- */

static struct iios_dev *to_iios(struct device *dev)
{
	return container_of(dev, struct iios_dev, dev);
}

/* enable: 1 starts block capture (scan 0 is captured then), 0 stops it. */
static ssize_t enable_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(to_iios(dev)->blk_stream.on));
}

static ssize_t enable_store(struct device *dev, struct device_attribute *attr, const char *buf,
			    size_t len)
{
	struct iios_dev *sd = to_iios(dev);
	bool on;
	int ret;

	ret = kstrtobool(buf, &on);
	if (ret)
		return ret;
	mutex_lock(&sd->gen_lock);
	if (sd->gone)
		ret = -ENODEV;
	else if (iios_dmabuf_busy(&sd->dmabuf))
		ret = -EBUSY;	/* buffer1 has the block path */
	else if (on)
		ret = iios_gen_enable(sd, &sd->blk_stream);
	else
		iios_gen_disable(sd, &sd->blk_stream);
	mutex_unlock(&sd->gen_lock);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(enable);

/* iio_device: the IIO device this node belongs to, "iio:deviceN" */
static ssize_t iio_device_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "iio:device%d\n", to_iios(dev)->iio_id);
}
static DEVICE_ATTR_RO(iio_device);

/* Counters, read under gen_lock so a 64-bit value is never torn. */
#define IIOS_COUNTER_ATTR(name)							\
static ssize_t name##_show(struct device *dev, struct device_attribute *attr,	\
			   char *buf)						\
{										\
	struct iios_dev *sd = to_iios(dev);					\
	u64 v;									\
										\
	mutex_lock(&sd->gen_lock);						\
	v = sd->name;								\
	mutex_unlock(&sd->gen_lock);						\
	return sysfs_emit(buf, "%llu\n", v);					\
}										\
static DEVICE_ATTR_RO(name)

IIOS_COUNTER_ATTR(lost_samples);	/* scans dropped: no block was queued */
IIOS_COUNTER_ATTR(overflows);		/* times dropping started */
IIOS_COUNTER_ATTR(blocks_filled);	/* blocks handed to the outgoing queue */

/* The DAC's counters (iios_dac.c), under gen_lock like the others. */
#define IIOS_DAC_ATTR(name, expr)						\
static ssize_t name##_show(struct device *dev, struct device_attribute *attr,	\
			   char *buf)						\
{										\
	struct iios_dev *sd = to_iios(dev);					\
	u64 v;									\
										\
	mutex_lock(&sd->gen_lock);						\
	v = (expr);								\
	mutex_unlock(&sd->gen_lock);						\
	return sysfs_emit(buf, "%llu\n", v);					\
}										\
static DEVICE_ATTR_RO(name)

IIOS_DAC_ATTR(blocks_played, sd->blocks_filled);	/* blocks played to the end (DONE) */
IIOS_DAC_ATTR(underflows, sd->dac.underflows);		/* times it ran dry after playing started */
IIOS_DAC_ATTR(underflow_samples, sd->dac.underflow_samples); /* scans of silence since, in all */
IIOS_DAC_ATTR(last_underflow_samples, sd->dac.last_underflow_samples); /* before the last UNDERFLOW block */
IIOS_DAC_ATTR(underflow_at, sd->dac.underflow_at);	/* scan index the last underflow began at */
IIOS_DAC_ATTR(underflowing, sd->dac.underflowing);	/* 1 while it plays silence after starting */
IIOS_DAC_ATTR(played_samples, sd->blk_stream.next_scan); /* scans played since enable, silence too */

/* direction: "in" for the ADC (blocks are filled), "out" for the DAC
 * (blocks are played); fixed at probe */
static ssize_t direction_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", to_iios(dev)->output ? "out" : "in");
}
static DEVICE_ATTR_RO(direction);

static ssize_t blocks_allocated_show(struct device *dev, struct device_attribute *attr,
				     char *buf)
{
	struct iios_dev *sd = to_iios(dev);
	unsigned int n;

	spin_lock(&sd->qlock);
	n = sd->nblocks;
	spin_unlock(&sd->qlock);
	return sysfs_emit(buf, "%u\n", n);
}
static DEVICE_ATTR_RO(blocks_allocated);

/*
 * channel_mask: the scan elements blocks capture, in hex, bit i for scan
 * index i: the channels, and the timestamp at bit `channels` with
 * timestamp=1 (all at load). Written while the node's capture is off; a
 * scan holds those elements in ascending scan index, as the IIO core lays
 * a scan out.
 */
static ssize_t channel_mask_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct iios_dev *sd = to_iios(dev);
	u32 mask;

	mutex_lock(&sd->gen_lock);
	mask = sd->blk_mask;
	mutex_unlock(&sd->gen_lock);
	return sysfs_emit(buf, "0x%x\n", mask);
}

static ssize_t channel_mask_store(struct device *dev, struct device_attribute *attr,
				  const char *buf, size_t len)
{
	struct iios_dev *sd = to_iios(dev);
	u32 mask;
	int ret;

	ret = kstrtou32(buf, 0, &mask);
	if (ret)
		return ret;
	mutex_lock(&sd->gen_lock);
	ret = sd->gone ? -ENODEV : iios_blockq_set_mask(sd, mask);
	mutex_unlock(&sd->gen_lock);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(channel_mask);

/* scan_bytes: bytes per scan in a block (channel_mask's elements in IIO's
 * layout: 2 x the channels for the default le:s16/16) */
static ssize_t scan_bytes_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct iios_dev *sd = to_iios(dev);
	unsigned int n;

	mutex_lock(&sd->gen_lock);
	n = sd->scan_bytes;
	mutex_unlock(&sd->gen_lock);
	return sysfs_emit(buf, "%u\n", n);
}
static DEVICE_ATTR_RO(scan_bytes);

static struct attribute *iios_block_attrs[] = {
	&dev_attr_enable.attr,
	&dev_attr_iio_device.attr,
	&dev_attr_direction.attr,
	&dev_attr_blocks_allocated.attr,
	&dev_attr_scan_bytes.attr,
	&dev_attr_channel_mask.attr,
	NULL,
};

/* Each direction has its own counters (sd->output is set before the node
 * is added, so the groups are decided once). */
static struct attribute *iios_block_in_attrs[] = {
	&dev_attr_lost_samples.attr,
	&dev_attr_overflows.attr,
	&dev_attr_blocks_filled.attr,
	NULL,
};

static struct attribute *iios_block_out_attrs[] = {
	&dev_attr_blocks_played.attr,
	&dev_attr_underflows.attr,
	&dev_attr_underflow_samples.attr,
	&dev_attr_last_underflow_samples.attr,
	&dev_attr_underflow_at.attr,
	&dev_attr_underflowing.attr,
	&dev_attr_played_samples.attr,
	NULL,
};

static umode_t iios_block_in_visible(struct kobject *kobj, struct attribute *a, int n)
{
	return to_iios(kobj_to_dev(kobj))->output ? 0 : a->mode;
}

static umode_t iios_block_out_visible(struct kobject *kobj, struct attribute *a, int n)
{
	return to_iios(kobj_to_dev(kobj))->output ? a->mode : 0;
}

static const struct attribute_group iios_block_group = {
	.attrs = iios_block_attrs,
};

static const struct attribute_group iios_block_in_group = {
	.attrs = iios_block_in_attrs,
	.is_visible = iios_block_in_visible,
};

static const struct attribute_group iios_block_out_group = {
	.attrs = iios_block_out_attrs,
	.is_visible = iios_block_out_visible,
};

static const struct attribute_group *iios_block_groups[] = {
	&iios_block_group,
	&iios_block_in_group,
	&iios_block_out_group,
	NULL,
};

/* ---- the node's lifetime ---- */

/* The last reference to the device: no file is open, no sysfs reader. */
static void iios_dev_release(struct device *dev)
{
	struct iios_dev *sd = to_iios(dev);

	ida_free(&iios_minors, sd->minor);
	vfree(sd->dac.ring);	/* a DAC's: nothing plays or reads it now */
	kfree(sd->dac.last);
	kfree(sd);
}

struct iios_dev *iios_chrdev_create(struct device *parent)
{
	struct iios_dev *sd;
	int minor;

	minor = ida_alloc_max(&iios_minors, IIOS_MAX_MINORS - 1, GFP_KERNEL);
	if (minor < 0)
		return ERR_PTR(minor);
	sd = kzalloc(sizeof(*sd), GFP_KERNEL);
	if (!sd) {
		ida_free(&iios_minors, minor);
		return ERR_PTR(-ENOMEM);
	}
	sd->minor = minor;
	mutex_init(&sd->gen_lock);
	init_waitqueue_head(&sd->gen_wq);
	spin_lock_init(&sd->qlock);
	INIT_LIST_HEAD(&sd->incoming);
	INIT_LIST_HEAD(&sd->outgoing);
	init_waitqueue_head(&sd->waitq);

	/* from here on put_device() is the only way to free sd */
	device_initialize(&sd->dev);
	sd->dev.class = iios_class;
	sd->dev.parent = parent;
	sd->dev.devt = MKDEV(MAJOR(iios_devt), minor);
	sd->dev.groups = iios_block_groups;
	sd->dev.release = iios_dev_release;
	cdev_init(&sd->cdev, &iios_fops);
	sd->cdev.owner = THIS_MODULE;
	return sd;
}

/* Named after the IIO device, so iio:device3 pairs with iio_block3. */
int iios_chrdev_add(struct iios_dev *sd)
{
	int ret;

	ret = dev_set_name(&sd->dev, "iio_block%d", sd->iio_id);
	if (ret)
		return ret;
	ret = cdev_device_add(&sd->cdev, &sd->dev);
	if (ret)
		return ret;
	sd->added = true;
	return 0;
}

/*
 * The device goes away, perhaps with the node open: no new opens, every
 * call fails with ENODEV from now on, capture stops, and waiters wake. The
 * blocks stay until the file is released (mappings stay valid).
 */
void iios_chrdev_remove(struct iios_dev *sd)
{
	if (sd->added)
		cdev_device_del(&sd->cdev, &sd->dev);
	mutex_lock(&sd->gen_lock);
	spin_lock(&sd->qlock);
	sd->gone = true;
	spin_unlock(&sd->qlock);
	iios_gen_disable(sd, &sd->blk_stream);
	/* buffer1's DMABUFs queued while it was off: nothing will fill them */
	iios_blockq_cancel_borrowed(sd, -ECANCELED, 0);
	mutex_unlock(&sd->gen_lock);
	wake_up_interruptible_poll(&sd->waitq, EPOLLHUP | EPOLLERR);
}

void iios_chrdev_put(struct iios_dev *sd)
{
	put_device(&sd->dev);
}

int iios_chrdev_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&iios_devt, 0, IIOS_MAX_MINORS, "iio_block");
	if (ret)
		return ret;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	iios_class = class_create("iio_block");
#else
	iios_class = class_create(THIS_MODULE, "iio_block");
#endif
	if (IS_ERR(iios_class)) {
		unregister_chrdev_region(iios_devt, IIOS_MAX_MINORS);
		return PTR_ERR(iios_class);
	}
	return 0;
}

void iios_chrdev_exit(void)
{
	class_destroy(iios_class);
	unregister_chrdev_region(iios_devt, IIOS_MAX_MINORS);
}
