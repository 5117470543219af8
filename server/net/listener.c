// SPDX-License-Identifier: MIT
/* Listening sockets: see listener.h. */
#define _GNU_SOURCE
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "server.h"
#include "session.h"

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, len, "%s:%u", host, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, len, "[%s]:%u", host, port);
	} else {
		snprintf(out, len, "unknown");
	}
}

#define LISTENER_PAUSE_MS 100

static void on_accept(uv_poll_t *h, int status, int events);

static void on_pause_over(uv_timer_t *t)
{
	struct listener *l = t->data;

	uv_poll_start(&l->poll, UV_READABLE, on_accept);
}

static void on_accept(uv_poll_t *h, int status, int events)
{
	struct listener *l = h->data;
	struct server *srv = l->net->srv;

	(void)events;
	if (status < 0) {
		log_error("listener: %s", uv_strerror(status));
		return;
	}
	for (;;) {
		struct sockaddr_storage ss = { 0 };
		socklen_t sl = sizeof(ss);
		char peer[64];
		int one = 1, err;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* The connection waits in the backlog; polling on
				 * would spin, so pause accepting for a while. */
				log_warn("listener: accept: %s; pausing %d ms", strerror(errno),
					 LISTENER_PAUSE_MS);
				uv_poll_stop(&l->poll);
				uv_timer_start(&l->pause, on_pause_over, LISTENER_PAUSE_MS, 0);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_warn("listener: accept: %s", strerror(errno));
			}
			return;
		}
		/* Control replies are small: send them without Nagle's delay. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		format_peer(&ss, peer, sizeof(peer));
		/* Beyond --max-clients a few more are let in, to be told so at
		 * Hello; past those, the connection is just closed. */
		if (server_limited_clients(srv) >= srv->cfg->max_clients + 16) {
			srv->clients_refused++;
			close(fd);
			continue;
		}
		err = session_create(l->net, fd, peer, l->tls);
		if (err) {
			log_warn("listener: dropping %s: %s", peer, uv_strerror(err));
			close(fd);
		}
	}
}

int listener_start(struct listener *l, struct net_server *net, const char *host, uint16_t port,
		   bool tls)
{
	struct server *srv = net->srv;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	const char *flag = tls ? "--listen-tls" : "--listen";
	struct addrinfo *ai;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
		struct sockaddr_storage ss;
	} bound = { .ss = { 0 } };
	socklen_t sl = sizeof(bound);
	char portstr[8];
	int fd, one = 1, err;

	l->net = net;
	l->tls = tls;
	l->fd = -1;
	snprintf(portstr, sizeof(portstr), "%u", port);
	err = getaddrinfo(host, portstr, &hints, &ai);
	if (err) {
		log_error("%s: cannot resolve '%s': %s", flag, host, gai_strerror(err));
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
		log_error("%s %s:%u: %s", flag, host, port, strerror(errno));
		goto err_close;
	}
	l->port = ntohs(bound.sa.sa_family == AF_INET6 ? bound.in6.sin6_port : bound.in.sin_port);
	err = uv_poll_init(srv->loop, &l->poll, fd);
	if (err)
		goto err_close;
	l->fd = fd;
	l->poll.data = l;
	uv_timer_init(srv->loop, &l->pause);
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

bool listener_is_public(const struct listener *l)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof(ss);

	if (l->fd < 0 || getsockname(l->fd, (struct sockaddr *)&ss, &sl) < 0)
		return false;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) != 127;
	if (ss.ss_family == AF_INET6)
		return !IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
	return false;
}

static void on_listen_closed(uv_handle_t *h)
{
	struct listener *l = h->data;

	close(l->fd);
	l->fd = -1;
}

void listener_stop(struct listener *l)
{
	if (l->fd >= 0 && !uv_is_closing((uv_handle_t *)&l->poll)) {
		uv_close((uv_handle_t *)&l->pause, NULL);
		uv_close((uv_handle_t *)&l->poll, on_listen_closed);
	}
}
