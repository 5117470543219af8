// SPDX-License-Identifier: MIT
/* libFuzzer target: iiod's command-line parser, one line per "\n". */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "iiod_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		struct iiod_cmd cmd;
		char err[160];

		if (iiod_cmd_parse(p, len, &cmd, err, sizeof(err)) == 0 &&
		    cmd.op == IIOD_OP_OPEN && cmd.mask_words == 0)
			__builtin_trap(); /* a parsed OPEN always has a mask */
		p += len + 1;
	}
	return 0;
}
