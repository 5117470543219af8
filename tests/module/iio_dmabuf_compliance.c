// SPDX-License-Identifier: MIT
/*
 * iio_dmabuf_compliance - the mainline IIO DMABUF interface (Linux 6.11+,
 * <linux/iio/buffer.h>: IIO_BUFFER_DMABUF_ATTACH/DETACH/ENQUEUE on the fd of
 * IIO_BUFFER_GET_FD_IOCTL) as the iiostream_sim module implements it on
 * buffer1 of its ADC and, with dac=1, of its DAC (docs/uapi.md), checked
 * the way iio_block_compliance checks the block interface:
 *
 *  - GET_FD, ATTACH, DETACH and ENQUEUE and their errors, as the IIO core
 *    (drivers/iio/industrialio-buffer.c) and the module give them: EPERM on
 *    buffer0 (a kfifo without the DMABUF callbacks) and for a dmabuf not
 *    attached, EBADF/EINVAL for an fd that is no dmabuf, EBUSY for a second
 *    ATTACH, EINVAL for bytes_used 0, past the dmabuf, or not whole scans,
 *    for unknown flags and for CYCLIC on an input buffer;
 *  - fences: poll() on the dmabuf fd (the core adds an input block's fence
 *    as a writer: POLLIN and POLLOUT wait for it; an output block's as a
 *    reader: only POLLOUT waits), the fence's status through
 *    DMA_BUF_IOCTL_EXPORT_SYNC_FILE and SYNC_IOC_FILE_INFO, and
 *    DMA_BUF_IOCTL_SYNC START waiting for the fence;
 *  - O_NONBLOCK: ENQUEUE of an input dmabuf whose fence is pending is EBUSY,
 *    blocking it waits for the fence;
 *  - 16 udmabufs streamed for rounds of blocks, every byte the module's
 *    pattern (iiostream/pattern.h) with one scan index across blocks and
 *    nothing lost; an overflow (no block queued) whose jump in the pattern
 *    is exactly what buffer1/lost_scans counts;
 *  - disable while blocks are queued (their fences signalled with an error,
 *    the dmabufs still attached), DETACH while queued, and closing the
 *    buffer fd while dmabufs are attached and queued;
 *  - dmabufs from udmabuf over a sealed memfd and from /dev/dma_heap/system
 *    (when the kernel has it; arm64's Debian kernel does not);
 *  - the scan layout of buffer1's enabled elements (iiostream/scan.h: any
 *    format=, the timestamp), one channel alone, and a block queued for
 *    elements that changed before the enable (-EINVAL on its fence);
 *  - one engine, two doors: the block node and buffer1 refuse each other
 *    (EBUSY), buffer0 and buffer1 too (EINVAL);
 *  - the DAC: blocks played in order and paced, CYCLIC repeated until
 *    another block is queued, an underflow counted in buffer1/underflows
 *    and underflow_scans (silence before the first block is none), all
 *    checked sample by sample through the DAC's loopback into the ADC's
 *    buffer1; disable while queued; one output dmabuf queued twice;
 *  - unbind with buffer1's fd open and blocks queued (fences signalled with
 *    an error, ENODEV after), and no dmabuf left alive at the end (debugfs
 *    dma_buf/bufinfo: a leaked attachment keeps its dmabuf).
 *
 *   iio_dmabuf_compliance [--adc iio:deviceN] [--dac iio:deviceM] [--no-dac]
 *                         [--skip-missing] [--no-remove] [--leave-queued]
 *
 * Without options it finds the devices by name (iiostream-sim, the first
 * one; iiostream-sim-dac when it exists). A kernel without the DMABUF
 * interface (before 6.11: no buffer1) is a failure, or with --skip-missing
 * a "skipped" line and exit 0. It expects nothing else to use the devices.
 * The last test unbinds and binds the ADC (iiostream-sim.0) with its buffer
 * fd open and blocks queued; --no-remove skips it. --leave-queued only
 * queues a block on each buffer1, disabled, and exits (the guest script
 * then unloads the module with those fences pending).
 * One line per check, "N passed, N failed" at the end, exit 0 only when
 * nothing failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/iio/buffer.h>
#if __has_include(<linux/dma-buf.h>)
#include <linux/dma-buf.h>
#endif
#if __has_include(<linux/udmabuf.h>)
#include <linux/udmabuf.h>
#endif
#if __has_include(<linux/dma-heap.h>)
#include <linux/dma-heap.h>
#endif
#if __has_include(<linux/sync_file.h>)
#include <linux/sync_file.h>
#endif

#include <iiostream/pattern.h>
#include <iiostream/scan.h>

#include "compliance.h"

/* ---- the uapi, where the libc's kernel headers (Debian 12: 6.1) lack it ---- */

#ifndef IIO_BUFFER_DMABUF_ENQUEUE_IOCTL	/* <linux/iio/buffer.h> of 6.11 */
#define IIO_BUFFER_DMABUF_CYCLIC (1 << 0)
#define IIO_BUFFER_DMABUF_SUPPORTED_FLAGS 0x00000001
struct iio_dmabuf {
	__u32 fd;
	__u32 flags;
	__u64 bytes_used;
};
#define IIO_BUFFER_DMABUF_ATTACH_IOCTL _IOW('i', 0x92, int)
#define IIO_BUFFER_DMABUF_DETACH_IOCTL _IOW('i', 0x93, int)
#define IIO_BUFFER_DMABUF_ENQUEUE_IOCTL _IOW('i', 0x94, struct iio_dmabuf)
#endif
#ifndef IIO_BUFFER_GET_FD_IOCTL
#define IIO_BUFFER_GET_FD_IOCTL _IOWR('i', 0x91, int)
#endif

#ifndef DMA_BUF_IOCTL_SYNC	/* <linux/dma-buf.h> */
struct dma_buf_sync {
	__u64 flags;
};
#define DMA_BUF_SYNC_READ (1 << 0)
#define DMA_BUF_SYNC_WRITE (2 << 0)
#define DMA_BUF_SYNC_RW (DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE)
#define DMA_BUF_SYNC_START (0 << 2)
#define DMA_BUF_SYNC_END (1 << 2)
#define DMA_BUF_BASE 'b'
#define DMA_BUF_IOCTL_SYNC _IOW(DMA_BUF_BASE, 0, struct dma_buf_sync)
#endif
#ifndef DMA_BUF_IOCTL_EXPORT_SYNC_FILE	/* 6.0 */
struct dma_buf_export_sync_file {
	__u32 flags;
	__s32 fd;
};
#define DMA_BUF_IOCTL_EXPORT_SYNC_FILE _IOWR(DMA_BUF_BASE, 2, struct dma_buf_export_sync_file)
#endif

#ifndef UDMABUF_CREATE	/* <linux/udmabuf.h> */
#define UDMABUF_FLAGS_CLOEXEC 0x01
struct udmabuf_create {
	__u32 memfd;
	__u32 flags;
	__u64 offset;
	__u64 size;
};
#define UDMABUF_CREATE _IOW('u', 0x42, struct udmabuf_create)
#endif

#ifndef DMA_HEAP_IOCTL_ALLOC	/* <linux/dma-heap.h> */
struct dma_heap_allocation_data {
	__u64 len;
	__u32 fd;
	__u32 fd_flags;
	__u64 heap_flags;
};
#define DMA_HEAP_IOC_MAGIC 'H'
#define DMA_HEAP_IOCTL_ALLOC _IOWR(DMA_HEAP_IOC_MAGIC, 0x0, struct dma_heap_allocation_data)
#endif

#ifndef SYNC_IOC_FILE_INFO	/* <linux/sync_file.h> */
struct sync_file_info {
	char name[32];
	__s32 status;
	__u32 flags;
	__u32 num_fences;
	__u32 pad;
	__u64 sync_fence_info;
};
#define SYNC_IOC_MAGIC '>'
#define SYNC_IOC_FILE_INFO _IOWR(SYNC_IOC_MAGIC, 4, struct sync_file_info)
#endif

/* The layouts are ABI, the same for 32- and 64-bit callers (the compat path
 * of the buffer fd is compat_ptr_ioctl: no translation). */
_Static_assert(sizeof(struct iio_dmabuf) == 16, "iio_dmabuf size");
_Static_assert(offsetof(struct iio_dmabuf, bytes_used) == 8, "bytes_used offset");
_Static_assert(sizeof(struct udmabuf_create) == 24, "udmabuf_create size");
_Static_assert(sizeof(struct dma_heap_allocation_data) == 24, "heap alloc size");

unsigned int cpl_passed, cpl_failed;

#define CYCLIC IIO_BUFFER_DMABUF_CYCLIC

/* One IIO device of the module, and its buffer1. */
struct dev {
	char name[32];   /* iio:deviceN */
	char sys[300];   /* /sys/bus/iio/devices/iio:deviceN */
	char b1[320];    /* its buffer1/ */
	char node[64];   /* /dev/iio:deviceN */
	bool out;        /* the DAC */
	unsigned int nch; /* voltage channels */
	unsigned int sb; /* scan bytes of buffer1 with every voltage channel on */
	bool s16;        /* every channel le:s16/16>>0, no timestamp: the DAC's
			  * tagged samples and the loopback tests apply */
	bool ts;         /* buffer1 has a timestamp element, enabled */
	struct iios_scan_layout lay; /* buffer1's scan, every element enabled */
	int devfd;       /* /dev/iio:deviceN, open for the whole run */
	int bfd;         /* buffer1's fd */
};

static struct dev adc, dac;
static long page;
static bool have_heap;

/* A dmabuf: a udmabuf over a sealed memfd (CPU access through the memfd's
 * mapping, as the daemon does), or one of the system heap (its own). */
struct blk {
	int dfd;         /* the dmabuf */
	int memfd;       /* -1 for a heap dmabuf */
	unsigned char *map;
	size_t size;     /* a whole number of pages */
};

/* ---- small helpers ---- */

static size_t page_round(size_t n)
{
	return (n + (size_t)page - 1) & ~((size_t)page - 1);
}

static int enable(const struct dev *d, bool on)
{
	return sysfs_write(d->b1, "enable", on ? "1" : "0");
}

static int set_rate(const struct dev *d, uint64_t rate)
{
	return set_u64(d->sys, "sampling_frequency", rate);
}

static bool blk_udmabuf(struct blk *b, size_t size)
{
	struct udmabuf_create c = { 0 };
	int ufd;

	b->size = page_round(size);
	b->dfd = -1;
	b->map = NULL;
	b->memfd = memfd_create("iio-dmabuf", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (b->memfd < 0 || ftruncate(b->memfd, (off_t)b->size) ||
	    fcntl(b->memfd, F_ADD_SEALS, F_SEAL_SHRINK))
		return false;
	ufd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (ufd < 0)
		return false;
	c.memfd = (__u32)b->memfd;
	c.flags = UDMABUF_FLAGS_CLOEXEC;
	c.offset = 0;
	c.size = b->size;
	b->dfd = ioctl(ufd, UDMABUF_CREATE, &c);
	close(ufd);
	if (b->dfd < 0)
		return false;
	b->map = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->memfd, 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		return false;
	}
	return true;
}

static bool blk_heap(struct blk *b, size_t size)
{
	struct dma_heap_allocation_data a = { 0 };
	int hfd = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);

	b->size = page_round(size);
	b->dfd = -1;
	b->memfd = -1;
	b->map = NULL;
	if (hfd < 0)
		return false;
	a.len = b->size;
	a.fd_flags = O_RDWR | O_CLOEXEC;
	if (ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, &a)) {
		close(hfd);
		return false;
	}
	close(hfd);
	b->dfd = (int)a.fd;
	b->map = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->dfd, 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		return false;
	}
	return true;
}

