// SPDX-License-Identifier: MIT
/* IIO devices through libiio's local context, and the sim's: see devices.h. */
#include "devices.h"

#include <errno.h>
#include <iio.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices_internal.h"
#include "log.h"
#include "server.h"

struct device_stream *devices_sim_stream(const struct server *srv, const char *device)
{
	struct device_stream *ds = server_find_stream(srv, device);

	return ds && ds->src->ops->attr_read ? ds : NULL;
}

/* A sim device's scan element: its id, scan index, format (copied) and
 * direction. NULL when out of memory. */
static Iiostream__ChannelDesc *sim_channel_desc(const char *id, uint32_t index,
						const Iiostream__ScanFormat *format, bool output)
{
	Iiostream__ChannelDesc *c = calloc(1, sizeof(*c));
	Iiostream__ScanFormat *f = malloc(sizeof(*f));

	if (!c || !f) {
		free(c);
		free(f);
		return NULL;
	}
	iiostream__channel_desc__init(c);
	*f = *format;
	c->id = strdup(id);
	c->name = strdup("");
	c->type = strdup(f->timestamp ? "timestamp" : "voltage");
	c->output = output;
	c->scan_element = true;
	c->index = (int32_t)index;
	c->format = f;
	return c;
}

/* Scan element i of a sim stream's device (a voltage, or its timestamp). */
static Iiostream__ChannelDesc *sim_channel(const struct device_stream *ds, uint32_t i)
{
	Iiostream__ScanFormat f;
	char id[32];

	device_stream_channel(ds, i, id, sizeof(id), &f);
	return sim_channel_desc(id, i, &f, false);
}

/* A sim stream's own device: its channels and its one attribute. */
static Iiostream__DeviceDesc *sim_desc(const struct device_stream *ds)
{
	Iiostream__DeviceDesc *d = calloc(1, sizeof(*d));
	uint32_t i;

	if (!d)
		return NULL;
	iiostream__device_desc__init(d);
	d->id = strdup(ds->device_id);
	d->name = strdup(ds->fmt.device);
	d->label = strdup("");
	d->streamed = true;
	d->stream_id = ds->id;
	d->channels = calloc(device_stream_elements(ds), sizeof(*d->channels));
	d->attrs = calloc(1, sizeof(*d->attrs));
	if (!d->channels || !d->attrs)
		return d; /* devices_describe_free takes what there is */
	for (i = 0; i < device_stream_elements(ds); i++) {
		d->channels[i] = sim_channel(ds, i);
		if (!d->channels[i])
			return d;
		d->n_channels++;
	}
	d->attrs[0] = strdup("sampling_frequency");
	d->n_attrs = 1;
	return d;
}

struct output_stream *devices_sim_output(const struct server *srv, const char *device)
{
	struct output_stream *os = device[0] ? server_find_output(srv, device) : NULL;

	return os && !os->fmt.iio_id && os->src->ops->attr_read ? os : NULL;
}

/* A sim DAC: output channels voltage0.. (IIO's out_voltageN), le:s16/16,
 * and its attributes (source_sim_dac.c). */
static Iiostream__DeviceDesc *sim_output_desc(const struct output_stream *os)
{
	static const char *const attrs[] = { "sampling_frequency", "loopback", "underflows",
					     "underflow_samples", "loopback_missed" };
	Iiostream__DeviceDesc *d = calloc(1, sizeof(*d));
	uint32_t i, n = os->fmt.device_channels;

	if (!d)
		return NULL;
	iiostream__device_desc__init(d);
	d->id = strdup(os->device_id);
	d->name = strdup(os->fmt.device);
	d->label = strdup("");
	d->streamed = true;
	d->stream_id = os->id;
	d->channels = calloc(n, sizeof(*d->channels));
	d->attrs = calloc(sizeof(attrs) / sizeof(attrs[0]), sizeof(*d->attrs));
	if (!d->channels || !d->attrs)
		return d; /* devices_describe_free takes what there is */
	for (i = 0; i < n && i < IIOS_SCAN_MAX_ELEMENTS; i++) {
		Iiostream__ScanFormat f;
		char id[32];

		snprintf(id, sizeof(id), "voltage%u", i);
		scan_format_describe(&os->fmt.type[i], false, &f);
		d->channels[d->n_channels] = sim_channel_desc(id, i, &f, true);
		if (!d->channels[d->n_channels])
			return d;
		d->n_channels++;
	}
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		d->attrs[d->n_attrs++] = strdup(attrs[i]);
	return d;
}

