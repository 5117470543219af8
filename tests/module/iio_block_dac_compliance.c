// SPDX-License-Identifier: MIT
/*
 * iio_block_dac_compliance - the output direction of /dev/iio_blockN, as
 * the iiostream_sim module's DAC (dac=1) implements it (docs/uapi.md, "The
 * output direction"), checked the way iio_block_compliance checks capture:
 * states, ENQUEUE's bytes_used, order and pace of play, CYCLIC repeat and
 * switch at the boundary and underflows, verified sample by sample through
 * the loopback into the ADC, the errors, and three threads racing the
 * queue against enable, FREE, ALLOC, mmap, the loopback and the rates.
 *
 *   iio_block_dac_compliance [--dac /dev/iio_blockN] [--adc /dev/iio_blockM] [--no-remove]
 *
 * The last test unbinds and binds the DAC (iiostream-sim-dac.0) while it
 * loops back into the capturing ADC; --no-remove skips it.
 * Without options it finds the nodes by their `direction` attribute. It
 * expects the module loaded with dac=1 and nothing else using either node.
 * With le:s16/16 channels and no timestamp it runs every test; with another
 * format= or timestamp=1 the format-independent ones (ENQUEUE's rules, and
 * the loopback byte for byte in the module's format, the ADC's timestamps
 * kept). One line per check, "N passed, N failed" at the end, exit 0 only
 * when nothing failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <iiostream/iio_block.h>
#include <iiostream/scan.h>

#include "compliance.h"

unsigned int cpl_passed, cpl_failed;

#define BLK_ALLOC IIO_BUFFER_BLOCK_ALLOC_IOCTL
#define BLK_FREE IIO_BUFFER_BLOCK_FREE_IOCTL
#define BLK_QUERY IIO_BUFFER_BLOCK_QUERY_IOCTL
#define BLK_ENQ IIO_BUFFER_BLOCK_ENQUEUE_IOCTL
#define BLK_DEQ IIO_BUFFER_BLOCK_DEQUEUE_IOCTL
#define TS_VALID IIO_BUFFER_BLOCK_FLAG_TIMESTAMP_VALID
#define CYCLIC IIO_BUFFER_BLOCK_FLAG_CYCLIC
#define UNDERFLOW IIO_BUFFER_BLOCK_FLAG_UNDERFLOW

struct node {
	char dev[300];    /* /dev/iio_blockN */
	char blk[600];    /* /sys/class/iio_block/iio_blockN */
	char iio[256];    /* /sys/bus/iio/devices/iio:deviceN */
	unsigned int sb;  /* scan_bytes */
};

static struct node dac, adc;
static unsigned int channels;
static long page;

/* ---- small helpers (and compliance.h's) ---- */

static int enable(const struct node *n, bool on)
{
	return sysfs_write(n->blk, "enable", on ? "1" : "0");
}

static uint64_t blocks_live(void)
{
	return sysfs_u64("/sys/module/iiostream_sim/parameters", "blocks_live");
}

static int alloc_blocks(int fd, uint32_t count, uint32_t size)
{
	struct iio_buffer_block_alloc_req req = { .type = 0, .size = size, .count = count };

	return ioctl(fd, BLK_ALLOC, &req) ? -1 : (int)req.count;
}

static int query(int fd, uint32_t id, struct iio_buffer_block *b)
{
	memset(b, 0, sizeof(*b));
	b->id = id;
	return ioctl(fd, BLK_QUERY, b);
}

/* ENQUEUE of an output block: what to play, and how */
static int play(int fd, uint32_t id, uint32_t bytes_used, uint32_t flags)
{
	struct iio_buffer_block b = { .id = id, .bytes_used = bytes_used, .flags = flags };

	return ioctl(fd, BLK_ENQ, &b);
}

static uint16_t *map_block(int fd, uint32_t id)
{
	struct iio_buffer_block b;
	void *p;

	if (query(fd, id, &b))
		return NULL;
	p = mmap(NULL, ((size_t)b.size + (size_t)page - 1) & ~((size_t)page - 1),
		 PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.data.offset);
	return p == MAP_FAILED ? NULL : p;
}

/* Wait up to @ms for a DONE block; 0, or an errno. */
static int dequeue_wait(int fd, struct iio_buffer_block *b, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, ms) != 1)
		return ETIMEDOUT;
	return ioctl(fd, BLK_DEQ, b) ? errno : 0;
}

/* Wait up to @ms for sysfs @name of @dir to read @want. */
static bool wait_attr(const char *dir, const char *name, uint64_t want, int ms)
{
	while (sysfs_u64(dir, name) != want && ms-- > 0)
		sleep_ms(1);
	return sysfs_u64(dir, name) == want;
}

/* Scans between two ideal timestamps at @rate, rounded. */
static uint64_t scans_between(uint64_t t0, uint64_t t1, uint64_t rate)
{
	uint64_t d = t1 - t0;

	return (d / 1000000000u) * rate + ((d % 1000000000u) * rate + 500000000u) / 1000000000u;
}

/* The value block @tag plays on channel @c at scan @i: never 0, so that
 * silence is told apart; the channel in bit 14. */
static uint16_t tagged(unsigned int tag, uint32_t i, unsigned int c)
{
	return (uint16_t)(((tag << 11) | (i & 0x7ff)) ^ (c << 14));
}

static void fill_tagged(uint16_t *p, unsigned int tag, uint32_t scans)
{
	uint32_t i;
	unsigned int c;

	for (i = 0; i < scans; i++)
		for (c = 0; c < channels; c++)
			p[i * channels + c] = tagged(tag, i, c);
}

/* ---- the tests ---- */

