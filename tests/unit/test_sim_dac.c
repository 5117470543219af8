// SPDX-License-Identifier: MIT
/*
 * The `sim-dac` block source (source_sim_dac.c), driven through its ops
 * table on a real uv loop: the output direction of the block life cycle
 * (bytes_used and flags on ENQUEUE, play order and pacing, CYCLIC and its
 * switch at a repetition boundary, underflow and its accounting, disable),
 * its attributes, and its loopback into a `sim` ADC, checked scan by scan
 * in what the ADC captured.
 *
 * Every wait is for a condition the sources reach (RUN_UNTIL), never for a
 * guessed time. Every test ends with fx_close(): it closes the sources,
 * runs the loop until it has nothing left and asserts uv_loop_close() == 0
 * (no handle leaked); under ASan it also proves closing frees everything.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iiostream/pattern.h"
#include "iiostream/scan.h"
#include "source.h"

#define RATE 100000u /* scans per second of the paced tests: 10 us a scan */

struct fx {
	uv_loop_t loop;
	struct source *dac, *adc;
	uint32_t dac_channels, scan_bytes;  /* the DAC's */
	uint32_t adc_channels, adc_scan_bytes;
	struct iios_scan_layout adc_layout;
	/* What the ADC captured, drained by step(): every scan's data channels
	 * (adc_channels int16 each) and its timestamp element if any. */
	int16_t *cap;
	uint64_t *cap_ts;
	size_t cap_scans, cap_max;
	uint64_t cap_first;   /* ADC scan index of cap[0] */
	bool cap_started;
};

static struct fx the_fx; /* static: the fini may run after an assertion */
static struct fx *live;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fx_cleanup(void)
{
	if (!live)
		return;
	if (live->dac)
		source_sim_dac_ops.close(live->dac);
	if (live->adc)
		source_sim_ops.close(live->adc);
	while (uv_run(&live->loop, UV_RUN_DEFAULT))
		;
	uv_loop_close(&live->loop);
	free(live->cap);
	free(live->cap_ts);
	live = NULL;
}

TestSuite(dac, .fini = fx_cleanup);

static struct fx *fx_new(void)
{
	struct fx *f = &the_fx;

	memset(f, 0, sizeof(*f));
	cr_assert_eq(uv_loop_init(&f->loop), 0);
	live = f;
	return f;
}

static void fx_open_dac(struct fx *f, uint32_t channels, uint64_t rate)
{
	struct source_config cfg = { .channels = channels, .sample_rate = rate };
	struct source_format fmt;

	cr_assert_eq(source_sim_dac_ops.open(&f->dac, &f->loop, &cfg), 0);
	source_sim_dac_ops.format(f->dac, &fmt);
	f->dac_channels = fmt.device_channels;
	f->scan_bytes = fmt.scan_bytes;
}

static void fx_open_adc(struct fx *f, const struct source_config *cfg)
{
	struct source_format fmt;

	cr_assert_eq(source_sim_ops.open(&f->adc, &f->loop, cfg), 0);
	source_sim_ops.format(f->adc, &fmt);
	f->adc_channels = fmt.device_channels;
	f->adc_scan_bytes = fmt.scan_bytes;
	cr_assert_eq(iios_scan_layout_from_mask(&f->adc_layout, fmt.type, fmt.scan_elements,
						fmt.channel_mask, fmt.timestamp_index),
		     0);
}

static void fx_close(struct fx *f)
{
	if (f->dac)
		source_sim_dac_ops.close(f->dac);
	if (f->adc)
		source_sim_ops.close(f->adc);
	f->dac = f->adc = NULL;
	while (uv_run(&f->loop, UV_RUN_DEFAULT))
		;
	free(f->cap);
	free(f->cap_ts);
	f->cap = NULL;
	f->cap_ts = NULL;
	live = NULL;
	cr_assert_eq(uv_loop_close(&f->loop), 0, "a handle was left open");
}

/* ---- the ADC's capture --------------------------------------------------- */

static void capture_block(struct fx *f, const struct source_block *b)
{
	uint8_t *addr;
	uint32_t scans = b->bytes_used / f->adc_scan_bytes, i, k;

	cr_assert_eq(source_sim_ops.map(f->adc, b->id, (void **)&addr), 0);
	cr_assert_eq(b->flags & SOURCE_BLOCK_OVERFLOW, 0, "the ADC overflowed (%llu scans)",
		     (unsigned long long)b->lost_samples);
	if (!f->cap_started) {
		f->cap_first = b->first_sample;
		f->cap_started = true;
	}
	cr_assert_eq(b->first_sample, f->cap_first + f->cap_scans, "ADC blocks not contiguous");
	if (f->cap_scans + scans > f->cap_max) {
		f->cap_max = (f->cap_scans + scans) * 2;
		f->cap = realloc(f->cap, f->cap_max * f->adc_channels * sizeof(*f->cap));
		f->cap_ts = realloc(f->cap_ts, f->cap_max * sizeof(*f->cap_ts));
		cr_assert(f->cap && f->cap_ts);
	}
	for (i = 0; i < scans; i++) {
		const uint8_t *scan = addr + (size_t)i * f->adc_scan_bytes;
		size_t at = f->cap_scans + i;

		f->cap_ts[at] = 0;
		for (k = 0; k < f->adc_layout.count; k++) {
			const struct iios_scan_element *e = &f->adc_layout.elem[k];

			if (e->timestamp)
				memcpy(&f->cap_ts[at], scan + e->offset, 8);
			else
				f->cap[at * f->adc_channels + e->index] =
					(int16_t)(scan[e->offset] | scan[e->offset + 1] << 8);
		}
	}
	f->cap_scans += scans;
}

/* Take every block the ADC filled into the capture and give it back. */
static void drain_adc(struct fx *f)
{
	struct source_block b;

	if (!f->adc)
		return;
	while (source_sim_ops.dequeue(f->adc, &b) == 0) {
		capture_block(f, &b);
		b.bytes_used = 0;
		b.flags = 0;
		cr_assert_eq(source_sim_ops.enqueue(f->adc, &b), 0);
	}
}

