// SPDX-License-Identifier: MIT
/*
 * The configuration file of a deployed daemon (--config): --check-config
 * says "configuration OK" or names the file, line and key at fault, TLS
 * files included; SIGHUP reloads a new certificate, key and client CA (new
 * handshakes use them while a TLS client streams on without a loss), a
 * changed allow-list, refuses a broken file whole, and says which changes
 * need a restart. The real daemon, real files, certificates made by the
 * test (certs.c).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certs.h"
#include "harness.h"

static char dir[64];          /* the test's files: config, certificates */
static char conf[128];        /* dir/iiostreamd.conf */
static struct test_certs a, b; /* two independent CAs, each with its server and clients */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void make_dir(void)
{
	char sub[96];

	test_dir_make(dir, "reload");
	snprintf(conf, sizeof(conf), "%s/iiostreamd.conf", dir);
	snprintf(sub, sizeof(sub), "%s/a", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_eq(test_certs_make(sub, &a), 0, "could not make the test certificates");
	snprintf(sub, sizeof(sub), "%s/b", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_eq(test_certs_make(sub, &b), 0, "could not make the test certificates");
}

static void remove_dir(void)
{
	test_dir_remove(dir);
}

static void copy_file(const char *from, const char *to)
{
	char buf[16384];
	size_t n;
	FILE *f = fopen(from, "r");

	cr_assert_not_null(f, "%s: %s", from, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	test_file_replace(to, buf);
}

/* SIGHUP, and wait for the reload's outcome in the log: true if it was
 * taken, false if refused. */
static bool sighup(const struct daemon *d)
{
	int ok = daemon_log_count(d, "configuration reloaded");
	int refused = daemon_log_count(d, "reload refused");
	double t0 = mono_s();

	cr_assert_eq(kill(d->pid, SIGHUP), 0);
	while (mono_s() - t0 < HANG_S) {
		if (daemon_log_count(d, "configuration reloaded") > ok)
			return true;
		if (daemon_log_count(d, "reload refused") > refused)
			return false;
		sleep_ms(10);
	}
	daemon_dump_log(d);
	cr_assert_fail("waited " HARNESS_STR(HANG_S) " s for the reload's outcome in the log");
	return false;
}

/* iiostreamd --check-config with args; exit status, stdout and stderr. */
static int check_config(const char *const *args, char *out, size_t outlen, char *err,
			size_t errlen)
{
	const char *argv[16] = { IIOSTREAMD_PATH, "--check-config" };
	char out_path[128];
	FILE *f;
	int n = 2, i, rc;
	size_t got;

	for (i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(out_path, sizeof(out_path), "%s/check.out", dir);
	rc = run_command(argv, out_path, err, errlen, HANG_MS);
	f = fopen(out_path, "r");
	cr_assert_not_null(f);
	got = fread(out, 1, outlen - 1, f);
	out[got] = '\0';
	fclose(f);
	return rc;
}

static struct iios_options tls_opts(const struct test_certs *c)
{
	struct iios_options o = { .ca_file = c->ca, .cert_file = c->client_cert,
				  .key_file = c->client_key, .client_name = "test_reload",
				  .timeout_ms = HANG_MS };
	return o;
}

/* a client's I/O timeout: only a hang's (a loaded machine is slow) */
static const struct iios_options patient = { .timeout_ms = HANG_MS };

/* Connect and receive one block; 0, or the error of the step that failed. */
static int try_stream(const char *url, const struct iios_options *o, char *err, size_t errlen)
{
	struct iios_stream_info info;
	struct iios_block blk;
	struct iios_client *c;
	int r = iios_connect(url, o ? o : &patient, &c, err, errlen);

	if (r)
		return r;
	r = iios_subscribe(c, 0, &info);
	if (!r)
		r = iios_next_block(c, &blk);
	if (r)
		snprintf(err, errlen, "%s", iios_errmsg(c));
	iios_close(c);
	return r;
}

#define STREAM_KEYS "rate = 2000000\nchannels = 2\nblock-size = 64K\nblocks = 16\n"

Test(config_file, check_config_says_ok_for_a_good_file, .init = make_dir, .fini = remove_dir)
{
	const char *args[] = { "--config", conf, NULL };
	const char *example[] = { "--config", IIOSTREAM_SOURCE_DIR "/deploy/iiostreamd.conf",
				  NULL };
	char text[2048], out[256], err[1024];

	snprintf(text, sizeof(text),
		 "# deployed\n" STREAM_KEYS "listen-tls = 127.0.0.1:30433\n"
		 "tls-cert = %s\ntls-key = %s\nclient-ca = %s\n"
		 "allow-subscribe = any-cert, plain\nallow-write = cn:good-client\n",
		 a.server_cert, a.server_key, a.ca);
	test_file_replace(conf, text);
	cr_assert_eq(check_config(args, out, sizeof(out), err, sizeof(err)), 0, "stderr: %s", err);
	cr_assert_str_eq(out, "configuration OK\n");
	/* the documented example installed as /etc/iiostream/iiostreamd.conf */
	cr_assert_eq(check_config(example, out, sizeof(out), err, sizeof(err)), 0, "stderr: %s",
		     err);
	cr_assert_str_eq(out, "configuration OK\n");
}

/* "KEY = VALUE\n" onto text, unless `line` sets KEY. */
static void append_unless(char *text, size_t cap, const char *line, const char *key,
			  const char *value)
{
	size_t len = strlen(text);

	if (strncmp(line, key, strlen(key)) != 0 || line[strlen(key)] != ' ')
		snprintf(text + len, cap - len, "%s = %s\n", key, value);
}

struct bad_file {
	const char *line;     /* the line written as line 3, after two good ones */
	const char *key;      /* "FILE:3: KEY" must be in the error */
	const char *says;     /* and this */
};

Test(config_file, check_config_names_the_file_line_and_key_of_an_error, .init = make_dir,
     .fini = remove_dir)
{
	char mismatch[300], not_cert[300], no_file[300], bad_ca[300];
	const struct bad_file cases[] = {
		{ "rate = fast", "rate", "'fast' is not a number" },
		{ "source = fpga", "source", "unknown source 'fpga'" },
		{ "block-size = 1001", "block-size", "whole number" },
		{ "listen-tls = nowhere", "listen-tls", "not HOST:PORT" },
		{ "allow-write = bogus", "allow-write", "'bogus'" },
		{ "ratee = 5", "unknown key 'ratee'", "see --help" },
		{ mismatch, "tls-key", "does not match the certificate" },
		{ not_cert, "tls-cert", "not a PEM certificate" },
		{ no_file, "tls-cert", "/nonexistent/server.pem: No such file or directory" },
		{ bad_ca, "client-ca", "no PEM certificate" },
	};
	const char *args[] = { "--config", conf, NULL };
	char text[2048], out[256], err[1024], want[300];
	size_t i;

	snprintf(mismatch, sizeof(mismatch), "tls-key = %s", a.client_key);
	snprintf(not_cert, sizeof(not_cert), "tls-cert = %s", a.server_key);
	snprintf(no_file, sizeof(no_file), "tls-cert = /nonexistent/server.pem");
	snprintf(bad_ca, sizeof(bad_ca), "client-ca = %s", a.server_key);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* line 3 is the case; the TLS keys it does not set follow, good */
		snprintf(text, sizeof(text), "listen-tls = 127.0.0.1:0\n# a comment\n%s\n",
			 cases[i].line);
		append_unless(text, sizeof(text), cases[i].line, "tls-cert", a.server_cert);
		append_unless(text, sizeof(text), cases[i].line, "tls-key", a.server_key);
		append_unless(text, sizeof(text), cases[i].line, "client-ca", a.ca);
		test_file_replace(conf, text);
		cr_assert_eq(check_config(args, out, sizeof(out), err, sizeof(err)), 2,
			     "case %zu (%s): not exit 2; stdout %s, stderr %s", i, cases[i].line, out,
			     err);
		snprintf(want, sizeof(want), "%s:3: %s", conf, cases[i].key);
		cr_assert(strstr(err, want), "case %zu: '%s' not in: %s", i, want, err);
		cr_assert(strstr(err, cases[i].says), "case %zu: '%s' not in: %s", i, cases[i].says,
			  err);
		cr_assert(!strstr(out, "configuration OK"), "case %zu: %s", i, out);
	}
}

Test(config_file, check_config_lets_flags_override_the_file, .init = make_dir, .fini = remove_dir)
{
	const char *fixed[] = { "--config", conf, "--tls-key", a.server_key, NULL };
	const char *flag_bad[] = { "--config", conf, "--tls-key", a.server_key, "--tls-cert",
				   a.client_cert, NULL };
	char text[1024], out[256], err[1024];

	snprintf(text, sizeof(text), "listen-tls = 127.0.0.1:0\ntls-cert = %s\ntls-key = %s\n",
		 a.server_cert, a.client_key);
	test_file_replace(conf, text);
	cr_assert_eq(check_config(fixed, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out, "configuration OK\n");
	/* a flag at fault is named as the flag */
	cr_assert_eq(check_config(flag_bad, out, sizeof(out), err, sizeof(err)), 2, "%s", out);
	cr_assert(strstr(err, "--tls-key") && strstr(err, "does not match"), "%s", err);
}

/* A TLS client that streams until told to stop, counting what it got after
 * the reload. */
struct streamer {
	const char *url;
	struct iios_options opts;
	atomic_uint_fast64_t blocks;
	atomic_int reloaded;          /* set by the test once the reload is logged */
	uint64_t blocks_after;        /* received after `reloaded` was seen */
	atomic_bool done;
	int err;
	char errmsg[256];
	struct iios_verify v;
	struct iios_counters counters;
};

static void *stream_across(void *arg)
{
	struct streamer *s = arg;
	struct iios_stream_info info;
	struct iios_client *c;
	struct iios_block blk;

	iios_verify_init(&s->v);
	s->err = iios_connect(s->url, &s->opts, &c, s->errmsg, sizeof(s->errmsg));
	if (s->err) {
		atomic_store(&s->done, true);
		return NULL;
	}
	s->err = iios_subscribe(c, 0, &info);
	/* 200 blocks after the reload: 1.6 s at 122 blocks/s */
	while (!s->err && s->blocks_after < 200 && atomic_load(&s->blocks) < 20000) {
		s->err = iios_next_block(c, &blk);
		if (s->err)
			break;
		iios_verify_block(&s->v, &info, &blk);
		atomic_fetch_add(&s->blocks, 1);
		if (atomic_load(&s->reloaded))
			s->blocks_after++;
	}
	if (s->err)
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", iios_errmsg(c));
	iios_counters(c, &s->counters);
	iios_close(c);
	atomic_store(&s->done, true);
	return NULL;
}

/* The config naming the TLS files in dir/live, which the test replaces. */
static void write_tls_conf(void)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 STREAM_KEYS "listen-tls = 127.0.0.1:0\ntls-cert = %s/live-server.pem\n"
		 "tls-key = %s/live-server.key\nclient-ca = %s/live-ca.pem\n",
		 dir, dir, dir);
	test_file_replace(conf, text);
}

static void install_live(const struct test_certs *c)
{
	char to[160];

	snprintf(to, sizeof(to), "%s/live-server.pem", dir);
	copy_file(c->server_cert, to);
	snprintf(to, sizeof(to), "%s/live-server.key", dir);
	copy_file(c->server_key, to);
	snprintf(to, sizeof(to), "%s/live-ca.pem", dir);
	copy_file(c->ca, to);
}

Test(config_file, sighup_takes_a_new_certificate_while_a_tls_client_streams_on, .init = make_dir,
     .fini = remove_dir, .timeout = 300)
{
	const char *args[] = { "--config", conf, NULL };
	struct iios_options old_client = tls_opts(&a), new_client = tls_opts(&b);
	struct streamer s = { .opts = tls_opts(&a) };
	static struct iios_stats st;
	char err[320], live[160];
	struct daemon d;
	double wait0;
	pthread_t th;

	install_live(&a);
	write_tls_conf();
	daemon_start(&d, args);
	cr_assert_neq(d.tls_port, 0);
	wait0 = daemon_cpu_wait_s(&d);
	s.url = d.tls_url;
	cr_assert_eq(try_stream(d.tls_url, &old_client, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(try_stream(d.tls_url, &new_client, err, sizeof(err)), -EPROTO,
		     "a client of the new CA got in before the reload: %s", err);

	cr_assert_eq(pthread_create(&th, NULL, stream_across, &s), 0);
	WAIT_UNTIL(atomic_load(&s.blocks) >= 30 || atomic_load(&s.done),
		   "the TLS client's first 30 blocks (%llu)",
		   (unsigned long long)atomic_load(&s.blocks));
	cr_assert_geq(atomic_load(&s.blocks), 30, "the TLS client is not streaming: %s", s.errmsg);

	/* A key that does not match: refused whole, the old files stay. */
	snprintf(live, sizeof(live), "%s/live-server.key", dir);
	copy_file(b.client_key, live);
	snprintf(live, sizeof(live), "%s/live-server.pem", dir);
	copy_file(b.server_cert, live);
	cr_assert(!sighup(&d), "a mismatched key was taken");
	snprintf(err, sizeof(err), "%s:7: tls-key %s/live-server.key does not match", conf, dir);
	cr_assert(daemon_log_count(&d, err) == 1, "refusal does not name file:line:key '%s'", err);
	cr_assert_eq(try_stream(d.tls_url, &old_client, err, sizeof(err)), 0,
		     "the old certificate is gone after a refused reload: %s", err);

	/* The new CA's server certificate, key and client CA. */
	install_live(&b);
	cr_assert(sighup(&d), "the new certificate was refused");
	cr_assert(daemon_log_count(&d, "TLS reloaded") == 1);
	atomic_store(&s.reloaded, 1);
	cr_assert_eq(try_stream(d.tls_url, &new_client, err, sizeof(err)), 0,
		     "a client of the new CA is refused after the reload: %s", err);
	/* the old CA's client: its server check fails, and its cert is no longer trusted */
	cr_assert_neq(try_stream(d.tls_url, &old_client, err, sizeof(err)), 0,
		      "the old certificate is still served");

	pthread_join(th, NULL);
	cr_assert_eq(s.err, 0, "the TLS client streaming across the reload failed: %s", s.errmsg);
	cr_assert_eq(s.blocks_after, 200);
	cr_assert_eq(s.v.integrity_errors, 0, "%s", s.v.first_error);
	cr_assert_eq(s.v.lost_blocks, 0, "blocks skipped across the reload");
	cr_assert_eq(s.counters.lost_blocks, 0);
	/* Scans lost, if any, are the source's overflows (nothing was
	 * skipped), each reported in its block's header (the verifier
	 * checked the continuity), and allowed only if the loaded machine
	 * held the daemon's loop back longer than its ring of 16 blocks lasts
	 * (131 ms at 8 MB/s): the reload itself must not cost a scan. */
	cr_assert_eq(s.counters.lost_samples, s.v.lost_samples);
	if (s.v.lost_samples)
		cr_assert_gt(s.counters.overflow_blocks, 0, "scans lost without an overflow");
	assert_overflow_excused(&d, wait0, 16 * 65536 / (2000000.0 * 4), s.v.lost_samples,
				"the TLS client streaming across the reload");
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(config_file, sighup_applies_a_changed_allow_list, .init = make_dir, .fini = remove_dir)
{
	const char *args[] = { "--config", conf, NULL };
	struct iios_stream_info info;
	struct iios_client *c;
	char err[320];
	struct daemon d;

	test_file_replace(conf, STREAM_KEYS "allow-subscribe = cn:lab-pc\n");
	daemon_start(&d, args);
	/* a plain client has no certificate: refused */
	cr_assert_eq(try_stream(d.url, NULL, err, sizeof(err)), -EACCES, "%s", err);

	test_file_replace(conf, STREAM_KEYS "allow-subscribe = cn:lab-pc, plain\n");
	cr_assert(sighup(&d));
	cr_assert(daemon_log_contains(&d, "allow-subscribe changed"));
	cr_assert_eq(try_stream(d.url, NULL, err, sizeof(err)), 0, "still refused: %s", err);

	/* and back: refused again, on a connection made before the reload too */
	cr_assert_eq(iios_connect(d.url, &patient, &c, err, sizeof(err)), 0, "%s", err);
	test_file_replace(conf, STREAM_KEYS "allow-subscribe = cn:lab-pc\n");
	cr_assert(sighup(&d));
	cr_assert_eq(iios_subscribe(c, 0, &info), -EACCES, "%s", iios_errmsg(c));
	iios_close(c);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(config_file, sighup_with_a_broken_file_keeps_the_old_configuration, .init = make_dir,
     .fini = remove_dir)
{
	const char *args[] = { "--config", conf, NULL };
	char want[300], err[320];
	struct daemon d;

	test_file_replace(conf, STREAM_KEYS "allow-subscribe = cn:lab-pc\n");
	daemon_start(&d, args);
	cr_assert_eq(try_stream(d.url, NULL, err, sizeof(err)), -EACCES, "%s", err);

	/* a good change before the broken line must not be taken either */
	test_file_replace(conf, STREAM_KEYS "allow-subscribe = plain\nlog-level = loud\n");
	cr_assert(!sighup(&d), "a broken file was taken");
	snprintf(want, sizeof(want), "%s:6: log-level: 'loud'", conf);
	cr_assert(daemon_log_contains(&d, want), "the refusal does not say '%s'", want);
	cr_assert(daemon_log_contains(&d, "keeping the configuration in force"));
	cr_assert_eq(try_stream(d.url, NULL, err, sizeof(err)), -EACCES,
		     "part of a refused file was taken: %s", err);

	/* a file that is gone: the same */
	cr_assert_eq(unlink(conf), 0);
	cr_assert(!sighup(&d));
	cr_assert(daemon_log_contains(&d, "No such file"));

	/* and the daemon takes the next good file */
	test_file_replace(conf, STREAM_KEYS "allow-subscribe = plain\n");
	cr_assert(sighup(&d));
	cr_assert_eq(try_stream(d.url, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(config_file, sighup_says_which_changes_need_a_restart, .init = make_dir, .fini = remove_dir)
{
	const char *args[] = { "--config", conf, NULL };
	struct iios_stream_info info;
	struct iios_client *c;
	char err[320];
	struct daemon d;

	test_file_replace(conf, STREAM_KEYS "log-level = info\n");
	daemon_start(&d, args);
	test_file_replace(conf, "rate = 3000000\nchannels = 2\nblock-size = 64K\nblocks = 8\n"
			 "source = auto\nlog-level = debug\n");
	cr_assert(sighup(&d));
	cr_assert(daemon_log_contains(&d, "rate changed: needs a restart"));
	cr_assert(daemon_log_contains(&d, "blocks changed: needs a restart"));
	cr_assert(!daemon_log_contains(&d, "block-size changed"), "block-size did not change");
	cr_assert(!daemon_log_contains(&d, "source changed"), "source did not change");
	cr_assert(daemon_log_contains(&d, "log-level changed: debug"));
	cr_assert(daemon_log_contains(&d, "2 need a restart"));

	/* the stream keeps its running rate */
	cr_assert_eq(iios_connect(d.url, &patient, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	cr_assert_eq(info.sample_rate, 2000000);
	iios_close(c);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}