static void test_sysfs(void)
{
	char buf[128];
	unsigned int c;
	bool ok = true;

	puts("test: the DAC's nodes say it is an output");
	CHECK(sysfs_read(dac.blk, "direction", buf, sizeof(buf)) == 0 && !strcmp(buf, "out"),
	      "DAC node direction '%s'", buf);
	CHECK(sysfs_read(adc.blk, "direction", buf, sizeof(buf)) == 0 && !strcmp(buf, "in"),
	      "ADC node direction '%s'", buf);
	CHECK(sysfs_read(dac.iio, "name", buf, sizeof(buf)) == 0 &&
	      !strcmp(buf, "iiostream-sim-dac"), "IIO name '%s'", buf);
	for (c = 0; c < channels; c++) {
		char name[64];

		snprintf(name, sizeof(name), "out_voltage%u_raw", c);
		if (sysfs_read(dac.iio, name, buf, sizeof(buf)) || strcmp(buf, "0"))
			ok = false;
	}
	CHECK(ok, "out_voltageN_raw for each of %u channels, 0 while idle", channels);
	CHECK(sysfs_u64(dac.iio, "loopback") == 0, "loopback is off at load");
	CHECK(sysfs_read(dac.iio, "block_device", buf, sizeof(buf)) == 0 && strstr(dac.dev, buf),
	      "block_device '%s'", buf);
	CHECK(sysfs_u64(dac.blk, "underflows") != UINT64_MAX &&
	      sysfs_u64(dac.blk, "underflow_samples") != UINT64_MAX &&
	      sysfs_u64(dac.blk, "underflowing") == 0, "underflow counters, not underflowing");
	CHECK(sysfs_u64(dac.blk, "lost_samples") == UINT64_MAX &&
	      sysfs_u64(adc.blk, "underflows") == UINT64_MAX,
	      "each direction has its own counters");
}

static void test_enqueue_rules(int fd, int afd)
{
	struct iio_buffer_block b;
	uint32_t size = 64 * dac.sb;

	puts("test: ENQUEUE of an output block: bytes_used and flags");
	CHECK(alloc_blocks(fd, 2, size) == 2, "alloc 2 blocks of 64 scans");
	CHECK_ERRNO(play(fd, 0, 0, 0), EINVAL);			/* nothing to play */
	CHECK_ERRNO(play(fd, 0, dac.sb + 1, 0), EINVAL);	/* not whole scans */
	CHECK_ERRNO(play(fd, 0, size + dac.sb, 0), EINVAL);	/* past the block */
	CHECK_ERRNO(play(fd, 0, 0xffffffffu, 0), EINVAL);
	CHECK_ERRNO(play(fd, 0, size, UNDERFLOW), EINVAL);	/* the driver's to set */
	CHECK_ERRNO(play(fd, 0, size, TS_VALID), EINVAL);
	CHECK_ERRNO(play(fd, 0, size, 1u << 5), EINVAL);
	CHECK_ERRNO(play(fd, 2, size, 0), EINVAL);		/* no such id */
	CHECK(query(fd, 0, &b) == 0 && b.bytes_used == 0, "a refused ENQUEUE changes nothing");
	CHECK_OK(play(fd, 0, 10 * dac.sb, CYCLIC));
	CHECK(query(fd, 0, &b) == 0 && b.bytes_used == 10 * dac.sb && b.flags == CYCLIC &&
	      b.timestamp == 0, "QUERY of a QUEUED block: its bytes_used and CYCLIC (%u, %#x)",
	      b.bytes_used, b.flags);
	CHECK_ERRNO(play(fd, 0, size, 0), EBUSY);		/* QUEUED */
	CHECK_OK(play(fd, 1, size, 0));				/* the whole block */
	CHECK_OK(ioctl(fd, BLK_FREE));
	/* capture refuses CYCLIC */
	CHECK(alloc_blocks(afd, 1, 4096) == 1, "ADC: alloc");
	b = (struct iio_buffer_block){ .id = 0, .flags = CYCLIC };
	CHECK_ERRNO(ioctl(afd, BLK_ENQ, &b), EINVAL);
	CHECK_OK(ioctl(afd, BLK_FREE));
}

/*
 * Blocks play in order, at the rate, each handed back DONE with what it
 * played; silence before the first block is no underflow, running dry
 * after it is one.
 */
