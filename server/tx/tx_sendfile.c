// SPDX-License-Identifier: MIT
/*
 * sendfile: one frame at a time, the head by send(MSG_MORE) and the payload
 * by sendfile() from the file holding the block (the sim's memfd). The
 * kernel keeps referring to the file's pages until the peer acknowledged
 * them, so a sent block frame waits in the queue's `pinned` list for that:
 * its last byte's stream offset against what the socket took minus
 * SIOCOUTQ (bytes not yet acked). No event says so: the owner polls
 * release() every poll_ms while frames are pinned. Only chosen through a
 * hardware NIC (transport.h says why).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include "tx_internal.h"

/* Bytes of the stream the peer has acknowledged: what the socket took,
 * minus what it still holds unsent or unacked (SIOCOUTQ). */
static uint64_t acked_bytes(const struct tx *t)
{
	int unacked = 0;

	if (ioctl(t->fd, SIOCOUTQ, &unacked) < 0 || unacked < 0)
		return 0; /* unknown: release nothing */
	return t->stream_sent - (uint64_t)unacked;
}

static void sendfile_release(struct tx *t)
{
	send_queue_release(&t->q, t->zc.done, acked_bytes(t));
}

/* One send of the front frame f: its head, or the rest of its payload.
 * Bytes taken, or -errno. */
static ssize_t send_piece(struct tx *t, struct out_frame *f)
{
	size_t done;
	off_t off;
	ssize_t n;

	if (f->sent < f->head_len) {
		n = send(t->fd, f->head + f->sent, f->head_len - f->sent,
			 MSG_DONTWAIT | MSG_NOSIGNAL | (f->blk ? MSG_MORE : 0));
		return n < 0 ? -errno : n;
	}
	/* past its head, a frame still queued is a block frame (a control
	 * frame is retired once its head is sent) */
	if (!f->blk)
		return -EIO;
	done = f->sent - f->head_len;
	off = (off_t)(f->blk->file_offset + done);
	n = sendfile(t->fd, f->blk->file_fd, &off, f->blk->bytes_used - done);
	if (n == 0)
		return -EIO; /* the file is shorter than the block: a bug */
	return n < 0 ? -errno : n;
}

static int sendfile_send(struct tx *t)
{
	struct out_frame *f;

	while ((f = TAILQ_FIRST(&t->q.outq)) != NULL) {
		ssize_t n;

		send_queue_encode(&t->q, f);
		n = send_piece(t, f);
		if (n < 0) {
			int r = tx__send_failed((int)-n);

			if (r > 0)
				continue;
			return r;
		}
		t->stream_sent += (uint64_t)n;
		if (f->blk && f->sent + (size_t)n == out_frame_len(f)) {
			f->ack_pending = true; /* pinned until the peer has it all */
			f->ack_end = t->stream_sent;
		}
		tx__taken(t, (size_t)n);
	}
	tx_release(t);
	return 0;
}

const struct tx_ops tx_sendfile_ops = {
	.name = "sendfile",
	.send = sendfile_send,
	.release = sendfile_release,
	.poll_ms = 1,
};
