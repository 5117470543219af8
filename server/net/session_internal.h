/* SPDX-License-Identifier: MIT */
/* What the files of a session (net/session*.c) share, and nobody else
 * uses: see session.h for which file holds what. */
#ifndef IIOSTREAMD_SESSION_INTERNAL_H
#define IIOSTREAMD_SESSION_INTERNAL_H

#include "session.h"

/* Watch the socket for what the session waits for now (readable, and
 * writable while want_write). session.c */
void session__update_poll(struct session *s);

/* The deadline timer's callback: handshake, linger and drain timeouts.
 * session.c */
void session__on_deadline(uv_timer_t *t);

/* The socket is writable, or something was queued: send what it takes;
 * close the session if the connection is dead. session_send.c */
void session__flush_or_close(struct session *s);

/* Release pinned frames the kernel is done with; watch for acks while
 * the transport needs polling. session_send.c */
void session__release(struct session *s);

/* A draining session whose queue is all sent closes. session_send.c */
void session__end_if_drained(struct session *s);

/* End the session with an Error: its subscriptions end (unsent block
 * frames dropped), nothing more is read, and it closes once the Error is
 * sent (or after the drain timeout). No log, no count: the caller's.
 * session_send.c */
void session__end_with_error(struct session *s, int errnum, const char *text);

/* The socket is readable in a framed state: read and handle. session_rx.c */
void session__readable(struct session *s);

/* The socket's event during the TLS handshake. session_tls.c */
void session__tls_step(struct session *s);

/* After a refused handshake: discard input until the peer closes.
 * session_tls.c */
void session__linger_read(struct session *s);

#endif /* IIOSTREAMD_SESSION_INTERNAL_H */
