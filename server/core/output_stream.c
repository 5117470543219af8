// SPDX-License-Identifier: MIT
/* One output device and its transmission: ring, credits, owner, underflow
 * reports. See output_stream.h. */
#include "output_stream.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"

static void report(struct output_stream *os, bool drained);
static void on_status_timer(uv_timer_t *t);

/* The device is dry and nothing more is coming from the owner: the end of
 * a drain, not an underflow. Forget the dry spell the source is counting
 * now (it began after the last block played), so no one is told of it. */
static void forgive_final_dry_spell(struct output_stream *os)
{
	struct source_counters c;

	os->src->ops->counters(os->src, &c);
	if (!c.underflowing || c.underflows == os->uf_seen)
		return;
	os->uf_seen++;
	if (c.played_samples > c.underflow_at)
		os->uf_samples_seen += c.played_samples - c.underflow_at;
}

static void device_start(struct output_stream *os)
{
	int err;

	if (os->playing)
		return;
	err = os->src->ops->enable(os->src);
	if (err) {
		log_error("%s: enable failed: %s", os->fmt.device, strerror(-err));
		return;
	}
	os->playing = true;
	uv_timer_start(&os->status_timer, on_status_timer, OUTPUT_STATUS_INTERVAL_MS,
		       OUTPUT_STATUS_INTERVAL_MS);
	log_info("%s: playing", os->fmt.device);
	server_status_changed(os->srv);
}

/* Stop the device: every queued block comes back DONE (the poll returns
 * them to FREE). */
static void device_stop(struct output_stream *os, const char *why)
{
	if (!os->playing) {
		/* queued below the prefill, never started: they come back
		 * unplayed (an output device's disable empties its queue) */
		if (os->in_device)
			os->src->ops->disable(os->src);
		return;
	}
	os->src->ops->disable(os->src);
	os->playing = false;
	os->kept = false;
	os->draining = false;
	os->cyclic_now = false;
	uv_timer_stop(&os->status_timer);
	log_info("%s: stopped: %s", os->fmt.device, why);
	server_status_changed(os->srv);
}

/* Take every played block back; new credits for the owner. */
static uint32_t take_back_played(struct output_stream *os)
{
	struct source_block blk;
	uint32_t n = 0;

	while (os->src->ops->dequeue(os->src, &blk) == 0) {
		struct output_block *b;

		if (blk.id >= os->count || os->blocks[blk.id].state != OUTPUT_BLOCK_IN_DEVICE) {
			log_error("%s: the device returned block %u it did not hold", os->fmt.device,
				  blk.id);
			continue;
		}
		b = &os->blocks[blk.id];
		b->state = OUTPUT_BLOCK_FREE;
		os->nfree++;
		os->in_device--;
		os->blocks_played++;
		os->bytes_played += blk.bytes_used;
		n++;
		if (os->owner)
			os->st.credits++; /* a free block: the owner's to fill */
		if (os->owner && b->owner_gen == os->gen) {
			os->st.blocks_played++;
			os->st.samples_played += b->scans;
			if (blk.flags & SOURCE_BLOCK_UNDERFLOW)
				os->st.underflow_position = b->owner_first;
		}
	}
	return n;
}

/* The owner's scan index of the first scan the device still holds
 * (queued, not played): its next scan when it holds none. */
static uint64_t owner_queued_from(const struct output_stream *os)
{
	uint64_t from = os->owner_next_scan;
	uint32_t i;

	for (i = 0; i < os->count; i++) {
		const struct output_block *b = &os->blocks[i];

		if (b->state == OUTPUT_BLOCK_IN_DEVICE && b->owner_gen == os->gen &&
		    b->owner_first < from)
			from = b->owner_first;
	}
	return from;
}

/* Fold the source's underflow counters into the owner's status and the
 * totals; true if they grew. */
static bool note_underflows(struct output_stream *os)
{
	struct source_counters c;
	uint64_t events, samples;

	os->src->ops->counters(os->src, &c);
	events = c.underflows - os->uf_seen;
	samples = c.underflow_samples - os->uf_samples_seen;
	os->uf_seen = c.underflows;
	os->uf_samples_seen = c.underflow_samples;
	os->underflows_total += events;
	os->underflow_samples_total += samples;
	os->st.underflows += events;
	os->st.underflow_samples += samples;
	if (events) {
		if (c.underflowing)
			/* dry now: the silence comes after the owner's scans
			 * played so far, before its oldest block still queued */
			os->st.underflow_position = owner_queued_from(os);
		log_warn("%s: underflow: the device ran dry (%" PRIu64 " so far)%s%s",
			 os->fmt.device, os->underflows_total, os->owner ? ", owner " : "",
			 os->owner ? os->owner->who : "");
	}
	return events || samples;
}

