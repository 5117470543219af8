/* SPDX-License-Identifier: MIT */
/*
 * A listening TCP socket: accepts clients and hands them to sessions. The
 * daemon has up to two, plain TCP and TLS; a session knows which one it
 * came from, the TLS one starting with a TLS handshake.
 */
#ifndef IIOSTREAMD_LISTENER_H
#define IIOSTREAMD_LISTENER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct net_server;

struct listener {
	struct net_server *net;  /* whose sessions it makes */
	bool tls;                  /* clients start with a TLS handshake */
	int fd;                    /* -1 when not listening */
	uint16_t port;             /* port bound */
	uv_poll_t poll;
	uv_timer_t pause;          /* out of fds: accepting resumes after it */
};

/* Bind and listen on host:port (port 0: any free port), watch it with the
 * server's loop. 0 or a negative errno (logged). */
int listener_start(struct listener *l, struct net_server *net, const char *host, uint16_t port,
		   bool tls);

/* Does the listener accept connections from beyond this host? */
bool listener_is_public(const struct listener *l);

/* Stop accepting; the socket closes with its poll handle. */
void listener_stop(struct listener *l);

#endif /* IIOSTREAMD_LISTENER_H */
