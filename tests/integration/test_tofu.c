// SPDX-License-Identifier: MIT
/*
 * Trust on first use against the real daemon on loopback: a tls:// client
 * without a CA pins the server's certificate in its known-servers file, as
 * ssh does. An unknown server is refused in batch mode (the fingerprint in
 * the error, nothing written) and trusted with --trust-new (one line, mode
 * 0600); a changed certificate is refused loudly and the file is never
 * rewritten; --ca ignores the file; a damaged file is refused naming
 * file:line; the client's own identity is made on first use and stays the
 * same; a board with its own identity is pinned and admits ours by its
 * fingerprint alone (--allow-subscribe sha256:). Each test points XDG_CONFIG_HOME and HOME at a directory of its
 * own, so nothing touches the real home.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs.h"
#include "harness.h"
#include "iiostream/identity.h"

static struct test_certs certs;
static char dir[64];
static char known[256];     /* the default known-servers file */
static char id_dir[256];    /* the default identity directory */

static void setup(void)
{
	char cfg[128], cert_dir[128];

	test_dir_make(dir, "tofu");
	snprintf(cert_dir, sizeof(cert_dir), "%s/certs", dir);
	cr_assert_eq(mkdir(cert_dir, 0700), 0);
	cr_assert_eq(test_certs_make(cert_dir, &certs), 0, "could not make the test certificates");
	snprintf(cfg, sizeof(cfg), "%s/config", dir);
	setenv("XDG_CONFIG_HOME", cfg, 1);
	setenv("HOME", dir, 1);
	snprintf(known, sizeof(known), "%s/iiostream/known_servers", cfg);
	snprintf(id_dir, sizeof(id_dir), "%s/iiostream/identity", cfg);
}

/* The directory of the known-servers file, for a test that writes it. */
static void make_config_dir(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/config", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/config/iiostream", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
}

static void teardown(void)
{
	test_dir_remove(dir);
}

static void fingerprint_of(const char *pem, char fp[IIOS_FINGERPRINT_LEN])
{
	char err[256];

	cr_assert_eq(iios_fingerprint_file(pem, fp, err, sizeof(err)), 0, "%s", err);
}

/* The whole of a file into buf ("" and false when it does not exist). */
static bool slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	buf[0] = '\0';
	if (!f)
		return false;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return true;
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

/* `iiostream info --url URL [extra...]`, stdin not a terminal (batch
 * mode): its exit status, stderr into err. */
static int cli_info(const char *url, const char *extra1, const char *extra2, char *err,
		    size_t errlen)
{
	const char *argv[] = { "sh", "-c", "exec \"$0\" \"$@\" </dev/null", IIOSTREAM_CLI_PATH,
			       "info", "--url", url, extra1, extra2, NULL };

	return run_command(argv, NULL, err, errlen, HANG_MS);
}

static void start_tls(struct daemon *d, const char *cert, const char *key, const char *listen)
{
	const char *args[] = { "--listen-tls", listen, "--tls-cert", cert, "--tls-key", key, NULL };

	daemon_start(d, args);
	cr_assert_neq(d->tls_port, 0, "no TLS port in the port file");
}

static struct iios_options pin_opts(enum iios_trust_new policy)
{
	struct iios_options o = { .client_name = "test_tofu", .timeout_ms = HANG_MS,
				  .trust_new = policy };
	return o;
}