static void step(struct fx *f)
{
	uv_run(&f->loop, UV_RUN_ONCE);
	drain_adc(f);
}

/* A bound that only guards against a hang. */
#define HANG_S 60

/* Run the loop (draining the ADC) until `cond` holds, failing after HANG_S. */
#define RUN_UNTIL(f, cond, what)                                                             \
	do {                                                                                 \
		uint64_t run_until_end_ = now_ns() + HANG_S * 1000000000ull;                 \
		while (!(cond)) {                                                            \
			cr_assert_lt(now_ns(), run_until_end_, "waited %d s for %s", HANG_S, \
				     what);                                                  \
			step(f);                                                             \
		}                                                                            \
	} while (0)

/* ---- the DAC's helpers --------------------------------------------------- */

static uint32_t alloc_blocks(struct fx *f, uint32_t size, uint32_t count)
{
	uint32_t first = 12345;

	cr_assert_eq(source_sim_dac_ops.alloc(f->dac, size, count, &first), 0);
	return first;
}

/* Scan i of a ramp block: channel 0 = base + i, channel 1 = -(base + i),
 * channel c = c * 1000 + base + i (never 0 for the bases used). */
static int16_t ramp(uint32_t base, uint32_t i, uint32_t c)
{
	int v = (int)(base + i) + (c > 1 ? (int)c * 1000 : 0);

	return (int16_t)(c == 1 ? -v : v);
}

static void fill_ramp(struct fx *f, uint32_t id, uint32_t scans, uint32_t base)
{
	uint8_t *addr;
	uint32_t i, c;

	cr_assert_eq(source_sim_dac_ops.map(f->dac, id, (void **)&addr), 0);
	for (i = 0; i < scans; i++)
		for (c = 0; c < f->dac_channels; c++) {
			uint16_t v = (uint16_t)ramp(base, i, c);

			addr[(i * f->dac_channels + c) * 2] = (uint8_t)v;
			addr[(i * f->dac_channels + c) * 2 + 1] = (uint8_t)(v >> 8);
		}
}

static int enqueue_scans(struct fx *f, uint32_t id, uint32_t scans, uint32_t flags)
{
	struct source_block b = { .id = id, .bytes_used = scans * f->scan_bytes, .flags = flags };

	return source_sim_dac_ops.enqueue(f->dac, &b);
}

static void enqueue(struct fx *f, uint32_t id, uint32_t scans, uint32_t flags)
{
	cr_assert_eq(enqueue_scans(f, id, scans, flags), 0, "enqueue %u", id);
}

static struct source_counters counters(struct fx *f)
{
	struct source_counters c;

	source_sim_dac_ops.counters(f->dac, &c);
	return c;
}

static bool fd_readable(struct fx *f)
{
	struct pollfd p = { .fd = source_sim_dac_ops.fd_to_poll(f->dac), .events = POLLIN };
	int r = poll(&p, 1, 0);

	cr_assert_geq(r, 0);
	return r == 1 && (p.revents & POLLIN);
}

/* Run until a block is done and dequeue it. */
static struct source_block next_done(struct fx *f)
{
	struct source_block b;

	RUN_UNTIL(f, fd_readable(f), "a played block");
	cr_assert_eq(source_sim_dac_ops.dequeue(f->dac, &b), 0);
	return b;
}

static void attr_eq(struct source *s, const char *attr, const char *want)
{
	char buf[64];

	cr_assert_eq(s->ops->attr_read(s, "", attr, buf, sizeof(buf)), 0, "read %s", attr);
	cr_assert_str_eq(buf, want, "%s", attr);
}

static int attr_set(struct source *s, const char *attr, const char *value)
{
	return s->ops->attr_write(s, "", attr, value);
}

/* ---- format, attributes -------------------------------------------------- */

Test(dac, is_an_output_device_of_s16_channels_without_timestamp)
{
	struct fx *f = fx_new();
	struct source_format fmt;
	struct source_counters c;
	struct source_config cfg = { .channels = 3, .sample_rate = 1000, .name = "dac7" };
	struct source *other;
	struct source_block b = { .id = 0 };
	uint32_t id;

	cr_assert_str_eq(source_sim_dac_ops.name, "sim-dac");
	fx_open_dac(f, 0, RATE);
	memset(&fmt, 0xa5, sizeof(fmt));
	source_sim_dac_ops.format(f->dac, &fmt);
	cr_assert(fmt.output);
	cr_assert_str_eq(fmt.device, "iiostream-sim-dac");
	cr_assert_null(fmt.iio_id);
	cr_assert_eq(fmt.device_channels, 2, "the ADC's default channels");
	cr_assert_eq(fmt.channels, 2);
	cr_assert_eq(fmt.channel_mask, 0x3);
	cr_assert_eq(fmt.scan_bytes, 4);
	cr_assert_eq(fmt.scan_elements, 2);
	cr_assert_eq(fmt.timestamp_index, -1);
	cr_assert_eq(fmt.sample_rate, RATE);
	cr_assert(iios_scan_type_is_s16le(&fmt.type[0]) && iios_scan_type_is_s16le(&fmt.type[1]));
	c = counters(f);
	cr_assert(!c.enabled && !c.underflowing);
	cr_assert_eq(c.blocks_produced + c.bytes_produced + c.underflows + c.played_samples, 0);

	cr_assert_eq(source_sim_dac_ops.open(&other, &f->loop, &cfg), 0);
	source_sim_dac_ops.format(other, &fmt);
	cr_assert_str_eq(fmt.device, "dac7");
	cr_assert_eq(fmt.channels, 3);
	cr_assert_eq(source_sim_dac_ops.set_channels(other, 0x8), -EINVAL);
	cr_assert_eq(source_sim_dac_ops.set_channels(other, 0), -EINVAL);
	cr_assert_eq(source_sim_dac_ops.alloc(other, 600, 1, &id), 0);
	b.id = id;
	b.bytes_used = 6;
	cr_assert_eq(source_sim_dac_ops.enqueue(other, &b), 0);
	cr_assert_eq(source_sim_dac_ops.set_channels(other, 0x5), -EBUSY, "a block is queued");
	cr_assert_eq(source_sim_dac_ops.free(other), 0);
	cr_assert_eq(source_sim_dac_ops.set_channels(other, 0x5), 0);
	source_sim_dac_ops.format(other, &fmt);
	cr_assert_eq(fmt.channels, 2);
	cr_assert_eq(fmt.scan_bytes, 4);
	cr_assert_eq(fmt.channel_mask, 0x5);
	source_sim_dac_ops.close(other);
	fx_close(f);
}

