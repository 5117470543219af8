// SPDX-License-Identifier: MIT
/* A client connection's I/O and send queue: see session.h. */
#define _GNU_SOURCE
#include "session.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <ifaddrs.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/err.h>

#include "config.h"

#include "log.h"
#include "protocol.h"
#include "server.h"

/* Room for a BlockHeader Envelope: every field at its largest varint. */
#define BLOCK_HEAD_MAX 128
/* One sendmsg() carries frames up to about this many bytes. Bigger batches
 * would fix lost_before of frames that might still be dropped. */
#define SEND_BATCH_BYTES (256u * 1024u)
#define SEND_BATCH_IOV 16

static void on_poll(uv_poll_t *h, int status, int events);
static void on_deadline(uv_timer_t *t);

static void update_poll(struct session *s)
{
	int events = UV_READABLE | (s->want_write ? UV_WRITABLE : 0);

	if (s->state == SESSION_CLOSED || events == s->poll_events)
		return;
	s->poll_events = events;
	uv_poll_start(&s->poll, events, on_poll);
}

/* The legal changes of a session's state (session.h). DRAINING may be
 * entered again (a fatal Error, then shutdown's Bye): it stays. */
static const bool state_legal[SESSION_CLOSED + 1][SESSION_CLOSED + 1] = {
	[SESSION_TLS] = { [SESSION_HANDSHAKE] = true, [SESSION_CLOSED] = true },
	[SESSION_HANDSHAKE] = { [SESSION_READY] = true, [SESSION_DRAINING] = true,
				[SESSION_CLOSED] = true },
	[SESSION_READY] = { [SESSION_DRAINING] = true, [SESSION_CLOSED] = true },
	[SESSION_DRAINING] = { [SESSION_DRAINING] = true, [SESSION_CLOSED] = true },
};

void session_set_state(struct session *s, enum session_state to)
{
	if (!state_legal[s->state][to]) {
		log_error("client %u: illegal session state change %d -> %d", s->id, s->state, to);
		abort();
	}
	s->state = to;
}

static void free_frame(struct out_frame *f)
{
	if (f->blk)
		block_pool_unref(f->blk);
	free(f);
}

static void remove_frame(struct session *s, struct out_frame *f)
{
	TAILQ_REMOVE(&s->outq, f, link);
	if (f->blk)
		s->queued_blocks--;
	else
		s->queued_control -= f->head_len;
	free_frame(f);
}

static size_t frame_len(const struct out_frame *f)
{
	return f->head_len + (f->blk ? f->blk->bytes_used : 0);
}

/* Write the BlockHeader of a block frame: lost_before and lost_samples are
 * fixed now, against the block this client received before. */
static void encode_block_head(struct session *s, struct out_frame *f)
{
	const struct pool_block *b = f->blk;
	Iiostream__BlockHeader hdr = IIOSTREAM__BLOCK_HEADER__INIT;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	long n;

	hdr.block_id = b->id;
	hdr.bytes_used = b->bytes_used;
	hdr.timestamp_ns = b->timestamp_ns;
	hdr.flags = b->flags;
	hdr.sequence = b->sequence;
	hdr.payload_len = b->bytes_used;
	hdr.first_sample = b->first_sample;
	hdr.dequeue_ns = b->dequeue_ns;
	if (s->have_prev) {
		hdr.lost_before = b->sequence - s->prev_sequence - 1;
		hdr.lost_samples = b->first_sample - s->prev_end_sample;
	}
	s->have_prev = true;
	s->prev_sequence = b->sequence;
	s->prev_end_sample = b->first_sample + b->bytes_used / s->srv->fmt.scan_bytes;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_BLOCK;
	env.block = &hdr;
	n = iios_frame_encode(&env, f->head, BLOCK_HEAD_MAX, BLOCK_HEAD_MAX);
	if (n < 0)
		abort(); /* BLOCK_HEAD_MAX covers every field at its largest */
	f->head_len = (size_t)n;
	f->encoded = true;
}

/* A frame was taken whole by the kernel. Sent by copy, it is done; sent
 * (partly) by zero-copy, its pages and header stay pinned until the
 * completion of its last send arrives. */
static void frame_done(struct session *s, struct out_frame *f)
{
	if (f->blk) {
		s->blocks_sent++;
		s->bytes_sent += f->blk->bytes_used;
	}
	if (!f->zc_pending && !f->ack_pending) {
		remove_frame(s, f);
		return;
	}
	TAILQ_REMOVE(&s->outq, f, link);
	if (f->blk)
		s->queued_blocks--;
	else
		s->queued_control -= f->head_len;
	TAILQ_INSERT_TAIL(&s->pinned, f, link);
	if (f->blk)
		s->pinned_blocks++;
}

/* Nothing queued and nothing pinned: a draining session may close. */
static bool all_sent(const struct session *s)
{
	return TAILQ_EMPTY(&s->outq) && TAILQ_EMPTY(&s->pinned) && s->tx.len == 0;
}

/* Bytes of the stream the peer has acknowledged: what the socket took,
 * minus what it still holds unsent or unacked (SIOCOUTQ). */
static uint64_t acked_bytes(const struct session *s)
{
	int unacked = 0;

	if (ioctl(s->fd, SIOCOUTQ, &unacked) < 0 || unacked < 0)
		return 0; /* unknown: release nothing */
	return s->stream_sent - (uint64_t)unacked;
}

