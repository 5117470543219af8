// SPDX-License-Identifier: MIT
/*
 * iiostreamd: streams blocks of samples from a block source to network
 * clients. See docs/architecture.md for the whole picture.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "board_identity.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "pair_admin.h"
#include "tls.h"

/*
 * --show-identity: the certificate the TLS port presents, for the admin to
 * compare with what a client is shown on first use. The board's identity
 * is made if it is not there yet (as the daemon would at start), and the
 * output says so. 0, or 1 with the reason on stderr.
 */
static int show_identity(const struct config *cfg)
{
	struct iios_identity id;
	char err[800], fp[IIOS_FINGERPRINT_LEN];

	if (cfg->tls_cert[0]) {
		if (iios_fingerprint_file(cfg->tls_cert, fp, err, sizeof(err))) {
			fprintf(stderr, "iiostreamd: --tls-cert %s\n", err);
			return 1;
		}
		printf("fingerprint: %s\ncertificate: %s (--tls-cert)\nkey:         %s "
		       "(--tls-key)\n", fp, cfg->tls_cert, cfg->tls_key);
		return 0;
	}
	if (board_identity_open(cfg->identity, true, &id, err, sizeof(err)) < 0) {
		fprintf(stderr, "iiostreamd: the board's identity: %s\n", err);
		return 1;
	}
	printf("fingerprint: %s\ncertificate: %s\nkey:         %s\nname:        %s\n"
	       "%s\n", id.fingerprint, id.cert_file, id.key_file, id.subject_cn,
	       id.created ? "made now: this is a new identity (clients have not seen it)"
			  : "made before");
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	static struct daemon d; /* large: not on the stack */
	uv_loop_t loop;
	char err[512];
	int rc;

	config_defaults(&cfg);
	switch (config_parse_args(&cfg, argc, argv, err, sizeof(err))) {
	case CONFIG_EXIT:
		return 0;
	case CONFIG_ERROR:
		fprintf(stderr, "iiostreamd: %s\n", err);
		return 2;
	case CONFIG_OK:
		break;
	}
	log_threshold = cfg.log_level;
	if (cfg.show_identity)
		return show_identity(&cfg);
	if (cfg.pair)
		return pair_admin_code(cfg.pairing, cfg.identity, cfg.pair_ttl_s);
	if (cfg.list_paired)
		return pair_admin_list(cfg.pairing);
	if (cfg.check_only) {
		/* what start-up would refuse before opening the source */
		struct tls_settings tls;

		tls_settings_from_config(&cfg, &tls);
		if (tls_server_check(&tls, err, sizeof(err)) != 0) {
			fprintf(stderr, "iiostreamd: %s\n", err);
			return 2;
		}
		printf("configuration OK\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN); /* sends use MSG_NOSIGNAL; this is for the rest */

	uv_loop_init(&loop);
	if (daemon_start(&d, &loop, &cfg) != 0) {
		uv_run(&loop, UV_RUN_DEFAULT); /* let what started stop */
		uv_loop_close(&loop);
		daemon_end(&d);
		return 1;
	}
	/* SIGHUP re-reads this command line and its --config file (reload.h) */
	d.srv.reload = (struct reload){ .live = &cfg, .argc = argc, .argv = argv };
	uv_run(&loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(&loop);
	daemon_end(&d);
	if (rc) {
		log_error("a handle was left open at exit: %s", uv_strerror(rc));
		return 1;
	}
	return d.srv.exit_code;
}
