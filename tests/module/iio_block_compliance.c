// SPDX-License-Identifier: MIT
/*
 * iio_block_compliance - drive /dev/iio_blockN through every ioctl, state
 * and error path of its uapi (module/include/uapi/iiostream/iio_block.h),
 * the way v4l2-compliance drives a V4L2 device.
 *
 *   iio_block_compliance [--dev /dev/iio_block0] [--no-remove]
 *
 * It expects the iiostream_sim module loaded, with nothing else using the
 * device. The last test unbinds and rebinds the driver (device removal
 * with the node open); --no-remove skips it.
 *
 * One line per check, "N passed, N failed" at the end, exit 0 only when
 * nothing failed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/errqueue.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <iiostream/iio_block.h>
#include <iiostream/pattern.h>

#include "compliance.h"

unsigned int cpl_passed, cpl_failed;

/* The layouts are ABI: the reviewed patch's, byte for byte. */
_Static_assert(sizeof(struct iio_buffer_block_alloc_req) == 16, "alloc_req size");
_Static_assert(sizeof(struct iio_buffer_block) == 32, "block size");
_Static_assert(offsetof(struct iio_buffer_block, data.offset) == 20, "offset");
_Static_assert(offsetof(struct iio_buffer_block, timestamp) == 24, "timestamp");

#define BLK_ALLOC IIO_BUFFER_BLOCK_ALLOC_IOCTL
#define BLK_FREE IIO_BUFFER_BLOCK_FREE_IOCTL
#define BLK_QUERY IIO_BUFFER_BLOCK_QUERY_IOCTL
#define BLK_ENQ IIO_BUFFER_BLOCK_ENQUEUE_IOCTL
#define BLK_DEQ IIO_BUFFER_BLOCK_DEQUEUE_IOCTL

static const char *dev_path = "/dev/iio_block0";
static char blk_sysfs[256];	/* /sys/class/iio_block/iio_blockN */
static char iio_sysfs[256];	/* /sys/bus/iio/devices/iio:deviceN */
static char iio_node[128];	/* /dev/iio:deviceN */
static unsigned int channels, scan_bytes;
static uint64_t max_block_size, max_alloc_bytes;
static long page;

/* ---- small helpers ---- */

static int set_enable(bool on)
{
	return sysfs_write(blk_sysfs, "enable", on ? "1" : "0");
}

static int set_rate(unsigned int rate)
{
	char v[32];

	snprintf(v, sizeof(v), "%u", rate);
	return sysfs_write(iio_sysfs, "sampling_frequency", v);
}

static uint64_t blocks_live(void)
{
	return sysfs_u64("/sys/module/iiostream_sim/parameters", "blocks_live");
}

static int alloc_blocks(int fd, uint32_t count, uint32_t size, uint32_t *first)
{
	struct iio_buffer_block_alloc_req req = { .type = 0, .size = size, .count = count };

	if (ioctl(fd, BLK_ALLOC, &req))
		return -1;
	if (first)
		*first = req.id;
	return (int)req.count;
}

static int query(int fd, uint32_t id, struct iio_buffer_block *b)
{
	memset(b, 0, sizeof(*b));
	b->id = id;
	return ioctl(fd, BLK_QUERY, b);
}

static int enqueue(int fd, uint32_t id)
{
	struct iio_buffer_block b = { .id = id };

	return ioctl(fd, BLK_ENQ, &b);
}

static size_t map_len(uint32_t size)
{
	return ((size_t)size + (size_t)page - 1) & ~((size_t)page - 1);
}

/* Map block @id; NULL on failure. */
static void *map_block(int fd, uint32_t id)
{
	struct iio_buffer_block b;
	void *p;

	if (query(fd, id, &b))
		return NULL;
	p = mmap(NULL, map_len(b.size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.data.offset);
	return p == MAP_FAILED ? NULL : p;
}

static int open_dev(int flags)
{
	return open(dev_path, O_RDWR | O_CLOEXEC | flags);
}

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Wait up to @ms for a filled block; 0 and *b on success, else errno. */
static int dequeue_wait(int fd, struct iio_buffer_block *b, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return ETIMEDOUT;
	return ioctl(fd, BLK_DEQ, b) ? errno : 0;
}

/* ---- the tests ---- */

static void test_layout_and_numbers(void)
{
	unsigned long nr[] = { BLK_ALLOC, BLK_FREE, BLK_QUERY, BLK_ENQ, BLK_DEQ };
	size_t i, j;
	bool distinct = true;

	puts("test: uapi layout and ioctl numbers");
	CHECK(sizeof(struct iio_buffer_block) == 32, "32-byte block");
	CHECK(offsetof(struct iio_buffer_block, bytes_used) == 8, "bytes_used at 8");
	for (i = 0; i < 5; i++)
		for (j = i + 1; j < 5; j++)
			if (_IOC_NR(nr[i]) == _IOC_NR(nr[j]))
				distinct = false;
	CHECK(distinct, "the patch's FREE/QUERY 0x93 clash is gone");
	CHECK(_IOC_NR(BLK_ALLOC) == 0xa0 && _IOC_NR(BLK_DEQ) == 0xa4 && _IOC_TYPE(BLK_ALLOC) == 'i',
	      "ADI/libiio numbers 0xa0..0xa4");
}

static void test_sysfs_links(void)
{
	char path[512], buf[128];
	unsigned int c;

	puts("test: IIO device and block node find each other");
	snprintf(path, sizeof(path), "%s/name", iio_sysfs);
	CHECK(sysfs_read_path(path, buf, sizeof(buf)) == 0 && strcmp(buf, "iiostream-sim") == 0,
	      "name is '%s'", buf);
	snprintf(path, sizeof(path), "%s/block_device", iio_sysfs);
	CHECK(sysfs_read_path(path, buf, sizeof(buf)) == 0 && strstr(dev_path, buf), "block_device '%s'",
	      buf);
	for (c = 0; c < channels; c++) {
		snprintf(path, sizeof(path), "%s/scan_elements/in_voltage%u_type", iio_sysfs, c);
		CHECK(sysfs_read_path(path, buf, sizeof(buf)) == 0 && strcmp(buf, "le:s16/16>>0") == 0,
		      "channel %u type '%s'", c, buf);
	}
	CHECK(scan_bytes == channels * 2, "scan_bytes %u for %u channels", scan_bytes, channels);
	CHECK(sysfs_u64(iio_sysfs, "sampling_frequency") > 0, "sampling_frequency readable");
}

static void test_open_exclusive(int fd)
{
	pid_t pid;
	int st;

	puts("test: one open file at a time");
	CHECK_ERRNO(open_dev(0), EBUSY);
	pid = fork();
	if (pid == 0)
		_exit(open_dev(0) == -1 && errno == EBUSY ? 0 : 1);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "another process gets EBUSY too");
	CHECK(fd >= 0, "the first open worked");
}

