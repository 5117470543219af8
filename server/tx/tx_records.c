// SPDX-License-Identifier: MIT
/*
 * tls: userspace TLS records (tls_tx.h). OpenSSL seals records from the
 * queued frames, heads and blocks alike, into the connection's send buffer,
 * which leaves in large send() calls. A block frame whose last byte OpenSSL
 * has taken is done: its block goes back at once (nothing is pinned).
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "tx_internal.h"

/* The plaintext of the next record: straight from the queue's front piece
 * when it fills a record alone, else the front pieces (a frame head and
 * the start of its block, or small control frames) gathered into `gather`,
 * so that a block's head does not cost a record of its own. */
static size_t next_record(struct tx *t, uint8_t *gather, const uint8_t **data)
{
	size_t len = 0;
	struct out_frame *f;

	TAILQ_FOREACH(f, &t->q.outq, link) {
		struct iovec p[2];
		int i, k;

		send_queue_encode(&t->q, f);
		k = out_frame_pieces(f, p);
		for (i = 0; i < k && len < TLS_TX_MAX_RECORD; i++) {
			size_t take = p[i].iov_len;

			if (len == 0 && take >= TLS_TX_MAX_RECORD) {
				*data = p[i].iov_base; /* a whole record from the block */
				return TLS_TX_MAX_RECORD;
			}
			if (take > TLS_TX_MAX_RECORD - len)
				take = TLS_TX_MAX_RECORD - len;
			memcpy(gather + len, p[i].iov_base, take);
			len += take;
		}
		if (len == TLS_TX_MAX_RECORD)
			break;
	}
	*data = gather;
	return len;
}

/* Seal records while the buffer has room. 0, or a negative errno. */
static int seal(struct tx *t)
{
	static uint8_t gather[TLS_TX_MAX_RECORD]; /* the loop has one thread */
	char why[200];

	while (tls_tx_has_room(&t->rec) && !TAILQ_EMPTY(&t->q.outq)) {
		const uint8_t *data;
		size_t len = next_record(t, gather, &data);
		long took;

		if (len == 0)
			break;
		took = tls_tx_write(&t->rec, t->ssl, data, len, why, sizeof(why));
		if (took < 0) {
			log_warn("client %u: %s", t->id, why);
			return (int)took;
		}
		/* a partly taken frame has sent > 0: it is never dropped */
		tx__taken(t, (size_t)took);
	}
	return 0;
}

static int records_send(struct tx *t)
{
	int err;

	for (;;) {
		if (tls_tx_pending(&t->rec)) {
			err = tls_tx_send(&t->rec, t->fd);
			if (err)
				return err; /* -EAGAIN: the socket is full */
		}
		if (TAILQ_EMPTY(&t->q.outq))
			return 0;
		err = seal(t);
		if (err)
			return err;
	}
}

const struct tx_ops tx_records_ops = {
	.name = "tls",
	.send = records_send,
};
