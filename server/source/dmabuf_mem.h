/* SPDX-License-Identifier: MIT */
/*
 * Memory for the `dmabuf` source's blocks: a DMA-BUF the device attaches,
 * and a CPU mapping of the same pages for the daemon.
 *
 * Two ways, tried in this order (dmabuf_mem_alloc()):
 *  - udmabuf: a memfd of the block's size (page-rounded), sealed against
 *    shrinking (F_SEAL_SHRINK, which UDMABUF_CREATE requires), made a
 *    DMA-BUF by /dev/udmabuf. The daemon maps the memfd, not the dmabuf:
 *    its pages are ordinary shmem, so MSG_ZEROCOPY and sendfile() (from
 *    the memfd, offset 0) send from them directly. udmabuf's own mmap is a
 *    PFNMAP mapping, which get_user_pages() refuses.
 *  - a dma-heap buffer (/dev/dma_heap/system) when there is no
 *    /dev/udmabuf: mapped through the dmabuf itself (PFNMAP too), so only
 *    copying transports can send it (mem_fd is -1).
 *
 * Every function returns 0 or a negative errno and logs nothing: the
 * caller says which device and block failed.
 */
#ifndef IIOSTREAMD_DMABUF_MEM_H
#define IIOSTREAMD_DMABUF_MEM_H

#include <stdbool.h>
#include <stddef.h>

#define DMABUF_UDMABUF_PATH "/dev/udmabuf"
#define DMABUF_HEAP_PATH "/dev/dma_heap/system"

enum dmabuf_mem_kind {
	DMABUF_MEM_UDMABUF, /* a udmabuf over a memfd (mem_fd) */
	DMABUF_MEM_HEAP,    /* a dma-heap buffer, no file behind it */
};

struct dmabuf_mem {
	int dmabuf_fd;             /* the DMA-BUF the IIO buffer attaches */
	int mem_fd;                /* the memfd behind it; -1 for a heap buffer */
	void *addr;                /* the CPU mapping (MAP_SHARED) */
	size_t len;                /* mapped bytes: the size, page-rounded */
	enum dmabuf_mem_kind kind;
};

/* A memfd of `len` bytes (a multiple of the page size) named `name`,
 * sealed with F_SEAL_SHRINK (and F_SEAL_SEAL): what UDMABUF_CREATE takes.
 * The fd, or a negative errno. */
int dmabuf_memfd_create(const char *name, size_t len);

/* Allocate `size` bytes (page-rounded): a udmabuf if `udmabuf_fd` >= 0
 * (an open /dev/udmabuf), else from the heap `heap_fd` (an open
 * /dev/dma_heap/system). Mapped with `prot` (PROT_READ for a capture
 * block the daemon only sends, PROT_READ | PROT_WRITE for an output
 * block it fills). On an error nothing is left. */
int dmabuf_mem_alloc(struct dmabuf_mem *m, int udmabuf_fd, int heap_fd, const char *name,
		     size_t size, int prot);
/* Unmap and close both fds. The device must have let go of the dmabuf
 * (DETACH); a DMA-BUF lives on while anyone holds a reference. */
void dmabuf_mem_free(struct dmabuf_mem *m);

/* DMA_BUF_IOCTL_SYNC around CPU access: `start` true before the CPU
 * touches the block, false after; `write` for a block the CPU fills. */
int dmabuf_mem_sync(const struct dmabuf_mem *m, bool start, bool write);

#endif /* IIOSTREAMD_DMABUF_MEM_H */
