/* SPDX-License-Identifier: MIT */
/*
 * The web console's files, built into the daemon: the table is generated
 * at build time from server/http/assets/ (embed_assets.cmake), and served
 * by GET and HEAD with an ETag (a conditional request gets a 304).
 */
#ifndef IIOSTREAMD_HTTP_ASSETS_H
#define IIOSTREAMD_HTTP_ASSETS_H

#include <stddef.h>

struct http_server;

struct http_asset {
	const char *path;          /* "/index.html": its path under assets/, from the root */
	const char *content_type;  /* from its extension */
	const unsigned char *data; /* its bytes (a NUL follows, not counted) */
	size_t len;
	const char *etag;          /* "\"<16 hex digits of its SHA-256>\"" */
};

extern const struct http_asset http_assets[];
extern const size_t http_assets_count;

/* A GET route for every asset, and "/" for /index.html. 0 or a negative
 * errno (http_server_route()'s). */
int http_assets_register(struct http_server *hs);

#endif /* IIOSTREAMD_HTTP_ASSETS_H */
