/* SPDX-License-Identifier: MIT */
/*
 * The daemon's core: one libuv loop, the streamed devices (one
 * device_stream each: source, ring, fan-out), the configuration, the TLS
 * context, the counters, and the front-ends that clients come through
 * (frontend.h), known only by their ops. The orderly shutdown lives here.
 * Everything runs on the loop's thread; nothing here is locked.
 */
#ifndef IIOSTREAMD_SERVER_H
#define IIOSTREAMD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "block_pool.h"
#include "clock.h"
#include "config.h"
#include "device_stream.h"
#include "fanout.h"
#include "frontend.h"
#include "notify.h"
#include "output_stream.h"
#include "pairing.h"
#include "reload.h"
#include "source.h"
#include "tls.h"

struct iio_context;

struct server {
	uv_loop_t *loop;
	const struct config *cfg;  /* in force; a SIGHUP changes its live keys (reload.h) */
	struct device_stream *streams; /* one per --source, in their order */
	uint32_t nstreams;
	uint32_t streams_closing;  /* closed, poll handle not yet: streams[] stays */
	struct output_stream *outputs; /* one per output device (the sims' DACs),
				    * ids nstreams.. */
	uint32_t noutputs;
	uint32_t outputs_closing;
	struct tls_server tls;     /* ctx NULL without --listen-tls */
	struct pairing pairing;    /* codes and paired clients (pairing.h), */
	bool pairing_on;           /* with --listen-tls only */
	struct iio_context *iio;   /* libiio's local context, NULL if none */
	uv_signal_t sigterm, sigint;
	uv_signal_t sighup;        /* reload (reload.h) */
	struct reload reload;      /* set by main after server_start(); live NULL: none */
	struct notify notify;      /* systemd's NOTIFY_SOCKET and watchdog (notify.h) */
	TAILQ_HEAD(, frontend) frontends; /* registered, in start-up order */
	uint64_t start_ns;
	bool shutting_down;
	bool finished;             /* every handle closed or closing */
	int exit_code;             /* 0, or 1 if blocks were still held at exit */
	/* counters reported in Stats */
	uint64_t clients_total;
	uint64_t protocol_errors;
	uint64_t tls_handshakes;    /* completed, on every TLS port */
	uint64_t tls_handshake_failures;
	uint64_t requests_refused;  /* by --allow-subscribe / --allow-write */
	uint64_t clients_refused;   /* connections beyond --max-clients */
	uint64_t idle_closed;       /* clients closed by --idle-timeout */
	uv_timer_t limits_timer;    /* once a second: --idle-timeout */
	uv_timer_t finish_timer;    /* shutdown: finish() on the loop's next turn */
	uint64_t refused_logged_ns; /* the last "too many clients" log line */
	/* read-only: why the sim streams, when `auto` found no device ("" if
	 * it did, or was not asked): Stats.source_fallback */
	char source_fallback[160];
};

/* Load the TLS context, open every source and allocate its blocks (within
 * --memory-budget), start the timers and signals: 0 or a negative errno
 * (logged; nothing is left running). The front-ends start next
 * (daemon/daemon.c), then server_ready(). */
int server_start(struct server *srv, uv_loop_t *loop, const struct config *cfg);

/* Take a front-end that is listening: counted, ticked, listed in Stats,
 * shut down with the daemon. */
void server_add_frontend(struct server *srv, struct frontend *fe);

/* The registered front-end called `name`, or NULL. */
struct frontend *server_frontend(const struct server *srv, const char *name);

/* Everything is listening: the source line, and READY=1 for systemd. */
void server_ready(struct server *srv);

/* The TLS layer's settings (tls.h) from cfg; s points into cfg. */
void tls_settings_from_config(const struct config *cfg, struct tls_settings *s);

/* SIGHUP (reload.c): tls_server_renew() with cfg's TLS settings. */
int tls_server_reload(struct tls_server *t, const struct config *cfg, char *err,
		      size_t errlen);

/* Begin an orderly stop: no new clients, Bye to each, every block back,
 * then every handle closed so that uv_run() returns. */
void server_shutdown(struct server *srv, const char *why);

/* The streamed device a request names: "" is the first one; else by its
 * id (device_id), or by its name (fmt.device: the first stream of that
 * name, as two devices may share one). NULL if none. */
struct device_stream *server_find_stream(const struct server *srv, const char *device);

/* The output device a request names, as server_find_stream() does; ""
 * is the first one. NULL if none. */
struct output_stream *server_find_output(const struct server *srv, const char *device);

/* Output devices not at rest: owned by a client, or holding a block half
 * received, or blocks queued with nobody playing them on (OUTPUT_KEEP is
 * at rest). 0 once every transmitter has gone. */
uint32_t server_outputs_unsettled(const struct server *srv);

/* output_stream_close() is over: its handles are closed. */
void server_output_closed(struct server *srv);

/* The first streamed device, a client's default. */
static inline struct device_stream *server_first_stream(const struct server *srv)
{
	return &srv->streams[0];
}

/* Subscribers of every stream: native sessions and iiod buffers. */
uint32_t server_subscribers(const struct server *srv);

/* Blocks every subscriber of every stream skipped (fanout.h). Stats and
 * the shutdown line both report this one sum. */
uint64_t server_blocks_skipped(const struct server *srv);

/* Blocks the daemon holds (dequeued, not yet back), every stream. */
uint32_t server_blocks_held(const struct server *srv);

/* Something systemd's STATUS= line shows changed (a capture started). */
void server_status_changed(struct server *srv);

/* device_stream_close() is over: its handles are closed. */
void server_stream_closed(struct server *srv);

/* Connections open on every front-end. */
uint32_t server_clients(const struct server *srv);

/* Those of them --max-clients counts (frontend_counters.own_limits). */
uint32_t server_limited_clients(const struct server *srv);

/* Each client of every front-end but `except`, for Stats. */
void server_foreach_client(const struct server *srv, const struct frontend *except,
			   void (*fn)(const struct client_brief *c, void *arg), void *arg);

/* At --max-clients already? Then count the refusal, log it (a line a
 * second at most) and return true: the caller tells the client and closes. */
bool server_refuse_client(struct server *srv, const char *peer, const char *port);

/* A client of some front-end closed; during shutdown, the last one going
 * finishes it, on the loop's next turn: never inside the caller's own walk. */
void server_client_gone(struct server *srv);


#endif /* IIOSTREAMD_SERVER_H */
