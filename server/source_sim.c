// SPDX-License-Identifier: MIT
/*
 * The `sim` block source: a simulated high-rate ADC in userspace.
 *
 * It implements the IIO mmap block life cycle exactly (see source.h), so the
 * daemon drives it the way it will drive the kernel module:
 *
 *  - blocks live in one memfd, each block mapped on its own at a page-aligned
 *    offset (memfd so that sendfile() can send them later);
 *  - sim: a uv timer stands in for the ADC and its DMA engine. Each tick it
 *    works out how many scans are due since capture started (drift-free, as
 *    vivid does) and writes them, with the shared verifiable pattern, into
 *    the active block; a full block gets its timestamp and moves to the done
 *    queue;
 *  - when scans are due and no block is queued, they are lost: counted, and
 *    the next block carries SOURCE_BLOCK_OVERFLOW and the number lost;
 *  - sim: an eventfd stands in for the device node's poll(): readable while
 *    the done queue is not empty;
 *  - with a sample rate of 0 the "ADC" fills a block as soon as one is
 *    queued (a uv idle handle), for benchmarks.
 */
#define _GNU_SOURCE
#include "source.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "id_fifo.h"
#include "iiostream/frame.h"
#include "iiostream/pattern.h"

#define SIM_MAX_BLOCKS ID_FIFO_MAX
#define SIM_TICK_MS 1
/* The largest sampling_frequency an attribute write may set (--rate's). */
#define SIM_MAX_RATE 1000000000ull

enum sim_block_state {
	SIM_BLOCK_USER,    /* owned by the daemon (after alloc or dequeue) */
	SIM_BLOCK_QUEUED,  /* enqueued, waiting to be filled */
	SIM_BLOCK_ACTIVE,  /* being filled by the "ADC" */
	SIM_BLOCK_DONE,    /* filled, waiting to be dequeued */
};

struct sim_block {
	enum sim_block_state state;
	uint32_t size;
	uint64_t offset;       /* in the memfd */
	uint8_t *addr;         /* mapping of this block */
	uint32_t bytes_used;
	uint32_t flags;
	uint64_t timestamp_ns;
	uint64_t lost_samples;
	uint64_t first_sample;
};

struct sim_source {
	struct source base;
	uv_loop_t *loop;
	uv_timer_t tick;       /* sim: the ADC clock (rate > 0) */
	uv_idle_t eager;       /* sim: fill at once (rate == 0) */
	int closing_handles;
	int event_fd;          /* readable while done is not empty */
	int mem_fd;
	uint64_t mem_len;

	uint32_t device_channels;  /* the simulated ADC's channels */
	uint64_t channel_mask;     /* enabled ones, bit i for channel i */
	unsigned char ids[64];     /* enabled channel indices, ascending */
	uint32_t channels, scan_bytes; /* enabled count; bytes per scan */
	uint64_t rate;

	struct sim_block blocks[SIM_MAX_BLOCKS];
	uint32_t nblocks;
	struct id_fifo incoming, done;
	int32_t active;        /* block being filled, or -1 */

	bool enabled;
	uint64_t t0_ns;        /* when capture was (re)enabled */
	uint64_t n0;           /* scans produced before that */
	uint64_t produced;     /* absolute index of the next scan to produce */
	uint64_t pending_lost; /* scans lost since the last filled block */
	struct source_counters counters;
};


static struct sim_source *to_sim(struct source *s)
{
	return (struct sim_source *)s;
}

static void signal_ready(struct sim_source *sim)
{
	uint64_t one = 1;

	/* Level-triggered readiness: set when done goes from empty to non-empty. */
	if (sim->done.count == 1 && write(sim->event_fd, &one, sizeof(one)) < 0)
		abort(); /* an eventfd write of 1 cannot fail unless the fd is gone */
}