static void test_play_order(int fd)
{
	const uint64_t rate = 10000;
	const uint32_t len[3] = { 100, 200, 50 };	/* scans to play */
	struct iio_buffer_block b[3], q;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	uint64_t t_en, t_q, t_end, at, uf0 = sysfs_u64(dac.blk, "underflows");
	unsigned int i;
	int err = 0;

	puts("test: blocks play in order at the rate, and come back empty");
	CHECK(set_u64(dac.iio, "sampling_frequency", rate) == 0, "rate 10 kS/s");
	CHECK(alloc_blocks(fd, 3, 300 * dac.sb) == 3, "alloc 3 blocks of 300 scans");
	t_en = now_ns();
	CHECK(enable(&dac, true) == 0, "enable with nothing queued");
	CHECK(set_u64(dac.iio, "sampling_frequency", 1000) == EBUSY,
	      "sampling_frequency refuses a change while playing");
	sleep_ms(30);
	CHECK(sysfs_u64(dac.blk, "underflows") == uf0 && sysfs_u64(dac.blk, "underflowing") == 0,
	      "silence before the first block is no underflow");
	CHECK(sysfs_u64(dac.blk, "played_samples") >= 100, "played_samples counts the silence (%"
	      PRIu64 ")", sysfs_u64(dac.blk, "played_samples"));
	CHECK(poll(&pfd, 1, 0) == 0, "nothing to poll before a block played");
	t_q = now_ns();
	for (i = 0; i < 3; i++)
		CHECK_OK(play(fd, i, len[i] * dac.sb, 0));
	for (i = 0; i < 3 && !err; i++) {
		err = dequeue_wait(fd, &b[i], POLLOUT, 5000);
		CHECK(err == 0 && b[i].id == i, "block %u comes back %s (id %u)", i,
		      err ? strerror(err) : "in order", b[i].id);
	}
	t_end = now_ns();
	if (err)
		goto out;
	for (i = 0; i < 3; i++)
		CHECK(b[i].bytes_used == len[i] * dac.sb && b[i].flags == TS_VALID &&
		      b[i].size == 300 * dac.sb,
		      "block %u: bytes_used %u (played all), flags %#x", i, b[i].bytes_used,
		      b[i].flags);
	CHECK(b[0].timestamp >= t_q && b[0].timestamp <= t_end,
	      "block 0 is stamped when it began, after its ENQUEUE");
	CHECK(scans_between(b[0].timestamp, b[1].timestamp, rate) == len[0] &&
	      scans_between(b[1].timestamp, b[2].timestamp, rate) == len[1],
	      "each block starts where the one before ended: %" PRIu64 ", %" PRIu64 " scans",
	      scans_between(b[0].timestamp, b[1].timestamp, rate),
	      scans_between(b[1].timestamp, b[2].timestamp, rate));
	CHECK(b[2].timestamp + len[2] * 1000000000u / rate <= now_ns() &&
	      (double)(t_end - t_q) / 1e9 > 0.9 * 350 / (double)rate,
	      "paced: 350 scans in %.3f s, not faster", (double)(t_end - t_q) / 1e9);
	CHECK(b[0].timestamp - t_en >= 30000000u, "silence played before it, from enable");
	CHECK(wait_attr(dac.blk, "underflowing", 1, 2000) &&
	      sysfs_u64(dac.blk, "underflows") == uf0 + 1,
	      "running dry after playing is an underflow (underflows %" PRIu64 ")",
	      sysfs_u64(dac.blk, "underflows"));
	/* the scan index of the stream (from enable, which t_en precedes by
	 * the sysfs write's time: 10 ms of slack) */
	at = scans_between(t_en, b[2].timestamp, rate) + len[2];
	CHECK(sysfs_u64(dac.blk, "underflow_at") <= at &&
	      sysfs_u64(dac.blk, "underflow_at") + rate / 100 >= at,
	      "underflow_at %" PRIu64 " is the scan after the last block (about %" PRIu64 ")",
	      sysfs_u64(dac.blk, "underflow_at"), at);
	/* every state: 0 ACTIVE (1 s long), 1 QUEUED, 2 USER, then DONE */
	CHECK_OK(play(fd, 0, 300 * dac.sb, 0));
	CHECK_OK(play(fd, 1, 300 * dac.sb, 0));
	sleep_ms(5);
	CHECK_ERRNO(play(fd, 0, dac.sb, 0), EBUSY);	/* ACTIVE or QUEUED: the kernel's */
	CHECK_ERRNO(play(fd, 1, dac.sb, 0), EBUSY);
	CHECK(query(fd, 2, &q) == 0 && q.bytes_used == len[2] * dac.sb,
	      "USER: QUERY shows what it last played");
	err = dequeue_wait(fd, &q, POLLOUT, 3000);
	CHECK(err == 0 && q.id == 0 && (q.flags & UNDERFLOW) && q.flags & TS_VALID,
	      "the block after the underflow is flagged UNDERFLOW (flags %#x)", q.flags);
	CHECK(sysfs_u64(dac.blk, "last_underflow_samples") ==
	      scans_between(b[2].timestamp, q.timestamp, rate) - len[2],
	      "last_underflow_samples (%" PRIu64 ") is the gap the timestamps show (%" PRIu64 ")",
	      sysfs_u64(dac.blk, "last_underflow_samples"),
	      scans_between(b[2].timestamp, q.timestamp, rate) - len[2]);
	CHECK(sysfs_u64(dac.blk, "underflow_samples") >= sysfs_u64(dac.blk, "last_underflow_samples"),
	      "underflow_samples adds them up");
out:
	CHECK(enable(&dac, false) == 0, "disable");
	CHECK(sysfs_u64(dac.blk, "underflowing") == 0, "no underflow while disabled");
	CHECK_OK(ioctl(fd, BLK_FREE));
}

/* Disable and FREE while a block plays. */
static void test_stop_while_playing(int fd)
{
	const uint64_t rate = 10000;
	uint64_t live0 = blocks_live(), uf0;
	struct iio_buffer_block b;
	int err;

	puts("test: disable and FREE while playing");
	CHECK(alloc_blocks(fd, 3, 10000 * dac.sb) == 3, "alloc 3 blocks of 1 s");
	/* a one-scan CYCLIC block at 10 MS/s: 10 000 repetitions a ms */
	CHECK(set_u64(dac.iio, "sampling_frequency", 10000000) == 0, "rate 10 MS/s");
	CHECK_OK(play(fd, 0, dac.sb, CYCLIC));
	CHECK(enable(&dac, true) == 0, "enable");
	sleep_ms(200);
	CHECK(sysfs_u64(dac.blk, "played_samples") >= 1000000 &&
	      sysfs_u64(dac.blk, "underflowing") == 0,
	      "a one-scan CYCLIC block repeats at 10 MS/s (%" PRIu64 " scans in 200 ms)",
	      sysfs_u64(dac.blk, "played_samples"));
	CHECK(enable(&dac, false) == 0, "disable");
	err = dequeue_wait(fd, &b, POLLIN, 1000);
	CHECK(err == 0 && b.id == 0 && b.bytes_used == dac.sb, "and comes back DONE, one scan");
	CHECK(set_u64(dac.iio, "sampling_frequency", rate) == 0, "rate");
	/* a CYCLIC block disabled after some repetitions: DONE, one repetition */
	CHECK_OK(play(fd, 0, 100 * dac.sb, CYCLIC));
	CHECK(enable(&dac, true) == 0, "enable");
	sleep_ms(40);
	CHECK(ioctl(fd, BLK_DEQ, &b) == -1 && errno == EAGAIN ? 1 : 0, "a repeating block stays");
	CHECK(enable(&dac, false) == 0, "disable");
	err = dequeue_wait(fd, &b, POLLIN, 1000);
	CHECK(err == 0 && b.id == 0 && b.bytes_used == 100 * dac.sb && b.flags == (TS_VALID | CYCLIC),
	      "disabling hands the CYCLIC block back DONE (bytes_used %u, flags %#x)", b.bytes_used,
	      b.flags);
	/* a long block cut short: DONE with the whole scans it played */
	CHECK_OK(play(fd, 1, 10000 * dac.sb, 0));
	CHECK_OK(play(fd, 2, 10000 * dac.sb, 0));
	CHECK(enable(&dac, true) == 0, "enable");
	sleep_ms(30);
	CHECK(enable(&dac, false) == 0, "disable mid-block");
	err = dequeue_wait(fd, &b, POLLIN, 1000);
	CHECK(err == 0 && b.id == 1 && b.bytes_used > 0 && b.bytes_used < 10000 * dac.sb &&
	      b.bytes_used % dac.sb == 0 && !(b.flags & UNDERFLOW),
	      "the block playing comes back with what played: %u of %u bytes", b.bytes_used,
	      10000 * dac.sb);
	CHECK(ioctl(fd, BLK_DEQ, &b) == -1 && errno == EAGAIN ? 1 : 0, "the queued one stays queued");
	CHECK(query(fd, 2, &b) == 0 && b.timestamp == 0 && b.bytes_used == 10000 * dac.sb,
	      "and never played");
	/* FREE while one plays */
	CHECK(enable(&dac, true) == 0, "enable");
	sleep_ms(10);
	uf0 = sysfs_u64(dac.blk, "underflows");
	CHECK_OK(ioctl(fd, BLK_FREE));
	CHECK(sysfs_u64(dac.blk, "blocks_allocated") == 0 && blocks_live() == live0,
	      "FREE while playing frees them all (blocks_live %" PRIu64 ")", blocks_live());
	CHECK_ERRNO(ioctl(fd, BLK_DEQ, &b), EINVAL);
	sleep_ms(10);
	CHECK(sysfs_u64(dac.blk, "underflowing") == 0 && sysfs_u64(dac.blk, "underflows") == uf0,
	      "the silence after FREE is deliberate: no underflow");
	CHECK(enable(&dac, false) == 0, "disable");
}

