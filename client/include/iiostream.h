/* SPDX-License-Identifier: MIT */
/*
 * libiiostream: receive sample blocks from an iiostreamd daemon.
 *
 *     struct iios_client *c;
 *     struct iios_stream_info info;
 *     struct iios_block blk;
 *     char err[256];
 *
 *     if (iios_connect("tcp://board:30432", NULL, &c, err, sizeof(err)) < 0)
 *             die(err);     // or "tls://board:30433" with opts.ca_file set
 *     iios_subscribe(c, 0, &info);
 *     while (iios_next_block(c, &blk) == 0)
 *             use(blk.data, blk.len);   // valid until the next call
 *     iios_close(c);
 *
 * A daemon may stream several devices (iios_server_info()->streams); one
 * connection may subscribe to several of them, and blocks of all come
 * through iios_next_block(), each saying its stream:
 *
 *     iios_subscribe_device(c, "adc1", 0, NULL, 0, &a);   // name or id
 *     iios_subscribe_device(c, "adc2", 0, NULL, 0, &b);
 *     while (iios_next_block(c, &blk) == 0)
 *             use(iios_stream(c, blk.stream_id), &blk);
 *
 * And transmit to an output device (a DAC; protocol version 3), on the same
 * connection or another:
 *
 *     struct iios_tx_info tx;
 *     iios_tx_start(c, "sim-dac", NULL, &tx);     // name or id
 *     while (fill(buf, tx.block_size))            // whole scans of tx.channels
 *             iios_tx_send(c, buf, tx.block_size, 0);  // waits for a credit
 *     iios_tx_stop(c, true, &final);              // play what is queued, stop
 *
 * Conventions (the same as libuv's):
 *  - every function that can fail returns 0 (or a count) on success and a
 *    negative errno value on failure; iios_errmsg() then says what went
 *    wrong in words;
 *  - calls block, each for at most the timeout of struct iios_options;
 *  - a client is used from one thread at a time;
 *  - after an error that breaks the connection (anything but -ETIMEDOUT
 *    before a frame began, or an Error the server sent for a request), every
 *    later call returns -ENOTCONN: close and connect again.
 *
 * Errors that any call may return:
 *   -ENOTCONN        the connection broke earlier
 *   -ETIMEDOUT       nothing arrived within the timeout
 *   -ECONNRESET      the server closed the connection
 *   -ESHUTDOWN       the server said Bye (it is shutting down)
 *   -EPROTO          the server broke the protocol
 *   -EMSGSIZE        a frame or payload was larger than allowed
 *   -EBADMSG         a frame did not decode
 *   -ENOMEM          out of memory
 *   other            an errno the server sent in an Error (iios_errmsg()
 *                    has its message), or one from the socket
 */
#ifndef IIOSTREAM_H
#define IIOSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
/* C++: the functions named as their structs (iios_stats(), iios_devices(),
 * ...) hide those structs' implicit constructors, which -Wshadow reports at
 * each declaration. Harmless: C++ callers name the structs with `struct`,
 * as C does. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif
#endif

#define IIOS_MAX_CHANNELS 64
#define IIOS_STATS_MAX_CLIENTS 64
#define IIOS_MAX_STREAMS 16        /* streamed devices a client keeps track of */

/* Block flag bits (struct iios_block.flags). */
#define IIOS_BLOCK_TIMESTAMP_VALID (1u << 0) /* timestamp_ns is meaningful */
#define IIOS_BLOCK_OVERFLOW (1u << 1)        /* the source lost scans before it */

struct iios_client;

/* What a tls:// connection without ca_file does with a server that is not
 * in the known-servers file (struct iios_options.trust_new). */
enum iios_trust_new {
	IIOS_TRUST_NEW_REFUSE = 0, /* -ENOKEY; the message names its fingerprint
	                            * and the line that would trust it */
	IIOS_TRUST_NEW_ACCEPT,     /* trust it, and add its line once the
	                            * handshake has completed */
	IIOS_TRUST_NEW_ASK,        /* ask opts->trust_ask() (refuse without one) */
};

/* "sha256:" + 64 lowercase hex digits + NUL (iiostream/identity.h too) */
#define IIOS_FINGERPRINT_LEN 72

/* Connection options. Zeroed fields take the defaults. */
struct iios_options {
	int timeout_ms;            /* per-call I/O timeout; 0: 5000; <0: wait forever */
	const char *client_name;   /* shown in the daemon's logs; NULL: "libiiostream" */
	int rcvbuf_bytes;          /* socket receive buffer; 0: the kernel's auto-tuning.
				    * Small values bound the latency (and the data
				    * buffered in the network) of a slow reader. */
	/* tls:// only. The server's certificate must chain to a CA of
	 * ca_file and name the URL's host (or tls_server_name). */
	const char *ca_file;       /* PEM CA certificates; NULL: the system's */
	const char *cert_file;     /* PEM client certificate, for servers that
				    * require one (mutual TLS); NULL: none */
	const char *key_file;      /* PEM private key of cert_file */
	const char *tls_server_name; /* name to verify instead of the URL's host
				    * (with ca_file; without it: sent as SNI only) */
	/* tls:// without ca_file: trust on first use, as ssh does. The
	 * server's certificate is pinned by its fingerprint (sha256 of its
	 * DER) in known_servers_file, one line "HOST:PORT sha256:HEX" per
	 * server (the host as dialled, lower case; the URL's port or 30433),
	 * '#' comments. The check is made inside the handshake: a server
	 * that fails it gets nothing of ours, not even our certificate.
	 * Known with that fingerprint: connect. Known with another one:
	 * -EKEYREJECTED, whatever trust_new says (the file is never
	 * rewritten). Unknown: as trust_new says. Neither the system's CAs
	 * nor the certificate's names or dates count: a board's certificate
	 * is self-made (docs/security.md, "Trust on first use"). With
	 * ca_file the file is not consulted. */
	const char *known_servers_file; /* NULL: iios_config_path("known_servers") */
	enum iios_trust_new trust_new;  /* an unknown server: refuse (default) ... */
	/* IIOS_TRUST_NEW_ASK: asked with `server` "tls://HOST:PORT" and the
	 * certificate's fingerprint "sha256:HEX", after the first handshake
	 * was aborted (a person may take longer than the server's handshake
	 * timeout); true: the line is added and the connection made again,
	 * where the server must present that certificate. NULL: refuse. */
	bool (*trust_ask)(void *arg, const char *server, const char *fingerprint);
	void *trust_ask_arg;
	/* Our identity (iios_client_identity()): a key and a self-signed
	 * certificate, created on first use, that a server admits by its
	 * fingerprint (iiostreamd --allow-subscribe sha256:HEX). Presented
	 * on tls:// when cert_file and key_file are NULL, and either ca_file
	 * is NULL (self-made trust both ways) or identity_dir is set; with a
	 * CA and no identity_dir, nothing changes from before: cert_file or
	 * none. A server that does not ask for a certificate gets none. */
	const char *identity_dir;  /* NULL: iios_config_path("identity") */
	bool no_identity;          /* present no certificate at all */
};

