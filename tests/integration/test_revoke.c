// SPDX-License-Identifier: MIT
/*
 * Revocation at once: a reload (SIGHUP) that takes an identity off
 * --allow-subscribe ends its running streams on both ports. A native
 * client (TLS with its certificate, or plain) gets an Error naming who was
 * revoked and from which list, then the connection closes; a libiio client
 * on the iiod port is closed (its protocol has no such message) and the log
 * says why. A client still on the list streams on without a loss, and
 * every block goes back. Taken off --allow-write, a transmitting client is
 * ended the same way and its device stops, though it asked to play on. The real daemon, real files, certificates made by
 * the test (certs.c).
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
#include <sys/socket.h>
#include <unistd.h>

#include "certs.h"
#include "harness.h"

static char dir[64];          /* the test's files: config, certificates */
static char conf[128];        /* dir/iiostreamd.conf */
static struct test_certs ca;  /* a CA, its server, good-client and second-client */

static void make_dir(void)
{
	test_dir_make(dir, "revoke");
	snprintf(conf, sizeof(conf), "%s/iiostreamd.conf", dir);
	cr_assert_eq(test_certs_make(dir, &ca), 0, "could not make the test certificates");
}

static void remove_dir(void)
{
	test_dir_remove(dir);
}

/* The configuration: a TLS port with the test CA, and these lists
 * ("allow-subscribe = ...\n" lines). */
static void write_conf(const char *lists)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "rate = 2000000\nchannels = 2\nblock-size = 64K\nblocks = 16\n"
		 "listen-tls = 127.0.0.1:0\ntls-cert = %s\ntls-key = %s\nclient-ca = %s\n%s",
		 ca.server_cert, ca.server_key, ca.ca, lists);
	test_file_replace(conf, text);
}

/* SIGHUP, and wait until the reload was taken. */
static void reload(const struct daemon *d)
{
	int before = daemon_log_count(d, "configuration reloaded");

	cr_assert_eq(kill(d->pid, SIGHUP), 0);
	WAIT_UNTIL(daemon_log_count(d, "configuration reloaded") > before ||
			   daemon_log_contains(d, "reload refused"),
		   "the reload's outcome in the log");
	cr_assert(!daemon_log_contains(d, "reload refused"), "the new list was refused");
}

static struct iios_options tls_as(const char *cert, const char *key)
{
	struct iios_options o = { .ca_file = ca.ca, .cert_file = cert, .key_file = key,
				  .client_name = "test_revoke", .timeout_ms = HANG_MS };
	return o;
}

/* A streaming client was ended by the revocation: EACCES, and its Error
 * named it and the list. */
static void assert_revoked(struct rx_job *job, pthread_t th, const char *who)
{
	WAIT_UNTIL(atomic_load(&job->done), "the revoked client (%s) to be disconnected", who);
	pthread_join(th, NULL);
	cr_assert_eq(job->err, -EACCES, "the revoked client ended with %d: %s", job->err,
		     job->errmsg);
	cr_assert(strstr(job->errmsg, "revoked: "), "no reason in its Error: %s", job->errmsg);
	cr_assert(strstr(job->errmsg, who), "its Error does not name %s: %s", who, job->errmsg);
	cr_assert(strstr(job->errmsg, "is no longer on --allow-subscribe after reload"), "%s",
		  job->errmsg);
	cr_assert_eq(job->v.integrity_errors, 0, "%s", job->v.first_error);
}

/* The client on the list streamed on across the reload, `more` blocks
 * after it, without a block lost. */
static void assert_streamed_on(struct rx_job *job, pthread_t th, uint64_t more)
{
	rx_job_wait_blocks(job, atomic_load(&job->blocks) + more);
	atomic_store(&job->stop, true);
	pthread_join(th, NULL);
	cr_assert_eq(job->err, 0, "the client still on the list failed: %s", job->errmsg);
	cr_assert_eq(job->v.integrity_errors, 0, "%s", job->v.first_error);
	cr_assert_eq(job->v.lost_blocks, 0, "blocks skipped for the client still on the list");
	cr_assert_eq(job->counters.lost_blocks, 0);
	cr_assert_eq(job->counters.lost_samples, job->v.lost_samples,
		     "scans lost and not reported");
}

