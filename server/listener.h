/* SPDX-License-Identifier: MIT */
/* The TCP listening socket: accepts clients and hands them to sessions. */
#ifndef IIOSTREAMD_LISTENER_H
#define IIOSTREAMD_LISTENER_H

#include <stdint.h>

struct server;

/* Bind and listen on host:port (port 0: any free port), watch it with the
 * server's loop. *bound_port gets the port bound. 0 or a negative errno. */
int listener_start(struct server *srv, const char *host, uint16_t port, uint16_t *bound_port);

/* Stop accepting; the socket closes with its poll handle. */
void listener_stop(struct server *srv);

#endif /* IIOSTREAMD_LISTENER_H */