static void test_bad_ioctls(int fd)
{
	puts("test: unknown ioctls and bad pointers");
	CHECK_ERRNO(ioctl(fd, _IO('i', 0x93)), ENOTTY);	/* the patch's clashing number */
	CHECK_ERRNO(ioctl(fd, _IOWR('i', 0xa5, struct iio_buffer_block), NULL), ENOTTY);
	CHECK_ERRNO(ioctl(fd, _IOWR('x', 0xa0, struct iio_buffer_block), NULL), ENOTTY);
	CHECK_ERRNO(ioctl(fd, BLK_ALLOC, NULL), EFAULT);
	CHECK_ERRNO(ioctl(fd, BLK_QUERY, (void *)16), EFAULT);
	CHECK_ERRNO(ioctl(fd, BLK_ENQ, NULL), EFAULT);
}

static void test_empty_state(int fd)
{
	struct iio_buffer_block b;

	puts("test: no blocks allocated");
	CHECK_ERRNO(query(fd, 0, &b), EINVAL);
	CHECK_ERRNO(enqueue(fd, 0), EINVAL);
	CHECK_ERRNO(ioctl(fd, BLK_DEQ, &b), EINVAL);	/* blocking, yet it must not hang */
	set_nonblock(fd, true);
	CHECK_ERRNO(ioctl(fd, BLK_DEQ, &b), EINVAL);
	set_nonblock(fd, false);
	CHECK_OK(ioctl(fd, BLK_FREE));
	CHECK(mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EINVAL,
	      "mmap of nothing: %s", strerror(errno));
	CHECK(sysfs_u64(blk_sysfs, "blocks_allocated") == 0, "blocks_allocated 0");
}

static void test_alloc_errors(int fd)
{
	struct iio_buffer_block_alloc_req req;
	void *ro;

	puts("test: ALLOC refuses bad requests and allocates nothing");
	req = (struct iio_buffer_block_alloc_req){ .type = 1, .size = 4096, .count = 1 };
	CHECK_ERRNO(ioctl(fd, BLK_ALLOC, &req), EINVAL);
	req = (struct iio_buffer_block_alloc_req){ .size = 0, .count = 1 };
	CHECK_ERRNO(ioctl(fd, BLK_ALLOC, &req), EINVAL);
	req = (struct iio_buffer_block_alloc_req){ .size = scan_bytes * 1000 + 1, .count = 1 };
	CHECK_ERRNO(ioctl(fd, BLK_ALLOC, &req), EINVAL);
	req = (struct iio_buffer_block_alloc_req){ .size = (uint32_t)max_block_size + scan_bytes,
						   .count = 1 };
	CHECK_ERRNO(ioctl(fd, BLK_ALLOC, &req), EINVAL);
	req = (struct iio_buffer_block_alloc_req){ .size = 0xfffffffcu, .count = 1 };
	CHECK_ERRNO(ioctl(fd, BLK_ALLOC, &req), EINVAL);
	req = (struct iio_buffer_block_alloc_req){ .size = 4096, .count = 0 };
	CHECK_ERRNO(ioctl(fd, BLK_ALLOC, &req), EINVAL);
	req = (struct iio_buffer_block_alloc_req){ .size = 4096, .count = IIO_BUFFER_BLOCK_MAX + 1 };
	CHECK_ERRNO(ioctl(fd, BLK_ALLOC, &req), ENOSPC);
	req = (struct iio_buffer_block_alloc_req){ .size = 4096, .count = 0xffffffffu };
	CHECK_ERRNO(ioctl(fd, BLK_ALLOC, &req), ENOSPC);
	req = (struct iio_buffer_block_alloc_req){
		.size = (uint32_t)max_block_size,
		.count = (uint32_t)(max_alloc_bytes / max_block_size) + 1 };
	CHECK_ERRNO(ioctl(fd, BLK_ALLOC, &req), ENOSPC);
	/* an answer that cannot be written back allocates nothing */
	ro = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	req = (struct iio_buffer_block_alloc_req){ .size = 4096, .count = 2 };
	memcpy(ro, &req, sizeof(req));
	mprotect(ro, (size_t)page, PROT_READ);
	CHECK_ERRNO(ioctl(fd, BLK_ALLOC, ro), EFAULT);
	munmap(ro, (size_t)page);
	CHECK(sysfs_u64(blk_sysfs, "blocks_allocated") == 0, "still no blocks after the errors");
}

static void test_alloc_query_free(int fd)
{
	struct iio_buffer_block b[6];
	uint32_t first = 99, i, j;
	uint64_t live0 = blocks_live();
	bool ok = true;

	puts("test: ALLOC, QUERY and FREE");
	CHECK(alloc_blocks(fd, 4, 16384, &first) == 4 && first == 0, "first id %u", first);
	CHECK(alloc_blocks(fd, 2, scan_bytes * 3000, &first) == 2 && first == 4,
	      "a second ALLOC adds ids from 4 (got %u)", first);
	CHECK(sysfs_u64(blk_sysfs, "blocks_allocated") == 6, "blocks_allocated 6");
	CHECK(blocks_live() == live0 + 6, "blocks_live +6");
	for (i = 0; i < 6; i++) {
		if (query(fd, i, &b[i])) {
			ok = false;
			continue;
		}
		if (b[i].id != i || b[i].size != (i < 4 ? 16384 : scan_bytes * 3000) ||
		    b[i].bytes_used || b[i].flags || b[i].type || b[i].timestamp ||
		    b[i].data.offset % page)
			ok = false;
		for (j = 0; j < i; j++)	/* mappings never overlap */
			if (b[i].data.offset < b[j].data.offset + map_len(b[j].size) &&
			    b[j].data.offset < b[i].data.offset + map_len(b[i].size))
				ok = false;
	}
	CHECK(ok, "every block: its id and size, nothing used, page-aligned distinct offsets");
	CHECK_ERRNO(query(fd, 6, &b[0]), EINVAL);
	CHECK_ERRNO(query(fd, 0xffffffffu, &b[0]), EINVAL);
	CHECK_OK(ioctl(fd, BLK_FREE));
	CHECK_ERRNO(query(fd, 0, &b[0]), EINVAL);
	CHECK(sysfs_u64(blk_sysfs, "blocks_allocated") == 0, "FREE empties the table");
	CHECK(blocks_live() == live0, "FREE frees the memory (blocks_live %" PRIu64 ")",
	      blocks_live());
}

