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
 *
 * An output node (a DAC: the node's sysfs `direction` is "out", or an IIO
 * node whose scan elements are out_*) plays the blocks the daemon fills
 * (docs/uapi.md, "The output direction"): blocks are mapped read-write,
 * ENQUEUE carries bytes_used and CYCLIC, DEQUEUE's UNDERFLOW becomes
 * SOURCE_BLOCK_UNDERFLOW with the silence measured from the ideal
 * timestamps, and the node's underflow counters are the source's. The
 * node's disable keeps queued blocks queued (they would play at the next
 * enable), where source.h wants them back unplayed: disable then takes
 * them back itself (reclaim_queued(): FREE, the same ALLOCs again, each
 * new block mapped over the old one's address, so the daemon's pointers
 * stay valid).
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
	void *addr;            /* shared mapping (read-only for capture), or NULL */
	size_t map_len;
	uint32_t size;
	uint32_t offset;
	/* output only: */
	bool in_kernel;        /* enqueued and not dequeued since */
	uint32_t bytes_used;   /* as enqueued */
	uint64_t seq;          /* enqueue order */
};

/* Output: blocks a disable took back, handed out by DEQUEUE before the
 * node's own (FIFO). */
struct kernel_returned {
	struct source_block blk[IIO_BUFFER_BLOCK_MAX];
	uint32_t head, n;
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

	/* output only */
	bool output;               /* a DAC: fmt.output */
	bool t0_known;             /* out_t0 is the device's scan 0 time */
	bool prev_cyclic;          /* the last block dequeued was CYCLIC */
	bool prequeued;            /* blocks were queued at enable */
	uint64_t out_t0;           /* CLOCK_MONOTONIC ns of scan 0 */
	uint64_t enq_seq;
	struct kernel_returned returned;
	uint64_t base_underflows, base_underflow_samples, base_played; /* at open */
};

static struct kernel_source *to_kernel(struct source *s)
{
	return (struct kernel_source *)s;
}

static int set_mask(struct kernel_source *k, uint64_t mask);


/* Does the block node `blk` ("iio_block1") play rather than capture? */
static bool block_node_is_output(const char *blk)
{
	char dir[PATH_MAX], dirn[8];

	snprintf(dir, sizeof(dir), "/sys/class/iio_block/%s", blk);
	return iio_sysfs_read(dir, "direction", dirn, sizeof(dirn)) == 0 &&
	       strcmp(dirn, "out") == 0;
}

/*
 * Turn the --source argument into a device node:
 * "" -> the first capturing iio_block node (a DAC's is taken only when
 * named); "/..." -> that path; NAME -> the node of the IIO device called
 * NAME (its block_device, or the IIO node itself).
 */
static int resolve_node(const char *arg, char *node, size_t len)
{
	const char *root = IIO_SYSFS_ROOT;
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
			if (!arg[0] && block_node_is_output(blk))
				continue; /* a DAC: only when named */
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
			  arg[0] ? "IIO device named '" : "capturing iio_block node", arg,
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
		char dirn[8];

		snprintf(k->iio_dir, sizeof(k->iio_dir), "/sys/bus/iio/devices/%s", iio_name);
		snprintf(k->enable_path, sizeof(k->enable_path), "%s/enable", real);
		snprintf(k->counters_dir, sizeof(k->counters_dir), "%s", real);
		k->output = iio_sysfs_read(real, "direction", dirn, sizeof(dirn)) == 0 &&
			    strcmp(dirn, "out") == 0;
	} else if (iio_sysfs_exists(real, "buffer/enable")) {
		/* an IIO device node carrying the ioctls (ADI kernels) */
		snprintf(k->iio_dir, sizeof(k->iio_dir), "%s", real);
		snprintf(k->enable_path, sizeof(k->enable_path), "%s/buffer/enable", real);
		k->output = iio_sysfs_is_output(real);
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
	k->ts_index = -1; /* an output device plays no timestamp */
	err = k->output ? iio_sysfs_channel_types_of(k->iio_dir, true, k->type, &k->channels)
			: iio_sysfs_scan_elements(k->iio_dir, k->type, &k->channels, &k->ts_index);
	if (err)
		return err;
	k->elements = k->channels + (k->ts_index >= 0);
	k->mask = k->elements >= 64 ? ~0ull : (1ull << k->elements) - 1;
	/* as the IIO core lays the scan out; our module says its own */
	if (iios_scan_layout_from_mask(&l, k->type, k->elements, k->mask, k->ts_index))
		return -EINVAL;
	k->scan_bytes = l.scan_bytes;
	if (!k->counters_dir[0])
		iio_sysfs_enable_channels_of(k->iio_dir, k->output, k->channels, k->mask, k->ts_index);
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
		iio_sysfs_read_u64(k->counters_dir, "underflows", &k->base_underflows);
		iio_sysfs_read_u64(k->counters_dir, "underflow_samples", &k->base_underflow_samples);
		iio_sysfs_read_u64(k->counters_dir, "blocks_played", &k->base_played);
	}
	log_info("source kernel: %s (%s, %s%u channels%s, %u-byte scans at %" PRIu64 " scans/s)",
		 k->node, k->name, k->output ? "output, " : "", k->channels,
		 k->ts_index >= 0 ? " and a timestamp" : "", k->scan_bytes, k->rate);
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
	if (b->flags & IIO_BUFFER_BLOCK_FLAG_CYCLIC)
		out->flags |= SOURCE_BLOCK_CYCLIC;
	if (b->flags & IIO_BUFFER_BLOCK_FLAG_UNDERFLOW)
		out->flags |= SOURCE_BLOCK_UNDERFLOW;
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

