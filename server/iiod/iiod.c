// SPDX-License-Identifier: MIT
/*
 * The iiod-compatible listener: see iiod.h for what it is, iiod_internal.h
 * for which file holds what, docs/iiod-compat.md for the protocol as
 * served. This file: the listener, a connection's life cycle (accept, its
 * timer, close) and the port as a front-end of the core.
 *
 * Wire rules (libiio 0.24's client): commands end in "\r\n" (a bare "\n" is
 * taken); every reply starts with a decimal integer and "\n", negative for
 * an errno; the client waits for each reply before its next command, except
 * that WRITE is followed at once by its value's bytes.
 *
 * Ownership: a connection is freed in one place, on_conn_closed(), once
 * its handles are closed: libuv has then called back every write, which
 * freed what it carried.
 */
#include "iiod.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container_of.h"
#include "iiod_internal.h"
#include "log.h"
#include "server.h"

static void iiod_stop(struct iiod_server *is);
static const struct frontend_ops iiod_fe_ops;
static void on_conn_timer(uv_timer_t *t);

/* ------------------------------------------------------------------ */
/* Connections                                                         */

static void on_conn_closed(uv_handle_t *h)
{
	struct iiod_conn *c = h->data;
	struct iiod_server *is = c->is;

	if (--c->open_handles > 0)
		return;
	TAILQ_REMOVE(&is->conns, c, link);
	is->nconns--;
	free(c);
	server_client_gone(is->srv);
}

