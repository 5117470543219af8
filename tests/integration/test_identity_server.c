// SPDX-License-Identifier: MIT
/*
 * The daemon's own identity and client certificates without a CA, against
 * the real daemon on loopback:
 *  - with --listen-tls and no --tls-cert/--tls-key it makes the board's
 *    identity on first start (the log says so, its fingerprint is what
 *    --show-identity prints), presents it, keeps it across restarts; a
 *    client that trusts that certificate streams;
 *  - --show-identity refuses a key others can read, naming chmod 600;
 *  - without --client-ca a client's self-signed certificate (made here
 *    with common/identity) is a pinned-only identity: sha256: admits it,
 *    cn: and any-cert do not, a client without one is `plain`;
 *  - with --client-ca the same client is refused in the handshake.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iiostream/identity.h>

#include "certs.h"
#include "harness.h"

#define STREAM_ARGS "--rate", "1000000", "--channels", "2", "--block-size", "64K", "--blocks", "8"

static struct test_certs certs;
static char dir[64];
static char board_dir[128];
static struct iios_identity client_id;

static void setup(void)
{
	char client_dir[128], err[400];

	test_dir_make(dir, "identity");
	cr_assert_eq(test_certs_make(dir, &certs), 0, "could not make the test certificates");
	snprintf(board_dir, sizeof(board_dir), "%s/board", dir);
	snprintf(client_dir, sizeof(client_dir), "%s/client", dir);
	/* a client identity as libiiostream makes one: self-signed, CN lab-pc */
	cr_assert_eq(iios_identity_open(client_dir, "lab-pc", NULL, &client_id, err, sizeof(err)),
		     0, "%s", err);
}

static void teardown(void)
{
	test_dir_remove(dir);
}

/* The value of `key: ` in the output file of --show-identity. */
static void read_field(const char *path, const char *key, char *out, size_t len)
{
	char line[600];
	size_t kl = strlen(key);
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "%s", path);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			const char *v = line + kl + 1;

			v += strspn(v, " ");
			snprintf(out, len, "%.*s", (int)strcspn(v, "\n"), v);
		}
	fclose(f);
}

/* iiostreamd --show-identity --identity board_dir: exit status, and its
 * fingerprint in fp. */
static int show_identity(char fp[IIOS_FINGERPRINT_LEN], char *out_path, size_t out_len,
			 char *err, size_t errlen)
{
	const char *argv[] = { IIOSTREAMD_PATH, "--show-identity", "--identity", board_dir, NULL };
	int st;

	snprintf(out_path, out_len, "%s/show.out", dir);
	st = run_command(argv, out_path, err, errlen, HANG_MS);
	read_field(out_path, "fingerprint", fp, IIOS_FINGERPRINT_LEN);
	return st;
}

