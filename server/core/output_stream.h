/* SPDX-License-Identifier: MIT */
/*
 * One output device (a DAC) and its transmission: the device's block ring,
 * the readiness poll that returns played blocks, and the one client that
 * owns it. The mirror image of device_stream.h: there blocks come from the
 * device and fan out to many subscribers; here they come from one owner and
 * go to the device.
 *
 * A block of the ring is FREE (the daemon's, empty), FILLING (an owner is
 * receiving samples into it, straight from its socket: no copy) or IN_DEVICE
 * (queued, playing, or played and not yet dequeued). Credits are what keep
 * the owner from flooding the daemon and the device from starving: the
 * owner may have sent `credits` blocks in all, and every block the device
 * finishes playing adds one, so the owner keeps the whole ring queued while
 * it keeps up, and never has a block the daemon has no room for.
 *
 *   FREE --output_stream_take()--> FILLING --output_stream_submit()--> IN_DEVICE
 *     ^         output_stream_put_back() |                               |
 *     +----------------------------------+------ played, dequeued -------+
 *
 * Every underflow (the device ran dry while it played) is counted and
 * reported to the owner by its status() callback, with the owner's own
 * sample position, at most every OUTPUT_STATUS_INTERVAL_MS while it lasts.
 *
 * Owners are native sessions (net/session_tx.c) and libiio clients of the
 * iiod port; the stream knows them only by their ops.
 */
#ifndef IIOSTREAMD_OUTPUT_STREAM_H
#define IIOSTREAMD_OUTPUT_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "source.h"

struct server;

#define OUTPUT_STATUS_INTERVAL_MS 100

/* What the owner is told (TxStatus); counts are since it took the device. */
struct output_status {
	uint64_t credits;           /* blocks it may have submitted, in all */
	uint64_t blocks_played;
	uint64_t samples_played;    /* its scans played (a looping block once) */
	uint64_t underflows;
	uint64_t underflow_samples; /* scans of silence, in all */
	uint64_t underflow_position;/* its scan index the last underflow came
				     * before, 0 if none */
	uint32_t blocks_queued;     /* IN_DEVICE now */
};

struct output_owner;

struct output_owner_ops {
	/* Credits came back, an underflow happened, or a drain finished
	 * (drained true: the device is stopped, the owner released). */
	void (*status)(struct output_owner *o, const struct output_status *st, bool drained);
	/* The stream ends under the owner (device error, shutdown): it is
	 * released already; err is a negative errno, why says it. */
	void (*ended)(struct output_owner *o, int err, const char *why);
};

/* Embedded in whoever transmits. */
struct output_owner {
	const struct output_owner_ops *ops;
	uint32_t client_id;       /* ClientStats.id */
	char who[160];            /* "client 3 (127.0.0.1:40000, CN=lab1)": in EBUSY */
};

enum output_on_disconnect {
	OUTPUT_STOP,              /* the owner left: stop the device, blocks back */
	OUTPUT_KEEP,              /* play on: a cyclic block loops until the next owner */
};

enum output_block_state {
	OUTPUT_BLOCK_FREE,
	OUTPUT_BLOCK_FILLING,
	OUTPUT_BLOCK_IN_DEVICE,
};

struct output_block {
	uint32_t id;
	uint8_t *data;            /* mapped, block_size bytes */
	enum output_block_state state;
	uint32_t scans;           /* of the owner's stream, set at submit */
	uint64_t owner_first;     /* the owner's scan index of its first scan */
	uint32_t owner_gen;       /* which claim submitted it */
};

