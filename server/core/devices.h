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

/*
 * Debug attributes and triggers (devices_debug.c). Only the kernel's
 * devices have them (libiio's local context: debugfs attributes such as
 * direct_reg_access, and trigger/current_trigger); a sim stream's device
 * has neither, and says so with -ENOENT. `device` is an id, name or label.
 */

/* Read one debug attribute into value[len] (its newline cut). 0, -ENODEV
 * (no such device), -ENOENT (no such debug attribute), or the errno of the
 * debugfs access. */
int devices_debug_attr_read(struct server *srv, const char *device, const char *attr,
			    char *value, size_t len);
/* Write one: the same errors. Not read back: a debug attribute's read may
 * be a register read, which the write did not ask for. */
int devices_debug_attr_write(struct server *srv, const char *device, const char *attr,
			     const char *value);

/* The trigger a device uses: 0 with its id in id[idlen] and its name in
 * name[namelen], both "" when none is assigned; -ENODEV (no such device),
 * -ENOENT (the device takes no trigger), -ENXIO (its trigger is not a
 * device of the context), or the errno of the sysfs access. */
int devices_trigger_get(struct server *srv, const char *device, char *id, size_t idlen,
			char *name, size_t namelen);
/* Make `trigger` (id, name or label; "": none) the device's trigger. 0,
 * -ENODEV (no such device), -ENOENT (no such trigger, or the device takes
 * none), -EINVAL (`trigger` is a device but not a trigger), or the errno
 * of the sysfs access. */
int devices_trigger_set(struct server *srv, const char *device, const char *trigger);

#endif /* IIOSTREAMD_DEVICES_H */