static void test_mmap_rules(int fd)
{
	uint32_t size = scan_bytes * 2049;	/* not a page multiple */
	struct iio_buffer_block b;
	size_t len = map_len(size);
	unsigned char *p;
	void *q;

	puts("test: mmap refuses every mapping but the exact one");
	CHECK(alloc_blocks(fd, 2, size, NULL) == 2, "alloc");
	query(fd, 1, &b);
#define MMAP_FAILS(l, prot, flags, off, want)                                                  \
	CHECK(mmap(NULL, (l), (prot), (flags), fd, (off)) == MAP_FAILED && errno == (want),       \
	      "mmap(%zu, %s, %s, %lld): %s", (size_t)(l), #prot, #flags, (long long)(off),         \
	      strerror(errno))
	MMAP_FAILS(len, PROT_READ, MAP_PRIVATE, b.data.offset, EINVAL);
	MMAP_FAILS(len, PROT_WRITE, MAP_SHARED, b.data.offset, EINVAL);
	MMAP_FAILS(len, PROT_NONE, MAP_SHARED, b.data.offset, EINVAL);
	MMAP_FAILS(len, PROT_READ | PROT_EXEC, MAP_SHARED, b.data.offset, EINVAL);
	MMAP_FAILS(len, PROT_READ, MAP_SHARED, b.data.offset + page, EINVAL);
	MMAP_FAILS(len - (size_t)page, PROT_READ, MAP_SHARED, b.data.offset, EINVAL);
	MMAP_FAILS(len + (size_t)page, PROT_READ, MAP_SHARED, b.data.offset, EINVAL);
	MMAP_FAILS(len, PROT_READ, MAP_SHARED, (off_t)1 << 40, EINVAL);
	MMAP_FAILS(len, PROT_READ, MAP_SHARED, (off_t)0xfffff000, EINVAL);
#undef MMAP_FAILS
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.data.offset);
	CHECK(p != MAP_FAILED, "the exact mapping works: %s", strerror(errno));
	if (p == MAP_FAILED)
		goto out;
	CHECK(p[0] == 0 && p[size - 1] == 0, "fresh blocks are zeroed");
	p[0] = 0x5a;
	q = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, b.data.offset);
	CHECK(q != MAP_FAILED && ((unsigned char *)q)[0] == 0x5a, "a second mapping sees the same page");
	if (q != MAP_FAILED)
		munmap(q, len);
	CHECK_ERRNO(mprotect(p, len, PROT_READ | PROT_EXEC), EACCES);
	CHECK_ERRNO(munmap(p, (size_t)page), EINVAL);	/* no partial unmapping */
	CHECK(mremap(p, len, len + (size_t)page, 0) == MAP_FAILED, "no growing by mremap");
	CHECK_OK(munmap(p, len));
out:
	CHECK_OK(ioctl(fd, BLK_FREE));
}

static void test_queue_rules(int fd)
{
	struct iio_buffer_block b, sentinel;

	puts("test: ENQUEUE and non-blocking DEQUEUE rules");
	CHECK(alloc_blocks(fd, 2, 8192, NULL) == 2, "alloc");
	set_nonblock(fd, true);
	memset(&b, 0xa5, sizeof(b));
	sentinel = b;
	CHECK_ERRNO(ioctl(fd, BLK_DEQ, &b), EAGAIN);
	CHECK(memcmp(&b, &sentinel, sizeof(b)) == 0, "EAGAIN writes nothing to userspace");
	CHECK_OK(enqueue(fd, 0));
	CHECK_ERRNO(enqueue(fd, 0), EBUSY);
	CHECK_ERRNO(enqueue(fd, 2), EINVAL);
	CHECK_ERRNO(enqueue(fd, 0xffffffffu), EINVAL);
	b = (struct iio_buffer_block){ .id = 1, .flags = IIO_BUFFER_BLOCK_FLAG_CYCLIC };
	CHECK_ERRNO(ioctl(fd, BLK_ENQ, &b), EINVAL);
	b = (struct iio_buffer_block){ .id = 1, .flags = 1u << 5 };
	CHECK_ERRNO(ioctl(fd, BLK_ENQ, &b), EINVAL);
	CHECK_ERRNO(ioctl(fd, BLK_DEQ, &b), EAGAIN);	/* capture is off */
	CHECK_OK(ioctl(fd, BLK_FREE));
	set_nonblock(fd, false);
}

/*
 * Every ioctl against a block in every state: 0 DONE, 1 ACTIVE, 2 QUEUED,
 * 3 USER. At 10 kS/s block 0 (1024 scans) fills in 0.1 s, and block 1
 * (1 MiB) would take 26 s, so the states hold still while we look.
 */
