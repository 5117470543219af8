// SPDX-License-Identifier: MIT
/* libFuzzer target: the config file parser (--config FILE), fed through a
 * memfd so the real file-reading path runs. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64], err[512];
	struct config cfg;

	if (fd < 0) {
		fd = memfd_create("fuzz-config", 0);
		log_threshold = LOG_ERROR;
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_defaults(&cfg);
	(void)config_parse_args(&cfg, 3, (char *[]){ "iiostreamd", "--config", path, NULL }, err,
				sizeof(err));
	return 0;
}
