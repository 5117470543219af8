// SPDX-License-Identifier: MIT
/*
 * The HTTP front-end: its listeners, its route table, and the front-end
 * ops the core calls (frontend.h). See http_server.h; http_internal.h for
 * which file holds what.
 */
#define _GNU_SOURCE
#include "http_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "container_of.h"
#include "log.h"
#include "server.h"

static const struct frontend_ops http_fe_ops;

/* ------------------------------------------------------------------ */
/* Routes                                                              */

int http_server_route(struct http_server *hs, const char *method, const char *path,
		      http_handler_fn fn, void *ctx)
{
	struct http_route *r;
	size_t i;

	if (strlen(method) > HTTP_MAX_METHOD || path[0] != '/')
		return -EINVAL;
	for (i = 0; i < hs->nroutes; i++)
		if (strcmp(hs->routes[i].method, method) == 0 && strcmp(hs->routes[i].path, path) == 0)
			return -EEXIST;
	r = realloc(hs->routes, (hs->nroutes + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	hs->routes = r;
	r = &hs->routes[hs->nroutes];
	*r = (struct http_route){ .fn = fn, .ctx = ctx, .path = strdup(path) };
	if (!r->path)
		return -ENOMEM;
	snprintf(r->method, sizeof(r->method), "%s", method);
	hs->nroutes++;
	return 0;
}

const struct http_route *http__route_find(const struct http_server *hs, const char *method,
					  const char *path, bool *path_known, char *allow,
					  size_t allow_len)
{
	const struct http_route *head_via_get = NULL;
	size_t i, at = 0;

	*path_known = false;
	if (allow_len)
		allow[0] = '\0';
	for (i = 0; i < hs->nroutes; i++) {
		const struct http_route *r = &hs->routes[i];
		bool is_get = strcmp(r->method, "GET") == 0;

		if (strcmp(r->path, path) != 0)
			continue;
		if (strcmp(r->method, method) == 0)
			return r;
		if (is_get && strcmp(method, "HEAD") == 0)
			head_via_get = r; /* unless HEAD has a route of its own */
		*path_known = true;
		if (at < allow_len)
			at += (size_t)snprintf(allow + at, allow_len - at, "%s%s%s", at ? ", " : "",
					       r->method, is_get ? ", HEAD" : "");
	}
	return head_via_get;
}

/* ------------------------------------------------------------------ */
/* Listeners                                                           */

#define HTTP_PAUSE_MS 100

static void on_accept(uv_poll_t *h, int status, int events);

static void on_pause_over(uv_timer_t *t)
{
	struct http_listener *l = t->data;

	if (!l->hs->stopping)
		uv_poll_start(&l->poll, UV_READABLE, on_accept);
}

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(in->sin_port));
	} else {
		snprintf(out, len, "unknown");
	}
}

/* Accept what waits (libuv's poll is level-triggered: what is left comes
 * back at the next turn). */
static void on_accept(uv_poll_t *h, int status, int events)
{
	struct http_listener *l = h->data;
	int i;

	(void)events;
	if (status < 0) {
		log_error("http: listener: %s", uv_strerror(status));
		return;
	}
	for (i = 0; i < 16; i++) {
		struct sockaddr_storage ss = { 0 };
		socklen_t sl = sizeof(ss);
		char peer[64];
		int one = 1;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_warn("http: accept: %s; pausing %d ms", strerror(errno),
					 HTTP_PAUSE_MS);
				uv_poll_stop(&l->poll);
				uv_timer_start(&l->pause, on_pause_over, HTTP_PAUSE_MS, 0);
			}
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		format_peer(&ss, peer, sizeof(peer));
		http__conn_accept(l->hs, fd, peer);
	}
}

static int listener_start(struct http_listener *l, uv_loop_t *loop, const char *host,
			  uint16_t port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	union { /* what getsockname() gives, read as the family it is */
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
		struct sockaddr_storage ss;
	} bound = { .ss = { 0 } };
	socklen_t sl = sizeof(bound);
	struct addrinfo *ai;
	char portstr[8];
	int fd, one = 1, err;

	snprintf(portstr, sizeof(portstr), "%u", port);
	err = getaddrinfo(host, portstr, &hints, &ai);
	if (err) {
		log_error("--http-listen: cannot resolve '%s': %s", host, gai_strerror(err));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto err_free_ai;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, &bound.sa, &sl) < 0) {
		err = -errno;
		log_error("--http-listen %s:%u: %s", host, port, strerror(errno));
		goto err_close;
	}
	l->port = ntohs(bound.sa.sa_family == AF_INET6 ? bound.in6.sin6_port : bound.in.sin_port);
	err = uv_poll_init(loop, &l->poll, fd);
	if (err)
		goto err_close;
	l->fd = fd;
	l->poll.data = l;
	uv_timer_init(loop, &l->pause);
	l->pause.data = l;
	uv_poll_start(&l->poll, UV_READABLE, on_accept);
	freeaddrinfo(ai);
	return 0;

err_close:
	close(fd);
