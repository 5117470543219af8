/* SPDX-License-Identifier: MIT */
/*
 * The iiod-compatible listener (--iiod-listen): libiio 0.24's network
 * protocol, so that iio_info, iio_attr, iio_readdev, pyadi-iio and GNU
 * Radio's iio blocks read iiostreamd's context, attributes and samples as
 * if it were iiod. What of the protocol is served is in docs/iiod-compat.md.
 *
 * It is a second kind of client of the same daemon: PRINT describes the
 * devices devices.c describes, READ and WRITE go through devices.c's
 * attribute routing, and a buffer (OPEN, READBUF) is fed by the same
 * fan-out as iiostream's clients, one reference per queued block. A libiio
 * client cannot be told about a gap: blocks it was too slow for are skipped,
 * counted in Stats and logged. An output device (a DAC) is opened for
 * transmitting: the connection becomes its owner (core/output_stream.h),
 * as a native TxStart does, and WRITEBUF's samples are read straight into
 * its blocks; underflows, which libiio cannot be told either, are logged
 * and counted in Stats.tx.
 *
 * The rules of the iiostream ports hold here too, as far as libiio's
 * protocol lets them: a libiio client has no certificate, so OPEN
 * (--allow-subscribe) and WRITE (--allow-write) are answered -EACCES, logged
 * and counted (requests_refused) unless the list is unset or names "plain";
 * --max-clients counts these connections; --handshake-timeout bounds the
 * wait for the first line, --idle-timeout a socket that takes nothing,
 * --max-send-queue the replies left unread.
 *
 * It is a front-end of the core (core/frontend.h): counted for
 * --max-clients, listed in Stats, shut down with the daemon.
 *
 * Ownership: the listener owns its connections; a connection is freed in the
 * close callback of its handle, after libuv has cancelled its writes, each
 * of which frees what it carries (a copy, or its block reference).
 */
#ifndef IIOSTREAMD_IIOD_H
#define IIOSTREAMD_IIOD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "frontend.h"
#include "iiod_cmd.h"

struct server;
struct pool_block;
struct iiod_conn;

struct iiod_server {
	struct frontend fe;        /* registered with the core while listening */
	struct server *srv;
	uv_tcp_t listener;
	bool listening;            /* listener open (closed by iiod_stop) */
	uint16_t port;             /* bound port (for --port-file) */
	TAILQ_HEAD(, iiod_conn) conns;
	uint32_t nconns;
	uint32_t next_id;
	/* counters for Stats */
	uint64_t connections_total;
	uint64_t command_errors;   /* lines refused (syntax, unknown command) */
};

/* Listen on host:port (cfg->iiod_*) and register with the core. 0 or a
 * negative errno (logged; nothing left listening). */
int iiod_start(struct iiod_server *is, struct server *srv, const char *host, uint16_t port);

/* The listening socket (for DNS-SD: its address and port), -1 if none. */
int iiod_listen_fd(const struct iiod_server *is);


#endif /* IIOSTREAMD_IIOD_H */
