// SPDX-License-Identifier: MIT
/* The kernel's IIO devices, through libiio's local context: opening it,
 * describing its devices, reading and writing their attributes, debug
 * attributes and triggers (devices.h). */
#include "devices_internal.h"

#include <errno.h>
#include <iio.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"

void devices_open(struct server *srv)
{
	srv->iio = iio_create_local_context();
	if (!srv->iio)
		log_debug("libiio local context: %s (no IIO devices to describe)", strerror(errno));
	else
		log_info("libiio local context: %u IIO devices",
			 iio_context_get_devices_count(srv->iio));
}

void devices_close(struct server *srv)
{
	if (srv->iio)
		iio_context_destroy(srv->iio);
	srv->iio = NULL;
}

/* The channel type from its id: "voltage0" -> "voltage", "accel_x" -> "accel". */
static char *channel_type(const char *id)
{
	size_t n = strcspn(id, "0123456789_");

	return strndup(id, n ? n : strlen(id));
}

static Iiostream__ChannelDesc *iio_channel_desc(const struct iio_channel *ch)
{
	Iiostream__ChannelDesc *c = calloc(1, sizeof(*c));
	unsigned int i, n = iio_channel_get_attrs_count(ch);
	const char *name = iio_channel_get_name(ch);

	if (!c)
		return NULL;
	iiostream__channel_desc__init(c);
	c->id = strdup(iio_channel_get_id(ch));
	c->name = strdup(name ? name : "");
	c->type = channel_type(iio_channel_get_id(ch));
	c->output = iio_channel_is_output(ch);
	c->scan_element = iio_channel_is_scan_element(ch);
	c->index = c->scan_element ? (int32_t)iio_channel_get_index(ch) : -1;
	if (c->scan_element) {
		const struct iio_data_format *df = iio_channel_get_data_format(ch);
		Iiostream__ScanFormat *f = calloc(1, sizeof(*f));

		if (f) {
			iiostream__scan_format__init(f);
			f->is_signed = df->is_signed;
			f->bits = df->bits;
			f->storage_bits = df->length;
			f->shift = df->shift;
			f->big_endian = df->is_be;
			c->format = f;
		}
	}
	c->attrs = calloc(n ? n : 1, sizeof(*c->attrs));
	c->attr_filenames = calloc(n ? n : 1, sizeof(*c->attr_filenames));
	for (i = 0; c->attrs && c->attr_filenames && i < n; i++) {
		const char *attr = iio_channel_get_attr(ch, i);
		const char *file = iio_channel_attr_get_filename(ch, attr);

		c->attrs[c->n_attrs++] = strdup(attr);
		c->attr_filenames[c->n_attr_filenames++] = strdup(file ? file : attr);
	}
	return c;
}

/* Its debug attributes (debugfs, readable by root only: none otherwise),
 * whether it is a trigger, and which trigger it uses. */
static void iio_debug_and_trigger_desc(Iiostream__DeviceDesc *d, const struct iio_device *dev)
{
	unsigned int i, n = iio_device_get_debug_attrs_count(dev);
	const struct iio_device *trig = NULL;

	d->is_trigger = iio_device_is_trigger(dev);
	/* -ENOENT for a device that takes no trigger: it has none */
	if (iio_device_get_trigger(dev, &trig) == 0 && trig) {
		char *id = strdup(iio_device_get_id(trig));

		if (id)
			d->trigger = id;
	}
	d->debug_attrs = calloc(n ? n : 1, sizeof(*d->debug_attrs));
	for (i = 0; d->debug_attrs && i < n; i++) {
		char *name = strdup(iio_device_get_debug_attr(dev, i));

		if (name)
			d->debug_attrs[d->n_debug_attrs++] = name;
	}
}

Iiostream__DeviceDesc *devices_iio_desc(const struct server *srv, const struct iio_device *dev)
{
	Iiostream__DeviceDesc *d = calloc(1, sizeof(*d));
	unsigned int i, nch = iio_device_get_channels_count(dev);
	unsigned int na = iio_device_get_attrs_count(dev);
	unsigned int nb = iio_device_get_buffer_attrs_count(dev);
	const char *name = iio_device_get_name(dev), *label = iio_device_get_label(dev);

	if (!d)
		return NULL;
	iiostream__device_desc__init(d);
	d->id = strdup(iio_device_get_id(dev));
	d->name = strdup(name ? name : "");
	d->label = strdup(label ? label : "");
	/* the kernel and readfd sources stream a device of this context */
	{
		/* by id: two devices of a board may share a name */
		const struct device_stream *ds = server_find_stream(srv, iio_device_get_id(dev));

		d->streamed = ds && !ds->src->ops->attr_read;
		d->stream_id = d->streamed ? ds->id : 0;
	}
	d->channels = calloc(nch ? nch : 1, sizeof(*d->channels));
	d->attrs = calloc(na ? na : 1, sizeof(*d->attrs));
	d->buffer_attrs = calloc(nb ? nb : 1, sizeof(*d->buffer_attrs));
	if (!d->channels || !d->attrs || !d->buffer_attrs)
		return d;
	for (i = 0; i < nch; i++) {
		d->channels[d->n_channels] = iio_channel_desc(iio_device_get_channel(dev, i));
		if (d->channels[d->n_channels])
			d->n_channels++;
	}
	for (i = 0; i < na; i++)
		d->attrs[d->n_attrs++] = strdup(iio_device_get_attr(dev, i));
	for (i = 0; i < nb; i++)
		d->buffer_attrs[d->n_buffer_attrs++] = strdup(iio_device_get_buffer_attr(dev, i));
	iio_debug_and_trigger_desc(d, dev);
	return d;
}