static void test_state_matrix(int fd)
{
	struct iio_buffer_block b[4], d;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned int i;
	uint32_t first;

	puts("test: every ioctl in every block state");
	CHECK(set_rate(10000) == 0, "rate 10 kS/s");
	CHECK(alloc_blocks(fd, 1, 1024 * scan_bytes, &first) == 1 && first == 0, "block 0: small");
	CHECK(alloc_blocks(fd, 3, 1024 * 1024, &first) == 3 && first == 1, "blocks 1-3: 1 MiB");
	for (i = 0; i < 3; i++)
		enqueue(fd, i);
	CHECK(set_enable(true) == 0, "enable");
	CHECK(poll(&pfd, 1, 5000) == 1, "block 0 is DONE");
	/* The generator thread starts block 1 after finishing block 0; on a
	 * loaded emulated guest the test can look in between. */
	for (i = 0; i < 2000; i++) {
		if (query(fd, 1, &b[1]) == 0 && b[1].timestamp)
			break;
		usleep(1000);
	}
	for (i = 0; i < 4; i++)
		CHECK_OK(query(fd, i, &b[i]));	/* QUERY works in every state */
	CHECK(b[0].bytes_used == 1024 * scan_bytes &&
	      b[0].flags == IIO_BUFFER_BLOCK_FLAG_TIMESTAMP_VALID && b[0].timestamp,
	      "DONE: full, timestamped");
	CHECK(b[1].bytes_used == 0 && b[1].timestamp > b[0].timestamp, "ACTIVE: nothing used yet");
	CHECK(b[2].bytes_used == 0 && b[2].timestamp == 0, "QUEUED: never filled");
	CHECK(b[3].bytes_used == 0 && b[3].flags == 0, "USER: never filled");
	CHECK_ERRNO(enqueue(fd, 0), EBUSY);	/* DONE */
	CHECK_ERRNO(enqueue(fd, 1), EBUSY);	/* ACTIVE */
	CHECK_ERRNO(enqueue(fd, 2), EBUSY);	/* QUEUED */
	set_nonblock(fd, true);
	CHECK(ioctl(fd, BLK_DEQ, &d) == 0 && d.id == 0, "DEQUEUE takes the DONE block only");
	CHECK_ERRNO(ioctl(fd, BLK_DEQ, &d), EAGAIN);	/* ACTIVE and QUEUED stay */
	CHECK_OK(enqueue(fd, 0));	/* USER again: may be queued */
	CHECK_OK(enqueue(fd, 3));
	CHECK(set_enable(false) == 0, "disable");
	CHECK(ioctl(fd, BLK_DEQ, &d) == 0 && d.id == 1 && d.bytes_used > 0 &&
	      d.bytes_used < d.size, "disabling hands back the ACTIVE block part full");
	CHECK_ERRNO(ioctl(fd, BLK_DEQ, &d), EAGAIN);	/* 2, 0, 3 stay queued */
	set_nonblock(fd, false);
	CHECK_OK(ioctl(fd, BLK_FREE));	/* with blocks QUEUED and USER */
	CHECK(sysfs_u64(blk_sysfs, "blocks_allocated") == 0, "all gone");
}

/* The scan index a block of the current stream starts at, from its timestamp. */
static uint64_t scan_of(uint64_t ts, uint64_t ts_ref, uint64_t scan_ref, uint64_t rate)
{
	uint64_t d = ts - ts_ref;

	/* ideal timestamps: exact to 1 ns, so rounding recovers the index */
	return scan_ref + (d / 1000000000u) * rate + ((d % 1000000000u) * rate + 500000000u) /
		1000000000u;
}

struct stream {
	int fd;
	unsigned int nblk;
	uint32_t size;
	void *map[16];
	uint64_t rate;
};

static bool stream_setup(struct stream *s, int fd, unsigned int nblk, uint32_t size, uint64_t rate)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->nblk = nblk;
	s->size = size;
	s->rate = rate;
	if (set_rate((unsigned int)rate) || alloc_blocks(fd, nblk, size, NULL) != (int)nblk)
		return false;
	for (i = 0; i < nblk; i++) {
		s->map[i] = map_block(fd, i);
		if (!s->map[i] || enqueue(fd, i))
			return false;
	}
	return true;
}

static void stream_teardown(struct stream *s)
{
	unsigned int i;

	set_enable(false);
	ioctl(s->fd, BLK_FREE);
	for (i = 0; i < s->nblk; i++)
		if (s->map[i])
			munmap(s->map[i], map_len(s->size));
}

static void test_stream(int fd)
{
	const unsigned int nblk = 4, rounds = 32;
	const uint32_t size = 256 * 1024;
	const uint64_t rate = 1000000; /* 64 ms a block: margin for a loaded TCG host */
	uint64_t scans = size / scan_bytes, t_before, t_after, ts0 = 0, t_start, lost0;
	unsigned int k, bad_pattern = 0, bad_ts = 0, bad_flags = 0, future = 0, got = 0;
	struct iio_buffer_block b;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct stream s;
	int ep;

	puts("test: streaming workflow: pattern, timestamps, poll, epoll");
	lost0 = sysfs_u64(blk_sysfs, "lost_samples");
	CHECK(stream_setup(&s, fd, nblk, size, rate), "set up %u blocks: %s", nblk, strerror(errno));
	CHECK(poll(&pfd, 1, 0) == 0, "nothing to poll before enable");
	t_before = now_ns();
	CHECK(set_enable(true) == 0, "enable");
	t_after = now_ns();
	CHECK(set_rate(1000) == EBUSY, "sampling_frequency refuses a change while capturing");
	CHECK(sysfs_u64(blk_sysfs, "enable") == 1, "enable reads 1");
	t_start = now_ns();
	for (k = 0; k < rounds; k++) {
		int err = dequeue_wait(fd, &b, 5000);

		if (err) {
			CHECK(0, "block %u did not come: %s", k, strerror(err));
			break;
		}
		got++;
		if (k == 0) {
			ts0 = b.timestamp;
			CHECK(ts0 >= t_before && ts0 <= t_after,
			      "scan 0 is stamped at enable (%" PRIu64 " in [%" PRIu64 ", %" PRIu64
			      "])", ts0, t_before, t_after);
		}
		if (b.bytes_used != size || b.flags != IIO_BUFFER_BLOCK_FLAG_TIMESTAMP_VALID ||
		    b.id != k % nblk || b.size != size)
			bad_flags++;
		if (b.timestamp - ts0 != (k * scans) * 1000000000u / rate &&
		    b.timestamp - ts0 != (k * scans) * 1000000000u / rate + 1)
			bad_ts++;
		/* the block's last scan cannot be captured after now */
		if (b.timestamp + (scans - 1) * 1000000000u / rate > now_ns())
			future++;
		if (iios_pattern_check(s.map[b.id], b.bytes_used, k * scans, channels) != -1)
			bad_pattern++;
		if (enqueue(fd, b.id))
			bad_flags++;
	}
	CHECK(got == rounds, "%u of %u blocks", got, rounds);
	CHECK(bad_flags == 0, "%u blocks with wrong id/size/bytes_used/flags", bad_flags);
	CHECK(bad_ts == 0, "%u blocks off the ideal timestamps", bad_ts);
	CHECK(future == 0, "%u blocks delivered before their last scan was due", future);
	CHECK(bad_pattern == 0, "%u blocks with a wrong sample", bad_pattern);
	{
		double secs = (double)(now_ns() - t_start) / 1e9;
		double want = (double)(rounds - 1) * (double)scans / (double)rate;

		printf("  info  %u blocks of %u bytes in %.3f s (paced: %.3f s)\n", rounds, size,
		       secs, want);
		CHECK(secs > want * 0.9, "paced at sampling_frequency, not faster");
	}
	CHECK(poll(&pfd, 1, 2000) == 1 && (pfd.revents & POLLIN), "poll() reports POLLIN");
	ep = epoll_create1(EPOLL_CLOEXEC);
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 7 }, out;

		CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
		CHECK(epoll_wait(ep, &out, 1, 2000) == 1 && out.data.u32 == 7 &&
		      (out.events & EPOLLIN), "epoll reports the fd readable");
	}
	close(ep);
	CHECK(sysfs_u64(blk_sysfs, "lost_samples") == lost0,
	      "nothing lost while blocks were queued (lost_samples counts since load)");
	stream_teardown(&s);
	CHECK(sysfs_u64(blk_sysfs, "enable") == 0, "disabled");
}

