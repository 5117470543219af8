// SPDX-License-Identifier: MIT
/*
 * The iiod-compatible listener against Debian's own libiio 0.24 clients
 * (libiio-utils: iio_info, iio_attr, iio_readdev, run as programs with
 * -u ip:127.0.0.1:PORT), and against raw sockets that speak the protocol
 * badly on purpose. The samples iio_readdev writes are checked with
 * iios_verify_scans().
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "certs.h"
#include "harness.h"

static const char *const with_iiod[] = { "--channels", "4", "--rate", "1000000",
					 "--block-size", "64K", "--iiod-listen", "127.0.0.1:0",
					 NULL };

/* Run a libiio tool; its stdout lands in out_path. Its network timeout is
 * a hang's (libiio's default, 5 s, is not one on a loaded machine). */
static void run_tool_waited(const struct daemon *d, const char *const *argv, const char *out_path,
			    double *cpu_wait_s)
{
	const char *with_timeout[32] = { argv[0], "-T", HARNESS_STR(HANG_MS) };
	char err[2048];
	int r, n = 3;

	for (int i = 1; argv[i] && n < 31; i++)
		with_timeout[n++] = argv[i];
	with_timeout[n] = NULL;
	r = run_command_waited(with_timeout, out_path, err, sizeof(err), HANG_MS, cpu_wait_s);

	if (r != 0)
		daemon_dump_log(d);
	cr_assert_eq(r, 0, "%s exited %d: %s", argv[0], r, err);
}

static void run_tool(const struct daemon *d, const char *const *argv, const char *out_path)
{
	run_tool_waited(d, argv, out_path, NULL);
}

Test(iiod, is_off_unless_asked_for)
{
	struct daemon dm;

	daemon_start(&dm, NULL);
	cr_assert_eq(dm.iiod_port, 0);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

Test(iiod, iio_info_lists_the_device_its_channels_and_attributes)
{
	struct daemon dm;
	char out[160], *text;

	daemon_start(&dm, with_iiod);
	cr_assert_neq(dm.iiod_port, 0);
	snprintf(out, sizeof(out), "%s/info.txt", dm.dir);
	run_tool(&dm, (const char *const[]){ "iio_info", "-u", dm.iiod_uri, NULL }, out);
	text = file_slurp(out, NULL);
	cr_assert(strstr(text, "IIO context created with network backend"), "%s", text);
	cr_assert(strstr(text, "sim: iiostream-sim (buffer capable)"), "%s", text);
	cr_assert(strstr(text, "4 channels found"), "%s", text);
	for (int i = 0; i < 4; i++) {
		char line[80];

		snprintf(line, sizeof(line), "voltage%d:  (input, index: %d, format: le:S16/16>>0)",
			 i, i);
		cr_assert(strstr(text, line), "no '%s' in:\n%s", line, text);
	}
	cr_assert(strstr(text, "sampling_frequency value: 1000000"), "%s", text);
	free(text);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

Test(iiod, iio_attr_reads_and_writes_sampling_frequency_and_the_stream_follows)
{
	struct iios_attr_ref ref = { .attr = "sampling_frequency" };
	struct iios_stream_info info;
	struct iios_client *c;
	struct daemon dm;
	char out[160], value[64], *text;

	daemon_start(&dm, with_iiod);
	snprintf(out, sizeof(out), "%s/attr.txt", dm.dir);
	run_tool(&dm, (const char *const[]){ "iio_attr", "-u", dm.iiod_uri, "-d", "sim",
					     "sampling_frequency", NULL }, out);
	text = file_slurp(out, NULL);
	cr_assert_str_eq(text, "1000000\n");
	free(text);
	run_tool(&dm, (const char *const[]){ "iio_attr", "-u", dm.iiod_uri, "-d", "sim",
					     "sampling_frequency", "250000", NULL }, out);
	text = file_slurp(out, NULL);
	cr_assert(strstr(text, "250000"), "%s", text);
	free(text);
	/* the iiostream protocol sees the same value, and streams at it */
	c = client_connect(&dm);
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), 0, "%s", iios_errmsg(c));
	cr_assert_str_eq(value, "250000");
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	cr_assert_eq(info.sample_rate, 250000);
	iios_close(c);
	/* a value the device refuses is an error, and changes nothing */
	{
		char err[512];
		int r = run_command((const char *const[]){ "iio_attr", "-T", HARNESS_STR(HANG_MS),
							   "-u", dm.iiod_uri, "-d", "sim",
							   "sampling_frequency", "fast", NULL },
				    NULL, err, sizeof(err), HANG_MS);

		cr_assert_neq(r, 0, "iio_attr accepted 'fast': %s", err);
	}
	c = client_connect(&dm);
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), 0, "%s", iios_errmsg(c));
	cr_assert_str_eq(value, "250000");
	iios_close(c);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* A libiio client has no certificate: only an --allow-write list that
 * names "plain" lets it write, and a refusal reaches iio_attr as EACCES. */
