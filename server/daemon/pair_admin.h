/* SPDX-License-Identifier: MIT */
/*
 * The admin's pairing commands (docs/security.md, "Pairing"), run on the
 * board beside the daemon, which they do not need to reach:
 *   iiostreamd --pair [--pair-ttl S]   make a one-time code and show it
 *   iiostreamd --paired                list the paired clients
 * Both return a process exit status (0, or 1 with a message on stderr).
 */
#ifndef IIOSTREAMD_PAIR_ADMIN_H
#define IIOSTREAMD_PAIR_ADMIN_H

/* pairing_dir / identity_dir: the options' values ("" for the defaults). */
int pair_admin_code(const char *pairing_dir, const char *identity_dir, unsigned ttl_s);
int pair_admin_list(const char *pairing_dir);

#endif /* IIOSTREAMD_PAIR_ADMIN_H */
