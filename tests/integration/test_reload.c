// SPDX-License-Identifier: MIT
/*
 * The configuration file of a deployed daemon (--config): --check-config
 * says "configuration OK" or names the file, line and key at fault, TLS
 * files included. The real daemon, real files, certificates made by the
 * test (certs.c).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs.h"
#include "harness.h"

static char dir[64];          /* the test's files: config, certificates */
static char conf[128];        /* dir/iiostreamd.conf */
static struct test_certs a, b; /* two independent CAs, each with its server and clients */

static void make_dir(void)
{
	char sub[96];

	snprintf(dir, sizeof(dir), "/tmp/iiostream-reload-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
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
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Replace a file whole (a daemon reading it sees the old or the new one). */
static void write_file(const char *path, const char *text)
{
	char tmp[300];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	cr_assert_not_null(f, "%s: %s", tmp, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(rename(tmp, path), 0, "%s: %s", path, strerror(errno));
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
	rc = run_command(argv, out_path, err, errlen, 10000);
	f = fopen(out_path, "r");
	cr_assert_not_null(f);
	got = fread(out, 1, outlen - 1, f);
	out[got] = '\0';
	fclose(f);
	return rc;
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
	write_file(conf, text);
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
		write_file(conf, text);
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
	write_file(conf, text);
	cr_assert_eq(check_config(fixed, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out, "configuration OK\n");
	/* a flag at fault is named as the flag */
	cr_assert_eq(check_config(flag_bad, out, sizeof(out), err, sizeof(err)), 2, "%s", out);
	cr_assert(strstr(err, "--tls-key") && strstr(err, "does not match"), "%s", err);
}
