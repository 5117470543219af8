// SPDX-License-Identifier: MIT
/*
 * The `kernel` block source: the iio_block ioctls on a device node.
 *
 *   --source kernel                    the first /dev/iio_blockN there is
 *   --source kernel:/dev/iio_block0    that node
 *   --source kernel:iiostream-sim      the node of the IIO device so named
 *
 * The five ioctls and mmap are the seed's (module/include/uapi/iiostream/
 * iio_block.h, docs/uapi.md); the fd polls readable while a block is done,
 * so the daemon's loop waits on it directly. Capture is switched by the
 * node's sysfs `enable` attribute; on a node that is itself an IIO device
 * (Analog Devices' kernels put the same ioctls on /dev/iio:deviceX) it is
 * the device's buffer/enable instead, so nothing here depends on our
 * module's node name.
 *
 * Scan numbering: the device numbers scans from 0 at each enable and
 * stamps every block with the ideal time of its first scan; so a block's
 * first scan index follows from the previous one, and a gap flagged with
 * OVERFLOW is measured exactly from the timestamps.
 */
#define _GNU_SOURCE
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <iiostream/iio_block.h>

#include "clock.h"
#include "iio_sysfs.h"
#include "log.h"

struct kernel_block {
	void *addr;            /* read-only shared mapping, or NULL */
	size_t map_len;
	uint32_t size;
	uint32_t offset;
};

struct kernel_source {
	struct source base;
	int fd;
	char node[PATH_MAX];       /* /dev/iio_block0 */
	char enable_path[PATH_MAX + 32];/* .../enable or .../buffer/enable */
	char iio_dir[PATH_MAX];    /* /sys/bus/iio/devices/iio:deviceN */
	char counters_dir[PATH_MAX];/* the node's sysfs dir, "" without counters */
	char name[64];             /* the IIO device's name */
	uint32_t channels;         /* the device's in_voltageN: scan indices 0..n-1 */
	uint32_t elements;         /* its scan indices: channels, + 1 with a timestamp */
	int ts_index;              /* in_timestamp's scan index (channels), or -1 */
	struct iios_scan_type type[64]; /* each scan index's, from sysfs */
	uint64_t mask;             /* elements captured, bit i for scan index i */
	uint32_t scan_bytes;       /* a block's scan: those, in IIO's layout */
	uint64_t rate;

	struct kernel_block blocks[IIO_BUFFER_BLOCK_MAX];
	uint32_t nblocks;
	bool enabled;

	/* scan numbering of the current stream (reset at enable) */
	bool have_prev;
	uint64_t next_scan;        /* first scan of the next block, if no gap */
	uint64_t next_ts;          /* its ideal timestamp */
	uint64_t enable_ns;        /* about when scan 0 was captured */

	uint64_t blocks_produced, bytes_produced;
	uint64_t base_lost, base_overflows; /* the node's counters at open */
	uint64_t lost_seen;        /* scans reported lost through blocks */
};

static struct kernel_source *to_kernel(struct source *s)
{
	return (struct kernel_source *)s;
}

static int set_mask(struct kernel_source *k, uint64_t mask);


/*
 * Turn the --source argument into a device node:
 * "" -> the first iio_block node; "/..." -> that path; NAME -> the node of
 * the IIO device called NAME (its block_device, or the IIO node itself).
 */
