// SPDX-License-Identifier: MIT
/*
 * The control plane of iiostreamd: handshake, subscribe, unsubscribe, ping
 * and stats. Requests that cannot be honoured get an Error and the
 * connection stays usable; bytes that break the protocol get an Error and
 * the connection closes (session_send_error(..., fatal)).
 */
#include "protocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "iiostream/frame.h"
#include "log.h"
#include "net.h"
#include "server.h"
#include "session.h"

static void reply(struct session *s, Iiostream__Envelope *env)
{
	int err = session_queue_msg(s, env);

	/* -ENOBUFS and -EPIPE: the session is closing, and said why. */
	if (err && err != -ENOBUFS && err != -EPIPE)
		log_error("client %u: reply not sent: %s", s->id, strerror(-err));
}

/* HelloReply's list of the streamed devices (version 2), and from
 * version 3 the output devices after them. Returns how many. */
static uint32_t fill_streams(const struct server *srv, uint32_t version,
			     Iiostream__StreamInfo *info, Iiostream__StreamInfo **infop)
{
	uint32_t i, n = srv->nstreams;

	for (i = 0; i < srv->nstreams; i++) {
		const struct device_stream *ds = &srv->streams[i];

		iiostream__stream_info__init(&info[i]);
		info[i].stream_id = ds->id;
		info[i].device = (char *)ds->fmt.device;
		info[i].id = (char *)ds->device_id;
		info[i].source = (char *)ds->src->ops->name;
		info[i].sample_rate = ds->fmt.sample_rate;
		info[i].channels = device_stream_elements(ds); /* the timestamp too */
		info[i].block_size = ds->pool.block_size;
		info[i].block_count = ds->pool.count;
		infop[i] = &info[i];
	}
	for (i = 0; version >= 3 && i < srv->noutputs; i++, n++) {
		const struct output_stream *os = &srv->outputs[i];

		iiostream__stream_info__init(&info[n]);
		info[n].stream_id = os->id;
		info[n].device = (char *)os->fmt.device;
		info[n].id = (char *)os->device_id;
		info[n].source = (char *)os->src->ops->name;
		info[n].sample_rate = os->fmt.sample_rate;
		info[n].channels = os->fmt.device_channels;
		info[n].block_size = os->block_size;
		info[n].block_count = os->count;
		info[n].output = true;
		infop[n] = &info[n];
	}
	return n;
}

static void handle_hello(struct session *s, const Iiostream__Hello *h)
{
	struct server *srv = s->srv;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__HelloReply r = IIOSTREAM__HELLO_REPLY__INIT;
	Iiostream__StreamInfo info[2 * CONFIG_MAX_SOURCES], *infop[2 * CONFIG_MAX_SOURCES];

	if (h->magic != IIOS_PROTOCOL_MAGIC) {
		session_send_error(s, EPROTO, true, "not an iiostream client (bad magic)");
		return;
	}
	if (h->version_min > IIOS_PROTOCOL_VERSION || h->version_max < IIOS_PROTOCOL_VERSION_MIN ||
	    h->version_min > h->version_max) {
		session_send_error(s, EPROTONOSUPPORT, true,
				   "protocol versions %u..%u not supported (server speaks %u..%u)",
				   h->version_min, h->version_max, IIOS_PROTOCOL_VERSION_MIN,
				   IIOS_PROTOCOL_VERSION);
		return;
	}
	if (s->over_limit) {
		session_send_error(s, EBUSY, true,
				   "too many clients (%u, the server's --max-clients): try again later",
				   srv->cfg->max_clients);
		return;
	}
	session_set_state(s, SESSION_READY);
	uv_timer_stop(&s->deadline);
	/* the newest both speak */
	s->version = h->version_max < IIOS_PROTOCOL_VERSION ? h->version_max
							    : IIOS_PROTOCOL_VERSION;
	log_debug("client %u: hello from '%s', protocol %u", s->id, h->client_name, s->version);
	r.version = s->version;
	r.server_name = "iiostreamd " IIOSTREAM_VERSION;
	r.source = (char *)server_first_stream(srv)->src->ops->name;
	r.device = (char *)server_first_stream(srv)->fmt.device;
	if (s->version >= 2) {
		r.n_streams = fill_streams(srv, s->version, info, infop);
		r.streams = infop;
	}
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY;
	env.hello_reply = &r;
	reply(s, &env);
}

