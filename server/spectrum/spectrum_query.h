/* SPDX-License-Identifier: MIT */
/*
 * What a spectrum viewer asks for: the query of
 * GET /api/v1/spectrum?device=ID&channels=0,1&bins=2048&fps=25, and the
 * text messages a viewer sends later on its WebSocket to change it, which
 * use the same syntax ("bins=4096&fps=10": only the keys given change).
 *
 *   device    a streamed device's id or name (server_find_stream()):
 *             percent-decoded, at most SPECTRUM_DEVICE_MAX - 1 bytes
 *   channels  "I,Q" (an I/Q pair: complex spectrum) or "C" (one real
 *             channel): scan indices 0..63
 *   bins      1024, 2048 or 4096
 *   fps       1..25 frames a second (this viewer's rate)
 *
 * A key not in this list, a key given twice, a value out of its range or a
 * malformed pair is refused with a one-line reason naming it. Pure: no
 * allocation, bounded by `len` (a WebSocket message is not NUL-terminated).
 */
#ifndef IIOSTREAMD_SPECTRUM_QUERY_H
#define IIOSTREAMD_SPECTRUM_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPECTRUM_DEVICE_MAX 64
#define SPECTRUM_QUERY_MAX 512 /* longer queries and messages are refused */

struct spectrum_query {
	bool device_set, channels_set, bins_set, fps_set; /* given */
	char device[SPECTRUM_DEVICE_MAX];
	uint32_t nchannels;        /* 1 (real) or 2 (I/Q) */
	uint32_t channels[2];
	uint32_t bins;
	uint32_t fps;
};

/* Parse q[0..len-1] into *out (zeroed first). 0, or -EINVAL with the
 * reason in err[errlen]. */
int spectrum_query_parse(const char *q, size_t len, struct spectrum_query *out, char *err,
			 size_t errlen);

#endif /* IIOSTREAMD_SPECTRUM_QUERY_H */
