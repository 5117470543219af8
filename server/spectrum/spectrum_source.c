// SPDX-License-Identifier: MIT
/* A spectrum source, a fan-out subscriber that keeps no block: see
 * spectrum_source.h. */
#include "spectrum_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container_of.h"

static struct spectrum_source *to_src(const struct subscriber *sub)
{
	return container_of(sub, struct spectrum_source, sub);
}

static uint64_t interval_ns(uint32_t fps)
{
	return 1000000000ull / (fps ? fps : 1);
}

static uint32_t clamp_fps(uint32_t fps)
{
	if (fps < 1)
		return 1;
	return fps > SPECTRUM_FPS_MAX ? SPECTRUM_FPS_MAX : fps;
}

static void on_compute(uv_timer_t *t);

/* ---- the subscriber ------------------------------------------------------- */

/* Copy what the frame still needs out of b; the block is not kept. */
static void copy_scans(struct spectrum_source *s, const struct pool_block *b, uint32_t scans)
{
	uint32_t need = s->fft.samples - s->have;
	uint32_t take = scans < need ? scans : need;
	float *in = spectrum_fft_input(&s->fft) + (size_t)s->have * (s->rd.complex ? 2 : 1);

	if (s->have == 0) {
		/* on schedule: this frame is the one due at next_take, so the
		 * frames keep the rate on average whatever the blocks' period;
		 * behind by a whole interval (or the first): due now */
		bool on_time = s->next_take_ns &&
			       b->dequeue_ns - s->next_take_ns < interval_ns(s->fps);

		s->frame_due_ns = on_time ? s->next_take_ns : b->dequeue_ns;
		s->frame_ts = b->timestamp_ns;
		s->frame_first = b->first_sample;
	}
	spectrum_reader_read(&s->rd, b->data, take, in);
	s->have += take;
	s->next_scan = b->first_sample + take;
	s->blocks_copied++;
}

/* SUB_TAKEN when samples were copied out of b (no reference is kept
 * either way), SUB_PASS when the block was not needed: never a loss. */
static enum sub_offer spectrum_offer(struct subscriber *sub, struct pool_block *b)
{
	struct spectrum_source *s = to_src(sub);
	uint32_t scans;

	if (s->state == SPECTRUM_READY)
		return SUB_PASS; /* the frame before waits for its FFT */
	if (s->state == SPECTRUM_WAITING && b->dequeue_ns < s->next_take_ns)
		return SUB_PASS; /* within the frame interval */
	if (s->fo->pool->scan_bytes != s->rd.scan_bytes)
		return SUB_PASS; /* not the capture it was made for (cannot happen
		                  * while subscribed: the capture is fixed then) */
	scans = b->bytes_used / s->rd.scan_bytes;
	if (!scans)
		return SUB_PASS;
	if (s->state == SPECTRUM_FILLING && b->first_sample != s->next_scan) {
		s->restarts++; /* scans missing in between: begin again here */
		s->have = 0;
	}
	copy_scans(s, b, scans);
	if (s->have < s->fft.samples) {
		s->state = SPECTRUM_FILLING;
		return SUB_TAKEN;
	}
	s->state = SPECTRUM_READY;
	uv_timer_start(&s->compute, on_compute, 0, 0);
	return SUB_TAKEN;
}

static uint32_t spectrum_held(const struct subscriber *sub)
{
	(void)sub;
	return 0; /* nothing kept past offer() */
}

static uint32_t spectrum_droppable(const struct subscriber *sub)
{
	(void)sub;
	return 0;
}

static void spectrum_drop_oldest(struct subscriber *sub)
{
	(void)sub; /* never called: droppable() is 0 */
}

static const struct subscriber_ops spectrum_sub_ops = {
	.offer = spectrum_offer,
	.held = spectrum_held,
	.droppable = spectrum_droppable,
	.drop_oldest = spectrum_drop_oldest,
};

/* ---- frames to viewers ----------------------------------------------------- */

static void fill_header(const struct spectrum_source *s, const struct spectrum_peak *pk,
			struct spectrum_frame_header *h)
{
	double fs = (double)s->fmt->sample_rate;
	bool cplx = s->rd.complex;

	memset(h, 0, sizeof(*h));
	h->bins = s->key.bins;
	h->flags = cplx ? SPECTRUM_FRAME_COMPLEX : 0;
	h->sample_rate = fs;
	if (fs == 0)
		fs = 1; /* unpaced: cycles per scan */
	h->span_hz = cplx ? fs : fs / 2;
	h->centre_hz = cplx ? 0 : fs / 4;
	h->timestamp_ns = s->frame_ts;
	h->first_sample = s->frame_first;
	h->sequence = s->frames;
	h->peak_bin = pk->bin;
	h->peak_dbfs = pk->dbfs;
	h->channel_i = (uint16_t)s->key.ch_i;
	h->channel_q = cplx ? (uint16_t)s->key.ch_q : SPECTRUM_FRAME_NO_CHANNEL;
}

/* A viewer is due a frame at its own rate, on the frames' schedule (their
 * due times, not the blocks' arrival): at 10/s beside a 25/s one it gets
 * the frames due at 0, 120, 200, 320, 400 ms... */