/* The fingerprint in the daemon's "TLS identity sha256:...: ..." line. */
static void logged_fingerprint(const struct daemon *d, char fp[IIOS_FINGERPRINT_LEN])
{
	char line[1024];
	FILE *f = fopen(d->log_path, "r");
	const char *at;

	cr_assert_not_null(f);
	fp[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if ((at = strstr(line, "TLS identity sha256:")))
			snprintf(fp, IIOS_FINGERPRINT_LEN, "%.71s", at + strlen("TLS identity "));
	fclose(f);
}

/* Connect with `o`, subscribe, and receive and verify 5 blocks. */
static void stream_verified(const char *url, const struct iios_options *o)
{
	struct iios_stream_info info;
	struct iios_verify v;
	struct iios_block blk;
	struct iios_client *c;
	char err[320];
	int i;

	cr_assert_eq(iios_connect(url, o, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	iios_verify_init(&v);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
		cr_assert_eq(iios_verify_block(&v, &info, &blk), 0, "%s", v.first_error);
	}
	iios_close(c);
}

Test(identity_server, a_board_without_certificates_makes_its_identity_once_and_presents_it,
     .init = setup, .fini = teardown)
{
	const char *args[] = { STREAM_ARGS, "--listen-tls", "127.0.0.1:0", "--identity", board_dir,
			       NULL };
	char fp[IIOS_FINGERPRINT_LEN], shown[IIOS_FINGERPRINT_LEN], again[IIOS_FINGERPRINT_LEN];
	char out[160], err[512], cert[300], host[256];
	struct iios_options o = { .client_name = "test_identity", .timeout_ms = HANG_MS };
	static struct iios_stats st;
	struct stat sb;
	struct daemon d;

	daemon_start(&d, args);
	cr_assert(daemon_log_contains(&d, "made now"), "no 'made now' in the log");
	logged_fingerprint(&d, fp);
	cr_assert_eq(strlen(fp), 71, "no fingerprint logged: '%s'", fp);
	snprintf(cert, sizeof(cert), "%s/cert.pem", board_dir);
	cr_assert(daemon_log_contains(&d, board_dir), "the log does not say where it lives");
	/* the key is the daemon's alone */
	snprintf(out, sizeof(out), "%s/key.pem", board_dir);
	cr_assert_eq(stat(out, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "key.pem mode %o", sb.st_mode & 0777);
	cr_assert_eq(stat(board_dir, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0700, "identity dir mode %o", sb.st_mode & 0777);

	/* what the admin prints is what the daemon presents */
	cr_assert_eq(show_identity(shown, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(shown, fp);
	read_field(out, "certificate", again, sizeof(again));
	cr_assert_str_eq(again, cert);

	/* a client that takes that certificate as its trust anchor (what a
	 * pin amounts to) streams; the name is the host's */
	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	o.ca_file = cert;
	o.tls_server_name = host;
	stream_verified(d.tls_url, &o);
	daemon_stats(&d, &st);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);

	/* started again: the same identity, not a new one */
	daemon_start(&d, args);
	cr_assert(daemon_log_contains(&d, "made before"), "a second identity was made");
	logged_fingerprint(&d, again);
	cr_assert_str_eq(again, fp);
	stream_verified(d.tls_url, &o);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(identity_server, show_identity_makes_it_says_so_and_refuses_an_exposed_key,
     .init = setup, .fini = teardown)
{
	const char *check[] = { "--listen-tls", "127.0.0.1:0", "--identity", board_dir,
				"--check-config", NULL };
	char fp[IIOS_FINGERPRINT_LEN], fp2[IIOS_FINGERPRINT_LEN], out[160], err[512], key[300];
	char made[200];

	/* --check-config makes nothing */
	cr_assert_eq(run_daemon_to_exit(check, err, sizeof(err)), 0, "%s", err);
	cr_assert_neq(access(board_dir, F_OK), 0, "--check-config made %s", board_dir);

	cr_assert_eq(show_identity(fp, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(strncmp(fp, "sha256:", 7), 0, "'%s'", fp);
	read_field(out, "made now", made, sizeof(made));
	cr_assert(made[0], "the first --show-identity does not say it made the identity");
	cr_assert_eq(show_identity(fp2, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(fp2, fp);

	snprintf(key, sizeof(key), "%s/key.pem", board_dir);
	cr_assert_eq(chmod(key, 0644), 0);
	cr_assert_eq(show_identity(fp2, out, sizeof(out), err, sizeof(err)), 1, "%s", err);
	cr_assert(strstr(err, "chmod 600"), "%s", err);
	cr_assert(strstr(err, key), "%s", err);
	cr_assert_eq(chmod(key, 0600), 0);
}

/* A daemon with --tls-cert and no --client-ca, subscribing allowed to `who`. */
static void start_pinning(struct daemon *d, const char *who)
{
	const char *args[] = { STREAM_ARGS, "--listen-tls", "127.0.0.1:0", "--tls-cert",
			       certs.server_cert, "--tls-key", certs.server_key,
			       "--allow-subscribe", who, NULL };

	daemon_start(d, args);
}

/* Connect as `cert` (NULL: none) and subscribe: 0 or the error. */
static int try_subscribe(const struct daemon *d, const char *cert, const char *key)
{
	struct iios_options o = { .ca_file = certs.ca, .cert_file = cert, .key_file = key,
				  .client_name = "test_identity", .timeout_ms = HANG_MS };
	struct iios_stream_info info;
	struct iios_client *c;
	char err[320];
	int r;

	cr_assert_eq(iios_connect(d->tls_url, &o, &c, err, sizeof(err)), 0, "%s", err);
	r = iios_subscribe(c, 0, &info);
	iios_close(c);
	return r;
}

Test(identity_server, without_a_ca_a_self_signed_client_is_named_by_its_fingerprint_only,
     .init = setup, .fini = teardown)
{
	char pin[128], ca_pin[160];
	static struct iios_stats st;
	struct iios_options o = { .ca_file = certs.ca, .cert_file = client_id.cert_file,
				  .key_file = client_id.key_file, .client_name = "test_identity",
				  .timeout_ms = HANG_MS };
	struct iios_stream_info info;
	struct iios_client *c;
	char err[320];
	bool seen = false;
	struct daemon d;
	uint32_t i;

	snprintf(pin, sizeof(pin), "%s", client_id.fingerprint);
	start_pinning(&d, pin);
	cr_assert(daemon_log_contains(&d, "client certificates asked for"), "log");
	/* admitted by its fingerprint, and shown as what it is */
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_stats(c, &st), 0, "%s", iios_errmsg(c));
	for (i = 0; i < st.n_listed; i++)
		if (st.client[i].subscribed) {
			seen = true;
			cr_assert(strstr(st.client[i].identity, "CN=lab-pc"), "%s",
				  st.client[i].identity);
			cr_assert(strstr(st.client[i].identity, client_id.fingerprint + 7), "%s",
				  st.client[i].identity);
			cr_assert(strstr(st.client[i].identity, "(self-signed)"), "%s",
				  st.client[i].identity);
		}
	cr_assert(seen, "the subscribed client is not in the stats (%u listed, %s)", st.n_listed,
		  st.n_listed ? st.client[0].identity : "");
	iios_close(c);
	WAIT_UNTIL(daemon_log_contains(&d, "CN=lab-pc sha256:") &&
			   daemon_log_contains(&d, "(self-signed)"),
		   "the log to name the client as self-signed");
	/* a client without a certificate is 'plain', not on this list */
	cr_assert_eq(try_subscribe(&d, NULL, NULL), -EACCES);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);

	/* the names it claims admit nothing */
	start_pinning(&d, "cn:lab-pc");
	cr_assert_eq(try_subscribe(&d, client_id.cert_file, client_id.key_file), -EACCES);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	start_pinning(&d, "any-cert");
	cr_assert_eq(try_subscribe(&d, client_id.cert_file, client_id.key_file), -EACCES);
	/* a CA's certificate is no more than pinned without --client-ca */
	cr_assert_eq(try_subscribe(&d, certs.client_cert, certs.client_key), -EACCES);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);

	/* ... and admitted by its fingerprint like any other */
	snprintf(ca_pin, sizeof(ca_pin), "%s,plain", certs.client_fp);
	start_pinning(&d, ca_pin);
	cr_assert_eq(try_subscribe(&d, certs.client_cert, certs.client_key), 0);
	cr_assert_eq(try_subscribe(&d, NULL, NULL), 0, "no certificate: plain");
	cr_assert_eq(try_subscribe(&d, client_id.cert_file, client_id.key_file), -EACCES);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(identity_server, with_a_client_ca_a_self_signed_client_is_refused_in_the_handshake,
     .init = setup, .fini = teardown)
{
	char pin[128];
	const char *args[] = { STREAM_ARGS, "--listen-tls", "127.0.0.1:0", "--tls-cert",
			       certs.server_cert, "--tls-key", certs.server_key, "--client-ca",
			       certs.ca, "--allow-subscribe", pin, NULL };
	struct iios_options o = { .ca_file = certs.ca, .cert_file = client_id.cert_file,
				  .key_file = client_id.key_file, .client_name = "test_identity",
				  .timeout_ms = HANG_MS };
	struct iios_client *c = NULL;
	char err[320] = "";
	struct daemon d;

	/* even on the list by its fingerprint */
	snprintf(pin, sizeof(pin), "%s", client_id.fingerprint);
	daemon_start(&d, args);
	cr_assert(daemon_log_contains(&d, "client certificates required"), "log");
	cr_assert_eq(iios_connect(d.tls_url, &o, &c, err, sizeof(err)), -EACCES, "%s", err);
	cr_assert_null(c);
	cr_assert(strstr(err, "refused our certificate"), "%s", err);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}
