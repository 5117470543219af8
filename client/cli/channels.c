// SPDX-License-Identifier: MIT
/* Channel lists on the command line: "0,2" or "voltage0,voltage2". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

bool cli_parse_channels(const char *cmd, const char *arg, uint32_t *out, uint32_t *n)
{
	const char *p = arg;

	for (*n = 0; *n < IIOS_MAX_CHANNELS;) {
		unsigned long v;
		char *end;

		if (strncmp(p, "voltage", 7) == 0)
			p += 7;
		if (*p < '0' || *p > '9')
			break;
		v = strtoul(p, &end, 10);
		if (v >= IIOS_MAX_CHANNELS)
			break;
		out[(*n)++] = (uint32_t)v;
		if (*end == '\0')
			return true;
		if (*end != ',')
			break;
		p = end + 1;
	}
	fprintf(stderr, "iiostream %s: --channels: '%s' is not a list of channels such as "
		"\"0,1\" or \"voltage0,voltage1\"\n", cmd, arg);
	return false;
}
