// SPDX-License-Identifier: MIT
/* The built-in assets, served with ETag: see http_assets.h. */
#include "http_assets.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "http_server.h"

/* An If-None-Match naming this ETag (or "*"): the client has it. */
static bool client_has(const struct http_request *req, const char *etag)
{
	const char *inm = http_request_header(req, "if-none-match");

	return inm && (strstr(inm, etag) || strcmp(inm, "*") == 0);
}

static void serve_asset(struct http_exchange *x, const struct http_request *req, void *ctx)
{
	const struct http_asset *a = ctx;
	char extra[256];
	bool html = strncmp(a->content_type, "text/html", 9) == 0;

	/* revalidated at every use (a 304 is cheap), so a new daemon's files
	 * are never hidden by a cached old one; pages are not framed by others */
	snprintf(extra, sizeof(extra), "ETag: %s\r\nCache-Control: no-cache\r\n%s", a->etag,
		 html ? "Content-Security-Policy: frame-ancestors 'none'\r\n"
			"Referrer-Policy: no-referrer\r\n" : "");
	if (client_has(req, a->etag))
		http_reply(x, 304, NULL, extra, NULL, 0);
	else
		http_reply(x, 200, a->content_type, extra, a->data, a->len);
}

int http_assets_register(struct http_server *hs)
{
	size_t i;
	int err;

	for (i = 0; i < http_assets_count; i++) {
		const struct http_asset *a = &http_assets[i];

		err = http_server_route(hs, "GET", a->path, serve_asset, (void *)a);
		if (!err && strcmp(a->path, "/index.html") == 0)
			err = http_server_route(hs, "GET", "/", serve_asset, (void *)a);
		if (err)
			return err;
	}
	return 0;
}