int devices_describe(struct server *srv, Iiostream__Devices *out)
{
	unsigned int i, n = srv->iio ? iio_context_get_devices_count(srv->iio) : 0;
	bool sim = false;

	iiostream__devices__init(out);
	out->devices = calloc(n + srv->nstreams + srv->noutputs, sizeof(*out->devices));
	if (!out->devices)
		return -ENOMEM;
	/* the sim streams' devices first, in stream order, then their DACs */
	for (i = 0; i < srv->nstreams; i++) {
		if (!srv->streams[i].src->ops->attr_read)
			continue;
		sim = true;
		out->devices[out->n_devices] = sim_desc(&srv->streams[i]);
		if (out->devices[out->n_devices])
			out->n_devices++;
	}
	for (i = 0; i < srv->noutputs; i++) {
		if (!devices_sim_output(srv, srv->outputs[i].device_id))
			continue;
		out->devices[out->n_devices] = sim_output_desc(&srv->outputs[i]);
		if (out->devices[out->n_devices])
			out->n_devices++;
	}
	for (i = 0; i < n; i++) {
		Iiostream__DeviceDesc *d = devices_iio_desc(srv, iio_context_get_device(srv->iio, i));

		if (d)
			out->devices[out->n_devices++] = d;
	}
	out->context = sim && n ? "local+sim" : sim ? "sim" : "local";
	return 0;
}

static void free_strings(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void devices_describe_free(Iiostream__Devices *out)
{
	size_t i, j;

	for (i = 0; i < out->n_devices; i++) {
		Iiostream__DeviceDesc *d = out->devices[i];

		for (j = 0; j < d->n_channels; j++) {
			Iiostream__ChannelDesc *c = d->channels[j];

			free(c->id);
			free(c->name);
			free(c->type);
			free(c->format);
			free_strings(c->attrs, c->n_attrs);
			free_strings(c->attr_filenames, c->n_attr_filenames);
			free(c);
		}
		free(d->channels);
		free(d->id);
		free(d->name);
		free(d->label);
		free_strings(d->attrs, d->n_attrs);
		free_strings(d->buffer_attrs, d->n_buffer_attrs);
		free_strings(d->debug_attrs, d->n_debug_attrs);
		if (d->trigger != protobuf_c_empty_string)
			free(d->trigger);
		free(d);
	}
	free(out->devices);
	out->devices = NULL;
	out->n_devices = 0;
}

int devices_attr_read(struct server *srv, const Iiostream__AttrRead *a, char *value, size_t len)
{
	struct device_stream *ds = devices_sim_stream(srv, a->device);
	struct output_stream *os = devices_sim_output(srv, a->device);

	if (os) {
		if (a->buffer)
			return -ENOENT;
		return os->src->ops->attr_read(os->src, a->channel, a->attr, value, len);
	}
	if (ds) {
		if (a->buffer)
			return -ENOENT;
		return ds->src->ops->attr_read(ds->src, a->channel, a->attr, value, len);
	}
	return devices_iio_attr(srv, a->device, a->channel, a->output, a->buffer, a->attr, NULL, value,
			len);
}

/* The value as a C string (free() it), or NULL with *err set: -EINVAL if it
 * holds a NUL, since the device would parse only what comes before it. */
static char *value_string(const ProtobufCBinaryData *v, int *err)
{
	char *s;

	if (v->len && memchr(v->data, '\0', v->len)) {
		*err = -EINVAL;
		return NULL;
	}
	s = malloc(v->len + 1);
	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	if (v->len)
		memcpy(s, v->data, v->len);
	s[v->len] = '\0';
	return s;
}

int devices_attr_write(struct server *srv, const Iiostream__AttrWrite *a, char *value,
		       size_t len)
{
	struct device_stream *ds = devices_sim_stream(srv, a->device);
	struct output_stream *os = devices_sim_output(srv, a->device);
	int err = 0;
	char *wvalue = value_string(&a->value, &err);

	if (!wvalue)
		return err;
	if (os) {
		if (a->buffer || !os->src->ops->attr_write)
			err = -ENOENT;
		else
			err = os->src->ops->attr_write(os->src, a->channel, a->attr, wvalue);
		if (!err)
			err = os->src->ops->attr_read(os->src, a->channel, a->attr, value, len);
		free(wvalue);
		if (!err)
			os->src->ops->format(os->src, &os->fmt); /* the rate may have changed */
		return err;
	}
	if (ds) {
		if (a->buffer || !ds->src->ops->attr_write)
			err = -ENOENT;
		else
			err = ds->src->ops->attr_write(ds->src, a->channel, a->attr, wvalue);
		if (!err)
			err = ds->src->ops->attr_read(ds->src, a->channel, a->attr, value, len);
	} else {
		err = devices_iio_attr(srv, a->device, a->channel, a->output, a->buffer, a->attr, wvalue,
			       value, len);
	}
	free(wvalue);
	ds = server_find_stream(srv, a->device);
	if (!err && ds)
		device_stream_refresh_format(ds); /* the rate may have changed */
	return err;
}
