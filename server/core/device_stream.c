// SPDX-License-Identifier: MIT
/* One streamed device: source, ring, poll, fan-out, capture on demand.
 * See device_stream.h. */
#include "device_stream.h"

#include <errno.h>
#include <iio.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "server.h"

static void capture_start(void *ctx);
static void capture_stop(void *ctx);
static const struct fanout_hooks capture_hooks = {
	.capture_start = capture_start,
	.capture_stop = capture_stop,
};

static void on_source_ready(uv_poll_t *h, int status, int events)
{
	struct device_stream *ds = h->data;

	(void)events;
	if (status < 0) {
		log_error("%s: source poll: %s", ds->fmt.device, uv_strerror(status));
		return;
	}
	fanout_drain(&ds->fanout);
}

/* The id DeviceDesc and the iiod port give the device: libiio's for a
 * device of the local context, "sim" (then "sim1", "sim2"...: by stream
 * id) for a sim. */
static void name_device(struct device_stream *ds)
{
	struct iio_device *dev;

	if (ds->src->ops == &source_sim_ops) {
		if (ds->id == 0)
			snprintf(ds->device_id, sizeof(ds->device_id), "sim");
		else
			snprintf(ds->device_id, sizeof(ds->device_id), "sim%u", ds->id);
		return;
	}
	/* the source knows its device's id; by name, the first of a name */
	if (ds->fmt.iio_id) {
		snprintf(ds->device_id, sizeof(ds->device_id), "%s", ds->fmt.iio_id);
		return;
	}
	dev = ds->srv->iio ? iio_context_find_device(ds->srv->iio, ds->fmt.device) : NULL;
	snprintf(ds->device_id, sizeof(ds->device_id), "%s",
		 dev ? iio_device_get_id(dev) : ds->fmt.device);
}

/* The ring: blocks of the spec's or the flag's size, whole scans each. */
static int alloc_ring(struct device_stream *ds, const struct config *cfg)
{
	/* a spec's keys, within their flags' bounds (checked with the
	 * configuration, options.c), else the flags */
	uint32_t size = ds->spec.block_size ? ds->spec.block_size : cfg->block_size;
	uint32_t count = ds->spec.blocks ? ds->spec.blocks : cfg->blocks;
	int err;

	ds->client_queue = ds->spec.client_queue;
	if (size % ds->fmt.scan_bytes) {
		log_error("--source %s: block size %u is not a whole number of the device's "
			  "%u-byte scans (%s)",
			  ds->spec_text, size, ds->fmt.scan_bytes,
			  ds->spec.block_size ? "its block-size=" : "--block-size");
		return -EINVAL;
	}
	if (cfg->transport == TRANSPORT_SENDFILE && !ds->src->ops->block_file) {
		log_error("--transport sendfile: the %s source's blocks are not file pages "
			  "(use zerocopy or copy; a dma-heap's blocks: copy)", ds->src->ops->name);
		return -EINVAL;
	}
	/* The dmabuf source without /dev/udmabuf has dma-heap blocks, mapped
	 * PFNMAP: MSG_ZEROCOPY cannot pin them (every send would fail), and it
	 * says so by offering no block_file() (source_dmabuf.c). */
	if (cfg->transport == TRANSPORT_ZEROCOPY && !ds->src->ops->block_file &&
	    strcmp(ds->src->ops->name, "dmabuf") == 0) {
		log_error("--transport zerocopy: --source %s has dma-heap blocks (no /dev/udmabuf), "
			  "whose pages cannot be pinned for MSG_ZEROCOPY (use copy)", ds->spec_text);
		return -EINVAL;
	}
	err = block_pool_init(&ds->pool, ds->src, size, count);
	if (err)
		log_error("--source %s: cannot set up %u blocks of %u bytes: %s", ds->spec_text,
			  count, size, strerror(-err));
	return err;
}

void device_stream_source_config(const struct source_spec *spec, const struct config *cfg,
				 struct source_config *scfg)
{
	*scfg = (struct source_config){
		.arg = spec->arg,
		.name = spec->name,
		.format = spec->format,
		.timestamp = spec->timestamp,
		.channels = spec->channels ? spec->channels : cfg->channels,
		.sample_rate = spec->rate_set ? spec->rate : cfg->sample_rate,
		.channels_set = spec->channels || cfg->channels_set,
		.rate_set = spec->rate_set || cfg->rate_set,
		.buffer_set = spec->buffer_set,
		.buffer = spec->buffer,
	};
}

