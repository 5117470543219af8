// SPDX-License-Identifier: MIT
/*
 * The `sim-dac` block source: a simulated DAC in userspace, the output twin
 * of `sim` (source_sim.c), following the output direction of the block life
 * cycle (source.h). Like the ADC it is a reference: every hardware stand-in
 * is marked `sim:`.
 *
 *  - blocks live in one memfd (block_ring.h); the daemon fills one and
 *    enqueues it with its bytes_used (whole scans) and flags (CYCLIC);
 *  - sim: a uv timer stands in for the DAC's sample clock and DMA. Each tick
 *    it works out how many scans are due since enable (drift-free, as the
 *    ADC does) and "plays" them from the queued blocks, in order. A block
 *    played to its end is DONE (the eventfd polls readable), reporting
 *    where it played: first_sample, the device's scan index of its first
 *    scan (counted from enable, silence included: the DAC's position),
 *    timestamp_ns, that scan's ideal time, and bytes_used as enqueued;
 *  - a block is queued at the DAC's position when ENQUEUE runs (what was due
 *    before is played first): it never plays in the past;
 *  - CYCLIC: the block plays again and again until another block is queued;
 *    that one replaces it at the end of a repetition, never in the middle,
 *    and the cyclic block is then DONE (first_sample: its first repetition);
 *  - sim: nothing to play (paced): the DAC plays silence, zeros. Between
 *    enable and the first block that is just its idle output; once a block
 *    has played it is an underflow, counted once per dry spell
 *    (counters.underflows, underflow_at) with its scans (underflow_samples)
 *    while it lasts; the next block carries SOURCE_BLOCK_UNDERFLOW and the
 *    spell's scans in lost_samples;
 *  - with a rate of 0 a block plays as soon as it is queued (a uv idle
 *    handle), for benchmarks: no clock, so no silence and no underflow; a
 *    lone CYCLIC block plays one repetition per turn of the loop;
 *  - disable plays what is due, then stops, and every block it holds (the
 *    one playing, partly played or not, and the queued ones) is DONE, in
 *    order, with bytes_used as enqueued; an unplayed one without
 *    SOURCE_BLOCK_TIMESTAMP_VALID. A disable while not enabled returns the
 *    queued blocks the same way (source.h);
 *  - counters: blocks_produced counts repetitions played to their end,
 *    bytes_produced every byte played (a cut repetition's too),
 *    played_samples the position;
 *  - every channel is an IIO output channel of le:s16/16 (no timestamp);
 *  - sim: loopback into the board's ADC, at the end of this file.
 */
#define _GNU_SOURCE
#include "source.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_ring.h"
#include "clock.h"
#include "source_sim_loopback.h"
#include "iiostream/scan.h"

#define DAC_TICK_MS 1
/* The largest sampling_frequency an attribute write may set (the ADC's). */
#define DAC_MAX_RATE 1000000000ull
/* Channels when the configuration gives none (the daemon's --channels). */
#define DAC_DEFAULT_CHANNELS 2u
/* sim: the loopback ring, the last scans played (a power of two). The ADC
 * reads it at most a tick behind the DAC and in pieces of half of it, so a
 * scan falls out of it only if that rule is broken. */
#define LOOPBACK_RING_SCANS 32768u

struct sim_dac {
	struct source base;
	uv_loop_t *loop;
	uv_timer_t tick;       /* sim: the DAC's sample clock (rate > 0) */
	uv_idle_t eager;       /* sim: play at once (rate == 0) */
	int closing_handles;
	struct block_ring ring;    /* the blocks, their queues and states */

	uint32_t device_channels;  /* the simulated DAC's output channels */
	struct iios_scan_type type[IIOS_SCAN_MAX_ELEMENTS]; /* le:s16/16 each */
	uint64_t channel_mask;     /* enabled ones, bit i for channel i */
	struct iios_scan_layout layout; /* a scan of the enabled ones */
	uint32_t channels, scan_bytes; /* enabled count; bytes per scan */
	uint64_t rate;
	char name[64];             /* name=, "iiostream-sim-dac" by default */