/* One device the server streams (protocol version 2: HelloReply.streams). */
struct iios_stream_desc {
	uint32_t stream_id;        /* in each block of its stream (iios_block) */
	char device[64];           /* its name, e.g. "iiostream-sim", "adc1" */
	char id[32];               /* its id: "iio:device0", "sim", "sim1", ... */
	char source[16];           /* block source: "sim", "kernel", "readfd" */
	uint64_t sample_rate;      /* scans per second (0: unpaced) */
	uint32_t channels;         /* channels it can capture (scan indices 0..n-1) */
	uint32_t block_size;       /* bytes per block of its ring */
	uint32_t block_count;      /* blocks in its ring */
	bool output;               /* an output device (a DAC, protocol version
	                            * 3): transmit to it (iios_tx_start());
	                            * subscribing to it fails */
};

/* What the server said in its handshake reply. */
struct iios_server_info {
	uint32_t version;          /* protocol version in use: 3; 2 for a server
	                            * that cannot transmit (iios_tx_start() is
	                            * -EOPNOTSUPP); 1 for an older server still
	                            * (it streams one device, the first: naming
	                            * another is -EOPNOTSUPP) */
	char server_name[64];      /* e.g. "iiostreamd 0.1.0" */
	char source[32];           /* block source of the first device, e.g. "sim" */
	char device[64];           /* the first device streamed, e.g. "iiostream-sim" */
	/* Every streamed device, first one first (the one iios_subscribe()
	 * gets), then (version 3) its output devices, `output` set. A
	 * version-1 server lists one: stream_id 0, device and source from its
	 * reply, the other fields 0 (its SubscribeReply says them). */
	uint32_t n_streams;
	struct iios_stream_desc streams[IIOS_MAX_STREAMS];
};

/* One channel of the stream, as IIO's scan_type describes it. */
struct iios_channel {
	uint32_t index;            /* scan index (IIO's): scans hold their
	                            * channels in ascending index */
	char id[32];               /* e.g. "voltage0" */
	bool is_signed;
	uint32_t bits;             /* significant bits */
	uint32_t storage_bits;     /* bits it occupies in the scan */
	uint32_t shift;            /* right shift before use */
	bool big_endian;
	uint32_t repeat;           /* values of this format in one element
	                            * (IIO's "Xrepeat"); 0 or 1: one */
	bool fully_defined;        /* IIO's 'S'/'U': the storage bits outside
	                            * the value are its sign or zero extension */
	bool timestamp;            /* IIO's timestamp channel: the scan's time, ns */
};

/* The stream a subscription delivers. */
struct iios_stream_info {
	uint32_t block_size;       /* largest block payload, bytes */
	uint32_t block_count;      /* blocks in the server's ring */
	uint32_t scan_bytes;       /* bytes per scan (one sample of each channel) */
	uint32_t max_queue_blocks; /* blocks the server queues for us before skipping */
	uint64_t sample_rate;      /* scans per second; 0: as fast as possible */
	char device[64];
	uint32_t n_channels;
	struct iios_channel channels[IIOS_MAX_CHANNELS];
	uint32_t stream_id;        /* the stream's id (iios_block.stream_id) */
};

/* One received block. `data` is borrowed: valid until the next call on the
 * client. */
struct iios_block {
	uint32_t block_id;         /* id in the server's ring (diagnostic) */
	uint32_t bytes_used;       /* == len */
	uint32_t flags;            /* IIOS_BLOCK_* */
	uint64_t timestamp_ns;     /* CLOCK_MONOTONIC of the server, first scan */
	uint64_t sequence;         /* per stream, +1 per block the source produced */
	uint64_t first_sample;     /* absolute index of the first scan */
	uint64_t lost_before;      /* blocks we missed just before this one */
	uint64_t lost_samples;     /* scans we missed just before this one */
	uint64_t dequeue_ns;       /* server's CLOCK_MONOTONIC when its daemon
	                            * dequeued the block; on the same host,
	                            * now - dequeue_ns is the delivery latency */
	const void *data;
	size_t len;
	uint32_t stream_id;        /* the stream (subscription) it belongs to;
	                            * sequence and the losses count within it */
};

/* What this client has received since it connected. */
struct iios_counters {
	uint64_t blocks;           /* blocks returned by iios_next_block() */
	uint64_t bytes;            /* their payload bytes */
	uint64_t lost_blocks;      /* sum of lost_before */
	uint64_t lost_samples;     /* sum of lost_samples */
	uint64_t overflow_blocks;  /* blocks flagged IIOS_BLOCK_OVERFLOW */
	uint64_t discarded_blocks; /* blocks received but never returned by
				    * iios_next_block(): those of a stream
				    * being unsubscribed, or arriving during a
				    * request while IIOS_STASH_MAX_BLOCKS were
				    * kept already (see iios_next_block()) */
};

