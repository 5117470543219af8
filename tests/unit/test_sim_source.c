// SPDX-License-Identifier: MIT
/*
 * The `sim` block source, driven through its ops table on a real uv loop:
 * the block life cycle's state machine, production at a rate, overflow and
 * its accounting, disable, the rate-0 mode and timestamps. At the end, the
 * scan elements the kernel and readfd sources read from a device's sysfs
 * directory (iio_sysfs.h: the voltage channels' types, IIO's timestamp
 * after them, their _en files), on a directory the test builds.
 *
 * Every test ends with fx_close(): it closes the source, runs the loop until
 * it has nothing left, and asserts uv_loop_close() == 0, which proves that no
 * handle leaked (libuv's MAKE_VALGRIND_HAPPY).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iiostream/frame.h"
#include "iiostream/pattern.h"
#include "iiostream/scan.h"
#include "source.h"

struct fx {
	uv_loop_t loop;
	const struct source_ops *ops;
	struct source *src;
	uint32_t channels, scan_bytes;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The fixture of the running test, closed by the suite's fini if an assertion
 * ended the test early (so LeakSanitizer reports only real leaks). */
static struct fx *live;

static void fx_cleanup(void)
{
	if (!live)
		return;
	if (live->src)
		live->ops->close(live->src);
	while (uv_run(&live->loop, UV_RUN_DEFAULT))
		;
	uv_loop_close(&live->loop);
	live = NULL;
}

TestSuite(sim, .fini = fx_cleanup);

/* Static, not on the test's stack: the fini may run after an assertion
 * longjmp'ed out of the test. */
static struct fx the_fx;

static struct fx *fx_open_cfg(const struct source_config *cfg)
{
	struct fx *f = &the_fx;
	struct source_format fmt;

	memset(f, 0, sizeof(*f));
	cr_assert_eq(uv_loop_init(&f->loop), 0);
	live = f;
	f->ops = &source_sim_ops;
	cr_assert_eq(f->ops->open(&f->src, &f->loop, cfg), 0);
	f->ops->format(f->src, &fmt);
	f->channels = fmt.channels;
	f->scan_bytes = fmt.scan_bytes;
	return f;
}

static struct fx *fx_open(uint32_t channels, uint64_t rate)
{
	struct fx *f = &the_fx;
	struct source_config cfg = { .channels = channels, .sample_rate = rate };

	memset(f, 0, sizeof(*f));
	cr_assert_eq(uv_loop_init(&f->loop), 0);
	live = f;
	f->ops = source_find("sim");
	cr_assert_not_null(f->ops);
	cr_assert_eq(f->ops, &source_sim_ops);
	cr_assert_eq(f->ops->open(&f->src, &f->loop, &cfg), 0);
	f->channels = channels;
	f->scan_bytes = channels * IIOS_PATTERN_SAMPLE_BYTES;
	return f;
}

static void fx_close(struct fx *f)
{
	f->ops->close(f->src);
	f->src = NULL;
	while (uv_run(&f->loop, UV_RUN_DEFAULT))
		;
	live = NULL;
	cr_assert_eq(uv_loop_close(&f->loop), 0, "a handle was left open");
}

/* Run the loop for about `ms` milliseconds (less if nothing can happen):
 * only where nothing may happen, never to wait for something. */
static void run_ms(struct fx *f, unsigned ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000ull;

	while (now_ns() < end)
		if (uv_run(&f->loop, UV_RUN_ONCE) == 0)
			break; /* no active handle: nothing more can happen */
}

/* A bound that only guards against a hang: the tests wait for what the
 * source does, never for a time (a loaded machine runs the loop late). */
#define HANG_S 60

/* Run the loop until `cond` holds, failing after HANG_S with `what`. */
#define RUN_UNTIL(f, cond, what)                                                             \
	do {                                                                                 \
		uint64_t run_until_end_ = now_ns() + HANG_S * 1000000000ull;                 \
		while (!(cond)) {                                                            \
			cr_assert_lt(now_ns(), run_until_end_, "waited %d s for %s", HANG_S, \
				     what);                                                  \
			uv_run(&(f)->loop, UV_RUN_ONCE);                                     \
		}                                                                            \
	} while (0)

static uint64_t produced(struct fx *f)
{
	struct source_counters c;

	f->ops->counters(f->src, &c);
	return c.blocks_produced;
}

static uint64_t overflows(struct fx *f)
{
	struct source_counters c;

	f->ops->counters(f->src, &c);
	return c.overflows;
}

static uint64_t lost_samples(struct fx *f)
{
	struct source_counters c;

	f->ops->counters(f->src, &c);
	return c.lost_samples;
}

/* Run until `n` blocks have been produced in total (HANG_S at most). */
static void run_until_produced(struct fx *f, uint64_t n)
{
	RUN_UNTIL(f, produced(f) >= n, "blocks to be produced");
}

static uint32_t alloc_blocks(struct fx *f, uint32_t size, uint32_t count)
{
	uint32_t first = 12345;

	cr_assert_eq(f->ops->alloc(f->src, size, count, &first), 0);
	return first;
}

static void enqueue(struct fx *f, uint32_t id)
{
	struct source_block b = { .id = id };

	cr_assert_eq(f->ops->enqueue(f->src, &b), 0, "enqueue %u", id);
}

static bool fd_readable(struct fx *f)
{
	struct pollfd p = { .fd = f->ops->fd_to_poll(f->src), .events = POLLIN };
	int r = poll(&p, 1, 0);

	cr_assert_geq(r, 0);
	return r == 1 && (p.revents & POLLIN);
}

