// SPDX-License-Identifier: MIT
/*
 * The `dmabuf` block source (and sink): an IIO buffer through the mainline
 * kernel's DMABUF interface (Linux 6.11+, iio_dmabuf.h).
 *
 *   --source dmabuf:iiostream-sim          the device so named
 *   --source dmabuf:iio:device0,buffer=1   that device's buffer1
 *
 * Without buffer=, the first buffer of the device that takes a DMA-BUF
 * (ATTACH not refused with EPERM) is used; buffer=N names one, and a
 * buffer without DMABUF support is refused at start-up, naming it.
 *
 * Blocks (dmabuf_mem.h): each a memfd sealed F_SEAL_SHRINK made a DMA-BUF by
 * /dev/udmabuf, ATTACHed to the buffer once; the daemon maps the memfd, so
 * block_file() is (memfd, 0) and sendfile/MSG_ZEROCOPY send from its shmem
 * pages. Without /dev/udmabuf, /dev/dma_heap/system: copying transports
 * only (the source's ops then have no block_file(), so sendfile is refused
 * at start-up; MSG_ZEROCOPY cannot pin the heap's PFNMAP pages either). A block the daemon ENQUEUEs goes to
 * the device (IIO_BUFFER_DMABUF_ENQUEUE_IOCTL) while the buffer is enabled,
 * else it waits here and goes at enable. Its completion is its fence: a
 * uv_poll on its dmabuf fd for POLLOUT (iio_dmabuf.h says why), started at
 * ENQUEUE. Blocks complete in the order they were enqueued (the device
 * fills or plays them in turn); a fence reported out of order waits for
 * the ones before it. The daemon owns a block between DEQUEUE and ENQUEUE,
 * and has CPU access exactly then: DMA_BUF_IOCTL_SYNC START at alloc and
 * DEQUEUE, END at ENQUEUE (READ for capture, WRITE for output).
 *
 * Capture: a block's scan numbers and losses. The mainline UAPI has no
 * per-block header: the device's scan index runs from 0 at enable on its
 * sample clock, and scans are dropped only while no block is queued. When
 * the buffer has a loss counter (our module's bufferN/lost_scans, a
 * decimal count), it is read right after each ENQUEUE: scans dropped
 * between two blocks were dropped after the first of them completed and
 * before the second was queued, so the difference of the two readings is
 * exactly the gap before the second (first_sample and lost_samples of the
 * block, OVERFLOW when not 0); to_device() says what it does when the
 * block was already full by the time of the reading. A device without the counter reports no
 * loss (a real AXI ADC: only its timing could show one); its blocks are
 * numbered by counting. A device that drops scans inside a block it is
 * filling (our module's generator when it is late by more than its slack,
 * in a starved guest) leaves a jump in that block that nothing can
 * report: the counter has the scans, and the numbering takes them at the
 * next block enqueued after they were counted. The timestamp is an estimate: the time the
 * fence was seen, less the block's duration at the device's rate.
 * Disabling cancels the blocks in the device (their fences signal, with
 * -ECANCELED); they stay queued from the daemon's side and go to the
 * device again at the next enable; what a cancelled block held is
 * dropped, as is a block that completed just before the disable and whose
 * fence the loop had not seen yet (poll cannot tell the two apart).
 *
 * Output (a DAC's buffer, direction "out"): the daemon fills a block and
 * ENQUEUEs it with bytes_used and CYCLIC; it is DONE when its fence
 * signals (played; a cyclic block when the next replaced it). The
 * buffer's underflow_scans counter, read the same way, gives the silence
 * before a block (UNDERFLOW); underflows the events. Disable empties the
 * queue: every block in the device or waiting here comes back unplayed.
 *
 * A fence that never signals (the device stopped): disable waits up to
 * DMABUF_DISABLE_WAIT_MS for every fence in the device, logs the blocks
 * that did not, and leaves them with the device (they come back if their
 * fence signals later); free() detaches them anyway: the kernel keeps
 * the attachment alive until the fence signals. DETACH while queued
 * would do the same, which is why free() is refused while enabled.
 */
#define _GNU_SOURCE
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "dmabuf_mem.h"
#include "id_fifo.h"
#include "iio_dmabuf.h"
#include "iio_sysfs.h"
#include "iiostream/frame.h"
#include "log.h"

#define DMABUF_BLOCK_MAX ID_FIFO_MAX
#define DMABUF_DISABLE_WAIT_MS 1000

/* Who owns a block. */
enum dmabuf_block_state {
	DBLK_USER,    /* the daemon's (after alloc and DEQUEUE): CPU access on */
	DBLK_WAITING, /* enqueued by the daemon, not in the device yet (disabled) */
	DBLK_DEVICE,  /* ENQUEUEd to the device, its fence pending (polled) */
	DBLK_DONE,    /* its fence signalled: filled or played, to DEQUEUE */
};

/* The legal changes of owner (checked in every build, as block_ring's). */
static const bool legal[4][4] = {
	[DBLK_USER] = { [DBLK_WAITING] = true, [DBLK_DEVICE] = true },
	[DBLK_WAITING] = { [DBLK_DEVICE] = true, [DBLK_DONE] = true },
	[DBLK_DEVICE] = { [DBLK_DONE] = true, [DBLK_WAITING] = true },
	[DBLK_DONE] = { [DBLK_USER] = true },
};