Test(revoke, a_tls_client_taken_off_the_list_is_disconnected_mid_stream_with_the_reason,
     .init = make_dir, .fini = remove_dir, .timeout = 300)
{
	const char *args[] = { "--config", conf, NULL };
	struct iios_options gone_o = tls_as(ca.client_cert, ca.client_key);
	struct iios_options kept_o = tls_as(ca.client2_cert, ca.client2_key);
	struct rx_job gone = { .opts = &gone_o }, kept = { .opts = &kept_o };
	static struct iios_stats st;
	char list[300], want[400];
	struct daemon d;
	pthread_t tg, tk;
	double wait0;

	/* both on the list by fingerprint, as a pairing would put them */
	snprintf(list, sizeof(list), "allow-subscribe = %s, %s\n", ca.client_fp, ca.client2_fp);
	write_conf(list);
	daemon_start(&d, args);
	cr_assert_neq(d.tls_port, 0);
	wait0 = daemon_cpu_wait_s(&d);
	gone.d = kept.d = &d;
	gone.url = kept.url = d.tls_url;
	cr_assert_eq(pthread_create(&tg, NULL, rx_job_run, &gone), 0);
	cr_assert_eq(pthread_create(&tk, NULL, rx_job_run, &kept), 0);
	rx_job_wait_blocks(&gone, 20);
	rx_job_wait_blocks(&kept, 20);

	snprintf(list, sizeof(list), "allow-subscribe = %s\n", ca.client2_fp);
	write_conf(list);
	reload(&d);
	assert_revoked(&gone, tg, "CN=good-client sha256:");
	cr_assert(strstr(gone.errmsg, ca.client_fp + strlen("sha256:")),
		  "its Error does not give its fingerprint: %s", gone.errmsg);
	snprintf(want, sizeof(want), "revoked: CN=good-client sha256:%s is no longer on "
		 "--allow-subscribe after reload; closing", ca.client_fp + strlen("sha256:"));
	cr_assert_eq(daemon_log_count(&d, want), 1, "not one log line '%s'", want);
	cr_assert_eq(daemon_log_count(&d, "revoked: "), 1, "the other client was touched too");

	assert_streamed_on(&kept, tk, 100);
	/* a reload must not cost the kept client a scan, unless the loaded
	 * machine held the daemon back longer than its 16-block ring lasts */
	assert_overflow_excused(&d, wait0, 16 * 65536 / (2000000.0 * 4), kept.v.lost_samples,
				"the client still on the list");
	cr_assert(wait_blocks_back(&d, HANG_MS, &st), "blocks still held after the revocation");
	cr_assert_eq(st.subscribers, 0);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(revoke, plain_clients_on_both_ports_are_closed_when_plain_leaves_the_list,
     .init = make_dir, .fini = remove_dir, .timeout = 300)
{
	const char *args[] = { "--config", conf, "--iiod-listen", "127.0.0.1:0", NULL };
	struct iios_options kept_o = tls_as(ca.client_cert, ca.client_key);
	struct rx_job plain = { 0 }, kept = { .opts = &kept_o };
	static struct iios_stats st;
	char line[64], buf[8192];
	struct daemon d;
	pthread_t tp, tk;
	int fd;

	write_conf("allow-subscribe = plain, cn:good-client\n");
	daemon_start(&d, args);
	cr_assert_neq(d.iiod_port, 0);
	plain.d = kept.d = &d;
	kept.url = d.tls_url;
	cr_assert_eq(pthread_create(&tp, NULL, rx_job_run, &plain), 0);
	cr_assert_eq(pthread_create(&tk, NULL, rx_job_run, &kept), 0);
	rx_job_wait_blocks(&plain, 20);
	rx_job_wait_blocks(&kept, 20);
	/* a libiio client in the middle of a READBUF's reply */
	fd = iiod_port_connect(&d, 0);
	iiod_port_send(fd, "OPEN sim 16384 00000003\r\n", 25);
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_str_eq(line, "0", "OPEN: %s", line);
	iiod_port_send(fd, "READBUF sim 1048576\r\n", 21);
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_gt(atoi(line), 0, "READBUF: '%s'", line);
	cr_assert_gt(recv(fd, buf, sizeof(buf), 0), 0);

	write_conf("allow-subscribe = cn:good-client\n");
	reload(&d);
	assert_revoked(&plain, tp, "'plain' (no certificate)");
	cr_assert(raw_wait_closed(fd, HANG_MS), "the iiod client's connection stays open");
	close(fd);
	/* one line each: the native client's, and the libiio client's */
	cr_assert_eq(daemon_log_count(&d, "revoked: 'plain' (no certificate) is no longer on "
				       "--allow-subscribe after reload; closing"), 2);
	cr_assert_eq(daemon_log_count(&d, "no certificate): revoked: 'plain'"), 1,
		     "no log line for the iiod client");

	assert_streamed_on(&kept, tk, 100);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st), "blocks still held after the revocation");
	cr_assert_eq(st.subscribers, 0);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* The sim's DAC in the stats (asserts it is there). */