bool protocol_allowed(struct session *s, const struct access_list *list, const char *what,
		      const char *flag)
{
	char who[400];

	if (access_allows(list, &s->ident))
		return true;
	access_describe(&s->ident, who, sizeof(who));
	s->srv->requests_refused++;
	log_warn("client %u (%s, %s): %s refused by %s", s->id, s->peer, who, what, flag);
	session_send_error(s, EACCES, false, "%s is not allowed for this client (%s)%s", what, who,
			   !access_lists_paired(list) ? ""
			   : s->ssl ? "; to be admitted, pair: the board's admin runs iiostreamd "
				      "--pair, then run iiostream pair --url tls://BOARD CODE"
				    : "; paired clients connect with tls://");
	return false;
}

/* The channels a Subscribe asks for, as a mask; 0 after an Error was sent. */
static uint64_t wanted_channels(struct session *s, const struct device_stream *ds,
				const Iiostream__Subscribe *sub)
{
	uint64_t mask = 0;
	size_t i;

	if (sub->n_channels == 0)
		return device_stream_subscribers(ds) ? ds->fmt.channel_mask
						     : device_stream_all_channels(ds);
	for (i = 0; i < sub->n_channels; i++) {
		uint32_t c = sub->channels[i];

		if (c >= device_stream_elements(ds) || c >= 64) {
			session_send_error(s, EINVAL, false, "channel %u: %s has channels 0..%u", c,
					   ds->fmt.device, device_stream_elements(ds) - 1);
			return 0;
		}
		if (mask & (1ull << c)) {
			session_send_error(s, EINVAL, false, "channel %u asked for twice", c);
			return 0;
		}
		mask |= 1ull << c;
	}
	return mask;
}

/* Write the ids of the channels of `mask` ("voltage0,voltage2"). */
static void channel_list(const struct device_stream *ds, uint64_t mask, char *out, size_t len)
{
	Iiostream__ScanFormat f;
	size_t used = 0;
	char id[24];
	uint32_t c;

	out[0] = '\0';
	for (c = 0; c < 64 && used < len; c++)
		if (mask & (1ull << c)) {
			device_stream_channel(ds, c, id, sizeof(id), &f);
			used += (size_t)snprintf(out + used, len - used, "%s%s", used ? "," : "",
						 id);
		}
}

/* The streamed device a Subscribe names, or NULL after an Error was sent. */
static struct device_stream *subscribe_target(struct session *s, const Iiostream__Subscribe *sub)
{
	struct device_stream *ds = server_find_stream(s->srv, sub->device);

	if (!ds && server_find_output(s->srv, sub->device) && sub->device[0]) {
		session_send_error(s, ENODEV, false,
				   "'%s' is an output device: transmit to it (TxStart), or subscribe "
				   "to an input device",
				   sub->device);
		return NULL;
	}
	if (!ds) {
		session_send_error(s, ENODEV, false,
				   "no streamed device '%s' (DevicesRequest lists them)", sub->device);
		return NULL;
	}
	if (session_find_sub(s, ds)) {
		session_send_error(s, EALREADY, false, "already subscribed to %s", ds->fmt.device);
		return NULL;
	}
	/* version 1: one subscription per connection, as that version said */
	if (s->version < 2 && s->nsubs) {
		session_send_error(s, EALREADY, false, "already subscribed");
		return NULL;
	}
	if (s->nsubs == SESSION_MAX_SUBS) {
		session_send_error(s, ENOSPC, false, "%u subscriptions on one connection already",
				   SESSION_MAX_SUBS);
		return NULL;
	}
	return ds;
}

