/* SPDX-License-Identifier: MIT */
/*
 * GET /api/v1/status: the daemon's state as one JSON object, for the web
 * console and for scripts. Version 1 of the API, versioned by its path: a
 * field is never removed or changed in meaning under /api/v1/, only added
 * (docs/observability.md documents every field, with an example).
 *
 *   { "api_version": 1,
 *     "daemon":   { version, pid, start_time, start_time_seconds,
 *                   uptime_seconds, cpu_seconds, cpu_load },
 *     "versions": { iiostream, libiio, libuv, openssl, protobuf_c },
 *     "devices":  [ { id, name, direction, source, stream_id, sample_rate,
 *                     enabled, channels[], buffers{}, counters{},
 *                     attributes{} } ],
 *     "streams":  [ { stream_id, device, direction, subscribers, owner } ],
 *     "clients":  [ { id, peer, transport, method, tls_identity,
 *                     subscribed, rate_bytes_per_second, blocks_sent,
 *                     bytes_sent, blocks_skipped, queue_blocks } ],
 *     "totals":   { connections, connections_refused, ... } }
 */
#ifndef IIOSTREAMD_STATUS_H
#define IIOSTREAMD_STATUS_H

#include <stdbool.h>

#include "strbuf.h"

struct server;
struct http_server;

/* The status object, appended to out. attributes: read every attribute of
 * every streamed device and its channels (sysfs reads on a board; the
 * query "?attributes=0" leaves them out). 0, or -ENOMEM (out holds part
 * of it). An attribute that cannot be read is left out, not an error. */
int status_render(struct server *srv, struct strbuf *out, bool attributes);

/* Route GET /api/v1/status (and HEAD) to status_render(), answered as
 * application/json with "Cache-Control: no-store"; 500 when out of memory.
 * Call before the HTTP server listens; a failure is logged. */
void status_register(struct http_server *hs, struct server *srv);

/* A feature layered above the HTTP front-end (the live spectrum) adds a
 * member to the status object, after "totals": fn writes one keyed member
 * into j. The same fn twice is one; at most STATUS_MAX_PARTS. 0, or -ENOSPC. */
struct json_out;
#define STATUS_MAX_PARTS 4
int status_add_part(void (*fn)(struct json_out *j));

#endif /* IIOSTREAMD_STATUS_H */