static const struct iios_tx_stream_stats *dac_stats(const struct daemon *d, struct iios_stats *st)
{
	daemon_stats(d, st);
	for (uint32_t i = 0; i < st->n_tx; i++)
		if (strcmp(st->tx[i].id, "sim-dac") == 0)
			return &st->tx[i];
	cr_assert_fail("no sim-dac in the stats");
	return NULL;
}

Test(revoke, a_transmitting_client_taken_off_allow_write_is_closed_and_its_device_stops,
     .init = make_dir, .fini = remove_dir, .timeout = 300)
{
	const char *args[] = { "--config", conf, NULL };
	const struct iios_options patient = { .timeout_ms = HANG_MS };
	const struct iios_tx_options keep = { .keep_playing = true };
	static uint8_t blk[65536];
	static struct iios_stats st;
	struct iios_tx_status ts;
	struct iios_tx_info info;
	struct iios_client *c;
	char err[320];
	struct daemon d;
	int r;

	write_conf("allow-write = plain\n");
	daemon_start(&d, args);
	cr_assert_eq(iios_connect(d.url, &patient, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_tx_start(c, "sim-dac", &keep, &info), 0, "%s", iios_errmsg(c));
	cr_assert_leq(info.block_size, sizeof(blk));
	/* a cyclic block: with keep_playing it would loop after a disconnect */
	cr_assert_eq(iios_tx_send(c, blk, info.block_size, IIOS_TX_CYCLIC), 0, "%s",
		     iios_errmsg(c));
	WAIT_UNTIL(dac_stats(&d, &st)->cyclic, "the DAC to loop the block");

	write_conf("allow-write = cn:good-client\n");
	reload(&d);
	WAIT_UNTIL((r = iios_tx_status(c, &ts)) != 0, "the transmitting client's Error");
	cr_assert_eq(r, -EACCES, "%s", iios_errmsg(c));
	cr_assert(strstr(iios_errmsg(c), "revoked: 'plain' (no certificate) is no longer on "
					 "--allow-write after reload"),
		  "%s", iios_errmsg(c));
	iios_close(c);
	WAIT_UNTIL(!dac_stats(&d, &st)->transmitting, "the DAC to stop (it plays on, kept)");
	cr_assert(!dac_stats(&d, &st)->kept);
	cr_assert_eq(daemon_log_count(&d, "revoked: "), 1);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st), "blocks still held after the revocation");
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(revoke, a_libiio_client_transmitting_on_the_iiod_port_is_closed_and_its_device_stops,
     .init = make_dir, .fini = remove_dir, .timeout = 300)
{
	const char *args[] = { "--config", conf, "--iiod-listen", "127.0.0.1:0", NULL };
	static uint8_t blk[65536];
	static struct iios_stats st;
	char line[64];
	struct daemon d;
	int fd;

	write_conf("allow-write = plain\n");
	daemon_start(&d, args);
	cr_assert_neq(d.iiod_port, 0);
	/* a cyclic buffer of one block: the DAC would loop it after a disconnect */
	fd = iiod_port_connect(&d, 0);
	iiod_port_send(fd, "OPEN sim-dac 16384 00000003 CYCLIC\r\n", 36);
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_str_eq(line, "0", "OPEN: %s", line);
	iiod_port_send(fd, "WRITEBUF sim-dac 65536\r\n", 24);
	iiod_port_send(fd, (const char *)blk, sizeof(blk));
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_str_eq(line, "0", "WRITEBUF: %s", line);
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_str_eq(line, "65536", "WRITEBUF: %s", line);
	WAIT_UNTIL(dac_stats(&d, &st)->cyclic, "the DAC to loop the block");

	write_conf("allow-write = cn:good-client\n");
	reload(&d);
	cr_assert(raw_wait_closed(fd, HANG_MS), "the iiod client's connection stays open");
	close(fd);
	WAIT_UNTIL(!dac_stats(&d, &st)->transmitting, "the DAC to stop (it loops on)");
	cr_assert_eq(daemon_log_count(&d, "no certificate): revoked: 'plain' (no certificate) is no "
				       "longer on --allow-write after reload; closing"),
		     1, "no log line for the iiod client");
	cr_assert(wait_blocks_back(&d, HANG_MS, &st), "blocks still held after the revocation");
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}
