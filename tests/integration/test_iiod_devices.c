// SPDX-License-Identifier: MIT
/*
 * One daemon, several streamed devices, on the iiod-compatible port: the
 * real libiio 0.24 clients (iio_info, iio_readdev, python3-libiio) see every
 * device and stream different ones at the same time, each verified against
 * the sim's pattern; a libiio client that stalls on one device costs the
 * other device's clients nothing; and every block comes back.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"
#include "iiostream/frame.h"

/* "fast" first: a native client that names no device streams it. "adc1"
 * second, with more channels at a higher rate. */
static const char *const two_devices[] = {
	"--source", "sim:name=fast,channels=2,rate=100K",
	"--source", "sim:name=adc1,channels=4,rate=1M",
	"--block-size", "64K", "--blocks", "8", "--client-queue", "4",
	"--iiod-listen", "127.0.0.1:0", NULL
};

Test(iiod_devices, iio_info_lists_every_streamed_device)
{
	const char *argv[] = { "iio_info", "-T", HARNESS_STR(HANG_MS), "-u", NULL, NULL };
	char out[160], err[2048], *text;
	struct daemon dm;
	size_t len;

	daemon_start(&dm, two_devices);
	argv[4] = dm.iiod_uri;
	snprintf(out, sizeof(out), "%s/iio_info.txt", dm.dir);
	cr_assert_eq(run_command(argv, out, err, sizeof(err), HANG_MS), 0, "%s", err);
	text = file_slurp(out, &len);
	cr_assert(strstr(text, "sim: fast"), "%s", text);
	cr_assert(strstr(text, "sim1: adc1"), "%s", text);
	cr_assert(strstr(text, "4 channels found") || strstr(text, "5 channels found"), "%s",
		  text);
	free(text);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* A libiio client run in a thread: its command, where its samples go. */
struct tool_job {
	const char *argv[16];
	char out[160];
	char err[2048];
	int status;
};

static void *tool_job_run(void *arg)
{
	struct tool_job *j = arg;

	j->status = run_command(j->argv, j->out, j->err, sizeof(j->err), HANG_MS);
	return NULL;
}

/* python3-libiio (Debian's, for /usr/bin/python3): read `scans` scans of
 * every input channel of DEVICE into OUT, as a program of its own would. */
static const char read_py[] =
	"import iio, sys\n"
	"ctx = iio.Context(sys.argv[1])\n"
	"dev = ctx.find_device(sys.argv[2])\n"
	"chans = [c for c in dev.channels if c.scan_element and not c.output]\n"
	"for c in chans: c.enabled = True\n"
	"want = int(sys.argv[4]) * 2 * len(chans)\n"
	"buf = iio.Buffer(dev, 4096)\n"
	"got = 0\n"
	"with open(sys.argv[3], 'wb') as out:\n"
	"    while got < want:\n"
	"        buf.refill()\n"
	"        data = buf.read()[:want - got]\n"
	"        out.write(data)\n"
	"        got += len(data)\n";

/* Verify `path` as scans of channels 0..n-1 of the sim pattern. Gaps are a
 * loaded machine's (each client has only its queue of blocks); what is
 * there must be right, and there must be all of it. */
static void assert_verified(const char *path, uint32_t n, uint32_t scans, const char *who)
{
	static const uint32_t chans[] = { 0, 1, 2, 3 };
	struct iios_scan_check chk;
	size_t len;
	char *data = file_slurp(path, &len);
	int err;

	cr_assert_eq(len, (size_t)scans * n * 2, "%s: %zu bytes", who, len);
	err = iios_verify_scans(&chk, data, len, chans, n);
	cr_assert_eq(err, 0, "%s: %d: %s", who, err, chk.first_error);
	cr_assert_eq(chk.scans, scans, "%s", who);
	free(data);
}

Test(iiod_devices, iio_readdev_and_python_stream_two_devices_at_once)
{
	struct tool_job readdev = { .argv = { "iio_readdev", "-T", HARNESS_STR(HANG_MS), "-u",
					      NULL, "-b", "4096", "-s", "200000", "adc1",
					      NULL } };
	struct tool_job py = { .argv = { "/usr/bin/python3", "-c", read_py, NULL, "fast", NULL,
					 "50000", NULL } };
	struct iios_stats st;
	struct daemon dm;
	pthread_t t1, t2;

	daemon_start(&dm, two_devices);
	readdev.argv[4] = dm.iiod_uri;
	py.argv[3] = dm.iiod_uri;
	snprintf(readdev.out, sizeof(readdev.out), "%s/adc1.bin", dm.dir);
	snprintf(py.out, sizeof(py.out), "%s/fast.bin", dm.dir);
	py.argv[5] = py.out;
	cr_assert_eq(pthread_create(&t1, NULL, tool_job_run, &readdev), 0);
	cr_assert_eq(pthread_create(&t2, NULL, tool_job_run, &py), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	cr_assert_eq(readdev.status, 0, "iio_readdev: %s", readdev.err);
	cr_assert_eq(py.status, 0, "python3-libiio: %s", py.err);
	assert_verified(readdev.out, 4, 200000, "iio_readdev on adc1");
	assert_verified(py.out, 2, 50000, "python3-libiio on fast");
	cr_assert(daemon_log_contains(&dm, "open on sim1, 4 channels"), "libiio names adc1 by its id");
	cr_assert(daemon_log_contains(&dm, "open on sim, 2 channels"));
	cr_assert(wait_blocks_back(&dm, HANG_MS, &st), "blocks still held");
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* Send a command line, and expect `want` as its reply line. */
static void expect_reply(int fd, const char *cmd, const char *want)
{
	char line[64];

	iiod_port_send(fd, cmd, strlen(cmd));
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_str_eq(line, want, "'%s' got '%s'", cmd, line);
}

/* Stats over the protocol itself (every stream's line). */
static Iiostream__Envelope *raw_stats(const struct daemon *d)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__StatsRequest req = IIOSTREAM__STATS_REQUEST__INIT;
	int fd = raw_connect(d);

	raw_handshake(fd);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_STATS_REQUEST;
	env.stats_request = &req;
	raw_send_env(fd, &env);
	r = raw_read_frame(fd);
	close(fd);
	cr_assert(r && r->msg_case == IIOSTREAM__ENVELOPE__MSG_STATS);
	cr_assert_eq(r->stats->n_sources, 2);
	return r;
}

/* adc1's stalled reader has skipped blocks (its stream's line says so). */
static bool adc1_skipping(const struct daemon *d)
{
	Iiostream__Envelope *r = raw_stats(d);
	bool yes = r->stats->sources[1]->blocks_skipped >= 3;

	iios_frame_free(r);
	return yes;
}

Test(iiod_devices, a_stalled_libiio_client_of_one_device_costs_the_other_nothing)
{
	struct rx_job job = { .want_blocks = 20 };
	Iiostream__Envelope *r;
	struct iios_stats st;
	struct daemon dm;
	int fd;

	daemon_start(&dm, two_devices);
	fd = iiod_port_connect(&dm, 4096);
	expect_reply(fd, "OPEN adc1 262144 0000000f\r\n", "0");
	iiod_port_send(fd, "READBUF adc1 2000000000\r\n", 25); /* and read none of it */
	WAIT_UNTIL(adc1_skipping(&dm), "adc1's stalled reader to skip blocks");
	/* meanwhile the first device streams to a native client: 20 blocks
	 * of 100K scans/s are 3.3 s, against a 4-block queue of 650 ms */
	job.d = &dm;
	rx_job_run(&job);
	cr_assert_eq(job.err, 0, "%s", job.errmsg);
	cr_assert_eq(job.v.integrity_errors, 0, "%s", job.v.first_error);
	cr_assert_str_eq(job.info.device, "fast");
	cr_assert_eq(job.v.lost_blocks, 0, "the other device's stall cost this client %llu blocks",
		     (unsigned long long)job.v.lost_blocks);
	r = raw_stats(&dm);
	cr_assert_str_eq(r->stats->sources[0]->device, "fast");
	cr_assert_eq(r->stats->sources[0]->blocks_skipped, 0, "fast's stream skipped nothing");
	cr_assert_str_eq(r->stats->sources[1]->device, "adc1");
	cr_assert_geq(r->stats->sources[1]->blocks_skipped, 3);
	cr_assert_leq(r->stats->sources[1]->blocks_held, 4, "one stalled client holds %u of 8",
		      r->stats->sources[1]->blocks_held);
	iios_frame_free(r);
	close(fd);
	cr_assert(wait_blocks_back(&dm, HANG_MS, &st), "blocks still held");
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

Test(iiod_devices, a_device_not_streamed_or_unknown_is_refused)
{
	struct daemon dm;
	int fd;

	daemon_start(&dm, two_devices);
	fd = iiod_port_connect(&dm, 4096);
	expect_reply(fd, "OPEN nosuch 4096 00000003\r\n", "-19"); /* ENODEV */
	expect_reply(fd, "OPEN fast 4096 00000003\r\n", "0");
	close(fd);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* Two devices may share a name (a board's two identical ADCs): their ids
 * tell them apart, on both ports. */
Test(iiod_devices, two_devices_of_one_name_are_told_apart_by_id)
{
	static const char *const twins[] = { "--source", "sim:name=twin,channels=2",
					     "--source", "sim:name=twin,channels=4",
					     "--block-size", "64K", "--iiod-listen", "127.0.0.1:0",
					     NULL };
	const char *argv[] = { "iio_readdev", "-T", HARNESS_STR(HANG_MS), "-u", NULL, "-s",
			       "70000", "sim1", "voltage3", NULL };
	char out[160], err[2048];
	struct iios_stream_info info;
	struct iios_client *c;
	struct daemon dm;

	daemon_start(&dm, twins);
	c = client_connect(&dm);
	cr_assert_eq(iios_subscribe_device(c, "sim1", 0, NULL, 0, &info), 0, "%s", iios_errmsg(c));
	cr_assert_eq(info.n_channels, 4, "sim1 is the second twin, with 4 channels");
	iios_close(c);
	argv[4] = dm.iiod_uri;
	snprintf(out, sizeof(out), "%s/twin.bin", dm.dir);
	cr_assert_eq(run_command(argv, out, err, sizeof(err), HANG_MS), 0, "%s", err);
	{
		static const uint32_t three[] = { 3 };
		struct iios_scan_check chk;
		size_t len;
		char *data = file_slurp(out, &len);

		cr_assert_eq(len, 70000u * 2);
		cr_assert_eq(iios_verify_scans(&chk, data, len, three, 1), 0, "%s", chk.first_error);
		free(data);
	}
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}