Test(dac, attributes_are_its_rate_loopback_and_underflow_counts)
{
	struct fx *f = fx_new();
	char buf[32];

	fx_open_dac(f, 2, 1000);
	attr_eq(f->dac, "sampling_frequency", "1000");
	attr_eq(f->dac, "loopback", "0");
	attr_eq(f->dac, "underflows", "0");
	attr_eq(f->dac, "underflow_samples", "0");
	cr_assert_eq(attr_set(f->dac, "sampling_frequency", "2500\n"), 0);
	attr_eq(f->dac, "sampling_frequency", "2500");
	cr_assert_eq(attr_set(f->dac, "sampling_frequency", "0"), -EINVAL, "unpaced: cfg only");
	cr_assert_eq(attr_set(f->dac, "sampling_frequency", "12x"), -EINVAL);
	cr_assert_eq(attr_set(f->dac, "sampling_frequency", "-5"), -EINVAL);
	cr_assert_eq(attr_set(f->dac, "sampling_frequency", "1000000001"), -EINVAL);
	attr_eq(f->dac, "sampling_frequency", "2500");
	cr_assert_eq(attr_set(f->dac, "underflows", "0"), -EACCES);
	cr_assert_eq(attr_set(f->dac, "underflow_samples", "0"), -EACCES);
	cr_assert_eq(attr_set(f->dac, "loopback", "2"), -EINVAL);
	cr_assert_eq(attr_set(f->dac, "loopback", "1"), -EINVAL, "no ADC connected");
	cr_assert_eq(attr_set(f->dac, "loopback", "0"), 0);
	cr_assert_eq(attr_set(f->dac, "nope", "1"), -ENOENT);
	cr_assert_eq(f->dac->ops->attr_read(f->dac, "", "nope", buf, sizeof(buf)), -ENOENT);
	cr_assert_eq(f->dac->ops->attr_read(f->dac, "voltage0", "sampling_frequency", buf,
					    sizeof(buf)),
		     -ENOENT);
	fx_close(f);
}

/* ---- ENQUEUE ------------------------------------------------------------- */

Test(dac, enqueue_takes_whole_scans_up_to_the_size_and_only_cyclic)
{
	struct fx *f = fx_new();
	struct source_block b = { .id = 0 };

	fx_open_dac(f, 2, RATE);
	alloc_blocks(f, 400, 2); /* 100 scans each */
	cr_assert_eq(enqueue_scans(f, 0, 0, 0), -EINVAL, "bytes_used 0");
	cr_assert_eq(enqueue_scans(f, 0, 101, 0), -EINVAL, "over the size");
	b.bytes_used = 6; /* a scan and a half */
	cr_assert_eq(source_sim_dac_ops.enqueue(f->dac, &b), -EINVAL, "not whole scans");
	cr_assert_eq(enqueue_scans(f, 0, 1, SOURCE_BLOCK_UNDERFLOW), -EINVAL);
	cr_assert_eq(enqueue_scans(f, 0, 1, SOURCE_BLOCK_TIMESTAMP_VALID), -EINVAL);
	cr_assert_eq(enqueue_scans(f, 0, 1, SOURCE_BLOCK_OVERFLOW | SOURCE_BLOCK_CYCLIC), -EINVAL);
	cr_assert_eq(enqueue_scans(f, 2, 1, 0), -EINVAL, "unknown id");
	cr_assert_eq(enqueue_scans(f, UINT32_MAX, 1, 0), -EINVAL, "unknown id");
	/* the failures changed nothing: the block is still the user's */
	cr_assert_eq(enqueue_scans(f, 0, 100, 0), 0, "the whole block");
	cr_assert_eq(enqueue_scans(f, 0, 100, 0), -EBUSY, "twice");
	cr_assert_eq(enqueue_scans(f, 1, 1, SOURCE_BLOCK_CYCLIC), 0, "one scan, cyclic");
	cr_assert_eq(source_sim_dac_ops.dequeue(f->dac, &b), -EAGAIN, "nothing played yet");
	b.id = 1;
	cr_assert_eq(source_sim_dac_ops.query(f->dac, &b), 0);
	cr_assert_eq(b.bytes_used, 4);
	cr_assert_eq(b.flags, SOURCE_BLOCK_CYCLIC);
	fx_close(f);
}

/* ---- playing ------------------------------------------------------------- */

Test(dac, plays_queued_blocks_in_order_at_its_rate_and_returns_them)
{
	struct fx *f = fx_new();
	struct source_block b[3];
	struct source_counters c;
	uint64_t t_enable;
	uint32_t i;

	fx_open_dac(f, 2, RATE);
	alloc_blocks(f, 4000, 3); /* 1000 scans: 10 ms each */
	enqueue(f, 0, 1000, 0);
	enqueue(f, 1, 500, 0); /* half a block: 5 ms */
	enqueue(f, 2, 1000, 0);
	t_enable = now_ns();
	cr_assert_eq(source_sim_dac_ops.enable(f->dac), 0);
	cr_assert_eq(source_sim_dac_ops.enable(f->dac), -EBUSY);
	for (i = 0; i < 3; i++)
		b[i] = next_done(f);
	/* the last block is done once its last scan played: 25 ms of clock */
	cr_assert_geq(now_ns() - t_enable, 25000000ull, "played faster than its clock");
	for (i = 0; i < 3; i++) {
		cr_assert_eq(b[i].id, i, "block %u came back as %u", i, b[i].id);
		cr_assert_eq(b[i].flags, SOURCE_BLOCK_TIMESTAMP_VALID, "block %u flags %#x", i,
			     b[i].flags);
		cr_assert_eq(b[i].lost_samples, 0);
		cr_assert_eq(b[i].bytes_used, i == 1 ? 2000u : 4000u, "bytes_used as enqueued");
	}
	cr_assert_eq(b[0].first_sample, 0);
	cr_assert_eq(b[1].first_sample, 1000);
	cr_assert_eq(b[2].first_sample, 1500);
	/* ideal times of the first scans, drift-free: 10 us a scan */
	cr_assert_geq(b[0].timestamp_ns, t_enable);
	cr_assert_eq(b[1].timestamp_ns - b[0].timestamp_ns, 10000000ull);
	cr_assert_eq(b[2].timestamp_ns - b[1].timestamp_ns, 5000000ull);
	c = counters(f);
	cr_assert_eq(c.blocks_produced, 3);
	cr_assert_eq(c.bytes_produced, 10000);
	cr_assert_geq(c.played_samples, 2500);
	cr_assert(c.enabled);
	cr_assert_eq(source_sim_dac_ops.disable(f->dac), 0);
	cr_assert_eq(source_sim_dac_ops.disable(f->dac), 0, "twice is harmless");
	cr_assert(!counters(f).enabled);
	cr_assert_eq(source_sim_dac_ops.free(f->dac), 0);
	fx_close(f);
}