static void test_overflow(int fd)
{
	const uint32_t size = 64 * 1024;
	const uint64_t rate = 1000000;
	uint64_t scans = size / scan_bytes, lost0, ovf0, ts_ref = 0, scan_ref = 0, first, gap;
	struct iio_buffer_block b, held[4];
	unsigned int i, n = 0;
	struct stream s;
	int err;

	puts("test: overflow: counted, flagged, and the gap is exact");
	lost0 = sysfs_u64(blk_sysfs, "lost_samples");
	ovf0 = sysfs_u64(blk_sysfs, "overflows");
	CHECK(stream_setup(&s, fd, 4, size, rate), "set up");
	CHECK(set_enable(true) == 0, "enable");
	/* userspace stops giving blocks back: hold every one */
	while (n < 4 && (err = dequeue_wait(fd, &b, 3000)) == 0) {
		if (n == 0) {
			ts_ref = b.timestamp;
			scan_ref = 0;
		}
		held[n++] = b;
	}
	CHECK(n == 4, "all 4 blocks filled and held");
	sleep_ms(100);
	CHECK(sysfs_u64(blk_sysfs, "lost_samples") > lost0, "lost_samples grows while no block is queued");
	CHECK(sysfs_u64(blk_sysfs, "overflows") == ovf0 + 1, "one overflow event");
	for (i = 0; i < n; i++)
		enqueue(fd, held[i].id);
	err = dequeue_wait(fd, &b, 3000);
	CHECK(err == 0 && (b.flags & IIO_BUFFER_BLOCK_FLAG_OVERFLOW) &&
	      (b.flags & IIO_BUFFER_BLOCK_FLAG_TIMESTAMP_VALID), "the next block carries OVERFLOW (flags %#x)",
	      b.flags);
	first = scan_of(b.timestamp, ts_ref, scan_ref, rate);
	gap = first - 4 * scans;
	printf("  info  gap of %" PRIu64 " scans; lost_samples +%" PRIu64 "\n", gap,
	       sysfs_u64(blk_sysfs, "lost_samples") - lost0);
	CHECK(gap > 0 && gap == sysfs_u64(blk_sysfs, "lost_samples") - lost0,
	      "timestamp gap (%" PRIu64 ") equals the lost_samples counted", gap);
	CHECK(iios_pattern_check(s.map[b.id], b.bytes_used, first, channels) == -1,
	      "the block after the gap holds scans from %" PRIu64, first);
	enqueue(fd, b.id);
	err = dequeue_wait(fd, &b, 3000);
	CHECK(err == 0 && b.flags == IIO_BUFFER_BLOCK_FLAG_TIMESTAMP_VALID, "the one after is clean");
	stream_teardown(&s);
}

static void test_disable_partial(int fd)
{
	const uint32_t size = 1024 * 1024;
	struct iio_buffer_block b;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct stream s;
	int n = 0, partial = 0, bad = 0;
	uint64_t t0, fill_ns = (uint64_t)size / scan_bytes * 1000000000ull / 100000, on_ns;

	puts("test: disable hands back the partly filled block, keeps the queue");
	/* 1 MiB takes over 1.3 s at 100 kS/s: disabling after 200 ms leaves it part full */
	CHECK(stream_setup(&s, fd, 2, size, 100000), "set up");
	t0 = now_ns();
	CHECK(set_enable(true) == 0, "enable");
	sleep_ms(200);
	CHECK(set_enable(false) == 0, "disable");
	on_ns = now_ns() - t0;
	set_nonblock(fd, true);
	while (ioctl(fd, BLK_DEQ, &b) == 0) {
		n++;
		if (b.bytes_used < size && b.bytes_used > 0)
			partial++;
		if (b.bytes_used % scan_bytes ||
		    iios_pattern_check(s.map[b.id], b.bytes_used, 0, channels) != -1)
			bad++;
	}
	CHECK(errno == EAGAIN, "then EAGAIN");
	set_nonblock(fd, false);
	if (on_ns < fill_ns) {
		CHECK(n == 1 && partial == 1 && bad == 0,
		      "one partial block of whole scans (n=%d partial=%d bad=%d)", n, partial, bad);
	} else {
		/* a host that stalled the guest for a whole block: nothing to
		 * say of the partial block, but every scan must still be whole */
		printf("  info  capture stayed on %" PRIu64 " ms, a block's fill time; the partial block "
		       "cannot be seen\n", on_ns / 1000000);
		CHECK(n >= 1 && bad == 0, "whole blocks of whole scans (n=%d bad=%d)", n, bad);
		stream_teardown(&s);
		return;
	}
	CHECK(poll(&pfd, 1, 300) == 0, "nothing more while disabled");
	/* the other block stayed queued: re-enabling fills it, from scan 0 again */
	CHECK(set_enable(true) == 0, "re-enable");
	CHECK(dequeue_wait(fd, &b, 20000) == 0 && b.id == 1 && b.bytes_used == size &&
	      iios_pattern_check(s.map[1], size, 0, channels) == -1,
	      "the queued block fills next, a new stream from scan 0");
	stream_teardown(&s);
}