Test(tofu, an_unknown_server_is_refused_in_batch_mode_and_nothing_is_written, .init = setup,
     .fini = teardown)
{
	struct iios_options o = pin_opts(IIOS_TRUST_NEW_REFUSE);
	char fp[IIOS_FINGERPRINT_LEN], err[2048], text[64];
	struct iios_client *c = NULL;
	struct daemon d;

	start_tls(&d, certs.server_cert, certs.server_key, "127.0.0.1:0");
	fingerprint_of(certs.server_cert, fp);
	cr_assert_eq(cli_info(d.tls_url, NULL, NULL, err, sizeof(err)), 1, "%s", err);
	cr_assert(strstr(err, "is not a known server"), "%s", err);
	cr_assert(strstr(err, fp), "the error does not show the fingerprint %s: %s", fp, err);
	cr_assert(strstr(err, "--trust-new"), "%s", err);
	cr_assert(strstr(err, known), "the error does not name the file: %s", err);
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), -ENOKEY, "%s", err);
	cr_assert_null(c);
	cr_assert_not(slurp(known, text, sizeof(text)), "the file was made: '%s'", text);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tofu, trust_new_adds_one_line_then_the_server_is_known, .init = setup, .fini = teardown)
{
	char fp[IIOS_FINGERPRINT_LEN], err[2048], want[256], text[1024];
	struct daemon d;

	start_tls(&d, certs.server_cert, certs.server_key, "127.0.0.1:0");
	fingerprint_of(certs.server_cert, fp);
	cr_assert_eq(cli_info(d.tls_url, "--trust-new", NULL, err, sizeof(err)), 0, "%s", err);
	snprintf(want, sizeof(want), "localhost:%u %s\n", d.tls_port, fp);
	cr_assert(slurp(known, text, sizeof(text)), "no %s", known);
	cr_assert_str_eq(text, want);
	cr_assert_eq(mode_of(known), 0600, "%o", mode_of(known));
	*strrchr(known, '/') = '\0';
	cr_assert_eq(mode_of(known), 0700, "%s: %o", known, mode_of(known));
	known[strlen(known)] = '/';

	/* known now: silent, in batch mode too, and nothing more written */
	cr_assert_eq(cli_info(d.tls_url, NULL, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(err, "");
	cr_assert_eq(cli_info(d.tls_url, "--trust-new", NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert(slurp(known, text, sizeof(text)));
	cr_assert_str_eq(text, want);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tofu, a_changed_certificate_is_refused_and_the_file_never_rewritten, .init = setup,
     .fini = teardown)
{
	struct iios_options o = pin_opts(IIOS_TRUST_NEW_ACCEPT);
	char fp[IIOS_FINGERPRINT_LEN], fp2[IIOS_FINGERPRINT_LEN], listen[32];
	char err[2048], before[1024], after[1024], line[32];
	static struct iios_stats st;
	struct iios_client *c = NULL;
	struct daemon d;

	start_tls(&d, certs.server_cert, certs.server_key, "127.0.0.1:0");
	fingerprint_of(certs.server_cert, fp);
	fingerprint_of(certs.wrongname_cert, fp2);
	/* another server's line first: it must stay, byte for byte */
	cr_assert_eq(iios_known_servers_add(NULL, "tls://elsewhere.example", fp2, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(cli_info(d.tls_url, "--trust-new", NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert(slurp(known, before, sizeof(before)));

	/* the board's certificate is replaced (same address and port) */
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", d.tls_port);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	start_tls(&d, certs.wrongname_cert, certs.wrongname_key, listen);
	cr_assert_eq(cli_info(d.tls_url, "--trust-new", NULL, err, sizeof(err)), 1, "%s", err);
	cr_assert(strstr(err, "CERTIFICATE HAS CHANGED"), "%s", err);
	cr_assert(strstr(err, fp) && strstr(err, fp2), "not both fingerprints: %s", err);
	snprintf(line, sizeof(line), "known_servers:2");
	cr_assert(strstr(err, line), "the error does not name %s: %s", line, err);
	cr_assert(strstr(err, "remove line 2"), "%s", err);
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), -EKEYREJECTED, "%s", err);
	o.trust_new = IIOS_TRUST_NEW_REFUSE;
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), -EKEYREJECTED, "%s", err);
	cr_assert(slurp(known, after, sizeof(after)));
	cr_assert_str_eq(after, before, "the known-servers file changed");
	/* each was refused inside the handshake */
	WAIT_UNTIL((daemon_stats(&d, &st), st.tls_handshake_failures == 3),
		   "3 refused handshakes (%lu)", (unsigned long)st.tls_handshake_failures);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tofu, ca_verifies_as_before_and_ignores_the_file, .init = setup, .fini = teardown)
{
	char err[2048], text[1024];
	struct daemon d;

	start_tls(&d, certs.server_cert, certs.server_key, "127.0.0.1:0");
	make_config_dir();
	test_file_replace(known, "this line does not parse\n");
	cr_assert_eq(chmod(known, 0600), 0);
	cr_assert_eq(cli_info(d.tls_url, "--ca", certs.ca, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cli_info(d.tls_url, "--ca", certs.other_ca, err, sizeof(err)), 1, "%s", err);
	cr_assert(strstr(err, "certificate did not verify"), "%s", err);
	cr_assert(slurp(known, text, sizeof(text)));
	cr_assert_str_eq(text, "this line does not parse\n");
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tofu, a_damaged_known_servers_file_is_refused_naming_file_and_line, .init = setup,
     .fini = teardown)
{
	struct iios_options o = pin_opts(IIOS_TRUST_NEW_ACCEPT);
	char fp[IIOS_FINGERPRINT_LEN], err[2048], text[1024], want[64];
	struct iios_client *c = NULL;
	struct daemon d;

	start_tls(&d, certs.server_cert, certs.server_key, "127.0.0.1:0");
	fingerprint_of(certs.server_cert, fp);
	/* its own line is right; the one after it is not: nothing is trusted */
	snprintf(text, sizeof(text), "# boards\nlocalhost:%u %s\nboard sha256:12\n", d.tls_port, fp);
	make_config_dir();
	test_file_replace(known, text);
	cr_assert_eq(chmod(known, 0600), 0);
	snprintf(want, sizeof(want), "known_servers:3");
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), -EINVAL, "%s", err);
	cr_assert(strstr(err, want), "%s", err);
	cr_assert_eq(cli_info(d.tls_url, "--trust-new", NULL, err, sizeof(err)), 1, "%s", err);
	cr_assert(strstr(err, want), "%s", err);

	/* a file others may write is no ground for trust */
	snprintf(text, sizeof(text), "localhost:%u %s\n", d.tls_port, fp);
	test_file_replace(known, text);
	cr_assert_eq(chmod(known, 0620), 0);
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), -EPERM, "%s", err);
	cr_assert(strstr(err, "chmod 600"), "%s", err);
	cr_assert_eq(chmod(known, 0600), 0);
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), 0, "%s", err);
	iios_close(c);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

