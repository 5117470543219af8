// SPDX-License-Identifier: MIT
/* GET /metrics in Prometheus' text format: see metrics.h. */
#include "metrics.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "daemon_info.h"
#include "http_server.h"
#include "log.h"
#include "prom_text.h"
#include "server.h"

#define P "iiostream_"

enum { RX = 1, TX = 2 };

/* One device as its metrics see it: a capture stream or an output. */
struct dev_row {
	const char *device;           /* its id: "sim", "iio:device0", "sim-dac" */
	unsigned dir;                 /* RX or TX */
	struct source_counters c;     /* its source's */
	const struct device_stream *ds; /* RX */
	const struct output_stream *os; /* TX */
};

static uint64_t produced_blocks(const struct dev_row *r) { return r->c.blocks_produced; }
static uint64_t produced_bytes(const struct dev_row *r) { return r->c.bytes_produced; }
static uint64_t sent_blocks(const struct dev_row *r) { return r->ds->sent.blocks_sent; }
static uint64_t sent_bytes(const struct dev_row *r) { return r->ds->sent.bytes_sent; }
static uint64_t skipped(const struct dev_row *r) { return r->ds->fanout.blocks_skipped; }
static uint64_t overflows(const struct dev_row *r) { return r->c.overflows; }
static uint64_t lost_samples(const struct dev_row *r) { return r->c.lost_samples; }
static uint64_t received(const struct dev_row *r) { return r->os->blocks_received; }
static uint64_t underflows(const struct dev_row *r) { return r->os->underflows_total; }
static uint64_t uf_samples(const struct dev_row *r) { return r->os->underflow_samples_total; }
static uint64_t enabled(const struct dev_row *r) { return r->c.enabled; }
static uint64_t subscribers(const struct dev_row *r) { return device_stream_subscribers(r->ds); }
static uint64_t owned(const struct dev_row *r) { return r->os->owner || r->os->kept; }

static uint64_t rate(const struct dev_row *r)
{
	return r->ds ? r->ds->fmt.sample_rate : r->os->fmt.sample_rate;
}

static uint64_t ring_blocks(const struct dev_row *r)
{
	return r->ds ? r->ds->pool.count : r->os->count;
}

static uint64_t block_bytes(const struct dev_row *r)
{
	return r->ds ? r->ds->pool.block_size : r->os->block_size;
}

/* rx: dequeued and not yet back; tx: in the device */
static uint64_t held(const struct dev_row *r)
{
	return r->ds ? r->ds->pool.held : r->os->in_device;
}

/* Every per-device family, in the order written; dirs: which devices have it. */
static const struct dev_metric {
	const char *name, *type;
	unsigned dirs;
	uint64_t (*get)(const struct dev_row *r);
	const char *help;
} dev_metrics[] = {
	{ P "device_produced_blocks_total", "counter", RX | TX, produced_blocks,
	  "Blocks the source filled (rx) or the device played (tx)." },
	{ P "device_produced_bytes_total", "counter", RX | TX, produced_bytes,
	  "Bytes of the blocks the source filled (rx) or the device played (tx)." },
	{ P "device_sent_blocks_total", "counter", RX, sent_blocks,
	  "Block frames whose payload the sockets of clients took whole, all clients." },
	{ P "device_sent_bytes_total", "counter", RX, sent_bytes,
	  "Payload bytes sent to clients, all clients (frame heads not counted)." },
	{ P "device_skipped_blocks_total", "counter", RX, skipped,
	  "Blocks a client skipped because its queue was full or taken back, all clients." },
	{ P "device_overflows_total", "counter", RX, overflows,
	  "Times the source had no free block to fill (an overrun)." },
	{ P "device_lost_samples_total", "counter", RX, lost_samples,
	  "Scans the source dropped in overruns." },
	{ P "device_received_blocks_total", "counter", TX, received,
	  "Blocks received from the owner of an output device." },
	{ P "device_underflows_total", "counter", TX, underflows,
	  "Times an output device ran dry while playing." },
	{ P "device_underflow_samples_total", "counter", TX, uf_samples,
	  "Scans of silence an output device played while dry." },
	{ P "device_sample_rate_hertz", "gauge", RX | TX, rate,
	  "Scans a second the device runs at (0: as fast as blocks return)." },
	{ P "device_buffer_blocks", "gauge", RX | TX, ring_blocks,
	  "Blocks in the device's ring." },
	{ P "device_buffer_block_bytes", "gauge", RX | TX, block_bytes,
	  "Bytes of one block of the device's ring." },
	{ P "device_buffer_held_blocks", "gauge", RX | TX, held,
	  "Blocks out of the source now: held for clients (rx), queued in the device (tx)." },
	{ P "device_enabled", "gauge", RX | TX, enabled,
	  "1 while the device captures or plays." },
	{ P "device_subscribers", "gauge", RX, subscribers,
	  "Subscribers of the capture: native clients and iiod buffers." },
	{ P "device_transmitting", "gauge", TX, owned,
	  "1 while a client owns the output device or it plays on kept." },
};

