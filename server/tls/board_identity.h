/* SPDX-License-Identifier: MIT */
/*
 * The board's own identity: the key and self-signed certificate iiostreamd
 * presents on its TLS port when no --tls-cert/--tls-key are given
 * (common/identity.h makes and checks them). Clients pin its fingerprint
 * (trust on first use), so nothing about it needs a CA.
 *
 * Where it lives, the first of:
 *   --identity DIR
 *   $STATE_DIRECTORY/identity          (systemd's StateDirectory=iiostream:
 *                                        /var/lib/iiostream/identity)
 *   /var/lib/iiostream/identity        (root: the same place, for the
 *                                        admin's commands beside the service)
 *   $XDG_STATE_HOME/iiostream/identity
 *   $HOME/.local/state/iiostream/identity
 * It is made there the first time it is needed: CN = the host name, DNS
 * names the host name and HOST.local (mDNS).
 */
#ifndef IIOSTREAMD_BOARD_IDENTITY_H
#define IIOSTREAMD_BOARD_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include <iiostream/identity.h>

/* The directory to use: `dir` when not "", else the default above. 0, or
 * -ENOENT with `err` saying no default could be found (no STATE_DIRECTORY,
 * XDG_STATE_HOME or HOME). */
int board_identity_dir(const char *dir, char *out, size_t len, char *err, size_t errlen);

/*
 * Open the identity in board_identity_dir(dir), creating it when `create`
 * and it is not there. Without `create` a missing identity is not an error:
 * 1 is returned and id->dir names where it would be made (--check-config
 * makes nothing). 0 when opened (id->created says whether just now), or a
 * negative errno with `err` saying what to do (iios_identity_open()'s:
 * "chmod 600 DIR/key.pem", half an identity, ...).
 */
int board_identity_open(const char *dir, bool create, struct iios_identity *id, char *err,
			size_t errlen);

#endif /* IIOSTREAMD_BOARD_IDENTITY_H */
