// SPDX-License-Identifier: MIT
/*
 * A libiio client's output buffer (iiod_internal.h): OPEN on an output
 * device (a DAC) makes the connection the device's owner
 * (core/output_stream.h), each WRITEBUF's samples are received straight
 * into the device's free blocks (iiod_input.c reads into the memory
 * iiod__tx_dst() hands out: no copy), CLOSE and a disconnect release it.
 *
 * iiod's order, which libiio 0.24 relies on (iiod/ops.c, rw_buffer() and
 * receive_data(); the network backend's network_get_buffer() and
 * iiod_client_write_unlocked()):
 *
 *   WRITEBUF <dev> <n>\r\n    ->  "0\n" at once (the buffer takes it: the
 *                                  client's cyclic path waits for it before
 *                                  it sends the samples)
 *   <n bytes of samples>      ->  "<n>\n" once the last of them is in a
 *                                  block queued for the device
 *
 * An error replaces the "0" (-EBADF without OPEN, -EFBIG for a cyclic
 * buffer over a block) and no sample is read. libiio's plain push sends
 * WRITEBUF and its samples without waiting and reads both numbers only
 * before its next WRITEBUF: a client is at most one push ahead of the
 * blocks the device has room for. When no block is free the connection
 * stops reading (uv_read_stop) until the device hands one back (the
 * status() callback), so a client that outruns the DAC is held by TCP,
 * never buffered here.
 *
 * Blocks: a WRITEBUF fills blocks in turn, each submitted when it is full
 * or the WRITEBUF ends (a partial scan at its end is dropped, as iiod
 * pushes whole samples). A cyclic buffer's WRITEBUF is one cyclic block:
 * it loops whole, so it may not be larger than a block (-EFBIG at OPEN or
 * at WRITEBUF); a second one replaces it at the end of a repetition.
 *
 * Leaving: CLOSE, EOF and a reset alike. A cyclic buffer stops at once
 * (libiio: destroying a cyclic buffer stops it); a plain one's blocks
 * already queued play out, then the device stops (OUTPUT_KEEP with
 * nothing looping), so that what iio_writedev pushed before it closed is
 * played whole. A block being filled goes back unplayed.
 *
 * Underflows cannot be told to a libiio client: each is logged, with the
 * client and its sample position, at most once a second (the ones in
 * between are counted in the next line), and counted in Stats.tx.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "container_of.h"
#include "iiod_internal.h"
#include "log.h"
#include "server.h"

/* Underflow lines per client: at most one a second. */
#define UNDERFLOW_LOG_INTERVAL_NS 1000000000ull

static struct iiod_conn *tx_conn(struct output_owner *o)
{
	return container_of(o, struct iiod_conn, tx.owner);
}

/* ------------------------------------------------------------------ */
/* The device's news (output_owner_ops)                                */

/* Underflows since the last line, if a second has passed since it (or
 * `now_anyway`: the buffer closes). */
static void log_underflows(struct iiod_conn *c, const struct output_status *st, bool now_anyway)
{
	struct iiod_tx *tx = &c->tx;
	uint64_t now, fresh = st->underflows - tx->uf_logged;

	if (!fresh)
		return;
	now = monotonic_ns();
	if (!now_anyway && tx->uf_log_ns && now - tx->uf_log_ns < UNDERFLOW_LOG_INTERVAL_NS)
		return;
	tx->uf_log_ns = now;
	tx->uf_logged = st->underflows;
	log_warn("iiod client %u (%s): %s ran dry: %" PRIu64 " underflow%s (%" PRIu64
		 " in all, %" PRIu64 " scans of silence), the last before its sample %" PRIu64
		 "; a libiio client cannot be told",
		 c->id, c->peer, tx->os->device_id, fresh, fresh == 1 ? "" : "s", st->underflows,
		 st->underflow_samples, st->underflow_position);
}

/* output_owner_ops.status: blocks came back (reading may go on), or an
 * underflow. */
static void on_status(struct output_owner *o, const struct output_status *st, bool drained)
{
	struct iiod_conn *c = tx_conn(o);

	if (drained) {
		/* output_stream_stop() is not used here; were it, the owner is
		 * released already */
		c->tx.os = NULL;
		return;
	}
	log_underflows(c, st, false);
	if (c->tx.paused && !c->closing) {
		c->tx.paused = false;
		iiod__input_resume(c);
	}
}

/* output_owner_ops.ended: the device went away (the daemon is shutting
 * down): nothing more can be played. */
