// SPDX-License-Identifier: MIT
/*
 * Debug attributes and triggers (devices.h): the kernel's devices answer
 * through libiio's local context (devices_iio.c); any other device a
 * request may name is a sim stream's, which has neither (-ENOENT, as iiod
 * answers for a kernel device without them), and a name that is no device
 * at all is -ENODEV.
 */
#include "devices.h"

#include <errno.h>

#include "devices_internal.h"

/* Is `device` one at all (a sim stream's, when libiio's context does not
 * know it)? The one call into devices.c's routing: an attribute no device
 * has is -ENOENT for a device it knows, -ENODEV for a name it does not. */
static int not_in_context(struct server *srv, const char *device)
{
	Iiostream__AttrRead probe = IIOSTREAM__ATTR_READ__INIT;
	char scratch[64];

	probe.device = (char *)device;
	probe.channel = (char *)"";
	probe.attr = (char *)"";
	return devices_attr_read(srv, &probe, scratch, sizeof(scratch)) == -ENODEV ? -ENODEV
										   : -ENOENT;
}

int devices_debug_attr_read(struct server *srv, const char *device, const char *attr,
			    char *value, size_t len)
{
	int err = devices_iio_debug_attr(srv, device, attr, NULL, value, len);

	return err == -ENODEV ? not_in_context(srv, device) : err;
}

int devices_debug_attr_write(struct server *srv, const char *device, const char *attr,
			     const char *value)
{
	char unused[1];
	int err = devices_iio_debug_attr(srv, device, attr, value, unused, sizeof(unused));

	return err == -ENODEV ? not_in_context(srv, device) : err;
}

int devices_trigger_get(struct server *srv, const char *device, char *id, size_t idlen,
			char *name, size_t namelen)
{
	int err = devices_iio_trigger_get(srv, device, id, idlen, name, namelen);

	return err == -ENODEV ? not_in_context(srv, device) : err;
}

int devices_trigger_set(struct server *srv, const char *device, const char *trigger)
{
	int err = devices_iio_trigger_set(srv, device, trigger);

	return err == -ENODEV ? not_in_context(srv, device) : err;
}
