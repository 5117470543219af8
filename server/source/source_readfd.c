// SPDX-License-Identifier: MIT
/*
 * The `readfd` block source: any IIO device through its standard buffer.
 *
 *   --source readfd:/dev/iio:device0
 *   --source readfd:NAME        the IIO device so named
 *
 * For boards whose kernel has no block interface: the device's kfifo is
 * read() into blocks of our own (one memfd, like the sim's, so sendfile can
 * send them), with the life cycle of every other source. Every scan element
 * is enabled and streamed to begin with (in_voltageN in the types the
 * device declares, and in_timestamp when it has one, as the timestamp
 * element), laid out as the IIO core lays them out in the kfifo; a
 * subscriber may pick some (set_channels). Capture is the device's
 * buffer/enable.
 *
 * What read() cannot give: the kfifo drops samples silently when nobody
 * reads in time, so a gap cannot be reported here (that is what the block
 * interface's OVERFLOW flag is for), and a block's timestamp is estimated
 * from the time its last byte was read. This source is the compatibility
 * path, and the baseline the block interface is measured against.
 */
#define _GNU_SOURCE
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "block_ring.h"
#include "iio_sysfs.h"
#include "log.h"

struct readfd_source {
	struct source base;
	uv_loop_t *loop;
	uv_poll_t dev_poll;    /* the device fd, watched while a block waits */
	bool polling;
	int dev_fd;
	struct block_ring ring;    /* the blocks, their queues and states */
	char node[PATH_MAX];
	char iio_dir[PATH_MAX];
	char name[64];
	uint32_t channels;         /* the device's in_voltageN: scan indices 0..n-1 */
	uint32_t elements;         /* its scan indices: channels, + 1 with a timestamp */
	int ts_index;              /* in_timestamp's scan index (channels), or -1 */
	struct iios_scan_type type[64]; /* each scan index's, from sysfs */
	uint64_t mask;             /* elements captured (scan_elements: *_en) */
	uint32_t scan_bytes;       /* a scan of those, in IIO's layout */
	uint64_t rate;

	bool enabled;
	uint64_t next_scan;
	struct source_counters counters;
};

static struct readfd_source *to_rfd(struct source *s)
{
	return (struct readfd_source *)s;
}


static void on_device_readable(uv_poll_t *h, int status, int events);

/* Watch the device only while there is a block to read into: with none, the
 * data waits in the kfifo and a level-triggered poll would spin. */
static void update_poll(struct readfd_source *r)
{
	bool want = r->enabled && (r->ring.active >= 0 || r->ring.incoming.count > 0);

	if (want && !r->polling)
		uv_poll_start(&r->dev_poll, UV_READABLE, on_device_readable);
	else if (!want && r->polling)
		uv_poll_stop(&r->dev_poll);
	r->polling = want;
}

static void block_done(struct readfd_source *r)
{
	struct ring_block *b = block_ring_current(&r->ring);
	uint64_t scans = b->bytes_used / r->scan_bytes;

	/* estimate: the last scan was captured about now */
	b->timestamp_ns = monotonic_ns() - scans * 1000000000ull / (r->rate ? r->rate : 1);
	b->flags = SOURCE_BLOCK_TIMESTAMP_VALID;
	b->lost_samples = 0; /* read() cannot know */
	b->first_sample = r->next_scan;
	r->next_scan += scans;
	r->counters.blocks_produced++;
	r->counters.bytes_produced += b->bytes_used;
	block_ring_complete(&r->ring);
}

