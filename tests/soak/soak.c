// SPDX-License-Identifier: MIT
/*
 * The fault-injection soak: the real iiostreamd (sim source, plain + TLS +
 * iiod listeners) under well-behaved clients that verify every byte, and
 * a crowd of bad ones, for SOAK_SECONDS. Faults, each in its own thread:
 *   vanish    connect and go away mid-Hello, mid-header or mid-payload
 *             (sometimes with a reset instead of a FIN)
 *   tls       go away mid-TLS-handshake, or mid-stream over TLS
 *   stall     subscribe and never read
 *   slow      read slowly through a small window (and verify)
 *   garbage   random bytes to every port
 *   reconnect connect, hello, close, in a tight loop
 *   flood     more connections at once than --max-clients allows
 *   iiod      libiio-protocol clients that open buffers and vanish
 *   overflow  the source's rate raised until it overflows, then lowered
 *   sighup    SIGHUP (a configuration reload) every few seconds
 * Invariants, checked throughout and at the end:
 *   - the daemon never exits; its counters stay consistent (every block is
 *     in the source or held), and with no client left every block is back;
 *   - the good clients' data verify: every byte right, every gap reported
 *     (iios_verify_block), and they are never cut off;
 *   - RSS and the number of open fds are flat between quiet points;
 *   - SIGTERM under load: exit 0, every block back.
 * It prints what it injected and measured; exit 0 only if everything held.
 *
 *   soak IIOSTREAMD_PATH CERTS_DIR      (SOAK_SECONDS, default 300)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "certs.h"
#include "iiostream.h"
#include "iiostream/frame.h"

#define GOOD_CLIENTS 3 /* two plain, one TLS */
#define MAX_CLIENTS 64
/* A bound on waiting for the daemon: reached only by a hang. The soak
 * waits for what it checks (quiet, an exit), never for a time: the same
 * daemon on a loaded machine is slow, not broken. */
#define HANG_S 60

static pid_t daemon_pid;
static uint16_t plain_port, tls_port, iiod_port;
static struct test_certs certs;
static char dir[64];
static atomic_bool stop_faults, stop_good;
static atomic_ulong faults[16];
static const char *const fault_names[] = { "vanish",  "tls",     "stall",  "slow",
					   "garbage", "reconnect", "flood", "iiod",
					   "overflow", "sighup" };
enum { F_VANISH, F_TLS, F_STALL, F_SLOW, F_GARBAGE, F_RECONNECT, F_FLOOD, F_IIOD, F_OVERFLOW,
       F_SIGHUP, F_COUNT };
