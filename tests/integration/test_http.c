// SPDX-License-Identifier: MIT
/*
 * The HTTP front-end (--http-listen, server/http/): the real daemon spoken
 * to over raw loopback sockets (plain and HTTPS through OpenSSL), requests
 * good and bad, hostile clients beside a native client that streams and
 * verifies; and, in this process, the front-end on a loop of its own with
 * test routes registered through its public API (who the client is, a
 * WebSocket echo).
 */
#define _GNU_SOURCE /* strcasestr */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "certs.h"
#include "config.h"
#include "harness.h"
#include "http_server.h"
#include "server.h"

/* ---- a raw client, plain or TLS ---- */

struct hconn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char left[4096];      /* bytes read beyond the last response (pipelined) */
	size_t nleft;
};

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = HANG_S };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s",
		     strerror(errno));
	return fd;
}

static struct hconn hc_plain(uint16_t port)
{
	return (struct hconn){ .fd = tcp_connect(port) };
}

/* HTTPS, checking the server by ca; with a client certificate if cert. */
static struct hconn hc_tls(uint16_t port, const char *ca, const char *cert, const char *key)
{
	struct hconn c = { .fd = tcp_connect(port) };

	c.ctx = SSL_CTX_new(TLS_client_method());
	cr_assert(c.ctx);
	cr_assert_eq(SSL_CTX_load_verify_locations(c.ctx, ca, NULL), 1);
	SSL_CTX_set_verify(c.ctx, SSL_VERIFY_PEER, NULL);
	if (cert) {
		cr_assert_eq(SSL_CTX_use_certificate_chain_file(c.ctx, cert), 1);
		cr_assert_eq(SSL_CTX_use_PrivateKey_file(c.ctx, key, SSL_FILETYPE_PEM), 1);
	}
	c.ssl = SSL_new(c.ctx);
	SSL_set_fd(c.ssl, c.fd);
	SSL_set_tlsext_host_name(c.ssl, "localhost");
	cr_assert_eq(SSL_connect(c.ssl), 1, "TLS handshake");
	return c;
}

static void hc_close(struct hconn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		SSL_CTX_free(c->ctx);
	}
	close(c->fd);
	*c = (struct hconn){ .fd = -1 };
}

static void hc_send(struct hconn *c, const void *data, size_t len)
{
	if (c->ssl) {
		cr_assert_eq(SSL_write(c->ssl, data, (int)len), (int)len);
		return;
	}
	cr_assert_eq(send(c->fd, data, len, MSG_NOSIGNAL), (ssize_t)len, "send: %s",
		     strerror(errno));
}

static void hc_send_str(struct hconn *c, const char *s)
{
	hc_send(c, s, strlen(s));
}

/* Up to n bytes; 0 at the end of the stream. */
static ssize_t hc_recv(struct hconn *c, void *buf, size_t n)
{
	if (c->ssl) {
		int r = SSL_read(c->ssl, buf, (int)n);

		return r > 0 ? r : 0;
	}
	return recv(c->fd, buf, n, 0);
}

struct response {
	int status;
	char head[4096];      /* status line and headers, NUL-terminated */
	char body[70000];
	size_t body_len;
	bool closed;          /* the server closed after it */
};

/* A header of the response, NULL if absent (the whole line's value). */
static const char *resp_header(const struct response *r, const char *name, char *out,
			       size_t len)
{
	char want[96];
	const char *p;

	snprintf(want, sizeof(want), "\r\n%s: ", name);
	p = strcasestr(r->head, want);
	if (!p)
		return NULL;
	p += strlen(want);
	snprintf(out, len, "%.*s", (int)strcspn(p, "\r"), p);
	return out;
}

/* Read one response (no body when head_only); bytes read beyond it wait in
 * c->left for the next call. */