static int resolve_node(const char *arg, char *node, size_t len)
{
	const char *root = "/sys/bus/iio/devices";
	struct dirent *de;
	DIR *d;
	int err = -ENODEV;

	if (arg[0] == '/') {
		snprintf(node, len, "%s", arg);
		return 0;
	}
	d = opendir(root);
	if (!d) {
		log_error("source kernel: %s: %s (is an IIO driver loaded?)", root, strerror(errno));
		return -ENODEV;
	}
	while ((de = readdir(d)) != NULL) {
		char dir[PATH_MAX], name[64], blk[64];

		if (strncmp(de->d_name, "iio:device", 10) != 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", root, de->d_name);
		if (arg[0] && (iio_sysfs_read(dir, "name", name, sizeof(name)) || strcmp(name, arg)))
			continue;
		if (iio_sysfs_read(dir, "block_device", blk, sizeof(blk)) == 0) {
			snprintf(node, len, "/dev/%s", blk);
			err = 0;
			break;
		}
		if (arg[0]) { /* named: an IIO node with the ioctls on itself */
			snprintf(node, len, "/dev/%s", de->d_name);
			err = 0;
			break;
		}
	}
	closedir(d);
	if (err)
		log_error("source kernel: no %s%s%s with a block interface under %s",
			  arg[0] ? "IIO device named '" : "iio_block node", arg,
			  arg[0] ? "'" : "", root);
	return err;
}

/*
 * Where the open node's attributes are, from its sysfs directory: our
 * module's /dev/iio_blockN has its own enable and counters, an IIO device
 * node carrying the ioctls (ADI kernels) has the device's buffer/enable.
 */
static int find_sysfs_dirs(struct kernel_source *k)
{
	char sysdir[64], real[PATH_MAX], iio_name[64];
	struct stat st;

	if (fstat(k->fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
		log_error("source kernel: %s is not a character device", k->node);
		return -ENOTTY;
	}
	/* /sys/dev/char/MAJ:MIN is the node's sysfs directory */
	snprintf(sysdir, sizeof(sysdir), "/sys/dev/char/%u:%u", major(st.st_rdev),
		 minor(st.st_rdev));
	if (!realpath(sysdir, real)) {
		int err = -errno;

		log_error("source kernel: %s: %s", sysdir, strerror(errno));
		return err;
	}
	if (iio_sysfs_read(real, "iio_device", iio_name, sizeof(iio_name)) == 0) {
		/* our module: /dev/iio_blockN with its own enable and counters */
		snprintf(k->iio_dir, sizeof(k->iio_dir), "/sys/bus/iio/devices/%s", iio_name);
		snprintf(k->enable_path, sizeof(k->enable_path), "%s/enable", real);
		snprintf(k->counters_dir, sizeof(k->counters_dir), "%s", real);
	} else if (iio_sysfs_exists(real, "buffer/enable")) {
		/* an IIO device node carrying the ioctls (ADI kernels) */
		snprintf(k->iio_dir, sizeof(k->iio_dir), "%s", real);
		snprintf(k->enable_path, sizeof(k->enable_path), "%s/buffer/enable", real);
	} else {
		log_error("source kernel: %s has neither an iio_device nor a buffer/enable attribute",
			  k->node);
		return -ENOTTY;
	}
	return 0;
}

/* The device's name and scan elements, in the types it declares (and its
 * timestamp, if it has one); every element captured to begin with. */
static int read_channels(struct kernel_source *k, const struct source_config *cfg)
{
	struct iios_scan_layout l;
	int err;

	if (iio_sysfs_read(k->iio_dir, "name", k->name, sizeof(k->name)))
		snprintf(k->name, sizeof(k->name), "iio");
	err = iio_sysfs_scan_elements(k->iio_dir, k->type, &k->channels, &k->ts_index);
	if (err)
		return err;
	k->elements = k->channels + (k->ts_index >= 0);
	k->mask = k->elements >= 64 ? ~0ull : (1ull << k->elements) - 1;
	/* as the IIO core lays the scan out; our module says its own */
	if (iios_scan_layout_from_mask(&l, k->type, k->elements, k->mask, k->ts_index))
		return -EINVAL;
	k->scan_bytes = l.scan_bytes;
	if (!k->counters_dir[0])
		iio_sysfs_enable_channels(k->iio_dir, k->channels, k->mask, k->ts_index);
	else if (iio_sysfs_exists(k->counters_dir, "channel_mask"))
		set_mask(k, k->mask); /* whatever an earlier user left there */
	if (cfg->channels_set && cfg->channels != k->channels) {
		log_error("source kernel: %s has %u channels, not %u (drop --channels)", k->name,
			  k->channels, cfg->channels);
		return -EINVAL;
	}
	return 0;
}

/* --rate into the device's sampling_frequency if given; then the rate it has. */
static int setup_rate(struct kernel_source *k, const struct source_config *cfg)
{
	int err;

	if (cfg->rate_set) {
		err = iio_sysfs_write_rate(k->iio_dir, cfg->sample_rate, "source kernel");
		if (err)
			return err;
	}
	err = iio_sysfs_read_u64(k->iio_dir, "sampling_frequency", &k->rate);
	if (err || k->rate == 0) {
		log_error("source kernel: %s/sampling_frequency unreadable", k->iio_dir);
		return -EINVAL;
	}
	return 0;
}

static int kernel_open(struct source **out, uv_loop_t *loop, const struct source_config *cfg)
{
	struct kernel_source *k;
	int err;

	(void)loop;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->base.ops = &source_kernel_ops;
	err = resolve_node(cfg->arg ? cfg->arg : "", k->node, sizeof(k->node));
	if (err)
		goto err_free;
	k->fd = open(k->node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0) {
		err = -errno;
		log_error("source kernel: %s: %s", k->node, strerror(errno));
		goto err_free;
	}
	err = find_sysfs_dirs(k);
	if (err)
		goto err_close;
	err = read_channels(k, cfg);
	if (err)
		goto err_close;
	err = setup_rate(k, cfg);
	if (err)
		goto err_close;
	if (k->counters_dir[0]) {
		iio_sysfs_read_u64(k->counters_dir, "lost_samples", &k->base_lost);
		iio_sysfs_read_u64(k->counters_dir, "overflows", &k->base_overflows);
	}
	log_info("source kernel: %s (%s, %u channels%s, %u-byte scans at %" PRIu64 " scans/s)",
		 k->node, k->name, k->channels, k->ts_index >= 0 ? " and a timestamp" : "",
		 k->scan_bytes, k->rate);
	*out = &k->base;
	return 0;

err_close:
	close(k->fd);
err_free:
	free(k);
	return err;
}

static int kernel_alloc(struct source *s, uint32_t size, uint32_t count, uint32_t *first_id)
{
	struct kernel_source *k = to_kernel(s);
	struct iio_buffer_block_alloc_req req = { .type = IIO_BUFFER_BLOCK_TYPE_MMAP,
						  .size = size, .count = count };
	uint32_t i;

	if (ioctl(k->fd, IIO_BUFFER_BLOCK_ALLOC_IOCTL, &req) < 0)
		return -errno;
	for (i = 0; i < req.count; i++) {
		struct iio_buffer_block b = { .id = req.id + i };

		if (b.id >= IIO_BUFFER_BLOCK_MAX ||
		    ioctl(k->fd, IIO_BUFFER_BLOCK_QUERY_IOCTL, &b) < 0)
			return -EIO;
		k->blocks[b.id].size = b.size;
		k->blocks[b.id].offset = b.data.offset;
	}
	if (req.id + req.count > k->nblocks)
		k->nblocks = req.id + req.count;
	*first_id = req.id;
	/* fewer than asked: used as they are (block_pool_init) */
	if (req.count == 0)
		return -ENOMEM;
	return req.count == count ? 0 : (int)req.count;
}

static void fill_block(struct kernel_source *k, const struct iio_buffer_block *b,
		       struct source_block *out)
{
	out->id = b->id;
	out->size = b->size;
	out->bytes_used = b->bytes_used;
	out->flags = 0;
	if (b->flags & IIO_BUFFER_BLOCK_FLAG_TIMESTAMP_VALID)
		out->flags |= SOURCE_BLOCK_TIMESTAMP_VALID;
	if (b->flags & IIO_BUFFER_BLOCK_FLAG_OVERFLOW)
		out->flags |= SOURCE_BLOCK_OVERFLOW;
	out->offset = b->data.offset;
	out->timestamp_ns = b->timestamp;
	out->lost_samples = 0;
	out->first_sample = 0;
	(void)k;
}

static int kernel_query(struct source *s, struct source_block *blk)
{
	struct kernel_source *k = to_kernel(s);
	struct iio_buffer_block b = { .id = blk->id };

	if (ioctl(k->fd, IIO_BUFFER_BLOCK_QUERY_IOCTL, &b) < 0)
		return -errno;
	fill_block(k, &b, blk);
	return 0;
}

static int kernel_map(struct source *s, uint32_t id, void **addr)
{
	struct kernel_source *k = to_kernel(s);
	struct kernel_block *kb;
	long page = sysconf(_SC_PAGESIZE);

	if (id >= k->nblocks)
		return -EINVAL;
	kb = &k->blocks[id];
	if (!kb->addr) {
		size_t len = ((size_t)kb->size + (size_t)page - 1) & ~((size_t)page - 1);
		/* read-only: the daemon never writes a capture block */
		void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, k->fd, kb->offset);

		if (p == MAP_FAILED)
			return -errno;
		kb->addr = p;
		kb->map_len = len;
	}
	*addr = kb->addr;
	return 0;
}

static int kernel_enqueue(struct source *s, const struct source_block *blk)
{
	struct kernel_source *k = to_kernel(s);
	struct iio_buffer_block b = { .id = blk->id };

	return ioctl(k->fd, IIO_BUFFER_BLOCK_ENQUEUE_IOCTL, &b) < 0 ? -errno : 0;
}

/*
 * ns -> scans at the device's rate, rounded to the nearest scan, and back.
 * No __int128 (32-bit ARM has none): the first factor is split into a
 * quotient and a remainder of the divisor, so the only product that could
 * overflow is remainder * rate or remainder * 10^9, below rate * 10^9: exact
 * for every rate up to UINT64_MAX / 10^9, 18.4 G scans/s.
 */
static uint64_t ns_to_scans(uint64_t ns, uint64_t rate)
{
	uint64_t q = ns / 1000000000u, r = ns % 1000000000u;

	return q * rate + (r * rate + 500000000u) / 1000000000u;
}

static uint64_t scans_to_ns(uint64_t scans, uint64_t rate)
{
	uint64_t q = scans / rate, r = scans % rate;

	return q * 1000000000u + r * 1000000000u / rate;
}

static int kernel_dequeue(struct source *s, struct source_block *blk)
{
	struct kernel_source *k = to_kernel(s);
	struct iio_buffer_block b;
	uint64_t scans;

	if (ioctl(k->fd, IIO_BUFFER_BLOCK_DEQUEUE_IOCTL, &b) < 0)
		return -errno;
	fill_block(k, &b, blk);
	scans = b.bytes_used / k->scan_bytes;
	if (b.flags & IIO_BUFFER_BLOCK_FLAG_OVERFLOW) {
		/* ideal timestamps: the gap is exact (approximate before the
		 * first block, where only the enable time is known) */
		uint64_t from = k->have_prev ? k->next_ts : k->enable_ns;

		blk->lost_samples = b.timestamp > from ? ns_to_scans(b.timestamp - from, k->rate) : 0;
		if (!k->have_prev)
			log_warn("source kernel: the first block after enable overflowed; its gap of %"
				 PRIu64 " scans is estimated", blk->lost_samples);
	}
	blk->first_sample = k->next_scan + blk->lost_samples;
	k->next_scan = blk->first_sample + scans;
	k->next_ts = b.timestamp + scans_to_ns(scans, k->rate);
	k->have_prev = true;
	k->lost_seen += blk->lost_samples;
	k->blocks_produced++;
	k->bytes_produced += b.bytes_used;
	return 0;
}

static int kernel_fd_to_poll(struct source *s)
{
	return to_kernel(s)->fd;
}

static int kernel_enable(struct source *s)
{
	struct kernel_source *k = to_kernel(s);
	int err;

	if (k->enabled)
		return -EBUSY;
	k->have_prev = false;
	k->next_scan = 0;
	k->enable_ns = monotonic_ns();
	err = iio_sysfs_write(k->enable_path, "1");
	if (err) {
		log_error("source kernel: %s: %s", k->enable_path, strerror(-err));
		return err;
	}
	k->enabled = true;
	return 0;
}

static int kernel_disable(struct source *s)
{
	struct kernel_source *k = to_kernel(s);
	int err;

	if (!k->enabled)
		return 0;
	err = iio_sysfs_write(k->enable_path, "0");
	k->enabled = false;
	return err;
}

static int kernel_free(struct source *s)
{
	struct kernel_source *k = to_kernel(s);
	uint32_t i;

	if (k->enabled)
		return -EBUSY;
	for (i = 0; i < k->nblocks; i++) {
		if (k->blocks[i].addr)
			munmap(k->blocks[i].addr, k->blocks[i].map_len);
		memset(&k->blocks[i], 0, sizeof(k->blocks[i]));
	}
	k->nblocks = 0;
	return ioctl(k->fd, IIO_BUFFER_BLOCK_FREE_IOCTL) < 0 ? -errno : 0;
}

/* Our module's node: blocks of the channels of channel_mask (docs/uapi.md). */
static int set_mask(struct kernel_source *k, uint64_t mask)
{
	char path[PATH_MAX + 32], value[32];
	uint64_t scan_bytes;
	int err;

	snprintf(path, sizeof(path), "%s/channel_mask", k->counters_dir);
	snprintf(value, sizeof(value), "0x%" PRIx64, mask);
	err = iio_sysfs_write(path, value);
	if (err)
		return err;
	err = iio_sysfs_read_u64(k->counters_dir, "scan_bytes", &scan_bytes);
	if (err || scan_bytes == 0)
		return err ? err : -EIO;
	k->mask = mask;
	k->scan_bytes = (uint32_t)scan_bytes;
	return 0;
}

static int kernel_set_channels(struct source *s, uint64_t mask)
{
	struct kernel_source *k = to_kernel(s);

	if (k->enabled)
		return -EBUSY;
	/* an IIO node of another driver: its blocks hold every channel */
	if (!k->counters_dir[0] || !iio_sysfs_exists(k->counters_dir, "channel_mask"))
		return -EOPNOTSUPP;
	return set_mask(k, mask);
}

static void kernel_format(struct source *s, struct source_format *fmt)
{
	struct kernel_source *k = to_kernel(s);
	uint64_t rate;

	/* A client may have written sampling_frequency (devices.c); the
	 * device refuses that while capturing, so between captures the
	 * rate the stream will have is sysfs's. */
	if (!k->enabled && iio_sysfs_read_u64(k->iio_dir, "sampling_frequency", &rate) == 0 && rate)
		k->rate = rate;
	fmt->device = k->name;
	fmt->iio_id = strrchr(k->iio_dir, '/') ? strrchr(k->iio_dir, '/') + 1 : NULL;
	fmt->device_channels = k->channels;
	fmt->channel_mask = k->mask;
	fmt->channels = (uint32_t)__builtin_popcountll(k->mask);
	fmt->scan_bytes = k->scan_bytes;
	fmt->sample_rate = k->rate;
	fmt->scan_elements = k->elements;
	memcpy(fmt->type, k->type, k->elements * sizeof(fmt->type[0]));
	fmt->timestamp_index = k->ts_index;
}

static void kernel_counters(struct source *s, struct source_counters *c)
{
	struct kernel_source *k = to_kernel(s);
	uint64_t v;

	memset(c, 0, sizeof(*c));
	c->blocks_produced = k->blocks_produced;
	c->bytes_produced = k->bytes_produced;
	c->enabled = k->enabled;
	c->lost_samples = k->lost_seen;
	/* the node counts every dropped scan, also those no block reported yet */
	if (k->counters_dir[0] && iio_sysfs_read_u64(k->counters_dir, "lost_samples", &v) == 0)
		c->lost_samples = v - k->base_lost;
	if (k->counters_dir[0] && iio_sysfs_read_u64(k->counters_dir, "overflows", &v) == 0)
		c->overflows = v - k->base_overflows;
}

static void kernel_close(struct source *s)
{
	struct kernel_source *k = to_kernel(s);

	kernel_disable(s);
	kernel_free(s);
	close(k->fd);
	free(k);
}

const struct source_ops source_kernel_ops = {
	.name = "kernel",
	.open = kernel_open,
	.alloc = kernel_alloc,
	.query = kernel_query,
	.map = kernel_map,
	.enqueue = kernel_enqueue,
	.dequeue = kernel_dequeue,
	.fd_to_poll = kernel_fd_to_poll,
	.enable = kernel_enable,
	.disable = kernel_disable,
	.set_channels = kernel_set_channels,
	.free = kernel_free,
	.format = kernel_format,
	.counters = kernel_counters,
	.close = kernel_close,
};
