// SPDX-License-Identifier: MIT
/*
 * libiiostream: transmit (protocol version 3). One transmission per
 * connection at a time:
 *
 *   NONE/IDLE --iios_tx_start()--> ACTIVE --iios_tx_stop()--> STOPPING --reply--> IDLE
 *                                    |  (an Error from the server: it ended) ^
 *                                    +---------------------------------------+
 *
 * Every state change goes through tx_set(), which asserts that it is one
 * of those. The server's TxStatus frames may come at any time while a
 * transmission is on: whoever reads a frame hands it to iios__tx_absorb()
 * (requests, iios_next_block(), and the waits here), so the status is
 * never lost and never breaks the receiving side. Blocks of subscriptions
 * that arrive while a transmit call waits are stashed, as during requests.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client_internal.h"
#include "iiostream.h"
#include "iiostream/frame.h"

#define fail iios__fail

/* Frames taken per poll at most: a poll never turns into a long read. */
#define POLL_MAX_FRAMES 64

static bool tx_legal(enum iios__tx_state from, enum iios__tx_state to)
{
	switch (to) {
	case IIOS__TX_ACTIVE:
		return from == IIOS__TX_NONE || from == IIOS__TX_IDLE;
	case IIOS__TX_STOPPING:
		return from == IIOS__TX_ACTIVE;
	case IIOS__TX_IDLE:
		return from == IIOS__TX_ACTIVE || from == IIOS__TX_STOPPING;
	case IIOS__TX_NONE:
		break;
	}
	return false;
}

/* Every state change, checked (an illegal one is a bug here: asserted in
 * debug builds, refused in others). */
static void tx_set(struct iios_client *c, enum iios__tx_state to)
{
	bool legal = tx_legal(c->tx.state, to);

	assert(legal);
	if (legal)
		c->tx.state = to;
}

static bool tx_on(const struct iios_client *c)
{
	return c->tx.state == IIOS__TX_ACTIVE || c->tx.state == IIOS__TX_STOPPING;
}

/* A TxStatus of the server as our status. Credits never go back (they are
 * cumulative: a lower count would be an older status). */
static void take_status(struct iios_client *c, const Iiostream__TxStatus *m)
{
	struct iios_tx_status *st = &c->tx.st;

	if (m->credits > st->credits)
		st->credits = m->credits;
	st->blocks_played = m->blocks_played;
	st->samples_played = m->samples_played;
	st->underflows = m->underflows;
	st->underflow_samples = m->underflow_samples;
	st->underflow_position = m->underflow_position;
	st->blocks_queued = m->blocks_queued;
	st->reports++;
	st->credits_free = st->credits > st->blocks_sent
				   ? (uint32_t)(st->credits - st->blocks_sent) : 0;
}

bool iios__tx_absorb(struct iios_client *c, const Iiostream__Envelope *e)
{
	if (e->msg_case != IIOSTREAM__ENVELOPE__MSG_TX_STATUS)
		return false;
	if (tx_on(c)) /* (a late one after the end: the reply had the last word) */
		take_status(c, e->tx_status);
	return true;
}

void iios__tx_end(struct iios_client *c)
{
	if (tx_on(c))
		tx_set(c, IIOS__TX_IDLE);
}

/* An Error or Bye while transmitting: the server ended the transmission
 * (it releases the device before it says so). */
static int tx_ended(struct iios_client *c, const Iiostream__Envelope *e)
{
	int err = iios__server_said(c, e);

	iios__tx_end(c);
	return err ? err : -EPROTO;
}

/* Read one frame and take it: status, a block (stashed), or the end. A
 * late reply to a request that timed out is dropped, as iios_next_block()
 * drops it. */
static int take_frame(struct iios_client *c)
{
	Iiostream__Envelope *e;
	int err = iios__read_frame(c, &e, IIOS__PAYLOAD_STASH);

	if (err)
		return err;
	if (e->msg_case == IIOSTREAM__ENVELOPE__MSG_ERROR ||
	    e->msg_case == IIOSTREAM__ENVELOPE__MSG_BYE)
		err = tx_ended(c, e);
	else
		iios__tx_absorb(c, e); /* (a block: stashed already) */
	iios_frame_free(e);
	return err;
}

/* Take the frames that have arrived, without waiting for one. */
static int poll_frames(struct iios_client *c)
{
	int n, err;

	for (n = 0; n < POLL_MAX_FRAMES && iios__frame_waiting(c); n++) {
		err = take_frame(c);
		if (err)
			return err;
	}
	return 0;
}

static bool check_reply(const Iiostream__TxStartReply *r)
{
	return r->block_size > 0 && r->block_size <= IIOS_FRAME_MAX_PAYLOAD && r->scan_bytes > 0 &&
	       r->scan_bytes <= r->block_size && r->n_channels <= IIOS_MAX_CHANNELS;
}

static void fill_info(struct iios_tx_info *o, const Iiostream__TxStartReply *r)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	o->stream_id = r->stream_id;
	iios__copy_str(o->device, sizeof(o->device), r->device);
	o->block_size = r->block_size;
	o->block_count = r->block_count;
	o->scan_bytes = r->scan_bytes;
	o->sample_rate = r->sample_rate;
	for (i = 0; i < r->n_channels; i++)
		iios__fill_channel(&o->channels[i], r->channels[i]);
	o->n_channels = (uint32_t)i;
}