	bool enabled;
	uint64_t t0_ns;        /* the clock: scan n0 plays at t0_ns */
	uint64_t n0;
	uint64_t pos;          /* absolute index of the next scan to play */
	uint64_t origin;       /* pos at enable: reported indices count from it */
	uint32_t play_off;     /* bytes of the active block played in this
				* repetition */
	bool started;          /* a block played since enable: silence now is
				* an underflow */
	uint64_t silence;      /* scans of underflow since the last block */
	struct source_counters counters; /* played_samples: see dac_counters() */

	/* sim: loopback (the end of this file) */
	struct sim_source *adc;    /* the board's ADC, or NULL */
	bool loopback;             /* attribute "loopback" */
	bool synced;               /* delta holds for both clocks now */
	int64_t delta;             /* DAC index playing at ADC scan n: n + delta */
	uint8_t *lb_ring;          /* LOOPBACK_RING_SCANS scans of every channel,
				    * le s16, allocated at the first loopback=1 */
	uint64_t lb_from;          /* first index recorded in this run */
	uint64_t lb_end;           /* next index to record: pos while recording */
	uint64_t lb_missed;        /* ADC scans read as 0: out of the ring */
};

static struct sim_dac *to_dac(struct source *s)
{
	return (struct sim_dac *)s;
}

static void lb_record(struct sim_dac *dac, const uint8_t *data, uint64_t n);
static void lb_settle(struct sim_dac *dac);
static void lb_sync(struct sim_dac *dac);

/* ---- playing ------------------------------------------------------------- */

/* The scans of ns nanoseconds at `rate`: floor(ns * rate / 1e9), or its
 * ceiling, without overflow for rates up to 1e9. */
static uint64_t ns_to_scans(uint64_t ns, uint64_t rate, bool round_up)
{
	uint64_t r = ns % 1000000000ull * rate;

	return ns / 1000000000ull * rate + (r + (round_up ? 999999999ull : 0)) / 1000000000ull;
}

static uint64_t scans_due(struct sim_dac *dac)
{
	return dac->n0 + ns_to_scans(monotonic_ns() - dac->t0_ns, dac->rate, false);
}

/* Take the next queued block as the one playing, from scan pos. NULL if
 * none is queued. */
static struct ring_block *start_next(struct sim_dac *dac)
{
	struct ring_block *b = block_ring_start_filled(&dac->ring);

	if (!b)
		return NULL;
	dac->play_off = 0;
	b->first_sample = dac->pos - dac->origin;
	if (dac->rate) {
		struct iios_scan_clock clk = { dac->t0_ns, dac->n0, dac->rate };

		b->timestamp_ns = iios_scan_time_ns(&clk, dac->pos);
	} else {
		b->timestamp_ns = monotonic_ns();
	}
	b->flags |= SOURCE_BLOCK_TIMESTAMP_VALID;
	if (dac->silence) {
		b->flags |= SOURCE_BLOCK_UNDERFLOW;
		b->lost_samples = dac->silence;
	}
	dac->silence = 0;
	dac->started = true;
	dac->counters.underflowing = false;
	return b;
}

/* sim: nothing to play for n scans: the DAC outputs zeros. */
static void play_silence(struct sim_dac *dac, uint64_t n)
{
	if (dac->started) {
		if (!dac->counters.underflowing) {
			dac->counters.underflows++;
			dac->counters.underflow_at = dac->pos - dac->origin;
			dac->counters.underflowing = true;
		}
		dac->counters.underflow_samples += n;
		dac->silence += n;
	}
	lb_record(dac, NULL, n);
	dac->pos += n;
}

/* The playing block b reached its end: once more if it is a lone cyclic
 * block, else DONE. */
