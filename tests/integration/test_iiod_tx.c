// SPDX-License-Identifier: MIT
/*
 * Transmit through the iiod-compatible port: Debian's iio_writedev (libiio
 * 0.24, run as a program with -u ip:127.0.0.1:PORT) writes the sample
 * pattern into the sim's DAC, whose loopback feeds what it plays into the
 * sim's ADC, where a native connection receives it and every sample is
 * checked: a plain buffer's pattern exactly, in order, without a gap; a
 * cyclic buffer's block repeated whole. A second OPEN of the DAC is
 * refused naming its owner; a client gone in the middle of a WRITEBUF
 * leaves every block back and every credit to the next owner. The raw
 * tests speak iiod's protocol on a socket, in libiio's order.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "iiostream/pattern.h"
#include "loopback.h"

#define CHANNELS LOOPBACK_CHANNELS
#define SCAN_BYTES LOOPBACK_SCAN_BYTES
#define BLOCK_BYTES 65536u
#define BLOCK_SCANS (BLOCK_BYTES / SCAN_BYTES)

/* A sim board at 1 MS/s with its DAC: blocks of 64 KiB (16384 scans,
 * 16 ms), rings of 32 blocks (half a second). */
static const char *const board[] = {
	"--source", "sim:channels=2,rate=1M", "--block-size", "64K", "--blocks", "32",
	"--iiod-listen", "127.0.0.1:0", NULL,
};

/* ---- the daemon's side ---- */

/* The DAC's line of the daemon's Stats. */
static struct iios_tx_stream_stats dac_stats(const struct daemon *d)
{
	struct iios_stats st;

	daemon_stats(d, &st);
	cr_assert_eq(st.n_tx, 1, "one DAC beside the sim ADC");
	return st.tx[0];
}

/* Wait until the DAC holds no block and nobody transmits (a plain
 * buffer's queue has played out). */
static struct iios_tx_stream_stats wait_dac_idle(const struct daemon *d)
{
	struct iios_tx_stream_stats ts;

	WAIT_UNTIL((ts = dac_stats(d), ts.blocks_in_device == 0 && !ts.transmitting),
		   "the DAC to be idle (%u blocks in it, transmitting %d)", ts.blocks_in_device,
		   ts.transmitting);
	return ts;
}

/* ---- iio_writedev ---- */

/* `scans` pattern scans from scan 0 into a file of the test's dir. */
static void pattern_file(const struct daemon *d, char *path, size_t cap, uint32_t scans)
{
	uint8_t *buf = malloc((size_t)scans * SCAN_BYTES);
	FILE *f;

	cr_assert_not_null(buf);
	iios_pattern_fill(buf, 0, scans, CHANNELS);
	snprintf(path, cap, "%s/pattern.bin", d->dir);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, SCAN_BYTES, scans, f), scans);
	cr_assert_eq(fclose(f), 0);
	free(buf);
}

/* Start iio_writedev (-T a hang's time) with stdin from `in`, its output
 * and errors into `log`. */
