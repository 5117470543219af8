// SPDX-License-Identifier: MIT
/*
 * TLS and access control against the real daemon on loopback, with real
 * OpenSSL and certificates made by each test (certs.c): a verified stream
 * over mutual TLS; every way in refused with a clear error while a good
 * client streams on unharmed; authorisation lists that refuse a request
 * and keep the connection; certificate files checked at start-up.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/ssl.h>

#include "certs.h"
#include "harness.h"

/* 64 KiB blocks at 2 M scans/s of 2 channels: 8 MB/s, 122 blocks/s. */
#define STREAM_ARGS "--rate", "2000000", "--channels", "2", "--block-size", "64K", "--blocks", "16"

static struct test_certs certs;
static char cert_dir[64];

static void make_certs(void)
{
	test_dir_make(cert_dir, "certs");
	cr_assert_eq(test_certs_make(cert_dir, &certs), 0, "could not make the test certificates");
}

static void remove_certs(void)
{
	test_dir_remove(cert_dir);
}

/* Options of a client that trusts the test CA, with a certificate or not. */
static struct iios_options tls_opts(const char *cert, const char *key)
{
	struct iios_options o = { .ca_file = certs.ca, .cert_file = cert, .key_file = key,
				  .client_name = "test_tls", .timeout_ms = HANG_MS };
	return o;
}

/* Connect must fail with `want` and a message holding `text`. */
static void expect_refused(const char *url, const struct iios_options *o, int want,
			   const char *text)
{
	struct iios_client *c = NULL;
	char err[320] = "";
	int r = iios_connect(url, o, &c, err, sizeof(err));

	cr_assert_eq(r, want, "%s: got %d (%s), want %d", url, r, err, want);
	cr_assert_null(c);
	cr_assert(strstr(err, text), "error '%s' does not say '%s'", err, text);
}

/* Poll the daemon's stats until `ok` holds (HANG_S at most). */
static bool stats_until(const struct daemon *d, struct iios_stats *st,
			bool (*ok)(const struct iios_stats *, uint64_t), uint64_t arg)
{
	for (double t0 = mono_s(); mono_s() - t0 < HANG_S;) {
		daemon_stats(d, st);
		if (ok(st, arg))
			return true;
		usleep(10000);
	}
	return false;
}

static bool handshake_failures_are(const struct iios_stats *st, uint64_t n)
{
	return st->tls_handshake_failures == n;
}