/* The pattern of block `b` must start at scan `first`. */
static void assert_pattern(struct fx *f, const struct source_block *b, uint64_t first)
{
	void *addr = NULL;
	long off;

	cr_assert_eq(f->ops->map(f->src, b->id, &addr), 0);
	cr_assert_eq(b->bytes_used % f->scan_bytes, 0, "bytes_used %u is not whole scans",
		     b->bytes_used);
	off = iios_pattern_check(addr, b->bytes_used, first, f->channels);
	if (off >= 0) {
		/* Say where the data really starts, if it is near. */
		uint64_t lo = first > 10000000 ? first - 10000000 : 0, n;
		unsigned long probe = b->bytes_used < 8 * f->scan_bytes ? b->bytes_used
									: 8 * f->scan_bytes;
		long long found = -1;

		for (n = lo; n < first + 10000000 && found < 0; n++)
			if (iios_pattern_check(addr, probe, n, f->channels) < 0)
				found = (long long)n;
		cr_assert_fail("block %u: expected the pattern from scan %llu, wrong at byte %ld; "
			"the data starts at scan %lld (lost_samples %llu, flags %#x)",
			b->id, (unsigned long long)first, off, found,
			(unsigned long long)b->lost_samples, b->flags);
	}
}

/* ---- open / format -------------------------------------------------------- */

Test(sim, is_found_by_name_and_unknown_names_are_not)
{
	cr_assert_eq(source_find("sim"), &source_sim_ops);
	cr_assert_str_eq(source_sim_ops.name, "sim");
	cr_assert_null(source_find("nope"));
	cr_assert_null(source_find(""));
}

Test(sim, open_rejects_zero_or_too_many_channels)
{
	uv_loop_t loop;
	struct source *src = NULL;
	struct source_config cfg = { .channels = 0, .sample_rate = 1000 };

	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(source_sim_ops.open(&src, &loop, &cfg), -EINVAL);
	cfg.channels = 65;
	cr_assert_eq(source_sim_ops.open(&src, &loop, &cfg), -EINVAL);
	cr_assert_eq(uv_loop_close(&loop), 0);
}

Test(sim, reports_its_format_and_idle_counters)
{
	struct fx *f;
	struct source_format fmt;
	struct source_counters c;

	f = fx_open(3, 12345);
	f->ops->format(f->src, &fmt);
	cr_assert_str_eq(fmt.device, "iiostream-sim");
	cr_assert_eq(fmt.channels, 3);
	cr_assert_eq(fmt.scan_bytes, 6);
	cr_assert_eq(fmt.sample_rate, 12345);
	/* the default scan format: three le:s16/16 channels, no timestamp */
	cr_assert_eq(fmt.scan_elements, 3);
	cr_assert_eq(fmt.timestamp_index, -1);
	cr_assert(iios_scan_type_is_s16le(&fmt.type[0]) && iios_scan_type_is_s16le(&fmt.type[2]));
	f->ops->counters(f->src, &c);
	cr_assert_eq(c.blocks_produced, 0);
	cr_assert_eq(c.bytes_produced, 0);
	cr_assert_eq(c.overflows, 0);
	cr_assert_eq(c.lost_samples, 0);
	cr_assert(!c.enabled);
	fx_close(f);
}

/* ---- the block state machine --------------------------------------------- */

Test(sim, alloc_rejects_bad_count_and_size)
{
	struct fx *f;
	uint32_t id = 777;

	f = fx_open(2, 1000000);
	cr_assert_eq(f->ops->alloc(f->src, 4096, 0, &id), -EINVAL, "count 0");
	cr_assert_eq(f->ops->alloc(f->src, 4096, 257, &id), -EINVAL, "count over 256");
	cr_assert_eq(f->ops->alloc(f->src, 0, 4, &id), -EINVAL, "size 0");
	cr_assert_eq(f->ops->alloc(f->src, 2, 4, &id), -EINVAL, "smaller than a scan");
	cr_assert_eq(f->ops->alloc(f->src, 4094, 4, &id), -EINVAL, "not whole scans");
	cr_assert_eq(f->ops->alloc(f->src, IIOS_FRAME_MAX_PAYLOAD + 4, 1, &id), -EINVAL,
		     "over the payload bound");
	cr_assert_eq(id, 777, "a failed alloc wrote the id");
	/* Nothing was allocated by the failures: the first ids are 0... */
	cr_assert_eq(alloc_blocks(f, 4096, 2), 0);
	fx_close(f);
}

Test(sim, alloc_returns_consecutive_ids_and_distinct_page_aligned_blocks)
{
	struct fx *f;
	uint32_t i;
	void *addr[6];
	long page = sysconf(_SC_PAGESIZE);

	f = fx_open(2, 1000000);
	cr_assert_eq(alloc_blocks(f, 4096, 4), 0);
	cr_assert_eq(alloc_blocks(f, 400, 2), 4, "a second alloc continues the ids");
	for (i = 0; i < 6; i++) {
		struct source_block b = { .id = i };

		cr_assert_eq(f->ops->query(f->src, &b), 0);
		cr_assert_eq(b.size, i < 4 ? 4096u : 400u);
		cr_assert_eq(b.bytes_used, 0);
		cr_assert_eq(b.offset % (uint64_t)page, 0, "offset %llu",
			     (unsigned long long)b.offset);
		cr_assert_eq(f->ops->map(f->src, i, &addr[i]), 0);
		cr_assert_not_null(addr[i]);
		memset(addr[i], (int)i, b.size); /* writable, and its own memory */
	}
	for (i = 0; i < 6; i++)
		cr_assert_eq(((uint8_t *)addr[i])[0], i);
	fx_close(f);
}

Test(sim, alloc_accepts_the_payload_bound_exactly)
{
	struct fx *f;

	f = fx_open(2, 1000000);
	cr_assert_eq(alloc_blocks(f, IIOS_FRAME_MAX_PAYLOAD, 1), 0);
	fx_close(f);
}

