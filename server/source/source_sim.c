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
 *    queued (a uv idle handle), for benchmarks;
 *  - sim: every channel has the IIO scan type of format= (le:s16/16>>0 by
 *    default), and timestamp=on adds IIO's timestamp channel after them
 *    (scan index = the channel count), stamped with each scan's ideal
 *    capture time (iios_scan_time_ns(): a block's first scan carries the
 *    block's timestamp); scans are laid out as the IIO core would
 *    (iiostream/scan.h), filled with the pattern in that format;
 *  - sim: the board's DAC (source_sim_dac.c) may loop back into it
 *    (source_sim_connect_loopback(), the DAC's "loopback" attribute): its
 *    data channels then hold what the DAC played at each scan's instant
 *    instead of the pattern (source_sim_loopback.h). With no DAC connected
 *    nothing of this runs.
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
#include "block_ring.h"
#include "log.h"
#include "source_sim_loopback.h"
#include "iiostream/frame.h"
#include "iiostream/scan.h"

#define SIM_TICK_MS 1
/* The largest sampling_frequency an attribute write may set (--rate's). */
#define SIM_MAX_RATE 1000000000ull

struct sim_source {
	struct source base;
	uv_loop_t *loop;
	uv_timer_t tick;       /* sim: the ADC clock (rate > 0) */
	uv_idle_t eager;       /* sim: fill at once (rate == 0) */
	int closing_handles;
	struct block_ring ring;    /* the blocks, their queues and states */

	uint32_t device_channels;  /* the simulated ADC's channels */
	uint32_t scan_elements;    /* device_channels, + 1 with the timestamp */
	int timestamp_index;       /* its scan index (device_channels), or -1 */
	struct iios_scan_type type[IIOS_SCAN_MAX_ELEMENTS]; /* of each scan index */
	uint64_t channel_mask;     /* enabled ones, bit i for scan index i */
	struct iios_scan_layout layout; /* a scan of the enabled ones */
	uint32_t channels, scan_bytes; /* enabled count; bytes per scan */
	uint64_t rate;
	char name[64];             /* the device's name (name=), "iiostream-sim" by default */

	bool enabled;
	uint64_t t0_ns;        /* when capture was (re)enabled */
	uint64_t n0;           /* scans produced before that */
	uint64_t produced;     /* absolute index of the next scan to produce */
	uint64_t pending_lost; /* scans lost since the last filled block */
	struct source_counters counters;
	struct sim_dac *dac;   /* the board's DAC linked for loopback, or NULL */
};


static struct sim_source *to_sim(struct source *s)
{
	return (struct sim_source *)s;
}

/* Move the active block to the done queue with what it holds. */
static void complete_active(struct sim_source *sim)
{
	struct ring_block *b = block_ring_current(&sim->ring);

	sim->counters.blocks_produced++;
	sim->counters.bytes_produced += b->bytes_used;
	block_ring_complete(&sim->ring);
}

/* Take the next queued block as the active one. NULL if none is queued. */
static struct ring_block *start_next_block(struct sim_source *sim, uint64_t first_scan)
{
	struct ring_block *b = block_ring_start(&sim->ring);

	if (!b)
		return NULL;
	b->flags = SOURCE_BLOCK_TIMESTAMP_VALID;
	b->lost_samples = sim->pending_lost;
	b->first_sample = first_scan;
	if (sim->pending_lost)
		b->flags |= SOURCE_BLOCK_OVERFLOW;
	sim->pending_lost = 0;
	/* sim: the ideal capture time of the block's first scan */
	if (sim->rate) {
		struct iios_scan_clock clk = { sim->t0_ns, sim->n0, sim->rate };

		b->timestamp_ns = iios_scan_time_ns(&clk, first_scan);
	} else {
		b->timestamp_ns = monotonic_ns();
	}
	return b;
}

/* sim: the scans first..first+n-1 into the active block b, as the ADC and
 * its DMA would write them. Unpaced (rate 0), every scan of a block is
 * stamped with the block's time. */
static void write_scans(struct sim_source *sim, struct ring_block *b, uint64_t first, uint64_t n)
{
	struct iios_scan_clock clk = { sim->t0_ns, sim->n0, sim->rate };

	if (!sim->rate)
		clk = (struct iios_scan_clock){ b->timestamp_ns, first, 0 };
	iios_scan_fill(&sim->layout, b->addr + b->bytes_used, first, (uint32_t)n, &clk);
	/* sim: looped back, the data channels carry what the DAC played */
	if (sim->dac && sim_dac__loopback_on(sim->dac))
		sim_dac__loopback_fill(sim->dac, &sim->layout, b->addr + b->bytes_used, first, n);
}

/* sim: produce scans up to absolute index `due`, as the ADC would. */
static void produce_until(struct sim_source *sim, uint64_t due)
{
	while (sim->produced < due) {
		struct ring_block *b = block_ring_current(&sim->ring);
		uint64_t room, n;

		if (!b && !(b = start_next_block(sim, sim->produced))) {
			/* No block to write into: the scans are lost, and said so. */
			sim->counters.overflows++;
			sim->counters.lost_samples += due - sim->produced;
			sim->pending_lost += due - sim->produced;
			sim->produced = due;
			return;
		}
		room = (b->size - b->bytes_used) / sim->scan_bytes;
		n = due - sim->produced < room ? due - sim->produced : room;
		write_scans(sim, b, sim->produced, n);
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

	while (sim->ring.active >= 0 || sim->ring.incoming.count) {
		struct ring_block *b = block_ring_current(&sim->ring);

		if (!b)
			b = start_next_block(sim, sim->produced);
		produce_until(sim, sim->produced + (b->size - b->bytes_used) / sim->scan_bytes);
	}
	uv_idle_stop(h);
}

/* Every scan element, bit i for scan index i. */
static uint64_t all_elements(const struct sim_source *sim)
{
	return sim->scan_elements >= 64 ? ~0ull : (1ull << sim->scan_elements) - 1;
}

/* Enable the scan elements of `mask` (a non-empty subset of
 * all_elements(): checked by the caller). */
static void set_mask(struct sim_source *sim, uint64_t mask)
{
	/* cannot fail: the types were checked at open, the mask by the caller */
	iios_scan_layout_from_mask(&sim->layout, sim->type, sim->scan_elements, mask,
				   sim->timestamp_index);
	sim->channel_mask = mask;
	sim->channels = sim->layout.count;
	sim->scan_bytes = sim->layout.scan_bytes;
}

/* The timestamp is a scan element like any other: it may be enabled
 * alone, or left out. */
static int sim_set_channels(struct source *s, uint64_t mask)
{
	struct sim_source *sim = to_sim(s);

	if (sim->enabled)
		return -EBUSY;
	if (mask == 0 || (mask & ~all_elements(sim)))
		return -EINVAL;
	set_mask(sim, mask);
	return 0;
}

/* sim: format= (one IIO type for every channel) and timestamp= into the
 * scan elements' types. -EINVAL, logged, for a format that is no IIO type
 * or a timestamp with no scan index left for it. */
static int set_types(struct sim_source *sim, const struct source_config *cfg)
{
	struct iios_scan_type t = iios_scan_type_s16();
	uint32_t c;

	if (cfg->format && cfg->format[0] && iios_scan_type_parse(cfg->format, &t)) {
		log_error("source sim: format='%s' is not an IIO scan type: want "
			  "[be|le]:[s|u|S|U]BITS/STORAGE[Xrepeat][>>SHIFT] with STORAGE 8, 16, "
			  "32 or 64, 0 < BITS and BITS + SHIFT <= STORAGE, 0 < repeat < 256 "
			  "(e.g. le:S12/16>>0, be:s24/32>>8)", cfg->format);
		return -EINVAL;
	}
	if (cfg->timestamp && cfg->channels >= IIOS_SCAN_MAX_ELEMENTS) {
		log_error("source sim: timestamp=on takes a scan index of its own: at most %d "
			  "channels, not %u", IIOS_SCAN_MAX_ELEMENTS - 1, cfg->channels);
		return -EINVAL;
	}
	for (c = 0; c < cfg->channels; c++)
		sim->type[c] = t;
	sim->scan_elements = cfg->channels;
	sim->timestamp_index = -1;
	if (cfg->timestamp) {
		/* IIO's timestamp channel, after the others */
		sim->type[c] = iios_scan_type_timestamp();
		sim->timestamp_index = (int)c;
		sim->scan_elements++;
	}
	return 0;
}

static int sim_open(struct source **out, uv_loop_t *loop, const struct source_config *cfg)
{
	struct sim_source *sim;
	int err;

	if (cfg->channels == 0 || cfg->channels > 64)
		return -EINVAL;
	sim = calloc(1, sizeof(*sim));
	if (!sim)
		return -ENOMEM;
	sim->base.ops = &source_sim_ops;
	sim->loop = loop;
	sim->device_channels = cfg->channels;
	err = set_types(sim, cfg);
	if (err) {
		free(sim);
		return err;
	}
	set_mask(sim, all_elements(sim));
	sim->rate = cfg->sample_rate;
	snprintf(sim->name, sizeof(sim->name), "%s",
		 cfg->name && cfg->name[0] ? cfg->name : "iiostream-sim");
	err = block_ring_init(&sim->ring, "iiostream-sim-blocks");
	if (err) {
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

	if (sim->enabled)
		return -EBUSY;
	return block_ring_alloc(&sim->ring, size, count, sim->scan_bytes, first_id);
}

static int sim_query(struct source *s, struct source_block *blk)
{
	return block_ring_query(&to_sim(s)->ring, blk);
}

static int sim_map(struct source *s, uint32_t id, void **addr)
{
	return block_ring_map(&to_sim(s)->ring, id, addr);
}

static int sim_enqueue(struct source *s, const struct source_block *blk)
{
	struct sim_source *sim = to_sim(s);
	int err = block_ring_enqueue(&sim->ring, blk->id);

	if (err)
		return err;
	if (sim->enabled && sim->rate == 0)
		uv_idle_start(&sim->eager, on_eager);
	return 0;
}

static int sim_dequeue(struct source *s, struct source_block *blk)
{
	return block_ring_dequeue(&to_sim(s)->ring, blk);
}

/* Blocks live in one memfd: sendfile() can send them. */
static int sim_block_file(struct source *s, uint32_t id, int *fd, uint64_t *offset)
{
	return block_ring_block_file(&to_sim(s)->ring, id, fd, offset);
}

static int sim_fd_to_poll(struct source *s)
{
	return to_sim(s)->ring.event_fd;
}

static int sim_enable(struct source *s)
{
	struct sim_source *sim = to_sim(s);

	if (sim->enabled)
		return -EBUSY;
	if (sim->ring.nblocks == 0)
		return -EINVAL;
	sim->enabled = true;
	sim->counters.enabled = true;
	sim->t0_ns = monotonic_ns();
	sim->n0 = sim->produced;
	if (sim->rate)
		uv_timer_start(&sim->tick, on_tick, SIM_TICK_MS, SIM_TICK_MS);
	else if (sim->ring.incoming.count)
		uv_idle_start(&sim->eager, on_eager);
	if (sim->dac)
		sim_dac__adc_clock_changed(sim->dac);
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
	if (block_ring_current(&sim->ring)) {
		if (block_ring_current(&sim->ring)->bytes_used)
			complete_active(sim);
		else
			block_ring_requeue(&sim->ring);
	}
	/* Scans not captured while disabled are not lost (capture was off),
	 * but scans lost before the disable still are: pending_lost stays
	 * for the next block to report. */
	return 0;
}

static int sim_free(struct source *s)
{
	struct sim_source *sim = to_sim(s);

	if (sim->enabled)
		return -EBUSY;
	return block_ring_free(&sim->ring);
}

static void sim_format(struct source *s, struct source_format *fmt)
{
	struct sim_source *sim = to_sim(s);

	fmt->device = sim->name;
	fmt->iio_id = NULL; /* sim: not in sysfs */
	fmt->device_channels = sim->device_channels;
	fmt->channel_mask = sim->channel_mask;
	fmt->channels = sim->channels;
	fmt->scan_bytes = sim->scan_bytes;
	fmt->sample_rate = sim->rate;
	fmt->scan_elements = sim->scan_elements;
	memcpy(fmt->type, sim->type, sim->scan_elements * sizeof(fmt->type[0]));
	fmt->timestamp_index = sim->timestamp_index;
	fmt->output = false;
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
	if (sim->dac && sim_dac__adc_rate_check(sim->dac, rate))
		return -EBUSY; /* looped back: the DAC's rate is the ADC's */
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
	if (sim->dac && sim->enabled)
		sim_dac__adc_clock_changed(sim->dac);
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

	if (sim->dac) {
		sim_dac__adc_closed(sim->dac);
		sim->dac = NULL;
	}
	sim_disable(s);
	block_ring_destroy(&sim->ring);
	sim->closing_handles = 2;
	uv_close((uv_handle_t *)&sim->tick, on_handle_closed);
	uv_close((uv_handle_t *)&sim->eager, on_handle_closed);
}

/* ---- the board's loopback: the ADC's side (source_sim_loopback.h) ------- */

uv_loop_t *sim__adc_loop(struct sim_source *adc)
{
	return adc->loop;
}

struct sim_dac *sim__adc_linked(struct sim_source *adc)
{
	return adc->dac;
}

void sim__adc_link(struct sim_source *adc, struct sim_dac *dac)
{
	adc->dac = dac;
}

void sim__adc_catch_up(struct sim_source *adc)
{
	if (adc->enabled && adc->rate)
		produce_until(adc, scans_due(adc));
}

bool sim__adc_clock(struct sim_source *adc, struct iios_scan_clock *clk, uint64_t *next)
{
	if (!adc->enabled)
		return false;
	*clk = (struct iios_scan_clock){ adc->t0_ns, adc->n0, adc->rate };
	*next = adc->produced;
	return true;
}

/* Every data channel has the one type of format= (set_types()). */
bool sim__adc_can_loop_back(struct sim_source *adc, uint64_t rate)
{
	return rate && adc->rate == rate && iios_scan_type_is_s16le(&adc->type[0]);
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
