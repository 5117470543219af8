// SPDX-License-Identifier: GPL-2.0-only
/*
 * iios_dac.c - the simulated DAC (dac=1): it plays blocks at the rate
 *
 * sim: a real DAC's DMA engine reads each queued block into the
 * converter's FIFO, and the converter clocks one scan out per sample
 * period. Here the device's kthread (iios_gen.c) wakes every tick, works
 * out how many scans were due since enable from CLOCK_MONOTONIC (as the
 * ADC does), and "plays" them: it moves through the ACTIVE block, in the
 * order blocks were queued, and hands each block back DONE when its last
 * scan played. What it plays goes nowhere, unless the loopback is on.
 *
 * The rules this file implements (docs/uapi.md, "The output direction"):
 *  - a block plays bytes_used bytes from ENQUEUE, whole scans;
 *  - CYCLIC: at the end of each repetition, if another block is queued the
 *    cyclic one is DONE and the next plays at once (no gap, no partial
 *    repetition), else it plays again;
 *  - running dry after the first block since enable is an underflow:
 *    silence (zero scans) plays, it is counted, and the next block that
 *    plays is flagged IIO_BUFFER_BLOCK_FLAG_UNDERFLOW. Silence before the
 *    first block is not an underflow: nothing was promised yet;
 *  - loopback: the last scans played are kept in a ring, from which the
 *    linked ADC's block path copies what the DAC played at the instant of
 *    each of its scans (iios_dac_loopback_apply()).
 *
 * Locks: all under the DAC's gen_lock. The loopback link crosses two
 * devices, so the order is: iios_link_lock, then the ADC's gen_lock, then
 * the DAC's. The DAC's own tick takes only its own gen_lock; the ADC's
 * tick takes its own, then the DAC's.
 */
#include <linux/math64.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "iios_sim.h"

/*
 * The loopback ring: the last scans the DAC played. sim: a wire from the
 * DAC's output to the ADC's input; the ring is the wire's "delay line"
 * between the two threads. 4 MiB hold 1 s of 2 channels of le:s16/16 at
 * 1 MS/s; the ADC reads within its tick (1 ms), or at most 100 ms later.
 */
#define IIOS_DAC_RING_BYTES (4u << 20)

/* Who is linked: ADC 0 and the DAC, while each is bound. */
static DEFINE_MUTEX(iios_link_lock);
static struct iios_dev *iios_link_adc;
static struct iios_dev *iios_link_dac;

/* Called at probe (DAC only): the ring and the last-scan buffer. Freed
 * with the device (iios_chrdev.c's release). */
int iios_dac_setup(struct iios_dev *sd)
{
	sd->dac.ring = vzalloc(IIOS_DAC_RING_BYTES);
	if (!sd->dac.ring)
		return -ENOMEM;
	/* the longest scan: every element (channel_mask may pick fewer) */
	sd->dac.last = kzalloc(sd->scan_bytes, GFP_KERNEL);
	if (!sd->dac.last)
		return -ENOMEM;
	return 0;
}

/* Caller holds gen_lock; the block layout just changed (channel_mask,
 * while off): what the ring holds is no longer readable. */
void iios_dac_layout_changed(struct iios_dev *sd)
{
	sd->dac.ring_scans = IIOS_DAC_RING_BYTES / sd->scan_bytes;
	sd->dac.ring_from = sd->blk_stream.next_scan;
}

/* ---- playing ---- */

/* Caller holds gen_lock. Remember scans m..m+n-1 (NULL: silence) for the
 * loopback, while it is on; only the last ring_scans of them matter. */
static void iios_dac_ring_write(struct iios_dev *sd, u64 m, const u8 *src, u64 n)
{
	struct iios_dac_state *d = &sd->dac;
	u32 sb = sd->scan_bytes;

	if (!d->loopback || !n)
		return;
	if (n > d->ring_scans) {
		if (src)
			src += (size_t)(n - d->ring_scans) * sb;
		m += n - d->ring_scans;
		n = d->ring_scans;
	}
	while (n) {
		u64 pos;
		u64 k;

		div64_u64_rem(m, d->ring_scans, &pos);
		k = min(n, d->ring_scans - pos);
		if (src) {
			memcpy(d->ring + (size_t)pos * sb, src, (size_t)k * sb);
			src += (size_t)k * sb;
		} else {
			memset(d->ring + (size_t)pos * sb, 0, (size_t)k * sb);
		}
		m += k;
		n -= k;
	}
}

