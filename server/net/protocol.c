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
#include "iiostream/pattern.h"
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

static void handle_hello(struct session *s, const Iiostream__Hello *h)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__HelloReply r = IIOSTREAM__HELLO_REPLY__INIT;

	if (h->magic != IIOS_PROTOCOL_MAGIC) {
		session_send_error(s, EPROTO, true, "not an iiostream client (bad magic)");
		return;
	}
	if (h->version_min > IIOS_PROTOCOL_VERSION || h->version_max < IIOS_PROTOCOL_VERSION ||
	    h->version_min > h->version_max) {
		session_send_error(s, EPROTONOSUPPORT, true,
				   "protocol versions %u..%u not supported (server speaks %u)",
				   h->version_min, h->version_max, IIOS_PROTOCOL_VERSION);
		return;
	}
	if (s->over_limit) {
		session_send_error(s, EBUSY, true,
				   "too many clients (%u, the server's --max-clients): try again later",
				   s->srv->cfg->max_clients);
		return;
	}
	session_set_state(s, SESSION_READY);
	uv_timer_stop(&s->deadline);
	log_debug("client %u: hello from '%s'", s->id, h->client_name);
	r.version = IIOS_PROTOCOL_VERSION;
	r.server_name = "iiostreamd " IIOSTREAM_VERSION;
	r.source = (char *)s->srv->src->ops->name;
	r.device = (char *)s->srv->fmt.device;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY;
	env.hello_reply = &r;
	reply(s, &env);
}

/* The authorisation lists: a refusal is an Error, the connection stays. */
static bool allowed(struct session *s, const struct access_list *list, const char *what,
		    const char *flag)
{
	char who[400];

	if (access_allows(list, &s->ident))
		return true;
	access_describe(&s->ident, who, sizeof(who));
	s->srv->requests_refused++;
	log_warn("client %u (%s, %s): %s refused by %s", s->id, s->peer, who, what, flag);
	session_send_error(s, EACCES, false, "%s is not allowed for this client (%s)", what, who);
	return false;
}