static void on_played(uv_poll_t *h, int status, int events)
{
	struct output_stream *os = h->data;
	uint32_t n;
	bool fresh;

	(void)events;
	if (status < 0) {
		log_error("%s: device poll: %s", os->fmt.device, uv_strerror(status));
		return;
	}
	n = take_back_played(os);
	if (!n)
		return;
	if (os->in_device == 0 && (os->draining || (os->kept && !os->cyclic_now))) {
		/* the drain is over: the dry spell now is the end, not a gap */
		forgive_final_dry_spell(os);
		note_underflows(os);
		device_stop(os, os->owner ? "drained" : "queue played after its owner left");
		report(os, true);
		return;
	}
	fresh = note_underflows(os);
	if (n || fresh)
		report(os, false);
}

/* While playing: underflows the owner must hear of even when it sends
 * nothing (no block comes back while the device is dry). */
static void on_status_timer(uv_timer_t *t)
{
	struct output_stream *os = t->data;

	/* blocks played since the poll last ran first: a drain that has just
	 * ended runs dry, and that is its end, not an underflow */
	on_played(&os->src_poll, 0, UV_READABLE);
	if (!os->playing)
		return;
	if (note_underflows(os))
		report(os, false);
}

/* Tell the owner; a finished drain also releases it. */
static void report(struct output_stream *os, bool drained)
{
	struct output_owner *o = os->owner;

	os->st.blocks_queued = os->in_device;
	if (!o)
		return;
	if (drained)
		os->owner = NULL;
	o->ops->status(o, &os->st, drained);
}

/* The id DeviceDesc and the iiod port give it: "sim-dac" beside "sim",
 * else the IIO id. */
static void name_device(struct output_stream *os, const char *adc_id)
{
	if (os->fmt.iio_id)
		snprintf(os->device_id, sizeof(os->device_id), "%s", os->fmt.iio_id);
	else
		snprintf(os->device_id, sizeof(os->device_id), "%.27s-dac", adc_id);
}

static int alloc_ring(struct output_stream *os, uint32_t size, uint32_t count)
{
	uint32_t first = 0, i;
	int got = os->src->ops->alloc(os->src, size, count, &first);

	if (got < 0)
		return got;
	if (got > 0)
		count = (uint32_t)got;
	os->blocks = calloc(count, sizeof(*os->blocks));
	if (!os->blocks) {
		os->src->ops->free(os->src);
		return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		struct source_block blk = { .id = first + i };
		void *addr;
		int err = os->src->ops->query(os->src, &blk);

		if (!err)
			err = os->src->ops->map(os->src, blk.id, &addr);
		if (err) {
			free(os->blocks);
			os->blocks = NULL;
			os->src->ops->free(os->src);
			return err;
		}
		os->blocks[i] = (struct output_block){ .id = blk.id, .data = addr };
	}
	os->count = count;
	os->nfree = count;
	os->block_size = size;
	return 0;
}

int output_stream_open(struct output_stream *os, struct server *srv, uint32_t id,
		       const struct source_ops *ops, const struct source_config *cfg,
		       const char *adc_id, uint32_t block_size, uint32_t count)
{
	int err;

	memset(os, 0, sizeof(*os));
	os->srv = srv;
	os->id = id;
	err = ops->open(&os->src, srv->loop, cfg);
	if (err) {
		log_error("output %s: %s", ops->name, strerror(-err));
		return err;
	}
	os->src->ops->format(os->src, &os->fmt);
	name_device(os, adc_id);
	block_size -= block_size % os->fmt.scan_bytes;
	err = block_size ? alloc_ring(os, block_size, count) : -EINVAL;
	if (err) {
		log_error("%s: cannot set up %u blocks of %u bytes: %s", os->fmt.device, count,
			  block_size, strerror(-err));
		os->src->ops->close(os->src);
		return err;
	}
	uv_poll_init(srv->loop, &os->src_poll, os->src->ops->fd_to_poll(os->src));
	os->src_poll.data = os;
	uv_poll_start(&os->src_poll, UV_READABLE, on_played);
	uv_timer_init(srv->loop, &os->status_timer);
	os->status_timer.data = os;
	os->open = true;
	return 0;
}

int output_stream_claim(struct output_stream *os, struct output_owner *o, uint32_t prefill,
			enum output_on_disconnect on_disconnect, char *why, size_t whylen)
{
	if (os->owner && os->owner != o) {
		snprintf(why, whylen, "%s (%s) is being transmitted to by %s", os->fmt.device,
			 os->device_id, os->owner->who);
		return -EBUSY;
	}
	if (os->owner == o) {
		snprintf(why, whylen, "this connection transmits to %s already", os->device_id);
		return -EALREADY;
	}
	os->owner = o;
	os->gen++;
	output_stream_refresh_format(os); /* TxStartReply's rate is the one now */
	os->on_disconnect = on_disconnect;
	os->prefill = prefill ? prefill : os->count / 2;
	if (os->prefill < 1)
		os->prefill = 1;
	if (os->prefill > os->count)
		os->prefill = os->count;
	os->draining = false;
	os->kept = false;
	os->owner_next_scan = 0;
	note_underflows(os); /* what came before is not the new owner's */
	memset(&os->st, 0, sizeof(os->st));
	os->st.credits = os->nfree; /* a kept block's return adds one later */
	log_info("%s: transmission by %s%s", os->fmt.device, o->who,
		 on_disconnect == OUTPUT_KEEP ? " (keeps playing when it leaves)" : "");
	return 0;
}

