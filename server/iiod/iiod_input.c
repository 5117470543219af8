// SPDX-License-Identifier: MIT
/*
 * The iiod port's receive path (iiod_internal.h): bytes into in[], cut into
 * command lines, parsed (iiod_cmd.c) and run (iiod_dispatch.c); a WRITE's
 * value is gathered here first, then written (iiod_attr.c). A WRITEBUF's
 * samples are read straight into the device's blocks (iiod_tx.c): the
 * alloc callback hands libuv a block's memory, no copy; only those that
 * came in one read with the command line are copied out of in[]. While no
 * block is free, reading stops (the client is held by TCP).
 *
 * The wire rules are in iiod.c's header comment. A line longer than
 * IIOD_MAX_LINE, or one that does not parse, is refused with -EINVAL,
 * logged and counted (command_errors), and the connection goes on.
 */
#include <errno.h>
#include <string.h>

#include "iiod_internal.h"
#include "log.h"

static void consume(struct iiod_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Bytes of a WRITE's value: kept up to IIOD_MAX_VALUE, always consumed;
 * the write is done once the last one is in. */
static void take_value(struct iiod_conn *c)
{
	size_t n = c->in_len < c->value_left ? c->in_len : (size_t)c->value_left;
	size_t keep = c->value_len + n <= IIOD_MAX_VALUE ? n : 0;

	memcpy(c->value + c->value_len, c->in, keep);
	c->value_len += keep;
	c->value_left -= n;
	consume(c, n);
	if (!c->value_left)
		iiod__attr_write(c, &c->pending, c->value, c->value_len);
}

/* WRITE: its value comes next (none: written at once). */
static void start_write(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	c->pending = *cmd;
	c->value_left = cmd->number;
	c->value_len = 0;
	if (!c->value_left)
		iiod__attr_write(c, &c->pending, c->value, c->value_len);
}

/* The line in[0, end) (its "\n" at in[end]): refused, or run. */
static void take_line(struct iiod_conn *c, size_t end)
{
	struct iiod_cmd cmd;
	char err[160];
	size_t len = end;

	/* even a bad line: the peer speaks */
	iiod__conn_spoke(c);
	iiod__readbuf_end(c);
	if (c->overlong) {
		c->overlong = false;
		c->is->command_errors++;
		log_info("iiod client %u (%s): line longer than %d bytes", c->id, c->peer,
			 IIOD_MAX_LINE);
		iiod__send_int(c, -EINVAL);
		consume(c, end + 1);
		return;
	}
	if (len && c->in[len - 1] == '\r')
		len--;
	if (iiod_cmd_parse(c->in, len, &cmd, err, sizeof(err)) != 0) {
		c->is->command_errors++;
		log_info("iiod client %u (%s): %s", c->id, c->peer, err);
		consume(c, end + 1);
		iiod__send_int(c, -EINVAL);
		return;
	}
	consume(c, end + 1);
	if (cmd.op == IIOD_OP_WRITE)
		start_write(c, &cmd);
	else
		iiod__execute(c, &cmd);
}

/* Run every complete command in in[]; stop reading while a WRITEBUF's
 * samples wait for a block. */
static void process_input(struct iiod_conn *c)
{
	while (!c->closing && c->in_len) {
		char *nl;

		if (iiod__tx_receiving(c)) {
			consume(c, iiod__tx_take(c, c->in, c->in_len));
			if (c->tx.paused) {
				uv_read_stop((uv_stream_t *)&c->tcp);
				return;
			}
			continue;
		}
		if (c->value_left) {
			take_value(c);
			continue;
		}
		nl = memchr(c->in, '\n', c->in_len);
		if (!nl)
			return;
		take_line(c, (size_t)(nl - c->in));
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct iiod_conn *c = h->data;
	size_t len;
	uint8_t *dst;

	(void)suggested;
	if (iiod__tx_receiving(c) && !c->in_len) {
		/* samples: straight into the device's block */
		dst = iiod__tx_dst(c, &len);
		if (dst) {
			*buf = uv_buf_init((char *)dst, (unsigned)len);
			return;
		}
		/* none free (reading stops in on_read): in[] holds what comes */
	}
	if (c->in_len == sizeof(c->in) && !c->value_left) {
		/* no newline in a full buffer: the line is too long; keep the
		 * tail so its end is found, and refuse it there */
		c->overlong = true;
		c->in_len = 0;
	}
	*buf = uv_buf_init(c->in + c->in_len, (unsigned)(sizeof(c->in) - c->in_len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct iiod_conn *c = stream->data;

	if (nread < 0) {
		/* EOF or reset: libiio closes buffer connections without CLOSE */
		if (nread != UV_EOF)
			log_info("iiod client %u (%s): %s", c->id, c->peer, uv_strerror((int)nread));
		iiod__conn_close(c);
		return;
	}
	if (buf->base != c->in + c->in_len) {
		/* into a block (on_alloc) */
		if (nread)
			iiod__tx_got(c, (size_t)nread);
	} else {
		c->in_len += (size_t)nread;
	}
	process_input(c);
	if (c->tx.paused && !c->closing)
		uv_read_stop(stream);
}

void iiod__input_resume(struct iiod_conn *c)
{
	process_input(c);
	if (!c->closing && !c->tx.paused)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

void iiod__input_start(struct iiod_conn *c)
{
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}
