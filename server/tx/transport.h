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
 * On the TLS port the payload leaves as TLS records, by one of:
 *  tls       userspace records: OpenSSL seals the frames into a buffer of
 *            ours (tls_tx.h) that leaves in large send() calls.
 *  ktls      the kernel took the send keys and encrypts while it copies
 *            from the block: the copy path (a TLS socket refuses
 *            MSG_ZEROCOPY).
 *
 * Each is a `struct tx_ops` in a file of its own (tx_copy.c,
 * tx_zerocopy.c, tx_sendfile.c, tx_records.c, tx_ktls.c), chosen once per
 * connection by tx_choose() or tx_start_tls().
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
#include <openssl/ssl.h>

#include "send_queue.h"
#include "tls_tx.h"
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

struct tx;

/*
 * A transport. Every op is called from the loop's thread by the owner of
 * the struct tx (a session), never re-entrantly; none frees the tx.
 */
struct tx_ops {
	/* For Stats, after tx->prefix: "copy", "zerocopy", "copied" (auto
	 * fell back), "sendfile", "tls", "ktls". */
	const char *name;
	/* Send what the socket takes from the front of tx->q. 0: the queue is
	 * empty (everything taken; pinned frames may remain); -EAGAIN: the
	 * socket is full, call again when it is writable; else a negative
	 * errno: the connection is dead. Frames it finishes leave outq
	 * (freed, or pinned, see send_queue.h). */
	int (*send)(struct tx *t);
	/* Optional: the socket reported POLLERR and tx->zc_sends > 0: read the
	 * zero-copy completions off the error queue and release what they
	 * free. 0, or a negative errno (the socket failed). */
	int (*errqueue)(struct tx *t);
	/* Optional: release pinned frames the kernel is done with. Called
	 * while frames are pinned: on every socket event, and every
	 * `poll_ms` ms when set (sendfile: acks raise no event). */
	void (*release)(struct tx *t);
	unsigned poll_ms;
};

extern const struct tx_ops tx_copy_ops, tx_zerocopy_ops, tx_copied_ops, tx_sendfile_ops,
	tx_records_ops, tx_ktls_ops;

/* How one connection sends: embedded in its owner (struct session). */
struct tx {
	/* set at tx_init, read-only for the owner */
	int fd;
	uint32_t id;             /* the client's number, for log lines */
	const char *peer;        /* its address, for log lines: the owner's,
	                          * valid as long as the tx */
	/* read-only for the owner */
	const struct tx_ops *ops;/* chosen once; auto's zerocopy becomes
	                          * tx_copied_ops at most once (tx_zerocopy.c) */
	const char *prefix;      /* "auto:", "sendfile:" (refused) or "" */
	struct send_queue q;     /* the owner pushes frames and drops unsent ones */
	uint64_t last_tx_ns;     /* when the socket last took a byte (the owner
	                          * sets it too when the queue becomes non-empty) */
	uint64_t zc_sends, zc_completed, zc_copied, zc_enobufs; /* for Stats */
	/* private */
	bool auto_fallback;      /* --transport auto: may fall back to copy */
	SSL *ssl;                /* TLS records: the connection (the owner's) */
	struct tls_tx rec;       /* TLS records: sealed, waiting for the socket */
	uint64_t stream_sent;    /* bytes the socket accepted (sendfile acks) */
	uint32_t zc_next;        /* id the next zero-copy send will get */
	struct zc_tracker zc;    /* which zero-copy sends have completed */
	char label[24];          /* prefix + ops->name */
};

/* An empty tx for fd (no transport yet: tx_choose). */
void tx_init(struct tx *t, int fd, uint32_t id, const char *peer);

/* Choose how this connection sends, once (see above): `asked` is
 * --transport; a TLS connection copies (tx_start_tls after its handshake). */
void tx_choose(struct tx *t, enum transport asked, bool tls);

/* After the TLS handshake: the kernel encrypts (kernel, kTLS), or OpenSSL
 * seals into our buffer. 0, or -ENOMEM (no send buffer). */
int tx_start_tls(struct tx *t, SSL *ssl, bool kernel);

/* Switch transport; the label follows. */
void tx_set_ops(struct tx *t, const struct tx_ops *ops);

/* What Stats show: "copy", "auto:zerocopy", "sendfile:copy"... */
static inline const char *tx_label(const struct tx *t)
{
	return t->label;
}

/* Queue a control frame (a copy of frame[len]) or block b of stream `cur`
 * (with a reference of its own): send_queue_push_*(), and when the queue
 * was empty, last_tx_ns starts the socket's time to take it. 0 or -ENOMEM. */
int tx_push_control(struct tx *t, const void *frame, size_t len);
int tx_push_block(struct tx *t, struct pool_block *b, struct stream_cursor *cur);

/* Release what the kernel is done with (ops->release), if frames are pinned. */
void tx_release(struct tx *t);

/* POLLERR with zero-copy sends made: ops->errqueue applies. */
static inline bool tx_has_errqueue(const struct tx *t)
{
	return t->zc_sends && t->ops->errqueue;
}

/* Sealed TLS bytes wait for the socket. */
static inline bool tx_sealed_pending(const struct tx *t)
{
	return tls_tx_pending(&t->rec);
}

/* Send sealed TLS bytes, best effort (an alert before closing). */
void tx_flush_sealed(struct tx *t);

/* Nothing queued, nothing pinned, nothing sealed: a draining owner may
 * close. */
static inline bool tx_all_sent(const struct tx *t)
{
	return send_queue_idle(&t->q) && t->rec.len == 0;
}

/* The connection closes: every frame goes, its block back to the pool. If
 * the kernel still holds pages of pinned blocks, the connection is reset
 * first so nothing more of them is sent. */
void tx_abort(struct tx *t);

/* Free the TLS buffer: after SSL_free() (its BIO wrote into it). */
void tx_free(struct tx *t);

#endif /* IIOSTREAMD_TRANSPORT_H */