static void on_ended(struct output_owner *o, int err, const char *why)
{
	struct iiod_conn *c = tx_conn(o);
	struct iiod_tx *tx = &c->tx;

	if (tx->filling)
		output_stream_put_back(tx->os, tx->filling);
	tx->filling = NULL;
	log_info("iiod client %u (%s): output buffer on %s ended: %s (%s)", c->id, c->peer,
		 tx->os->device_id, why, strerror(-err));
	tx->os = NULL;
	iiod__conn_close(c);
}

static const struct output_owner_ops tx_owner_ops = {
	.status = on_status,
	.ended = on_ended,
};

/* ------------------------------------------------------------------ */
/* OPEN, CLOSE                                                         */

/* The mask must name every channel: the device plays whole scans of all of
 * them. 0, or -EINVAL (logged). */
static int check_mask(struct iiod_conn *c, const struct iiod_cmd *cmd,
		      const struct output_stream *os)
{
	uint32_t n = os->fmt.device_channels, i;

	if (cmd->mask_words != (n + 31) / 32) {
		log_info("iiod client %u (%s): OPEN %s: a mask of %u words, %s has %u channels",
			 c->id, c->peer, cmd->device, cmd->mask_words, os->device_id, n);
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		if (!(cmd->mask[i / 32] & (1u << (i % 32))))
			break;
	if (i < n) {
		log_info("iiod client %u (%s): OPEN %s: output buffers take every channel of "
			 "the device (%u), voltage%u is not enabled", c->id, c->peer, cmd->device, n,
			 i);
		return -EINVAL;
	}
	return 0;
}

int iiod__tx_open(struct iiod_conn *c, const struct iiod_cmd *cmd, struct output_stream *os)
{
	struct iiod_tx *tx = &c->tx;
	char why[300];
	uint64_t bytes;
	int err;

	/* transmitting is a write, as on the native ports (TxStart) */
	if (!iiod__allowed(c, &c->is->srv->cfg->allow_write, "transmit (OPEN of an output "
			   "device)", "--allow-write"))
		return -EACCES;
	if (c->open || tx->os)
		return -EBUSY;
	if (cmd->number == 0 || cmd->number > (1u << 26))
		return -EINVAL;
	err = check_mask(c, cmd, os);
	if (err)
		return err;
	bytes = cmd->number * os->fmt.scan_bytes;
	if (cmd->cyclic && bytes > os->block_size) {
		log_warn("iiod client %u (%s): OPEN %s CYCLIC of %" PRIu64 " samples (%" PRIu64
			 " bytes) refused: a cyclic buffer loops as one block, and %s's blocks "
			 "hold %u samples (%u bytes; --block-size)",
			 c->id, c->peer, cmd->device, cmd->number, bytes, os->device_id,
			 os->block_size / os->fmt.scan_bytes, os->block_size);
		return -EFBIG;
	}
	memset(tx, 0, sizeof(*tx));
	tx->owner.ops = &tx_owner_ops;
	tx->owner.client_id = c->id;
	snprintf(tx->owner.who, sizeof(tx->owner.who), "iiod client %u (%s)", c->id, c->peer);
	/* a plain buffer's blocks play out when it closes, a cyclic one stops */
	err = output_stream_claim(os, &tx->owner, 0, cmd->cyclic ? OUTPUT_STOP : OUTPUT_KEEP,
				  why, sizeof(why));
	if (err) {
		log_warn("iiod client %u (%s): OPEN %s refused: %s", c->id, c->peer, cmd->device,
			 why);
		return err;
	}
	tx->os = os;
	tx->cyclic = cmd->cyclic;
	snprintf(tx->device, sizeof(tx->device), "%s", cmd->device);
	log_info("iiod client %u (%s): %s output buffer of %" PRIu64 " samples open on %s, %u "
		 "channels", c->id, c->peer, cmd->cyclic ? "cyclic" : "plain", cmd->number,
		 os->device_id, os->fmt.device_channels);
	return 0;
}

bool iiod__tx_open_on(const struct iiod_conn *c, const char *device)
{
	return c->tx.os && strcmp(c->tx.device, device) == 0;
}

void iiod__tx_close(struct iiod_conn *c)
{
	struct iiod_tx *tx = &c->tx;
	struct output_stream *os = tx->os;
	struct output_status st;

	if (!os)
		return;
	output_stream_status(os, &st);
	log_underflows(c, &st, true); /* those the rate limit held back */
	if (tx->filling) {
		log_info("iiod client %u (%s): left in the middle of a WRITEBUF (%" PRIu64 " of %"
			 PRIu64 " bytes to come): block %u back to %s unplayed",
			 c->id, c->peer, tx->left, tx->writebuf_len, tx->filling->id, os->device_id);
		output_stream_put_back(os, tx->filling);
		tx->filling = NULL;
	}
	tx->os = NULL;
	tx->left = 0;
	tx->paused = false;
	log_info("iiod client %u (%s): output buffer on %s closed: %" PRIu64 " WRITEBUF, %" PRIu64
		 " bytes in %" PRIu64 " blocks (%" PRIu64 " of them copied: they came with a "
		 "command line, the others were read into the blocks)%s",
		 c->id, c->peer, os->device_id, tx->writebufs, tx->bytes, tx->blocks, tx->copied,
		 tx->cyclic ? "" : "; what is queued plays out");
	output_stream_release(os, &tx->owner);
}

/* ------------------------------------------------------------------ */
/* WRITEBUF                                                            */

void iiod__tx_writebuf(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	struct iiod_tx *tx = &c->tx;

	if (!iiod__tx_open_on(c, cmd->device)) {
		iiod__send_int(c, c->open ? -ENOSYS : -EBADF); /* an input buffer: no */
		return;
	}
	if (cmd->number > INT32_MAX) {
		iiod__send_int(c, -EINVAL);
		return;
	}
	if (cmd->number < tx->os->fmt.scan_bytes) {
		iiod__send_int(c, 0); /* less than a sample: iiod takes nothing */
		return;
	}
	if (tx->cyclic && cmd->number > tx->os->block_size) {
		log_warn("iiod client %u (%s): WRITEBUF of %" PRIu64 " bytes to a cyclic buffer "
			 "refused: it loops as one block of at most %u bytes", c->id, c->peer,
			 cmd->number, tx->os->block_size);
		iiod__send_int(c, -EFBIG);
		return;
	}
	tx->writebuf_len = cmd->number;
	tx->left = cmd->number;
	tx->writebufs++;
	iiod__send_int(c, 0);
}

bool iiod__tx_receiving(const struct iiod_conn *c)
{
	return c->tx.left != 0;
}

/* The block being filled queued for the device: its whole scans (none:
 * it goes back). */
static void submit(struct iiod_conn *c)
{
	struct iiod_tx *tx = &c->tx;
	struct output_block *b = tx->filling;
	uint32_t used = tx->fill - tx->fill % tx->os->fmt.scan_bytes;
	int err;

	tx->filling = NULL;
	if (!used) {
		output_stream_put_back(tx->os, b);
		return;
	}
	err = output_stream_submit(tx->os, &tx->owner, b, used,
				   tx->cyclic ? SOURCE_BLOCK_CYCLIC : 0);
	if (err) {
		/* b is FREE again; what it held is lost: say so */
		log_warn("iiod client %u (%s): %u bytes not played on %s: %s", c->id, c->peer,
			 used, tx->os->device_id, strerror(-err));
		tx->failed = err;
		return;
	}
	tx->blocks++;
}

uint8_t *iiod__tx_dst(struct iiod_conn *c, size_t *len)
{
	struct iiod_tx *tx = &c->tx;
	uint32_t room;

	if (!tx->left)
		return NULL;
	if (!tx->filling) {
		tx->filling = output_stream_take(tx->os, &tx->owner);
		tx->fill = 0;
		if (!tx->filling) {
			/* none free: held by TCP until one comes back */
			tx->paused = true;
			return NULL;
		}
	}
	room = tx->os->block_size - tx->fill;
	*len = tx->left < room ? (size_t)tx->left : room;
	return tx->filling->data + tx->fill;
}

void iiod__tx_got(struct iiod_conn *c, size_t n)
{
	struct iiod_tx *tx = &c->tx;

	tx->fill += (uint32_t)n;
	tx->left -= n;
	tx->bytes += n;
	if (tx->fill == tx->os->block_size || !tx->left)
		submit(c);
	if (tx->left)
		return;
	/* the WRITEBUF is in: its second number (iiod: the bytes taken) */
	iiod__send_int(c, tx->failed ? tx->failed : (long long)tx->writebuf_len);
	tx->failed = 0;
}

size_t iiod__tx_take(struct iiod_conn *c, const char *p, size_t n)
{
	size_t done = 0;

	while (done < n && c->tx.left) {
		size_t room;
		uint8_t *dst = iiod__tx_dst(c, &room);

		if (!dst)
			break;
		if (room > n - done)
			room = n - done;
		memcpy(dst, p + done, room);
		c->tx.copied += room;
		done += room;
		iiod__tx_got(c, room);
	}
	return done;
}
