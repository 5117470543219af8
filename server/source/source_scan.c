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

#include "iio_dmabuf.h"
#include "iio_sysfs.h"

/* Has the device a buffer of this direction: a scan element in_*_en
 * (prefix "in_", capture), or out_*_en ("out_", a DAC's)? */
static bool has_buffer(const char *dir, const char *prefix)
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
		found = strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
			n > strlen(prefix) && strcmp(de->d_name + n - 3, "_en") == 0;
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

bool source_scan_dmabuf_probe(const char *dir, const char *entry, bool output, uint32_t *buffer)
{
	char node[PATH_MAX], sub[32], dirn[8];
	uint32_t i;
	int len = snprintf(node, sizeof(node), "/dev/%s", entry);

	if (len < 0 || (size_t)len >= sizeof(node))
		return false;
	for (i = 0; i < 16; i++) {
		snprintf(sub, sizeof(sub), "buffer%u/direction", i);
		if (iio_sysfs_read(dir, sub, dirn, sizeof(dirn)))
			break;
		if (strcmp(dirn, output ? "out" : "in") == 0 && iio_dmabuf_probe(node, i) == 0) {
			*buffer = i;
			return true;
		}
	}
	return false;
}

/* The spec of device `entry` (its sysfs dir `dir`) into spec, or false
 * when it is none of ours: an input buffer streams through its block node
 * (kernel:), a DMABUF buffer (dmabuf:) or its kfifo (readfd:); an output
 * buffer only through a block node or a DMABUF buffer (the iiod port
 * writes to a kfifo DAC itself). */
static bool spec_of(const char *dir, const char *entry, const char *keys, char *spec,
		    source_scan_dmabuf_fn probe)
{
	char blk[64];
	bool node = iio_sysfs_read(dir, "block_device", blk, sizeof(blk)) == 0;
	bool in = has_buffer(dir, "in_");
	uint32_t buffer;
	int len;

	if (!in && !has_buffer(dir, "out_"))
		return false;
	if (node)
		len = snprintf(spec, SOURCE_SPEC_MAX, "kernel:/dev/%s%s", blk, keys);
	else if (probe(dir, entry, !in, &buffer))
		len = snprintf(spec, SOURCE_SPEC_MAX, "dmabuf:%s,buffer=%u%s", entry, buffer, keys);
	else if (in)
		len = snprintf(spec, SOURCE_SPEC_MAX, "readfd:/dev/%s%s", entry, keys);
	else
		return false;
	/* a spec too long for the config is one the config refuses */
	return len > 0 && len < SOURCE_SPEC_MAX;
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
	return source_scan_with(root, keys, specs, max, source_scan_dmabuf_probe);
}

uint32_t source_scan_with(const char *root, const char *keys, char (*specs)[SOURCE_SPEC_MAX],
			  uint32_t max, source_scan_dmabuf_fn probe)
{
	struct dirent **entries;
	uint32_t found = 0;
	int i, n;

	n = scandir(root, &entries, NULL, NULL);
	if (n < 0)
		return 0;
	qsort(entries, (size_t)n, sizeof(*entries), by_number);
	for (i = 0; i < n; i++) {
		char dir[PATH_MAX];
		const char *entry = entries[i]->d_name;
		int len = snprintf(dir, sizeof(dir), "%s/%s", root, entry);

		if (len > 0 && (size_t)len < sizeof(dir) && found < max &&
		    device_number(entry) >= 0 && spec_of(dir, entry, keys, specs[found], probe))
			found++;
		free(entries[i]);
	}
	free(entries);
	return found;
}
