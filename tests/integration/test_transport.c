// SPDX-License-Identifier: MIT
/*
 * Every transport under load: the sim source unpaced, so each block is
 * refilled the moment it comes back, two clients receiving and verifying
 * every byte while a third watches. A block given back while a send could
 * still read it (a zero-copy completion not yet in) would be refilled under
 * the send, and the verifier would see the new samples: the proof that
 * blocks return only when every transmission of them has completed.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* Arrays, not pointers: Criterion may run each case in a fresh process,
 * where pointers into the parent's memory mean nothing. */
struct transport_case {
	char flag[16];         /* --transport value */
	char reported[64];     /* what Stats must say for a loopback client */
};

ParameterizedTestParameters(transport, streams_verified_under_load)
{
	static struct transport_case cases[] = {
		{ "copy", "copy" },
		{ "zerocopy", "zerocopy" },
		/* sendfile is unsafe without a hardware NIC (transport.h): copy */
		{ "sendfile", "sendfile:copy" },
		{ "auto", "auto:copy" },
	};

	return cr_make_param_array(struct transport_case, cases, 4);
}

ParameterizedTest(struct transport_case *tc, transport, streams_verified_under_load)
{
	const char *args[] = { "--rate", "0", "--channels", "2", "--block-size", "256K",
			       "--blocks", "32", "--client-queue", "8", "--transport", tc->flag,
			       NULL };
	const struct iios_options patient = { .timeout_ms = HANG_MS };
	struct rx_job jobs[2];
	pthread_t th[2];
	struct iios_client *watcher;
	struct iios_stream_info info;
	struct iios_block blk;
	struct iios_verify v;
	struct iios_stats st;
	char err[256];
	uint32_t i, subscribed = 0, right = 0;
	struct daemon d;

	daemon_start(&d, args);
	for (i = 0; i < 2; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].d = &d;
		jobs[i].want_blocks = 600;	/* 150 MiB each */
		cr_assert_eq(pthread_create(&th[i], NULL, rx_job_run, &jobs[i]), 0);
	}
	/* A third client streams too and asks, while subscribed, how every
	 * subscribed client is being served. */
	cr_assert_eq(iios_connect(d.url, &patient, &watcher, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_subscribe(watcher, 0, &info), 0, "%s", iios_errmsg(watcher));
	iios_verify_init(&v);
	for (i = 0; i < 100; i++) {
		cr_assert_eq(iios_next_block(watcher, &blk), 0, "%s", iios_errmsg(watcher));
		iios_verify_block(&v, &info, &blk);
	}
	cr_assert_eq(iios_stats(watcher, &st), 0, "%s", iios_errmsg(watcher));
	for (i = 0; i < st.n_listed; i++) {
		if (!st.client[i].subscribed)
			continue;
		subscribed++;
		right += strcmp(st.client[i].transport, tc->reported) == 0;
		if (strcmp(st.client[i].transport, tc->reported))
			cr_log_error("client %u transport '%s'", st.client[i].id,
				     st.client[i].transport);
	}
	cr_assert_eq(v.integrity_errors, 0, "watcher: %s", v.first_error);
	iios_close(watcher);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].err || jobs[i].v.integrity_errors)
			daemon_dump_log(&d);
		cr_assert_eq(jobs[i].err, 0, "client %u: %s", i, jobs[i].errmsg);
		cr_assert_eq(jobs[i].v.blocks, 600);
		/* gaps are allowed (the source outruns loopback), but only where
		 * the headers report them, and never a wrong byte */
		cr_assert_eq(jobs[i].v.integrity_errors, 0, "client %u: %s", i,
			     jobs[i].v.first_error);
	}
	cr_assert(subscribed >= 1 && right == subscribed, "%u of %u clients on '%s'", right,
		  subscribed, tc->reported);
	cr_assert(wait_blocks_back(&d, HANG_MS, &st), "%u blocks never came back",
		  st.source.blocks_held);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}