/* Clients now, per connection kind. */
#define MAX_KINDS 16
struct kinds {
	const char *name[MAX_KINDS];
	uint64_t n[MAX_KINDS];
	unsigned count;
};

static void count_kind(struct kinds *k, const char *name)
{
	unsigned i;

	for (i = 0; i < k->count; i++)
		if (strcmp(k->name[i], name) == 0)
			break;
	if (i == k->count) {
		if (k->count == MAX_KINDS)
			return;
		k->name[k->count++] = name; /* a literal of the front-end's */
	}
	k->n[i]++;
}

static void count_client(const struct client_brief *c, void *arg)
{
	count_kind(arg, c->connection ? c->connection : c->transport);
}

static void daemon_metrics(struct server *srv, struct strbuf *sb)
{
	struct prom_label version = { "version", IIOSTREAM_VERSION };

	prom_family(sb, P "build_info", "gauge", "Always 1; the daemon's version as a label.");
	prom_u64(sb, P "build_info", &version, 1, 1);
	prom_family(sb, P "start_time_seconds", "gauge",
		    "When the daemon started, in seconds since the Unix epoch.");
	prom_double(sb, P "start_time_seconds", NULL, 0, daemon_start_unix_s(srv));
	prom_family(sb, P "process_cpu_seconds_total", "counter",
		    "CPU time the daemon used, user and system, every thread.");
	prom_double(sb, P "process_cpu_seconds_total", NULL, 0, daemon_cpu_seconds());
}

static void client_metrics(struct server *srv, struct strbuf *sb)
{
	/* the kinds a daemon may serve, 0 when none is connected, so that a
	 * graph of each has no gaps */
	struct kinds k = { .name = { "tcp", "tls", "ktls", "iiod" }, .count = 4 };
	const struct frontend *iiod = server_frontend(srv, "iiod");
	struct frontend_counters ic = { 0 };
	unsigned i;

	server_foreach_client(srv, NULL, count_client, &k);
	prom_family(sb, P "clients", "gauge", "Client connections open now, by transport.");
	for (i = 0; i < k.count; i++) {
		struct prom_label l = { "transport", k.name[i] };

		prom_u64(sb, P "clients", &l, 1, k.n[i]);
	}
	prom_family(sb, P "connections_total", "counter",
		    "Client connections accepted since start (native and iiod ports).");
	prom_u64(sb, P "connections_total", NULL, 0, srv->clients_total);
	prom_family(sb, P "connections_refused_total", "counter",
		    "Connections refused beyond --max-clients.");
	prom_u64(sb, P "connections_refused_total", NULL, 0, srv->clients_refused);
	prom_family(sb, P "idle_closed_total", "counter",
		    "Connections closed by --idle-timeout.");
	prom_u64(sb, P "idle_closed_total", NULL, 0, srv->idle_closed);
	prom_family(sb, P "tls_handshakes_total", "counter", "TLS handshakes completed.");
	prom_u64(sb, P "tls_handshakes_total", NULL, 0, srv->tls_handshakes);
	prom_family(sb, P "tls_handshake_failures_total", "counter",
		    "TLS handshakes refused or failed (no certificate, an unknown one, "
		    "plain bytes on the TLS port, ...).");
	prom_u64(sb, P "tls_handshake_failures_total", NULL, 0, srv->tls_handshake_failures);
	prom_family(sb, P "requests_refused_total", "counter",
		    "Requests refused by the access lists (--allow-subscribe, --allow-write).");
	prom_u64(sb, P "requests_refused_total", NULL, 0, srv->requests_refused);
	prom_family(sb, P "protocol_errors_total", "counter",
		    "Connections closed for malformed input, every port.");
	prom_u64(sb, P "protocol_errors_total", NULL, 0, srv->protocol_errors);
	if (iiod)
		iiod->ops->counters(iiod, &ic);
	prom_family(sb, P "iiod_command_errors_total", "counter",
		    "iiod port commands refused as malformed.");
	prom_u64(sb, P "iiod_command_errors_total", NULL, 0, ic.command_errors);
}

