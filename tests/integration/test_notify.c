// SPDX-License-Identifier: MIT
/*
 * systemd's notification protocol as the daemon speaks it (server/core/notify.c),
 * with the test in systemd's place: a datagram socket named by NOTIFY_SOCKET
 * receives READY=1 once the daemon listens, STATUS= lines, RELOADING=1 and
 * READY=1 around a SIGHUP, STOPPING=1 on SIGTERM, and a WATCHDOG=1 ping
 * every half of WATCHDOG_USEC.
 *
 * What the daemon does is checked, and in which order; not how soon, which
 * on a loaded machine can be late. Where the daemon's timer matters, the
 * test drives its loop with round trips rather than trusting a sleep.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char *const args[] = { "--rate", "2000000", "--block-size", "64K", NULL };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const int one = 1;

/* Bind a datagram socket where NOTIFY_SOCKET will say: a path in /tmp,
 * or "@name" in the abstract namespace. */
static int listen_notify(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		unlink(name);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, len), 0, "bind %s: %s", name,
		     strerror(errno));
	/* each datagram stamped by the kernel when the daemon sends it */
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)), 0);
	cr_assert_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
	return fd;
}

/* When the last datagram next_msg() received was sent, in ns (the
 * kernel's stamp, CLOCK_REALTIME). */
static uint64_t sent_ns;

/* The next datagram, within timeout_ms; false if none came. */
static bool next_msg(int fd, char *buf, size_t len, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, len - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recvmsg(fd, &mh, 0);
	if (n < 0)
		return false;
	buf[n] = '\0';
	sent_ns = 0;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			sent_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		}
	}
	return true;
}

/* Wait for a message starting with `prefix`, counting the watchdog pings
 * that come before it. */
static bool wait_msg(int fd, const char *prefix, char *buf, size_t len, int timeout_ms,
		     int *pings)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (now_ms() < end) {
		if (!next_msg(fd, buf, len, (int)(end - now_ms()) + 1))
			return false;
		if (strcmp(buf, "WATCHDOG=1") == 0 && pings)
			(*pings)++;
		if (strncmp(buf, prefix, strlen(prefix)) == 0)
			return true;
	}
	return false;
}

Test(notify, ready_status_reloading_stopping_and_watchdog_pings)
{
	char path[64], msg[1024];
	struct iios_client *c;
	struct iios_stream_info info;
	struct daemon d;
	int fd, pings = 0;
	uint64_t first_ns = 0;

	snprintf(path, sizeof(path), "/tmp/iiostream-notify-%d", (int)getpid());
	fd = listen_notify(path);
	cr_assert_eq(setenv("WATCHDOG_USEC", "200000", 1), 0); /* a ping every 100 ms */
	daemon_start(&d, args);

	cr_assert(wait_msg(fd, "READY=1\n", msg, sizeof(msg), HANG_MS, NULL), "no READY=1");
	cr_assert(strstr(msg, "STATUS=source sim; TCP port "), "%s", msg);
	cr_assert(strstr(msg, "0 subscribers"), "%s", msg);

	/* pings: they keep coming (on a loaded machine the loop may be late,
	 * never silent), and never faster than every 100 ms: 10 of them, sent
	 * (the kernel's stamps, not when we got to read them) over at least 9
	 * periods, less one for how late the first one's loop turn may be */
	cr_assert(daemon_log_contains(&d, "systemd watchdog: a ping every 100 ms"));
	while (pings < 10) {
		int before = pings;

		cr_assert(wait_msg(fd, "WATCHDOG=1", msg, sizeof(msg), HANG_MS, &pings),
			  "%d watchdog pings, then none for " HARNESS_STR(HANG_S) " s", pings);
		if (before == 0)
			first_ns = sent_ns;
	}
	cr_assert(first_ns && sent_ns, "datagrams without a kernel timestamp");
	cr_assert_geq(sent_ns - first_ns, 800000000ull,
		      "10 watchdog pings in %.3f s at WATCHDOG_USEC=200000 (every 100 ms)",
		      (double)(sent_ns - first_ns) / 1e9);

	/* the first subscriber changes the status */
	c = client_connect(&d);
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	cr_assert(wait_msg(fd, "STATUS=", msg, sizeof(msg), HANG_MS, NULL), "no STATUS on subscribe");
	cr_assert(strstr(msg, "1 subscriber"), "%s", msg);

	cr_assert_eq(kill(d.pid, SIGHUP), 0);
	cr_assert(wait_msg(fd, "RELOADING=1\nMONOTONIC_USEC=", msg, sizeof(msg), HANG_MS, NULL),
		  "no RELOADING=1 on SIGHUP");
	cr_assert(wait_msg(fd, "READY=1\n", msg, sizeof(msg), HANG_MS, NULL),
		  "no READY=1 after the reload");
	cr_assert(strstr(msg, "1 subscriber"), "%s", msg);

	kill(d.pid, SIGTERM);
	cr_assert(wait_msg(fd, "STOPPING=1\n", msg, sizeof(msg), HANG_MS, NULL), "no STOPPING=1");
	cr_assert(strstr(msg, "STATUS=shutting down (SIGTERM)"), "%s", msg);
	iios_close(c);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	close(fd);
	unlink(path);
}

