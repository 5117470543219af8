/* SPDX-License-Identifier: MIT */
/*
 * What the files of the iiod port (iiod/iiod*.c) share, and nobody else
 * uses. One concern per file:
 *
 *   iiod.c          the listener, a connection's life cycle (accept, its
 *                   timer, close) and the port as a front-end of the core
 *   iiod_input.c    the receive path: lines assembled, parsed, WRITE values
 *   iiod_dispatch.c a parsed command to what it does; HELP, VERSION, PRINT,
 *                   the trigger and buffer-count commands
 *   iiod_write.c    replies and sample chunks handed to libuv, and what is
 *                   counted of them (--max-send-queue, --idle-timeout)
 *   iiod_buffer.c   OPEN, READBUF, CLOSE: the block queue, the pump, the
 *                   buffer as a subscriber of the fan-out
 *   iiod_tx.c       OPEN of an output device, WRITEBUF, its CLOSE: the
 *                   connection as the owner of a DAC (core/output_stream.h)
 *   iiod_attr.c     READ and WRITE of attributes
 *   iiod_access.c   the authorisation lists as the iiod port applies them
 *   iiod_cmd.c      the command parser; iiod_xml.c the context XML
 *
 * Cross-file functions are iiod__*, everything else is static.
 */
#ifndef IIOSTREAMD_IIOD_INTERNAL_H
#define IIOSTREAMD_IIOD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "iiod.h"
#include "iiod_cmd.h"
#include "output_stream.h"
#include "subscriber.h"

struct access_list;
struct iiod_write;
struct pool_block;

/* Bytes of input kept: a command line, or the part of a WRITE value that
 * has arrived. */
#define IIOD_IN_CAP (IIOD_MAX_LINE + 2)
/* Longest attribute value taken by WRITE; a longer one is read and
 * discarded, and refused. */
#define IIOD_MAX_VALUE 4096
/* Blocks a buffer may have queued, and held by its writes. */
#define IIOD_MAX_QUEUE_BLOCKS 64u

/*
 * A connection's output buffer (iiod_tx.c), open while os is set. The
 * other files read only os and the counters.
 */
struct iiod_tx {
	struct output_owner owner;   /* the device's owner while open */
	struct output_stream *os;    /* the device; NULL: no output buffer */
	char device[64];             /* as OPEN named it */
	bool cyclic;
	struct output_block *filling;/* receiving samples, FILLING; or NULL */
	uint32_t fill;               /* bytes in it */
	uint64_t writebuf_len;       /* the WRITEBUF under way: its bytes, */
	uint64_t left;               /* ... those still to come (0: none under way) */
	int failed;                  /* a block of it the device refused: its errno */
	bool paused;                 /* reading stopped: no block free */
	uint64_t uf_logged, uf_log_ns; /* underflows logged, when last */
	uint64_t writebufs, bytes, blocks; /* since OPEN */
	uint64_t copied;             /* bytes of them that came in in[] */
	/* a buffer of some of the device's channels: its scans arrive in
	 * stage[] and are spread into the device's scans (the others' bytes
	 * zero); else NULL and the samples land in the blocks themselves */
	uint8_t *stage;
	uint32_t stage_len, stage_cap; /* bytes in it (less than a scan once
					* spread), its size */
	uint32_t cli_scan;           /* a scan as the client sends it */
	uint32_t nsel;               /* its channels: */
	uint32_t sel_src[IIOS_SCAN_MAX_ELEMENTS]; /* at these offsets in its scan */
	uint32_t sel_dst[IIOS_SCAN_MAX_ELEMENTS]; /* go to these in the device's */
	uint32_t sel_len[IIOS_SCAN_MAX_ELEMENTS]; /* each this long */
};

/*
 * One libiio client's connection. Each group of fields is written by the
 * file named above it; other files only read it, where said.
 */
struct iiod_conn {
	/* life cycle: iiod.c (id, peer, closing, is read everywhere) */
	TAILQ_ENTRY(iiod_conn) link; /* in is->conns until freed */
	struct iiod_server *is;
	uv_tcp_t tcp;
	uint32_t id;
	char peer[64];
	bool closing;            /* set once by iiod__conn_close(): nothing more is sent */
	int open_handles;        /* tcp, and timer once started: freed when none is left */
	uv_timer_t timer;        /* the first command's deadline, then the stall check */
	bool got_command;        /* a whole line arrived (--handshake-timeout) */
	uint64_t connected_ns;   /* accepted (its rate, in the status API) */

