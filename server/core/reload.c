// SPDX-License-Identifier: MIT
/* SIGHUP: the configuration read again and applied where it can be: see reload.h. */
#include "reload.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "options.h"
#include "server.h"
#include "tls.h"

/* Log each key fixed at start-up whose value changed; how many there were. */
static unsigned log_restart_only(const struct config *live, const struct config *next)
{
	/* without a TLS listener before and after, its files mean nothing yet */
	bool tls_both = live->listen_tls && next->listen_tls;
	unsigned n = 0;
	size_t i;

	for (i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];

		if (o->reload == RELOAD_RESTART && config_option_changed(o, live, next)) {
			log_warn("%s changed: needs a restart (the running value stays)", o->name);
			n++;
		}
	}
	for (i = 0; i < config_noptions && !tls_both; i++) {
		const struct config_option *o = &config_options[i];

		if (o->reload == RELOAD_TLS && (o->flags & OPT_NEEDS_TLS) &&
		    config_option_changed(o, live, next)) {
			log_warn("%s changed: needs a restart (with listen-tls)", o->name);
			n++;
		}
	}
	return n;
}

struct change {
	const struct config_option *o;
	const struct config *live, *next;
};

/* {old} and {new} in a live key's note */
static bool change_lookup(void *ctx, const char *name, char *buf, size_t len)
{
	const struct change *c = ctx;

	if (strcmp(name, "old") != 0 && strcmp(name, "new") != 0)
		return false;
	config_option_show(c->o, name[0] == 'o' ? c->live : c->next, false, buf, len);
	return true;
}

/* The live keys: copy from next into live, logging each change. */
static unsigned apply_live(struct config *live, const struct config *next, bool *lists_changed)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];
		struct change c = { o, live, next };
		char note[200];

		if (o->reload != RELOAD_LIVE || !config_option_changed(o, live, next))
			continue;
		config_expand(o->live_note ? o->live_note : "{old} -> {new}, from now on", "",
			      change_lookup, &c, note, sizeof(note));
		log_info("%s changed: %s", o->name, note);
		*lists_changed |= o->kind == &config_kind_access;
		config_option_copy(o, live, next);
		n++;
	}
	/* the TLS context was rebuilt from these; keep them for the next reload */
	for (i = 0; i < config_noptions && live->listen_tls && next->listen_tls; i++)
		if (config_options[i].reload == RELOAD_TLS)
			config_option_copy(&config_options[i], live, next);
	/* where each key now comes from, for messages naming it */
	memcpy(live->key_line, next->key_line, sizeof(live->key_line));
	live->key_flags = next->key_flags;
	return n;
}

/* Tell the front-ends the access lists changed. */
static void access_changed(struct server *srv)
{
	struct frontend *fe;

	TAILQ_FOREACH(fe, &srv->frontends, link)
		if (fe->ops->access_changed)
			fe->ops->access_changed(fe);
}

/* Read the paired clients again (an admin deleted a line to unpair): a
 * change is a change of the access lists, which revokes at once. */
static int reload_pairing(struct server *srv, bool *changed, char *err, size_t errlen)
{
	struct pairing *p = &srv->pairing;
	unsigned before = p->n_clients, i, kept = 0;
	char (*old)[65] = calloc(before ? before : 1, sizeof(*old));
	int rc;

	if (!old) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < before; i++)
		memcpy(old[i], p->clients[i].sha256, sizeof(old[i]));
	rc = pairing_reload(p, err, errlen);
	for (i = 0; rc == 0 && i < before; i++)
		kept += pairing_has(p, old[i]);
	if (rc == 0 && (kept != before || p->n_clients != before)) {
		log_info("pairing: %u paired client%s now (%u before, %u removed)", p->n_clients,
			 p->n_clients == 1 ? "" : "s", before, before - kept);
		*changed = true;
	}
	free(old);
	return rc;
}

int reload_run(struct server *srv)
{
	struct reload *r = &srv->reload;
	struct config *next;
	char err[800];
	unsigned live_changes, restart;
	bool lists_changed = false;
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
	/* (after TLS, which may refuse the whole reload; a bad line here
	 * keeps the paired clients as they were, and the rest goes on) */
	if (srv->pairing_on && reload_pairing(srv, &lists_changed, err, sizeof(err)))
		log_error("pairing: %s; the paired clients stay as they were", err);
	restart = log_restart_only(r->live, next);
	live_changes = apply_live(r->live, next, &lists_changed);
	if (lists_changed)
		access_changed(srv); /* e.g. what they mean for iiod's clients */
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