/* Free the pinned frames the kernel is done with, oldest first: zero-copy
 * ones whose last send completed, sendfile ones the peer acknowledged. */
static void release_pinned(struct session *s)
{
	struct out_frame *f, *next;
	uint64_t acked = 0;
	bool asked = false;

	/* (next saved before the free: an analyzer cannot see through
	 * TAILQ_REMOVE that the head moved on) */
	for (f = TAILQ_FIRST(&s->pinned); f; f = next) {
		next = TAILQ_NEXT(f, link);
		if (f->zc_pending && !zc_before(f->zc_last, s->zc.done))
			break;
		if (f->ack_pending) {
			if (!asked) {
				acked = acked_bytes(s);
				asked = true;
			}
			if (acked < f->ack_end)
				break;
		}
		TAILQ_REMOVE(&s->pinned, f, link);
		if (f->blk)
			s->pinned_blocks--;
		free_frame(f);
	}
	if (TAILQ_EMPTY(&s->pinned))
		uv_timer_stop(&s->ack_timer);
}

static void on_ack_timer(uv_timer_t *t)
{
	struct session *s = t->data;

	release_pinned(s);
	if (s->state == SESSION_DRAINING && all_sent(s))
		session_close(s, NULL);
}

/* Completions of ids [lo, hi]: counted, then tracked (transport.c). */
static int zc_complete(struct session *s, const struct zc_range *r)
{
	s->zc_completed += (uint32_t)(r->hi - r->lo) + 1;
	if (r->copied)
		s->zc_copied += (uint32_t)(r->hi - r->lo) + 1;
	return zc_tracker_complete(&s->zc, r);
}

/*
 * --transport auto: after 32 completions, a connection whose zero-copy sends
 * were all copied by the kernel anyway (loopback, a NIC without
 * scatter-gather) goes back to plain copies, which cost less.
 */
#define ZC_AUTO_SAMPLE 32

static void zc_maybe_fall_back(struct session *s)
{
	if (!s->auto_transport || s->transport != TRANSPORT_ZEROCOPY ||
	    s->zc_completed < ZC_AUTO_SAMPLE || s->zc_copied < s->zc_completed)
		return;
	s->transport = TRANSPORT_COPY;
	log_info("client %u (%s): the kernel copied all %" PRIu64
		 " zero-copy sends; using copy sends", s->id, s->peer, s->zc_completed);
}

/* POLLERR: drain the error queue. 0 if it held only zero-copy completions
 * and the socket is healthy, else a negative errno. */
static int zc_drain(struct session *s)
{
	struct zc_range r[16];
	int n, i, err, soerr = 0;
	socklen_t len = sizeof(soerr);

	while ((n = zc_read_completions(s->fd, r, 16)) > 0)
		for (i = 0; i < n; i++)
			if ((err = zc_complete(s, &r[i])) != 0)
				return err;
	if (n != -EAGAIN)
		return n;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr)
		return -soerr;
	release_pinned(s);
	zc_maybe_fall_back(s);
	return 0;
}

/* A send call failed with err: retry it (1) after EINTR, wait for room
 * (0) when the socket is full, or give the connection up (-err). */
static int send_failed(struct session *s, int err)
{
	if (err == EINTR)
		return 1;
	if (err == EAGAIN || err == EWOULDBLOCK) {
		s->want_write = true;
		update_poll(s);
		return 0;
	}
	return -err;
}

/* The socket (or the TLS sealer) took n more bytes from the front of the
 * queue: advance the frames, retiring each one taken whole. */
static void retire_taken(struct session *s, size_t n)
{
	while (n > 0) {
		struct out_frame *f = TAILQ_FIRST(&s->outq);
		size_t left = frame_len(f) - f->sent;

		s->last_tx_ns = monotonic_ns();
		if (n < left) {
			f->sent += n;
			return;
		}
		n -= left;
		f->sent += left;
		frame_done(s, f);
	}
}

/* The queue is empty: stop watching for room; a draining session ends. */
static int flush_finished(struct session *s)
{
	s->want_write = false;
	update_poll(s);
	if (s->state == SESSION_DRAINING && all_sent(s))
		session_close(s, NULL);
	return 0;
}

/*
 * sendfile transport: one frame at a time, the header by send(MSG_MORE)
 * and the payload by sendfile() from the block's file. The kernel keeps
 * referring to the file's pages until the peer acknowledged them, so a sent
 * block frame waits in `pinned` for that (ack_timer polls SIOCOUTQ).
 */
