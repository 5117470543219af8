/* SPDX-License-Identifier: MIT */
/*
 * A latency histogram with fixed buckets, for Prometheus (its `le`
 * buckets): from 100 µs, a send over loopback, to 10 s, a client stalled
 * for as long as the idle timeout's order. Counts are per bucket, not
 * cumulative; the exporter sums them (histogram_cumulative()).
 */
#ifndef IIOSTREAMD_HISTOGRAM_H
#define IIOSTREAMD_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_BUCKETS 16

/* Upper bounds of the buckets in ns, ascending: 100 µs, 250 µs, 500 µs,
 * 1 ms ... 5 s, 10 s (1, 2.5, 5 a decade). */
extern const uint64_t histogram_bounds_ns[HISTOGRAM_BUCKETS];

struct histogram {
	/* bucket[i]: observations in (bounds[i-1], bounds[i]]; the last one,
	 * bucket[HISTOGRAM_BUCKETS], those above 10 s (le="+Inf" alone) */
	uint64_t bucket[HISTOGRAM_BUCKETS + 1];
	uint64_t count;   /* observations */
	uint64_t sum_ns;  /* their sum */
};

void histogram_add(struct histogram *h, uint64_t ns);

/* Observations at or below bounds[i] (i == HISTOGRAM_BUCKETS: all of
 * them, which is count). */
uint64_t histogram_cumulative(const struct histogram *h, unsigned i);

#endif /* IIOSTREAMD_HISTOGRAM_H */
