/* SPDX-License-Identifier: MIT */
/*
 * Pairing: how a board admits a new client without a CA (docs/security.md,
 * "Pairing"; the codes and proofs are common/include/iiostream/pair.h).
 *
 * The pairing directory (created mode 0700, owned by the daemon's user):
 *   codes    one-time codes the admin made with `iiostreamd --pair`, one per
 *            line: "KEY EXPIRES", KEY the code's key in hex (the code itself
 *            is shown once, never stored), EXPIRES in seconds since the
 *            epoch. A code is removed when used, and ignored once expired.
 *   clients  the paired clients, one per line: "sha256:HEX LABEL", LABEL
 *            what the client called itself; '#' comments. The admin removes
 *            a line and reloads the daemon to unpair (revocation closes its
 *            connections at once).
 * The access lists' entry `paired` admits the clients in `clients`.
 *
 * Guessing is bounded twice: attempts are throttled (a burst of
 * PAIRING_BURST, then one per PAIRING_REFILL_S seconds, for the whole
 * daemon), and after PAIRING_MAX_FAILURES wrong proofs every outstanding
 * code is void, so a stranger gets at most that many guesses at 60 bits per
 * code the admin makes. A failed attempt also ends its connection.
 */
#ifndef IIOSTREAMD_PAIRING_H
#define IIOSTREAMD_PAIRING_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iiostream/pair.h>

#define PAIRING_BURST 3
#define PAIRING_REFILL_S 2
#define PAIRING_MAX_FAILURES 5
#define PAIRING_DEFAULT_TTL_S 600
#define PAIRING_LABEL_MAX 64

struct paired_client {
	char sha256[65];                   /* lowercase hex, no prefix */
	char label[PAIRING_LABEL_MAX + 1];
};

struct pairing {
	char dir[PATH_MAX];
	struct paired_client *clients;     /* from DIR/clients */
	unsigned n_clients;
	/* the throttle: tokens left, refilled over time */
	double tokens;
	uint64_t refilled_ns;
	unsigned failures;                 /* wrong proofs since codes were voided */
	/* counters, for stats and logs */
	uint64_t paired_total, refused_total, throttled_total;
};

/* The directory to use: `dir` if not "", else the pairing directory beside
 * the board's identity ($STATE_DIRECTORY/pairing, ...). 0 or -ENOENT. */
int pairing_dir(const char *dir, char *out, size_t len, char *err, size_t errlen);

/* Open the pairing directory `dir` and load its clients. A directory that
 * is not there yet (the first --pair makes it) has none. 0, or a negative
 * errno with `err` naming the file and line. */
int pairing_open(struct pairing *p, const char *dir, char *err, size_t errlen);
void pairing_close(struct pairing *p);

/* Re-read DIR/clients (a reload). On error the old list stays. */
int pairing_reload(struct pairing *p, char *err, size_t errlen);

/* Is the certificate with this fingerprint (lowercase hex) paired? */
bool pairing_has(const struct pairing *p, const char *sha256_hex);

/* For the admin: make a code valid for ttl_s seconds, stored in DIR/codes.
 * 0, or a negative errno with `err`. */
int pairing_new_code(const char *dir, unsigned ttl_s, char code[IIOS_PAIR_CODE_LEN],
		     char *err, size_t errlen);

enum pairing_result {
	PAIRING_PAIRED,        /* the proof matched a code: client added */
	PAIRING_REFUSED,       /* no outstanding code matches it */
	PAIRING_THROTTLED,     /* too many attempts: try later */
	PAIRING_FAILED,        /* the files could not be read or written */
};

/*
 * A client's attempt: its proof over this connection's exporter value and
 * both fingerprints ("sha256:HEX"). On PAIRING_PAIRED the code is used up,
 * the client is in DIR/clients and in p, and server_proof holds the board's
 * answer. `why` says what happened, for the client and the log.
 */
enum pairing_result pairing_try(struct pairing *p, uint64_t now_ns,
				const uint8_t proof[IIOS_PAIR_PROOF_LEN],
				const uint8_t exporter[IIOS_PAIR_EXPORTER_LEN],
				const char *client_fp, const char *server_fp, const char *label,
				uint8_t server_proof[IIOS_PAIR_PROOF_LEN], char *why, size_t len);

#endif /* IIOSTREAMD_PAIRING_H */