/* Caller holds gen_lock. No block to play: silence, an underflow once
 * playing has started. */
static void iios_dac_silence(struct iios_dev *sd, u64 scans)
{
	struct iios_dac_state *d = &sd->dac;
	struct iios_stream *st = &sd->blk_stream;

	if (d->started) {
		if (!d->underflowing) {
			d->underflows++;
			d->underflow_at = st->next_scan;
			d->cur_silence = 0;
			d->underflowing = true;
		}
		d->cur_silence += scans;
		d->underflow_samples += scans;
	}
	iios_dac_ring_write(sd, st->next_scan, NULL, scans);
	memset(d->last, 0, sd->scan_bytes);
	st->next_scan += scans;
}

/* Caller holds gen_lock. The oldest queued block starts playing now. */
static struct iios_block *iios_dac_start_block(struct iios_dev *sd)
{
	struct iios_dac_state *d = &sd->dac;
	struct iios_stream *st = &sd->blk_stream;
	struct iios_block *blk;

	blk = iios_blockq_take_incoming(sd);
	if (!blk)
		return NULL;
	blk->filled = 0;
	blk->repeats = 0;
	blk->flags = IIO_BUFFER_BLOCK_FLAG_TIMESTAMP_VALID |
		     (blk->flags & IIO_BUFFER_BLOCK_FLAG_CYCLIC);
	if (d->underflowing) {
		blk->flags |= IIO_BUFFER_BLOCK_FLAG_UNDERFLOW;
		d->last_underflow_samples = d->cur_silence;
		d->underflowing = false;
	}
	d->started = true;
	/* the ideal time of its first scan, as the ADC stamps its blocks */
	blk->timestamp = iios_gen_scan_time(st, sd->rate, st->next_scan);
	sd->active = blk;
	return blk;
}

/*
 * Caller holds gen_lock. Scans to wait before a queued block may play at
 * scan slot next_scan: 0 when it may, U64_MAX when none is queued. The
 * thread plays the slots due since its last tick all at once, so a block
 * queued at time t must not take a slot that was due before t: it takes
 * the first slot after it (sim: that slot had already left the FIFO).
 */
static u64 iios_dac_wait_for_block(struct iios_dev *sd)
{
	struct iios_stream *st = &sd->blk_stream;
	u64 queued, first;

	if (!iios_blockq_next_queued_ns(sd, &queued))
		return U64_MAX;
	first = iios_gen_scans_since(st->t0_ns, queued, sd->rate);
	return first > st->next_scan ? first - st->next_scan : 0;
}

/*
 * Caller holds gen_lock; @blk is CYCLIC, at the start of a repetition. How
 * many whole repetitions of @len scans, of the @scans due, play before one
 * of them ends with a block ready to replace it: those need no look at the
 * queue each, which keeps a tick's work bounded however short the block.
 */
static u64 iios_dac_free_repeats(struct iios_dev *sd, u32 len, u64 scans)
{
	u64 wait = iios_dac_wait_for_block(sd);
	u64 reps = div_u64(scans, len);
	u64 first_switch;

	if (wait == U64_MAX)
		return reps;
	/* repetition j ends at slot next_scan + j * len: a switch if the
	 * block is ready by then, so at j = max(1, ceil(wait / len)) */
	first_switch = max_t(u64, 1, div_u64(wait + len - 1, len));
	return min(reps, first_switch - 1);
}

/* Caller holds gen_lock. Play @reps whole repetitions of @blk at once; the
 * loopback ring keeps only the last of them. */
static void iios_dac_repeat(struct iios_dev *sd, struct iios_block *blk, u32 len, u64 reps)
{
	struct iios_stream *st = &sd->blk_stream;
	u64 r = 0;

	if (!sd->dac.loopback)
		r = reps;	/* nothing to remember */
	else if (reps * len > sd->dac.ring_scans)
		r = div_u64(reps * len - sd->dac.ring_scans, len);
	for (; r < reps; r++)
		iios_dac_ring_write(sd, st->next_scan + r * len, blk->vaddr, len);
	memcpy(sd->dac.last, (const u8 *)blk->vaddr + (size_t)(len - 1) * sd->scan_bytes,
	       sd->scan_bytes);
	st->next_scan += reps * len;
	blk->repeats += reps;
}

