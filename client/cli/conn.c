// SPDX-License-Identifier: MIT
/* The connection options every command takes: see cli.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
	case CLI_O_TRUST_NEW:
		cc->trust_new = true;
		return true;
	case CLI_O_KNOWN_SERVERS:
		cc->opts.known_servers_file = arg;
		return true;
	case CLI_O_IDENTITY:
		cc->opts.identity_dir = arg;
		return true;
	case CLI_O_NO_IDENTITY:
		cc->opts.no_identity = true;
		return true;
	}
	return false;
}

/* IIOS_TRUST_NEW_ASK on a terminal, as ssh asks. */
static bool ask_on_terminal(void *arg, const char *server, const char *fingerprint)
{
	char answer[16];

	(void)arg;
	fprintf(stderr, "The authenticity of %s can't be established.\n"
		"Its fingerprint is %s.\n"
		"Compare it with the board's (iiostreamd --show-identity there).\n"
		"Trust it? [y/N] ", server, fingerprint);
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin))
		return false;
	return strcmp(answer, "y\n") == 0 || strcmp(answer, "Y\n") == 0 ||
	       strcmp(answer, "yes\n") == 0;
}

struct iios_client *cli_connect(const char *cmd, const struct cli_conn *cc)
{
	struct iios_options opts;
	struct iios_client *c;
	char err[1024];

	if (strncmp(cc->url, "tcp://", 6) == 0 &&
	    (cc->opts.ca_file || cc->opts.cert_file || cc->opts.key_file)) {
		fprintf(stderr, "iiostream %s: --ca, --cert and --key need a tls:// URL\n", cmd);
		return NULL;
	}
	opts = cc->opts;
	if (cc->trust_new) {
		opts.trust_new = IIOS_TRUST_NEW_ACCEPT;
	} else if (isatty(STDIN_FILENO) && isatty(STDERR_FILENO)) {
		opts.trust_new = IIOS_TRUST_NEW_ASK;
		opts.trust_ask = ask_on_terminal;
	}
	if (iios_connect(cc->url, &opts, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "iiostream %s: %s\n", cmd, err);
		return NULL;
	}
	return c;
}
