// SPDX-License-Identifier: MIT
/* Transport names: see transport.h. */
#define _GNU_SOURCE
#include "transport.h"

#include <string.h>

int transport_parse(const char *name)
{
	if (strcmp(name, "auto") == 0)
		return TRANSPORT_AUTO;
	if (strcmp(name, "copy") == 0)
		return TRANSPORT_COPY;
	if (strcmp(name, "zerocopy") == 0)
		return TRANSPORT_ZEROCOPY;
	if (strcmp(name, "sendfile") == 0)
		return TRANSPORT_SENDFILE;
	return -1;
}

const char *transport_name(enum transport t)
{
	switch (t) {
	case TRANSPORT_COPY:
		return "copy";
	case TRANSPORT_ZEROCOPY:
		return "zerocopy";
	case TRANSPORT_SENDFILE:
		return "sendfile";
	case TRANSPORT_AUTO:
		break;
	}
	return "auto";
}
