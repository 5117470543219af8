// SPDX-License-Identifier: MIT
/*
 * raw_send - the raw loopback TCP limit, as a ceiling for iiostream.
 *
 *   raw_send --seconds N [--block-size BYTES] [--port P]
 *
 * A forked reader accepts one connection on 127.0.0.1 and recv()s into a
 * 1 MiB buffer, discarding the data; the sender connect()s and send()s the
 * same block (filled once) in a loop for N seconds, then closes. The figure
 * is taken at the receiver: bytes received / time from the first byte to
 * end of stream. One JSON line goes to stdout:
 *
 *   {"bytes":...,"seconds":...,"mbytes_per_s":...}     (MB = 10^6 bytes)
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RECV_BUF_SIZE (1024 * 1024)
#define MAX_BLOCK_SIZE (256ULL * 1024 * 1024)

/* What the reader sends back to the parent through a pipe. */
struct rx_report {
	uint64_t bytes;
	double seconds;
	int err; /* 0, or the errno that stopped the reader */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: raw_send --seconds N [--block-size BYTES] [--port P]\n"
		     "  --seconds N          how long the sender sends (required, > 0)\n"
		     "  --block-size BYTES   bytes per send(); K and M suffixes are binary\n"
		     "                       (default 1M)\n"
		     "  --port P             port the reader listens on, 127.0.0.1 only\n"
		     "                       (default 0: an ephemeral port)\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 86400)
		return -1;
	*out = v;
	return 0;
}

/* A decimal number with an optional binary K or M suffix, in [min, max]. */
static int parse_size(const char *s, unsigned long long min, unsigned long long max,
		      unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end == 'K' || *end == 'k') {
		if (v > max / 1024)
			return -1;
		v *= 1024;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		if (v > max / (1024 * 1024))
			return -1;
		v *= 1024 * 1024;
		end++;
	}
	if (*end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t n = write(fd, c, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The forked reader: accept one connection, drain it, report. Never returns. */
static void reader(int lfd, int report_fd)
{
	struct rx_report rep;
	double t_first = 0, t_end;
	char *buf = malloc(RECV_BUF_SIZE);
	int fd;

	memset(&rep, 0, sizeof(rep)); /* padding too: the struct goes through a pipe */

	if (!buf) {
		rep.err = ENOMEM;
		goto out;
	}
	do
		fd = accept(lfd, NULL, NULL);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		rep.err = errno;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, RECV_BUF_SIZE, 0);

		if (n > 0) {
			if (rep.bytes == 0)
				t_first = now_s();
			rep.bytes += (uint64_t)n;
		} else if (n == 0) {
			break;
		} else if (errno != EINTR) {
			rep.err = errno;
			break;
		}
	}
	t_end = now_s();
	if (rep.bytes)
		rep.seconds = t_end - t_first;
	close(fd);
out:
	free(buf);
	close(lfd);
	if (write_all(report_fd, &rep, sizeof(rep)) != 0)
		_exit(2);
	close(report_fd);
	_exit(rep.err ? 1 : 0);
}

/* Send the block over and over until `seconds` have passed. */
static int sender(uint16_t port, size_t block_size, double seconds, uint64_t *sent)
{
	struct sockaddr_in sa;
	unsigned char *buf;
	size_t off = 0;
	double t_stop;
	int fd, ret = -1;

	*sent = 0;
	buf = malloc(block_size);
	if (!buf) {
		fprintf(stderr, "raw_send: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < block_size; i++)
		buf[i] = (unsigned char)(i * 31 + 7);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "raw_send: socket: %s\n", strerror(errno));
		goto out_free;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "raw_send: connect 127.0.0.1:%u: %s\n", port, strerror(errno));
		goto out_close;
	}

	t_stop = now_s() + seconds;
	while (now_s() < t_stop) {
		ssize_t n = send(fd, buf + off, block_size - off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "raw_send: send: %s\n", strerror(errno));
			goto out_close;
		}
		*sent += (uint64_t)n;
		off = (off + (size_t)n) % block_size;
	}
	ret = 0;
out_close:
	close(fd); /* the reader sees end of stream once the queue drains */
out_free:
	free(buf);
	return ret;
}

static int listen_loopback(uint16_t want, uint16_t *bound)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fprintf(stderr, "raw_send: socket: %s\n", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(want);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		fprintf(stderr, "raw_send: listen on 127.0.0.1:%u: %s\n", want, strerror(errno));
		close(fd);
		return -1;
	}
	*bound = ntohs(sa.sin_port);
	return fd;
}

static int read_all(int fd, void *p, size_t len)
{
	char *c = p;

	while (len) {
		ssize_t n = read(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = 0;
	unsigned long long block_size = 1024 * 1024, port = 0;
	struct rx_report rep;
	uint64_t sent = 0;
	uint16_t bound;
	int lfd, pfd[2], status, send_ret, got;
	pid_t pid;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--seconds") && strcmp(a, "--block-size") && strcmp(a, "--port")) {
			fprintf(stderr, "raw_send: unknown argument '%s'\n", a);
			usage(stderr);
			return 2;
		}
		if (!v) {
			fprintf(stderr, "raw_send: %s needs a value\n", a);
			return 2;
		}
		i++;
		if ((strcmp(a, "--seconds") == 0 && parse_seconds(v, &seconds) != 0) ||
		    (strcmp(a, "--block-size") == 0 &&
		     parse_size(v, 1, MAX_BLOCK_SIZE, &block_size) != 0) ||
		    (strcmp(a, "--port") == 0 && parse_size(v, 0, 65535, &port) != 0)) {
			fprintf(stderr, "raw_send: bad value for %s: '%s'\n", a, v);
			return 2;
		}
	}
	if (!(seconds > 0)) {
		fprintf(stderr, "raw_send: --seconds is required\n");
		usage(stderr);
		return 2;
	}

	lfd = listen_loopback((uint16_t)port, &bound);
	if (lfd < 0)
		return 1;
	if (pipe(pfd) != 0) {
		fprintf(stderr, "raw_send: pipe: %s\n", strerror(errno));
		close(lfd);
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "raw_send: fork: %s\n", strerror(errno));
		close(lfd);
		close(pfd[0]);
		close(pfd[1]);
		return 1;
	}
	if (pid == 0) {
		close(pfd[0]);
		reader(lfd, pfd[1]);
	}
	close(lfd);
	close(pfd[1]);

	send_ret = sender(bound, (size_t)block_size, seconds, &sent);
	if (send_ret != 0)
		kill(pid, SIGTERM); /* it may still be waiting in accept() */
	got = read_all(pfd[0], &rep, sizeof(rep));
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "raw_send: waitpid: %s\n", strerror(errno));
			return 1;
		}
	}
	if (send_ret != 0)
		return 1;
	if (got != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (got != 0)
			fprintf(stderr, "raw_send: reader failed: no report\n");
		else if (rep.err)
			fprintf(stderr, "raw_send: reader failed: %s\n", strerror(rep.err));
		else
			fprintf(stderr, "raw_send: reader exited abnormally (status 0x%x)\n",
				(unsigned)status);
		return 1;
	}
	if (rep.bytes != sent || !(rep.seconds > 0)) {
		fprintf(stderr, "raw_send: sent %" PRIu64 " bytes but received %" PRIu64 "\n",
			sent, rep.bytes);
		return 1;
	}
	printf("{\"bytes\":%" PRIu64 ",\"seconds\":%.3f,\"mbytes_per_s\":%.2f}\n", rep.bytes,
	       rep.seconds, (double)rep.bytes / 1e6 / rep.seconds);
	return 0;
}