static int flush_sendfile(struct session *s)
{
	struct out_frame *f;

	while ((f = TAILQ_FIRST(&s->outq)) != NULL) {
		ssize_t n;

		if (f->blk && !f->encoded)
			encode_block_head(s, f);
		if (f->sent < f->head_len) {
			n = send(s->fd, f->head + f->sent, f->head_len - f->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL | (f->blk ? MSG_MORE : 0));
		} else {
			size_t done = f->sent - f->head_len;
			off_t off;

			/* past its head, a frame still queued is a block frame
			 * (a control frame is retired once its head is sent) */
			if (!f->blk)
				return -EIO;
			off = (off_t)(f->blk->file_offset + done);

			n = sendfile(s->fd, f->blk->file_fd, &off, f->blk->bytes_used - done);
			if (n == 0)
				return -EIO; /* the file is shorter than the block: a bug */
		}
		if (n < 0) {
			int r = send_failed(s, errno);

			if (r > 0)
				continue;
			return r;
		}
		s->stream_sent += (uint64_t)n;
		s->last_tx_ns = monotonic_ns();
		f->sent += (size_t)n;
		if (f->sent < frame_len(f))
			continue;
		if (f->blk) {
			f->ack_pending = true;
			f->ack_end = s->stream_sent;
			if (!uv_is_active((uv_handle_t *)&s->ack_timer))
				uv_timer_start(&s->ack_timer, on_ack_timer, 1, 1);
		}
		frame_done(s, f);
	}
	release_pinned(s);
	return flush_finished(s);
}

/*
 * Userspace TLS (tls_tx.h): OpenSSL seals records from the queued frames,
 * heads and blocks alike, into the connection's send buffer, which leaves
 * in large send() calls. A block frame whose last byte OpenSSL has taken is
 * done: its block goes back at once.
 */

/* The plaintext of the next record: straight from the queue's front piece
 * when it fills a record alone, else the front pieces (a frame head and
 * the start of its block, or small control frames) gathered into `gather`,
 * so that a block's head does not cost a record of its own. */
static size_t next_record(struct session *s, uint8_t *gather, const uint8_t **data)
{
	size_t len = 0;
	struct out_frame *f;

	TAILQ_FOREACH(f, &s->outq, link) {
		size_t off = f->sent;
		const uint8_t *p[2];
		size_t n[2], i;

		if (f->blk && !f->encoded)
			encode_block_head(s, f);
		p[0] = f->head + (off < f->head_len ? off : f->head_len);
		n[0] = off < f->head_len ? f->head_len - off : 0;
		off = off > f->head_len ? off - f->head_len : 0;
		p[1] = f->blk ? f->blk->data + off : NULL;
		n[1] = f->blk ? f->blk->bytes_used - off : 0;
		for (i = 0; i < 2; i++) {
			size_t take = n[i];

			if (!take)
				continue;
			if (len == 0 && take >= TLS_TX_MAX_RECORD) {
				*data = p[i]; /* a whole record from the block */
				return TLS_TX_MAX_RECORD;
			}
			if (take > TLS_TX_MAX_RECORD - len)
				take = TLS_TX_MAX_RECORD - len;
			memcpy(gather + len, p[i], take);
			len += take;
			if (len == TLS_TX_MAX_RECORD)
				break;
		}
		if (len == TLS_TX_MAX_RECORD)
			break;
	}
	*data = gather;
	return len;
}

static int flush_records(struct session *s)
{
	static uint8_t gather[TLS_TX_MAX_RECORD]; /* the loop has one thread */
	char why[200];
	int err;

	for (;;) {
		if (tls_tx_pending(&s->tx)) {
			err = tls_tx_send(&s->tx, s->fd);
			if (err == -EAGAIN) {
				s->want_write = true;
				update_poll(s);
				return 0;
			}
			if (err)
				return err;
		}
		if (TAILQ_EMPTY(&s->outq))
			break;
		while (tls_tx_has_room(&s->tx) && !TAILQ_EMPTY(&s->outq)) {
			const uint8_t *data;
			size_t len = next_record(s, gather, &data);
			long took;

			if (len == 0)
				break;
			took = tls_tx_write(&s->tx, s->ssl, data, len, why, sizeof(why));
			if (took < 0) {
				log_warn("client %u: %s", s->id, why);
				return (int)took;
			}
			/* a partly taken frame has sent > 0: it is never dropped */
			retire_taken(s, (size_t)took);
		}
	}
	return flush_finished(s);
}

/* Send what the socket takes. Returns 0, or a negative errno if the
 * connection is dead. With kernel TLS the plain path below is used: the
 * kernel encrypts while it copies from the block, and MSG_ZEROCOPY is never
 * set (a TLS socket refuses it). */
