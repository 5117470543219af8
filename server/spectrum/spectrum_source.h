/* SPDX-License-Identifier: MIT */
/*
 * A spectrum source: the live spectrum of one (stream, channels, size),
 * computed on the board once for every viewer of it.
 *
 * It is a subscriber of the stream's fan-out (subscriber.h) only while
 * someone watches: the first viewer subscribes it, the last one leaving
 * unsubscribes it. It never holds a block back from the stream: offer()
 * copies the scans it needs out of the block at once (converted to floats,
 * spectrum_reader.h) and keeps no reference, so held() is always 0, it is
 * never behind, and the fan-out never skips or reclaims for it. It copies
 * at most one frame's worth per frame interval (1 / the fastest viewer's
 * rate, at most SPECTRUM_FPS_MAX: frames are due on a fixed schedule, each
 * taken from the first block at or after its due time, so the rate holds
 * on average whatever the blocks' period; a schedule missed by a whole
 * interval starts again, never bursts); every other block it is offered
 * is SUB_PASS, not a loss. A frame needing more scans than one block holds
 * continues in the next blocks while they follow on (first_sample); a gap
 * starts it again (counted in `restarts`).
 *
 * The transform (spectrum_fft.h) runs on the loop's next turn (a
 * zero-timeout timer), outside the fan-out's walk, so the subscribers
 * after this one get the block without waiting for an FFT. Then every
 * viewer whose own interval has passed is sent the frame
 * (spectrum_frame.h); one whose connection has not taken the frames
 * before (-EAGAIN) skips this one, counted in its frames_skipped and in
 * the next frame it does get, and is tried again with the next frame.
 *
 * Times are the blocks' dequeue_ns (block_pool.h: the pool's clock), so a
 * unit test that sets the pool's clock knows every frame's time.
 *
 * Everything runs on the loop thread. Memory: spectrum_source_open()
 * allocates it; spectrum_source_close() (with no viewer left) closes its
 * timer, and the memory goes in the timer's close callback.
 */
#ifndef IIOSTREAMD_SPECTRUM_SOURCE_H
#define IIOSTREAMD_SPECTRUM_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "fanout.h"
#include "source.h"
#include "spectrum_fft.h"
#include "spectrum_frame.h"
#include "spectrum_reader.h"
#include "subscriber.h"

/* The most frames a second a spectrum is computed, and a viewer sent. */
#define SPECTRUM_FPS_MAX 25

struct spectrum_source;
struct spectrum_viewer;

struct spectrum_viewer_ops {
	/* Send one frame of len bytes (copied before it returns). 0: sent;
	 * -EAGAIN: the connection has not taken the frames before (this one
	 * is skipped and counted); any other negative errno: the viewer is
	 * going (not counted; its owner detaches it when it has gone). Called
	 * on the loop, outside any fan-out walk. It must not detach or free
	 * any viewer during the call. */
	int (*send)(struct spectrum_viewer *v, const void *frame, size_t len);
};

/* One viewer: embedded in its owner's struct (a WebSocket's). */
struct spectrum_viewer {
	const struct spectrum_viewer_ops *ops;
	uint32_t fps;              /* wanted, 1..SPECTRUM_FPS_MAX: set before
	                            * attaching, later by spectrum_viewer_set_fps() */
	TAILQ_ENTRY(spectrum_viewer) link; /* private: in its source's list */
	/* read-only */
	struct spectrum_source *src; /* attached to, or NULL */
	uint64_t frames_sent;
	uint64_t frames_skipped;   /* due but refused with -EAGAIN */
	/* private */
	uint64_t next_due_ns;      /* the next frame due at or after this */
	bool sent_any;
};

/* What a spectrum is of. */
struct spectrum_key {
	uint32_t ch_i;             /* scan index of I, or of the real channel */
	int ch_q;                  /* scan index of Q, or SPECTRUM_NO_CHANNEL (real) */
	uint32_t bins;             /* 1024, 2048 or 4096 */
};

enum spectrum_state {
	SPECTRUM_WAITING,          /* for the next frame interval to begin */
	SPECTRUM_FILLING,          /* part of a frame copied, more scans wanted */
	SPECTRUM_READY,            /* a frame's scans copied, the FFT to run */
};

struct spectrum_source {
	struct subscriber sub;     /* private: in fo's list while watched */
	/* read-only */
	struct spectrum_key key;
	struct fanout *fo;         /* the stream's */
	const struct source_format *fmt; /* the stream's: follows rate changes */
	enum spectrum_state state;
	uint32_t nviewers;
	uint32_t fps;              /* the fastest viewer's */
	uint64_t frames;           /* computed since open */
	uint64_t blocks_copied;    /* blocks samples were copied from */
	uint64_t restarts;         /* frames begun again after a gap in the scans */
	TAILQ_HEAD(, spectrum_viewer) viewers; /* attached (walk only, for counts) */
	TAILQ_ENTRY(spectrum_source) link; /* for its owner's list (spectrum.c) */
	/* private */
	uv_timer_t compute;        /* the FFT on the loop's next turn */
	struct spectrum_reader rd;
	struct spectrum_fft fft;
	uint32_t have;             /* scans copied into the FFT's input */
	uint64_t next_scan;        /* first_sample that continues the frame */
	uint64_t frame_due_ns;     /* when it was due: next_take_ns, or its first
	                            * block's dequeue_ns when behind (the
	                            * schedule viewers follow) */
	uint64_t frame_ts;         /* its timestamp_ns */
	uint64_t frame_first;      /* its first_sample */
	uint64_t next_take_ns;     /* no new frame begins before this */
	float *db;                 /* bins levels */
	uint8_t *frame;            /* the encoded frame, SPECTRUM_FRAME_MAX bytes */
	bool closing;
};

/*
 * A spectrum of `key` over the stream whose fan-out is fo and whose
 * format is *fmt (both must outlive the source). Nothing is subscribed
 * until a viewer attaches. Returns 0 and *out, or with a one-line reason in
 * err[errlen]: spectrum_reader_init()'s errors; -EINVAL for bins not
 * offered; -ENOMEM.
 */
int spectrum_source_open(uv_loop_t *loop, struct fanout *fo, const struct source_format *fmt,
			 const struct spectrum_key *key, struct spectrum_source **out, char *err,
			 size_t errlen);

/* Add viewer v (ops and fps set; not attached elsewhere). The first one
 * subscribes the source to its fan-out; v gets the next frame computed. */
void spectrum_source_attach(struct spectrum_source *s, struct spectrum_viewer *v);

/* Take v off its source: it is sent nothing more. The last viewer leaving
 * unsubscribes the source (and drops a frame half copied). Returns the
 * viewers left; the owner may then close the source. Never call it from a
 * viewer's send(). */
uint32_t spectrum_source_detach(struct spectrum_viewer *v);

/* Change an attached viewer's rate (1..SPECTRUM_FPS_MAX; clamped). */
void spectrum_viewer_set_fps(struct spectrum_viewer *v, uint32_t fps);

/* Close a source with no viewer: its memory goes once the loop has run
 * its timer's close callback. */
void spectrum_source_close(struct spectrum_source *s);

#endif /* IIOSTREAMD_SPECTRUM_SOURCE_H */
