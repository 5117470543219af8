// SPDX-License-Identifier: MIT
/* The TCP listener: see listener.h. */
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
	struct server *srv = t->data;

	uv_poll_start(&srv->listen_poll, UV_READABLE, on_accept);
}

static void on_accept(uv_poll_t *h, int status, int events)
{
	struct server *srv = h->data;

	(void)events;
	if (status < 0) {
		log_error("listener: %s", uv_strerror(status));
		return;
	}
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char peer[64];
		int one = 1, err;
		int fd = accept4(srv->listen_fd, (struct sockaddr *)&ss, &sl,
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
				uv_poll_stop(&srv->listen_poll);
				uv_timer_start(&srv->accept_pause, on_pause_over, LISTENER_PAUSE_MS, 0);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_warn("listener: accept: %s", strerror(errno));
			}
			return;
		}
		/* Control replies are small: send them without Nagle's delay. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		format_peer(&ss, peer, sizeof(peer));
		err = session_create(srv, fd, peer);
		if (err) {
			log_warn("listener: dropping %s: %s", peer, uv_strerror(err));
			close(fd);
		}
	}
}

int listener_start(struct server *srv, const char *host, uint16_t port, uint16_t *bound_port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char portstr[8];
	int fd, one = 1, err;

	snprintf(portstr, sizeof(portstr), "%u", port);
	err = getaddrinfo(host, portstr, &hints, &ai);
	if (err) {
		log_error("listen: cannot resolve '%s': %s", host, gai_strerror(err));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto err_free_ai;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		err = -errno;
		log_error("listen: %s:%u: %s", host, port, strerror(errno));
		goto err_close;
	}
	*bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						      : ((struct sockaddr_in *)&ss)->sin_port);
	err = uv_poll_init(srv->loop, &srv->listen_poll, fd);
	if (err)
		goto err_close;
	srv->listen_fd = fd;
	srv->listen_poll.data = srv;
	uv_timer_init(srv->loop, &srv->accept_pause);
	srv->accept_pause.data = srv;
	uv_poll_start(&srv->listen_poll, UV_READABLE, on_accept);
	freeaddrinfo(ai);
	return 0;

err_close:
	close(fd);
err_free_ai:
	freeaddrinfo(ai);
	return err;
}

static void on_listen_closed(uv_handle_t *h)
{
	struct server *srv = h->data;

	close(srv->listen_fd);
	srv->listen_fd = -1;
}

void listener_stop(struct server *srv)
{
	if (srv->listen_fd >= 0 && !uv_is_closing((uv_handle_t *)&srv->listen_poll)) {
		uv_close((uv_handle_t *)&srv->accept_pause, NULL);
		uv_close((uv_handle_t *)&srv->listen_poll, on_listen_closed);
	}
}