static void end_of_repetition(struct sim_dac *dac, struct ring_block *b)
{
	dac->counters.blocks_produced++;
	dac->play_off = 0;
	if ((b->flags & SOURCE_BLOCK_CYCLIC) && dac->ring.incoming.count == 0)
		return; /* sim: the DMA wraps around to the block's start */
	block_ring_complete(&dac->ring);
}

/* sim: play scans up to absolute index `target`, as the DAC would. */
static void play_until(struct sim_dac *dac, uint64_t target)
{
	while (dac->pos < target) {
		struct ring_block *b = block_ring_current(&dac->ring);
		uint64_t left, n;

		if (!b && !(b = start_next(dac))) {
			if (dac->rate)
				play_silence(dac, target - dac->pos);
			return;
		}
		left = (b->bytes_used - dac->play_off) / dac->scan_bytes;
		n = target - dac->pos < left ? target - dac->pos : left;
		lb_record(dac, b->addr + dac->play_off, n);
		dac->play_off += (uint32_t)(n * dac->scan_bytes);
		dac->pos += n;
		dac->counters.bytes_produced += n * dac->scan_bytes;
		if (dac->play_off == b->bytes_used)
			end_of_repetition(dac, b);
	}
}

/* Play what is due now (paced). The looped-back ADC captures what it is
 * due first, and the DAC's due is taken before that: however long the
 * ADC's catching up takes, the DAC plays no further than the ADC has read
 * (a scan at most), so what the ADC reads next is still in the ring. */
static void advance(struct sim_dac *dac)
{
	uint64_t due = scans_due(dac);

	if (dac->adc && dac->loopback)
		sim__adc_catch_up(dac->adc);
	play_until(dac, due);
}

static void on_tick(uv_timer_t *t)
{
	advance(t->data);
}

/* Unpaced: play every queued block at once; a lone cyclic block one
 * repetition per turn of the loop (the idle stays on for it). */
static void on_eager(uv_idle_t *h)
{
	struct sim_dac *dac = h->data;
	struct ring_block *b;

	while ((b = block_ring_current(&dac->ring)) || (b = start_next(dac))) {
		bool lone_cyclic = (b->flags & SOURCE_BLOCK_CYCLIC) && !dac->ring.incoming.count;

		play_until(dac, dac->pos + (b->bytes_used - dac->play_off) / dac->scan_bytes);
		if (lone_cyclic)
			return;
	}
	uv_idle_stop(h);
}

/* Every block the DAC holds to the done queue, in order: the playing one
 * (partly played or not) first, then the queued ones, unplayed. */
static void return_all(struct sim_dac *dac)
{
	if (block_ring_current(&dac->ring))
		block_ring_complete(&dac->ring);
	while (block_ring_start_filled(&dac->ring))
		block_ring_complete(&dac->ring);
	dac->play_off = 0;
}

/* ---- the ops ------------------------------------------------------------- */

static uint64_t all_channels(const struct sim_dac *dac)
{
	return dac->device_channels >= 64 ? ~0ull : (1ull << dac->device_channels) - 1;
}

static void set_mask(struct sim_dac *dac, uint64_t mask)
{
	/* cannot fail: le:s16/16 channels, a mask checked by the caller */
	iios_scan_layout_from_mask(&dac->layout, dac->type, dac->device_channels, mask, -1);
	dac->channel_mask = mask;
	dac->channels = dac->layout.count;
	dac->scan_bytes = dac->layout.scan_bytes;
}

/* sim: format= and timestamp= are the ADC's: the DAC's channels are
 * le:s16/16 whatever the spec says of its ADC. */