static void deliver(struct spectrum_source *s, struct spectrum_viewer *v, size_t len)
{
	uint64_t iv = interval_ns(v->fps);
	int err;

	if (v->sent_any && s->frame_due_ns < v->next_due_ns)
		return; /* not due */
	spectrum_frame_set_skipped(s->frame, v->frames_skipped);
	err = v->ops->send(v, s->frame, len);
	if (err == -EAGAIN) {
		v->frames_skipped++; /* slow: it gets the next one instead */
		return;
	}
	if (err)
		return; /* going: its owner detaches it */
	v->frames_sent++;
	v->next_due_ns = v->sent_any ? v->next_due_ns + iv : s->frame_due_ns + iv;
	if (v->next_due_ns <= s->frame_due_ns) /* behind: no burst to catch up */
		v->next_due_ns = s->frame_due_ns + iv;
	v->sent_any = true;
}

static void on_compute(uv_timer_t *t)
{
	struct spectrum_source *s = t->data;
	struct spectrum_frame_header h;
	struct spectrum_viewer *v;
	struct spectrum_peak pk;
	size_t len;

	if (s->state != SPECTRUM_READY)
		return;
	spectrum_fft_run(&s->fft, s->db, &pk);
	s->frames++;
	fill_header(s, &pk, &h);
	len = spectrum_frame_encode(&h, s->db, s->frame, SPECTRUM_FRAME_MAX);
	s->state = SPECTRUM_WAITING;
	s->have = 0;
	s->next_take_ns = s->frame_due_ns + interval_ns(s->fps);
	TAILQ_FOREACH(v, &s->viewers, link)
		deliver(s, v, len);
}

/* ---- viewers, life cycle --------------------------------------------------- */

static void update_fps(struct spectrum_source *s)
{
	struct spectrum_viewer *v;
	uint32_t fps = 0;

	TAILQ_FOREACH(v, &s->viewers, link)
		if (v->fps > fps)
			fps = v->fps;
	s->fps = fps;
}

void spectrum_source_attach(struct spectrum_source *s, struct spectrum_viewer *v)
{
	v->fps = clamp_fps(v->fps);
	v->src = s;
	v->sent_any = false;
	TAILQ_INSERT_TAIL(&s->viewers, v, link);
	s->nviewers++;
	update_fps(s);
	if (s->nviewers == 1) {
		s->state = SPECTRUM_WAITING;
		s->next_take_ns = 0;
		fanout_subscribe(s->fo, &s->sub, fanout_queue_bound(s->fo, 1));
	}
}

uint32_t spectrum_source_detach(struct spectrum_viewer *v)
{
	struct spectrum_source *s = v->src;

	if (!s)
		return 0;
	TAILQ_REMOVE(&s->viewers, v, link);
	v->src = NULL;
	s->nviewers--;
	update_fps(s);
	if (s->nviewers == 0) {
		fanout_unsubscribe(s->fo, &s->sub);
		uv_timer_stop(&s->compute);
		s->state = SPECTRUM_WAITING;
		s->have = 0;
	}
	return s->nviewers;
}

void spectrum_viewer_set_fps(struct spectrum_viewer *v, uint32_t fps)
{
	v->fps = clamp_fps(fps);
	if (v->src)
		update_fps(v->src);
}

int spectrum_source_open(uv_loop_t *loop, struct fanout *fo, const struct source_format *fmt,
			 const struct spectrum_key *key, struct spectrum_source **out, char *err,
			 size_t errlen)
{
	struct spectrum_source *s;
	int ret;

	if (!spectrum_bins_valid(key->bins)) {
		snprintf(err, errlen, "bins %u: 1024, 2048 or 4096", key->bins);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto err_nomem;
	ret = spectrum_reader_init(&s->rd, fmt, key->ch_i, key->ch_q, err, errlen);
	if (ret)
		goto err_free;
	ret = spectrum_fft_init(&s->fft, s->rd.complex ? SPECTRUM_COMPLEX : SPECTRUM_REAL,
				key->bins);
	if (ret)
		goto err_free;
	s->db = malloc(sizeof(float) * key->bins);
	s->frame = malloc(SPECTRUM_FRAME_MAX);
	if (!s->db || !s->frame) {
		ret = -ENOMEM;
		goto err_fft;
	}
	s->sub.ops = &spectrum_sub_ops;
	s->key = *key;
	s->fo = fo;
	s->fmt = fmt;
	TAILQ_INIT(&s->viewers);
	uv_timer_init(loop, &s->compute);
	s->compute.data = s;
	*out = s;
	return 0;

err_fft:
	spectrum_fft_free(&s->fft);
err_free:
	free(s->frame);
	free(s->db);
	free(s);
	if (ret != -ENOMEM)
		return ret;
err_nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static void on_closed(uv_handle_t *h)
{
	struct spectrum_source *s = h->data;

	free(s->frame);
	free(s->db);
	free(s);
}

void spectrum_source_close(struct spectrum_source *s)
{
	if (s->closing)
		return;
	s->closing = true;
	fanout_unsubscribe(s->fo, &s->sub); /* no-op unless a viewer was left */
	spectrum_fft_free(&s->fft);
	uv_close((uv_handle_t *)&s->compute, on_closed);
}
