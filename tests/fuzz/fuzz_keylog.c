// SPDX-License-Identifier: MIT
/* libFuzzer target: the TLS key-log line parser (its input comes from
 * OpenSSL, but a wrong length or hex would be a key confusion). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iiostream/tls13.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	uint8_t secret[64];
	size_t n;

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	n = iios_tls13_keylog_secret(line, "SERVER_TRAFFIC_SECRET_0", secret);
	if (n > 64)
		__builtin_trap();
	free(line);
	return 0;
}