/* The devices' rows: capture streams first, then outputs. */
static uint32_t collect(struct server *srv, struct dev_row *rows)
{
	uint32_t i, n = 0;

	for (i = 0; i < srv->nstreams; i++) {
		const struct device_stream *ds = &srv->streams[i];

		if (!ds->open)
			continue;
		rows[n] = (struct dev_row){ .device = ds->device_id, .dir = RX, .ds = ds };
		ds->src->ops->counters(ds->src, &rows[n++].c);
	}
	for (i = 0; i < srv->noutputs; i++) {
		struct output_stream *os = &srv->outputs[i];

		if (!os->open)
			continue;
		output_stream_refresh_format(os);
		rows[n] = (struct dev_row){ .device = os->device_id, .dir = TX, .os = os };
		os->src->ops->counters(os->src, &rows[n++].c);
	}
	return n;
}

static void device_metrics(struct server *srv, struct strbuf *sb)
{
	struct dev_row rows[2 * CONFIG_MAX_SOURCES];
	uint32_t n = collect(srv, rows), i;
	size_t m;

	for (m = 0; m < sizeof(dev_metrics) / sizeof(dev_metrics[0]); m++) {
		const struct dev_metric *dm = &dev_metrics[m];

		prom_family(sb, dm->name, dm->type, dm->help);
		for (i = 0; i < n; i++) {
			struct prom_label l[2] = {
				{ "device", rows[i].device },
				{ "direction", rows[i].dir == RX ? "rx" : "tx" },
			};

			if (dm->dirs & rows[i].dir)
				prom_u64(sb, dm->name, l, 2, dm->get(&rows[i]));
		}
	}
	prom_family(sb, P "send_latency_seconds", "histogram",
		    "From a block's dequeue from the source to the completion of its send "
		    "to a native client (the socket took its last byte; with zero-copy or "
		    "sendfile, the kernel let go of it), every client.");
	for (i = 0; i < n; i++) {
		struct prom_label l[2] = { { "device", rows[i].device }, { "direction", "rx" } };

		if (rows[i].dir == RX)
			prom_histogram(sb, P "send_latency_seconds", l, 2, &rows[i].ds->sent.latency);
	}
}

/* The parts features above this layer added (metrics_add_part()). */
static void (*parts[METRICS_MAX_PARTS])(struct strbuf *sb);

int metrics_add_part(void (*fn)(struct strbuf *sb))
{
	unsigned i;

	for (i = 0; i < METRICS_MAX_PARTS && parts[i]; i++)
		if (parts[i] == fn)
			return 0;
	if (i == METRICS_MAX_PARTS)
		return -ENOSPC;
	parts[i] = fn;
	return 0;
}

int metrics_render(struct server *srv, struct strbuf *out)
{
	unsigned i;

	daemon_metrics(srv, out);
	device_metrics(srv, out);
	client_metrics(srv, out);
	for (i = 0; i < METRICS_MAX_PARTS && parts[i]; i++)
		parts[i](out);
	return strbuf_error(out);
}

static void on_metrics(struct http_exchange *x, const struct http_request *req, void *ctx)
{
	struct strbuf sb = STRBUF_INIT;

	(void)req;
	if (metrics_render(ctx, &sb) == 0)
		http_reply(x, 200, PROM_CONTENT_TYPE, "Cache-Control: no-store\r\n", sb.buf, sb.len);
	else
		http_reply(x, 500, "text/plain; charset=utf-8", NULL, "out of memory\n", 14);
	strbuf_free(&sb);
}

void metrics_register(struct http_server *hs, struct server *srv)
{
	int err = http_server_route(hs, "GET", "/metrics", on_metrics, srv);

	if (err)
		log_error("http: GET /metrics not served: %s", strerror(-err));
}
