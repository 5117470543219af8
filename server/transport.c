// SPDX-License-Identifier: MIT
/* Transport names and the zero-copy completion reader: see transport.h. */
#define _GNU_SOURCE
#include "transport.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/errqueue.h>

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

int zc_read_completions(int fd, struct zc_range *out, int max)
{
	int n = 0;

	while (n < max) {
		char control[128];
		struct msghdr msg = { .msg_control = control, .msg_controllen = sizeof(control) };
		struct cmsghdr *cm;
		struct sock_extended_err *ee;

		if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || !((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
			     (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
			return -EPROTO;
		ee = (struct sock_extended_err *)CMSG_DATA(cm);
		if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY || ee->ee_errno != 0)
			return -EPROTO;
		out[n].lo = ee->ee_info;
		out[n].hi = ee->ee_data;
		out[n].copied = ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED;
		n++;
	}
	return n ? n : -EAGAIN;
}