/* channel_mask: blocks of some channels only, set while capture is off. */
static void test_channel_mask(int fd)
{
	const unsigned char last[] = { (unsigned char)(channels - 1) };
	const uint32_t size = 65536;
	struct iio_buffer_block b;
	struct stream s;
	char all[16], one[16];

	puts("test: channel_mask picks the channels blocks capture");
	snprintf(all, sizeof(all), "0x%x", (1u << channels) - 1);
	snprintf(one, sizeof(one), "0x%x", 1u << (channels - 1));
	CHECK(sysfs_u64(blk_sysfs, "channel_mask") == (1u << channels) - 1, "every channel at load");
	CHECK(sysfs_write(blk_sysfs, "channel_mask", "0") == EINVAL, "no channel: EINVAL");
	CHECK(sysfs_write(blk_sysfs, "channel_mask", "0x10000") == EINVAL,
	      "a channel the ADC does not have: EINVAL");
	CHECK(sysfs_write(blk_sysfs, "channel_mask", "lots") == EINVAL, "not a number: EINVAL");
	CHECK(stream_setup(&s, fd, 2, size, 1000000), "set up");
	CHECK(sysfs_write(blk_sysfs, "channel_mask", one) == 0, "the last channel only");
	CHECK(sysfs_u64(blk_sysfs, "scan_bytes") == 2, "scan_bytes follows: 2");
	CHECK(set_enable(true) == 0, "enable");
	CHECK(sysfs_write(blk_sysfs, "channel_mask", all) == EBUSY, "while capturing: EBUSY");
	CHECK(dequeue_wait(fd, &b, 5000) == 0 && b.bytes_used == size &&
	      iios_pattern_check_ids(s.map[b.id], b.bytes_used, 0, last, 1) == -1,
	      "a block of channel %u's samples alone, from scan 0", channels - 1);
	CHECK(set_enable(false) == 0, "disable");
	CHECK(sysfs_write(blk_sysfs, "channel_mask", all) == 0, "every channel again");
	CHECK(sysfs_u64(blk_sysfs, "scan_bytes") == scan_bytes, "scan_bytes back");
	stream_teardown(&s);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void test_signal_wakes(int fd)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct iio_buffer_block b;
	uint64_t t0;

	puts("test: a blocking DEQUEUE wakes on a signal");
	CHECK(alloc_blocks(fd, 1, 4096, NULL) == 1 && enqueue(fd, 0) == 0, "one block queued, capture off");
	sigaction(SIGALRM, &sa, NULL);
	t0 = now_ns();
	alarm(1);
	CHECK_ERRNO(ioctl(fd, BLK_DEQ, &b), EINTR);
	CHECK(now_ns() - t0 < 3000000000ull, "within the second");
	signal(SIGALRM, SIG_DFL);
	ioctl(fd, BLK_FREE);
}

struct waiter {
	int fd;
	int err;
};

static void *dequeue_thread(void *arg)
{
	struct waiter *w = arg;
	struct iio_buffer_block b;

	w->err = ioctl(w->fd, BLK_DEQ, &b) ? errno : 0;
	return NULL;
}

static void test_free_wakes(int fd)
{
	struct waiter w = { .fd = fd, .err = -1 };
	pthread_t t;

	puts("test: FREE wakes a blocked DEQUEUE");
	CHECK(alloc_blocks(fd, 1, 4096, NULL) == 1 && enqueue(fd, 0) == 0, "one block queued");
	pthread_create(&t, NULL, dequeue_thread, &w);
	sleep_ms(200);
	CHECK_OK(ioctl(fd, BLK_FREE));
	pthread_join(t, NULL);
	CHECK(w.err == EINVAL, "the waiter got EINVAL (got %s)", strerror(w.err));
}

static void test_free_while_mapped(int fd)
{
	const uint32_t size = 128 * 1024;
	uint64_t live0 = blocks_live(), sum = 0;
	struct iio_buffer_block b;
	struct stream s;
	unsigned int i;
	size_t j;

	puts("test: FREE while blocks are mapped and being filled");
	CHECK(stream_setup(&s, fd, 4, size, 4000000), "set up");
	CHECK(set_enable(true) == 0, "enable");
	sleep_ms(30);
	CHECK_OK(ioctl(fd, BLK_FREE));	/* while the filler is at work */
	CHECK_ERRNO(query(fd, 0, &b), EINVAL);
	CHECK_ERRNO(ioctl(fd, BLK_DEQ, &b), EINVAL);
	CHECK(blocks_live() == live0 + 4, "mapped memory lives on (%" PRIu64 ")", blocks_live());
	for (i = 0; i < 4; i++)
		for (j = 0; j < size; j += 512)
			sum += ((unsigned char *)s.map[i])[j];
	printf("  info  read every page of the freed blocks (sum %" PRIu64 ")\n", sum);
	set_enable(false);
	for (i = 0; i < 4; i++) {
		munmap(s.map[i], map_len(size));
		s.map[i] = NULL;
	}
	CHECK(blocks_live() == live0, "the last munmap frees them (%" PRIu64 ")", blocks_live());
	stream_teardown(&s);
}

/* Several processes on one open file: children dequeue, verify, enqueue. */
static void test_processes(int fd)
{
	const uint32_t size = 64 * 1024;
	const uint64_t rate = 1000000;
	uint64_t scans = size / scan_bytes, ts_ref;
	struct iio_buffer_block b;
	struct stream s;
	pid_t pids[3];
	int i, st, good = 0;

	puts("test: several processes share the node");
	CHECK(stream_setup(&s, fd, 8, size, rate), "set up");
	CHECK(set_enable(true) == 0, "enable");
	CHECK(dequeue_wait(fd, &b, 3000) == 0 && b.id == 0, "first block");
	ts_ref = b.timestamp;	/* scan 0: children locate blocks from here */
	enqueue(fd, b.id);
	for (i = 0; i < 3; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			int k, bad = 0;

			for (k = 0; k < 8; k++) {
				struct iio_buffer_block cb;
				int e = dequeue_wait(fd, &cb, 5000);

				if (e == EAGAIN || e == ETIMEDOUT) {	/* a sibling was faster */
					k--;
					continue;
				}
				if (e) {
					bad++;
					break;
				}
				if (iios_pattern_check(s.map[cb.id], cb.bytes_used,
						       scan_of(cb.timestamp, ts_ref, 0, rate),
						       channels) != -1 ||
				    cb.bytes_used != size)
					bad++;
				if (enqueue(fd, cb.id))
					bad++;
			}
			_exit(bad ? 1 : 0);
		}
	}
	set_nonblock(fd, false);
	for (i = 0; i < 3; i++) {
		waitpid(pids[i], &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			good++;
	}
	CHECK(good == 3, "3 processes each verified 8 blocks (%d ok)", good);
	(void)scans;
	stream_teardown(&s);
}

