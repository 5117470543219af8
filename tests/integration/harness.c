// SPDX-License-Identifier: MIT
/* Integration test harness: see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void harness_sleep_ms(int ms)
{
	sleep_ms(ms);
}

double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double daemon_cpu_wait_s(const struct daemon *d)
{
	char path[64];
	unsigned long long run = 0, wait = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)d->pid);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fscanf(f, "%llu %llu", &run, &wait), 2, "%s: not 'run wait ...'", path);
	fclose(f);
	return (double)wait / 1e9;
}

void assert_overflow_excused(const struct daemon *d, double wait0, double ring_s,
			     uint64_t lost_samples, const char *what)
{
	double waited;

	if (!lost_samples)
		return;
	waited = daemon_cpu_wait_s(d) - wait0;
	if (waited >= ring_s) {
		cr_log_warn("%s: %llu scans lost to overflows, the daemon having waited %.3f s for "
			    "a CPU (the ring lasts %.3f s): the machine's, not the daemon's",
			    what, (unsigned long long)lost_samples, waited, ring_s);
		return;
	}
	daemon_dump_log(d);
	cr_assert_fail("%s: %llu scans lost to overflows, and the daemon waited only %.3f s for a "
		       "CPU meanwhile (the ring lasts %.3f s)", what,
		       (unsigned long long)lost_samples, waited, ring_s);
}

/*
 * Temporary directories. Each one the harness makes (a daemon's, with its
 * port file and log, and test_dir_make()'s) is registered, and removed when
 * the test's process exits, whether the test passed or an assertion ended
 * it (Criterion's worker exits normally after a failed assertion, so
 * atexit() runs). A worker killed outright (a crash, ctest's timeout)
 * leaves its directories behind: the first directory made in a later run
 * removes those of ours older than a day.
 */
#define STALE_DIR_S (24 * 3600)

static char (*tmp_dirs)[64];   /* registered, removed at exit */
static size_t ntmp_dirs;
static pid_t tmp_dirs_owner;   /* the process that registered them */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* rm -rf dir: 0, or -1 with errno (ENOENT if it was not there). */
static int remove_tree(const char *dir)
{
	return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_tmp_dirs(void)
{
	size_t i;

	/* a forked child that exits must not take its parent's directories */
	if (getpid() != tmp_dirs_owner)
		return;
	for (i = 0; i < ntmp_dirs; i++)
		remove_tree(tmp_dirs[i]);
	free(tmp_dirs);
	tmp_dirs = NULL;
	ntmp_dirs = 0;
}

/* /tmp/iiostream-WHAT-XXXXXX directories of ours untouched for a day:
 * left by test processes that were killed. */
static void remove_stale_dirs(void)
{
	time_t now = time(NULL);
	struct dirent *de;
	DIR *d = opendir("/tmp");

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		const char *dash = strrchr(de->d_name, '-');
		char path[300];
		struct stat st;

		if (strncmp(de->d_name, "iiostream-", 10) != 0 || !dash || strlen(dash) != 7)
			continue;
		snprintf(path, sizeof(path), "/tmp/%s", de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid() &&
		    now - st.st_mtime > STALE_DIR_S)
			remove_tree(path);
	}
	closedir(d);
}