/* The daemon's statistics (iios_stats()). */
struct iios_source_stats {
	char name[32];
	uint32_t blocks_total;     /* blocks in the ring */
	uint32_t blocks_in_source; /* owned by the source */
	uint32_t blocks_held;      /* owned by the daemon (being sent) */
	uint64_t blocks_produced;
	uint64_t bytes_produced;
	uint64_t overflows;        /* times the source had no block to fill */
	uint64_t lost_samples;     /* scans the source dropped */
	bool enabled;              /* capture running */
};

/* One stream of the daemon (struct iios_stats.sources). */
struct iios_stream_stats {
	struct iios_source_stats source; /* its source and ring */
	char device[64];           /* the device it captures from */
	uint32_t stream_id;
	uint32_t subscribers;      /* its subscribers, every port */
	uint64_t blocks_skipped;   /* blocks its subscribers skipped */
	uint64_t sample_rate;      /* scans per second (0: unpaced) */
};

struct iios_client_stats {
	uint32_t id;
	char peer[64];
	bool subscribed;
	uint64_t blocks_sent;
	uint64_t bytes_sent;
	uint64_t blocks_skipped;   /* blocks that client lost (it was too slow) */
	uint32_t queue_blocks;     /* blocks held for it now: queued, or sent
	                            * and waiting for a zero-copy completion */
	char transport[16];        /* how its blocks leave: "copy", "zerocopy",
	                            * "sendfile", "sendfile:copy" (no hardware NIC),
	                            * or under --transport auto "auto:copy" (a
	                            * local peer), "auto:zerocopy", "auto:copied"
	                            * (zero-copy sends came back copied); on the
	                            * TLS port "ktls" (the kernel encrypts) or
	                            * "tls" (OpenSSL does) */
	/* TLS connections only ("" otherwise): */
	char tls[64];              /* e.g. "TLSv1.3 TLS_AES_128_GCM_SHA256" */
	char tls_encrypt[96];      /* "kernel", or "userspace: REASON" (the
	                            * fallback from kernel TLS, and why) */
	char identity[400];        /* its certificate: "CN=NAME sha256:HEX" */
	int32_t tx_stream_id;      /* the output stream it transmits to
	                            * (struct iios_tx_stream_stats), -1 if none
	                            * (always -1 from a server older than
	                            * version 3) */
};

/* One output device of the daemon and its transmission (protocol version
 * 3; struct iios_stats.tx). */
struct iios_tx_stream_stats {
	uint32_t stream_id;
	char device[64];           /* its name */
	char id[32];               /* "iio:device1", "sim-dac", ... */
	bool transmitting;         /* a client owns it, or it plays on kept */
	uint32_t owner;            /* the owner's iios_client_stats.id, 0 if none */
	char owner_peer[256];      /* who: "client 3 (ADDR, CN=NAME)", "" if none */
	uint32_t blocks_total;     /* blocks of its ring */
	uint32_t blocks_in_device; /* queued or playing: the owner's credits in use */
	uint64_t blocks_received;  /* blocks taken from clients, since start */
	uint64_t blocks_played;    /* blocks the device finished playing */
	uint64_t bytes_played;
	uint64_t underflows;       /* times the device ran dry while playing */
	uint64_t underflow_samples; /* scans of silence those lasted */
	bool cyclic;               /* the block playing now loops */
	char on_disconnect[8];     /* what its owner leaving does: "stop" or
	                            * "keep" (iios_tx_options.keep_playing) */
	bool kept;                 /* its owner left and it plays on (keep) */
	uint64_t sample_rate;      /* scans per second (0: unpaced) */
};

struct iios_stats {
	uint64_t uptime_ns;
	struct iios_source_stats source;
	uint32_t clients;          /* connections open now (this one included) */
	uint32_t subscribers;
	uint64_t blocks_skipped_total;
	uint64_t clients_total;    /* connections accepted since start */
	uint64_t protocol_errors;  /* connections closed for bad input */
	char ktls[96];             /* kernel TLS on the server: "available", "off",
	                            * "unavailable: REASON"; "" without TLS */
	uint64_t tls_handshake_failures; /* TLS connections refused in the handshake */
	char tls_fingerprint[IIOS_FINGERPRINT_LEN]; /* "sha256:HEX" of the
	                            * certificate the TLS port presents (what
	                            * clients pin); "" without TLS, or from an
	                            * older server */
	bool tls_self_made;        /* it is the board's own identity (no --tls-cert) */
	char source_fallback[160]; /* why the simulated ADC streams: --source auto
	                            * found no IIO device with a buffer; "" when
	                            * it found one, or was not asked */
	uint64_t requests_refused; /* requests refused by the authorisation lists */
	uint32_t iiod_clients;     /* libiio clients of the iiod-compatible listener
	                            * (also listed, transport "iiod") */
	uint64_t iiod_command_errors; /* their command lines refused */
	uint64_t clients_refused;  /* connections beyond the server's --max-clients */
	uint64_t idle_closed;      /* clients closed by its --idle-timeout */
	uint32_t n_listed;         /* entries of client[] filled (at most 64) */
	struct iios_client_stats client[IIOS_STATS_MAX_CLIENTS];
	/* Every stream, first one first; `source` above is sources[0].source
	 * (a version-1 server: one entry, its source). */
	uint32_t n_sources;
	struct iios_stream_stats sources[IIOS_MAX_STREAMS];
	/* The streams client[i] is subscribed to: bit s for stream_id s
	 * (a version-1 server: bit 0 when subscribed). */
	uint64_t client_streams[IIOS_STATS_MAX_CLIENTS];
	/* Every output device and its transmission (version 3; none from an
	 * older server). */
	uint32_t n_tx;
	struct iios_tx_stream_stats tx[IIOS_MAX_STREAMS];
};

