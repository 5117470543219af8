// SPDX-License-Identifier: MIT
/* libFuzzer target: the body of POST /api/v1/attributes (attr_body.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attr_body.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A field as promised: NUL-terminated inside its array, well-formed
 * UTF-8; a name without control characters (a value may hold them). */
static bool clean(const char *s, size_t cap, bool name)
{
	size_t n = strnlen(s, cap), i, k;

	if (n == cap)
		return false;
	for (i = 0; i < n; i += k) {
		k = utf8_seq_len((const unsigned char *)s + i, n - i);
		if (!k || (name && (unsigned char)s[i] < 0x20))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly its size, so ASan sees any read past it */
	uint8_t *copy = malloc(size ? size : 1);
	struct attr_body b;
	char why[160];

	memcpy(copy, data, size);
	if (attr_body_parse(copy, size, &b, why, sizeof(why)) == 0) {
		if (!b.device[0] || !b.attribute[0] || !clean(b.device, sizeof(b.device), true) ||
		    !clean(b.channel, sizeof(b.channel), true) ||
		    !clean(b.attribute, sizeof(b.attribute), true) ||
		    !clean(b.value, sizeof(b.value), false))
			__builtin_trap();
	} else if (!memchr(why, '\0', sizeof(why)) || !why[0] || strchr(why, '\n')) {
		__builtin_trap(); /* a refusal always says why, on one line */
	}
	free(copy);
	return 0;
}