/* mkdtemp(dir) (asserts), registered for removal at exit. */
static void make_tmp_dir(char dir[64])
{
	char (*grown)[64];

	if (tmp_dirs_owner != getpid()) { /* first in this process */
		tmp_dirs_owner = getpid();
		free(tmp_dirs); /* a parent's list, inherited through fork() */
		tmp_dirs = NULL;
		ntmp_dirs = 0;
		remove_stale_dirs();
		atexit(remove_tmp_dirs);
	}
	cr_assert_not_null(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
	grown = realloc(tmp_dirs, (ntmp_dirs + 1) * sizeof(*tmp_dirs));
	cr_assert_not_null(grown, "out of memory");
	tmp_dirs = grown;
	memcpy(tmp_dirs[ntmp_dirs++], dir, 64);
}

static void start(struct daemon *d, const char *const *args, unsigned max_fds);

void daemon_start(struct daemon *d, const char *const *args)
{
	start(d, args, 0);
}

void daemon_start_limited(struct daemon *d, const char *const *args, unsigned max_fds)
{
	start(d, args, max_fds);
}

double daemon_cpu_seconds(const struct daemon *d)
{
	char path[64], buf[1024], *p;
	unsigned long utime = 0, stime = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)d->pid);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	/* Fields after the command name, which ends at the last ')'. */
	p = strrchr(buf, ')');
	cr_assert_not_null(p);
	for (i = 0; i < 11 && p; i++)
		p = strchr(p + 1, ' ');
	cr_assert(p && sscanf(p, " %lu %lu", &utime, &stime) == 2);
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void start(struct daemon *d, const char *const *args, unsigned max_fds)
{
	char port_file[128];
	const char *argv[64];
	int n = 0, i;

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/iiostream-test-XXXXXX");
	make_tmp_dir(d->dir);
	snprintf(port_file, sizeof(port_file), "%s/port", d->dir);
	snprintf(d->log_path, sizeof(d->log_path), "%s/daemon.log", d->dir);

	argv[n++] = IIOSTREAMD_PATH;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--port-file";
	argv[n++] = port_file;
	for (i = 0; args && args[i] && n < 62; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	d->pid = fork();
	cr_assert(d->pid >= 0, "fork: %s", strerror(errno));
	if (d->pid == 0) {
		int fd = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		/* A failed assertion ends the test process: take the daemon along. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (max_fds) {
			struct rlimit rl = { max_fds, max_fds };

			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(IIOSTREAMD_PATH, (char *const *)argv);
		_exit(127);
	}
	for (double t0 = mono_s(); mono_s() - t0 < HANG_S;) {
		FILE *f = fopen(port_file, "r");
		int status;

		if (f) {
			unsigned p = 0;

			/* a line each: plain, TLS and iiod ports (0: none), then
			 * each --http-listen port */
			if (fscanf(f, "%u", &p) == 1)
				d->port = (uint16_t)p;
			if (fscanf(f, "%u", &p) == 1)
				d->tls_port = (uint16_t)p;
			if (fscanf(f, "%u", &p) == 1)
				d->iiod_port = (uint16_t)p;
			if (fscanf(f, "%u", &p) == 1)
				d->http_port = (uint16_t)p;
			fclose(f);
			if (d->port)
				break;
		}
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			daemon_dump_log(d);
			cr_assert_fail("iiostreamd exited at start-up (status %d)", status);
		}
		sleep_ms(10);
	}
	if (!d->port)
		daemon_dump_log(d);
	cr_assert(d->port, "waited " HARNESS_STR(HANG_S) " s for iiostreamd to write its port");
	snprintf(d->url, sizeof(d->url), "tcp://127.0.0.1:%u", d->port);
	snprintf(d->iiod_uri, sizeof(d->iiod_uri), "ip:127.0.0.1:%u", d->iiod_port);
	if (d->tls_port)
		snprintf(d->tls_url, sizeof(d->tls_url), "tls://localhost:%u", d->tls_port);
}

int daemon_stop(struct daemon *d, int timeout_ms)
{
	double t0 = mono_s();
	int status;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	while ((mono_s() - t0) * 1000 < timeout_ms) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
		}
		sleep_ms(10);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
	d->pid = 0;
	daemon_dump_log(d);
	cr_assert_fail("iiostreamd did not exit within %d ms of SIGTERM", timeout_ms);
	return -1;
}

void daemon_dump_log(const struct daemon *d)
{
	char line[512];
	FILE *f = fopen(d->log_path, "r");

	if (!f)
		return;
	fprintf(stderr, "---- %s ----\n", d->log_path);
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

int daemon_log_count(const struct daemon *d, const char *text)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(d->log_path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, text) != NULL;
	fclose(f);
	return n;
}

bool daemon_log_contains(const struct daemon *d, const char *text)
{
	return daemon_log_count(d, text) > 0;
}

void test_dir_make(char dir[64], const char *what)
{
	snprintf(dir, 64, "/tmp/iiostream-%s-XXXXXX", what);
	make_tmp_dir(dir);
}

void test_dir_remove(const char *dir)
{
	cr_assert(remove_tree(dir) == 0 || errno == ENOENT, "removing %s: %s", dir,
		  strerror(errno));
}