static int flush(struct session *s)
{
	if (s->own_records)
		return flush_records(s);
	if (s->transport == TRANSPORT_SENDFILE)
		return flush_sendfile(s);
	while (!TAILQ_EMPTY(&s->outq)) {
		struct iovec iov[SEND_BATCH_IOV];
		struct msghdr msg = { .msg_iov = iov };
		struct out_frame *f;
		size_t batch = 0, payload = 0;
		int flags = MSG_DONTWAIT | MSG_NOSIGNAL;
		ssize_t n;

		TAILQ_FOREACH(f, &s->outq, link) {
			size_t off = f->sent;

			if (msg.msg_iovlen + 2 > SEND_BATCH_IOV || batch >= SEND_BATCH_BYTES)
				break;
			if (f->blk && !f->encoded)
				encode_block_head(s, f);
			if (off < f->head_len) {
				iov[msg.msg_iovlen].iov_base = f->head + off;
				iov[msg.msg_iovlen++].iov_len = f->head_len - off;
				batch += f->head_len - off;
				off = 0;
			} else {
				off -= f->head_len;
			}
			if (f->blk && off < f->blk->bytes_used) {
				iov[msg.msg_iovlen].iov_base = (void *)(f->blk->data + off);
				iov[msg.msg_iovlen++].iov_len = f->blk->bytes_used - off;
				batch += f->blk->bytes_used - off;
				payload += f->blk->bytes_used - off;
			}
		}
		/* control frames alone are small: zero-copy would not pay */
		if (s->transport == TRANSPORT_ZEROCOPY && payload)
			flags |= MSG_ZEROCOPY;
		n = sendmsg(s->fd, &msg, flags);
		if (n < 0 && errno == ENOBUFS && (flags & MSG_ZEROCOPY)) {
			/* over the socket's optmem limit for pinned pages: copy */
			s->zc_enobufs++;
			flags &= ~MSG_ZEROCOPY;
			n = sendmsg(s->fd, &msg, flags);
		}
		if (n < 0) {
			int r = send_failed(s, errno);

			if (r > 0)
				continue;
			return r;
		}
		/* Retire what the kernel took; a partial frame keeps its offset.
		 * Every frame this call touched now depends on its completion. */
		if (flags & MSG_ZEROCOPY) {
			uint32_t id = s->zc_next++;
			size_t touched = (size_t)n;

			s->zc_sends++;
			TAILQ_FOREACH(f, &s->outq, link) {
				f->zc_pending = true;
				f->zc_last = id;
				if (touched <= frame_len(f) - f->sent)
					break;
				touched -= frame_len(f) - f->sent;
			}
		}
		retire_taken(s, (size_t)n);
	}
	return flush_finished(s);
}

static void flush_or_close(struct session *s)
{
	int err;

	if (s->want_write || s->state == SESSION_CLOSED)
		return; /* poll will tell us when the socket has room */
	err = flush(s);
	if (err)
		session_close(s, strerror(-err));
}

static void enqueue_frame(struct session *s, struct out_frame *f)
{
	if (TAILQ_EMPTY(&s->outq))
		s->last_tx_ns = monotonic_ns(); /* the socket's time to take it starts */
	TAILQ_INSERT_TAIL(&s->outq, f, link);
	if (f->blk)
		s->queued_blocks++;
	else
		s->queued_control += f->head_len;
}

int session_queue_msg(struct session *s, const Iiostream__Envelope *env)
{
	static uint8_t buf[IIOS_FRAME_PREFIX + IIOS_FRAME_MAX_ENVELOPE];
	struct out_frame *f;
	long n;

	if (s->state == SESSION_CLOSED)
		return -EPIPE;
	n = iios_frame_encode(env, buf, sizeof(buf), IIOS_FRAME_MAX_ENVELOPE);
	if (n < 0)
		return (int)n;
	if (s->queued_control + (size_t)n > s->srv->cfg->max_send_queue) {
		/* Its socket is full of replies it does not read: an Error would
		 * wait behind them, so the connection just closes. */
		s->srv->protocol_errors++;
		session_close(s, "sends requests but does not read the replies");
		return -ENOBUFS;
	}
	f = calloc(1, sizeof(*f) + (size_t)n);
	if (!f)
		return -ENOMEM;
	memcpy(f->head, buf, (size_t)n);
	f->head_len = (size_t)n;
	enqueue_frame(s, f);
	flush_or_close(s);
	return 0;
}

void session_send_error(struct session *s, int errnum, bool fatal, const char *fmt, ...)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Error e = IIOSTREAM__ERROR__INIT;
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	e.errnum = errnum;
	e.message = text;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_ERROR;
	env.error = &e;
	if (fatal) {
		log_warn("client %u (%s): %s; closing", s->id, s->peer, text);
		s->srv->protocol_errors++;
		session_unsubscribe(s);
		/* Nothing read from here on; what is queued, then the Error. */
		session_set_state(s, SESSION_DRAINING);
		uv_timer_start(&s->deadline, on_deadline, SESSION_DRAIN_TIMEOUT_MS, 0);
	}
	session_queue_msg(s, &env);
}

void session_unsubscribe(struct session *s)
{
	struct out_frame *f, *next;

	if (!s->sub.subscribed)
		return;
	/* Frames not started are dropped; a started one finishes, so that the
	 * byte stream stays framed. */
	for (f = TAILQ_FIRST(&s->outq); f; f = next) {
		next = TAILQ_NEXT(f, link);
		if (f->blk && f->sent == 0)
			remove_frame(s, f);
	}
	fanout_unsubscribe(&s->srv->fanout, &s->sub);
}

/* The session as a subscriber of the fan-out (subscriber.h) */

static struct session *sub_session(const struct subscriber *sub)
{
	return (struct session *)((const char *)sub - offsetof(struct session, sub));
}

static enum sub_offer session_offer(struct subscriber *sub, struct pool_block *b)
{
	struct session *s = sub_session(sub);
	struct out_frame *f;

	if (s->state != SESSION_READY)
		return SUB_PASS;
	f = calloc(1, sizeof(*f) + BLOCK_HEAD_MAX);
	if (!f)
		return SUB_SKIPPED;
	block_pool_ref(b);
	f->blk = b;
	enqueue_frame(s, f);
	flush_or_close(s);
	return SUB_TAKEN;
}

static uint32_t session_held(const struct subscriber *sub)
{
	const struct session *s = sub_session(sub);

	return s->queued_blocks + s->pinned_blocks;
}

