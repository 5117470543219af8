// SPDX-License-Identifier: MIT
/* Fan-out of filled blocks to subscribed clients: see fanout.h. */
#include "fanout.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "session.h"

/* Blocks the source should always have to fill: a quarter of the ring. */
static uint32_t source_reserve(const struct block_pool *pool)
{
	return pool->count / 4 ? pool->count / 4 : 1;
}

/* Take blocks back from the slowest clients until the source has its
 * reserve again, or nothing more can be taken. */
static void reclaim(struct server *srv)
{
	while (srv->pool.count - srv->pool.held < source_reserve(&srv->pool)) {
		struct session *s, *most = NULL;
		struct iiod_conn *iiod_most;
		uint32_t most_n = 0, iiod_n;

		TAILQ_FOREACH(s, &srv->sessions, link) {
			uint32_t n = session_droppable_blocks(s);

			if (n > most_n)
				most = s, most_n = n;
		}
		/* libiio clients (iiod.h) hold blocks the same way */
		iiod_most = iiod_most_droppable(&srv->iiod, &iiod_n);
		if (iiod_most && iiod_n > most_n) {
			if (!iiod_drop_oldest_block(iiod_most))
				return;
			continue;
		}
		if (!most || !session_drop_oldest_block(most))
			return;
	}
}

void fanout_drain_source(struct server *srv)
{
	for (;;) {
		struct pool_block *b;
		struct session *s, *next;
		int err = block_pool_dequeue(&srv->pool, &b);

		if (err == -EAGAIN)
			break;
		if (err) {
			log_error("source: dequeue failed: %s", strerror(-err));
			break;
		}
		/* A session may close while it is offered the block (send
		 * error), so walk with a saved next pointer. */
		for (s = TAILQ_FIRST(&srv->sessions); s; s = next) {
			next = TAILQ_NEXT(s, link);
			session_offer_block(s, b);
		}
		iiod_offer_block(&srv->iiod, b);
		block_pool_unref(b); /* the fan-out's own reference */
		reclaim(srv);
	}
}