Test(dac, silence_before_the_first_block_is_no_underflow)
{
	struct fx *f = fx_new();
	struct source_block b;
	struct source_counters c;

	fx_open_dac(f, 2, RATE);
	alloc_blocks(f, 4000, 1);
	cr_assert_eq(source_sim_dac_ops.enable(f->dac), 0);
	RUN_UNTIL(f, counters(f).played_samples >= 2000, "20 ms of idle output");
	c = counters(f);
	cr_assert_eq(c.underflows, 0);
	cr_assert_eq(c.underflow_samples, 0);
	cr_assert(!c.underflowing);
	enqueue(f, 0, 1000, 0);
	b = next_done(f);
	cr_assert_eq(b.flags, SOURCE_BLOCK_TIMESTAMP_VALID, "flags %#x", b.flags);
	cr_assert_eq(b.lost_samples, 0);
	cr_assert_geq(b.first_sample, 2000, "it starts where the DAC is when it comes");
	cr_assert_eq(source_sim_dac_ops.disable(f->dac), 0);
	fx_close(f);
}

Test(dac, underflow_is_counted_once_per_dry_spell_and_reported_by_the_next_block)
{
	struct fx *f = fx_new();
	struct source_block a, b, c3;
	struct source_counters c;
	uint64_t a_end, c_end;

	fx_open_dac(f, 2, RATE);
	alloc_blocks(f, 4000, 3);
	enqueue(f, 0, 1000, 0);
	cr_assert_eq(source_sim_dac_ops.enable(f->dac), 0);
	a = next_done(f);
	a_end = a.first_sample + 1000;
	/* dry now: one underflow, growing while it lasts */
	RUN_UNTIL(f, counters(f).underflow_samples >= 500, "500 scans of underflow");
	RUN_UNTIL(f, counters(f).underflow_samples >= 1500, "1500 scans of underflow");
	c = counters(f);
	cr_assert_eq(c.underflows, 1, "one dry spell, counted once");
	cr_assert(c.underflowing);
	cr_assert_eq(c.underflow_at, a_end, "it began where the block ended");
	cr_assert_eq(c.played_samples, a_end + c.underflow_samples, "silence is played too");
	/* two blocks at once: the first reports the spell, the second none */
	enqueue(f, 1, 1000, 0);
	enqueue(f, 2, 500, 0);
	b = next_done(f);
	cr_assert_eq(b.id, 1);
	cr_assert_eq(b.flags, SOURCE_BLOCK_TIMESTAMP_VALID | SOURCE_BLOCK_UNDERFLOW, "flags %#x",
		     b.flags);
	cr_assert_eq(b.lost_samples, b.first_sample - a_end, "lost %llu, from %llu to %llu",
		     (unsigned long long)b.lost_samples, (unsigned long long)a_end,
		     (unsigned long long)b.first_sample);
	cr_assert_geq(b.lost_samples, 1500);
	c3 = next_done(f);
	cr_assert_eq(c3.id, 2);
	cr_assert_eq(c3.flags, SOURCE_BLOCK_TIMESTAMP_VALID, "no gap before it");
	cr_assert_eq(c3.lost_samples, 0);
	cr_assert_eq(c3.first_sample, b.first_sample + 1000);
	c_end = c3.first_sample + 500;
	/* the second dry spell */
	RUN_UNTIL(f, counters(f).underflows == 2, "the second underflow");
	cr_assert_eq(source_sim_dac_ops.disable(f->dac), 0);
	c = counters(f);
	cr_assert_eq(c.underflows, 2);
	cr_assert(!c.underflowing, "disabled, not dry");
	cr_assert_eq(c.underflow_at, c_end);
	cr_assert_eq(c.underflow_samples, b.lost_samples + (c.played_samples - c_end),
		     "every scan of silence, both spells");
	cr_assert_eq(c.blocks_produced, 3);
	attr_eq(f->dac, "underflows", "2");
	fx_close(f);
}

Test(dac, cyclic_block_repeats_until_another_is_queued)
{
	struct fx *f = fx_new();
	struct source_block a, b;
	struct source_counters c;

	fx_open_dac(f, 2, RATE);
	alloc_blocks(f, 1000, 2); /* 250 scans: 2.5 ms */
	enqueue(f, 0, 250, SOURCE_BLOCK_CYCLIC);
	cr_assert_eq(source_sim_dac_ops.enable(f->dac), 0);
	RUN_UNTIL(f, counters(f).blocks_produced >= 4, "four repetitions");
	cr_assert(!fd_readable(f), "a lone cyclic block is never done");
	cr_assert_eq(counters(f).underflows, 0);
	enqueue(f, 1, 250, 0);
	a = next_done(f);
	b = next_done(f);
	cr_assert_eq(a.id, 0);
	cr_assert_eq(a.first_sample, 0, "its first repetition");
	cr_assert_eq(a.flags, SOURCE_BLOCK_TIMESTAMP_VALID | SOURCE_BLOCK_CYCLIC);
	cr_assert_eq(a.bytes_used, 1000);
	cr_assert_eq(b.id, 1);
	cr_assert_eq(b.flags, SOURCE_BLOCK_TIMESTAMP_VALID, "replaced with no gap");
	cr_assert_eq(b.first_sample % 250, 0, "switched mid-repetition, at %llu",
		     (unsigned long long)b.first_sample);
	cr_assert_geq(b.first_sample, 1000);
	c = counters(f);
	cr_assert_eq(c.blocks_produced, b.first_sample / 250 + 1);
	cr_assert_eq(source_sim_dac_ops.disable(f->dac), 0);
	fx_close(f);
}

