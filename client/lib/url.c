// SPDX-License-Identifier: MIT
/* Parsing of iiostream URLs: tcp://HOST[:PORT], tcp://[IPV6][:PORT], and
 * the same with tls:// (default port 30433). */
#include "client_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int iios__parse_url(const char *url, struct iios__url *out, char *err, size_t errlen)
{
	const char *p, *host, *host_end, *port = NULL;
	size_t hostlen;

	if (strncmp(url, "tcp://", 6) == 0) {
		out->tls = false;
	} else if (strncmp(url, "tls://", 6) == 0) {
		out->tls = true;
	} else {
		if (strstr(url, "://")) {
			snprintf(err, errlen,
				 "%s: scheme not supported (use tcp://HOST:PORT or tls://HOST:PORT)",
				 url);
			return -EPROTONOSUPPORT;
		}
		snprintf(err, errlen, "%s: not a URL (use tcp://HOST:PORT or tls://HOST:PORT)", url);
		return -EINVAL;
	}
	p = url + 6;
	if (*p == '[') {
		host = p + 1;
		host_end = strchr(host, ']');
		if (!host_end) {
			snprintf(err, errlen, "%s: unterminated [IPv6 address]", url);
			return -EINVAL;
		}
		if (host_end[1] == ':')
			port = host_end + 2;
		else if (host_end[1] != '\0') {
			snprintf(err, errlen, "%s: junk after the address", url);
			return -EINVAL;
		}
	} else {
		host = p;
		host_end = strchr(host, ':');
		if (host_end)
			port = host_end + 1;
		else
			host_end = host + strlen(host);
	}
	hostlen = (size_t)(host_end - host);
	if (hostlen == 0 || hostlen >= sizeof(out->host) || memchr(host, '/', hostlen)) {
		snprintf(err, errlen, "%s: bad host", url);
		return -EINVAL;
	}
	memcpy(out->host, host, hostlen);
	out->host[hostlen] = '\0';
	snprintf(out->port, sizeof(out->port), "%d", out->tls ? 30433 : 30432);
	if (port) {
		char *end;
		long v = strtol(port, &end, 10);

		if (*port < '0' || *port > '9' || *end != '\0' || v < 1 || v > 65535) {
			snprintf(err, errlen, "%s: port must be 1..65535", url);
			return -EINVAL;
		}
		snprintf(out->port, sizeof(out->port), "%ld", v);
	}
	return 0;
}
