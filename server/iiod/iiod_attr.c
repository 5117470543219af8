// SPDX-License-Identifier: MIT
/*
 * READ and WRITE of attributes (iiod_internal.h), through devices.c's
 * attribute routing, as the iiostream ports do; debug attributes through
 * devices_debug_attr_*() (a kernel device's only). A WRITE of either is
 * checked against --allow-write (iiod_access.c). A READ without a name
 * reads every attribute of its kind at once, in iiod's format.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "iiod_internal.h"
#include "log.h"
#include "server.h"

/* Read attribute `attr` of the kind cmd names (its channel, buffer, debug
 * or device attributes) of `device` into value[len]. */
static int read_one(struct server *srv, const struct iiod_cmd *cmd, const char *device,
		    const char *attr, char *value, size_t len)
{
	Iiostream__AttrRead r = IIOSTREAM__ATTR_READ__INIT;

	if (cmd->kind == IIOD_ATTR_DEBUG)
		return devices_debug_attr_read(srv, device, attr, value, len);
	r.device = (char *)device;
	r.channel = cmd->kind == IIOD_ATTR_CHANNEL ? (char *)cmd->channel : (char *)"";
	r.attr = (char *)attr;
	r.buffer = cmd->kind == IIOD_ATTR_BUFFER;
	r.output = cmd->output;
	return devices_attr_read(srv, &r, value, len);
}

/* A value: "<length with its NUL>\n<value>\0\n". */
static void reply_value(struct iiod_conn *c, const char *value)
{
	iiod__send_sized(c, value, strlen(value) + 1);
}

/* --- READ without an attribute: all of them ----------------------------- */

/* The device a command names, as iiod finds one: by id, else name, else
 * label. */
static const Iiostream__DeviceDesc *find_desc(const Iiostream__Devices *devs, const char *device)
{
	size_t i;

	for (i = 0; i < devs->n_devices; i++)
		if (strcmp(devs->devices[i]->id, device) == 0)
			return devs->devices[i];
	for (i = 0; i < devs->n_devices; i++)
		if (strcmp(devs->devices[i]->name, device) == 0)
			return devs->devices[i];
	for (i = 0; i < devs->n_devices; i++)
		if (devs->devices[i]->label[0] && strcmp(devs->devices[i]->label, device) == 0)
			return devs->devices[i];
	return NULL;
}

/* The attributes of the kind cmd names, in the order PRINT's XML lists
 * them: 0, or -ENODEV for a channel the device does not have. */
static int attr_names(const Iiostream__DeviceDesc *d, const struct iiod_cmd *cmd,
		      char *const **names, size_t *n)
{
	size_t i;

	switch (cmd->kind) {
	case IIOD_ATTR_DEVICE:
		*names = d->attrs;
		*n = d->n_attrs;
		return 0;
	case IIOD_ATTR_BUFFER:
		*names = d->buffer_attrs;
		*n = d->n_buffer_attrs;
		return 0;
	case IIOD_ATTR_DEBUG:
		*names = d->debug_attrs;
		*n = d->n_debug_attrs;
		return 0;
	case IIOD_ATTR_CHANNEL:
		break;
	}
	for (i = 0; i < d->n_channels; i++) {
		const Iiostream__ChannelDesc *ch = d->channels[i];

		if (strcmp(ch->id, cmd->channel) == 0 && ch->output == cmd->output) {
			*names = ch->attrs;
			*n = ch->n_attrs;
			return 0;
		}
	}
	return -ENODEV;
}

/* The reply's body as it grows; `failed` once out of memory. */
struct all_values {
	char *data;
	size_t len, cap;
	bool failed;
};

/* One attribute's entry, as libiio's local backend lays out a read of
 * all: its length (with the NUL) as a 32-bit big-endian number, then the
 * value and its NUL, zero-padded to a multiple of 4 bytes; for one that
 * could not be read, its negative errno as the length and nothing else. */
static void put_entry(struct all_values *b, int err, const char *value)
{
	size_t vlen = err ? 0 : strlen(value) + 1, padded = (vlen + 3) & ~(size_t)3;
	uint32_t be = htonl(err ? (uint32_t)err : (uint32_t)vlen);

	if (b->failed)
		return;
	if (!b->data || b->len + 4 + padded + 1 > b->cap) { /* + 1: the reply's "\n" */
		size_t cap = b->cap ? b->cap : 1024;
		char *data;

		while (cap < b->len + 4 + padded + 1)
			cap *= 2;
		data = realloc(b->data, cap);
		if (!data) {
			b->failed = true;
			return;
		}
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, &be, 4);
	if (vlen) /* an error entry has no value */
		memcpy(b->data + b->len + 4, value, vlen);
	memset(b->data + b->len + 4 + vlen, 0, padded - vlen);
	b->len += 4 + padded;
}

