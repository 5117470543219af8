// SPDX-License-Identifier: MIT
/*
 * /metrics and /api/v1/status on a real daemon (--http-listen on loopback)
 * while two native clients stream verified blocks from the sim: the
 * counters move, `promtool check metrics` (Debian's prometheus package)
 * accepts the exposition, the JSON parses (Debian's python3) and lists the
 * two clients with their transports, and the bytes /metrics says were sent
 * are exactly the bytes the clients received.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define BLOCK_SIZE 65536
#define PYTHON "/usr/bin/python3"

/* The port of the daemon's first --http-listen: its port file's fourth
 * line (harness.h reads the first three). */
static uint16_t http_port(const struct daemon *d)
{
	char path[128];
	unsigned p[4] = { 0 };
	FILE *f;

	snprintf(path, sizeof(path), "%s/port", d->dir);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%u %u %u %u", &p[0], &p[1], &p[2], &p[3]), 4,
		     "no HTTP port in the port file");
	fclose(f);
	return (uint16_t)p[3];
}

struct http_reply {
	int status;
	char content_type[128];
	char *body; /* NUL-terminated; free() it */
	size_t body_len;
};

/* GET path over a fresh connection (Connection: close), read to EOF. */
static void http_get(uint16_t port, const char *path, struct http_reply *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { HANG_S, 0 };
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap), req[256], *body, *ct;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	cr_assert(buf && fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect to the HTTP port %u: %s",
		     port, strerror(errno));
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n\r\n",
		     path, port);
	cr_assert_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	while ((n = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
		len += (size_t)n;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
	}
	cr_assert_eq(n, 0, "GET %s: no EOF: %s", path, strerror(errno));
	close(fd);
	buf[len] = '\0';
	cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &r->status), 1, "GET %s: %s", path, buf);
	body = strstr(buf, "\r\n\r\n");
	cr_assert_not_null(body, "GET %s: no end of head", path);
	*body = '\0';
	body += 4;
	r->content_type[0] = '\0';
	ct = strcasestr(buf, "\r\nContent-Type: ");
	if (ct)
		sscanf(ct + 16, "%127[^\r]", r->content_type);
	r->body_len = len - (size_t)(body - buf);
	r->body = strdup(body);
	cr_assert_not_null(r->body);
	free(buf);
}

/* The value of the sample `series` (name and labels as written) in an
 * exposition; asserts that there is exactly one. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text, *found = NULL;

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ') {
			cr_assert_null(found, "%s twice", series);
			found = p;
		}
		p += n;
	}
	cr_assert_not_null(found, "no sample %s in:\n%s", series, text);
	return strtod(found + n + 1, NULL);
}

/* A file in dir holding text; its path in path[len]. */
static void write_file(const char *dir, const char *name, const char *text, char *path,
		       size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fputs(text, f) >= 0, true);
	fclose(f);
}

/* One native client: receive and verify until told to stop, then
 * unsubscribe, so that what it received is everything sent to it. */
struct client {
	const struct daemon *d;
	atomic_uint_fast64_t blocks;
	atomic_bool stop, unsubscribed, close;
	int err;
	char errmsg[256];
	struct iios_verify v;
	struct iios_counters counters; /* after the unsubscribe */
};

static void *client_run(void *arg)
{
	struct client *cl = arg;
	struct iios_options o = { .timeout_ms = HANG_MS };
	struct iios_stream_info info;
	struct iios_client *c;
	struct iios_block blk;

	iios_verify_init(&cl->v);
	cl->err = iios_connect(cl->d->url, &o, &c, cl->errmsg, sizeof(cl->errmsg));
	if (cl->err) {
		atomic_store(&cl->unsubscribed, true);
		return NULL;
	}
	cl->err = iios_subscribe(c, 0, &info);
	while (!cl->err && !atomic_load(&cl->stop)) {
		cl->err = iios_next_block(c, &blk);
		if (!cl->err) {
			iios_verify_block(&cl->v, &info, &blk);
			atomic_fetch_add(&cl->blocks, 1);
		}
	}
	if (!cl->err)
		cl->err = iios_unsubscribe(c);
	if (cl->err)
		snprintf(cl->errmsg, sizeof(cl->errmsg), "%s", iios_errmsg(c));
	iios_counters(c, &cl->counters);
	atomic_store(&cl->unsubscribed, true);
	/* stay connected while the test reads the clients' list */
	while (!atomic_load(&cl->close))
		harness_sleep_ms(10);
	iios_close(c);
	return NULL;
}

