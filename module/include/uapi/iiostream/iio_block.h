/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * iio_block.h - the mmap block interface of /dev/iio_blockN
 *
 * Userspace and the kernel trade fixed-size blocks of capture memory. Every
 * block is owned by exactly one side at a time:
 *
 *   USER --ENQUEUE--> QUEUED --(filler takes it)--> ACTIVE --(full)--> DONE
 *    ^                                                                  |
 *    +-------------------------------DEQUEUE----------------------------+
 *
 * Only a block in state USER may be read or written by userspace; the
 * others belong to the kernel (the filler writes ACTIVE ones). The typical
 * workflow (docs/uapi.md has the whole contract):
 *
 *   fd = open("/dev/iio_block0", O_RDWR);          exclusive: one open file
 *   ioctl(fd, IIO_BUFFER_BLOCK_ALLOC_IOCTL, &req); req.count blocks of req.size
 *   for each id: QUERY, mmap(size, MAP_SHARED, offset), ENQUEUE
 *   write "1" to /sys/class/iio_block/iio_block0/enable
 *   loop: DEQUEUE (or poll() for POLLIN), read block, ENQUEUE
 *   write "0" to .../enable; FREE; munmap; close
 *
 * An output device (a DAC; its node's sysfs `direction` reads "out", a
 * capture device's "in") trades the same blocks the other way round:
 *
 *   USER --ENQUEUE(bytes_used, flags)--> QUEUED --(player takes it)-->
 *   ACTIVE (playing; a CYCLIC block repeats here) --(played)--> DONE
 *   --DEQUEUE--> USER
 *
 * Userspace writes a block while it is USER, ENQUEUEs it with bytes_used
 * (the bytes to play: whole scans) and optionally CYCLIC; the device plays
 * queued blocks in order at its sampling_frequency and hands each back
 * DONE, to be dequeued empty and filled again. poll() reports POLLOUT (and
 * POLLIN) while a block is DONE.
 *
 * Layouts are the ones of the reviewed patch ("iio: core: Add mmap interface
 * infrastructure", v2, 2021) byte for byte; they contain no pointer and no
 * field whose size or alignment differs between 32- and 64-bit ABIs, so a
 * 32-bit process on a 64-bit kernel uses the same ioctls (compat_ptr_ioctl).
 *
 * Ioctl numbers: the patch gave FREE and QUERY the same number (0x93), and
 * mainline later used 0x92..0x94 of type 'i' for its DMABUF ioctls
 * (IIO_BUFFER_DMABUF_ATTACH/DETACH/ENQUEUE). We use 0xa0..0xa4, the numbers
 * under which Analog Devices' kernel ships these same layouts and which
 * libiio's local backend calls, so one userspace speaks to both. All
 * numbers live in this header and nowhere else.
 *
 * Errors are returned as -1 with errno set; each ioctl lists its own below.
 * Every ioctl and mmap() fails with ENODEV once the device was removed
 * (driver unbound or module unloading); the mappings already made stay
 * valid until munmap().
 */
#ifndef _UAPI_IIOSTREAM_IIO_BLOCK_H
#define _UAPI_IIOSTREAM_IIO_BLOCK_H

#include <linux/types.h>
#include <linux/ioctl.h>

/**
 * struct iio_buffer_block_alloc_req - ALLOC request, 16 bytes
 * @type:  in: kind of memory; must be IIO_BUFFER_BLOCK_TYPE_MMAP (0).
 * @size:  in: bytes of each block; a non-zero multiple of the scan size
 *         (channels x 2 bytes) and at most the module's max_block_size.
 *         mmap() maps the size rounded up to whole pages.
 * @count: in: blocks wanted (>= 1); out: blocks allocated (equal to the
 *         request: ALLOC allocates all or nothing).
 * @id:    out: id of the first new block; the new ids are id..id+count-1.
 *         Ignored on input.
 */
struct iio_buffer_block_alloc_req {
	__u32 type;
	__u32 size;
	__u32 count;
	__u32 id;
};

/** IIO_BUFFER_BLOCK_TYPE_MMAP - the only @type: kernel pages for mmap(). */
#define IIO_BUFFER_BLOCK_TYPE_MMAP 0

/**
 * IIO_BUFFER_BLOCK_FLAG_TIMESTAMP_VALID - @timestamp holds the capture time.
 * Set on every block this driver fills (bit 0, as in the reviewed patch).
 */
#define IIO_BUFFER_BLOCK_FLAG_TIMESTAMP_VALID (1u << 0)
/**
 * IIO_BUFFER_BLOCK_FLAG_CYCLIC - transmit the block in a loop (bit 1, as in
 * Analog Devices' kernel). Output devices only: a capture device refuses it
 * with EINVAL at ENQUEUE. The block plays again and again, whole, until
 * another block is queued: at the end of the repetition that is playing
 * when a block is queued, the cyclic block is DONE and the queued one
 * plays at once (no gap, no partial repetition), or until the output is
 * disabled (DONE then too). It stays set on DEQUEUE.
 */
#define IIO_BUFFER_BLOCK_FLAG_CYCLIC (1u << 1)
/**
 * IIO_BUFFER_BLOCK_FLAG_OVERFLOW - samples were lost just before this block
 * (iiostream extension). The device had no queued block when samples were
 * due, so they were dropped and counted (sysfs lost_samples). The block's
 * first scan is the first one after the gap; with the ideal timestamps of
 * this driver the gap is (timestamp - expected) x rate scans. Bit 31 was
 * taken so the low bits stay free for the flags upstream and Analog Devices
 * may still define.
 */
#define IIO_BUFFER_BLOCK_FLAG_OVERFLOW (1u << 31)

/**
 * IIO_BUFFER_BLOCK_FLAG_UNDERFLOW - the output device ran dry just before
 * this block (iiostream extension; output devices only, set on DEQUEUE).
 * After the first block since enable had played, no block was queued when
 * scans were due, so silence (zero scans) played until this block began.
 * The underflow is counted in the node's sysfs (underflows,
 * underflow_samples; last_underflow_samples is the silence before the
 * last block flagged so). With the driver's ideal timestamps the silence
 * is also (timestamp - previous.timestamp) x rate - previous scans, for a
 * previous block that was not CYCLIC. Bit 30, beside OVERFLOW's 31.
 */
#define IIO_BUFFER_BLOCK_FLAG_UNDERFLOW (1u << 30)

/** Flags userspace may pass to ENQUEUE (others are refused with EINVAL). */
#define IIO_BUFFER_BLOCK_FLAGS_ENQUEUE IIO_BUFFER_BLOCK_FLAG_CYCLIC

/**
 * struct iio_buffer_block - one block, 32 bytes
 * @id:         which block: 0..n-1 in allocation order. In for QUERY and
 *              ENQUEUE, out for DEQUEUE.
 * @size:       out: the block's size in bytes, as allocated.
 * @bytes_used: out: bytes of valid data from the start of the block, a
 *              whole number of scans. A full block has bytes_used == size;
 *              a block handed back by disabling capture may hold less.
 *              Ignored on ENQUEUE for capture.
 *              Output: in (ENQUEUE): the bytes to play from the start of
 *              the block, whole scans, 1..size (else EINVAL). Out
 *              (DEQUEUE): the bytes that played, each at least once: all
 *              of them, or fewer when the output was disabled mid-block;
 *              one repetition for a CYCLIC block that repeated.
 * @type:       out: IIO_BUFFER_BLOCK_TYPE_MMAP. Ignored on input.
 * @flags:      out: IIO_BUFFER_BLOCK_FLAG_*; in (ENQUEUE): only the flags in
 *              IIO_BUFFER_BLOCK_FLAGS_ENQUEUE are accepted (CYCLIC, and
 *              only by an output device).
 * @data.offset: out: the offset to pass to mmap() for this block; a
 *              multiple of the page size. Ignored on input.
 * @timestamp:  out: CLOCK_MONOTONIC time in ns of the block's first scan,
 *              valid when IIO_BUFFER_BLOCK_FLAG_TIMESTAMP_VALID is set.
 *              0 before the block was first filled. Output: the time its
 *              first scan played (the first repetition's, for CYCLIC);
 *              always after its ENQUEUE.
 *
 * On QUERY all out fields describe the block's current state; the state
 * itself is not in this layout (the layout is fixed), see docs/uapi.md.
 */
struct iio_buffer_block {
	__u32 id;
	__u32 size;
	__u32 bytes_used;
	__u32 type;
	__u32 flags;
	union {
		__u32 offset;
	} data;
	__u64 timestamp;
};

/*
 * IIO_BUFFER_BLOCK_ALLOC_IOCTL - allocate req.count blocks of req.size bytes,
 * owned by userspace (state USER). May be called again to add blocks.
 *   EINVAL  type is not 0, size is 0, not a multiple of the scan size or over
 *           max_block_size, or count is 0
 *   ENOSPC  the device would hold more than IIO_BUFFER_BLOCK_MAX blocks or
 *           more than max_alloc_bytes in total
 *   ENOMEM  the kernel could not allocate the memory
 *   EFAULT  the argument is not readable and writable memory
 */
#define IIO_BUFFER_BLOCK_ALLOC_IOCTL _IOWR('i', 0xa0, struct iio_buffer_block_alloc_req)
/*
 * IIO_BUFFER_BLOCK_FREE_IOCTL - drop every block, in any state. Capture
 * (or play) may be running: blocks being filled are let go by the filler
 * first. An enabled output device plays silence after it, which is no
 * underflow (as after enable) until a block has played again. Memory
 * still mapped stays valid until its last munmap(); ids become invalid at
 * once. Returns 0 (also when there were no blocks).
 */
#define IIO_BUFFER_BLOCK_FREE_IOCTL _IO('i', 0xa1)
/*
 * IIO_BUFFER_BLOCK_QUERY_IOCTL - fill in block.id's fields.
 *   EINVAL  no block has that id
 *   EFAULT  bad argument pointer
 */
#define IIO_BUFFER_BLOCK_QUERY_IOCTL _IOWR('i', 0xa2, struct iio_buffer_block)
/*
 * IIO_BUFFER_BLOCK_ENQUEUE_IOCTL - give block.id to the kernel for filling
 * (USER -> QUEUED). Blocks are filled in the order they were queued. On an
 * output device: for playing, block.bytes_used bytes of it, in a loop with
 * CYCLIC; blocks play in the order they were queued, and a queued block
 * replaces a repeating CYCLIC one at the end of its repetition.
 *   EINVAL  no block has that id, or flags holds a flag not accepted here
 *           (any flag but CYCLIC; CYCLIC on a capture device), or (output)
 *           bytes_used is 0, over the block's size or not whole scans
 *   EBUSY   the block is not owned by userspace (already queued, filling
 *           or playing, or DONE)
 *   EFAULT  bad argument pointer
 */
#define IIO_BUFFER_BLOCK_ENQUEUE_IOCTL _IOWR('i', 0xa3, struct iio_buffer_block)
/*
 * IIO_BUFFER_BLOCK_DEQUEUE_IOCTL - take the oldest filled block (DONE ->
 * USER) and write its fields to the argument. Without O_NONBLOCK it waits
 * for one; the argument is written only on success. On an output device:
 * the oldest block that finished playing, with bytes_used, flags
 * (UNDERFLOW) and timestamp of its play.
 *   EAGAIN  O_NONBLOCK and no block is filled
 *   EINVAL  no blocks are allocated (nothing could ever arrive)
 *   EINTR   a signal arrived while waiting (restarted under SA_RESTART)
 *   ENODEV  the device was removed, also while waiting
 *   EFAULT  bad argument pointer; the block stays first in line
 */
#define IIO_BUFFER_BLOCK_DEQUEUE_IOCTL _IOWR('i', 0xa4, struct iio_buffer_block)

/** IIO_BUFFER_BLOCK_MAX - most blocks one device holds at a time. */
#define IIO_BUFFER_BLOCK_MAX 64

#endif /* _UAPI_IIOSTREAM_IIO_BLOCK_H */