/* Caller holds gen_lock. Play the next @scans scans of the block stream. */
static void iios_dac_play(struct iios_dev *sd, u64 scans)
{
	struct iios_stream *st = &sd->blk_stream;
	u32 sb = sd->scan_bytes;

	while (scans) {
		struct iios_block *blk = sd->active;
		const u8 *src;
		u32 len;
		u64 n;

		if (!blk) {
			u64 wait = iios_dac_wait_for_block(sd);

			if (wait) {
				wait = min(wait, scans);
				iios_dac_silence(sd, wait);
				scans -= wait;
				continue;
			}
			blk = iios_dac_start_block(sd);
			if (WARN_ON(!blk))	/* queued a moment ago, under gen_lock */
				return;
		}
		len = blk->bytes_used / sb;	/* ENQUEUE checked: 1.. whole scans */
		if ((blk->flags & IIO_BUFFER_BLOCK_FLAG_CYCLIC) && !blk->filled && blk->repeats) {
			u64 reps = iios_dac_free_repeats(sd, len, scans);

			if (reps) {
				iios_dac_repeat(sd, blk, len, reps);
				scans -= reps * len;
				continue;
			}
		}
		n = min_t(u64, scans, len - blk->filled);
		/* sim: this is where the DAC's DMA would read the block */
		src = (const u8 *)blk->vaddr + (size_t)blk->filled * sb;
		iios_dac_ring_write(sd, st->next_scan, src, n);
		memcpy(sd->dac.last, src + (size_t)(n - 1) * sb, sb);
		blk->filled += n;
		st->next_scan += n;
		scans -= n;
		if (blk->filled < len)
			break;
		/* the end of the block, or of one repetition of it */
		if ((blk->flags & IIO_BUFFER_BLOCK_FLAG_CYCLIC) && iios_dac_wait_for_block(sd)) {
			blk->filled = 0;
			blk->repeats++;
			continue;
		}
		iios_blockq_complete_active(sd);	/* bytes_used: what played */
	}
}

/* Caller holds gen_lock: the scans due by @now (the device's thread). */
void iios_dac_tick(struct iios_dev *sd, u64 now)
{
	struct iios_stream *st = &sd->blk_stream;
	u64 target;

	if (!st->on)
		return;
	target = iios_gen_scans_since(st->t0_ns, now, sd->rate);
	if (target > st->next_scan)
		iios_dac_play(sd, target - st->next_scan);
}

/* Caller holds gen_lock; the stream's t0 and next_scan were just reset. */
void iios_dac_enable(struct iios_dev *sd)
{
	struct iios_dac_state *d = &sd->dac;

	d->started = false;
	d->underflowing = false;
	d->cur_silence = 0;
	iios_dac_layout_changed(sd);	/* next_scan is 0: ring_from 0 */
	memset(d->last, 0, sd->scan_bytes);
}

/*
 * Caller holds gen_lock; playing stops. The block playing goes to DONE
 * with the scans it played (a CYCLIC block that repeated: one repetition),
 * or back to the head of the queue if none played. Queued blocks stay.
 */
void iios_dac_disable(struct iios_dev *sd)
{
	struct iios_block *blk = sd->active;

	if (blk && blk->repeats)
		blk->filled = blk->bytes_used / sd->scan_bytes;
	iios_blockq_flush_active(sd);
	sd->dac.started = false;
	sd->dac.underflowing = false;
	memset(sd->dac.last, 0, sd->scan_bytes);
}

/* Caller holds gen_lock; FREE dropped every block, the one playing too.
 * Silence from now on is deliberate: no underflow until a block played. */
void iios_dac_blocks_freed(struct iios_dev *sd)
{
	sd->dac.started = false;
	sd->dac.underflowing = false;
	memset(sd->dac.last, 0, sd->scan_bytes);
}

/* ---- the loopback: DAC channel c into ADC channel c ---- */

/* floor(d * rate / 1e9) and whether it was exact, without overflow. */
static u64 iios_dac_scans_in(u64 d, u32 rate, bool *exact)
{
	u32 rem;
	u64 secs = div_u64_rem(d, NSEC_PER_SEC, &rem);
	u32 frac;
	u64 q = secs * rate + div_u64_rem((u64)rem * rate, NSEC_PER_SEC, &frac);

	*exact = !frac;
	return q;
}

/*
 * Caller holds both gen_locks. The shared sample clock: the ADC's block
 * scan n and the DAC's scan n + offset happen at the same instant (the
 * DAC scan that started at or before the ADC scan's ideal time). Both
 * streams count from their own enable, so the offset follows from their
 * two t0s, and stays fixed until either is enabled again.
 */