err_free_ai:
	freeaddrinfo(ai);
	return err;
}

static void on_listener_closed(uv_handle_t *h)
{
	struct http_listener *l = h->data;

	close(l->fd);
	l->fd = -1;
}

static void listener_stop(struct http_listener *l)
{
	if (l->fd >= 0 && !uv_is_closing((uv_handle_t *)&l->poll)) {
		uv_close((uv_handle_t *)&l->pause, NULL);
		uv_close((uv_handle_t *)&l->poll, on_listener_closed);
	}
}

/* ------------------------------------------------------------------ */
/* Life                                                                */

struct http_server *http_server_new(struct server *srv)
{
	struct http_server *hs = calloc(1, sizeof(*hs));
	unsigned i;

	if (!hs)
		return NULL;
	hs->fe.ops = &http_fe_ops;
	hs->srv = srv;
	TAILQ_INIT(&hs->conns);
	for (i = 0; i < HTTP_MAX_LISTENERS; i++)
		hs->listeners[i] = (struct http_listener){ .hs = hs, .fd = -1 };
	return hs;
}

/* Is the address reachable from other machines? */
static bool host_is_public(const char *host)
{
	return strncmp(host, "127.", 4) != 0 && strcmp(host, "::1") != 0 &&
	       strcmp(host, "localhost") != 0;
}

int http_server_listen(struct http_server *hs)
{
	const struct config *cfg = hs->srv->cfg;
	const char *scheme = hs->srv->tls.ctx ? "https" : "http";
	unsigned i;
	int err;

	for (i = 0; i < cfg->http_listen.n && i < HTTP_MAX_LISTENERS; i++) {
		const char *host = cfg->http_listen.host[i];

		err = listener_start(&hs->listeners[i], hs->srv->loop, host,
				     cfg->http_listen.port[i]);
		if (err) {
			while (i--)
				listener_stop(&hs->listeners[i]);
			return err;
		}
		hs->nlisteners++;
		log_info("listening for HTTP on %s://%s%s%s:%u/", scheme,
			 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
			 hs->listeners[i].port);
		if (!hs->srv->tls.ctx && host_is_public(host))
			log_warn("the HTTP port %s:%u is open to the network without TLS: anyone "
				 "there can read the status and metrics; configure --listen-tls "
				 "to serve HTTPS", host, hs->listeners[i].port);
	}
	server_add_frontend(hs->srv, &hs->fe);
	hs->registered = true;
	return 0;
}

uint16_t http_server_port(const struct http_server *hs, unsigned i)
{
	return hs && i < hs->nlisteners ? hs->listeners[i].port : 0;
}

void http_server_free(struct http_server *hs)
{
	size_t i;

	if (!hs)
		return;
	for (i = 0; i < hs->nroutes; i++)
		free(hs->routes[i].path);
	free(hs->routes);
	free(hs);
}

/* ------------------------------------------------------------------ */
/* The front-end's ops (frontend.h)                                    */

static struct http_server *fe_http(const struct frontend *fe)
{
	return container_of(fe, struct http_server, fe);
}

static void fe_counters(const struct frontend *fe, struct frontend_counters *out)
{
	const struct http_server *hs = fe_http(fe);

	*out = (struct frontend_counters){
		.clients = hs->nconns + hs->nrefusing,
		.own_limits = hs->nconns + hs->nrefusing,
		.command_errors = hs->errors_total,
	};
}

/* Stop accepting; every connection ends as soon as it may (a reply being
 * sent is finished, a WebSocket is closed with 1001), within HTTP_STOP_MS. */
static void fe_shutdown(struct frontend *fe)
{
	struct http_server *hs = fe_http(fe);
	struct http_conn *c, *next;
	unsigned i;

	hs->stopping = true;
	for (i = 0; i < hs->nlisteners; i++)
		listener_stop(&hs->listeners[i]);
	for (c = TAILQ_FIRST(&hs->conns); c; c = next) {
		next = TAILQ_NEXT(c, link);
		http__conn_stop(c);
	}
}

static void fe_access_changed(struct frontend *fe)
{
	struct http_server *hs = fe_http(fe);
	struct http_conn *c, *next;

	for (c = TAILQ_FIRST(&hs->conns); c; c = next) {
		next = TAILQ_NEXT(c, link);
		http__conn_recheck(c);
	}
}

static void fe_status(const struct frontend *fe, char *buf, size_t len)
{
	const struct http_server *hs = fe_http(fe);

	if (hs->nlisteners)
		snprintf(buf, len, "; %s port %u", hs->srv->tls.ctx ? "HTTPS" : "HTTP",
			 hs->listeners[0].port);
	else if (len)
		buf[0] = '\0';
}

static const struct frontend_ops http_fe_ops = {
	.name = "http",
	.counters = fe_counters,
	.shutdown = fe_shutdown,
	.access_changed = fe_access_changed,
	.status = fe_status,
};

const char *http_request_header(const struct http_request *req, const char *name)
{
	unsigned i;

	for (i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}