static int dac_open(struct source **out, uv_loop_t *loop, const struct source_config *cfg)
{
	uint32_t channels = cfg->channels ? cfg->channels : DAC_DEFAULT_CHANNELS;
	struct sim_dac *dac;
	uint32_t c;
	int err;

	if (channels > IIOS_SCAN_MAX_ELEMENTS)
		return -EINVAL;
	dac = calloc(1, sizeof(*dac));
	if (!dac)
		return -ENOMEM;
	dac->base.ops = &source_sim_dac_ops;
	dac->loop = loop;
	dac->device_channels = channels;
	for (c = 0; c < channels; c++)
		dac->type[c] = iios_scan_type_s16();
	set_mask(dac, all_channels(dac));
	dac->rate = cfg->sample_rate;
	snprintf(dac->name, sizeof(dac->name), "%s",
		 cfg->name && cfg->name[0] ? cfg->name : "iiostream-sim-dac");
	err = block_ring_init(&dac->ring, "iiostream-sim-dac-blocks");
	if (err) {
		free(dac);
		return err;
	}
	uv_timer_init(loop, &dac->tick);
	uv_idle_init(loop, &dac->eager);
	dac->tick.data = dac;
	dac->eager.data = dac;
	*out = &dac->base;
	return 0;
}

static int dac_alloc(struct source *s, uint32_t size, uint32_t count, uint32_t *first_id)
{
	struct sim_dac *dac = to_dac(s);

	if (dac->enabled)
		return -EBUSY;
	return block_ring_alloc(&dac->ring, size, count, dac->scan_bytes, first_id);
}

static int dac_query(struct source *s, struct source_block *blk)
{
	return block_ring_query(&to_dac(s)->ring, blk);
}

static int dac_map(struct source *s, uint32_t id, void **addr)
{
	return block_ring_map(&to_dac(s)->ring, id, addr);
}

static int dac_enqueue(struct source *s, const struct source_block *blk)
{
	struct sim_dac *dac = to_dac(s);
	const struct ring_block *b;

	if (blk->id >= dac->ring.nblocks || (blk->flags & ~SOURCE_BLOCK_CYCLIC))
		return -EINVAL;
	b = &dac->ring.blocks[blk->id];
	if (blk->bytes_used == 0 || blk->bytes_used > b->size || blk->bytes_used % dac->scan_bytes)
		return -EINVAL;
	if (b->state != RING_BLOCK_USER)
		return -EBUSY;
	/* sim: what was due before the block came plays without it */
	if (dac->enabled && dac->rate)
		advance(dac);
	block_ring_enqueue_filled(&dac->ring, blk->id, blk->bytes_used, blk->flags);
	if (dac->enabled && !dac->rate)
		uv_idle_start(&dac->eager, on_eager);
	return 0;
}

static int dac_dequeue(struct source *s, struct source_block *blk)
{
	return block_ring_dequeue(&to_dac(s)->ring, blk);
}

static int dac_block_file(struct source *s, uint32_t id, int *fd, uint64_t *offset)
{
	return block_ring_block_file(&to_dac(s)->ring, id, fd, offset);
}

static int dac_fd_to_poll(struct source *s)
{
	return to_dac(s)->ring.event_fd;
}

static int dac_enable(struct source *s)
{
	struct sim_dac *dac = to_dac(s);

	if (dac->enabled)
		return -EBUSY;
	if (dac->ring.nblocks == 0)
		return -EINVAL;
	lb_settle(dac);
	dac->enabled = true;
	dac->counters.enabled = true;
	dac->t0_ns = monotonic_ns();
	dac->n0 = dac->pos;
	dac->origin = dac->pos;
	dac->started = false;
	dac->silence = 0;
	dac->lb_from = dac->lb_end = dac->pos;
	lb_sync(dac);
	if (dac->rate)
		uv_timer_start(&dac->tick, on_tick, DAC_TICK_MS, DAC_TICK_MS);
	else if (dac->ring.incoming.count)
		uv_idle_start(&dac->eager, on_eager);
	return 0;
}

/* A dry spell that a disable ends is counted, but no block reports it:
 * the next enable starts afresh. */
