// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the frame reader, as both ends run it on bytes from the
 * network. Frames are parsed one after another from the input, with the
 * daemon's envelope limit; a BlockHeader is checked against a stream limit
 * and its payload skipped, as the client does.
 */
#include <stddef.h>
#include <stdint.h>

#include "iiostream/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		Iiostream__Envelope *env = NULL;
		long n = iios_frame_parse(data + off, size - off, IIOS_FRAME_MAX_ENVELOPE, &env);

		if (n <= 0)
			break;
		off += (size_t)n;
		(void)iios_frame_msg_name(env);
		if (env->msg_case == IIOSTREAM__ENVELOPE__MSG_BLOCK) {
			const Iiostream__BlockHeader *b = env->block;

			if (iios_frame_check_block(b, 65536) != 0 || b->payload_len > size - off) {
				iios_frame_free(env);
				break;
			}
			off += b->payload_len;
		}
		iios_frame_free(env);
	}
	return 0;
}