Test(sim, alloc_refuses_more_than_256_blocks_in_total)
{
	struct fx *f;
	uint32_t id;

	f = fx_open(1, 1000000);
	cr_assert_eq(alloc_blocks(f, 64, 200), 0);
	cr_assert_eq(f->ops->alloc(f->src, 64, 57, &id), -EINVAL);
	cr_assert_eq(alloc_blocks(f, 64, 56), 200);
	cr_assert_eq(f->ops->alloc(f->src, 64, 1, &id), -EINVAL);
	fx_close(f);
}

Test(sim, unknown_ids_are_rejected)
{
	struct fx *f;
	struct source_block b = { .id = 4 };
	void *addr = NULL;

	f = fx_open(2, 1000000);
	cr_assert_eq(f->ops->query(f->src, &b), -EINVAL, "query before alloc");
	alloc_blocks(f, 4096, 4);
	cr_assert_eq(f->ops->query(f->src, &b), -EINVAL);
	cr_assert_eq(f->ops->map(f->src, 4, &addr), -EINVAL);
	cr_assert_null(addr);
	cr_assert_eq(f->ops->enqueue(f->src, &b), -EINVAL);
	b.id = UINT32_MAX;
	cr_assert_eq(f->ops->query(f->src, &b), -EINVAL);
	cr_assert_eq(f->ops->map(f->src, UINT32_MAX, &addr), -EINVAL);
	cr_assert_eq(f->ops->enqueue(f->src, &b), -EINVAL);
	fx_close(f);
}

Test(sim, enqueue_twice_is_busy)
{
	struct fx *f;
	struct source_block b = { .id = 1 };

	f = fx_open(2, 1000000);
	alloc_blocks(f, 4096, 4);
	cr_assert_eq(f->ops->enqueue(f->src, &b), 0);
	cr_assert_eq(f->ops->enqueue(f->src, &b), -EBUSY);
	fx_close(f);
}

Test(sim, enqueue_of_a_done_block_not_yet_dequeued_is_busy)
{
	struct fx *f;
	struct source_block b = { .id = 0 };

	f = fx_open(2, 0);
	alloc_blocks(f, 4096, 2);
	enqueue(f, 0);
	cr_assert_eq(f->ops->enable(f->src), 0);
	run_until_produced(f, 1);
	cr_assert_eq(f->ops->enqueue(f->src, &b), -EBUSY);
	cr_assert_eq(f->ops->disable(f->src), 0);
	fx_close(f);
}

Test(sim, dequeue_with_nothing_done_is_eagain)
{
	struct fx *f;
	struct source_block b;

	f = fx_open(2, 1000000);
	cr_assert_eq(f->ops->dequeue(f->src, &b), -EAGAIN, "no blocks at all");
	alloc_blocks(f, 4096, 2);
	cr_assert_eq(f->ops->dequeue(f->src, &b), -EAGAIN, "blocks owned by the user");
	enqueue(f, 0);
	cr_assert_eq(f->ops->dequeue(f->src, &b), -EAGAIN, "block queued, not filled");
	fx_close(f);
}

Test(sim, alloc_free_and_enable_are_busy_while_enabled)
{
	struct fx *f;
	uint32_t id;

	f = fx_open(2, 1000000);
	alloc_blocks(f, 4096, 2);
	cr_assert_eq(f->ops->enable(f->src), 0);
	cr_assert_eq(f->ops->alloc(f->src, 4096, 1, &id), -EBUSY);
	cr_assert_eq(f->ops->free(f->src), -EBUSY);
	cr_assert_eq(f->ops->enable(f->src), -EBUSY);
	cr_assert_eq(f->ops->disable(f->src), 0);
	cr_assert_eq(f->ops->disable(f->src), 0, "disable twice is harmless");
	cr_assert_eq(f->ops->free(f->src), 0);
	fx_close(f);
}

Test(sim, enable_with_no_blocks_is_einval)
{
	struct fx *f;
	struct source_counters c;

	f = fx_open(2, 1000000);
	cr_assert_eq(f->ops->enable(f->src), -EINVAL);
	f->ops->counters(f->src, &c);
	cr_assert(!c.enabled);
	fx_close(f);
}

Test(sim, free_forgets_every_block_and_alloc_starts_again)
{
	struct fx *f;
	struct source_block b = { .id = 0 };
	uint32_t i;

	f = fx_open(2, 0);
	alloc_blocks(f, 4096, 3);
	for (i = 0; i < 3; i++)
		enqueue(f, i);
	cr_assert_eq(f->ops->enable(f->src), 0);
	run_until_produced(f, 2);
	cr_assert_eq(f->ops->disable(f->src), 0);
	cr_assert(fd_readable(f));
	cr_assert_eq(f->ops->free(f->src), 0);
	cr_assert(!fd_readable(f), "no block is done after free");
	cr_assert_eq(f->ops->dequeue(f->src, &b), -EAGAIN);
	cr_assert_eq(f->ops->query(f->src, &b), -EINVAL);
	cr_assert_eq(f->ops->enable(f->src), -EINVAL, "no blocks left");
	cr_assert_eq(alloc_blocks(f, 8192, 2), 0, "ids start at 0 again");
	cr_assert_eq(f->ops->query(f->src, &b), 0);
	cr_assert_eq(b.size, 8192);
	fx_close(f);
}

Test(sim, poll_fd_is_readable_exactly_while_a_block_is_done)
{
	struct fx *f;
	struct source_block b;

	f = fx_open(2, 0);
	cr_assert_geq(f->ops->fd_to_poll(f->src), 0);
	alloc_blocks(f, 4096, 2);
	enqueue(f, 0);
	enqueue(f, 1);
	cr_assert(!fd_readable(f), "readable before enable");
	cr_assert_eq(f->ops->enable(f->src), 0);
	cr_assert(!fd_readable(f), "readable before the loop ran");
	run_until_produced(f, 2);
	cr_assert(fd_readable(f), "not readable with 2 blocks done");
	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	cr_assert(fd_readable(f), "not readable with 1 block still done");
	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	cr_assert(!fd_readable(f), "readable with no block done");
	cr_assert_eq(f->ops->dequeue(f->src, &b), -EAGAIN);
	cr_assert_eq(f->ops->disable(f->src), 0);
	fx_close(f);
}