struct dmabuf_source;

struct dmabuf_block {
	struct dmabuf_source *s;
	uv_poll_t poll;            /* its dmabuf fd while DEVICE; freed in its close cb */
	struct dmabuf_mem mem;
	uint32_t id;
	uint32_t size;             /* capacity: whole scans */
	enum dmabuf_block_state state;
	bool attached;
	bool signalled;            /* its fence signalled (seen by poll) */
	bool cyclic;
	uint32_t bytes_used;       /* as enqueued */
	uint64_t mark;             /* the loss counter after its ENQUEUE */
	/* what DEQUEUE reports */
	uint32_t flags;
	uint64_t timestamp_ns;
	uint64_t lost_samples;
	uint64_t first_sample;
};

/* A decimal sysfs counter of the buffer, kept open and re-read with pread();
 * `total` grows by what it grew since the last read, so a counter that
 * restarts at enable and one that counts since probe read the same. */
struct dmabuf_counter {
	int fd;                    /* -1: the buffer has no such attribute */
	uint64_t last;
	uint64_t total;
};

struct dmabuf_source {
	struct source base;
	uv_loop_t *loop;
	int buf_fd;                /* the IIO buffer's fd (IIO_BUFFER_GET_FD_IOCTL) */
	int udmabuf_fd, heap_fd;   /* the allocator: /dev/udmabuf, else the heap */
	int event_fd;              /* readable while `done` is not empty */
	uint32_t buffer;           /* the buffer's index */
	char node[PATH_MAX];       /* /dev/iio:deviceN */
	char iio_dir[PATH_MAX];    /* /sys/bus/iio/devices/iio:deviceN */
	char buf_dir[PATH_MAX + 16];/* its bufferN/ */
	char name[64];
	bool output;               /* a DAC's buffer (direction "out") */
	uint32_t channels;         /* voltage channels: scan indices 0..n-1 */
	uint32_t elements;         /* scan indices: channels, + 1 with a timestamp */
	int ts_index;
	struct iios_scan_type type[64];
	uint64_t mask;
	uint32_t scan_bytes;
	uint64_t rate;

	struct dmabuf_block *blocks[DMABUF_BLOCK_MAX];
	uint32_t nblocks;
	struct id_fifo waiting;    /* DBLK_WAITING, in enqueue order */
	struct id_fifo in_device;  /* DBLK_DEVICE, in enqueue order */
	struct id_fifo done;       /* DBLK_DONE */
	bool enabled;
	bool said_late;            /* logged that ENQUEUE before enable was refused */

	uint64_t next_scan;        /* the scan index after the last completed block */
	uint64_t last_mark;        /* the loss counter's mark of that block */
	struct dmabuf_counter loss;   /* lost_scans (capture), underflow_scans (output) */
	struct dmabuf_counter events; /* overflows (capture), underflows (output) */
	struct source_counters c;
	bool played_any;           /* output: a block played since enable */

	uint32_t handles;          /* block polls not closed yet */
	bool closing;              /* close() ran: free at the last handle */
	bool sync_warned;
};

static struct dmabuf_source *to_dmabuf(struct source *s)
{
	return (struct dmabuf_source *)s;
}

static const char *dir_name(const struct dmabuf_source *s)
{
	return s->output ? "output" : "capture";
}

static void set_state(struct dmabuf_block *b, enum dmabuf_block_state to)
{
	if (!legal[b->state][to]) {
		log_error("source dmabuf: illegal block transition %d -> %d (block %u)", b->state,
			  to, b->id);
		abort();
	}
	b->state = to;
}

/* ------------------------------------------------------------------ counters */

static void counter_open(struct dmabuf_counter *c, const char *dir, const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*c = (struct dmabuf_counter){ .fd = open(path, O_RDONLY | O_CLOEXEC) };
}

