// SPDX-License-Identifier: MIT
/*
 * zerocopy: sendmsg(MSG_ZEROCOPY) straight from the mapped block (the copy
 * path of tx_copy.c with the flag). The kernel pins the pages and says on
 * the socket's error queue when it let go of them; a sent frame waits in
 * the queue's `pinned` list until then.
 *
 * auto's fallback: after ZC_AUTO_SAMPLE completions, a connection whose
 * zero-copy sends were all copied by the kernel anyway (loopback, a NIC
 * without scatter-gather) switches its ops, once, to tx_copied_ops: copy
 * sends, but completions of the zero-copy sends already made are still
 * read and release their frames.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <sys/socket.h>

#include "log.h"
#include "tx_internal.h"

#define ZC_AUTO_SAMPLE 32

static int zerocopy_send(struct tx *t)
{
	return tx__sendmsg(t, true);
}

static void zc_release(struct tx *t)
{
	send_queue_release(&t->q, t->zc.done, 0);
}

/* Completions of ids [lo, hi]: counted, then tracked (zc_tracker.c). */
static int zc_complete(struct tx *t, const struct zc_range *r)
{
	t->zc_completed += (uint32_t)(r->hi - r->lo) + 1;
	if (r->copied)
		t->zc_copied += (uint32_t)(r->hi - r->lo) + 1;
	return zc_tracker_complete(&t->zc, r);
}

static void zc_maybe_fall_back(struct tx *t)
{
	if (!t->auto_fallback || t->ops != &tx_zerocopy_ops || t->zc_completed < ZC_AUTO_SAMPLE ||
	    t->zc_copied < t->zc_completed)
		return;
	tx_set_ops(t, &tx_copied_ops);
	log_info("client %u (%s): the kernel copied all %" PRIu64
		 " zero-copy sends; using copy sends", t->id, t->peer, t->zc_completed);
}

/* POLLERR: drain the error queue. 0 if it held only zero-copy completions
 * and the socket is healthy, else a negative errno. */
static int zc_errqueue(struct tx *t)
{
	struct zc_range r[16];
	int n, i, err, soerr = 0;
	socklen_t len = sizeof(soerr);

	while ((n = zc_read_completions(t->fd, r, 16)) > 0)
		for (i = 0; i < n; i++)
			if ((err = zc_complete(t, &r[i])) != 0)
				return err;
	if (n != -EAGAIN)
		return n;
	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr)
		return -soerr;
	zc_release(t);
	zc_maybe_fall_back(t);
	return 0;
}

const struct tx_ops tx_zerocopy_ops = {
	.name = "zerocopy",
	.send = zerocopy_send,
	.errqueue = zc_errqueue,
	.release = zc_release,
};

static int copied_send(struct tx *t)
{
	return tx__sendmsg(t, false);
}

/* auto, after the kernel copied every zero-copy send: see above */
const struct tx_ops tx_copied_ops = {
	.name = "copied",
	.send = copied_send,
	.errqueue = zc_errqueue,
	.release = zc_release,
};