static void read_response(struct hconn *c, struct response *r, bool head_only)
{
	static char buf[80000];
	size_t have = c->nleft, head_len, want;
	char *end, cl[32];

	memcpy(buf, c->left, c->nleft);
	c->nleft = 0;
	memset(r, 0, offsetof(struct response, body));
	r->body_len = 0;
	for (;;) {
		ssize_t n;

		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		n = hc_recv(c, buf + have, sizeof(buf) - 1 - have);
		cr_assert_gt(n, 0, "the response's head did not come (%zu bytes: %.*s)", have,
			     (int)have, buf);
		have += (size_t)n;
	}
	head_len = (size_t)(end - buf) + 4;
	cr_assert_lt(head_len, sizeof(r->head));
	memcpy(r->head, buf, head_len);
	r->head[head_len] = '\0';
	cr_assert_eq(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1, "%s", r->head);
	want = head_only || !resp_header(r, "Content-Length", cl, sizeof(cl))
		       ? 0 : strtoul(cl, NULL, 10);
	cr_assert_leq(want, sizeof(r->body));
	while (have - head_len < want) {
		ssize_t n = hc_recv(c, buf + have, sizeof(buf) - 1 - have);

		cr_assert_gt(n, 0, "the body did not come");
		have += (size_t)n;
	}
	cr_assert_leq(have - head_len - want, sizeof(c->left));
	c->nleft = have - head_len - want;
	memcpy(c->left, buf + head_len + want, c->nleft);
	memcpy(r->body, buf + head_len, want);
	r->body_len = want;
}

/* Has the server closed the connection (EOF or reset)? Waits for it. */
static bool hc_closed(struct hconn *c)
{
	char b[256];

	for (;;) {
		ssize_t n = hc_recv(c, b, sizeof(b));

		if (n <= 0)
			return n == 0 || errno != EAGAIN;
	}
}

static void get(uint16_t port, const char *path, struct response *r)
{
	struct hconn c = hc_plain(port);
	char req[512];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
		 path);
	hc_send_str(&c, req);
	read_response(&c, r, false);
	cr_assert(hc_closed(&c), "Connection: close was asked");
	hc_close(&c);
}

static const char *const http_args[] = { "--http-listen", "127.0.0.1:0", NULL };

/* ---- the real daemon ---- */