/*
 * Connect to `url` ("tcp://HOST[:PORT]", default port 30432; IPv6 as
 * "tcp://[::1]:30432"; "tls://HOST[:PORT]", default port 30433, for TLS 1.3)
 * and do the version handshake.
 * On failure *out is NULL and `err` (if not NULL) says why.
 * Errors: -EINVAL (bad URL; a key that does not match its certificate),
 * -EPROTONOSUPPORT (scheme or protocol version not supported),
 * -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, ...; over TLS also -EPROTO (the
 * handshake failed: the server's certificate did not verify, its name does
 * not match, or the server does not speak TLS), -EACCES (the server refused
 * our certificate, or wants one), -ENOENT (a CA, cert or key file is
 * missing); over TLS without ca_file (trust on first use) also -ENOKEY (an
 * unknown server, refused by trust_new or by trust_ask()), -EKEYREJECTED
 * (the server's certificate is not the one the known-servers file pins for
 * it: the message shows both fingerprints and the file:line to remove if
 * the change is legitimate), -EINVAL (a known-servers line that does not
 * parse: the message names file:line), -EPERM (the known-servers file is
 * writable by others, or our identity's key readable by others); and the
 * errors of iios_client_identity() when our identity cannot be made.
 */
int iios_connect(const char *url, const struct iios_options *opts, struct iios_client **out,
		 char *err, size_t errlen);

/* Close the connection and free the client. NULL is fine. */
void iios_close(struct iios_client *c);

/* The server's handshake reply. Valid until iios_close(). */
const struct iios_server_info *iios_server_info(const struct iios_client *c);

/* The last error, in words ("" if none). Valid until the next call. */
const char *iios_errmsg(const struct iios_client *c);

/* "TLSv1.3 TLS_AES_128_GCM_SHA256" on a tls:// connection, NULL on tcp://. */
const char *iios_tls_info(const struct iios_client *c);

/* The fingerprint ("sha256:HEX") of the certificate the server presented,
 * and of the one we presented ("" if none: we had none, or the server did
 * not ask for one), on a tls:// connection; NULL on tcp://. */
const char *iios_server_fingerprint(const struct iios_client *c);
const char *iios_client_fingerprint(const struct iios_client *c);

/* How the server was authenticated, on tls:// (NULL on tcp://): "CA FILE"
 * (its chain and name verified), "known: FILE:LINE" (pinned), or "new:
 * added to FILE" (trusted on first use by this connection). */
const char *iios_server_trust(const struct iios_client *c);

/*
 * Trust on first use, for other programs (the CLI, pairing tools, GNU
 * Radio's block) and for the library itself.
 *
 * iios_config_path(): "$XDG_CONFIG_HOME/iiostream/NAME" (an absolute
 * XDG_CONFIG_HOME), else "$HOME/.config/iiostream/NAME", else the same
 * under the password database's home. 0, -ENOENT (no home at all) or
 * -ENAMETOOLONG.
 */
int iios_config_path(const char *name, char *out, size_t len);

/*
 * Look the server of `url` ("tls://HOST[:PORT]") up in a known-servers file
 * (NULL: the default). 1 with fp ("sha256:HEX") and *line (if not NULL)
 * set when the file has it; 0 when it has not (no file: 0); or a negative
 * errno with err filled: -EINVAL (a bad URL, or a line of the file that does
 * not parse, or a second line for this server with another fingerprint:
 * err names file:line; the whole file is refused, never part of it),
 * -EPERM (the file is writable by group or others, or not ours), -EFBIG,
 * or the error of reading it.
 */
int iios_known_servers_find(const char *file, const char *url, char fp[IIOS_FINGERPRINT_LEN],
			    unsigned *line, char *err, size_t errlen);

/*
 * Remember that the server of `url` presents the certificate `fp` (as
 * iios_fingerprint_parse() takes it): append its line to the file (NULL:
 * the default), creating the file mode 0600 and its directory 0700. Under
 * an exclusive lock the file is read again first: the same line there
 * already, 0 and nothing written; another fingerprint for that server,
 * -EKEYREJECTED (never rewritten). One write(2) with O_APPEND: other lines
 * are never lost. Errors also those of iios_known_servers_find().
 */
int iios_known_servers_add(const char *file, const char *url, const char *fp, char *err,
			   size_t errlen);

/* A client's own identity (iios_client_identity()). */
struct iios_client_identity {
	char dir[4096];
	char cert_file[4096];      /* DIR/cert.pem, mode 0644 */
	char key_file[4096];       /* DIR/key.pem, EC P-256, mode 0600 */
	char fingerprint[IIOS_FINGERPRINT_LEN]; /* "sha256:HEX" of cert_file */
	char common_name[128];     /* USER@HOSTNAME when it was made */
	bool created;              /* made by this call */
};

/*
 * Open the client identity in dir (NULL: iios_config_path("identity")),
 * creating it on first use (the directory 0700). What tls:// connections
 * present when the caller names no certificate. 0, or a negative errno
 * with err saying what to do: -EPERM (key.pem readable by others: chmod
 * 600), -EINVAL (one file without the other, not PEM, a key that does not
 * match), -ENOENT (no home directory), -EACCES, -ENOSPC, ...
 */
int iios_client_identity(const char *dir, struct iios_client_identity *out, char *err,
			 size_t errlen);

/* What iios_pair() did. */
struct iios_pairing {
	char server_fingerprint[IIOS_FINGERPRINT_LEN]; /* the board's, proven */
	char client_fingerprint[IIOS_FINGERPRINT_LEN]; /* ours, as the board recorded it */
	bool server_added;         /* the board was new: its line was added */
	bool identity_created;     /* our identity was made for this */
	char known_servers_file[4096]; /* where the board is known ("" with ca_file) */
};

