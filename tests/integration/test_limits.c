// SPDX-License-Identifier: MIT
/*
 * The daemon's limits, each set low and enforced on the real daemon:
 * --max-clients (all ports), --idle-timeout (idle and stalled clients),
 * --handshake-timeout, --max-frame, --max-send-queue. Each refusal reaches
 * the client as an error it can read, is logged, and leaves well-behaved
 * clients streaming.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* The Error a raw connection gets next (skipping other frames); NULL if it
 * is closed first. */
static Iiostream__Envelope *next_error(int fd)
{
	for (;;) {
		Iiostream__Envelope *e = raw_read_frame(fd);

		if (!e || e->msg_case == IIOSTREAM__ENVELOPE__MSG_ERROR)
			return e;
		iios_frame_free(e);
	}
}

Test(limits, max_clients_counts_every_port_and_says_so)
{
	static const char *const args[] = { "--max-clients", "3", "--iiod-listen", "127.0.0.1:0",
					    NULL };
	struct iios_client *c[3], *extra = NULL;
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct iios_stats st;
	struct daemon dm;
	char err[256], reply[8] = "";
	int fd, i;

	daemon_start(&dm, args);
	for (i = 0; i < 3; i++)
		c[i] = client_connect(&dm);
	cr_assert_eq(iios_connect(dm.url, NULL, &extra, err, sizeof(err)), -EBUSY, "%s", err);
	cr_assert(strstr(err, "too many clients (3"), "%s", err);
	/* the iiod port counts too: libiio's first reply is -EBUSY */
	a.sin_port = htons(dm.iiod_port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_gt(recv(fd, reply, sizeof(reply) - 1, MSG_WAITALL), 0);
	cr_assert_str_eq(reply, "-16\n");
	close(fd);
	/* one leaves: once the daemon has seen it go (not before: every try
	 * refused meanwhile would count), a newcomer gets in at once */
	iios_close(c[0]);
	WAIT_UNTIL(iios_stats(c[1], &st) == 0 && st.clients == 2,
		   "the daemon to see a client leave (%u clients)", st.clients);
	cr_assert_eq(iios_connect(dm.url, NULL, &extra, err, sizeof(err)), 0,
		     "no room after a client left: %s", err);
	cr_assert_eq(iios_stats(extra, &st), 0);
	cr_assert_eq(st.clients_refused, 2);
	cr_assert(daemon_log_contains(&dm, "--max-clients"));
	iios_close(extra);
	iios_close(c[1]);
	iios_close(c[2]);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/*
 * How soon a stalled client is closed depends on how fast the kernel's
 * socket buffers fill, and how soon anything happens at all on how loaded
 * the machine is: the test checks what happens and in which order, not
 * when. Each client is closed no sooner than its 2 s of idleness (the
 * clock starts before it connects, so that is sound on any machine), with
 * the right error, and the streaming client outlives both and streams on.
 */
Test(limits, idle_and_stalled_clients_are_closed_and_streaming_ones_are_not)
{
	static const char *const args[] = { "--idle-timeout", "2", "--rate", "2000000",
					    "--block-size", "64K", NULL };
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *e;
	Iiostream__Subscribe sub = IIOSTREAM__SUBSCRIBE__INIT;
	struct rx_job job = { .want_blocks = 0 }; /* until stopped */
	struct iios_stats st;
	struct daemon dm;
	int idle, stalled;
	uint64_t streamed;
	double t0;
	pthread_t t;

	daemon_start(&dm, args);
	job.d = &dm;
	cr_assert_eq(pthread_create(&t, NULL, rx_job_run, &job), 0);
	rx_job_wait_blocks(&job, 1); /* streaming before the others come */
	t0 = mono_s(); /* before either connects: their idleness starts later */
	idle = raw_connect(&dm);
	raw_handshake(idle);
	stalled = raw_connect_rcvbuf(&dm, 4096);
	raw_handshake(stalled);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE;
	env.subscribe = &sub;
	raw_send_env(stalled, &env);
	/* the idle one is told, then closed, and not before its 2 s */
	e = next_error(idle);
	cr_assert_not_null(e, "the idle client was closed without an Error");
	cr_assert_eq(e->error->errnum, ETIMEDOUT);
	cr_assert(strstr(e->error->message, "idle for 2 s"), "%s", e->error->message);
	iios_frame_free(e);
	cr_assert_geq(mono_s() - t0, 2.0, "closed %.2f s after connecting, before its 2 s idle",
		      mono_s() - t0);
	cr_assert(raw_wait_closed(idle, HANG_MS), "the idle client was told, but not closed");
	/* the stalled one (it never reads) is closed too, once its socket has
	 * taken nothing for 2 s: the Error it is sent waits behind what it
	 * does not read, then the drain deadline closes it */
	cr_assert(raw_wait_closed(stalled, HANG_MS),
		  "the stalled client is still connected after " HARNESS_STR(HANG_S) " s");
	cr_assert_geq(mono_s() - t0, 2.0, "the stalled client closed before its 2 s");
	close(idle);
	close(stalled);
	/* the good client streamed all along, and streams on after both */
	streamed = atomic_load(&job.blocks);
	rx_job_wait_blocks(&job, streamed + 50);
	atomic_store(&job.stop, true);
	pthread_join(t, NULL);
	cr_assert_eq(job.err, 0, "%s", job.errmsg);
	cr_assert_eq(job.v.integrity_errors, 0, "%s", job.v.first_error);
	cr_assert_eq(job.v.lost_blocks, 0);
	cr_assert(wait_blocks_back(&dm, HANG_MS, &st));
	cr_assert_eq(st.idle_closed, 2);
	cr_assert(daemon_log_contains(&dm, "idle for 2 s (--idle-timeout)"));
	cr_assert(daemon_log_contains(&dm, "took no byte for 2 s (--idle-timeout)"));
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

Test(limits, handshake_timeout_and_max_frame)
{
	static const char *const args[] = { "--handshake-timeout", "300", "--max-frame", "1024",
					    NULL };
	uint8_t big[4 + 2000] = { 0, 0, 0x07, 0xd0 }; /* a 2000-byte frame head */
	Iiostream__Envelope *e;
	struct daemon dm;
	double t0;
	int fd;

	daemon_start(&dm, args);
	t0 = mono_s(); /* before connecting: the deadline starts later */
	fd = raw_connect(&dm);
	e = next_error(fd);
	cr_assert_not_null(e, "no Error for a client that sent no Hello");
	cr_assert_eq(e->error->errnum, ETIMEDOUT);
	cr_assert(strstr(e->error->message, "no Hello within 300 ms (--handshake-timeout)"), "%s",
		  e->error->message);
	iios_frame_free(e);
	/* the deadline, not something sooner, closed it: not before 300 ms
	 * (how much later depends on the machine's load) */
	cr_assert_geq(mono_s() - t0, 0.3, "closed %.3f s after connecting", mono_s() - t0);
	cr_assert(raw_wait_closed(fd, HANG_MS), "no Hello, told so, still connected");
	close(fd);
	fd = raw_connect(&dm);
	raw_handshake(fd);
	memset(big + 4, 0x08, sizeof(big) - 4);
	cr_assert_eq(send(fd, big, sizeof(big), MSG_NOSIGNAL), (ssize_t)sizeof(big));
	e = next_error(fd);
	cr_assert_not_null(e);
	cr_assert_eq(e->error->errnum, EMSGSIZE);
	cr_assert(strstr(e->error->message, "length 2000 out of bounds (1..1024, --max-frame)"),
		  "%s", e->error->message);
	iios_frame_free(e);
	cr_assert(raw_wait_closed(fd, HANG_MS), "an oversized frame, told so, still connected");
	close(fd);
	cr_assert(daemon_log_contains(&dm, "no Hello within 300 ms (--handshake-timeout); closing"));
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* Has the daemon closed (FIN or reset) within timeout_ms? Without reading:
 * reading would drain the replies and let it catch up. */
static bool closed_without_reading(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

Test(limits, a_client_that_does_not_read_its_replies_is_dropped)
{
	static const char *const args[] = { "--max-send-queue", "64K", NULL };
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__DevicesRequest dr = IIOSTREAM__DEVICES_REQUEST__INIT;
	struct iios_client *other;
	struct iios_stats st;
	struct daemon dm;
	int fd;

	daemon_start(&dm, args);
	fd = raw_connect_rcvbuf(&dm, 4096);
	raw_handshake(fd);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_DEVICES_REQUEST;
	env.devices_request = &dr;
	/* requests, never reading a reply, until the daemon gives up on us
	 * (the kernel's socket buffers take some megabytes first) */
	for (double t0 = mono_s(); mono_s() - t0 < HANG_S;) {
		uint8_t buf[64];
		long n = iios_frame_encode(&env, buf, sizeof(buf), IIOS_FRAME_MAX_ENVELOPE);

		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			if (errno != EAGAIN)
				break; /* closed */
			usleep(1000);
		}
	}
	cr_assert(closed_without_reading(fd, HANG_MS), "still connected with its replies unread");
	close(fd);
	cr_assert(daemon_log_contains(&dm, "does not read the replies"));
	other = client_connect(&dm);
	cr_assert_eq(iios_stats(other, &st), 0, "%s", iios_errmsg(other));
	iios_close(other);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}