Test(dac, disable_returns_every_block_in_order_a_partly_played_one_too)
{
	struct fx *f = fx_new();
	struct source_block b;
	struct source_counters c;
	uint32_t i;
	static const uint32_t scans[4] = { 1000, 500, 1000, 7 };

	fx_open_dac(f, 2, 100); /* ten seconds a block */
	alloc_blocks(f, 4000, 4);
	for (i = 0; i < 4; i++)
		enqueue(f, i, scans[i], i == 2 ? SOURCE_BLOCK_CYCLIC : 0);
	cr_assert_eq(source_sim_dac_ops.enable(f->dac), 0);
	RUN_UNTIL(f, counters(f).played_samples > 0, "the first scans played");
	cr_assert(!fd_readable(f));
	cr_assert_eq(source_sim_dac_ops.free(f->dac), -EBUSY);
	cr_assert_eq(source_sim_dac_ops.disable(f->dac), 0);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(source_sim_dac_ops.dequeue(f->dac, &b), 0, "block %u", i);
		cr_assert_eq(b.id, i);
		cr_assert_eq(b.bytes_used, scans[i] * 4, "bytes_used as enqueued");
		if (i == 0) {
			cr_assert_eq(b.flags, SOURCE_BLOCK_TIMESTAMP_VALID, "it played");
			cr_assert_eq(b.first_sample, 0);
		} else {
			cr_assert_eq(b.flags, i == 2 ? SOURCE_BLOCK_CYCLIC : 0, "never played");
		}
	}
	cr_assert_eq(source_sim_dac_ops.dequeue(f->dac, &b), -EAGAIN);
	cr_assert(!fd_readable(f));
	c = counters(f);
	cr_assert_eq(c.blocks_produced, 0, "no repetition finished");
	cr_assert_gt(c.bytes_produced, 0);
	cr_assert_lt(c.bytes_produced, 4000);
	cr_assert_eq(c.underflows, 0);
	cr_assert_eq(source_sim_dac_ops.free(f->dac), 0);
	fx_close(f);
}

Test(dac, unpaced_plays_blocks_at_once_and_a_cyclic_one_until_replaced)
{
	struct fx *f = fx_new();
	struct source_block b;
	uint64_t c_first;

	fx_open_dac(f, 2, 0);
	alloc_blocks(f, 4000, 4);
	enqueue(f, 0, 1000, 0);
	enqueue(f, 1, 1000, 0);
	cr_assert(!fd_readable(f), "nothing plays before enable");
	cr_assert_eq(source_sim_dac_ops.enable(f->dac), 0);
	b = next_done(f);
	cr_assert_eq(b.id, 0);
	cr_assert_eq(b.first_sample, 0);
	b = next_done(f);
	cr_assert_eq(b.id, 1);
	cr_assert_eq(b.first_sample, 1000);
	cr_assert_eq(b.flags, SOURCE_BLOCK_TIMESTAMP_VALID);
	enqueue(f, 2, 1000, SOURCE_BLOCK_CYCLIC);
	RUN_UNTIL(f, counters(f).blocks_produced >= 7, "five repetitions");
	cr_assert(!fd_readable(f));
	enqueue(f, 3, 500, 0);
	b = next_done(f);
	cr_assert_eq(b.id, 2);
	c_first = b.first_sample;
	cr_assert_eq(c_first, 2000);
	b = next_done(f);
	cr_assert_eq(b.id, 3);
	cr_assert_eq(b.first_sample % 1000, 0);
	cr_assert_geq(b.first_sample, c_first + 5000);
	cr_assert_eq(b.flags, SOURCE_BLOCK_TIMESTAMP_VALID, "no underflow without a clock");
	cr_assert_eq(counters(f).underflows, 0);
	cr_assert_eq(counters(f).played_samples, b.first_sample + 500);
	cr_assert_eq(source_sim_dac_ops.disable(f->dac), 0);
	fx_close(f);
}

/* ---- loopback ------------------------------------------------------------ */