static s64 iios_dac_offset(const struct iios_dev *adc, const struct iios_dev *dac)
{
	u64 ta = adc->blk_stream.t0_ns, td = dac->blk_stream.t0_ns;
	bool exact;
	u64 q;

	if (ta >= td)
		return (s64)iios_dac_scans_in(ta - td, dac->rate, &exact);
	q = iios_dac_scans_in(td - ta, dac->rate, &exact);
	return -(s64)(q + !exact);	/* -ceil() */
}

/* The DAC element of scan index @index, or -1. */
static int iios_dac_element(const struct iios_scan_layout *l, u32 index)
{
	u32 k;

	for (k = 0; k < l->count; k++)
		if (l->elem[k].index == index && !l->elem[k].timestamp)
			return k;
	return -1;
}

/* Caller holds both gen_locks. Copy DAC scan @m's channels into one ADC
 * scan; 0 where the DAC played nothing (or silence, or before the ring).
 * @elem_of: for each ADC element, the DAC element of its channel, or -1. */
static void iios_dac_copy_scan(struct iios_dev *adc, struct iios_dev *dac, const s8 *elem_of,
			       u8 *out, s64 m)
{
	const struct iios_scan_layout *al = &adc->blk_layout, *dl = &dac->blk_layout;
	struct iios_dac_state *d = &dac->dac;
	const u8 *src = NULL;
	u32 j;

	if (m >= 0 && (u64)m >= d->ring_from && (u64)m < dac->blk_stream.next_scan &&
	    (u64)m + d->ring_scans >= dac->blk_stream.next_scan) {
		u64 pos;

		div64_u64_rem((u64)m, d->ring_scans, &pos);
		src = d->ring + (size_t)pos * dac->scan_bytes;
	}
	for (j = 0; j < al->count; j++) {
		const struct iios_scan_element *e = &al->elem[j];
		u32 len = iios_scan_type_bytes(&e->type);
		int k;

		if (e->timestamp)
			continue;	/* the ADC's own clock stays */
		k = src ? elem_of[j] : -1;
		if (k >= 0)
			memcpy(out + e->offset, src + dl->elem[k].offset, len);
		else
			memset(out + e->offset, 0, len);
	}
}

/*
 * Caller holds the ADC's gen_lock (its generator, iios_blockq_produce()).
 * @count scans of the ADC's block stream, from scan @first, were just
 * written at @scans: when the linked DAC's loopback is on, each one's
 * voltage channels become what the DAC played at the same instant. The
 * DAC is first played up to the last of those scans, so the ADC never
 * reads ahead of it (the two threads tick independently).
 */
void iios_dac_loopback_apply(struct iios_dev *adc, u8 *scans, u64 first, u32 count)
{
	s8 elem_of[IIOS_SCAN_MAX_ELEMENTS];
	struct iios_dev *dac = adc->lb_dac;
	struct iios_stream *dst;
	s64 m_last;
	u32 i;

	if (!dac || !count)
		return;
	mutex_lock_nested(&dac->gen_lock, SINGLE_DEPTH_NESTING);
	if (!dac->dac.loopback)
		goto out;
	dst = &dac->blk_stream;
	if (!adc->lb_valid || adc->lb_adc_t0 != adc->blk_stream.t0_ns ||
	    adc->lb_dac_t0 != dst->t0_ns) {
		adc->lb_offset = iios_dac_offset(adc, dac);
		adc->lb_adc_t0 = adc->blk_stream.t0_ns;
		adc->lb_dac_t0 = dst->t0_ns;
		adc->lb_valid = true;
	}
	m_last = (s64)(first + count - 1) + adc->lb_offset;
	if (dst->on && m_last >= 0 && (u64)m_last >= dst->next_scan)
		iios_dac_play(dac, (u64)m_last + 1 - dst->next_scan);
	for (i = 0; i < adc->blk_layout.count; i++)
		elem_of[i] = iios_dac_element(&dac->blk_layout, adc->blk_layout.elem[i].index);
	for (i = 0; i < count; i++)
		iios_dac_copy_scan(adc, dac, elem_of, scans + (size_t)i * adc->scan_bytes,
				   (s64)(first + i) + adc->lb_offset);
out:
	mutex_unlock(&dac->gen_lock);
}

/* Caller holds iios_link_lock. */
static void iios_dac_connect(struct iios_dev *adc, struct iios_dev *dac)
{
	get_device(&adc->dev);
	get_device(&dac->dev);
	mutex_lock(&adc->gen_lock);
	mutex_lock_nested(&dac->gen_lock, SINGLE_DEPTH_NESTING);
	adc->lb_dac = dac;
	adc->lb_valid = false;
	dac->dac.lb_adc = adc;
	mutex_unlock(&dac->gen_lock);
	mutex_unlock(&adc->gen_lock);
}

