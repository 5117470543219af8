// SPDX-License-Identifier: MIT
/* Framing codec of the iiostream wire protocol: see iiostream/frame.h. */
#include "iiostream/frame.h"

#include <errno.h>
#include <string.h>

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

long iios_frame_encode(const Iiostream__Envelope *env, uint8_t *out, size_t cap,
		       size_t max_envelope)
{
	size_t len = iiostream__envelope__get_packed_size(env);

	/* An empty Envelope would be indistinguishable from no message. */
	if (len == 0 || len > max_envelope || len > IIOS_FRAME_MAX_ENVELOPE ||
	    cap < IIOS_FRAME_PREFIX || len > cap - IIOS_FRAME_PREFIX)
		return -EMSGSIZE;
	put_be32(out, (uint32_t)len);
	iiostream__envelope__pack(env, out + IIOS_FRAME_PREFIX);
	return (long)(IIOS_FRAME_PREFIX + len);
}

long iios_frame_parse(const uint8_t *buf, size_t avail, size_t max_envelope,
		      Iiostream__Envelope **env)
{
	Iiostream__Envelope *e;
	uint32_t len;

	*env = NULL;
	if (avail < IIOS_FRAME_PREFIX)
		return IIOS_FRAME_PARTIAL;
	len = get_be32(buf);
	/* Bound the length before waiting for the bytes it claims. */
	if (len == 0 || len > max_envelope || len > IIOS_FRAME_MAX_ENVELOPE)
		return -EMSGSIZE;
	if (avail - IIOS_FRAME_PREFIX < len)
		return IIOS_FRAME_PARTIAL;
	e = iiostream__envelope__unpack(NULL, len, buf + IIOS_FRAME_PREFIX);
	if (!e)
		return -EBADMSG;
	if (e->msg_case == IIOSTREAM__ENVELOPE__MSG__NOT_SET) {
		/* Only unknown fields: a message from a future version. */
		iiostream__envelope__free_unpacked(e, NULL);
		return -EBADMSG;
	}
	*env = e;
	return (long)(IIOS_FRAME_PREFIX + len);
}

void iios_frame_free(Iiostream__Envelope *env)
{
	if (env)
		iiostream__envelope__free_unpacked(env, NULL);
}

int iios_frame_check_block(const Iiostream__BlockHeader *blk, size_t max_payload)
{
	if (blk->payload_len > max_payload || blk->payload_len > IIOS_FRAME_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (blk->payload_len != blk->bytes_used)
		return -EBADMSG;
	return 0;
}

const char *iios_frame_msg_name(const Iiostream__Envelope *env)
{
	switch (env->msg_case) {
	case IIOSTREAM__ENVELOPE__MSG_HELLO: return "hello";
	case IIOSTREAM__ENVELOPE__MSG_HELLO_REPLY: return "hello_reply";
	case IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE: return "subscribe";
	case IIOSTREAM__ENVELOPE__MSG_SUBSCRIBE_REPLY: return "subscribe_reply";
	case IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE: return "unsubscribe";
	case IIOSTREAM__ENVELOPE__MSG_UNSUBSCRIBE_REPLY: return "unsubscribe_reply";
	case IIOSTREAM__ENVELOPE__MSG_BLOCK: return "block";
	case IIOSTREAM__ENVELOPE__MSG_PING: return "ping";
	case IIOSTREAM__ENVELOPE__MSG_PONG: return "pong";
	case IIOSTREAM__ENVELOPE__MSG_STATS_REQUEST: return "stats_request";
	case IIOSTREAM__ENVELOPE__MSG_STATS: return "stats";
	case IIOSTREAM__ENVELOPE__MSG_ERROR: return "error";
	case IIOSTREAM__ENVELOPE__MSG_BYE: return "bye";
	case IIOSTREAM__ENVELOPE__MSG_ATTR_READ: return "attr_read";
	case IIOSTREAM__ENVELOPE__MSG_ATTR_WRITE: return "attr_write";
	case IIOSTREAM__ENVELOPE__MSG_ATTR_REPLY: return "attr_reply";
	case IIOSTREAM__ENVELOPE__MSG_DEVICES_REQUEST: return "devices_request";
	case IIOSTREAM__ENVELOPE__MSG_DEVICES: return "devices";
	case IIOSTREAM__ENVELOPE__MSG_TX_START: return "tx_start";
	case IIOSTREAM__ENVELOPE__MSG_TX_START_REPLY: return "tx_start_reply";
	case IIOSTREAM__ENVELOPE__MSG_TX_BLOCK: return "tx_block";
	case IIOSTREAM__ENVELOPE__MSG_TX_STATUS: return "tx_status";
	case IIOSTREAM__ENVELOPE__MSG_TX_STOP: return "tx_stop";
	case IIOSTREAM__ENVELOPE__MSG_TX_STOP_REPLY: return "tx_stop_reply";
	case IIOSTREAM__ENVELOPE__MSG_PAIR_REQUEST: return "pair_request";
	case IIOSTREAM__ENVELOPE__MSG_PAIR_REPLY: return "pair_reply";
	default: return "unknown";
	}
}