/* ---- production at a rate ------------------------------------------------ */

Test(sim, produces_full_consecutive_timestamped_blocks_at_a_rate)
{
	struct fx *f;
	struct source_counters c;
	uint64_t before, after, prev_ts = 0;
	uint32_t i;

	f = fx_open(2, 1000000);
	alloc_blocks(f, 4096, 4); /* 1024 scans each, ~1 ms at 1 MHz */
	for (i = 0; i < 4; i++)
		enqueue(f, i);
	before = now_ns();
	cr_assert_eq(f->ops->enable(f->src), 0);
	f->ops->counters(f->src, &c);
	cr_assert(c.enabled);
	run_until_produced(f, 4);
	after = now_ns();
	for (i = 0; i < 4; i++) {
		struct source_block b;

		memset(&b, 0xa5, sizeof(b));
		cr_assert_eq(f->ops->dequeue(f->src, &b), 0, "block %u", i);
		cr_assert_eq(b.id, i, "blocks come back in the order they were queued");
		cr_assert_eq(b.size, 4096);
		cr_assert_eq(b.bytes_used, 4096);
		cr_assert(b.flags & SOURCE_BLOCK_TIMESTAMP_VALID);
		cr_assert(!(b.flags & SOURCE_BLOCK_OVERFLOW));
		cr_assert_eq(b.lost_samples, 0);
		cr_assert_geq(b.timestamp_ns, before);
		cr_assert_leq(b.timestamp_ns, after);
		if (i) {
			cr_assert_gt(b.timestamp_ns, prev_ts, "timestamps go backwards");
			/* 1024 scans at 1 MHz apart, the ideal capture time */
			cr_assert_eq(b.timestamp_ns - prev_ts, 1024000);
		}
		prev_ts = b.timestamp_ns;
		assert_pattern(f, &b, (uint64_t)i * 1024);
	}
	f->ops->counters(f->src, &c);
	cr_assert_geq(c.blocks_produced, 4);
	cr_assert_geq(c.bytes_produced, 4 * 4096);
	cr_assert_eq(f->ops->disable(f->src), 0);
	f->ops->counters(f->src, &c);
	cr_assert(!c.enabled);
	fx_close(f);
}

Test(sim, re_enqueued_blocks_keep_the_stream_continuous)
{
	struct fx *f;
	uint64_t next = 0;
	uint32_t round, i;

	f = fx_open(1, 2000000);
	alloc_blocks(f, 2048, 4); /* 1024 scans = 0.5 ms */
	for (i = 0; i < 4; i++)
		enqueue(f, i);
	cr_assert_eq(f->ops->enable(f->src), 0);
	/* Keep up with the source: dequeue, check, enqueue again. */
	for (round = 0; round < 20; round++) {
		struct source_block b;
		RUN_UNTIL(f, f->ops->dequeue(f->src, &b) != -EAGAIN, "the next block");
		/* If we were too slow the source says so, and skips exactly that. */
		if (b.flags & SOURCE_BLOCK_OVERFLOW)
			next += b.lost_samples;
		else
			cr_assert_eq(b.lost_samples, 0);
		assert_pattern(f, &b, next);
		next += b.bytes_used / f->scan_bytes;
		enqueue(f, b.id);
	}
	cr_assert_eq(f->ops->disable(f->src), 0);
	fx_close(f);
}

Test(sim, overflow_is_counted_and_carried_by_the_next_block)
{
	struct fx *f;
	struct source_counters c0, c1;
	struct source_block b;

	f = fx_open(2, 1000000);
	alloc_blocks(f, 4096, 2); /* ~1 ms each */
	enqueue(f, 0);
	cr_assert_eq(f->ops->enable(f->src), 0);
	/* one block queued: once it is full, scans are lost (however late the
	 * loop runs, that is the order) */
	RUN_UNTIL(f, overflows(f) > 0, "an overflow with no block queued");

	f->ops->counters(f->src, &c0);
	cr_assert_eq(c0.blocks_produced, 1);
	cr_assert_gt(c0.overflows, 0);
	cr_assert_gt(c0.lost_samples, 0);

	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	cr_assert_eq(b.id, 0);
	cr_assert_eq(b.bytes_used, 4096);
	cr_assert(!(b.flags & SOURCE_BLOCK_OVERFLOW), "nothing was lost before block 0");
	cr_assert_eq(b.lost_samples, 0);
	assert_pattern(f, &b, 0);

	/* Counters read, no loop iteration since: everything lost so far is
	 * before the next block. */
	enqueue(f, 1);
	run_until_produced(f, 2);
	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	cr_assert_eq(b.id, 1);
	cr_assert_eq(b.bytes_used, 4096);
	cr_assert(b.flags & SOURCE_BLOCK_OVERFLOW);
	cr_assert(b.flags & SOURCE_BLOCK_TIMESTAMP_VALID);
	cr_assert_eq(b.lost_samples, c0.lost_samples);
	assert_pattern(f, &b, 1024 + b.lost_samples);

	/* Capture still has no block: the loss goes on and is counted. */
	RUN_UNTIL(f, lost_samples(f) > c0.lost_samples && overflows(f) > c0.overflows,
		  "more scans lost, with no block queued");
	f->ops->counters(f->src, &c1);
	cr_assert_gt(c1.lost_samples, c0.lost_samples);
	cr_assert_gt(c1.overflows, c0.overflows);
	cr_assert_eq(f->ops->disable(f->src), 0);
	fx_close(f);
}