static void blk_free(struct blk *b)
{
	if (b->map)
		munmap(b->map, b->size);
	if (b->dfd >= 0)
		close(b->dfd);
	if (b->memfd >= 0)
		close(b->memfd);
	b->map = NULL;
	b->dfd = b->memfd = -1;
}

/* n udmabufs of size bytes: true when all were made */
static bool blks_new(struct blk *b, unsigned int n, size_t size)
{
	unsigned int i;
	bool ok = true;

	for (i = 0; i < n; i++)
		if (!blk_udmabuf(&b[i], size))
			ok = false;
	return ok;
}

static void blks_free(struct blk *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		blk_free(&b[i]);
}

static int get_fd(int devfd, int idx)
{
	int v = idx;

	return ioctl(devfd, IIO_BUFFER_GET_FD_IOCTL, &v) ? -1 : v;
}

static int attach(int bfd, int dfd)
{
	return ioctl(bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, &dfd);
}

static int detach(int bfd, int dfd)
{
	return ioctl(bfd, IIO_BUFFER_DMABUF_DETACH_IOCTL, &dfd);
}

static int enqueue(int bfd, int dfd, uint32_t flags, uint64_t bytes_used)
{
	struct iio_dmabuf q = { .fd = (__u32)dfd, .flags = flags, .bytes_used = bytes_used };

	return ioctl(bfd, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, &q);
}

static int attach_all(int bfd, struct blk *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (attach(bfd, b[i].dfd))
			return -1;
	return 0;
}

static void detach_all(int bfd, struct blk *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		detach(bfd, b[i].dfd);
}

static int dmabuf_sync(int dfd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };
	int r;

	while ((r = ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s)) && (errno == EINTR || errno == EAGAIN))
		;
	return r;
}

/* poll() one fd for @events: the revents, 0 on a timeout, -1 on an error. */
static int poll1(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = poll(&p, 1, ms);

	return r < 0 ? -1 : r == 0 ? 0 : p.revents;
}

/* Wait for a dmabuf's fences as libiio does (POLLOUT waits for every fence). */
static bool wait_done(const struct blk *b, int ms)
{
	return poll1(b->dfd, POLLOUT, ms) > 0;
}

/* A sync_file of the dmabuf's unsignalled fences (all of them), -1 if
 * the kernel cannot export one. Taken while a fence is pending, it keeps
 * that fence: its status tells later how it was signalled. */
static int fence_file(const struct blk *b)
{
	struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };

	return ioctl(b->dfd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e) ? -1 : e.fd;
}

/* The sync_file's status: 0 pending, 1 signalled, < 0 the error it was
 * signalled with; INT_MIN when it cannot be read. */
static int fence_status(int sfd)
{
	struct sync_file_info info;

	memset(&info, 0, sizeof(info));
	if (sfd < 0 || ioctl(sfd, SYNC_IOC_FILE_INFO, &info))
		return INT_MIN;
	return info.status;
}

/* Wait up to @ms for sysfs @name of @dir to read at least @want. */
static bool wait_attr_ge(const char *dir, const char *name, uint64_t want, int ms)
{
	uint64_t v;

	while (((v = sysfs_u64(dir, name)) == UINT64_MAX || v < want) && ms-- > 0)
		sleep_ms(1);
	v = sysfs_u64(dir, name);
	return v != UINT64_MAX && v >= want;
}

/* Check a filled input block, as the daemon reads it: SYNC START, compare,
 * SYNC END. -1 when every sample is the pattern from @first, else the
 * offset of the first wrong byte (or -2 when a SYNC failed). */
static long check_block(const struct blk *b, size_t len, uint64_t first)
{
	long r;

	if (dmabuf_sync(b->dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ))
		return -2;
	r = iios_scan_check(&adc.lay, b->map, len, first, NULL);
	if (dmabuf_sync(b->dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ))
		return -2;
	return r;
}

/* The dmabufs alive in the system, from debugfs's bufinfo ("Total N
 * objects"); -1 without debugfs. An attachment the module or the core
 * leaked keeps its dmabuf alive after every fd of it was closed. */
