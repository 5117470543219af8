// SPDX-License-Identifier: MIT
/*
 * TLS records under attack, against the real daemon on loopback.
 *
 * Client to server: a TLS 1.3 client of the test's own (OpenSSL over memory
 * BIOs on a real socket, so the test sees and can change every record)
 * corrupts, replays and reorders its records, and asks the daemon to update
 * its keys. With the key log of that client the test then opens every
 * record the daemon sent and checks that each took a fresh (key, sequence
 * number) pair, the nonce of AES-GCM and ChaCha20-Poly1305: a nonce used
 * twice gives a man in the middle the XOR of two plaintexts and, for GCM,
 * the key to forge records. The connection must end with the right alert.
 *
 * Server to client: a relay between libiiostream and the daemon corrupts,
 * replays, reorders or drops one of the daemon's records; the library's
 * record opener must refuse the stream with a clear error, and the daemon
 * must get every block back.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include "certs.h"
#include "harness.h"
#include "iiostream/tls13.h"

/* 64 KiB blocks at 2 M scans/s of 2 channels: 8 MB/s. */
#define STREAM_ARGS "--rate", "2000000", "--channels", "2", "--block-size", "64K", "--blocks", "16"
/* Only guards against a hang: every wait below is for a condition. */
#define WAIT_MS 60000

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

static void start_tls_daemon(struct daemon *d)
{
	const char *args[] = { STREAM_ARGS, "--listen-tls", "127.0.0.1:0", "--tls-cert",
			       certs.server_cert, "--tls-key", certs.server_key, NULL };

	daemon_start(d, args);
	cr_assert_neq(d->tls_port, 0, "no TLS port in the port file");
}

static int connect_port(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	return fd;
}

/* ---- a growable byte buffer ---- */

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

/* The length of the whole TLS record at p[0..len), or 0 if it is not all there. */
static size_t record_len(const uint8_t *p, size_t len)
{
	size_t n;

	if (len < IIOS_TLS13_HEADER)
		return 0;
	n = IIOS_TLS13_HEADER + ((size_t)p[3] << 8 | p[4]);
	return n <= len ? n : 0;
}

/* ---- the test's own TLS client ---- */

struct tap {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *in, *out;          /* OpenSSL reads from in, writes to out */
	struct bytes wire;      /* every byte the daemon sent */
	size_t app_start;       /* offset in wire of the first record after the handshake */
	uint8_t secret[64];     /* the daemon's SERVER_TRAFFIC_SECRET_0 */
	size_t secret_len;
	bool eof;
};

static void on_keylog(const SSL *ssl, const char *line)
{
	struct tap *t = SSL_get_app_data(ssl);
	size_t n = iios_tls13_keylog_secret(line, "SERVER_TRAFFIC_SECRET_0", t->secret);

	if (n)
		t->secret_len = n;
}

/* Take what OpenSSL wrote, as whole records. */
static struct bytes tap_take_output(struct tap *t)
{
	struct bytes b = { 0 };
	uint8_t buf[16384];
	int n;

	while ((n = BIO_read(t->out, buf, sizeof(buf))) > 0)
		bytes_add(&b, buf, (size_t)n);
	return b;
}

static void send_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return; /* the daemon has closed: what it sent is still read */
		p += n;
		len -= (size_t)n;
	}
}

/* Send what OpenSSL wrote, unchanged. */
static void tap_flush(struct tap *t)
{
	struct bytes b = tap_take_output(t);

	send_all(t->fd, b.p, b.len);
	free(b.p);
}

/* Receive what the daemon sent (waiting up to WAIT_MS): false at its close. */
static bool tap_receive(struct tap *t)
{
	struct pollfd p = { .fd = t->fd, .events = POLLIN };
	uint8_t buf[65536];
	ssize_t n;

	cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "the daemon sent nothing for %d ms", WAIT_MS);
	n = recv(t->fd, buf, sizeof(buf), 0);
	if (n <= 0) {
		t->eof = true;
		return false;
	}
	bytes_add(&t->wire, buf, (size_t)n);
	cr_assert_eq(BIO_write(t->in, buf, (int)n), n);
	return true;
}