/* Capture the channels of `mask` on ds; false after an Error was sent. */
static bool capture_channels(struct session *s, struct device_stream *ds, uint64_t mask)
{
	int err = device_stream_set_channels(ds, mask);
	char have[400];

	if (!err)
		return true;
	channel_list(ds, ds->fmt.channel_mask, have, sizeof(have));
	if (err == -EBUSY)
		session_send_error(s, EBUSY, false,
				   "%s: the capture holds channels %s for %u other client(s): "
				   "ask for those, or for none",
				   ds->fmt.device, have, device_stream_subscribers(ds));
	else if (err == -EOPNOTSUPP)
		session_send_error(s, EOPNOTSUPP, false, "the %s source streams every channel (%s)",
				   ds->src->ops->name, have);
	else
		session_send_error(s, -err, false, "cannot capture those channels: %s",
				   strerror(-err));
	return false;
}

/* SubscribeReply's channels: the captured ones, in scan order. */
struct reply_channels {
	Iiostream__ChannelInfo info[IIOS_SCAN_MAX_ELEMENTS], *infop[IIOS_SCAN_MAX_ELEMENTS];
	Iiostream__ScanFormat fmt[IIOS_SCAN_MAX_ELEMENTS];
	char ids[IIOS_SCAN_MAX_ELEMENTS][24];
	uint32_t n;
};

static void fill_channels(const struct device_stream *ds, struct reply_channels *rc)
{
	uint32_t c, n = device_stream_elements(ds);

	for (c = 0, rc->n = 0; c < n && rc->n < IIOS_SCAN_MAX_ELEMENTS; c++) {
		Iiostream__ChannelInfo *ci = &rc->info[rc->n];

		if (!(ds->fmt.channel_mask & (1ull << c)))
			continue;
		iiostream__channel_info__init(ci);
		device_stream_channel(ds, c, rc->ids[rc->n], sizeof(rc->ids[rc->n]),
				      &rc->fmt[rc->n]);
		ci->index = c;
		ci->id = rc->ids[rc->n];
		ci->format = &rc->fmt[rc->n];
		rc->infop[rc->n++] = ci;
	}
}

static void handle_subscribe(struct session *s, const Iiostream__Subscribe *sub)
{
	struct server *srv = s->srv;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__SubscribeReply r = IIOSTREAM__SUBSCRIBE_REPLY__INIT;
	struct reply_channels rc;
	struct device_stream *ds;
	struct session_sub *ss;
	char have[400];
	uint64_t mask;

	if (!protocol_allowed(s, &srv->cfg->allow_subscribe, "subscribe", "--allow-subscribe"))
		return;
	ds = subscribe_target(s, sub);
	if (!ds)
		return;
	mask = wanted_channels(s, ds, sub);
	if (!mask || !capture_channels(s, ds, mask))
		return;
	ss = session_subscribe(s, ds, device_stream_queue_bound(ds, sub->max_queue_blocks));
	if (!ss) /* subscribe_target() checked for a free slot */
		return;
	fill_channels(ds, &rc);
	r.block_size = ds->pool.block_size;
	r.block_count = ds->pool.count;
	r.sample_rate = ds->fmt.sample_rate;
	r.scan_bytes = ds->fmt.scan_bytes;
	r.n_channels = rc.n;
	r.channels = rc.infop;
	r.max_queue_blocks = ss->sub.max_queue;
	r.device = (char *)ds->fmt.device;
	r.stream_id = ds->id;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE_REPLY;
	env.subscribe_reply = &r;
	channel_list(ds, ds->fmt.channel_mask, have, sizeof(have));
	log_info("client %u (%s) subscribed to %s, queue %u, channels %s", s->id, s->peer,
		 ds->fmt.device, ss->sub.max_queue, have);
	reply(s, &env);
}

static void handle_unsubscribe(struct session *s, const Iiostream__Unsubscribe *u)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__UnsubscribeReply r = IIOSTREAM__UNSUBSCRIBE_REPLY__INIT;
	struct device_stream *ds = NULL;

	if (u->device[0]) {
		ds = server_find_stream(s->srv, u->device);
		if (!ds || !session_find_sub(s, ds)) {
			session_send_error(s, EINVAL, false, "not subscribed to '%s'", u->device);
			return;
		}
		r.stream_id = ds->id;
	} else if (!s->nsubs) {
		session_send_error(s, EINVAL, false, "not subscribed");
		return;
	}
	session_unsubscribe(s, ds);
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE_REPLY;
	env.unsubscribe_reply = &r;
	reply(s, &env);
}

