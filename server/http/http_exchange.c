// SPDX-License-Identifier: MIT
/*
 * A request dispatched to its route, and what answers it: http_reply(),
 * the front-end's own error replies. See http_server.h.
 */
#include "http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "server.h"

/* The one-line body of each refusal of the parser (http_parse.h). */
static const char *parse_refusal(int status)
{
	switch (status) {
	case 413:
		return "the body is longer than 65536 bytes";
	case 431:
		return "the request head is longer than 8192 bytes or has more than 64 header lines";
	case 501:
		return "not implemented here: Transfer-Encoding (send Content-Length) or CONNECT";
	case 505:
		return "only HTTP/1.0 and HTTP/1.1 are spoken here";
	default:
		return "malformed request";
	}
}

/* Does this status end the connection after it (the request's framing
 * may be lost, or the server is in trouble)? */
static bool status_closes(int status)
{
	return status == 400 || status == 408 || status == 413 || status == 431 || status >= 500;
}

int http_reply(struct http_exchange *x, int status, const char *content_type,
	       const char *extra_headers, const void *body, size_t len)
{
	struct http_conn *c = x->c;
	bool no_body = status == 204 || status == 304;
	size_t extra_len = extra_headers ? strlen(extra_headers) : 0;
	char head[512], date[64];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (x->answered)
		return -EALREADY;
	if (status < 200 || status > 599 ||
	    (extra_len && (extra_len < 2 || strcmp(extra_headers + extra_len - 2, "\r\n") != 0)))
		return -EINVAL;
	x->answered = true;
	if (status_closes(status) || c->hs->stopping)
		c->keep_alive = false;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nDate: %s\r\n%s%s%s"
		     "X-Content-Type-Options: nosniff\r\n%s",
		     status, http_reason(status), date, content_type ? "Content-Type: " : "",
		     content_type ? content_type : "", content_type ? "\r\n" : "",
		     !c->keep_alive ? "Connection: close\r\n"
		     : c->head.version_minor == 0 ? "Connection: keep-alive\r\n" : "");
	if (!no_body && n > 0 && (size_t)n < sizeof(head))
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n", len);
	if (n < 0 || (size_t)n >= sizeof(head) || http__conn_queue(c, head, (size_t)n) ||
	    http__conn_queue(c, extra_headers ? extra_headers : "", extra_len) ||
	    http__conn_queue(c, "\r\n", 2) ||
	    (!x->head_only && !no_body && len && http__conn_queue(c, body, len))) {
		http__conn_close(c, "out of memory");
		return -ENOMEM;
	}
	if (!c->keep_alive)
		http__conn_set_state(c, HTTP_CONN_FLUSH);
	return 0;
}

void http__fail(struct http_conn *c, int status, const char *why)
{
	struct http_exchange x = { .c = c };
	char body[200];
	int n = snprintf(body, sizeof(body), "%s\n", why);

	c->hs->errors_total++;
	c->keep_alive = false;
	if (http_reply(&x, status, "text/plain; charset=utf-8", NULL, body,
		       n > 0 && (size_t)n < sizeof(body) ? (size_t)n : 0) == 0)
		http__conn_flush(c);
}

/* The request in c->head (its body after it in c->in) to its route. */
static void dispatch(struct http_conn *c)
{
	struct http_server *hs = c->hs;
	const struct http_head *h = &c->head;
	struct http_exchange x = { .c = c, .head_only = strcmp(h->method, "HEAD") == 0 };
	struct http_request req = {
		.method = h->method,
		.path = h->path,
		.query = h->query,
		.headers = h->headers,
		.nheaders = h->nheaders,
		.body = c->in + c->head_len,
		.body_len = h->content_length,
		.tls = c->ssl != NULL,
		.peer = c->peer,
		.peer_identity = c->identity[0] ? c->identity : NULL,
		.may_write = c->may_write,
		.may_subscribe = access_allows(&hs->srv->cfg->allow_subscribe, &c->ident),
	};
	const struct http_route *r;
	char allow[128], extra[160];
	bool known;

	hs->requests_total++;
	c->keep_alive = h->keep_alive;
	r = http__route_find(hs, h->method, h->path, &known, allow, sizeof(allow));
	if (!r && known) {
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
		http_reply(&x, 405, "text/plain; charset=utf-8", extra, "method not allowed\n", 19);
		return;
	}
	if (!r) {
		http_reply(&x, 404, "text/plain; charset=utf-8", NULL, "not found\n", 10);
		return;
	}
	r->fn(&x, &req, r->ctx);
	if (!x.answered && c->state != HTTP_CONN_CLOSED) {
		log_error("http: the handler of %s %s did not answer: 500", h->method, r->path);
		http_reply(&x, 500, "text/plain; charset=utf-8", NULL, "internal error\n", 15);
	}
}

/* One whole request answered: false when it waits for more bytes, or the
 * connection is no longer reading requests. */
static bool serve_one(struct http_conn *c)
{
	size_t need;

	if (!c->head_len) {
		long r = http_parse_head(&c->parser, (const char *)c->in, c->in_len, &c->head);

		if (r == HTTP_PARSE_MORE)
			return false;
		if (r < 0) {
			log_debug("http client %u (%s): refused: %ld", c->id, c->peer, -r);
			http__fail(c, (int)-r, parse_refusal((int)-r));
			return false;
		}
		c->head_len = (size_t)r;
	}
	need = c->head_len + c->head.content_length;
	if (c->in_len < need) {
		if (http__conn_reserve(c, need))
			http__conn_close(c, "out of memory");
		return false;
	}
	dispatch(c);
	if (c->state == HTTP_CONN_CLOSED)
		return false;
	http__conn_consume(c, need);
	c->head_len = 0;
	http_parser_init(&c->parser);
	return c->state == HTTP_CONN_REQUEST;
}

void http__serve(struct http_conn *c)
{
	if (c->serving)
		return; /* the loop below goes on once the reply is sent */
	c->serving = true;
	while (c->state == HTTP_CONN_REQUEST && !http__conn_pending(c) && c->in_len &&
	       serve_one(c))
		http__conn_flush(c);
	c->serving = false;
	/* a reply that ends the connection, or the 101, goes out; frames sent
	 * right behind the upgrade request are read */
	if (c->state == HTTP_CONN_FLUSH)
		http__conn_flush(c);
	else if (c->state == HTTP_CONN_WEBSOCKET)
		http__ws_input(c);
}
