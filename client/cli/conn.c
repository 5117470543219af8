// SPDX-License-Identifier: MIT
/* The connection options every command takes: see cli.h. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_conn_init(struct cli_conn *cc, const char *client_name)
{
	memset(cc, 0, sizeof(*cc));
	cc->url = CLI_DEFAULT_URL;
	cc->opts.client_name = client_name;
}

bool cli_conn_option(struct cli_conn *cc, int code, const char *arg)
{
	switch (code) {
	case CLI_O_URL:
		cc->url = arg;
		return true;
	case CLI_O_CA:
		cc->opts.ca_file = arg;
		return true;
	case CLI_O_CERT:
		cc->opts.cert_file = arg;
		return true;
	case CLI_O_KEY:
		cc->opts.key_file = arg;
		return true;
	case CLI_O_TLS_NAME:
		cc->opts.tls_server_name = arg;
		return true;
	}
	return false;
}

struct iios_client *cli_connect(const char *cmd, const struct cli_conn *cc)
{
	struct iios_client *c;
	char err[320];

	if (strncmp(cc->url, "tcp://", 6) == 0 &&
	    (cc->opts.ca_file || cc->opts.cert_file || cc->opts.key_file)) {
		fprintf(stderr, "iiostream %s: --ca, --cert and --key need a tls:// URL\n", cmd);
		return NULL;
	}
	if (iios_connect(cc->url, &cc->opts, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "iiostream %s: %s\n", cmd, err);
		return NULL;
	}
	return c;
}
