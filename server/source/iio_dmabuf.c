// SPDX-License-Identifier: MIT
/* The mainline IIO DMABUF ioctls: see iio_dmabuf.h. */
#define _GNU_SOURCE
#include "iio_dmabuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmabuf_mem.h"
#include "iio_sysfs.h"

static int ioctl_retry(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int iio_dmabuf_buffer_fd(const char *dev_node, uint32_t idx)
{
	int dev = open(dev_node, O_RDWR | O_CLOEXEC), fd = (int)idx, flags, err;

	if (dev < 0)
		return -errno;
	/* the new fd comes back in the argument */
	err = ioctl_retry(dev, IIO_BUFFER_GET_FD_IOCTL, &fd);
	close(dev); /* the buffer's fd holds the device */
	if (err < 0)
		return err;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int iio_dmabuf_attach(int buf_fd, int dmabuf_fd)
{
	int r = ioctl_retry(buf_fd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, &dmabuf_fd);

	return r < 0 ? r : 0;
}

int iio_dmabuf_detach(int buf_fd, int dmabuf_fd)
{
	int r = ioctl_retry(buf_fd, IIO_BUFFER_DMABUF_DETACH_IOCTL, &dmabuf_fd);

	return r < 0 ? r : 0;
}

int iio_dmabuf_enqueue(int buf_fd, int dmabuf_fd, uint64_t bytes_used, bool cyclic)
{
	struct iio_dmabuf req = { .fd = (__u32)dmabuf_fd,
				  .flags = cyclic ? IIO_BUFFER_DMABUF_CYCLIC : 0,
				  .bytes_used = bytes_used };
	int r = ioctl_retry(buf_fd, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, &req);

	return r < 0 ? r : 0;
}

int iio_dmabuf_probe(const char *dev_node, uint32_t idx)
{
	int udmabuf = open(DMABUF_UDMABUF_PATH, O_RDWR | O_CLOEXEC);
	int heap = udmabuf < 0 ? open(DMABUF_HEAP_PATH, O_RDONLY | O_CLOEXEC) : -1;
	struct dmabuf_mem m;
	int buf, err;

	if (udmabuf < 0 && heap < 0)
		return -ENODEV;
	err = dmabuf_mem_alloc(&m, udmabuf, heap, "iiostream-dmabuf-probe",
			       (size_t)sysconf(_SC_PAGESIZE), PROT_READ);
	if (udmabuf >= 0)
		close(udmabuf);
	if (heap >= 0)
		close(heap);
	if (err)
		return err;
	buf = iio_dmabuf_buffer_fd(dev_node, idx);
	if (buf < 0) {
		dmabuf_mem_free(&m);
		return buf;
	}
	err = iio_dmabuf_attach(buf, m.dmabuf_fd);
	if (!err)
		iio_dmabuf_detach(buf, m.dmabuf_fd);
	close(buf);
	dmabuf_mem_free(&m);
	return err;
}

int iio_dmabuf_find_buffer(const char *iio_dir, const char *dev_node, uint32_t *idx)
{
	char name[32];
	uint32_t i;
	int err, first = 0;

	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "buffer%u", i);
		if (!iio_sysfs_exists(iio_dir, name))
			break;
		err = iio_dmabuf_probe(dev_node, i);
		if (!err) {
			*idx = i;
			return 0;
		}
		if (err != -EPERM && !first)
			first = err;
	}
	return first ? first : -EPERM;
}