static int dac_disable(struct source *s)
{
	struct sim_dac *dac = to_dac(s);

	if (!dac->enabled) {
		/* blocks queued but never played (below the daemon's
		 * prefill) come back unplayed too: stale samples must not
		 * play at the next enable */
		return_all(dac);
		return 0;
	}
	if (dac->rate)
		advance(dac);
	lb_settle(dac);
	dac->enabled = false;
	dac->counters.enabled = false;
	dac->counters.underflowing = false;
	uv_timer_stop(&dac->tick);
	uv_idle_stop(&dac->eager);
	return_all(dac);
	dac->silence = 0;
	dac->synced = false; /* the ADC reads 0 from now: it caught up above */
	return 0;
}

/* Queued blocks hold whole scans of the mask they were filled for: no
 * change while one is queued either. */
static int dac_set_channels(struct source *s, uint64_t mask)
{
	struct sim_dac *dac = to_dac(s);

	if (dac->enabled || dac->ring.incoming.count)
		return -EBUSY;
	if (mask == 0 || (mask & ~all_channels(dac)))
		return -EINVAL;
	set_mask(dac, mask);
	return 0;
}

static int dac_free(struct source *s)
{
	struct sim_dac *dac = to_dac(s);

	if (dac->enabled)
		return -EBUSY;
	return block_ring_free(&dac->ring);
}

static void dac_format(struct source *s, struct source_format *fmt)
{
	struct sim_dac *dac = to_dac(s);

	fmt->device = dac->name;
	fmt->iio_id = NULL;
	fmt->device_channels = dac->device_channels;
	fmt->channel_mask = dac->channel_mask;
	fmt->channels = dac->channels;
	fmt->scan_bytes = dac->scan_bytes;
	fmt->sample_rate = dac->rate;
	fmt->scan_elements = dac->device_channels;
	memcpy(fmt->type, dac->type, dac->device_channels * sizeof(fmt->type[0]));
	fmt->timestamp_index = -1;
	fmt->output = true;
}

static void dac_counters(struct source *s, struct source_counters *c)
{
	struct sim_dac *dac = to_dac(s);

	*c = dac->counters;
	c->played_samples = dac->pos - dac->origin;
}

/* ---- attributes ---------------------------------------------------------- */

/* "0".."1000000000" with an optional newline, as sysfs takes it; -EINVAL
 * for anything else. */
