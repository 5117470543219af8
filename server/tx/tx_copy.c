// SPDX-License-Identifier: MIT
/*
 * copy: sendmsg() copies head and payload into the socket; a block may be
 * refilled as soon as the call returned. The same sendmsg() path serves
 * zerocopy (tx_zerocopy.c) and kTLS (tx_ktls.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/socket.h>

#include "clock.h"
#include "tx_internal.h"

void tx__taken(struct tx *t, size_t n)
{
	if (!n)
		return;
	t->last_tx_ns = monotonic_ns();
	send_queue_taken(&t->q, n);
}

/* One sendmsg() of the queue's front. Bytes taken, or -errno. With
 * zerocopy, MSG_ZEROCOPY on a batch carrying payload (control frames alone
 * are small: it would not pay), and a copy when the socket's optmem limit
 * for pinned pages says ENOBUFS. *zc: the send was zero-copy. */
static ssize_t send_batch(struct tx *t, bool zerocopy, bool *zc)
{
	struct iovec iov[SEND_BATCH_IOV];
	struct msghdr msg = { .msg_iov = iov };
	int flags = MSG_DONTWAIT | MSG_NOSIGNAL;
	size_t payload;
	ssize_t n;

	msg.msg_iovlen = (size_t)send_queue_gather(&t->q, iov, SEND_BATCH_IOV, SEND_BATCH_BYTES,
						   &payload);
	*zc = zerocopy && payload;
	n = sendmsg(t->fd, &msg, flags | (*zc ? MSG_ZEROCOPY : 0));
	if (n < 0 && errno == ENOBUFS && *zc) {
		t->zc_enobufs++;
		*zc = false;
		n = sendmsg(t->fd, &msg, flags);
	}
	return n < 0 ? -errno : n;
}

int tx__sendmsg(struct tx *t, bool zerocopy)
{
	while (!TAILQ_EMPTY(&t->q.outq)) {
		bool zc;
		ssize_t n = send_batch(t, zerocopy, &zc);

		if (n < 0) {
			int r = tx__send_failed((int)-n);

			if (r > 0)
				continue;
			return r;
		}
		/* Every frame this call touched now depends on its completion;
		 * a partial frame keeps its offset. */
		if (zc) {
			send_queue_mark_zc(&t->q, (size_t)n, t->zc_next++);
			t->zc_sends++;
		}
		tx__taken(t, (size_t)n);
	}
	return 0;
}

static int copy_send(struct tx *t)
{
	return tx__sendmsg(t, false);
}

const struct tx_ops tx_copy_ops = {
	.name = "copy",
	.send = copy_send,
};
