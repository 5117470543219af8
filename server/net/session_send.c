// SPDX-License-Identifier: MIT
/* What a session sends: control messages, Error, Bye, and flushing its
 * send queue through its transport (server/tx/). See session.h. */
#define _GNU_SOURCE
#include "session_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#include "log.h"
#include "server.h"

void session__end_if_drained(struct session *s)
{
	if (s->state == SESSION_DRAINING && tx_all_sent(&s->tx))
		session_close(s, NULL);
}

static void on_ack_timer(uv_timer_t *t)
{
	struct session *s = t->data;

	session__release(s);
	session__end_if_drained(s);
}

/* Poll the transport's release() while frames are pinned, if it asks
 * (sendfile: an ack raises no event); stop once nothing is pinned. */
static void watch_pinned(struct session *s)
{
	unsigned ms = s->tx.ops->poll_ms;

	if (TAILQ_EMPTY(&s->tx.q.pinned))
		uv_timer_stop(&s->ack_timer);
	else if (ms && !uv_is_active((uv_handle_t *)&s->ack_timer))
		uv_timer_start(&s->ack_timer, on_ack_timer, ms, ms);
}

void session__release(struct session *s)
{
	tx_release(&s->tx);
	watch_pinned(s);
}

/* Send what the socket takes. Returns 0, or a negative errno if the
 * connection is dead. */
static int flush(struct session *s)
{
	int err = s->tx.ops->send(&s->tx);

	watch_pinned(s);
	if (err == -EAGAIN) {
		s->want_write = true; /* poll says when there is room */
		session__update_poll(s);
		return 0;
	}
	if (err)
		return err;
	/* the queue is empty: stop watching for room; a draining session ends */
	s->want_write = false;
	session__update_poll(s);
	session__end_if_drained(s);
	return 0;
}

void session__flush_or_close(struct session *s)
{
	int err;

	if (s->want_write || s->state == SESSION_CLOSED)
		return; /* poll will tell us when the socket has room */
	err = flush(s);
	if (err)
		session_close(s, strerror(-err));
}

int session_queue_msg(struct session *s, const Iiostream__Envelope *env)
{
	static uint8_t buf[IIOS_FRAME_PREFIX + IIOS_FRAME_MAX_ENVELOPE];
	long n;
	int err;

	if (s->state == SESSION_CLOSED)
		return -EPIPE;
	n = iios_frame_encode(env, buf, sizeof(buf), IIOS_FRAME_MAX_ENVELOPE);
	if (n < 0)
		return (int)n;
	if (s->tx.q.queued_control + (size_t)n > s->srv->cfg->max_send_queue) {
		/* Its socket is full of replies it does not read: an Error would
		 * wait behind them, so the connection just closes. */
		s->srv->protocol_errors++;
		session_close(s, "sends requests but does not read the replies");
		return -ENOBUFS;
	}
	err = tx_push_control(&s->tx, buf, (size_t)n);
	if (err)
		return err;
	session__flush_or_close(s);
	return 0;
}

/* An Error as an Envelope, sent (queued) now. */
static void queue_error(struct session *s, int errnum, const char *text)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Error e = IIOSTREAM__ERROR__INIT;

	e.errnum = errnum;
	e.message = (char *)text;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_ERROR;
	env.error = &e;
	session_queue_msg(s, &env);
}

void session__end_with_error(struct session *s, int errnum, const char *text)
{
	session_unsubscribe(s, NULL);
	/* Nothing read from here on; what is queued, then the Error. */
	session_set_state(s, SESSION_DRAINING);
	uv_timer_start(&s->deadline, session__on_deadline, SESSION_DRAIN_TIMEOUT_MS, 0);
	queue_error(s, errnum, text);
}

void session_send_error(struct session *s, int errnum, bool fatal, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!fatal) {
		queue_error(s, errnum, text);
		return;
	}
	log_warn("client %u (%s): %s; closing", s->id, s->peer, text);
	s->srv->protocol_errors++;
	session__end_with_error(s, errnum, text);
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
	session_unsubscribe(s, NULL);
	bye.reason = (char *)reason;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_BYE;
	env.bye = &bye;
	session_set_state(s, SESSION_DRAINING);
	uv_timer_start(&s->deadline, session__on_deadline, SESSION_DRAIN_TIMEOUT_MS, 0);
	session_queue_msg(s, &env);
}