static void tap_connect(struct tap *t, uint16_t port)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->fd = connect_port(port);
	t->ctx = SSL_CTX_new(TLS_client_method());
	cr_assert_not_null(t->ctx);
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION);
	cr_assert_eq(SSL_CTX_load_verify_locations(t->ctx, certs.ca, NULL), 1);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_keylog_callback(t->ctx, on_keylog);
	t->ssl = SSL_new(t->ctx);
	t->in = BIO_new(BIO_s_mem());
	t->out = BIO_new(BIO_s_mem());
	cr_assert(t->ssl && t->in && t->out);
	SSL_set_bio(t->ssl, t->in, t->out);
	SSL_set_app_data(t->ssl, t);
	SSL_set1_host(t->ssl, "localhost");
	while ((r = SSL_connect(t->ssl)) != 1) {
		cr_assert_eq(SSL_get_error(t->ssl, r), SSL_ERROR_WANT_READ, "TLS handshake failed");
		tap_flush(t);
		cr_assert(tap_receive(t), "the daemon closed during the handshake");
	}
	tap_flush(t);
	cr_assert_neq(t->secret_len, 0, "no server traffic secret in the key log");
	/* what OpenSSL has not read yet is the daemon's first records */
	t->app_start = t->wire.len - (size_t)BIO_ctrl_pending(t->in);
}

static void tap_free(struct tap *t)
{
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	close(t->fd);
	free(t->wire.p);
	OPENSSL_cleanse(t->secret, sizeof(t->secret));
}

/* SSL_write one frame into OpenSSL's output (not sent yet). */
static void tap_write_env(struct tap *t, const Iiostream__Envelope *env)
{
	uint8_t frame[256];
	long n = iios_frame_encode(env, frame, sizeof(frame), sizeof(frame) - IIOS_FRAME_PREFIX);
	size_t put;

	cr_assert(n > 0);
	cr_assert_eq(SSL_write_ex(t->ssl, frame, (size_t)n, &put), 1);
}

/* SSL_read exactly len bytes; false if the connection ended first (the
 * reason, OpenSSL's, in why). Anything OpenSSL writes meanwhile (a
 * KeyUpdate) is sent. */
static bool tap_read(struct tap *t, void *buf, size_t len, char *why, size_t whylen)
{
	size_t got = 0, n;

	while (got < len) {
		int r = SSL_read_ex(t->ssl, (uint8_t *)buf + got, len - got, &n);

		tap_flush(t);
		if (r == 1) {
			got += n;
			continue;
		}
		if (SSL_get_error(t->ssl, r) == SSL_ERROR_WANT_READ && !t->eof) {
			tap_receive(t);
			continue;
		}
		snprintf(why, whylen, "%s",
			 ERR_peek_last_error() ? ERR_reason_error_string(ERR_peek_last_error())
					       : "closed");
		ERR_clear_error();
		return false;
	}
	return true;
}

/* The next frame (a block's payload read and dropped), or NULL when the
 * connection ended (why says how). */
static Iiostream__Envelope *tap_read_frame(struct tap *t, char *why, size_t whylen)
{
	static uint8_t frame[IIOS_FRAME_PREFIX + IIOS_FRAME_MAX_ENVELOPE], payload[65536];
	Iiostream__Envelope *env;
	uint32_t len;

	if (!tap_read(t, frame, IIOS_FRAME_PREFIX, why, whylen))
		return NULL;
	len = ntohl(*(uint32_t *)frame);
	cr_assert(len > 0 && len <= IIOS_FRAME_MAX_ENVELOPE);
	if (!tap_read(t, frame + IIOS_FRAME_PREFIX, len, why, whylen))
		return NULL;
	cr_assert_eq(iios_frame_parse(frame, IIOS_FRAME_PREFIX + len, IIOS_FRAME_MAX_ENVELOPE, &env),
		     (long)(IIOS_FRAME_PREFIX + len));
	if (env->msg_case == IIOSTREAM__ENVELOPE__MSG_BLOCK) {
		cr_assert(env->block->payload_len <= sizeof(payload));
		if (!tap_read(t, payload, env->block->payload_len, why, whylen)) {
			iios_frame_free(env);
			return NULL;
		}
	}
	return env;
}