	/* output: iiod_write.c; what libuv has of ours (--max-send-queue,
	 * --idle-timeout) */
	uint64_t submitted;      /* bytes handed to uv_write, ever */
	uint64_t reply_pending;  /* bytes of replies (not samples) whose write has not completed */
	uint64_t taken_seen;     /* bytes the socket had taken at the last look */
	uint64_t progress_ns;    /* when it last took a byte, or had nothing to take */
	uint64_t writes_submitted, writes_done; /* libuv completes them in order
						 * (read by iiod_buffer.c) */
	TAILQ_HEAD(, iiod_write) writes; /* handed to libuv, not yet called back */

	/* input: iiod_input.c; a line being assembled, or a WRITE value */
	char in[IIOD_IN_CAP];
	size_t in_len;
	bool overlong;           /* the line outgrew in[]: refused at its end */
	struct iiod_cmd pending; /* WRITE whose value is arriving */
	uint64_t value_left;     /* bytes of that value still to come */
	char value[IIOD_MAX_VALUE + 1];
	size_t value_len;

	/* the buffer (OPEN .. CLOSE): iiod_buffer.c. open, q_len, held_len,
	 * sub.blocks_skipped, blocks_sent and bytes_sent are read by iiod.c
	 * (Stats, the close log); the scan layout by iiod__send_picked() */
	bool open;
	char device[64];         /* as OPEN named it */
	struct device_stream *ds;/* its stream while open */
	uint32_t mask[IIOD_MAX_MASK_WORDS]; /* as OPEN sent it, echoed by READBUF */
	unsigned mask_words;
	uint32_t cap_scan_bytes; /* a scan of the capture */
	uint32_t scan_bytes;     /* a scan as this client gets it */
	uint32_t nsel;           /* its channels ... */
	uint32_t sel_off[64];    /* ... at these byte offsets in a capture scan, */
	uint32_t sel_dst[64];    /* ... go to these in its scan (IIO's layout of
	                          * its channels alone), */
	uint32_t sel_len[64];    /* ... each this long */
	bool passthrough;        /* it gets whole capture scans: no copy */
	struct subscriber sub;   /* in the fan-out while open (subscriber.h) */
	struct pool_block *q[IIOD_MAX_QUEUE_BLOCKS]; /* blocks queued, oldest first */
	uint32_t q_head, q_len;
	/* Blocks sent whole out of q whose writes still hold them: the write
	 * number of each one's last chunk. They count against sub.max_queue with q,
	 * as a native client's blocks in flight count against its queue: a
	 * client must never hold every block of the ring. */
	uint64_t held_seq[IIOD_MAX_QUEUE_BLOCKS];
	uint32_t held_head, held_len;
	uint32_t head_scan;      /* scans of q[q_head] already sent */
	uint64_t readbuf_left;   /* bytes of the READBUF under way */
	bool mask_sent;          /* its mask line went with its first chunk */

	uint64_t blocks_sent, bytes_sent; /* skips: sub.blocks_skipped */

	/* the output buffer (OPEN of an output device .. CLOSE): iiod_tx.c */
	struct iiod_tx tx;
};

/* --- iiod.c ------------------------------------------------------------ */

/* Close c: its buffer, then its handles; c is freed once both are closed.
 * Idempotent; nothing is sent after it. */
void iiod__conn_close(struct iiod_conn *c);

/* A whole line arrived: the handshake deadline is met, the stall check
 * runs once a second from now on. */
void iiod__conn_spoke(struct iiod_conn *c);

/* --- iiod_input.c ------------------------------------------------------ */

/* Start reading c's commands; each complete one is run as it arrives. */
void iiod__input_start(struct iiod_conn *c);
/* Reading stopped for a WRITEBUF with no block free (iiod_tx.c): a block
 * is back, take what is waiting in in[] and read on. */
void iiod__input_resume(struct iiod_conn *c);

/* --- iiod_dispatch.c --------------------------------------------------- */

/* Do what a parsed command (but WRITE: iiod__attr_write) says, and reply.
 * The connection may be closed on return. */
void iiod__execute(struct iiod_conn *c, const struct iiod_cmd *cmd);

/* --- iiod_write.c ------------------------------------------------------ */

/* Set up c's output side once it is served: no write, the send clock
 * started. */
void iiod__output_init(struct iiod_conn *c);

/* Bytes libuv holds of c's writes. */
size_t iiod__write_queue(const struct iiod_conn *c);

/* The stall check: how long the socket has taken no byte of what is
 * queued for it, 0 if it took some (or has nothing to take) since the
 * last look. */
uint64_t iiod__stalled_ns(struct iiod_conn *c, uint64_t now);

/* A reply of head[hlen] and body[blen] (body: NULL, or malloc'ed and taken
 * over). Past --max-send-queue the connection is closed instead. */
