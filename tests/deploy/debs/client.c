/* SPDX-License-Identifier: MIT */
/* A program built against the installed libiiostream-dev (tests/deploy/debs.sh):
 * client URL BLOCKS receives BLOCKS blocks and verifies them. */
#include <iiostream.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	struct iios_client *c;
	struct iios_stream_info info;
	struct iios_block blk;
	struct iios_verify v;
	char err[256];
	int n, i, rc;

	if (argc != 3)
		return 2;
	n = atoi(argv[2]);
	if (iios_connect(argv[1], NULL, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "connect: %s\n", err);
		return 1;
	}
	if ((rc = iios_subscribe(c, 0, &info)) < 0) {
		fprintf(stderr, "subscribe: %s\n", iios_errmsg(c));
		return 1;
	}
	iios_verify_init(&v);
	for (i = 0; i < n; i++) {
		if ((rc = iios_next_block(c, &blk)) < 0) {
			fprintf(stderr, "next_block: %s\n", iios_errmsg(c));
			return 1;
		}
		iios_verify_block(&v, &info, &blk);
	}
	iios_close(c);
	printf("blocks %llu integrity_errors %llu\n", (unsigned long long)v.blocks,
	       (unsigned long long)v.integrity_errors);
	return v.integrity_errors == 0 && v.blocks == (unsigned long long)n ? 0 : 1;
}