/* Caller holds iios_link_lock. After this neither reaches the other. */
static void iios_dac_disconnect(struct iios_dev *adc, struct iios_dev *dac)
{
	mutex_lock(&adc->gen_lock);
	mutex_lock_nested(&dac->gen_lock, SINGLE_DEPTH_NESTING);
	adc->lb_dac = NULL;
	dac->dac.lb_adc = NULL;
	mutex_unlock(&dac->gen_lock);
	mutex_unlock(&adc->gen_lock);
	put_device(&dac->dev);
	put_device(&adc->dev);
}

/*
 * At probe: ADC 0 and the DAC find each other, whichever comes first
 * (an unbound ADC can be bound again). The loopback attribute stays off.
 */
void iios_dac_link(struct iios_dev *sd)
{
	mutex_lock(&iios_link_lock);
	if (sd->output)
		iios_link_dac = sd;
	else
		iios_link_adc = sd;
	if (iios_link_adc && iios_link_dac)
		iios_dac_connect(iios_link_adc, iios_link_dac);
	mutex_unlock(&iios_link_lock);
}

/* At remove, before anything else: no-op for a device not linked. */
void iios_dac_unlink(struct iios_dev *sd)
{
	mutex_lock(&iios_link_lock);
	if (sd == iios_link_adc || sd == iios_link_dac) {
		if (iios_link_adc && iios_link_dac)
			iios_dac_disconnect(iios_link_adc, iios_link_dac);
		if (sd == iios_link_adc)
			iios_link_adc = NULL;
		else
			iios_link_dac = NULL;
	}
	mutex_unlock(&iios_link_lock);
}

/*
 * The DAC's `loopback` attribute. On: from the next scan the DAC plays,
 * the linked ADC's block path receives it. -ENODEV without a linked ADC
 * (unbound), -EINVAL when the two rates differ (there is one sample clock).
 */
int iios_dac_set_loopback(struct iios_dev *dac, bool on)
{
	struct iios_dev *adc;
	int ret = 0;

	mutex_lock(&iios_link_lock);
	adc = dac->dac.lb_adc;
	if (adc)
		mutex_lock(&adc->gen_lock);
	mutex_lock_nested(&dac->gen_lock, SINGLE_DEPTH_NESTING);
	if (dac->gone || (on && !adc)) {
		ret = -ENODEV;
	} else if (on && adc->rate != dac->rate) {
		ret = -EINVAL;
	} else {
		if (on && !dac->dac.loopback)
			iios_dac_layout_changed(dac);	/* nothing recorded yet */
		dac->dac.loopback = on;
	}
	mutex_unlock(&dac->gen_lock);
	if (adc)
		mutex_unlock(&adc->gen_lock);
	mutex_unlock(&iios_link_lock);
	return ret;
}

/* Caller holds @sd's gen_lock: a stream of @sd that the rate clocks is on. */
static bool iios_dac_rate_busy(const struct iios_dev *sd)
{
	return sd->blk_stream.on || sd->fifo_stream.on;
}

/*
 * sampling_frequency of either device. While the loopback is on, the ADC
 * and the DAC share one sample clock: a write to either sets both, and
 * -EBUSY if either streams. Otherwise only @sd, -EBUSY if it streams.
 */
int iios_dac_set_rate(struct iios_dev *sd, u32 rate)
{
	struct iios_dev *adc, *dac;
	bool coupled;
	int ret = 0;

	mutex_lock(&iios_link_lock);
	adc = sd->output ? sd->dac.lb_adc : sd;
	dac = sd->output ? sd : sd->lb_dac;
	if (adc)
		mutex_lock(&adc->gen_lock);
	if (dac)
		mutex_lock_nested(&dac->gen_lock, adc ? SINGLE_DEPTH_NESTING : 0);
	coupled = adc && dac && dac->dac.loopback;
	if (iios_dac_rate_busy(sd) || (coupled && (iios_dac_rate_busy(adc) ||
						   iios_dac_rate_busy(dac)))) {
		ret = -EBUSY;
	} else {
		sd->rate = rate;
		if (coupled)
			adc->rate = dac->rate = rate;
	}
	if (dac)
		mutex_unlock(&dac->gen_lock);
	if (adc)
		mutex_unlock(&adc->gen_lock);
	mutex_unlock(&iios_link_lock);
	return ret;
}
