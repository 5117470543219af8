/* SPDX-License-Identifier: MIT */
/*
 * Small helpers for an IIO device's sysfs directory
 * (/sys/bus/iio/devices/iio:deviceN), shared by the kernel and readfd
 * sources. Every function returns 0 or a negative errno.
 */
#ifndef IIOSTREAMD_IIO_SYSFS_H
#define IIOSTREAMD_IIO_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iiostream/scan.h"

#define IIO_SYSFS_ROOT "/sys/bus/iio/devices"

/* dir/name into buf, without the trailing newline. */
int iio_sysfs_read(const char *dir, const char *name, char *buf, size_t len);
int iio_sysfs_read_u64(const char *dir, const char *name, uint64_t *out);
/* Write val to the file at path. */
int iio_sysfs_write(const char *path, const char *val);
bool iio_sysfs_exists(const char *dir, const char *name);
/* rate into iio_dir/sampling_frequency; an error is logged as
 * "WHO: writing RATE to PATH: REASON". */
int iio_sysfs_write_rate(const char *iio_dir, uint64_t rate, const char *who);

/* Count the in_voltageN channels (N < 64) and parse the IIO scan type of
 * each (scan_elements/in_voltageN_type) into types[N]; types holds 64.
 * -EINVAL for a type that does not parse, -ENODEV for no channel (both
 * logged, naming the file). */
int iio_sysfs_channel_types(const char *iio_dir, struct iios_scan_type *types,
			    uint32_t *channels);

/* The same for an output device's channels (output true:
 * scan_elements/out_voltageN_type), or an input device's (false). */
int iio_sysfs_channel_types_of(const char *iio_dir, bool output, struct iios_scan_type *types,
			       uint32_t *channels);

/* Is the device an output device (a DAC): out_voltage0 is a scan element
 * and in_voltage0 is not? */
bool iio_sysfs_is_output(const char *iio_dir);

/* The device's scan elements: iio_sysfs_channel_types(), and IIO's
 * timestamp channel when the device has one (scan_elements/in_timestamp_*):
 * its type at types[*channels] and *timestamp_index = *channels (its scan
 * index in the daemon's numbering, source_format's: after the voltage
 * channels, as IIO puts it), else -1. types holds 64; a device with 64
 * voltage channels has no room for it (not captured). -EINVAL (logged)
 * for a timestamp that is no plain 64-bit value or whose index is among
 * the voltage channels'. */
int iio_sysfs_scan_elements(const char *iio_dir, struct iios_scan_type *types,
			    uint32_t *channels, int *timestamp_index);

/* Enable the scan elements of mask, disable the others: in_voltageN for
 * N < n, in_timestamp for bit timestamp_index (-1: none); 0 or the first
 * write error (each is logged). */
int iio_sysfs_enable_channels(const char *iio_dir, uint32_t n, uint64_t mask,
			      int timestamp_index);
/* The same for an output device's out_voltageN_en (output true); an
 * output device has no timestamp (-1). */
int iio_sysfs_enable_channels_of(const char *iio_dir, bool output, uint32_t n, uint64_t mask,
				 int timestamp_index);

/* The same in the directory of one buffer's scan elements, elem_dir: the
 * legacy scan_elements/ of buffer0, or bufferN/ of a device with several
 * buffers (the mainline DMABUF buffers are such). An output buffer
 * (output true) has no timestamp (*timestamp_index -1). */
int iio_sysfs_elements_in(const char *elem_dir, bool output, struct iios_scan_type *types,
			  uint32_t *channels, int *timestamp_index);
int iio_sysfs_enable_elements_in(const char *elem_dir, bool output, uint32_t n, uint64_t mask,
				 int timestamp_index);

/* The directory of the IIO device called `name` into dir; -ENODEV if none. */
int iio_sysfs_find_by_name(const char *name, char *dir, size_t len);

#endif /* IIOSTREAMD_IIO_SYSFS_H */
