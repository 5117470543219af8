// SPDX-License-Identifier: MIT
/*
 * The authorisation lists as the iiod port applies them (iiod_internal.h),
 * as on the iiostream ports (protocol.c): a libiio client has no
 * certificate, so it may only when the list is unset or names "plain".
 * OPEN is checked against --allow-subscribe, WRITE against --allow-write.
 * A reload that takes "plain" off a list closes the connections holding
 * what it no longer allows.
 */
#include <stdio.h>

#include "access.h"
#include "iiod_internal.h"
#include "log.h"
#include "output_stream.h"
#include "server.h"

/* Who a libiio client is: nobody in particular. */
static const struct peer_identity no_cert = { .has_cert = false };

/* A refusal is logged and counted (requests_refused); the caller answers
 * -EACCES and the connection goes on. */
bool iiod__allowed(struct iiod_conn *c, const struct access_list *list, const char *what,
		   const char *flag)
{
	if (access_allows(list, &no_cert))
		return true;
	c->is->srv->requests_refused++;
	log_warn("iiod client %u (%s, no certificate): %s refused by %s", c->id, c->peer, what,
		 flag);
	return false;
}

/* Log what --allow-subscribe, --allow-write and --client-ca mean for the
 * iiod port, whose clients have no certificate (a list that does not name
 * "plain" refuses them all; one that does, or none with --client-ca, lets
 * anyone in). At start-up, and again after a reload; nothing when not
 * listening. */
void iiod__warn_access(const struct iiod_server *is)
{
	const struct config *cfg;
	const struct access_list *sub, *wr;

	if (!is->listening)
		return; /* srv is not even set when --iiod-listen was not given */
	cfg = is->srv->cfg;
	sub = &cfg->allow_subscribe;
	wr = &cfg->allow_write;
	/* libiio clients have no identity: a list lets all of them or none */
	if (sub->set && !access_allows(sub, &no_cert))
		log_warn("--allow-subscribe with --iiod-listen: libiio clients have no certificate, "
			 "so the iiod port refuses every OPEN (-EACCES); add 'plain' to the list "
			 "to let them stream");
	else if (sub->set)
		log_warn("--allow-subscribe names 'plain': anyone who reaches the iiod port "
			 "(port %u) may stream samples; libiio clients have no certificate",
			 is->port);
	else if (cfg->client_ca[0])
		log_warn("--client-ca authenticates TLS clients only: anyone who reaches the iiod "
			 "port (port %u) may stream samples; set --allow-subscribe to refuse them",
			 is->port);
	if (wr->set && !access_allows(wr, &no_cert))
		log_info("--allow-write with --iiod-listen: libiio clients have no certificate, "
			 "so the iiod port refuses every attribute WRITE (-EACCES)");
	else if (wr->set)
		log_warn("--allow-write names 'plain': anyone who reaches the iiod port (port %u) "
			 "may write attributes", is->port);
}

/* The lists that give c what it holds now and no longer give a libiio
 * client; "" if none. */
static void lost_rights(const struct iiod_conn *c, const struct config *cfg, char *out,
			size_t len)
{
	bool sub = c->open && !access_allows(&cfg->allow_subscribe, &no_cert);
	bool tx = c->tx.os && !access_allows(&cfg->allow_write, &no_cert);

	snprintf(out, len, "%s%s%s", sub ? "--allow-subscribe" : "", sub && tx ? " and " : "",
		 tx ? "--allow-write" : "");
}

/* After a reload changed the lists: a connection streaming (OPEN) or
 * transmitting that the lists no longer allow is closed, its blocks back
 * as at a disconnect. iiod's protocol has no message for it: libiio sees
 * the connection end, the log says why. */
void iiod__recheck_access(struct iiod_server *is)
{
	struct iiod_conn *c, *next;
	char lost[64];

	if (!is->listening)
		return;
	for (c = TAILQ_FIRST(&is->conns); c; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->closing)
			continue;
		lost_rights(c, is->srv->cfg, lost, sizeof(lost));
		if (!lost[0])
			continue;
		log_warn("iiod client %u (%s, no certificate): revoked: 'plain' (no certificate) is no "
			 "longer on %s after reload; closing",
			 c->id, c->peer, lost);
		/* a device it transmits to stops, even if its buffer was cyclic */
		if (c->tx.os)
			output_stream_revoke(c->tx.os, &c->tx.owner);
		iiod__conn_close(c);
	}
}
