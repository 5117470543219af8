/* SPDX-License-Identifier: MIT */
/*
 * Attribute writes over HTTP, for the web console's attribute tree.
 *
 *   POST /api/v1/attributes   Content-Type: application/json
 *        {"device":"sim","attribute":"sampling_frequency","value":"2000000"}
 *        (attr_body.h: also "channel", "output", "buffer")
 *   200  {"device":..,"channel":..,"attribute":..,"value":..}: the value as
 *        the device took it (read back), application/json
 *
 * It writes through devices_attr_write() (server/core/devices.h), as the
 * native port's AttrWrite and the iiod port's WRITE do, so the device's
 * own checks apply the same way. Refusals, each with a one-line
 * text/plain reason, checked in this order:
 *   403  no Origin header, or an Origin other than this server's own
 *        ("https://" or "http://" as the request came, then its Host): a
 *        page of another site (or a data: URL, Origin "null") cannot write
 *   415  a Content-Type other than application/json: an HTML form (or a
 *        fetch() without a CORS preflight) can only send form or text
 *        types, and a JSON type from another origin needs a preflight,
 *        which is refused (below)
 *   403  the request may not write: not HTTPS, no client certificate, or
 *        one --allow-write does not admit (http_request.may_write)
 *   400  a body attr_body_parse() refuses
 *   404  no such device or channel (-ENODEV), no such attribute (-ENOENT)
 *   409  the device refuses now (-EBUSY: e.g. the sim looped back to its
 *        DAC cannot change rate alone)
 *   422  a value the device does not take (-EINVAL)
 *   500  another error of the device's (its errno's text)
 * Cross-site defence does not depend on the certificate: a request from
 * another origin is refused before may_write is looked at, so a browser
 * holding an admitted certificate cannot be made to write by another page.
 *
 *   OPTIONS /api/v1/attributes   a CORS preflight: always 403, with no
 *        Access-Control-Allow-* header (no origin is ever granted)
 *
 *   GET /api/v1/access   what this connection may do, for the console to
 *        show the attribute tree editable or read-only, and the spectrum or
 *        why not:
 *        {"tls":bool,"identity":"sha256:.."|null,"may_write":bool,
 *         "reason":"why it may not write"|null,"may_subscribe":bool}
 *        (may_subscribe: --allow-subscribe admits it, http_server.h)
 */
#ifndef IIOSTREAMD_ATTR_WRITE_H
#define IIOSTREAMD_ATTR_WRITE_H

#include <stdbool.h>

struct http_server;
struct server;

/* Register the three routes above on hs (http_routes_register()); a
 * failure is logged. */
void attr_write_register(struct http_server *hs, struct server *srv);

/* Is `origin` (an Origin header) this server's own: scheme "https" when
 * tls, else "http", "://", then `host` (the Host header), compared
 * without case, a default port (:443, :80) ignored on either side? False
 * when either is NULL, and for "null". */
bool attr_write_same_origin(const char *origin, const char *host, bool tls);

/* Is the media type of `content_type` application/json (parameters such
 * as "; charset=utf-8" allowed)? False for NULL. */
bool attr_write_is_json(const char *content_type);

#endif /* IIOSTREAMD_ATTR_WRITE_H */