static pid_t writedev_spawn(const struct daemon *d, const char *in, const char *log,
			    const char *const *args)
{
	const char *argv[24] = { "iio_writedev", "-u", d->iiod_uri, "-T", HARNESS_STR(HANG_MS) };
	int n = 5;
	pid_t pid;

	for (int i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fi = open(in, O_RDONLY), fo = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fi < 0 || fo < 0)
			_exit(126);
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fo, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Its exit status (128 + signal if it died of one), within a hang's time. */
static int writedev_wait(pid_t pid)
{
	int status = 0;
	double t0 = mono_s();

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (mono_s() - t0 > HANG_S) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			cr_assert_fail("iio_writedev ran for %d s", HANG_S);
		}
		harness_sleep_ms(10);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- raw iiod ---- */

static void expect_line(int fd, const char *want, const char *what)
{
	char line[256];

	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_str_eq(line, want, "%s: '%s', expected '%s'", what, line, want);
}

static void send_text(int fd, const char *text)
{
	iiod_port_send(fd, text, strlen(text));
}

/* ---- tests ---- */

Test(iiod_tx, iio_info_lists_the_dac_as_buffer_capable_with_output_channels)
{
	struct daemon d;
	char out[160], *text;
	char err[2048];

	daemon_start(&d, board);
	snprintf(out, sizeof(out), "%s/info.txt", d.dir);
	cr_assert_eq(run_command((const char *const[]){ "iio_info", "-u", d.iiod_uri, NULL }, out,
				 err, sizeof(err), HANG_MS),
		     0, "iio_info: %s", err);
	text = file_slurp(out, NULL);
	cr_assert(strstr(text, "sim-dac: iiostream-sim-dac (buffer capable)"), "%s", text);
	cr_assert(strstr(text, "voltage0:  (output, index: 0, format: le:S16/16>>0)"), "%s", text);
	cr_assert(strstr(text, "voltage1:  (output, index: 1, format: le:S16/16>>0)"), "%s", text);
	free(text);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* iio_writedev -b per_push of `pushes` buffers of the pattern: played
 * exactly, without a gap, in `blocks` blocks of the DAC. */
static void writedev_plain(uint32_t per_push, uint32_t pushes, uint32_t blocks)
{
	struct daemon d;
	struct capture cp;
	struct iios_tx_stream_stats ts;
	char in[160], log[160], b[16], s[16], open_line[96];
	uint32_t total = per_push * pushes;
	size_t at;
	int r;

	daemon_start(&d, board);
	set_loopback(&d, "1");
	pattern_file(&d, in, sizeof(in), total);
	snprintf(log, sizeof(log), "%s/writedev.txt", d.dir);
	snprintf(b, sizeof(b), "%u", per_push);
	snprintf(s, sizeof(s), "%u", total);
	capture_start(&cp, &d, 64u << 20);
	r = writedev_wait(writedev_spawn(&d, in, log,
					 (const char *const[]){ "-b", b, "-s", s, "sim-dac", NULL }));
	if (r)
		daemon_dump_log(&d);
	cr_assert_eq(r, 0, "iio_writedev exited %d: %s", r, file_slurp(log, NULL));
	/* its buffer closed: what it pushed plays out, then the DAC stops */
	ts = wait_dac_idle(&d);
	capture_finish(&cp, 4);
	at = first_sound(cp.buf, cp.len / SCAN_BYTES);
	at = expect_run(&cp, at, 0, total, "the pattern iio_writedev wrote");
	expect_silence_to_end(&cp, at, "after it");
	cr_assert_eq(ts.blocks_received, blocks, "%u pushes of %u scans in %u blocks", pushes,
		     per_push, blocks);
	cr_assert_eq(ts.blocks_played, blocks);
	cr_assert_eq(ts.bytes_played, (uint64_t)total * SCAN_BYTES);
	/* iio_writedev kept up: no underflow, but one at the very end when it
	 * closed its buffer after the DAC had played it all (a slow exit),
	 * logged with its last sample's position */
	if (ts.underflows) {
		char end[96];

		snprintf(end, sizeof(end), "the last before its sample %u;", total);
		cr_assert_eq(daemon_log_count(&d, "ran dry: "), daemon_log_count(&d, end),
			     "%" PRIu64 " underflows, not all at the end", ts.underflows);
		cr_assert_gt(daemon_log_count(&d, end), 0, "underflows not logged");
	}
	snprintf(open_line, sizeof(open_line), "plain output buffer of %u samples open on sim-dac",
		 per_push);
	cr_assert(daemon_log_contains(&d, open_line));
	free(cp.buf);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	cr_assert(daemon_log_contains(&d, "32 of 32 blocks free"), "every DAC block back");
}

/* Buffers smaller than the DAC's blocks: a block per push, partly filled. */
Test(iiod_tx, iio_writedev_plays_exactly_what_it_wrote_without_a_gap)
{
	writedev_plain(12000, 40, 40);
}

/* Buffers larger than a block: each push fills blocks in turn (40000
 * scans: two whole blocks of 16384 and one of 7232). */
Test(iiod_tx, iio_writedev_pushes_larger_than_a_block_span_blocks)
{
	writedev_plain(40000, 12, 36);
}

Test(iiod_tx, iio_writedev_of_one_channel_plays_it_and_the_other_is_silent)
{
	struct daemon d;
	struct capture cp;
	struct iios_tx_stream_stats ts;
	char in[160], log[160];
	uint32_t per_push = 10000, total = per_push * 30, i;
	uint8_t *one = malloc((size_t)total * 2);
	size_t at, scans;
	FILE *f;
	int r;

	cr_assert_not_null(one);
	daemon_start(&d, board);
	set_loopback(&d, "1");
	/* voltage1's samples of the pattern alone: a scan of one channel */
	for (i = 0; i < total; i++) {
		uint16_t v = iios_pattern_sample(i, 1);

		one[2 * i] = (uint8_t)v;
		one[2 * i + 1] = (uint8_t)(v >> 8);
	}
	snprintf(in, sizeof(in), "%s/voltage1.bin", d.dir);
	f = fopen(in, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(one, 2, total, f), total);
	cr_assert_eq(fclose(f), 0);
	snprintf(log, sizeof(log), "%s/writedev.txt", d.dir);
	capture_start(&cp, &d, 64u << 20);
	r = writedev_wait(writedev_spawn(&d, in, log,
					 (const char *const[]){ "-b", "10000", "-s", "300000", "sim-dac",
								"voltage1", NULL }));
	if (r)
		daemon_dump_log(&d);
	cr_assert_eq(r, 0, "iio_writedev exited %d: %s", r, file_slurp(log, NULL));
	ts = wait_dac_idle(&d);
	capture_finish(&cp, 4);
	cr_assert_eq(ts.bytes_played, (uint64_t)total * SCAN_BYTES, "whole scans of the DAC");
	/* the first scan with sound has voltage1's pattern scan 0; voltage0
	 * is silent throughout */
	scans = cp.len / SCAN_BYTES;
	at = first_sound(cp.buf, scans);
	cr_assert_leq(at + total, scans, "the capture holds the transmission");
	for (i = 0; i < total; i++) {
		const uint8_t *sc = cp.buf + (at + i) * SCAN_BYTES;
		uint16_t v0 = (uint16_t)(sc[0] | sc[1] << 8), v1 = (uint16_t)(sc[2] | sc[3] << 8);

		cr_assert(v0 == 0 && v1 == iios_pattern_sample(i, 1),
			  "scan %u: voltage0 %u (want 0), voltage1 %u (want %u)", i, v0, v1,
			  iios_pattern_sample(i, 1));
	}
	expect_silence_to_end(&cp, at + total, "after it");
	cr_assert(daemon_log_contains(&d, "(spread into its scans, the others silent)"));
	free(one);
	free(cp.buf);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(iiod_tx, iio_writedev_cyclic_loops_its_buffer_whole_and_stops_when_it_closes)
{
	struct daemon d;
	struct capture cp;
	char in[160], log[160], log2[160];
	uint32_t per_push = 10000, reps = 0;
	size_t at, scans;
	char *text;
	pid_t pid;
	int r;

	daemon_start(&d, board);
	set_loopback(&d, "1");
	pattern_file(&d, in, sizeof(in), per_push);
	snprintf(log, sizeof(log), "%s/writedev.txt", d.dir);
	snprintf(log2, sizeof(log2), "%s/writedev2.txt", d.dir);
	capture_start(&cp, &d, 64u << 20);
	pid = writedev_spawn(&d, in, log,
			     (const char *const[]){ "-c", "-b", "10000", "sim-dac", NULL });
	/* twenty repetitions heard */
	WAIT_UNTIL(sound_scans(&cp) >= 20 * per_push, "20 repetitions in the capture");
	/* meanwhile another writer is refused: the DAC has one owner */
	r = writedev_wait(writedev_spawn(&d, in, log2,
					 (const char *const[]){ "-b", "1000", "sim-dac", NULL }));
	text = file_slurp(log2, NULL);
	cr_assert_neq(r, 0, "a second writer of the DAC: %s", text);
	cr_assert(strstr(text, "Device or resource busy"), "%s", text);
	free(text);
	cr_assert(daemon_log_contains(&d, "OPEN sim-dac refused: iiostream-sim-dac (sim-dac) is "
					  "being transmitted to by iiod client"));
	cr_assert(dac_stats(&d).cyclic, "Stats say the DAC loops a block");
	/* destroying a cyclic buffer stops it */
	kill(pid, SIGINT);
	r = writedev_wait(pid);
	cr_assert(r == 0 || r == 128 + SIGINT, "iio_writedev -c exited %d: %s", r,
		  file_slurp(log, NULL));
	wait_dac_idle(&d);
	capture_finish(&cp, 4);
	scans = cp.len / SCAN_BYTES;
	at = first_sound(cp.buf, scans);
	/* whole repetitions, back to back */
	while (at + per_push <= scans && scan_is(cp.buf + at * SCAN_BYTES, 0) &&
	       scan_is(cp.buf + (at + per_push - 1) * SCAN_BYTES, per_push - 1)) {
		at = expect_run(&cp, at, 0, per_push, "a repetition");
		reps++;
	}
	cr_assert_geq(reps, 20, "%u whole repetitions", reps);
	/* the stop may cut the last one: a start of it, then silence */
	for (uint64_t k = 0; at < scans && !scan_is_silence(cp.buf + at * SCAN_BYTES); k++, at++)
		cr_assert(k < per_push && scan_is(cp.buf + at * SCAN_BYTES, k),
			  "scan %" PRIu64 " of the last repetition (capture scan %zu)", k, at);
	expect_silence_to_end(&cp, at, "after the buffer closed");
	free(cp.buf);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	cr_assert(daemon_log_contains(&d, "32 of 32 blocks free"), "every DAC block back");
}

Test(iiod_tx, a_cyclic_buffer_larger_than_a_block_is_refused_clearly)
{
	struct daemon d;
	int fd;

	daemon_start(&d, board);
	fd = iiod_port_connect(&d, 0);
	send_text(fd, "OPEN sim-dac 16385 00000003 CYCLIC\r\n");
	expect_line(fd, "-27", "a cyclic buffer of a block and a scan");
	cr_assert(daemon_log_contains(&d, "a cyclic buffer loops as one block"));
	send_text(fd, "OPEN sim-dac 16384 00000000\r\n");
	expect_line(fd, "-22", "no channel");
	send_text(fd, "OPEN sim-dac 16384 0000000000000003\r\n");
	expect_line(fd, "-22", "a mask of two words for two channels");
	send_text(fd, "WRITEBUF sim-dac 4096\r\n");
	expect_line(fd, "-9", "WRITEBUF without OPEN");
	send_text(fd, "OPEN sim-dac 16384 00000003 CYCLIC\r\n");
	expect_line(fd, "0", "a cyclic buffer of a block");
	send_text(fd, "WRITEBUF sim-dac 65540\r\n");
	expect_line(fd, "-27", "a WRITEBUF over a block to a cyclic buffer");
	send_text(fd, "CLOSE sim-dac\r\n");
	expect_line(fd, "0", "CLOSE");
	close(fd);
	wait_dac_idle(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(iiod_tx, a_client_gone_mid_writebuf_leaks_nothing)
{
	struct daemon d;
	struct iios_tx_stream_stats ts;
	struct iios_client *c;
	struct iios_tx_info info;
	struct iios_tx_status st;
	uint8_t *buf = malloc(BLOCK_BYTES);
	int fd, i;

	cr_assert_not_null(buf);
	daemon_start(&d, board);
	fd = iiod_port_connect(&d, 0);
	send_text(fd, "OPEN sim-dac 16384 00000003\r\n");
	expect_line(fd, "0", "OPEN");
	/* three whole WRITEBUFs, in libiio's order: the replies read before
	 * the next one */
	for (i = 0; i < 3; i++) {
		iios_pattern_fill(buf, (uint64_t)i * BLOCK_SCANS, BLOCK_SCANS, CHANNELS);
		send_text(fd, "WRITEBUF sim-dac 65536\r\n");
		iiod_port_send(fd, (const char *)buf, BLOCK_BYTES);
		expect_line(fd, "0", "WRITEBUF's first reply");
		expect_line(fd, "65536", "WRITEBUF's second reply");
	}
	/* a fourth, gone a third of the way in */
	send_text(fd, "WRITEBUF sim-dac 65536\r\n");
	iiod_port_send(fd, (const char *)buf, BLOCK_BYTES / 3);
	expect_line(fd, "0", "WRITEBUF's first reply");
	ts = dac_stats(&d);
	cr_assert(ts.transmitting);
	cr_assert(strstr(ts.owner_peer, "iiod client"), "owner '%s'", ts.owner_peer);
	close(fd);
	WAIT_UNTIL(daemon_log_contains(&d, "left in the middle of a WRITEBUF"),
		   "the daemon to see the client go");
	ts = wait_dac_idle(&d);
	cr_assert_eq(ts.blocks_received, 3, "the partial block never went to the device");
	cr_assert_eq(ts.blocks_in_device, 0);
	/* the next owner has every block */
	c = client_connect(&d);
	cr_assert_eq(iios_tx_start(c, "sim-dac", NULL, &info), 0, "%s", iios_errmsg(c));
	cr_assert_eq(iios_tx_status(c, &st), 0, "%s", iios_errmsg(c));
	cr_assert_eq(st.credits, info.block_count, "credits %" PRIu64 " of %u blocks", st.credits,
		     info.block_count);
	cr_assert_eq(iios_tx_stop(c, false, &st), 0, "%s", iios_errmsg(c));
	iios_close(c);
	free(buf);
	wait_dac_idle(&d);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	cr_assert(daemon_log_contains(&d, "32 of 32 blocks free"), "every DAC block back");
}

Test(iiod_tx, a_writer_that_outruns_the_dac_is_held_by_tcp_and_loses_nothing)
{
	struct daemon d;
	struct capture cp;
	struct iios_tx_stream_stats ts;
	uint8_t *buf = malloc(BLOCK_BYTES);
	uint32_t i, n = 96; /* three rings' worth, as fast as the socket takes it */
	size_t at;
	int fd;

	cr_assert_not_null(buf);
	daemon_start(&d, board);
	set_loopback(&d, "1");
	capture_start(&cp, &d, 64u << 20);
	fd = iiod_port_connect(&d, 0);
	send_text(fd, "OPEN sim-dac 16384 00000003\r\n");
	expect_line(fd, "0", "OPEN");
	for (i = 0; i < n; i++) {
		char cmd[64];

		/* libiio's plain push: the previous WRITEBUF's replies first */
		if (i) {
			expect_line(fd, "0", "WRITEBUF's first reply");
			expect_line(fd, "65536", "WRITEBUF's second reply");
		}
		snprintf(cmd, sizeof(cmd), "WRITEBUF sim-dac %u\r\n", BLOCK_BYTES);
		iios_pattern_fill(buf, (uint64_t)i * BLOCK_SCANS, BLOCK_SCANS, CHANNELS);
		send_text(fd, cmd);
		iiod_port_send(fd, (const char *)buf, BLOCK_BYTES);
		ts = dac_stats(&d);
		cr_assert_leq(ts.blocks_in_device, ts.blocks_total);
	}
	expect_line(fd, "0", "the last WRITEBUF's first reply");
	expect_line(fd, "65536", "the last WRITEBUF's second reply");
	send_text(fd, "CLOSE sim-dac\r\n");
	expect_line(fd, "0", "CLOSE");
	close(fd);
	ts = wait_dac_idle(&d);
	capture_finish(&cp, 4);
	at = first_sound(cp.buf, cp.len / SCAN_BYTES);
	at = expect_run(&cp, at, 0, (uint64_t)n * BLOCK_SCANS, "the pattern written");
	expect_silence_to_end(&cp, at, "after it");
	cr_assert_eq(ts.blocks_played, n);
	cr_assert_eq(ts.underflows, 0);
	free(buf);
	free(cp.buf);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* Push `n` whole blocks of the pattern from block `first`, in libiio's
 * order (each WRITEBUF's replies before the next). */
static void push_blocks(int fd, uint8_t *buf, uint32_t first, uint32_t n)
{
	for (uint32_t i = first; i < first + n; i++) {
		iios_pattern_fill(buf, (uint64_t)i * BLOCK_SCANS, BLOCK_SCANS, CHANNELS);
		send_text(fd, "WRITEBUF sim-dac 65536\r\n");
		iiod_port_send(fd, (const char *)buf, BLOCK_BYTES);
		expect_line(fd, "0", "WRITEBUF's first reply");
		expect_line(fd, "65536", "WRITEBUF's second reply");
	}
}

Test(iiod_tx, underflows_are_logged_with_the_client_and_its_sample_position)
{
	struct daemon d;
	struct iios_tx_stream_stats ts;
	uint8_t *buf = malloc(BLOCK_BYTES);
	char pos[96];
	int fd;

	cr_assert_not_null(buf);
	daemon_start(&d, board);
	fd = iiod_port_connect(&d, 0);
	send_text(fd, "OPEN sim-dac 16384 00000003\r\n");
	expect_line(fd, "0", "OPEN");
	/* half the ring starts the DAC; then the writer pauses: it runs dry
	 * after the writer's scan 16 * 16384 */
	push_blocks(fd, buf, 0, 16);
	snprintf(pos, sizeof(pos), "the last before its sample %u;", 16 * BLOCK_SCANS);
	WAIT_UNTIL(daemon_log_contains(&d, pos), "the underflow logged at %u", 16 * BLOCK_SCANS);
	cr_assert(daemon_log_contains(&d, "): sim-dac ran dry: 1 underflow (1 in all"));
	cr_assert(daemon_log_contains(&d, "a libiio client cannot be told"));
	ts = dac_stats(&d);
	cr_assert_geq(ts.underflows, 1, "Stats.tx counts it");
	/* one more block, and dry again within the second: held back by the
	 * rate limit, said when the buffer closes */
	push_blocks(fd, buf, 16, 1);
	WAIT_UNTIL((ts = dac_stats(&d), ts.underflows >= 2), "the second underflow in Stats");
	send_text(fd, "CLOSE sim-dac\r\n");
	expect_line(fd, "0", "CLOSE");
	snprintf(pos, sizeof(pos), "the last before its sample %u;", 17 * BLOCK_SCANS);
	WAIT_UNTIL(daemon_log_contains(&d, pos), "the second underflow logged at %u",
		   17 * BLOCK_SCANS);
	cr_assert(daemon_log_contains(&d, "(2 in all"), "the close says them all");
	close(fd);
	wait_dac_idle(&d);
	free(buf);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}
