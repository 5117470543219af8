// SPDX-License-Identifier: MIT
/* The native protocol's front-end: see net.h. */
#include "net.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "container_of.h"
#include "log.h"
#include "server.h"
#include "session.h"

static struct net_server *fe_net(const struct frontend *fe)
{
	return container_of(fe, struct net_server, fe);
}

static void net_counters(const struct frontend *fe, struct frontend_counters *out)
{
	*out = (struct frontend_counters){ .clients = fe_net(fe)->nsessions };
}

/* Shutdown: stop accepting, Bye to every session (each closes once sent). */
static void net_shutdown(struct frontend *fe)
{
	struct net_server *net = fe_net(fe);
	struct session *s, *next;

	listener_stop(&net->plain);
	listener_stop(&net->secure);
	for (s = TAILQ_FIRST(&net->sessions); s; s = next) {
		next = TAILQ_NEXT(s, link);
		session_say_bye(s, "server shutting down");
	}
}

static void net_tick(struct frontend *fe, uint64_t now_ns)
{
	struct net_server *net = fe_net(fe);
	struct session *s, *next;

	for (s = TAILQ_FIRST(&net->sessions); s; s = next) {
		next = TAILQ_NEXT(s, link);
		session_sample_rate(s, now_ns);
		session_check_idle(s, now_ns);
	}
}

/* SIGHUP changed the access lists: each session keeps only what they
 * still give it (session_recheck_access() may close it: next is taken
 * first). */
static void net_access_changed(struct frontend *fe)
{
	struct net_server *net = fe_net(fe);
	struct session *s, *next;

	for (s = TAILQ_FIRST(&net->sessions); s; s = next) {
		next = TAILQ_NEXT(s, link);
		session_recheck_access(s);
	}
}

static void net_status(const struct frontend *fe, char *buf, size_t len)
{
	const struct net_server *net = fe_net(fe);
	size_t n = 0;

	buf[0] = '\0';
	if (net->plain.fd >= 0)
		n += (size_t)snprintf(buf, len, "; TCP port %u", net->plain.port);
	if (net->secure.fd >= 0 && n < len)
		snprintf(buf + n, len - n, "; TLS port %u", net->secure.port);
}

/* Each session's brief (/metrics, the status API; protocol.c writes its
 * own clients' lines of Stats in full). */
static void net_foreach_client(const struct frontend *fe,
			       void (*fn)(const struct client_brief *c, void *arg), void *arg)
{
	const struct session *s;

	TAILQ_FOREACH(s, &fe_net(fe)->sessions, link) {
		char ident[7 + sizeof(s->ident.sha256)];
		struct client_brief b = {
			.id = s->id,
			.peer = s->peer,
			.subscribed = s->nsubs > 0,
			.blocks_sent = s->tx.q.blocks_sent,
			.bytes_sent = s->tx.q.bytes_sent,
			.blocks_skipped = session_blocks_skipped(s),
			.queue_blocks = send_queue_blocks(&s->tx.q),
			.transport = session_transport(s),
			.rate_bytes_per_s = s->rate_bps,
		};

		if (!s->ssl)
			b.connection = "tcp";
		else
			b.connection = s->tx.ops == &tx_ktls_ops ? "ktls" : "tls";
		if (s->ssl && s->ident.has_cert) {
			snprintf(ident, sizeof(ident), "sha256:%s", s->ident.sha256);
			b.tls_identity = ident;
		}
		fn(&b, arg);
	}
}

static const struct frontend_ops net_ops = {
	.name = "iiostream",
	.counters = net_counters,
	.shutdown = net_shutdown,
	.tick = net_tick,
	.access_changed = net_access_changed,
	.status = net_status,
	.foreach_client = net_foreach_client,
};

void net_log_listening(const char *what, const char *host, uint16_t port)
{
	bool v6 = strchr(host, ':') != NULL;

	log_info("listening%s on %s%s%s:%u", what, v6 ? "[" : "", host, v6 ? "]" : "", port);
}

int net_start(struct net_server *net, struct server *srv, const struct config *cfg)
{
	int err;

	memset(net, 0, sizeof(*net));
	net->fe.ops = &net_ops;
	net->srv = srv;
	net->plain.fd = -1;
	net->secure.fd = -1;
	TAILQ_INIT(&net->sessions);
	if (!cfg->listen_off) {
		err = listener_start(&net->plain, net, cfg->listen_host, cfg->listen_port, false);
		if (err)
			return err;
		if (listener_is_public(&net->plain))
			log_warn("plain TCP on %s:%u is open to the network: no encryption, no "
				 "client authentication; prefer --listen-tls",
				 cfg->listen_host, net->plain.port);
	}
	if (cfg->listen_tls) {
		err = listener_start(&net->secure, net, cfg->listen_tls_host, cfg->listen_tls_port,
				     true);
		if (err) {
			listener_stop(&net->plain);
			return err;
		}
	}
	server_add_frontend(srv, &net->fe);
	if (net->plain.fd >= 0)
		net_log_listening("", cfg->listen_host, net->plain.port);
	if (net->secure.fd >= 0)
		net_log_listening(" for TLS", cfg->listen_tls_host, net->secure.port);
	return 0;
}
