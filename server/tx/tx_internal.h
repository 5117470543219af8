/* SPDX-License-Identifier: MIT */
/* What the transports of server/tx/ share, and nobody else uses. */
#ifndef IIOSTREAMD_TX_INTERNAL_H
#define IIOSTREAMD_TX_INTERNAL_H

#include <errno.h>

#include "transport.h"

/* One sendmsg() carries frames up to about this many bytes. Bigger batches
 * would fix lost_before of frames that might still be dropped. */
#define SEND_BATCH_BYTES (256u * 1024u)
#define SEND_BATCH_IOV 16

/* The sendmsg() path of copy, zerocopy (with MSG_ZEROCOPY on batches that
 * carry payload) and kTLS: tx_ops.send's contract. tx_copy.c. */
int tx__sendmsg(struct tx *t, bool zerocopy);

/* A send call failed with err: retry (1) after EINTR, or return this
 * (-EAGAIN when the socket is full, else -err). */
static inline int tx__send_failed(int err)
{
	if (err == EINTR)
		return 1;
	if (err == EAGAIN || err == EWOULDBLOCK)
		return -EAGAIN;
	return -err;
}

/* The socket took n bytes from the front of the queue. */
void tx__taken(struct tx *t, size_t n);

#endif /* IIOSTREAMD_TX_INTERNAL_H */
