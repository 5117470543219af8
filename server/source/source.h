/* SPDX-License-Identifier: MIT */
/*
 * Block sources: where filled blocks come from.
 *
 * Every source follows the block life cycle of the IIO mmap interface
 * (docs/block-lifecycle.md): blocks are allocated, queried, mapped and
 * enqueued; the source fills enqueued blocks and moves them to its outgoing
 * queue; the daemon dequeues them, sends them, and enqueues them again. A
 * block is owned by exactly one side at a time:
 *
 *   USER (the daemon) --enqueue--> QUEUED --source fills--> ACTIVE
 *        ^                                                    |
 *        +------------dequeue------------ DONE <--------------+
 *
 * An output device (a DAC, fmt.output) trades blocks the same way the
 * other way round: the daemon fills a block and ENQUEUEs it with its
 * bytes_used (whole scans) and flags (SOURCE_BLOCK_CYCLIC); the device
 * plays queued blocks in order at its sample rate, and a block it finished
 * playing is DONE, to be dequeued empty and filled again. DEQUEUE reports
 * where it played: first_sample is the device's scan index of its first
 * scan, timestamp_ns when that played, and lost_samples / UNDERFLOW the
 * silence before it. Running dry after playing started is an underflow
 * (counters); silence before the first block after enable is not.
 *
 * Sources sit behind this ops table so the daemon never knows which one it
 * drives: `sim` (userspace, default), `kernel` (/dev/iio_blockN of the
 * iiostream_sim module, or any node with the same ioctls), `dmabuf`
 * (an IIO buffer through the mainline DMABUF interface, Linux 6.11+) and
 * `readfd` (read() from any IIO device's standard buffer).
 * All ops are called from the daemon's loop thread. Errors are negative
 * errno values; a failing op changes nothing.
 */
#ifndef IIOSTREAMD_SOURCE_H
#define IIOSTREAMD_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "iiostream/scan.h"

/* Block flag bits as the source reports them (same bits as on the wire). */
#define SOURCE_BLOCK_TIMESTAMP_VALID (1u << 0)
#define SOURCE_BLOCK_OVERFLOW (1u << 1)
/* Output devices (fmt.output): ENQUEUE with CYCLIC plays the block in a
 * loop until another block is enqueued, which replaces it at the end of a
 * repetition (no gap); the looping block is then DONE. */
#define SOURCE_BLOCK_CYCLIC (1u << 2)
/* Output devices, on DEQUEUE: the device ran dry just before playing this
 * block; lost_samples scans of silence were played in its place. */
#define SOURCE_BLOCK_UNDERFLOW (1u << 3)

/* What one block is, as QUERY and DEQUEUE report it (the seed's
 * struct iio_buffer_block plus the lost-sample count). */
struct source_block {
	uint32_t id;          /* in: block to query/enqueue; out: dequeued block */
	uint32_t size;        /* capacity in bytes */
	uint32_t bytes_used;  /* bytes filled (DEQUEUE) */
	uint32_t flags;       /* SOURCE_BLOCK_* */
	uint64_t offset;      /* mmap offset of the block */
	uint64_t timestamp_ns;/* CLOCK_MONOTONIC time of the first sample */
	uint64_t lost_samples;/* scans dropped by the source just before this block */
	uint64_t first_sample;/* index of the block's first scan, as the source
	                       * numbers them (the pattern's n); DEQUEUE only */
};

/* Sample layout the source produces: scans of the enabled scan elements, in
 * ascending scan index, each of its IIO type (type[]), laid out as the IIO
 * core lays them out (iios_scan_layout_from_mask(), iiostream/scan.h).
 * Every format() op fills every field. */
struct source_format {
	const char *device;   /* device name, e.g. "iiostream-sim" (two devices
			       * of a board may share one) */
	const char *iio_id;   /* the IIO device's id, "iio:device3": unique on
			       * the board; NULL for a device not in sysfs (sim) */
	uint32_t device_channels; /* the device's data channels (scan indices
				   * 0..n-1), the timestamp not counted */
	uint64_t channel_mask;    /* bit i: scan element i is enabled (in each
				   * scan); bit timestamp_index for the timestamp */
	uint32_t channels;    /* enabled scan elements: popcount(channel_mask) */
	uint32_t scan_bytes;  /* bytes per scan (enabled elements, padding) */
	uint64_t sample_rate; /* scans per second, 0 = as fast as blocks return */
	/* added with every scan format (issue 16): */
	uint32_t scan_elements;   /* scan indices the device has:
				   * device_channels, + 1 with a timestamp */
	struct iios_scan_type type[IIOS_SCAN_MAX_ELEMENTS]; /* the IIO type of
				   * scan index i, for i < scan_elements */
	int timestamp_index;      /* scan index of the timestamp element (IIO's
				   * "timestamp" channel: le:s64/64>>0, time of
				   * the scan in ns), device_channels when the
				   * device has one, else -1 */
	/* added with transmit (issue 17): */
	bool output;              /* an output device (DAC): see the life
				   * cycle above; its channels are IIO output
				   * channels ("out_voltage0") */
};

/* Counters every source keeps. An output device counts what it played in
 * blocks_produced and bytes_produced. */
struct source_counters {
	uint64_t blocks_produced;
	uint64_t bytes_produced;
	uint64_t overflows;    /* times the source had no queued block */
	uint64_t lost_samples; /* scans dropped because of that */
	bool enabled;
	/* output devices only (0 for capture): */
	uint64_t underflows;        /* times it ran dry while playing */
	uint64_t underflow_samples; /* scans of silence played since, in all
				     * (grows while an underflow lasts) */
	uint64_t underflow_at;      /* device scan index where the last
				     * underflow began (0 if none) */
	uint64_t played_samples;    /* device scans played since enable,
				     * silence included: its position */
	bool underflowing;          /* dry now (after playing started) */
};

