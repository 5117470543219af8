// SPDX-License-Identifier: MIT
/*
 * Pairing, end to end (docs/security.md, "Pairing"): the real daemon with
 * its own identity and `--allow-subscribe paired`, its `--pair` command,
 * and libiiostream's iios_pair() with self-made client identities. A new
 * client is refused, paired, then served; a wrong or reused code is
 * refused; a stranger who guesses is throttled and never admitted; a
 * paired client removed by a reload is cut off mid-stream with the reason;
 * pairing never overrides the key a client already pinned for the board.
 * Every client's files (identity, known servers) live in the test's
 * directory.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "iiostream/identity.h"
#include "iiostream/pair.h"

static char dir[64];
static char board_id[128], pairing[128];
static struct daemon d;

static void start(void)
{
	const char *args[] = { "--listen-tls", "127.0.0.1:0", "--identity", board_id,
			       "--pairing", pairing, "--allow-subscribe", "paired",
			       "--allow-write", "paired", "--rate", "2000000", "--block-size",
			       "64K", "--blocks", "16", "--advertise", "off", NULL };

	test_dir_make(dir, "pairing");
	snprintf(board_id, sizeof(board_id), "%s/board-identity", dir);
	snprintf(pairing, sizeof(pairing), "%s/pairing", dir);
	daemon_start(&d, args);
}

static void stop(void)
{
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	test_dir_remove(dir);
}

TestSuite(pairing, .init = start, .fini = stop, .timeout = 300);

/* A client of its own: identity and known-servers file under dir/NAME. */
struct who {
	char identity[128];
	char known[128];
	struct iios_options opts;
};

static void client_named(struct who *w, const char *name)
{
	snprintf(w->identity, sizeof(w->identity), "%s/%s-identity", dir, name);
	snprintf(w->known, sizeof(w->known), "%s/%s-known_servers", dir, name);
	memset(&w->opts, 0, sizeof(w->opts));
	w->opts.identity_dir = w->identity;
	w->opts.known_servers_file = w->known;
	w->opts.client_name = name;
	w->opts.timeout_ms = HANG_MS;
}

/* `iiostreamd --pair` on the board: the code it shows. */
static void make_code(char code[IIOS_PAIR_CODE_LEN])
{
	const char *argv[] = { IIOSTREAMD_PATH, "--pair", "--pairing", pairing, "--identity",
			       board_id, NULL };
	char out[128], err[1024], *text, *at;

	snprintf(out, sizeof(out), "%s/pair.out", dir);
	cr_assert_eq(run_command(argv, out, err, sizeof(err), HANG_MS), 0, "--pair: %s", err);
	text = file_slurp(out, NULL);
	at = strstr(text, "Pairing code: ");
	cr_assert_not_null(at, "%s", text);
	memcpy(code, at + strlen("Pairing code: "), IIOS_PAIR_CODE_LEN - 1);
	code[IIOS_PAIR_CODE_LEN - 1] = '\0';
	cr_assert_not_null(strstr(text, "iiostream pair --url tls://"), "%s", text);
	free(text);
}

static char *board_fp(void)
{
	static char fp[IIOS_FINGERPRINT_LEN];
	char path[192], err[256];

	snprintf(path, sizeof(path), "%s/cert.pem", board_id);
	cr_assert_eq(iios_fingerprint_file(path, fp, err, sizeof(err)), 0, "%s", err);
	return fp;
}

/* Subscribing: 0, or the error (-EACCES when refused) with its message. */
static int try_subscribe(struct who *w, char *msg, size_t len)
{
	struct iios_client *c;
	int r;

	r = iios_connect(d.tls_url, &w->opts, &c, msg, len);
	if (r)
		return r;
	r = iios_subscribe(c, 4, NULL);
	if (r)
		snprintf(msg, len, "%s", iios_errmsg(c));
	iios_close(c);
	return r;
}