static struct out_frame *oldest_droppable(const struct session *s)
{
	struct out_frame *f;

	TAILQ_FOREACH(f, &s->outq, link)
		if (f->blk && !f->encoded)
			return f;
	return NULL;
}

static uint32_t session_droppable(const struct subscriber *sub)
{
	const struct session *s = sub_session(sub);
	const struct out_frame *f;
	uint32_t n = 0;

	TAILQ_FOREACH(f, &s->outq, link)
		n += f->blk && !f->encoded;
	return n;
}

static void session_drop_oldest(struct subscriber *sub)
{
	struct session *s = sub_session(sub);
	struct out_frame *f = oldest_droppable(s);

	if (f)
		remove_frame(s, f);
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
	s->have_prev = false;
	fanout_subscribe(&s->srv->fanout, &s->sub, max_queue);
}

void session_say_bye(struct session *s, const char *reason)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Bye bye = IIOSTREAM__BYE__INIT;

	if (s->state == SESSION_CLOSED)
		return;
	if (s->state == SESSION_TLS) {
		session_close(s, reason); /* no channel to say it on yet */
		return;
	}
	session_unsubscribe(s);
	bye.reason = (char *)reason;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_BYE;
	env.bye = &bye;
	session_set_state(s, SESSION_DRAINING);
	uv_timer_start(&s->deadline, on_deadline, SESSION_DRAIN_TIMEOUT_MS, 0);
	session_queue_msg(s, &env);
}

/* Read what arrived and act on every whole frame in it. One recv() per
 * readiness event: a client that floods us must not keep the loop from
 * serving everyone else (uv_poll is level-triggered, so we come back). */
/* One read from the socket, or from TLS: > 0 bytes, 0 at the peer's close,
 * -EAGAIN when nothing is there, or another negative errno (*why says it). */
