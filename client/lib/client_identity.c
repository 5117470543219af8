// SPDX-License-Identifier: MIT
/* The client's own identity, made on first use: see iiostream.h. */
#define _GNU_SOURCE
#include "client_internal.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iiostream/identity.h"

/* USER@HOSTNAME, the common name of a new identity (a label for people:
 * servers admit the fingerprint, never the name). */
static void common_name(char *out, size_t len)
{
	struct passwd pwd, *pw = NULL;
	char host[HOST_NAME_MAX + 1] = "localhost", buf[4096];

	/* _r: a library's callers may connect from several threads */
	if (getpwuid_r(geteuid(), &pwd, buf, sizeof(buf), &pw) != 0)
		pw = NULL;

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, len, "%s@%s", pw && pw->pw_name ? pw->pw_name : "user", host);
}

int iios_client_identity(const char *dir, struct iios_client_identity *out, char *err,
			 size_t errlen)
{
	struct iios_identity *id; /* PATH_MAX three times: not on the stack */
	char cn[128], scratch[64];
	int r;

	if (!err) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	memset(out, 0, sizeof(*out));
	if (dir) {
		snprintf(out->dir, sizeof(out->dir), "%s", dir);
	} else if ((r = iios_config_path("identity", out->dir, sizeof(out->dir)))) {
		snprintf(err, errlen, "no identity directory: %s (set HOME or XDG_CONFIG_HOME, or "
			 "name one)", r == -ENOENT ? "no home directory" : strerror(-r));
		return r;
	}
	id = calloc(1, sizeof(*id));
	if (!id) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	common_name(cn, sizeof(cn));
	r = iios_identity_open(out->dir, cn, NULL, id, err, errlen);
	if (!r) {
		snprintf(out->cert_file, sizeof(out->cert_file), "%s", id->cert_file);
		snprintf(out->key_file, sizeof(out->key_file), "%s", id->key_file);
		memcpy(out->fingerprint, id->fingerprint, sizeof(out->fingerprint));
		snprintf(out->common_name, sizeof(out->common_name), "%s", id->subject_cn);
		out->created = id->created;
	}
	free(id);
	return r;
}
