// SPDX-License-Identifier: MIT
/* The session as a subscriber of the fan-out (subscriber.h): offered
 * blocks go into its send queue (send_queue.h), each frame with a pool
 * reference of its own. */
#include "session_internal.h"

#include <stddef.h>

#include "container_of.h"
#include "server.h"

static struct session *sub_session(const struct subscriber *sub)
{
	return container_of(sub, struct session, sub);
}

static enum sub_offer session_offer(struct subscriber *sub, struct pool_block *b)
{
	struct session *s = sub_session(sub);

	if (s->state != SESSION_READY)
		return SUB_PASS;
	if (tx_push_block(&s->tx, b))
		return SUB_SKIPPED;
	session__flush_or_close(s);
	return SUB_TAKEN;
}

static uint32_t session_held(const struct subscriber *sub)
{
	return send_queue_blocks(&sub_session(sub)->tx.q);
}

static uint32_t session_droppable(const struct subscriber *sub)
{
	return send_queue_droppable(&sub_session(sub)->tx.q);
}

static void session_drop_oldest(struct subscriber *sub)
{
	send_queue_drop_oldest(&sub_session(sub)->tx.q);
}

static const struct subscriber_ops session_sub_ops = {
	.offer = session_offer,
	.held = session_held,
	.droppable = session_droppable,
	.drop_oldest = session_drop_oldest,
};

void session_subscribe(struct session *s, uint32_t max_queue)
{
	s->sub.ops = &session_sub_ops;
	send_queue_restart_stream(&s->tx.q, s->srv->fmt.scan_bytes);
	fanout_subscribe(&s->srv->fanout, &s->sub, max_queue);
}

void session_unsubscribe(struct session *s)
{
	if (!s->sub.subscribed)
		return;
	/* Frames not started are dropped; a started one finishes, so that the
	 * byte stream stays framed. */
	send_queue_drop_unsent(&s->tx.q);
	fanout_unsubscribe(&s->srv->fanout, &s->sub);
}