/* The ADC's capture through the loopback: @nblk blocks of @scans scans. */
struct capture {
	int fd;
	unsigned int nblk;
	uint32_t scans;
	uint16_t *map[8];
	unsigned char *all; /* what was captured, in order */
	uint64_t n;        /* scans in all */
	bool clean;        /* no OVERFLOW, contiguous */
};

static bool capture_start(struct capture *c, uint64_t rate)
{
	unsigned int i;

	if (set_u64(adc.iio, "sampling_frequency", rate) ||
	    alloc_blocks(c->fd, c->nblk, c->scans * adc.sb) != (int)c->nblk)
		return false;
	for (i = 0; i < c->nblk; i++) {
		struct iio_buffer_block b = { .id = i };

		c->map[i] = map_block(c->fd, i);
		if (!c->map[i] || ioctl(c->fd, BLK_ENQ, &b))
			return false;
	}
	return enable(&adc, true) == 0;
}

/* Disable, then take every filled block in order. */
static void capture_stop(struct capture *c, uint64_t rate)
{
	struct iio_buffer_block b;
	uint64_t ts0 = 0;
	unsigned int i;

	enable(&adc, false);
	c->all = calloc((size_t)c->nblk * c->scans, adc.sb);
	c->n = 0;
	c->clean = true;
	for (i = 0; i < c->nblk && c->all; i++) {
		if (dequeue_wait(c->fd, &b, POLLIN, 0))
			break;
		if (i == 0)
			ts0 = b.timestamp;
		if ((b.flags & IIO_BUFFER_BLOCK_FLAG_OVERFLOW) || b.id != i ||
		    scans_between(ts0, b.timestamp, rate) != c->n)
			c->clean = false;
		memcpy(c->all + c->n * adc.sb, c->map[b.id], b.bytes_used);
		c->n += b.bytes_used / adc.sb;
	}
	for (i = 0; i < c->nblk; i++)
		if (c->map[i])
			munmap(c->map[i], ((size_t)c->scans * adc.sb + (size_t)page - 1) &
			       ~((size_t)page - 1));
	ioctl(c->fd, BLK_FREE);
}

/* The length of the run of scans from @at on that match block @tag (from
 * its scan @from, wrapping at @len), or are silent when @tag is 0. */
static uint64_t run_of(const struct capture *c, uint64_t at, unsigned int tag, uint32_t from,
		       uint32_t len, uint64_t max)
{
	uint64_t k;
	unsigned int ch;

	for (k = 0; k < max && at + k < c->n; k++)
		for (ch = 0; ch < channels; ch++) {
			uint16_t want = tag ? tagged(tag, (uint32_t)((from + k) % len), ch) : 0;

			uint16_t got;

			memcpy(&got, c->all + (at + k) * adc.sb + ch * 2, 2);	/* le:s16/16 */
			if (got != want)
				return k;
		}
	return k;
}

/*
 * The whole output path through the loopback, sample by sample: A (CYCLIC,
 * 200 scans) repeats until B (300) is queued, which follows at the end of
 * a repetition with no gap; the queue runs dry (an underflow: silence,
 * counted), and C (400) plays flagged UNDERFLOW. The ADC captures exactly
 * silence, A x k, B, silence x last_underflow_samples, C, silence.
 */