static void run_checked(const char *const *argv, const char *what)
{
	char err[4096];
	int rc = run_command(argv, NULL, err, sizeof(err), HANG_MS);

	cr_assert_eq(rc, 0, "%s failed (%d): %s", what, rc, err);
}

Test(metrics, two_clients_move_the_counters_and_sent_bytes_are_what_they_received)
{
	struct daemon d;
	char dir[64], path[128];
	uint16_t port;
	const char *args[] = { "--source", "sim", "--rate", "2000000", "--channels", "2",
			       "--block-size", "64K", "--blocks", "16",
			       "--http-listen", "127.0.0.1:0", NULL };
	struct client cl[2] = { { .d = &d }, { .d = &d } };
	pthread_t th[2];
	struct http_reply m1, m2, m3, st;
	uint64_t blocks = 0, bytes = 0;
	int i;

	test_dir_make(dir, "metrics");
	daemon_start(&d, args);
	port = http_port(&d);
	for (i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, client_run, &cl[i]), 0);
	for (i = 0; i < 2; i++)
		WAIT_UNTIL(atomic_load(&cl[i].blocks) >= 20 || atomic_load(&cl[i].unsubscribed),
			   "client %d's 20th block", i);

	/* streaming: the counters, the clients by transport, and promtool */
	http_get(port, "/metrics", &m1);
	cr_assert_eq(m1.status, 200);
	cr_assert_str_eq(m1.content_type, "text/plain; version=0.0.4; charset=utf-8");
	cr_assert_eq(sample(m1.body, "iiostream_clients{transport=\"tcp\"}"), 2);
	cr_assert_eq(sample(m1.body, "iiostream_clients{transport=\"tls\"}"), 0);
	cr_assert_eq(sample(m1.body, "iiostream_build_info{version=\"" IIOSTREAM_VERSION "\"}"), 1);
	cr_assert_gt(sample(m1.body, "iiostream_device_produced_bytes_total{device=\"sim\","
				     "direction=\"rx\"}"), 0);
	cr_assert_geq(sample(m1.body, "iiostream_device_sent_blocks_total{device=\"sim\","
				      "direction=\"rx\"}"), 40);
	cr_assert_eq(sample(m1.body, "iiostream_device_subscribers{device=\"sim\",direction=\"rx\"}"), 2);
	cr_assert_geq(sample(m1.body, "iiostream_connections_total"), 2);
	write_file(dir, "metrics.txt", m1.body, path, sizeof(path));
	{
		const char *argv[] = { "/bin/sh", "-c", "promtool check metrics < \"$0\"", path, NULL };

		run_checked(argv, "promtool check metrics");
	}

	/* the status API: valid JSON, the two clients with their transport */
	http_get(port, "/api/v1/status", &st);
	cr_assert_eq(st.status, 200);
	cr_assert_str_eq(st.content_type, "application/json");
	write_file(dir, "status.json", st.body, path, sizeof(path));
	{
		const char *check =
			"import json, sys\n"
			"s = json.load(open(sys.argv[1]))\n"
			"assert s['api_version'] == 1, s\n"
			"assert s['daemon']['pid'] > 0 and s['daemon']['uptime_seconds'] > 0\n"
			"assert s['versions']['libuv'] and s['versions']['openssl']\n"
			"d = [x for x in s['devices'] if x['id'] == 'sim'][0]\n"
			"assert d['direction'] == 'rx' and d['source'] == 'sim', d\n"
			"assert d['buffers'] == {'blocks': 16, 'block_size': 65536,\n"
			"                        'held': d['buffers']['held']}, d\n"
			"assert [c['enabled'] for c in d['channels']] == [True, True], d\n"
			"assert d['channels'][0]['format'] == 'le:s16/16>>0', d\n"
			"assert 'sampling_frequency' in d['attributes'], d\n"
			"assert d['counters']['bytes_sent'] > 0, d\n"
			"cs = [c for c in s['clients'] if c['subscribed']]\n"
			"assert len(cs) == 2, s['clients']\n"
			"for c in cs:\n"
			"    assert c['transport'] == 'tcp' and c['tls_identity'] is None, c\n"
			"    assert c['peer'].startswith('127.0.0.1:') and c['bytes_sent'] > 0, c\n"
			"assert any(x['direction'] == 'tx' for x in s['devices']), 'the sim DAC'\n";
		const char *argv[] = { PYTHON, "-c", check, path, NULL };

		run_checked(argv, "the status JSON's check");
	}

	/* later: the counters moved */
	WAIT_UNTIL(atomic_load(&cl[0].blocks) >= 40, "client 0's 40th block");
	http_get(port, "/metrics", &m2);
	cr_assert_gt(sample(m2.body, "iiostream_device_sent_bytes_total{device=\"sim\",direction=\"rx\"}"),
		     sample(m1.body, "iiostream_device_sent_bytes_total{device=\"sim\",direction=\"rx\"}"));
	cr_assert_gt(sample(m2.body, "iiostream_send_latency_seconds_count{device=\"sim\","
				     "direction=\"rx\"}"), 0);

	/* both unsubscribed (still connected): nothing more is sent to them,
	 * and every block sent was received, whole or discarded in flight */
	for (i = 0; i < 2; i++)
		atomic_store(&cl[i].stop, true);
	for (i = 0; i < 2; i++) {
		WAIT_UNTIL(atomic_load(&cl[i].unsubscribed), "client %d's unsubscribe", i);
		cr_assert_eq(cl[i].err, 0, "client %d: %s", i, cl[i].errmsg);
		cr_assert_eq(cl[i].v.integrity_errors, 0);
		cr_assert_eq(cl[i].counters.bytes, cl[i].counters.blocks * BLOCK_SIZE);
		blocks += cl[i].counters.blocks + cl[i].counters.discarded_blocks;
		bytes += (cl[i].counters.blocks + cl[i].counters.discarded_blocks) * BLOCK_SIZE;
	}
	http_get(port, "/metrics", &m3);
	cr_assert_eq((uint64_t)sample(m3.body, "iiostream_device_sent_blocks_total{device=\"sim\","
						"direction=\"rx\"}"), blocks);
	cr_assert_eq((uint64_t)sample(m3.body, "iiostream_device_sent_bytes_total{device=\"sim\","
						"direction=\"rx\"}"), bytes,
		     "sent %.0f bytes, the clients received %" PRIu64,
		     sample(m3.body, "iiostream_device_sent_bytes_total{device=\"sim\",direction=\"rx\"}"),
		     bytes);
	/* copy over loopback: every send completed as it was taken whole */
	cr_assert_eq((uint64_t)sample(m3.body, "iiostream_send_latency_seconds_count{device=\"sim\","
						"direction=\"rx\"}"), blocks);
	cr_assert_eq(sample(m3.body, "iiostream_device_subscribers{device=\"sim\",direction=\"rx\"}"), 0);
	cr_assert_eq(sample(m3.body, "iiostream_clients{transport=\"tcp\"}"), 2);

	for (i = 0; i < 2; i++) {
		atomic_store(&cl[i].close, true);
		pthread_join(th[i], NULL);
	}
	free(m1.body);
	free(m2.body);
	free(m3.body);
	free(st.body);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0, "the daemon exits 0, every block back");
	test_dir_remove(dir);
}