Test(sim, overflow_timestamp_is_that_of_the_blocks_first_scan)
{
	struct fx *f;
	struct source_block b0, b1;

	f = fx_open(2, 1000000);
	alloc_blocks(f, 4096, 2);
	enqueue(f, 0);
	cr_assert_eq(f->ops->enable(f->src), 0);
	RUN_UNTIL(f, overflows(f) > 0, "an overflow after block 0");
	cr_assert_eq(f->ops->dequeue(f->src, &b0), 0);
	enqueue(f, 1);
	run_until_produced(f, 2);
	cr_assert_eq(f->ops->dequeue(f->src, &b1), 0);
	cr_assert(b1.flags & SOURCE_BLOCK_OVERFLOW);
	/* (1024 + lost) scans after block 0's first scan, at 1 MHz */
	cr_assert_eq(b1.timestamp_ns - b0.timestamp_ns, (1024 + b1.lost_samples) * 1000);
	cr_assert_eq(f->ops->disable(f->src), 0);
	fx_close(f);
}

Test(sim, overflow_before_a_disable_is_still_accounted_after_enable)
{
	/*
	 * Scans lost while capture was on must show up on the next block the
	 * source fills, even if capture was stopped and restarted in between:
	 * the daemon's block pool derives first_sample from the previous block's
	 * end + lost_samples, so the data must start exactly there.
	 */
	struct fx *f;
	struct source_counters c;
	struct source_block b;

	f = fx_open(2, 1000000);
	alloc_blocks(f, 4096, 1);
	enqueue(f, 0);
	cr_assert_eq(f->ops->enable(f->src), 0);
	RUN_UNTIL(f, lost_samples(f) > 0, "scans lost after the only block");
	f->ops->counters(f->src, &c);
	cr_assert_gt(c.lost_samples, 0);
	cr_assert_eq(f->ops->disable(f->src), 0);
	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	cr_assert_eq(b.bytes_used, 4096);
	assert_pattern(f, &b, 0);

	enqueue(f, 0);
	cr_assert_eq(f->ops->enable(f->src), 0);
	run_until_produced(f, 2);
	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	cr_assert_eq(b.bytes_used, 4096);
	/* Where the data really starts must be prev end + lost_samples. */
	assert_pattern(f, &b, 1024 + b.lost_samples);
	cr_assert_eq(b.lost_samples, c.lost_samples);
	cr_assert(b.flags & SOURCE_BLOCK_OVERFLOW);
	cr_assert_eq(f->ops->disable(f->src), 0);
	fx_close(f);
}

Test(sim, no_scans_are_lost_while_disabled)
{
	struct fx *f;
	struct source_counters c;
	struct source_block b;

	f = fx_open(2, 1000000);
	alloc_blocks(f, 4096, 2);
	enqueue(f, 0);
	cr_assert_eq(f->ops->enable(f->src), 0);
	run_until_produced(f, 1);
	cr_assert_eq(f->ops->disable(f->src), 0);
	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	cr_assert_eq(b.bytes_used, 4096);
	f->ops->counters(f->src, &c);
	/* Anything lost between the block's end and disable counts; what comes
	 * after disable must not. */
	run_ms(f, 20); /* disabled: nothing runs */
	enqueue(f, 1);
	{
		struct source_counters c2;

		f->ops->counters(f->src, &c2);
		cr_assert_eq(c2.lost_samples, c.lost_samples, "scans lost while disabled");
		cr_assert_eq(c2.blocks_produced, 1);
	}
	cr_assert_eq(f->ops->enable(f->src), 0);
	run_until_produced(f, 2);
	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	cr_assert_eq(b.id, 1);
	assert_pattern(f, &b, 1024 + b.lost_samples);
	cr_assert_eq(f->ops->disable(f->src), 0);
	fx_close(f);
}

Test(sim, disable_hands_over_a_partly_filled_block)
{
	struct fx *f;
	struct source_block b;
	struct source_counters c;

	/* 65536 scans at 100 Hz take 11 minutes: the block is partly filled
	 * as soon as a scan is in it, however late the loop runs */
	f = fx_open(2, 100);
	alloc_blocks(f, 262144, 2);
	enqueue(f, 0);
	enqueue(f, 1);
	cr_assert_eq(f->ops->enable(f->src), 0);
	{
		struct source_block q = { .id = 0 };

		RUN_UNTIL(f, (f->ops->query(f->src, &q), q.bytes_used > 0),
			  "the first scans in block 0");
	}
	cr_assert_eq(f->ops->dequeue(f->src, &b), -EAGAIN, "a block filled too soon");
	cr_assert(!fd_readable(f));
	cr_assert_eq(f->ops->disable(f->src), 0);
	cr_assert(fd_readable(f), "the partial block is not signalled");
	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	cr_assert_eq(b.id, 0);
	cr_assert_gt(b.bytes_used, 0);
	cr_assert_lt(b.bytes_used, b.size);
	cr_assert(b.flags & SOURCE_BLOCK_TIMESTAMP_VALID);
	assert_pattern(f, &b, 0);
	f->ops->counters(f->src, &c);
	cr_assert_eq(c.blocks_produced, 1);
	cr_assert_eq(c.bytes_produced, b.bytes_used);
	/* Block 1 stays queued: nothing else to dequeue, not even after running. */
	run_ms(f, 5);
	cr_assert_eq(f->ops->dequeue(f->src, &b), -EAGAIN);
	fx_close(f);
}

Test(sim, disable_before_any_scan_keeps_the_block_queued)
{
	struct fx *f;
	struct source_block b;

	f = fx_open(2, 1000000);
	alloc_blocks(f, 4096, 1);
	enqueue(f, 0);
	cr_assert_eq(f->ops->enable(f->src), 0);
	cr_assert_eq(f->ops->disable(f->src), 0); /* no tick ran */
	cr_assert_eq(f->ops->dequeue(f->src, &b), -EAGAIN);
	b.id = 0;
	cr_assert_eq(f->ops->enqueue(f->src, &b), -EBUSY, "still owned by the source");
	cr_assert_eq(f->ops->enable(f->src), 0);
	run_until_produced(f, 1);
	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	cr_assert_eq(b.bytes_used, 4096);
	assert_pattern(f, &b, 0);
	cr_assert_eq(f->ops->disable(f->src), 0);
	fx_close(f);
}

