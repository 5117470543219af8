/* SPDX-License-Identifier: MIT */
/*
 * One client connection: its protocol state, its receive buffer and its send
 * queue.
 *
 * Ownership: a session is created by the listener and freed in exactly one
 * place, the close callback of its last libuv handle. Each queued block
 * frame holds one reference on its pool block, dropped when the kernel no
 * longer needs the block's bytes: with the copy transport when it has taken
 * the frame's last byte (sendmsg() copied it); with zero-copy when the
 * completion of the frame's last send arrived on the error queue; or when
 * the frame is dropped unsent.
 */
#ifndef IIOSTREAMD_SESSION_H
#define IIOSTREAMD_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "access.h"
#include "block_pool.h"
#include "iiostream/frame.h"
#include "subscriber.h"
#include "tls.h"
#include "tls_tx.h"
#include "transport.h"

struct server;

enum session_state {
	SESSION_TLS,         /* TLS port: the TLS handshake is under way */
	SESSION_HANDSHAKE,   /* waiting for Hello */
	SESSION_READY,       /* Hello done: requests and streaming */
	SESSION_DRAINING,    /* sending what is queued (Error, Bye), then close */
	SESSION_CLOSED,      /* handles closing; freed in their close callback */
};

/* One frame waiting to be sent, or (zero-copy) sent and waiting for the
 * kernel to let go of its pages. */
struct out_frame {
	TAILQ_ENTRY(out_frame) link;
	struct pool_block *blk;  /* block frame: referenced block; NULL: control */
	bool encoded;            /* block frame: head[] written (fixes lost_before) */
	bool zc_pending;         /* part of it went out with MSG_ZEROCOPY */
	uint32_t zc_last;        /* id of the last zero-copy send that carried it */
	bool ack_pending;        /* sent by sendfile: held until the peer acks */
	uint64_t ack_end;        /* stream offset just past its last byte */
	size_t sent;             /* bytes of head + payload already sent */
	size_t head_len;
	uint8_t head[];          /* u32 length + Envelope */
};

struct session {
	TAILQ_ENTRY(session) link;
	struct server *srv;
	uint32_t id;
	int fd;
	char peer[64];
	enum session_state state;
	uv_poll_t poll;
	uv_timer_t deadline;     /* handshake timeouts, then drain timeout */
	int open_handles;
	int poll_events;         /* events uv_poll currently watches */

	/* receive side: bytes of frame heads not yet parsed */
	uint8_t rx[IIOS_FRAME_PREFIX + IIOS_FRAME_MAX_ENVELOPE];
	size_t rx_len;

	/* TLS (ssl NULL on plain TCP) */
	SSL *ssl;
	bool tls_first_byte_seen;/* the peer's first byte looked like TLS */
	bool lingering;          /* handshake refused: the alert is sent, input
	                          * is discarded until the peer closes, so that
	                          * closing does not reset the connection and
	                          * destroy the alert before the client reads it */
	bool ktls_tx;            /* the kernel encrypts what we send */
	bool own_records;        /* userspace TLS: OpenSSL seals into tx, which
	                          * the daemon sends (tls_tx.h) */
	struct tls_tx tx;
	char tls_encrypt[96];    /* "kernel" or "userspace: REASON" */
	struct peer_identity ident; /* the client certificate, if any */

	/* send side */
	enum transport transport;/* how payloads leave (see transport.h) */
	bool auto_transport;     /* --transport auto: may fall back to copy */
	bool sendfile_refused;   /* --transport sendfile, but the peer is local */
	TAILQ_HEAD(, out_frame) outq;
	TAILQ_HEAD(, out_frame) pinned; /* sent, pages still used by the kernel:
	                          * zero-copy until completion, sendfile until
	                          * the peer's ack */
	uint64_t stream_sent;    /* bytes the socket accepted (sendfile acks) */
	uv_timer_t ack_timer;    /* sendfile: looks for acks while frames wait */
	uint32_t pinned_blocks;  /* block frames in pinned. They count against
	                          * max_queue with the unsent ones: a client holds
	                          * at most that many blocks, sent or not, so a
	                          * slow reader skips instead of starving the
	                          * source */
	uint32_t zc_next;        /* id the next zero-copy send will get */
	struct zc_tracker zc;    /* which zero-copy sends have completed */
	uint32_t queued_blocks;  /* block frames in outq */
	size_t queued_control;   /* bytes of control frames in outq */
	bool want_write;         /* the socket was full */

	/* stream: its place in the fan-out (subscriber.h); sub.max_queue
	 * bounds queued_blocks + pinned_blocks */
	struct subscriber sub;
	bool have_prev;          /* a block was sent since subscribing */
	uint64_t prev_sequence;
	uint64_t prev_end_sample;

	/* --idle-timeout: when a byte last came in, and when the socket last
	 * took one (or the queue last became non-empty) */
	uint64_t last_rx_ns, last_tx_ns;
	bool over_limit;         /* connected beyond --max-clients: refused at Hello */

	/* counters for Stats */
	uint64_t blocks_sent, bytes_sent; /* skips: sub.blocks_skipped */
	uint64_t zc_sends, zc_completed, zc_copied, zc_enobufs;
};

/* The limits are the daemon's configuration (--max-send-queue,
 * --handshake-timeout, --idle-timeout, --max-frame, --max-clients). */
#define SESSION_DRAIN_TIMEOUT_MS 2000
#define SESSION_LINGER_MS 1000

/* Take over an accepted, non-blocking socket; tls: it came to the TLS
 * listener and starts with a TLS handshake. */
int session_create(struct server *srv, int fd, const char *peer, bool tls);

/* Close the session with an Error if it has been idle (nothing received,
 * nothing to send) or stalled (nothing taken by its socket) for longer than
 * --idle-timeout. Called once a second. */
void session_check_idle(struct session *s, uint64_t now_ns);

/* Join the stream with a queue of max_queue blocks: from now on the
 * fan-out offers it blocks (subscriber.h). */
void session_subscribe(struct session *s, uint32_t max_queue);

/* Queue a control message (encoded now) and send what the socket takes.
 * 0, or a negative errno (-EMSGSIZE: too large to encode). */
int session_queue_msg(struct session *s, const Iiostream__Envelope *env);

/* Send an Error. fatal: nothing more is read, the connection closes once
 * the Error is sent (or after the drain timeout). */
void session_send_error(struct session *s, int errnum, bool fatal, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Leave the stream: unsent block frames are dropped (their blocks go back). */
void session_unsubscribe(struct session *s);

/* Server shutdown: Bye, then close when sent (or after the drain timeout). */
void session_say_bye(struct session *s, const char *reason);

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
