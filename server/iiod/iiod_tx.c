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
 * pushes whole samples). A buffer of some of the device's channels is the
 * one copy: its scans (IIO's layout of those channels alone) arrive in a
 * stage and are spread into the device's scans, its other channels silent
 * (zero), as the RX side copies a subset out of the capture. A cyclic buffer's WRITEBUF is one cyclic block:
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
#include <stdlib.h>
#include <string.h>

#include "container_of.h"
#include "devices.h"
#include "iiod_internal.h"
#include "iiod_xml.h"
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

/* The device's scan elements OPEN's mask names, as a mask of scan indexes
 * in *want: its bits are libiio's channel numbers, positions in the XML
 * (iiod_xml.h). 0, or -EINVAL (a mask of the wrong size, or of no channel
 * the device plays; logged), -ENODEV, -ENOMEM. */
static int wanted_outputs(struct iiod_conn *c, const struct iiod_cmd *cmd,
			  const struct output_stream *os, uint64_t *want)
{
	Iiostream__Devices devs = IIOSTREAM__DEVICES__INIT;
	const Iiostream__DeviceDesc *dev = NULL;
	size_t order[256], n, k, i;
	int err = devices_describe(c->is->srv, &devs);

	if (err)
		return err;
	for (i = 0; i < devs.n_devices && !dev; i++)
		if (strcmp(devs.devices[i]->id, os->device_id) == 0)
			dev = devs.devices[i];
	*want = 0;
	if (!dev) {
		err = -ENODEV;
	} else if (cmd->mask_words != (dev->n_channels + 31) / 32) {
		log_info("iiod client %u (%s): OPEN %s: a mask of %u words, %s has %zu channels",
			 c->id, c->peer, cmd->device, cmd->mask_words, os->device_id,
			 dev->n_channels);
		err = -EINVAL;
	}
	n = dev && !err ? iiod_xml_channel_order(dev, order, 256) : 0;
	for (k = 0; k < n; k++) {
		const Iiostream__ChannelDesc *chd = dev->channels[order[k]];

		if ((cmd->mask[k / 32] & (1u << (k % 32))) && chd->scan_element && chd->output &&
		    chd->index >= 0 && (uint32_t)chd->index < os->fmt.device_channels)
			*want |= 1ull << chd->index;
	}
	devices_describe_free(&devs);
	if (!err && !*want) {
		log_info("iiod client %u (%s): OPEN %s: the mask names none of its output channels",
			 c->id, c->peer, cmd->device);
		err = -EINVAL;
	}
	return err;
}

/* Some of the device's channels (`want`): where each sits in the client's
 * scan (IIO's layout of those channels alone) and in the device's, and
 * the stage its scans arrive in. 0, or -ENOMEM. */
static int select_outputs(struct iiod_tx *tx, const struct output_stream *os, uint64_t want)
{
	const struct source_format *fmt = &os->fmt;
	struct iios_scan_layout dev, cli;
	uint32_t i, k = 0;

	/* both succeed: the device's own types, its own channels */
	iios_scan_layout_from_mask(&dev, fmt->type, fmt->scan_elements, fmt->channel_mask,
				   fmt->timestamp_index);
	iios_scan_layout_from_mask(&cli, fmt->type, fmt->scan_elements, want,
				   fmt->timestamp_index);
	for (i = 0; i < dev.count && k < cli.count; i++) {
		if (dev.elem[i].index != cli.elem[k].index)
			continue;
		tx->sel_src[tx->nsel] = cli.elem[k].offset;
		tx->sel_dst[tx->nsel] = dev.elem[i].offset;
		tx->sel_len[tx->nsel++] = iios_scan_type_bytes(&cli.elem[k].type);
		k++;
	}
	tx->cli_scan = cli.scan_bytes;
	tx->stage_cap = os->block_size / fmt->scan_bytes * cli.scan_bytes;
	tx->stage = malloc(tx->stage_cap);
	return tx->stage ? 0 : -ENOMEM;
}

int iiod__tx_open(struct iiod_conn *c, const struct iiod_cmd *cmd, struct output_stream *os)
{
	struct iiod_tx *tx = &c->tx;
	char why[300];
	uint64_t bytes, want;
	int err;

	/* transmitting is a write, as on the native ports (TxStart) */
	if (!iiod__allowed(c, &c->is->srv->cfg->allow_write, "transmit (OPEN of an output "
			   "device)", "--allow-write"))
		return -EACCES;
	if (c->open || tx->os)
		return -EBUSY;
	if (cmd->number == 0 || cmd->number > (1u << 26))
		return -EINVAL;
	err = wanted_outputs(c, cmd, os, &want);
	if (err)
		return err;
	bytes = cmd->number * os->fmt.scan_bytes; /* as the device plays them */
	if (cmd->cyclic && bytes > os->block_size) {
		log_warn("iiod client %u (%s): OPEN %s CYCLIC of %" PRIu64 " samples (%" PRIu64
			 " bytes) refused: a cyclic buffer loops as one block, and %s's blocks "
			 "hold %u samples (%u bytes; --block-size)",
			 c->id, c->peer, cmd->device, cmd->number, bytes, os->device_id,
			 os->block_size / os->fmt.scan_bytes, os->block_size);
		return -EFBIG;
	}
	memset(tx, 0, sizeof(*tx));
	tx->cli_scan = os->fmt.scan_bytes;
	if (want != os->fmt.channel_mask && select_outputs(tx, os, want))
		return -ENOMEM;
	tx->owner.ops = &tx_owner_ops;
	tx->owner.client_id = c->id;
	snprintf(tx->owner.who, sizeof(tx->owner.who), "iiod client %u (%s)", c->id, c->peer);
	/* a plain buffer's blocks play out when it closes, a cyclic one stops */
	err = output_stream_claim(os, &tx->owner, 0, cmd->cyclic ? OUTPUT_STOP : OUTPUT_KEEP,
				  why, sizeof(why));
	if (err) {
		log_warn("iiod client %u (%s): OPEN %s refused: %s", c->id, c->peer, cmd->device,
			 why);
		free(tx->stage);
		tx->stage = NULL;
		return err;
	}
	tx->os = os;
	tx->cyclic = cmd->cyclic;
	snprintf(tx->device, sizeof(tx->device), "%s", cmd->device);
	log_info("iiod client %u (%s): %s output buffer of %" PRIu64 " samples open on %s, %u "
		 "channels%s", c->id, c->peer, cmd->cyclic ? "cyclic" : "plain", cmd->number,
		 os->device_id, tx->stage ? tx->nsel : os->fmt.channels,
		 tx->stage ? " (spread into its scans, the others silent)" : "");
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
	free(tx->stage);
	tx->stage = NULL;
	tx->stage_len = 0;
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
	if (cmd->number < tx->cli_scan) {
		iiod__send_int(c, 0); /* less than a sample: iiod takes nothing */
		return;
	}
	if (tx->cyclic && cmd->number / tx->cli_scan * tx->os->fmt.scan_bytes > tx->os->block_size) {
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
	if (tx->stage) {
		/* the client's scans that fill the block, less what is staged */
		room = room / tx->os->fmt.scan_bytes * tx->cli_scan - tx->stage_len;
		*len = tx->left < room ? (size_t)tx->left : room;
		return tx->stage + tx->stage_len;
	}
	*len = tx->left < room ? (size_t)tx->left : room;
	return tx->filling->data + tx->fill;
}

/* The whole scans in stage[] spread into the block: the client's channels
 * where the device has them, its other channels silent (zero). */
static void spread(struct iiod_tx *tx)
{
	uint32_t scans = tx->stage_len / tx->cli_scan, dev_scan = tx->os->fmt.scan_bytes, i, k;
	uint8_t *dst = tx->filling->data + tx->fill;
	const uint8_t *src = tx->stage;

	memset(dst, 0, (size_t)scans * dev_scan);
	for (i = 0; i < scans; i++, dst += dev_scan, src += tx->cli_scan)
		for (k = 0; k < tx->nsel; k++)
			memcpy(dst + tx->sel_dst[k], src + tx->sel_src[k], tx->sel_len[k]);
	tx->fill += scans * dev_scan;
	tx->stage_len -= scans * tx->cli_scan;
	memmove(tx->stage, src, tx->stage_len);
}

void iiod__tx_got(struct iiod_conn *c, size_t n)
{
	struct iiod_tx *tx = &c->tx;

	tx->left -= n;
	tx->bytes += n;
	if (tx->stage) {
		tx->stage_len += (uint32_t)n;
		spread(tx);
		if (!tx->left)
			tx->stage_len = 0; /* a partial scan at the end: dropped */
	} else {
		tx->fill += (uint32_t)n;
	}
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
