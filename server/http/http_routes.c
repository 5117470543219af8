// SPDX-License-Identifier: MIT
/*
 * Every route of the HTTP front-end, registered before it listens: one
 * call per feature, each in its own file (http_server.h). Linked into the
 * daemon's layer, above every feature it names.
 */
#include "http_server.h"

#include <string.h>

#include "attr_write.h"
#include "http_assets.h"
#include "log.h"
#include "metrics.h"
#include "spectrum.h"
#include "status.h"

void http_routes_register(struct http_server *hs, struct server *srv)
{
	int err;

	metrics_register(hs, srv);
	status_register(hs, srv);
	spectrum_register(hs, srv);
	attr_write_register(hs, srv);
	err = http_assets_register(hs);
	if (err)
		log_error("http: the built-in pages: %s", strerror(-err));
}