Test(iiod, allow_write_decides_for_libiio_clients_too)
{
	static const char *const certs_only[] = { "--iiod-listen", "127.0.0.1:0", "--allow-write",
						  "cn:lab-pc", NULL };
	static const char *const with_plain[] = { "--iiod-listen", "127.0.0.1:0", "--allow-write",
						  "cn:lab-pc,plain", NULL };
	const char *argv[] = { "iio_attr", "-u", NULL, "-d", "sim", "sampling_frequency", "250000",
			       "-T", HARNESS_STR(HANG_MS), NULL };
	struct iios_attr_ref ref = { .attr = "sampling_frequency" };
	struct iios_client *c;
	struct daemon dm;
	char err[512], value[64], out[160], *text;
	int r;

	daemon_start(&dm, certs_only);
	argv[2] = dm.iiod_uri;
	snprintf(out, sizeof(out), "%s/attr.txt", dm.dir);
	r = run_command(argv, out, err, sizeof(err), HANG_MS);
	cr_assert_neq(r, 0, "iio_attr wrote past --allow-write: %s", err);
	text = file_slurp(out, NULL); /* iio_attr prints its ERROR line on stdout */
	cr_assert(strstr(text, "Permission denied (13)") || strstr(err, "Permission denied (13)"),
		  "iio_attr said: %s%s", text, err);
	free(text);
	cr_assert(daemon_log_contains(&dm, "attribute write refused by --allow-write"));
	c = client_connect(&dm);
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), 0, "%s", iios_errmsg(c));
	cr_assert_str_neq(value, "250000", "the refused write changed the rate");
	iios_close(c);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);

	daemon_start(&dm, with_plain);
	argv[2] = dm.iiod_uri;
	snprintf(out, sizeof(out), "%s/attr.txt", dm.dir);
	run_tool(&dm, argv, out);
	cr_assert_eq(daemon_log_contains(&dm, "refused by --allow-write"), false);
	c = client_connect(&dm);
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), 0, "%s", iios_errmsg(c));
	cr_assert_str_eq(value, "250000");
	iios_close(c);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* iio_readdev's samples of `chans`, checked: `scans` of them, in order.
 * A gap is allowed only as what a loaded machine causes, every scan of it
 * accounted for: blocks the daemon skipped for iio_readdev, if iio_readdev
 * waited for a CPU at least as long as a block lasts (8.2 ms at 1 M scans/s
 * of 4 channels; a libiio client has only its queue of blocks between it
 * and a skip), and scans the source lost to overflows, if the daemon
 * waited at least as long as its ring lasts (8 blocks: 66 ms). On an idle
 * machine neither waits, and a gap fails. */
static void readdev_verified(const struct daemon *d, const char *const *chan_ids,
			     const uint32_t *chans, uint32_t n, uint32_t scans)
{
	const char *argv[16] = { "iio_readdev", "-u", d->iiod_uri, "-b", "4096", "-s" };
	double wait0 = daemon_cpu_wait_s(d), readdev_wait = 0;
	struct iios_stats st0;
	struct iios_scan_check chk;
	char out[160], count[16], *data;
	size_t len;
	int k = 6, err;

	snprintf(count, sizeof(count), "%u", scans);
	argv[k++] = count;
	argv[k++] = "sim";
	for (uint32_t i = 0; i < n; i++)
		argv[k++] = chan_ids[i];
	argv[k] = NULL;
	snprintf(out, sizeof(out), "%s/samples-%u.bin", d->dir, n);
	daemon_stats(d, &st0);
	run_tool_waited(d, argv, out, &readdev_wait);
	data = file_slurp(out, &len);
	cr_assert_eq(len, (size_t)scans * n * 2);
	err = iios_verify_scans(&chk, data, len, chans, n);
	cr_assert_eq(err, 0, "%d: %s", err, chk.first_error);
	cr_assert_eq(chk.scans, scans);
	if (chk.gaps) {
		static struct iios_stats st;
		uint64_t skipped, lost;

		daemon_stats(d, &st);
		skipped = st.blocks_skipped_total - st0.blocks_skipped_total;
		lost = st.source.lost_samples - st0.source.lost_samples;
		/* a block holds 8192 scans of 4 channels, 16384 of 2 */
		cr_assert_leq(chk.scans_missing, lost + skipped * 16384,
			      "%llu gaps of %llu scans; the daemon skipped %llu blocks and its "
			      "source lost %llu scans", (unsigned long long)chk.gaps,
			      (unsigned long long)chk.scans_missing, (unsigned long long)skipped,
			      (unsigned long long)lost);
		if (skipped)
			cr_assert_geq(readdev_wait, 65536 / (1000000.0 * 8),
				      "%llu blocks skipped for iio_readdev, which waited only %.3f s "
				      "for a CPU", (unsigned long long)skipped, readdev_wait);
		assert_overflow_excused(d, wait0, 8 * 65536 / (1000000.0 * 8), lost,
					"iio_readdev's samples");
	}
	free(data);
}