int device_stream_open(struct device_stream *ds, struct server *srv, uint32_t id,
		       const char *spec_text)
{
	const struct config *cfg = srv->cfg;
	struct source_config scfg;
	char why[400];
	int err;

	memset(ds, 0, sizeof(*ds));
	ds->srv = srv;
	ds->id = id;
	snprintf(ds->spec_text, sizeof(ds->spec_text), "%s", spec_text);
	if (source_spec_parse(spec_text, &ds->spec, why, sizeof(why))) {
		log_error("--source %s", why); /* the config parser let it through: a bug */
		return -EINVAL;
	}
	device_stream_source_config(&ds->spec, cfg, &scfg);
	err = ds->spec.ops->open(&ds->src, srv->loop, &scfg);
	if (err) {
		log_error("--source %s: %s", spec_text, strerror(-err));
		return err;
	}
	ds->src->ops->format(ds->src, &ds->fmt);
	if (ds->fmt.output) {
		/* a DAC: the server makes it an output_stream */
		ds->src->ops->close(ds->src);
		return -EXDEV;
	}
	name_device(ds);
	err = alloc_ring(ds, cfg);
	if (err)
		goto err_close_source;
	err = uv_poll_init(srv->loop, &ds->src_poll, ds->src->ops->fd_to_poll(ds->src));
	if (err)
		goto err_free_pool;
	ds->src_poll.data = ds;
	fanout_init(&ds->fanout, &ds->pool, &capture_hooks, ds);
	uv_poll_start(&ds->src_poll, UV_READABLE, on_source_ready);
	ds->open = true;
	return 0;

err_free_pool:
	block_pool_free(&ds->pool);
err_close_source:
	ds->src->ops->close(ds->src);
	return err;
}

void device_stream_stop(struct device_stream *ds)
{
	ds->src->ops->disable(ds->src);
	fanout_drain(&ds->fanout); /* a partly filled block, handed to nobody */
}

static void on_poll_closed(uv_handle_t *h)
{
	struct device_stream *ds = h->data;

	server_stream_closed(ds->srv);
}

int device_stream_close(struct device_stream *ds)
{
	struct source_counters c;
	int err;

	ds->src->ops->counters(ds->src, &c);
	log_info("%s: stopped: %" PRIu64 " blocks produced, %" PRIu64 " overflows, %" PRIu64
		 " scans lost, %" PRIu64 " client skips, %u of %u blocks back in the source",
		 ds->fmt.device, c.blocks_produced, c.overflows, c.lost_samples,
		 ds->fanout.blocks_skipped, ds->pool.count - ds->pool.held, ds->pool.count);
	err = block_pool_free(&ds->pool);
	if (err)
		log_error("%s: blocks still held at exit: %s", ds->fmt.device, strerror(-err));
	uv_close((uv_handle_t *)&ds->src_poll, on_poll_closed);
	ds->src->ops->close(ds->src);
	ds->open = false;
	return err;
}

uint64_t device_stream_all_channels(const struct device_stream *ds)
{
	uint32_t n = device_stream_elements(ds);

	return n >= 64 ? ~0ull : (1ull << n) - 1;
}

void scan_format_describe(const struct iios_scan_type *t, bool timestamp, Iiostream__ScanFormat *f)
{
	iiostream__scan_format__init(f);
	f->is_signed = t->is_signed;
	f->bits = t->bits;
	f->storage_bits = t->storage_bits;
	f->shift = t->shift;
	f->big_endian = t->big_endian;
	f->repeat = t->repeat;
	f->fully_defined = t->fully_defined;
	f->timestamp = timestamp;
}

void device_stream_channel(const struct device_stream *ds, uint32_t index, char *id, size_t len,
			   Iiostream__ScanFormat *f)
{
	bool ts = (int)index == ds->fmt.timestamp_index;

	if (ts)
		snprintf(id, len, "timestamp");
	else
		snprintf(id, len, "voltage%u", index);
	iiostream__scan_format__init(f);
	if (index >= device_stream_elements(ds) || index >= IIOS_SCAN_MAX_ELEMENTS)
		return;
	scan_format_describe(&ds->fmt.type[index], ts, f);
}

int device_stream_set_channels(struct device_stream *ds, uint64_t mask)
{
	int err;

	if (mask == ds->fmt.channel_mask)
		return 0;
	if (mask == 0 || (mask & ~device_stream_all_channels(ds)))
		return -EINVAL;
	if (device_stream_subscribers(ds))
		return -EBUSY;
	if (!ds->src->ops->set_channels)
		return -EOPNOTSUPP;
	err = ds->src->ops->set_channels(ds->src, mask);
	if (err)
		return err;
	ds->src->ops->format(ds->src, &ds->fmt);
	block_pool_set_scan_bytes(&ds->pool, ds->fmt.scan_bytes);
	log_info("%s: capture channels: mask 0x%" PRIx64 ", %u of %u", ds->fmt.device, mask,
		 ds->fmt.channels, ds->fmt.device_channels);
	return 0;
}

uint32_t device_stream_queue_bound(const struct device_stream *ds, uint32_t wish)
{
	if (!wish)
		wish = ds->client_queue ? ds->client_queue : ds->srv->cfg->client_queue;
	return fanout_queue_bound(&ds->fanout, wish);
}

void device_stream_refresh_format(struct device_stream *ds)
{
	ds->src->ops->format(ds->src, &ds->fmt);
}

/* Capture on demand (fanout.h): the first subscriber starts the source,
 * the last one leaving stops it. */
static void capture_start(void *ctx)
{
	struct device_stream *ds = ctx;
	int err = ds->src->ops->enable(ds->src);

	if (err)
		log_error("%s: enable failed: %s", ds->fmt.device, strerror(-err));
	else
		log_info("%s: capture started", ds->fmt.device);
	server_status_changed(ds->srv);
}

static void capture_stop(void *ctx)
{
	struct device_stream *ds = ctx;

	ds->src->ops->disable(ds->src);
	log_info("%s: capture stopped: no subscribers", ds->fmt.device);
	server_status_changed(ds->srv);
}
