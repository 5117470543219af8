// SPDX-License-Identifier: MIT
/* The live spectrum's WebSocket route and the spectra it shares between
 * viewers: see spectrum.h. */
#include "spectrum.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "container_of.h"
#include "device_stream.h"
#include "http_server.h"
#include "json_out.h"
#include "log.h"
#include "metrics.h"
#include "prom_text.h"
#include "server.h"
#include "spectrum_query.h"
#include "status.h"
#include "spectrum_source.h"

#define DEFAULT_BINS 2048

/* Every spectrum computed now, of every stream; the loop's thread only. */
static TAILQ_HEAD(, spectrum_source) sources = TAILQ_HEAD_INITIALIZER(sources);
static uint32_t nsources, nviewers;
/* what closed spectra and viewers did, for spectrum_totals() */
static uint64_t gone_frames, gone_sent, gone_skipped;

/* One WebSocket watching a spectrum. Freed in on_close(). */
struct spectrum_ws {
	struct spectrum_viewer v;
	struct ws_conn *ws;
	struct server *srv;
	struct device_stream *ds;  /* of its spectrum */
	char peer[64];             /* for the log */
};

static struct spectrum_ws *to_ws(struct spectrum_viewer *v)
{
	return container_of(v, struct spectrum_ws, v);
}

static int viewer_send(struct spectrum_viewer *v, const void *frame, size_t len)
{
	return ws_send_binary(to_ws(v)->ws, frame, len);
}

static const struct spectrum_viewer_ops viewer_ops = { .send = viewer_send };

/* ---- the shared spectra --------------------------------------------------- */

static void close_source(struct spectrum_source *s)
{
	TAILQ_REMOVE(&sources, s, link);
	nsources--;
	gone_frames += s->frames;
	spectrum_source_close(s);
}

/* The spectrum of key on ds: a shared one, or a new one. A device nobody
 * streams from captures every channel first (spectrum.h says why).
 * 0, or spectrum_source_open()'s errors; -ENOSPC at SPECTRUM_MAX_SOURCES. */
static int find_or_open(struct device_stream *ds, const struct spectrum_key *key,
			struct spectrum_source **out, char *err, size_t errlen)
{
	struct spectrum_source *s;
	int ret;

	TAILQ_FOREACH(s, &sources, link) {
		if (s->fo == &ds->fanout && s->key.ch_i == key->ch_i && s->key.ch_q == key->ch_q &&
		    s->key.bins == key->bins) {
			*out = s;
			return 0;
		}
	}
	if (nsources >= SPECTRUM_MAX_SOURCES) {
		snprintf(err, errlen, "%d different spectra are computed already: watch one of them",
			 SPECTRUM_MAX_SOURCES);
		return -ENOSPC;
	}
	if (device_stream_subscribers(ds) == 0) /* -EOPNOTSUPP: it streams them all */
		device_stream_set_channels(ds, device_stream_all_channels(ds));
	ret = spectrum_source_open(ds->srv->loop, &ds->fanout, &ds->fmt, key, &s, err, errlen);
	if (ret)
		return ret;
	TAILQ_INSERT_TAIL(&sources, s, link);
	nsources++;
	*out = s;
	return 0;
}

/* Take w off its spectrum; the last viewer closes it. */
static void leave(struct spectrum_ws *w)
{
	struct spectrum_source *s = w->v.src;

	if (s && spectrum_source_detach(&w->v) == 0)
		close_source(s);
}

static int status_of(int err)
{
	switch (err) {
	case -EINVAL: return 400;
	case -EACCES: return 403;
	case -ENODEV: return 404;
	case -EBUSY: return 409;
	case -EOPNOTSUPP: return 422;
	case -ENOSPC: return 503;
	default: return 500;
	}
}

/* The key a query asks for on ds, over `base` (NULL: the defaults). A
 * device changed without channels takes that device's default ones. */
static void key_of(const struct spectrum_query *q, const struct device_stream *ds,
		   const struct spectrum_key *base, bool same_device, struct spectrum_key *key)
{
	if (q->channels_set) {
		key->ch_i = q->channels[0];
		key->ch_q = q->nchannels == 2 ? (int)q->channels[1] : SPECTRUM_NO_CHANNEL;
	} else if (base && same_device) {
		key->ch_i = base->ch_i;
		key->ch_q = base->ch_q;
	} else {
		key->ch_i = 0;
		key->ch_q = ds->fmt.device_channels >= 2 ? 1 : SPECTRUM_NO_CHANNEL;
	}
	key->bins = q->bins_set ? q->bins : base ? base->bins : DEFAULT_BINS;
}

/* ---- text messages --------------------------------------------------------- */

/* s as a JSON string's contents: quotes, backslashes and control bytes
 * escaped, bytes past ASCII as '?' (a text frame must be UTF-8). */
