// SPDX-License-Identifier: MIT
/* IIO sysfs helpers: see iio_sysfs.h. */
#include "iio_sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* A path into path[len]; -ENAMETOOLONG rather than a truncated path, which
 * would name another file. */
__attribute__((format(printf, 3, 4))) static int path_of(char *path, size_t len,
							  const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int iio_sysfs_read(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if (path_of(path, sizeof(path), "%s/%s", dir, name))
		return -ENAMETOOLONG;
	buf[0] = '\0'; /* defined on every path, failures too */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

int iio_sysfs_read_u64(const char *dir, const char *name, uint64_t *out)
{
	char buf[64], *end;
	int err = iio_sysfs_read(dir, name, buf, sizeof(buf));

	if (err)
		return err;
	errno = 0;
	*out = strtoull(buf, &end, 10);
	return errno || end == buf ? -EINVAL : 0;
}

int iio_sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		err = -errno;
	close(fd);
	return err;
}

int iio_sysfs_write_rate(const char *iio_dir, uint64_t rate, const char *who)
{
	char path[PATH_MAX + 32], val[32];
	int err;

	snprintf(path, sizeof(path), "%s/sampling_frequency", iio_dir);
	snprintf(val, sizeof(val), "%" PRIu64, rate);
	err = iio_sysfs_write(path, val);
	if (err)
		log_error("%s: writing %s to %s: %s", who, val, path, strerror(-err));
	return err;
}

bool iio_sysfs_exists(const char *dir, const char *name)
{
	char path[PATH_MAX];

	return path_of(path, sizeof(path), "%s/%s", dir, name) == 0 && access(path, F_OK) == 0;
}

/* "in" or "out": the prefix of a direction's scan elements. */
static const char *direction_prefix(bool output)
{
	return output ? "out" : "in";
}

/* The voltage channels' types in the directory of a buffer's scan elements
 * (scan_elements/, or bufferN/). */
static int voltage_types(const char *dir, bool output, struct iios_scan_type *types,
			 uint32_t *channels)
{
	const char *pre = direction_prefix(output);
	char type[64], attr[64];
	uint32_t c;

	for (c = 0; c < 64; c++) {
		snprintf(attr, sizeof(attr), "%s_voltage%u_type", pre, c);
		if (iio_sysfs_read(dir, attr, type, sizeof(type)))
			break;
		if (iios_scan_type_parse(type, &types[c])) {
			log_error("%s/%s is '%s', not an IIO scan type", dir, attr, type);
			return -EINVAL;
		}
	}
	if (c == 0) {
		log_error("%s has no %s_voltageN channels", dir, pre);
		return -ENODEV;
	}
	*channels = c;
	return 0;
}

int iio_sysfs_channel_types_of(const char *iio_dir, bool output, struct iios_scan_type *types,
			       uint32_t *channels)
{
	char dir[PATH_MAX];

	if (path_of(dir, sizeof(dir), "%s/scan_elements", iio_dir))
		return -ENAMETOOLONG;
	return voltage_types(dir, output, types, channels);
}

int iio_sysfs_channel_types(const char *iio_dir, struct iios_scan_type *types,
			    uint32_t *channels)
{
	return iio_sysfs_channel_types_of(iio_dir, false, types, channels);
}

bool iio_sysfs_is_output(const char *iio_dir)
{
	return iio_sysfs_exists(iio_dir, "scan_elements/out_voltage0_type") &&
	       !iio_sysfs_exists(iio_dir, "scan_elements/in_voltage0_type");
}

/* in_timestamp's type into *t: 1 if the device has it, 0 if not, -EINVAL
 * (logged) if it is no plain 64-bit value or its index is not above every
 * voltage channel's (scan indices 0..channels-1 here). */
static int timestamp_type(const char *dir, uint32_t channels, struct iios_scan_type *t)
{
	char type[64];
	uint64_t index;
	struct iios_scan_layout l;

	if (iio_sysfs_read(dir, "in_timestamp_type", type, sizeof(type)))
		return 0;
	iios_scan_layout_init(&l);
	if (iios_scan_type_parse(type, t) || iios_scan_layout_add(&l, t, 0, true)) {
		log_error("%s/in_timestamp_type is '%s', not IIO's 64-bit timestamp", dir, type);
		return -EINVAL;
	}
	if (iio_sysfs_read_u64(dir, "in_timestamp_index", &index) == 0 && index < channels) {
		log_error("%s/in_timestamp_index is %" PRIu64 ", among the %u voltage channels", dir,
			  index, channels);
		return -EINVAL;
	}
	return 1;
}

int iio_sysfs_elements_in(const char *elem_dir, bool output, struct iios_scan_type *types,
			  uint32_t *channels, int *timestamp_index)
{
	int err = voltage_types(elem_dir, output, types, channels);

	*timestamp_index = -1;
	if (err || output)
		return err;
	if (*channels >= IIOS_SCAN_MAX_ELEMENTS)
		return 0; /* no scan index left for it in a 64-bit mask */
	err = timestamp_type(elem_dir, *channels, &types[*channels]);
	if (err < 0)
		return err;
	if (err)
		*timestamp_index = (int)*channels;
	return 0;
}

int iio_sysfs_scan_elements(const char *iio_dir, struct iios_scan_type *types,
			    uint32_t *channels, int *timestamp_index)
{
	char dir[PATH_MAX];

	if (path_of(dir, sizeof(dir), "%s/scan_elements", iio_dir))
		return -ENAMETOOLONG;
	return iio_sysfs_elements_in(dir, false, types, channels, timestamp_index);
}

int iio_sysfs_enable_channels(const char *iio_dir, uint32_t n, uint64_t mask, int timestamp_index)
{
	return iio_sysfs_enable_channels_of(iio_dir, false, n, mask, timestamp_index);
}

int iio_sysfs_enable_elements_in(const char *elem_dir, bool output, uint32_t n, uint64_t mask,
				 int timestamp_index)
{
	const char *pre = direction_prefix(output);
	char path[PATH_MAX];
	uint32_t c;
	int err, first = 0;

	for (c = 0; c < n && c < 64; c++) {
		err = path_of(path, sizeof(path), "%s/%s_voltage%u_en", elem_dir, pre, c);
		if (!err)
			err = iio_sysfs_write(path, mask & (1ull << c) ? "1" : "0");
		if (err) {
			log_warn("cannot write %s: %s", path, strerror(-err));
			first = first ? first : err;
		}
	}
	if (timestamp_index >= 0 && timestamp_index < 64) {
		err = path_of(path, sizeof(path), "%s/in_timestamp_en", elem_dir);
		if (!err)
			err = iio_sysfs_write(path, mask & (1ull << timestamp_index) ? "1" : "0");
		if (err) {
			log_warn("cannot write %s: %s", path, strerror(-err));
			first = first ? first : err;
		}
	}
	return first;
}

int iio_sysfs_enable_channels_of(const char *iio_dir, bool output, uint32_t n, uint64_t mask,
				 int timestamp_index)
{
	char dir[PATH_MAX];

	if (path_of(dir, sizeof(dir), "%s/scan_elements", iio_dir))
		return -ENAMETOOLONG;
	return iio_sysfs_enable_elements_in(dir, output, n, mask, timestamp_index);
}

int iio_sysfs_find_by_name(const char *name, char *dir, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(IIO_SYSFS_ROOT);
	int err = -ENODEV;

	if (!d)
		return -ENODEV;
	while ((de = readdir(d)) != NULL) {
		char candidate[PATH_MAX], got[64];

		if (strncmp(de->d_name, "iio:device", 10) != 0)
			continue;
		if (path_of(candidate, sizeof(candidate), "%s/%s", IIO_SYSFS_ROOT, de->d_name))
			continue;
		if (iio_sysfs_read(candidate, "name", got, sizeof(got)) == 0 &&
		    strcmp(got, name) == 0) {
			err = path_of(dir, len, "%s", candidate);
			break;
		}
	}
	closedir(d);
	return err;
}