Test(dac, loopback_is_refused_unless_one_rate_and_an_s16_adc)
{
	struct fx *f = fx_new();
	struct source_config acfg = { .channels = 2, .sample_rate = 1000 };
	struct source_config s12 = { .channels = 2, .sample_rate = 1000, .format = "le:S12/16" };
	struct source *adc2, *dac2;
	uv_loop_t other;

	fx_open_adc(f, &acfg);
	fx_open_dac(f, 2, 2000);
	cr_assert_eq(source_sim_connect_loopback(f->dac, f->adc), -EINVAL, "swapped");
	cr_assert_eq(source_sim_connect_loopback(f->adc, f->adc), -EINVAL);
	cr_assert_eq(source_sim_connect_loopback(f->adc, f->dac), 0);
	cr_assert_eq(source_sim_connect_loopback(f->adc, f->dac), 0, "again: the same link");
	cr_assert_eq(attr_set(f->dac, "loopback", "1"), -EINVAL, "2000 against 1000");
	attr_eq(f->dac, "loopback", "0");
	cr_assert_eq(attr_set(f->dac, "sampling_frequency", "1000"), 0);
	cr_assert_eq(attr_set(f->dac, "loopback", "1"), 0);
	attr_eq(f->dac, "loopback", "1");
	/* the shared clock holds while it is on */
	cr_assert_eq(attr_set(f->dac, "sampling_frequency", "2000"), -EBUSY);
	cr_assert_eq(attr_set(f->adc, "sampling_frequency", "2000"), -EBUSY);
	cr_assert_eq(attr_set(f->adc, "sampling_frequency", "1000"), 0);
	cr_assert_eq(attr_set(f->dac, "loopback", "0"), 0);
	cr_assert_eq(attr_set(f->adc, "sampling_frequency", "2000"), 0, "off: each its own");
	cr_assert_eq(attr_set(f->dac, "loopback", "1"), -EINVAL);

	/* one DAC per ADC, one ADC per DAC, one loop */
	cr_assert_eq(source_sim_ops.open(&adc2, &f->loop, &s12), 0);
	cr_assert_eq(source_sim_dac_ops.open(&dac2, &f->loop, &acfg), 0);
	cr_assert_eq(source_sim_connect_loopback(f->adc, dac2), -EINVAL);
	cr_assert_eq(source_sim_connect_loopback(adc2, f->dac), -EINVAL);
	cr_assert_eq(source_sim_connect_loopback(adc2, dac2), 0);
	cr_assert_eq(attr_set(dac2, "loopback", "1"), -EINVAL, "a 12-bit ADC");
	source_sim_dac_ops.close(dac2);
	source_sim_ops.close(adc2);
	cr_assert_eq(uv_loop_init(&other), 0);
	cr_assert_eq(source_sim_dac_ops.open(&dac2, &other, &acfg), 0);
	cr_assert_eq(source_sim_ops.open(&adc2, &f->loop, &acfg), 0);
	cr_assert_eq(source_sim_connect_loopback(adc2, dac2), -EINVAL, "two loops");
	source_sim_dac_ops.close(dac2);
	source_sim_ops.close(adc2);
	while (uv_run(&other, UV_RUN_DEFAULT))
		;
	cr_assert_eq(uv_loop_close(&other), 0);

	/* unpaced: no clock to share */
	fx_close(f);
	f = fx_new();
	acfg.sample_rate = 0;
	fx_open_adc(f, &acfg);
	fx_open_dac(f, 2, 0);
	cr_assert_eq(source_sim_connect_loopback(f->adc, f->dac), 0);
	cr_assert_eq(attr_set(f->dac, "loopback", "1"), -EINVAL);
	fx_close(f);
}

/* The ADC's scans [from, from + n) on every captured channel are: channels
 * below the DAC's the ramp of `base` from scan i0 (wrapping every `len`),
 * the others 0. */
static void assert_ramp(struct fx *f, size_t from, size_t n, uint32_t base, uint32_t len,
			const char *what)
{
	size_t i;
	uint32_t c;

	for (i = 0; i < n; i++)
		for (c = 0; c < f->adc_channels; c++) {
			int16_t got = f->cap[(from + i) * f->adc_channels + c];
			int16_t want = c < f->dac_channels ? ramp(base, (uint32_t)(i % len), c) : 0;

			cr_assert_eq(got, want,
				     "%s: ADC scan %zu (%zu into it), channel %u: %d, not %d", what,
				     from + i, i, c, got, want);
		}
}

static void assert_zeros(struct fx *f, size_t from, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n * f->adc_channels; i++)
		cr_assert_eq(f->cap[from * f->adc_channels + i], 0, "%s: ADC scan %zu", what,
			     from + i / f->adc_channels);
}

/* The first captured scan holding anything but zeros. */
static size_t first_sound(struct fx *f)
{
	size_t i;

	for (i = 0; i < f->cap_scans * f->adc_channels; i++)
		if (f->cap[i])
			break;
	return i / f->adc_channels;
}

/* ADC scan `at` is the first to see a DAC scan played from time t: the
 * DAC's output at an instant is the scan it started last, so the ADC scan
 * is at most one period later (2 ns for the two clocks' rounding). */
static void assert_same_instant(struct fx *f, size_t at, uint64_t t, const char *what)
{
	int64_t d = (int64_t)(f->cap_ts[at] - t);

	cr_assert(d >= -2 && d < 1000000000 / RATE + 2,
		  "%s: the DAC played it at %llu, the ADC's scan %zu is at %llu", what,
		  (unsigned long long)t, at, (unsigned long long)f->cap_ts[at]);
}

Test(dac, loopback_shows_a_cyclic_switch_exactly_at_a_repetition_boundary)
{
	struct fx *f = fx_new();
	/* 3 ADC channels against 2 DAC channels, IIO's timestamp after them */
	struct source_config acfg = { .channels = 3, .sample_rate = RATE, .timestamp = true };
	struct source_block a, b;
	uint32_t i, reps;
	size_t at_a, at_b, at_end;

	fx_open_adc(f, &acfg);
	cr_assert_eq(f->adc_scan_bytes, 16);
	fx_open_dac(f, 2, RATE);
	cr_assert_eq(source_sim_connect_loopback(f->adc, f->dac), 0);
	cr_assert_eq(attr_set(f->dac, "loopback", "1"), 0);
	cr_assert_eq(source_sim_ops.alloc(f->adc, 16 * 8192, 16, &i), 0); /* 1.3 s */
	for (i = 0; i < 16; i++) {
		struct source_block ab = { .id = i };

		cr_assert_eq(source_sim_ops.enqueue(f->adc, &ab), 0);
	}
	cr_assert_eq(source_sim_ops.enable(f->adc), 0);

	alloc_blocks(f, 2000, 2);
	fill_ramp(f, 0, 250, 1000); /* A: 250 scans, looping */
	fill_ramp(f, 1, 400, 5000); /* B: 400 scans, then nothing */
	cr_assert_eq(source_sim_dac_ops.enable(f->dac), 0);
	RUN_UNTIL(f, counters(f).played_samples >= 300, "idle output first");
	enqueue(f, 0, 250, SOURCE_BLOCK_CYCLIC);
	RUN_UNTIL(f, counters(f).blocks_produced >= 3, "three repetitions");
	enqueue(f, 1, 400, 0);
	a = next_done(f);
	b = next_done(f);
	RUN_UNTIL(f, counters(f).underflow_samples >= 400, "silence after B");
	cr_assert_eq(source_sim_dac_ops.disable(f->dac), 0);
	cr_assert_eq(source_sim_ops.disable(f->adc), 0); /* hands over its partial block */
	drain_adc(f);

	reps = (uint32_t)((b.first_sample - a.first_sample) / 250);
	cr_assert_eq(b.first_sample, a.first_sample + reps * 250ull);
	cr_assert_geq(reps, 3);
	cr_assert_eq(b.flags, SOURCE_BLOCK_TIMESTAMP_VALID, "B followed A with no gap");
	/* where the DAC says A started is where the ADC sees it start */
	at_a = first_sound(f);
	at_b = at_a + reps * 250;
	at_end = at_b + 400;
	cr_assert_gt(at_a, 0);
	cr_assert_lt(at_end + 300, f->cap_scans, "the ADC captured the silence after B");
	assert_same_instant(f, at_a, a.timestamp_ns, "A");
	assert_zeros(f, 0, at_a, "idle output before A");
	assert_ramp(f, at_a, reps * 250, 1000, 250, "A's repetitions");
	assert_ramp(f, at_b, 400, 5000, 400, "B, right after A's last repetition");
	assert_zeros(f, at_end, f->cap_scans - at_end, "the underflow after B");
	assert_same_instant(f, at_b, b.timestamp_ns, "B");
	/* the ADC's own timestamps stay: one per scan, 10 us apart */
	for (i = 1; i < f->cap_scans; i++) {
		uint64_t d = f->cap_ts[i] - f->cap_ts[i - 1];

		cr_assert(d == 9999 || d == 10000 || d == 10001, "timestamp step %llu at %u",
			  (unsigned long long)d, i);
	}
	attr_eq(f->dac, "loopback_missed", "0");
	fx_close(f);
}

