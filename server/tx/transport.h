/* SPDX-License-Identifier: MIT */
/*
 * How a block's bytes leave for a client (--transport), chosen per
 * connection and reported in its stats:
 *
 *  copy      sendmsg() copies header and payload into the socket; the block
 *            may be refilled as soon as the call returned.
 *  zerocopy  sendmsg(MSG_ZEROCOPY) straight from the mapped block; the
 *            kernel pins the pages and says on the socket's error queue
 *            when it let go of them. A block (and the frame's header
 *            memory) is released only then.
 *  sendfile  the header by send(MSG_MORE), the payload by sendfile() from
 *            the file holding the block (the sim's memfd). sendfile has no
 *            completion and its pages stay shared with the stack, so a
 *            block is released only when the peer has acknowledged its
 *            last byte: sent bytes minus SIOCOUTQ (bytes not yet acked).
 *            Only through a hardware NIC: to a receiver in this kernel
 *            (loopback, veth, bridges) the ack comes when the data reaches
 *            its queue, which holds the very pages until it reads them, so a
 *            refilled block arrives as new data (measured: 495 bad blocks in
 *            3 s on loopback, 730 across veth). Such a connection uses copy
 *            and says "sendfile:copy".
 *  auto      copy for a peer on this host (the kernel copies loopback
 *            traffic whatever we ask); otherwise zerocopy, falling back to
 *            copy on a connection whose first completions all come back
 *            SO_EE_CODE_ZEROCOPY_COPIED (a NIC without scatter-gather, a
 *            path through a copying device), where zero-copy only costs.
 *
 * With zero-copy a sent block stays pinned until its completion: the pages
 * in flight are blocks, not socket-buffer copies. A client's queue bound
 * (--client-queue) counts them, so zero-copy wants a larger queue and more
 * blocks (--blocks) than copy for the same throughput.
 */
#ifndef IIOSTREAMD_TRANSPORT_H
#define IIOSTREAMD_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "zc_tracker.h"

enum transport {
	TRANSPORT_AUTO,
	TRANSPORT_COPY,
	TRANSPORT_ZEROCOPY,
	TRANSPORT_SENDFILE,
};

/* "auto", "copy", "zerocopy", "sendfile"; -1 for anything else. */
int transport_parse(const char *name);
const char *transport_name(enum transport t);

#endif /* IIOSTREAMD_TRANSPORT_H */