/* Hello, Subscribe, and n blocks: the daemon has sealed many records. */
static void tap_start_stream(struct tap *t, unsigned n)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__Hello hello = IIOSTREAM__HELLO__INIT;
	Iiostream__Subscribe sub = IIOSTREAM__SUBSCRIBE__INIT;
	char why[200];

	hello.magic = IIOS_PROTOCOL_MAGIC;
	hello.version_min = hello.version_max = IIOS_PROTOCOL_VERSION;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO;
	env.hello = &hello;
	tap_write_env(t, &env);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE;
	env.subscribe = &sub;
	tap_write_env(t, &env);
	tap_flush(t);
	while (n) {
		r = tap_read_frame(t, why, sizeof(why));
		cr_assert_not_null(r, "the stream ended: %s", why);
		n -= r->msg_case == IIOSTREAM__ENVELOPE__MSG_BLOCK;
		iios_frame_free(r);
	}
}

static void tap_write_ping(struct tap *t, uint64_t token)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Ping ping = IIOSTREAM__PING__INIT;

	ping.token = token;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_PING;
	env.ping = &ping;
	tap_write_env(t, &env);
}

/* Read frames until the connection ends; the reason OpenSSL gives. */
static void tap_read_to_end(struct tap *t, char *why, size_t whylen)
{
	Iiostream__Envelope *r;

	while ((r = tap_read_frame(t, why, whylen)) != NULL)
		iios_frame_free(r);
	while (!t->eof)
		tap_receive(t); /* the rest of the wire, to the daemon's close */
}

/* ---- opening the daemon's records with the key log ---- */

#define MAX_GENERATIONS 8

struct record_check {
	unsigned records;       /* records opened, each with a fresh nonce */
	unsigned key_updates;   /* KeyUpdates the daemon sent */
	uint8_t last_type;      /* inner content type of the last record */
	uint8_t alert[2];       /* the last record's alert (level, description) */
	char problem[256];      /* "" when every record was fine */
};