/* Every attribute of the kind named, each read as a single READ would:
 * "<bytes>\n<entries>\n" (iiod's read_dev_attr() with no name). A device
 * or channel without any answers "0\n\n". */
static int read_all(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	struct server *srv = c->is->srv;
	Iiostream__Devices devs = IIOSTREAM__DEVICES__INIT;
	struct all_values b = { 0 };
	const Iiostream__DeviceDesc *d;
	char *const *names = NULL;
	char head[32], value[IIOD_MAX_VALUE];
	size_t i, n = 0;
	int err, hlen;

	if (devices_describe(srv, &devs))
		return -ENOMEM;
	d = find_desc(&devs, cmd->device);
	err = d ? attr_names(d, cmd, &names, &n) : -ENODEV;
	for (i = 0; !err && i < n; i++) {
		int r = read_one(srv, cmd, d->id, names[i], value, sizeof(value));

		put_entry(&b, r, value);
	}
	devices_describe_free(&devs);
	if (!err && b.failed)
		err = -ENOMEM;
	if (!err && !b.data && !(b.data = malloc(1))) /* none: the "\n" alone */
		err = -ENOMEM;
	if (err) {
		free(b.data);
		return err;
	}
	hlen = snprintf(head, sizeof(head), "%zu\n", b.len);
	b.data[b.len] = '\n';
	iiod__send_reply(c, head, (size_t)hlen, b.data, b.len + 1);
	return 0;
}

/* --- READ, WRITE ------------------------------------------------------- */

void iiod__attr_read(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	char value[IIOD_MAX_VALUE];
	int err;

	if (cmd->all_attrs)
		err = read_all(c, cmd);
	else if ((err = read_one(c->is->srv, cmd, cmd->device, cmd->attr, value,
				 sizeof(value))) == 0)
		reply_value(c, value);
	if (err)
		iiod__send_int(c, err);
}

/* A debug attribute's WRITE (value[len] without libiio's NUL), logged:
 * 0 or an errno; a NUL inside the value is -EINVAL, as for other
 * attributes. */
static int write_debug(struct iiod_conn *c, const struct iiod_cmd *cmd, const char *value,
		       size_t len)
{
	char text[IIOD_MAX_VALUE + 1];
	size_t i;
	int err;

	if (memchr(value, '\0', len))
		return -EINVAL;
	memcpy(text, value, len);
	text[len] = '\0';
	err = devices_debug_attr_write(c->is->srv, cmd->device, cmd->attr, text);
	if (err)
		return err;
	for (i = 0; i < len; i++) /* the client's bytes, one log line */
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
			text[i] = '?';
	log_info("iiod client %u (%s): %s debug %s = %s", c->id, c->peer, cmd->device,
		 cmd->attr, text);
	return 0;
}

/* The reply to WRITE is the bytes taken. */
void iiod__attr_write(struct iiod_conn *c, const struct iiod_cmd *cmd, const char *value,
		      size_t len)
{
	struct server *srv = c->is->srv;
	Iiostream__AttrWrite w = IIOSTREAM__ATTR_WRITE__INIT;
	char after[IIOD_MAX_VALUE];
	int err;

	if (cmd->number > IIOD_MAX_VALUE) {
		iiod__send_int(c, -EFBIG);
		return;
	}
	/* a libiio client has no certificate: --allow-write must name "plain" */
	if (!iiod__allowed(c, &srv->cfg->allow_write, "attribute write", "--allow-write")) {
		iiod__send_int(c, -EACCES);
		return;
	}
	/* libiio sends the string with its NUL, a raw write may not; any other
	 * NUL is the value's own, and refused */
	if (len && value[len - 1] == '\0')
		len--;
	if (cmd->kind == IIOD_ATTR_DEBUG) {
		err = write_debug(c, cmd, value, len);
		iiod__send_int(c, err ? err : (long long)cmd->number);
		return;
	}
	w.device = (char *)cmd->device;
	w.channel = cmd->kind == IIOD_ATTR_CHANNEL ? (char *)cmd->channel : (char *)"";
	w.attr = (char *)cmd->attr;
	w.buffer = cmd->kind == IIOD_ATTR_BUFFER;
	w.output = cmd->output;
	w.value.data = (uint8_t *)value; /* a NUL in it: devices_attr_write refuses */
	w.value.len = len;
	err = devices_attr_write(srv, &w, after, sizeof(after));
	if (err) {
		iiod__send_int(c, err);
		return;
	}
	log_info("iiod client %u (%s): %s %s%s%s = %s", c->id, c->peer, cmd->device,
		 cmd->channel, cmd->channel[0] ? " " : "", cmd->attr, after);
	iiod__send_int(c, (long long)cmd->number);
}