struct output_stream {
	/* read-only outside output_stream.c */
	struct server *srv;
	uint32_t id;              /* the wire's stream_id: after the input streams */
	char device_id[32];       /* "sim-dac", or "iio:device1" */
	struct source *src;
	struct source_format fmt; /* fmt.output is true */
	uint32_t block_size, count;
	struct output_block *blocks;
	uint32_t nfree, in_device;
	uv_poll_t src_poll;       /* readable while a played block is DONE */
	uv_timer_t status_timer;  /* underflows while the owner sends nothing */
	struct output_owner *owner;
	enum output_on_disconnect on_disconnect;
	bool kept;                /* playing on without an owner (OUTPUT_KEEP) */
	bool playing;             /* the device is enabled */
	bool draining;            /* TxStop{drain}: waits for the queue to play */
	bool cyclic_now;          /* the last block submitted loops */
	uint32_t prefill;         /* blocks queued before the device is enabled */
	uint32_t gen;             /* +1 per claim */
	struct output_status st;  /* of the current owner */
	uint64_t owner_next_scan; /* the owner's index of its next scan */
	uint64_t uf_seen;         /* the source's underflow counters, as */
	uint64_t uf_samples_seen; /* last folded into st and the totals */
	/* since start, for Stats */
	uint64_t blocks_received, blocks_played, bytes_played;
	uint64_t underflows_total, underflow_samples_total;
	bool open;
	int open_handles;
};

/* Open an output source (`ops`, with cfg) and allocate its ring of `count`
 * blocks of `block_size` bytes (rounded down to whole scans). A device not
 * in sysfs is named after the ADC it belongs to (adc_id "sim": "sim-dac").
 * 0 or a negative errno (logged); nothing is left open. */
int output_stream_open(struct output_stream *os, struct server *srv, uint32_t id,
		       const struct source_ops *ops, const struct source_config *cfg,
		       const char *adc_id, uint32_t block_size, uint32_t count);

/* Make `o` the device's owner. -EBUSY when another owns it (why[] names
 * it); a device kept playing (OUTPUT_KEEP) is taken over, its looping
 * block replaced by the new owner's first. prefill 0: half the ring. */
int output_stream_claim(struct output_stream *os, struct output_owner *o, uint32_t prefill,
			enum output_on_disconnect on_disconnect, char *why, size_t whylen);

/* The owner lost its right to transmit (a reload took it off
 * --allow-write): whatever it chose at claim, its release stops the
 * device, so nothing it sent plays on. Nothing if o is not the owner. */
void output_stream_revoke(struct output_stream *os, const struct output_owner *o);

/* A FREE block for the owner to receive into (FILLING), or NULL when it
 * has no credit left. */
struct output_block *output_stream_take(struct output_stream *os, struct output_owner *o);

/* The owner filled b with bytes_used bytes (whole scans, 1..block_size):
 * queue it for playing (flags: SOURCE_BLOCK_CYCLIC). The device starts
 * once prefill blocks are queued, or at once for a cyclic block. 0, or a
 * negative errno (-EINVAL: not whole scans; b is FREE again and the credit
 * comes back). */
int output_stream_submit(struct output_stream *os, struct output_owner *o,
			 struct output_block *b, uint32_t bytes_used, uint32_t flags);

/* A FILLING block the owner will not finish (it left mid-block): FREE. */
void output_stream_put_back(struct output_stream *os, struct output_block *b);

/* The owner ends its transmission. drain: the device plays what is queued,
 * then stops, and status(drained = true) says so; else (and for a looping
 * block, which has no end) it stops now. Either way the owner is released
 * by the status(drained = true) call. */
void output_stream_stop(struct output_stream *os, struct output_owner *o, bool drain);

/* The owner is gone (disconnected): its FILLING blocks must have been put
 * back. OUTPUT_STOP stops the device; OUTPUT_KEEP plays on. */
void output_stream_release(struct output_stream *os, struct output_owner *o);

/* Read the device's format again: its rate may have been written (an
 * attribute through libiio, or a loopback partner's change). */
void output_stream_refresh_format(struct output_stream *os);

/* The status the owner would be sent now. */
void output_stream_status(const struct output_stream *os, struct output_status *st);

/* Stop the device and close: ends any owner (ended()), frees the ring,
 * closes the source; server_output_closed() once its handles closed. */
void output_stream_close(struct output_stream *os);

#endif /* IIOSTREAMD_OUTPUT_STREAM_H */