Test(sim, close_while_enabled_with_blocks_everywhere_leaks_nothing)
{
	struct fx *f;

	f = fx_open(4, 1000000);
	alloc_blocks(f, 8192, 4);
	enqueue(f, 0);
	enqueue(f, 1);
	enqueue(f, 2);
	cr_assert_eq(f->ops->enable(f->src), 0);
	run_ms(f, 5);
	fx_close(f); /* done, queued, user-owned blocks and a running timer */
}

/* ---- rate 0: as fast as blocks come back --------------------------------- */

Test(sim, rate_zero_fills_enqueued_blocks_at_once)
{
	struct fx *f;
	struct source_block b;
	uint64_t before;
	uint32_t i;

	f = fx_open(2, 0);
	alloc_blocks(f, 4096, 3);
	enqueue(f, 0);
	enqueue(f, 1);
	before = now_ns();
	cr_assert_eq(f->ops->enable(f->src), 0);
	run_until_produced(f, 2); /* the idle handle fills both */
	for (i = 0; i < 2; i++) {
		cr_assert_eq(f->ops->dequeue(f->src, &b), 0, "block %u not filled", i);
		cr_assert_eq(b.id, i);
		cr_assert_eq(b.bytes_used, 4096);
		cr_assert(b.flags & SOURCE_BLOCK_TIMESTAMP_VALID);
		cr_assert_eq(b.lost_samples, 0);
		cr_assert_geq(b.timestamp_ns, before);
		cr_assert_leq(b.timestamp_ns, now_ns());
		assert_pattern(f, &b, (uint64_t)i * 1024);
	}
	cr_assert_eq(f->ops->dequeue(f->src, &b), -EAGAIN);

	/* Blocks enqueued while enabled are filled on the next loop run. */
	enqueue(f, 2);
	enqueue(f, 0);
	run_until_produced(f, 4);
	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	cr_assert_eq(b.id, 2);
	assert_pattern(f, &b, 2048);
	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	cr_assert_eq(b.id, 0);
	assert_pattern(f, &b, 3072);
	{
		struct source_counters c;

		f->ops->counters(f->src, &c);
		cr_assert_eq(c.blocks_produced, 4);
		cr_assert_eq(c.bytes_produced, 4 * 4096);
		cr_assert_eq(c.overflows, 0, "rate 0 never overflows");
		cr_assert_eq(c.lost_samples, 0);
	}
	cr_assert_eq(f->ops->disable(f->src), 0);
	fx_close(f);
}

Test(sim, rate_zero_does_nothing_until_enabled)
{
	struct fx *f;
	struct source_block b;

	f = fx_open(2, 0);
	alloc_blocks(f, 4096, 1);
	enqueue(f, 0);
	run_ms(f, 5);
	cr_assert_eq(f->ops->dequeue(f->src, &b), -EAGAIN);
	cr_assert(!fd_readable(f));
	fx_close(f);
}

/* ---- every IIO scan format (format=, timestamp=) --------------------------- */

/* The layout the source reports for its enabled scan elements. */
static void format_layout(struct fx *f, struct source_format *fmt, struct iios_scan_layout *l)
{
	f->ops->format(f->src, fmt);
	cr_assert_eq(iios_scan_layout_from_mask(l, fmt->type, fmt->scan_elements,
						fmt->channel_mask, fmt->timestamp_index), 0);
	cr_assert_eq(l->scan_bytes, fmt->scan_bytes, "scan_bytes is the IIO layout's");
	cr_assert_eq(l->count, fmt->channels);
}

/* Block b, dequeued, must hold the scans first.. in layout l (scan.h's
 * pattern), timestamps not going back from *ts. */
static void assert_scans(struct fx *f, const struct iios_scan_layout *l,
			 const struct source_block *b, uint64_t first, uint64_t *ts)
{
	void *addr = NULL;
	long off;

	cr_assert_eq(f->ops->map(f->src, b->id, &addr), 0);
	cr_assert_eq(b->bytes_used % l->scan_bytes, 0, "bytes_used %u is not whole %u-byte scans",
		     b->bytes_used, l->scan_bytes);
	off = iios_scan_check(l, addr, b->bytes_used, first, ts);
	cr_assert_eq(off, -1, "block %u from scan %llu: wrong value at byte %ld", b->id,
		     (unsigned long long)first, off);
}

/* Run a paced sim over `blocks` blocks of `size` bytes and check each
 * with scan.h; returns the scans per block. */
static uint32_t stream_and_check(struct fx *f, const struct iios_scan_layout *l, uint32_t size,
				 uint32_t blocks)
{
	uint64_t ts = 0;
	uint32_t i, scans = size / l->scan_bytes;

	alloc_blocks(f, size, blocks);
	for (i = 0; i < blocks; i++)
		enqueue(f, i);
	cr_assert_eq(f->ops->enable(f->src), 0);
	run_until_produced(f, blocks);
	for (i = 0; i < blocks; i++) {
		struct source_block b;

		cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
		cr_assert_eq(b.bytes_used, size);
		assert_scans(f, l, &b, (uint64_t)i * scans, &ts);
	}
	cr_assert_eq(f->ops->disable(f->src), 0);
	return scans;
}