static void handle_ping(struct session *s, const Iiostream__Ping *p)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Pong r = IIOSTREAM__PONG__INIT;

	r.token = p->token;
	r.server_time_ns = monotonic_ns();
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_PONG;
	env.pong = &r;
	reply(s, &env);
}

/* Stats' client list, as it is being filled. */
struct client_list {
	Iiostream__ClientStats *cs, **csp;
	size_t n;
};

/* A client of another front-end (the iiod port's). */
static void add_other_client(const struct client_brief *b, void *arg)
{
	struct client_list *l = arg;
	Iiostream__ClientStats *c = &l->cs[l->n];

	iiostream__client_stats__init(c);
	c->id = b->id;
	c->peer = (char *)b->peer;
	c->subscribed = b->subscribed;
	c->blocks_sent = b->blocks_sent;
	c->bytes_sent = b->bytes_sent;
	c->blocks_skipped = b->blocks_skipped;
	c->queue_blocks = b->queue_blocks;
	c->transport = (char *)b->transport;
	c->tx_stream_id = -1;
	l->csp[l->n++] = c;
}

/* One stream's line of Stats. */
static void fill_source(const struct device_stream *ds, Iiostream__SourceStats *ss)
{
	struct source_counters c;

	iiostream__source_stats__init(ss);
	ds->src->ops->counters(ds->src, &c);
	ss->name = (char *)ds->src->ops->name;
	ss->device = (char *)ds->fmt.device;
	ss->stream_id = ds->id;
	ss->blocks_total = ds->pool.count;
	ss->blocks_held = ds->pool.held;
	ss->blocks_in_source = ds->pool.count - ds->pool.held;
	ss->blocks_produced = c.blocks_produced;
	ss->bytes_produced = c.bytes_produced;
	ss->overflows = c.overflows;
	ss->lost_samples = c.lost_samples;
	ss->enabled = c.enabled;
	ss->subscribers = device_stream_subscribers(ds);
	ss->blocks_skipped = ds->fanout.blocks_skipped;
	ss->sample_rate = ds->fmt.sample_rate;
}

/* The daemon-wide part of Stats: the streams and the totals. */
static void fill_totals(struct session *s, Iiostream__Stats *st, Iiostream__SourceStats *ss,
			Iiostream__SourceStats **ssp, Iiostream__TxStreamStats *ts,
			Iiostream__TxStreamStats **tsp)
{
	struct server *srv = s->srv;
	const struct frontend *iiod = server_frontend(srv, "iiod");
	struct frontend_counters ic = { 0 };
	uint32_t i;

	for (i = 0; i < srv->nstreams; i++) {
		fill_source(&srv->streams[i], &ss[i]);
		ssp[i] = &ss[i];
	}
	st->n_sources = srv->nstreams;
	st->sources = ssp;
	st->source = srv->nstreams ? ssp[0] : NULL; /* version 1's one source */
	for (i = 0; i < srv->noutputs; i++) {
		output_stream_refresh_format(&srv->outputs[i]);
		session_tx_stats(&srv->outputs[i], &ts[i]);
		tsp[i] = &ts[i];
	}
	st->n_tx = srv->noutputs;
	st->tx = tsp;
	st->uptime_ns = monotonic_ns() - srv->start_ns;
	st->clients = s->net->nsessions;
	st->subscribers = server_subscribers(srv);
	st->blocks_skipped_total = server_blocks_skipped(srv);
	if (iiod)
		iiod->ops->counters(iiod, &ic);
	st->iiod_clients = ic.clients;
	st->iiod_command_errors = ic.command_errors;
	st->clients_refused = srv->clients_refused;
	st->idle_closed = srv->idle_closed;
	st->clients_total = srv->clients_total;
	st->protocol_errors = srv->protocol_errors;
	st->ktls = srv->tls.ctx ? srv->tls.ktls : "";
	/* (the array lives in srv->tls: valid until the stats are packed) */
	st->tls_fingerprint = srv->tls.ctx ? srv->tls.fingerprint : "";
	st->tls_self_made = srv->tls.ctx && srv->tls.self_made;
	st->source_fallback = srv->source_fallback;
	st->tls_handshake_failures = srv->tls_handshake_failures;
	st->requests_refused = srv->requests_refused;
}

