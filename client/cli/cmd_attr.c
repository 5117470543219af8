// SPDX-License-Identifier: MIT
/* `iiostream attr get|set [--channel CH] ATTR [VALUE]`: one attribute of the
 * streamed device, as IIO names it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: iiostream attr get [options] ATTR\n"
		"       iiostream attr set [options] ATTR VALUE\n"
		"  --channel CH     a channel attribute (e.g. voltage0); default: device\n"
		CLI_CONN_USAGE
		"Prints the attribute's value (after a set: as the device took it).\n");
}

int cmd_attr(int argc, char **argv)
{
	enum { O_CHANNEL = 256, O_HELP };
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{ "channel", required_argument, NULL, O_CHANNEL },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *channel = "", *verb;
	struct iios_client *c;
	struct cli_conn cc;
	char value[256];
	bool set;
	int ch, r;

	cli_conn_init(&cc, "iiostream attr");
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (cli_conn_option(&cc, ch, optarg))
			continue;
		if (ch == O_CHANNEL) {
			channel = optarg;
		} else if (ch == O_HELP) {
			usage(stdout);
			return CLI_OK;
		} else {
			fprintf(stderr, "iiostream attr: bad option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return CLI_USAGE;
		}
	}
	verb = optind < argc ? argv[optind] : "";
	set = strcmp(verb, "set") == 0;
	if ((!set && strcmp(verb, "get") != 0) || argc - optind != (set ? 3 : 2)) {
		usage(stderr);
		return CLI_USAGE;
	}
	c = cli_connect("attr", &cc);
	if (!c)
		return CLI_FAILED;
	if (set)
		r = iios_attr_write(c, channel, argv[optind + 1], argv[optind + 2], value,
				    sizeof(value));
	else
		r = iios_attr_read(c, channel, argv[optind + 1], value, sizeof(value));
	if (r < 0) {
		fprintf(stderr, "iiostream attr: %s\n", iios_errmsg(c));
		iios_close(c);
		return CLI_FAILED;
	}
	printf("%s\n", value);
	iios_close(c);
	return CLI_OK;
}
