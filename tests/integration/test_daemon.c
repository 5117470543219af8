// SPDX-License-Identifier: MIT
/*
 * The daemon as a process: start-up flags, SIGTERM under load, and the CLI
 * driving it the way the README does.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static const char *const moderate[] = { "--rate", "2000000", "--channels", "2",
					"--block-size", "64K", "--blocks", "16", NULL };

struct bad_flags {
	const char *args[4];
	const char *says;     /* the error must name this */
};

Test(daemon, bad_flags_exit_2_with_a_message_naming_the_flag)
{
	static const struct bad_flags cases[] = {
		{ { "--rate", "fast", NULL }, "--rate" },
		{ { "--rate", "-5", NULL }, "--rate" },
		{ { "--channels", "0", NULL }, "--channels" },
		{ { "--blocks", "1", NULL }, "--blocks" },
		{ { "--block-size", "1001", NULL }, "--block-size" },
		{ { "--listen", "127.0.0.1", NULL }, "--listen" },
		{ { "--source", "fpga", NULL }, "--source" },
		{ { "--log-level", "loud", NULL }, "--log-level" },
		{ { "--bogus", NULL }, "--bogus" },
		{ { "--rate", NULL }, "--rate" },
		{ { "stray", NULL }, "stray" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[1024];
		int rc = run_daemon_to_exit(cases[i].args, err, sizeof(err));

		cr_assert_eq(rc, 2, "case %zu (%s): exit %d, stderr: %s", i, cases[i].args[0], rc, err);
		cr_assert(strstr(err, cases[i].says), "case %zu: '%s' not in: %s", i, cases[i].says,
			  err);
	}
}

Test(daemon, help_and_version_exit_0)
{
	static const char *const help[] = { "--help", NULL };
	static const char *const version[] = { "--version", NULL };
	char err[256];

	cr_assert_eq(run_daemon_to_exit(help, err, sizeof(err)), 0);
	cr_assert_eq(run_daemon_to_exit(version, err, sizeof(err)), 0);
}

Test(daemon, port_in_use_fails_at_start_with_a_clear_error)
{
	struct daemon d;
	char listen[64], err[1024];
	const char *args[] = { "--listen", listen, NULL };

	daemon_start(&d, moderate);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", d.port);
	cr_assert_eq(run_daemon_to_exit(args, err, sizeof(err)), 1);
	cr_assert(strstr(err, "Address already in use"), "%s", err);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* The kernel source on a node that is not there, or is no block device:
 * the daemon says which node and why, and exits 1 before listening. */
Test(daemon, kernel_source_without_a_device_fails_with_a_clear_error)
{
	const char *missing[] = { "--source", "kernel:/dev/iio_block_missing", NULL };
	const char *not_a_node[] = { "--source", "kernel:/dev/null", NULL };
	const char *regular_file[] = { "--source", "kernel:/proc/version", NULL };
	char err[1024];

	cr_assert_eq(run_daemon_to_exit(missing, err, sizeof(err)), 1);
	cr_assert(strstr(err, "/dev/iio_block_missing") && strstr(err, "No such file"), "%s", err);
	/* /dev/null is a char device, but not one with a block interface */
	cr_assert_eq(run_daemon_to_exit(not_a_node, err, sizeof(err)), 1);
	cr_assert(strstr(err, "/dev/null"), "%s", err);
	cr_assert_eq(run_daemon_to_exit(regular_file, err, sizeof(err)), 1);
	cr_assert(strstr(err, "not a character device"), "%s", err);
}

struct streamer {
	const struct daemon *d;
	int end;          /* how iios_next_block ended */
	uint64_t blocks;
	uint64_t integrity_errors;
	atomic_uint_fast64_t received; /* so far */
	atomic_bool done;
};

static void *stream_until_end(void *arg)
{
	struct streamer *s = arg;
	struct iios_options o = { .timeout_ms = HANG_MS };
	struct iios_stream_info info;
	struct iios_verify v;
	struct iios_client *c;
	struct iios_block blk;
	char err[256];

	iios_verify_init(&v);
	s->end = iios_connect(s->d->url, &o, &c, err, sizeof(err));
	if (s->end) {
		atomic_store(&s->done, true);
		return NULL;
	}
	s->end = iios_subscribe(c, 0, &info);
	while (!s->end) {
		s->end = iios_next_block(c, &blk);
		if (!s->end) {
			iios_verify_block(&v, &info, &blk);
			atomic_fetch_add(&s->received, 1);
		}
	}
	s->blocks = v.blocks;
	s->integrity_errors = v.integrity_errors;
	iios_close(c);
	atomic_store(&s->done, true);
	return NULL;
}

Test(daemon, sigterm_with_clients_connected_exits_0_and_says_bye)
{
	struct daemon d;
	struct streamer s[3];
	pthread_t th[3];
	int idle, i;

	daemon_start(&d, moderate);
	for (i = 0; i < 3; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].d = &d;
		cr_assert_eq(pthread_create(&th[i], NULL, stream_until_end, &s[i]), 0);
	}
	idle = raw_connect(&d); /* connected, never says hello */
	/* SIGTERM once each client is streaming (not after a guess at how
	 * long that takes) */
	for (i = 0; i < 3; i++)
		WAIT_UNTIL(atomic_load(&s[i].received) > 0 || atomic_load(&s[i].done),
			   "client %d's first block", i);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0, "iiostreamd did not exit 0 on SIGTERM");
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		cr_assert(s[i].blocks > 0);
		cr_assert_eq(s[i].integrity_errors, 0);
		cr_assert_eq(s[i].end, -ESHUTDOWN, "client %d ended with %d, not Bye", i, s[i].end);
	}
	cr_assert(raw_wait_closed(idle, HANG_MS));
	close(idle);
	cr_assert(daemon_log_contains(&d, "16 of 16 blocks back in the source"));
}

