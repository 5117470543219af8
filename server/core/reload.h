/* SPDX-License-Identifier: MIT */
/*
 * SIGHUP: read the command line and its --config file again, and apply what
 * can change without dropping a client. What each key allows is its
 * `reload` in the option table (options.c):
 *   - RELOAD_LIVE (the access lists, client-queue, the limits, log-level):
 *     copied into the configuration in force and logged as "KEY changed:
 *     ..."; it applies from now on, and a changed access list is checked
 *     at once against what each connection holds (frontend.h's
 *     access_changed: a revoked subscription or transmission ends);
 *   - RELOAD_TLS (tls-cert, tls-key, client-ca, tls-ciphersuites, ktls): a
 *     new TLS context, read from the files again (a certificate renewed in
 *     place is taken); new handshakes use it, sessions already made keep
 *     theirs. Without a TLS listener before and after, a changed TLS file
 *     needs a restart;
 *   - RELOAD_RESTART (every other key): fixed at start-up; a changed one is
 *     logged as "KEY changed: needs a restart" and keeps its running value.
 * A configuration that does not parse, or whose TLS files do not load, is
 * refused whole, with the error naming file:line:key, and the one in force
 * stays. Flags still override the file, as at start-up.
 */
#ifndef IIOSTREAMD_RELOAD_H
#define IIOSTREAMD_RELOAD_H

struct config;
struct server;

struct reload {
	struct config *live;  /* the configuration in force (srv->cfg); NULL: no reload */
	int argc;
	char **argv;          /* the command line, parsed again with its file */
};

/* Re-read and apply, logging every outcome. 0 when the new configuration
 * was taken (changes needing a restart are only logged), or a negative
 * errno when it was refused and the old one kept. */
int reload_run(struct server *srv);

#endif /* IIOSTREAMD_RELOAD_H */