Test(tls, mutual_tls_stream_is_verified_and_reported, .init = make_certs, .fini = remove_certs)
{
	const char *args[] = { STREAM_ARGS, "--listen-tls", "127.0.0.1:0", "--tls-cert",
			       certs.server_cert, "--tls-key", certs.server_key, "--client-ca",
			       certs.ca, NULL };
	struct iios_options o = tls_opts(certs.client_cert, certs.client_key);
	static struct iios_stats st;
	struct iios_stream_info info;
	struct iios_verify v;
	struct iios_block blk;
	struct iios_client *c;
	char err[320];
	struct daemon d;
	bool seen = false;
	uint32_t i;

	daemon_start(&d, args);
	cr_assert_neq(d.tls_port, 0, "no TLS port in the port file");
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(iios_tls_info(c));
	cr_assert(strncmp(iios_tls_info(c), "TLSv1.3 ", 8) == 0, "%s", iios_tls_info(c));
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	iios_verify_init(&v);
	for (i = 0; i < 100; i++) {
		cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
		cr_assert_eq(iios_verify_block(&v, &info, &blk), 0, "%s", v.first_error);
	}
	cr_assert_eq(v.lost_blocks, 0);
	cr_assert_eq(v.bytes, 100ull * 64 * 1024);

	/* The daemon says how this client is served and who it is. */
	cr_assert_eq(iios_stats(c, &st), 0, "%s", iios_errmsg(c));
	for (i = 0; i < st.n_listed; i++) {
		const struct iios_client_stats *cs = &st.client[i];

		if (!cs->subscribed)
			continue;
		seen = true;
		cr_assert(strcmp(cs->transport, "tls") == 0 || strcmp(cs->transport, "ktls") == 0,
			  "%s", cs->transport);
		cr_assert(strncmp(cs->tls, "TLSv1.3 ", 8) == 0, "%s", cs->tls);
		/* this host's kernel has no TLS: the fallback and its reason */
		if (strcmp(cs->transport, "tls") == 0)
			cr_assert(strncmp(cs->tls_encrypt, "userspace: ", 11) == 0, "%s",
				  cs->tls_encrypt);
		cr_assert(strstr(cs->identity, "CN=good-client"), "%s", cs->identity);
		cr_assert(strstr(cs->identity, certs.client_fp), "%s vs %s", cs->identity,
			  certs.client_fp);
	}
	cr_assert(seen, "the subscribed TLS client is not in the stats");
	cr_assert(st.ktls[0], "stats do not say whether kernel TLS is available");
	iios_close(c);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tls, every_stranger_is_refused_clearly_and_harms_no_one, .init = make_certs,
     .fini = remove_certs, .timeout = 300)
{
	const char *args[] = { STREAM_ARGS, "--listen-tls", "127.0.0.1:0", "--tls-cert",
			       certs.server_cert, "--tls-key", certs.server_key, "--client-ca",
			       certs.ca, NULL };
	const char *expired_args[] = { "--listen-tls", "127.0.0.1:0", "--tls-cert",
				       certs.expired_cert, "--tls-key", certs.expired_key, NULL };
	struct iios_options good = tls_opts(certs.client_cert, certs.client_key);
	struct iios_options o;
	static struct iios_stats st;
	struct rx_job job = { .want_blocks = 0 }; /* until stopped */
	struct daemon d, old;
	uint64_t before;
	char url[64];
	pthread_t th;

	daemon_start(&d, args);
	job.d = &d;
	job.url = d.tls_url;
	job.opts = &good;
	cr_assert_eq(pthread_create(&th, NULL, rx_job_run, &job), 0);
	rx_job_wait_blocks(&job, 1); /* streaming before the strangers come */

	/* The client refuses the server: */
	o = good;
	o.ca_file = certs.other_ca; /* a CA that did not sign the server */
	expect_refused(d.tls_url, &o, -EPROTO, "certificate did not verify");
	o = good;
	o.tls_server_name = "elsewhere.example"; /* not the name in its certificate */
	expect_refused(d.tls_url, &o, -EPROTO, "hostname mismatch");
	daemon_start(&old, expired_args);
	expect_refused(old.tls_url, &good, -EPROTO, "certificate has expired");
	cr_assert(daemon_log_contains(&old, "has expired"), "no start-up warning");
	cr_assert_eq(daemon_stop(&old, HANG_MS), 0);

	/* The server refuses the client (mutual TLS): */
	o = tls_opts(NULL, NULL);
	expect_refused(d.tls_url, &o, -EACCES, "requires a client certificate");
	o = tls_opts(certs.stranger_cert, certs.stranger_key);
	expect_refused(d.tls_url, &o, -EACCES, "refused our certificate");
	o = tls_opts(certs.expired_client_cert, certs.expired_client_key);
	expect_refused(d.tls_url, &o, -EACCES, "refused our certificate");

	/* The wrong protocol on each port: */
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", d.tls_port);
	expect_refused(url, NULL, -EPROTO, "this port speaks TLS");
	snprintf(url, sizeof(url), "tls://localhost:%u", d.port);
	expect_refused(url, &good, -EPROTO, "did not answer in TLS");

	/* Our own mistakes, said before anything is sent: */
	o = tls_opts(certs.client_cert, certs.client2_key);
	expect_refused(d.tls_url, &o, -EINVAL, "does not match the certificate");
	o = tls_opts(certs.client_cert, "/nonexistent/client.key");
	expect_refused(d.tls_url, &o, -ENOENT, "/nonexistent/client.key");

	/* Meanwhile the good client received every block, verified, and it
	 * streams on (all along, however long the refusals took). */
	before = atomic_load(&job.blocks);
	rx_job_wait_blocks(&job, before + 10);
	atomic_store(&job.stop, true);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(job.err, 0, "good client failed: %s", job.errmsg);
	cr_assert_eq(job.v.integrity_errors, 0, "%s", job.v.first_error);
	cr_assert_eq(job.v.lost_blocks, 0, "the refusals cost the good client blocks");
	cr_assert_geq(job.v.blocks, before + 10);
	/* wrong CA, wrong name, no cert, stranger, expired cert; the mismatched
	 * key never connected, the plaintext client is a protocol error */
	if (!stats_until(&d, &st, handshake_failures_are, 5)) {
		daemon_dump_log(&d);
		cr_assert_fail("%lu TLS handshakes refused, want 5",
			       (unsigned long)st.tls_handshake_failures);
	}
	cr_assert_eq(st.protocol_errors, 2, "plaintext on TLS, TLS on plain: %lu",
		     (unsigned long)st.protocol_errors);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tls, authorisation_refuses_a_request_and_keeps_the_connection, .init = make_certs,
     .fini = remove_certs)
{
	char subscribers[160], writers[64];
	const char *args[] = { STREAM_ARGS, "--listen-tls", "127.0.0.1:0", "--tls-cert",
			       certs.server_cert, "--tls-key", certs.server_key, "--client-ca",
			       certs.ca, "--allow-subscribe", subscribers, "--allow-write", writers,
			       NULL };
	struct iios_options first = tls_opts(certs.client_cert, certs.client_key);
	struct iios_options second = tls_opts(certs.client2_cert, certs.client2_key);
	static struct iios_stats st;
	struct iios_stream_info info;
	struct iios_verify v;
	struct iios_block blk;
	struct iios_client *c;
	char err[320], value[64];
	struct daemon d;
	int i;

	snprintf(subscribers, sizeof(subscribers), "%s", certs.client2_fp);
	snprintf(writers, sizeof(writers), "cn:second-client");
	daemon_start(&d, args);

	/* good-client: neither list names it. */
	cr_assert_eq(iios_connect(d.tls_url, &first, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_attr_write(c, NULL, "sampling_frequency", "1000", value, sizeof(value)),
		     -EACCES);
	cr_assert(strstr(iios_errmsg(c), "not allowed"), "%s", iios_errmsg(c));
	cr_assert(strstr(iios_errmsg(c), "CN=good-client"), "%s", iios_errmsg(c));
	cr_assert_eq(iios_ping(c, NULL), 0, "connection lost after a refusal: %s", iios_errmsg(c));
	cr_assert_eq(iios_subscribe(c, 0, &info), -EACCES, "%s", iios_errmsg(c));
	cr_assert_eq(iios_attr_read(c, NULL, "sampling_frequency", value, sizeof(value)), 0,
		     "reading is not restricted: %s", iios_errmsg(c));
	cr_assert_str_eq(value, "2000000");
	cr_assert_eq(iios_ping(c, NULL), 0, "%s", iios_errmsg(c));
	iios_close(c);

	/* A plain-TCP client has no identity: refused too. */
	cr_assert_eq(iios_connect(d.url, NULL, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_attr_write(c, NULL, "sampling_frequency", "1000", value, sizeof(value)),
		     -EACCES);
	cr_assert(strstr(iios_errmsg(c), "no certificate"), "%s", iios_errmsg(c));
	iios_close(c);

	/* second-client: both lists name it (by fingerprint and by CN). */
	cr_assert_eq(iios_connect(d.tls_url, &second, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_attr_write(c, NULL, "sampling_frequency", "1000000", value,
				     sizeof(value)), 0, "%s", iios_errmsg(c));
	cr_assert_str_eq(value, "1000000");
	cr_assert_eq(iios_attr_write(c, NULL, "sampling_frequency", "fast", value, sizeof(value)),
		     -EINVAL, "%s", iios_errmsg(c));
	cr_assert_eq(iios_attr_write(c, NULL, "no_such_attr", "1", value, sizeof(value)), -ENOENT,
		     "%s", iios_errmsg(c));
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	cr_assert_eq(info.sample_rate, 1000000, "the write did not change the stream's rate");
	iios_verify_init(&v);
	for (i = 0; i < 20; i++) {
		cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
		cr_assert_eq(iios_verify_block(&v, &info, &blk), 0, "%s", v.first_error);
	}
	iios_close(c);
	daemon_stats(&d, &st);
	cr_assert_eq(st.requests_refused, 3);
	cr_assert_eq(st.protocol_errors, 0, "a refusal is not a protocol error");
	cr_assert(daemon_log_contains(&d, "refused by --allow-write"));
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

static void ssl_read_exact(SSL *ssl, void *buf, size_t len)
{
	size_t got = 0, n;

	while (got < len) {
		cr_assert_eq(SSL_read_ex(ssl, (uint8_t *)buf + got, len - got, &n), 1,
			     "OpenSSL could not read the daemon's records");
		got += n;
	}
}

/* One frame through OpenSSL's SSL_read; the payload of a block into
 * payload[cap]. Returns the Envelope (free with iios_frame_free). */
static Iiostream__Envelope *ssl_read_frame(SSL *ssl, uint8_t *payload, size_t cap)
{
	static uint8_t frame[IIOS_FRAME_PREFIX + IIOS_FRAME_MAX_ENVELOPE];
	Iiostream__Envelope *env;
	uint32_t len;

	ssl_read_exact(ssl, frame, IIOS_FRAME_PREFIX);
	len = ntohl(*(uint32_t *)frame);
	cr_assert(len > 0 && len <= IIOS_FRAME_MAX_ENVELOPE);
	ssl_read_exact(ssl, frame + IIOS_FRAME_PREFIX, len);
	cr_assert_eq(iios_frame_parse(frame, IIOS_FRAME_PREFIX + len, IIOS_FRAME_MAX_ENVELOPE, &env),
		     (long)(IIOS_FRAME_PREFIX + len));
	if (env->msg_case == IIOSTREAM__ENVELOPE__MSG_BLOCK) {
		cr_assert(env->block->payload_len <= cap);
		ssl_read_exact(ssl, payload, env->block->payload_len);
	}
	return env;
}

static void ssl_send_env(SSL *ssl, const Iiostream__Envelope *env)
{
	uint8_t frame[256];
	long n = iios_frame_encode(env, frame, sizeof(frame), sizeof(frame) - IIOS_FRAME_PREFIX);
	size_t put;

	cr_assert(n > 0);
	cr_assert_eq(SSL_write_ex(ssl, frame, (size_t)n, &put), 1);
}

/*
 * The daemon seals its records itself (server/tx/tls_tx.c) and libiiostream
 * opens them itself: a mistake shared by both would pass every other test.
 * Here plain OpenSSL is the client, for every suite.
 */
Test(tls, openssl_reads_the_daemons_records_for_every_suite, .init = make_certs,
     .fini = remove_certs)
{
	static const char *const suites[] = { "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
					      "TLS_CHACHA20_POLY1305_SHA256" };
	static uint8_t payload[64 * 1024];
	unsigned i, b;

	for (i = 0; i < 3; i++) {
		const char *args[] = { STREAM_ARGS, "--listen-tls", "127.0.0.1:0", "--tls-cert",
				       certs.server_cert, "--tls-key", certs.server_key,
				       "--tls-ciphersuites", suites[i], NULL };
		Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
		Iiostream__Hello hello = IIOSTREAM__HELLO__INIT;
		Iiostream__Subscribe sub = IIOSTREAM__SUBSCRIBE__INIT;
		struct iios_stream_info info = { 0 };
		struct iios_block blk = { 0 };
		struct iios_verify v;
		struct daemon d;
		SSL_CTX *ctx;
		SSL *ssl;
		int fd;

		daemon_start(&d, args);
		{
			struct daemon t = d; /* raw_connect dials .port */

			t.port = d.tls_port;
			fd = raw_connect(&t);
		}
		ctx = SSL_CTX_new(TLS_client_method());
		cr_assert_not_null(ctx);
		SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
		cr_assert_eq(SSL_CTX_load_verify_locations(ctx, certs.ca, NULL), 1);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		SSL_set1_host(ssl, "localhost");
		cr_assert_eq(SSL_connect(ssl), 1, "handshake with %s", suites[i]);
		cr_assert_str_eq(SSL_get_cipher_name(ssl), suites[i]);

		hello.magic = IIOS_PROTOCOL_MAGIC;
		hello.version_min = hello.version_max = IIOS_PROTOCOL_VERSION;
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO;
		env.hello = &hello;
		ssl_send_env(ssl, &env);
		r = ssl_read_frame(ssl, payload, sizeof(payload));
		cr_assert_eq(r->msg_case, IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY);
		iios_frame_free(r);

		env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE;
		env.subscribe = &sub;
		ssl_send_env(ssl, &env);
		r = ssl_read_frame(ssl, payload, sizeof(payload));
		cr_assert_eq(r->msg_case, IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE_REPLY);
		info.scan_bytes = r->subscribe_reply->scan_bytes;
		info.block_size = r->subscribe_reply->block_size;
		info.n_channels = r->subscribe_reply->n_channels;
		for (size_t k = 0; k < info.n_channels && k < IIOS_MAX_CHANNELS; k++)
			info.channels[k].index = r->subscribe_reply->channels[k]->index;
		iios_frame_free(r);

		/* 20 blocks of 64 KiB: records that span heads and payloads */
		iios_verify_init(&v);
		for (b = 0; b < 20; b++) {
			r = ssl_read_frame(ssl, payload, sizeof(payload));
			cr_assert_eq(r->msg_case, IIOSTREAM__ENVELOPE__MSG_BLOCK);
			blk.sequence = r->block->sequence;
			blk.first_sample = r->block->first_sample;
			blk.lost_before = r->block->lost_before;
			blk.lost_samples = r->block->lost_samples;
			blk.flags = r->block->flags;
			blk.bytes_used = r->block->bytes_used;
			blk.data = payload;
			blk.len = r->block->payload_len;
			iios_frame_free(r);
			cr_assert_eq(iios_verify_block(&v, &info, &blk), 0, "%s: %s", suites[i],
				     v.first_error);
		}
		SSL_free(ssl);
		SSL_CTX_free(ctx);
		close(fd);
		cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	}
}

/* TLS clients that vanish mid-block (a close with unread data resets the
 * connection) while the daemon holds sealed records for them: no block is
 * lost to the source, the daemon goes on, a good client loses nothing. */
Test(tls, clients_vanishing_mid_stream_leak_nothing, .init = make_certs, .fini = remove_certs)
{
	const char *args[] = { "--rate", "0", "--block-size", "256K", "--blocks", "16",
			       "--listen-tls", "127.0.0.1:0", "--tls-cert", certs.server_cert,
			       "--tls-key", certs.server_key, NULL };
	struct iios_options o = tls_opts(NULL, NULL);
	static struct iios_stats st;
	struct rx_job job = { .want_blocks = 400 };
	struct daemon d;
	pthread_t th;
	int round;

	daemon_start(&d, args);
	job.d = &d;
	job.url = d.tls_url;
	job.opts = &o;
	cr_assert_eq(pthread_create(&th, NULL, rx_job_run, &job), 0);
	for (round = 0; round < 6; round++) {
		struct iios_stream_info info;
		struct iios_block blk;
		struct iios_client *c;
		char err[320];
		pid_t pid;
		int status;

		/* in a child, so that exiting drops the socket unread */
		pid = fork();
		cr_assert(pid >= 0);
		if (pid == 0) {
			if (iios_connect(d.tls_url, &o, &c, err, sizeof(err)) ||
			    iios_subscribe(c, 0, &info) || iios_next_block(c, &blk))
				_exit(1);
			_exit(0);
		}
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "round %d", round);
	}
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(job.err, 0, "%s", job.errmsg);
	cr_assert_eq(job.v.integrity_errors, 0, "%s", job.v.first_error);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st), "%u blocks never came back",
		  st.source.blocks_held);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* A client that starts a TLS handshake and stalls is closed after the
 * handshake timeout (5 s: not before; how long after depends on the
 * machine's load) and counted; others are served meanwhile. */
Test(tls, a_stalled_handshake_times_out, .init = make_certs, .fini = remove_certs, .timeout = 300)
{
	const char *args[] = { STREAM_ARGS, "--listen-tls", "127.0.0.1:0", "--tls-cert",
			       certs.server_cert, "--tls-key", certs.server_key, NULL };
	static const uint8_t partial_hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00 };
	struct iios_options o = tls_opts(NULL, NULL);
	static struct iios_stats st;
	struct iios_client *c;
	char err[320];
	struct daemon d, t;
	double t0;
	int fd;

	daemon_start(&d, args);
	t = d;
	t.port = d.tls_port;
	t0 = mono_s(); /* before connecting: the deadline starts later */
	fd = raw_connect(&t);
	cr_assert_eq(send(fd, partial_hello, sizeof(partial_hello), MSG_NOSIGNAL),
		     (ssize_t)sizeof(partial_hello));
	/* served while the stalled one waits */
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_ping(c, NULL), 0, "%s", iios_errmsg(c));
	iios_close(c);
	cr_assert(raw_wait_closed(fd, HANG_MS), "a stalled TLS handshake was never closed");
	cr_assert_geq(mono_s() - t0, 5.0, "closed %.2f s after connecting, before the 5 s deadline",
		      mono_s() - t0);
	close(fd);
	daemon_stats(&d, &st);
	cr_assert_eq(st.tls_handshake_failures, 1);
	cr_assert(daemon_log_contains(&d, "no TLS handshake in time"));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* The daemon must not start with a certificate problem; exit 1 and a
 * message that names the file. */
static void expect_start_failure(const char *cert, const char *key, const char *ca,
				 const char *text)
{
	const char *args[16];
	char err[1024];
	int n = 0, status;

	args[n++] = "--listen";
	args[n++] = "127.0.0.1:0";
	args[n++] = "--listen-tls";
	args[n++] = "127.0.0.1:0";
	args[n++] = "--tls-cert";
	args[n++] = cert;
	args[n++] = "--tls-key";
	args[n++] = key;
	if (ca) {
		args[n++] = "--client-ca";
		args[n++] = ca;
	}
	args[n] = NULL;
	status = run_daemon_to_exit(args, err, sizeof(err));
	cr_assert_eq(status, 1, "exit %d, stderr: %s", status, err);
	cr_assert(strstr(err, text), "stderr '%s' does not say '%s'", err, text);
}

Test(tls, bad_certificate_files_stop_the_daemon_at_start, .init = make_certs,
     .fini = remove_certs)
{
	char err[512];
	const char *args[] = { "--listen-tls", "127.0.0.1:0", "--tls-key", certs.server_key, NULL };

	expect_start_failure("/nonexistent/server.pem", certs.server_key, NULL,
			     "/nonexistent/server.pem: No such file or directory");
	expect_start_failure(certs.server_cert, "/nonexistent/server.key", NULL,
			     "/nonexistent/server.key: No such file or directory");
	expect_start_failure(certs.server_cert, certs.client_key, NULL, "does not match");
	expect_start_failure(certs.server_key, certs.server_key, NULL, "not a PEM certificate");
	expect_start_failure(certs.server_cert, certs.server_cert, NULL, "not a PEM private key");
	expect_start_failure(certs.server_cert, certs.server_key, certs.server_key,
			     "--client-ca");
	expect_start_failure(certs.server_cert, certs.server_key, "/nonexistent/ca.pem",
			     "/nonexistent/ca.pem");
	{
		const char *ccm[] = { "--listen-tls", "127.0.0.1:0", "--tls-cert", certs.server_cert,
				      "--tls-key", certs.server_key, "--tls-ciphersuites",
				      "TLS_AES_128_CCM_SHA256", NULL };

		cr_assert_eq(run_daemon_to_exit(ccm, err, sizeof(err)), 1, "%s", err);
		cr_assert(strstr(err, "--tls-ciphersuites"), "%s", err);
	}
	/* a flag that cannot work alone is a usage error (exit 2) */
	cr_assert_eq(run_daemon_to_exit(args, err, sizeof(err)), 2, "%s", err);
	cr_assert(strstr(err, "--tls-cert"), "%s", err);
}

Test(tls, plain_tcp_beyond_loopback_is_warned_about)
{
	/* --advertise off: a test announces nothing on the host's LAN */
	const char *args[] = { "--listen", "0.0.0.0:0", "--advertise", "off", NULL };
	struct daemon d;

	daemon_start(&d, args);
	cr_assert(daemon_log_contains(&d, "open to the network"), "no warning");
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	daemon_start(&d, NULL);
	cr_assert(!daemon_log_contains(&d, "open to the network"), "warned about loopback");
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}