/* Read the counter again; its total (0 without the attribute). */
static uint64_t counter_update(struct dmabuf_counter *c)
{
	char buf[32], *end;
	unsigned long long v;
	ssize_t n;

	if (c->fd < 0)
		return c->total;
	n = pread(c->fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return c->total;
	buf[n] = '\0';
	v = strtoull(buf, &end, 10);
	if (end == buf)
		return c->total;
	c->total += v >= c->last ? v - c->last : v; /* restarted (enable): from 0 */
	c->last = v;
	return c->total;
}

static void counter_close(struct dmabuf_counter *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* ------------------------------------------------------------------ done queue */

static void push_done(struct dmabuf_source *s, struct dmabuf_block *b)
{
	uint64_t one = 1;

	set_state(b, DBLK_DONE);
	id_fifo_push(&s->done, b->id);
	if (s->done.count == 1 && write(s->event_fd, &one, sizeof(one)) < 0)
		abort(); /* an eventfd write of 1 cannot fail unless the fd is gone */
}

static void clear_ready(struct dmabuf_source *s)
{
	uint64_t v;

	if (s->done.count == 0 && read(s->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		abort();
}

/* CPU access to a block the daemon takes (start) or gives back. A failure
 * is logged once: on a cache-coherent machine it changes nothing. */
static void cpu_access(struct dmabuf_source *s, struct dmabuf_block *b, bool start)
{
	int err = dmabuf_mem_sync(&b->mem, start, s->output);

	if (err && !s->sync_warned) {
		log_warn("source dmabuf: %s: DMA_BUF_IOCTL_SYNC %s on block %u: %s", s->node,
			 start ? "START" : "END", b->id, strerror(-err));
		s->sync_warned = true;
	}
}

/* ------------------------------------------------------------------ completion */

/* Where block b sits in the device's stream: the scans its loss mark says
 * were dropped (capture) or played as silence (output) just before it, its
 * first scan, and a timestamp, an estimate: its last scan was captured or
 * played about when its fence signalled. Returns the gap. */
static uint64_t place_block(struct dmabuf_source *s, struct dmabuf_block *b)
{
	uint64_t scans = b->bytes_used / s->scan_bytes;
	uint64_t gap = b->mark > s->last_mark ? b->mark - s->last_mark : 0;

	s->last_mark = b->mark > s->last_mark ? b->mark : s->last_mark;
	b->lost_samples = gap;
	b->first_sample = s->next_scan + gap;
	s->next_scan = b->first_sample + scans;
	b->timestamp_ns = monotonic_ns() - (s->rate ? scans * 1000000000ull / s->rate : 0);
	s->c.blocks_produced++;
	s->c.bytes_produced += b->bytes_used;
	return gap;
}

/* A capture block the device filled. */
static void capture_done(struct dmabuf_source *s, struct dmabuf_block *b)
{
	uint64_t gap = place_block(s, b);

	b->flags = SOURCE_BLOCK_TIMESTAMP_VALID | (gap ? SOURCE_BLOCK_OVERFLOW : 0);
	if (gap)
		s->c.overflows++;
	s->c.lost_samples += gap;
}

/* An output block the device played (a cyclic one: until replaced). */
static void output_done(struct dmabuf_source *s, struct dmabuf_block *b)
{
	uint64_t gap = place_block(s, b);

	b->flags = SOURCE_BLOCK_TIMESTAMP_VALID | (gap ? SOURCE_BLOCK_UNDERFLOW : 0) |
		   (b->cyclic ? SOURCE_BLOCK_CYCLIC : 0);
	s->played_any = true;
}

/* Block b's fence signalled: filled or played while enabled; cancelled
 * by a disable otherwise (capture: queued again at the next enable;
 * output: back unplayed). */
static void complete(struct dmabuf_source *s, struct dmabuf_block *b)
{
	b->signalled = false;
	if (!s->enabled && !s->output) {
		set_state(b, DBLK_WAITING);
		id_fifo_push(&s->waiting, b->id);
		return;
	}
	if (!s->enabled) {
		b->flags = 0;
		b->lost_samples = 0;
	} else if (s->output) {
		output_done(s, b);
	} else {
		capture_done(s, b);
	}
	push_done(s, b);
}

/* Complete the blocks whose fences signalled: in enqueue order while
 * enabled (a later fence waits for the earlier ones), any of them after a
 * disable. */
static void complete_signalled(struct dmabuf_source *s)
{
	struct id_fifo rest = { .count = 0 };

	while (s->in_device.count) {
		struct dmabuf_block *b = s->blocks[s->in_device.ids[s->in_device.head]];

		if (!b->signalled) {
			if (s->enabled)
				return;
			id_fifo_push(&rest, id_fifo_pop(&s->in_device));
			continue;
		}
		id_fifo_pop(&s->in_device);
		complete(s, b);
	}
	while (rest.count)
		id_fifo_push(&s->in_device, id_fifo_pop(&rest));
}

static void on_fence(uv_poll_t *h, int status, int events)
{
	struct dmabuf_block *b = h->data;
	struct dmabuf_source *s = b->s;

	(void)events;
	uv_poll_stop(h);
	if (b->state != DBLK_DEVICE)
		return;
	if (status < 0)
		log_error("source dmabuf: %s: poll of block %u's dmabuf: %s", s->node, b->id,
			  uv_strerror(status));
	b->signalled = true;
	complete_signalled(s);
}

/* ------------------------------------------------------------------ to the device */

/* Is block b's fence still pending (its dmabuf not ready for POLLOUT)? */
static bool fence_pending(const struct dmabuf_block *b)
{
	struct pollfd p = { .fd = b->mem.dmabuf_fd, .events = POLLOUT };

	return poll(&p, 1, 0) == 0;
}

/*
 * ENQUEUE block b (USER or WAITING) to the device, and its mark: the loss
 * counter read after the ENQUEUE counts every scan dropped before b, and
 * none after it as long as b is still queued when it was read, which the
 * fence says (b pending after the read: pending during it). If b was
 * already filled (the daemon stalled longer than a block lasts), scans
 * dropped after it may be in that reading: the one before the ENQUEUE is
 * taken instead, which misses only what a tick dropped between the two.
 */
static int to_device(struct dmabuf_source *s, struct dmabuf_block *b)
{
	uint64_t before = counter_update(&s->loss), after;
	int err;

	/* capture: whole scans of the elements enabled now (a subscriber may
	 * have picked channels since the block was enqueued) */
	if (!s->output)
		b->bytes_used = b->size - b->size % s->scan_bytes;
	err = iio_dmabuf_enqueue(s->buf_fd, b->mem.dmabuf_fd, b->bytes_used, b->cyclic);

	if (err)
		return err;
	set_state(b, DBLK_DEVICE);
	b->signalled = false;
	after = counter_update(&s->loss);
	b->mark = after == before || s->loss.fd < 0 || fence_pending(b) ? after : before;
	id_fifo_push(&s->in_device, b->id);
	uv_poll_start(&b->poll, UV_WRITABLE, on_fence);
	return 0;
}

static void log_enqueue_error(struct dmabuf_source *s, uint32_t id, int err)
{
	log_error("source dmabuf: %s buffer%u: ENQUEUE of block %u (%s): %s%s", s->node,
		  s->buffer, id, dir_name(s), strerror(-err),
		  err == -EBUSY ? " (its previous fence has not signalled)" : "");
}

/* The waiting blocks to the device, in order; the first that fails stays
 * waiting with those after it. */
static int send_waiting(struct dmabuf_source *s, bool log_errors)
{
	while (s->waiting.count) {
		struct dmabuf_block *b = s->blocks[s->waiting.ids[s->waiting.head]];
		int err = to_device(s, b);

		if (err) {
			if (log_errors)
				log_enqueue_error(s, b->id, err);
			return err;
		}
		id_fifo_pop(&s->waiting);
	}
	return 0;
}

/* ------------------------------------------------------------------ open */

/* "/dev/iio:deviceN", "iio:deviceN" or a device name into node and iio_dir. */
static int find_device(struct dmabuf_source *s, const char *arg)
{
	const char *base = strrchr(arg, '/') ? strrchr(arg, '/') + 1 : arg;

	if (strncmp(base, "iio:device", 10) == 0) {
		snprintf(s->node, sizeof(s->node), "/dev/%s", base);
		snprintf(s->iio_dir, sizeof(s->iio_dir), "%s/%s", IIO_SYSFS_ROOT, base);
		if (!iio_sysfs_exists(s->iio_dir, "name")) {
			log_error("source dmabuf: no IIO device %s (%s)", base, s->iio_dir);
			return -ENODEV;
		}
	} else if (iio_sysfs_find_by_name(arg, s->iio_dir, sizeof(s->iio_dir)) == 0) {
		snprintf(s->node, sizeof(s->node), "/dev/%s", strrchr(s->iio_dir, '/') + 1);
	} else {
		log_error("source dmabuf: no IIO device named '%s' under %s", arg, IIO_SYSFS_ROOT);
		return -ENODEV;
	}
	if (iio_sysfs_read(s->iio_dir, "name", s->name, sizeof(s->name)))
		snprintf(s->name, sizeof(s->name), "iio");
	return 0;
}

/* The buffer: the one named, or the first that takes a DMA-BUF; its fd. */
static int open_buffer(struct dmabuf_source *s, const struct source_config *cfg)
{
	const char *id = strrchr(s->node, '/') + 1;
	int err;

	if (cfg->buffer_set) {
		s->buffer = cfg->buffer;
		err = iio_dmabuf_probe(s->node, s->buffer);
	} else {
		err = iio_dmabuf_find_buffer(s->iio_dir, s->node, &s->buffer);
	}
	if (err == -EPERM) {
		if (cfg->buffer_set)
			log_error("source dmabuf: %s (%s) buffer%u has no DMABUF support (ATTACH: "
				  "EPERM): name a buffer that has, or use readfd:%s", id, s->name,
				  s->buffer, id);
		else
			log_error("source dmabuf: no buffer of %s (%s) takes DMA-BUFs (ATTACH: "
				  "EPERM on each): its kernel or driver has no DMABUF interface; "
				  "use readfd:%s", id, s->name, id);
		return err;
	}
	if (err == -EBUSY) {
		log_error("source dmabuf: %s (%s) buffer%u is open elsewhere (EBUSY): another "
			  "process streams it", id, s->name, s->buffer);
		return err;
	}
	if (err) {
		log_error("source dmabuf: %s (%s) buffer%u: %s%s", id, s->name, s->buffer,
			  strerror(-err), err == -ENODEV && !cfg->buffer_set ?
			  " (no /dev/udmabuf nor /dev/dma_heap/system to try it with?)" : "");
		return err;
	}
	snprintf(s->buf_dir, sizeof(s->buf_dir), "%s/buffer%u", s->iio_dir, s->buffer);
	s->buf_fd = iio_dmabuf_buffer_fd(s->node, s->buffer);
	if (s->buf_fd < 0) {
		log_error("source dmabuf: %s buffer%u: %s", s->node, s->buffer, strerror(-s->buf_fd));
		return s->buf_fd;
	}
	return 0;
}

/* Direction, scan elements (all enabled to begin with), rate. */
static int read_format(struct dmabuf_source *s, const struct source_config *cfg)
{
	struct iios_scan_layout l;
	char dirn[8];
	int err;

	if (iio_sysfs_read(s->buf_dir, "direction", dirn, sizeof(dirn)) == 0)
		s->output = strcmp(dirn, "out") == 0;
	else
		s->output = iio_sysfs_exists(s->buf_dir, "out_voltage0_type");
	err = iio_sysfs_elements_in(s->buf_dir, s->output, s->type, &s->channels, &s->ts_index);
	if (err)
		return err;
	s->elements = s->channels + (s->ts_index >= 0);
	s->mask = s->elements >= 64 ? ~0ull : (1ull << s->elements) - 1;
	if (iios_scan_layout_from_mask(&l, s->type, s->elements, s->mask, s->ts_index))
		return -EINVAL;
	s->scan_bytes = l.scan_bytes;
	if (cfg->channels_set && cfg->channels != s->channels) {
		log_error("source dmabuf: %s has %u channels, not %u (drop --channels)", s->name,
			  s->channels, cfg->channels);
		return -EINVAL;
	}
	if (cfg->rate_set) {
		err = iio_sysfs_write_rate(s->iio_dir, cfg->sample_rate, "source dmabuf");
		if (err)
			return err;
	}
	if (iio_sysfs_read_u64(s->iio_dir, "sampling_frequency", &s->rate))
		s->rate = 0;
	return 0;
}

/* /dev/udmabuf, else the system heap. */
static int open_allocator(struct dmabuf_source *s)
{
	s->udmabuf_fd = open(DMABUF_UDMABUF_PATH, O_RDWR | O_CLOEXEC);
	if (s->udmabuf_fd >= 0)
		return 0;
	s->heap_fd = open(DMABUF_HEAP_PATH, O_RDONLY | O_CLOEXEC);
	if (s->heap_fd >= 0) {
		log_warn("source dmabuf: no %s: blocks from %s, which only copying transports "
			 "can send (--transport copy)", DMABUF_UDMABUF_PATH, DMABUF_HEAP_PATH);
		return 0;
	}
	log_error("source dmabuf: neither %s nor %s: nothing to allocate DMA-BUFs from",
		  DMABUF_UDMABUF_PATH, DMABUF_HEAP_PATH);
	return -ENODEV;
}

static void close_fds(struct dmabuf_source *s)
{
	int *fds[] = { &s->buf_fd, &s->udmabuf_fd, &s->heap_fd, &s->event_fd };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	counter_close(&s->loss);
	counter_close(&s->events);
}

/* The open source's ops (heap blocks have no file behind them: a table
 * without block_file(), so that the daemon refuses sendfile up front), its
 * counters, and the line that says what it opened. */
static void finish_open(struct dmabuf_source *s)
{
	static struct source_ops heap_ops;

	if (s->udmabuf_fd < 0) {
		heap_ops = source_dmabuf_ops;
		heap_ops.block_file = NULL;
		s->base.ops = &heap_ops;
	}
	counter_open(&s->loss, s->buf_dir, s->output ? "underflow_scans" : "lost_scans");
	counter_open(&s->events, s->buf_dir, s->output ? "underflows" : "overflows");
	log_info("source dmabuf: %s buffer%u (%s, %s, %u channels%s, %u-byte scans at %" PRIu64
		 " scans/s, blocks from %s%s)",
		 s->node, s->buffer, s->name, dir_name(s), s->channels,
		 s->ts_index >= 0 ? " and a timestamp" : "", s->scan_bytes, s->rate,
		 s->udmabuf_fd >= 0 ? "udmabuf" : "the dma-heap",
		 s->loss.fd >= 0 ? "" : s->output ? ", no underflow counter"
						  : ", no loss counter: losses not seen");
}

static int dmabuf_open(struct source **out, uv_loop_t *loop, const struct source_config *cfg)
{
	const char *arg = cfg->arg ? cfg->arg : "";
	struct dmabuf_source *s;
	int err;

	if (!arg[0]) {
		log_error("source dmabuf: say which device: dmabuf:NAME or dmabuf:iio:deviceN");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &source_dmabuf_ops;
	s->loop = loop;
	s->buf_fd = s->udmabuf_fd = s->heap_fd = s->event_fd = -1;
	s->loss.fd = s->events.fd = -1;
	err = find_device(s, arg);
	if (!err)
		err = open_buffer(s, cfg);
	if (!err)
		err = read_format(s, cfg);
	if (!err)
		err = open_allocator(s);
	if (!err) {
		s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		err = s->event_fd < 0 ? -errno : 0;
	}
	if (err) {
		close_fds(s);
		free(s);
		return err;
	}
	finish_open(s);
	*out = &s->base;
	return 0;
}

/* ------------------------------------------------------------------ blocks */

static void on_block_closed(uv_handle_t *h)
{
	struct dmabuf_block *b = h->data;
	struct dmabuf_source *s = b->s;

	dmabuf_mem_free(&b->mem);
	free(b);
	if (--s->handles == 0 && s->closing)
		free(s);
}

/* Detach block b and let it go (its memory goes when its poll closed). */
static void block_destroy(struct dmabuf_source *s, struct dmabuf_block *b)
{
	if (b->attached) {
		int err = iio_dmabuf_detach(s->buf_fd, b->mem.dmabuf_fd);

		if (err)
			log_error("source dmabuf: %s buffer%u: DETACH of block %u: %s", s->node,
				  s->buffer, b->id, strerror(-err));
	}
	if (b->state == DBLK_DEVICE)
		log_warn("source dmabuf: %s buffer%u: block %u freed while its fence is pending "
			 "(the kernel keeps it until the fence signals)", s->node, s->buffer, b->id);
	uv_poll_stop(&b->poll);
	uv_close((uv_handle_t *)&b->poll, on_block_closed);
}

/* One new block of `size` bytes as id `id`: memory, attached, polled
 * (stopped), CPU access on. */
static int block_create(struct dmabuf_source *s, uint32_t id, uint32_t size)
{
	struct dmabuf_block *b = calloc(1, sizeof(*b));
	char name[48];
	int err;

	if (!b)
		return -ENOMEM;
	b->s = s;
	b->id = id;
	b->size = size;
	snprintf(name, sizeof(name), "iiostream-dmabuf-%u", id);
	err = dmabuf_mem_alloc(&b->mem, s->udmabuf_fd, s->heap_fd, name, size,
			       s->output ? PROT_READ | PROT_WRITE : PROT_READ);
	if (err) {
		log_error("source dmabuf: block %u of %u bytes from %s: %s", id, size,
			  s->udmabuf_fd >= 0 ? DMABUF_UDMABUF_PATH : DMABUF_HEAP_PATH,
			  strerror(-err));
		free(b);
		return err;
	}
	err = iio_dmabuf_attach(s->buf_fd, b->mem.dmabuf_fd);
	if (err) {
		log_error("source dmabuf: %s buffer%u: ATTACH of block %u: %s%s", s->node, s->buffer,
			  id, strerror(-err), err == -EPERM ? " (the buffer has no DMABUF support)" : "");
		dmabuf_mem_free(&b->mem);
		free(b);
		return err;
	}
	b->attached = true;
	err = uv_poll_init(s->loop, &b->poll, b->mem.dmabuf_fd);
	if (err) {
		iio_dmabuf_detach(s->buf_fd, b->mem.dmabuf_fd);
		dmabuf_mem_free(&b->mem);
		free(b);
		return err;
	}
	b->poll.data = b;
	s->handles++;
	s->blocks[id] = b;
	cpu_access(s, b, true);
	return 0;
}

static int dmabuf_alloc(struct source *src, uint32_t size, uint32_t count, uint32_t *first_id)
{
	struct dmabuf_source *s = to_dmabuf(src);
	uint32_t i;
	int err;

	if (s->enabled)
		return -EBUSY;
	if (count == 0 || count > DMABUF_BLOCK_MAX - s->nblocks || size < s->scan_bytes ||
	    size % s->scan_bytes || size > IIOS_FRAME_MAX_PAYLOAD)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		err = block_create(s, s->nblocks + i, size);
		if (err) {
			while (i--) {
				block_destroy(s, s->blocks[s->nblocks + i]);
				s->blocks[s->nblocks + i] = NULL;
			}
			return err;
		}
	}
	*first_id = s->nblocks;
	s->nblocks += count;
	return 0;
}

static struct dmabuf_block *find_block(struct dmabuf_source *s, uint32_t id)
{
	return id < s->nblocks ? s->blocks[id] : NULL;
}

static void fill(const struct dmabuf_block *b, struct source_block *blk)
{
	blk->id = b->id;
	blk->size = b->size;
	blk->bytes_used = b->state == DBLK_USER ? b->bytes_used : 0;
	blk->flags = b->flags;
	blk->offset = 0;
	blk->timestamp_ns = b->timestamp_ns;
	blk->lost_samples = b->lost_samples;
	blk->first_sample = b->first_sample;
}

static int dmabuf_query(struct source *src, struct source_block *blk)
{
	struct dmabuf_block *b = find_block(to_dmabuf(src), blk->id);

	if (!b)
		return -EINVAL;
	fill(b, blk);
	return 0;
}

static int dmabuf_map(struct source *src, uint32_t id, void **addr)
{
	struct dmabuf_block *b = find_block(to_dmabuf(src), id);

	if (!b)
		return -EINVAL;
	*addr = b->mem.addr;
	return 0;
}

static int dmabuf_block_file(struct source *src, uint32_t id, int *fd, uint64_t *offset)
{
	struct dmabuf_block *b = find_block(to_dmabuf(src), id);

	if (!b)
		return -EINVAL;
	if (b->mem.mem_fd < 0)
		return -EOPNOTSUPP; /* a heap buffer: no file behind it */
	*fd = b->mem.mem_fd;
	*offset = 0;
	return 0;
}

static int dmabuf_enqueue(struct source *src, const struct source_block *blk)
{
	struct dmabuf_source *s = to_dmabuf(src);
	struct dmabuf_block *b = find_block(s, blk->id);
	int err;

	if (!b)
		return -EINVAL;
	if (b->state != DBLK_USER)
		return -EBUSY;
	if (!s->output) {
		if (blk->flags & SOURCE_BLOCK_CYCLIC)
			return -EINVAL;
		b->cyclic = false; /* bytes_used: as many whole scans as fit, at ENQUEUE */
	} else {
		if (blk->flags & ~SOURCE_BLOCK_CYCLIC || !blk->bytes_used ||
		    blk->bytes_used > b->size || blk->bytes_used % s->scan_bytes)
			return -EINVAL;
		b->bytes_used = blk->bytes_used;
		b->cyclic = (blk->flags & SOURCE_BLOCK_CYCLIC) != 0;
	}
	cpu_access(s, b, false);
	if (!s->enabled || s->waiting.count) {
		/* to the device at enable, or after the blocks waiting before it */
		set_state(b, DBLK_WAITING);
		id_fifo_push(&s->waiting, b->id);
		if (s->enabled)
			send_waiting(s, true);
		return 0;
	}
	err = to_device(s, b);
	if (err) {
		log_enqueue_error(s, b->id, err);
		cpu_access(s, b, true); /* the daemon's again */
	}
	return err;
}

static int dmabuf_dequeue(struct source *src, struct source_block *blk)
{
	struct dmabuf_source *s = to_dmabuf(src);
	struct dmabuf_block *b;

	if (!s->done.count)
		return -EAGAIN;
	b = s->blocks[id_fifo_pop(&s->done)];
	clear_ready(s);
	set_state(b, DBLK_USER);
	cpu_access(s, b, true);
	fill(b, blk);
	return 0;
}

static int dmabuf_fd_to_poll(struct source *src)
{
	return to_dmabuf(src)->event_fd;
}

/* ------------------------------------------------------------------ enable */

static int write_attr(struct dmabuf_source *s, const char *attr, const char *value)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", s->buf_dir, attr);
	return iio_sysfs_write(path, value);
}

/* The buffer's scan elements and length for the blocks it will get. */
static void configure_buffer(struct dmabuf_source *s)
{
	char len[32];
	uint64_t scans = 0;
	uint32_t i;

	iio_sysfs_enable_elements_in(s->buf_dir, s->output, s->channels, s->mask, s->ts_index);
	for (i = 0; i < s->nblocks; i++)
		scans += s->blocks[i]->size / s->scan_bytes;
	snprintf(len, sizeof(len), "%" PRIu64, scans ? scans : 1024);
	write_attr(s, "length", len); /* some DMABUF buffers' length is read-only */
}

static int dmabuf_enable(struct source *src)
{
	struct dmabuf_source *s = to_dmabuf(src);
	uint32_t i;
	int err;

	if (s->enabled)
		return -EBUSY;
	configure_buffer(s);
	/* queued first, so that no scan is dropped before the first block
	 * (what a device refuses before the enable goes after it) */
	if (s->waiting.count && (err = send_waiting(s, false)) != 0 && !s->said_late) {
		log_info("source dmabuf: %s buffer%u: ENQUEUE before the enable: %s; the blocks "
			 "go after it", s->node, s->buffer, strerror(-err));
		s->said_late = true;
	}
	err = write_attr(s, "enable", "1");
	if (err) {
		/* blocks queued above wait in the device for the next enable */
		log_error("source dmabuf: %s/enable: %s%s", s->buf_dir, strerror(-err),
			  err == -EBUSY ? " (iiostream_sim: its block node is open)"
			  : err == -EINVAL ? " (another buffer of the device enabled? IIO "
					     "enables a hardware buffer alone)" : "");
		return err;
	}
	s->enabled = true;
	s->c.enabled = true;
	s->next_scan = 0;
	s->played_any = false;
	/* the counters as the stream starts: the blocks queued before the
	 * enable lost nothing before them */
	s->last_mark = counter_update(&s->loss);
	counter_update(&s->events);
	for (i = 0; i < s->in_device.count; i++)
		s->blocks[s->in_device.ids[(s->in_device.head + i) % ID_FIFO_MAX]]->mark =
			s->last_mark;
	send_waiting(s, true);
	return 0;
}

/* Wait (bounded) for the fences of the blocks in the device after the
 * buffer stopped; the ones that signalled are marked. */
static uint32_t wait_fences(struct dmabuf_source *s)
{
	uint64_t deadline = monotonic_ns() + DMABUF_DISABLE_WAIT_MS * 1000000ull;
	uint32_t i, stuck = 0;

	for (i = 0; i < s->in_device.count; i++) {
		struct dmabuf_block *b =
			s->blocks[s->in_device.ids[(s->in_device.head + i) % ID_FIFO_MAX]];
		struct pollfd p = { .fd = b->mem.dmabuf_fd, .events = POLLOUT };
		uint64_t now = monotonic_ns();
		int ms = now < deadline ? (int)((deadline - now) / 1000000) : 0;

		if (b->signalled)
			continue;
		if (poll(&p, 1, ms) == 1 && (p.revents & POLLOUT)) {
			b->signalled = true;
			uv_poll_stop(&b->poll);
		} else {
			stuck++;
		}
	}
	return stuck;
}

static int dmabuf_disable(struct source *src)
{
	struct dmabuf_source *s = to_dmabuf(src);
	uint32_t stuck = 0, back = s->done.count;
	int err = 0;

	if (s->enabled) {
		err = write_attr(s, "enable", "0");
		if (err)
			log_error("source dmabuf: %s/enable: %s", s->buf_dir, strerror(-err));
		s->enabled = false;
		s->c.enabled = false;
		stuck = wait_fences(s);
		complete_signalled(s);
		if (stuck)
			log_error("source dmabuf: %s buffer%u: %u block%s' fences did not signal "
				  "within %d ms of the disable (the device stopped?): they stay "
				  "with the device until they do", s->node, s->buffer, stuck,
				  stuck == 1 ? "" : "s", DMABUF_DISABLE_WAIT_MS);
	}
	/* output: nothing queued plays at the next enable */
	while (s->output && s->waiting.count) {
		struct dmabuf_block *b = s->blocks[id_fifo_pop(&s->waiting)];

		b->flags = 0;
		b->lost_samples = 0;
		push_done(s, b);
	}
	if (s->output && s->done.count > back)
		log_info("source dmabuf: %s buffer%u: %u queued blocks back unplayed", s->node,
			 s->buffer, s->done.count - back);
	return err;
}

static int dmabuf_set_channels(struct source *src, uint64_t mask)
{
	struct dmabuf_source *s = to_dmabuf(src);
	struct iios_scan_layout l;

	if (s->enabled)
		return -EBUSY;
	if (iios_scan_layout_from_mask(&l, s->type, s->elements, mask, s->ts_index) ||
	    l.count == 0)
		return -EINVAL;
	s->mask = mask;
	s->scan_bytes = l.scan_bytes;
	return 0;
}

static int dmabuf_free(struct source *src)
{
	struct dmabuf_source *s = to_dmabuf(src);
	uint32_t i;

	if (s->enabled)
		return -EBUSY;
	for (i = 0; i < s->nblocks; i++) {
		block_destroy(s, s->blocks[i]);
		s->blocks[i] = NULL;
	}
	s->nblocks = 0;
	s->waiting.count = s->in_device.count = s->done.count = 0;
	clear_ready(s);
	return 0;
}

static void dmabuf_format(struct source *src, struct source_format *fmt)
{
	struct dmabuf_source *s = to_dmabuf(src);
	uint64_t rate;

	if (!s->enabled && iio_sysfs_read_u64(s->iio_dir, "sampling_frequency", &rate) == 0 && rate)
		s->rate = rate;
	fmt->device = s->name;
	fmt->iio_id = strrchr(s->iio_dir, '/') + 1;
	fmt->device_channels = s->channels;
	fmt->channel_mask = s->mask;
	fmt->channels = (uint32_t)__builtin_popcountll(s->mask);
	fmt->scan_bytes = s->scan_bytes;
	fmt->sample_rate = s->rate;
	fmt->scan_elements = s->elements;
	memcpy(fmt->type, s->type, s->elements * sizeof(fmt->type[0]));
	fmt->timestamp_index = s->ts_index;
	fmt->output = s->output;
}

static void dmabuf_counters(struct source *src, struct source_counters *c)
{
	struct dmabuf_source *s = to_dmabuf(src);
	uint64_t loss = counter_update(&s->loss), events = counter_update(&s->events);

	*c = s->c;
	if (!s->output) {
		/* the device counts every dropped scan, also those no block
		 * reported yet */
		if (s->loss.fd >= 0)
			c->lost_samples = loss;
		if (s->events.fd >= 0)
			c->overflows = events;
		return;
	}
	c->underflows = events;
	c->underflow_samples = loss;
	/* dry now: nothing queued after playing started (the device plays
	 * silence and counts it: an underflow, or the end of a drain) */
	c->underflowing = s->enabled && s->played_any && !s->in_device.count &&
			  !s->waiting.count;
	c->underflow_at = s->next_scan;
	c->played_samples = s->next_scan + (c->underflowing && loss > s->last_mark ?
					    loss - s->last_mark : 0);
}

static void dmabuf_close(struct source *src)
{
	struct dmabuf_source *s = to_dmabuf(src);

	dmabuf_disable(src);
	dmabuf_free(src); /* detaches every block; their memory goes as their polls close */
	close_fds(s);
	s->closing = true;
	if (s->handles == 0)
		free(s);
}

const struct source_ops source_dmabuf_ops = {
	.name = "dmabuf",
	.open = dmabuf_open,
	.alloc = dmabuf_alloc,
	.query = dmabuf_query,
	.map = dmabuf_map,
	.enqueue = dmabuf_enqueue,
	.dequeue = dmabuf_dequeue,
	.fd_to_poll = dmabuf_fd_to_poll,
	.enable = dmabuf_enable,
	.disable = dmabuf_disable,
	.set_channels = dmabuf_set_channels,
	.free = dmabuf_free,
	.block_file = dmabuf_block_file,
	.format = dmabuf_format,
	.counters = dmabuf_counters,
	.close = dmabuf_close,
};