static void clear_ready(struct sim_source *sim)
{
	uint64_t v;

	if (sim->done.count == 0 && read(sim->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		abort();
}

/* Move the active block to the done queue with what it holds. */
static void complete_active(struct sim_source *sim)
{
	struct sim_block *b = &sim->blocks[sim->active];

	b->state = SIM_BLOCK_DONE;
	id_fifo_push(&sim->done, (uint32_t)sim->active);
	sim->active = -1;
	sim->counters.blocks_produced++;
	sim->counters.bytes_produced += b->bytes_used;
	signal_ready(sim);
}

/* Take the next queued block as the active one. false if none is queued. */
static bool start_next_block(struct sim_source *sim, uint64_t first_scan)
{
	struct sim_block *b;

	if (sim->incoming.count == 0)
		return false;
	sim->active = (int32_t)id_fifo_pop(&sim->incoming);
	b = &sim->blocks[sim->active];
	b->state = SIM_BLOCK_ACTIVE;
	b->bytes_used = 0;
	b->flags = SOURCE_BLOCK_TIMESTAMP_VALID;
	b->lost_samples = sim->pending_lost;
	b->first_sample = first_scan;
	if (sim->pending_lost)
		b->flags |= SOURCE_BLOCK_OVERFLOW;
	sim->pending_lost = 0;
	/* sim: the ideal capture time of the block's first scan */
	if (sim->rate)
		b->timestamp_ns = sim->t0_ns +
			(first_scan - sim->n0) / sim->rate * 1000000000ull +
			(first_scan - sim->n0) % sim->rate * 1000000000ull / sim->rate;
	else
		b->timestamp_ns = monotonic_ns();
	return true;
}

/* sim: produce scans up to absolute index `due`, as the ADC would. */
static void produce_until(struct sim_source *sim, uint64_t due)
{
	while (sim->produced < due) {
		struct sim_block *b;
		uint64_t room, n;

		if (sim->active < 0 && !start_next_block(sim, sim->produced)) {
			/* No block to write into: the scans are lost, and said so. */
			sim->counters.overflows++;
			sim->counters.lost_samples += due - sim->produced;
			sim->pending_lost += due - sim->produced;
			sim->produced = due;
			return;
		}
		b = &sim->blocks[sim->active];
		room = (b->size - b->bytes_used) / sim->scan_bytes;
		n = due - sim->produced < room ? due - sim->produced : room;
		iios_pattern_fill_fast_ids(b->addr + b->bytes_used, sim->produced, (uint32_t)n,
					   sim->ids, sim->channels);
		b->bytes_used += (uint32_t)(n * sim->scan_bytes);
		sim->produced += n;
		if (b->bytes_used + sim->scan_bytes > b->size)
			complete_active(sim);
	}
}

static uint64_t scans_due(struct sim_source *sim)
{
	uint64_t dt = monotonic_ns() - sim->t0_ns;

	return sim->n0 + dt / 1000000000ull * sim->rate +
	       dt % 1000000000ull * sim->rate / 1000000000ull;
}

static void on_tick(uv_timer_t *t)
{
	struct sim_source *sim = t->data;

	produce_until(sim, scans_due(sim));
}

static void on_eager(uv_idle_t *h)
{
	struct sim_source *sim = h->data;

	while (sim->active >= 0 || sim->incoming.count) {
		struct sim_block *b;

		if (sim->active < 0)
			start_next_block(sim, sim->produced);
		b = &sim->blocks[sim->active];
		produce_until(sim, sim->produced + (b->size - b->bytes_used) / sim->scan_bytes);
	}
	uv_idle_stop(h);
}

/* Enable the channels of `mask` (checked by the caller). */
static void set_mask(struct sim_source *sim, uint64_t mask)
{
	uint32_t c;

	sim->channel_mask = mask;
	sim->channels = 0;
	for (c = 0; c < sim->device_channels; c++)
		if (mask & (1ull << c))
			sim->ids[sim->channels++] = (unsigned char)c;
	sim->scan_bytes = sim->channels * IIOS_PATTERN_SAMPLE_BYTES;
}

static int sim_set_channels(struct source *s, uint64_t mask)
{
	struct sim_source *sim = to_sim(s);
	uint64_t all = sim->device_channels == 64 ? ~0ull : (1ull << sim->device_channels) - 1;

	if (sim->enabled)
		return -EBUSY;
	if (mask == 0 || (mask & ~all))
		return -EINVAL;
	set_mask(sim, mask);
	return 0;
}

static int sim_open(struct source **out, uv_loop_t *loop, const struct source_config *cfg)
{
	struct sim_source *sim;

	if (cfg->channels == 0 || cfg->channels > 64)
		return -EINVAL;
	sim = calloc(1, sizeof(*sim));
	if (!sim)
		return -ENOMEM;
	sim->base.ops = &source_sim_ops;
	sim->loop = loop;
	sim->device_channels = cfg->channels;
	set_mask(sim, cfg->channels == 64 ? ~0ull : (1ull << cfg->channels) - 1);
	sim->rate = cfg->sample_rate;
	sim->active = -1;
	sim->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	sim->mem_fd = memfd_create("iiostream-sim-blocks", MFD_CLOEXEC);
	if (sim->event_fd < 0 || sim->mem_fd < 0) {
		int err = -errno;

		if (sim->event_fd >= 0)
			close(sim->event_fd);
		if (sim->mem_fd >= 0)
			close(sim->mem_fd);
		free(sim);
		return err;
	}
	uv_timer_init(loop, &sim->tick);
	uv_idle_init(loop, &sim->eager);
	sim->tick.data = sim;
	sim->eager.data = sim;
	*out = &sim->base;
	return 0;
}

static int sim_alloc(struct source *s, uint32_t size, uint32_t count, uint32_t *first_id)
{
	struct sim_source *sim = to_sim(s);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t stride = (size + page - 1) / page * page;
	uint32_t i;

	if (sim->enabled)
		return -EBUSY;
	if (count == 0 || count > SIM_MAX_BLOCKS - sim->nblocks)
		return -EINVAL;
	if (size < sim->scan_bytes || size % sim->scan_bytes || size > IIOS_FRAME_MAX_PAYLOAD)
		return -EINVAL;
	if (ftruncate(sim->mem_fd, (off_t)(sim->mem_len + stride * count)) < 0)
		return -errno;
	for (i = 0; i < count; i++) {
		struct sim_block *b = &sim->blocks[sim->nblocks + i];
		void *addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, sim->mem_fd,
				  (off_t)(sim->mem_len + stride * i));

		if (addr == MAP_FAILED) {
			int err = -errno;

			while (i--)
				munmap(sim->blocks[sim->nblocks + i].addr, size);
			return err;
		}
		memset(b, 0, sizeof(*b));
		b->state = SIM_BLOCK_USER;
		b->size = size;
		b->offset = sim->mem_len + stride * i;
		b->addr = addr;
	}
	*first_id = sim->nblocks;
	sim->nblocks += count;
	sim->mem_len += stride * count;
	return 0;
}

static int sim_query(struct source *s, struct source_block *blk)
{
	struct sim_source *sim = to_sim(s);
	struct sim_block *b;

	if (blk->id >= sim->nblocks)
		return -EINVAL;
	b = &sim->blocks[blk->id];
	blk->size = b->size;
	blk->bytes_used = b->bytes_used;
	blk->flags = b->flags;
	blk->offset = b->offset;
	blk->timestamp_ns = b->timestamp_ns;
	blk->lost_samples = b->lost_samples;
	blk->first_sample = b->first_sample;
	return 0;
}

static int sim_map(struct source *s, uint32_t id, void **addr)
{
	struct sim_source *sim = to_sim(s);

	if (id >= sim->nblocks)
		return -EINVAL;
	*addr = sim->blocks[id].addr;
	return 0;
}

static int sim_enqueue(struct source *s, const struct source_block *blk)
{
	struct sim_source *sim = to_sim(s);

	if (blk->id >= sim->nblocks)
		return -EINVAL;
	if (sim->blocks[blk->id].state != SIM_BLOCK_USER)
		return -EBUSY; /* the source owns it already */
	sim->blocks[blk->id].state = SIM_BLOCK_QUEUED;
	id_fifo_push(&sim->incoming, blk->id);
	if (sim->enabled && sim->rate == 0)
		uv_idle_start(&sim->eager, on_eager);
	return 0;
}

static int sim_dequeue(struct source *s, struct source_block *blk)
{
	struct sim_source *sim = to_sim(s);
	uint32_t id;

	if (sim->done.count == 0)
		return -EAGAIN;
	id = id_fifo_pop(&sim->done);
	clear_ready(sim);
	sim->blocks[id].state = SIM_BLOCK_USER;
	blk->id = id;
	return sim_query(s, blk);
}

/* Blocks live in one memfd: sendfile() can send them. */
static int sim_block_file(struct source *s, uint32_t id, int *fd, uint64_t *offset)
{
	struct sim_source *sim = to_sim(s);

	if (id >= sim->nblocks)
		return -EINVAL;
	*fd = sim->mem_fd;
	*offset = sim->blocks[id].offset;
	return 0;
}

static int sim_fd_to_poll(struct source *s)
{
	return to_sim(s)->event_fd;
}

static int sim_enable(struct source *s)
{
	struct sim_source *sim = to_sim(s);

	if (sim->enabled)
		return -EBUSY;
	if (sim->nblocks == 0)
		return -EINVAL;
	sim->enabled = true;
	sim->counters.enabled = true;
	sim->t0_ns = monotonic_ns();
	sim->n0 = sim->produced;
	if (sim->rate)
		uv_timer_start(&sim->tick, on_tick, SIM_TICK_MS, SIM_TICK_MS);
	else if (sim->incoming.count)
		uv_idle_start(&sim->eager, on_eager);
	return 0;
}

static int sim_disable(struct source *s)
{
	struct sim_source *sim = to_sim(s);

	if (!sim->enabled)
		return 0;
	sim->enabled = false;
	sim->counters.enabled = false;
	uv_timer_stop(&sim->tick);
	uv_idle_stop(&sim->eager);
	if (sim->active >= 0) {
		if (sim->blocks[sim->active].bytes_used) {
			complete_active(sim);
		} else {
			sim->blocks[sim->active].state = SIM_BLOCK_QUEUED;
			id_fifo_push_front(&sim->incoming, (uint32_t)sim->active);
			sim->active = -1;
		}
	}
	/* Scans not captured while disabled are not lost (capture was off),
	 * but scans lost before the disable still are: pending_lost stays
	 * for the next block to report. */
	return 0;
}

static int sim_free(struct source *s)
{
	struct sim_source *sim = to_sim(s);
	uint32_t i;

	if (sim->enabled)
		return -EBUSY;
	for (i = 0; i < sim->nblocks; i++)
		munmap(sim->blocks[i].addr, sim->blocks[i].size);
	sim->nblocks = 0;
	sim->incoming.count = 0;
	sim->done.count = 0;
	clear_ready(sim);
	sim->active = -1;
	sim->mem_len = 0;
	if (ftruncate(sim->mem_fd, 0) < 0)
		return -errno;
	return 0;
}

static void sim_format(struct source *s, struct source_format *fmt)
{
	struct sim_source *sim = to_sim(s);

	fmt->device = "iiostream-sim";
	fmt->device_channels = sim->device_channels;
	fmt->channel_mask = sim->channel_mask;
	fmt->channels = sim->channels;
	fmt->scan_bytes = sim->scan_bytes;
	fmt->sample_rate = sim->rate;
}

/* sim: the one attribute, sampling_frequency (scans per second; 0 is
 * "unpaced" and only available from the command line). */
static int sim_attr_read(struct source *s, const char *channel, const char *attr, char *buf,
			 size_t len)
{
	if (channel[0] || strcmp(attr, "sampling_frequency") != 0)
		return -ENOENT;
	snprintf(buf, len, "%" PRIu64, to_sim(s)->rate);
	return 0;
}

static int sim_attr_write(struct source *s, const char *channel, const char *attr,
			  const char *value)
{
	struct sim_source *sim = to_sim(s);
	uint64_t rate;
	char *end;

	if (channel[0] || strcmp(attr, "sampling_frequency") != 0)
		return -ENOENT;
	if (*value < '1' || *value > '9')
		return -EINVAL;
	errno = 0;
	rate = strtoull(value, &end, 10);
	if (errno || (*end && strcmp(end, "\n") != 0) || rate > SIM_MAX_RATE)
		return -EINVAL;
	if (sim->enabled) {
		/* The clock changes from now: what was due at the old rate is
		 * produced first, then counting restarts at the new one. */
		if (sim->rate)
			produce_until(sim, scans_due(sim));
		sim->t0_ns = monotonic_ns();
		sim->n0 = sim->produced;
		if (!sim->rate) {
			uv_idle_stop(&sim->eager);
			uv_timer_start(&sim->tick, on_tick, SIM_TICK_MS, SIM_TICK_MS);
		}
	}
	sim->rate = rate;
	return 0;
}

static void sim_counters(struct source *s, struct source_counters *c)
{
	*c = to_sim(s)->counters;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct sim_source *sim = h->data;

	if (--sim->closing_handles == 0)
		free(sim);
}

static void sim_close(struct source *s)
{
	struct sim_source *sim = to_sim(s);

	sim_disable(s);
	sim_free(s);
	close(sim->event_fd);
	close(sim->mem_fd);
	sim->closing_handles = 2;
	uv_close((uv_handle_t *)&sim->tick, on_handle_closed);
	uv_close((uv_handle_t *)&sim->eager, on_handle_closed);
}

const struct source_ops source_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.alloc = sim_alloc,
	.query = sim_query,
	.map = sim_map,
	.enqueue = sim_enqueue,
	.dequeue = sim_dequeue,
	.fd_to_poll = sim_fd_to_poll,
	.block_file = sim_block_file,
	.enable = sim_enable,
	.disable = sim_disable,
	.set_channels = sim_set_channels,
	.free = sim_free,
	.attr_read = sim_attr_read,
	.attr_write = sim_attr_write,
	.format = sim_format,
	.counters = sim_counters,
	.close = sim_close,
};
