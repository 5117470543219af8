// SPDX-License-Identifier: MIT
/*
 * The live spectrum through the real daemon: iiostreamd on the sim source
 * with --http-listen, and WebSocket viewers written here in C over real
 * loopback sockets (ws_client.h), as a browser would connect:
 *   - the handshake, the description, frames at the predicted peak (the
 *     sim's pattern puts it at +25033/65536 fs, tests/unit/test_spectrum.c
 *     works it out), a viewer changing its spectrum, refusals;
 *   - viewers of one spectrum share one computation; nothing is computed
 *     or captured once they have gone;
 *   - a viewer that never reads costs a native client streaming beside it
 *     nothing (every block verified, none skipped) and skips frames, counted
 *     and told in the frames it gets once it reads again;
 *   - a shutdown with viewers watching (one stalled) ends cleanly.
 * Every test ends with the daemon's exit status: 0 only if every block came
 * back and no handle was left (and no leak, under ASan).
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "spectrum_frame.h"
#include "ws_client.h"

/* 2 channels at 2 M scans/s: 8 MB/s, a 64 KiB block every 8 ms (as
 * test_stream.c's moderate stream); the ring of 16 lasts 131 ms. */
#define RATE 2000000
#define RING_S (16 * 65536 / (RATE * 4.0))
static const char *const args[] = { "--rate", "2000000", "--channels", "2", "--block-size", "64K",
				    "--blocks", "16", "--http-listen", "127.0.0.1:0", NULL };

#define SIM_PEAK_NUM 25033u /* (65536 - 0x9e37): the sim's peak is at 25033/65536 fs */

static uint32_t peak_bin_iq(uint32_t bins)
{
	return bins / 2 + (uint32_t)lround((double)SIM_PEAK_NUM * bins / 65536.0);
}

static uint32_t peak_bin_real(uint32_t bins)
{
	return (uint32_t)lround((double)SIM_PEAK_NUM * 2 * bins / 65536.0);
}

static void open_viewer(struct ws_client *c, const struct daemon *d, const char *target,
			int rcvbuf)
{
	char body[256];
	int ret = ws_client_open(c, d->http_port, target, rcvbuf, body, sizeof(body), HANG_MS);

	if (ret != 101)
		daemon_dump_log(d);
	cr_assert_eq(ret, 101, "%s: %d %s", target, ret, ret > 0 ? body : strerror(-ret));
}

/* The next text message, NUL-terminated into out[cap]. */
static void read_text(struct ws_client *c, char *out, size_t cap)
{
	const uint8_t *data;
	size_t len;
	int op;

	do {
		op = ws_client_read(c, HANG_MS, &data, &len);
		cr_assert_geq(op, 0, "read: %s", strerror(-op));
	} while (op == WS_BINARY);
	cr_assert_eq(op, WS_TEXT);
	snprintf(out, cap, "%.*s", (int)len, (const char *)data);
}

/* The next frame of `bins` bins (frames of an earlier size still in
 * flight are passed over). */
static void read_frame(struct ws_client *c, uint32_t bins, struct spectrum_frame_header *h)
{
	const uint8_t *data, *lv;
	size_t len;
	int op;

	for (;;) {
		op = ws_client_read(c, HANG_MS, &data, &len);
		cr_assert_geq(op, 0, "read: %s", strerror(-op));
		if (op != WS_BINARY)
			continue;
		cr_assert_eq(spectrum_frame_parse(data, len, h, &lv), 0, "a frame that does not parse");
		cr_assert_eq(len, SPECTRUM_FRAME_HEADER_BYTES + h->bins);
		if (h->bins == bins)
			return;
	}
}

/* The frequency of a frame's bin i, Hz. */
static double bin_hz(const struct spectrum_frame_header *h, uint32_t i)
{
	return h->centre_hz - h->span_hz / 2 + i * h->span_hz / h->bins;
}

/* What the daemon queues for a WebSocket before ws_send_binary() says
 * -EAGAIN (http_server.h: "about 256 KiB in flight"). */
#define WS_QUEUE_BYTES (256 * 1024)

/* A WebSocket's socket send buffer in the daemon: http_server.h's
 * WS_SOCKET_SNDBUF, which the kernel doubles (no autotuning once set). */
#define WS_SOCKET_BYTES (2 * 128 * 1024)