/* Buffers of one client's line of Stats, for what its fields point to. */
struct client_bufs {
	char tls_desc[96];
	char ident[400];
	uint32_t stream_ids[SESSION_MAX_SUBS];
};

/* One iiostream client's line of Stats. */
static void fill_client(struct session *it, Iiostream__ClientStats *cs, struct client_bufs *b)
{
	uint32_t i;

	iiostream__client_stats__init(cs);
	cs->id = it->id;
	cs->peer = it->peer;
	cs->subscribed = it->nsubs > 0;
	for (i = 0; i < SESSION_MAX_SUBS; i++)
		if (it->subs[i].ds)
			b->stream_ids[cs->n_stream_ids++] = it->subs[i].ds->id;
	cs->stream_ids = b->stream_ids;
	cs->tx_stream_id = it->txm.os ? (int32_t)it->txm.os->id : -1;
	cs->blocks_sent = it->tx.q.blocks_sent;
	cs->bytes_sent = it->tx.q.bytes_sent;
	cs->blocks_skipped = session_blocks_skipped(it);
	cs->queue_blocks = send_queue_blocks(&it->tx.q);
	cs->transport = (char *)session_transport(it);
	if (it->ssl && it->state != SESSION_TLS) {
		tls_describe(it->ssl, b->tls_desc, sizeof(b->tls_desc));
		cs->tls = b->tls_desc;
		cs->tls_encrypt = it->tls_encrypt;
		if (it->ident.has_cert) {
			access_describe(&it->ident, b->ident, sizeof(b->ident));
			cs->identity = b->ident;
		}
	}
}

static void handle_stats(struct session *s)
{
	struct server *srv = s->srv;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Stats st = IIOSTREAM__STATS__INIT;
	Iiostream__SourceStats ss[CONFIG_MAX_SOURCES], *ssp[CONFIG_MAX_SOURCES];
	Iiostream__TxStreamStats ts[CONFIG_MAX_SOURCES], *tsp[CONFIG_MAX_SOURCES];
	Iiostream__ClientStats *cs = NULL, **csp = NULL;
	struct client_bufs *bufs = NULL;
	struct session *it;
	struct client_list list;
	size_t n = 0;

	fill_totals(s, &st, ss, ssp, ts, tsp);
	cs = calloc(server_clients(srv), sizeof(*cs));
	csp = calloc(server_clients(srv), sizeof(*csp));
	bufs = calloc(s->net->nsessions, sizeof(*bufs));
	if (cs && csp && bufs) {
		TAILQ_FOREACH(it, &s->net->sessions, link) {
			fill_client(it, &cs[n], &bufs[n]);
			csp[n] = &cs[n];
			n++;
		}
		list.cs = cs;
		list.csp = csp;
		list.n = n;
		server_foreach_client(srv, &s->net->fe, add_other_client, &list);
		st.n_client = list.n;
		st.client = csp;
	}
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_STATS;
	env.stats = &st;
	if (session_queue_msg(s, &env) == -EMSGSIZE) {
		/* Thousands of clients: send the totals without the list. */
		st.n_client = 0;
		reply(s, &env);
	}
	free(cs);
	free(csp);
	free(bufs);
}

static void attr_reply(struct session *s, const char *value)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__AttrReply r = IIOSTREAM__ATTR_REPLY__INIT;

	r.value = (char *)value;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_ATTR_REPLY;
	env.attr_reply = &r;
	reply(s, &env);
}

static void attr_failed(struct session *s, int err, const char *op,
			const Iiostream__AttrRead *a)
{
	const char *why = err == -ENOENT ? "no such attribute"
			  : err == -ENODEV ? "no such device or channel"
			  : err == -EINVAL ? "value not accepted"
					   : strerror(-err);

	session_send_error(s, -err, false, "%s %s%s%s%s%s: %s", op,
			   a->device[0] ? a->device : "(streamed device)", a->channel[0] ? "/" : "",
			   a->channel, a->buffer ? "/buffer/" : "/", a->attr, why);
}