static int block_prot(const struct kernel_source *k)
{
	return k->output ? PROT_READ | PROT_WRITE : PROT_READ;
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
		/* read-only: the daemon never writes a capture block; it
		 * fills an output block */
		void *p = mmap(NULL, len, block_prot(k), MAP_SHARED, k->fd, kb->offset);

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

	if (!k->output)
		return blk->flags & SOURCE_BLOCK_CYCLIC ? -EINVAL :
		       ioctl(k->fd, IIO_BUFFER_BLOCK_ENQUEUE_IOCTL, &b) < 0 ? -errno : 0;
	if (blk->flags & ~SOURCE_BLOCK_CYCLIC || blk->id >= k->nblocks)
		return -EINVAL;
	b.bytes_used = blk->bytes_used;
	b.flags = blk->flags & SOURCE_BLOCK_CYCLIC ? IIO_BUFFER_BLOCK_FLAG_CYCLIC : 0;
	if (ioctl(k->fd, IIO_BUFFER_BLOCK_ENQUEUE_IOCTL, &b) < 0)
		return -errno;
	k->blocks[b.id].in_kernel = true;
	k->blocks[b.id].bytes_used = blk->bytes_used;
	k->blocks[b.id].seq = k->enq_seq++;
	return 0;
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

/*
 * A played block of an output node: where it played, from its ideal
 * timestamp (t_enable + n / rate). Scan 0's time is exact when blocks were
 * queued before the enable (the first of them plays scan 0, as the daemon
 * starts a device), else the enable time is the estimate. An UNDERFLOW
 * block's silence is the gap after the previous block (exact: a block
 * after a CYCLIC one never underflows, it follows a repetition's end), or
 * the node's last_underflow_samples for the first block dequeued.
 */
static void output_played(struct kernel_source *k, const struct iio_buffer_block *b,
			  struct source_block *blk)
{
	uint64_t scans = b->bytes_used / k->scan_bytes, v;

	k->blocks[b->id].in_kernel = false;
	if (!k->t0_known) {
		k->out_t0 = k->prequeued ? b->timestamp : k->enable_ns;
		k->t0_known = true;
	}
	blk->first_sample = b->timestamp > k->out_t0 ? ns_to_scans(b->timestamp - k->out_t0, k->rate)
						      : 0;
	if (b->flags & IIO_BUFFER_BLOCK_FLAG_UNDERFLOW) {
		if (k->have_prev && !k->prev_cyclic)
			blk->lost_samples = blk->first_sample > k->next_scan ?
						    blk->first_sample - k->next_scan : 0;
		else if (k->counters_dir[0] &&
			 iio_sysfs_read_u64(k->counters_dir, "last_underflow_samples", &v) == 0)
			blk->lost_samples = v;
	}
	k->next_scan = blk->first_sample + scans;
	k->prev_cyclic = (b->flags & IIO_BUFFER_BLOCK_FLAG_CYCLIC) != 0;
	k->have_prev = true;
	k->bytes_produced += b->bytes_used;
}

/* Output: the oldest block a disable took back, if any. */
static bool pop_returned(struct kernel_source *k, struct source_block *blk)
{
	struct kernel_returned *r = &k->returned;

	if (!r->n)
		return false;
	*blk = r->blk[r->head];
	r->head = (r->head + 1) % IIO_BUFFER_BLOCK_MAX;
	r->n--;
	return true;
}

static void push_returned(struct kernel_source *k, const struct source_block *blk)
{
	struct kernel_returned *r = &k->returned;

	if (r->n < IIO_BUFFER_BLOCK_MAX)
		r->blk[(r->head + r->n++) % IIO_BUFFER_BLOCK_MAX] = *blk;
}

static int kernel_dequeue(struct source *s, struct source_block *blk)
{
	struct kernel_source *k = to_kernel(s);
	struct iio_buffer_block b;
	uint64_t scans;

	if (k->output && pop_returned(k, blk))
		return 0;
	if (ioctl(k->fd, IIO_BUFFER_BLOCK_DEQUEUE_IOCTL, &b) < 0)
		return -errno;
	fill_block(k, &b, blk);
	if (k->output) {
		if (b.id < k->nblocks)
			output_played(k, &b, blk);
		return 0;
	}
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
	uint64_t rate;
	uint32_t i;
	int err;

	if (k->enabled)
		return -EBUSY;
	k->have_prev = false;
	k->next_scan = 0;
	k->t0_known = false;
	k->prev_cyclic = false;
	k->prequeued = false;
	for (i = 0; i < k->nblocks && k->output; i++)
		k->prequeued |= k->blocks[i].in_kernel;
	/* a DAC's rate may have changed since format() (an attribute write,
	 * or the loopback's one clock for both devices): where blocks play
	 * is counted in the rate it plays at */
	if (k->output && iio_sysfs_read_u64(k->iio_dir, "sampling_frequency", &rate) == 0 && rate)
		k->rate = rate;
	k->enable_ns = monotonic_ns();
	err = iio_sysfs_write(k->enable_path, "1");
	if (err) {
		log_error("source kernel: %s: %s", k->enable_path, strerror(-err));
		return err;
	}
	k->enabled = true;
	return 0;
}

/* Stop capture or playing; the node keeps its queue. */
static int stop_node(struct kernel_source *k)
{
	int err;

	if (!k->enabled)
		return 0;
	err = iio_sysfs_write(k->enable_path, "0");
	k->enabled = false;
	return err;
}

/* Map block id's new memory at the old mapping's address (MAP_FIXED
 * replaces the old mapping), with what the old one held when the daemon
 * held the block (it may be filling it). */
static int remap_block(struct kernel_source *k, uint32_t id)
{
	struct kernel_block *kb = &k->blocks[id];
	void *p;

	if (!kb->addr)
		return 0;
	if (!kb->in_kernel) {
		p = mmap(NULL, kb->map_len, block_prot(k), MAP_SHARED, k->fd, kb->offset);
		if (p == MAP_FAILED)
			return -errno;
		memcpy(p, kb->addr, kb->size);
		munmap(p, kb->map_len);
	}
	p = mmap(kb->addr, kb->map_len, block_prot(k), MAP_SHARED | MAP_FIXED, k->fd, kb->offset);
	if (p == MAP_FAILED)
		return -errno;
	return 0;
}

/* The same blocks again (ids, sizes) after a FREE: ALLOC per run of equal
 * sizes, in id order, as ids are given; each block's new offset. */
static int realloc_blocks(struct kernel_source *k)
{
	uint32_t i = 0, j, id;

	while (i < k->nblocks) {
		struct iio_buffer_block_alloc_req req = { .type = IIO_BUFFER_BLOCK_TYPE_MMAP,
							  .size = k->blocks[i].size };

		for (j = i; j < k->nblocks && k->blocks[j].size == req.size; j++)
			;
		req.count = j - i;
		if (ioctl(k->fd, IIO_BUFFER_BLOCK_ALLOC_IOCTL, &req) < 0)
			return -errno;
		if (req.id != i || req.count != j - i)
			return -EIO;
		for (id = i; id < j; id++) {
			struct iio_buffer_block b = { .id = id };

			if (ioctl(k->fd, IIO_BUFFER_BLOCK_QUERY_IOCTL, &b) < 0)
				return -errno;
			k->blocks[id].offset = b.data.offset;
		}
		i = j;
	}
	return 0;
}

/*
 * Output, the node stopped: blocks it still holds (queued; or the one that
 * was playing, if none of it played) would play at the next enable. Take
 * them back: FREE drops them, the same blocks are allocated again and
 * mapped where the old ones were; each comes back through DEQUEUE
 * unplayed (no TIMESTAMP_VALID), in the order they were queued.
 */
static int reclaim_queued(struct kernel_source *k)
{
	uint32_t i, held = 0, order[IIO_BUFFER_BLOCK_MAX];
	int err;

	for (i = 0; i < k->nblocks; i++)
		if (k->blocks[i].in_kernel)
			order[held++] = i;
	if (!held)
		return 0;
	for (i = 1; i < held; i++) { /* by enqueue order: few blocks */
		uint32_t v = order[i], j = i;

		for (; j > 0 && k->blocks[order[j - 1]].seq > k->blocks[v].seq; j--)
			order[j] = order[j - 1];
		order[j] = v;
	}
	if (ioctl(k->fd, IIO_BUFFER_BLOCK_FREE_IOCTL) < 0)
		return -errno;
	err = realloc_blocks(k);
	for (i = 0; !err && i < k->nblocks; i++)
		err = remap_block(k, i);
	if (err) {
		log_error("source kernel: %s: taking back %u queued blocks: %s", k->node, held,
			  strerror(-err));
		return err;
	}
	for (i = 0; i < held; i++) {
		struct kernel_block *kb = &k->blocks[order[i]];
		struct source_block blk = { .id = order[i], .size = kb->size,
					    .bytes_used = kb->bytes_used,
					    .offset = kb->offset };

		kb->in_kernel = false;
		push_returned(k, &blk);
	}
	log_info("source kernel: %s: %u queued blocks taken back unplayed", k->node, held);
	return 0;
}

/* Output: every block the node holds comes back (source.h), also when it
 * was not enabled: what played first, as the node reports it, then what
 * did not. */
static int disable_output(struct kernel_source *k)
{
	struct iio_buffer_block b;
	struct source_block blk;
	int err = stop_node(k);

	while (ioctl(k->fd, IIO_BUFFER_BLOCK_DEQUEUE_IOCTL, &b) == 0) {
		fill_block(k, &b, &blk);
		if (b.id < k->nblocks)
			output_played(k, &b, &blk);
		push_returned(k, &blk);
	}
	if (errno != EAGAIN && errno != EINVAL && !err)
		err = -errno;
	return err ? err : reclaim_queued(k);
}

static int kernel_disable(struct source *s)
{
	struct kernel_source *k = to_kernel(s);

	return k->output ? disable_output(k) : stop_node(k);
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
	k->returned.n = 0;
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
	fmt->output = k->output;
}

/* An output node's counters (docs/uapi.md, "sysfs of the output
 * direction"): since load, less what they were at open. */
static void output_counters(struct kernel_source *k, struct source_counters *c)
{
	const char *d = k->counters_dir;
	uint64_t v;

	if (!d[0])
		return;
	if (iio_sysfs_read_u64(d, "blocks_played", &v) == 0)
		c->blocks_produced = v - k->base_played;
	if (iio_sysfs_read_u64(d, "underflows", &v) == 0)
		c->underflows = v - k->base_underflows;
	if (iio_sysfs_read_u64(d, "underflow_samples", &v) == 0)
		c->underflow_samples = v - k->base_underflow_samples;
	iio_sysfs_read_u64(d, "underflow_at", &c->underflow_at);
	iio_sysfs_read_u64(d, "played_samples", &c->played_samples);
	c->underflowing = iio_sysfs_read_u64(d, "underflowing", &v) == 0 && v && k->enabled;
}

static void kernel_counters(struct source *s, struct source_counters *c)
{
	struct kernel_source *k = to_kernel(s);
	uint64_t v;

	memset(c, 0, sizeof(*c));
	c->blocks_produced = k->blocks_produced;
	c->bytes_produced = k->bytes_produced;
	c->enabled = k->enabled;
	if (k->output) {
		output_counters(k, c);
		return;
	}
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

	stop_node(k); /* FREE below drops every block, queued or not */
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
