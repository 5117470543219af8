/* SPDX-License-Identifier: MIT */
/*
 * Pairing codes and proofs: how a board admits a new client without a CA
 * (docs/security.md, "Pairing").
 *
 * The board's admin makes a one-time code (`iiostreamd --pair`): 12 symbols
 * of Crockford's base32 (60 random bits), shown as XXXX-XXXX-XXXX. The
 * client presents it over TLS (`iiostream pair`), not in clear but as a
 * proof: an HMAC keyed by the code over
 *   the role ("client" or "server"), the TLS connection's exporter value
 *   (RFC 8446 7.5, label IIOS_PAIR_EXPORTER_LABEL), the client's and the
 *   board's certificate fingerprints.
 * The board answers with the same HMAC for the role "server", which proves
 * to the client that it reached the board that made the code: so a client
 * that has never seen the board learns its fingerprint from the pairing.
 *
 * The exporter value binds a proof to one TLS connection: a proof relayed
 * or replayed into another connection (a man in the middle has two) does
 * not verify there. A man in the middle who captured a proof could still
 * try every code offline against it: 60 bits take a GPU years, and the code
 * expires in minutes and works once.
 */
#ifndef IIOSTREAM_PAIR_H
#define IIOSTREAM_PAIR_H

#include <stddef.h>
#include <stdint.h>

#define IIOS_PAIR_CODE_SYMBOLS 12         /* 60 bits */
#define IIOS_PAIR_CODE_LEN 16             /* "XXXX-XXXX-XXXX" + NUL */
#define IIOS_PAIR_KEY_LEN 32
#define IIOS_PAIR_PROOF_LEN 32            /* HMAC-SHA256 */
#define IIOS_PAIR_EXPORTER_LABEL "EXPORTER-iiostream-pair-v1"
#define IIOS_PAIR_EXPORTER_LEN 32

enum iios_pair_role { IIOS_PAIR_CLIENT, IIOS_PAIR_SERVER };

/* A new random code, "XXXX-XXXX-XXXX". 0, or -EIO if the RNG failed. */
int iios_pair_code_new(char out[IIOS_PAIR_CODE_LEN]);

/*
 * The key of a code as a user typed it: case, '-' and spaces ignored, and
 * Crockford's readings (O as 0; I and L as 1). 0, or -EINVAL when it is not
 * 12 symbols of the alphabet.
 */
int iios_pair_key(const char *code, uint8_t key[IIOS_PAIR_KEY_LEN]);

/* The proof of `role` (see above). Fingerprints are "sha256:HEX". 0 or -EIO. */
int iios_pair_proof(const uint8_t key[IIOS_PAIR_KEY_LEN], enum iios_pair_role role,
		    const uint8_t exporter[IIOS_PAIR_EXPORTER_LEN],
		    const char *client_fp, const char *server_fp,
		    uint8_t proof[IIOS_PAIR_PROOF_LEN]);

#endif /* IIOSTREAM_PAIR_H */
