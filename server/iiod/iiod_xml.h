/* SPDX-License-Identifier: MIT */
/*
 * The context description an iiod client asks for with PRINT: libiio 0.24's
 * XML (with its DTD inline, which libiio validates against), written from
 * the same device description the iiostream protocol's Devices carries.
 *
 * libiio numbers a device's channels by their position in this XML, and the
 * channel masks of OPEN and READBUF are bit per number. So scan elements
 * come first, in ascending scan index (the order libiio itself sorts them
 * in), then the channels that cannot be streamed: bit k of a mask is the
 * scan element with the k-th lowest index.
 *
 * Attributes of each kind (device, buffer, debug, a channel's) are listed
 * in the description's order: libiio matches the values of a read of all
 * of them (READ without a name) to its list by position. Trigger devices
 * are devices like any other (ids "triggerN", a name, no channels), as in
 * libiio's own XML; which trigger a device uses is asked with GETTRIG.
 */
#ifndef IIOSTREAMD_IIOD_XML_H
#define IIOSTREAMD_IIOD_XML_H

#include <stddef.h>

#include "iiostream.pb-c.h"

/* The XML of `devs` as a NUL-terminated string (free() it), *len its
 * length; NULL if out of memory. `description` goes in the context's
 * description attribute. */
char *iiod_xml_context(const Iiostream__Devices *devs, const char *description, size_t *len);

/* The channels of `dev` in XML order (see above), as indices into
 * dev->channels; returns how many were written to order[max]. */
size_t iiod_xml_channel_order(const Iiostream__DeviceDesc *dev, size_t *order, size_t max);

#endif /* IIOSTREAMD_IIOD_XML_H */