struct asked {
	int calls;
	bool answer;
	char server[128];
	char fp[IIOS_FINGERPRINT_LEN];
};

static bool ask(void *arg, const char *server, const char *fingerprint)
{
	struct asked *a = arg;

	a->calls++;
	snprintf(a->server, sizeof(a->server), "%s", server);
	snprintf(a->fp, sizeof(a->fp), "%s", fingerprint);
	return a->answer;
}

Test(tofu, the_caller_is_asked_about_an_unknown_server, .init = setup, .fini = teardown)
{
	struct iios_options o = pin_opts(IIOS_TRUST_NEW_ASK);
	char fp[IIOS_FINGERPRINT_LEN], err[2048], text[1024], want[128];
	struct iios_client *c = NULL;
	struct asked a = { 0 };
	struct daemon d;

	start_tls(&d, certs.server_cert, certs.server_key, "127.0.0.1:0");
	fingerprint_of(certs.server_cert, fp);
	o.trust_ask = ask;
	o.trust_ask_arg = &a;
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), -ENOKEY, "%s", err);
	cr_assert_eq(a.calls, 1);
	cr_assert_str_eq(a.server, d.tls_url);
	cr_assert_str_eq(a.fp, fp);
	cr_assert(strstr(err, "declined"), "%s", err);
	cr_assert_not(slurp(known, text, sizeof(text)));

	a.answer = true;
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(a.calls, 2);
	cr_assert_str_eq(iios_server_fingerprint(c), fp);
	cr_assert(strncmp(iios_server_trust(c), "new: ", 5) == 0, "%s", iios_server_trust(c));
	iios_close(c);
	snprintf(want, sizeof(want), "localhost:%u %s\n", d.tls_port, fp);
	cr_assert(slurp(known, text, sizeof(text)));
	cr_assert_str_eq(text, want);

	/* known now: not asked again */
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(a.calls, 2);
	cr_assert(strncmp(iios_server_trust(c), "known: ", 7) == 0, "%s", iios_server_trust(c));
	iios_close(c);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* Our identity is made on first use and is the same on every connection
 * (the server's access checks pin it: iiostreamd --allow-subscribe
 * sha256:HEX). What the server saw is checked when its stats name it. */