#define ADC_BLOCK_SCANS 4096u

/* Close one side of a running loopback: the other runs on alone; an ADC
 * alone captures its pattern again. */
static void run_both(struct fx *f)
{
	struct source_config acfg = { .channels = 2, .sample_rate = RATE };
	uint32_t i;

	fx_open_adc(f, &acfg);
	fx_open_dac(f, 2, RATE);
	cr_assert_eq(source_sim_connect_loopback(f->adc, f->dac), 0);
	cr_assert_eq(attr_set(f->dac, "loopback", "1"), 0);
	cr_assert_eq(source_sim_ops.alloc(f->adc, ADC_BLOCK_SCANS * 4, 16, &i), 0); /* 650 ms */
	for (i = 0; i < 16; i++) {
		struct source_block ab = { .id = i };

		cr_assert_eq(source_sim_ops.enqueue(f->adc, &ab), 0);
	}
	alloc_blocks(f, 4000, 2);
	fill_ramp(f, 0, 1000, 100);
	enqueue(f, 0, 1000, SOURCE_BLOCK_CYCLIC);
	cr_assert_eq(source_sim_ops.enable(f->adc), 0);
	cr_assert_eq(source_sim_dac_ops.enable(f->dac), 0);
	RUN_UNTIL(f, f->cap_scans >= 2 * ADC_BLOCK_SCANS, "two ADC blocks");
}

Test(dac, closing_the_adc_first_leaves_the_dac_playing_alone)
{
	struct fx *f = fx_new();
	uint64_t reps;

	run_both(f);
	source_sim_ops.close(f->adc);
	f->adc = NULL;
	attr_eq(f->dac, "loopback", "0");
	reps = counters(f).blocks_produced;
	RUN_UNTIL(f, counters(f).blocks_produced >= reps + 3, "the DAC playing on");
	cr_assert_eq(attr_set(f->dac, "loopback", "1"), -EINVAL, "no ADC any more");
	fx_close(f);
}

Test(dac, closing_the_dac_first_leaves_the_adc_capturing_its_pattern)
{
	struct fx *f = fx_new();
	size_t from;

	run_both(f);
	source_sim_dac_ops.close(f->dac);
	f->dac = NULL;
	/* the ADC's block being filled at the close holds both; the one
	 * after it is the pattern again, byte for byte */
	from = (f->cap_scans / ADC_BLOCK_SCANS + 1) * ADC_BLOCK_SCANS;
	RUN_UNTIL(f, f->cap_scans >= from + ADC_BLOCK_SCANS, "a block captured after the close");
	{
		uint8_t raw[ADC_BLOCK_SCANS * 4];
		size_t i;

		for (i = 0; i < ADC_BLOCK_SCANS * 2; i++) {
			uint16_t v = (uint16_t)f->cap[from * 2 + i];

			raw[2 * i] = (uint8_t)v;
			raw[2 * i + 1] = (uint8_t)(v >> 8);
		}
		cr_assert_eq(iios_pattern_check(raw, sizeof(raw), f->cap_first + from, 2), -1,
			     "not the ADC's own pattern after the DAC closed: %d %d %d %d",
			     f->cap[from * 2], f->cap[from * 2 + 1], f->cap[from * 2 + 2],
			     f->cap[from * 2 + 3]);
	}
	fx_close(f);
}

/* The ADC's scans [from, from + n) are the cyclic ramp of `base` and `len`
 * at whatever phase it starts, with no scan missing or doubled. */
static void assert_cyclic(struct fx *f, size_t from, size_t n, uint32_t base, uint32_t len,
			  const char *what)
{
	int phase = f->cap[from * f->adc_channels] - (int)base;

	cr_assert(phase >= 0 && phase < (int)len, "%s: ADC scan %zu is %d, not the ramp", what,
		  from, f->cap[from * f->adc_channels]);
	/* assert_ramp() from the block's start, shifted by the phase */
	{
		size_t i;
		uint32_t c;

		for (i = 0; i < n; i++)
			for (c = 0; c < f->adc_channels; c++) {
				int16_t got = f->cap[(from + i) * f->adc_channels + c];
				int16_t want = ramp(base, (uint32_t)((i + (size_t)phase) % len), c);

				cr_assert_eq(got, want, "%s: ADC scan %zu, channel %u: %d, not %d",
					     what, from + i, c, got, want);
			}
	}
}

static void stall_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The loop stalls longer than the loopback ring holds (45000 scans against
 * 32768): the ADC catching up plays the DAC in pieces, so nothing falls
 * out. The DAC starts first; the ADC's re-enable re-aligns the clocks. */