static ssize_t session_read(struct session *s, void *buf, size_t len, char *why, size_t whylen)
{
	size_t got = 0;
	ssize_t n;
	int ret;

	if (!s->ssl) {
		do
			n = recv(s->fd, buf, len, MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			snprintf(why, whylen, "%s", strerror(errno));
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		return n;
	}
	ERR_clear_error();
	errno = 0;
	ret = SSL_read_ex(s->ssl, buf, len, &got);
	if (s->own_records && tls_tx_pending(&s->tx)) {
		/* reading made OpenSSL write (an alert): it leaves with the
		 * next flush, or from session_close() if the read failed */
		s->want_write = true;
		update_poll(s);
	}
	if (ret > 0)
		return (ssize_t)got;
	switch (tls_result(s->ssl, ret, why, whylen)) {
	case TLS_IO_WANT_READ:
		return -EAGAIN;
	case TLS_IO_WANT_WRITE:
		s->want_write = true; /* poll says when; the read is retried */
		update_poll(s);
		return -EAGAIN;
	case TLS_IO_CLOSED:
		return 0;
	default:
		return -EPROTO;
	}
}

static void on_readable(struct session *s)
{
	size_t off = 0;
	char why[200];
	ssize_t n;

	if (s->rx_len == sizeof(s->rx))
		return; /* cannot happen: a whole frame fits and is parsed */
	n = session_read(s, s->rx + s->rx_len, sizeof(s->rx) - s->rx_len, why, sizeof(why));
	if (n == 0) {
		session_close(s, s->state == SESSION_DRAINING ? NULL : "peer closed");
		return;
	}
	if (n < 0) {
		if (n != -EAGAIN)
			session_close(s, why);
		return;
	}
	s->last_rx_ns = monotonic_ns();
	if (s->state == SESSION_DRAINING)
		return; /* discard: we are leaving */
	if (!s->ssl && s->state == SESSION_HANDSHAKE && s->rx_len == 0 && n >= 3 &&
	    s->rx[0] == 0x16 && s->rx[1] == 0x03) {
		/* A TLS record (ClientHello) where a Hello frame belongs. */
		session_send_error(s, EPROTO, true,
				   "TLS on the plain TCP port: use tcp:// here, or tls:// on the "
				   "TLS port");
		return;
	}
	s->rx_len += (size_t)n;
	while (s->state == SESSION_HANDSHAKE || s->state == SESSION_READY) {
		Iiostream__Envelope *env;
		long used = iios_frame_parse(s->rx + off, s->rx_len - off, s->srv->cfg->max_frame,
					     &env);

		if (used == IIOS_FRAME_PARTIAL)
			break;
		if (used < 0) {
			const uint8_t *p = s->rx + off;
			uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
				       (uint32_t)p[2] << 8 | p[3];

			if (used == -EMSGSIZE)
				session_send_error(s, EMSGSIZE, true,
						   "bad frame: length %u out of bounds (1..%u, "
						   "--max-frame)", len, s->srv->cfg->max_frame);
			else
				session_send_error(s, EBADMSG, true,
						   "bad frame: envelope does not decode");
			return;
		}
		off += (size_t)used;
		protocol_handle(s, env);
		iios_frame_free(env);
	}
	if (s->state == SESSION_CLOSED)
		return;
	memmove(s->rx, s->rx + off, s->rx_len - off);
	s->rx_len -= off;
}

/* Plain bytes on the TLS port: say so in plain protocol, then close. */
static void plain_on_tls_port(struct session *s)
{
	SSL_free(s->ssl);
	s->ssl = NULL;
	session_set_state(s, SESSION_HANDSHAKE);
	session_send_error(s, EPROTO, true,
			   "this port speaks TLS: connect with tls://, or use the plain TCP port");
}

/* The TLS handshake is done: who the client is, and who encrypts. */
static void tls_established(struct session *s)
{
	char desc[96], who[400];

	tls_peer_identity(s->ssl, &s->ident);
	s->ktls_tx = tls_kernel_sends(&s->srv->tls, s->ssl, s->tls_encrypt, sizeof(s->tls_encrypt));
	if (!s->ktls_tx) {
		/* OpenSSL seals from now on into our send buffer (tls_tx.h) */
		int err = tls_tx_attach(&s->tx, s->ssl);

		if (err) {
			s->srv->tls_handshake_failures++;
			log_error("client %u (%s): no TLS send buffer: %s", s->id, s->peer,
				  strerror(-err));
			session_close(s, NULL);
			return;
		}
		s->own_records = true;
	}
	tls_describe(s->ssl, desc, sizeof(desc));
	access_describe(&s->ident, who, sizeof(who));
	log_info("client %u (%s): %s, %s encrypts, client %s", s->id, s->peer, desc,
		 s->ktls_tx ? "the kernel" : "userspace", who);
	if (!s->ktls_tx)
		log_debug("client %u: %s", s->id, s->tls_encrypt);
	session_set_state(s, SESSION_HANDSHAKE);
	s->want_write = false;
	update_poll(s);
	uv_timer_start(&s->deadline, on_deadline, s->srv->cfg->handshake_timeout_ms, 0);
}

/* Advance the TLS handshake on the TLS port. */
static void tls_step(struct session *s)
{
	char why[240];
	uint8_t first;
	ssize_t n;

	if (!s->tls_first_byte_seen) {
		/* A TLS connection starts with a handshake record (22). */
		n = recv(s->fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0) {
			session_close(s, "closed before the TLS handshake");
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				session_close(s, strerror(errno));
			return;
		}
		if (first != 0x16) {
			plain_on_tls_port(s);
			return;
		}
		s->tls_first_byte_seen = true;
	}
	switch (tls_handshake(s->ssl, why, sizeof(why))) {
	case TLS_IO_DONE:
		tls_established(s);
		break;
	case TLS_IO_WANT_READ:
		s->want_write = false;
		update_poll(s);
		break;
	case TLS_IO_WANT_WRITE:
		s->want_write = true;
		update_poll(s);
		break;
	default:
		s->srv->tls_handshake_failures++;
		log_warn("client %u (%s): TLS handshake refused: %s", s->id, s->peer, why);
		/* OpenSSL has sent the alert. Closing now, with the client's
		 * next records unread, would send a reset that can destroy
		 * the alert in flight: end our side and wait for theirs. */
		s->lingering = true;
		shutdown(s->fd, SHUT_WR);
		s->want_write = false;
		update_poll(s);
		uv_timer_start(&s->deadline, on_deadline, SESSION_LINGER_MS, 0);
		break;
	}
}

/* After a refused handshake: discard input until the peer closes. */
static void linger_read(struct session *s)
{
	uint8_t sink[4096];
	ssize_t n = recv(s->fd, sink, sizeof(sink), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		session_close(s, NULL);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct session *s = h->data;
	int err;

	if (status == UV_EBADF && s->zc_sends) {
		/* libuv stops a poll handle on POLLERR and says EBADF; with
		 * zero-copy that is the error queue holding completions */
		err = zc_drain(s);
		if (err) {
			session_close(s, strerror(-err));
			return;
		}
		s->poll_events = 0; /* restart the stopped handle */
		update_poll(s);
		if (s->state == SESSION_DRAINING && all_sent(s))
			session_close(s, NULL);
		return;
	}
	if (status < 0) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);
		const char *why = uv_strerror(status);

		/* libuv says EBADF for POLLERR; the socket knows what it was */
		if (status == UV_EBADF &&
		    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr)
			why = strerror(soerr);
		if (s->state == SESSION_TLS && !s->lingering) {
			/* e.g. a client that refused our certificate and reset */
			s->srv->tls_handshake_failures++;
			log_warn("client %u (%s): TLS handshake failed: %s", s->id, s->peer, why);
			why = NULL;
		}
		session_close(s, why);
		return;
	}
	if (s->lingering) {
		linger_read(s);
		return;
	}
	if (s->state == SESSION_TLS) {
		tls_step(s);
		return;
	}
	if (!TAILQ_EMPTY(&s->pinned))
		release_pinned(s);
	if (events & UV_WRITABLE) {
		s->want_write = false;
		flush_or_close(s);
	}
	if ((events & UV_READABLE) && s->state != SESSION_CLOSED) {
		int more = 16;

		on_readable(s);
		/* Plaintext OpenSSL decrypted but we had no room for does not
		 * make the socket readable: take it now. */
		while (s->ssl && s->state != SESSION_CLOSED && SSL_pending(s->ssl) > 0 && more--)
			on_readable(s);
	}
}