/*
 * Pair with a board (docs/security.md, "Pairing"): over `url` (tls:// only),
 * prove that we hold `code`, the one-time code its admin made
 * (`iiostreamd --pair`), and check that the board proves it too. Then the
 * board admits our identity (its access lists' entry `paired`), and we
 * remember the board in the known-servers file if it was not there: a board
 * that proved the code is the one that made it. opts as for iios_connect();
 * our identity (iios_client_identity(), or cert_file) is presented, and
 * made if needed; a board pinned with another fingerprint is refused
 * before anything is sent, as always. `label` names us in the board's list
 * (NULL: our identity's name, USER@HOST).
 *
 * Errors: -EINVAL (not tls://, not a code, opts->no_identity), -EACCES (the
 * board refused the code: wrong, used or expired; the connection is closed),
 * -EAGAIN (too many attempts on the board: wait), -EPERM (the server asked
 * for no certificate, or pairs no one over this port), -EKEYREJECTED (the
 * board's certificate is not the pinned one; or the server did not prove
 * the code: nothing is remembered), and iios_connect()'s.
 */
int iios_pair(const char *url, const struct iios_options *opts, const char *code,
	      const char *label, struct iios_pairing *out, char *err, size_t errlen);

/*
 * Read or write an attribute of the streamed device as text, named as IIO
 * names it (channel NULL or "" for a device attribute, e.g.
 * "sampling_frequency"). value (read) and result (write: the value after
 * it) get up to len bytes. The connection stays usable after an error.
 * Errors: -EACCES (the server's authorisation list refuses this client),
 * -ENOENT (no such attribute), -EINVAL (a value it does not take), -ENODEV,
 * and the common ones.
 */
int iios_attr_read(struct iios_client *c, const char *channel, const char *attr, char *value,
		   size_t len);
int iios_attr_write(struct iios_client *c, const char *channel, const char *attr,
		    const char *value, char *result, size_t len);

/* Which attribute, of any device the server describes (iios_devices()). */
struct iios_attr_ref {
	const char *device;        /* name or id ("iio:device0"); NULL or "": the
	                            * streamed device */
	const char *channel;       /* channel id; NULL or "": a device attribute */
	bool output;               /* the output channel of that id, not the input */
	bool buffer;               /* a buffer attribute (buffer/...) of the device */
	const char *attr;          /* e.g. "sampling_frequency" */
};

/* iios_attr_read()/iios_attr_write() for any attribute. Errors as above,
 * and -ENODEV for an unknown device or channel. */
int iios_attr_get(struct iios_client *c, const struct iios_attr_ref *ref, char *value, size_t len);
int iios_attr_set(struct iios_client *c, const struct iios_attr_ref *ref, const char *value,
		  char *result, size_t len);

/* One channel of a device, as IIO describes it. */
struct iios_channel_desc {
	char id[32];               /* e.g. "voltage0" */
	char name[32];             /* extended name or label, "" if none */
	char type[24];             /* "voltage", "temp", "altvoltage", ... */
	bool output;
	bool scan_element;         /* can be streamed in a buffer */
	int32_t index;             /* scan index; -1 if not a scan element */
	bool is_signed;            /* scan elements: the sample format */
	uint32_t bits, storage_bits, shift;
	bool big_endian;
	uint32_t n_attrs;
	char **attrs;              /* attribute names */
	uint32_t repeat;           /* scan elements: as struct iios_channel's */
	bool fully_defined;
	bool timestamp;
};

/* One IIO device of the server's context. */
struct iios_device_desc {
	char id[32];               /* "iio:device0", or "sim" (the sim source) */
	char name[64];             /* e.g. "iiostream-sim" */
	char label[64];
	bool streamed;             /* the device the stream comes from */
	uint32_t n_channels;
	struct iios_channel_desc *channels;
	uint32_t n_attrs;
	char **attrs;
	uint32_t n_buffer_attrs;
	char **buffer_attrs;
	uint32_t stream_id;        /* streamed devices: their stream's id */
};

struct iios_devices {
	char context[16];          /* "local" (libiio's local context of the
	                            * target), "sim", or "local+sim" */
	uint32_t n_devices;
	struct iios_device_desc *devices;
};

/* The devices, channels and attributes of the server's target. Free with
 * iios_devices_free(). Errors: -ENOMEM, -EMSGSIZE (a description larger
 * than a frame), and the common ones. */
int iios_devices(struct iios_client *c, struct iios_devices **out);
void iios_devices_free(struct iios_devices *d);

/*
 * Start receiving blocks of the first streamed device. max_queue_blocks:
 * how many blocks the server may queue for us before it skips (0: its
 * default); the server may lower it.
 * Errors: -EALREADY (already subscribed to it), and the common ones.
 */
int iios_subscribe(struct iios_client *c, uint32_t max_queue_blocks,
		   struct iios_stream_info *info);

/*
 * iios_subscribe(), receiving only the channels channels[0..n_channels-1]
 * (scan indices, any order; scans hold them in ascending index, as
 * info->channels lists them). n_channels 0: whatever the server captures
 * (every channel, when nobody else is subscribed). The server has one
 * capture for all its clients, as an IIO device has one buffer: while other
 * clients receive a different set of channels, this fails.
 * Errors: -EBUSY (other clients receive a different set), -EINVAL (a
 * channel the device does not have, or given twice), -EOPNOTSUPP (the
 * server's source always streams every channel), and those of
 * iios_subscribe().
 */
int iios_subscribe_channels(struct iios_client *c, uint32_t max_queue_blocks,
			    const uint32_t *channels, uint32_t n_channels,
			    struct iios_stream_info *info);

