/* SPDX-License-Identifier: MIT */
/*
 * What a transmit test receives back: the sim ADC's stream, captured whole
 * while the sim DAC's loopback feeds what it plays into it, and the checks
 * of that capture (silence, then exactly the pattern scans sent, then
 * silence). Both ends are the tests' sim boards of two le:s16 channels.
 */
#ifndef IIOSTREAM_TEST_LOOPBACK_H
#define IIOSTREAM_TEST_LOOPBACK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

#define LOOPBACK_CHANNELS 2
#define LOOPBACK_SCAN_BYTES (LOOPBACK_CHANNELS * 2)

/* A native connection subscribed to the ADC "sim" in a thread, keeping
 * every byte it receives (up to cap). */
struct capture {
	const struct daemon *d;
	uint8_t *buf;
	size_t cap;
	atomic_size_t len;   /* bytes of buf written (stored after the bytes) */
	atomic_uint_fast64_t blocks;
	atomic_bool stop;
	atomic_bool ready;   /* subscribed */
	int err;
	uint64_t lost;       /* scans the ADC's stream lost (must stay 0) */
	pthread_t thread;
};

/* Start capturing; returns once the first ADC block came. */
void capture_start(struct capture *cp, const struct daemon *d, size_t cap);

/* Let the capture run `more` blocks past now, then stop it; asserts it
 * lost nothing. cp->buf stays the caller's to free. */
void capture_finish(struct capture *cp, uint64_t more);

/* The sim DAC's loopback attribute ("1" or "0"), over a fresh connection. */
void set_loopback(const struct daemon *d, const char *on);

/* The scan at `scan` is pattern scan n / is all zeros (silence). */
bool scan_is(const uint8_t *scan, uint64_t n);
bool scan_is_silence(const uint8_t *scan);

/* The first of `scans` scans that is not silence, or `scans` if none. */
size_t first_sound(const uint8_t *buf, size_t scans);

/* Scans captured so far from the first one that is not silence. */
size_t sound_scans(struct capture *cp);

/* The capture from scan `at` on holds pattern scans first..first+n-1, in
 * order (asserted, naming `what`); returns the index after them. */
size_t expect_run(const struct capture *cp, size_t at, uint64_t first, uint64_t n,
		  const char *what);

/* Every scan from `at` to the end of the capture is silence (asserted). */
void expect_silence_to_end(const struct capture *cp, size_t at, const char *what);

#endif /* IIOSTREAM_TEST_LOOPBACK_H */