static void handle_attr_read(struct session *s, const Iiostream__AttrRead *a)
{
	char value[256];
	int err = devices_attr_read(s->srv, a, value, sizeof(value));

	if (err) {
		attr_failed(s, err, "read", a);
		return;
	}
	attr_reply(s, value);
}

static void handle_attr_write(struct session *s, const Iiostream__AttrWrite *a)
{
	struct server *srv = s->srv;
	Iiostream__AttrRead where = IIOSTREAM__ATTR_READ__INIT;
	char value[256];
	int err;

	if (!protocol_allowed(s, &srv->cfg->allow_write, "attribute write", "--allow-write"))
		return;
	err = devices_attr_write(srv, a, value, sizeof(value));
	if (err) {
		where.device = a->device;
		where.channel = a->channel;
		where.attr = a->attr;
		where.buffer = a->buffer;
		attr_failed(s, err, "write", &where);
		return;
	}
	log_info("client %u (%s): %s%s%s%s%s = %s", s->id, s->peer,
		 a->device[0] ? a->device : "(streamed device)", a->channel[0] ? "/" : "", a->channel,
		 a->buffer ? "/buffer/" : "/", a->attr, value);
	attr_reply(s, value);
}

static void handle_devices(struct session *s)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Devices d;

	if (devices_describe(s->srv, &d) != 0) {
		devices_describe_free(&d);
		session_send_error(s, ENOMEM, false, "out of memory describing the devices");
		return;
	}
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_DEVICES;
	env.devices = &d;
	if (session_queue_msg(s, &env) == -EMSGSIZE)
		session_send_error(s, EMSGSIZE, false,
				   "the device description is larger than a frame (%d bytes)",
				   IIOS_FRAME_MAX_ENVELOPE);
	devices_describe_free(&d);
}

void protocol_handle(struct session *s, const Iiostream__Envelope *env)
{
	if (s->state == SESSION_HANDSHAKE && env->msg_case != IIOSTREAM__ENVELOPE__MSG_HELLO) {
		session_send_error(s, EPROTO, true, "expected hello, got %s",
				   iios_frame_msg_name(env));
		return;
	}
	switch (env->msg_case) {
	case IIOSTREAM__ENVELOPE__MSG_HELLO:
		if (s->state != SESSION_HANDSHAKE) {
			session_send_error(s, EPROTO, true, "hello sent twice");
			return;
		}
		handle_hello(s, env->hello);
		break;
	case IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE:
		handle_subscribe(s, env->subscribe);
		break;
	case IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE:
		handle_unsubscribe(s, env->unsubscribe);
		break;
	case IIOSTREAM__ENVELOPE__MSG_PING:
		handle_ping(s, env->ping);
		break;
	case IIOSTREAM__ENVELOPE__MSG_STATS_REQUEST:
		handle_stats(s);
		break;
	case IIOSTREAM__ENVELOPE__MSG_ATTR_READ:
		handle_attr_read(s, env->attr_read);
		break;
	case IIOSTREAM__ENVELOPE__MSG_ATTR_WRITE:
		handle_attr_write(s, env->attr_write);
		break;
	case IIOSTREAM__ENVELOPE__MSG_DEVICES_REQUEST:
		handle_devices(s);
		break;
	case IIOSTREAM__ENVELOPE__MSG_PAIR_REQUEST:
		session_pair_handle(s, env->pair_request);
		break;
	case IIOSTREAM__ENVELOPE__MSG_TX_START:
	case IIOSTREAM__ENVELOPE__MSG_TX_BLOCK:
	case IIOSTREAM__ENVELOPE__MSG_TX_STOP:
		session_tx_handle(s, env);
		break;
	default:
		/* Replies and block headers only ever travel server -> client. */
		session_send_error(s, EPROTO, true, "unexpected message %s from a client",
				   iios_frame_msg_name(env));
		break;
	}
}