static int failures;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&fail_lock);
	failures++;
	fprintf(stderr, "soak: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&fail_lock);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* the library's I/O timeout for the soak's own clients: a hang's */
static const struct iios_options patient = { .timeout_ms = HANG_S * 1000 };

/* Per-thread random numbers (rand_r is enough for choosing faults). */
static unsigned pick(unsigned *seed, unsigned n)
{
	return n ? (unsigned)rand_r(seed) % n : 0;
}

static int tcp_connect(uint16_t port, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Close with a reset (SO_LINGER 0) or a FIN. */
static void vanish(int fd, bool reset)
{
	if (reset) {
		struct linger l = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(fd);
}

static size_t frame_bytes(Iiostream__Envelope *env, uint8_t *out, size_t cap)
{
	long n = iios_frame_encode(env, out, cap, IIOS_FRAME_MAX_ENVELOPE);

	return n > 0 ? (size_t)n : 0;
}

/* Hello + Subscribe, encoded. */
static size_t hello_subscribe(uint8_t *out, size_t cap)
{
	Iiostream__Envelope e1 = IIOSTREAM__ENVELOPE__INIT, e2 = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Hello h = IIOSTREAM__HELLO__INIT;
	Iiostream__Subscribe s = IIOSTREAM__SUBSCRIBE__INIT;
	size_t n;

	h.magic = IIOS_PROTOCOL_MAGIC;
	h.version_min = h.version_max = IIOS_PROTOCOL_VERSION;
	h.client_name = "soak-fault";
	e1.msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO;
	e1.hello = &h;
	e2.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE;
	e2.subscribe = &s;
	n = frame_bytes(&e1, out, cap);
	return n + frame_bytes(&e2, out + n, cap - n);
}

/* ---- good clients ------------------------------------------------------ */

struct good {
	const char *url;
	struct iios_options opts;
	uint64_t blocks, bytes, lost_blocks, lost_samples, reconnects;
	struct iios_verify v;
	char error[300];
};

static void *good_client(void *arg)
{
	struct good *g = arg;

	while (!atomic_load(&stop_good)) {
		struct iios_stream_info info;
		struct iios_client *c = NULL;
		struct iios_block blk;
		char err[256];
		int r;

		r = iios_connect(g->url, &g->opts, &c, err, sizeof(err));
		if (r) {
			/* --max-clients may refuse it while the flood is on */
			snprintf(g->error, sizeof(g->error), "connect: %s", err);
			g->reconnects++;
			sleep_ms(100);
			continue;
		}
		if (iios_subscribe(c, 0, &info) == 0) {
			iios_verify_init(&g->v); /* a new stream: continuity restarts */
			while (!atomic_load(&stop_good) && (r = iios_next_block(c, &blk)) == 0) {
				iios_verify_block(&g->v, &info, &blk);
				g->blocks++;
				g->bytes += blk.len;
				if (g->v.integrity_errors) {
					fail("%s: %s", g->url, g->v.first_error);
					break;
				}
			}
			g->lost_blocks += g->v.lost_blocks;
			g->lost_samples += g->v.lost_samples;
			if (r && r != -ESHUTDOWN && !atomic_load(&stop_good))
				fail("%s: a good client was cut off: %s", g->url, iios_errmsg(c));
		}
		iios_close(c);
		if (r == -ESHUTDOWN)
			break;
	}
	return NULL;
}

/* ---- faults ------------------------------------------------------------ */

static void fault_vanish(unsigned *seed)
{
	uint8_t buf[512], sink[8192];
	size_t n = hello_subscribe(buf, sizeof(buf));
	int fd = tcp_connect(plain_port, 0);

	if (fd < 0)
		return;
	switch (pick(seed, 3)) {
	case 0: /* mid-Hello */
		send(fd, buf, 1 + pick(seed, 8), MSG_NOSIGNAL);
		break;
	case 1: /* mid-frame head of a block: read a few bytes only */
		send(fd, buf, n, MSG_NOSIGNAL);
		recv(fd, sink, 40 + pick(seed, 60), MSG_WAITALL);
		break;
	default: /* mid-payload */
		send(fd, buf, n, MSG_NOSIGNAL);
		recv(fd, sink, 1000 + pick(seed, (unsigned)sizeof(sink) - 1000), MSG_WAITALL);
		break;
	}
	vanish(fd, pick(seed, 2));
}

static void fault_tls(unsigned *seed)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = tcp_connect(tls_port, 0);
	SSL *ssl;

	if (fd < 0 || !ctx) {
		if (fd >= 0)
			close(fd);
		SSL_CTX_free(ctx);
		return;
	}
	SSL_CTX_load_verify_locations(ctx, certs.ca, NULL);
	ssl = SSL_new(ctx);
	if (pick(seed, 2)) {
		/* mid-handshake: a ClientHello cut short */
		BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
		char *hello;
		long len;

		SSL_set_bio(ssl, rb, wb);
		SSL_set_connect_state(ssl);
		SSL_do_handshake(ssl);
		len = BIO_get_mem_data(wb, &hello);
		if (len > 0)
			send(fd, hello, 1 + pick(seed, (unsigned)len - 1), MSG_NOSIGNAL);
		vanish(fd, pick(seed, 2));
	} else {
		/* a whole handshake, a Hello and a Subscribe, then gone mid-stream */
		uint8_t buf[512], sink[4096];
		size_t n = hello_subscribe(buf, sizeof(buf));

		SSL_set_fd(ssl, fd);
		if (SSL_connect(ssl) == 1 && SSL_write(ssl, buf, (int)n) > 0)
			SSL_read(ssl, sink, (int)sizeof(sink));
		vanish(fd, pick(seed, 2));
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

static void fault_stall(unsigned *seed)
{
	uint8_t buf[512];
	size_t n = hello_subscribe(buf, sizeof(buf));
	int fd = tcp_connect(plain_port, 4096);

	if (fd < 0)
		return;
	send(fd, buf, n, MSG_NOSIGNAL);
	sleep_ms(1000 + (int)pick(seed, 4000));
	vanish(fd, pick(seed, 2));
}

static void fault_slow(unsigned *seed)
{
	struct iios_options o = { .timeout_ms = 5000, .rcvbuf_bytes = 8192,
				  .client_name = "soak-slow" };
	struct iios_stream_info info;
	struct iios_client *c = NULL;
	struct iios_block blk;
	struct iios_verify v;
	char url[64], err[256];
	int i;

	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", plain_port);
	if (iios_connect(url, &o, &c, err, sizeof(err)) != 0)
		return;
	iios_verify_init(&v);
	if (iios_subscribe(c, 1, &info) == 0) {
		for (i = 0; i < 20 && !atomic_load(&stop_faults); i++) {
			if (iios_next_block(c, &blk) != 0)
				break;
			iios_verify_block(&v, &info, &blk);
			sleep_ms(50 + (int)pick(seed, 150));
		}
		/* a slow reader loses blocks, but every gap is reported */
		if (v.integrity_errors)
			fail("slow reader: %s", v.first_error);
	}
	iios_close(c);
}

static void fault_garbage(unsigned *seed)
{
	uint16_t ports[] = { plain_port, tls_port, iiod_port };
	uint8_t junk[2048];
	unsigned i, n = 1 + pick(seed, sizeof(junk) - 1);
	int fd = tcp_connect(ports[pick(seed, 3)], 0);

	if (fd < 0)
		return;
	for (i = 0; i < n; i++)
		junk[i] = (uint8_t)rand_r(seed);
	if (pick(seed, 3) == 0)
		junk[0] = junk[1] = 0; /* a plausible length prefix */
	send(fd, junk, n, MSG_NOSIGNAL);
	sleep_ms((int)pick(seed, 200));
	vanish(fd, pick(seed, 2));
}

static void fault_reconnect(unsigned *seed)
{
	uint8_t buf[512];
	size_t n = hello_subscribe(buf, sizeof(buf));
	int i;

	for (i = 0; i < 20; i++) {
		int fd = tcp_connect(plain_port, 0);

		if (fd < 0)
			continue;
		send(fd, buf, pick(seed, 2) ? n : n / 2, MSG_NOSIGNAL);
		vanish(fd, pick(seed, 2));
	}
}

static void fault_flood(unsigned *seed)
{
	int fds[MAX_CLIENTS + 40], i, n = 0;

	for (i = 0; i < MAX_CLIENTS + 40; i++) {
		fds[n] = tcp_connect(pick(seed, 4) ? plain_port : tls_port, 0);
		if (fds[n] >= 0)
			n++;
	}
	sleep_ms(500 + (int)pick(seed, 1000));
	for (i = 0; i < n; i++)
		vanish(fds[i], pick(seed, 2));
}

static void fault_iiod(unsigned *seed)
{
	static const char *const cmds[] = {
		"OPEN sim 4096 00000003\r\nREADBUF sim 65536\r\n",
		"PRINT\r\nREAD sim sampling_frequency\r\n",
		"OPEN sim 1024 00000001\r\nREADBUF sim 1048576\r\n",
		"WRITE sim nosuch 100\r\nshort",
	};
	char sink[8192];
	int fd = tcp_connect(iiod_port, 0);
	const char *c = cmds[pick(seed, 4)];

	if (fd < 0)
		return;
	send(fd, c, strlen(c), MSG_NOSIGNAL);
	recv(fd, sink, pick(seed, sizeof(sink)) + 1, 0);
	vanish(fd, pick(seed, 2));
}

static void set_rate(const char *rate)
{
	struct iios_attr_ref ref = { .attr = "sampling_frequency" };
	struct iios_client *c = NULL;
	char url[64], err[256], value[64];

	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", plain_port);
	if (iios_connect(url, &patient, &c, err, sizeof(err)) == 0) {
		iios_attr_set(c, &ref, rate, value, sizeof(value));
		iios_close(c);
	}
}

static void fault_overflow(unsigned *seed)
{
	/* far faster than anyone reads: the source runs out of blocks */
	set_rate("400000000");
	sleep_ms(1000 + (int)pick(seed, 1000));
	set_rate("2000000");
	sleep_ms(3000);
}

static void fault_sighup(unsigned *seed)
{
	kill(daemon_pid, SIGHUP);
	sleep_ms(2000 + (int)pick(seed, 3000));
}

struct fault_thread {
	int kind;
	unsigned seed;
};

static void *fault_loop(void *arg)
{
	struct fault_thread *t = arg;
	void (*const run[])(unsigned *) = {
		fault_vanish,  fault_tls,   fault_stall, fault_slow,     fault_garbage,
		fault_reconnect, fault_flood, fault_iiod,  fault_overflow, fault_sighup,
	};

	while (!atomic_load(&stop_faults)) {
		run[t->kind](&t->seed);
		atomic_fetch_add(&faults[t->kind], 1);
		if (t->kind == F_FLOOD)
			sleep_ms(3000);
		else if (t->kind != F_OVERFLOW && t->kind != F_SIGHUP)
			sleep_ms((int)pick(&t->seed, 50));
	}
	return NULL;
}

/* ---- the daemon and its health ----------------------------------------- */

static void start_daemon(const char *path)
{
	char port_file[128], log_path[128];
	FILE *f;

	snprintf(port_file, sizeof(port_file), "%s/port", dir);
	snprintf(log_path, sizeof(log_path), "%s/daemon.log", dir);
	unlink(port_file); /* an earlier run's */
	daemon_pid = fork();
	if (daemon_pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(path, path, "--rate", "2000000", "--channels", "2", "--block-size", "64K",
		      "--blocks", "32", "--client-queue", "8", "--listen", "127.0.0.1:0",
		      "--listen-tls", "127.0.0.1:0", "--tls-cert", certs.server_cert, "--tls-key",
		      certs.server_key, "--iiod-listen", "127.0.0.1:0", "--max-clients", "64",
		      "--advertise", "off", "--port-file", port_file, "--log-level", "warn",
		      (char *)NULL);
		_exit(127);
	}
	for (double t0 = now(); now() - t0 < HANG_S && !iiod_port;) {
		unsigned a = 0, b = 0, c = 0;

		sleep_ms(10);
		f = fopen(port_file, "r");
		if (f && fscanf(f, "%u %u %u", &a, &b, &c) == 3) {
			plain_port = (uint16_t)a;
			tls_port = (uint16_t)b;
			iiod_port = (uint16_t)c;
		}
		if (f)
			fclose(f);
	}
	if (!iiod_port) {
		char line[512];

		fprintf(stderr, "soak: the daemon did not start in %d s; its log:\n", HANG_S);
		f = fopen(log_path, "r");
		while (f && fgets(line, sizeof(line), f))
			fputs(line, stderr);
		exit(1);
	}
}

static bool daemon_alive(void)
{
	int status;

	if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
		fail("the daemon exited (status %d)", status);
		daemon_pid = 0;
		return false;
	}
	return true;
}

static long rss_kb(void)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static int open_fds(void)
{
	char cmd[96], out[32] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)daemon_pid);
	p = popen(cmd, "r");
	if (p && fgets(out, sizeof(out), p) == NULL)
		out[0] = '\0';
	if (p)
		pclose(p);
	return atoi(out);
}

static bool stats(struct iios_stats *st)
{
	struct iios_client *c = NULL;
	char url[64], err[256];
	int r = -1;

	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", plain_port);
	for (double t0 = now(); r && now() - t0 < HANG_S;) {
		r = iios_connect(url, &patient, &c, err, sizeof(err));
		if (r == 0) {
			r = iios_stats(c, st);
			iios_close(c);
		} else {
			sleep_ms(100); /* the flood may hold every slot */
		}
	}
	return r == 0;
}

/* Quiet point: nobody is connected any more; every block must be back. */
static void check_quiet(const char *when, long *rss, int *fds)
{
	struct iios_stats st;
	bool quiet = false;

	memset(&st, 0, sizeof(st));
	for (double t0 = now(); !quiet && now() - t0 < HANG_S;) {
		quiet = stats(&st) && st.clients == 1 && st.subscribers == 0 &&
			st.source.blocks_held == 0 && st.iiod_clients == 0;
		if (!quiet)
			sleep_ms(100);
	}
	if (!quiet)
		fail("%s: not quiet after %d s: %u clients, %u subscribers, %u blocks held, %u "
		     "iiod", when, HANG_S, st.clients, st.subscribers, st.source.blocks_held,
		     st.iiod_clients);
	*rss = rss_kb();
	*fds = open_fds();
	printf("soak: %s: quiet, every block back (%u of %u in the source), RSS %ld kB, %d fds\n",
	       when, st.source.blocks_in_source, st.source.blocks_total, *rss, *fds);
}

int main(int argc, char **argv)
{
	double seconds = getenv("SOAK_SECONDS") ? atof(getenv("SOAK_SECONDS")) : 300;
	struct fault_thread ft[F_COUNT];
	pthread_t fault_t[F_COUNT], good_t[GOOD_CLIENTS];
	struct good good[GOOD_CLIENTS];
	char plain_url[64], tls_url[64];
	long rss0, rss1;
	int fds0, fds1, i, status, exited;
	double t0, next_check;
	long rss_third = 0, rss_last = 0;
	uint64_t total_blocks = 0, total_bytes = 0, total_lost = 0;
	struct iios_stats st;

	if (argc != 3) {
		fprintf(stderr, "usage: soak IIOSTREAMD_PATH CERTS_DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	mkdir(dir, 0755);
	if (test_certs_make(dir, &certs) != 0) {
		fprintf(stderr, "soak: cannot make certificates in %s\n", dir);
		return 1;
	}
	start_daemon(argv[1]);
	printf("soak: %.0f s; daemon %d: plain %u, TLS %u, iiod %u\n", seconds, (int)daemon_pid,
	       plain_port, tls_port, iiod_port);
	check_quiet("start", &rss0, &fds0);

	snprintf(plain_url, sizeof(plain_url), "tcp://127.0.0.1:%u", plain_port);
	snprintf(tls_url, sizeof(tls_url), "tls://127.0.0.1:%u", tls_port);
	memset(good, 0, sizeof(good));
	for (i = 0; i < GOOD_CLIENTS; i++) {
		good[i].url = i < 2 ? plain_url : tls_url;
		good[i].opts.timeout_ms = HANG_S * 1000; /* a stall, not a slow machine */
		good[i].opts.client_name = "soak-good";
		good[i].opts.ca_file = certs.ca;
		pthread_create(&good_t[i], NULL, good_client, &good[i]);
	}
	for (i = 0; i < F_COUNT; i++) {
		ft[i].kind = i;
		ft[i].seed = (unsigned)(i * 7919 + 1);
		pthread_create(&fault_t[i], NULL, fault_loop, &ft[i]);
	}
	t0 = now();
	next_check = t0 + 5;
	while (now() - t0 < seconds && daemon_alive()) {
		sleep_ms(200);
		if (now() >= next_check) {
			next_check += 5;
			if (!stats(&st))
				fail("no stats from the daemon");
			else if (st.source.blocks_in_source + st.source.blocks_held !=
				 st.source.blocks_total)
				fail("block accounting: %u in source + %u held != %u",
				     st.source.blocks_in_source, st.source.blocks_held,
				     st.source.blocks_total);
			/* RSS under load: from a third of the run on it must
			 * stay flat (before that, allocators warm up) */
			rss_last = rss_kb();
			if (!rss_third && now() - t0 >= seconds / 3)
				rss_third = rss_last;
		}
	}
	atomic_store(&stop_faults, true);
	for (i = 0; i < F_COUNT; i++)
		pthread_join(fault_t[i], NULL);
	set_rate("2000000");
	atomic_store(&stop_good, true);
	for (i = 0; i < GOOD_CLIENTS; i++) {
		pthread_join(good_t[i], NULL);
		total_blocks += good[i].blocks;
		total_bytes += good[i].bytes;
		total_lost += good[i].lost_blocks;
	}
	if (!daemon_pid)
		return 1;
	check_quiet("end", &rss1, &fds1);
	if (fds1 != fds0)
		fail("open fds %d at the start, %d at the end", fds0, fds1);
#if defined(__SANITIZE_ADDRESS__)
	/* ASan's quarantine holds freed memory for a while: RSS says nothing */
	printf("soak: RSS not judged under AddressSanitizer (its leak check runs at exit)\n");
#else
	if (rss_third && rss_last - rss_third > 4 * 1024)
		fail("RSS under load grew from %ld kB (a third in) to %ld kB (the end)", rss_third,
		     rss_last);
#endif

	/* SIGTERM under load: good clients streaming (each subscribed: waited
	 * for, not slept on), the daemon exits 0 */
	atomic_store(&stop_good, false);
	for (i = 0; i < GOOD_CLIENTS; i++)
		pthread_create(&good_t[i], NULL, good_client, &good[i]);
	{
		bool all = false;

		for (double since = now(); !all && now() - since < HANG_S;) {
			all = stats(&st) && st.subscribers >= GOOD_CLIENTS;
			if (!all)
				sleep_ms(50);
		}
		if (!all)
			fail("the good clients did not all subscribe again in %d s", HANG_S);
	}
	kill(daemon_pid, SIGTERM);
	{
		double since = now();

		while ((exited = waitpid(daemon_pid, &status, WNOHANG)) == 0 &&
		       now() - since < HANG_S)
			sleep_ms(100);
	}
	if (exited != daemon_pid) {
		fail("the daemon did not exit within %d s of SIGTERM", HANG_S);
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, &status, 0);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fail("the daemon exited with status %d after SIGTERM under load", status);
	}
	atomic_store(&stop_good, true);
	for (i = 0; i < GOOD_CLIENTS; i++)
		pthread_join(good_t[i], NULL);

	printf("soak: faults injected:");
	for (i = 0; i < F_COUNT; i++)
		printf(" %s %lu", fault_names[i], atomic_load(&faults[i]));
	printf("\nsoak: good clients: %" PRIu64 " blocks, %" PRIu64 " bytes verified, %" PRIu64
	       " blocks lost (all reported)\n", total_blocks, total_bytes, total_lost);
	printf("soak: RSS %ld kB quiet at the start, %ld kB under load a third in, %ld kB under "
	       "load at the end, %ld kB quiet at the end; fds %d -> %d; SIGTERM under load: exit "
	       "%d\n", rss0, rss_third, rss_last, rss1, fds0, fds1,
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (total_blocks == 0)
		fail("the good clients received nothing");
	printf("soak: %s\n", failures ? "FAILED" : "every invariant held");
	return failures ? 1 : 0;
}
