/* SPDX-License-Identifier: MIT */
/*
 * One streamed device: its block source, the ring of blocks the daemon
 * trades with it (block_pool.h), the readiness poll and the fan-out to its
 * subscribers (fanout.h), with capture on demand. A daemon has one per
 * --source, all on the one loop; nothing is shared between them but the
 * loop, so a slow client of one device never touches another's blocks.
 *
 * Its id is its index in the server's list (0 first), and is the stream_id
 * of the wire protocol (StreamInfo, BlockHeader).
 */
#ifndef IIOSTREAMD_DEVICE_STREAM_H
#define IIOSTREAMD_DEVICE_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "block_pool.h"
#include "iiostream.pb-c.h"
#include "fanout.h"
#include "send_queue.h"
#include "source.h"
#include "source_spec.h"

struct server;
struct config;

struct device_stream {
	/* read-only outside device_stream.c */
	struct server *srv;
	uint32_t id;               /* index in srv->streams: the wire's stream_id */
	char device_id[32];        /* DeviceDesc.id: "iio:device0", or "sim", "sim1"... */
	char spec_text[SOURCE_SPEC_MAX]; /* as given, for messages */
	struct source_spec spec;
	struct source *src;
	struct block_pool pool;
	struct source_format fmt;  /* follows set_channels and rate changes */
	uv_poll_t src_poll;        /* readable while the source has a block ready */
	struct fanout fanout;      /* its blocks to its subscribers, every port */
	uint32_t client_queue;     /* client-queue= of the spec, else 0 (--client-queue) */
	bool open;                 /* source opened and blocks allocated */
	/* written by its senders (send_queue.c through the sessions' cursors,
	 * the iiod port's buffers) as sends complete: /metrics */
	struct send_stats sent;
};

/* The source settings of a spec: its keys over cfg's flags. */
void device_stream_source_config(const struct source_spec *spec, const struct config *cfg,
				 struct source_config *scfg);

/* Open the source of `spec_text` (already checked by the config parser),
 * with the spec's keys over cfg's flags, and allocate its ring. 0 or a
 * negative errno, logged with the spec; nothing is left open. -EXDEV (not
 * logged): the device is an output device (a DAC), for an output_stream. */
int device_stream_open(struct device_stream *ds, struct server *srv, uint32_t id,
		       const char *spec_text);

/* Stop the capture and hand out what it finished (shutdown). */
void device_stream_stop(struct device_stream *ds);

/* Free the ring and close the source: 0, or -EBUSY if blocks were still
 * held (logged). server_stream_closed() is called once its handles have
 * closed: ds must live until then. */
int device_stream_close(struct device_stream *ds);

/* An IIO scan type as the protocol describes it (timestamp: IIO's
 * timestamp element). */
void scan_format_describe(const struct iios_scan_type *t, bool timestamp, Iiostream__ScanFormat *f);

/* Scan element `index` of the device as the protocol describes it: its id
 * ("voltage3", or "timestamp") into id[len], its IIO type into *f. */
void device_stream_channel(const struct device_stream *ds, uint32_t index, char *id, size_t len,
			   Iiostream__ScanFormat *f);

/* Scan elements the device has: its channels, and its timestamp if any. */
static inline uint32_t device_stream_elements(const struct device_stream *ds)
{
	return ds->fmt.scan_elements ? ds->fmt.scan_elements : ds->fmt.device_channels;
}

/* Every scan element of the device, as a mask (bit i: scan index i). */
uint64_t device_stream_all_channels(const struct device_stream *ds);

/* Capture the channels of `mask` from now on (fmt follows). 0 if they are
 * already the ones captured; -EBUSY while anyone is subscribed to a
 * different set; -EINVAL for a mask naming no channel or one the device
 * does not have; -EOPNOTSUPP when the source always streams them all. */
int device_stream_set_channels(struct device_stream *ds, uint64_t mask);

/* The blocks a subscriber may hold: its wish (0: the device's client-queue
 * or --client-queue), never more than the ring's blocks less one, at
 * least 1. */
uint32_t device_stream_queue_bound(const struct device_stream *ds, uint32_t wish);

/* Subscribers of this stream: native sessions and iiod buffers. */
static inline uint32_t device_stream_subscribers(const struct device_stream *ds)
{
	return ds->fanout.nsubs;
}

/* Re-read the source's format (an attribute write may change its rate). */
void device_stream_refresh_format(struct device_stream *ds);

#endif /* IIOSTREAMD_DEVICE_STREAM_H */
