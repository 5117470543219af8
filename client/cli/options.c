// SPDX-License-Identifier: MIT
/* What every command says of a command line it refuses: see cli.h. */
#include <stdio.h>

#include "cli.h"

int cli_option_error(const char *cmd, int code, char *const *argv)
{
	/* getopt_long() has stepped past the option it refused */
	const char *opt = argv[optind - 1];

	if (code == ':')
		fprintf(stderr, "iiostream %s: %s needs a value\n", cmd, opt);
	else
		fprintf(stderr, "iiostream %s: unknown option '%s'\n", cmd, opt);
	fprintf(stderr, "Try 'iiostream %s --help'.\n", cmd);
	return CLI_USAGE;
}

int cli_extra_argument(const char *cmd, const char *arg)
{
	fprintf(stderr, "iiostream %s: unexpected argument '%s'\n", cmd, arg);
	fprintf(stderr, "Try 'iiostream %s --help'.\n", cmd);
	return CLI_USAGE;
}
