// SPDX-License-Identifier: MIT
/*
 * Transmit on a session: TxStart makes it the owner of an output device
 * (output_stream.h), each TxBlock's payload is received straight into a
 * free block of the device's ring (session_rx.c reads into the address
 * session_tx_payload_dst() gives), and the device's news goes back as
 * TxStatus. See session.h and docs/protocol.md, "Transmit".
 */
#include "session_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "protocol.h"
#include "server.h"

static struct session *owner_session(struct output_owner *o)
{
	return ((struct session_tx *)o)->s;
}

static void fill_status(Iiostream__TxStatus *m, const struct output_status *st)
{
	iiostream__tx_status__init(m);
	m->credits = st->credits;
	m->blocks_played = st->blocks_played;
	m->samples_played = st->samples_played;
	m->underflows = st->underflows;
	m->underflow_samples = st->underflow_samples;
	m->underflow_position = st->underflow_position;
	m->blocks_queued = st->blocks_queued;
}

static void queue(struct session *s, Iiostream__Envelope *env)
{
	int err = session_queue_msg(s, env);

	if (err && err != -ENOBUFS && err != -EPIPE)
		log_error("client %u: %s not sent: %s", s->id, iios_frame_msg_name(env),
			  strerror(-err));
}

/* output_owner_ops.status: TxStatus, or TxStopReply when it ended. */
static void on_status(struct output_owner *o, const struct output_status *st, bool drained)
{
	struct session *s = owner_session(o);
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__TxStatus m;
	Iiostream__TxStopReply r = IIOSTREAM__TX_STOP_REPLY__INIT;

	fill_status(&m, st);
	if (drained) {
		/* the device stopped and let the owner go */
		s->txm.os = NULL;
		s->txm.stopping = false;
		r.status = &m;
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_STOP_REPLY;
		env.tx_stop_reply = &r;
	} else {
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_STATUS;
		env.tx_status = &m;
	}
	if (s->state == SESSION_READY)
		queue(s, &env);
}

/* output_owner_ops.ended: the device went away under the owner. */
static void on_ended(struct output_owner *o, int err, const char *why)
{
	struct session *s = owner_session(o);

	if (s->txm.filling)
		output_stream_put_back(s->txm.os, s->txm.filling);
	s->txm.filling = NULL;
	s->txm.os = NULL;
	if (s->state == SESSION_READY)
		session_send_error(s, -err, false, "transmission ended: %s", why);
}

static const struct output_owner_ops session_owner_ops = {
	.status = on_status,
	.ended = on_ended,
};

static void fill_channels(const struct output_stream *os, Iiostream__ChannelInfo *ci,
			  Iiostream__ChannelInfo **cip, Iiostream__ScanFormat *f, char (*ids)[16])
{
	uint32_t i;

	for (i = 0; i < os->fmt.device_channels && i < IIOS_SCAN_MAX_ELEMENTS; i++) {
		iiostream__channel_info__init(&ci[i]);
		snprintf(ids[i], sizeof(ids[i]), "voltage%u", i);
		scan_format_describe(&os->fmt.type[i], false, &f[i]);
		ci[i].index = i;
		ci[i].id = ids[i];
		ci[i].format = &f[i];
		cip[i] = &ci[i];
	}
}

