/* SPDX-License-Identifier: MIT */
/*
 * The mainline IIO DMABUF interface (Linux 6.11+, Documentation/iio/
 * iio_dmabuf_api.rst) as the daemon uses it: a buffer's fd from its
 * device's node (IIO_BUFFER_GET_FD_IOCTL), and ATTACH / DETACH / ENQUEUE
 * of DMA-BUFs on that fd. Definitions the build host's headers lack
 * (Debian 12's are 6.1's) are kept here, as the kernel's uapi has them.
 *
 * What the kernel's core does (drivers/iio/industrialio-buffer.c, 6.12):
 *  - ATTACH on a buffer without the DMABUF callbacks: EPERM (buffer0 of
 *    our module, a kfifo; any buffer of an older driver);
 *  - ENQUEUE adds a fence to the dmabuf's reservation object, WRITE usage
 *    for an input buffer, READ usage for an output one; the driver
 *    signals it when the block is filled or played. poll() of the dmabuf
 *    fd: POLLIN waits for WRITE fences only, POLLOUT for every fence, so
 *    POLLOUT is the event that waits in both directions (libiio's
 *    local-dmabuf.c polls POLLOUT too);
 *  - with O_NONBLOCK on the buffer fd, ENQUEUE of a dmabuf whose previous
 *    fence is pending fails with EBUSY instead of waiting (5 s);
 *  - DETACH drops the attachment from the buffer's list at once; a fence
 *    still pending keeps its own reference, released when it signals;
 *  - disabling the buffer signals every queued fence (our module: with
 *    -ECANCELED; poll() cannot tell that from a filled block).
 */
#ifndef IIOSTREAMD_IIO_DMABUF_H
#define IIOSTREAMD_IIO_DMABUF_H

#include <linux/iio/buffer.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef IIO_BUFFER_DMABUF_ATTACH_IOCTL /* before Linux 6.11's uapi headers */
struct iio_dmabuf {
	__u32 fd;
	__u32 flags;
	__u64 bytes_used;
};
#define IIO_BUFFER_DMABUF_CYCLIC (1 << 0)
#define IIO_BUFFER_DMABUF_ATTACH_IOCTL _IOW('i', 0x92, int)
#define IIO_BUFFER_DMABUF_DETACH_IOCTL _IOW('i', 0x93, int)
#define IIO_BUFFER_DMABUF_ENQUEUE_IOCTL _IOW('i', 0x94, struct iio_dmabuf)
#endif

/* Buffer `idx` of the IIO device node `dev_node` ("/dev/iio:device0"):
 * its fd (O_NONBLOCK, close-on-exec), or a negative errno: ENODEV for no
 * such buffer, EBUSY when someone else has it open. */
int iio_dmabuf_buffer_fd(const char *dev_node, uint32_t idx);

int iio_dmabuf_attach(int buf_fd, int dmabuf_fd);
int iio_dmabuf_detach(int buf_fd, int dmabuf_fd);
/* ENQUEUE `bytes_used` bytes of the dmabuf, CYCLIC if `cyclic`. */
int iio_dmabuf_enqueue(int buf_fd, int dmabuf_fd, uint64_t bytes_used, bool cyclic);

/* Does buffer `idx` of `dev_node` take DMA-BUFs? A one-page udmabuf (or
 * heap buffer) attached and detached: 0 if it does, -EPERM if the buffer
 * has no DMABUF support, another negative errno if it could not be tried
 * (no such buffer, busy, no /dev/udmabuf nor a dma-heap). */
int iio_dmabuf_probe(const char *dev_node, uint32_t idx);

/* The first buffer of the device (sysfs dir iio_dir: bufferN/, N from 0)
 * whose ATTACH is not refused with EPERM, into *idx: 0, or -EPERM when
 * every buffer refuses it, or the first other error. */
int iio_dmabuf_find_buffer(const char *iio_dir, const char *dev_node, uint32_t *idx);

#endif /* IIOSTREAMD_IIO_DMABUF_H */
