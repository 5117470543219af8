// SPDX-License-Identifier: MIT
/*
 * iiostreamd: streams blocks of samples from a block source to network
 * clients. See docs/architecture.md for the whole picture.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "tls.h"

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
		return 1;
	}
	/* SIGHUP re-reads this command line and its --config file (reload.h) */
	d.srv.reload = (struct reload){ .live = &cfg, .argc = argc, .argv = argv };
	uv_run(&loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(&loop);
	if (rc) {
		log_error("a handle was left open at exit: %s", uv_strerror(rc));
		return 1;
	}
	return d.srv.exit_code;
}
