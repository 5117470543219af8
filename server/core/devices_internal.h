/* SPDX-License-Identifier: MIT */
/*
 * Between devices.c (what a request names: a sim stream's device or a
 * kernel one) and devices_iio.c (the kernel's devices, through libiio's
 * local context).
 */
#ifndef IIOSTREAMD_DEVICES_INTERNAL_H
#define IIOSTREAMD_DEVICES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "devices.h"

struct iio_device;
struct device_stream;

/* The sim stream whose device a request names ("": the first stream, if a
 * sim), which describes its device itself; NULL for any other. */
struct device_stream *devices_sim_stream(const struct server *srv, const char *device);

/* The sim DAC a request names by its id or name ("" never: that is the
 * streamed ADC); NULL for any other. */
struct output_stream *devices_sim_output(const struct server *srv, const char *device);

/* The description of one device of the local context (NULL: no memory). */
Iiostream__DeviceDesc *devices_iio_desc(const struct server *srv, const struct iio_device *dev);

/* Read one attribute of a device of the local context into value[len];
 * with wvalue, write it first. `device` "" is the first streamed device.
 * 0, -ENODEV (no such device or channel), -ENOENT (no such attribute), or
 * the errno of the sysfs access. */
int devices_iio_attr(struct server *srv, const char *device, const char *channel, bool output,
		     bool buffer, const char *attr, const char *wvalue, char *value, size_t len);

/* The debug attributes and the trigger of a device of the local context,
 * for devices_debug.c: as devices.h says, and -ENODEV whenever the context
 * has no such device (it may still be a sim stream's). devices_iio_desc()
 * fills DeviceDesc's debug_attrs (heap strings and array, as attrs) and,
 * when one is assigned, trigger (a heap string; else the empty default):
 * devices_describe_free() frees them with the rest. */
int devices_iio_debug_attr(struct server *srv, const char *device, const char *attr,
			   const char *wvalue, char *value, size_t len);
int devices_iio_trigger_get(struct server *srv, const char *device, char *id, size_t idlen,
			    char *name, size_t namelen);
int devices_iio_trigger_set(struct server *srv, const char *device, const char *trigger);

#endif /* IIOSTREAMD_DEVICES_INTERNAL_H */