/* Read what the kfifo holds into the active block(s). */
static void on_device_readable(uv_poll_t *h, int status, int events)
{
	struct readfd_source *r = h->data;

	(void)events;
	if (status < 0) {
		log_error("source readfd: %s: %s", r->node, uv_strerror(status));
		r->polling = false;
		return;
	}
	for (;;) {
		struct ring_block *b = block_ring_current(&r->ring);
		ssize_t n;

		if (!b && !(b = block_ring_start(&r->ring)))
			break;
		n = read(r->dev_fd, b->addr + b->bytes_used, b->size - b->bytes_used);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_error("source readfd: read %s: %s", r->node, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		b->bytes_used += (uint32_t)n;
		if (b->bytes_used + r->scan_bytes > b->size)
			block_done(r);
	}
	update_poll(r);
}

/* The node and sysfs directory of "/dev/iio:deviceN" or of a device's
 * name, which must have a standard buffer. */
static int find_device(struct readfd_source *r, const char *arg)
{
	if (arg[0] == '/') {
		const char *base = strrchr(arg, '/') + 1;

		snprintf(r->node, sizeof(r->node), "%s", arg);
		snprintf(r->iio_dir, sizeof(r->iio_dir), "%s/%s", IIO_SYSFS_ROOT, base);
	} else if (iio_sysfs_find_by_name(arg, r->iio_dir, sizeof(r->iio_dir)) == 0) {
		snprintf(r->node, sizeof(r->node), "/dev/%s", strrchr(r->iio_dir, '/') + 1);
	} else {
		log_error("source readfd: no IIO device named '%s' under %s", arg, IIO_SYSFS_ROOT);
		return -ENODEV;
	}
	if (!iio_sysfs_exists(r->iio_dir, "buffer/enable")) {
		log_error("source readfd: %s has no buffer (no %s/buffer/enable)", r->node, r->iio_dir);
		return -ENODEV;
	}
	return 0;
}

/* The scan of the elements of mask, as the IIO core lays it out in the
 * kfifo: -EINVAL for no element or one the device has not. */
static int layout_mask(struct readfd_source *r, uint64_t mask, uint32_t *scan_bytes)
{
	struct iios_scan_layout l;

	if (iios_scan_layout_from_mask(&l, r->type, r->elements, mask, r->ts_index) ||
	    l.count == 0)
		return -EINVAL;
	*scan_bytes = l.scan_bytes;
	return 0;
}

/* The device's scan elements, all captured to begin with; its rate
 * (--rate written first if given; 0 if unreadable) and name. */
static int read_format(struct readfd_source *r, const struct source_config *cfg)
{
	int err;

	err = iio_sysfs_scan_elements(r->iio_dir, r->type, &r->channels, &r->ts_index);
	if (err)
		return err;
	r->elements = r->channels + (r->ts_index >= 0);
	r->mask = r->elements >= 64 ? ~0ull : (1ull << r->elements) - 1;
	err = layout_mask(r, r->mask, &r->scan_bytes);
	if (err)
		return err;
	if (cfg->channels_set && cfg->channels != r->channels) {
		log_error("source readfd: %s has %u channels, not %u (drop --channels)", r->node,
			  r->channels, cfg->channels);
		return -EINVAL;
	}
	if (cfg->rate_set) {
		err = iio_sysfs_write_rate(r->iio_dir, cfg->sample_rate, "source readfd");
		if (err)
			return err;
	}
	if (iio_sysfs_read_u64(r->iio_dir, "sampling_frequency", &r->rate))
		r->rate = 0;
	if (iio_sysfs_read(r->iio_dir, "name", r->name, sizeof(r->name)))
		snprintf(r->name, sizeof(r->name), "iio");
	return 0;
}

/* The device fd, the block ring and the poll handle, or none of them. */
static int open_device(struct readfd_source *r, uv_loop_t *loop)
{
	int err;

	r->dev_fd = open(r->node, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (r->dev_fd < 0) {
		err = -errno;
		log_error("source readfd: %s: %s", r->node, strerror(-err));
		return err;
	}
	err = block_ring_init(&r->ring, "iiostream-readfd-blocks");
	if (err)
		goto err_close;
	err = uv_poll_init(loop, &r->dev_poll, r->dev_fd);
	if (err)
		goto err_destroy_ring;
	r->dev_poll.data = r;
	return 0;

err_destroy_ring:
	block_ring_destroy(&r->ring);
err_close:
	close(r->dev_fd);
	r->dev_fd = -1;
	return err;
}

static int readfd_open(struct source **out, uv_loop_t *loop, const struct source_config *cfg)
{
	const char *arg = cfg->arg ? cfg->arg : "";
	struct readfd_source *r;
	int err;

	if (!arg[0]) {
		log_error("source readfd: say which device: readfd:/dev/iio:deviceN or readfd:NAME");
		return -EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->base.ops = &source_readfd_ops;
	r->loop = loop;
	r->dev_fd = -1;
	err = find_device(r, arg);
	if (!err)
		err = read_format(r, cfg);
	if (!err)
		err = open_device(r, loop);
	if (err) {
		free(r);
		return err;
	}
	log_info("source readfd: %s (%s, %u channels%s, %u-byte scans at %" PRIu64 " scans/s)",
		 r->node, r->name, r->channels, r->ts_index >= 0 ? " and a timestamp" : "",
		 r->scan_bytes, r->rate);
	*out = &r->base;
	return 0;
}

static int readfd_alloc(struct source *s, uint32_t size, uint32_t count, uint32_t *first_id)
{
	struct readfd_source *r = to_rfd(s);

	if (r->enabled)
		return -EBUSY;
	return block_ring_alloc(&r->ring, size, count, r->scan_bytes, first_id);
}

static int readfd_query(struct source *s, struct source_block *blk)
{
	return block_ring_query(&to_rfd(s)->ring, blk);
}

static int readfd_map(struct source *s, uint32_t id, void **addr)
{
	return block_ring_map(&to_rfd(s)->ring, id, addr);
}

static int readfd_enqueue(struct source *s, const struct source_block *blk)
{
	struct readfd_source *r = to_rfd(s);
	int err = block_ring_enqueue(&r->ring, blk->id);

	if (!err)
		update_poll(r);
	return err;
}

static int readfd_dequeue(struct source *s, struct source_block *blk)
{
	return block_ring_dequeue(&to_rfd(s)->ring, blk);
}

static int readfd_block_file(struct source *s, uint32_t id, int *fd, uint64_t *offset)
{
	return block_ring_block_file(&to_rfd(s)->ring, id, fd, offset);
}

static int readfd_fd_to_poll(struct source *s)
{
	return to_rfd(s)->ring.event_fd;
}

static int readfd_enable(struct source *s)
{
	struct readfd_source *r = to_rfd(s);
	char path[PATH_MAX + 32], len[32];
	int err;

	if (r->enabled)
		return -EBUSY;
	err = iio_sysfs_enable_channels(r->iio_dir, r->channels, r->mask, r->ts_index);
	if (err)
		return err;
	/* room for a few blocks in the kfifo, in scans */
	snprintf(path, sizeof(path), "%s/buffer/length", r->iio_dir);
	snprintf(len, sizeof(len), "%u",
		 r->ring.nblocks ? 4 * r->ring.blocks[0].size / r->scan_bytes : 65536);
	if (iio_sysfs_write(path, len))
		log_warn("source readfd: cannot set %s to %s", path, len);
	snprintf(path, sizeof(path), "%s/buffer/enable", r->iio_dir);
	err = iio_sysfs_write(path, "1");
	if (err) {
		log_error("source readfd: %s: %s", path, strerror(-err));
		return err;
	}
	r->enabled = true;
	r->counters.enabled = true;
	r->next_scan = 0; /* the device numbers scans from its enable */
	update_poll(r);
	return 0;
}

static int readfd_disable(struct source *s)
{
	struct readfd_source *r = to_rfd(s);
	char path[PATH_MAX + 32];

	if (!r->enabled)
		return 0;
	snprintf(path, sizeof(path), "%s/buffer/enable", r->iio_dir);
	iio_sysfs_write(path, "0");
	r->enabled = false;
	r->counters.enabled = false;
	/* a partly filled block goes out with what it holds */
	if (block_ring_current(&r->ring)) {
		if (block_ring_current(&r->ring)->bytes_used)
			block_done(r);
		else
			block_ring_requeue(&r->ring);
	}
	update_poll(r);
	return 0;
}

static int readfd_free(struct source *s)
{
	struct readfd_source *r = to_rfd(s);

	if (r->enabled)
		return -EBUSY;
	return block_ring_free(&r->ring);
}

/* The IIO buffer's scan_elements: enabled at the next enable. */
static int readfd_set_channels(struct source *s, uint64_t mask)
{
	struct readfd_source *r = to_rfd(s);
	uint32_t scan_bytes;

	if (r->enabled)
		return -EBUSY;
	/* as the IIO core will lay the scan out */
	if (layout_mask(r, mask, &scan_bytes))
		return -EINVAL;
	r->mask = mask;
	r->scan_bytes = scan_bytes;
	return 0;
}

static void readfd_format(struct source *s, struct source_format *fmt)
{
	struct readfd_source *r = to_rfd(s);

	fmt->device = r->name;
	fmt->iio_id = strrchr(r->iio_dir, '/') ? strrchr(r->iio_dir, '/') + 1 : NULL;
	fmt->device_channels = r->channels;
	fmt->channel_mask = r->mask;
	fmt->channels = (uint32_t)__builtin_popcountll(r->mask);
	fmt->scan_bytes = r->scan_bytes;
	fmt->sample_rate = r->rate;
	fmt->scan_elements = r->elements;
	memcpy(fmt->type, r->type, r->elements * sizeof(fmt->type[0]));
	fmt->timestamp_index = r->ts_index;
}

static void readfd_counters(struct source *s, struct source_counters *c)
{
	*c = to_rfd(s)->counters;
}

static void on_poll_closed(uv_handle_t *h)
{
	struct readfd_source *r = h->data;

	close(r->dev_fd);
	free(r);
}

static void readfd_close(struct source *s)
{
	struct readfd_source *r = to_rfd(s);

	readfd_disable(s);
	block_ring_destroy(&r->ring);
	uv_close((uv_handle_t *)&r->dev_poll, on_poll_closed);
}

const struct source_ops source_readfd_ops = {
	.name = "readfd",
	.open = readfd_open,
	.alloc = readfd_alloc,
	.query = readfd_query,
	.map = readfd_map,
	.enqueue = readfd_enqueue,
	.dequeue = readfd_dequeue,
	.fd_to_poll = readfd_fd_to_poll,
	.block_file = readfd_block_file,
	.enable = readfd_enable,
	.set_channels = readfd_set_channels,
	.disable = readfd_disable,
	.free = readfd_free,
	.format = readfd_format,
	.counters = readfd_counters,
	.close = readfd_close,
};