void test_file_replace(const char *path, const char *text)
{
	char tmp[300];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	cr_assert_not_null(f, "%s: %s", tmp, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(rename(tmp, path), 0, "%s: %s", path, strerror(errno));
}

int run_daemon_to_exit(const char *const *args, char *err, size_t errlen)
{
	const char *argv[32];
	int pipefd[2], status, n = 0, i;
	size_t got = 0;
	pid_t pid;

	argv[n++] = IIOSTREAMD_PATH;
	for (i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	cr_assert(pipe(pipefd) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execv(IIOSTREAMD_PATH, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t r = read(pipefd[0], err + got, errlen - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == errlen - 1)
			break;
	}
	err[got] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct iios_client *client_connect(const struct daemon *d)
{
	struct iios_options o = { .timeout_ms = HANG_MS };
	struct iios_client *c = NULL;
	char err[256];
	int r = iios_connect(d->url, &o, &c, err, sizeof(err));

	cr_assert_eq(r, 0, "connect %s: %s", d->url, err);
	return c;
}

void daemon_stats(const struct daemon *d, struct iios_stats *st)
{
	struct iios_client *c = client_connect(d);
	int r = iios_stats(c, st);

	cr_assert_eq(r, 0, "stats: %s", iios_errmsg(c));
	iios_close(c);
}

bool wait_blocks_back(const struct daemon *d, int timeout_ms, struct iios_stats *st)
{
	double t0 = mono_s();

	for (;;) {
		daemon_stats(d, st);
		if (st->source.blocks_held == 0 &&
		    st->source.blocks_in_source == st->source.blocks_total)
			return true;
		if ((mono_s() - t0) * 1000 > timeout_ms)
			return false;
		sleep_ms(20);
	}
}

int raw_connect(const struct daemon *d)
{
	return raw_connect_rcvbuf(d, 0);
}

int raw_connect_rcvbuf(const struct daemon *d, int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(d->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { HANG_S, 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

void raw_send_env(int fd, const Iiostream__Envelope *env)
{
	uint8_t buf[1024];
	long n = iios_frame_encode(env, buf, sizeof(buf), sizeof(buf));

	cr_assert(n > 0);
	cr_assert_eq(send(fd, buf, (size_t)n, MSG_NOSIGNAL), n);
}

void raw_send_hello(int fd, uint32_t magic, uint32_t vmin, uint32_t vmax)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Hello h = IIOSTREAM__HELLO__INIT;

	h.magic = magic;
	h.version_min = vmin;
	h.version_max = vmax;
	h.client_name = "raw test client";
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO;
	env.hello = &h;
	raw_send_env(fd, &env);
}

void raw_handshake(int fd)
{
	Iiostream__Envelope *r;

	raw_send_hello(fd, IIOS_PROTOCOL_MAGIC, IIOS_PROTOCOL_VERSION, IIOS_PROTOCOL_VERSION);
	r = raw_read_frame(fd);
	cr_assert(r && r->msg_case == IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY, "no HelloReply");
	iios_frame_free(r);
}

static bool read_all(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, (uint8_t *)buf + got, n - got, 0);

		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

Iiostream__Envelope *raw_read_frame(int fd)
{
	static uint8_t buf[IIOS_FRAME_PREFIX + IIOS_FRAME_MAX_ENVELOPE];
	Iiostream__Envelope *env = NULL;
	uint32_t len;

	if (!read_all(fd, buf, IIOS_FRAME_PREFIX))
		return NULL;
	len = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	cr_assert(len > 0 && len <= IIOS_FRAME_MAX_ENVELOPE, "server sent frame length %u", len);
	cr_assert(read_all(fd, buf + IIOS_FRAME_PREFIX, len));
	cr_assert(iios_frame_parse(buf, IIOS_FRAME_PREFIX + len, IIOS_FRAME_MAX_ENVELOPE, &env) > 0);
	if (env->msg_case == IIOSTREAM__ENVELOPE__MSG_BLOCK) {
		uint32_t left = env->block->payload_len;
		uint8_t sink[65536];

		while (left) {
			uint32_t n = left < sizeof(sink) ? left : (uint32_t)sizeof(sink);

			cr_assert(read_all(fd, sink, n));
			left -= n;
		}
	}
	return env;
}

bool raw_wait_closed(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec t0, t;
	char sink[65536];

	/* by the clock: data still queued for us is read and dropped, and
	 * may take longer to drain than a count of polls would allow */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (poll(&p, 1, 10) > 0) {
			ssize_t r = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);

			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				return true;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < timeout_ms);
	return false;
}

void *rx_job_run(void *arg)
{
	struct rx_job *job = arg;
	struct iios_options o = { 0 };
	struct iios_client *c;
	struct iios_block blk;
	uint32_t i;

	if (job->opts)
		o = *job->opts;
	if (!o.timeout_ms)
		o.timeout_ms = HANG_MS;
	iios_verify_init(&job->v);
	job->err = iios_connect(job->url ? job->url : job->d->url, &o, &c, job->errmsg,
				sizeof(job->errmsg));
	if (job->err) {
		atomic_store(&job->done, true);
		return NULL;
	}
	job->err = iios_subscribe(c, 0, &job->info);
	for (i = 0; !job->err && (job->want_blocks ? i < job->want_blocks
						   : !atomic_load(&job->stop)); i++) {
		job->err = iios_next_block(c, &blk);
		if (!job->err) {
			iios_verify_block(&job->v, &job->info, &blk);
			atomic_fetch_add(&job->blocks, 1);
		}
	}
	if (job->err)
		snprintf(job->errmsg, sizeof(job->errmsg), "%s", iios_errmsg(c));
	iios_counters(c, &job->counters);
	iios_close(c);
	atomic_store(&job->done, true);
	return NULL;
}

uint64_t rx_job_wait_blocks(struct rx_job *job, uint64_t n)
{
	WAIT_UNTIL(atomic_load(&job->blocks) >= n || atomic_load(&job->done),
		   "a streaming client's block %llu (it has %llu)", (unsigned long long)n,
		   (unsigned long long)atomic_load(&job->blocks));
	cr_assert_geq(atomic_load(&job->blocks), n,
		      "the streaming client ended after %llu blocks, not %llu: %s",
		      (unsigned long long)atomic_load(&job->blocks), (unsigned long long)n,
		      job->err ? job->errmsg : "no error");
	return atomic_load(&job->blocks);
}

int run_command(const char *const *argv, const char *out_path, char *err, size_t errlen,
		int timeout_ms)
{
	return run_command_waited(argv, out_path, err, errlen, timeout_ms, NULL);
}

int run_command_waited(const char *const *argv, const char *out_path, char *err, size_t errlen,
		       int timeout_ms, double *cpu_wait_s)
{
	char err_path[] = "/tmp/iios-cmd-err-XXXXXX";
	int errfd = mkstemp(err_path), status = 0, waited;
	pid_t pid;

	cr_assert(errfd >= 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int out = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC,
			       0644);

		dup2(out, 1);
		dup2(errfd, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (cpu_wait_s)
		*cpu_wait_s = 0;
	for (double t0 = mono_s(); (waited = (int)((mono_s() - t0) * 1000)) < timeout_ms;) {
		siginfo_t si = { 0 };

		/* exited, not yet reaped: its schedstat is still there to read */
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid) {
			char path[64];
			unsigned long long run, wait;
			FILE *f;

			snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
			f = fopen(path, "r");
			if (f && fscanf(f, "%llu %llu", &run, &wait) == 2 && cpu_wait_s)
				*cpu_wait_s = (double)wait / 1e9;
			if (f)
				fclose(f);
			waitpid(pid, &status, 0);
			break;
		}
		sleep_ms(10);
	}
	if (waited >= timeout_ms) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (err && errlen) {
		ssize_t n = pread(errfd, err, errlen - 1, 0);

		err[n > 0 ? n : 0] = '\0';
	}
	close(errfd);
	unlink(err_path);
	if (waited >= timeout_ms)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *file_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

int iiod_port_connect(const struct daemon *d, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(d->iiod_port) };
	struct timeval tv = { .tv_sec = HANG_S };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
	return fd;
}

void iiod_port_send(int fd, const char *text, size_t len)
{
	cr_assert_eq(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
}

void iiod_port_read_line(int fd, char *line, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		char ch;

		cr_assert_eq(recv(fd, &ch, 1, 0), 1, "no reply line (got '%.*s')", (int)n, line);
		if (ch == '\n')
			break;
		line[n++] = ch;
	}
	line[n] = '\0';
}