Test(notify, abstract_socket_and_a_watchdog_meant_for_another_process)
{
	char name[64], msg[1024];
	struct iios_client *c;
	struct daemon d;
	int fd, pings = 0;

	snprintf(name, sizeof(name), "@iiostream-notify-%d", (int)getpid());
	fd = listen_notify(name);
	/* WATCHDOG_PID names another process (our own): not for the daemon */
	cr_assert_eq(setenv("WATCHDOG_USEC", "200000", 1), 0);
	snprintf(msg, sizeof(msg), "%d", (int)getpid());
	cr_assert_eq(setenv("WATCHDOG_PID", msg, 1), 0);
	daemon_start(&d, args);
	cr_assert(wait_msg(fd, "READY=1\n", msg, sizeof(msg), HANG_MS, &pings), "no READY=1");
	/* Five periods of the timer a ping would be on, by the daemon's own
	 * loop: after a round trip that began 500 ms on, the next turn of the
	 * loop runs every timer due, before it handles the SIGTERM sent after
	 * it; so a ping, had one been armed, comes before STOPPING=1. */
	usleep(500000);
	c = client_connect(&d);
	cr_assert_eq(iios_ping(c, NULL), 0, "%s", iios_errmsg(c));
	cr_assert_eq(kill(d.pid, SIGTERM), 0);
	cr_assert(wait_msg(fd, "STOPPING=1\n", msg, sizeof(msg), HANG_MS, &pings),
		  "no STOPPING=1");
	cr_assert_eq(pings, 0, "pinged a watchdog meant for another process");
	iios_close(c);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	close(fd);
}

Test(notify, without_notify_socket_the_daemon_runs_as_before)
{
	struct daemon d;

	unsetenv("NOTIFY_SOCKET");
	cr_assert_eq(setenv("WATCHDOG_USEC", "200000", 1), 0);
	daemon_start(&d, args);
	cr_assert(!daemon_log_contains(&d, "watchdog"), "a watchdog without NOTIFY_SOCKET");
	cr_assert(!daemon_log_contains(&d, "NOTIFY_SOCKET"));
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(notify, a_socket_nobody_reads_is_logged_once_not_at_every_ping)
{
	char path[64], line[1024];
	struct iios_client *c;
	struct daemon d;
	int n = 0, i;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/iiostream-notify-gone-%d", (int)getpid());
	unlink(path);
	cr_assert_eq(setenv("NOTIFY_SOCKET", path, 1), 0);
	cr_assert_eq(setenv("WATCHDOG_USEC", "20000", 1), 0); /* a ping every 10 ms */
	daemon_start(&d, args);
	WAIT_UNTIL(daemon_log_contains(&d, "NOTIFY_SOCKET: cannot send"),
		   "the daemon to say it cannot send to NOTIFY_SOCKET");
	/* then more pings fail: each round trip 30 ms after the last (three
	 * periods of its loop's clock) is followed by a turn of the loop that
	 * runs the due watchdog timer, however late the machine runs it */
	c = client_connect(&d);
	for (i = 0; i < 10; i++) {
		usleep(30000);
		cr_assert_eq(iios_ping(c, NULL), 0, "%s", iios_errmsg(c));
	}
	iios_close(c);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	f = fopen(d.log_path, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "NOTIFY_SOCKET: cannot send") != NULL;
	fclose(f);
	cr_assert_eq(n, 1, "%d warnings about the same failure", n);
}
