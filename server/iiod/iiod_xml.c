// SPDX-License-Identifier: MIT
/* libiio's context XML for iiod clients: see iiod_xml.h. */
#include "iiod_xml.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libiio 0.24 validates the document against this DTD, and requires the
 * context's version attributes it declares. */
static const char dtd[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>"
	"<!DOCTYPE context ["
	"<!ELEMENT context (device | context-attribute)*>"
	"<!ELEMENT context-attribute EMPTY>"
	"<!ELEMENT device (channel | attribute | debug-attribute | buffer-attribute)*>"
	"<!ELEMENT channel (scan-element?, attribute*)>"
	"<!ELEMENT attribute EMPTY>"
	"<!ELEMENT scan-element EMPTY>"
	"<!ELEMENT debug-attribute EMPTY>"
	"<!ELEMENT buffer-attribute EMPTY>"
	"<!ATTLIST context name CDATA #REQUIRED version-major CDATA #REQUIRED "
	"version-minor CDATA #REQUIRED version-git CDATA #REQUIRED description CDATA #IMPLIED>"
	"<!ATTLIST context-attribute name CDATA #REQUIRED value CDATA #REQUIRED>"
	"<!ATTLIST device id CDATA #REQUIRED name CDATA #IMPLIED label CDATA #IMPLIED>"
	"<!ATTLIST channel id CDATA #REQUIRED type (input|output) #REQUIRED name CDATA #IMPLIED>"
	"<!ATTLIST scan-element index CDATA #REQUIRED format CDATA #REQUIRED scale CDATA #IMPLIED>"
	"<!ATTLIST attribute name CDATA #REQUIRED filename CDATA #IMPLIED>"
	"<!ATTLIST debug-attribute name CDATA #REQUIRED>"
	"<!ATTLIST buffer-attribute name CDATA #REQUIRED>"
	"]>";

/* A string that grows; `failed` once an allocation failed. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void put(struct sbuf *b, const char *text, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *s;

		while (cap < b->len + n + 1)
			cap *= 2;
		s = realloc(b->s, cap);
		if (!s) {
			b->failed = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->len, text, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* A string literal. */
#define PUTS(b, lit) put((b), (lit), sizeof(lit) - 1)

static void putf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* An attribute value, escaped: names come from sysfs and libiio, which
 * allow more than XML does inside quotes. */
static void put_escaped(struct sbuf *b, const char *v)
{
	for (; v && *v; v++) {
		switch (*v) {
		case '&': PUTS(b, "&amp;"); break;
		case '<': PUTS(b, "&lt;"); break;
		case '>': PUTS(b, "&gt;"); break;
		case '"': PUTS(b, "&quot;"); break;
		case '\'': PUTS(b, "&apos;"); break;
		default: put(b, v, 1);
		}
	}
}

static void put_attr(struct sbuf *b, const char *name, const char *value)
{
	putf(b, " %s=\"", name);
	put_escaped(b, value);
	PUTS(b, "\"");
}

static const Iiostream__DeviceDesc *order_dev; /* for the qsort comparator */

static int by_scan_index(const void *a, const void *b)
{
	const Iiostream__ChannelDesc *x = order_dev->channels[*(const size_t *)a];
	const Iiostream__ChannelDesc *y = order_dev->channels[*(const size_t *)b];
	bool xs = x->scan_element && x->index >= 0, ys = y->scan_element && y->index >= 0;

	if (xs != ys)
		return xs ? -1 : 1;
	if (xs && x->index != y->index)
		return x->index < y->index ? -1 : 1;
	/* the same index (or none): keep the description's order */
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

size_t iiod_xml_channel_order(const Iiostream__DeviceDesc *dev, size_t *order, size_t max)
{
	size_t i, n = dev->n_channels < max ? dev->n_channels : max;

	for (i = 0; i < n; i++)
		order[i] = i;
	order_dev = dev; /* the daemon is single-threaded */
	qsort(order, n, sizeof(*order), by_scan_index);
	order_dev = NULL;
	return n;
}

static void put_channel(struct sbuf *b, const Iiostream__ChannelDesc *ch)
{
	size_t i;

	PUTS(b, "<channel");
	put_attr(b, "id", ch->id);
	put_attr(b, "type", ch->output ? "output" : "input");
	if (ch->name && ch->name[0])
		put_attr(b, "name", ch->name);
	PUTS(b, ">");
	if (ch->scan_element && ch->index >= 0 && ch->format) {
		const Iiostream__ScanFormat *f = ch->format;

		/* libiio's own notation: "le:s12/16>>4", "le:S12/16X2>>0"; a
		 * capital S or U when the storage bits outside the sample are
		 * its extension (or when it fills its storage) */
		bool full = f->fully_defined || f->bits == f->storage_bits;
		char repeat[16] = "";

		if (f->repeat > 1)
			snprintf(repeat, sizeof(repeat), "X%u", f->repeat);
		putf(b, "<scan-element index=\"%d\" format=\"%ce:%c%u/%u%s&gt;&gt;%u\" />",
		     ch->index, f->big_endian ? 'b' : 'l',
		     full ? (f->is_signed ? 'S' : 'U') : (f->is_signed ? 's' : 'u'), f->bits,
		     f->storage_bits, repeat, f->shift);
	}
	for (i = 0; i < ch->n_attrs; i++) {
		PUTS(b, "<attribute");
		put_attr(b, "name", ch->attrs[i]);
		/* gr-iio finds channel attributes by their sysfs file name */
		if (i < ch->n_attr_filenames && ch->attr_filenames[i][0])
			put_attr(b, "filename", ch->attr_filenames[i]);
		PUTS(b, " />");
	}
	PUTS(b, "</channel>");
}

static void put_device(struct sbuf *b, const Iiostream__DeviceDesc *dev)
{
	size_t order[256], n, i;

	PUTS(b, "<device");
	put_attr(b, "id", dev->id);
	if (dev->name && dev->name[0])
		put_attr(b, "name", dev->name);
	if (dev->label && dev->label[0])
		put_attr(b, "label", dev->label);
	PUTS(b, ">");
	n = iiod_xml_channel_order(dev, order, sizeof(order) / sizeof(order[0]));
	for (i = 0; i < n; i++)
		put_channel(b, dev->channels[order[i]]);
	for (i = 0; i < dev->n_attrs; i++) {
		PUTS(b, "<attribute");
		put_attr(b, "name", dev->attrs[i]);
		PUTS(b, " />");
	}
	for (i = 0; i < dev->n_buffer_attrs; i++) {
		PUTS(b, "<buffer-attribute");
		put_attr(b, "name", dev->buffer_attrs[i]);
		PUTS(b, " />");
	}
	/* debugfs's (a kernel device's, read by root): READ dev DEBUG */
	for (i = 0; i < dev->n_debug_attrs; i++) {
		PUTS(b, "<debug-attribute");
		put_attr(b, "name", dev->debug_attrs[i]);
		PUTS(b, " />");
	}
	PUTS(b, "</device>");
}

char *iiod_xml_context(const Iiostream__Devices *devs, const char *description, size_t *len)
{
	struct sbuf b = { 0 };
	size_t i;

	put(&b, dtd, sizeof(dtd) - 1);
	/* name "network": what libiio calls a context it reached over iiod */
	PUTS(&b, "<context name=\"network\" version-major=\"0\" version-minor=\"24\" "
		 "version-git=\"v0.24\"");
	put_attr(&b, "description", description);
	PUTS(&b, ">");
	PUTS(&b, "<context-attribute name=\"iiostream\"");
	put_attr(&b, "value", description);
	PUTS(&b, " />");
	for (i = 0; i < devs->n_devices; i++)
		put_device(&b, devs->devices[i]);
	PUTS(&b, "</context>");
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	*len = b.len;
	return b.s;
}