Test(tofu, the_client_identity_is_made_once_and_presented_the_same, .init = setup,
     .fini = teardown)
{
	struct iios_options o = pin_opts(IIOS_TRUST_NEW_ACCEPT);
	const char *argv[] = { IIOSTREAM_CLI_PATH, "identity", NULL };
	char fp[IIOS_FINGERPRINT_LEN], cert[300], key[300], err[2048], out_path[128], out[256];
	static struct iios_stats st;
	struct iios_client *c;
	struct daemon d;
	uint32_t i;

	start_tls(&d, certs.server_cert, certs.server_key, "127.0.0.1:0");
	for (int round = 0; round < 2; round++) {
		cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), 0, "%s", err);
		snprintf(cert, sizeof(cert), "%s/cert.pem", id_dir);
		snprintf(key, sizeof(key), "%s/key.pem", id_dir);
		cr_assert_eq(mode_of(key), 0600, "%o", mode_of(key));
		cr_assert_eq(mode_of(id_dir), 0700, "%o", mode_of(id_dir));
		fingerprint_of(cert, fp);
		/* presented when the server asks for a certificate */
		cr_assert(iios_client_fingerprint(c)[0] == '\0' ||
			  strcmp(iios_client_fingerprint(c), fp) == 0, "%s vs %s",
			  iios_client_fingerprint(c), fp);
		cr_assert_eq(iios_stats(c, &st), 0, "%s", iios_errmsg(c));
		for (i = 0; i < st.n_listed; i++)
			if (st.client[i].identity[0])
				cr_assert(strstr(st.client[i].identity, fp), "the server saw %s, "
					  "ours is %s", st.client[i].identity, fp);
		iios_close(c);
	}
	/* `iiostream identity` prints that fingerprint, and makes nothing new */
	snprintf(out_path, sizeof(out_path), "%s/identity.out", dir);
	cr_assert_eq(run_command(argv, out_path, err, sizeof(err), HANG_MS), 0, "%s", err);
	cr_assert(slurp(out_path, out, sizeof(out)));
	cr_assert(strncmp(out, fp, strlen(fp)) == 0 && out[strlen(fp)] == '\n', "'%s' vs %s", out,
		  fp);
	cr_assert_null(strstr(err, "made a new identity"), "%s", err);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(tofu, the_identity_command_makes_one_on_first_use, .init = setup, .fini = teardown)
{
	const char *argv[] = { IIOSTREAM_CLI_PATH, "identity", NULL };
	char fp[IIOS_FINGERPRINT_LEN], cert[300], err[2048], out_path[128], out[256];

	snprintf(out_path, sizeof(out_path), "%s/identity.out", dir);
	cr_assert_eq(run_command(argv, out_path, err, sizeof(err), HANG_MS), 0, "%s", err);
	cr_assert(strstr(err, "made a new identity"), "%s", err);
	snprintf(cert, sizeof(cert), "%s/cert.pem", id_dir);
	fingerprint_of(cert, fp);
	cr_assert(slurp(out_path, out, sizeof(out)));
	cr_assert(strncmp(out, fp, strlen(fp)) == 0, "'%s' vs %s", out, fp);
}

/* A board with its own identity (no --tls-cert), and a client admitted by
 * its fingerprint alone: the whole no-CA path, both ways. */