/* An HTTP refusal before any upgrade: its status, and its body says `says`. */
static void assert_refused(const struct daemon *d, const char *target, int status,
			   const char *says)
{
	struct ws_client c;
	char body[256];
	int ret = ws_client_open(&c, d->http_port, target, 0, body, sizeof(body), HANG_MS);

	ws_client_close(&c);
	cr_assert_eq(ret, status, "%s: %d, want %d (%s)", target, ret, status, body);
	cr_assert(strstr(body, says), "%s: '%s' does not say '%s'", target, body, says);
}

Test(spectrum, a_viewer_sees_the_sims_peak_where_predicted_and_changes_its_spectrum)
{
	struct spectrum_frame_header h;
	struct ws_client c;
	struct daemon d;
	char text[512];
	uint64_t seq = 0;
	int i;

	daemon_start(&d, args);
	cr_assert_gt(d.http_port, 0);
	open_viewer(&c, &d, "/api/v1/spectrum", 0);
	read_text(&c, text, sizeof(text));
	cr_assert(strstr(text, "\"type\":\"spectrum\""), "%s", text);
	cr_assert(strstr(text, "\"channels\":[0,1]"), "I/Q of 0,1 by default: %s", text);
	cr_assert(strstr(text, "\"kind\":\"complex\""), "%s", text);
	cr_assert(strstr(text, "\"bins\":2048"), "%s", text);
	cr_assert(strstr(text, "\"fps\":25"), "%s", text);
	cr_assert(strstr(text, "\"sample_rate\":2000000"), "%s", text);
	for (i = 0; i < 5; i++) {
		read_frame(&c, 2048, &h);
		cr_assert_eq(h.flags, SPECTRUM_FRAME_COMPLEX);
		cr_assert_eq(h.sample_rate, RATE);
		cr_assert_eq(h.span_hz, RATE);
		cr_assert_eq(h.centre_hz, 0);
		cr_assert_eq(h.channel_i, 0);
		cr_assert_eq(h.channel_q, 1);
		cr_assert_gt(h.sequence, seq, "frames in order");
		seq = h.sequence;
		cr_assert_eq(h.peak_bin, peak_bin_iq(2048), "peak at bin %u (%.0f Hz), want %u",
			     h.peak_bin, bin_hz(&h, h.peak_bin), peak_bin_iq(2048));
		/* within a bin of 25033/65536 fs: 763946 Hz */
		cr_assert_leq(fabs(bin_hz(&h, h.peak_bin) - SIM_PEAK_NUM / 65536.0 * RATE),
			      (double)RATE / 2048);
		cr_assert_gt(h.peak_dbfs, -10.0f, "a full-scale sawtooth: %f dBFS", h.peak_dbfs);
		cr_assert_eq(h.frames_skipped, 0);
	}
	/* the viewer changes channel, size and rate */
	cr_assert_eq(ws_client_send_text(&c, "channels=0&bins=1024&fps=10"), 0);
	read_text(&c, text, sizeof(text));
	cr_assert(strstr(text, "\"kind\":\"real\""), "%s", text);
	cr_assert(strstr(text, "\"channels\":[0]"), "%s", text);
	cr_assert(strstr(text, "\"bins\":1024"), "%s", text);
	cr_assert(strstr(text, "\"fps\":10"), "%s", text);
	for (i = 0; i < 3; i++) {
		read_frame(&c, 1024, &h);
		cr_assert_eq(h.flags, 0, "real");
		cr_assert_eq(h.channel_q, SPECTRUM_FRAME_NO_CHANNEL);
		cr_assert_eq(h.span_hz, RATE / 2);
		cr_assert_leq(abs((int)h.peak_bin - (int)peak_bin_real(1024)), 1,
			      "peak at bin %u, want %u +- 1", h.peak_bin, peak_bin_real(1024));
	}
	/* a bad change is refused and changes nothing */
	cr_assert_eq(ws_client_send_text(&c, "bins=1000"), 0);
	read_text(&c, text, sizeof(text));
	cr_assert(strstr(text, "\"type\":\"error\""), "%s", text);
	cr_assert(strstr(text, "\"status\":400"), "%s", text);
	cr_assert(strstr(text, "bins '1000'"), "%s", text);
	read_frame(&c, 1024, &h);
	ws_client_close(&c);
	WAIT_UNTIL(daemon_log_contains(&d, "spectrum viewer gone"), "the viewer to be gone");
	WAIT_UNTIL(daemon_log_contains(&d, "capture stopped"), "the capture to stop");
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(spectrum, refusals_come_before_the_upgrade_with_their_reason)
{
	struct iios_stream_info info;
	struct iios_client *cl;
	struct daemon d;
	uint32_t ch0 = 0;

	daemon_start(&d, args);
	assert_refused(&d, "/api/v1/spectrum?bins=3", 400, "bins '3'");
	assert_refused(&d, "/api/v1/spectrum?device=nope", 404, "no streamed device 'nope'");
	assert_refused(&d, "/api/v1/spectrum?channels=0,7", 400, "channels 0..1");
	assert_refused(&d, "/api/v1/spectrum?fps=99", 400, "fps '99'");
	/* a native client holds the capture to channel 0: the pair cannot be */
	cl = client_connect(&d);
	cr_assert_eq(iios_subscribe_channels(cl, 0, &ch0, 1, &info), 0, "%s", iios_errmsg(cl));
	assert_refused(&d, "/api/v1/spectrum?channels=0,1", 409, "not in the capture");
	iios_close(cl);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* Eight different spectra at once, no more; a viewer of one of them still
 * joins it. */
Test(spectrum, a_ninth_different_spectrum_is_refused_but_viewers_still_share)
{
	static const char *const chans[] = { "0,1", "1,0", "0", "1" };
	struct spectrum_frame_header h;
	struct ws_client v[9];
	struct daemon d;
	char target[96];
	int i;

	daemon_start(&d, args);
	for (i = 0; i < 8; i++) {
		snprintf(target, sizeof(target), "/api/v1/spectrum?channels=%s&bins=%d&fps=5",
			 chans[i % 4], i < 4 ? 1024 : 2048);
		open_viewer(&v[i], &d, target, 0);
	}
	assert_refused(&d, "/api/v1/spectrum?bins=4096", 503, "8 different spectra");
	open_viewer(&v[8], &d, "/api/v1/spectrum?channels=1&bins=2048", 0);
	read_frame(&v[8], 2048, &h);
	cr_assert_eq(h.channel_i, 1);
	for (i = 0; i < 9; i++)
		ws_client_close(&v[i]);
	WAIT_UNTIL(daemon_log_count(&d, "spectrum viewer gone") == 9, "the viewers to be gone");
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

/* GET target (not an upgrade: the route answers it as it is) into body. */
static void get_text(const struct daemon *d, const char *target, char *body, size_t len)
{
	struct ws_client c;
	int ret = ws_client_open(&c, d->http_port, target, 0, body, len, HANG_MS);

	ws_client_close(&c);
	cr_assert_eq(ret, 200, "GET %s: %d (%s)", target, ret, body);
}

/* /metrics and the status API count the spectra, their viewers and frames */
Test(spectrum, metrics_and_the_status_api_count_spectra_viewers_and_frames)
{
	static char text[1 << 17];
	struct spectrum_frame_header h;
	struct ws_client a, b;
	struct daemon d;
	int i;

	daemon_start(&d, args);
	open_viewer(&a, &d, "/api/v1/spectrum", 0);
	open_viewer(&b, &d, "/api/v1/spectrum", 0);
	for (i = 0; i < 3; i++) {
		read_frame(&a, 2048, &h);
		read_frame(&b, 2048, &h);
	}
	get_text(&d, "/metrics", text, sizeof(text));
	cr_assert(strstr(text, "\niiostream_spectrum_sources 1\n"), "%s", text);
	cr_assert(strstr(text, "\niiostream_spectrum_viewers 2\n"), "%s", text);
	cr_assert(strstr(text, "\n# TYPE iiostream_spectrum_frames_sent_total counter\n"), "%s", text);
	cr_assert_null(strstr(text, "\niiostream_spectrum_frames_total 0\n"), "%s", text);
	get_text(&d, "/api/v1/status?attributes=0", text, sizeof(text));
	cr_assert(strstr(text, "\"spectrum\":{\"sources\":1,\"viewers\":2,\"frames\":"), "%s", text);
	ws_client_close(&a);
	ws_client_close(&b);
	WAIT_UNTIL(daemon_log_count(&d, "spectrum viewer gone") == 2, "the viewers to be gone");
	get_text(&d, "/metrics", text, sizeof(text));
	cr_assert(strstr(text, "\niiostream_spectrum_viewers 0\n"), "%s", text);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(spectrum, viewers_of_one_spectrum_share_one_computation)
{
	struct spectrum_frame_header ha, hb, hc;
	struct ws_client a, b, c;
	struct daemon d;
	int i;

	daemon_start(&d, args);
	open_viewer(&a, &d, "/api/v1/spectrum?bins=4096", 0);
	open_viewer(&b, &d, "/api/v1/spectrum?bins=4096&fps=25", 0);
	open_viewer(&c, &d, "/api/v1/spectrum?bins=1024", 0);
	read_frame(&a, 4096, &ha);
	/* b sees the frames a saw, by their shared sequence numbers */
	do
		read_frame(&b, 4096, &hb);
	while (hb.sequence < ha.sequence);
	for (i = 0; i < 5 && ha.sequence < hb.sequence; i++)
		read_frame(&a, 4096, &ha);
	cr_assert_eq(ha.sequence, hb.sequence, "one computation for both");
	cr_assert_eq(ha.first_sample, hb.first_sample);
	cr_assert_eq(ha.peak_bin, peak_bin_iq(4096));
	read_frame(&c, 1024, &hc);
	cr_assert_eq(hc.peak_bin, peak_bin_iq(1024), "another size: its own spectrum");
	ws_client_close(&a);
	ws_client_close(&b);
	ws_client_close(&c);
	WAIT_UNTIL(daemon_log_count(&d, "spectrum viewer gone") == 3, "the viewers to be gone");
	WAIT_UNTIL(daemon_log_contains(&d, "capture stopped: no subscribers"),
		   "nothing captured once nobody watches");
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(spectrum, a_viewer_that_never_reads_costs_a_native_client_nothing_and_skips_frames_counted)
{
	struct spectrum_frame_header h;
	struct ws_client stalled, reading;
	struct rx_job job = { .want_blocks = 0 };
	struct iios_stats st;
	struct daemon d;
	pthread_t th;
	double wait0;
	long frames, need;

	daemon_start(&d, args);
	wait0 = daemon_cpu_wait_s(&d);
	job.d = &d;
	cr_assert_eq(pthread_create(&th, NULL, rx_job_run, &job), 0);
	rx_job_wait_blocks(&job, 10);
	/* a small receive window, then never a read: its frames pile up in
	 * the daemon until ws_send_binary() refuses them */
	open_viewer(&stalled, &d, "/api/v1/spectrum?bins=4096&fps=25", 4096);
	open_viewer(&reading, &d, "/api/v1/spectrum?bins=4096&fps=25", 0);
	/* frames until the stalled one's (105 KB/s) have filled what holds
	 * them before ws_send_binary() refuses: the daemon's socket send
	 * buffer (bounded for WebSockets: 256 KiB, not the 4 MiB it would
	 * autotune to, 40 s of frames), and the 256 KiB the front-end queues */
	need = (WS_SOCKET_BYTES + WS_QUEUE_BYTES + 65536) / (SPECTRUM_FRAME_HEADER_BYTES + 4096) + 25;
	for (frames = 0; frames < need; frames++) {
		read_frame(&reading, 4096, &h);
		cr_assert_eq(h.frames_skipped, 0, "the viewer that reads skips nothing");
		cr_assert_eq(h.peak_bin, peak_bin_iq(4096));
	}
	atomic_store(&job.stop, true);
	pthread_join(th, NULL);
	if (job.err || job.v.integrity_errors || job.counters.lost_blocks)
		daemon_dump_log(&d);
	cr_assert_eq(job.err, 0, "client failed: %s", job.errmsg);
	cr_assert_gt(job.v.blocks, 500, "%llu blocks", (unsigned long long)job.v.blocks);
	cr_assert_eq(job.v.integrity_errors, 0, "integrity: %s", job.v.first_error);
	cr_assert_eq(job.counters.lost_blocks, 0, "the native client skipped %lu blocks",
		     (unsigned long)job.counters.lost_blocks);
	assert_overflow_excused(&d, wait0, RING_S, job.counters.lost_samples,
				"a client beside a stalled viewer");
	/* the stalled viewer reads at last: what it gets says what it missed
	 * (after the frames queued before it fell behind) */
	for (frames = 0; frames < 5000; frames++) {
		read_frame(&stalled, 4096, &h);
		if (h.frames_skipped)
			break;
	}
	cr_assert_gt(h.frames_skipped, 0, "no frame skipped in %ld read", frames);
	ws_client_close(&stalled);
	ws_client_close(&reading);
	WAIT_UNTIL(daemon_log_count(&d, "spectrum viewer gone") == 2, "the viewers to be gone");
	cr_assert(daemon_log_contains(&d, "frames sent, 0 skipped"), "the reading viewer's line");
	cr_assert(wait_blocks_back(&d, HANG_MS, &st), "%u blocks still held",
		  st.source.blocks_held);
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
}

Test(spectrum, the_daemon_stops_cleanly_with_viewers_watching)
{
	struct spectrum_frame_header h;
	struct ws_client a, stalled;
	const uint8_t *data;
	struct daemon d;
	size_t len;
	int op;

	daemon_start(&d, args);
	open_viewer(&a, &d, "/api/v1/spectrum?bins=4096", 0);
	open_viewer(&stalled, &d, "/api/v1/spectrum?channels=1&bins=1024", 4096);
	read_frame(&a, 4096, &h);
	/* every block back, every handle closed, nothing leaked: status 0 */
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	do
		op = ws_client_read(&a, HANG_MS, &data, &len);
	while (op == WS_BINARY || op == WS_TEXT);
	cr_assert(op == WS_CLOSE || op == -ECONNRESET, "the viewer got %d", op);
	cr_assert_eq(daemon_log_count(&d, "spectrum viewer gone"), 2);
	ws_client_close(&a);
	ws_client_close(&stalled);
}

/* The spectrum shows the samples: --allow-subscribe decides who sees it,
 * and a reload that drops a viewer closes its WebSocket with the reason. */
Test(spectrum, allow_subscribe_guards_the_spectrum_and_a_reload_revokes_a_viewer)
{
	struct spectrum_frame_header h;
	const uint8_t *data;
	struct ws_client c;
	struct daemon d;
	char dir[64], conf[128], cfg[512];
	size_t len;
	int op, before;

	test_dir_make(dir, "spectrum-acl");
	snprintf(conf, sizeof(conf), "%s/iiostreamd.conf", dir);
	snprintf(cfg, sizeof(cfg), "rate = 2000000\nchannels = 2\nblock-size = 64K\nblocks = 16\n"
		 "http-listen = 127.0.0.1:0\nallow-subscribe = plain\n");
	test_file_replace(conf, cfg);
	daemon_start(&d, (const char *const[]){ "--config", conf, NULL });
	open_viewer(&c, &d, "/api/v1/spectrum", 0);
	read_frame(&c, 2048, &h);

	/* only a certificate nobody holds may subscribe now */
	snprintf(cfg, sizeof(cfg), "rate = 2000000\nchannels = 2\nblock-size = 64K\nblocks = 16\n"
		 "http-listen = 127.0.0.1:0\nallow-subscribe = sha256:%064d\n", 0);
	test_file_replace(conf, cfg);
	before = daemon_log_count(&d, "configuration reloaded");
	cr_assert_eq(kill(d.pid, SIGHUP), 0);
	WAIT_UNTIL(daemon_log_count(&d, "configuration reloaded") > before, "the reload");
	do
		op = ws_client_read(&c, HANG_MS, &data, &len);
	while (op == WS_BINARY || op == WS_TEXT);
	cr_assert_eq(op, WS_CLOSE, "the revoked viewer's WebSocket: %d", op);
	cr_assert_geq(len, 2);
	cr_assert_eq((data[0] << 8) | data[1], 1008, "close code %d", (data[0] << 8) | data[1]);
	cr_assert(len > 2 && memmem(data + 2, len - 2, "--allow-subscribe", 17),
		  "the close says why: %.*s", (int)(len - 2), (const char *)data + 2);
	ws_client_close(&c);
	cr_assert(daemon_log_contains(&d, "revoked: no longer on --allow-subscribe after reload; "
					  "closing its WebSocket"));
	assert_refused(&d, "/api/v1/spectrum", 403, "plain");
	WAIT_UNTIL(daemon_log_contains(&d, "capture stopped: no subscribers"),
		   "nothing captured once the viewer is gone");
	cr_assert_eq(daemon_stop(&d, HANG_MS), 0);
	test_dir_remove(dir);
}
