// SPDX-License-Identifier: MIT
/*
 * Revocation: after a reload changed the access lists, each session's
 * rights are checked again against the lists in force, so that taking an
 * identity off a list shuts it out at once, not at its next request or at
 * a restart. See session.h.
 */
#include "session_internal.h"

#include <errno.h>
#include <stdio.h>

#include "config.h"
#include "log.h"
#include "server.h"

/* The flags of the lists whose rights s holds now and has lost; "" if none. */
static void lost_rights(const struct session *s, const struct config *cfg, char *out,
			size_t len)
{
	bool sub = s->nsubs && !access_allows(&cfg->allow_subscribe, &s->ident);
	bool tx = s->txm.os && !access_allows(&cfg->allow_write, &s->ident);

	snprintf(out, len, "%s%s%s", sub ? "--allow-subscribe" : "",
		 sub && tx ? " and " : "", tx ? "--allow-write" : "");
}

void session_recheck_access(struct session *s)
{
	char lost[64], who[400], text[512];

	/* Only a READY session holds a right: before Hello it has asked for
	 * nothing, and a draining one is already going. */
	if (s->state != SESSION_READY)
		return;
	lost_rights(s, s->srv->cfg, lost, sizeof(lost));
	if (!lost[0])
		return; /* still admitted to all it does: untouched */
	if (s->ident.has_cert)
		access_describe(&s->ident, who, sizeof(who));
	else
		snprintf(who, sizeof(who), "'plain' (no certificate)"); /* as the lists name it */
	snprintf(text, sizeof(text), "revoked: %s is no longer on %s after reload", who, lost);
	log_warn("client %u (%s): %s; closing", s->id, s->peer, text);
	/* a device it transmits to stops, even if it asked to play on */
	if (s->txm.os)
		output_stream_revoke(s->txm.os, &s->txm.owner);
	/* the Error, then the close: its blocks go back as at a disconnect */
	session__end_with_error(s, EACCES, text);
}
