// SPDX-License-Identifier: MIT
/*
 * spectrum_bench: what the live spectrum costs (bench/spectrum_bench.sh
 * runs it; bench/README.md).
 *
 *   spectrum_bench cpu [SECONDS]
 *       CPU time per frame of the engine's own path (scans read out of a
 *       block of the sim's pattern, window, FFT, dBFS, peak, frame
 *       encoded), for 1024/2048/4096 bins, I/Q and real, each for SECONDS
 *       (default 1) of this thread's CPU time; and what 25 frames/s of it
 *       take of one core.
 *
 *   spectrum_bench viewer PORT TARGET SECONDS [--stall]
 *       A WebSocket viewer of 127.0.0.1:PORT's TARGET
 *       ("/api/v1/spectrum?bins=4096"): reads frames for SECONDS and
 *       prints one JSON line (frames, frames/s, the last frame's
 *       frames_skipped and peak bin). --stall: opens the WebSocket, then
 *       reads nothing for SECONDS (a browser tab that stopped reading).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iiostream/pattern.h"
#include "spectrum_fft.h"
#include "spectrum_frame.h"
#include "spectrum_reader.h"
#include "ws_client.h"

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Frames of one kind and size for `seconds` of CPU: microseconds each. */
static double frame_cost(enum spectrum_kind kind, uint32_t bins, double seconds, double *plan_us)
{
	struct source_format fmt = { .device = "sim", .device_channels = 2, .channel_mask = 3,
				     .channels = 2, .scan_bytes = 4, .scan_elements = 2,
				     .timestamp_index = -1 };
	struct spectrum_frame_header h = { .bins = bins };
	static uint8_t frame[SPECTRUM_FRAME_MAX];
	struct spectrum_reader rd;
	struct spectrum_fft f;
	struct spectrum_peak pk;
	uint8_t *block;
	float *db = malloc(sizeof(float) * bins);
	double t0, t;
	char err[200];
	long n = 0;

	fmt.type[0] = fmt.type[1] = iios_scan_type_s16();
	if (spectrum_reader_init(&rd, &fmt, 0, kind == SPECTRUM_COMPLEX ? 1 : SPECTRUM_NO_CHANNEL,
				 err, sizeof(err))) {
		fprintf(stderr, "spectrum_bench: %s\n", err);
		exit(1);
	}
	block = malloc(2 * bins * 4);
	iios_pattern_fill(block, 12345, 2 * bins, 2);
	t0 = cpu_s();
	if (spectrum_fft_init(&f, kind, bins)) {
		fprintf(stderr, "spectrum_bench: no FFT of %u bins\n", bins);
		exit(1);
	}
	*plan_us = (cpu_s() - t0) * 1e6;
	t0 = cpu_s();
	do {
		spectrum_reader_read(&rd, block, f.samples, spectrum_fft_input(&f));
		spectrum_fft_run(&f, db, &pk);
		h.peak_bin = pk.bin;
		spectrum_frame_encode(&h, db, frame, sizeof(frame));
		n++;
	} while ((t = cpu_s() - t0) < seconds);
	spectrum_fft_free(&f);
	free(block);
	free(db);
	return t / n * 1e6;
}

static int cpu(double seconds)
{
	static const uint32_t sizes[] = { 1024, 2048, 4096 };
	size_t i, k;

	printf("%-8s %-6s %12s %14s %12s\n", "kind", "bins", "us/frame", "% core @25/s", "plan us");
	for (k = 0; k < 2; k++) {
		for (i = 0; i < 3; i++) {
			enum spectrum_kind kind = k ? SPECTRUM_REAL : SPECTRUM_COMPLEX;
			double plan_us, us = frame_cost(kind, sizes[i], seconds, &plan_us);

			printf("%-8s %-6u %12.1f %14.3f %12.0f\n", k ? "real" : "I/Q", sizes[i], us,
			       us * 25 / 1e6 * 100, plan_us);
		}
	}
	return 0;
}

static int viewer(uint16_t port, const char *target, double seconds, int stall)
{
	struct spectrum_frame_header h = { 0 };
	struct ws_client c;
	const uint8_t *data, *lv;
	double t0 = wall_s();
	char body[256];
	size_t len;
	long frames = 0;
	int ret = ws_client_open(&c, port, target, stall ? 4096 : 0, body, sizeof(body), 10000);

	if (ret != 101) {
		fprintf(stderr, "spectrum_bench: %s: %d %s\n", target, ret, ret > 0 ? body : "");
		ws_client_close(&c);
		return 1;
	}
	if (stall) {
		usleep((useconds_t)(seconds * 1e6));
		ws_client_close(&c);
		printf("{\"stalled_s\":%.1f}\n", seconds);
		return 0;
	}
	while (wall_s() - t0 < seconds) {
		ret = ws_client_read(&c, 5000, &data, &len);
		if (ret < 0) {
			fprintf(stderr, "spectrum_bench: read: %s\n", strerror(-ret));
			ws_client_close(&c);
			return 1;
		}
		if (ret == WS_BINARY && spectrum_frame_parse(data, len, &h, &lv) == 0)
			frames++;
	}
	ws_client_close(&c);
	printf("{\"frames\":%ld,\"fps\":%.2f,\"frames_skipped\":%llu,\"peak_bin\":%u,\"bins\":%u}\n",
	       frames, frames / (wall_s() - t0), (unsigned long long)h.frames_skipped, h.peak_bin,
	       h.bins);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "cpu") == 0)
		return cpu(argc > 2 ? atof(argv[2]) : 1.0);
	if (argc >= 5 && strcmp(argv[1], "viewer") == 0)
		return viewer((uint16_t)atoi(argv[2]), argv[3], atof(argv[4]),
			      argc > 5 && strcmp(argv[5], "--stall") == 0);
	fprintf(stderr, "usage: %s cpu [SECONDS] | viewer PORT TARGET SECONDS [--stall]\n",
		argv[0]);
	return 2;
}
