/* SPDX-License-Identifier: MIT */
/*
 * The IIO devices the daemon describes and whose attributes it reads and
 * writes for clients (DevicesRequest, AttrRead, AttrWrite).
 *
 * They come from libiio's local context of the target (the kernel's IIO
 * devices: the module's in the guest, an ADC's on a board), opened at
 * start-up, plus the sim source's own device when it is the one streamed.
 * The streamed device is marked; "" names it in attribute requests.
 */
#ifndef IIOSTREAMD_DEVICES_H
#define IIOSTREAMD_DEVICES_H

#include <stddef.h>

#include "iiostream.pb-c.h"

struct server;

/* Open libiio's local context (none on a machine without IIO: logged at
 * debug level, not an error). */
void devices_open(struct server *srv);
void devices_close(struct server *srv);

/* Fill *out (free with devices_describe_free). 0 or -ENOMEM. */
int devices_describe(struct server *srv, Iiostream__Devices *out);
void devices_describe_free(Iiostream__Devices *out);

/* Read or write one attribute; value[len] gets the value (after a write:
 * as the device took it). 0, or -ENODEV (no such device or channel),
 * -ENOENT (no such attribute), -EINVAL (a value it does not take, or one
 * with a NUL in it), or the errno of the sysfs access. */
int devices_attr_read(struct server *srv, const Iiostream__AttrRead *a, char *value, size_t len);
int devices_attr_write(struct server *srv, const Iiostream__AttrWrite *a, char *value,
		       size_t len);

#endif /* IIOSTREAMD_DEVICES_H */