void iiod__send_reply(struct iiod_conn *c, const char *head, size_t hlen, char *body,
		      size_t blen);
void iiod__send_text(struct iiod_conn *c, const char *text, size_t len);
/* The status line every reply starts with. */
void iiod__send_int(struct iiod_conn *c, long long v);
/* "<len>\n" then data[len] then "\n": a READ's value (len counting its
 * NUL) and GETTRIG's name (without one) alike. */
void iiod__send_sized(struct iiod_conn *c, const char *data, size_t len);

/* Samples: head[hlen] and samples[slen], out of blk, whose reference the
 * write takes over (blk NULL: head only). The connection may be closed on
 * return. */
void iiod__send_block(struct iiod_conn *c, const char *head, size_t hlen, const void *samples,
		      size_t slen, struct pool_block *blk);
/* Samples: head[hlen] and the client's channels of `scans` capture scans
 * at `from`, picked into the write's own memory (freed with it). */
void iiod__send_picked(struct iiod_conn *c, const char *head, size_t hlen,
		       const uint8_t *from, uint32_t scans);

/* --- iiod_buffer.c ----------------------------------------------------- */

/* OPEN: 0 or a negative errno (the reply's status). */
int iiod__buffer_open(struct iiod_conn *c, const struct iiod_cmd *cmd);
/* CLOSE, and its reply. */
void iiod__buffer_close_cmd(struct iiod_conn *c, const struct iiod_cmd *cmd);
/* Give back the queued blocks and leave the fan-out; nothing if not open. */
void iiod__buffer_close(struct iiod_conn *c);
/* READBUF, and its replies as samples come. */
void iiod__readbuf(struct iiod_conn *c, const struct iiod_cmd *cmd);
/* A command came while samples are owed: end the READBUF with a 0 chunk. */
void iiod__readbuf_end(struct iiod_conn *c);
/* The writes up to writes_done are called back: the blocks they held go. */
void iiod__buffer_written(struct iiod_conn *c);

/* --- iiod_tx.c --------------------------------------------------------- */

/* OPEN of the output device os: the connection becomes its owner. 0 or a
 * negative errno (the reply's status; -EBUSY names the owner in the log). */
int iiod__tx_open(struct iiod_conn *c, const struct iiod_cmd *cmd, struct output_stream *os);
/* Is c's output buffer open on `device` (as OPEN named it)? */
bool iiod__tx_open_on(const struct iiod_conn *c, const char *device);
/* CLOSE or a disconnect: a block being filled goes back, the device is
 * released (a cyclic one stops, a plain one plays its queue out). Nothing
 * if not open. */
void iiod__tx_close(struct iiod_conn *c);
/* WRITEBUF: "0", then its samples are taken by the receive path. */
void iiod__tx_writebuf(struct iiod_conn *c, const struct iiod_cmd *cmd);
/* Are samples of a WRITEBUF still to come? */
bool iiod__tx_receiving(const struct iiod_conn *c);
/* Where the next of them go: into a block of the device, *len bytes at
 * most; NULL when no block is free (the caller stops reading, and
 * iiod__input_resume() comes when one is). */
uint8_t *iiod__tx_dst(struct iiod_conn *c, size_t *len);
/* n bytes landed where iiod__tx_dst() said. */
void iiod__tx_got(struct iiod_conn *c, size_t n);
/* Copy samples that arrived in in[] (with the command line): the bytes
 * taken, fewer than n when no block is free. */
size_t iiod__tx_take(struct iiod_conn *c, const char *p, size_t n);

/* --- iiod_attr.c ------------------------------------------------------- */

/* READ, and its reply. */
void iiod__attr_read(struct iiod_conn *c, const struct iiod_cmd *cmd);
/* WRITE, once value[len] has arrived (len is at most IIOD_MAX_VALUE), and
 * its reply. */
void iiod__attr_write(struct iiod_conn *c, const struct iiod_cmd *cmd, const char *value,
		      size_t len);

/* --- iiod_access.c ----------------------------------------------------- */

/* May a libiio client (no certificate) do `what` under `list` (`flag`)?
 * A refusal is logged and counted; the caller answers -EACCES. */
bool iiod__allowed(struct iiod_conn *c, const struct access_list *list, const char *what,
		   const char *flag);
/* A reload changed the lists: close each connection holding an OPEN
 * buffer (input or output) they no longer allow, with a log line. */
void iiod__recheck_access(struct iiod_server *is);
/* Log what the access options mean for the iiod port (start, reload). */
void iiod__warn_access(const struct iiod_server *is);

#endif /* IIOSTREAMD_IIOD_INTERNAL_H */