Test(dac, loopback_loses_nothing_across_a_stall_and_an_adc_restart)
{
	struct fx *f = fx_new();
	struct source_config acfg = { .channels = 2, .sample_rate = RATE };
	size_t mark, restart;
	uint32_t i;

	fx_open_adc(f, &acfg);
	fx_open_dac(f, 2, RATE);
	cr_assert_eq(source_sim_connect_loopback(f->adc, f->dac), 0);
	cr_assert_eq(attr_set(f->dac, "loopback", "1"), 0);
	cr_assert_eq(source_sim_ops.alloc(f->adc, 65536, 8, &i), 0); /* 1.3 s */
	for (i = 0; i < 8; i++) {
		struct source_block ab = { .id = i };

		cr_assert_eq(source_sim_ops.enqueue(f->adc, &ab), 0);
	}
	alloc_blocks(f, 4000, 1);
	fill_ramp(f, 0, 1000, 100);
	cr_assert_eq(source_sim_dac_ops.enable(f->dac), 0);
	enqueue(f, 0, 1000, SOURCE_BLOCK_CYCLIC);
	cr_assert_eq(source_sim_ops.enable(f->adc), 0);
	RUN_UNTIL(f, f->cap_scans >= 16384, "an ADC block");
	stall_ms(450); /* the loop stalls: no tick of either runs */
	mark = f->cap_scans;
	RUN_UNTIL(f, f->cap_scans >= mark + 4 * 16384, "the stall captured");
	assert_cyclic(f, 0, f->cap_scans, 100, 1000, "across the stall");
	attr_eq(f->dac, "loopback_missed", "0");

	cr_assert_eq(source_sim_ops.disable(f->adc), 0);
	drain_adc(f);
	restart = f->cap_scans;
	cr_assert_eq(source_sim_ops.enable(f->adc), 0);
	RUN_UNTIL(f, f->cap_scans >= restart + 2 * 16384, "capture after the restart");
	assert_cyclic(f, restart, f->cap_scans - restart, 100, 1000, "after the ADC's restart");
	cr_assert_eq(counters(f).underflows, 0);
	attr_eq(f->dac, "loopback_missed", "0");
	fx_close(f);
}

/* At 10 M scans/s a stall leaves the ADC a backlog that takes it longer to
 * capture than the loopback ring lasts (3.3 ms): the DAC, ticking after it,
 * still plays no further than the ADC has read. Every captured scan is the
 * ramp, each block's in order, and nothing fell out of the ring. */
Test(dac, loopback_loses_nothing_while_the_adc_catches_up_a_backlog)
{
	struct fx *f = fx_new();
	struct source_config acfg = { .channels = 2, .sample_rate = 10000000 };
	struct source_block ab;
	uint64_t blocks = 0;
	uint32_t i;

	fx_open_adc(f, &acfg);
	fx_open_dac(f, 2, 10000000);
	cr_assert_eq(source_sim_connect_loopback(f->adc, f->dac), 0);
	cr_assert_eq(attr_set(f->dac, "loopback", "1"), 0);
	cr_assert_eq(source_sim_ops.alloc(f->adc, 1 << 20, 16, &i), 0); /* 420 ms */
	for (i = 0; i < 16; i++) {
		ab = (struct source_block){ .id = i };
		cr_assert_eq(source_sim_ops.enqueue(f->adc, &ab), 0);
	}
	alloc_blocks(f, 4000, 1);
	fill_ramp(f, 0, 1000, 100);
	enqueue(f, 0, 1000, SOURCE_BLOCK_CYCLIC);
	/* the DAC's tick first in the loop: it runs right after the stall */
	cr_assert_eq(source_sim_dac_ops.enable(f->dac), 0);
	cr_assert_eq(source_sim_ops.enable(f->adc), 0);
	stall_ms(150);
	while (blocks < 8) {
		uint64_t end = now_ns() + HANG_S * 1000000000ull;

		cr_assert_lt(now_ns(), end);
		uv_run(&f->loop, UV_RUN_ONCE);
		while (source_sim_ops.dequeue(f->adc, &ab) == 0) {
			const int16_t *s;
			uint32_t n = ab.bytes_used / 4, k;

			cr_assert_eq(source_sim_ops.map(f->adc, ab.id, (void **)&s), 0);
			for (k = 0; k < n; k++) {
				int v = s[2 * k];

				cr_assert(v >= 100 && v < 1100 && s[2 * k + 1] == -v,
					  "block %llu scan %u: %d %d", (unsigned long long)blocks, k, v,
					  s[2 * k + 1]);
				cr_assert(k == 0 || v == 100 + (s[2 * k - 2] - 100 + 1) % 1000,
					  "block %llu scan %u: %d after %d", (unsigned long long)blocks,
					  k, v, s[2 * k - 2]);
			}
			blocks++;
			ab.bytes_used = 0;
			ab.flags = 0;
			cr_assert_eq(source_sim_ops.enqueue(f->adc, &ab), 0);
		}
	}
	attr_eq(f->dac, "loopback_missed", "0");
	fx_close(f);
}

/* Blocks queued before an enable that never came (a daemon's prefill)
 * come back unplayed: nothing stale plays at the next enable. */
Test(dac, disable_while_not_enabled_returns_the_queued_blocks_unplayed)
{
	struct fx *f = fx_new();
	struct source_block b;
	uint32_t i;

	fx_open_dac(f, 2, RATE);
	alloc_blocks(f, 4000, 3);
	for (i = 0; i < 3; i++)
		enqueue(f, i, 1000, i == 1 ? SOURCE_BLOCK_CYCLIC : 0);
	cr_assert_eq(source_sim_dac_ops.disable(f->dac), 0);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(source_sim_dac_ops.dequeue(f->dac, &b), 0);
		cr_assert_eq(b.id, i);
		cr_assert_eq(b.bytes_used, 4000);
		cr_assert_eq(b.flags, i == 1 ? SOURCE_BLOCK_CYCLIC : 0, "never played");
	}
	cr_assert_eq(source_sim_dac_ops.dequeue(f->dac, &b), -EAGAIN);
	cr_assert_eq(counters(f).bytes_produced, 0);
	fx_close(f);
}
