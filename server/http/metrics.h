/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics: the daemon's counters in Prometheus' text exposition format
 * 0.0.4 (docs/observability.md lists every metric). Names start with
 * `iiostream_`, values are in base units (bytes, seconds), counters end in
 * `_total`. Labels are few and bounded: device (its id), direction ("rx"
 * for a capture, "tx" for a DAC), transport (how clients are connected);
 * never a client's address or id, so that a series never grows per client.
 */
#ifndef IIOSTREAMD_METRICS_H
#define IIOSTREAMD_METRICS_H

#include "strbuf.h"

struct server;
struct http_server;

/* The whole exposition of srv's state now, appended to out. 0, or -ENOMEM
 * (out holds part of it: the caller frees it and answers 500). Reads the
 * state only (the sources' counters, the front-ends' clients). */
int metrics_render(struct server *srv, struct strbuf *out);

/* Route GET /metrics (and HEAD) to metrics_render(), answered with
 * PROM_CONTENT_TYPE, "Cache-Control: no-store"; 500 when out of memory.
 * Call before the HTTP server listens; a failure is logged. */
void metrics_register(struct http_server *hs, struct server *srv);

/* A feature layered above the HTTP front-end (the live spectrum) adds its
 * own families to every exposition: fn appends them to sb. The same fn
 * twice is one; at most METRICS_MAX_PARTS. 0, or -ENOSPC. */
#define METRICS_MAX_PARTS 4
int metrics_add_part(void (*fn)(struct strbuf *sb));

#endif /* IIOSTREAMD_METRICS_H */