Test(http, is_off_unless_asked_for)
{
	struct daemon d;

	daemon_start(&d, NULL);
	cr_assert_eq(d.http_port, 0);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(http, serves_the_built_in_page_with_etag_404_405_and_head)
{
	struct daemon d;
	struct response *r = malloc(sizeof(*r));
	struct hconn c;
	char etag[64], v[128], req[256];

	daemon_start(&d, http_args);
	cr_assert_neq(d.http_port, 0);
	get(d.http_port, "/", r);
	cr_assert_eq(r->status, 200, "%s", r->head);
	cr_assert_str_eq(resp_header(r, "Content-Type", v, sizeof(v)), "text/html; charset=utf-8");
	cr_assert(strstr(r->body, "/metrics") && strstr(r->body, "/api/v1/status"));
	cr_assert(resp_header(r, "ETag", etag, sizeof(etag)));
	get(d.http_port, "/index.html", r);
	cr_assert_eq(r->status, 200);
	/* the ETag makes a repeated fetch a 304 without a body */
	c = hc_plain(d.http_port);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n\r\n", etag);
	hc_send_str(&c, req);
	read_response(&c, r, true);
	cr_assert_eq(r->status, 304, "%s", r->head);
	/* HEAD: the headers of GET, no body */
	hc_send_str(&c, "HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
	read_response(&c, r, true);
	cr_assert_eq(r->status, 200);
	cr_assert(resp_header(r, "Content-Length", v, sizeof(v)));
	cr_assert_gt(atoi(v), 100);
	/* 405 names what the path takes; 404 */
	hc_send_str(&c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
	read_response(&c, r, false);
	cr_assert_eq(r->status, 405);
	cr_assert_str_eq(resp_header(r, "Allow", v, sizeof(v)), "GET, HEAD");
	hc_send_str(&c, "GET /no/such/page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	read_response(&c, r, false);
	cr_assert_eq(r->status, 404);
	cr_assert(hc_closed(&c));
	hc_close(&c);
	free(r);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(http, keep_alive_answers_two_requests_on_one_connection_even_pipelined)
{
	struct daemon d;
	struct response *r = malloc(sizeof(*r));
	struct hconn c;

	daemon_start(&d, http_args);
	c = hc_plain(d.http_port);
	hc_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	read_response(&c, r, false);
	cr_assert_eq(r->status, 200);
	cr_assert_null(strcasestr(r->head, "Connection: close"));
	hc_send_str(&c, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
	read_response(&c, r, false);
	cr_assert_eq(r->status, 200, "the same connection serves a second request");
	/* two at once: answered in order */
	hc_send_str(&c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
	read_response(&c, r, false);
	cr_assert_eq(r->status, 404);
	read_response(&c, r, false);
	cr_assert_eq(r->status, 200);
	hc_close(&c);
	free(r);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(http, a_huge_head_is_431_a_big_body_413_and_garbage_400_each_then_closed)
{
	struct daemon d;
	struct response *r = malloc(sizeof(*r));
	char *big = malloc(20000);
	struct hconn c;

	daemon_start(&d, http_args);
	c = hc_plain(d.http_port);
	memset(big, 'a', 20000);
	memcpy(big, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", 32);
	hc_send(&c, big, 9000);
	read_response(&c, r, false);
	cr_assert_eq(r->status, 431);
	cr_assert(strstr(r->body, "8192"), "%s", r->body);
	cr_assert(hc_closed(&c));
	hc_close(&c);
	c = hc_plain(d.http_port);
	hc_send_str(&c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n");
	read_response(&c, r, false);
	cr_assert_eq(r->status, 413);
	cr_assert(hc_closed(&c));
	hc_close(&c);
	c = hc_plain(d.http_port);
	hc_send(&c, "GET /\0 HTTP/1.1\r\n\r\n", 19);
	read_response(&c, r, false);
	cr_assert_eq(r->status, 400);
	cr_assert(hc_closed(&c));
	hc_close(&c);
	get(d.http_port, "/", r);
	cr_assert_eq(r->status, 200, "the daemon serves on");
	free(big);
	free(r);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(http, a_slow_client_is_closed_after_the_head_timeout_while_a_native_client_streams_unharmed)
{
	static const char *const args[] = { "--http-listen", "127.0.0.1:0", "--http-head-timeout",
					    "300", "--rate", "1000000", "--block-size", "64K",
					    "--blocks", "16", NULL };
	struct rx_job job = { .want_blocks = 0 };
	struct response *r = malloc(sizeof(*r));
	struct daemon d;
	struct hconn slow[8];
	uint64_t before;
	double wait0;
	pthread_t th;
	int i;

	daemon_start(&d, args);
	job.d = &d;
	wait0 = daemon_cpu_wait_s(&d);
	pthread_create(&th, NULL, rx_job_run, &job);
	before = rx_job_wait_blocks(&job, 20);
	/* slowloris: heads that never end, a byte now and then */
	for (i = 0; i < 8; i++) {
		slow[i] = hc_plain(d.http_port);
		hc_send_str(&slow[i], "GET / HTTP/1.1\r\nHo");
	}
	for (i = 0; i < 8; i++) {
		read_response(&slow[i], r, false);
		cr_assert_eq(r->status, 408, "%s", r->head);
		cr_assert(hc_closed(&slow[i]));
		hc_close(&slow[i]);
	}
	rx_job_wait_blocks(&job, before + 40);
	atomic_store(&job.stop, true);
	pthread_join(th, NULL);
	cr_assert_eq(job.err, 0, "%s", job.errmsg);
	cr_assert_eq(job.v.integrity_errors, 0);
	cr_assert_eq(job.v.lost_blocks, 0, "the native client skipped nothing");
	assert_overflow_excused(&d, wait0, 16 * 65536.0 / 4 / 1e6, job.v.lost_samples,
				"while slow HTTP clients were timed out");
	cr_assert(daemon_log_contains(&d, "(--http-head-timeout): 408"));
	free(r);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(http, beyond_64_connections_get_503_and_streaming_clients_are_not_refused)
{
	struct daemon d;
	struct response *r = malloc(sizeof(*r));
	struct hconn held[HTTP_MAX_CONNS], extra;
	struct iios_client *cl;
	int i;

	daemon_start(&d, (const char *const[]){ "--http-listen", "127.0.0.1:0", "--max-clients",
						"4", NULL });
	for (i = 0; i < HTTP_MAX_CONNS; i++) {
		held[i] = hc_plain(d.http_port);
		/* each is served: the daemon has accepted it */
		hc_send_str(&held[i], "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
		read_response(&held[i], r, false);
		cr_assert_eq(r->status, 404);
	}
	extra = hc_plain(d.http_port);
	read_response(&extra, r, false);
	cr_assert_eq(r->status, 503, "%s", r->head);
	cr_assert(strstr(r->body, "too many connections"));
	cr_assert(hc_closed(&extra));
	hc_close(&extra);
	/* --max-clients 4 counts streaming clients only */
	cl = client_connect(&d);
	iios_close(cl);
	for (i = 0; i < HTTP_MAX_CONNS; i++)
		hc_close(&held[i]);
	/* room again once they are gone */
	for (i = 0;; i++) {
		struct hconn c = hc_plain(d.http_port);

		hc_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
		read_response(&c, r, false);
		hc_close(&c);
		if (r->status == 200)
			break;
		cr_assert_lt(i, HANG_MS / 10, "still 503 after every connection closed");
		harness_sleep_ms(10);
	}
	free(r);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(http, https_with_the_tls_ports_certificate_and_plain_http_there_is_told_so)
{
	char dir[64];
	struct test_certs certs;
	struct daemon d;
	struct response *r = malloc(sizeof(*r));
	struct hconn c;

	test_dir_make(dir, "http-tls");
	cr_assert_eq(test_certs_make(dir, &certs), 0);
	daemon_start(&d, (const char *const[]){ "--http-listen", "127.0.0.1:0", "--listen-tls",
						"127.0.0.1:0", "--tls-cert", certs.server_cert,
						"--tls-key", certs.server_key, NULL });
	c = hc_tls(d.http_port, certs.ca, NULL, NULL);
	hc_send_str(&c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
	read_response(&c, r, false);
	cr_assert_eq(r->status, 200);
	hc_send_str(&c, "GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
	read_response(&c, r, false);
	cr_assert_eq(r->status, 200, "kept alive over TLS");
	cr_assert(hc_closed(&c));
	hc_close(&c);
	/* both HTTPS handshakes counted with the TLS port's, in /metrics */
	c = hc_tls(d.http_port, certs.ca, NULL, NULL);
	hc_send_str(&c, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
	read_response(&c, r, false);
	cr_assert_eq(r->status, 200);
	cr_assert(strstr(r->body, "\niiostream_tls_handshakes_total 2\n"), "%s", r->body);
	hc_close(&c);
	get(d.http_port, "/", r);
	cr_assert_eq(r->status, 400);
	cr_assert(strstr(r->body, "HTTPS"), "%s", r->body);
	free(r);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	test_dir_remove(dir);
}

/* ---- in this process: the front-end with test routes ---- */

struct inproc {
	uv_loop_t loop;
	struct config cfg;
	struct server srv;
	struct http_server *hs;
	uv_async_t stop;
	pthread_t thread;
	atomic_int port;      /* 0 until it listens, -1 if it failed */
	int loop_close;       /* uv_loop_close()'s result: 0, no handle left */
	atomic_int ws_closed; /* on_close() calls */
};

static void whoami(struct http_exchange *x, const struct http_request *req, void *ctx)
{
	char body[200];
	int n = snprintf(body, sizeof(body), "tls=%d identity=%s may_write=%d\n", req->tls,
			 req->peer_identity ? req->peer_identity : "none", req->may_write);

	(void)ctx;
	http_reply(x, 200, "text/plain", "Cache-Control: no-store\r\n", body, (size_t)n);
}

static void echo_text(struct ws_conn *ws, const char *msg, size_t len, void *ctx)
{
	(void)ctx;
	if (len == 5 && memcmp(msg, "close", 5) == 0)
		ws_close(ws, 4000, "asked to");
	else
		ws_send_text(ws, msg, len);
}

static void echo_closed(struct ws_conn *ws, void *ctx)
{
	struct inproc *p = ctx;

	(void)ws;
	atomic_fetch_add(&p->ws_closed, 1);
}

static void echo(struct http_exchange *x, const struct http_request *req, void *ctx)
{
	static const struct ws_handlers h = { .on_text = echo_text, .on_close = echo_closed };

	http_upgrade_websocket(x, req, &h, ctx);
}

static void on_stop(uv_async_t *a)
{
	struct inproc *p = a->data;

	uv_close((uv_handle_t *)a, NULL);
	server_shutdown(&p->srv, "test over");
}

static void *inproc_run(void *arg)
{
	struct inproc *p = arg;

	uv_loop_init(&p->loop);
	uv_async_init(&p->loop, &p->stop, on_stop);
	p->stop.data = p;
	if (server_start(&p->srv, &p->loop, &p->cfg) != 0) {
		atomic_store(&p->port, -1);
		uv_close((uv_handle_t *)&p->stop, NULL);
		uv_run(&p->loop, UV_RUN_DEFAULT);
		uv_loop_close(&p->loop);
		return NULL;
	}
	p->hs = http_server_new(&p->srv);
	cr_assert_eq(http_server_route(p->hs, "GET", "/whoami", whoami, p), 0);
	cr_assert_eq(http_server_route(p->hs, "GET", "/whoami", whoami, p), -EEXIST);
	cr_assert_eq(http_server_route(p->hs, "GET", "/echo", echo, p), 0);
	cr_assert_eq(http_server_listen(p->hs), 0);
	atomic_store(&p->port, http_server_port(p->hs, 0));
	uv_run(&p->loop, UV_RUN_DEFAULT);
	p->loop_close = uv_loop_close(&p->loop);
	http_server_free(p->hs);
	return NULL;
}

static void inproc_start(struct inproc *p, const char *const *extra)
{
	char *argv[32] = { "iiostreamd", "--source", "sim", "--listen", "127.0.0.1:0", "--http-listen",
			   "127.0.0.1:0", "--advertise", "off" };
	char err[256];
	int argc = 9;

	while (extra && *extra)
		argv[argc++] = (char *)*extra++;
	memset(p, 0, sizeof(*p));
	config_defaults(&p->cfg);
	cr_assert_eq(config_parse_args(&p->cfg, argc, argv, err, sizeof(err)), CONFIG_OK, "%s",
		     err);
	pthread_create(&p->thread, NULL, inproc_run, p);
	WAIT_UNTIL(atomic_load(&p->port) != 0, "the in-process front-end to listen");
	cr_assert_gt(atomic_load(&p->port), 0);
}

static void inproc_stop(struct inproc *p)
{
	uv_async_send(&p->stop);
	pthread_join(p->thread, NULL);
	cr_assert_eq(p->loop_close, 0, "a handle was left open");
}

static void whoami_over(struct hconn *c, struct response *r)
{
	hc_send_str(c, "GET /whoami HTTP/1.1\r\nHost: localhost\r\n\r\n");
	read_response(c, r, false);
	cr_assert_eq(r->status, 200, "%s", r->head);
}

Test(http, a_client_certificate_on_allow_write_gives_may_write_others_not)
{
	char dir[64], want[200];
	struct test_certs certs;
	struct response *r = malloc(sizeof(*r));
	struct inproc *p = calloc(1, sizeof(*p));
	struct hconn c;

	test_dir_make(dir, "http-write");
	cr_assert_eq(test_certs_make(dir, &certs), 0);
	inproc_start(p, (const char *const[]){ "--listen-tls", "127.0.0.1:0", "--tls-cert",
					       certs.server_cert, "--tls-key", certs.server_key,
					       "--client-ca", certs.ca, "--allow-write",
					       "cn:good-client", NULL });
	c = hc_tls((uint16_t)p->port, certs.ca, certs.client_cert, certs.client_key);
	whoami_over(&c, r);
	snprintf(want, sizeof(want), "tls=1 identity=%s may_write=1\n", certs.client_fp);
	cr_assert_str_eq(r->body, want);
	hc_close(&c);
	c = hc_tls((uint16_t)p->port, certs.ca, certs.client2_cert, certs.client2_key);
	whoami_over(&c, r);
	snprintf(want, sizeof(want), "tls=1 identity=%s may_write=0\n", certs.client2_fp);
	cr_assert_str_eq(r->body, want, "a certificate not on the list");
	hc_close(&c);
	inproc_stop(p);
	free(p);
	free(r);
	test_dir_remove(dir);
}

/* A client's masked frame. */
static void ws_send_frame(struct hconn *c, uint8_t b0, const char *payload, size_t n)
{
	uint8_t f[256] = { b0, (uint8_t)(0x80 | n), 1, 2, 3, 4 };
	size_t i;

	cr_assert_lt(n, 126);
	for (i = 0; i < n; i++)
		f[6 + i] = (uint8_t)payload[i] ^ f[2 + (i & 3)];
	hc_send(c, f, 6 + n);
}

/* The next n bytes of the stream: those read beyond a response first. */
static void ws_read(struct hconn *c, void *out, size_t n)
{
	size_t got = n < c->nleft ? n : c->nleft;

	memcpy(out, c->left, got);
	memmove(c->left, c->left + got, c->nleft - got);
	c->nleft -= got;
	while (got < n) {
		ssize_t k = hc_recv(c, (char *)out + got, n - got);

		cr_assert_gt(k, 0, "the frame did not come");
		got += (size_t)k;
	}
}

/* A server's frame: its first byte; payload into out (NUL-terminated). */
static uint8_t ws_read_frame(struct hconn *c, char *out, size_t cap)
{
	uint8_t h[2];
	size_t n;

	ws_read(c, h, 2);
	n = h[1] & 0x7f;
	cr_assert_lt(n, 126);
	cr_assert_lt(n, cap);
	cr_assert_eq(h[1] & 0x80, 0, "server frames are not masked");
	ws_read(c, out, n);
	out[n] = '\0';
	return h[0];
}

static void ws_open(struct hconn *c, uint16_t port, struct response *r, const char *origin)
{
	char req[400];

	*c = hc_plain(port);
	snprintf(req, sizeof(req),
		 "GET /echo HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		 "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n", port, origin ? "Origin: " : "",
		 origin ? origin : "", origin ? "\r\n" : "");
	hc_send_str(c, req);
	read_response(c, r, false); /* a 101 has no body; a refusal has one */
}

Test(http, a_websocket_echoes_answers_pings_and_closes_both_ways)
{
	struct response *r = malloc(sizeof(*r));
	struct inproc *p = calloc(1, sizeof(*p));
	struct hconn c, ws[HTTP_MAX_WEBSOCKETS];
	char msg[200], v[64], origin[64];
	int i;

	inproc_start(p, NULL);
	snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", p->port);
	ws_open(&c, (uint16_t)p->port, r, origin);
	cr_assert_eq(r->status, 101, "%s", r->head);
	cr_assert_str_eq(resp_header(r, "Sec-WebSocket-Accept", v, sizeof(v)),
			 "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ws_send_frame(&c, 0x81, "hello, board", 12);
	cr_assert_eq(ws_read_frame(&c, msg, sizeof(msg)), 0x81);
	cr_assert_str_eq(msg, "hello, board");
	ws_send_frame(&c, 0x89, "pp", 2);
	cr_assert_eq(ws_read_frame(&c, msg, sizeof(msg)), 0x8a, "a pong");
	cr_assert_str_eq(msg, "pp");
	/* the client closes: answered with its code, then the server ends TCP */
	ws_send_frame(&c, 0x88, "\x03\xe8", 2);
	cr_assert_eq(ws_read_frame(&c, msg, sizeof(msg)), 0x88);
	cr_assert_eq((uint8_t)msg[0] << 8 | (uint8_t)msg[1], 1000);
	cr_assert(hc_closed(&c));
	hc_close(&c);
	WAIT_UNTIL(atomic_load(&p->ws_closed) == 1, "on_close for the first WebSocket");
	/* the server closes (ws_close): its frame, the client's answer, EOF */
	ws_open(&c, (uint16_t)p->port, r, NULL);
	cr_assert_eq(r->status, 101);
	ws_send_frame(&c, 0x81, "close", 5);
	cr_assert_eq(ws_read_frame(&c, msg, sizeof(msg)), 0x88);
	cr_assert_eq((uint8_t)msg[0] << 8 | (uint8_t)msg[1], 4000);
	cr_assert_str_eq(msg + 2, "asked to");
	ws_send_frame(&c, 0x88, "\x0f\xa0", 2);
	cr_assert(hc_closed(&c));
	hc_close(&c);
	WAIT_UNTIL(atomic_load(&p->ws_closed) == 2, "on_close for the second");
	/* an unmasked frame is a protocol error: 1002 */
	ws_open(&c, (uint16_t)p->port, r, NULL);
	hc_send(&c, "\x81\x02hi", 4);
	cr_assert_eq(ws_read_frame(&c, msg, sizeof(msg)), 0x88);
	cr_assert_eq((uint8_t)msg[0] << 8 | (uint8_t)msg[1], 1002);
	cr_assert(hc_closed(&c));
	hc_close(&c);
	/* another site's page is refused; so is a 17th WebSocket */
	ws_open(&c, (uint16_t)p->port, r, "https://evil.example");
	cr_assert_eq(r->status, 403);
	hc_close(&c);
	for (i = 0; i < HTTP_MAX_WEBSOCKETS; i++) {
		ws_open(&ws[i], (uint16_t)p->port, r, NULL);
		cr_assert_eq(r->status, 101, "WebSocket %d", i);
	}
	ws_open(&c, (uint16_t)p->port, r, NULL);
	cr_assert_eq(r->status, 503);
	hc_close(&c);
	/* the daemon stops with them open: each gets 1001 */
	uv_async_send(&p->stop);
	for (i = 0; i < HTTP_MAX_WEBSOCKETS; i++) {
		cr_assert_eq(ws_read_frame(&ws[i], msg, sizeof(msg)), 0x88);
		cr_assert_eq((uint8_t)msg[0] << 8 | (uint8_t)msg[1], 1001);
		hc_close(&ws[i]);
	}
	pthread_join(p->thread, NULL);
	cr_assert_eq(p->loop_close, 0, "a handle was left open");
	cr_assert_eq(atomic_load(&p->ws_closed), 3 + HTTP_MAX_WEBSOCKETS);
	free(p);
	free(r);
}