struct source_config {
	const char *arg;      /* the spec's node or device (source_spec.h), or "" */
	const char *name;     /* name=: the device's name (sim), "" for the default */
	const char *format;   /* format=: the sim's scan format, "" for le:s16/16 */
	bool timestamp;       /* timestamp=on: the sim adds a 64-bit timestamp channel */
	uint32_t channels;
	uint64_t sample_rate;
	bool channels_set;    /* given on the command line (a device has its own) */
	bool rate_set;
	/* added with the DMABUF interface (issue 18): */
	bool buffer_set;      /* buffer=: the IIO buffer to use (dmabuf) */
	uint32_t buffer;      /* its index, when buffer_set */
};

struct source;

struct source_ops {
	const char *name;
	/* Create the source on `loop`. Nothing allocated yet. */
	int (*open)(struct source **out, uv_loop_t *loop, const struct source_config *cfg);
	/* ALLOC: add `count` blocks of `size` bytes; their ids are
	 * *first_id .. *first_id + count - 1, owned by the user. 0; or, from
	 * a device that gave fewer than asked (as some kernels' block
	 * interfaces do), how many it gave (0 < n < count, ids
	 * *first_id .. *first_id + n - 1); -EBUSY while enabled, -EINVAL on a
	 * bad size or count, -ENOMEM when it gave none. */
	int (*alloc)(struct source *s, uint32_t size, uint32_t count, uint32_t *first_id);
	/* QUERY: fill *blk for blk->id. -EINVAL on an unknown id. */
	int (*query)(struct source *s, struct source_block *blk);
	/* MAP: address of block `id`, valid until free(). */
	int (*map)(struct source *s, uint32_t id, void **addr);
	/* ENQUEUE: hand block blk->id to the source. -EINVAL unknown id,
	 * -EBUSY if the source already owns it. Output devices also take
	 * blk->bytes_used (whole scans, 1..size, else -EINVAL) and blk->flags
	 * (SOURCE_BLOCK_CYCLIC; capture devices refuse it with -EINVAL). */
	int (*enqueue)(struct source *s, const struct source_block *blk);
	/* DEQUEUE: take the oldest filled block. -EAGAIN when none is ready. */
	int (*dequeue)(struct source *s, struct source_block *blk);
	/* A file descriptor that polls readable while a block is ready. */
	int (*fd_to_poll)(struct source *s);
	/* Start / stop capture (the IIO buffer's enable). Stopping keeps queued
	 * blocks queued and moves a partly filled block to the done queue.
	 * An output device's disable empties its queue instead: every block
	 * queued or playing is DONE (also when it was not enabled), so stale
	 * samples never play at the next enable. */
	int (*enable)(struct source *s);
	int (*disable)(struct source *s);
	/* Optional (NULL: every channel, always): choose the channels each
	 * scan holds, bit i for channel i (the IIO buffer's scan_elements).
	 * -EBUSY while enabled, -EINVAL for an empty mask or one naming a
	 * channel the device does not have. Blocks keep their size; a block
	 * holds as many whole scans as fit. */
	int (*set_channels)(struct source *s, uint64_t mask);
	/* FREE: release every block. -EBUSY while enabled. Mappings die. */
	int (*free)(struct source *s);
	/* Optional (NULL when blocks are not file pages): the file and offset
	 * holding block `id`, for sendfile(). */
	int (*block_file)(struct source *s, uint32_t id, int *fd, uint64_t *offset);
	/* Optional: read or write an attribute of the device as text, IIO's
	 * way ("sampling_frequency"); channel "" for device attributes.
	 * -ENOENT: no such attribute; -EINVAL: a value it does not take. */
	int (*attr_read)(struct source *s, const char *channel, const char *attr, char *buf,
			 size_t len);
	int (*attr_write)(struct source *s, const char *channel, const char *attr,
			  const char *value);
	void (*format)(struct source *s, struct source_format *fmt);
	void (*counters)(struct source *s, struct source_counters *c);
	/* Close: release everything; the memory goes once the loop has run
	 * the close callbacks of the source's handles. */
	void (*close)(struct source *s);
};

/* Every source struct starts with this. */
struct source {
	const struct source_ops *ops;
};

/* Find a source by its --source spec ("sim", "kernel:/dev/iio_block0"):
 * the name before the first ':'. NULL if there is none. The rest of a spec
 * is source_spec.h's. */
const struct source_ops *source_find(const char *spec);

extern const struct source_ops source_sim_ops;
extern const struct source_ops source_kernel_ops;
extern const struct source_ops source_readfd_ops;
/* The mainline kernel's IIO DMABUF interface, input or output:
 * source_dmabuf.c. */
extern const struct source_ops source_dmabuf_ops;
/* The sim's DAC (output): source_sim_dac.c. */
extern const struct source_ops source_sim_dac_ops;

/* Loopback of a sim board: what `dac` plays is what `adc` captures
 * (channel c of the DAC into channel c of the ADC, on the ADC's sample
 * clock), while the DAC's "loopback" attribute is 1. Both must be sim
 * sources (`adc` source_sim_ops, `dac` source_sim_dac_ops) on one loop;
 * either may be closed first (that disconnects them). 0, or -EINVAL. */
int source_sim_connect_loopback(struct source *adc, struct source *dac);

#endif /* IIOSTREAMD_SOURCE_H */
