/* SPDX-License-Identifier: MIT */
/*
 * systemd's service notification protocol (sd_notify(3)), spoken directly:
 * Type=notify readiness, STATUS= lines, RELOADING=1/STOPPING=1, and the
 * watchdog (WatchdogSec=) pinged from a libuv timer.
 *
 * The protocol is one datagram per message on the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace), holding
 * newline-separated VARIABLE=value assignments. systemd documents it as a
 * stable interface, and it is small enough that the daemon speaks it itself
 * instead of linking libsystemd: nothing new to install on a board, and the
 * same binary runs under busybox init or a container without systemd, where
 * $NOTIFY_SOCKET is simply not set and every call here does nothing.
 *
 * Everything runs on the loop's thread. Sends never block: a datagram the
 * socket cannot take now is dropped with a log line (a watchdog ping is
 * sent twice per period, so one lost ping is not a timeout); a failure
 * that repeats is logged once, until a send succeeds again.
 */
#ifndef IIOSTREAMD_NOTIFY_H
#define IIOSTREAMD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <uv.h>

struct notify {
	/* read-only */
	int fd;                   /* datagram socket; -1: nobody to notify */
	uint64_t watchdog_usec;   /* WATCHDOG_USEC for us, 0 if no watchdog */
	/* private */
	struct sockaddr_un addr;
	socklen_t addrlen;
	uv_timer_t watchdog;      /* WATCHDOG=1 every watchdog_usec / 2 */
	bool timer_on;
	int send_errno;           /* of the last failed send, 0 after a good one */
};

/* Read $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID (and unset them, as
 * sd_notify does, so that nothing we might start inherits them), and start
 * the watchdog timer on `loop` if the service has one. Without
 * $NOTIFY_SOCKET n->fd is -1 and nothing happens. 0, or a negative errno
 * (logged) when $NOTIFY_SOCKET is set but unusable; the daemon runs on. */
int notify_open(struct notify *n, uv_loop_t *loop);

/* Send "READY=1\nSTATUS=..." and the like, printf-style. */
void notify_send(struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Stop the watchdog timer (uv_close) and close the socket. */
void notify_close(struct notify *n);

#endif /* IIOSTREAMD_NOTIFY_H */