Test(iiod, iio_readdev_reads_samples_whose_pattern_verifies)
{
	static const char *const all[] = { "voltage0", "voltage1", "voltage2", "voltage3" };
	static const char *const odd[] = { "voltage1", "voltage3" };
	struct iios_stats st;
	struct daemon dm;

	daemon_start(&dm, with_iiod);
	readdev_verified(&dm, all, (const uint32_t[]){ 0, 1, 2, 3 }, 4, 200000);
	/* alone, a subset sets the capture to those channels */
	readdev_verified(&dm, odd, (const uint32_t[]){ 1, 3 }, 2, 100000);
	cr_assert(wait_blocks_back(&dm, HANG_MS, &st), "blocks still held");
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

Test(iiod, a_libiio_client_and_an_iiostream_client_stream_at_once)
{
	static const char *const two[] = { "voltage0", "voltage2" };
	struct rx_job job = { .want_blocks = 0 }; /* until stopped */
	struct iios_stats st;
	struct daemon dm;
	uint64_t before;
	pthread_t t;

	daemon_start(&dm, with_iiod);
	job.d = &dm;
	cr_assert_eq(pthread_create(&t, NULL, rx_job_run, &job), 0);
	/* the iiostream client holds the capture (all 4 channels) from its
	 * first block until the libiio client is done: awaited, not slept on */
	rx_job_wait_blocks(&job, 1);
	/* the libiio client wants 2 of them: copied apart for it */
	readdev_verified(&dm, two, (const uint32_t[]){ 0, 2 }, 2, 200000);
	before = atomic_load(&job.blocks);
	rx_job_wait_blocks(&job, before + 10); /* and it streams on */
	atomic_store(&job.stop, true);
	pthread_join(t, NULL);
	cr_assert_eq(job.err, 0, "%s", job.errmsg);
	cr_assert_eq(job.v.integrity_errors, 0, "%s", job.v.first_error);
	cr_assert_eq(job.v.lost_blocks, 0);
	cr_assert_eq(job.info.n_channels, 4);
	cr_assert(wait_blocks_back(&dm, HANG_MS, &st), "blocks still held");
	cr_assert(daemon_log_contains(&dm, "copied out of the capture"));
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* ---- raw sockets ------------------------------------------------------ */

static void expect_reply_n(int fd, const char *cmd, size_t len, const char *want)
{
	char line[256];

	iiod_port_send(fd, cmd, len);
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_str_eq(line, want, "'%s' got '%s', want '%s'", cmd, line, want);
}

static void expect_reply(int fd, const char *cmd, const char *want)
{
	expect_reply_n(fd, cmd, strlen(cmd), want);
}

Test(iiod, bad_commands_get_an_error_and_the_connection_goes_on)
{
	static const char *const all[] = { "voltage0", "voltage1", "voltage2", "voltage3" };
	char line[256], longline[3000];
	struct iios_stats st;
	struct daemon dm;
	int fd;

	daemon_start(&dm, with_iiod);
	fd = iiod_port_connect(&dm, 0);
	expect_reply(fd, "FROB sim\r\n", "-22");
	expect_reply(fd, "READ\r\n", "-22");
	expect_reply(fd, "ZPRINT\r\n", "-22");
	expect_reply(fd, "READ nosuch sampling_frequency\r\n", "-19");
	expect_reply(fd, "READ sim nosuch\r\n", "-2");
	expect_reply(fd, "OPEN sim 0 0000000f\r\n", "-22");
	expect_reply(fd, "OPEN sim 1024 0f\r\n", "-22");
	expect_reply(fd, "OPEN sim 1024 00000000\r\n", "-22");
	expect_reply(fd, "READBUF sim 4096\r\n", "-9");
	expect_reply(fd, "CLOSE sim\r\n", "-6");
	expect_reply(fd, "OPEN sim 1024 0000000f CYCLIC\r\n", "-38");
	/* a WRITE's value is read even when the write is refused */
	expect_reply(fd, "WRITE sim nosuch 6\r\nhello\n", "-2");
	expect_reply_n(fd, "WRITE sim sampling_frequency 5\r\nfast\0", 37, "-22");
	/* a line longer than any command, then a good one */
	memset(longline, 'A', sizeof(longline));
	longline[sizeof(longline) - 2] = '\r';
	longline[sizeof(longline) - 1] = '\n';
	iiod_port_send(fd, longline, sizeof(longline));
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_str_eq(line, "-22");
	expect_reply(fd, "VERSION\r\n", "0.24.v0.24  ");
	expect_reply(fd, "TIMEOUT 2500\r\n", "0");
	expect_reply(fd, "READ sim sampling_frequency\r\n", "8");
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_eq(memcmp(line, "1000000", 8), 0, "value '%s'", line);
	/* others are not disturbed: a libiio client reads verified samples */
	readdev_verified(&dm, all, (const uint32_t[]){ 0, 1, 2, 3 }, 4, 50000);
	expect_reply(fd, "GETTRIG sim\r\n", "-2"); /* the sim takes no trigger */
	/* counted: FROB, READ, the short mask and the long line */
	daemon_stats(&dm, &st);
	cr_assert_eq(st.iiod_command_errors, 4, "%llu",
		     (unsigned long long)st.iiod_command_errors);
	cr_assert_eq(st.iiod_clients, 1);
	iiod_port_send(fd, "\r\nEXIT\r\n", 8);
	cr_assert(raw_wait_closed(fd, HANG_MS), "EXIT did not close the connection");
	close(fd);
	cr_assert(wait_blocks_back(&dm, HANG_MS, &st), "blocks still held");
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

Test(iiod, a_client_that_vanishes_mid_readbuf_returns_its_blocks)
{
	char line[64], buf[8192];
	struct iios_stats st;
	struct daemon dm;

	daemon_start(&dm, with_iiod);
	for (int round = 0; round < 3; round++) {
		int fd = iiod_port_connect(&dm, 0);

		expect_reply(fd, "OPEN sim 262144 0000000f\r\n", "0");
		if (round == 0) {
			/* listed in Stats as a libiio client with its buffer open */
			bool listed = false;

			daemon_stats(&dm, &st);
			for (uint32_t i = 0; i < st.n_listed; i++)
				listed |= strcmp(st.client[i].transport, "iiod") == 0 &&
					  st.client[i].subscribed;
			cr_assert(listed, "no iiod client in Stats");
			cr_assert_eq(st.subscribers, 1);
		}
		iiod_port_send(fd, "READBUF sim 2097152\r\n", 21);
		iiod_port_read_line(fd, line, sizeof(line));
		cr_assert_gt(atoi(line), 0, "chunk '%s'", line);
		cr_assert_gt(recv(fd, buf, sizeof(buf), 0), 0);
		close(fd); /* mid-reply, without CLOSE: as iio_readdev does */
	}
	cr_assert(wait_blocks_back(&dm, HANG_MS, &st), "blocks still held");
	cr_assert_eq(st.subscribers, 0);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

Test(iiod, the_shutdown_line_counts_the_skips_of_a_client_that_does_not_read)
{
	char want[64];
	struct iios_stats st;
	struct daemon dm;
	int fd;

	daemon_start(&dm, with_iiod);
	fd = iiod_port_connect(&dm, 0);
	expect_reply(fd, "OPEN sim 16384 0000000f\r\n", "0");
	/* no READBUF: its queue fills and the blocks after it are skipped */
	WAIT_UNTIL((daemon_stats(&dm, &st), st.blocks_skipped_total >= 3), "skips");
	close(fd);
	/* the buffer closed, nothing is captured: the count stays put */
	WAIT_UNTIL((daemon_stats(&dm, &st), st.subscribers == 0 && !st.source.blocks_held),
		   "the buffer to close");
	snprintf(want, sizeof(want), "): %llu blocks skipped",
		 (unsigned long long)st.blocks_skipped_total);
	cr_assert(daemon_log_contains(&dm, want), "no '%s' in the log", want);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
	snprintf(want, sizeof(want), ", %llu client skips,",
		 (unsigned long long)st.blocks_skipped_total);
	if (!daemon_log_contains(&dm, want))
		daemon_dump_log(&dm);
	cr_assert(daemon_log_contains(&dm, want), "the shutdown line lacks '%s'", want);
}

Test(iiod, a_write_with_a_nul_inside_its_value_is_refused)
{
	static const char with_nul[] = "WRITE sim sampling_frequency 12\r\n250000\0junk";
	static const char libiio_s[] = "WRITE sim sampling_frequency 7\r\n250000";
	char line[64];
	struct daemon dm;
	int fd;

	daemon_start(&dm, with_iiod);
	fd = iiod_port_connect(&dm, 0);
	/* sizeof counts the array's own NUL: the value's last byte, as libiio sends */
	expect_reply_n(fd, with_nul, sizeof(with_nul), "-22");
	expect_reply(fd, "READ sim sampling_frequency\r\n", "8");
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_eq(memcmp(line, "1000000", 8), 0, "the refused value was taken: '%s'", line);
	/* libiio's own form, the value and its NUL, is taken */
	expect_reply_n(fd, libiio_s, sizeof(libiio_s), "7");
	expect_reply(fd, "READ sim sampling_frequency\r\n", "7");
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_eq(memcmp(line, "250000", 7), 0, "value '%s'", line);
	close(fd);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* ---- the iiostream ports' rules, on the iiod port ---------------------- */

static struct test_certs rule_certs;
static char rule_dir[64];

static void rule_make_certs(void)
{
	test_dir_make(rule_dir, "iiod");
	cr_assert_eq(test_certs_make(rule_dir, &rule_certs), 0, "could not make the certificates");
}

static void rule_remove_dir(void)
{
	test_dir_remove(rule_dir);
}

static void rule_make_dir(void)
{
	test_dir_make(rule_dir, "iiod");
}

/* Wait until at least `n` lines of the log hold `text`. */
static void rule_log_wait(const struct daemon *d, const char *text, int n)
{
	for (double t0 = mono_s(); daemon_log_count(d, text) < n;) {
		if (mono_s() - t0 > HANG_S) {
			daemon_dump_log(d);
			cr_assert_fail("waited %d s for %d lines '%s' in the log", HANG_S, n, text);
		}
		harness_sleep_ms(10);
	}
}

/* Poll Stats until `ok` holds for it. */
static void rule_stats_wait(const struct daemon *d, struct iios_stats *st,
			    bool (*ok)(const struct iios_stats *), const char *what)
{
	for (double t0 = mono_s();;) {
		daemon_stats(d, st);
		if (ok(st))
			return;
		if (mono_s() - t0 > HANG_S) {
			daemon_dump_log(d);
			cr_assert_fail("waited %d s for %s", HANG_S, what);
		}
		harness_sleep_ms(20);
	}
}

/* Debian's iio_readdev for `scans` scans of sim, default buffer (as in the
 * report), libiio's timeout a hang's: its exit status; the bytes of samples
 * it wrote in *len, what it printed in msg. */
static int rule_readdev(const struct daemon *d, uint32_t scans, size_t *len, char *msg,
			size_t msglen)
{
	char out[160], count[16], *text;
	int r;

	snprintf(count, sizeof(count), "%u", scans);
	snprintf(out, sizeof(out), "%s/readdev.bin", d->dir);
	r = run_command((const char *const[]){ "iio_readdev", "-T", HARNESS_STR(HANG_MS), "-u",
					       d->iiod_uri, "-s", count, "sim", NULL },
			out, msg, msglen, HANG_MS);
	text = file_slurp(out, len);
	free(text);
	return r;
}

/*
 * The report: with --client-ca and --allow-subscribe cn:good-client a native
 * client without a certificate is refused, and iio_readdev on the iiod port
 * must be too: a libiio client has no identity, so only a list that names
 * "plain" (or no list) lets it stream. Each case is warned about at start-up.
 */
Test(iiod, allow_subscribe_decides_for_libiio_clients_too, .init = rule_make_certs,
     .fini = rule_remove_dir)
{
	const char *args[] = { "--channels", "4", "--rate", "1000000", "--block-size", "64K",
			       "--iiod-listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0",
			       "--tls-cert", rule_certs.server_cert, "--tls-key",
			       rule_certs.server_key, "--client-ca", rule_certs.ca,
			       "--allow-subscribe", "cn:good-client", NULL };
	static const char *const all[] = { "voltage0", "voltage1", "voltage2", "voltage3" };
	struct iios_options good = { .ca_file = rule_certs.ca, .cert_file = rule_certs.client_cert,
				     .key_file = rule_certs.client_key, .client_name = "test_iiod" };
	struct iios_stream_info info;
	struct iios_client *c = NULL;
	struct iios_stats st;
	struct daemon dm;
	char msg[2048];
	size_t len = 1;
	int r, refused, fd;

	daemon_start(&dm, args);
	/* the native ports: no certificate, refused; good-client, served */
	c = client_connect(&dm);
	cr_assert_eq(iios_subscribe(c, 0, &info), -EACCES, "%s", iios_errmsg(c));
	cr_assert(strstr(iios_errmsg(c), "no certificate"), "%s", iios_errmsg(c));
	iios_close(c);
	cr_assert_eq(iios_connect(dm.tls_url, &good, &c, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	iios_close(c);
	/* the iiod port: iio_readdev gets an error and no sample */
	r = rule_readdev(&dm, 100000, &len, msg, sizeof(msg));
	cr_assert_neq(r, 0, "iio_readdev read past --allow-subscribe");
	cr_assert_eq(len, 0, "iio_readdev wrote %zu bytes of samples", len);
	cr_assert(strstr(msg, "Permission denied"), "iio_readdev said: %s", msg);
	/* logged and counted, like the native refusal */
	refused = daemon_log_count(&dm, "subscribe (OPEN) refused by --allow-subscribe");
	cr_assert_geq(refused, 1, "the refusal is not logged");
	daemon_stats(&dm, &st);
	cr_assert_eq(st.requests_refused, 1 + (uint64_t)refused, "requests_refused %llu",
		     (unsigned long long)st.requests_refused);
	/* on a raw socket: -EACCES, and the connection goes on */
	fd = iiod_port_connect(&dm, 0);
	expect_reply(fd, "OPEN sim 1024 0000000f\r\n", "-13");
	expect_reply(fd, "READBUF sim 4096\r\n", "-9");
	expect_reply(fd, "VERSION\r\n", "0.24.v0.24  ");
	close(fd);
	daemon_stats(&dm, &st);
	cr_assert_eq(st.requests_refused, 2 + (uint64_t)refused);
	cr_assert(daemon_log_contains(&dm, "--allow-subscribe with --iiod-listen"),
		  "no start-up warning");
	cr_assert(wait_blocks_back(&dm, HANG_MS, &st), "blocks still held");
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);

	/* a list that names plain lets them stream, and says so */
	args[17] = "plain,cn:good-client";
	daemon_start(&dm, args);
	cr_assert(daemon_log_contains(&dm, "--allow-subscribe names 'plain'"), "no warning");
	readdev_verified(&dm, all, (const uint32_t[]){ 0, 1, 2, 3 }, 4, 100000);
	cr_assert_eq(daemon_log_contains(&dm, "refused by --allow-subscribe"), false);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);

	/* no list: --client-ca does not reach the iiod port, and that is said */
	args[16] = NULL;
	daemon_start(&dm, args);
	cr_assert(daemon_log_contains(&dm, "--client-ca authenticates TLS clients only"),
		  "no warning");
	readdev_verified(&dm, all, (const uint32_t[]){ 0, 1, 2, 3 }, 4, 100000);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* A list set or changed by SIGHUP applies to the next OPEN, and is warned
 * about as at start-up. */
Test(iiod, a_reload_of_allow_subscribe_applies_to_libiio_clients, .init = rule_make_dir,
     .fini = rule_remove_dir)
{
	char conf[128];
	const char *args[] = { "--config", conf, "--iiod-listen", "127.0.0.1:0", NULL };
	struct iios_stats st;
	struct daemon dm;
	int fd;

	snprintf(conf, sizeof(conf), "%s/iiostreamd.conf", rule_dir);
	test_file_replace(conf, "channels = 4\n");
	daemon_start(&dm, args);
	fd = iiod_port_connect(&dm, 0);
	expect_reply(fd, "OPEN sim 1024 0000000f\r\n", "0");
	expect_reply(fd, "CLOSE sim\r\n", "0");

	test_file_replace(conf, "channels = 4\nallow-subscribe = cn:good-client\n");
	cr_assert_eq(kill(dm.pid, SIGHUP), 0);
	rule_log_wait(&dm, "configuration reloaded", 1);
	cr_assert(daemon_log_contains(&dm, "--allow-subscribe with --iiod-listen"),
		  "no warning at the reload");
	expect_reply(fd, "OPEN sim 1024 0000000f\r\n", "-13");
	cr_assert(daemon_log_contains(&dm, "subscribe (OPEN) refused by --allow-subscribe"));

	test_file_replace(conf, "channels = 4\nallow-subscribe = plain\n");
	cr_assert_eq(kill(dm.pid, SIGHUP), 0);
	rule_log_wait(&dm, "configuration reloaded", 2);
	cr_assert(daemon_log_contains(&dm, "--allow-subscribe names 'plain'"));
	expect_reply(fd, "OPEN sim 1024 0000000f\r\n", "0");
	expect_reply(fd, "CLOSE sim\r\n", "0");
	close(fd);
	daemon_stats(&dm, &st);
	cr_assert_eq(st.requests_refused, 1);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* A connection with a small receive window. */
static int rule_connect_small(const struct daemon *d)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(d->iiod_port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
	return fd;
}

/* The largest send buffer the kernel may grow a socket to (tcp_wmem). */
static long rule_wmem_max(void)
{
	long lo = 0, def = 0, max = 0;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");

	if (f) {
		if (fscanf(f, "%ld %ld %ld", &lo, &def, &max) != 3)
			max = 0;
		fclose(f);
	}
	return max > 0 ? max : 4l << 20;
}

/* --max-send-queue: a client that sends PRINT after PRINT and reads none of
 * the replies is dropped, as on the iiostream ports, not left to fill the
 * daemon's memory; others are not disturbed. */
Test(iiod, a_client_that_reads_no_replies_is_dropped_at_max_send_queue)
{
	static const char *const args[] = { "--iiod-listen", "127.0.0.1:0", "--max-send-queue",
					    "64K", NULL };
	static const char prints[] = "PRINT\r\nPRINT\r\nPRINT\r\nPRINT\r\nPRINT\r\nPRINT\r\n"
				     "PRINT\r\nPRINT\r\n";
	struct iios_stats st;
	struct daemon dm;
	char line[64];
	long xml, enough, sent = 0;
	int fd, other;

	daemon_start(&dm, args);
	other = iiod_port_connect(&dm, 0);
	iiod_port_send(other, "PRINT\r\n", 7);
	iiod_port_read_line(other, line, sizeof(line));
	xml = atol(line);
	cr_assert_gt(xml, 0, "PRINT: '%s'", line);
	{
		char *body = malloc((size_t)xml + 1);

		cr_assert_not_null(body);
		cr_assert_eq(recv(other, body, (size_t)xml + 1, MSG_WAITALL), xml + 1);
		free(body);
	}
	/* More replies than the sockets' buffers and the limit can hold,
	 * twice over: without the limit they pile up in the daemon. */
	enough = 2 * (2 * rule_wmem_max() + 64 * 1024) / xml + 64;
	fd = rule_connect_small(&dm);
	while (sent < enough) {
		ssize_t n = send(fd, prints, sizeof(prints) - 1, MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break; /* closed by the daemon */
		sent += n > 0 ? 8 : 0;
		if (sent % 512 == 0 && daemon_log_contains(&dm, "does not read the replies"))
			break;
	}
	rule_log_wait(&dm, "does not read the replies", 1);
	cr_assert(raw_wait_closed(fd, HANG_MS), "still connected");
	close(fd);
	daemon_stats(&dm, &st);
	cr_assert_geq(st.protocol_errors, 1);
	expect_reply(other, "VERSION\r\n", "0.24.v0.24  ");
	close(other);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

static bool rule_stalled_closed(const struct iios_stats *st)
{
	return st->idle_closed >= 1;
}

/* --idle-timeout: a buffer client whose socket takes nothing is closed and
 * the blocks its writes held go back; a libiio context connection that just
 * says nothing while another streams is not idle in that sense. */
Test(iiod, a_reader_that_stalls_is_closed_at_idle_timeout)
{
	static const char *const args[] = { "--channels", "4", "--rate", "1000000",
					    "--block-size", "64K", "--iiod-listen", "127.0.0.1:0",
					    "--idle-timeout", "1", NULL };
	struct iios_stats st;
	struct daemon dm;
	int fd, quiet;

	daemon_start(&dm, args);
	quiet = iiod_port_connect(&dm, 0);
	expect_reply(quiet, "VERSION\r\n", "0.24.v0.24  ");
	fd = rule_connect_small(&dm);
	expect_reply(fd, "OPEN sim 262144 0000000f\r\n", "0");
	iiod_port_send(fd, "READBUF sim 2000000000\r\n", 24); /* and read none of it */
	rule_stats_wait(&dm, &st, rule_stalled_closed, "the stalled reader to be closed");
	cr_assert(raw_wait_closed(fd, HANG_MS), "still connected");
	close(fd);
	cr_assert(daemon_log_contains(&dm, "took no byte for 1 s (--idle-timeout)"));
	cr_assert(wait_blocks_back(&dm, HANG_MS, &st), "blocks still held");
	cr_assert_eq(st.subscribers, 0);
	/* silent all along, and served */
	expect_reply(quiet, "VERSION\r\n", "0.24.v0.24  ");
	close(quiet);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* --handshake-timeout: a connection that never sends a line is closed (it
 * would hold a --max-clients place forever); one that has spoken is not. */
Test(iiod, a_connection_that_sends_no_command_is_closed_at_handshake_timeout)
{
	static const char *const args[] = { "--iiod-listen", "127.0.0.1:0", "--handshake-timeout",
					    "1000", NULL };
	struct iios_stats st;
	struct daemon dm;
	int silent, talker;

	daemon_start(&dm, args);
	talker = iiod_port_connect(&dm, 0);
	expect_reply(talker, "VERSION\r\n", "0.24.v0.24  ");
	silent = iiod_port_connect(&dm, 0);
	cr_assert(raw_wait_closed(silent, HANG_MS), "the silent connection stays");
	close(silent);
	cr_assert(daemon_log_contains(&dm, "no command within 1000 ms (--handshake-timeout)"));
	daemon_stats(&dm, &st);
	cr_assert_geq(st.protocol_errors, 1);
	/* connected longer than the silent one, and still served */
	expect_reply(talker, "VERSION\r\n", "0.24.v0.24  ");
	close(talker);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* The stalled reader's queue is full (it skips), or it holds more. */
static bool rule_stalled_in(const struct iios_stats *st)
{
	return st->blocks_skipped_total >= 3 || st->source.blocks_held > 4;
}

/* The queue bound: a libiio client that stops reading holds no more blocks
 * than its queue (--client-queue, 4) allows, counting those its writes
 * still hold, as a native client's blocks in flight count; the ring keeps
 * blocks for the source and for an iiostream client streaming meanwhile. */
Test(iiod, a_stalled_reader_holds_no_more_blocks_than_its_queue)
{
	static const char *const args[] = { "--channels", "4", "--rate", "1000000",
					    "--block-size", "64K", "--blocks", "8",
					    "--client-queue", "4", "--iiod-listen", "127.0.0.1:0",
					    NULL };
	struct rx_job job = { .want_blocks = 200 };
	struct iios_stats st;
	struct daemon dm;
	int fd;

	daemon_start(&dm, args);
	fd = rule_connect_small(&dm);
	expect_reply(fd, "OPEN sim 262144 0000000f\r\n", "0");
	iiod_port_send(fd, "READBUF sim 2000000000\r\n", 24); /* and read none of it */
	/* its queue fills, and stays full */
	rule_stats_wait(&dm, &st, rule_stalled_in, "the stalled reader's queue to fill");
	cr_assert_leq(st.source.blocks_held, 4, "one stalled libiio client holds %u of 8 blocks",
		      st.source.blocks_held);
	/* the rest of the ring serves the others (how many blocks they lose to
	 * a loaded machine is not this test's business) */
	job.d = &dm;
	rx_job_run(&job);
	cr_assert_eq(job.err, 0, "%s", job.errmsg);
	cr_assert_eq(job.v.integrity_errors, 0, "%s", job.v.first_error);
	cr_assert_geq(job.v.blocks, 200);
	/* and the stalled one still holds no more than its queue */
	daemon_stats(&dm, &st);
	for (uint32_t i = 0; i < st.n_listed; i++)
		if (strcmp(st.client[i].transport, "iiod") == 0)
			cr_assert_leq(st.client[i].queue_blocks, 4, "it holds %u blocks",
				      st.client[i].queue_blocks);
	close(fd);
	cr_assert(wait_blocks_back(&dm, HANG_MS, &st), "blocks still held");
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* Like plain TCP, the iiod port beyond loopback is warned about. */
Test(iiod, an_iiod_port_beyond_loopback_is_warned_about)
{
	/* --advertise off: a test announces nothing on the host's LAN */
	static const char *const open_args[] = { "--iiod-listen", "0.0.0.0:0", "--advertise",
						 "off", NULL };
	struct daemon dm;

	daemon_start(&dm, open_args);
	cr_assert(daemon_log_contains(&dm, "the iiod port 0.0.0.0:"), "no warning");
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
	daemon_start(&dm, with_iiod);
	cr_assert(!daemon_log_contains(&dm, "the iiod port 127.0.0.1:"), "warned about loopback");
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}
