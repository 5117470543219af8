// SPDX-License-Identifier: MIT
/* Zero-copy completions: reading them off the error queue, and tracking
 * which sends completed. See zc_tracker.h. */
#define _GNU_SOURCE
#include "zc_tracker.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/errqueue.h>

int zc_tracker_complete(struct zc_tracker *t, const struct zc_range *r)
{
	bool merged = true;
	int i;

	if (zc_before(t->done, r->lo)) {
		if (t->nearly == ZC_EARLY_MAX)
			return -EPROTO;
		t->early[t->nearly++] = *r;
		return 0;
	}
	if (!zc_before(r->hi, t->done))
		t->done = r->hi + 1;
	while (merged) { /* the gap may have closed for ranges that waited */
		merged = false;
		for (i = 0; i < t->nearly; i++) {
			if (zc_before(t->done, t->early[i].lo))
				continue;
			if (!zc_before(t->early[i].hi, t->done))
				t->done = t->early[i].hi + 1;
			t->early[i] = t->early[--t->nearly];
			merged = true;
		}
	}
	return 0;
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
