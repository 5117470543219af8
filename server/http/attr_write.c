// SPDX-License-Identifier: MIT
/* Attribute writes over HTTP, and what a viewer may do: see attr_write.h. */
#include "attr_write.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "attr_body.h"
#include "devices.h"
#include "http_server.h"
#include "json_out.h"
#include "log.h"
#include "server.h"

#define ATTRIBUTES_PATH "/api/v1/attributes"
#define NO_STORE "Cache-Control: no-store\r\n"

/* ---- the checks, pure ---- */

/* n without a trailing default port of the scheme. */
static size_t without_default_port(const char *s, size_t n, bool tls)
{
	const char *port = tls ? ":443" : ":80";
	size_t k = strlen(port);

	return n > k && strncmp(s + n - k, port, k) == 0 ? n - k : n;
}

bool attr_write_same_origin(const char *origin, const char *host, bool tls)
{
	const char *scheme = tls ? "https://" : "http://";
	size_t k = strlen(scheme), on, hn;

	if (!origin || !host || strncasecmp(origin, scheme, k) != 0)
		return false;
	origin += k;
	on = without_default_port(origin, strlen(origin), tls);
	hn = without_default_port(host, strlen(host), tls);
	return on && on == hn && strncasecmp(origin, host, on) == 0;
}

bool attr_write_is_json(const char *content_type)
{
	static const char json[] = "application/json";
	size_t k = sizeof(json) - 1;

	if (!content_type)
		return false;
	content_type += strspn(content_type, " \t");
	if (strncasecmp(content_type, json, k) != 0)
		return false;
	return strchr("; \t", content_type[k]) != NULL; /* the NUL too */
}

/* Why this request may not write, or NULL if it may. */
static const char *why_no_write(const struct http_request *req)
{
	if (req->may_write)
		return NULL;
	if (!req->tls)
		return "writes need HTTPS with a client certificate on --allow-write; this is plain "
		       "HTTP";
	if (!req->peer_identity)
		return "writes need a client certificate on --allow-write; none was presented";
	return "this client certificate is not on --allow-write";
}

/* ---- the replies ---- */

static void reply_text(struct http_exchange *x, int status, const char *why)
{
	char body[3 * ATTR_BODY_NAME_MAX + 128];
	int n = snprintf(body, sizeof(body), "%s\n", why);

	if (n >= (int)sizeof(body))
		n = (int)sizeof(body) - 1, body[n - 1] = '\n';
	http_reply(x, status, "text/plain; charset=utf-8", NO_STORE, body, (size_t)n);
}

static void reply_json(struct http_exchange *x, struct strbuf *sb)
{
	if (strbuf_error(sb))
		reply_text(x, 500, "out of memory");
	else
		http_reply(x, 200, "application/json", NO_STORE, sb->buf, sb->len);
}

/* A refusal that guards the device (cross-site, not allowed): a warning
 * and srv's refused requests, as the other ports count theirs. */
static void refuse(struct server *srv, struct http_exchange *x, const struct http_request *req,
		   int status, const char *why)
{
	srv->requests_refused++;
	log_warn("http client %s (%s): attribute write refused (%d): %s", req->peer,
		 req->peer_identity ? req->peer_identity : "no certificate", status, why);
	reply_text(x, status, why);
}

/* The device's error as an HTTP status and a reason. */
static int device_error(int err, const char **why)
{
	switch (err) {
	case -ENODEV: *why = "no such device or channel"; return 404;
	case -ENOENT: *why = "no such attribute"; return 404;
	case -EINVAL: *why = "value not accepted"; return 422;
	case -EBUSY: *why = "the device cannot take it now (busy)"; return 409;
	default: *why = strerror(-err); return 500;
	}
}

/* ---- the routes ---- */

