// SPDX-License-Identifier: MIT
/* iiostream: the command-line client of iiostreamd. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: iiostream COMMAND [options]\n"
		"commands:\n"
		"  info  [--url URL]      server, device and stream description\n"
		"  stats [--url URL]      the daemon's counters\n"
		"  attr  get|set ATTR [VALUE]  read or write an attribute of the device\n"
		"  rx    [--url URL] [--seconds N] [--blocks N] [--verify] [--output FILE]\n"
		"        [--queue N] [--json] [--quiet]\n"
		"                         receive blocks; see 'iiostream rx --help'\n"
		"  tx    (--input FILE|- | --pattern) [--device NAME] [--cyclic] [--blocks N]\n"
		"        [--duration S] [--json]\n"
		"                         transmit to an output device (a DAC); see\n"
		"                         'iiostream tx --help'\n"
		"  verify FILE --channels LIST  check a file of raw pattern scans (rx\n"
		"                         --output, iio_readdev): order, gaps, errors\n"
		"  discover [--seconds N] [--json]\n"
		"                         the servers announced on the LAN (avahi-daemon)\n"
		"  identity [--identity DIR]  this client's fingerprint, for a board's\n"
		"                         --allow-subscribe (made on first use)\n"
		"  pair  --url tls://BOARD CODE  be admitted by a board with the one-time\n"
		"                         code its admin made (iiostreamd --pair)\n"
		"URL is tcp://HOST[:PORT] (default %s) or tls://HOST[:PORT]\n"
		"(trusted on first use, as ssh does: --trust-new; or with --ca FILE, and\n"
		"--cert FILE --key FILE if the server wants one);\n"
		"'iiostream COMMAND --help' lists every option.\n", CLI_DEFAULT_URL);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "info") == 0)
		return cmd_info(argc - 1, argv + 1);
	if (strcmp(argv[1], "stats") == 0)
		return cmd_stats(argc - 1, argv + 1);
	if (strcmp(argv[1], "attr") == 0)
		return cmd_attr(argc - 1, argv + 1);
	if (strcmp(argv[1], "rx") == 0)
		return cmd_rx(argc - 1, argv + 1);
	if (strcmp(argv[1], "tx") == 0)
		return cmd_tx(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "discover") == 0)
		return cmd_discover(argc - 1, argv + 1);
	if (strcmp(argv[1], "identity") == 0)
		return cmd_identity(argc - 1, argv + 1);
	if (strcmp(argv[1], "pair") == 0)
		return cmd_pair(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("iiostream %s\n", IIOSTREAM_VERSION);
		return CLI_OK;
	}
	fprintf(stderr, "iiostream: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
