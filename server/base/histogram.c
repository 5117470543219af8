// SPDX-License-Identifier: MIT
/* A latency histogram with fixed buckets: see histogram.h. */
#include "histogram.h"

#define US 1000ull
#define MS 1000000ull
#define S 1000000000ull

const uint64_t histogram_bounds_ns[HISTOGRAM_BUCKETS] = {
	100 * US, 250 * US, 500 * US,
	1 * MS, 2500 * US, 5 * MS,
	10 * MS, 25 * MS, 50 * MS,
	100 * MS, 250 * MS, 500 * MS,
	1 * S, 2500 * MS, 5 * S,
	10 * S,
};

void histogram_add(struct histogram *h, uint64_t ns)
{
	unsigned i = 0;

	/* a short linear walk: most sends land in the first few buckets */
	while (i < HISTOGRAM_BUCKETS && ns > histogram_bounds_ns[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_ns += ns;
}

uint64_t histogram_cumulative(const struct histogram *h, unsigned i)
{
	uint64_t n = 0;
	unsigned k;

	for (k = 0; k <= i && k <= HISTOGRAM_BUCKETS; k++)
		n += h->bucket[k];
	return n;
}
