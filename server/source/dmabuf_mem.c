// SPDX-License-Identifier: MIT
/* Block memory of the dmabuf source: see dmabuf_mem.h. */
#define _GNU_SOURCE
#include "dmabuf_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_round(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (size + page - 1) / page * page;
}

int dmabuf_memfd_create(const char *name, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* A udmabuf over a new sealed memfd: m->mem_fd and m->dmabuf_fd. */
static int alloc_udmabuf(struct dmabuf_mem *m, int udmabuf_fd, const char *name)
{
	struct udmabuf_create req = { .flags = UDMABUF_FLAGS_CLOEXEC, .offset = 0,
				      .size = m->len };
	int fd, err;

	m->mem_fd = dmabuf_memfd_create(name, m->len);
	if (m->mem_fd < 0)
		return m->mem_fd;
	req.memfd = (uint32_t)m->mem_fd;
	fd = ioctl(udmabuf_fd, UDMABUF_CREATE, &req);
	if (fd < 0) {
		err = -errno;
		close(m->mem_fd);
		m->mem_fd = -1;
		return err;
	}
	m->dmabuf_fd = fd;
	m->kind = DMABUF_MEM_UDMABUF;
	return 0;
}

static int alloc_heap(struct dmabuf_mem *m, int heap_fd)
{
	struct dma_heap_allocation_data req = { .len = m->len,
						.fd_flags = O_RDWR | O_CLOEXEC };

	if (ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &req) < 0)
		return -errno;
	m->dmabuf_fd = (int)req.fd;
	m->mem_fd = -1;
	m->kind = DMABUF_MEM_HEAP;
	return 0;
}

int dmabuf_mem_alloc(struct dmabuf_mem *m, int udmabuf_fd, int heap_fd, const char *name,
		     size_t size, int prot)
{
	int err;

	*m = (struct dmabuf_mem){ .dmabuf_fd = -1, .mem_fd = -1, .len = page_round(size) };
	if (size == 0)
		return -EINVAL;
	if (udmabuf_fd >= 0)
		err = alloc_udmabuf(m, udmabuf_fd, name);
	else if (heap_fd >= 0)
		err = alloc_heap(m, heap_fd);
	else
		err = -ENODEV;
	if (err)
		return err;
	/* the memfd's shmem pages (udmabuf), else the heap buffer's */
	m->addr = mmap(NULL, m->len, prot, MAP_SHARED, m->mem_fd >= 0 ? m->mem_fd : m->dmabuf_fd,
		       0);
	if (m->addr == MAP_FAILED) {
		err = -errno;
		m->addr = NULL;
		dmabuf_mem_free(m);
		return err;
	}
	return 0;
}

void dmabuf_mem_free(struct dmabuf_mem *m)
{
	if (m->addr)
		munmap(m->addr, m->len);
	if (m->dmabuf_fd >= 0)
		close(m->dmabuf_fd);
	if (m->mem_fd >= 0)
		close(m->mem_fd);
	*m = (struct dmabuf_mem){ .dmabuf_fd = -1, .mem_fd = -1 };
}

int dmabuf_mem_sync(const struct dmabuf_mem *m, bool start, bool write)
{
	struct dma_buf_sync s = {
		.flags = (start ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) |
			 (write ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ),
	};
	int r;

	do
		r = ioctl(m->dmabuf_fd, DMA_BUF_IOCTL_SYNC, &s);
	while (r < 0 && (errno == EINTR || errno == EAGAIN));
	return r < 0 ? -errno : 0;
}
