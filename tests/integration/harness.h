/* SPDX-License-Identifier: MIT */
/*
 * Integration test harness: the real iiostreamd as a child process on
 * 127.0.0.1 (a free port it picks itself), real sockets, the real client
 * library. Raw-socket helpers let a test speak the protocol badly on purpose.
 */
#ifndef IIOSTREAM_TEST_HARNESS_H
#define IIOSTREAM_TEST_HARNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "iiostream.h"
#include "iiostream/frame.h"

/*
 * Tests wait for conditions, never for a time: a loaded machine (the
 * AddressSanitizer build, other work on the cores) makes everything slow,
 * and a test that expects something within N ms fails there for no fault
 * of the code. HANG_S bounds every wait only so that a hang ends in a
 * message saying what never came, not in ctest's timeout.
 */
#define HANG_S 60
#define HANG_MS 60000 /* HANG_S; a literal, for HARNESS_STR */
#define HARNESS_STR_(x) #x
#define HARNESS_STR(x) HARNESS_STR_(x)

/* CLOCK_MONOTONIC, in seconds. */
double mono_s(void);

/* Sleep `ms` milliseconds (a stimulus or a poll interval, never a wait for
 * something to have happened). */
void harness_sleep_ms(int ms);

/* Poll `cond` every 10 ms until it holds; after HANG_S fail the test with
 * "waited 60 s for " and the printf-style message that follows (a string
 * literal, then its arguments). */
#define WAIT_UNTIL(cond, ...)                                                                \
	do {                                                                                 \
		double wait_until_t0_ = mono_s();                                            \
		while (!(cond)) {                                                            \
			if (mono_s() - wait_until_t0_ > HANG_S)                               \
				cr_assert_fail("waited " HARNESS_STR(HANG_S) " s for "       \
					       __VA_ARGS__);                                 \
			harness_sleep_ms(10);                                                \
		}                                                                            \
	} while (0)

struct daemon {
	pid_t pid;
	uint16_t port;
	char url[64];
	uint16_t tls_port;    /* with --listen-tls: its port, else 0 */
	char tls_url[64];     /* "tls://localhost:PORT" */
	uint16_t iiod_port;   /* with --iiod-listen: its port, else 0 */
	char iiod_uri[64];    /* libiio's "ip:127.0.0.1:PORT" */
	uint16_t http_port;   /* with --http-listen: the first one's port, else 0 */
	char dir[64];         /* temp dir with the port file and log */
	char log_path[128];
};

/* Start iiostreamd with `args` (NULL-terminated, may be NULL) plus
 * --listen 127.0.0.1:0 --port-file; asserts that it came up. */
void daemon_start(struct daemon *d, const char *const *args);

/* The same, with the daemon's RLIMIT_NOFILE set to `max_fds`. */
void daemon_start_limited(struct daemon *d, const char *const *args, unsigned max_fds);

/* CPU time (user + system) the daemon has used, in seconds. */
double daemon_cpu_seconds(const struct daemon *d);

/* How long the daemon's loop thread has waited, runnable, for a CPU, in
 * seconds (run_delay of /proc/PID/schedstat): what a loaded machine has
 * taken from it. */
double daemon_cpu_wait_s(const struct daemon *d);

/* Scans the source lost to overflows while a test streamed (since
 * daemon_cpu_wait_s() read `wait0`) are the daemon's fault, unless the
 * machine held its loop back for at least as long as the ring of blocks
 * lasts (`ring_s`): then they may be the machine's, and the test goes on
 * (it still checks that every scan lost was reported). Fails the test
 * with `what` when `lost_samples` has no such excuse. */
void assert_overflow_excused(const struct daemon *d, double wait0, double ring_s,
			     uint64_t lost_samples, const char *what);

/* SIGTERM, then wait for the exit (asserting it comes within timeout_ms:
 * pass HANG_MS, exiting takes long on a loaded machine); returns the exit
 * status, or 128 + signal if it died of a signal. */
int daemon_stop(struct daemon *d, int timeout_ms);

/* Print the daemon's log to stderr (call when something failed). */
void daemon_dump_log(const struct daemon *d);

/* Does the daemon's log contain `text`? */
bool daemon_log_contains(const struct daemon *d, const char *text);

/* How many lines of the daemon's log hold `text`. */
int daemon_log_count(const struct daemon *d, const char *text);

/* A fresh directory /tmp/iiostream-WHAT-XXXXXX into dir (asserts), and its
 * removal with everything in it, for a test's files (certificates, configs).
 * Whatever a test leaves (and each daemon's dir) is removed when its process
 * exits, also after a failed assertion; ones older than a day, of killed
 * test processes, when a later run makes its first directory. */
