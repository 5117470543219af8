/* SPDX-License-Identifier: MIT */
/*
 * Framing of the iiostream wire protocol (proto/iiostream.proto):
 *
 *     u32 length (big-endian) | Envelope (length bytes) | raw payload
 *
 * The encoder writes one frame head (length + Envelope) into a caller buffer;
 * the payload, if any, is sent by the caller straight from its block.
 *
 * The parser is incremental, like picohttpparser: give it what you have, it
 * says how many bytes one frame head took, or that it needs more, or why the
 * bytes are bad. It checks every length against a bound before it reads
 * what the length covers, and never reads past `avail`.
 */
#ifndef IIOSTREAM_FRAME_H
#define IIOSTREAM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "iiostream.pb-c.h"

/* The newest protocol version this code speaks, and the oldest. Version
 * 2 names devices (StreamInfo, Subscribe.device, BlockHeader.stream_id) and
 * lets one connection subscribe to several; version 3 transmits to output
 * devices (TxStart, TxBlock: docs/protocol.md). */
#define IIOS_PROTOCOL_VERSION 3u
#define IIOS_PROTOCOL_VERSION_MIN 1u
#define IIOS_PROTOCOL_MAGIC 0x494f5353u        /* "IOSS" */
#define IIOS_FRAME_PREFIX 4u                   /* the u32 length */
#define IIOS_FRAME_MAX_ENVELOPE (64u * 1024u)  /* hard bound on an Envelope */
#define IIOS_FRAME_MAX_PAYLOAD (64u * 1024u * 1024u) /* hard bound on a block */
#define IIOS_DEFAULT_PORT 30432

/* Return value of iios_frame_parse() when the frame head is not complete. */
#define IIOS_FRAME_PARTIAL 0

/*
 * Encode `env` as a frame head into `out` (capacity `cap`).
 * Returns the number of bytes written (prefix + Envelope), or
 * -EMSGSIZE when the Envelope is larger than `max_envelope` or `cap`.
 */
long iios_frame_encode(const Iiostream__Envelope *env, uint8_t *out, size_t cap,
		       size_t max_envelope);

/*
 * Parse one frame head from `buf` (`avail` bytes).
 * Returns:
 *   > 0                 bytes consumed (prefix + Envelope); *env is set and
 *                       must be freed with iios_frame_free();
 *   IIOS_FRAME_PARTIAL  more bytes are needed (nothing consumed);
 *   -EMSGSIZE           the length prefix is 0 or above `max_envelope`;
 *   -EBADMSG            the Envelope does not decode as protobuf, or holds
 *                       no message this version knows.
 * Any payload that follows a BlockHeader or a TxBlock is not part of what
 * is consumed: check it with iios_frame_check_block() (or the transmit
 * checks of docs/protocol.md) before reading it.
 */
long iios_frame_parse(const uint8_t *buf, size_t avail, size_t max_envelope,
		      Iiostream__Envelope **env);

/* Free an Envelope returned by iios_frame_parse(). NULL is fine. */
void iios_frame_free(Iiostream__Envelope *env);

/*
 * Check a BlockHeader received on a stream whose blocks are at most
 * `max_payload` bytes: payload_len <= max_payload, payload_len == bytes_used.
 * Returns 0, or -EMSGSIZE (payload longer than the stream allows) or
 * -EBADMSG (inconsistent lengths).
 */
int iios_frame_check_block(const Iiostream__BlockHeader *blk, size_t max_payload);

/* Human-readable name of an Envelope's message, for logs ("hello", ...). */
const char *iios_frame_msg_name(const Iiostream__Envelope *env);

#endif /* IIOSTREAM_FRAME_H */
