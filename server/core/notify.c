// SPDX-License-Identifier: MIT
/* systemd's notification protocol without libsystemd: see notify.h. */
#define _GNU_SOURCE
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static void on_watchdog(uv_timer_t *t)
{
	notify_send(t->data, "WATCHDOG=1");
}

/* WATCHDOG_USEC, if it is meant for this process (WATCHDOG_PID, when set,
 * is our pid); 0 otherwise. */
static uint64_t watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (!usec || !*usec)
		return 0;
	if (pid && *pid && strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || *end || v == 0) {
		log_warn("WATCHDOG_USEC='%s' is not a number of microseconds: no watchdog", usec);
		return 0;
	}
	return v;
}

int notify_open(struct notify *n, uv_loop_t *loop)
{
	const char *path = getenv("NOTIFY_SOCKET");
	uint64_t usec = watchdog_usec();
	size_t len;
	int err;

	memset(n, 0, sizeof(*n));
	n->fd = -1;
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(n->addr.sun_path)) {
		/* systemd 254+ may also name an AF_VSOCK address: not here */
		log_warn("NOTIFY_SOCKET='%s' is not an AF_UNIX path or @name: not notifying", path);
		unsetenv("NOTIFY_SOCKET");
		return -EINVAL;
	}
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@')
		n->addr.sun_path[0] = '\0'; /* abstract namespace; no trailing NUL */
	n->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	unsetenv("NOTIFY_SOCKET");
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0) {
		err = -errno;
		log_warn("NOTIFY_SOCKET: socket: %s", strerror(errno));
		return err;
	}
	if (!usec)
		return 0;
	n->watchdog_usec = usec;
	uv_timer_init(loop, &n->watchdog);
	n->watchdog.data = n;
	n->timer_on = true;
	/* Twice per period, as sd_watchdog_enabled(3) advises; at least 1 ms. */
	uv_timer_start(&n->watchdog, on_watchdog, 0, usec / 2000 ? usec / 2000 : 1);
	log_info("systemd watchdog: a ping every %llu ms",
		 (unsigned long long)(usec / 2000 ? usec / 2000 : 1));
	return 0;
}

void notify_send(struct notify *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int len;

	if (n->fd < 0)
		return;
	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(msg))
		len = sizeof(msg) - 1;
	if (sendto(n->fd, msg, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT,
		   (struct sockaddr *)&n->addr, n->addrlen) >= 0) {
		n->send_errno = 0;
		return;
	}
	if (errno == n->send_errno)
		return; /* said already; the watchdog would repeat it twice a period */
	n->send_errno = errno;
	log_warn("NOTIFY_SOCKET: cannot send '%.*s': %s (said once until a send succeeds)",
		 (int)strcspn(msg, "\n"), msg, strerror(errno));
}

void notify_close(struct notify *n)
{
	if (n->timer_on) {
		uv_timer_stop(&n->watchdog);
		uv_close((uv_handle_t *)&n->watchdog, NULL);
		n->timer_on = false;
	}
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
