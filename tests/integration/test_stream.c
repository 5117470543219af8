// SPDX-License-Identifier: MIT
/*
 * Streaming over loopback: the real daemon on the sim source, clients of the
 * real library, every sample and the continuity of every stream verified.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* 2 channels at 2 M scans/s: 8 MB/s, a 64 KiB block every 8 ms; the ring
 * of 16 lasts 131 ms. */
static const char *const moderate[] = { "--rate", "2000000", "--channels", "2",
					"--block-size", "64K", "--blocks", "16", NULL };
#define MODERATE_RING_S (16 * 65536 / (2000000.0 * 4))

/* Every block, verified, none skipped; no scan lost to an overflow unless
 * the machine held the daemon back longer than its ring lasts (waited for
 * a CPU since `wait0`), and then each one reported. */
static void check_clean(const struct rx_job *job, const struct daemon *d, double wait0)
{
	if (job->err || job->v.integrity_errors || job->counters.lost_blocks)
		daemon_dump_log(d);
	cr_assert_eq(job->err, 0, "client failed: %s", job->errmsg);
	cr_assert_eq(job->v.blocks, job->want_blocks);
	cr_assert_eq(job->v.integrity_errors, 0, "integrity: %s", job->v.first_error);
	cr_assert_eq(job->counters.lost_blocks, 0, "lost %lu blocks at a moderate rate",
		     (unsigned long)job->counters.lost_blocks);
	cr_assert_eq(job->counters.lost_samples, job->v.lost_samples);
	if (job->counters.lost_samples)
		cr_assert_gt(job->counters.overflow_blocks, 0, "scans lost without an overflow");
	assert_overflow_excused(d, wait0, MODERATE_RING_S, job->counters.lost_samples,
				"a client at a moderate rate");
	cr_assert_eq(job->v.bytes, (uint64_t)job->want_blocks * 65536);
}

Test(stream, one_client_receives_every_block_verified)
{
	struct daemon d;
	struct rx_job job = { .want_blocks = 100 };
	struct iios_stats st;
	double wait0;

	daemon_start(&d, moderate);
	wait0 = daemon_cpu_wait_s(&d);
	job.d = &d;
	rx_job_run(&job);
	check_clean(&job, &d, wait0);
	cr_assert_eq(job.info.block_size, 65536);
	cr_assert_eq(job.info.scan_bytes, 4);
	cr_assert_eq(job.info.sample_rate, 2000000);
	cr_assert_eq(job.info.n_channels, 2);
	cr_assert_str_eq(job.info.channels[1].id, "voltage1");
	cr_assert(job.info.channels[0].is_signed);
	cr_assert_eq(job.info.channels[0].bits, 16);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st), "%u blocks still held after the client left",
		  st.source.blocks_held);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(stream, four_clients_each_receive_every_block_verified)
{
	struct daemon d;
	struct rx_job jobs[4];
	pthread_t th[4];
	struct iios_stats st;
	double wait0;
	int i;

	daemon_start(&d, moderate);
	wait0 = daemon_cpu_wait_s(&d);
	for (i = 0; i < 4; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].d = &d;
		jobs[i].want_blocks = 100;
		cr_assert_eq(pthread_create(&th[i], NULL, rx_job_run, &jobs[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 4; i++)
		check_clean(&jobs[i], &d, wait0);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	/* four clients hold no more than their queues: an overflow is only
	 * the loaded machine's (none was skipped, checked above) */
	if (st.source.overflows)
		assert_overflow_excused(&d, wait0, MODERATE_RING_S, st.source.lost_samples,
					"the source with 4 clients");
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(stream, timestamps_follow_the_sample_rate)
{
	struct daemon d;
	struct iios_client *c;
	struct iios_stream_info info;
	struct iios_block blk;
	uint64_t first_ts = 0, first_sample = 0;
	int i;

	daemon_start(&d, moderate);
	c = client_connect(&d);
	cr_assert_eq(iios_subscribe(c, 0, &info), 0);
	for (i = 0; i < 20; i++) {
		cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
		cr_assert(blk.flags & IIOS_BLOCK_TIMESTAMP_VALID);
		if (i == 0) {
			first_ts = blk.timestamp_ns;
			first_sample = blk.first_sample;
			continue;
		}
		/* The sim stamps each block with the ideal time of its first
		 * scan: exactly scans / rate after the first block's. */
		int64_t want = (int64_t)((blk.first_sample - first_sample) * 1000000000ull /
					 info.sample_rate);
		int64_t got = (int64_t)(blk.timestamp_ns - first_ts);

		cr_assert(got - want <= 1 && want - got <= 1, "block %d: %ld ns, want %ld", i,
			  (long)got, (long)want);
	}
	iios_close(c);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(stream, unsubscribe_returns_every_block_and_stops_capture)
{
	struct daemon d;
	struct iios_client *c;
	struct iios_stream_info info;
	struct iios_block blk;
	struct iios_stats st;
	int i;

	daemon_start(&d, moderate);
	c = client_connect(&d);
	cr_assert_eq(iios_subscribe(c, 0, &info), 0);
	for (i = 0; i < 10; i++)
		cr_assert_eq(iios_next_block(c, &blk), 0);
	cr_assert_eq(iios_unsubscribe(c), 0, "%s", iios_errmsg(c));
	/* The same connection stays usable for requests. */
	cr_assert_eq(iios_stats(c, &st), 0, "%s", iios_errmsg(c));
	cr_assert_eq(st.subscribers, 0);
	cr_assert_not(st.source.enabled, "capture still running with no subscriber");
	cr_assert_eq(iios_next_block(c, &blk), -EINVAL);
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "resubscribe: %s", iios_errmsg(c));
	cr_assert_eq(iios_subscribe(c, 0, &info), -EALREADY);
	cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
	iios_close(c);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(stream, ping_answers_with_the_server_clock)
{
	struct daemon d;
	struct iios_client *c;
	uint64_t rtt = 0;

	daemon_start(&d, moderate);
	c = client_connect(&d);
	cr_assert_eq(iios_ping(c, &rtt), 0, "%s", iios_errmsg(c));
	/* a plausible round trip: not zero, not a clock mixed up (a loaded
	 * machine's round trip can be long, so the bound is a hang's) */
	cr_assert(rtt > 0 && rtt < HANG_MS * 1000000ull, "rtt %lu ns", (unsigned long)rtt);
	cr_assert_str_eq(iios_server_info(c)->source, "sim");
	cr_assert_eq(iios_server_info(c)->version, IIOS_PROTOCOL_VERSION);
	iios_close(c);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}