void session_check_idle(struct session *s, uint64_t now_ns)
{
	uint64_t limit = (uint64_t)s->srv->cfg->idle_timeout_s * 1000000000ull;

	if (!limit || s->state != SESSION_READY)
		return; /* the handshake has its own deadline */
	if (!TAILQ_EMPTY(&s->outq)) {
		if (now_ns - s->last_tx_ns < limit)
			return;
		/* its socket took nothing for that long: it is stalled (the
		 * Error waits behind what it does not read; the drain timeout
		 * then closes) */
		log_warn("client %u (%s): took no byte for %u s (--idle-timeout): closing", s->id,
			 s->peer, s->srv->cfg->idle_timeout_s);
		s->srv->idle_closed++;
		session_send_error(s, ETIMEDOUT, true, "took no data for %u s: closing",
				   s->srv->cfg->idle_timeout_s);
		return;
	}
	if (s->sub.subscribed || now_ns - s->last_rx_ns < limit)
		return; /* waiting for the source is not idleness */
	log_info("client %u (%s): idle for %u s (--idle-timeout): closing", s->id, s->peer,
		 s->srv->cfg->idle_timeout_s);
	s->srv->idle_closed++;
	session_send_error(s, ETIMEDOUT, true, "idle for %u s: closing",
			   s->srv->cfg->idle_timeout_s);
}

static void on_deadline(uv_timer_t *t)
{
	struct session *s = t->data;

	if (s->lingering) {
		session_close(s, NULL);
		return;
	}
	if (s->state == SESSION_HANDSHAKE) {
		/* the connection is framed (plain, or TLS after its handshake):
		 * the client can read why, as from any other limit */
		session_send_error(s, ETIMEDOUT, true, "no Hello within %u ms (--handshake-timeout)",
				   s->srv->cfg->handshake_timeout_ms);
		return;
	}
	/* a TLS handshake unfinished has no record to carry an Error in */
	if (s->state == SESSION_TLS)
		s->srv->tls_handshake_failures++;
	session_close(s, s->state == SESSION_TLS ? "no TLS handshake in time (--handshake-timeout)"
						 : "did not read its last frames in time");
}

static void on_handle_closed(uv_handle_t *h)
{
	struct session *s = h->data;

	if (--s->open_handles > 0)
		return;
	SSL_free(s->ssl);
	tls_tx_free(&s->tx); /* after SSL_free: its BIO wrote into tx */
	close(s->fd);
	free(s);
}

void session_close(struct session *s, const char *why)
{
	struct server *srv = s->srv;
	struct out_frame *f, *next;

	if (s->state == SESSION_CLOSED)
		return;
	if (why)
		log_info("client %u (%s) closed: %s", s->id, s->peer, why);
	if (s->zc_sends)
		log_info("client %u: %s, %" PRIu64 " zero-copy sends, %" PRIu64 " completed (%" PRIu64
			 " copied by the kernel), %" PRIu64 " fell back on ENOBUFS", s->id,
			 session_transport(s), s->zc_sends, s->zc_completed, s->zc_copied,
			 s->zc_enobufs);
	session_unsubscribe(s);
	/* A clean end of a TLS session says so (close_notify), best effort;
	 * OpenSSL seals it (through the kernel with kTLS, into tx without). */
	if (s->ssl && s->state == SESSION_DRAINING && all_sent(s))
		SSL_shutdown(s->ssl);
	/* What OpenSSL sealed last, e.g. the alert after a record that failed
	 * authentication, goes out if the socket takes it now. */
	if (s->own_records && tls_tx_pending(&s->tx))
		tls_tx_send(&s->tx, s->fd);
	ERR_clear_error();
	session_set_state(s, SESSION_CLOSED);
	/* Every block goes back now, sent or not; the memory goes later. */
	for (f = TAILQ_FIRST(&s->outq); f; f = next) {
		next = TAILQ_NEXT(f, link);
		remove_frame(s, f);
	}
	if (!TAILQ_EMPTY(&s->pinned)) {
		/* The kernel still holds pages of blocks we are giving back to
		 * be refilled: reset the connection so nothing more of them is
		 * sent (a plain close would keep transmitting). */
		struct linger abort_now = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof(abort_now));
		shutdown(s->fd, SHUT_RDWR);
		for (f = TAILQ_FIRST(&s->pinned); f; f = next) {
			next = TAILQ_NEXT(f, link);
			TAILQ_REMOVE(&s->pinned, f, link);
			free_frame(f);
		}
		s->pinned_blocks = 0;
	}
	TAILQ_REMOVE(&srv->sessions, s, link);
	srv->nsessions--;
	uv_close((uv_handle_t *)&s->poll, on_handle_closed);
	uv_close((uv_handle_t *)&s->deadline, on_handle_closed);
	uv_close((uv_handle_t *)&s->ack_timer, on_handle_closed);
	server_session_gone(srv);
}

/* Is the peer this host (loopback, or one of our own addresses)? Then the
 * kernel delivers by copying, whatever the sender asks for. */
