/* SPDX-License-Identifier: MIT */
/* What /metrics and the status API both say about the daemon process. */
#ifndef IIOSTREAMD_DAEMON_INFO_H
#define IIOSTREAMD_DAEMON_INFO_H

#include <stddef.h>

struct server;

/* When the daemon started (srv->start_ns), in seconds since the Unix
 * epoch: the wall clock now less the monotonic time since. */
double daemon_start_unix_s(const struct server *srv);

/* Seconds since the daemon started (monotonic). */
double daemon_uptime_s(const struct server *srv);

/* CPU time the process used, user and system, every thread, in seconds. */
double daemon_cpu_seconds(void);

/* The versions of the libraries the daemon runs with (at run time where
 * the library says, else the headers built against), each into its
 * buffer. */
struct daemon_versions {
	char libiio[32], libuv[32], openssl[64], protobuf_c[32];
};
void daemon_versions(struct daemon_versions *v);

#endif /* IIOSTREAMD_DAEMON_INFO_H */
