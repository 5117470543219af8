// SPDX-License-Identifier: MIT
/* The daemon process's times and library versions: see daemon_info.h. */
#include "daemon_info.h"

#include <iio.h>
#include <openssl/crypto.h>
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>

#include "clock.h"
#include "server.h"

double daemon_uptime_s(const struct server *srv)
{
	return (double)(monotonic_ns() - srv->start_ns) / 1e9;
}

double daemon_start_unix_s(const struct server *srv)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9 - daemon_uptime_s(srv);
}

double daemon_cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void daemon_versions(struct daemon_versions *v)
{
	unsigned major = 0, minor = 0;
	char tag[8] = "";

	iio_library_get_version(&major, &minor, tag);
	snprintf(v->libiio, sizeof(v->libiio), "%u.%u", major, minor);
	snprintf(v->libuv, sizeof(v->libuv), "%s", uv_version_string());
	snprintf(v->openssl, sizeof(v->openssl), "%s", OpenSSL_version(OPENSSL_VERSION_STRING));
	snprintf(v->protobuf_c, sizeof(v->protobuf_c), "%s", protobuf_c_version());
}