Test(pairing, a_new_client_is_refused_then_paired_then_served)
{
	struct who alice;
	struct iios_pairing done;
	char code[IIOS_PAIR_CODE_LEN], err[1024], *known;
	struct rx_job job = { 0 };

	client_named(&alice, "alice");
	/* trusts the board on first use, but the board does not know alice */
	alice.opts.trust_new = IIOS_TRUST_NEW_ACCEPT;
	cr_assert_eq(try_subscribe(&alice, err, sizeof(err)), -EACCES, "%s", err);
	cr_assert_not_null(strstr(err, "iiostreamd --pair"), "the refusal says how: %s", err);

	make_code(code);
	alice.opts.trust_new = IIOS_TRUST_NEW_REFUSE;
	cr_assert_eq(iios_pair(d.tls_url, &alice.opts, code, NULL, &done, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_str_eq(done.server_fingerprint, board_fp());
	cr_assert_not(done.server_added, "alice knew the board already");
	cr_assert(daemon_log_contains(&d, done.client_fingerprint), "the board logs whom it paired");

	job.d = &d;
	job.url = d.tls_url;
	job.opts = &alice.opts;
	job.want_blocks = 8;
	rx_job_run(&job);
	cr_assert_eq(job.err, 0, "paired, alice streams: %s", job.errmsg);
	cr_assert_eq(job.v.integrity_errors, 0);

	/* a new client that never saw the board learns it from the pairing */
	{
		struct who bob;
		char line[256];

		client_named(&bob, "bob");
		make_code(code);
		cr_assert_eq(iios_pair(d.tls_url, &bob.opts, code, "bob's laptop", &done, err,
				       sizeof(err)), 0, "%s", err);
		cr_assert(done.server_added);
		cr_assert(done.identity_created);
		known = file_slurp(bob.known, NULL);
		snprintf(line, sizeof(line), "localhost:%u %s\n", d.tls_port, board_fp());
		cr_assert_str_eq(known, line);
		free(known);
		cr_assert_eq(try_subscribe(&bob, err, sizeof(err)), 0, "%s", err);
	}
}

Test(pairing, a_wrong_or_reused_code_is_refused)
{
	struct who alice, carol;
	struct iios_pairing done;
	char code[IIOS_PAIR_CODE_LEN], err[1024];

	client_named(&alice, "alice");
	client_named(&carol, "carol");
	make_code(code);
	cr_assert_eq(iios_pair(d.tls_url, &alice.opts, "0000-0000-0000", NULL, &done, err,
			       sizeof(err)), -EACCES, "%s", err);
	cr_assert_not_null(strstr(err, "wrong, used or expired"), "%s", err);
	cr_assert_eq(iios_pair(d.tls_url, &alice.opts, "not a code", NULL, &done, err,
			       sizeof(err)), -EINVAL);
	cr_assert_eq(iios_pair(d.tls_url, &alice.opts, code, NULL, &done, err, sizeof(err)), 0,
		     "%s", err);
	/* once only */
	cr_assert_eq(iios_pair(d.tls_url, &carol.opts, code, NULL, &done, err, sizeof(err)),
		     -EACCES, "%s", err);
	carol.opts.trust_new = IIOS_TRUST_NEW_ACCEPT;
	cr_assert_eq(try_subscribe(&carol, err, sizeof(err)), -EACCES, "%s", err);
	cr_assert_eq(try_subscribe(&alice, err, sizeof(err)), 0, "%s", err);
}

Test(pairing, a_stranger_who_guesses_is_throttled_and_never_admitted)
{
	struct who mallory, alice;
	struct iios_pairing done;
	char code[IIOS_PAIR_CODE_LEN], guess[IIOS_PAIR_CODE_LEN], err[1024];
	int refused = 0, throttled = 0, i;

	client_named(&mallory, "mallory");
	client_named(&alice, "alice");
	make_code(code);
	/* as fast as connections go: far more attempts than the board allows */
	for (i = 0; i < 12; i++) {
		int r;

		snprintf(guess, sizeof(guess), "0000-0000-%04d", i);
		r = iios_pair(d.tls_url, &mallory.opts, guess, NULL, &done, err, sizeof(err));
		cr_assert(r == -EACCES || r == -EAGAIN, "guess %d: %d %s", i, r, err);
		refused += r == -EACCES;
		throttled += r == -EAGAIN;
	}
	cr_assert_gt(throttled, 0, "12 guesses in a row were never throttled");
	cr_assert(daemon_log_contains(&d, "too many pairing attempts"));
	cr_assert(daemon_log_contains(&d, "every outstanding code is void") || refused < 5,
		  "%d wrong codes did not void the outstanding ones", refused);
	mallory.opts.trust_new = IIOS_TRUST_NEW_ACCEPT;
	cr_assert_eq(try_subscribe(&mallory, err, sizeof(err)), -EACCES, "%s", err);
	if (refused >= 5) {
		/* the admin's code went with the guesses: a new one is needed */
		WAIT_UNTIL(iios_pair(d.tls_url, &alice.opts, code, NULL, &done, err,
				     sizeof(err)) != -EAGAIN, "the throttle to let a try through");
		cr_assert_not_null(strstr(err, "wrong, used or expired"), "%s", err);
	}
	make_code(code);
	WAIT_UNTIL(iios_pair(d.tls_url, &alice.opts, code, NULL, &done, err, sizeof(err)) == 0,
		   "a fresh code to work once the throttle allows: %s", err);
}

Test(pairing, a_paired_client_removed_by_a_reload_is_cut_off_with_the_reason)
{
	struct who alice;
	struct iios_pairing done;
	char code[IIOS_PAIR_CODE_LEN], err[1024], clients[192];
	struct rx_job job = { 0 };
	pthread_t th;
	int before;

	client_named(&alice, "alice");
	make_code(code);
	cr_assert_eq(iios_pair(d.tls_url, &alice.opts, code, NULL, &done, err, sizeof(err)), 0,
		     "%s", err);
	job.d = &d;
	job.url = d.tls_url;
	job.opts = &alice.opts;
	cr_assert_eq(pthread_create(&th, NULL, rx_job_run, &job), 0);
	rx_job_wait_blocks(&job, 4);

	snprintf(clients, sizeof(clients), "%s/clients", pairing);
	test_file_replace(clients, "# alice was unpaired\n");
	before = daemon_log_count(&d, "configuration reloaded");
	cr_assert_eq(kill(d.pid, SIGHUP), 0);
	WAIT_UNTIL(daemon_log_count(&d, "configuration reloaded") > before, "the reload");
	WAIT_UNTIL(atomic_load(&job.done), "alice's stream to be ended");
	pthread_join(th, NULL);
	cr_assert_eq(job.err, -EACCES, "%d %s", job.err, job.errmsg);
	cr_assert_not_null(strstr(job.errmsg, "revoked"), "the reason: %s", job.errmsg);
	cr_assert(daemon_log_contains(&d, "1 removed"));
	cr_assert_eq(try_subscribe(&alice, err, sizeof(err)), -EACCES, "%s", err);
}

Test(pairing, pairing_never_overrides_the_key_a_client_pinned)
{
	struct who alice;
	struct iios_pairing done;
	char code[IIOS_PAIR_CODE_LEN], err[1024], line[256], *after;
	FILE *f;

	client_named(&alice, "alice");
	snprintf(line, sizeof(line), "localhost:%u sha256:%064d\n", d.tls_port, 0);
	f = fopen(alice.known, "w");
	cr_assert_not_null(f);
	fputs(line, f);
	fclose(f);
	make_code(code);
	cr_assert_eq(iios_pair(d.tls_url, &alice.opts, code, NULL, &done, err, sizeof(err)),
		     -EKEYREJECTED, "%s", err);
	after = file_slurp(alice.known, NULL);
	cr_assert_str_eq(after, line, "the known-servers file was rewritten");
	free(after);
	/* the code was never presented: it still works for the right board */
	cr_assert_eq(daemon_log_count(&d, "pairing refused"), 0);
}

/* `iiostream info` from a client the board does not admit: it still shows
 * the server and its devices, says why it cannot stream, and (as stats
 * does) why the simulator streams when --source auto found no device. */
Test(pairing, info_from_an_unpaired_client_says_why_it_cannot_stream)
{
	struct who eve;
	struct iios_client *c;
	struct iios_stats st;
	char out[128], err[2048], *text;
	const char *argv[] = { IIOSTREAM_CLI_PATH, "info", "--url", d.tls_url, "--trust-new",
			       "--known-servers", NULL, "--identity", NULL, NULL };

	client_named(&eve, "eve");
	argv[6] = eve.known;
	argv[8] = eve.identity;
	snprintf(out, sizeof(out), "%s/info.out", dir);
	cr_assert_eq(run_command(argv, out, err, sizeof(err), HANG_MS), 0, "%s", err);
	text = file_slurp(out, NULL);
	cr_assert_not_null(strstr(text, "stream:     not allowed for this client"), "%s", text);
	cr_assert_not_null(strstr(text, "iiostreamd --pair"), "%s", text);
	cr_assert_not_null(strstr(text, "server id:  "), "%s", text);

	eve.opts.trust_new = IIOS_TRUST_NEW_REFUSE;
	cr_assert_eq(iios_connect(d.tls_url, &eve.opts, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_stats(c, &st), 0, "stats are not restricted: %s", iios_errmsg(c));
	iios_close(c);
	if (st.source_fallback[0])
		cr_assert_not_null(strstr(text, st.source_fallback), "%s", text);
	free(text);
}

/* A reload that finds a bad line in the paired clients keeps them as they
 * were (and says so): a typo never admits nor cuts off anyone. */
Test(pairing, a_bad_line_in_the_paired_clients_keeps_them_as_they_were)
{
	struct who alice;
	struct iios_pairing done;
	char code[IIOS_PAIR_CODE_LEN], err[1024], clients[192], *text, *bad;
	int before;

	client_named(&alice, "alice");
	make_code(code);
	cr_assert_eq(iios_pair(d.tls_url, &alice.opts, code, NULL, &done, err, sizeof(err)), 0,
		     "%s", err);
	snprintf(clients, sizeof(clients), "%s/clients", pairing);
	text = file_slurp(clients, NULL);
	bad = malloc(strlen(text) + 32);
	sprintf(bad, "%ssha256:not-hex typo\n", text);
	test_file_replace(clients, bad);
	free(bad);
	free(text);
	before = daemon_log_count(&d, "configuration reloaded");
	cr_assert_eq(kill(d.pid, SIGHUP), 0);
	WAIT_UNTIL(daemon_log_count(&d, "configuration reloaded") > before, "the reload");
	cr_assert(daemon_log_contains(&d, "the paired clients stay as they were"));
	cr_assert(daemon_log_contains(&d, "clients:2:"), "names the file and line");
	cr_assert_eq(try_subscribe(&alice, err, sizeof(err)), 0, "%s", err);
}