void test_dir_make(char dir[64], const char *what);
void test_dir_remove(const char *dir);

/* Replace the file at path whole with text (written beside it, then
 * renamed): a daemon reading it sees the old one or the new one. Asserts. */
void test_file_replace(const char *path, const char *text);

/* Run iiostreamd with argv (NULL-terminated, without argv[0]) to its end;
 * returns its exit status and its stderr in `err`. */
int run_daemon_to_exit(const char *const *args, char *err, size_t errlen);

/* Run a command (argv NULL-terminated) to its end with stdout to
 * `out_path` (NULL: discarded) and stderr into err[errlen]; returns its exit
 * status, or -1 if it ran longer than timeout_ms (it is killed). */
int run_command(const char *const *argv, const char *out_path, char *err, size_t errlen,
		int timeout_ms);

/* The same, and how long the command's main thread waited, runnable, for
 * a CPU (run_delay of /proc/PID/schedstat, read as it exited) in
 * *cpu_wait_s: what a loaded machine took from it. */
int run_command_waited(const char *const *argv, const char *out_path, char *err, size_t errlen,
		       int timeout_ms, double *cpu_wait_s);

/* Connect with the library (I/O timeout HANG_MS); asserts success. */
struct iios_client *client_connect(const struct daemon *d);

/* Daemon statistics over a fresh connection; asserts success. */
void daemon_stats(const struct daemon *d, struct iios_stats *st);

/* Poll the stats until every block is back in the source (nothing held),
 * up to timeout_ms (pass HANG_MS). Returns true if it happened. */
bool wait_blocks_back(const struct daemon *d, int timeout_ms, struct iios_stats *st);

/* Raw TCP connection to the daemon (blocking; send and receive time out
 * after HANG_MS, a hang). */
int raw_connect(const struct daemon *d);

/* The same with SO_RCVBUF set before connecting (a small window). */
int raw_connect_rcvbuf(const struct daemon *d, int rcvbuf);

/* Send one Envelope as a frame. */
void raw_send_env(int fd, const Iiostream__Envelope *env);

/* Send a Hello with the given fields. */
void raw_send_hello(int fd, uint32_t magic, uint32_t vmin, uint32_t vmax);

/* Hello with this version, and assert the HelloReply. */
void raw_handshake(int fd);

/* Read one frame head; a block payload is read and dropped. Returns the
 * Envelope (free with iios_frame_free) or NULL on EOF/error. */
Iiostream__Envelope *raw_read_frame(int fd);

/* True if the peer has closed (EOF or reset) within timeout_ms (pass
 * HANG_MS: it returns as soon as the peer has closed). */
bool raw_wait_closed(int fd, int timeout_ms);

/* A client in a thread: connect, subscribe, receive and verify
 * want_blocks blocks, or with want_blocks 0 until `stop` is set. Results
 * are read by the main thread after join; `blocks` and `done` meanwhile. */
struct rx_job {
	const struct daemon *d;
	const char *url;                 /* NULL: d->url */
	const struct iios_options *opts; /* NULL: defaults; timeout_ms 0: HANG_MS */
	uint32_t want_blocks;            /* 0: until stop */
	atomic_bool stop;
	atomic_uint_fast64_t blocks;     /* received so far */
	atomic_bool done;                /* the thread is finished */
	int err;
	char errmsg[256];
	struct iios_stream_info info;
	struct iios_verify v;
	struct iios_counters counters;
};

/* pthread start routine (also callable directly): arg is a struct rx_job. */
void *rx_job_run(void *arg);

/* Wait until the job has received `n` blocks in all (failing, with its
 * error, if it ended first or after HANG_S); returns the count. */
uint64_t rx_job_wait_blocks(struct rx_job *job, uint64_t n);

/* The whole of a file, NUL-terminated (free() it); *len gets its length
 * unless len is NULL. Asserts that it can be read. */
char *file_slurp(const char *path, size_t *len);

/* The daemon's iiod-compatible port, spoken raw (iiod's text protocol):
 * a blocking connection (receive timeout HANG_S; rcvbuf > 0 sets
 * SO_RCVBUF, for a reader that is to fall behind), sending all of
 * text[len], and reading one reply line without its "\n". Each asserts
 * that it worked. */
int iiod_port_connect(const struct daemon *d, int rcvbuf);
void iiod_port_send(int fd, const char *text, size_t len);
void iiod_port_read_line(int fd, char *line, size_t cap);

#endif /* IIOSTREAM_TEST_HARNESS_H */