/* Block pages can be pinned: send(MSG_ZEROCOPY) and vmsplice() use GUP. */
static void test_pinning(int fd)
{
	const uint32_t size = 64 * 1024;
	struct iio_buffer_block b;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int ls, cs, ss, one = 1, pfd[2];
	unsigned char *rx;
	ssize_t n, total = 0;
	struct stream s;

	puts("test: block pages can be pinned (MSG_ZEROCOPY, vmsplice)");
	CHECK(stream_setup(&s, fd, 2, size, 2000000), "set up");
	set_enable(true);
	CHECK(dequeue_wait(fd, &b, 3000) == 0, "a filled block");
	set_enable(false);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	bind(ls, (struct sockaddr *)&a, sizeof(a));
	listen(ls, 1);
	getsockname(ls, (struct sockaddr *)&a, &alen);
	cs = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_OK(setsockopt(cs, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)));
	CHECK_OK(connect(cs, (struct sockaddr *)&a, sizeof(a)));
	ss = accept(ls, NULL, NULL);
	n = send(cs, s.map[b.id], b.bytes_used, MSG_ZEROCOPY);
	CHECK(n > 0, "send(MSG_ZEROCOPY) from the mapped block: %s", n < 0 ? strerror(errno) : "ok");
	rx = malloc(size);
	while (n > 0 && total < n) {
		ssize_t r = recv(ss, rx + total, (size_t)(n - total), 0);

		if (r <= 0)
			break;
		total += r;
	}
	CHECK(total == n && memcmp(rx, s.map[b.id], (size_t)n) == 0, "the peer got the block's bytes");
	{
		char ctl[128];
		struct msghdr m = { .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		struct pollfd p = { .fd = cs, .events = 0 };
		struct cmsghdr *c;
		int got = 0;

		poll(&p, 1, 1000);
		if (recvmsg(cs, &m, MSG_ERRQUEUE) >= 0)
			for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
				struct sock_extended_err *ee = (void *)CMSG_DATA(c);

				if (ee->ee_origin == SO_EE_ORIGIN_ZEROCOPY && ee->ee_errno == 0)
					got = 1;
			}
		CHECK(got, "its zero-copy completion arrived");
	}
	free(rx);
	close(ss);
	close(cs);
	close(ls);
	CHECK_OK(pipe(pfd));
	{
		struct iovec iov = { .iov_base = s.map[b.id], .iov_len = 4096 };
		unsigned char buf[4096];

		CHECK(vmsplice(pfd[1], &iov, 1, 0) == 4096, "vmsplice() of a block page: %s",
		      strerror(errno));
		CHECK(read(pfd[0], buf, sizeof(buf)) == 4096 && memcmp(buf, s.map[b.id], 4096) == 0,
		      "and the pipe carries its bytes");
	}
	close(pfd[0]);
	close(pfd[1]);
	stream_teardown(&s);
}

/* Scan @n of the active channels @act[0..@nact-1] is at @p. */
static bool kfifo_scan_is(const unsigned char *p, uint64_t n, const unsigned int *act,
			  unsigned int nact)
{
	for (unsigned int k = 0; k < nact; k++, p += 2)
		if ((uint16_t)(p[0] | p[1] << 8) != iios_pattern_sample(n, act[k]))
			return false;
	return true;
}

/*
 * The standard IIO path: scan_elements, buffer/enable, read(). Scans come
 * from 0 in order; a generator more than 100 ms late (a slow or descheduled
 * guest) drops the excess and counts it in fifo_lost_samples, so the data
 * may skip scans, but never more than were counted.
 */
static void test_kfifo(unsigned int mask)
{
	char path[512];
	unsigned int c, nact = 0, act[16];
	int fd;
	size_t want = 64 * 1024, got = 0, i;
	unsigned char *buf = malloc(want);
	uint64_t lost0, lost, scan = 0, skipped = 0;
	bool bad = false;

	printf("test: the kfifo buffer via read(), channel mask %#x\n", mask);
	for (c = 0; c < channels; c++) {
		snprintf(path, sizeof(path), "scan_elements/in_voltage%u_en", c);
		sysfs_write(iio_sysfs, path, (mask >> c) & 1 ? "1" : "0");
		if ((mask >> c) & 1)
			act[nact++] = c;
	}
	set_rate(200000);
	sysfs_write(iio_sysfs, "buffer/length", "65536");
	fd = open(iio_node, O_RDONLY | O_NONBLOCK);
	CHECK(fd >= 0, "open %s: %s", iio_node, strerror(errno));
	lost0 = sysfs_u64(iio_sysfs, "fifo_lost_samples");
	CHECK(sysfs_write(iio_sysfs, "buffer/enable", "1") == 0, "buffer/enable");
	while (fd >= 0 && got < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 3000) != 1)
			break;
		n = read(fd, buf + got, want - got);
		if (n > 0)
			got += (size_t)n;
	}
	sysfs_write(iio_sysfs, "buffer/enable", "0");
	CHECK(got == want, "read %zu of %zu bytes", got, want);
	lost = sysfs_u64(iio_sysfs, "fifo_lost_samples");
	CHECK(lost != UINT64_MAX && lost0 != UINT64_MAX, "fifo_lost_samples readable");
	lost -= lost0;
	/* samples of the enabled channels, in order, scans from 0, skipping
	 * at most the scans counted lost */
	for (i = 0; !bad && i + 2 * nact <= got; i += 2 * nact, scan++) {
		uint64_t n = scan;

		while (!kfifo_scan_is(buf + i, n, act, nact) && n - scan < lost - skipped)
			n++;
		bad = !kfifo_scan_is(buf + i, n, act, nact);
		if (!bad) {
			skipped += n - scan;
			scan = n;
		}
	}
	if (skipped)
		printf("  info  %" PRIu64 " scans skipped; fifo_lost_samples +%" PRIu64 "\n", skipped, lost);
	CHECK(!bad, "every sample is the pattern's (byte %zu differs; %" PRIu64
	      " scans skipped, %" PRIu64 " counted lost)", bad ? i - 2 * nact : i, skipped, lost);
	if (fd >= 0)
		close(fd);
	for (c = 0; c < channels; c++) {
		snprintf(path, sizeof(path), "scan_elements/in_voltage%u_en", c);
		sysfs_write(iio_sysfs, path, "1");
	}
	free(buf);
}

static void test_close_while_mapped(void)
{
	uint64_t live0 = blocks_live();
	unsigned char *p;
	int fd, fd2;

	puts("test: close while mapped, then munmap");
	fd = open_dev(0);
	CHECK(fd >= 0 && alloc_blocks(fd, 1, 8192, NULL) == 1, "open and alloc");
	p = map_block(fd, 0);
	CHECK(p != NULL, "mapped");
	CHECK_OK(close(fd));
	CHECK(p && p[100] == 0, "the mapping still reads after close");
	fd2 = open_dev(0);
	CHECK(fd2 == -1 && errno == EBUSY, "the mapping keeps the file open: EBUSY");
	if (fd2 >= 0)
		close(fd2);
	if (p)
		munmap(p, map_len(8192));
	CHECK(blocks_live() == live0, "the last munmap released the blocks");
	fd2 = open_dev(0);
	CHECK(fd2 >= 0, "and the node opens again");
	if (fd2 >= 0)
		close(fd2);
}