/* Close a connection that was never served (refused, or not accepted). */
static void conn_discard(struct iiod_conn *c)
{
	TAILQ_INSERT_TAIL(&c->is->conns, c, link);
	c->is->nconns++;
	c->closing = true;
	c->open_handles = 1;
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

void iiod__conn_close(struct iiod_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	iiod__buffer_close(c);
	iiod__tx_close(c);
	log_info("iiod client %u (%s) closed: %" PRIu64 " bytes of samples sent", c->id, c->peer,
		 c->bytes_sent);
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

void iiod__conn_spoke(struct iiod_conn *c)
{
	if (c->got_command)
		return;
	/* From now on, the stall check once a second (on_conn_timer). */
	c->got_command = true;
	uv_timer_start(&c->timer, on_conn_timer, 1000, 1000);
}

/*
 * The limits of the iiostream ports that have a meaning here (see
 * docs/iiod-compat.md, "Limits"):
 *   --handshake-timeout: a connection must send its first line in time
 *     (libiio sends VERSION or PRINT at once), else it is closed;
 *   --idle-timeout: a socket that took no byte of what is queued for it for
 *     that long (a stalled reader) is closed, and the blocks its writes held
 *     go back. Idleness alone is not: libiio keeps its context connection
 *     silent while another one streams.
 * Both are read from the configuration in force (a SIGHUP changes them).
 * Runs at the first deadline, then once a second.
 */
static void on_conn_timer(uv_timer_t *t)
{
	struct iiod_conn *c = t->data;
	struct server *srv = c->is->srv;
	uint64_t limit = (uint64_t)srv->cfg->idle_timeout_s * 1000000000ull;
	uint64_t stalled;

	if (c->closing)
		return;
	if (!c->got_command) {
		srv->protocol_errors++;
		log_warn("iiod client %u (%s): no command within %u ms (--handshake-timeout): "
			 "closing", c->id, c->peer, srv->cfg->handshake_timeout_ms);
		iiod__conn_close(c);
		return;
	}
	stalled = iiod__stalled_ns(c, monotonic_ns());
	if (!limit || stalled < limit)
		return;
	srv->idle_closed++;
	srv->protocol_errors++;
	log_warn("iiod client %u (%s): took no byte for %u s (--idle-timeout), %zu bytes "
		 "waiting: closing", c->id, c->peer, srv->cfg->idle_timeout_s,
		 iiod__write_queue(c));
	iiod__conn_close(c);
}

/* c->peer: the client's address and port, "?" if unknown. */
static void name_peer(struct iiod_conn *c)
{
	struct sockaddr_storage ss = { 0 };
	int sslen = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";

	snprintf(c->peer, sizeof(c->peer), "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) != 0)
		return;
	if (ss.ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
	else
		uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
	snprintf(c->peer, sizeof(c->peer), "%s:%u", host,
		 ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

/* An accepted connection the core lets in: counted, its timer started (the
 * first command's deadline), its commands read. */
static void conn_serve(struct iiod_server *is, struct iiod_conn *c, uv_loop_t *loop)
{
	TAILQ_INSERT_TAIL(&is->conns, c, link);
	is->nconns++;
	is->connections_total++;
	c->open_handles = 2;
	iiod__output_init(c);
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	uv_timer_start(&c->timer, on_conn_timer, is->srv->cfg->handshake_timeout_ms, 1000);
	log_debug("iiod client %u (%s) connected", c->id, c->peer);
	iiod__input_start(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct iiod_server *is = server->data;
	struct iiod_conn *c;

	if (status < 0) {
		log_warn("iiod: accept: %s", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->is = is;
	uv_tcp_init(server->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_discard(c);
		return;
	}
	c->id = ++is->next_id;
	name_peer(c);
	uv_tcp_nodelay(&c->tcp, 1);
	if (server_refuse_client(is->srv, c->peer, "iiod port")) {
		/* -EBUSY where libiio waits for its first reply: its context
		 * creation fails with "Device or resource busy" */
		uv_buf_t busy = uv_buf_init((char *)"-16\n", 4);

		uv_try_write((uv_stream_t *)&c->tcp, &busy, 1);
		conn_discard(c);
		return;
	}
	is->srv->clients_total++;
	c->connected_ns = monotonic_ns();
	conn_serve(is, c, server->loop);
}

/* ------------------------------------------------------------------ */
/* The listener                                                        */

/* Is the listener reachable from other machines (not loopback)? */
static bool address_is_public(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) != 127;
	if (ss->ss_family == AF_INET6)
		return !IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return false;
}
int iiod_start(struct iiod_server *is, struct server *srv, const char *host, uint16_t port)
{
	struct sockaddr_storage addr;
	struct sockaddr_storage bound;
	int len = sizeof(bound), err;

	memset(is, 0, sizeof(*is));
	is->fe.ops = &iiod_fe_ops;
	is->srv = srv;
	TAILQ_INIT(&is->conns);
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0) {
		log_error("--iiod-listen: '%s' is not an IPv4 or IPv6 address", host);
		return -EINVAL;
	}
	uv_tcp_init(srv->loop, &is->listener);
	is->listener.data = is;
	is->listening = true;
	err = uv_tcp_bind(&is->listener, (struct sockaddr *)&addr, 0);
	if (!err)
		err = uv_listen((uv_stream_t *)&is->listener, 64, on_connection);
	if (err) {
		log_error("--iiod-listen %s:%u: %s", host, port, uv_strerror(err));
		iiod_stop(is);
		return err;
	}
	uv_tcp_getsockname(&is->listener, (struct sockaddr *)&bound, &len);
	is->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
	log_info("listening for iiod clients (libiio ip:) on %s:%u", host, is->port);
	if (address_is_public(&bound))
		log_warn("the iiod port %s:%u is open to the network: plain TCP, no encryption, "
			 "no client authentication (as iiod's own); prefer --listen-tls", host,
			 is->port);
	iiod__warn_access(is);
	server_add_frontend(srv, &is->fe);
	return 0;
}

int iiod_listen_fd(const struct iiod_server *is)
{
	uv_os_fd_t fd;

	if (!is->listening || uv_fileno((const uv_handle_t *)&is->listener, &fd) != 0)
		return -1;
	return fd;
}

static void iiod_stop(struct iiod_server *is)
{
	struct iiod_conn *c, *next;

	if (is->listening) {
		is->listening = false;
		uv_close((uv_handle_t *)&is->listener, NULL);
	}
	for (c = TAILQ_FIRST(&is->conns); c; c = next) {
		next = TAILQ_NEXT(c, link);
		iiod__conn_close(c);
	}
}

/* The port as a front-end of the core (frontend.h) */

static struct iiod_server *fe_iiod(const struct frontend *fe)
{
	return container_of(fe, struct iiod_server, fe);
}

static void fe_counters(const struct frontend *fe, struct frontend_counters *out)
{
	const struct iiod_server *is = fe_iiod(fe);

	*out = (struct frontend_counters){ .clients = is->nconns,
					   .command_errors = is->command_errors };
}

/* Stop listening and close every connection; server_client_gone() is
 * called as each one goes. */
static void fe_shutdown(struct frontend *fe)
{
	iiod_stop(fe_iiod(fe));
}

static void fe_access_changed(struct frontend *fe)
{
	iiod__warn_access(fe_iiod(fe));
	iiod__recheck_access(fe_iiod(fe));
}

static void fe_foreach_client(const struct frontend *fe,
			      void (*fn)(const struct client_brief *c, void *arg), void *arg)
{
	struct iiod_conn *c;

	uint64_t now = monotonic_ns();

	TAILQ_FOREACH(c, &fe_iiod(fe)->conns, link) {
		double age_s = (double)(now - c->connected_ns) / 1e9;
		struct client_brief b = {
			.id = c->id,
			.peer = c->peer,
			.subscribed = c->open,
			.blocks_sent = c->blocks_sent,
			.bytes_sent = c->bytes_sent,
			.blocks_skipped = c->sub.blocks_skipped,
			.queue_blocks = c->q_len + c->held_len,
			.transport = "iiod",
			.connection = "iiod",
			.rate_bytes_per_s = age_s > 0 ? (double)c->bytes_sent / age_s : 0,
		};

		fn(&b, arg);
	}
}

static const struct frontend_ops iiod_fe_ops = {
	.name = "iiod",
	.counters = fe_counters,
	.shutdown = fe_shutdown,
	.access_changed = fe_access_changed,
	.foreach_client = fe_foreach_client,
};
