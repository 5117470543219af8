/* SPDX-License-Identifier: MIT */
/*
 * The native protocol's front-end (core/frontend.h): its two listeners
 * (plain TCP and TLS) and the sessions they accepted.
 */
#ifndef IIOSTREAMD_NET_H
#define IIOSTREAMD_NET_H

#include <stdint.h>
#include <sys/queue.h>

#include "frontend.h"
#include "listener.h"

struct server;
struct session;
struct config;

struct net_server {
	struct frontend fe;        /* registered with the core while listening */
	struct server *srv;
	struct listener plain;     /* plain TCP (fd -1 with --listen off) */
	struct listener secure;    /* TLS (fd -1 without --listen-tls) */
	/* read-only outside net/ */
	TAILQ_HEAD(, session) sessions;
	uint32_t nsessions;
	uint32_t next_session_id;
};

/* Listen as cfg says (--listen, --listen-tls) and register with the core.
 * 0, or a negative errno (logged; nothing left listening). */
int net_start(struct net_server *net, struct server *srv, const struct config *cfg);

/* "listening on HOST:PORT", an IPv6 host in brackets (also for iiod's). */
void net_log_listening(const char *what, const char *host, uint16_t port);

#endif /* IIOSTREAMD_NET_H */
