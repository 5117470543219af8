/* SPDX-License-Identifier: MIT */
/*
 * One client connection: its protocol state, its receive buffer and its send
 * queue. The code is in one file per concern:
 *   session.c       life cycle: create, states, socket events, timers, close
 *   session_rx.c    reading, and parsing the frames read
 *   session_tls.c   the TLS handshake on the TLS port
 *   session_send.c  control messages, Error, Bye, and flushing the queue
 *   session_sub.c   the session as a fan-out subscriber (subscriber.h)
 *   session_tx.c    transmit: the session as the owner of an output device
 *                   (output_stream.h), its TxBlock payloads received
 *                   straight into the device's blocks
 *   session_revoke.c  rights withdrawn by a reload: Error, then close
 * How bytes leave is the tx layer's (server/tx/transport.h).
 *
 * Ownership: a session is created by the listener and freed in exactly one
 * place, the close callback of its last libuv handle. Each queued block
 * frame holds one reference on its pool block, dropped when the kernel no
 * longer needs the block's bytes: with the copy transport when it has taken
 * the frame's last byte (sendmsg() copied it); with zero-copy when the
 * completion of the frame's last send arrived on the error queue; or when
 * the frame is dropped unsent (send_queue.h).
 */
#ifndef IIOSTREAMD_SESSION_H
#define IIOSTREAMD_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "access.h"
#include "output_stream.h"
#include "iiostream/frame.h"
#include "subscriber.h"
#include "tls.h"
#include "transport.h"

struct server;
struct net_server;
struct device_stream;
struct session;

/* Subscriptions one connection may hold at once (one per device). */
#define SESSION_MAX_SUBS 16

/* One subscription of a connection: to one device's stream. */
struct session_sub {
	struct subscriber sub;      /* its place in the stream's fan-out */
	struct stream_cursor cur;   /* its continuity and its frames in tx.q */
	struct device_stream *ds;   /* the stream; NULL: the slot is free */
	struct session *s;          /* its connection */
};

/* Its transmission to an output device (session_tx.c). */
struct session_tx {
	struct output_owner owner;  /* its place as the device's owner */
	struct output_stream *os;   /* the device it owns; NULL: none */
	struct output_block *filling; /* the block a TxBlock's payload goes into */
	uint32_t payload_len;       /* that payload's bytes, */
	uint32_t payload_got;       /* and those received so far */
	uint32_t flags;             /* its TxBlock.flags */
	uint64_t blocks_sent;       /* TxBlocks received since TxStart */
	bool stopping;              /* TxStop received: TxStopReply to come */
	struct session *s;
};

enum session_state {
	SESSION_TLS,         /* TLS port: the TLS handshake is under way */
	SESSION_HANDSHAKE,   /* waiting for Hello */
	SESSION_READY,       /* Hello done: requests and streaming */
	SESSION_DRAINING,    /* sending what is queued (Error, Bye), then close */
	SESSION_CLOSED,      /* handles closing; freed in their close callback */
};

/*
 * Fields: the listener and the server read `link`, `id`, `peer`, `state`;
 * protocol.c reads `ident`, `tls_encrypt`, `ssl`, `over_limit`, the Stats
 * counters (tx, sub) and sets `state` through session_set_state(). The
 * rest is private to net/session*.c.
 */
struct session {
	/* read-only outside net/session*.c */
	TAILQ_ENTRY(session) link;
	struct server *srv;
	struct net_server *net;  /* its front-end: the list it is on */
	uint32_t id;
	int fd;
	char peer[64];
	enum session_state state;/* changed by session_set_state() only */
	struct peer_identity ident; /* the client certificate, if any */
	char tls_encrypt[96];    /* "kernel" or "userspace: REASON" */
	SSL *ssl;                /* TLS (NULL on plain TCP); freed in close_cb */
	bool over_limit;         /* connected beyond --max-clients: refused at Hello */
	uint32_t version;        /* the protocol version chosen at Hello, 0 before */
	/* how it sends, and its send queue (transport.h, send_queue.h): the
	 * transport is chosen once, at create (plain) or after the TLS
	 * handshake (tx_start_tls) */
	struct tx tx;
	/* its subscriptions, one per device (subscriber.h): each one's
	 * sub.max_queue bounds its own block frames of tx.q, queued and
	 * pinned */
	struct session_sub subs[SESSION_MAX_SUBS];
	uint32_t nsubs;          /* slots in use */
	struct session_tx txm;   /* its transmission, if any (session_tx.c) */
	double rate_bps;         /* payload bytes sent a second, over the time
	                          * between the last two session_sample_rate() */

	/* private */
	uv_poll_t poll;
	uv_timer_t deadline;     /* handshake timeouts, then drain timeout */
	uv_timer_t ack_timer;    /* polls tx.ops->release while frames are
	                          * pinned, if the transport asks (sendfile) */
	int open_handles;
	int poll_events;         /* events uv_poll currently watches */
	bool want_write;         /* the socket was full */

