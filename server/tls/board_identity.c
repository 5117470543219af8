// SPDX-License-Identifier: MIT
/* The board's own identity: see board_identity.h. */
#include "board_identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An environment variable that is set and not empty, or NULL. */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

int board_identity_dir(const char *dir, char *out, size_t len, char *err, size_t errlen)
{
	const char *base;
	int n;

	if (dir && dir[0])
		n = snprintf(out, len, "%s", dir);
	else if ((base = env("STATE_DIRECTORY")))
		/* systemd may give several, colon-separated: the first is ours */
		n = snprintf(out, len, "%.*s/identity", (int)strcspn(base, ":"), base);
	else if (geteuid() == 0)
		/* root: the system's state, where the packaged service keeps it
		 * (the admin's `sudo iiostreamd --pair`, --show-identity) */
		n = snprintf(out, len, "/var/lib/iiostream/identity");
	else if ((base = env("XDG_STATE_HOME")))
		n = snprintf(out, len, "%s/iiostream/identity", base);
	else if ((base = env("HOME")))
		n = snprintf(out, len, "%s/.local/state/iiostream/identity", base);
	else {
		snprintf(err, errlen, "no identity directory: give --identity DIR (none of "
			 "STATE_DIRECTORY, XDG_STATE_HOME and HOME is set)");
		return -ENOENT;
	}
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "identity directory path too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

int board_identity_open(const char *dir, bool create, struct iios_identity *id, char *err,
			size_t errlen)
{
	char where[sizeof(id->dir)], host[256], local[sizeof(host) + 8], path[sizeof(where) + 16];
	const char *names[3] = { host, local, NULL };
	int r;

	memset(id, 0, sizeof(*id));
	r = board_identity_dir(dir, where, sizeof(where), err, errlen);
	if (r)
		return r;
	if (!create) {
		snprintf(path, sizeof(path), "%s/key.pem", where);
		if (access(path, F_OK) != 0) {
			snprintf(path, sizeof(path), "%s/cert.pem", where);
			if (access(path, F_OK) != 0) {
				snprintf(id->dir, sizeof(id->dir), "%s", where);
				return 1;
			}
		}
	}
	if (gethostname(host, sizeof(host)) != 0 || !host[0])
		snprintf(host, sizeof(host), "iiostream");
	host[sizeof(host) - 1] = '\0';
	/* mDNS names the host by its first label: board.lan -> board.local */
	snprintf(local, sizeof(local), "%.*s.local", (int)strcspn(host, "."), host);
	return iios_identity_open(where, host, names, id, err, errlen);
}