static void handle_start(struct session *s, const Iiostream__TxStart *m)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__TxStartReply r = IIOSTREAM__TX_START_REPLY__INIT;
	Iiostream__ChannelInfo ci[IIOS_SCAN_MAX_ELEMENTS], *cip[IIOS_SCAN_MAX_ELEMENTS];
	Iiostream__ScanFormat f[IIOS_SCAN_MAX_ELEMENTS];
	char ids[IIOS_SCAN_MAX_ELEMENTS][16], why[300];
	struct output_stream *os;
	int err;

	if (!protocol_allowed(s, &s->srv->cfg->allow_write, "transmit", "--allow-write"))
		return;
	if (s->txm.os) {
		session_send_error(s, EALREADY, false, "this connection transmits to %s already",
				   s->txm.os->device_id);
		return;
	}
	os = server_find_output(s->srv, m->device);
	if (!os) {
		session_send_error(s, ENODEV, false, "no output device '%s'%s", m->device,
				   s->srv->noutputs ? "" : " (the server has none)");
		return;
	}
	s->txm.s = s;
	s->txm.owner.ops = &session_owner_ops;
	s->txm.owner.client_id = s->id;
	if (s->ident.has_cert)
		snprintf(s->txm.owner.who, sizeof(s->txm.owner.who), "client %u (%s, CN=%.60s)", s->id,
			 s->peer, s->ident.cn);
	else
		snprintf(s->txm.owner.who, sizeof(s->txm.owner.who), "client %u (%s)", s->id,
			 s->peer);
	err = output_stream_claim(os, &s->txm.owner, m->prefill_blocks,
				  m->on_disconnect == IIOSTREAM__TX_DISCONNECT__TX_DISCONNECT_KEEP
					  ? OUTPUT_KEEP
					  : OUTPUT_STOP,
				  why, sizeof(why));
	if (err) {
		session_send_error(s, -err, false, "%s", why);
		return;
	}
	s->txm.os = os;
	s->txm.blocks_sent = 0;
	s->txm.stopping = false;
	fill_channels(os, ci, cip, f, ids);
	r.stream_id = os->id;
	r.device = (char *)os->fmt.device;
	r.block_size = os->block_size;
	r.block_count = os->count;
	r.scan_bytes = os->fmt.scan_bytes;
	r.n_channels = os->fmt.device_channels < IIOS_SCAN_MAX_ELEMENTS ? os->fmt.device_channels
									: IIOS_SCAN_MAX_ELEMENTS;
	r.channels = cip;
	r.sample_rate = os->fmt.sample_rate;
	r.credits = os->st.credits;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_START_REPLY;
	env.tx_start_reply = &r;
	queue(s, &env);
}

/* A TxBlock: check it against the stream's bounds and the credits, and
 * take the block its payload goes into. A length that would break the
 * framing closes the connection; whole-scan errors are found once the
 * payload is in (it must be read anyway) and refused without a close. */
static void handle_block(struct session *s, const Iiostream__TxBlock *m)
{
	struct output_stream *os = s->txm.os;
	struct output_status st;

	if (!os || s->txm.stopping) {
		session_send_error(s, EPROTO, true, "tx_block without a transmission (send TxStart)");
		return;
	}
	if (m->payload_len == 0 || m->payload_len > os->block_size) {
		session_send_error(s, EMSGSIZE, true, "tx_block of %u bytes: %s takes 1..%u",
				   m->payload_len, os->device_id, os->block_size);
		return;
	}
	if (m->flags & ~(uint32_t)IIOSTREAM__BLOCK_FLAG__BLOCK_FLAG_CYCLIC) {
		session_send_error(s, EINVAL, true, "tx_block flags 0x%x: only CYCLIC (0x%x) is known",
				   m->flags, IIOSTREAM__BLOCK_FLAG__BLOCK_FLAG_CYCLIC);
		return;
	}
	output_stream_status(os, &st);
	s->txm.filling = s->txm.blocks_sent < st.credits ? output_stream_take(os, &s->txm.owner)
							   : NULL;
	if (!s->txm.filling) {
		session_send_error(s, EPROTO, true,
				   "tx_block %" PRIu64 " sent without a credit (credits %" PRIu64
				   "): wait for TxStatus",
				   s->txm.blocks_sent + 1, st.credits);
		return;
	}
	s->txm.blocks_sent++;
	s->txm.payload_len = m->payload_len;
	s->txm.payload_got = 0;
	s->txm.flags = m->flags;
}

static void handle_stop(struct session *s, const Iiostream__TxStop *m)
{
	if (!s->txm.os || s->txm.stopping) {
		session_send_error(s, EINVAL, false, "not transmitting");
		return;
	}
	if (s->txm.filling) {
		session_send_error(s, EPROTO, true, "tx_stop inside a tx_block's payload");
		return;
	}
	s->txm.stopping = true;
	/* TxStopReply comes from on_status(drained), now or after the drain */
	output_stream_stop(s->txm.os, &s->txm.owner, m->drain);
}