static void json_str(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = c < 0x80 ? (char)c : '?';
		}
	}
	out[n] = '\0';
}

static void say(struct spectrum_ws *w, const char *text)
{
	ws_send_text(w->ws, text, strlen(text)); /* -EAGAIN: frames say it too */
}

/* What w is watching now. */
static void describe(struct spectrum_ws *w)
{
	const struct spectrum_source *s = w->v.src;
	char dev[2 * SPECTRUM_DEVICE_MAX], id[80], text[512], chans[24];

	if (s->key.ch_q == SPECTRUM_NO_CHANNEL)
		snprintf(chans, sizeof(chans), "[%u]", s->key.ch_i);
	else
		snprintf(chans, sizeof(chans), "[%u,%d]", s->key.ch_i, s->key.ch_q);
	json_str(dev, sizeof(dev), w->ds->fmt.device ? w->ds->fmt.device : "");
	json_str(id, sizeof(id), w->ds->device_id);
	snprintf(text, sizeof(text),
		 "{\"type\":\"spectrum\",\"device\":\"%s\",\"device_id\":\"%s\",\"channels\":%s,"
		 "\"kind\":\"%s\",\"bins\":%u,\"fps\":%u,\"sample_rate\":%" PRIu64 "}",
		 dev, id, chans, s->key.ch_q == SPECTRUM_NO_CHANNEL ? "real" : "complex",
		 s->key.bins, w->v.fps, w->ds->fmt.sample_rate);
	say(w, text);
}

static void refuse_text(struct spectrum_ws *w, int err, const char *why)
{
	char msg[300], text[400];

	json_str(msg, sizeof(msg), why);
	snprintf(text, sizeof(text), "{\"type\":\"error\",\"status\":%d,\"message\":\"%s\"}",
		 status_of(err), msg);
	say(w, text);
}

/* A viewer's change: only what it names changes; a refusal keeps what it had. */
static void on_text(struct ws_conn *ws, const char *msg, size_t len, void *ctx)
{
	struct spectrum_ws *w = ctx;
	struct spectrum_source *old = w->v.src, *s;
	struct device_stream *ds = w->ds;
	struct spectrum_query q;
	struct spectrum_key key;
	char err[256];
	int ret;

	(void)ws;
	ret = spectrum_query_parse(msg, len, &q, err, sizeof(err));
	if (!ret && q.device_set && !(ds = server_find_stream(w->srv, q.device))) {
		snprintf(err, sizeof(err), "no streamed device '%s'", q.device);
		ret = -ENODEV;
	}
	if (ret) {
		refuse_text(w, ret, err);
		return;
	}
	key_of(&q, ds, &old->key, ds == w->ds, &key);
	if (q.fps_set)
		spectrum_viewer_set_fps(&w->v, q.fps);
	if (ds != w->ds || key.ch_i != old->key.ch_i || key.ch_q != old->key.ch_q ||
	    key.bins != old->key.bins) {
		ret = find_or_open(ds, &key, &s, err, sizeof(err));
		if (ret) {
			refuse_text(w, ret, err);
			return;
		}
		if (spectrum_source_detach(&w->v) == 0)
			close_source(old);
		w->ds = ds;
		spectrum_source_attach(s, &w->v);
	}
	describe(w);
}

static void on_close(struct ws_conn *ws, void *ctx)
{
	struct spectrum_ws *w = ctx;

	(void)ws;
	leave(w);
	gone_sent += w->v.frames_sent;
	gone_skipped += w->v.frames_skipped;
	nviewers--;
	log_info("http %s: spectrum viewer gone: %" PRIu64 " frames sent, %" PRIu64 " skipped",
		 w->peer, w->v.frames_sent, w->v.frames_skipped);
	free(w);
}

static const struct ws_handlers ws_handlers = { .on_text = on_text, .on_close = on_close };

/* ---- the route -------------------------------------------------------------- */

