/* SPDX-License-Identifier: MIT */
/* The iiostream command-line tool: one file per command. */
#ifndef IIOSTREAM_CLI_H
#define IIOSTREAM_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>

#include "iiostream.h"

#define CLI_DEFAULT_URL "tcp://127.0.0.1:30432"

/* Exit codes of every command. */
enum cli_exit {
	CLI_OK = 0,
	CLI_FAILED = 1,      /* connection or server error */
	CLI_USAGE = 2,       /* bad command line */
	CLI_INTEGRITY = 3,   /* rx --verify found wrong data */
	CLI_UNDERFLOW = 4,   /* tx --fail-on-underflow: the device ran dry */
};

/* Connection options every command takes (conn.c). */
enum { CLI_O_URL = 200, CLI_O_CA, CLI_O_CERT, CLI_O_KEY, CLI_O_TLS_NAME, CLI_O_TRUST_NEW,
       CLI_O_KNOWN_SERVERS, CLI_O_IDENTITY, CLI_O_NO_IDENTITY };

#define CLI_CONN_OPTIONS                                                   \
	{ "url", required_argument, NULL, CLI_O_URL },                     \
	{ "ca", required_argument, NULL, CLI_O_CA },                       \
	{ "cert", required_argument, NULL, CLI_O_CERT },                   \
	{ "key", required_argument, NULL, CLI_O_KEY },                     \
	{ "tls-name", required_argument, NULL, CLI_O_TLS_NAME },           \
	{ "trust-new", no_argument, NULL, CLI_O_TRUST_NEW },               \
	{ "known-servers", required_argument, NULL, CLI_O_KNOWN_SERVERS }, \
	{ "identity", required_argument, NULL, CLI_O_IDENTITY },           \
	{ "no-identity", no_argument, NULL, CLI_O_NO_IDENTITY }

#define CLI_CONN_USAGE                                                               \
	"  --url URL        tcp://HOST[:PORT] or tls://HOST[:PORT] (default\n"          \
	"                   " CLI_DEFAULT_URL "; tls:// defaults to port 30433)\n"      \
	"  --ca FILE        tls://: PEM CA the server's certificate must chain to\n"    \
	"                   (default: the system's CAs)\n"                              \
	"  --cert FILE      tls://: our PEM certificate, for servers that require one\n" \
	"  --key FILE       tls://: its PEM private key\n"                              \
	"  --tls-name NAME  tls://: the name the server's certificate must carry\n"     \
	"                   (default: the URL's host)\n"                               \
	"  without --ca, tls:// trusts a server on first use, as ssh does: its\n"       \
	"  certificate's fingerprint must be the one the known-servers file pins\n"     \
	"  (~/.config/iiostream/known_servers); an unknown server is asked about on\n"  \
	"  a terminal, refused otherwise:\n"                                          \
	"  --trust-new      trust an unknown server and remember it (never one whose\n" \
	"                   certificate changed)\n"                                    \
	"  --known-servers FILE  another known-servers file\n"                         \
	"  --identity DIR   tls://: our identity (key and self-signed certificate,\n"   \
	"                   made on first use; default ~/.config/iiostream/identity;\n" \
	"                   without --ca it is presented unless --cert is given)\n"    \
	"  --no-identity    tls://: present no certificate\n"

struct cli_conn {
	const char *url;
	struct iios_options opts;
	bool trust_new;            /* --trust-new */
};

void cli_conn_init(struct cli_conn *cc, const char *client_name);

/* Take a CLI_O_* option; false if `code` is not one. */
bool cli_conn_option(struct cli_conn *cc, int code, const char *arg);

/* Connect, or print why not (prefixed by the command) and return NULL. */
struct iios_client *cli_connect(const char *cmd, const struct cli_conn *cc);

/* Every command parses with getopt_long(argv, ":", ...) and opterr = 0, and
 * hands what it refuses here (options.c): `code` is getopt's ':' (an option
 * without its value) or anything else (an unknown option). Prints one line
 * naming the command and the option, and where help is; returns CLI_USAGE. */
int cli_option_error(const char *cmd, int code, char *const *argv);

/* The same for an argument the command does not take. */
int cli_extra_argument(const char *cmd, const char *arg);

/* "0,voltage2,3" -> {0, 2, 3} (at most IIOS_MAX_CHANNELS, each below it);
 * false, and a message prefixed by `cmd`, on anything else. */
bool cli_parse_channels(const char *cmd, const char *arg, uint32_t *out, uint32_t *n);

/* The streaming commands' Ctrl-C (run.c): once cli_catch_interrupt() ran,
 * SIGINT (and SIGTERM if asked) sets cli_interrupted, and the command ends
 * its stream cleanly and prints its summary. */
extern volatile sig_atomic_t cli_interrupted;
void cli_catch_interrupt(bool sigterm_too);

/* CLOCK_MONOTONIC in seconds (run.c). */
double cli_now_s(void);

int cmd_info(int argc, char **argv);
int cmd_attr(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_rx(int argc, char **argv);
int cmd_tx(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_discover(int argc, char **argv);
int cmd_identity(int argc, char **argv);
int cmd_pair(int argc, char **argv);

#endif /* IIOSTREAM_CLI_H */
