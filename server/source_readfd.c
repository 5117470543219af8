// SPDX-License-Identifier: MIT
/*
 * The `readfd` block source: any IIO device through its standard buffer.
 *
 *   --source readfd:/dev/iio:device0
 *   --source readfd:NAME        the IIO device so named
 *
 * For boards whose kernel has no block interface: the device's kfifo is
 * read() into blocks of our own (one memfd, like the sim's, so sendfile can
 * send them), with the life cycle of every other source. Every channel is
 * enabled and streamed; capture is the device's buffer/enable.
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
#include "id_fifo.h"
#include "iio_sysfs.h"
#include "log.h"

struct readfd_block {
	uint8_t *addr;
	uint32_t size;
	uint64_t offset;       /* in the memfd */
	uint32_t bytes_used;
	uint64_t timestamp_ns;
	uint64_t first_sample;
	bool owned_by_source;
};

struct readfd_source {
	struct source base;
	uv_loop_t *loop;
	uv_poll_t dev_poll;    /* the device fd, watched while a block waits */
	bool polling;
	int dev_fd;
	int event_fd;          /* readable while a block is done */
	int mem_fd;
	uint64_t mem_len;
	char node[PATH_MAX];
	char iio_dir[PATH_MAX];
	char name[64];
	uint32_t channels, scan_bytes; /* the device's; a scan of those captured */
	uint64_t mask;             /* channels captured (scan_elements: in_voltageN_en) */
	uint64_t rate;

	struct readfd_block blocks[ID_FIFO_MAX];
	uint32_t nblocks;
	struct id_fifo incoming, done;
	int32_t active;
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
	bool want = r->enabled && (r->active >= 0 || r->incoming.count > 0);

	if (want && !r->polling)
		uv_poll_start(&r->dev_poll, UV_READABLE, on_device_readable);
	else if (!want && r->polling)
		uv_poll_stop(&r->dev_poll);
	r->polling = want;
}