static int parse_u64(const char *value, uint64_t max, uint64_t *out)
{
	char *end;

	if (*value < '0' || *value > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(value, &end, 10);
	if (errno || (*end && strcmp(end, "\n") != 0) || *out > max)
		return -EINVAL;
	return 0;
}

static int dac_attr_read(struct source *s, const char *channel, const char *attr, char *buf,
			 size_t len)
{
	struct sim_dac *dac = to_dac(s);
	uint64_t v;

	if (channel[0])
		return -ENOENT;
	if (strcmp(attr, "sampling_frequency") == 0)
		v = dac->rate;
	else if (strcmp(attr, "loopback") == 0)
		v = dac->loopback;
	else if (strcmp(attr, "underflows") == 0)
		v = dac->counters.underflows;
	else if (strcmp(attr, "underflow_samples") == 0)
		v = dac->counters.underflow_samples;
	else if (strcmp(attr, "loopback_missed") == 0)
		v = dac->lb_missed;
	else
		return -ENOENT;
	snprintf(buf, len, "%" PRIu64, v);
	return 0;
}

/* sampling_frequency: scans per second, 1..1e9 (0, unpaced, is the
 * configuration's only, as for the ADC); while enabled the clock changes
 * from now: what was due at the old rate plays first. */
static int set_rate(struct sim_dac *dac, const char *value)
{
	uint64_t rate;

	if (*value == '0' || parse_u64(value, DAC_MAX_RATE, &rate))
		return -EINVAL;
	/* looped back, the two devices share one sample clock */
	if (dac->loopback && dac->adc && !sim__adc_can_loop_back(dac->adc, rate))
		return -EBUSY;
	if (dac->enabled) {
		if (dac->rate)
			advance(dac);
		else
			uv_idle_stop(&dac->eager);
		dac->t0_ns = monotonic_ns();
		dac->n0 = dac->pos;
		uv_timer_start(&dac->tick, on_tick, DAC_TICK_MS, DAC_TICK_MS);
	}
	dac->rate = rate;
	lb_sync(dac);
	return 0;
}

/* loopback: 1 only with the board's ADC connected, at the same non-zero
 * rate, of le:s16/16 data channels (the DAC's samples go in as they are,
 * scan for scan on one clock); -EINVAL otherwise. */
static int set_loopback(struct sim_dac *dac, const char *value)
{
	uint64_t on;

	if (parse_u64(value, 1, &on))
		return -EINVAL;
	if (on == dac->loopback)
		return 0;
	if (on && (!dac->adc || !sim__adc_can_loop_back(dac->adc, dac->rate)))
		return -EINVAL;
	if (on && !dac->lb_ring) {
		dac->lb_ring = calloc(LOOPBACK_RING_SCANS, (size_t)dac->device_channels * 2);
		if (!dac->lb_ring)
			return -ENOMEM;
	}
	/* what the ADC captured before now, it captured as it was */
	lb_settle(dac);
	dac->loopback = on;
	dac->lb_from = dac->lb_end = dac->pos;
	lb_sync(dac);
	return 0;
}

static int dac_attr_write(struct source *s, const char *channel, const char *attr,
			  const char *value)
{
	struct sim_dac *dac = to_dac(s);

	if (channel[0])
		return -ENOENT;
	if (strcmp(attr, "sampling_frequency") == 0)
		return set_rate(dac, value);
	if (strcmp(attr, "loopback") == 0)
		return set_loopback(dac, value);
	if (strcmp(attr, "underflows") == 0 || strcmp(attr, "underflow_samples") == 0 ||
	    strcmp(attr, "loopback_missed") == 0)
		return -EACCES; /* read-only, as a 0444 sysfs file */
	return -ENOENT;
}

/* ---- close --------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
	struct sim_dac *dac = h->data;

	if (--dac->closing_handles == 0)
		free(dac);
}

static void dac_close(struct source *s)
{
	struct sim_dac *dac = to_dac(s);

	dac_disable(s);
	if (dac->adc) {
		sim__adc_link(dac->adc, NULL);
		dac->adc = NULL;
	}
	free(dac->lb_ring);
	dac->lb_ring = NULL;
	block_ring_destroy(&dac->ring);
	dac->closing_handles = 2;
	uv_close((uv_handle_t *)&dac->tick, on_handle_closed);
	uv_close((uv_handle_t *)&dac->eager, on_handle_closed);
}

const struct source_ops source_sim_dac_ops = {
	.name = "sim-dac",
	.open = dac_open,
	.alloc = dac_alloc,
	.query = dac_query,
	.map = dac_map,
	.enqueue = dac_enqueue,
	.dequeue = dac_dequeue,
	.fd_to_poll = dac_fd_to_poll,
	.block_file = dac_block_file,
	.enable = dac_enable,
	.disable = dac_disable,
	.set_channels = dac_set_channels,
	.free = dac_free,
	.attr_read = dac_attr_read,
	.attr_write = dac_attr_write,
	.format = dac_format,
	.counters = dac_counters,
	.close = dac_close,
};

/* ---- sim: loopback into the board's ADC ----------------------------------
 *
 * One sample clock drives both devices (the same wall-clock instants, as on
 * a transceiver board clocked from one oscillator), so the ADC's scan n is
 * what the DAC played at n's instant: the DAC's scan n + delta, delta fixed
 * whenever either clock (re)starts (lb_sync()). That is why loopback wants
 * both at the same non-zero rate; a rate write that would break it is
 * -EBUSY while it is on. DAC channel c goes into ADC channel c; ADC
 * channels the DAC lacks, and its disabled ones, read 0, as do scans while
 * the DAC is disabled or plays silence. The ADC's timestamp is its own.
 *
 * The DAC records what it plays, every channel, into a ring indexed by its
 * scan index (lb_from..lb_end, the last LOOPBACK_RING_SCANS of them); the
 * ADC reads it in sim_dac__loopback_fill(), after playing the DAC up to
 * the scans it writes (source_sim_loopback.h has the rule). */

/* The ring's slot of scan m, or NULL for scans that read 0. */
static const uint8_t *lb_scan(struct sim_dac *dac, int64_t m)
{
	if (!dac->synced || m < (int64_t)dac->lb_from || m >= (int64_t)dac->lb_end)
		return NULL; /* not played while looping back (disabled, not yet) */
	if ((uint64_t)m + LOOPBACK_RING_SCANS < dac->lb_end) {
		dac->lb_missed++;
		return NULL;
	}
	return dac->lb_ring +
	       ((uint64_t)m & (LOOPBACK_RING_SCANS - 1)) * dac->device_channels * 2;
}

/* n scans just played from data (a block's scans, or NULL: silence) into
 * the ring, as every channel's le s16 (a disabled channel plays 0). */
static void lb_record(struct sim_dac *dac, const uint8_t *data, uint64_t n)
{
	uint32_t stride = dac->device_channels * 2, k;

	if (!dac->loopback)
		return;
	if (dac->lb_end != dac->pos)
		dac->lb_from = dac->lb_end = dac->pos; /* cannot happen: restart */
	if (n > LOOPBACK_RING_SCANS) { /* only the last ring's worth stays */
		if (data)
			data += (n - LOOPBACK_RING_SCANS) * dac->scan_bytes;
		dac->lb_end += n - LOOPBACK_RING_SCANS;
		n = LOOPBACK_RING_SCANS;
	}
	if (!data || dac->scan_bytes == stride) {
		/* silence, or every channel in the ring's layout: whole runs */
		while (n) {
			uint64_t at = dac->lb_end & (LOOPBACK_RING_SCANS - 1);
			uint64_t run = n < LOOPBACK_RING_SCANS - at ? n : LOOPBACK_RING_SCANS - at;

			if (data) {
				memcpy(dac->lb_ring + at * stride, data, run * stride);
				data += run * stride;
			} else {
				memset(dac->lb_ring + at * stride, 0, run * stride);
			}
			dac->lb_end += run;
			n -= run;
		}
		return;
	}
	for (; n; n--, dac->lb_end++) {
		uint8_t *slot = dac->lb_ring + (dac->lb_end & (LOOPBACK_RING_SCANS - 1)) * stride;

		memset(slot, 0, stride);
		for (k = 0; k < dac->layout.count; k++)
			memcpy(slot + dac->layout.elem[k].index * 2, data + dac->layout.elem[k].offset,
			       2);
		data += dac->scan_bytes;
	}
}

/* Before a change of what the ADC reads (enable, disable, loopback on or
 * off), the ADC captures what is due under the old one. */
static void lb_settle(struct sim_dac *dac)
{
	if (dac->adc)
		sim__adc_catch_up(dac->adc);
}

/* delta, from the instant of the ADC's next scan: the DAC scan playing
 * then is the last one to have started by then. */
static void lb_sync(struct sim_dac *dac)
{
	struct iios_scan_clock ac;
	uint64_t next, t;
	int64_t m;

	dac->synced = false;
	if (!dac->adc || !dac->loopback || !dac->enabled || !dac->rate ||
	    !sim__adc_clock(dac->adc, &ac, &next))
		return;
	t = iios_scan_time_ns(&ac, next);
	if (t >= dac->t0_ns)
		m = (int64_t)(dac->n0 + ns_to_scans(t - dac->t0_ns, dac->rate, false));
	else
		m = (int64_t)dac->n0 - (int64_t)ns_to_scans(dac->t0_ns - t, dac->rate, true);
	dac->delta = m - (int64_t)next;
	dac->synced = true;
}

bool sim_dac__loopback_on(struct sim_dac *dac)
{
	return dac->loopback;
}

/* Whether the ADC's scans are laid out as the ring's: the DAC's channels,
 * all of them, in order, nothing else. */
static bool same_layout(const struct sim_dac *dac, const struct iios_scan_layout *l)
{
	uint32_t k;

	if (l->count != dac->device_channels || l->scan_bytes != dac->device_channels * 2)
		return false;
	for (k = 0; k < l->count; k++)
		if (l->elem[k].timestamp || l->elem[k].index != k || l->elem[k].offset != k * 2)
			return false;
	return true;
}

/* One ADC scan of layout l from the ring's slot src (NULL: zeros). */
static void copy_scan(const struct sim_dac *dac, const struct iios_scan_layout *l, uint8_t *out,
		      const uint8_t *src)
{
	uint32_t k;

	for (k = 0; k < l->count; k++) {
		const struct iios_scan_element *e = &l->elem[k];

		if (e->timestamp)
			continue;
		if (src && e->index < dac->device_channels)
			memcpy(out + e->offset, src + e->index * 2, 2);
		else
			memset(out + e->offset, 0, 2);
	}
}

void sim_dac__loopback_fill(struct sim_dac *dac, const struct iios_scan_layout *l, uint8_t *out,
			    uint64_t first, uint64_t n)
{
	bool same = same_layout(dac, l);

	while (n) {
		uint64_t piece = n < LOOPBACK_RING_SCANS / 2 ? n : LOOPBACK_RING_SCANS / 2, i;
		int64_t m0 = (int64_t)first + dac->delta, end = m0 + (int64_t)piece;

		/* The DAC plays up to these scans first: at most one scan
		 * ahead of its own clock (ns rounding of the two clocks). */
		if (dac->synced && dac->enabled && end > 0) {
			uint64_t limit = scans_due(dac) + 1;

			play_until(dac, (uint64_t)end < limit ? (uint64_t)end : limit);
		}
		for (i = 0; i < piece; i++, out += l->scan_bytes) {
			const uint8_t *src = lb_scan(dac, m0 + (int64_t)i);

			if (!same)
				copy_scan(dac, l, out, src);
			else if (src)
				memcpy(out, src, l->scan_bytes);
			else
				memset(out, 0, l->scan_bytes);
		}
		first += piece;
		n -= piece;
	}
}

void sim_dac__adc_clock_changed(struct sim_dac *dac)
{
	lb_sync(dac);
}

int sim_dac__adc_rate_check(struct sim_dac *dac, uint64_t rate)
{
	return dac->loopback && rate != dac->rate ? -EBUSY : 0;
}

void sim_dac__adc_closed(struct sim_dac *dac)
{
	dac->adc = NULL;
	dac->loopback = false;
	dac->synced = false;
}

/* Both sim sources on one loop, each linked to no other. Joining them does
 * not switch the loopback on (the DAC's attribute does). */
int source_sim_connect_loopback(struct source *adc_s, struct source *dac_s)
{
	struct sim_source *adc = (struct sim_source *)adc_s;
	struct sim_dac *dac;

	if (!adc_s || !dac_s || adc_s->ops != &source_sim_ops || dac_s->ops != &source_sim_dac_ops)
		return -EINVAL;
	dac = to_dac(dac_s);
	if (sim__adc_loop(adc) != dac->loop)
		return -EINVAL;
	if (dac->adc == adc && sim__adc_linked(adc) == dac)
		return 0;
	if (dac->adc || sim__adc_linked(adc))
		return -EINVAL; /* one DAC per ADC and one ADC per DAC */
	dac->adc = adc;
	sim__adc_link(adc, dac);
	return 0;
}
