// SPDX-License-Identifier: MIT
/* libFuzzer target: iiod's command-line parser, one line per "\n". */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "iiod_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What every parsed command promises the code that runs it. */
static bool well_formed(const struct iiod_cmd *cmd)
{
	if (cmd->op == IIOD_OP_OPEN && cmd->mask_words == 0)
		return false; /* a parsed OPEN always has a mask */
	if (cmd->op != IIOD_OP_READ && cmd->op != IIOD_OP_WRITE)
		return true;
	/* READ names its attribute or reads them all, WRITE always names it;
	 * a channel's always names the channel */
	if (cmd->all_attrs == (cmd->attr[0] != '\0'))
		return false;
	if (cmd->op == IIOD_OP_WRITE && cmd->all_attrs)
		return false;
	return cmd->kind != IIOD_ATTR_CHANNEL || cmd->channel[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		struct iiod_cmd cmd;
		char err[160];

		if (iiod_cmd_parse(p, len, &cmd, err, sizeof(err)) == 0 && !well_formed(&cmd))
			__builtin_trap();
		p += len + 1;
	}
	return 0;
}