Test(sim, format_12_bit_channels_stream_the_pattern_in_12_bits)
{
	struct source_config cfg = { .channels = 2, .sample_rate = 1000000,
				     .format = "le:S12/16>>0" };
	struct source_format fmt;
	struct iios_scan_layout l;
	struct fx *f = fx_open_cfg(&cfg);
	char text[IIOS_SCAN_TYPE_STR_MAX];
	void *addr;

	format_layout(f, &fmt, &l);
	iios_scan_type_print(&fmt.type[1], text, sizeof(text));
	cr_assert_str_eq(text, "le:S12/16>>0");
	cr_assert_eq(fmt.scan_bytes, 4);
	cr_assert_eq(fmt.timestamp_index, -1);
	stream_and_check(f, &l, 4096, 3);
	/* the values are 12-bit numbers, stored sign-extended */
	cr_assert_eq(f->ops->map(f->src, 0, &addr), 0);
	cr_assert_eq(iios_scan_read(&l, addr, 1, 0),
		     (int64_t)(int16_t)(uint16_t)(iios_pattern_sample(0, 1) << 4) >> 4);
	fx_close(f);
}

Test(sim, format_big_endian_24_in_32_streams_the_pattern_shifted)
{
	struct source_config cfg = { .channels = 3, .sample_rate = 1000000,
				     .format = "be:s24/32>>8" };
	struct source_format fmt;
	struct iios_scan_layout l;
	struct fx *f = fx_open_cfg(&cfg);

	format_layout(f, &fmt, &l);
	cr_assert_eq(fmt.scan_bytes, 12);
	cr_assert(fmt.type[0].big_endian);
	cr_assert_eq(fmt.type[2].shift, 8);
	stream_and_check(f, &l, 12 * 512, 3);
	fx_close(f);
}

Test(sim, timestamp_channel_holds_each_scans_time_after_the_others)
{
	struct source_config cfg = { .channels = 2, .sample_rate = 1000000, .timestamp = true };
	struct source_format fmt;
	struct iios_scan_layout l;
	struct source_block b;
	struct fx *f = fx_open_cfg(&cfg);
	uint64_t ts = 0;
	uint32_t i;
	void *addr;

	format_layout(f, &fmt, &l);
	cr_assert_eq(fmt.device_channels, 2);
	cr_assert_eq(fmt.scan_elements, 3, "two channels and the timestamp");
	cr_assert_eq(fmt.timestamp_index, 2);
	cr_assert_eq(fmt.channel_mask, 0x7, "the timestamp is enabled with the rest");
	cr_assert_eq(fmt.type[2].bits, 64);
	cr_assert(l.elem[2].timestamp);
	cr_assert_eq(l.elem[2].offset, 8, "aligned to 8 bytes, as IIO aligns it");
	cr_assert_eq(fmt.scan_bytes, 16);

	alloc_blocks(f, 4096, 2); /* 256 scans */
	enqueue(f, 0);
	enqueue(f, 1);
	cr_assert_eq(f->ops->enable(f->src), 0);
	run_until_produced(f, 2);
	for (i = 0; i < 2; i++) {
		uint32_t k;

		cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
		assert_scans(f, &l, &b, (uint64_t)i * 256, &ts);
		cr_assert_eq(f->ops->map(f->src, b.id, &addr), 0);
		/* the scan's ideal time: the block's, + 1 us a scan at 1 MHz */
		for (k = 0; k < 256; k++)
			cr_assert_eq(iios_scan_read(&l, (uint8_t *)addr + k * 16, 2, 0),
				     (int64_t)(b.timestamp_ns + k * 1000ull), "block %u scan %u", i,
				     k);
	}
	cr_assert_eq(f->ops->disable(f->src), 0);
	fx_close(f);
}

Test(sim, timestamp_is_enabled_and_disabled_like_any_channel)
{
	struct source_config cfg = { .channels = 2, .sample_rate = 1000000, .timestamp = true,
				     .format = "le:S12/16>>0" };
	struct source_format fmt;
	struct iios_scan_layout l;
	struct fx *f = fx_open_cfg(&cfg);

	cr_assert_eq(f->ops->set_channels(f->src, 0x1), 0, "channel 0 alone");
	format_layout(f, &fmt, &l);
	cr_assert_eq(fmt.scan_bytes, 2);
	cr_assert_eq(fmt.channels, 1);
	cr_assert_eq(f->ops->set_channels(f->src, 0x4), 0, "the timestamp alone");
	format_layout(f, &fmt, &l);
	cr_assert_eq(fmt.scan_bytes, 8);
	cr_assert(l.elem[0].timestamp);
	cr_assert_eq(f->ops->set_channels(f->src, 0x8), -EINVAL, "no scan index 3");
	cr_assert_eq(f->ops->set_channels(f->src, 0x6), 0, "channel 1 and the timestamp");
	format_layout(f, &fmt, &l);
	cr_assert_eq(fmt.scan_bytes, 16);
	cr_assert_eq(l.elem[0].index, 1);
	f->scan_bytes = fmt.scan_bytes;
	stream_and_check(f, &l, 16 * 128, 2);
	fx_close(f);
}

Test(sim, unpaced_timestamps_are_the_blocks_time)
{
	struct source_config cfg = { .channels = 1, .sample_rate = 0, .timestamp = true,
				     .format = "be:u8/8>>0" };
	struct source_format fmt;
	struct iios_scan_layout l;
	struct source_block b;
	struct fx *f = fx_open_cfg(&cfg);
	uint64_t ts = 0;
	uint32_t k;
	void *addr;

	format_layout(f, &fmt, &l);
	cr_assert_eq(fmt.scan_bytes, 16, "u8 then the 8-aligned timestamp");
	alloc_blocks(f, 16 * 64, 1);
	enqueue(f, 0);
	cr_assert_eq(f->ops->enable(f->src), 0);
	run_until_produced(f, 1);
	cr_assert_eq(f->ops->dequeue(f->src, &b), 0);
	assert_scans(f, &l, &b, 0, &ts);
	cr_assert_eq(f->ops->map(f->src, b.id, &addr), 0);
	for (k = 0; k < 64; k++)
		cr_assert_eq(iios_scan_read(&l, (uint8_t *)addr + k * 16, 1, 0),
			     (int64_t)b.timestamp_ns);
	cr_assert_eq(f->ops->disable(f->src), 0);
	fx_close(f);
}

