// SPDX-License-Identifier: MIT
/*
 * make-test-certs DIR: the test certificates of tests/integration/certs.h
 * (a CA, server certificates good, wrongly named and expired, client
 * certificates good, foreign and expired) as PEM files in DIR, for the
 * qemu guest's kTLS test and the TLS benchmark. Prints the paths.
 */
#include <stdio.h>

#include "certs.h"

int main(int argc, char **argv)
{
	struct test_certs c;

	if (argc != 2) {
		fprintf(stderr, "usage: make-test-certs DIR\n");
		return 2;
	}
	if (test_certs_make(argv[1], &c) != 0)
		return 1;
	printf("ca %s\nserver %s %s\nclient %s %s\nclient_fp %s\n", c.ca, c.server_cert,
	       c.server_key, c.client_cert, c.client_key, c.client_fp);
	return 0;
}
