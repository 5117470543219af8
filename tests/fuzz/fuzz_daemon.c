// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the daemon itself, in this process, fed through real
 * loopback connections. The first input byte picks the port: even, the
 * iiostream protocol (so every control message reaches protocol.c's
 * handlers: Hello, Subscribe with channel lists, attributes, devices,
 * stats, ...); odd, the iiod-compatible listener (iiod.c's commands,
 * WRITE values, OPEN/READBUF). The rest is sent, the sending side is shut,
 * and the loop runs until the daemon has closed the connection.
 *
 * After every input the invariants are checked, and a violation aborts
 * (a crash for libFuzzer): the connection is gone within the deadline,
 * every block is back in the source, nobody is left subscribed or owns a
 * DAC (whose blocks are back, unless one plays on as its owner asked), and the
 * process has the file descriptors it had before the input.
 *
 * The deadline (HANG_MS) only catches a hang: on a loaded machine the loop
 * is slow, and an input must not "crash" for that (run.sh gives this
 * target a libFuzzer -timeout above it).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sanitizer/common_interface_defs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config cfg;
static struct daemon dmn;
static uv_loop_t loop;
static bool started;
static int fds_at_start; /* the process's open fds with the daemon idle */

#define HANG_MS 60000

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own fd */
}

/* What each open fd is, on stderr: for the report of a leak */
static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[64], target[256];
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "  fd %s: %s\n", e->d_name, target);
	}
	if (d)
		closedir(d);
}

static void start(void)
{
	char *argv[] = { "iiostreamd",  "--listen",     "127.0.0.1:0", "--iiod-listen",
			 "127.0.0.1:0", "--channels",   "4",           "--rate",
			 "2000000",     "--block-size", "16K",         "--blocks",
			 "8",           "--advertise",  "off",         NULL };
	char err[256];

	config_defaults(&cfg);
	if (config_parse_args(&cfg, (int)(sizeof(argv) / sizeof(argv[0])) - 1, argv, err,
			      sizeof(err)) != CONFIG_OK) {
		fprintf(stderr, "fuzz_daemon: %s\n", err);
		abort();
	}
	log_threshold = getenv("FUZZ_DAEMON_LOG") ? LOG_DEBUG : LOG_ERROR;
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&loop);
	if (daemon_start(&dmn, &loop, &cfg) != 0)
		abort();
	uv_run(&loop, UV_RUN_NOWAIT);
	/* libFuzzer names newly covered functions through the sanitizers'
	 * symbolizer, a child process on two pipes it keeps: start it now,
	 * so that its fds count as the start's and not as a leak */
	{
		char where[256];

		__sanitizer_symbolize_pc(__builtin_return_address(0), "%p %F %L", where,
					 sizeof(where));
	}
	fds_at_start = open_fds();
	started = true;
}

/* A non-blocking connect, the daemon's loop running meanwhile: it is in
 * this process, and a blocking connect can wait on its accept queue (and
 * be cut short by libFuzzer's SIGALRM). */
static int connect_to(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0;
	uint64_t deadline = now_ms() + HANG_MS;
	socklen_t len = sizeof(err);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0) {
		err = errno;
	} else if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		err = errno;
		while ((err == EINPROGRESS || err == EINTR) && now_ms() < deadline) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			uv_run(&loop, UV_RUN_NOWAIT);
			if (poll(&p, 1, 1) == 1) {
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
				break;
			}
		}
	}
	if (err) {
		fprintf(stderr, "fuzz_daemon: connect to port %u: %s (%d fds open, %d at start)\n",
			port, strerror(err), open_fds(), fds_at_start);
		abort();
	}
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t deadline;
	bool eof = false;
	size_t sent = 0;
	int fd;

	if (!started)
		start();
	if (size == 0)
		return 0;
	fd = connect_to(data[0] & 1 ? dmn.iiod.port : dmn.net.plain.port);
	data++, size--;
	deadline = now_ms() + HANG_MS;
	/* send, read and discard what comes back, and run the daemon, until
	 * it has closed the connection */
	while (!eof) {
		char sink[65536];
		ssize_t n;

		if (now_ms() > deadline) {
			fprintf(stderr, "fuzz_daemon: the connection is still open after %d s\n",
				HANG_MS / 1000);
			abort();
		}
		if (sent < size) {
			n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				sent = size; /* the daemon closed on us */
			if (sent == size)
				shutdown(fd, SHUT_WR);
		} else if (size == 0) {
			shutdown(fd, SHUT_WR);
		}
		uv_run(&loop, UV_RUN_NOWAIT);
		while ((n = recv(fd, sink, sizeof(sink), 0)) > 0)
			;
		if (n == 0 || (n < 0 && errno != EAGAIN))
			eof = true;
		else
			poll(NULL, 0, 1);
	}
	/* Close with a reset: the daemon has closed already, and a FIN would
	 * leave this end in TIME_WAIT for a minute; at hundreds of inputs a
	 * second those use up the ephemeral ports, and connect() fails */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &(struct linger){ .l_onoff = 1, .l_linger = 0 },
		   sizeof(struct linger));
	close(fd);
	/* the daemon's side is gone too, and every block with it */
	while (dmn.net.nsessions || dmn.iiod.nconns || server_subscribers(&dmn.srv) || server_blocks_held(&dmn.srv) ||
	       server_outputs_unsettled(&dmn.srv) || open_fds() != fds_at_start) {
		if (now_ms() > deadline) {
			fprintf(stderr, "fuzz_daemon: after close: %u sessions, %u iiod, %u "
				"subscribers, %u blocks held, %u DAC blocks owned or half "
				"received, %d fds open (%d at start)\n",
				dmn.net.nsessions, dmn.iiod.nconns, server_subscribers(&dmn.srv), server_blocks_held(&dmn.srv),
				server_outputs_unsettled(&dmn.srv), open_fds(), fds_at_start);
			list_fds();
			abort();
		}
		uv_run(&loop, UV_RUN_NOWAIT);
		poll(NULL, 0, 1);
	}
	return 0;
}
