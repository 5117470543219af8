/* SPDX-License-Identifier: MIT */
/*
 * The whole daemon, put together: the core (core/server.h) and its
 * front-ends, the native protocol's (net/net.h), the iiod port's
 * (iiod/iiod.h) and the DNS-SD announcements. This is the only place that
 * knows every layer; main.c runs it.
 */
#ifndef IIOSTREAMD_DAEMON_H
#define IIOSTREAMD_DAEMON_H

#include <uv.h>

#include "frontend.h"
#include "iiod.h"
#include "net.h"
#include "server.h"

struct advertise;
struct http_server;

struct daemon {
	struct server srv;
	struct net_server net;
	struct iiod_server iiod;   /* --iiod-listen (not registered without) */
	struct http_server *http;  /* --http-listen (NULL without) */
	struct frontend dns_sd;    /* withdraws the announcements at shutdown */
	struct advertise *adv;     /* DNS-SD announcements, NULL if none */
};

/* Start the core, listen on every port cfg names, write --port-file,
 * announce, and tell systemd we are ready. 0, or a negative errno (logged;
 * what had started is shutting down: run the loop until it returns). */
int daemon_start(struct daemon *d, uv_loop_t *loop, const struct config *cfg);

/* After the loop has returned (every handle closed), whether it started or
 * not: free what daemon_start() allocated. */
void daemon_end(struct daemon *d);

#endif /* IIOSTREAMD_DAEMON_H */