static bool peer_is_local(int fd)
{
	struct sockaddr_storage me = { 0 }, them = { 0 };
	socklen_t ml = sizeof(me), tl = sizeof(them);

	if (getsockname(fd, (struct sockaddr *)&me, &ml) || getpeername(fd, (struct sockaddr *)&them, &tl))
		return false;
	if (them.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&them, *b = (const void *)&me;

		return (ntohl(a->sin_addr.s_addr) >> 24) == 127 ||
		       a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (them.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&them, *b = (const void *)&me;

		return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
		       (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127) ||
		       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
	}
	return false;
}

/* Does the connection leave through a network device backed by hardware
 * (/sys/class/net/IF/device exists: a PCI, USB or platform NIC, virtio
 * included), rather than lo, veth, a bridge or a tunnel? */
static bool leaves_through_hardware(int fd)
{
	struct sockaddr_storage me = { 0 };
	socklen_t ml = sizeof(me);
	struct ifaddrs *ifs, *i;
	bool hw = false;

	if (getsockname(fd, (struct sockaddr *)&me, &ml) || getifaddrs(&ifs))
		return false;
	for (i = ifs; i; i = i->ifa_next) {
		char path[300];

		if (!i->ifa_addr || i->ifa_addr->sa_family != me.ss_family)
			continue;
		if (me.ss_family == AF_INET &&
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr !=
			    ((struct sockaddr_in *)&me)->sin_addr.s_addr)
			continue;
		if (me.ss_family == AF_INET6 &&
		    memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
			   &((struct sockaddr_in6 *)&me)->sin6_addr, sizeof(struct in6_addr)))
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/device", i->ifa_name);
		hw = access(path, F_OK) == 0;
		break;
	}
	freeifaddrs(ifs);
	return hw;
}

int session_create(struct server *srv, int fd, const char *peer, bool tls)
{
	struct session *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	if (tls) {
		s->ssl = tls_server_new(&srv->tls, fd);
		if (!s->ssl) {
			free(s);
			return -ENOMEM;
		}
	}
	s->srv = srv;
	s->fd = fd;
	s->id = ++srv->next_session_id;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	s->state = tls ? SESSION_TLS : SESSION_HANDSHAKE;
	TAILQ_INIT(&s->outq);
	TAILQ_INIT(&s->pinned);
	s->transport = srv->cfg->transport;
	s->auto_transport = s->transport == TRANSPORT_AUTO;
	if (tls) {
		/* TLS sends by copy: our sealed records, or kTLS's sendmsg */
		s->transport = TRANSPORT_COPY;
		s->auto_transport = false;
	} else if (s->auto_transport && peer_is_local(fd)) {
		/* the kernel copies loopback traffic anyway: zero-copy would
		 * only pin blocks longer and cost completions */
		s->transport = TRANSPORT_COPY;
	}
	if (s->transport == TRANSPORT_SENDFILE && !leaves_through_hardware(fd)) {
		/* A receiver in this kernel (loopback, veth, a bridge) gets the
		 * very skb that references the file's pages, and reads them
		 * when it gets round to it, long after our side saw the ack: a
		 * block refilled meanwhile arrives as new data (measured on
		 * loopback and across veth). Only a NIC that has sent the bytes
		 * makes the ack mean "done with the pages". */
		s->sendfile_refused = true;
		s->transport = TRANSPORT_COPY;
		log_info("client %u (%s): sendfile only through a hardware NIC (the receiver "
			 "here would share block pages); using copy sends", s->id, peer);
	}
	if (s->transport == TRANSPORT_AUTO || s->transport == TRANSPORT_ZEROCOPY) {
		int one = 1;

		if (setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) == 0) {
			s->transport = TRANSPORT_ZEROCOPY;
		} else {
			log_warn("client %u: SO_ZEROCOPY: %s; using copy sends", s->id,
				 strerror(errno));
			s->transport = TRANSPORT_COPY;
		}
	}
	err = uv_poll_init(srv->loop, &s->poll, fd);
	if (err) {
		SSL_free(s->ssl);
		free(s);
		return err;
	}
	uv_timer_init(srv->loop, &s->deadline);
	uv_timer_init(srv->loop, &s->ack_timer);
	s->poll.data = s;
	s->deadline.data = s;
	s->ack_timer.data = s;
	s->open_handles = 3;
	/* beyond --max-clients: served only until it can be told so, at Hello */
	s->over_limit = server_refuse_client(srv, peer, tls ? "TLS port" : "plain port");
	s->last_rx_ns = s->last_tx_ns = monotonic_ns();
	TAILQ_INSERT_TAIL(&srv->sessions, s, link);
	srv->nsessions++;
	srv->clients_total++;
	update_poll(s);
	uv_timer_start(&s->deadline, on_deadline, s->srv->cfg->handshake_timeout_ms, 0);
	log_info("client %u (%s) connected%s", s->id, s->peer, tls ? " to the TLS port" : "");
	return 0;
}

/* "tls" or "ktls" on the TLS port; else
 * "copy", "zerocopy", "sendfile", "sendfile:copy" (no hardware NIC); under
 * --transport auto "auto:copy" (local peer), "auto:zerocopy", or
 * "auto:copied" (zero-copy sends came back copied). */
const char *session_transport(const struct session *s)
{
	if (s->ssl)
		return s->ktls_tx ? "ktls" : "tls";
	if (s->sendfile_refused)
		return "sendfile:copy";
	if (!s->auto_transport)
		return transport_name(s->transport);
	if (s->transport == TRANSPORT_ZEROCOPY)
		return "auto:zerocopy";
	return s->zc_sends ? "auto:copied" : "auto:copy";
}
