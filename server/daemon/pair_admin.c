// SPDX-License-Identifier: MIT
/* The admin's pairing commands: see pair_admin.h. */
#include "pair_admin.h"

#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "board_identity.h"
#include "pairing.h"

int pair_admin_code(const char *pairing_dir_opt, const char *identity_dir, unsigned ttl_s)
{
	char dir[PATH_MAX], err[512], code[IIOS_PAIR_CODE_LEN], host[256] = "BOARD";
	struct iios_identity id;
	int r;

	if (pairing_dir(pairing_dir_opt, dir, sizeof(dir), err, sizeof(err)) < 0 ||
	    pairing_new_code(dir, ttl_s, code, err, sizeof(err)) < 0) {
		fprintf(stderr, "iiostreamd: --pair: %s\n", err);
		return 1;
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "BOARD");
	host[sizeof(host) - 1] = '\0';
	printf("Pairing code: %s   (admits one client, once, within %u s)\n", code, ttl_s);
	printf("On the PC:    iiostream pair --url tls://%s %s\n", host, code);
	/* The client learns the board's fingerprint from the pairing; showing
	 * it lets a careful user compare. */
	r = board_identity_open(identity_dir, false, &id, err, sizeof(err));
	if (r == 0)
		printf("This board:   %s\n", id.fingerprint);
	else if (r == 1)
		printf("This board:   no identity yet (%s): the daemon makes it when it starts\n", id.dir);
	else
		fprintf(stderr, "iiostreamd: the board's identity: %s\n", err);
	return 0;
}

int pair_admin_list(const char *pairing_dir_opt)
{
	char dir[PATH_MAX], err[512];
	struct pairing p;
	unsigned i;

	if (pairing_dir(pairing_dir_opt, dir, sizeof(dir), err, sizeof(err)) < 0 ||
	    pairing_open(&p, dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "iiostreamd: --paired: %s\n", err);
		return 1;
	}
	for (i = 0; i < p.n_clients; i++)
		printf("sha256:%s %s\n", p.clients[i].sha256, p.clients[i].label);
	fprintf(stderr, "%u paired client%s in %s/clients (delete a line and reload the daemon "
		"to unpair)\n", p.n_clients, p.n_clients == 1 ? "" : "s", dir);
	pairing_close(&p);
	return 0;
}