static void test_loopback_cyclic_underflow(int fd, int afd)
{
	const uint64_t rate = 20000;
	const uint32_t la = 200, lb = 300, lc = 400;
	struct capture cap = { .fd = afd, .nblk = 4, .scans = 20000 };
	struct iio_buffer_block a, b, c;
	uint16_t *map[3];
	uint64_t p, k, at, run, gap, uf0, last_gap;
	unsigned int i;
	int err;

	puts("test: loopback: CYCLIC repeats and switches at the boundary, underflows are silence");
	CHECK(set_u64(dac.iio, "sampling_frequency", rate / 2) == 0 &&
	      set_u64(adc.iio, "sampling_frequency", rate) == 0, "ADC and DAC at different rates");
	CHECK(sysfs_write(dac.iio, "loopback", "1") == EINVAL, "loopback refuses two rates");
	CHECK(set_u64(dac.iio, "sampling_frequency", rate) == 0, "the same rate");
	CHECK(sysfs_write(dac.iio, "loopback", "1") == 0 && sysfs_u64(dac.iio, "loopback") == 1,
	      "loopback on");
	CHECK(set_u64(adc.iio, "sampling_frequency", rate * 2) == 0 &&
	      sysfs_u64(dac.iio, "sampling_frequency") == rate * 2 &&
	      set_u64(dac.iio, "sampling_frequency", rate) == 0 &&
	      sysfs_u64(adc.iio, "sampling_frequency") == rate,
	      "with loopback on, a rate written to either is both's");
	CHECK(alloc_blocks(fd, 3, 400 * dac.sb) == 3, "DAC: alloc A, B, C");
	for (i = 0; i < 3; i++) {
		map[i] = map_block(fd, i);
		if (map[i])
			fill_tagged(map[i], i + 1, 400);
	}
	if (!map[0] || !map[1] || !map[2]) {
		CHECK(0, "map: %s", strerror(errno));
		return;
	}
	uf0 = sysfs_u64(dac.blk, "underflows");
	CHECK(capture_start(&cap, rate), "ADC: capture 4 blocks of 1 s");
	CHECK(set_u64(dac.iio, "sampling_frequency", rate / 2) == EBUSY,
	      "no rate change while the ADC of the loopback captures");
	sleep_ms(10);	/* the ADC captures the DAC's silence first */
	CHECK_OK(play(fd, 0, la * dac.sb, CYCLIC));
	CHECK(enable(&dac, true) == 0, "DAC: enable");
	sleep_ms(45);	/* about 4 repetitions */
	CHECK(ioctl(fd, BLK_DEQ, &a) == -1 && errno == EAGAIN ? 1 : 0, "A repeats while alone");
	CHECK_OK(play(fd, 1, lb * dac.sb, 0));
	err = dequeue_wait(fd, &a, POLLOUT, 3000);
	CHECK(err == 0 && a.id == 0 && a.flags == (TS_VALID | CYCLIC) && a.bytes_used == la * dac.sb,
	      "the replaced CYCLIC block is DONE (flags %#x, bytes_used %u)", a.flags, a.bytes_used);
	err = dequeue_wait(fd, &b, POLLOUT, 3000);
	CHECK(err == 0 && b.id == 1 && b.flags == TS_VALID, "B played, no UNDERFLOW (flags %#x)",
	      b.flags);
	k = scans_between(a.timestamp, b.timestamp, rate);
	CHECK(k % la == 0 && k >= la, "B began after %" PRIu64 " whole repetitions of A", k / la);
	CHECK(wait_attr(dac.blk, "underflowing", 1, 2000), "then the queue ran dry");
	sleep_ms(20);
	CHECK_OK(play(fd, 2, lc * dac.sb, 0));
	err = dequeue_wait(fd, &c, POLLOUT, 3000);
	CHECK(err == 0 && c.id == 2 && c.flags == (TS_VALID | UNDERFLOW),
	      "C carries UNDERFLOW (flags %#x)", c.flags);
	last_gap = sysfs_u64(dac.blk, "last_underflow_samples");
	gap = scans_between(b.timestamp, c.timestamp, rate) - lb;
	CHECK(gap > 0 && gap == last_gap, "last_underflow_samples %" PRIu64 " = the timestamps' gap %"
	      PRIu64, last_gap, gap);
	CHECK(sysfs_u64(dac.blk, "underflows") >= uf0 + 1, "counted (underflows %" PRIu64 ")",
	      sysfs_u64(dac.blk, "underflows"));
	sleep_ms(20);
	CHECK(enable(&dac, false) == 0, "DAC: disable");
	sleep_ms(10);
	capture_stop(&cap, rate);
	CHECK(cap.clean && cap.n > 0, "ADC: %" PRIu64 " scans captured, no gap", cap.n);

	/* sample by sample: silence, A x k, B, silence, C, silence */
	for (p = 0; p < cap.n && run_of(&cap, p, 0, 0, 1, 1); p++)
		;
	CHECK(p > 0 && p < cap.n, "silence until the DAC played: %" PRIu64 " scans", p);
	run = run_of(&cap, p, 1, 0, la, k);
	CHECK(run == k, "A, %" PRIu64 " times over, whole: %" PRIu64 " of %" PRIu64 " scans", k / la,
	      run, k);
	at = p + k;
	run = run_of(&cap, at, 2, 0, lb, lb);
	CHECK(run == lb, "then B with no gap and no partial A: %" PRIu64 " of %u scans", run, lb);
	at += lb;
	run = run_of(&cap, at, 0, 0, 1, gap + 1);
	CHECK(run == gap, "then %" PRIu64 " scans of silence (the underflow: %" PRIu64 ")", run, gap);
	at += gap;
	run = run_of(&cap, at, 3, 0, lc, lc);
	CHECK(run == lc, "then C: %" PRIu64 " of %u scans", run, lc);
	at += lc;
	run = run_of(&cap, at, 0, 0, 1, cap.n);
	CHECK(at + run == cap.n, "then silence to the end (%" PRIu64 " scans)", run);
	free(cap.all);
	for (i = 0; i < 3; i++)
		munmap(map[i], ((size_t)400 * dac.sb + (size_t)page - 1) & ~((size_t)page - 1));
	CHECK_OK(ioctl(fd, BLK_FREE));
	CHECK(sysfs_write(dac.iio, "loopback", "0") == 0, "loopback off");
}

/*
 * The output kfifo: out_ scan elements, buffer/enable and write() on
 * /dev/iio:deviceD, consumed at the rate; one path at a time.
 */
static void test_kfifo_output(void)
{
	const uint64_t rate = 10000;
	char buf[64], path[300], name[64];
	uint16_t data[1024 * 16];
	const char *iio_name = strrchr(dac.iio, '/') + 1;
	unsigned int c;
	uint64_t f0;
	bool ok = true;
	ssize_t n;
	int wfd;

	puts("test: the output kfifo: out_ scan elements, written scans played at the rate");
	for (c = 0; c < channels; c++) {
		snprintf(name, sizeof(name), "scan_elements/out_voltage%u_type", c);
		if (sysfs_read(dac.iio, name, buf, sizeof(buf)) || strcmp(buf, "le:s16/16>>0"))
			ok = false;
		snprintf(name, sizeof(name), "scan_elements/out_voltage%u_en", c);
		if (sysfs_write(dac.iio, name, "1"))
			ok = false;
	}
	CHECK(ok, "out_voltageN scan elements, le:s16/16>>0, enabled");
	CHECK(set_u64(dac.iio, "sampling_frequency", rate) == 0, "rate");
	CHECK(set_u64(dac.iio, "buffer/length", 1024) == 0, "buffer/length 1024 scans");
	CHECK(sysfs_write(dac.iio, "buffer/enable", "1") == 0, "buffer/enable");
	CHECK(enable(&dac, true) == EBUSY, "the block path is refused while the kfifo plays");
	snprintf(path, sizeof(path), "/dev/%s", iio_name);
	wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	CHECK(wfd >= 0, "open %s: %s", path, strerror(errno));
	if (wfd >= 0) {
		memset(data, 0x11, sizeof(data));
		n = write(wfd, data, 1024 * dac.sb);
		CHECK(n == (ssize_t)(1024 * dac.sb), "write 1024 scans: %zd", n);
		f0 = sysfs_u64(dac.iio, "fifo_underflow_samples");
		sleep_ms(250);	/* 1024 scans are 102 ms */
		n = write(wfd, data, 1024 * dac.sb);
		CHECK(n == (ssize_t)(1024 * dac.sb), "played at the rate: room for 1024 more (%zd)", n);
		CHECK(sysfs_u64(dac.iio, "fifo_underflow_samples") > f0,
		      "an empty kfifo plays silence, counted (fifo_underflow_samples)");
		close(wfd);
	}
	CHECK(sysfs_write(dac.iio, "buffer/enable", "0") == 0, "buffer/enable 0");
	CHECK(enable(&dac, true) == 0 && enable(&dac, false) == 0, "then the block path may play");
}