/*
 * iios_subscribe_channels() of one streamed device, named as
 * iios_server_info()'s streams name it (its name or its id; NULL or "":
 * the first). One connection may hold a subscription of each device the
 * server streams (protocol version 2): blocks of all of them come through
 * iios_next_block(), each with its stream_id (info->stream_id). Each
 * stream's blocks are checked against its own block_size.
 * Errors: -ENODEV (the server streams no such device; iios_errmsg() has
 * its message), -EALREADY (subscribed to it already), -EOPNOTSUPP (a
 * version-1 server, which streams only its first device, and `device`
 * names another), and those of iios_subscribe_channels().
 */
int iios_subscribe_device(struct iios_client *c, const char *device, uint32_t max_queue_blocks,
			  const uint32_t *channels, uint32_t n_channels,
			  struct iios_stream_info *info);

/* The stream of a subscription of this client (stream_id as in
 * iios_block), or NULL when not subscribed to it. Valid until it is
 * unsubscribed. */
const struct iios_stream_info *iios_stream(const struct iios_client *c, uint32_t stream_id);

/*
 * Wait for the next block, of any of the client's subscriptions
 * (blk->stream_id says which). Blocks that arrive while a request
 * (iios_stats(), iios_ping(), another subscribe, ...) waits for its reply
 * are kept, up to IIOS_STASH_MAX_BLOCKS, and returned first, so each
 * stream stays continuous across requests (and across transmit calls that
 * waited). The status of this connection's transmission arriving
 * meanwhile is taken (iios_tx_status() has it), never returned as an error
 * nor a block. Errors: -EINVAL (not
 * subscribed), -ETIMEDOUT (no frame began in time; the connection stays
 * usable), -ESHUTDOWN (the server said Bye), and the common ones.
 */
int iios_next_block(struct iios_client *c, struct iios_block *blk);

#define IIOS_STASH_MAX_BLOCKS 64   /* blocks kept during requests (64 MiB
				    * of them at most); more are dropped
				    * (discarded_blocks) */

/* Stop receiving blocks, of every subscription; blocks still in flight
 * are dropped (counted in discarded_blocks). Errors: -EINVAL (not
 * subscribed), the common ones. */
int iios_unsubscribe(struct iios_client *c);

/* Stop receiving blocks of one device (its name or id; NULL or "": every
 * subscription, as iios_unsubscribe()); the others go on. Its blocks still
 * in flight are dropped (discarded_blocks). Errors: -EINVAL (not
 * subscribed to it), the common ones. */
int iios_unsubscribe_device(struct iios_client *c, const char *device);

/* Round trip to the server; *rtt_ns (if not NULL) gets its duration. */
int iios_ping(struct iios_client *c, uint64_t *rtt_ns);

/* A ping that also compares clocks: *offset_ns gets the server's
 * CLOCK_MONOTONIC minus ours at the middle of the round trip, *rtt_ns its
 * duration. |offset| within rtt/2 means one clock: the same host, where
 * block latencies (now - iios_block.dequeue_ns) mean something. */
int iios_clock_offset(struct iios_client *c, int64_t *offset_ns, uint64_t *rtt_ns);

/* Ask the daemon for its statistics. */
int iios_stats(struct iios_client *c, struct iios_stats *st);

/* Counters of what this client received. */
void iios_counters(const struct iios_client *c, struct iios_counters *out);

/*
 * Transmit (protocol version 3): play blocks of scans on an output device
 * (a DAC). One client at a time owns a device's transmission; one
 * connection transmits to one device at a time, and may receive
 * (iios_subscribe_device()) on the same connection meanwhile.
 *
 * Credits: the server says how many blocks the client may have sent in all
 * (a cumulative count); each block the device finishes playing adds one.
 * iios_tx_send() waits for a credit when it has none, so the device's
 * ring stays full while the caller keeps up and the server is never
 * flooded. The server reports every underflow (the device ran dry and
 * played silence) in its status: the counts only grow, so a caller sees a
 * new underflow as a change of iios_tx_status.underflows.
 *
 * Frames the server sends meanwhile are taken wherever they arrive: its
 * status while iios_next_block() or a request waits (absorbed, never an
 * error), blocks of a subscription while a transmit call waits (kept for
 * iios_next_block() as during requests: IIOS_STASH_MAX_BLOCKS), so a client
 * that receives and transmits calls iios_next_block() between sends.
 */

#define IIOS_TX_CYCLIC (1u << 2)   /* iios_tx_send(): play this block in a
				    * loop until the next one replaces it
				    * (at the end of a repetition: no gap);
				    * the wire's BLOCK_FLAG_CYCLIC */

/* Options of iios_tx_start(). Zeroed (or NULL): the defaults. */
struct iios_tx_options {
	uint32_t prefill_blocks;   /* blocks queued before the device starts
	                            * playing, so it never waits for the
	                            * network; 0: the server's default (half
	                            * its ring, at least 1). A cyclic block
	                            * starts playing at once. */
	bool keep_playing;         /* when this connection ends without
	                            * iios_tx_stop(): true, the device plays on
	                            * (a cyclic block loops until the next
	                            * owner); false (default), it stops and
	                            * what is queued is dropped */
};

/* The output device a transmission plays on (TxStartReply). */
struct iios_tx_info {
	uint32_t stream_id;        /* its id among the server's streams */
	char device[64];           /* its name */
	uint32_t block_size;       /* largest block iios_tx_send() takes, bytes */
	uint32_t block_count;      /* blocks of the device's ring */
	uint32_t scan_bytes;       /* a block is a whole number of scans */
	uint64_t sample_rate;      /* scans per second (0: as fast as it takes them) */
	uint32_t n_channels;       /* the channels of a scan, ascending index, */
	struct iios_channel channels[IIOS_MAX_CHANNELS]; /* laid out as IIO does */
};

/* Where a transmission is: the server's latest TxStatus (counts since
 * iios_tx_start()) and what this client sent. */
