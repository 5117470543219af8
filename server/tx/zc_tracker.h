/* SPDX-License-Identifier: MIT */
/*
 * Zero-copy completions: notification ids count successful
 * sendmsg(MSG_ZEROCOPY) calls on a socket, from 0, wrapping at 2^32; the
 * kernel reports them as inclusive ranges [lo, hi] on the error queue.
 */
#ifndef IIOSTREAMD_ZC_TRACKER_H
#define IIOSTREAMD_ZC_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

struct zc_range {
	uint32_t lo, hi;
	bool copied;  /* SO_EE_CODE_ZEROCOPY_COPIED: the kernel copied the data */
};

/* Read every notification waiting on fd's error queue into out[0..max).
 * Returns how many, or a negative errno (-EAGAIN: none waiting). A message
 * that is not a zero-copy notification is -EPROTO. */
int zc_read_completions(int fd, struct zc_range *out, int max);

/* a is before b in the wrapping id space */
static inline bool zc_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/*
 * Which zero-copy sends of a socket have completed. TCP completes in order,
 * so a range normally starts at `done`; one that arrives ahead of a gap
 * waits in `early` until the gap closes.
 */
#define ZC_EARLY_MAX 8
struct zc_tracker {
	uint32_t done;                      /* every id before this one completed */
	struct zc_range early[ZC_EARLY_MAX];
	int nearly;
};

/* Record the completion of ids [r->lo, r->hi] (inclusive, wrapping).
 * 0, or -EPROTO when more than ZC_EARLY_MAX ranges wait on a gap. */
int zc_tracker_complete(struct zc_tracker *t, const struct zc_range *r);

#endif /* IIOSTREAMD_ZC_TRACKER_H */