int iios_tx_start(struct iios_client *c, const char *device, const struct iios_tx_options *opts,
		  struct iios_tx_info *info)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__TxStart m = IIOSTREAM__TX_START__INIT;
	int err;

	if (c->broken)
		return fail(c, -ENOTCONN, "connection is broken: %s", c->errmsg);
	if (c->server.version < 3)
		return fail(c, -EOPNOTSUPP,
			    "the server speaks protocol version %u (an older iiostreamd): "
			    "transmitting needs version 3", c->server.version);
	if (tx_on(c))
		return fail(c, -EALREADY, "this connection transmits to %s already",
			    c->tx.info.device);
	m.device = (char *)(device ? device : "");
	m.prefill_blocks = opts ? opts->prefill_blocks : 0;
	m.on_disconnect = opts && opts->keep_playing ? IIOSTREAM__TX_DISCONNECT__TX_DISCONNECT_KEEP
						     : IIOSTREAM__TX_DISCONNECT__TX_DISCONNECT_STOP;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_START;
	env.tx_start = &m;
	err = iios__request(c, &env, IIOSTREAM__ENVELOPE__MSG_TX_START_REPLY, &r);
	if (err)
		return err;
	if (!check_reply(r->tx_start_reply)) {
		iios_frame_free(r);
		return iios__broken(c, -EPROTO, "server announced an impossible output stream");
	}
	fill_info(&c->tx.info, r->tx_start_reply);
	memset(&c->tx.st, 0, sizeof(c->tx.st));
	c->tx.st.credits = r->tx_start_reply->credits;
	c->tx.st.credits_free = (uint32_t)(r->tx_start_reply->credits > UINT32_MAX
						   ? UINT32_MAX : r->tx_start_reply->credits);
	iios_frame_free(r);
	tx_set(c, IIOS__TX_ACTIVE);
	if (info)
		*info = c->tx.info;
	return 0;
}

int iios_tx_send(struct iios_client *c, const void *data, size_t len, uint32_t flags)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT;
	Iiostream__TxBlock m = IIOSTREAM__TX_BLOCK__INIT;
	struct iios_tx_status *st = &c->tx.st;
	int err;

	if (c->broken)
		return fail(c, -ENOTCONN, "connection is broken: %s", c->errmsg);
	if (c->tx.state != IIOS__TX_ACTIVE)
		return fail(c, -EINVAL, c->tx.state == IIOS__TX_STOPPING ? "stopping"
									  : "not transmitting");
	if (flags & ~IIOS_TX_CYCLIC)
		return fail(c, -EINVAL, "unknown block flags 0x%x", flags & ~IIOS_TX_CYCLIC);
	if (len == 0 || len > c->tx.info.block_size)
		return fail(c, -EMSGSIZE, "a block of %zu bytes: %s takes 1..%u", len,
			    c->tx.info.device, c->tx.info.block_size);
	if (len % c->tx.info.scan_bytes)
		return fail(c, -EINVAL, "%zu bytes is not a whole number of %u-byte scans", len,
			    c->tx.info.scan_bytes);
	err = poll_frames(c);
	while (!err && st->blocks_sent >= st->credits) {
		err = take_frame(c);
		if (err == -ETIMEDOUT) /* before a frame began: harmless */
			return fail(c, err, "no credit from the server in %d ms (%u blocks queued, "
				    "%llu played)", c->timeout_ms, st->blocks_queued,
				    (unsigned long long)st->blocks_played);
		if (!err && c->tx.state != IIOS__TX_ACTIVE)
			err = -EPROTO;
	}
	if (err)
		return err;
	m.payload_len = (uint32_t)len;
	m.flags = flags;
	env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_BLOCK;
	env.tx_block = &m;
	err = iios__send_payload(c, &env, data, len);
	if (err)
		return err;
	st->blocks_sent++;
	st->bytes_sent += len;
	st->credits_free = st->credits > st->blocks_sent
				   ? (uint32_t)(st->credits - st->blocks_sent) : 0;
	return 0;
}

int iios_tx_status(struct iios_client *c, struct iios_tx_status *out)
{
	int err = 0;

	if (c->tx.state == IIOS__TX_NONE)
		return fail(c, -EINVAL, "not transmitting");
	if (c->tx.state == IIOS__TX_ACTIVE) {
		if (c->broken)
			return fail(c, -ENOTCONN, "connection is broken: %s", c->errmsg);
		err = poll_frames(c);
	}
	*out = c->tx.st;
	return err;
}

int iios_tx_stop(struct iios_client *c, bool drain, struct iios_tx_status *final)
{
	Iiostream__Envelope env = IIOSTREAM__ENVELOPE__INIT, *r;
	Iiostream__TxStop m = IIOSTREAM__TX_STOP__INIT;
	int err;

	if (c->broken)
		return fail(c, -ENOTCONN, "connection is broken: %s", c->errmsg);
	if (!tx_on(c))
		return fail(c, -EINVAL, "not transmitting");
	if (c->tx.state == IIOS__TX_ACTIVE) { /* (STOPPING: a wait that timed out) */
		m.drain = drain;
		env.msg_case = IIOSTREAM__ENVELOPE__MSG_TX_STOP;
		env.tx_stop = &m;
		err = iios__send_msg(c, &env);
		if (err)
			return err;
		tx_set(c, IIOS__TX_STOPPING);
	}
	err = iios__await(c, IIOSTREAM__ENVELOPE__MSG_TX_STOP_REPLY, &r);
	if (err == -ETIMEDOUT && !c->broken)
		return fail(c, err, "the device did not stop within %d ms (%u blocks queued): "
			    "still stopping", c->timeout_ms, c->tx.st.blocks_queued);
	if (err) {
		if (tx_on(c))
			tx_set(c, IIOS__TX_IDLE);
		return err;
	}
	if (r->tx_stop_reply->status)
		take_status(c, r->tx_stop_reply->status);
	iios_frame_free(r);
	tx_set(c, IIOS__TX_IDLE);
	if (final)
		*final = c->tx.st;
	return 0;
}