/* A supervisor may repeat SIGTERM (and a user Ctrl-C) while the daemon is
 * already on its way out; the exit must stay the clean one, never a death
 * by the signal's default action once the loop's handlers are closed. */
Test(daemon, repeated_sigterm_during_shutdown_still_exits_0)
{
	struct iios_stream_info info;
	struct iios_client *c;
	struct daemon d;
	int status = -1, i = 0;

	daemon_start(&d, moderate);
	c = client_connect(&d);
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	/* a signal every 200 us until the daemon is gone (HANG_S at most) */
	for (double t0 = mono_s();; i++) {
		if (kill(d.pid, i % 7 == 3 ? SIGINT : SIGTERM) != 0)
			break;
		if (waitpid(d.pid, &status, WNOHANG) == d.pid)
			break;
		if (mono_s() - t0 > HANG_S)
			cr_assert_fail("iiostreamd still running after " HARNESS_STR(HANG_S)
				       " s of SIGTERM");
		usleep(200);
	}
	d.pid = 0;
	iios_close(c);
	cr_assert(WIFEXITED(status), "iiostreamd died by signal %d, not a clean exit",
		  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	cr_assert_eq(WEXITSTATUS(status), 0);
	cr_assert(daemon_log_contains(&d, "16 of 16 blocks back in the source"));
}

/* Run the CLI, return its exit status and its stdout. */
static int run_cli(const char *const *args, char *out, size_t outlen)
{
	const char *argv[32] = { IIOSTREAM_CLI_PATH };
	int p[2], status, n = 1, i;
	size_t got = 0;
	pid_t pid;

	for (i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	cr_assert(pipe(p) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execv(IIOSTREAM_CLI_PATH, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], out + got, outlen - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	out[got] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Test(daemon, cli_rx_verify_json_reports_a_clean_stream)
{
	struct daemon d;
	char out[8192], *last;
	const char *args[] = { "rx", "--url", NULL, "--blocks", "50", "--verify", "--json",
			       "--quiet", "--timeout", HARNESS_STR(HANG_MS), NULL };

	daemon_start(&d, moderate);
	args[2] = d.url;
	cr_assert_eq(run_cli(args, out, sizeof(out)), 0, "stdout: %s", out);
	last = strrchr(out, '{');
	cr_assert_not_null(last, "no JSON in: %s", out);
	cr_assert(strstr(last, "\"blocks\":50,"), "%s", last);
	cr_assert(strstr(last, "\"integrity_errors\":0,"), "%s", last);
	{
		/* delivery latency, same host: present, ordered, and sane */
		double p50 = -1, p99 = -1, max = -1;
		const char *q = strstr(last, "\"latency_p50_ms\":");

		cr_assert(q && sscanf(q, "\"latency_p50_ms\":%lf,\"latency_p99_ms\":%lf,"
				     "\"latency_max_ms\":%lf", &p50, &p99, &max) == 3, "%s", last);
		/* (latency is the machine's: under load it is long, and the bound
		 * only catches nonsense such as a clock mixed up) */
		cr_assert(p50 > 0 && p50 <= p99 && p99 <= max && max < HANG_MS, "%s", last);
	}
	cr_assert(strstr(last, "\"lost_blocks\":0,"), "%s", last);
	cr_assert(strstr(last, "\"verified\":true"), "%s", last);
	cr_assert(strstr(last, "\"mbytes_per_s\":"), "%s", last);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(daemon, cli_refuses_bad_usage_with_exit_2)
{
	char out[1024];
	static const char *const bad_flag[] = { "rx", "--sconds", "3", NULL };
	static const char *const bad_num[] = { "rx", "--blocks", "many", NULL };
	static const char *const bad_cmd[] = { "transmit", NULL };

	cr_assert_eq(run_cli(bad_flag, out, sizeof(out)), 2);
	cr_assert_eq(run_cli(bad_num, out, sizeof(out)), 2);
	cr_assert_eq(run_cli(bad_cmd, out, sizeof(out)), 2);
}

/* Every command words a refused command line the same way: one line naming
 * the command and what it refused, then where help is; exit 2, no server
 * contacted (the default URL has no daemon behind it here). */
Test(daemon, every_cli_command_names_a_refused_option_or_argument)
{
	static const struct {
		const char *args[5];
		const char *says;
	} cases[] = {
		{ { "rx", "--sconds", "3" }, "iiostream rx: unknown option '--sconds'" },
		{ { "rx", "--blocks" }, "iiostream rx: --blocks needs a value" },
		{ { "rx", "extra" }, "iiostream rx: unexpected argument 'extra'" },
		{ { "info", "--bogus" }, "iiostream info: unknown option '--bogus'" },
		{ { "info", "--url" }, "iiostream info: --url needs a value" },
		{ { "stats", "now" }, "iiostream stats: unexpected argument 'now'" },
		{ { "attr", "--device" }, "iiostream attr: --device needs a value" },
		{ { "attr", "--nope", "get", "x" }, "iiostream attr: unknown option '--nope'" },
		{ { "verify", "--zz", "f" }, "iiostream verify: unknown option '--zz'" },
		{ { "verify", "--channels" }, "iiostream verify: --channels needs a value" },
		{ { "discover", "--seconds" }, "iiostream discover: --seconds needs a value" },
		{ { "discover", "foo" }, "iiostream discover: unexpected argument 'foo'" },
	};
	char err[2048], help[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[8] = { IIOSTREAM_CLI_PATH };
		int n;

		for (n = 0; cases[i].args[n]; n++)
			argv[n + 1] = cases[i].args[n];
		cr_assert_eq(run_command(argv, NULL, err, sizeof(err), HANG_MS), 2, "%s: %s",
			     cases[i].says, err);
		cr_assert(strncmp(err, cases[i].says, strlen(cases[i].says)) == 0,
			  "wanted \"%s\", got \"%s\"", cases[i].says, err);
		snprintf(help, sizeof(help), "\nTry 'iiostream %s --help'.\n", cases[i].args[0]);
		cr_assert(strstr(err, help), "no help pointer in \"%s\"", err);
	}
}

Test(daemon, cli_reports_an_unreachable_server_with_exit_1)
{
	char out[1024];
	/* Port 1 on loopback: nobody listens there. */
	static const char *const args[] = { "rx", "--url", "tcp://127.0.0.1:1", "--blocks", "1", NULL };

	cr_assert_eq(run_cli(args, out, sizeof(out)), 1);
}

Test(daemon, cli_rx_output_writes_exactly_the_bytes_received)
{
	struct daemon d;
	char out[8192], path[160];
	const char *args[] = { "rx", "--url", NULL, "--blocks", "12", "--output", path, "--json",
			       "--quiet", "--timeout", HARNESS_STR(HANG_MS), NULL };
	struct stat sb;

	daemon_start(&d, moderate);
	args[2] = d.url;
	snprintf(path, sizeof(path), "%s/samples.bin", d.dir);
	cr_assert_eq(run_cli(args, out, sizeof(out)), 0, "stdout: %s", out);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_size, 12 * 65536);
	cr_assert(strstr(out, "\"bytes\":786432,"), "%s", out);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(daemon, listens_and_streams_on_ipv6_loopback)
{
	static const char *const args[] = { "--listen", "[::1]:0", "--rate", "2000000",
					    "--block-size", "64K", NULL };
	struct iios_options o = { .timeout_ms = HANG_MS };
	struct daemon d;
	struct iios_client *c;
	struct iios_stream_info info;
	struct iios_block blk;
	char url[64], err[256];
	int probe = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	if (probe < 0 || bind(probe, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (probe >= 0)
			close(probe);
		cr_skip_test("no IPv6 loopback on this machine");
	}
	close(probe);
	daemon_start(&d, args);
	snprintf(url, sizeof(url), "tcp://[::1]:%u", d.port);
	cr_assert_eq(iios_connect(url, &o, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_next_block(c, &blk), 0, "%s", iios_errmsg(c));
	iios_close(c);
	cr_assert(daemon_log_contains(&d, "[::1]"), "peer not logged as IPv6");
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}