/* The libiio device a request names ("" = the streamed one). */
static struct iio_device *find_device(struct server *srv, const char *device)
{
	if (!srv->iio)
		return NULL;
	return iio_context_find_device(srv->iio,
				       device[0] ? device : server_first_stream(srv)->device_id);
}

/* Read (value NULL: write `wvalue`) one attribute through libiio. */
int devices_iio_attr(struct server *srv, const char *device, const char *channel, bool output,
		    bool buffer, const char *attr, const char *wvalue, char *value, size_t len)
{
	struct iio_device *dev = find_device(srv, device);
	struct iio_channel *ch = NULL;
	const char *found;
	ssize_t r = 0;

	if (!dev)
		return -ENODEV;
	if (channel[0]) {
		ch = iio_device_find_channel(dev, channel, output);
		if (!ch)
			return -ENODEV;
		found = iio_channel_find_attr(ch, attr);
	} else if (buffer) {
		found = iio_device_find_buffer_attr(dev, attr);
	} else {
		found = iio_device_find_attr(dev, attr);
	}
	if (!found)
		return -ENOENT;
	if (wvalue) {
		r = ch ? iio_channel_attr_write(ch, found, wvalue)
		       : buffer ? iio_device_buffer_attr_write(dev, found, wvalue)
				: iio_device_attr_write(dev, found, wvalue);
		if (r < 0)
			return (int)r;
	}
	r = ch ? iio_channel_attr_read(ch, found, value, len)
	       : buffer ? iio_device_buffer_attr_read(dev, found, value, len)
			: iio_device_attr_read(dev, found, value, len);
	if (r < 0)
		return (int)r;
	/* sysfs values end in a newline */
	value[strcspn(value, "\n")] = '\0';
	return 0;
}


int devices_iio_debug_attr(struct server *srv, const char *device, const char *attr,
			   const char *wvalue, char *value, size_t len)
{
	struct iio_device *dev = find_device(srv, device);
	const char *found;
	ssize_t r;

	if (!dev)
		return -ENODEV;
	found = iio_device_find_debug_attr(dev, attr);
	if (!found)
		return -ENOENT;
	if (wvalue) {
		r = iio_device_debug_attr_write(dev, found, wvalue);
		return r < 0 ? (int)r : 0;
	}
	r = iio_device_debug_attr_read(dev, found, value, len);
	if (r < 0)
		return (int)r;
	value[strcspn(value, "\n")] = '\0';
	return 0;
}

/* libiio reads trigger/current_trigger: -ENOENT where the device has no
 * such file (it takes no trigger), NULL when it is empty. */
int devices_iio_trigger_get(struct server *srv, const char *device, char *id, size_t idlen,
			    char *name, size_t namelen)
{
	struct iio_device *dev = find_device(srv, device);
	const struct iio_device *trig = NULL;
	const char *trig_name;
	int r;

	if (!dev)
		return -ENODEV;
	r = iio_device_get_trigger(dev, &trig);
	if (r < 0)
		return r;
	trig_name = trig ? iio_device_get_name(trig) : NULL;
	snprintf(id, idlen, "%s", trig ? iio_device_get_id(trig) : "");
	snprintf(name, namelen, "%s", trig_name ? trig_name : "");
	return 0;
}

/* libiio writes the trigger's name to trigger/current_trigger ("" to
 * unset), after checking that it is a trigger (-EINVAL). */
int devices_iio_trigger_set(struct server *srv, const char *device, const char *trigger)
{
	struct iio_device *dev = find_device(srv, device), *trig = NULL;

	if (!dev)
		return -ENODEV;
	if (trigger[0]) {
		trig = iio_context_find_device(srv->iio, trigger);
		if (!trig)
			return -ENOENT;
	}
	return iio_device_set_trigger(dev, trig);
}