Test(sim, open_refuses_a_format_iio_cannot_describe)
{
	static const char *const bad[] = { "le:s12/16>>5", "le:s16/12>>0", "s16", "le:s16/16X0",
					   "be:s24/32>>8 " };
	uv_loop_t loop;
	struct source *src = NULL;
	struct source_config cfg = { .channels = 2, .sample_rate = 1000 };
	size_t i;

	cr_assert_eq(uv_loop_init(&loop), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.format = bad[i];
		cr_assert_eq(source_sim_ops.open(&src, &loop, &cfg), -EINVAL, "format=%s", bad[i]);
	}
	/* 64 channels leave no scan index for the timestamp */
	cfg.format = "";
	cfg.channels = 64;
	cfg.timestamp = true;
	cr_assert_eq(source_sim_ops.open(&src, &loop, &cfg), -EINVAL);
	cr_assert_eq(uv_loop_close(&loop), 0);
}

/* ---- the scan elements the kernel and readfd sources read from sysfs ----- */

#include <stdio.h>
#include <sys/stat.h>

#include "iio_sysfs.h"

/* A device directory DIR/iio:device0 with scan_elements/NAME = VALUE for
 * each pair of `files` (NULL-terminated); `dir` gets the device's path. */
static void sysfs_device(char dir[128], const char *const *files)
{
	char path[256];

	snprintf(dir, 128, "/tmp/iios-sysfs-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	strcat(dir, "/iio:device0");
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/scan_elements", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	for (; files[0]; files += 2) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/scan_elements/%s", dir, files[0]);
		f = fopen(path, "w");
		cr_assert_not_null(f, "%s", path);
		fputs(files[1], f);
		fclose(f);
	}
}

static void sysfs_device_remove(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);
	cr_assert_eq(system(cmd), 0);
}

static void assert_file(const char *dir, const char *name, const char *want)
{
	char got[64];

	cr_assert_eq(iio_sysfs_read(dir, name, got, sizeof(got)), 0, "%s", name);
	cr_assert_str_eq(got, want, "%s", name);
}

Test(iio_sysfs, scan_elements_are_the_voltage_types_and_the_timestamp_after_them)
{
	static const char *const files[] = {
		"in_voltage0_type", "be:s24/32>>8\n", "in_voltage1_type", "be:s24/32>>8\n",
		"in_timestamp_type", "le:s64/64>>0\n", "in_timestamp_index", "2\n",
		"in_voltage0_en", "", "in_voltage1_en", "", "in_timestamp_en", "", NULL
	};
	struct iios_scan_type types[64];
	struct iios_scan_layout l;
	uint32_t channels;
	int ts;
	char dir[128];

	sysfs_device(dir, files);
	cr_assert_eq(iio_sysfs_scan_elements(dir, types, &channels, &ts), 0);
	cr_assert_eq(channels, 2);
	cr_assert_eq(ts, 2);
	cr_assert(types[0].big_endian && types[0].bits == 24 && types[0].shift == 8);
	cr_assert_eq(types[2].bits, 64);
	/* every element: 4 + 4 + 8; voltage1 and the timestamp: 4, padding, 8 */
	cr_assert_eq(iios_scan_layout_from_mask(&l, types, 3, 0x7, ts), 0);
	cr_assert_eq(l.scan_bytes, 16);
	cr_assert(l.elem[2].timestamp);
	cr_assert_eq(iios_scan_layout_from_mask(&l, types, 3, 0x6, ts), 0);
	cr_assert_eq(l.scan_bytes, 16);
	cr_assert_eq(l.elem[1].offset, 8);
	/* enabling writes the timestamp's _en too */
	cr_assert_eq(iio_sysfs_enable_channels(dir, channels, 0x5, ts), 0);
	assert_file(dir, "scan_elements/in_voltage0_en", "1");
	assert_file(dir, "scan_elements/in_voltage1_en", "0");
	assert_file(dir, "scan_elements/in_timestamp_en", "1");
	cr_assert_eq(iio_sysfs_enable_channels(dir, channels, 0x2, ts), 0);
	assert_file(dir, "scan_elements/in_timestamp_en", "0");
	sysfs_device_remove(dir);
}

Test(iio_sysfs, a_device_without_timestamp_has_none_and_a_bad_one_is_refused)
{
	static const char *const plain[] = { "in_voltage0_type", "le:S12/16>>0\n", NULL };
	static const char *const short_ts[] = { "in_voltage0_type", "le:s16/16>>0\n",
						"in_timestamp_type", "le:s32/32>>0\n", NULL };
	static const char *const ts_first[] = { "in_voltage0_type", "le:s16/16>>0\n",
						"in_timestamp_type", "le:s64/64>>0\n",
						"in_timestamp_index", "0\n", NULL };
	struct iios_scan_type types[64];
	uint32_t channels;
	int ts;
	char dir[128];

	sysfs_device(dir, plain);
	cr_assert_eq(iio_sysfs_scan_elements(dir, types, &channels, &ts), 0);
	cr_assert_eq(channels, 1);
	cr_assert_eq(ts, -1);
	cr_assert(types[0].fully_defined && types[0].bits == 12);
	sysfs_device_remove(dir);
	sysfs_device(dir, short_ts);
	cr_assert_eq(iio_sysfs_scan_elements(dir, types, &channels, &ts), -EINVAL);
	sysfs_device_remove(dir);
	sysfs_device(dir, ts_first);
	cr_assert_eq(iio_sysfs_scan_elements(dir, types, &channels, &ts), -EINVAL);
	sysfs_device_remove(dir);
}