struct iios_tx_status {
	uint64_t credits;          /* blocks we may have sent in all (cumulative) */
	uint64_t blocks_sent;      /* blocks iios_tx_send() sent */
	uint64_t bytes_sent;       /* their bytes */
	uint32_t credits_free;     /* credits - blocks_sent: blocks iios_tx_send()
	                            * sends now without waiting */
	uint64_t blocks_played;    /* blocks the device finished playing */
	uint64_t samples_played;   /* our scans played (a cyclic block once) */
	uint64_t underflows;       /* times the device ran dry while playing */
	uint64_t underflow_samples; /* scans of silence those played, in all */
	uint64_t underflow_position; /* our scan index (0: the first scan we
	                            * sent) before which the last underflow
	                            * put silence; 0 if none */
	uint32_t blocks_queued;    /* blocks the device holds now */
	uint64_t reports;          /* status reports received (each may bring
	                            * new credits or underflows) */
};

/*
 * Take an output device (name or id, as iios_server_info()'s streams with
 * `output` name it; NULL or "": the server's first) and start a
 * transmission: iios_tx_send() its blocks, iios_tx_stop() at the end.
 * opts NULL: the defaults. *info (if not NULL) gets the device's
 * description: its blocks' size and scan layout. A device left playing by
 * a client that went away (keep_playing) is taken over: our first block
 * replaces its looping one.
 * Errors: -EOPNOTSUPP (the server speaks protocol version 2 or older: it
 * cannot transmit), -EALREADY (this connection transmits already),
 * -EBUSY (another client owns the device: iios_errmsg() names it),
 * -ENODEV (no such output device), -EACCES (the server's authorisation
 * refuses us), and the common ones.
 */
int iios_tx_start(struct iios_client *c, const char *device, const struct iios_tx_options *opts,
		  struct iios_tx_info *info);

/*
 * Send one block of len bytes (1..block_size, whole scans) to be played
 * after the ones sent before; flags: IIOS_TX_CYCLIC or 0. Waits, reading
 * the server's status, until a credit is free, then writes the block
 * straight from `data` (no copy on tcp://). The new status (credits,
 * underflows) is in iios_tx_status() after it.
 * Errors: -EINVAL (not transmitting, or stopping; a length that is not
 * whole scans; an unknown flag), -EMSGSIZE (len 0 or above block_size)
 * (these three send nothing and the transmission goes on); -ETIMEDOUT (no
 * credit came within the timeout: nothing was sent, the connection stays
 * usable, call again); an errno the server sent in an Error (the
 * transmission ended: its message says why, e.g. the device failed), and
 * the common ones.
 */
int iios_tx_send(struct iios_client *c, const void *data, size_t len, uint32_t flags);

/*
 * The transmission's latest status, after taking the server's reports
 * that have arrived (it does not wait for one). Works after iios_tx_stop()
 * too: the final status. Errors: -EINVAL (never transmitted on this
 * connection), an Error the server sent (as iios_tx_send()), the common
 * ones.
 */
int iios_tx_status(struct iios_client *c, struct iios_tx_status *st);

/*
 * End the transmission. drain: the device plays what is queued, then
 * stops (a looping cyclic block has no end: it stops at once); else it
 * stops now and what is queued is dropped. Waits for the server's reply,
 * which comes when the device has stopped; *final (if not NULL) gets the
 * last status. The connection may iios_tx_start() again after it (or
 * after the server ended the transmission with an Error).
 * Errors: -EINVAL (not transmitting), -ETIMEDOUT (no word from the server
 * within the timeout while the queue plays: still stopping, call again to
 * wait on), and the common ones.
 */
int iios_tx_stop(struct iios_client *c, bool drain, struct iios_tx_status *final);

/*
 * Fill `scans` scans of the simulated pattern into out (scans * the
 * layout's scan bytes), of channels chans[0..n_channels-1] (ascending scan
 * index) in their formats, starting at absolute scan `first`: what the
 * simulated ADCs produce and the verifiers below check, so a transmitted
 * pattern looped back into an ADC is verified like a captured one
 * (`iiostream tx --pattern`). Returns the bytes written, or -EINVAL
 * (formats that are no IIO types; out too small: len bytes).
 */
long iios_pattern_scans(void *out, size_t len, uint64_t first, uint32_t scans,
			const struct iios_channel *chans, uint32_t n_channels);

/*
 * Verification of the simulated sources' sample pattern and of the stream's
 * continuity (what `iiostream rx --verify` does). Feed it every block, in
 * order; it checks that every sample matches the pattern for its absolute
 * scan index in its channel's format (iios_channel: any IIO scan type, laid
 * out as the IIO core lays out a scan; the pattern is iios_pattern_sample()
 * for le:s16/16 and built from it for the others: iiostream/scan.h), that
 * a channel with id "timestamp" (IIO's name for it) never goes back, that
 * sequence and first_sample advance exactly by what the block says was
 * lost, and that sample loss without skipped blocks is flagged as overflow.
 * Channels described without a format (storage_bits 0), or a stream without
 * channels, are taken as le:s16/16.
 */
struct iios_verify {
	uint64_t blocks;           /* blocks checked */
	uint64_t bytes;
	uint64_t integrity_errors; /* blocks with a wrong sample or broken continuity */
	uint64_t lost_blocks;      /* sum of lost_before */
	uint64_t lost_samples;     /* sum of lost_samples */
	char first_error[192];     /* what the first error was ("" if none) */
	/* private */
	bool have_prev;
	uint64_t next_sequence;
	uint64_t next_sample;
	uint64_t last_timestamp_ns; /* the last timestamp channel value seen */
};

void iios_verify_init(struct iios_verify *v);

/* 0 if the block is right; -EILSEQ if not (counted, first one described):
 * a wrong sample, a timestamp going back, broken continuity, a length that
 * is not whole scans, or channel formats that are no IIO scan types or do
 * not make info->scan_bytes. */