static int dmabuf_objects(void)
{
	static char buf[1 << 16];
	char *t, *u;
	int fd = open("/sys/kernel/debug/dma_buf/bufinfo", O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -1;
	while (got < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	/* the last "Total N objects" (each dmabuf has a "Total N devices
	 * attached" line before it) */
	t = strstr(buf, "\nTotal ");
	while (t && (u = strstr(t + 1, "\nTotal ")))
		t = u;
	return t && strstr(t, " objects") ? atoi(t + 7) : -1;
}

/* Wait up to @ms for the dmabufs alive to be @want (their release after
 * the last fence runs from a work item). */
static int dmabuf_objects_settle(int want, int ms)
{
	int n;

	while ((n = dmabuf_objects()) > want && ms-- > 0)
		sleep_ms(1);
	return n;
}

/* ---- the tests: both directions ---- */

static void test_sysfs(struct dev *d)
{
	char buf[128], name[96];
	unsigned int c;
	bool ok = true;

	printf("test: %s (%s): buffer1 and its attributes\n", d->name, d->out ? "DAC" : "ADC");
	CHECK(sysfs_read(d->b1, "direction", buf, sizeof(buf)) == 0 &&
	      !strcmp(buf, d->out ? "out" : "in"), "buffer1/direction '%s'", buf);
	CHECK(sysfs_u64(d->b1, "enable") == 0, "buffer1 disabled at start");
	CHECK(sysfs_u64(d->b1, "length") != UINT64_MAX && sysfs_u64(d->b1, "watermark") != UINT64_MAX,
	      "buffer1/length and watermark readable");
	for (c = 0; c < d->nch; c++) {
		snprintf(name, sizeof(name), "%s_voltage%u_en", d->out ? "out" : "in", c);
		if (sysfs_u64(d->b1, name) == UINT64_MAX)
			ok = false;
	}
	CHECK(ok && d->nch > 0, "buffer1 has the %u channels' scan elements", d->nch);
	if (d->out)
		CHECK(sysfs_u64(d->b1, "underflows") != UINT64_MAX &&
		      sysfs_u64(d->b1, "underflow_scans") != UINT64_MAX,
		      "buffer1/underflows and underflow_scans");
	else
		CHECK(sysfs_u64(d->b1, "lost_scans") != UINT64_MAX &&
		      sysfs_u64(d->b1, "overflows") != UINT64_MAX,
		      "buffer1/lost_scans and overflows");
}

static void test_get_fd(struct dev *d)
{
	int fd;

	printf("test: %s: IIO_BUFFER_GET_FD_IOCTL\n", d->name);
	CHECK(d->bfd >= 0, "buffer1's fd");
	CHECK_ERRNO(get_fd(d->devfd, 1), EBUSY);	/* one fd per buffer */
	CHECK_ERRNO(get_fd(d->devfd, 2), ENODEV);	/* two buffers */
	CHECK_ERRNO(get_fd(d->devfd, 1000), ENODEV);
	CHECK_ERRNO(get_fd(d->devfd, -1), ENODEV);
	fd = get_fd(d->devfd, 0);
	CHECK(fd >= 0, "buffer0's fd too: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void test_attach_errors(struct dev *d)
{
	struct blk b;
	int b0, mfd, nfd;

	printf("test: %s: ATTACH and DETACH errors\n", d->name);
	if (!blk_udmabuf(&b, 4096)) {
		CHECK(0, "udmabuf: %s", strerror(errno));
		blk_free(&b);
		return;
	}
	mfd = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
	nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK_ERRNO(attach(d->bfd, -1), EBADF);
	CHECK_ERRNO(attach(d->bfd, 1000000), EBADF);
	CHECK_ERRNO(attach(d->bfd, mfd), EINVAL);		/* a file, no dmabuf */
	CHECK_ERRNO(attach(d->bfd, nfd), EINVAL);
	CHECK_ERRNO(detach(d->bfd, b.dfd), EPERM);		/* not attached */
	CHECK_ERRNO(detach(d->bfd, -1), EBADF);
	CHECK_ERRNO(detach(d->bfd, mfd), EINVAL);
	b0 = get_fd(d->devfd, 0);
	if (b0 >= 0) {
		CHECK_ERRNO(attach(b0, b.dfd), EPERM);		/* buffer0: the kfifo */
		CHECK_ERRNO(enqueue(b0, b.dfd, 0, 4096), EPERM);
		CHECK_ERRNO(detach(b0, b.dfd), EPERM);
		close(b0);
	}
	CHECK_OK(attach(d->bfd, b.dfd));
	CHECK_ERRNO(attach(d->bfd, b.dfd), EBUSY);		/* once per buffer */
	CHECK_OK(detach(d->bfd, b.dfd));
	CHECK_ERRNO(detach(d->bfd, b.dfd), EPERM);
	CHECK_OK(attach(d->bfd, b.dfd));			/* again after DETACH */
	CHECK_OK(detach(d->bfd, b.dfd));
	close(mfd);
	close(nfd);
	blk_free(&b);
}

static void test_enqueue_errors(struct dev *d)
{
	struct blk b, other;
	const size_t size = 16384;
	uint64_t whole = (size / d->sb) * d->sb;

	printf("test: %s: ENQUEUE errors\n", d->name);
	if (!blk_udmabuf(&b, size) || !blk_udmabuf(&other, size)) {
		CHECK(0, "udmabuf: %s", strerror(errno));
		blk_free(&b);
		blk_free(&other);
		return;
	}
	CHECK_ERRNO(enqueue(d->bfd, b.dfd, 0, whole), EPERM);	/* not attached */
	CHECK_OK(attach(d->bfd, b.dfd));
	CHECK_ERRNO(enqueue(d->bfd, other.dfd, 0, whole), EPERM);	/* another one */
	CHECK_ERRNO(enqueue(d->bfd, -1, 0, whole), EBADF);
	CHECK_ERRNO(enqueue(d->bfd, b.dfd, 2, whole), EINVAL);	/* unknown flag */
	CHECK_ERRNO(enqueue(d->bfd, b.dfd, 0x80000000u, whole), EINVAL);
	CHECK_ERRNO(enqueue(d->bfd, b.dfd, 0, 0), EINVAL);
	CHECK_ERRNO(enqueue(d->bfd, b.dfd, 0, size + d->sb), EINVAL);	/* past the dmabuf */
	CHECK_ERRNO(enqueue(d->bfd, b.dfd, 0, (1ull << 32) + d->sb), EINVAL); /* no truncation */
	CHECK_ERRNO(enqueue(d->bfd, b.dfd, 0, ~0ull), EINVAL);
	if (d->sb > 1) {
		/* the module's rule: whole scans (the core has signalled the
		 * fence with the error, so nothing is left pending) */
		CHECK_ERRNO(enqueue(d->bfd, b.dfd, 0, d->sb + 1), EINVAL);
		CHECK_ERRNO(enqueue(d->bfd, b.dfd, 0, d->sb - 1), EINVAL);
		CHECK(poll1(b.dfd, POLLOUT, 0) > 0, "a refused ENQUEUE leaves no fence pending");
	}
	if (!d->out)
		CHECK_ERRNO(enqueue(d->bfd, b.dfd, CYCLIC, whole), EINVAL);	/* input */
	CHECK_OK(detach(d->bfd, b.dfd));
	CHECK_ERRNO(enqueue(d->bfd, b.dfd, 0, whole), EPERM);	/* detached */
	blk_free(&b);
	blk_free(&other);
}

/* ---- the ADC ---- */

/*
 * Fences of input blocks: queued before enable, none is ready; POLLIN and
 * POLLOUT wait for them (a writer's fence); the sync_file's status goes
 * from 0 to 1; the blocks fill in order from scan 0 of the enable.
 */
static void test_adc_fences(void)
{
	const uint64_t rate = 100000;
	const uint32_t scans = 4096;
	const size_t len = (size_t)scans * adc.sb;
	struct blk b[2];
	int s0, s1, r;
	uint64_t t0, t;

	puts("test: ADC: fences, poll events, SYNC, the pattern from scan 0");
	CHECK(set_rate(&adc, rate) == 0, "rate 100 kS/s");
	if (!blks_new(b, 2, len) || attach_all(adc.bfd, b, 2)) {
		CHECK(0, "two attached udmabufs: %s", strerror(errno));
		goto out;
	}
	CHECK(poll1(b[0].dfd, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT),
	      "an idle dmabuf polls ready both ways");
	CHECK_OK(enqueue(adc.bfd, b[0].dfd, 0, len));
	CHECK_OK(enqueue(adc.bfd, b[1].dfd, 0, len));
	CHECK(poll1(b[0].dfd, POLLIN, 0) == 0, "queued: POLLIN waits (the fence is a writer)");
	CHECK(poll1(b[0].dfd, POLLOUT, 0) == 0, "queued: POLLOUT waits");
	s0 = fence_file(&b[0]);
	s1 = fence_file(&b[1]);
	CHECK(s0 >= 0 && s1 >= 0, "DMA_BUF_IOCTL_EXPORT_SYNC_FILE: %s", strerror(errno));
	CHECK(fence_status(s0) == 0, "its fence is pending (status %d)", fence_status(s0));
	sleep_ms(50);
	CHECK(poll1(b[0].dfd, POLLOUT, 0) == 0, "nothing fills while disabled");
	t0 = now_ns();
	CHECK(enable(&adc, true) == 0, "enable");
	r = poll1(b[0].dfd, POLLIN, 5000);
	t = now_ns();
	CHECK(r > 0 && (r & POLLIN), "block 0 completes: POLLIN (revents %#x)", r);
	CHECK(t - t0 >= (uint64_t)scans * 1000000000u / rate * 9 / 10,
	      "not before its scans were due (%.3f s for %.3f s)", (double)(t - t0) / 1e9,
	      (double)scans / (double)rate);
	CHECK(fence_status(s0) == 1, "its fence signalled without error (status %d)",
	      fence_status(s0));
	CHECK(check_block(&b[0], len, 0) == -1, "block 0: the pattern from scan 0");
	CHECK(wait_done(&b[1], 5000), "block 1 completes");
	CHECK(fence_status(s1) == 1, "block 1's fence: status %d", fence_status(s1));
	CHECK(check_block(&b[1], len, scans) == -1, "block 1: from scan %u, no gap", scans);
	CHECK(poll1(b[0].dfd, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT), "both ways ready after");
	if (s0 >= 0)
		close(s0);
	if (s1 >= 0)
		close(s1);
out:
	CHECK(enable(&adc, false) == 0, "disable");
	detach_all(adc.bfd, b, 2);
	blks_free(b, 2);
}

/* SYNC: its flags, and START waits for the block's fence. */
static void test_adc_sync(void)
{
	const uint64_t rate = 20000;
	const uint32_t scans = 4000;	/* 200 ms */
	const size_t len = (size_t)scans * adc.sb;
	struct blk b;
	uint64_t t0, t;
	int r;

	puts("test: ADC: DMA_BUF_IOCTL_SYNC around CPU access, START waits for the fence");
	if (!blk_udmabuf(&b, len) || attach(adc.bfd, b.dfd)) {
		CHECK(0, "udmabuf: %s", strerror(errno));
		blk_free(&b);
		return;
	}
	CHECK_ERRNO(dmabuf_sync(b.dfd, 0x100), EINVAL);
	CHECK_ERRNO(dmabuf_sync(b.dfd, DMA_BUF_SYNC_START), EINVAL);	/* no direction */
	CHECK_OK(dmabuf_sync(b.dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	memset(b.map, 0xa5, b.size);
	CHECK_OK(dmabuf_sync(b.dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	CHECK(set_rate(&adc, rate) == 0, "rate 20 kS/s");
	CHECK_OK(enqueue(adc.bfd, b.dfd, 0, len));
	t0 = now_ns();
	CHECK(enable(&adc, true) == 0, "enable");
	r = dmabuf_sync(b.dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	t = now_ns();
	CHECK(r == 0 && t - t0 >= 150000000u, "SYNC START|READ returns when the block is full "
	      "(%.3f s, %.3f s due)", (double)(t - t0) / 1e9, (double)scans / (double)rate);
	CHECK(poll1(b.dfd, POLLIN, 0) > 0, "the fence is signalled then");
	CHECK(iios_scan_check(&adc.lay, b.map, len, 0, NULL) == -1, "every byte the pattern");
	CHECK(b.map[len] == 0xa5, "past bytes_used the dmabuf is untouched");
	CHECK_OK(dmabuf_sync(b.dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	CHECK(enable(&adc, false) == 0, "disable");
	detach(adc.bfd, b.dfd);
	blk_free(&b);
}

/*
 * O_NONBLOCK on the buffer fd: ENQUEUE of an input dmabuf whose fence is
 * pending is EBUSY at once; without it, ENQUEUE waits for the fence (the
 * scans between the fill and the new ENQUEUE are lost, and counted).
 */
static void test_adc_nonblock(void)
{
	const uint32_t scans = 2000;	/* 200 ms at 10 kS/s */
	const size_t len = (size_t)scans * adc.sb;
	int fl = fcntl(adc.bfd, F_GETFL);
	uint64_t t0, t, lost0, lost1;
	struct blk b;
	int r;

	puts("test: ADC: O_NONBLOCK, and ENQUEUE of a dmabuf still queued");
	if (!blk_udmabuf(&b, len) || attach(adc.bfd, b.dfd)) {
		CHECK(0, "udmabuf: %s", strerror(errno));
		blk_free(&b);
		return;
	}
	CHECK(set_rate(&adc, 10000) == 0, "rate 10 kS/s");
	CHECK_OK(enqueue(adc.bfd, b.dfd, 0, len));
	t0 = now_ns();
	CHECK(enable(&adc, true) == 0, "enable");
	lost0 = sysfs_u64(adc.b1, "lost_scans");
	CHECK_OK(fcntl(adc.bfd, F_SETFL, fl | O_NONBLOCK));
	CHECK_ERRNO(enqueue(adc.bfd, b.dfd, 0, len), EBUSY);
	CHECK(poll1(b.dfd, POLLOUT, 0) == 0, "the first ENQUEUE stays queued");
	CHECK_OK(fcntl(adc.bfd, F_SETFL, fl & ~O_NONBLOCK));
	/* blocking: waits until the block is full, then queues it again */
	r = enqueue(adc.bfd, b.dfd, 0, len);
	t = now_ns();
	lost1 = sysfs_u64(adc.b1, "lost_scans");	/* frozen while it fills again */
	CHECK(r == 0 && t - t0 >= 150000000u,
	      "a blocking ENQUEUE waits for the fence (%d, %.3f s)", r, (double)(t - t0) / 1e9);
	CHECK(wait_done(&b, 3000), "and the block fills again");
	CHECK(check_block(&b, len, scans + (lost1 - lost0)) == -1,
	      "the second time from scan %u + the %" PRIu64 " lost meanwhile", scans, lost1 - lost0);
	CHECK(enable(&adc, false) == 0, "disable");
	detach(adc.bfd, b.dfd);
	blk_free(&b);
}

/*
 * Many blocks: 16 udmabufs streamed for rounds, each re-queued as soon as it
 * was read, every byte the pattern with one scan index across blocks, and
 * nothing lost at a modest rate.
 */
static void test_adc_many(void)
{
	enum { NBLK = 16, ROUNDS = 4 };
	const uint64_t rate = 200000;
	const uint32_t scans = 8192;	/* 41 ms a block, 655 ms of queue */
	const size_t len = (size_t)scans * adc.sb;
	struct blk b[NBLK];
	unsigned int k, i, got = 0, bad = 0, sync_bad = 0, bad_q = 0;
	uint64_t lost0, ovf0, t0;

	puts("test: ADC: 16 udmabufs streamed, one scan index across blocks, nothing lost");
	CHECK(set_rate(&adc, rate) == 0, "rate 200 kS/s");
	if (!blks_new(b, NBLK, len) || attach_all(adc.bfd, b, NBLK)) {
		CHECK(0, "16 attached udmabufs: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < NBLK; i++)
		if (enqueue(adc.bfd, b[i].dfd, 0, len))
			bad_q++;
	t0 = now_ns();
	CHECK(enable(&adc, true) == 0, "enable");
	lost0 = sysfs_u64(adc.b1, "lost_scans");
	ovf0 = sysfs_u64(adc.b1, "overflows");
	for (k = 0; k < NBLK * ROUNDS; k++) {
		const struct blk *x = &b[k % NBLK];
		long r;

		if (!wait_done(x, 5000)) {
			CHECK(0, "block %u did not complete", k);
			break;
		}
		got++;
		r = check_block(x, len, (uint64_t)k * scans);
		if (r == -2)
			sync_bad++;
		else if (r != -1 && bad++ < 3)
			printf("  info  block %u: byte %ld is not the pattern of scan %" PRIu64 "\n",
			       k, r, (uint64_t)k * scans + (uint64_t)r / adc.sb);
		if (enqueue(adc.bfd, x->dfd, 0, len))	/* the queue never runs dry */
			bad_q++;
	}
	printf("  info  %u blocks of %zu bytes in %.3f s (paced: %.3f s)\n", got, len,
	       (double)(now_ns() - t0) / 1e9, (double)got * scans / (double)rate);
	CHECK(got == NBLK * ROUNDS, "%u of %u blocks", got, NBLK * ROUNDS);
	CHECK(bad_q == 0, "%u ENQUEUEs failed", bad_q);
	CHECK(sync_bad == 0, "%u SYNCs failed", sync_bad);
	CHECK(bad == 0, "%u blocks off the pattern of one continuous stream", bad);
	CHECK(sysfs_u64(adc.b1, "lost_scans") == lost0 && sysfs_u64(adc.b1, "overflows") == ovf0,
	      "nothing lost (lost_scans %" PRIu64 " -> %" PRIu64 ", overflows %" PRIu64 " -> %"
	      PRIu64 ")", lost0, sysfs_u64(adc.b1, "lost_scans"), ovf0,
	      sysfs_u64(adc.b1, "overflows"));
out:
	CHECK(enable(&adc, false) == 0, "disable");
	detach_all(adc.bfd, b, NBLK);
	blks_free(b, NBLK);
}

/*
 * An overflow: every block filled and none queued again; lost_scans grows,
 * overflows counts one; the next block's first scan is exactly lost_scans
 * past the end of the last, which the pattern shows.
 */
static void test_adc_overflow(void)
{
	const uint64_t rate = 100000;
	const uint32_t scans = 8192;	/* 82 ms a block */
	const size_t len = (size_t)scans * adc.sb;
	struct blk b[4];
	uint64_t lost0, ovf0, lost1, lost2, first;
	unsigned int i;
	bool all = true;

	puts("test: ADC: overflow: counted, and the jump in the pattern is what lost_scans says");
	CHECK(set_rate(&adc, rate) == 0, "rate 100 kS/s");
	if (!blks_new(b, 4, len) || attach_all(adc.bfd, b, 4)) {
		CHECK(0, "4 attached udmabufs: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < 4; i++)
		enqueue(adc.bfd, b[i].dfd, 0, len);
	CHECK(enable(&adc, true) == 0, "enable");
	lost0 = sysfs_u64(adc.b1, "lost_scans");
	ovf0 = sysfs_u64(adc.b1, "overflows");
	for (i = 0; i < 4; i++)
		if (!wait_done(&b[i], 5000))
			all = false;
	CHECK(all, "all 4 filled, none queued again");
	sleep_ms(100);
	lost1 = sysfs_u64(adc.b1, "lost_scans");
	CHECK(lost1 != UINT64_MAX && lost1 > lost0,
	      "lost_scans grows while no block is queued (%" PRIu64 " -> %" PRIu64 ")", lost0, lost1);
	CHECK(sysfs_u64(adc.b1, "overflows") == ovf0 + 1, "one overflow (%" PRIu64 " -> %" PRIu64 ")",
	      ovf0, sysfs_u64(adc.b1, "overflows"));
	for (i = 0; i < 3; i++)
		CHECK_OK(enqueue(adc.bfd, b[i].dfd, 0, len));
	CHECK(wait_done(&b[0], 5000), "the next block fills");
	/* blocks 1 and 2 are queued now: nothing more is lost */
	lost2 = sysfs_u64(adc.b1, "lost_scans");
	first = 4ull * scans + (lost2 - lost0);
	printf("  info  %" PRIu64 " scans lost\n", lost2 - lost0);
	CHECK(check_block(&b[0], len, first) == -1,
	      "it starts at scan %" PRIu64 ": 4 blocks and the %" PRIu64 " lost scans counted",
	      first, lost2 - lost0);
	CHECK(wait_done(&b[1], 5000) && check_block(&b[1], len, first + scans) == -1,
	      "the one after follows with no gap");
	CHECK(sysfs_u64(adc.b1, "lost_scans") == lost2, "nothing lost while blocks were queued");
out:
	CHECK(enable(&adc, false) == 0, "disable");
	wait_done(&b[2], 1000);
	detach_all(adc.bfd, b, 4);
	blks_free(b, 4);
}

/*
 * Disable while blocks are queued: every fence is signalled, with an error
 * (-ECANCELED: the contract), seen through a sync_file taken while it was
 * pending; the dmabufs stay attached and fill again after the next enable,
 * a new stream from scan 0.
 */
static void test_adc_disable_queued(void)
{
	const uint64_t rate = 10000;
	const uint32_t scans = 4096;	/* 410 ms a block */
	const size_t len = (size_t)scans * adc.sb;
	struct blk b[3];
	int s[3] = { -1, -1, -1 }, st[3];
	unsigned int i;
	bool all = true;

	puts("test: ADC: disable with blocks queued: fences signalled with an error, still attached");
	CHECK(set_rate(&adc, rate) == 0, "rate 10 kS/s");
	if (!blks_new(b, 3, len) || attach_all(adc.bfd, b, 3)) {
		CHECK(0, "3 attached udmabufs: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < 3; i++) {
		CHECK_OK(enqueue(adc.bfd, b[i].dfd, 0, len));
		s[i] = fence_file(&b[i]);
	}
	CHECK(enable(&adc, true) == 0, "enable");
	sleep_ms(50);
	CHECK(poll1(b[0].dfd, POLLOUT, 0) == 0, "block 0 is filling");
	CHECK(enable(&adc, false) == 0, "disable after 50 ms");
	for (i = 0; i < 3; i++)
		if (!wait_done(&b[i], 2000))
			all = false;
	CHECK(all, "every queued block's fence is signalled at disable");
	for (i = 0; i < 3; i++)
		st[i] = fence_status(s[i]);
	printf("  info  fence status: the filling block %d, the queued ones %d, %d\n", st[0], st[1],
	       st[2]);
	CHECK(st[1] == -ECANCELED && st[2] == -ECANCELED,
	      "the queued blocks' fences carry -ECANCELED (%d, %d)", st[1], st[2]);
	CHECK(st[0] == -ECANCELED, "so does the one that was filling (%d)", st[0]);
	CHECK(dmabuf_sync(b[0].dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ) == 0 &&
	      dmabuf_sync(b[0].dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ) == 0,
	      "SYNC of a cancelled block");
	/* still attached: queued again, they fill after the next enable */
	CHECK(set_rate(&adc, 100000) == 0, "rate 100 kS/s");
	CHECK_OK(enqueue(adc.bfd, b[1].dfd, 0, len));
	CHECK(enable(&adc, true) == 0, "enable again");
	CHECK(wait_done(&b[1], 3000) && check_block(&b[1], len, 0) == -1,
	      "a cancelled dmabuf is still attached: it fills again, a new stream from scan 0");
out:
	CHECK(enable(&adc, false) == 0, "disable");
	for (i = 0; i < 3; i++)
		if (s[i] >= 0)
			close(s[i]);
	detach_all(adc.bfd, b, 3);
	blks_free(b, 3);
}

/*
 * DETACH of a dmabuf still queued: the core drops the attachment from the
 * buffer's list at once (ENQUEUE of it is EPERM from then on) and releases
 * it when its last fence is signalled; the block itself stays queued in
 * the driver and completes (or is cancelled at disable).
 */
static void test_adc_detach_queued(void)
{
	const uint32_t scans = 2048;
	const size_t len = (size_t)scans * adc.sb;
	struct blk b;
	int s, st;

	puts("test: ADC: DETACH while queued");
	if (!blk_udmabuf(&b, len) || attach(adc.bfd, b.dfd)) {
		CHECK(0, "udmabuf: %s", strerror(errno));
		blk_free(&b);
		return;
	}
	CHECK(set_rate(&adc, 100000) == 0, "rate 100 kS/s");
	CHECK_OK(enqueue(adc.bfd, b.dfd, 0, len));
	s = fence_file(&b);
	CHECK_OK(detach(adc.bfd, b.dfd));
	CHECK_ERRNO(enqueue(adc.bfd, b.dfd, 0, len), EPERM);
	CHECK_ERRNO(detach(adc.bfd, b.dfd), EPERM);
	CHECK(fence_status(s) == 0, "its fence is still pending (%d)", fence_status(s));
	CHECK(enable(&adc, true) == 0, "enable");
	CHECK(wait_done(&b, 3000), "the detached block's fence is signalled");
	st = fence_status(s);
	printf("  info  a block detached while queued: fence status %d%s\n", st,
	       st == 1 ? " (it was filled)" : "");
	if (st == 1)
		CHECK(check_block(&b, len, 0) == -1, "and holds the pattern from scan 0");
	CHECK(enable(&adc, false) == 0, "disable");
	CHECK_OK(attach(adc.bfd, b.dfd));		/* attachable again */
	CHECK_OK(detach(adc.bfd, b.dfd));
	if (s >= 0)
		close(s);
	blk_free(&b);
}

/*
 * Closing the buffer fd while dmabufs are attached and one is queued: the
 * core drops every attachment; the queued block still completes; the
 * dmabufs stay usable; a new GET_FD works and starts with no attachment.
 */
static void test_adc_close_attached(void)
{
	const uint32_t scans = 4096;
	const size_t len = (size_t)scans * adc.sb;
	struct blk b[2];
	int s = -1, objs0 = dmabuf_objects();

	puts("test: ADC: close the buffer fd with dmabufs attached and queued");
	if (!blks_new(b, 2, len) || attach_all(adc.bfd, b, 2)) {
		CHECK(0, "2 attached udmabufs: %s", strerror(errno));
		goto out;
	}
	CHECK(set_rate(&adc, 50000) == 0, "rate 50 kS/s");
	CHECK_OK(enqueue(adc.bfd, b[0].dfd, 0, len));
	s = fence_file(&b[0]);
	CHECK(enable(&adc, true) == 0, "enable");
	CHECK_OK(close(adc.bfd));
	adc.bfd = -1;
	CHECK(wait_done(&b[0], 3000), "the queued block still completes after the close");
	CHECK(fence_status(s) == 1 && check_block(&b[0], len, 0) == -1,
	      "filled, the pattern from scan 0 (status %d)", fence_status(s));
	CHECK(enable(&adc, false) == 0, "disable");
	adc.bfd = get_fd(adc.devfd, 1);
	CHECK(adc.bfd >= 0, "GET_FD again: %s", strerror(errno));
	CHECK_ERRNO(enqueue(adc.bfd, b[0].dfd, 0, len), EPERM);	/* the close detached it */
	CHECK_ERRNO(detach(adc.bfd, b[1].dfd), EPERM);
	CHECK(b[1].map[0] == 0 && dmabuf_sync(b[1].dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) == 0 &&
	      dmabuf_sync(b[1].dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW) == 0,
	      "the dmabufs stay usable");
	CHECK_OK(attach(adc.bfd, b[0].dfd));
	CHECK_OK(enqueue(adc.bfd, b[0].dfd, 0, len));
	CHECK(enable(&adc, true) == 0 && wait_done(&b[0], 3000) && check_block(&b[0], len, 0) == -1,
	      "attached to the new fd, it fills again");
	CHECK(enable(&adc, false) == 0, "disable");
	detach(adc.bfd, b[0].dfd);
out:
	if (s >= 0)
		close(s);
	blks_free(b, 2);
	if (objs0 >= 0)
		CHECK(dmabuf_objects_settle(objs0, 2000) <= objs0,
		      "closed, the dmabufs are gone (%d alive, %d before)", dmabuf_objects(), objs0);
}

/* The system dma-heap's dmabufs (their own mapping), when the kernel has it. */
static void test_adc_heap(void)
{
	const uint32_t scans = 4096;
	const size_t len = (size_t)scans * adc.sb;
	struct blk b[2];
	unsigned int i;

	puts("test: ADC: dmabufs from /dev/dma_heap/system");
	if (!have_heap) {
		puts("  info  no /dev/dma_heap/system on this kernel: skipped");
		return;
	}
	for (i = 0; i < 2; i++)
		CHECK(blk_heap(&b[i], len), "heap dmabuf %u: %s", i, strerror(errno));
	if (!b[0].map || !b[1].map)
		goto out;
	CHECK(set_rate(&adc, 100000) == 0, "rate 100 kS/s");
	CHECK_OK(attach(adc.bfd, b[0].dfd));
	CHECK_OK(attach(adc.bfd, b[1].dfd));
	CHECK_OK(enqueue(adc.bfd, b[0].dfd, 0, len));
	CHECK_OK(enqueue(adc.bfd, b[1].dfd, 0, len / 2 / adc.sb * adc.sb));
	CHECK(enable(&adc, true) == 0, "enable");
	CHECK(wait_done(&b[0], 3000) && check_block(&b[0], len, 0) == -1,
	      "heap block 0: the pattern from scan 0");
	CHECK(wait_done(&b[1], 3000) && check_block(&b[1], len / 2 / adc.sb * adc.sb, scans) == -1,
	      "heap block 1, half used: from scan %u", scans);
	CHECK(enable(&adc, false) == 0, "disable");
	CHECK_OK(detach(adc.bfd, b[0].dfd));
	CHECK_OK(detach(adc.bfd, b[1].dfd));
out:
	blks_free(b, 2);
}

/*
 * buffer1's own scan elements choose the layout: with only the last
 * channel enabled a scan is that channel's sample alone (as on the kfifo),
 * and ENQUEUE's whole-scan rule follows the new scan size.
 */
static void test_adc_channel_subset(void)
{
	const uint32_t scans = 4096;
	struct iios_scan_layout sub;
	size_t bytes;
	char name[64];
	unsigned int c;
	struct blk b;
	long r = 0;

	puts("test: ADC: buffer1 with one channel enabled: scans of that channel alone");
	if (adc.nch < 2) {
		puts("  info  one channel: nothing to leave out");
		return;
	}
	/* the last channel (and the timestamp, when there is one) */
	iios_scan_layout_init(&sub);
	iios_scan_layout_add(&sub, &adc.lay.elem[adc.nch - 1].type, adc.nch - 1, false);
	if (adc.ts)
		iios_scan_layout_add(&sub, &adc.lay.elem[adc.nch].type, adc.nch, true);
	/* one scan short of the dmabuf: whole scans of the new size (with two
	 * le:s16 channels not of the old one: the module must judge by the new) */
	bytes = (size_t)(scans - 1) * sub.scan_bytes;
	for (c = 0; c + 1 < adc.nch; c++) {
		snprintf(name, sizeof(name), "in_voltage%u_en", c);
		CHECK(sysfs_write(adc.b1, name, "0") == 0, "in_voltage%u_en 0", c);
	}
	if (!blk_udmabuf(&b, (size_t)scans * sub.scan_bytes) || attach(adc.bfd, b.dfd)) {
		CHECK(0, "udmabuf: %s", strerror(errno));
		goto out;
	}
	CHECK(set_rate(&adc, 100000) == 0, "rate 100 kS/s");
	CHECK_OK(enqueue(adc.bfd, b.dfd, 0, bytes));
	CHECK(enable(&adc, true) == 0, "enable");
	CHECK(wait_done(&b, 3000), "filled");
	if (dmabuf_sync(b.dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ) == 0) {
		r = iios_scan_check(&sub, b.map, bytes, 0, NULL);
		dmabuf_sync(b.dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	}
	CHECK(r == -1, "%u scans of %u bytes, channel %u's samples from scan 0 (byte %ld differs)",
	      scans - 1, sub.scan_bytes, adc.nch - 1, r);
	CHECK(enable(&adc, false) == 0, "disable");
	/* queued for the one channel, then every channel enabled again before
	 * the enable: when the block is no longer whole scans, it ends at the
	 * enable with -EINVAL on its fence (docs/uapi.md) */
	if (bytes % adc.sb) {
		int sf;

		CHECK_OK(enqueue(adc.bfd, b.dfd, 0, bytes));
		sf = fence_file(&b);
		for (c = 0; c + 1 < adc.nch; c++) {
			snprintf(name, sizeof(name), "in_voltage%u_en", c);
			sysfs_write(adc.b1, name, "1");
		}
		CHECK(enable(&adc, true) == 0, "enable with every channel");
		CHECK(wait_done(&b, 2000) && fence_status(sf) == -EINVAL,
		      "a block queued for other scan elements, no longer whole scans: -EINVAL (%d)",
		      fence_status(sf));
		CHECK(enable(&adc, false) == 0, "disable");
		if (sf >= 0)
			close(sf);
	}
	detach(adc.bfd, b.dfd);
out:
	blk_free(&b);
	for (c = 0; c + 1 < adc.nch; c++) {
		snprintf(name, sizeof(name), "in_voltage%u_en", c);
		sysfs_write(adc.b1, name, "1");
	}
}

/*
 * One engine, two doors (docs/uapi.md): buffer1 and the block node take the
 * device's block path in turn, and buffer1 (a hardware buffer) is enabled
 * only alone, never with buffer0.
 */
static void test_adc_doors(void)
{
	const size_t len = 4096u * adc.sb;
	char node[64], blkdir[128], name[64];
	struct blk b;
	unsigned int c;
	int nfd;

	puts("test: ADC: buffer1 and the block node take turns; buffer1 and buffer0 too");
	if (sysfs_read(adc.sys, "block_device", name, sizeof(name))) {
		puts("  info  no block node: skipped");
		return;
	}
	snprintf(node, sizeof(node), "/dev/%.40s", name);
	snprintf(blkdir, sizeof(blkdir), "/sys/class/iio_block/%.40s", name);
	if (!blk_udmabuf(&b, len) || attach(adc.bfd, b.dfd)) {
		CHECK(0, "udmabuf: %s", strerror(errno));
		blk_free(&b);
		return;
	}
	CHECK(set_rate(&adc, 10000) == 0, "rate 10 kS/s");
	/* the node open: buffer1 refuses */
	nfd = open(node, O_RDWR | O_CLOEXEC);
	CHECK(nfd >= 0, "open %s: %s", node, strerror(errno));
	CHECK_ERRNO(enqueue(adc.bfd, b.dfd, 0, len), EBUSY);
	CHECK(poll1(b.dfd, POLLOUT, 0) > 0, "the refused ENQUEUE's fence is signalled");
	CHECK(enable(&adc, true) == EBUSY, "buffer1/enable: EBUSY while the node is open");
	if (nfd >= 0)
		close(nfd);
	/* a block queued on buffer1: the node refuses */
	CHECK_OK(enqueue(adc.bfd, b.dfd, 0, len));
	CHECK_ERRNO(open(node, O_RDWR | O_CLOEXEC), EBUSY);
	CHECK(sysfs_write(blkdir, "enable", "1") == EBUSY, "the node's enable: EBUSY");
	/* buffer1 enabled: buffer0 refuses */
	for (c = 0; c < adc.nch; c++) {
		snprintf(name, sizeof(name), "scan_elements/in_voltage%u_en", c);
		sysfs_write(adc.sys, name, "1");
	}
	CHECK(enable(&adc, true) == 0, "buffer1/enable");
	CHECK(sysfs_write(adc.sys, "buffer0/enable", "1") == EINVAL,
	      "buffer0/enable: EINVAL while buffer1 is enabled");
	CHECK(enable(&adc, false) == 0, "buffer1/enable 0: its block is cancelled");
	CHECK(wait_done(&b, 2000), "signalled");
	/* buffer0 enabled: buffer1 refuses */
	CHECK(sysfs_write(adc.sys, "buffer0/enable", "1") == 0, "buffer0/enable");
	CHECK(enable(&adc, true) == EINVAL, "buffer1/enable: EINVAL while buffer0 is enabled");
	CHECK(sysfs_write(adc.sys, "buffer0/enable", "0") == 0, "buffer0/enable 0");
	nfd = open(node, O_RDWR | O_CLOEXEC);
	CHECK(nfd >= 0, "nothing queued, buffer1 off: the node opens again (%s)", strerror(errno));
	if (nfd >= 0)
		close(nfd);
	detach(adc.bfd, b.dfd);
	blk_free(&b);
}

/* ---- the DAC ---- */

/* The value block @tag plays on channel @c at scan @i: never 0 (silence
 * is told apart), the channel in bit 14. */
static uint16_t tagged(unsigned int tag, uint32_t i, unsigned int c)
{
	return (uint16_t)(((tag << 11) | (i & 0x7ff)) ^ (c << 14));
}

static void fill_tagged(const struct blk *b, unsigned int tag, uint32_t scans)
{
	uint16_t *p = (uint16_t *)b->map;
	uint32_t i;
	unsigned int c;

	dmabuf_sync(b->dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	for (i = 0; i < scans; i++)
		for (c = 0; c < dac.nch; c++)
			p[i * dac.nch + c] = tagged(tag, i, c);
	dmabuf_sync(b->dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
}

/* Enabled with nothing queued, the DAC plays silence: no underflow (it has
 * played no block since the enable). */
static void test_dac_idle(void)
{
	uint64_t uf0, us0;

	puts("test: DAC: enabled with nothing queued");
	CHECK(set_rate(&dac, 10000) == 0, "rate 10 kS/s");
	CHECK(enable(&dac, true) == 0, "enable, nothing queued");
	uf0 = sysfs_u64(dac.b1, "underflows");
	us0 = sysfs_u64(dac.b1, "underflow_scans");
	sleep_ms(50);
	CHECK(sysfs_u64(dac.b1, "underflows") == uf0 && sysfs_u64(dac.b1, "underflow_scans") == us0,
	      "silence before the first block is no underflow (%" PRIu64 ", %" PRIu64 " scans)",
	      sysfs_u64(dac.b1, "underflows") - uf0, sysfs_u64(dac.b1, "underflow_scans") - us0);
	CHECK(enable(&dac, false) == 0, "disable");
}

/*
 * Fences of output blocks: the core adds them as readers, so POLLOUT waits
 * for a block to be played and POLLIN does not; blocks play in order, at
 * the rate.
 */
static void test_dac_fences(void)
{
	const uint64_t rate = 10000;
	const uint32_t len[3] = { 100, 200, 50 };
	struct blk b[3];
	int s[3] = { -1, -1, -1 };
	unsigned int i;
	uint64_t t0, t, uf0;
	bool r2;

	puts("test: DAC: fences, poll events, order and pace");
	CHECK(set_rate(&dac, rate) == 0, "rate 10 kS/s");
	if (!blks_new(b, 3, 300 * dac.sb) || attach_all(dac.bfd, b, 3)) {
		CHECK(0, "3 attached udmabufs: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < 3; i++) {
		fill_tagged(&b[i], i + 1, len[i]);
		CHECK_OK(enqueue(dac.bfd, b[i].dfd, 0, (uint64_t)len[i] * dac.sb));
		s[i] = fence_file(&b[i]);
	}
	CHECK(poll1(b[0].dfd, POLLOUT, 0) == 0, "queued: POLLOUT waits");
	CHECK(poll1(b[0].dfd, POLLIN, 0) == POLLIN,
	      "queued: POLLIN does not (the core adds an output block's fence as a reader)");
	CHECK(fence_status(s[0]) == 0, "its fence is pending (%d)", fence_status(s[0]));
	sleep_ms(30);
	CHECK(poll1(b[0].dfd, POLLOUT, 0) == 0, "nothing plays while disabled");
	t0 = now_ns();
	CHECK(enable(&dac, true) == 0, "enable");
	uf0 = sysfs_u64(dac.b1, "underflows");
	r2 = wait_done(&b[2], 5000);
	t = now_ns();
	CHECK(r2, "the last block is played");
	CHECK(poll1(b[0].dfd, POLLOUT, 0) > 0 && poll1(b[1].dfd, POLLOUT, 0) > 0,
	      "the blocks before it were played first");
	CHECK(t - t0 >= 350 * 1000000000ull / rate * 9 / 10,
	      "paced: 350 scans in %.3f s, not faster", (double)(t - t0) / 1e9);
	for (i = 0; i < 3; i++)
		CHECK(fence_status(s[i]) == 1, "block %u's fence: status %d", i, fence_status(s[i]));
	CHECK(wait_attr_ge(dac.b1, "underflows", uf0 + 1, 2000),
	      "running dry after playing is an underflow (%" PRIu64 ")",
	      sysfs_u64(dac.b1, "underflows"));
out:
	CHECK(enable(&dac, false) == 0, "disable");
	for (i = 0; i < 3; i++)
		if (s[i] >= 0)
			close(s[i]);
	detach_all(dac.bfd, b, 3);
	blks_free(b, 3);
}

/* The ADC's buffer1 capturing through the loopback: NCAP blocks, queued at
 * once, never re-queued: one contiguous capture. */
enum { NCAP = 8 };

struct capture {
	struct blk b[NCAP];
	uint32_t scans;          /* per block */
	unsigned char *all;      /* every block's bytes, in order */
	uint64_t n;              /* scans in all */
};

static bool capture_start(struct capture *c)
{
	unsigned int i;

	if (!blks_new(c->b, NCAP, (size_t)c->scans * adc.sb) || attach_all(adc.bfd, c->b, NCAP))
		return false;
	for (i = 0; i < NCAP; i++)
		if (enqueue(adc.bfd, c->b[i].dfd, 0, (uint64_t)c->scans * adc.sb))
			return false;
	return enable(&adc, true) == 0;
}

/* Wait for every block, then disable. */
static bool capture_end(struct capture *c)
{
	size_t len = (size_t)c->scans * adc.sb;
	unsigned int i;
	bool ok = true;

	c->all = calloc(NCAP, len);
	c->n = 0;
	for (i = 0; i < NCAP && c->all; i++) {
		if (!wait_done(&c->b[i], 10000)) {
			ok = false;
			break;
		}
		dmabuf_sync(c->b[i].dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		memcpy(c->all + (size_t)i * len, c->b[i].map, len);
		dmabuf_sync(c->b[i].dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		c->n += c->scans;
	}
	enable(&adc, false);
	detach_all(adc.bfd, c->b, NCAP);
	blks_free(c->b, NCAP);
	return ok && c->all;
}

/* The length of the run of scans from @at on that are block @tag's (from
 * its scan @from, wrapping at @len), or silent when @tag is 0. */
static uint64_t run_of(const struct capture *c, uint64_t at, unsigned int tag, uint32_t from,
		       uint32_t len, uint64_t max)
{
	uint64_t k;
	unsigned int ch;

	for (k = 0; k < max && at + k < c->n; k++)
		for (ch = 0; ch < dac.nch; ch++) {
			uint16_t want = tag ? tagged(tag, (uint32_t)((from + k) % len), ch) : 0;
			uint16_t got;

			memcpy(&got, c->all + (at + k) * adc.sb + ch * 2, 2);	/* le:s16/16 */
			if (got != want)
				return k;
		}
	return k;
}

/*
 * The whole output path through the loopback into the ADC's buffer1, sample
 * by sample: A (CYCLIC, 200 scans) repeats until B (300) is queued, which
 * follows at the end of a repetition; the queue runs dry (an underflow,
 * silence, counted), then C (400) and D (CYCLIC, 100) play, D until the
 * DAC is disabled. The capture is exactly silence, A x k, B, silence x
 * underflow_scans, C, D x m, silence.
 */
static void test_dac_loopback(void)
{
	const uint64_t rate = 20000;
	const uint32_t la = 200, lb = 300, lc = 400, ld = 100;
	struct capture cap = { .scans = 8000 };	/* 8 x 0.4 s */
	struct blk b[4];
	uint64_t p, k, at, run, gap, uf0, us0, uf, us;
	int sa = -1;

	puts("test: DAC: loopback: order, CYCLIC until replaced, underflow, sample by sample");
	CHECK(set_rate(&dac, rate) == 0 && set_rate(&adc, rate) == 0, "both at 20 kS/s");
	CHECK(sysfs_write(dac.sys, "loopback", "1") == 0, "loopback on");
	if (!blks_new(b, 4, 400 * dac.sb) || attach_all(dac.bfd, b, 4)) {
		CHECK(0, "4 attached udmabufs: %s", strerror(errno));
		goto out;
	}
	fill_tagged(&b[0], 1, la);
	fill_tagged(&b[1], 2, lb);
	fill_tagged(&b[2], 3, lc);
	fill_tagged(&b[3], 4, ld);
	CHECK(capture_start(&cap), "ADC: capture %u blocks of %u scans: %s", NCAP, cap.scans,
	      strerror(errno));
	sleep_ms(10);		/* the ADC captures silence first */
	CHECK_OK(enqueue(dac.bfd, b[0].dfd, CYCLIC, (uint64_t)la * dac.sb));
	sa = fence_file(&b[0]);
	CHECK(enable(&dac, true) == 0, "DAC: enable with A (CYCLIC) queued");
	uf0 = sysfs_u64(dac.b1, "underflows");
	us0 = sysfs_u64(dac.b1, "underflow_scans");
	sleep_ms(45);		/* about 4 repetitions */
	CHECK(poll1(b[0].dfd, POLLOUT, 0) == 0, "A repeats while alone: its fence stays pending");
	CHECK_OK(enqueue(dac.bfd, b[1].dfd, 0, (uint64_t)lb * dac.sb));
	CHECK(wait_done(&b[0], 3000), "queueing B ends A: its fence is signalled");
	CHECK(fence_status(sa) == 1, "without error (%d)", fence_status(sa));
	CHECK(wait_done(&b[1], 3000), "B played");
	CHECK(wait_attr_ge(dac.b1, "underflows", uf0 + 1, 2000), "then the queue ran dry: an underflow");
	sleep_ms(20);
	CHECK_OK(enqueue(dac.bfd, b[2].dfd, 0, (uint64_t)lc * dac.sb));
	CHECK_OK(enqueue(dac.bfd, b[3].dfd, CYCLIC, (uint64_t)ld * dac.sb));
	CHECK(wait_done(&b[2], 3000), "C played");
	sleep_ms(20);
	uf = sysfs_u64(dac.b1, "underflows");
	us = sysfs_u64(dac.b1, "underflow_scans");
	CHECK(uf == uf0 + 1, "one underflow (%" PRIu64 " -> %" PRIu64 ")", uf0, uf);
	CHECK(enable(&dac, false) == 0, "DAC: disable while D repeats");
	CHECK(wait_done(&b[3], 2000), "disable signals D's fence");
	CHECK(capture_end(&cap), "ADC: %" PRIu64 " scans captured", cap.n);
	if (!cap.all)
		goto out;

	/* silence, A x k, B, silence, C, D x m, silence */
	for (p = 0; p < cap.n && run_of(&cap, p, 0, 0, 1, 1); p++)
		;
	CHECK(p > 0 && p < cap.n, "silence until the DAC played: %" PRIu64 " scans", p);
	k = run_of(&cap, p, 1, 0, la, cap.n);
	CHECK(k >= la && k % la == 0, "A %" PRIu64 " times, whole (%" PRIu64 " scans)", k / la, k);
	at = p + k;
	run = run_of(&cap, at, 2, 0, lb, lb);
	CHECK(run == lb, "then B with no gap: %" PRIu64 " of %u scans", run, lb);
	at += lb;
	gap = run_of(&cap, at, 0, 0, 1, cap.n);
	CHECK(gap > 0 && gap == us - us0, "then %" PRIu64 " scans of silence: underflow_scans says %"
	      PRIu64, gap, us - us0);
	at += gap;
	run = run_of(&cap, at, 3, 0, lc, lc);
	CHECK(run == lc, "then C: %" PRIu64 " of %u scans", run, lc);
	at += lc;
	run = run_of(&cap, at, 4, 0, ld, cap.n);
	CHECK(run >= ld, "then D (CYCLIC) repeated: %" PRIu64 " scans", run);
	at += run;
	run = run_of(&cap, at, 0, 0, 1, cap.n);
	CHECK(at + run == cap.n, "then silence to the end (%" PRIu64 " of %" PRIu64 " scans)", run,
	      cap.n - at);
	free(cap.all);
out:
	enable(&dac, false);
	sysfs_write(dac.sys, "loopback", "0");
	if (sa >= 0)
		close(sa);
	detach_all(dac.bfd, b, 4);
	blks_free(b, 4);
}

/* Disable with output blocks queued: every fence is signalled, the ones that
 * never played with -ECANCELED; the dmabufs stay attached. */
static void test_dac_disable_queued(void)
{
	const uint64_t rate = 10000;
	struct blk b[3];
	int s[3] = { -1, -1, -1 }, st[3];
	unsigned int i;
	bool all = true;

	puts("test: DAC: disable with blocks queued");
	CHECK(set_rate(&dac, rate) == 0, "rate 10 kS/s");
	if (!blks_new(b, 3, 10000 * dac.sb) || attach_all(dac.bfd, b, 3)) {
		CHECK(0, "3 attached udmabufs: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < 3; i++) {
		fill_tagged(&b[i], i + 1, 10000);
		CHECK_OK(enqueue(dac.bfd, b[i].dfd, i == 0 ? CYCLIC : 0, 10000ull * dac.sb));
		s[i] = fence_file(&b[i]);
	}
	CHECK(enable(&dac, true) == 0, "enable: a 1 s CYCLIC block plays");
	sleep_ms(50);
	CHECK(enable(&dac, false) == 0, "disable");
	for (i = 0; i < 3; i++)
		if (!wait_done(&b[i], 2000))
			all = false;
	CHECK(all, "every fence is signalled at disable");
	for (i = 0; i < 3; i++)
		st[i] = fence_status(s[i]);
	printf("  info  fence status: the playing CYCLIC block %d, the queued ones %d, %d\n", st[0],
	       st[1], st[2]);
	CHECK(st[1] == -ECANCELED && st[2] == -ECANCELED,
	      "the queued blocks' fences carry -ECANCELED (%d, %d)", st[1], st[2]);
	CHECK(st[0] != 0 && st[0] != INT_MIN, "the playing one is signalled (%d)", st[0]);
	CHECK_OK(enqueue(dac.bfd, b[1].dfd, 0, 100ull * dac.sb));
	CHECK(enable(&dac, true) == 0 && wait_done(&b[1], 3000), "still attached: it plays again");
out:
	CHECK(enable(&dac, false) == 0, "disable");
	for (i = 0; i < 3; i++)
		if (s[i] >= 0)
			close(s[i]);
	detach_all(dac.bfd, b, 3);
	blks_free(b, 3);
}

/*
 * An output dmabuf queued twice while it is pending: the core does not
 * wait (its fence is a reader, ENQUEUE waits only for writers), so the
 * driver sees the same block twice. Whatever it does (play it twice or
 * refuse the second), both ENQUEUEs' fences must end signalled, and the
 * kernel's list checks stay quiet.
 */
static void test_dac_twice(void)
{
	struct blk b;
	int r1, r2, e2, s1, s2;

	puts("test: DAC: the same dmabuf queued twice while pending");
	if (!blk_udmabuf(&b, 100 * dac.sb) || attach(dac.bfd, b.dfd)) {
		CHECK(0, "udmabuf: %s", strerror(errno));
		blk_free(&b);
		return;
	}
	fill_tagged(&b, 5, 100);
	CHECK(set_rate(&dac, 10000) == 0, "rate 10 kS/s");
	r1 = enqueue(dac.bfd, b.dfd, 0, 100ull * dac.sb);
	s1 = fence_file(&b);	/* the first fence, before the second replaces it */
	r2 = enqueue(dac.bfd, b.dfd, 0, 100ull * dac.sb);
	e2 = errno;
	s2 = fence_file(&b);
	printf("  info  second ENQUEUE of a pending output dmabuf: %s\n", r2 ? strerror(e2) : "accepted");
	CHECK(r1 == 0, "the first ENQUEUE");
	CHECK(enable(&dac, true) == 0, "enable");
	CHECK(wait_done(&b, 3000), "every fence of it is signalled");
	sleep_ms(20);
	CHECK(fence_status(s1) == 1, "the first fence: played (%d)", fence_status(s1));
	CHECK(fence_status(s2) == (r2 ? fence_status(s2) : 1), "the second: %s (%d)",
	      r2 ? "refused" : "played", fence_status(s2));
	CHECK(enable(&dac, false) == 0, "disable");
	detach(dac.bfd, b.dfd);
	if (s1 >= 0)
		close(s1);
	if (s2 >= 0)
		close(s2);
	blk_free(&b);
}

/*
 * Without buffer1: what a device without DMABUF says. Its buffer0 (a kfifo)
 * refuses ATTACH with EPERM on 6.11+ (no DMABUF callbacks); a kernel before
 * 6.11 does not know the ioctl (ENOTTY). And the dmabufs themselves: udmabuf
 * over a sealed memfd, the system heap, SYNC.
 */
static bool find_dev(struct dev *d, const char *want, bool out);
static bool open_dev(struct dev *d);
static void close_dev(struct dev *d);

static void test_no_dmabuf(void)
{
	struct blk b, h;
	int b0, r, e;

	puts("test: a buffer without DMABUF, and the dmabufs");
	CHECK(blk_udmabuf(&b, 8192), "a udmabuf over a sealed memfd: %s", strerror(errno));
	CHECK(b.dfd < 0 || (dmabuf_sync(b.dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) == 0 &&
			    dmabuf_sync(b.dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW) == 0),
	      "SYNC START/END on it");
	if (have_heap) {
		CHECK(blk_heap(&h, 8192), "a system heap dmabuf: %s", strerror(errno));
		blk_free(&h);
	}
	adc.devfd = open(adc.node, O_RDWR | O_CLOEXEC);
	b0 = adc.devfd < 0 ? -1 : get_fd(adc.devfd, 0);
	CHECK(b0 >= 0, "buffer0's fd: %s", strerror(errno));
	if (b0 >= 0 && b.dfd >= 0) {
		r = attach(b0, b.dfd);
		e = errno;
		CHECK(r == -1 && (e == EPERM || e == ENOTTY),
		      "ATTACH on buffer0: EPERM (6.11+) or ENOTTY (no DMABUF ioctls): %d/%s", r,
		      r ? strerror(e) : "-");
	}
	if (b0 >= 0)
		close(b0);
	close_dev(&adc);
	blk_free(&b);
}

/*
 * Races, for a few seconds, under the guest kernel's debug checks (a
 * WARNING, BUG or corruption report fails the run): one thread ATTACHes,
 * DETACHes and ENQUEUEs (O_NONBLOCK) random dmabufs on both buffer1s with
 * good and bad bytes_used and flags, one polls, SYNCs and exports their
 * fences, the main thread enables and disables both buffers, toggles the
 * loopback and an ADC channel, and opens the block node. Afterwards nothing
 * is left alive and both devices still work.
 */
enum { NRACE = 6 };

struct race {
	struct blk b[2][NRACE];	/* [0] ADC's, [1] DAC's */
	unsigned int ndev;
	volatile bool stop;
	uint64_t seed;
	unsigned long ops, queued;	/* ioctls, ENQUEUEs that succeeded */
};

static uint32_t race_rand(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return (uint32_t)((*x * 0x2545f4914f6cdd1dull) >> 32);
}

static void *race_queue(void *arg)
{
	struct race *r = arg;
	uint64_t x = r->seed;

	while (!r->stop) {
		uint32_t v = race_rand(&x);
		unsigned int k = v % r->ndev;
		const struct dev *d = k ? &dac : &adc;
		const struct blk *b = &r->b[k][(v >> 4) % NRACE];
		uint64_t used = d->sb * (1 + (v >> 16) % 256);

		switch ((v >> 8) % 8) {
		case 0:
			attach(d->bfd, b->dfd);
			break;
		case 1:
			detach(d->bfd, b->dfd);
			break;
		case 2:	/* bad ones */
			enqueue(d->bfd, b->dfd, v & 0x10000 ? CYCLIC : v & 0xff00, v & 1 ? v : 0);
			break;
		default:
			if (enqueue(d->bfd, b->dfd, k && (v & 0x20000) ? CYCLIC : 0, used) == 0)
				r->queued++;
			break;
		}
		r->ops++;
	}
	return NULL;
}

static void *race_wait(void *arg)
{
	struct race *r = arg;
	uint64_t x = r->seed * 3 + 1;

	while (!r->stop) {
		uint32_t v = race_rand(&x);
		const struct blk *b = &r->b[v % r->ndev][(v >> 4) % NRACE];
		int f;

		poll1(b->dfd, v & 0x100 ? POLLIN : POLLOUT, 1);
		if ((v & 0x600) == 0 && poll1(b->dfd, POLLOUT, 0) > 0 &&
		    dmabuf_sync(b->dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) == 0)
			dmabuf_sync(b->dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
		if ((v & 0x1800) == 0) {
			f = fence_file(b);
			fence_status(f);
			if (f >= 0)
				close(f);
		}
	}
	return NULL;
}

static void test_races(bool with_dac)
{
	struct race r = { .ndev = with_dac ? 2 : 1, .seed = 0x9e3779b97f4a7c15ull };
	int fl[2] = { fcntl(adc.bfd, F_GETFL), with_dac ? fcntl(dac.bfd, F_GETFL) : 0 };
	int objs0 = dmabuf_objects(), nfd;
	char node[64], name[64];
	uint64_t x = 42, t_end;
	unsigned long steps = 0;
	pthread_t tq, tw;
	unsigned int k, i;
	bool ok = true;

	puts("test: races between ATTACH/DETACH/ENQUEUE, poll/SYNC/fences, enable, loopback, channels");
	for (k = 0; k < r.ndev; k++)
		for (i = 0; i < NRACE; i++)
			if (!blk_udmabuf(&r.b[k][i], (size_t)256 * (k ? dac.sb : adc.sb)))
				ok = false;
	CHECK(ok, "%u udmabufs: %s", r.ndev * NRACE, strerror(errno));
	if (!ok)
		goto out;
	snprintf(node, sizeof(node), "/dev/iio_block0");
	if (sysfs_read(adc.sys, "block_device", name, sizeof(name)) == 0)
		snprintf(node, sizeof(node), "/dev/%.40s", name);
	set_rate(&adc, 100000);
	if (with_dac)
		set_rate(&dac, 100000);
	fcntl(adc.bfd, F_SETFL, fl[0] | O_NONBLOCK);
	if (with_dac)
		fcntl(dac.bfd, F_SETFL, fl[1] | O_NONBLOCK);
	pthread_create(&tq, NULL, race_queue, &r);
	pthread_create(&tw, NULL, race_wait, &r);
	t_end = now_ns() + 3000000000ull;
	while (now_ns() < t_end) {
		uint32_t v = race_rand(&x);

		switch (v % 8) {
		case 0:
			enable(&adc, v & 0x10);
			break;
		case 1:
			if (with_dac)
				enable(&dac, v & 0x10);
			break;
		case 2:
			if (with_dac)
				sysfs_write(dac.sys, "loopback", v & 0x10 ? "1" : "0");
			break;
		case 3:
			sysfs_write(adc.b1, "in_voltage0_en", v & 0x10 ? "1" : "0");
			break;
		case 4:
			nfd = open(node, O_RDWR | O_CLOEXEC);
			if (nfd >= 0) {
				sleep_ms(v % 3);
				close(nfd);
			}
			break;
		default:
			sleep_ms(v % 3);
			break;
		}
		steps++;
	}
	r.stop = true;
	pthread_join(tq, NULL);
	/* disabled, the channel and the loopback can be put back (both are
	 * refused while capturing); then an enable and a disable cancel
	 * whatever is queued (writing 0 to a disabled buffer does nothing), so
	 * no SYNC waits for ever */
	enable(&adc, false);
	if (with_dac)
		enable(&dac, false);
	CHECK(sysfs_write(adc.b1, "in_voltage0_en", "1") == 0 &&
	      (!with_dac || sysfs_write(dac.sys, "loopback", "0") == 0),
	      "disabled: the channel back on, the loopback off");
	enable(&adc, true);
	enable(&adc, false);
	if (with_dac) {
		enable(&dac, true);
		enable(&dac, false);
	}
	pthread_join(tw, NULL);
	printf("  info  %lu control steps, %lu queue ioctls (%lu blocks queued) in 3 s\n", steps,
	       r.ops, r.queued);
	fcntl(adc.bfd, F_SETFL, fl[0]);
	if (with_dac)
		fcntl(dac.bfd, F_SETFL, fl[1]);
	for (k = 0; k < r.ndev; k++) {
		ok = true;
		for (i = 0; i < NRACE; i++)
			if (!wait_done(&r.b[k][i], 2000))
				ok = false;
		CHECK(ok, "%s: every fence signalled after the disable", k ? "DAC" : "ADC");
		detach_all(k ? dac.bfd : adc.bfd, r.b[k], NRACE);
	}
out:
	for (k = 0; k < r.ndev; k++)
		blks_free(r.b[k], NRACE);
	if (objs0 >= 0)
		CHECK(dmabuf_objects_settle(objs0, 3000) <= objs0,
		      "nothing left alive (%d dmabufs, %d before)", dmabuf_objects(), objs0);
	/* and both still work */
	{
		struct blk b;

		long pr = -3;

		CHECK(blk_udmabuf(&b, 4096 * adc.sb) && attach(adc.bfd, b.dfd) == 0 &&
		      enqueue(adc.bfd, b.dfd, 0, 4096ull * adc.sb) == 0 && enable(&adc, true) == 0 &&
		      wait_done(&b, 3000) && (pr = check_block(&b, 4096ull * adc.sb, 0)) == -1,
		      "the ADC's buffer1 fills as before (%s, pattern %ld)", strerror(errno), pr);
		enable(&adc, false);
		detach(adc.bfd, b.dfd);
		blk_free(&b);
		if (with_dac) {
			CHECK(blk_udmabuf(&b, 100 * dac.sb) && attach(dac.bfd, b.dfd) == 0 &&
			      enqueue(dac.bfd, b.dfd, 0, 100ull * dac.sb) == 0 &&
			      enable(&dac, true) == 0 && wait_done(&b, 3000),
			      "the DAC's buffer1 plays as before");
			enable(&dac, false);
			detach(dac.bfd, b.dfd);
			blk_free(&b);
		}
	}
}

/*
 * Unbind the ADC with its buffer fd open, a block filling, one queued and
 * one attached: the fences are signalled (with an error), ENQUEUE and ATTACH
 * fail with ENODEV, DETACH and close still work (the core calls the module's
 * detach_dmabuf then: it must not touch the gone device), nothing is left;
 * bound again, buffer1 works as before.
 */
static void test_adc_removal(void)
{
	const char *drv = "/sys/bus/platform/drivers/iiostream-sim";
	const uint32_t scans = 10000;	/* 1 s at 10 kS/s */
	const size_t len = (size_t)scans * adc.sb;
	struct blk b[3], d;
	int s[2] = { -1, -1 }, objs0 = dmabuf_objects(), r, e;
	unsigned int i;

	puts("test: ADC: unbind with the buffer fd open and blocks queued, then bind again");
	d.map = NULL;
	d.dfd = d.memfd = -1;
	if (!blks_new(b, 3, len) || attach_all(adc.bfd, b, 3) || !blk_udmabuf(&d, len)) {
		CHECK(0, "3 attached udmabufs: %s", strerror(errno));
		goto out;
	}
	CHECK(set_rate(&adc, 10000) == 0, "rate 10 kS/s");
	for (i = 0; i < 2; i++) {
		CHECK_OK(enqueue(adc.bfd, b[i].dfd, 0, len));
		s[i] = fence_file(&b[i]);
	}
	CHECK(enable(&adc, true) == 0, "enable");
	sleep_ms(50);
	CHECK(sysfs_write(drv, "unbind", "iiostream-sim.0") == 0, "unbind iiostream-sim.0");
	CHECK(wait_done(&b[0], 2000) && wait_done(&b[1], 2000),
	      "the filling and the queued block's fences are signalled");
	printf("  info  after unbind: fence status %d (filling), %d (queued)\n", fence_status(s[0]),
	       fence_status(s[1]));
	CHECK(fence_status(s[0]) < 0 && fence_status(s[1]) < 0, "with an error (%d, %d)",
	      fence_status(s[0]), fence_status(s[1]));
	errno = 0;
	r = enqueue(adc.bfd, b[2].dfd, 0, len);
	e = errno;
	CHECK(r == -1 && e == ENODEV, "ENQUEUE after unbind: ENODEV (%d/%s)", r, r ? strerror(e) : "-");
	if (r == 0)
		wait_done(&b[2], 2000);
	errno = 0;
	r = attach(adc.bfd, d.dfd);
	e = errno;
	CHECK(r == -1 && e == ENODEV, "ATTACH after unbind: ENODEV (%d/%s)", r, r ? strerror(e) : "-");
	CHECK_OK(detach(adc.bfd, b[2].dfd));	/* the core's list; the module's detach_dmabuf */
	close_dev(&adc);
	blks_free(b, 3);
	blk_free(&d);
	for (i = 0; i < 2; i++)
		if (s[i] >= 0)
			close(s[i]);
	if (objs0 >= 0)
		CHECK(dmabuf_objects_settle(objs0, 2000) <= objs0,
		      "closed, the dmabufs are gone (%d alive, %d before)", dmabuf_objects(), objs0);
	CHECK(sysfs_write(drv, "bind", "iiostream-sim.0") == 0, "bind it again");
	adc.name[0] = 0;
	if (!find_dev(&adc, "iiostream-sim", false) || !open_dev(&adc) || adc.bfd < 0) {
		CHECK(0, "the ADC again: %s", strerror(errno));
		return;
	}
	CHECK(blk_udmabuf(&b[0], 4096 * adc.sb) && attach(adc.bfd, b[0].dfd) == 0 &&
	      set_rate(&adc, 100000) == 0 && enqueue(adc.bfd, b[0].dfd, 0, 4096ull * adc.sb) == 0 &&
	      enable(&adc, true) == 0 && wait_done(&b[0], 3000) &&
	      check_block(&b[0], 4096ull * adc.sb, 0) == -1,
	      "%s's buffer1 fills as before", adc.name);
	enable(&adc, false);
	detach(adc.bfd, b[0].dfd);
	blk_free(&b[0]);
	return;
out:
	enable(&adc, false);
	detach_all(adc.bfd, b, 3);
	blks_free(b, 3);
	blk_free(&d);
}

/*
 * --leave-queued: one block queued on buffer1 of the ADC (and of the DAC),
 * both disabled, and exit: the fds close with the fences pending. The
 * guest script then unloads the module, which must signal them and let
 * the core release the attachments before it goes (the dmabufs vanish from
 * debugfs's bufinfo, the kernel log stays clean).
 */
static int leave_queued(bool with_dac)
{
	struct dev *d;
	struct blk b;
	int n = 0;

	for (d = &adc; d; d = d == &adc && with_dac ? &dac : NULL) {
		if (!open_dev(d) || d->bfd < 0 || !blk_udmabuf(&b, 4096 * d->sb) ||
		    attach(d->bfd, b.dfd) || enqueue(d->bfd, b.dfd, 0, 4096ull * d->sb)) {
			printf("iio_dmabuf_compliance: %s: %s\n", d->name, strerror(errno));
			return 1;
		}
		n++;
	}
	printf("iio_dmabuf_compliance: %d block(s) left queued on disabled buffers, %d dmabufs alive\n",
	       n, dmabuf_objects());
	return 0;	/* exit closes every fd */
}

/* ---- setup ---- */

/* Find a device by IIO name (the first), unless --adc/--dac named it. */
static bool find_dev(struct dev *d, const char *want, bool out)
{
	struct dirent *de;
	char buf[64], dir[300], name[96];
	DIR *dd;

	if (!d->name[0]) {
		char best[256] = "";

		dd = opendir("/sys/bus/iio/devices");
		while (dd && (de = readdir(dd))) {
			if (strncmp(de->d_name, "iio:device", 10))
				continue;
			snprintf(dir, sizeof(dir), "/sys/bus/iio/devices/%s", de->d_name);
			if (sysfs_read(dir, "name", buf, sizeof(buf)) || strcmp(buf, want))
				continue;
			if (!best[0] || atoi(de->d_name + 10) < atoi(best + 10))
				snprintf(best, sizeof(best), "%s", de->d_name);
		}
		if (dd)
			closedir(dd);
		snprintf(d->name, sizeof(d->name), "%.31s", best);
	}
	if (!d->name[0])
		return false;
	d->out = out;
	snprintf(d->sys, sizeof(d->sys), "/sys/bus/iio/devices/%s", d->name);
	snprintf(d->b1, sizeof(d->b1), "%s/buffer1", d->sys);
	snprintf(d->node, sizeof(d->node), "/dev/%s", d->name);
	d->s16 = true;
	iios_scan_layout_init(&d->lay);
	for (d->nch = 0; d->nch < 64; d->nch++) {
		struct iios_scan_type t;

		snprintf(name, sizeof(name), "%s_voltage%u_type", out ? "out" : "in", d->nch);
		if (sysfs_read(d->b1, name, buf, sizeof(buf)))
			break;
		if (strcmp(buf, "le:s16/16>>0"))
			d->s16 = false;
		if (iios_scan_type_parse(buf, &t) || iios_scan_layout_add(&d->lay, &t, d->nch, false))
			d->lay.scan_bytes = 0;
		/* every channel on */
		snprintf(name, sizeof(name), "%s_voltage%u_en", out ? "out" : "in", d->nch);
		sysfs_write(d->b1, name, "1");
	}
	/* the ADC's timestamp (timestamp=1) on too: its scans carry it */
	d->ts = !out && sysfs_read(d->b1, "in_timestamp_type", buf, sizeof(buf)) == 0;
	if (d->ts) {
		struct iios_scan_type t;

		if (iios_scan_type_parse(buf, &t) || iios_scan_layout_add(&d->lay, &t, d->nch, true) ||
		    sysfs_write(d->b1, "in_timestamp_en", "1"))
			d->lay.scan_bytes = 0;
		d->s16 = false;
	}
	d->sb = d->lay.scan_bytes;
	d->devfd = d->bfd = -1;
	return true;
}

static bool open_dev(struct dev *d)
{
	enable(d, false);
	d->devfd = open(d->node, O_RDWR | O_CLOEXEC);
	if (d->devfd < 0)
		return false;
	d->bfd = get_fd(d->devfd, 1);
	return true;
}

static void close_dev(struct dev *d)
{
	if (d->bfd >= 0)
		close(d->bfd);
	if (d->devfd >= 0)
		close(d->devfd);
	d->bfd = d->devfd = -1;
}

int main(int argc, char **argv)
{
	bool skip_missing = false, want_dac = true, remove = true, leave = false;
	struct utsname u;
	uint64_t arate = 0, drate = 0;
	int i, objs0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--adc") && i + 1 < argc)
			snprintf(adc.name, sizeof(adc.name), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--dac") && i + 1 < argc)
			snprintf(dac.name, sizeof(dac.name), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--no-dac"))
			want_dac = false;
		else if (!strcmp(argv[i], "--skip-missing"))
			skip_missing = true;
		else if (!strcmp(argv[i], "--no-remove"))
			remove = false;
		else if (!strcmp(argv[i], "--leave-queued"))
			leave = true;
		else {
			fprintf(stderr, "usage: iio_dmabuf_compliance [--adc iio:deviceN] [--dac iio:deviceM] "
				"[--no-dac] [--skip-missing] [--no-remove] [--leave-queued]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	uname(&u);
	if (!find_dev(&adc, "iiostream-sim", false)) {
		fprintf(stderr, "iio_dmabuf_compliance: no iiostream-sim device (is iiostream_sim loaded?)\n");
		return 2;
	}
	if (want_dac && !find_dev(&dac, "iiostream-sim-dac", true))
		want_dac = false;
	have_heap = access("/dev/dma_heap/system", R_OK) == 0;
	if (access(adc.b1, F_OK)) {
		printf("iio_dmabuf_compliance: %s has no buffer1: no DMABUF interface on kernel %s\n",
		       adc.name, u.release);
		if (skip_missing) {
			puts("iio_dmabuf_compliance: skipped");
			return 0;
		}
		adc.devfd = adc.bfd = -1;
		test_no_dmabuf();
		CHECK(0, "%s/buffer1 exists", adc.sys);
		printf("\niio_dmabuf_compliance: %u passed, %u failed\n", cpl_passed, cpl_failed);
		return 1;
	}
	printf("iio_dmabuf_compliance: kernel %s, ADC %s (%u channels)%s%s%s, %s, %zu-bit\n",
	       u.release, adc.name, adc.nch, want_dac ? ", DAC " : "", want_dac ? dac.name : "",
	       want_dac ? "" : " (no DAC)", have_heap ? "udmabuf and the system heap" :
	       "udmabuf (no dma-heap)", sizeof(long) * 8);
	if (access("/dev/udmabuf", R_OK | W_OK)) {
		CHECK(0, "/dev/udmabuf: %s", strerror(errno));
		printf("\niio_dmabuf_compliance: %u passed, %u failed\n", cpl_passed, cpl_failed);
		return 1;
	}
	if (leave)
		return leave_queued(want_dac);
	if (!open_dev(&adc)) {
		printf("  FAIL  open %s: %s\n", adc.node, strerror(errno));
		return 1;
	}
	objs0 = dmabuf_objects();
	arate = sysfs_u64(adc.sys, "sampling_frequency");
	test_sysfs(&adc);
	test_get_fd(&adc);
	if (adc.bfd >= 0) {
		test_attach_errors(&adc);
		test_enqueue_errors(&adc);
		if (adc.sb) {
			test_adc_fences();
			test_adc_sync();
			test_adc_nonblock();
			test_adc_many();
			test_adc_overflow();
			test_adc_disable_queued();
			test_adc_detach_queued();
			test_adc_heap();
			test_adc_channel_subset();
			test_adc_doors();
			test_adc_close_attached();
		} else {
			puts("  info  the ADC's scan layout is unreadable: the pattern tests are skipped");
		}
	}
	if (want_dac) {
		if (!open_dev(&dac)) {
			CHECK(0, "open %s: %s", dac.node, strerror(errno));
		} else {
			drate = sysfs_u64(dac.sys, "sampling_frequency");
			test_sysfs(&dac);
			test_get_fd(&dac);
			if (dac.bfd >= 0) {
				test_attach_errors(&dac);
				test_enqueue_errors(&dac);
				if (dac.s16 && adc.s16 && dac.nch <= adc.nch && adc.bfd >= 0) {
					test_dac_idle();
					test_dac_fences();
					test_dac_loopback();
					test_dac_disable_queued();
					test_dac_twice();
				} else {
					puts("  info  DAC and ADC not both le:s16/16: the play tests are skipped");
				}
			}
			if (dac.bfd >= 0 && adc.bfd >= 0 && adc.sb && dac.sb)
				test_races(true);
			if (drate != UINT64_MAX)
				set_rate(&dac, drate);
			close_dev(&dac);
		}
	} else {
		puts("  info  no DAC (load the module with dac=1): the output tests are skipped");
		if (adc.bfd >= 0 && adc.sb)
			test_races(false);
	}
	if (remove && adc.bfd >= 0 && adc.sb)
		test_adc_removal();
	if (arate != UINT64_MAX)
		set_rate(&adc, arate);
	close_dev(&adc);
	if (objs0 >= 0)
		CHECK(dmabuf_objects_settle(objs0, 3000) <= objs0,
		      "no dmabuf left alive: %d, %d at the start (debugfs dma_buf/bufinfo)",
		      dmabuf_objects(), objs0);
	else
		puts("  info  no debugfs dma_buf/bufinfo: leaks of attachments not checked");

	printf("\niio_dmabuf_compliance: %u passed, %u failed\n", cpl_passed, cpl_failed);
	return cpl_failed ? 1 : 0;
}
