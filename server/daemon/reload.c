// SPDX-License-Identifier: MIT
/* SIGHUP: the configuration read again and applied where it can be: see reload.h. */
#include "reload.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "server.h"
#include "tls.h"

static bool str_differs(const char *a, const char *b)
{
	return strcmp(a, b) != 0;
}

static bool addr_differs(const char *host_a, uint16_t port_a, const char *host_b,
			 uint16_t port_b)
{
	return str_differs(host_a, host_b) || port_a != port_b;
}

/* Log each key fixed at start-up whose value changed; how many there were. */
static unsigned log_restart_only(const struct config *live, const struct config *next)
{
	const struct {
		const char *key;
		bool changed;
	} keys[] = {
		{ "source", str_differs(live->source, next->source) },
		{ "listen", live->listen_off != next->listen_off ||
				    (!live->listen_off &&
				     addr_differs(live->listen_host, live->listen_port,
						  next->listen_host, next->listen_port)) },
		{ "listen-tls", live->listen_tls != next->listen_tls ||
					(live->listen_tls &&
					 addr_differs(live->listen_tls_host, live->listen_tls_port,
						      next->listen_tls_host, next->listen_tls_port)) },
		{ "iiod-listen", live->iiod_listen != next->iiod_listen ||
					 (live->iiod_listen &&
					  addr_differs(live->iiod_host, live->iiod_port,
						       next->iiod_host, next->iiod_port)) },
		{ "rate", live->rate_set != next->rate_set ||
				  live->sample_rate != next->sample_rate },
		{ "channels", live->channels_set != next->channels_set ||
				      live->channels != next->channels },
		{ "block-size", live->block_size != next->block_size },
		{ "blocks", live->blocks != next->blocks },
		{ "transport", live->transport != next->transport },
		{ "advertise", live->advertise != next->advertise ||
				       live->advertise_set != next->advertise_set },
		{ "port-file", str_differs(live->port_file, next->port_file) },
	};
	unsigned i, n = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!keys[i].changed)
			continue;
		log_warn("%s changed: needs a restart (the running value stays)", keys[i].key);
		n++;
	}
	/* Without a TLS listener before and after, its files mean nothing yet. */
	if (!(live->listen_tls && next->listen_tls)) {
		static const char *const tls_keys[] = { "tls-cert", "tls-key", "client-ca",
							"tls-ciphersuites" };
		const char *const a[] = { live->tls_cert, live->tls_key, live->client_ca,
					  live->tls_ciphersuites };
		const char *const b[] = { next->tls_cert, next->tls_key, next->client_ca,
					  next->tls_ciphersuites };

		for (i = 0; i < 4; i++)
			if (str_differs(a[i], b[i])) {
				log_warn("%s changed: needs a restart (with listen-tls)", tls_keys[i]);
				n++;
			}
	}
	return n;
}

/* The live keys: copy from next into live, logging each change. */
static unsigned apply_live(struct config *live, const struct config *next)
{
	unsigned n = 0;

	if (memcmp(&live->allow_subscribe, &next->allow_subscribe, sizeof(next->allow_subscribe))) {
		live->allow_subscribe = next->allow_subscribe;
		log_info("allow-subscribe changed: applies to subscriptions from now on");
		n++;
	}
	if (memcmp(&live->allow_write, &next->allow_write, sizeof(next->allow_write))) {
		live->allow_write = next->allow_write;
		log_info("allow-write changed: applies to attribute writes from now on");
		n++;
	}
	if (live->client_queue != next->client_queue) {
		live->client_queue = next->client_queue;
		log_info("client-queue changed: %u blocks for subscriptions from now on",
			 next->client_queue);
		n++;
	}
	{
		/* the limits apply from now on */
		const struct {
			const char *key;
			uint32_t *live;
			uint32_t next;
		} limits[] = {
			{ "max-clients", &live->max_clients, next->max_clients },
			{ "handshake-timeout", &live->handshake_timeout_ms, next->handshake_timeout_ms },
			{ "idle-timeout", &live->idle_timeout_s, next->idle_timeout_s },
			{ "max-frame", &live->max_frame, next->max_frame },
			{ "max-send-queue", &live->max_send_queue, next->max_send_queue },
		};
		size_t i;

		for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
			if (*limits[i].live == limits[i].next)
				continue;
			log_info("%s changed: %u -> %u, from now on", limits[i].key, *limits[i].live,
				 limits[i].next);
			*limits[i].live = limits[i].next;
			n++;
		}
	}
	if (live->listen_tls && next->listen_tls) {
		/* the context was rebuilt from these; keep them for the next reload */
		memcpy(live->tls_cert, next->tls_cert, sizeof(live->tls_cert));
		memcpy(live->tls_key, next->tls_key, sizeof(live->tls_key));
		memcpy(live->client_ca, next->client_ca, sizeof(live->client_ca));
		memcpy(live->tls_ciphersuites, next->tls_ciphersuites,
		       sizeof(live->tls_ciphersuites));
		live->ktls = next->ktls;
	}
	/* where each key now comes from, for messages naming it */
	memcpy(live->key_line, next->key_line, sizeof(live->key_line));
	live->key_flags = next->key_flags;
	return n;
}

int reload_run(struct server *srv)
{
	struct reload *r = &srv->reload;
	struct config *next;
	char err[800];
	unsigned live_changes, restart;
	bool lists_changed;
	int rc;

	if (!r->live) {
		log_warn("SIGHUP: nothing to reload");
		return -ENOENT;
	}
	next = malloc(sizeof(*next));
	if (!next) {
		log_error("reload: out of memory; keeping the configuration in force");
		return -ENOMEM;
	}
	log_info("SIGHUP: reading %s again",
		 r->live->config_file[0] ? r->live->config_file : "the command line");
	config_defaults(next);
	if (config_parse_args(next, r->argc, r->argv, err, sizeof(err)) != CONFIG_OK) {
		log_error("reload refused: %s; keeping the configuration in force", err);
		rc = -EINVAL;
		goto out;
	}
	/* TLS first: it is the part that can still fail, and a refusal must
	 * leave everything as it was. */
	if (srv->tls.ctx && next->listen_tls) {
		rc = tls_server_reload(&srv->tls, next, err, sizeof(err));
		if (rc) {
			log_error("reload refused: %s; keeping the configuration in force", err);
			goto out;
		}
	}
	restart = log_restart_only(r->live, next);
	lists_changed = memcmp(&r->live->allow_subscribe, &next->allow_subscribe,
			       sizeof(next->allow_subscribe)) ||
			memcmp(&r->live->allow_write, &next->allow_write, sizeof(next->allow_write));
	live_changes = apply_live(r->live, next);
	if (lists_changed)
		iiod_warn_access(&srv->iiod); /* what they mean for clients without identity */
	if (r->live->log_level != next->log_level) {
		static const char *const names[] = { "error", "warn", "info", "debug" };

		log_info("log-level changed: %s", names[next->log_level]);
		r->live->log_level = next->log_level;
		live_changes++;
	}
	log_info("configuration reloaded: %u change%s applied%s, %u need%s a restart",
		 live_changes, live_changes == 1 ? "" : "s",
		 srv->tls.ctx ? " (and the TLS files read again)" : "", restart,
		 restart == 1 ? "s" : "");
	log_threshold = r->live->log_level; /* last, so the lines above are seen */
	rc = 0;
out:
	free(next);
	return rc;
}
