/* SPDX-License-Identifier: MIT */
/*
 * A front-end: a port through which clients reach the daemon. The native
 * protocol's listeners and sessions (net/net.h) are one, the iiod-compatible
 * port (iiod/iiod.h) another, DNS-SD announcements (daemon/) a third with
 * no clients. The core knows them only through this ops table, so it counts
 * clients for --max-clients, runs the once-a-second limits, lists clients
 * in Stats and shuts down without knowing what a session is.
 *
 * To add one (a web console, an exporter): embed a struct frontend, fill in
 * the ops it needs, and register it with server_add_frontend() once it
 * listens. Its clients call server_client_gone() as each one closes.
 */
#ifndef IIOSTREAMD_FRONTEND_H
#define IIOSTREAMD_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

struct frontend;

/* One client's line of Stats, as any front-end can give it. */
struct client_brief {
	uint32_t id;
	const char *peer;
	bool subscribed;           /* it takes blocks from the fan-out */
	uint64_t blocks_sent, bytes_sent, blocks_skipped;
	uint32_t queue_blocks;     /* blocks it holds now */
	const char *transport;     /* Stats' transport field, e.g. "iiod" */
	/* for /metrics and the status API: */
	const char *connection;    /* how it came: "tcp", "tls", "ktls" (the
				    * kernel encrypts), "iiod"; never a peer */
	const char *tls_identity;  /* its client certificate, "sha256:<64 hex>",
				    * or NULL (none, or plain TCP) */
	double rate_bytes_per_s;   /* payload bytes sent a second: over the
				    * last whole second where the front-end
				    * samples it, else since it connected */
};

/* A front-end's numbers, for --max-clients and Stats. */
struct frontend_counters {
	uint32_t clients;          /* connections open now */
	/* of those, connections --max-clients does not count: the front-end
	 * bounds them itself (the HTTP port), so they cannot take a streaming
	 * client's place; the shutdown still waits for them */
	uint32_t own_limits;
	uint64_t command_errors;   /* requests refused as malformed */
};

struct frontend_ops {
	const char *name;          /* "iiostream", "iiod", "dns-sd" */
	void (*counters)(const struct frontend *fe, struct frontend_counters *out);
	/* Shutdown: stop accepting, and say bye to every client; each closes
	 * when what it has queued is sent, and calls server_client_gone(). */
	void (*shutdown)(struct frontend *fe);
	/* Optional, once a second: per-client limits (--idle-timeout). */
	void (*tick)(struct frontend *fe, uint64_t now_ns);
	/* Optional: SIGHUP changed the access lists, now in force: end what a
	 * client holds that they no longer allow (docs/security.md,
	 * "Revocation"); a client may be closed during the call. */
	void (*access_changed)(struct frontend *fe);
	/* Optional: what it adds to systemd's STATUS= line ("; TCP port 30431"). */
	void (*status)(const struct frontend *fe, char *buf, size_t len);
	/* Optional: each client's line of Stats. */
	void (*foreach_client)(const struct frontend *fe,
			       void (*fn)(const struct client_brief *c, void *arg), void *arg);
};

struct frontend {
	const struct frontend_ops *ops;
	TAILQ_ENTRY(frontend) link; /* in the server's list, once registered */
};

#endif /* IIOSTREAMD_FRONTEND_H */
