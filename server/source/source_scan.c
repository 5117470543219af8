// SPDX-License-Identifier: MIT
/* `--source auto`: the board's streamable devices, from sysfs. See
 * source_scan.h. */
/* 64-bit directory offsets on 32-bit systems too: readdir() of a 32-bit
 * build without it fails with EOVERFLOW on a filesystem whose offsets are
 * 64-bit hashes (a 32-bit process on a 64-bit kernel: qemu-user's armhf
 * tests, a board's compat userland). Nothing of this file's ABI uses off_t. */
#define _FILE_OFFSET_BITS 64

#include "source_scan.h"

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iio_sysfs.h"

/* Has the device an input buffer: a scan element in_*_en? (An output
 * buffer's are out_*_en: a DAC's, not ours to capture.) */
static bool has_input_buffer(const char *dir)
{
	char scan_dir[PATH_MAX];
	struct dirent *de;
	bool found = false;
	DIR *d;
	size_t n;
	int len = snprintf(scan_dir, sizeof(scan_dir), "%s/scan_elements", dir);

	if (len < 0 || (size_t)len >= sizeof(scan_dir))
		return false;
	d = opendir(scan_dir);
	if (!d)
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		found = strncmp(de->d_name, "in_", 3) == 0 && n > 3 &&
			strcmp(de->d_name + n - 3, "_en") == 0;
	}
	closedir(d);
	return found;
}

/* "iio:device12" -> 12; -1 for any other entry. */
static long device_number(const char *entry)
{
	char *end;
	long n;

	if (strncmp(entry, "iio:device", 10) != 0 || !entry[10])
		return -1;
	n = strtol(entry + 10, &end, 10);
	return *end || n < 0 ? -1 : n;
}

static int by_number(const void *a, const void *b)
{
	const struct dirent *const *da = a, *const *db = b;
	long x = device_number((*da)->d_name), y = device_number((*db)->d_name);

	return (x > y) - (x < y);
}

uint32_t source_scan(const char *root, const char *keys, char (*specs)[SOURCE_SPEC_MAX],
		     uint32_t max)
{
	struct dirent **entries;
	uint32_t found = 0;
	int i, n;

	n = scandir(root, &entries, NULL, NULL);
	if (n < 0)
		return 0;
	qsort(entries, (size_t)n, sizeof(*entries), by_number);
	for (i = 0; i < n; i++) {
		char dir[PATH_MAX], blk[64];
		const char *entry = entries[i]->d_name;
		int len = snprintf(dir, sizeof(dir), "%s/%s", root, entry);

		if (len > 0 && (size_t)len < sizeof(dir) && found < max &&
		    device_number(entry) >= 0 && has_input_buffer(dir)) {
			if (iio_sysfs_read(dir, "block_device", blk, sizeof(blk)) == 0)
				len = snprintf(specs[found], SOURCE_SPEC_MAX, "kernel:/dev/%s%s", blk,
					       keys);
			else
				len = snprintf(specs[found], SOURCE_SPEC_MAX, "readfd:/dev/%s%s",
					       entry, keys);
			/* a spec too long for the config is one the config refuses */
			if (len > 0 && len < SOURCE_SPEC_MAX)
				found++;
		}
		free(entries[i]);
	}
	free(entries);
	return found;
}