/* The scan layout of a node's IIO device, from its scan elements (PREFIX
 * "in" or "out"), in scan index order; false if one is unreadable. */
static bool read_layout(const struct node *n, const char *prefix, struct iios_scan_layout *l)
{
	char name[96], buf[64];
	struct iios_scan_type t;
	unsigned int c;

	iios_scan_layout_init(l);
	for (c = 0; c < channels; c++) {
		snprintf(name, sizeof(name), "scan_elements/%s_voltage%u_type", prefix, c);
		if (sysfs_read(n->iio, name, buf, sizeof(buf)) || iios_scan_type_parse(buf, &t) ||
		    iios_scan_layout_add(l, &t, c, false))
			return false;
	}
	snprintf(name, sizeof(name), "scan_elements/%s_timestamp_type", prefix);
	if (sysfs_read(n->iio, name, buf, sizeof(buf)) == 0 &&
	    (iios_scan_type_parse(buf, &t) || iios_scan_layout_add(l, &t, channels, true)))
		return false;
	return l->scan_bytes == n->sb;
}

/* Element @k of scan @p is all zero bytes. */
static bool element_zero(const struct iios_scan_layout *l, const unsigned char *p, uint32_t k)
{
	uint32_t i, len = iios_scan_type_bytes(&l->elem[k].type);

	for (i = 0; i < len; i++)
		if (p[l->elem[k].offset + i])
			return false;
	return true;
}

/*
 * The loopback in any format= (and with the ADC's timestamp): the DAC's
 * element bytes arrive in the ADC's elements of the same channel, byte for
 * byte, and a timestamp element keeps the ADC's ideal clock.
 */
static void test_loopback_format(int fd, int afd)
{
	const uint64_t rate = 20000;
	const uint32_t len = 500;
	struct iios_scan_layout dl, al;
	struct capture cap = { .fd = afd, .nblk = 2, .scans = 10000 };
	struct iio_buffer_block b;
	unsigned char *map, *adc_all;
	uint64_t p, i, bad = 0, bad_ts = 0;
	uint32_t k;
	int err;

	puts("test: loopback in the module's format: element bytes, the ADC's timestamps kept");
	CHECK(read_layout(&dac, "out", &dl) && read_layout(&adc, "in", &al),
	      "both layouts from scan_elements match scan_bytes (DAC %u, ADC %u)", dac.sb, adc.sb);
	if (cpl_failed)
		return;
	CHECK(set_u64(dac.iio, "sampling_frequency", rate) == 0 &&
	      set_u64(adc.iio, "sampling_frequency", rate) == 0 &&
	      sysfs_write(dac.iio, "loopback", "1") == 0, "one rate, loopback on");
	CHECK(alloc_blocks(fd, 1, len * dac.sb) == 1, "DAC: alloc");
	map = (unsigned char *)map_block(fd, 0);
	if (!map) {
		CHECK(0, "map: %s", strerror(errno));
		return;
	}
	for (i = 0; i < len; i++)	/* a value per element that is never 0 */
		for (k = 0; k < dl.count; k++) {
			const struct iios_scan_type *t = &dl.elem[k].type;
			uint64_t v = 1 + (i * 7 + k * 13) % ((1ull << (t->bits - 1)) - 2);
			uint32_t r;

			for (r = 0; r < t->repeat; r++)
				iios__scan_store(map + i * dac.sb + dl.elem[k].offset +
						 r * (t->storage_bits / 8),
						 iios_scan_type_encode(t, v + r), t->storage_bits / 8,
						 t->big_endian);
		}
	CHECK(capture_start(&cap, rate), "ADC: capture");
	sleep_ms(10);
	CHECK_OK(play(fd, 0, len * dac.sb, 0));
	CHECK(enable(&dac, true) == 0, "DAC: enable");
	err = dequeue_wait(fd, &b, POLLOUT, 3000);
	CHECK(err == 0 && b.id == 0, "played");
	sleep_ms(20);
	enable(&dac, false);
	capture_stop(&cap, rate);
	adc_all = cap.all;
	CHECK(cap.clean && cap.n > len, "ADC: %" PRIu64 " scans, no gap", cap.n);
	for (p = 0; p < cap.n; p++) {
		for (k = 0; k < al.count && (al.elem[k].timestamp ||
					     element_zero(&al, adc_all + p * adc.sb, k)); k++)
			;
		if (k < al.count)
			break;
	}
	CHECK(p > 0 && p + len < cap.n, "silence, then the DAC from scan %" PRIu64, p);
	for (i = 0; p + len < cap.n && i <= len; i++) {
		const unsigned char *a = adc_all + (p + i) * adc.sb, *d = map + i * dac.sb;

		for (k = 0; k < al.count; k++) {
			const struct iios_scan_element *e = &al.elem[k];
			uint32_t n = iios_scan_type_bytes(&e->type);

			if (e->timestamp) {
				uint64_t t0, t1;

				memcpy(&t0, adc_all + e->offset, 8);	/* le:s64/64 */
				memcpy(&t1, a + e->offset, 8);
				if (scans_between(t0, t1, rate) != p + i)
					bad_ts++;
			} else if (i < len ? memcmp(a + e->offset, d + dl.elem[e->index].offset, n)
					   : !element_zero(&al, a, k)) {
				bad++;
			}
		}
	}
	CHECK(bad == 0, "%u scans of every channel byte for byte, then silence: %" PRIu64
	      " wrong elements", len, bad);
	CHECK(bad_ts == 0, "the ADC's timestamps stay its ideal clock: %" PRIu64 " wrong", bad_ts);
	free(cap.all);
	munmap(map, ((size_t)len * dac.sb + (size_t)page - 1) & ~((size_t)page - 1));
	CHECK_OK(ioctl(fd, BLK_FREE));
	CHECK(sysfs_write(dac.iio, "loopback", "0") == 0, "loopback off");
}