void session_tx_handle(struct session *s, const Iiostream__Envelope *env)
{
	if (s->version < 3) {
		session_send_error(s, EPROTO, true, "%s needs protocol version 3 (this connection "
				   "speaks %u)", iios_frame_msg_name(env), s->version);
		return;
	}
	switch (env->msg_case) {
	case IIOSTREAM__ENVELOPE__MSG_TX_START:
		handle_start(s, env->tx_start);
		break;
	case IIOSTREAM__ENVELOPE__MSG_TX_BLOCK:
		handle_block(s, env->tx_block);
		break;
	case IIOSTREAM__ENVELOPE__MSG_TX_STOP:
		handle_stop(s, env->tx_stop);
		break;
	default:
		break;
	}
}

uint8_t *session_tx_payload_dst(struct session *s, size_t *len)
{
	if (!s->txm.filling)
		return NULL;
	*len = s->txm.payload_len - s->txm.payload_got;
	return s->txm.filling->data + s->txm.payload_got;
}

void session_tx_payload_got(struct session *s, size_t n)
{
	struct output_stream *os = s->txm.os;
	struct output_block *b = s->txm.filling;
	int err;

	s->txm.payload_got += (uint32_t)n;
	if (s->txm.payload_got < s->txm.payload_len)
		return;
	s->txm.filling = NULL;
	/* a refused block is FREE again and its credit comes back */
	err = output_stream_submit(os, &s->txm.owner, b, s->txm.payload_len,
				   s->txm.flags & IIOSTREAM__BLOCK_FLAG__BLOCK_FLAG_CYCLIC
					   ? SOURCE_BLOCK_CYCLIC
					   : 0);
	if (err == -EINVAL)
		session_send_error(s, EINVAL, false,
				   "tx_block of %u bytes is not whole %u-byte scans of %s: refused",
				   s->txm.payload_len, os->fmt.scan_bytes, os->device_id);
	else if (err)
		session_send_error(s, -err, false, "tx_block not played: %s", strerror(-err));
	if (err) {
		/* its credit is back: say so */
		struct output_status st;

		output_stream_status(os, &st);
		on_status(&s->txm.owner, &st, false);
	}
}

void session_tx_close(struct session *s)
{
	struct output_stream *os = s->txm.os;

	if (!os)
		return;
	if (s->txm.filling) {
		log_info("client %u (%s): left in the middle of a tx_block (%u of %u bytes): "
			 "block %u back to %s",
			 s->id, s->peer, s->txm.payload_got, s->txm.payload_len, s->txm.filling->id,
			 os->device_id);
		output_stream_put_back(os, s->txm.filling);
		s->txm.filling = NULL;
	}
	s->txm.os = NULL;
	output_stream_release(os, &s->txm.owner);
}

void session_tx_stats(const struct output_stream *os, Iiostream__TxStreamStats *ts)
{
	iiostream__tx_stream_stats__init(ts);
	ts->stream_id = os->id;
	ts->device = (char *)os->fmt.device;
	ts->id = (char *)os->device_id;
	ts->transmitting = os->owner || os->kept;
	ts->owner = os->owner ? os->owner->client_id : 0;
	ts->owner_peer = os->owner ? (char *)os->owner->who : "";
	ts->blocks_total = os->count;
	ts->blocks_in_device = os->in_device;
	ts->blocks_received = os->blocks_received;
	ts->blocks_played = os->blocks_played;
	ts->bytes_played = os->bytes_played;
	ts->underflows = os->underflows_total;
	ts->underflow_samples = os->underflow_samples_total;
	ts->cyclic = os->cyclic_now && os->playing;
	ts->on_disconnect = os->on_disconnect == OUTPUT_KEEP ? "keep" : "stop";
	ts->kept = os->kept;
	ts->sample_rate = os->fmt.sample_rate;
}