static void block_done(struct readfd_source *r)
{
	struct readfd_block *b = &r->blocks[r->active];
	uint64_t one = 1;
	uint64_t scans = b->bytes_used / r->scan_bytes;

	/* estimate: the last scan was captured about now */
	b->timestamp_ns = monotonic_ns() - scans * 1000000000ull / (r->rate ? r->rate : 1);
	b->first_sample = r->next_scan;
	r->next_scan += scans;
	id_fifo_push(&r->done, (uint32_t)r->active);
	r->active = -1;
	r->counters.blocks_produced++;
	r->counters.bytes_produced += b->bytes_used;
	if (r->done.count == 1 && write(r->event_fd, &one, sizeof(one)) < 0)
		abort(); /* an eventfd write of 1 cannot fail while the fd is open */
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
		struct readfd_block *b;
		ssize_t n;

		if (r->active < 0) {
			if (r->incoming.count == 0)
				break;
			r->active = (int32_t)id_fifo_pop(&r->incoming);
			r->blocks[r->active].bytes_used = 0;
		}
		b = &r->blocks[r->active];
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

static int readfd_open(struct source **out, uv_loop_t *loop, const struct source_config *cfg)
{
	const char *arg = cfg->arg ? cfg->arg : "";
	struct readfd_source *r;
	char path[PATH_MAX + 32], rate[32];
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
	r->active = -1;
	r->dev_fd = r->event_fd = r->mem_fd = -1;
	if (arg[0] == '/') {
		const char *base = strrchr(arg, '/') + 1;

		snprintf(r->node, sizeof(r->node), "%s", arg);
		snprintf(r->iio_dir, sizeof(r->iio_dir), "%s/%s", IIO_SYSFS_ROOT, base);
	} else if (iio_sysfs_find_by_name(arg, r->iio_dir, sizeof(r->iio_dir)) == 0) {
		snprintf(r->node, sizeof(r->node), "/dev/%s", strrchr(r->iio_dir, '/') + 1);
	} else {
		log_error("source readfd: no IIO device named '%s' under %s", arg, IIO_SYSFS_ROOT);
		err = -ENODEV;
		goto err_free;
	}
	if (!iio_sysfs_exists(r->iio_dir, "buffer/enable")) {
		log_error("source readfd: %s has no buffer (no %s/buffer/enable)", r->node, r->iio_dir);
		err = -ENODEV;
		goto err_free;
	}
	err = iio_sysfs_int16_channels(r->iio_dir, &r->channels);
	if (err)
		goto err_free;
	r->scan_bytes = r->channels * 2;
	r->mask = r->channels >= 64 ? ~0ull : (1ull << r->channels) - 1;
	if (cfg->channels_set && cfg->channels != r->channels) {
		log_error("source readfd: %s has %u channels, not %u (drop --channels)", r->node,
			  r->channels, cfg->channels);
		err = -EINVAL;
		goto err_free;
	}
	if (cfg->rate_set) {
		snprintf(path, sizeof(path), "%s/sampling_frequency", r->iio_dir);
		snprintf(rate, sizeof(rate), "%" PRIu64, cfg->sample_rate);
		err = iio_sysfs_write(path, rate);
		if (err) {
			log_error("source readfd: writing %s to %s: %s", rate, path, strerror(-err));
			goto err_free;
		}
	}
	if (iio_sysfs_read_u64(r->iio_dir, "sampling_frequency", &r->rate))
		r->rate = 0;
	if (iio_sysfs_read(r->iio_dir, "name", r->name, sizeof(r->name)))
		snprintf(r->name, sizeof(r->name), "iio");
	r->dev_fd = open(r->node, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (r->dev_fd < 0) {
		err = -errno;
		log_error("source readfd: %s: %s", r->node, strerror(errno));
		goto err_free;
	}
	r->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->mem_fd = memfd_create("iiostream-readfd-blocks", MFD_CLOEXEC);
	if (r->event_fd < 0 || r->mem_fd < 0) {
		err = -errno;
		goto err_close;
	}
	err = uv_poll_init(loop, &r->dev_poll, r->dev_fd);
	if (err)
		goto err_close;
	r->dev_poll.data = r;
	log_info("source readfd: %s (%s, %u channels at %" PRIu64 " scans/s)", r->node, r->name,
		 r->channels, r->rate);
	*out = &r->base;
	return 0;

err_close:
	if (r->event_fd >= 0)
		close(r->event_fd);
	if (r->mem_fd >= 0)
		close(r->mem_fd);
	close(r->dev_fd);
err_free:
	free(r);
	return err;
}

static int readfd_alloc(struct source *s, uint32_t size, uint32_t count, uint32_t *first_id)
{
	struct readfd_source *r = to_rfd(s);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t stride = (size + page - 1) / page * page;
	uint32_t i;

	if (r->enabled)
		return -EBUSY;
	if (count == 0 || count > ID_FIFO_MAX - r->nblocks || size < r->scan_bytes ||
	    size % r->scan_bytes)
		return -EINVAL;
	if (ftruncate(r->mem_fd, (off_t)(r->mem_len + stride * count)) < 0)
		return -errno;
	for (i = 0; i < count; i++) {
		struct readfd_block *b = &r->blocks[r->nblocks + i];
		void *addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->mem_fd,
				  (off_t)(r->mem_len + stride * i));

		if (addr == MAP_FAILED) {
			int err = -errno;

			while (i--)
				munmap(r->blocks[r->nblocks + i].addr, size);
			return err;
		}
		memset(b, 0, sizeof(*b));
		b->addr = addr;
		b->size = size;
		b->offset = r->mem_len + stride * i;
	}
	*first_id = r->nblocks;
	r->nblocks += count;
	r->mem_len += stride * count;
	return 0;
}

static int readfd_query(struct source *s, struct source_block *blk)
{
	struct readfd_source *r = to_rfd(s);
	struct readfd_block *b;

	if (blk->id >= r->nblocks)
		return -EINVAL;
	b = &r->blocks[blk->id];
	blk->size = b->size;
	blk->bytes_used = b->bytes_used;
	blk->flags = b->timestamp_ns ? SOURCE_BLOCK_TIMESTAMP_VALID : 0;
	blk->offset = b->offset;
	blk->timestamp_ns = b->timestamp_ns;
	blk->lost_samples = 0; /* read() cannot know */
	blk->first_sample = b->first_sample;
	return 0;
}

static int readfd_map(struct source *s, uint32_t id, void **addr)
{
	struct readfd_source *r = to_rfd(s);

	if (id >= r->nblocks)
		return -EINVAL;
	*addr = r->blocks[id].addr;
	return 0;
}

static int readfd_enqueue(struct source *s, const struct source_block *blk)
{
	struct readfd_source *r = to_rfd(s);

	if (blk->id >= r->nblocks)
		return -EINVAL;
	if (r->blocks[blk->id].owned_by_source)
		return -EBUSY;
	r->blocks[blk->id].owned_by_source = true;
	id_fifo_push(&r->incoming, blk->id);
	update_poll(r);
	return 0;
}

static int readfd_dequeue(struct source *s, struct source_block *blk)
{
	struct readfd_source *r = to_rfd(s);
	uint64_t v;
	uint32_t id;

	if (r->done.count == 0)
		return -EAGAIN;
	id = id_fifo_pop(&r->done);
	if (r->done.count == 0 && read(r->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		abort();
	r->blocks[id].owned_by_source = false;
	blk->id = id;
	return readfd_query(s, blk);
}

static int readfd_block_file(struct source *s, uint32_t id, int *fd, uint64_t *offset)
{
	struct readfd_source *r = to_rfd(s);

	if (id >= r->nblocks)
		return -EINVAL;
	*fd = r->mem_fd;
	*offset = r->blocks[id].offset;
	return 0;
}

static int readfd_fd_to_poll(struct source *s)
{
	return to_rfd(s)->event_fd;
}

static int readfd_enable(struct source *s)
{
	struct readfd_source *r = to_rfd(s);
	char path[PATH_MAX + 32], len[32];
	int err;

	if (r->enabled)
		return -EBUSY;
	err = iio_sysfs_enable_channels(r->iio_dir, r->channels, r->mask);
	if (err)
		return err;
	/* room for a few blocks in the kfifo, in scans */
	snprintf(path, sizeof(path), "%s/buffer/length", r->iio_dir);
	snprintf(len, sizeof(len), "%u",
		 r->nblocks ? 4 * r->blocks[0].size / r->scan_bytes : 65536);
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
	if (r->active >= 0) {
		if (r->blocks[r->active].bytes_used) {
			block_done(r);
		} else {
			id_fifo_push_front(&r->incoming, (uint32_t)r->active);
			r->active = -1;
		}
	}
	update_poll(r);
	return 0;
}

static int readfd_free(struct source *s)
{
	struct readfd_source *r = to_rfd(s);
	uint32_t i;

	if (r->enabled)
		return -EBUSY;
	for (i = 0; i < r->nblocks; i++)
		munmap(r->blocks[i].addr, r->blocks[i].size);
	r->nblocks = 0;
	r->incoming.count = r->done.count = 0;
	r->active = -1;
	if (ftruncate(r->mem_fd, 0) < 0)
		return -errno;
	r->mem_len = 0;
	return 0;
}

/* The IIO buffer's scan_elements: enabled at the next enable. */
static int readfd_set_channels(struct source *s, uint64_t mask)
{
	struct readfd_source *r = to_rfd(s);

	if (r->enabled)
		return -EBUSY;
	r->mask = mask;
	r->scan_bytes = (uint32_t)__builtin_popcountll(mask) * 2;
	return 0;
}

static void readfd_format(struct source *s, struct source_format *fmt)
{
	struct readfd_source *r = to_rfd(s);

	fmt->device = r->name;
	fmt->device_channels = r->channels;
	fmt->channel_mask = r->mask;
	fmt->channels = (uint32_t)__builtin_popcountll(r->mask);
	fmt->scan_bytes = r->scan_bytes;
	fmt->sample_rate = r->rate;
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
	readfd_free(s);
	close(r->event_fd);
	close(r->mem_fd);
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