int iios_verify_block(struct iios_verify *v, const struct iios_stream_info *info,
		      const struct iios_block *blk);

/*
 * Samples without headers: a file of raw scans, such as `iiostream rx
 * --output` or libiio's iio_readdev writes, holding channels
 * channels[0..n_channels-1] (ascending scan indices) of the simulated
 * pattern. Where the run starts is found from the data itself; a jump
 * forward is a gap (scans missing, e.g. blocks a slow reader skipped), any
 * other mismatch an error.
 */
struct iios_scan_check {
	uint64_t scans;            /* whole scans checked */
	uint64_t first_scan;       /* index of the first one, modulo 2^32
	                            * (2^(16 + b) when the widest pattern value
	                            * has b < 16 bits: see
	                            * iios_verify_scans_typed()) */
	bool start_determined;     /* the data showed the index: it holds a
	                            * multiple of 65536 within its first 65537
	                            * scans. Else the scans are checked against
	                            * each other only (index taken as a multiple
	                            * of 65536) */
	uint64_t gaps;             /* discontinuities after which the pattern goes on */
	uint64_t gaps_unsized;     /* those of them whose size the data does not show */
	uint64_t scans_missing;    /* scans the other gaps skipped */
	uint64_t errors;           /* scans that are no pattern scan at all */
	char first_error[192];
};

/*
 * Check len bytes of scans. 0 when every scan is pattern data in order
 * (gaps allowed: see chk); -EILSEQ when some are not (chk->errors,
 * chk->first_error); -ENOENT when the start cannot be found (not pattern
 * data, other channels, fewer than 4 scans, or a start past 2^36);
 * -EINVAL for a bad channel list or a length that is not whole scans.
 */
int iios_verify_scans(struct iios_scan_check *chk, const void *data, size_t len,
		      const uint32_t *channels, uint32_t n_channels);

/*
 * iios_verify_scans() of scans in any IIO format: channels chans[0..n-1]
 * (ascending scan index) in their formats (iios_channel, as
 * iios_stream_info gives them; storage_bits 0: le:s16/16), laid out as the
 * IIO core lays a scan out (iiostream/scan.h), such as iio_readdev writes
 * them for a device streamed in those formats. Every value is checked,
 * storage bits outside it included; a timestamp channel (its flag, or id
 * "timestamp") must never go back, across gaps too.
 *
 * The start is found from the widest pattern value (the first of the
 * widest channel's values): its low 16 bits are iios_pattern_sample() of
 * the scan, masked to the value's bits when it has fewer. With b < 16
 * bits at most (an 8-bit or 12-bit device) the data shows the index only
 * modulo 2^(16 + b) (chk->first_scan; scans that far apart are the same
 * bytes, so what is checked is the same), and narrower scans need more of
 * them to find a start (at least 4, and at least 64 pattern bits).
 * Errors: those of iios_verify_scans(); -EINVAL also for formats that are
 * no IIO type or channels that are only timestamps.
 */
int iios_verify_scans_typed(struct iios_scan_check *chk, const void *data, size_t len,
			    const struct iios_channel *chans, uint32_t n_channels);

/*
 * A loopback capture: what an ADC received of the pattern a DAC played
 * (`iiostream tx --pattern` into a DAC looped back into the ADC,
 * `iiostream rx --verify-loopback`, started first). The received scans, in
 * the ADC's channels and formats, must be: silence (scans whose values are
 * all zero, timestamps aside), then the pattern from scan 0 in order
 * without a gap, then silence. Where the pattern starts is found from the data (0 when the
 * capture saw the transmission begin); inside the run, silence (an
 * underflow of the DAC), a jump, scans the receiver lost or any other
 * data is a gap: a failure. Feed every received piece in order.
 */
struct iios_loopback_check {
	uint64_t scans;            /* scans fed */
	uint64_t silent_before;    /* silent scans before the pattern began */
	bool started;              /* the pattern was seen */
	uint64_t first_index;      /* its index at the first pattern scan (0:
	                            * the transmission's first scan; modulo
	                            * 2^(16 + b) for b < 16-bit channels) */
	uint64_t matched;          /* pattern scans, in order */
	uint64_t silent_after;     /* silent scans after the last pattern scan */
	uint64_t gaps;             /* breaks inside the run: silence or lost
	                            * scans followed by the pattern, a jump */
	uint64_t errors;           /* scans that are neither silence nor pattern */
	char first_error[192];     /* the first gap or error ("" if none) */
	/* private */
	int phase;                 /* before, in the run, after it */
	uint64_t next;             /* the pattern index the next scan should have */
	uint64_t run_at;           /* scans fed before the current run began */
	uint32_t run_lane;         /* the run's first scan's key value */
	bool run_determined;       /* the run's index is the data's, not a guess */
	uint64_t ts;               /* the last timestamp seen */
};

void iios_loopback_init(struct iios_loopback_check *lc);

/*
 * Check len bytes of received scans of channels chans[0..n_channels-1]
 * (the capture's: iios_stream_info's), after lost_scans scans the
 * receiver did not get (iios_block.lost_samples). 0 while the capture is
 * right so far, -EILSEQ once it has a gap or an error (lc says which),
 * -EINVAL for formats that are no IIO types or a length that is not whole
 * scans.
 */
int iios_loopback_feed(struct iios_loopback_check *lc, const void *data, size_t len,
		       uint64_t lost_scans, const struct iios_channel *chans, uint32_t n_channels);

/* The verdict at the end: silence, then the pattern from its first scan
 * (index 0), without a gap or error. A capture that began after the
 * transmission did is no pass, nor the ADC's own pattern with the loopback
 * off (no silence before it). */
bool iios_loopback_ok(const struct iios_loopback_check *lc);

#ifdef __cplusplus
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
}
#endif

#endif /* IIOSTREAM_H */