/*
 * Races: the DAC's queue, its enable, FREE, ALLOC, mmap, the loopback and
 * the rates, and the ADC's capture, from three threads at once for a few
 * seconds, under the guest kernel's debug checks (a WARNING, BUG or
 * corruption report fails the run). Afterwards both devices still work and
 * nothing is left allocated.
 */
struct race {
	int fd, afd;
	volatile bool stop;
	uint64_t seed;
};

static uint32_t race_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 0x2545f4914f6cdd1dull) >> 32);
}

static void *race_queue(void *arg)
{
	struct race *r = arg;
	uint64_t s = r->seed;
	struct iio_buffer_block b;

	while (!r->stop) {
		uint32_t x = race_rand(&s);

		b = (struct iio_buffer_block){ .id = x % 8 };
		b.bytes_used = x & 0x100 ? x : dac.sb * (1 + (x >> 16) % 64);
		b.flags = x & 0x200 ? CYCLIC : x & 0x400 ? x : 0;
		ioctl(r->fd, BLK_ENQ, &b);
		ioctl(r->fd, BLK_DEQ, &b);
		query(r->fd, x % 9, &b);
	}
	return NULL;
}

static void *race_adc(void *arg)
{
	struct race *r = arg;
	struct iio_buffer_block b;

	while (!r->stop) {
		if (ioctl(r->afd, BLK_DEQ, &b) == 0)
			ioctl(r->afd, BLK_ENQ, &(struct iio_buffer_block){ .id = b.id });
		else
			sleep_ms(1);
	}
	return NULL;
}

static void race_control(struct race *r, uint32_t x)
{
	struct iio_buffer_block b;
	void *p;

	switch (x % 10) {
	case 0:
		enable(&dac, x & 0x10);
		break;
	case 1:
		sysfs_write(dac.iio, "loopback", x & 0x10 ? "1" : "0");
		break;
	case 2:
		ioctl(r->fd, BLK_FREE);
		break;
	case 3:
		alloc_blocks(r->fd, 1 + x % 4, dac.sb * (64 + (x >> 8) % 512));
		break;
	case 4:
		set_u64(x & 0x10 ? dac.iio : adc.iio, "sampling_frequency",
			x & 0x20 ? 20000 : 100000 + (x >> 8) % 1000000);
		break;
	case 5:
		enable(&adc, x & 0x10);
		break;
	case 6:
		if (alloc_blocks(r->afd, 1, 4096) == 1)
			ioctl(r->afd, BLK_ENQ, &(struct iio_buffer_block){ .id = 0 });
		if (x & 0x10) {
			enable(&adc, false);
			ioctl(r->afd, BLK_FREE);
		}
		break;
	case 7:
		if (query(r->fd, x % 8, &b) == 0) {
			p = mmap(NULL, ((size_t)b.size + (size_t)page - 1) & ~((size_t)page - 1),
				 PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, b.data.offset);
			if (p != MAP_FAILED) {
				memset(p, (int)x, b.size);	/* a block we may not own: harmless */
				munmap(p, ((size_t)b.size + (size_t)page - 1) & ~((size_t)page - 1));
			}
		}
		break;
	default:
		sleep_ms(x % 3);
		break;
	}
}