static void refuse(struct http_exchange *x, int err, const char *why)
{
	char body[300];
	int n = snprintf(body, sizeof(body), "%s\n", why);

	http_reply(x, status_of(err), "text/plain; charset=utf-8", "Cache-Control: no-store\r\n",
		   body, (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1);
}

/* The spectrum a request asks for, open or shared: 0, or refused with a
 * reason in err. */
static int request_source(struct server *srv, const struct http_request *req,
			  struct spectrum_query *q, struct device_stream **ds,
			  struct spectrum_source **s, char *err, size_t errlen)
{
	struct spectrum_key key;
	int ret = spectrum_query_parse(req->query, strlen(req->query), q, err, errlen);

	if (ret)
		return ret;
	*ds = server_find_stream(srv, q->device_set ? q->device : "");
	if (!*ds) {
		snprintf(err, errlen, "no streamed device '%s'", q->device);
		return -ENODEV;
	}
	key_of(q, *ds, NULL, false, &key);
	return find_or_open(*ds, &key, s, err, errlen);
}

static void on_request(struct http_exchange *x, const struct http_request *req, void *ctx)
{
	struct server *srv = ctx;
	struct device_stream *ds;
	struct spectrum_source *s;
	struct spectrum_query q;
	struct spectrum_ws *w;
	char err[256], chans[24];
	int ret;

	/* the spectrum shows the samples: who may not stream them may not see it */
	if (!req->may_subscribe) {
		refuse(x, -EACCES, req->peer_identity
			   ? "this client certificate is not on --allow-subscribe"
			   : "--allow-subscribe does not admit clients without a certificate "
			     "(plain): use HTTPS with a client certificate on the list");
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		refuse(x, -ENOMEM, "out of memory");
		return;
	}
	ret = request_source(srv, req, &q, &ds, &s, err, sizeof(err));
	if (ret) {
		free(w);
		refuse(x, ret, err);
		return;
	}
	w->ws = http_upgrade_websocket(x, req, &ws_handlers, w);
	if (!w->ws) { /* it answered the refusal itself */
		if (s->nviewers == 0)
			close_source(s);
		free(w);
		return;
	}
	w->srv = srv;
	w->ds = ds;
	snprintf(w->peer, sizeof(w->peer), "%s", req->peer);
	w->v.ops = &viewer_ops;
	w->v.fps = q.fps_set ? q.fps : SPECTRUM_FPS_MAX;
	spectrum_source_attach(s, &w->v);
	nviewers++;
	if (s->key.ch_q == SPECTRUM_NO_CHANNEL)
		snprintf(chans, sizeof(chans), "%u", s->key.ch_i);
	else
		snprintf(chans, sizeof(chans), "%u,%d", s->key.ch_i, s->key.ch_q);
	log_info("http %s: spectrum of %s, channels %s, %u bins, %u frames/s", w->peer,
		 ds->device_id, chans, s->key.bins, w->v.fps);
	describe(w);
}

/* Its families in /metrics (metrics_add_part()). */
static void spectrum_metrics(struct strbuf *sb)
{
	struct spectrum_totals t;

	spectrum_totals(&t);
	prom_family(sb, "iiostream_spectrum_sources", "gauge",
		    "Live spectra computed now (a device, its channels, a size).");
	prom_u64(sb, "iiostream_spectrum_sources", NULL, 0, t.sources);
	prom_family(sb, "iiostream_spectrum_viewers", "gauge",
		    "WebSockets watching a live spectrum now.");
	prom_u64(sb, "iiostream_spectrum_viewers", NULL, 0, t.viewers);
	prom_family(sb, "iiostream_spectrum_frames_total", "counter",
		    "Spectrum frames computed since start.");
	prom_u64(sb, "iiostream_spectrum_frames_total", NULL, 0, t.frames);
	prom_family(sb, "iiostream_spectrum_frames_sent_total", "counter",
		    "Spectrum frames sent to viewers since start.");
	prom_u64(sb, "iiostream_spectrum_frames_sent_total", NULL, 0, t.frames_sent);
	prom_family(sb, "iiostream_spectrum_frames_skipped_total", "counter",
		    "Spectrum frames viewers missed, too slow to take them, since start.");
	prom_u64(sb, "iiostream_spectrum_frames_skipped_total", NULL, 0, t.frames_skipped);
}

/* Its member of the status object (status_add_part()). */
static void spectrum_status(struct json_out *j)
{
	struct spectrum_totals t;

	spectrum_totals(&t);
	json_object_begin(j, "spectrum");
	json_u64(j, "sources", t.sources);
	json_u64(j, "viewers", t.viewers);
	json_u64(j, "frames", t.frames);
	json_u64(j, "frames_sent", t.frames_sent);
	json_u64(j, "frames_skipped", t.frames_skipped);
	json_object_end(j);
}

void spectrum_register(struct http_server *hs, struct server *srv)
{
	int err = http_server_route(hs, "GET", "/api/v1/spectrum", on_request, srv);

	if (!err)
		err = metrics_add_part(spectrum_metrics);
	if (!err)
		err = status_add_part(spectrum_status);
	if (err)
		log_error("http: cannot register /api/v1/spectrum: %s", strerror(-err));
}

void spectrum_totals(struct spectrum_totals *t)
{
	const struct spectrum_source *s;
	const struct spectrum_viewer *v;

	memset(t, 0, sizeof(*t));
	t->sources = nsources;
	t->viewers = nviewers;
	t->frames = gone_frames;
	t->frames_sent = gone_sent;
	t->frames_skipped = gone_skipped;
	TAILQ_FOREACH(s, &sources, link) {
		t->frames += s->frames;
		TAILQ_FOREACH(v, &s->viewers, link) {
			t->frames_sent += v->frames_sent;
			t->frames_skipped += v->frames_skipped;
		}
	}
}