struct output_block *output_stream_take(struct output_stream *os, struct output_owner *o)
{
	uint32_t i;

	if (os->owner != o || os->draining)
		return NULL;
	for (i = 0; i < os->count; i++)
		if (os->blocks[i].state == OUTPUT_BLOCK_FREE) {
			os->blocks[i].state = OUTPUT_BLOCK_FILLING;
			os->nfree--;
			return &os->blocks[i];
		}
	return NULL;
}

void output_stream_put_back(struct output_stream *os, struct output_block *b)
{
	if (b->state != OUTPUT_BLOCK_FILLING)
		return;
	b->state = OUTPUT_BLOCK_FREE;
	os->nfree++;
}

int output_stream_submit(struct output_stream *os, struct output_owner *o,
			 struct output_block *b, uint32_t bytes_used, uint32_t flags)
{
	struct source_block blk = { .id = b->id, .bytes_used = bytes_used };
	int err;

	if (os->owner != o || b->state != OUTPUT_BLOCK_FILLING)
		return -EINVAL;
	if (!bytes_used || bytes_used > os->block_size || bytes_used % os->fmt.scan_bytes) {
		output_stream_put_back(os, b);
		os->st.credits++; /* it never went to the device */
		return -EINVAL;
	}
	blk.flags = flags & SOURCE_BLOCK_CYCLIC;
	err = os->src->ops->enqueue(os->src, &blk);
	if (err) {
		log_error("%s: enqueue of block %u: %s", os->fmt.device, b->id, strerror(-err));
		output_stream_put_back(os, b);
		os->st.credits++;
		return err;
	}
	b->state = OUTPUT_BLOCK_IN_DEVICE;
	b->scans = bytes_used / os->fmt.scan_bytes;
	b->owner_first = os->owner_next_scan;
	b->owner_gen = os->gen;
	os->owner_next_scan += b->scans;
	os->in_device++;
	os->blocks_received++;
	os->cyclic_now = blk.flags != 0;
	if (os->cyclic_now || os->in_device >= os->prefill)
		device_start(os);
	return 0;
}

void output_stream_stop(struct output_stream *os, struct output_owner *o, bool drain)
{
	if (os->owner != o)
		return;
	if (drain && os->in_device && !os->cyclic_now) {
		os->draining = true;
		device_start(os); /* fewer blocks than the prefill: play them now */
		return;
	}
	/* a looping block has no end: it stops now, as without drain */
	device_stop(os, "stopped by its owner");
	take_back_played(os);
	note_underflows(os);
	report(os, true);
}

void output_stream_revoke(struct output_stream *os, const struct output_owner *o)
{
	if (os->owner == o)
		os->on_disconnect = OUTPUT_STOP;
}

void output_stream_release(struct output_stream *os, struct output_owner *o)
{
	if (os->owner != o)
		return;
	os->owner = NULL;
	if (os->on_disconnect == OUTPUT_KEEP && os->in_device) {
		/* a looping block loops on; queued blocks play out, then stop */
		os->kept = true;
		os->draining = false;
		device_start(os);
		log_info("%s: %s left; playing on (keep)", os->fmt.device, o->who);
		return;
	}
	device_stop(os, "its owner left");
	take_back_played(os);
}

void output_stream_refresh_format(struct output_stream *os)
{
	os->src->ops->format(os->src, &os->fmt);
}

void output_stream_status(const struct output_stream *os, struct output_status *st)
{
	*st = os->st;
	st->blocks_queued = os->in_device;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct output_stream *os = h->data;

	if (--os->open_handles == 0)
		server_output_closed(os->srv);
}

void output_stream_close(struct output_stream *os)
{
	struct output_owner *o = os->owner;
	uint32_t i;

	if (!os->open)
		return;
	if (o) {
		os->owner = NULL;
		o->ops->ended(o, -ESHUTDOWN, "the server is shutting down");
	}
	device_stop(os, "the server is closing");
	take_back_played(os);
	for (i = 0; i < os->count; i++)
		output_stream_put_back(os, &os->blocks[i]);
	log_info("%s: closed: %" PRIu64 " blocks received, %" PRIu64 " played, %" PRIu64
		 " underflows, %u of %u blocks free",
		 os->fmt.device, os->blocks_received, os->blocks_played, os->underflows_total,
		 os->nfree, os->count);
	os->src->ops->free(os->src);
	free(os->blocks);
	os->blocks = NULL;
	os->open_handles = 2;
	uv_close((uv_handle_t *)&os->src_poll, on_handle_closed);
	uv_close((uv_handle_t *)&os->status_timer, on_handle_closed);
	os->src->ops->close(os->src);
	os->open = false;
}
