/* SPDX-License-Identifier: MIT */
/*
 * The daemon's clock: CLOCK_MONOTONIC in nanoseconds, for block stamps,
 * deadlines and rates. One definition for every layer, so that the lowest
 * (the block pool, the sources) need nothing from the daemon above them.
 * Objects that keep time take the function as a pointer where a unit test
 * wants a clock of its own (block_pool's `now`).
 */
#ifndef IIOSTREAMD_CLOCK_H
#define IIOSTREAMD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* IIOSTREAMD_CLOCK_H */
