// SPDX-License-Identifier: GPL-2.0-only
/*
 * iios_gen.c - the converters' clock: a kernel thread paced by an hrtimer
 * sleep, and the simulated ADC's capture tick
 *
 * sim: a real ADC clocks samples into a FIFO that a DMA engine drains into
 * the active block. Here one kthread per device wakes every tick (an
 * hrtimer-backed sleep), works out how many scans are due since capture
 * was enabled from CLOCK_MONOTONIC (drift-free, like vivid's generator:
 * a late tick produces more scans, never fewer in total), and writes them
 * to each consumer that is on: the block queue and the IIO kfifo.
 *
 * Each consumer numbers its scans from 0 at its own enable, and the
 * timestamp of scan n is t0 + n / rate: the ideal capture time, so
 * consecutive block timestamps tell exactly how many scans lie between.
 *
 * A DAC (dac=1) runs the same thread and clock; its tick plays scans
 * instead (iios_dac.c).
 */
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/timekeeping.h>

#include "iios_sim.h"

#define IIOS_TICK_NS	(1 * NSEC_PER_MSEC)
#define IIOS_TICK_SLACK	(100 * NSEC_PER_USEC)
/*
 * A thread that fell further behind than fifo_ms (the guest was
 * descheduled, a fill was slow) drops the excess as an overflow instead of
 * bursting: sim: a hardware FIFO of that depth would have overflowed too.
 */

/* t0 + scan / rate in ns, without overflow for any u32 rate. */
u64 iios_gen_scan_time(const struct iios_stream *st, u32 rate, u64 scan)
{
	u32 rem;
	u64 secs = div_u64_rem(scan, rate, &rem);

	return st->t0_ns + secs * NSEC_PER_SEC + div_u64((u64)rem * NSEC_PER_SEC, rate);
}

/* Scans captured from @t0 (scan 0) up to and including @now. */
u64 iios_gen_scans_since(u64 t0, u64 now, u32 rate)
{
	u32 rem;
	u64 secs;

	if (now < t0)
		return 0;
	secs = div_u64_rem(now - t0, NSEC_PER_SEC, &rem);
	return secs * rate + div_u64((u64)rem * rate, NSEC_PER_SEC) + 1;
}

/* How many scans a consumer owes, after dropping what is too late. */
static u64 iios_gen_due(struct iios_dev *sd, struct iios_stream *st, u64 now, u64 *late)
{
	u64 due = iios_gen_scans_since(st->t0_ns, now, sd->rate) - st->next_scan;
	u64 max_lag = div_u64((u64)sd->rate * iios_param_fifo_ms, MSEC_PER_SEC) + 1;

	*late = 0;
	if (due > max_lag) {
		*late = due - max_lag;
		due = max_lag;
	}
	return due;
}

static void iios_gen_tick(struct iios_dev *sd)
{
	u64 now = ktime_get_ns();
	u64 due, late;

	mutex_lock(&sd->gen_lock);
	if (sd->output) {
		iios_dac_tick(sd, now);
		if (sd->fifo_stream.on) {	/* the kfifo path plays what was written */
			due = iios_gen_due(sd, &sd->fifo_stream, now, &late);
			sd->fifo_lost += late;
			sd->fifo_stream.next_scan += late + due;
			iios_iio_pop(sd, due);
		}
		mutex_unlock(&sd->gen_lock);
		return;
	}
	if (sd->blk_stream.on) {
		due = iios_gen_due(sd, &sd->blk_stream, now, &late);
		if (late) {
			/* counted like any overflow, flagged on the next block */
			if (!sd->overflow_pending)
				sd->overflows++;
			sd->overflow_pending = true;
			sd->lost_samples += late;
			sd->blk_stream.next_scan += late;
			iios_blockq_flush_active(sd);	/* the gap starts a new block */
		}
		iios_blockq_produce(sd, due);
	}
	if (sd->fifo_stream.on) {
		due = iios_gen_due(sd, &sd->fifo_stream, now, &late);
		sd->fifo_lost += late;
		sd->fifo_stream.next_scan += late;
		iios_iio_push(sd, sd->fifo_stream.next_scan, due);
		sd->fifo_stream.next_scan += due;
	}
	mutex_unlock(&sd->gen_lock);
}

static bool iios_gen_any_on(struct iios_dev *sd)
{
	return READ_ONCE(sd->blk_stream.on) || READ_ONCE(sd->fifo_stream.on);
}

static int iios_gen_thread(void *data)
{
	struct iios_dev *sd = data;

	while (!kthread_should_stop()) {
		ktime_t wake;

		wait_event_interruptible(sd->gen_wq, iios_gen_any_on(sd) || kthread_should_stop());
		if (kthread_should_stop())
			break;
		wake = ktime_add_ns(ktime_get(), IIOS_TICK_NS);
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule_hrtimeout_range(&wake, IIOS_TICK_SLACK, HRTIMER_MODE_ABS);
		__set_current_state(TASK_RUNNING);
		iios_gen_tick(sd);
	}
	return 0;
}

int iios_gen_start(struct iios_dev *sd)
{
	struct task_struct *t;

	t = kthread_run(iios_gen_thread, sd, sd->output ? "iios-dac/%d" : "iios-gen/%d",
			sd->minor);
	if (IS_ERR(t))
		return PTR_ERR(t);
	sd->gen_task = t;
	return 0;
}

/* Every consumer is off by now (remove() disabled them). */
void iios_gen_stop(struct iios_dev *sd)
{
	if (sd->gen_task)
		kthread_stop(sd->gen_task);
	sd->gen_task = NULL;
}

/* Caller holds gen_lock. Scan 0 of @st is captured (played) now. */
int iios_gen_enable(struct iios_dev *sd, struct iios_stream *st)
{
	if (st->on)
		return 0;
	/* a DAC plays one path at a time: blocks or the kfifo */
	if (sd->output && (st == &sd->blk_stream ? sd->fifo_stream.on : sd->blk_stream.on))
		return -EBUSY;
	st->t0_ns = ktime_get_ns();
	st->next_scan = 0;
	if (st == &sd->blk_stream && sd->output)
		iios_dac_enable(sd);
	else if (st == &sd->blk_stream)
		sd->overflow_pending = false;
	WRITE_ONCE(st->on, true);
	wake_up(&sd->gen_wq);
	return 0;
}

/* Caller holds gen_lock. The block being filled (played) goes out with
 * what it has. */
void iios_gen_disable(struct iios_dev *sd, struct iios_stream *st)
{
	if (!st->on)
		return;
	if (st == &sd->blk_stream && sd->output)
		iios_dac_disable(sd);
	else if (st == &sd->blk_stream)
		iios_blockq_flush_active(sd);
	WRITE_ONCE(st->on, false);
}
