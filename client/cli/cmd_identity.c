// SPDX-License-Identifier: MIT
/* `iiostream identity`: this client's own identity, made on first use, and
 * its fingerprint, for a board's --allow-subscribe sha256:HEX. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "iiostream.h"

static const char usage_text[] =
	"usage: iiostream identity [--identity DIR]\n"
	"Print this client's fingerprint (sha256:HEX), making its identity (a key and\n"
	"a self-signed certificate) first if there is none. tls:// connections without\n"
	"--ca present it; a board admits it with --allow-subscribe sha256:HEX.\n"
	"  --identity DIR   another identity (default ~/.config/iiostream/identity)\n";

int cmd_identity(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "identity", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct iios_client_identity id; /* 12 KiB of paths */
	const char *dir = NULL;
	char err[1024];
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'i') {
			dir = optarg;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			return CLI_OK;
		} else {
			return cli_option_error("identity", c, argv);
		}
	}
	if (optind < argc)
		return cli_extra_argument("identity", argv[optind]);
	if (iios_client_identity(dir, &id, err, sizeof(err)) < 0) {
		fprintf(stderr, "iiostream identity: %s\n", err);
		return CLI_FAILED;
	}
	if (id.created)
		fprintf(stderr, "iiostream identity: made a new identity in %s (CN=%s)\n", id.dir,
			id.common_name);
	printf("%s\n", id.fingerprint);
	fprintf(stderr, "iiostream identity: a board admits it with --allow-subscribe %s\n",
		id.fingerprint);
	return CLI_OK;
}