/* The checks before the body is read: 0, or the status refusing it. */
static int check_request(const struct http_request *req, char *why, size_t len)
{
	const char *origin = http_request_header(req, "origin");
	const char *host = http_request_header(req, "host");
	const char *no;

	if (!origin) {
		snprintf(why, len, "no Origin header: a write must come from this server's own page");
		return 403;
	}
	if (!attr_write_same_origin(origin, host, req->tls)) {
		snprintf(why, len, "a cross-site request is refused: Origin is not %s://HOST",
			 req->tls ? "https" : "http");
		return 403;
	}
	if (!attr_write_is_json(http_request_header(req, "content-type"))) {
		snprintf(why, len, "Content-Type must be application/json");
		return 415;
	}
	if ((no = why_no_write(req)) != NULL) {
		snprintf(why, len, "%s", no);
		return 403;
	}
	return 0;
}

static void on_write(struct http_exchange *x, const struct http_request *req, void *ctx)
{
	static struct attr_body b;          /* ~5 KB; the loop has one thread */
	static char after[ATTR_BODY_VALUE_MAX];
	struct server *srv = ctx;
	Iiostream__AttrWrite w = IIOSTREAM__ATTR_WRITE__INIT;
	struct strbuf sb = STRBUF_INIT;
	struct json_out j;
	char why[3 * ATTR_BODY_NAME_MAX + 64];
	const char *dev_why;
	int status, err;

	if ((status = check_request(req, why, sizeof(why))) != 0) {
		refuse(srv, x, req, status, why);
		return;
	}
	if (attr_body_parse(req->body, req->body_len, &b, why, sizeof(why)) != 0) {
		reply_text(x, 400, why);
		return;
	}
	w.device = b.device;
	w.channel = b.channel;
	w.attr = b.attribute;
	w.buffer = b.buffer;
	w.output = b.output;
	w.value.data = (uint8_t *)b.value;
	w.value.len = strlen(b.value);
	err = devices_attr_write(srv, &w, after, sizeof(after));
	if (err) {
		status = device_error(err, &dev_why);
		snprintf(why, sizeof(why), "%s%s%s%s%s: %s", b.device, b.channel[0] ? "/" : "",
			 b.channel, b.buffer ? "/buffer/" : "/", b.attribute, dev_why);
		log_debug("http client %s: write %s %s %s refused (%d): %s", req->peer, b.device,
			  b.channel, b.attribute, status, dev_why);
		reply_text(x, status, why);
		return;
	}
	log_info("http client %s (%s): %s%s%s%s%s = %s", req->peer, req->peer_identity, b.device,
		 b.channel[0] ? "/" : "", b.channel, b.buffer ? "/buffer/" : "/", b.attribute, after);
	json_init(&j, &sb);
	json_object_begin(&j, NULL);
	json_string(&j, "device", b.device);
	json_string(&j, "channel", b.channel);
	json_string(&j, "attribute", b.attribute);
	json_string(&j, "value", after);
	json_object_end(&j);
	strbuf_putc(&sb, '\n');
	reply_json(x, &sb);
	strbuf_free(&sb);
}

/* A CORS preflight: no origin is granted anything. */
static void on_preflight(struct http_exchange *x, const struct http_request *req, void *ctx)
{
	(void)ctx;
	log_debug("http client %s: CORS preflight refused", req->peer);
	reply_text(x, 403, "cross-origin requests are not allowed");
}

static void on_access(struct http_exchange *x, const struct http_request *req, void *ctx)
{
	struct strbuf sb = STRBUF_INIT;
	struct json_out j;

	(void)ctx;
	json_init(&j, &sb);
	json_object_begin(&j, NULL);
	json_bool(&j, "tls", req->tls);
	json_string(&j, "identity", req->peer_identity);
	json_bool(&j, "may_write", req->may_write);
	json_string(&j, "reason", why_no_write(req));
	json_bool(&j, "may_subscribe", req->may_subscribe);
	json_object_end(&j);
	strbuf_putc(&sb, '\n');
	reply_json(x, &sb);
	strbuf_free(&sb);
}

void attr_write_register(struct http_server *hs, struct server *srv)
{
	int err = http_server_route(hs, "POST", ATTRIBUTES_PATH, on_write, srv);

	if (!err)
		err = http_server_route(hs, "OPTIONS", ATTRIBUTES_PATH, on_preflight, srv);
	if (!err)
		err = http_server_route(hs, "GET", "/api/v1/access", on_access, srv);
	if (err)
		log_error("http: attribute writes not served: %s", strerror(-err));
}
