// SPDX-License-Identifier: MIT
/* `iiostream attr get|set [--device D] [--channel CH] ATTR [VALUE]`: one
 * attribute of a device the server describes, as IIO names it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: iiostream attr get [options] ATTR\n"
		"       iiostream attr set [options] ATTR VALUE\n"
		"  --device D       device name or id (iio:device0); default: the streamed one\n"
		"  --channel CH     a channel attribute (e.g. voltage0); default: device\n"
		"  --output         the output channel CH (default: the input one)\n"
		"  --buffer         a buffer attribute of the device\n"
		CLI_CONN_USAGE
		"Prints the attribute's value (after a set: as the device took it).\n");
}

int cmd_attr(int argc, char **argv)
{
	enum { O_CHANNEL = 256, O_DEVICE, O_OUTPUT, O_BUFFER, O_HELP };
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{ "channel", required_argument, NULL, O_CHANNEL },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "output", no_argument, NULL, O_OUTPUT },
		{ "buffer", no_argument, NULL, O_BUFFER },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct iios_attr_ref ref = { 0 };
	const char *verb;
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
			ref.channel = optarg;
		} else if (ch == O_DEVICE) {
			ref.device = optarg;
		} else if (ch == O_OUTPUT) {
			ref.output = true;
		} else if (ch == O_BUFFER) {
			ref.buffer = true;
		} else if (ch == O_HELP) {
			usage(stdout);
			return CLI_OK;
		} else {
			return cli_option_error("attr", ch, argv);
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
	ref.attr = argv[optind + 1];
	if (set)
		r = iios_attr_set(c, &ref, argv[optind + 2], value, sizeof(value));
	else
		r = iios_attr_get(c, &ref, value, sizeof(value));
	if (r < 0) {
		fprintf(stderr, "iiostream attr: %s\n", iios_errmsg(c));
		iios_close(c);
		return CLI_FAILED;
	}
	printf("%s\n", value);
	iios_close(c);
	return CLI_OK;
}
