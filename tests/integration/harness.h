/* SPDX-License-Identifier: MIT */
/*
 * Integration test harness: the real iiostreamd as a child process on
 * 127.0.0.1 (a free port it picks itself), real sockets, the real client
 * library. Raw-socket helpers let a test speak the protocol badly on purpose.
 */
#ifndef IIOSTREAM_TEST_HARNESS_H
#define IIOSTREAM_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "iiostream.h"
#include "iiostream/frame.h"

struct daemon {
	pid_t pid;
	uint16_t port;
	char url[64];
	uint16_t tls_port;    /* with --listen-tls: its port, else 0 */
	char tls_url[64];     /* "tls://localhost:PORT" */
	uint16_t iiod_port;   /* with --iiod-listen: its port, else 0 */
	char iiod_uri[64];    /* libiio's "ip:127.0.0.1:PORT" */
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

/* SIGTERM, then wait (asserting it exits within timeout_ms); returns the
 * exit status, or 128 + signal if it died of a signal. */
int daemon_stop(struct daemon *d, int timeout_ms);

/* Print the daemon's log to stderr (call when something failed). */
void daemon_dump_log(const struct daemon *d);

/* Does the daemon's log contain `text`? */
bool daemon_log_contains(const struct daemon *d, const char *text);

/* Run iiostreamd with argv (NULL-terminated, without argv[0]) to its end;
 * returns its exit status and its stderr in `err`. */
int run_daemon_to_exit(const char *const *args, char *err, size_t errlen);

/* Run a command (argv NULL-terminated) to its end with stdout to
 * `out_path` (NULL: discarded) and stderr into err[errlen]; returns its exit
 * status, or -1 if it ran longer than timeout_ms (it is killed). */
int run_command(const char *const *argv, const char *out_path, char *err, size_t errlen,
		int timeout_ms);

/* Connect with the library; asserts success. */
struct iios_client *client_connect(const struct daemon *d);

/* Daemon statistics over a fresh connection; asserts success. */
void daemon_stats(const struct daemon *d, struct iios_stats *st);

/* Poll the stats until every block is back in the source (nothing held),
 * up to timeout_ms. Returns true if it happened. */
bool wait_blocks_back(const struct daemon *d, int timeout_ms, struct iios_stats *st);

/* Raw TCP connection to the daemon (blocking, 5 s send/receive timeouts). */
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

/* True if the peer has closed (EOF or reset) within timeout_ms. */
bool raw_wait_closed(int fd, int timeout_ms);

/* A client in a thread: connect, subscribe, receive and verify
 * want_blocks blocks. Results are read by the main thread after join. */
struct rx_job {
	const struct daemon *d;
	const char *url;                 /* NULL: d->url */
	const struct iios_options *opts; /* NULL: defaults */
	uint32_t want_blocks;
	int err;
	char errmsg[256];
	struct iios_stream_info info;
	struct iios_verify v;
	struct iios_counters counters;
};

/* pthread start routine (also callable directly): arg is a struct rx_job. */
void *rx_job_run(void *arg);

#endif /* IIOSTREAM_TEST_HARNESS_H */
