// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: what a spectrum viewer sends (server/spectrum/): the
 * query of GET /api/v1/spectrum and the text messages on its WebSocket
 * (spectrum_query_parse(), given exactly the input's bytes, as a WebSocket
 * message is not NUL-terminated), and, for the frame's own readers, the
 * frame decoder (spectrum_frame_parse()) on the same bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spectrum_fft.h"
#include "spectrum_frame.h"
#include "spectrum_query.h"
#include "spectrum_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What every parsed query promises the route that acts on it. */
static bool well_formed(const struct spectrum_query *q, const char *err)
{
	if (q->device_set && (!q->device[0] || strlen(q->device) >= SPECTRUM_DEVICE_MAX))
		return false;
	if (q->channels_set && (q->nchannels < 1 || q->nchannels > 2 || q->channels[0] > 63 ||
				(q->nchannels == 2 && q->channels[1] > 63)))
		return false;
	if (q->bins_set && !spectrum_bins_valid(q->bins))
		return false;
	if (q->fps_set && (q->fps < 1 || q->fps > SPECTRUM_FPS_MAX))
		return false;
	return err[0] == '\x7f'; /* untouched on success */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly `size` bytes: ASan sees any read past them */
	char *text = malloc(size ? size : 1), err[256];
	struct spectrum_frame_header h;
	struct spectrum_query q;
	const uint8_t *levels;
	size_t i;
	int ret;

	memcpy(text, data, size);
	err[0] = '\x7f';
	ret = spectrum_query_parse(text, size, &q, err, sizeof(err));
	if (ret == 0 && !well_formed(&q, err))
		__builtin_trap();
	if (ret != 0) { /* a reason, printable ASCII (it goes back as UTF-8 text) */
		for (i = 0; err[i]; i++)
			if (err[i] < 0x20 || err[i] > 0x7e)
				__builtin_trap();
		if (i == 0 || i >= sizeof(err))
			__builtin_trap();
	}
	if (spectrum_frame_parse(data, size, &h, &levels) == 0 &&
	    (levels + h.bins > data + size || h.bins == 0 || h.bins > 4096))
		__builtin_trap();
	free(text);
	return 0;
}
