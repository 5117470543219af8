// SPDX-License-Identifier: MIT
/* `iiostream pair`: be admitted by a board with the one-time code its
 * admin made (iiostreamd --pair), and remember the board. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "iiostream.h"

static const char usage_text[] =
	"usage: iiostream pair --url tls://BOARD[:PORT] CODE [--label NAME] [options]\n"
	"Present the one-time CODE the board's admin made ('iiostreamd --pair' on the\n"
	"board), so that the board admits this client's identity from now on. The\n"
	"board proves the code too: a board not seen before is then remembered in the\n"
	"known-servers file, with no question asked. The code is never sent: only a\n"
	"proof bound to this TLS connection (docs/security.md, \"Pairing\").\n"
	"  --label NAME     how the board lists us (default: our identity's USER@HOST)\n"
	CLI_CONN_USAGE;

int cmd_pair(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{ "label", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct iios_pairing done; /* 4 KiB of path */
	struct cli_conn cc;
	const char *label = NULL, *code;
	char err[1024];
	int c;

	cli_conn_init(&cc, "iiostream pair");
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (cli_conn_option(&cc, c, optarg))
			continue;
		if (c == 'l') {
			label = optarg;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			return CLI_OK;
		} else {
			return cli_option_error("pair", c, argv);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "iiostream pair: which code? (iiostreamd --pair on the board "
			"shows one; 'iiostream pair --help')\n");
		return CLI_USAGE;
	}
	code = argv[optind++];
	if (optind < argc)
		return cli_extra_argument("pair", argv[optind]);
	if (cc.trust_new)
		fprintf(stderr, "iiostream pair: --trust-new is not needed: the board proves the code\n");
	if (iios_pair(cc.url, &cc.opts, code, label, &done, err, sizeof(err)) < 0) {
		fprintf(stderr, "iiostream pair: %s\n", err);
		return CLI_FAILED;
	}
	if (done.identity_created)
		fprintf(stderr, "iiostream pair: made this client's identity (iiostream identity)\n");
	printf("paired with %s\n", cc.url);
	printf("board:  %s%s\n", done.server_fingerprint,
	       done.server_added ? " (proved the code; now in the known-servers file)"
	       : done.known_servers_file[0] ? " (already known)" : " (verified by --ca)");
	printf("client: %s\n", done.client_fingerprint);
	return CLI_OK;
}