/* Unbind the driver with the node open, a DEQUEUE waiting and a mapping. */
static void test_removal(void)
{
	const char *drv = "/sys/bus/platform/drivers/iiostream-sim";
	struct pollfd pfd;
	struct iio_buffer_block b;
	unsigned char *p;
	pid_t pid;
	int fd, st;

	puts("test: device removal with the node open");
	fd = open_dev(0);
	CHECK(fd >= 0 && alloc_blocks(fd, 1, 8192, NULL) == 1 && enqueue(fd, 0) == 0, "open, one block queued");
	p = map_block(fd, 0);
	pid = fork();
	if (pid == 0) {
		struct iio_buffer_block cb;

		_exit(ioctl(fd, BLK_DEQ, &cb) == -1 && errno == ENODEV ? 0 : 1);
	}
	sleep_ms(300);
	CHECK(sysfs_write(drv, "unbind", "iiostream-sim.0") == 0, "unbind");
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the waiting DEQUEUE returned ENODEV");
	CHECK_ERRNO(ioctl(fd, BLK_QUERY, &b), ENODEV);
	CHECK_ERRNO(ioctl(fd, BLK_FREE), ENODEV);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR)), "poll() says hung up");
	CHECK(mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED && errno == ENODEV,
	      "mmap ENODEV");
	CHECK(p && p[0] == 0, "the old mapping still reads");
	if (p)
		munmap(p, 8192);
	close(fd);
	CHECK(sysfs_write(drv, "bind", "iiostream-sim.0") == 0, "rebind");
	fd = open_dev(0);
	CHECK(fd >= 0 && alloc_blocks(fd, 1, 8192, NULL) == 1, "the new node works");
	if (fd >= 0)
		close(fd);
}

static int find_paths(void)
{
	char path[512], name[64];
	const char *base = strrchr(dev_path, '/');

	snprintf(blk_sysfs, sizeof(blk_sysfs), "/sys/class/iio_block/%s", base ? base + 1 : dev_path);
	snprintf(path, sizeof(path), "%s/iio_device", blk_sysfs);
	if (sysfs_read_path(path, name, sizeof(name))) {
		fprintf(stderr, "iio_block_compliance: %s: %s (is iiostream_sim loaded?)\n", path,
			strerror(errno));
		return -1;
	}
	snprintf(iio_sysfs, sizeof(iio_sysfs), "/sys/bus/iio/devices/%s", name);
	snprintf(iio_node, sizeof(iio_node), "/dev/%s", name);
	scan_bytes = (unsigned int)sysfs_u64(blk_sysfs, "scan_bytes");
	for (channels = 0; channels < 64; channels++) {
		snprintf(path, sizeof(path), "%s/scan_elements/in_voltage%u_en", iio_sysfs, channels);
		if (access(path, F_OK))
			break;
	}
	max_block_size = sysfs_u64("/sys/module/iiostream_sim/parameters", "max_block_size");
	max_alloc_bytes = sysfs_u64("/sys/module/iiostream_sim/parameters", "max_alloc_bytes");
	return 0;
}

/* --verify-stdin N: iio_readdev's output (N channels from scan 0) verifies. */
static int verify_stdin(unsigned int nch)
{
	unsigned char buf[65536];
	uint64_t sample = 0;
	size_t n, i;

	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
		for (i = 0; i + 1 < n; i += 2, sample++) {
			uint16_t v = (uint16_t)(buf[i] | buf[i + 1] << 8);

			if (v != iios_pattern_sample(sample / nch, (uint32_t)(sample % nch))) {
				fprintf(stderr, "sample %" PRIu64 " (scan %" PRIu64 ", channel %"
					PRIu64 "): %#x, want %#x\n", sample, sample / nch,
					sample % nch, v,
					iios_pattern_sample(sample / nch, (uint32_t)(sample % nch)));
				return 1;
			}
		}
	}
	printf("verified %" PRIu64 " samples (%" PRIu64 " scans)\n", sample, sample / nch);
	return sample ? 0 : 1;
}

int main(int argc, char **argv)
{
	bool removal = true;
	uint64_t live0;
	int i, fd;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dev") && i + 1 < argc)
			dev_path = argv[++i];
		else if (!strcmp(argv[i], "--verify-stdin") && i + 1 < argc)
			return verify_stdin((unsigned int)atoi(argv[i + 1]) ?: 1);
		else if (!strcmp(argv[i], "--no-remove"))
			removal = false;
		else {
			fprintf(stderr, "usage: iio_block_compliance [--dev PATH] [--no-remove] | --verify-stdin CHANNELS\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	if (find_paths())
		return 2;
	printf("iio_block_compliance: %s, %s, %u channels, max_block_size %" PRIu64
	       ", max_alloc_bytes %" PRIu64 "\n", dev_path, iio_sysfs, channels, max_block_size,
	       max_alloc_bytes);
	live0 = blocks_live();

	test_layout_and_numbers();
	test_sysfs_links();
	fd = open_dev(0);
	if (fd < 0) {
		printf("  FAIL  open %s: %s\n", dev_path, strerror(errno));
		return 1;
	}
	test_open_exclusive(fd);
	test_bad_ioctls(fd);
	test_empty_state(fd);
	test_alloc_errors(fd);
	test_alloc_query_free(fd);
	test_mmap_rules(fd);
	test_queue_rules(fd);
	test_state_matrix(fd);
	test_stream(fd);
	test_overflow(fd);
	test_disable_partial(fd);
	if (channels > 1)
		test_channel_mask(fd);
	test_signal_wakes(fd);
	test_free_wakes(fd);
	test_free_while_mapped(fd);
	test_processes(fd);
	test_pinning(fd);
	close(fd);
	test_kfifo((1u << channels) - 1);
	if (channels > 1)
		test_kfifo(2u);
	test_close_while_mapped();
	CHECK(blocks_live() == live0, "no block left behind (blocks_live %" PRIu64 ")", blocks_live());
	if (removal)
		test_removal();

	printf("\niio_block_compliance: %u passed, %u failed\n", cpl_passed, cpl_failed);
	return cpl_failed ? 1 : 0;
}