/* The channels a Subscribe asks for, as a mask; 0 after an Error was sent. */
static uint64_t wanted_channels(struct session *s, const Iiostream__Subscribe *sub)
{
	struct server *srv = s->srv;
	uint64_t mask = 0;
	size_t i;

	if (sub->n_channels == 0)
		return server_subscribers(srv) ? srv->fmt.channel_mask : server_all_channels(srv);
	for (i = 0; i < sub->n_channels; i++) {
		uint32_t c = sub->channels[i];

		if (c >= srv->fmt.device_channels || c >= 64) {
			session_send_error(s, EINVAL, false, "channel %u: %s has channels 0..%u", c,
					   srv->fmt.device, srv->fmt.device_channels - 1);
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
static void channel_list(uint64_t mask, char *out, size_t len)
{
	size_t used = 0;
	uint32_t c;

	out[0] = '\0';
	for (c = 0; c < 64 && used < len; c++)
		if (mask & (1ull << c))
			used += (size_t)snprintf(out + used, len - used, "%svoltage%u",
						 used ? "," : "", c);
}

static void handle_subscribe(struct session *s, const Iiostream__Subscribe *sub)
{
	struct server *srv = s->srv;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__SubscribeReply r = IIOSTREAM__SUBSCRIBE_REPLY__INIT;
	Iiostream__ChannelInfo chans[CONFIG_MAX_CHANNELS], *chanp[CONFIG_MAX_CHANNELS];
	Iiostream__ScanFormat fmt = IIOSTREAM__SCAN_FORMAT__INIT;
	char ids[CONFIG_MAX_CHANNELS][24], have[400];
	uint64_t mask;
	uint32_t c, n;
	int err;

	if (s->sub.subscribed) {
		session_send_error(s, EALREADY, false, "already subscribed");
		return;
	}
	if (!allowed(s, &srv->cfg->allow_subscribe, "subscribe", "--allow-subscribe"))
		return;
	mask = wanted_channels(s, sub);
	if (!mask)
		return;
	err = server_set_channels(srv, mask);
	if (err) {
		channel_list(srv->fmt.channel_mask, have, sizeof(have));
		if (err == -EBUSY)
			session_send_error(s, EBUSY, false,
					   "the capture holds channels %s for %u other client(s): "
					   "ask for those, or for none", have, server_subscribers(srv));
		else if (err == -EOPNOTSUPP)
			session_send_error(s, EOPNOTSUPP, false,
					   "the %s source streams every channel (%s)",
					   srv->src->ops->name, have);
		else
			session_send_error(s, -err, false, "cannot capture those channels: %s",
					   strerror(-err));
		return;
	}
	session_subscribe(s, server_queue_bound(srv, sub->max_queue_blocks));

	fmt.is_signed = 1;
	fmt.bits = IIOS_PATTERN_BITS;
	fmt.storage_bits = IIOS_PATTERN_SAMPLE_BYTES * 8;
	for (c = 0, n = 0; c < srv->fmt.device_channels && n < CONFIG_MAX_CHANNELS; c++) {
		if (!(srv->fmt.channel_mask & (1ull << c)))
			continue;
		iiostream__channel_info__init(&chans[n]);
		snprintf(ids[n], sizeof(ids[n]), "voltage%u", c);
		chans[n].index = c;
		chans[n].id = ids[n];
		chans[n].format = &fmt;
		chanp[n] = &chans[n];
		n++;
	}
	r.block_size = srv->pool.block_size;
	r.block_count = srv->pool.count;
	r.sample_rate = srv->fmt.sample_rate;
	r.scan_bytes = srv->fmt.scan_bytes;
	r.n_channels = n;
	r.channels = chanp;
	r.max_queue_blocks = s->sub.max_queue;
	r.device = (char *)srv->fmt.device;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE_REPLY;
	env.subscribe_reply = &r;
	channel_list(srv->fmt.channel_mask, have, sizeof(have));
	log_info("client %u (%s) subscribed, queue %u, channels %s", s->id, s->peer,
		 s->sub.max_queue, have);
	reply(s, &env);
}

static void handle_unsubscribe(struct session *s)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__UnsubscribeReply r = IIOSTREAM__UNSUBSCRIBE_REPLY__INIT;

	if (!s->sub.subscribed) {
		session_send_error(s, EINVAL, false, "not subscribed");
		return;
	}
	session_unsubscribe(s);
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
	l->csp[l->n++] = c;
}

/* The daemon-wide part of Stats: the source and the totals. */
static void fill_totals(struct session *s, Iiostream__Stats *st, Iiostream__SourceStats *ss)
{
	struct server *srv = s->srv;
	const struct frontend *iiod = server_frontend(srv, "iiod");
	struct frontend_counters ic = { 0 };
	struct source_counters c;

	srv->src->ops->counters(srv->src, &c);
	ss->name = (char *)srv->src->ops->name;
	ss->blocks_total = srv->pool.count;
	ss->blocks_held = srv->pool.held;
	ss->blocks_in_source = srv->pool.count - srv->pool.held;
	ss->blocks_produced = c.blocks_produced;
	ss->bytes_produced = c.bytes_produced;
	ss->overflows = c.overflows;
	ss->lost_samples = c.lost_samples;
	ss->enabled = c.enabled;
	st->uptime_ns = monotonic_ns() - srv->start_ns;
	st->source = ss;
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
	st->tls_handshake_failures = srv->tls_handshake_failures;
	st->requests_refused = srv->requests_refused;
}

/* One iiostream client's line of Stats; tls_desc and ident are its
 * buffers for the strings that point into them. */
static void fill_client(struct session *it, Iiostream__ClientStats *cs, char tls_desc[96],
			char ident[400])
{
	iiostream__client_stats__init(cs);
	cs->id = it->id;
	cs->peer = it->peer;
	cs->subscribed = it->sub.subscribed;
	cs->blocks_sent = it->tx.q.blocks_sent;
	cs->bytes_sent = it->tx.q.bytes_sent;
	cs->blocks_skipped = it->sub.blocks_skipped;
	cs->queue_blocks = send_queue_blocks(&it->tx.q);
	cs->transport = (char *)session_transport(it);
	if (it->ssl && it->state != SESSION_TLS) {
		tls_describe(it->ssl, tls_desc, 96);
		cs->tls = tls_desc;
		cs->tls_encrypt = it->tls_encrypt;
		if (it->ident.has_cert) {
			access_describe(&it->ident, ident, 400);
			cs->identity = ident;
		}
	}
}

static void handle_stats(struct session *s)
{
	struct server *srv = s->srv;
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__Stats st = IIOSTREAM__STATS__INIT;
	Iiostream__SourceStats ss = IIOSTREAM__SOURCE_STATS__INIT;
	Iiostream__ClientStats *cs = NULL, **csp = NULL;
	char (*tls_desc)[96] = NULL, (*idents)[400] = NULL;
	struct session *it;
	struct client_list list;
	size_t n = 0;

	fill_totals(s, &st, &ss);
	cs = calloc(server_clients(srv), sizeof(*cs));
	csp = calloc(server_clients(srv), sizeof(*csp));
	tls_desc = calloc(s->net->nsessions, sizeof(*tls_desc));
	idents = calloc(s->net->nsessions, sizeof(*idents));
	if (cs && csp && tls_desc && idents) {
		TAILQ_FOREACH(it, &s->net->sessions, link) {
			fill_client(it, &cs[n], tls_desc[n], idents[n]);
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
	free(tls_desc);
	free(idents);
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

	if (!allowed(s, &srv->cfg->allow_write, "attribute write", "--allow-write"))
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
		handle_unsubscribe(s);
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
	default:
		/* Replies and block headers only ever travel server -> client. */
		session_send_error(s, EPROTO, true, "unexpected message %s from a client",
				   iios_frame_msg_name(env));
		break;
	}
}