	/* receive side: bytes of frame heads not yet parsed */
	uint8_t rx[IIOS_FRAME_PREFIX + IIOS_FRAME_MAX_ENVELOPE];
	size_t rx_len;

	/* TLS handshake */
	bool tls_first_byte_seen;/* the peer's first byte looked like TLS */
	bool lingering;          /* handshake refused: the alert is sent, input
	                          * is discarded until the peer closes, so that
	                          * closing does not reset the connection and
	                          * destroy the alert before the client reads it */

	/* --idle-timeout: when a byte last came in (tx.last_tx_ns: when the
	 * socket last took one, or the queue last became non-empty) */
	uint64_t last_rx_ns;

	/* rate_bps: tx.q.bytes_sent and the time at the last sample */
	uint64_t rate_mark_bytes, rate_mark_ns;
};

/* The limits are the daemon's configuration (--max-send-queue,
 * --handshake-timeout, --idle-timeout, --max-frame, --max-clients). */
#define SESSION_DRAIN_TIMEOUT_MS 2000
#define SESSION_LINGER_MS 1000

/* Take over an accepted, non-blocking socket; tls: it came to the TLS
 * listener and starts with a TLS handshake. */
int session_create(struct net_server *net, int fd, const char *peer, bool tls);

/* Close the session with an Error if it has been idle (nothing received,
 * nothing to send) or stalled (nothing taken by its socket) for longer than
 * --idle-timeout. Called once a second. */
void session_check_idle(struct session *s, uint64_t now_ns);

/* Once a second (the front-end's tick): rate_bps over the interval since
 * the previous call (since it connected, the first time). */
void session_sample_rate(struct session *s, uint64_t now_ns);

/* Join the stream of `ds` with a queue of max_queue blocks: from now on its
 * fan-out offers the session blocks (subscriber.h). The subscription, or
 * NULL when every slot is taken. */
struct session_sub *session_subscribe(struct session *s, struct device_stream *ds,
				      uint32_t max_queue);

/* Its subscription to ds, or NULL. */
struct session_sub *session_find_sub(struct session *s, const struct device_stream *ds);

/* Blocks it skipped, every subscription since it connected. */
uint64_t session_blocks_skipped(const struct session *s);

/* Queue a control message (encoded now) and send what the socket takes.
 * 0, or a negative errno (-EMSGSIZE: too large to encode). */
int session_queue_msg(struct session *s, const Iiostream__Envelope *env);

/* Send an Error. fatal: nothing more is read, the connection closes once
 * the Error is sent (or after the drain timeout). */
void session_send_error(struct session *s, int errnum, bool fatal, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Leave the stream of ds (NULL: every stream): its unsent block frames are
 * dropped (their blocks go back). */
void session_unsubscribe(struct session *s, const struct device_stream *ds);

/* A reload changed the access lists: if s holds a right the lists in
 * force no longer give its identity (a subscription: --allow-subscribe;
 * transmitting: --allow-write), log it, send an Error (EACCES, "revoked:
 * WHO is no longer on LIST after reload") and close as after a fatal
 * Error. A session still admitted to all it does is untouched.
 * session_revoke.c */
void session_recheck_access(struct session *s);

/* Server shutdown: Bye, then close when sent (or after the drain timeout). */
void session_say_bye(struct session *s, const char *reason);

/* Pairing (session_pair.c): check a PairRequest's proof; PairReply, or an
 * Error (a wrong code ends the connection). */
void session_pair_handle(struct session *s, const Iiostream__PairRequest *req);

/* Transmit (session_tx.c). Act on TxStart, TxBlock and TxStop. */
void session_tx_handle(struct session *s, const Iiostream__Envelope *env);

/* A TxBlock's payload is being received: where its next bytes go
 * (*len of them at most), or NULL when none is awaited. */
uint8_t *session_tx_payload_dst(struct session *s, size_t *len);

/* n bytes were written at session_tx_payload_dst(): a complete payload
 * goes to the device. */
void session_tx_payload_got(struct session *s, size_t n);

/* The connection is going: a block half received goes back, and the
 * device is released as its owner chose (stop or keep). */
void session_tx_close(struct session *s);

/* One output device's line of Stats (its strings point into os). */
void session_tx_stats(const struct output_stream *os, Iiostream__TxStreamStats *ts);

/* The transport this connection uses now, for Stats. */
const char *session_transport(const struct session *s);

/* Every change of s->state goes through here, checked against the legal
 * transitions (TLS -> HANDSHAKE -> READY -> DRAINING -> CLOSED, with the
 * shortcuts to DRAINING and CLOSED); an illegal one is a bug: logged, and
 * the daemon stops. */
void session_set_state(struct session *s, enum session_state to);

/* Close now: every block reference dropped at once, memory freed later. */
void session_close(struct session *s, const char *why);

#endif /* IIOSTREAMD_SESSION_H */