Test(tofu, a_board_identity_is_pinned_and_admits_our_identity_by_fingerprint, .init = setup,
     .fini = teardown)
{
	static struct iios_client_identity me;
	struct iios_options o = pin_opts(IIOS_TRUST_NEW_ACCEPT);
	char board_dir[128], board_cert[160], fp_board[IIOS_FINGERPRINT_LEN], allow[96];
	char other_dir[128], err[2048], text[1024], want[256];
	const char *args[] = { "--listen-tls", "127.0.0.1:0", "--identity", board_dir,
			       "--allow-subscribe", allow, NULL };
	static struct iios_stats st;
	struct iios_stream_info info;
	struct iios_block blk;
	struct iios_client *c;
	struct daemon d;

	cr_assert_eq(iios_client_identity(NULL, &me, err, sizeof(err)), 0, "%s", err);
	cr_assert(me.created);
	snprintf(allow, sizeof(allow), "%s", me.fingerprint);
	snprintf(board_dir, sizeof(board_dir), "%s/board", dir);
	daemon_start(&d, args);
	snprintf(board_cert, sizeof(board_cert), "%s/cert.pem", board_dir);
	fingerprint_of(board_cert, fp_board);

	for (int round = 0; round < 2; round++) {
		cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), 0, "%s", err);
		cr_assert_str_eq(iios_server_fingerprint(c), fp_board);
		cr_assert_str_eq(iios_client_fingerprint(c), me.fingerprint);
		cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
		cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
		cr_assert_eq(iios_stats(c, &st), 0, "%s", iios_errmsg(c));
		cr_assert_str_eq(st.tls_fingerprint, fp_board);
		cr_assert(st.tls_self_made);
		iios_close(c);
	}
	snprintf(want, sizeof(want), "localhost:%u %s\n", d.tls_port, fp_board);
	cr_assert(slurp(known, text, sizeof(text)));
	cr_assert_str_eq(text, want);

	/* another identity of ours is a stranger to the board */
	snprintf(other_dir, sizeof(other_dir), "%s/other-id", dir);
	o.identity_dir = other_dir;
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_neq(iios_client_fingerprint(c), me.fingerprint);
	cr_assert_eq(iios_subscribe(c, 0, &info), -EACCES);
	iios_close(c);
	/* and so are we without one */
	o.identity_dir = NULL;
	o.no_identity = true;
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(iios_client_fingerprint(c), "");
	cr_assert_eq(iios_subscribe(c, 0, &info), -EACCES);
	iios_close(c);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* `iiostream` on a terminal (script(1) gives it one) asks as ssh does;
 * "y" trusts and remembers, anything else refuses and writes nothing. */
Test(tofu, on_a_terminal_the_cli_asks, .init = setup, .fini = teardown)
{
	char fp[IIOS_FINGERPRINT_LEN], err[2048], out_path[128], out[4096], text[1024], want[256];
	char url2[64], ask[160];
	const char *sh = "printf '%s\\n' \"$2\" | script -qec \"$0 info --url $1\" /dev/null";
	struct daemon d;

	if (system("command -v script >/dev/null") != 0)
		cr_skip_test("no script(1) to give the CLI a terminal");
	start_tls(&d, certs.server_cert, certs.server_key, "127.0.0.1:0");
	fingerprint_of(certs.server_cert, fp);
	snprintf(out_path, sizeof(out_path), "%s/tty.out", dir);
	{
		const char *argv[] = { "sh", "-c", sh, IIOSTREAM_CLI_PATH, d.tls_url, "y", NULL };

		cr_assert_eq(run_command(argv, out_path, err, sizeof(err), HANG_MS), 0, "%s", err);
	}
	cr_assert(slurp(out_path, out, sizeof(out)));
	snprintf(ask, sizeof(ask), "The authenticity of %s can't be established.", d.tls_url);
	cr_assert(strstr(out, ask), "%s", out);
	cr_assert(strstr(out, fp) && strstr(out, "Trust it? [y/N]"), "%s", out);
	cr_assert(strstr(out, "server id:  "), "no info after yes: %s", out);
	snprintf(want, sizeof(want), "localhost:%u %s\n", d.tls_port, fp);
	cr_assert(slurp(known, text, sizeof(text)));
	cr_assert_str_eq(text, want);

	/* the same board by its address is another server; declined */
	snprintf(url2, sizeof(url2), "tls://127.0.0.1:%u", d.tls_port);
	{
		const char *argv[] = { "sh", "-c", sh, IIOSTREAM_CLI_PATH, url2, "n", NULL };

		cr_assert_eq(run_command(argv, out_path, err, sizeof(err), HANG_MS), 1, "%s", err);
	}
	cr_assert(slurp(out_path, out, sizeof(out)));
	cr_assert(strstr(out, "declined"), "%s", out);
	cr_assert(slurp(known, text, sizeof(text)));
	cr_assert_str_eq(text, want);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}
