/* SPDX-License-Identifier: MIT */
/*
 * The live spectrum's WebSocket: GET /api/v1/spectrum on the HTTP
 * front-end (http_server.h), for the web console.
 *
 *   GET /api/v1/spectrum?device=ID&channels=0,1&bins=2048&fps=25
 *
 * (spectrum_query.h; every key optional: the first device, channels 0,1
 * on a device of two channels or more, else 0; 2048 bins; 25 frames/s).
 * The reply is a WebSocket (101) streaming spectrum frames as binary
 * messages (spectrum_frame.h), or an error before any upgrade, its
 * reason as the text/plain body:
 *   400  a malformed query, a channel the device does not have;
 *   404  no such streamed device;
 *   409  a channel the capture does not hold (other clients chose the
 *        captured channels; it says which);
 *   422  a channel the spectrum cannot read (IIO repeat > 1, > 32 bits);
 *   503  SPECTRUM_MAX_SOURCES different spectra computed already;
 *   and the WebSocket handshake's own refusals (http_server.h).
 *
 * Text messages, both ways, once upgraded:
 *   - the server's first message, and its answer to every change, is
 *     {"type":"spectrum","device":"...","device_id":"...","channels":[0,1],
 *      "kind":"complex"|"real","bins":2048,"fps":25,"sample_rate":N};
 *   - the viewer may send the query's syntax ("bins=4096&fps=10") to
 *     change its spectrum: only the keys given change; a refusal is
 *     {"type":"error","status":409,"message":"..."} and the viewer keeps
 *     what it had.
 *
 * One spectrum source (spectrum_source.h) per (device, channels, bins)
 * is shared by all its viewers; it is opened by the first viewer and
 * closed when the last one leaves, so nothing is computed while nobody
 * watches. A spectrum is the first subscriber of an idle device: then it
 * captures every channel, as a native client that names none does, so
 * such clients can still join it; a native client asking for some
 * channels only is refused (EBUSY) while the spectrum watches, as it
 * would be beside any other subscriber.
 */
#ifndef IIOSTREAMD_SPECTRUM_H
#define IIOSTREAMD_SPECTRUM_H

#include <stdint.h>

struct http_server;
struct server;

/* Different spectra (device, channels, bins) computed at once, at most. */
#define SPECTRUM_MAX_SOURCES 8

/* Register GET /api/v1/spectrum on hs (http_routes_register()). */
void spectrum_register(struct http_server *hs, struct server *srv);

/* What the spectra cost and do now, for /metrics and the status API. */
struct spectrum_totals {
	uint32_t sources;          /* spectra being computed now */
	uint32_t viewers;          /* WebSockets watching them */
	uint64_t frames;           /* frames computed, since start */
	uint64_t frames_sent;      /* frames sent to viewers, since start */
	uint64_t frames_skipped;   /* frames viewers missed (slow), since start */
};

void spectrum_totals(struct spectrum_totals *t);

#endif /* IIOSTREAMD_SPECTRUM_H */
