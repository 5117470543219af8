// SPDX-License-Identifier: MIT
/* The session's subscriptions as subscribers of their streams' fan-outs
 * (subscriber.h): offered blocks go into its one send queue
 * (send_queue.h), each frame with a pool reference of its own and the
 * cursor of its subscription, so each subscription's bound counts its own
 * blocks and each stream's headers count losses within that stream. */
#include "session_internal.h"

#include <stddef.h>

#include "container_of.h"
#include "server.h"

static struct session_sub *to_sub(const struct subscriber *sub)
{
	return container_of(sub, struct session_sub, sub);
}

static enum sub_offer session_offer(struct subscriber *sub, struct pool_block *b)
{
	struct session_sub *ss = to_sub(sub);
	struct session *s = ss->s;

	if (s->state != SESSION_READY)
		return SUB_PASS;
	if (tx_push_block(&s->tx, b, &ss->cur))
		return SUB_SKIPPED;
	session__flush_or_close(s);
	return SUB_TAKEN;
}

static uint32_t session_held(const struct subscriber *sub)
{
	return stream_cursor_blocks(&to_sub(sub)->cur);
}

static uint32_t session_droppable(const struct subscriber *sub)
{
	const struct session_sub *ss = to_sub(sub);

	return send_queue_droppable(&ss->s->tx.q, &ss->cur);
}

static void session_drop_oldest(struct subscriber *sub)
{
	struct session_sub *ss = to_sub(sub);

	send_queue_drop_oldest(&ss->s->tx.q, &ss->cur);
}

static const struct subscriber_ops session_sub_ops = {
	.offer = session_offer,
	.held = session_held,
	.droppable = session_droppable,
	.drop_oldest = session_drop_oldest,
};

struct session_sub *session_find_sub(struct session *s, const struct device_stream *ds)
{
	uint32_t i;

	for (i = 0; i < SESSION_MAX_SUBS; i++)
		if (s->subs[i].ds == ds)
			return &s->subs[i];
	return NULL;
}

/* A free slot, one whose earlier frames are all gone if there is one (a
 * cursor counts its frames still pinned against the next subscription). */
static struct session_sub *free_slot(struct session *s)
{
	struct session_sub *any = NULL;
	uint32_t i;

	for (i = 0; i < SESSION_MAX_SUBS; i++) {
		struct session_sub *ss = &s->subs[i];

		if (ss->ds)
			continue;
		if (!stream_cursor_blocks(&ss->cur))
			return ss;
		if (!any)
			any = ss;
	}
	return any;
}

struct session_sub *session_subscribe(struct session *s, struct device_stream *ds,
				      uint32_t max_queue)
{
	struct session_sub *ss = free_slot(s);

	if (!ss)
		return NULL;
	ss->s = s;
	ss->ds = ds;
	ss->sub.ops = &session_sub_ops;
	stream_cursor_restart(&ss->cur, ds->id, ds->fmt.scan_bytes);
	ss->cur.stats = &ds->sent;
	s->nsubs++;
	fanout_subscribe(&ds->fanout, &ss->sub, max_queue);
	return ss;
}

static void leave(struct session *s, struct session_sub *ss)
{
	/* Frames not started are dropped; a started one finishes, so that the
	 * byte stream stays framed. */
	send_queue_drop_unsent(&s->tx.q, &ss->cur);
	fanout_unsubscribe(&ss->ds->fanout, &ss->sub);
	ss->ds = NULL;
	s->nsubs--;
}

void session_unsubscribe(struct session *s, const struct device_stream *ds)
{
	uint32_t i;

	for (i = 0; i < SESSION_MAX_SUBS; i++)
		if (s->subs[i].ds && (!ds || s->subs[i].ds == ds))
			leave(s, &s->subs[i]);
}

uint64_t session_blocks_skipped(const struct session *s)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < SESSION_MAX_SUBS; i++)
		n += s->subs[i].sub.blocks_skipped;
	return n;
}