/* Open one record under keys k with sequence number seq into out. */
static bool open_record(struct iios_tls13_keys *k, uint64_t seq, const uint8_t *rec, size_t len,
			uint8_t *out)
{
	size_t body = len - IIOS_TLS13_HEADER - IIOS_TLS13_TAG;
	uint8_t nonce[12];
	int outl;

	k->seq = seq;
	iios_tls13_nonce(k, nonce);
	if (EVP_DecryptInit_ex(k->aead, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_DecryptUpdate(k->aead, NULL, &outl, rec, IIOS_TLS13_HEADER) != 1 ||
	    EVP_DecryptUpdate(k->aead, out, &outl, rec + IIOS_TLS13_HEADER, (int)body) != 1 ||
	    EVP_CIPHER_CTX_ctrl(k->aead, EVP_CTRL_AEAD_SET_TAG, IIOS_TLS13_TAG,
				(void *)(rec + len - IIOS_TLS13_TAG)) != 1 ||
	    EVP_DecryptFinal_ex(k->aead, out + outl, &outl) != 1) {
		ERR_clear_error();
		return false;
	}
	return true;
}

/*
 * Every record the daemon sent after the handshake must open under the
 * current traffic key with the next sequence number, starting from 0 and
 * from 0 again after each KeyUpdate (RFC 8446 5.3). A record that opens only
 * under a (key, sequence number) already used is a reused nonce.
 */
static void check_daemon_records(const struct tap *t, struct record_check *c)
{
	const SSL_CIPHER *suite = SSL_get_current_cipher(t->ssl);
	const EVP_MD *md = SSL_CIPHER_get_handshake_digest(suite);
	struct iios_tls13_keys keys[MAX_GENERATIONS];
	uint64_t used[MAX_GENERATIONS] = { 0 }; /* sequence numbers used per key */
	const uint8_t *p = t->wire.p + t->app_start;
	size_t left = t->wire.len - t->app_start, len;
	uint8_t secret[64], *plain = malloc(IIOS_TLS13_MAX_CIPHERTEXT);
	unsigned gen = 0, g;

	memset(c, 0, sizeof(*c));
	cr_assert_not_null(plain);
	memcpy(secret, t->secret, t->secret_len);
	cr_assert_eq(iios_tls13_keys_init(&keys[0], SSL_CIPHER_get_cipher_nid(suite), md, secret,
					  t->secret_len, 0), 0);
	for (; (len = record_len(p, left)) != 0; p += len, left -= len) {
		size_t k;

		if (p[0] != IIOS_TLS13_APPLICATION_DATA || len < IIOS_TLS13_HEADER + IIOS_TLS13_TAG + 1) {
			snprintf(c->problem, sizeof(c->problem), "record %u: outer type %u, length %zu",
				 c->records, p[0], len);
			break;
		}
		if (!open_record(&keys[gen], used[gen], p, len, plain)) {
			uint64_t s;

			for (g = 0; g <= gen && !c->problem[0]; g++)
				for (s = 0; s < used[g] && !c->problem[0]; s++)
					if (open_record(&keys[g], s, p, len, plain))
						snprintf(c->problem, sizeof(c->problem),
							 "NONCE REUSE: record %u opens only with key %u, "
							 "sequence %llu, which record(s) before it used",
							 c->records, g, (unsigned long long)s);
			if (!c->problem[0])
				snprintf(c->problem, sizeof(c->problem),
					 "record %u (length %zu) opens under no key and sequence "
					 "number", c->records, len);
			break;
		}
		used[gen]++;
		c->records++;
		for (k = len - IIOS_TLS13_HEADER - IIOS_TLS13_TAG; k && plain[k - 1] == 0; k--)
			;
		cr_assert_gt(k, 0, "record %u has no content type", c->records);
		c->last_type = plain[k - 1];
		if (c->last_type == IIOS_TLS13_ALERT && k >= 3)
			memcpy(c->alert, plain, 2);
		if (c->last_type == IIOS_TLS13_HANDSHAKE && plain[0] == IIOS_TLS13_KEY_UPDATE) {
			cr_assert_lt(gen + 1, MAX_GENERATIONS);
			c->key_updates++;
			cr_assert_eq(iios_tls13_next_secret(md, secret, t->secret_len), 0);
			gen++;
			cr_assert_eq(iios_tls13_keys_init(&keys[gen], SSL_CIPHER_get_cipher_nid(suite),
							  md, secret, t->secret_len, 0), 0);
		}
	}
	for (g = 0; g <= gen; g++)
		iios_tls13_keys_free(&keys[g]);
	OPENSSL_cleanse(secret, sizeof(secret));
	free(plain);
	cr_assert(c->problem[0] || left == 0, "%zu bytes after the last whole record", left);
}

/* The daemon's records all fresh, and the last one a fatal bad_record_mac. */
static void expect_fresh_records_and_alert(struct tap *t, const char *why)
{
	struct record_check c;

	check_daemon_records(t, &c);
	cr_assert_eq(c.problem[0], '\0', "%s", c.problem);
	cr_assert_gt(c.records, 10, "only %u records from the daemon", c.records);
	cr_assert_eq(c.last_type, IIOS_TLS13_ALERT, "the daemon's last record is of type %u",
		     c.last_type);
	cr_assert_eq(c.alert[0], 2, "the alert is not fatal");
	cr_assert_eq(c.alert[1], 20, "alert %u, not bad_record_mac", c.alert[1]);
	cr_assert(strstr(why, "bad record mac"), "the client was told '%s'", why);
}

/* Which record of OpenSSL's output to change, and how. */
enum tamper { TAMPER_CORRUPT, TAMPER_REPLAY, TAMPER_REORDER };

/* Send OpenSSL's pending records with one changed. */
static void tap_flush_tampered(struct tap *t, enum tamper how)
{
	struct bytes b = tap_take_output(t);
	size_t first = record_len(b.p, b.len), second;

	cr_assert_gt(first, 0);
	switch (how) {
	case TAMPER_CORRUPT:
		b.p[IIOS_TLS13_HEADER + 2] ^= 0x01; /* one bit of the ciphertext */
		send_all(t->fd, b.p, b.len);
		break;
	case TAMPER_REPLAY:
		send_all(t->fd, b.p, b.len);
		send_all(t->fd, b.p, first);
		break;
	case TAMPER_REORDER:
		second = record_len(b.p + first, b.len - first);
		cr_assert_gt(second, 0, "two records are needed to swap");
		send_all(t->fd, b.p + first, second);
		send_all(t->fd, b.p, first);
		send_all(t->fd, b.p + first + second, b.len - first - second);
		break;
	}
	free(b.p);
}

static void client_record_tampered(enum tamper how)
{
	struct iios_stats st;
	struct daemon d;
	struct tap t;
	char why[200] = "";

	start_tls_daemon(&d);
	tap_connect(&t, d.tls_port);
	tap_start_stream(&t, 20);
	tap_write_ping(&t, 1);
	if (how == TAMPER_REORDER)
		tap_write_ping(&t, 2);
	tap_flush_tampered(&t, how);
	tap_read_to_end(&t, why, sizeof(why));
	expect_fresh_records_and_alert(&t, why);
	cr_assert(daemon_log_contains(&d, "bad record mac"), "the daemon's log does not say why");
	tap_free(&t);
	cr_assert(wait_blocks_back(&d, WAIT_MS, &st), "blocks were not returned");
	cr_assert_eq(daemon_stop(&d, WAIT_MS), 0);
}

Test(tls_records, a_corrupted_client_record_gets_an_alert_with_a_fresh_nonce,
     .init = make_certs, .fini = remove_certs)
{
	client_record_tampered(TAMPER_CORRUPT);
}

Test(tls_records, a_replayed_client_record_gets_an_alert_with_a_fresh_nonce,
     .init = make_certs, .fini = remove_certs)
{
	client_record_tampered(TAMPER_REPLAY);
}

Test(tls_records, reordered_client_records_get_an_alert_with_a_fresh_nonce,
     .init = make_certs, .fini = remove_certs)
{
	client_record_tampered(TAMPER_REORDER);
}

/*
 * A KeyUpdate asking the daemon to update its keys too: it answers with its
 * own, under the old key with a fresh sequence number, and goes on under
 * the new key from sequence number 0. At the end (SIGTERM) its Bye and
 * close_notify are fresh too.
 */
Test(tls_records, a_key_update_request_is_answered_with_fresh_nonces, .init = make_certs,
     .fini = remove_certs)
{
	Iiostream__Envelope *r;
	struct record_check c;
	struct daemon d;
	struct tap t;
	char why[200] = "";
	unsigned blocks = 0;
	bool pong = false;

	start_tls_daemon(&d);
	tap_connect(&t, d.tls_port);
	tap_start_stream(&t, 10);
	cr_assert_eq(SSL_key_update(t.ssl, SSL_KEY_UPDATE_REQUESTED), 1);
	tap_write_ping(&t, 7); /* OpenSSL sends the KeyUpdate before it */
	tap_flush(&t);
	while (!pong || blocks < 20) {
		r = tap_read_frame(&t, why, sizeof(why));
		cr_assert_not_null(r, "the stream ended after the KeyUpdate: %s", why);
		if (r->msg_case == IIOSTREAM__ENVELOPE__MSG_PONG) {
			cr_assert_eq(r->pong->token, 7);
			pong = true;
		}
		blocks += pong && r->msg_case == IIOSTREAM__ENVELOPE__MSG_BLOCK;
		iios_frame_free(r);
	}
	cr_assert_eq(kill(d.pid, SIGTERM), 0);
	tap_read_to_end(&t, why, sizeof(why));
	check_daemon_records(&t, &c);
	cr_assert_eq(c.problem[0], '\0', "%s", c.problem);
	cr_assert_eq(c.key_updates, 1, "the daemon sent %u KeyUpdates", c.key_updates);
	cr_assert_eq(c.last_type, IIOS_TLS13_ALERT, "no close_notify at the end (type %u)",
		     c.last_type);
	cr_assert_eq(c.alert[1], 0, "alert %u at the end, not close_notify", c.alert[1]);
	tap_free(&t);
	cr_assert_eq(daemon_stop(&d, WAIT_MS), 0);
}

/* ---- server to client: a relay that changes one of the daemon's records ---- */

enum relay_tamper { RELAY_CORRUPT, RELAY_REPLAY, RELAY_REORDER, RELAY_DROP };

struct relay {
	int listen_fd;
	uint16_t port;
	uint16_t daemon_port;
	enum relay_tamper how;
	pthread_t thread;
	bool tampered;
};

/* The 3rd full-size record is application data (the handshake's records
 * are smaller); the one after it exists too, at this rate. */
static bool is_target(const uint8_t *rec, size_t len, unsigned *big)
{
	(void)rec;
	return len > 8192 && ++*big == 3;
}

static void *relay_run(void *arg)
{
	struct relay *r = arg;
	int cfd = accept(r->listen_fd, NULL, NULL), sfd;
	struct bytes from_daemon = { 0 };
	uint8_t *held = NULL, buf[65536];
	size_t held_len = 0;
	unsigned big = 0;

	if (cfd < 0)
		return NULL;
	sfd = connect_port(r->daemon_port);
	for (;;) {
		struct pollfd p[2] = { { .fd = cfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		ssize_t n;
		size_t len;

		if (poll(p, 2, WAIT_MS) <= 0)
			break;
		if (p[0].revents) {
			n = recv(cfd, buf, sizeof(buf), 0);
			if (n <= 0)
				break;
			send_all(sfd, buf, (size_t)n);
		}
		if (!p[1].revents)
			continue;
		n = recv(sfd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		bytes_add(&from_daemon, buf, (size_t)n);
		/* forward whole records, one of them changed */
		while ((len = record_len(from_daemon.p, from_daemon.len)) != 0) {
			uint8_t *rec = from_daemon.p;

			if (held) { /* reorder: the held record after this one */
				send_all(cfd, rec, len);
				send_all(cfd, held, held_len);
				free(held);
				held = NULL;
			} else if (!r->tampered && is_target(rec, len, &big)) {
				r->tampered = true;
				switch (r->how) {
				case RELAY_CORRUPT:
					rec[len / 2] ^= 0x80;
					send_all(cfd, rec, len);
					break;
				case RELAY_REPLAY:
					send_all(cfd, rec, len);
					send_all(cfd, rec, len);
					break;
				case RELAY_REORDER:
					held = malloc(len);
					memcpy(held, rec, len);
					held_len = len;
					break;
				case RELAY_DROP:
					break;
				}
			} else {
				send_all(cfd, rec, len);
			}
			memmove(from_daemon.p, from_daemon.p + len, from_daemon.len - len);
			from_daemon.len -= len;
		}
	}
	free(held);
	free(from_daemon.p);
	close(cfd);
	close(sfd);
	return NULL;
}

static void relay_start(struct relay *r, uint16_t daemon_port, enum relay_tamper how)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	memset(r, 0, sizeof(*r));
	r->daemon_port = daemon_port;
	r->how = how;
	r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(r->listen_fd >= 0);
	cr_assert_eq(bind(r->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(r->listen_fd, 1), 0);
	cr_assert_eq(getsockname(r->listen_fd, (struct sockaddr *)&sa, &sl), 0);
	r->port = ntohs(sa.sin_port);
	cr_assert_eq(pthread_create(&r->thread, NULL, relay_run, r), 0);
}

static void daemon_record_tampered(enum relay_tamper how)
{
	struct iios_options o = { .ca_file = certs.ca, .client_name = "test_tls_records" };
	struct iios_stream_info info;
	struct iios_block blk;
	struct iios_client *c;
	struct iios_stats st;
	struct relay relay;
	struct daemon d;
	char url[64], err[320];
	unsigned i;
	int r = 0;

	start_tls_daemon(&d);
	relay_start(&relay, d.tls_port, how);
	snprintf(url, sizeof(url), "tls://127.0.0.1:%u", relay.port);
	cr_assert_eq(iios_connect(url, &o, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	for (i = 0; i < 1000 && r == 0; i++)
		r = iios_next_block(c, &blk);
	cr_assert(relay.tampered, "the relay changed no record");
	cr_assert_eq(r, -EBADMSG, "got %d (%s), want -EBADMSG", r, iios_errmsg(c));
	cr_assert(strstr(iios_errmsg(c), "failed authentication"), "%s", iios_errmsg(c));
	iios_close(c);
	pthread_join(relay.thread, NULL);
	close(relay.listen_fd);
	cr_assert(wait_blocks_back(&d, WAIT_MS, &st), "blocks were not returned");
	cr_assert_eq(daemon_stop(&d, WAIT_MS), 0);
}

Test(tls_records, the_library_refuses_a_corrupted_record, .init = make_certs,
     .fini = remove_certs)
{
	daemon_record_tampered(RELAY_CORRUPT);
}

Test(tls_records, the_library_refuses_a_replayed_record, .init = make_certs,
     .fini = remove_certs)
{
	daemon_record_tampered(RELAY_REPLAY);
}

Test(tls_records, the_library_refuses_reordered_records, .init = make_certs,
     .fini = remove_certs)
{
	daemon_record_tampered(RELAY_REORDER);
}

Test(tls_records, the_library_refuses_a_stream_with_a_record_missing, .init = make_certs,
     .fini = remove_certs)
{
	daemon_record_tampered(RELAY_DROP);
}

/* ---- the library follows a server's KeyUpdate ---- */

/*
 * iiostreamd answers a KeyUpdate request but never starts one; another
 * TLS 1.3 server may. Here a server of the test's own (OpenSSL, the test
 * certificates, the framing of frame.h) answers Hello, then updates its
 * keys asking the client to update too, before each Pong. The library must
 * open the records under the new keys, and send its own KeyUpdate through
 * OpenSSL, which the server counts.
 */
struct key_update_server {
	int listen_fd;
	uint16_t port;
	pthread_t thread;
	unsigned key_updates_received;  /* from the client */
	unsigned pongs;
	char failed[200];               /* "" unless something went wrong */
};

static void on_server_msg(int write_p, int version, int content_type, const void *buf,
			  size_t len, SSL *ssl, void *arg)
{
	struct key_update_server *s = arg;

	(void)version;
	(void)ssl;
	if (!write_p && content_type == SSL3_RT_HANDSHAKE && len >= 1 &&
	    ((const uint8_t *)buf)[0] == IIOS_TLS13_KEY_UPDATE)
		s->key_updates_received++;
}

static bool ssl_read_all(SSL *ssl, void *buf, size_t len)
{
	size_t got = 0, n;

	while (got < len) {
		if (SSL_read_ex(ssl, (uint8_t *)buf + got, len - got, &n) != 1)
			return false;
		got += n;
	}
	return true;
}

static Iiostream__Envelope *server_read_env(SSL *ssl)
{
	uint8_t frame[IIOS_FRAME_PREFIX + IIOS_FRAME_MAX_ENVELOPE];
	Iiostream__Envelope *env;
	uint32_t len;

	if (!ssl_read_all(ssl, frame, IIOS_FRAME_PREFIX))
		return NULL;
	len = ntohl(*(uint32_t *)frame);
	if (len == 0 || len > IIOS_FRAME_MAX_ENVELOPE ||
	    !ssl_read_all(ssl, frame + IIOS_FRAME_PREFIX, len) ||
	    iios_frame_parse(frame, IIOS_FRAME_PREFIX + len, IIOS_FRAME_MAX_ENVELOPE, &env) < 0)
		return NULL;
	return env;
}

static bool server_send_env(SSL *ssl, const Iiostream__Envelope *env)
{
	uint8_t frame[512];
	long n = iios_frame_encode(env, frame, sizeof(frame), sizeof(frame) - IIOS_FRAME_PREFIX);
	size_t put;

	return n > 0 && SSL_write_ex(ssl, frame, (size_t)n, &put) == 1;
}

static void *key_update_server_run(void *arg)
{
	struct key_update_server *s = arg;
	Iiostream__Envelope out = IIOSTREAM__ENVELOPE__INIT, *in;
	Iiostream__HelloReply reply = IIOSTREAM__HELLO_REPLY__INIT;
	Iiostream__Pong pong = IIOSTREAM__PONG__INIT;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL *ssl = NULL;
	int fd = accept(s->listen_fd, NULL, NULL);

	if (!ctx || fd < 0 || SSL_CTX_use_certificate_chain_file(ctx, certs.server_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, certs.server_key, SSL_FILETYPE_PEM) != 1) {
		snprintf(s->failed, sizeof(s->failed), "server set-up failed");
		goto out;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_num_tickets(ctx, 1); /* a NewSessionTicket too: ignored */
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_msg_callback(ssl, on_server_msg);
	SSL_set_msg_callback_arg(ssl, s);
	if (SSL_accept(ssl) != 1 || !(in = server_read_env(ssl)) ||
	    in->msg_case != IIOSTREAM__ENVELOPE__MSG_HELLO) {
		snprintf(s->failed, sizeof(s->failed), "no Hello after the handshake");
		goto out;
	}
	iios_frame_free(in);
	reply.version = IIOS_PROTOCOL_VERSION;
	reply.server_name = "key update test server";
	reply.source = "none";
	reply.device = "none";
	out.msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY;
	out.hello_reply = &reply;
	if (!server_send_env(ssl, &out)) {
		snprintf(s->failed, sizeof(s->failed), "HelloReply not sent");
		goto out;
	}
	/* each Ping: update our keys, asking the client to update too, then Pong */
	while ((in = server_read_env(ssl)) != NULL && in->msg_case == IIOSTREAM__ENVELOPE__MSG_PING) {
		pong.token = in->ping->token;
		iios_frame_free(in);
		out.msg_case = IIOSTREAM__ENVELOPE__MSG_PONG;
		out.pong = &pong;
		if (SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) != 1 ||
		    !server_send_env(ssl, &out)) {
			snprintf(s->failed, sizeof(s->failed), "KeyUpdate or Pong not sent");
			goto out;
		}
		s->pongs++;
	}
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return NULL;
}

Test(tls_records, the_library_follows_a_servers_key_update, .init = make_certs,
     .fini = remove_certs)
{
	struct iios_options o = { .ca_file = certs.ca, .client_name = "test_tls_records" };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct key_update_server s = { 0 };
	struct iios_client *c;
	char url[64], err[320];
	uint64_t rtt;
	int i;

	s.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(s.listen_fd >= 0);
	cr_assert_eq(bind(s.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(s.listen_fd, 1), 0);
	cr_assert_eq(getsockname(s.listen_fd, (struct sockaddr *)&sa, &sl), 0);
	cr_assert_eq(pthread_create(&s.thread, NULL, key_update_server_run, &s), 0);
	snprintf(url, sizeof(url), "tls://127.0.0.1:%u", ntohs(sa.sin_port));
	cr_assert_eq(iios_connect(url, &o, &c, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < 3; i++)
		cr_assert_eq(iios_ping(c, &rtt), 0, "ping %d after the server's KeyUpdate: %s", i,
			     iios_errmsg(c));
	iios_close(c);
	pthread_join(s.thread, NULL);
	close(s.listen_fd);
	cr_assert_eq(s.failed[0], '\0', "%s", s.failed);
	cr_assert_eq(s.pongs, 3);
	/* the client answered each request at once, the last before it closed */
	cr_assert_eq(s.key_updates_received, 3, "the server received %u KeyUpdates",
		     s.key_updates_received);
}
