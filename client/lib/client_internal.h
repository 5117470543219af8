/* SPDX-License-Identifier: MIT */
/* Internals shared by the files of libiiostream (iios__* names). */
#ifndef IIOSTREAM_CLIENT_INTERNAL_H
#define IIOSTREAM_CLIENT_INTERNAL_H

#include <stddef.h>

struct iios__url {
	char host[256];
	char port[8];
};

/* Split a tcp:// URL. 0, -EINVAL or -EPROTONOSUPPORT with err filled. */
int iios__parse_url(const char *url, struct iios__url *out, char *err, size_t errlen);

#endif /* IIOSTREAM_CLIENT_INTERNAL_H */
