// SPDX-License-Identifier: MIT
/* GET /api/v1/status, the daemon's state as JSON: see status.h. */
#include "status.h"

#include <errno.h>

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon_info.h"
#include "devices.h"
#include "http_server.h"
#include "json_out.h"
#include "log.h"
#include "server.h"

/* Bytes of one attribute value read for the status (longer ones are cut by
 * the device layer, as for the iiod port's READ). */
#define STATUS_ATTR_MAX 4096

static void daemon_part(struct server *srv, struct json_out *j)
{
	double up = daemon_uptime_s(srv), cpu = daemon_cpu_seconds();
	time_t start = (time_t)daemon_start_unix_s(srv);
	char when[32];
	struct tm tm;

	gmtime_r(&start, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_begin(j, "daemon");
	json_string(j, "version", IIOSTREAM_VERSION);
	json_i64(j, "pid", getpid());
	json_string(j, "start_time", when);
	json_double(j, "start_time_seconds", daemon_start_unix_s(srv));
	json_double(j, "uptime_seconds", up);
	json_double(j, "cpu_seconds", cpu);
	/* since start; two requests' cpu_seconds give the load between them */
	json_double(j, "cpu_load", up > 0 ? cpu / up : 0);
	json_object_end(j);
}

static void versions_part(struct json_out *j)
{
	struct daemon_versions v;

	daemon_versions(&v);
	json_object_begin(j, "versions");
	json_string(j, "iiostream", IIOSTREAM_VERSION);
	json_string(j, "libiio", v.libiio);
	json_string(j, "libuv", v.libuv);
	json_string(j, "openssl", v.openssl);
	json_string(j, "protobuf_c", v.protobuf_c);
	json_object_end(j);
}

/* The description of the streamed device with this stream id, or NULL. */
static const Iiostream__DeviceDesc *find_desc(const Iiostream__Devices *devs, uint32_t stream_id)
{
	size_t i;

	for (i = 0; devs && i < devs->n_devices; i++)
		if (devs->devices[i]->streamed && devs->devices[i]->stream_id == stream_id)
			return devs->devices[i];
	return NULL;
}

/* "attributes": { name: value } of the device (channel NULL) or one of its
 * channels; unreadable ones left out. */
static void attributes(struct server *srv, struct json_out *j, const char *device,
		       const Iiostream__ChannelDesc *ch, char *const *names, size_t n)
{
	static char value[STATUS_ATTR_MAX]; /* the loop has one thread */
	Iiostream__AttrRead a = IIOSTREAM__ATTR_READ__INIT;
	size_t i;

	a.device = (char *)device;
	a.channel = ch ? ch->id : "";
	a.output = ch && ch->output;
	json_object_begin(j, "attributes");
	for (i = 0; i < n; i++) {
		a.attr = names[i];
		if (devices_attr_read(srv, &a, value, sizeof(value)) == 0)
			json_string(j, names[i], value);
	}
	json_object_end(j);
}

/* "channels": the device's scan elements, with what is captured. */
static void channels(struct server *srv, struct json_out *j, const char *device,
		     const struct source_format *fmt, const Iiostream__DeviceDesc *d,
		     bool with_attrs)
{
	uint32_t elements = fmt->scan_elements ? fmt->scan_elements : fmt->device_channels;
	size_t i;

	json_array_begin(j, "channels");
	for (i = 0; d && i < d->n_channels; i++) {
		const Iiostream__ChannelDesc *c = d->channels[i];
		char type[IIOS_SCAN_TYPE_STR_MAX] = "";

		if (!c->scan_element || c->index < 0 || (uint32_t)c->index >= elements ||
		    c->index >= IIOS_SCAN_MAX_ELEMENTS)
			continue;
		iios_scan_type_print(&fmt->type[c->index], type, sizeof(type));
		json_object_begin(j, NULL);
		json_string(j, "id", c->id);
		json_u64(j, "index", (uint64_t)c->index);
		json_bool(j, "enabled", (fmt->channel_mask >> c->index) & 1);
		json_string(j, "format", type);
		if (with_attrs)
			attributes(srv, j, device, c, c->attrs, c->n_attrs);
		json_object_end(j);
	}
	json_array_end(j);
}

/* What every device has, around its own counters (fill). */
static void device_common(struct server *srv, struct json_out *j, const char *id,
			  const char *direction, const struct source *src,
			  const struct source_format *fmt, uint32_t stream_id,
			  const Iiostream__Devices *devs, bool with_attrs, bool enabled)
{
	const Iiostream__DeviceDesc *d = find_desc(devs, stream_id);

	json_string(j, "id", id);
	json_string(j, "name", fmt->device);
	json_string(j, "direction", direction);
	json_string(j, "source", src->ops->name);
	json_u64(j, "stream_id", stream_id);
	json_u64(j, "sample_rate", fmt->sample_rate);
	json_bool(j, "enabled", enabled);
	channels(srv, j, id, fmt, d, with_attrs);
	if (with_attrs && d)
		attributes(srv, j, id, NULL, d->attrs, d->n_attrs);
	else
		json_null(j, "attributes");
}

static void rx_device(struct server *srv, struct json_out *j, const struct device_stream *ds,
		      const Iiostream__Devices *devs, bool with_attrs)
{
	struct source_counters c;

	ds->src->ops->counters(ds->src, &c);
	json_object_begin(j, NULL);
	device_common(srv, j, ds->device_id, "rx", ds->src, &ds->fmt, ds->id, devs, with_attrs,
		      c.enabled);
	json_object_begin(j, "buffers");
	json_u64(j, "blocks", ds->pool.count);
	json_u64(j, "block_size", ds->pool.block_size);
	json_u64(j, "held", ds->pool.held);
	json_object_end(j);
	json_object_begin(j, "counters");
	json_u64(j, "blocks_produced", c.blocks_produced);
	json_u64(j, "bytes_produced", c.bytes_produced);
	json_u64(j, "blocks_sent", ds->sent.blocks_sent);
	json_u64(j, "bytes_sent", ds->sent.bytes_sent);
	json_u64(j, "blocks_skipped", ds->fanout.blocks_skipped);
	json_u64(j, "overflows", c.overflows);
	json_u64(j, "lost_samples", c.lost_samples);
	json_object_end(j);
	json_object_end(j);
}

static void tx_device(struct server *srv, struct json_out *j, struct output_stream *os,
		      const Iiostream__Devices *devs, bool with_attrs)
{
	output_stream_refresh_format(os);
	json_object_begin(j, NULL);
	device_common(srv, j, os->device_id, "tx", os->src, &os->fmt, os->id, devs, with_attrs,
		      os->playing);
	json_object_begin(j, "buffers");
	json_u64(j, "blocks", os->count);
	json_u64(j, "block_size", os->block_size);
	json_u64(j, "held", os->in_device);
	json_object_end(j);
	json_object_begin(j, "counters");
	json_u64(j, "blocks_received", os->blocks_received);
	json_u64(j, "blocks_played", os->blocks_played);
	json_u64(j, "bytes_played", os->bytes_played);
	json_u64(j, "underflows", os->underflows_total);
	json_u64(j, "underflow_samples", os->underflow_samples_total);
	json_object_end(j);
	json_object_end(j);
}

static void devices_part(struct server *srv, struct json_out *j, bool with_attrs)
{
	Iiostream__Devices devs = IIOSTREAM__DEVICES__INIT;
	bool described = devices_describe(srv, &devs) == 0;
	uint32_t i;

	json_array_begin(j, "devices");
	for (i = 0; i < srv->nstreams; i++)
		if (srv->streams[i].open)
			rx_device(srv, j, &srv->streams[i], described ? &devs : NULL, with_attrs);
	for (i = 0; i < srv->noutputs; i++)
		if (srv->outputs[i].open)
			tx_device(srv, j, &srv->outputs[i], described ? &devs : NULL, with_attrs);
	json_array_end(j);
	devices_describe_free(&devs);
}

static void streams_part(struct server *srv, struct json_out *j)
{
	uint32_t i;

	json_array_begin(j, "streams");
	for (i = 0; i < srv->nstreams; i++) {
		const struct device_stream *ds = &srv->streams[i];

		if (!ds->open)
			continue;
		json_object_begin(j, NULL);
		json_u64(j, "stream_id", ds->id);
		json_string(j, "device", ds->device_id);
		json_string(j, "direction", "rx");
		json_u64(j, "subscribers", device_stream_subscribers(ds));
		json_null(j, "owner");
		json_object_end(j);
	}
	for (i = 0; i < srv->noutputs; i++) {
		const struct output_stream *os = &srv->outputs[i];

		if (!os->open)
			continue;
		json_object_begin(j, NULL);
		json_u64(j, "stream_id", os->id);
		json_string(j, "device", os->device_id);
		json_string(j, "direction", "tx");
		json_u64(j, "subscribers", 0);
		if (os->owner)
			json_u64(j, "owner", os->owner->client_id);
		else
			json_null(j, "owner");
		json_object_end(j);
	}
	json_array_end(j);
}

static void client(const struct client_brief *c, void *arg)
{
	struct json_out *j = arg;

	json_object_begin(j, NULL);
	json_u64(j, "id", c->id);
	json_string(j, "peer", c->peer);
	json_string(j, "transport", c->connection ? c->connection : c->transport);
	json_string(j, "method", c->transport);
	json_string(j, "tls_identity", c->tls_identity);
	json_bool(j, "subscribed", c->subscribed);
	json_double(j, "rate_bytes_per_second", c->rate_bytes_per_s);
	json_u64(j, "blocks_sent", c->blocks_sent);
	json_u64(j, "bytes_sent", c->bytes_sent);
	json_u64(j, "blocks_skipped", c->blocks_skipped);
	json_u64(j, "queue_blocks", c->queue_blocks);
	json_object_end(j);
}

static void totals_part(struct server *srv, struct json_out *j)
{
	json_object_begin(j, "totals");
	json_u64(j, "connections", srv->clients_total);
	json_u64(j, "connections_refused", srv->clients_refused);
	json_u64(j, "idle_closed", srv->idle_closed);
	json_u64(j, "tls_handshakes", srv->tls_handshakes);
	json_u64(j, "tls_handshake_failures", srv->tls_handshake_failures);
	json_u64(j, "requests_refused", srv->requests_refused);
	json_u64(j, "protocol_errors", srv->protocol_errors);
	json_u64(j, "blocks_skipped", server_blocks_skipped(srv));
	json_object_end(j);
}

/* The parts features above this layer added (status_add_part()). */
static void (*parts[STATUS_MAX_PARTS])(struct json_out *j);

int status_add_part(void (*fn)(struct json_out *j))
{
	unsigned i;

	for (i = 0; i < STATUS_MAX_PARTS && parts[i]; i++)
		if (parts[i] == fn)
			return 0;
	if (i == STATUS_MAX_PARTS)
		return -ENOSPC;
	parts[i] = fn;
	return 0;
}

int status_render(struct server *srv, struct strbuf *out, bool with_attrs)
{
	unsigned i;

	struct json_out j;

	json_init(&j, out);
	json_object_begin(&j, NULL);
	json_u64(&j, "api_version", 1);
	daemon_part(srv, &j);
	versions_part(&j);
	devices_part(srv, &j, with_attrs);
	streams_part(srv, &j);
	json_array_begin(&j, "clients");
	server_foreach_client(srv, NULL, client, &j);
	json_array_end(&j);
	totals_part(srv, &j);
	for (i = 0; i < STATUS_MAX_PARTS && parts[i]; i++)
		parts[i](&j);
	json_object_end(&j);
	strbuf_putc(out, '\n');
	return json_finish(&j);
}

/* "?attributes=0" anywhere in the query leaves attribute values out. */
static bool want_attributes(const char *query)
{
	const char *p = query;

	while ((p = strstr(p, "attributes=0")) != NULL) {
		if ((p == query || p[-1] == '&') && (p[12] == '\0' || p[12] == '&'))
			return false;
		p++;
	}
	return true;
}

static void on_status(struct http_exchange *x, const struct http_request *req, void *ctx)
{
	struct strbuf sb = STRBUF_INIT;

	if (status_render(ctx, &sb, want_attributes(req->query)) == 0)
		http_reply(x, 200, "application/json", "Cache-Control: no-store\r\n", sb.buf, sb.len);
	else
		http_reply(x, 500, "text/plain; charset=utf-8", NULL, "out of memory\n", 14);
	strbuf_free(&sb);
}

void status_register(struct http_server *hs, struct server *srv)
{
	int err = http_server_route(hs, "GET", "/api/v1/status", on_status, srv);

	if (err)
		log_error("http: GET /api/v1/status not served: %s", strerror(-err));
}