static void test_races(void)
{
	struct race r = { .seed = 0x9e3779b97f4a7c15ull };
	pthread_t tq, ta;
	uint64_t live0 = blocks_live(), t_end, s = 42;
	unsigned long steps = 0;
	struct iio_buffer_block b;

	puts("test: races between the queue, enable, FREE, ALLOC, mmap, loopback and rates");
	r.fd = open(dac.dev, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	r.afd = open(adc.dev, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	CHECK(r.fd >= 0 && r.afd >= 0, "open both");
	if (r.fd < 0 || r.afd < 0)
		return;
	set_u64(dac.iio, "sampling_frequency", 100000);
	set_u64(adc.iio, "sampling_frequency", 100000);
	pthread_create(&tq, NULL, race_queue, &r);
	pthread_create(&ta, NULL, race_adc, &r);
	t_end = now_ns() + 3000000000ull;
	while (now_ns() < t_end) {
		race_control(&r, race_rand(&s));
		steps++;
	}
	r.stop = true;
	pthread_join(tq, NULL);
	pthread_join(ta, NULL);
	printf("  info  %lu control steps in 3 s\n", steps);
	enable(&dac, false);
	enable(&adc, false);
	sysfs_write(dac.iio, "loopback", "0");
	close(r.fd);	/* frees what is left */
	close(r.afd);
	CHECK(blocks_live() == live0, "nothing left allocated (blocks_live %" PRIu64 ")",
	      blocks_live());
	/* and the DAC still plays */
	r.fd = open(dac.dev, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	CHECK(set_u64(dac.iio, "sampling_frequency", 100000) == 0 &&
	      alloc_blocks(r.fd, 1, 100 * dac.sb) == 1 && play(r.fd, 0, 100 * dac.sb, 0) == 0 &&
	      enable(&dac, true) == 0 && dequeue_wait(r.fd, &b, POLLOUT, 2000) == 0 &&
	      b.bytes_used == 100 * dac.sb, "the DAC plays as before");
	enable(&dac, false);
	close(r.fd);
}

/*
 * The loopback pair comes apart while both stream: the DAC is unbound with
 * its node open and a block playing, the ADC keeps capturing (silence from
 * then on), the DAC is bound again and loops back as before.
 */
static void test_unbind_while_looping(void)
{
	const char *drv = "/sys/bus/platform/drivers/iiostream-sim";
	struct capture cap = { .nblk = 4, .scans = 2000 };
	struct iio_buffer_block b;
	int fd;

	puts("test: unbinding the DAC while it plays into the capturing ADC");
	cap.fd = open(adc.dev, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	fd = open(dac.dev, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	CHECK(fd >= 0 && cap.fd >= 0, "open both");
	if (fd < 0 || cap.fd < 0)
		return;
	CHECK(set_u64(dac.iio, "sampling_frequency", 20000) == 0 &&
	      set_u64(adc.iio, "sampling_frequency", 20000) == 0 &&
	      sysfs_write(dac.iio, "loopback", "1") == 0, "loopback on");
	CHECK(alloc_blocks(fd, 1, 20000 * dac.sb) == 1 && play(fd, 0, 20000 * dac.sb, CYCLIC) == 0,
	      "a CYCLIC block of 1 s");
	CHECK(capture_start(&cap, 20000) && enable(&dac, true) == 0, "both streaming");
	sleep_ms(30);
	CHECK(sysfs_write(drv, "unbind", "iiostream-sim-dac.0") == 0, "unbind the DAC");
	CHECK_ERRNO(ioctl(fd, BLK_DEQ, &b), ENODEV);
	sleep_ms(30);
	close(fd);
	capture_stop(&cap, 20000);
	CHECK(cap.clean && cap.n > 0, "the ADC captured on: %" PRIu64 " scans, no gap", cap.n);
	free(cap.all);
	close(cap.fd);
	CHECK(sysfs_write(drv, "bind", "iiostream-sim-dac.0") == 0, "bind it again");
	/* a new device: the module's rate again, which the ADC's is not */
	CHECK(sysfs_write(dac.iio, "loopback", "1") == EINVAL, "the new DAC has its own rate");
	CHECK(set_u64(dac.iio, "sampling_frequency", 20000) == 0 &&
	      sysfs_write(dac.iio, "loopback", "1") == 0 && sysfs_write(dac.iio, "loopback", "0") == 0,
	      "at the ADC's rate it links to the ADC again");
}

/* ---- setup ---- */

static int find_nodes(void)
{
	struct dirent *de;
	char buf[64], name[64];
	DIR *d;
	struct node *n;

	if (!dac.dev[0] || !adc.dev[0]) {
		d = opendir("/sys/class/iio_block");
		while (d && (de = readdir(d))) {
			char dir[300];

			snprintf(dir, sizeof(dir), "/sys/class/iio_block/%s", de->d_name);
			if (de->d_name[0] == '.' || sysfs_read(dir, "direction", buf, sizeof(buf)))
				continue;
			n = !strcmp(buf, "out") ? &dac : &adc;
			/* the ADC the DAC loops into is iio:device0's */
			if (n == &adc && strcmp(de->d_name, "iio_block0"))
				continue;
			if (!n->dev[0])
				snprintf(n->dev, sizeof(n->dev), "/dev/%s", de->d_name);
		}
		if (d)
			closedir(d);
	}
	for (n = &dac; n; n = n == &dac ? &adc : NULL) {
		const char *base = strrchr(n->dev, '/');

		if (!n->dev[0]) {
			fprintf(stderr, "iio_block_dac_compliance: no %s node (is iiostream_sim loaded with dac=1?)\n",
				n == &dac ? "output" : "input");
			return -1;
		}
		snprintf(n->blk, sizeof(n->blk), "/sys/class/iio_block/%s", base ? base + 1 : n->dev);
		if (sysfs_read(n->blk, "iio_device", name, sizeof(name)))
			return -1;
		snprintf(n->iio, sizeof(n->iio), "/sys/bus/iio/devices/%s", name);
		n->sb = (unsigned int)sysfs_u64(n->blk, "scan_bytes");
	}
	for (channels = 0; channels < 64; channels++) {
		snprintf(name, sizeof(name), "out_voltage%u_raw", channels);
		if (sysfs_read(dac.iio, name, buf, sizeof(buf)))
			break;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t live0, arate, drate;
	bool unbind = true;
	int i, fd, afd;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dac") && i + 1 < argc)
			snprintf(dac.dev, sizeof(dac.dev), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--adc") && i + 1 < argc)
			snprintf(adc.dev, sizeof(adc.dev), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--no-remove"))
			unbind = false;
		else {
			fprintf(stderr, "usage: iio_block_dac_compliance [--dac PATH] [--adc PATH] [--no-remove]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	if (find_nodes())
		return 2;
	printf("iio_block_dac_compliance: DAC %s (%s), ADC %s, %u channels\n", dac.dev, dac.iio,
	       adc.dev, channels);
	live0 = blocks_live();
	arate = sysfs_u64(adc.iio, "sampling_frequency");
	drate = sysfs_u64(dac.iio, "sampling_frequency");
	/* non-blocking: a DEQUEUE with nothing DONE says EAGAIN */
	fd = open(dac.dev, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	afd = open(adc.dev, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || afd < 0) {
		printf("  FAIL  open: %s\n", strerror(errno));
		return 1;
	}
	test_sysfs();
	test_enqueue_rules(fd, afd);
	test_loopback_format(fd, afd);
	if (dac.sb == channels * 2 && adc.sb == channels * 2) {	/* le:s16/16, no timestamp */
		test_play_order(fd);
		test_stop_while_playing(fd);
		test_loopback_cyclic_underflow(fd, afd);
		test_kfifo_output();
	} else {
		printf("  info  not le:s16/16 without a timestamp: the format-independent tests only\n");
	}
	close(fd);
	close(afd);
	test_races();
	if (unbind)
		test_unbind_while_looping();
	CHECK(blocks_live() == live0, "no block left behind (blocks_live %" PRIu64 ")", blocks_live());
	set_u64(adc.iio, "sampling_frequency", arate);
	set_u64(dac.iio, "sampling_frequency", drate);

	printf("\niio_block_dac_compliance: %u passed, %u failed\n", cpl_passed, cpl_failed);
	return cpl_failed ? 1 : 0;
}
