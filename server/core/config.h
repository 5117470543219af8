/* SPDX-License-Identifier: MIT */
/*
 * Start-up settings of iiostreamd: the command line, and a config file
 * (--config FILE) of "key = value" lines whose keys are the long flags'
 * names. Flags override the file, whatever their order. Each option, its
 * field below, bounds, default, help and reload, is described once in the
 * option table (options.h); the parsers here are driven by it.
 */
#ifndef IIOSTREAMD_CONFIG_H
#define IIOSTREAMD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "access.h"
#include "log.h"
#include "source_spec.h"
#include "transport.h"

#define CONFIG_KEYS 64 /* room for every option in the table (at most 64: key_flags) */
#define CONFIG_MAX_SOURCES 16 /* streamed devices in one daemon */
#define CONFIG_MAX_HTTP_LISTEN 4 /* --http-listen addresses */

/* --source, given once per streamed device (source_spec.h). */
struct source_list {
	char spec[CONFIG_MAX_SOURCES][SOURCE_SPEC_MAX];
	uint32_t n;
};

/* A repeatable HOST:PORT option (--http-listen). */
struct addr_list {
	char host[CONFIG_MAX_HTTP_LISTEN][256];
	uint16_t port[CONFIG_MAX_HTTP_LISTEN];
	uint32_t n;
};

struct config {
	struct source_list sources; /* --source SPEC, repeatable; first = the default stream */
	char listen_host[256];   /* --listen HOST:PORT: plain TCP */
	uint16_t listen_port;
	bool listen_off;         /* --listen off: no plain TCP listener */
	bool listen_tls;         /* --listen-tls HOST:PORT was given */
	char listen_tls_host[256];
	uint16_t listen_tls_port;
	bool iiod_listen;        /* --iiod-listen HOST:PORT was given */
	char iiod_host[256];     /* the iiod-compatible listener (iiod.h) */
	uint16_t iiod_port;
	struct addr_list http_listen; /* --http-listen HOST:PORT, repeatable: the HTTP
				       * front-end (server/http/http_server.h); none: off */
	uint32_t http_head_timeout_ms; /* --http-head-timeout: an HTTP request's TLS
					* handshake, head and body */
	char tls_cert[256];      /* --tls-cert: PEM certificate (chain) */
	char tls_key[256];       /* --tls-key: PEM private key */
	char identity[256];      /* --identity: the board's own identity's directory,
				    used without --tls-cert/--tls-key; "" = default
				    (server/tls/board_identity.h) */
	char pairing[256];       /* --pairing: the pairing directory (codes, paired
				    clients; server/tls/pairing.h); "" = beside the
				    board's default identity */
	char client_ca[256];     /* --client-ca: PEM CA; clients need a cert it signed */
	char tls_ciphersuites[256]; /* --tls-ciphersuites: OpenSSL TLS 1.3 list, "" = default */
	bool ktls;               /* --ktls auto (true) or off */
	bool advertise;          /* --advertise on (true) or off: DNS-SD via avahi */
	bool advertise_set;      /* --advertise was given (a loopback-only daemon says why not) */
	struct access_list allow_subscribe; /* --allow-subscribe */
	struct access_list allow_write;     /* --allow-write: attribute writes */
	uint64_t sample_rate;    /* --rate: scans per second, 0 = unpaced */
	uint32_t channels;       /* --channels */
	bool rate_set;           /* --rate was given (a device keeps its own otherwise) */
	bool channels_set;       /* --channels was given */
	uint32_t block_size;     /* --block-size: bytes, a whole number of scans */
	uint32_t blocks;         /* --blocks: blocks in the source ring */
	uint32_t client_queue;   /* --client-queue: default per-client queue bound */
	uint64_t memory_budget;  /* --memory-budget: bytes of every ring together */
	/* limits (docs/reliability.md) */
	uint32_t max_clients;    /* --max-clients: connections served at once (all ports) */
	uint32_t handshake_timeout_ms; /* --handshake-timeout: TLS + Hello, milliseconds */
	uint32_t idle_timeout_s; /* --idle-timeout: seconds without a byte in or out; 0: none */
	uint32_t max_frame;      /* --max-frame: largest frame head (Envelope) a client may send */
	uint32_t max_send_queue; /* --max-send-queue: bytes of replies a client may leave unread */
	char port_file[256];     /* --port-file: write the bound port here */
	enum transport transport;/* --transport: auto, copy, zerocopy or sendfile */
	enum log_level log_level;/* --log-level */
	char config_file[256];   /* --config: the file read, "" if none */
	bool check_only;         /* --check-config: validate everything, then exit */
	bool show_identity;      /* --show-identity: print the TLS identity, then exit */
	bool pair;               /* --pair: make a one-time pairing code, then exit */
	uint32_t pair_ttl_s;     /* --pair-ttl: how long that code is good for */
	bool list_paired;        /* --paired: list the paired clients, then exit */
	/* private: where each key was set, for config_where(); indexed by the
	 * key's slot in the option table (config_option_index()) */
	uint32_t key_line[CONFIG_KEYS]; /* its line in config_file, 0 if not there */
	uint64_t key_flags;      /* bit per key: given on the command line */
};

#define CONFIG_MAX_RATE 1000000000ull
#define CONFIG_MAX_CHANNELS 64u
#define CONFIG_MAX_BLOCKS 256u
#define CONFIG_MIN_BLOCKS 2u

enum config_result {
	CONFIG_OK = 0,     /* start the daemon */
	CONFIG_EXIT = 1,   /* --help or --version was printed: exit 0 */
	CONFIG_ERROR = -1, /* err holds the reason: exit 2 */
};

/* Every field zero, then each option's default from the table. */
void config_defaults(struct config *cfg);

/* Parse argv into cfg (which holds the defaults), reading the --config file
 * first if one is named. On CONFIG_ERROR `err` says which flag and why, e.g.
 * "--rate: 'fast' is not a number", or for the file which line and key:
 * "/etc/iiostream/iiostreamd.conf:3: rate: 'fast' is not a number". */
enum config_result config_parse_args(struct config *cfg, int argc, char **argv,
				     char *err, size_t errlen);

/* How an error names `key` (a long flag's name, "rate"): where its value
 * came from. "--rate" when the command line gave it (or nobody did), and
 * "/etc/iiostream/iiostreamd.conf:3: rate" when the --config file did.
 * Returns buf. */
const char *config_where(const struct config *cfg, const char *key, char *buf, size_t len);

/* The rings of the devices specs[0..n-1] (each sized by its spec, else by
 * cfg's flags) within cfg's --memory-budget: 0, or -ENOMEM with err
 * naming the option, the total and what each device asks. */
int config_check_budget(const struct config *cfg, const char (*specs)[SOURCE_SPEC_MAX],
			uint32_t n, char *err, size_t errlen);

/* Print the flags and their defaults, from the option table. */
void config_usage(FILE *out);

#endif /* IIOSTREAMD_CONFIG_H */
