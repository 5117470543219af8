// SPDX-License-Identifier: MIT
/* libFuzzer target: the pattern verifiers, which read what the network
 * delivered (iios_verify_block on a block, iios_verify_scans on raw scans). */
#include <stdint.h>
#include <string.h>

#include "iiostream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t chans[] = { 0, 2, 3 };
	struct iios_stream_info info;
	struct iios_scan_check chk;
	struct iios_verify v;
	struct iios_block blk;
	uint32_t n;

	if (size < 4)
		return 0;
	n = data[0] % 4;
	memset(&info, 0, sizeof(info));
	info.scan_bytes = (uint32_t)(data[1] % 9) * 2;
	info.n_channels = data[2] % 5;
	for (uint32_t i = 0; i < info.n_channels; i++)
		info.channels[i].index = data[3] % 64 + i;
	memset(&blk, 0, sizeof(blk));
	blk.first_sample = data[3];
	blk.data = data + 4;
	blk.len = blk.bytes_used = size - 4;
	iios_verify_init(&v);
	(void)iios_verify_block(&v, &info, &blk);
	(void)iios_verify_scans(&chk, data + 4, size - 4, chans, n ? n : 1);
	return 0;
}
