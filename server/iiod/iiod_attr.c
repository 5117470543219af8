// SPDX-License-Identifier: MIT
/*
 * READ and WRITE of attributes (iiod_internal.h), through devices.c's
 * attribute routing, as the iiostream ports do. A WRITE is checked
 * against --allow-write (iiod_access.c); debug attributes are not
 * described, so neither is read or written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "iiod_internal.h"
#include "log.h"
#include "server.h"

static void attr_request(const struct iiod_cmd *cmd, Iiostream__AttrRead *r)
{
	r->device = (char *)cmd->device;
	r->channel = cmd->kind == IIOD_ATTR_CHANNEL ? (char *)cmd->channel : (char *)"";
	r->attr = (char *)cmd->attr;
	r->buffer = cmd->kind == IIOD_ATTR_BUFFER;
	r->output = cmd->output;
}

/* A value: "<length with its NUL>\n<value>\0\n". */
static void reply_value(struct iiod_conn *c, const char *value)
{
	size_t len = strlen(value) + 1;
	char *text = malloc(len + 24);
	int n;

	if (!text) {
		iiod__send_int(c, -ENOMEM);
		return;
	}
	n = snprintf(text, 24, "%zu\n", len);
	memcpy(text + n, value, len);
	text[n + len] = '\n';
	iiod__send_text(c, text, (size_t)n + len + 1);
	free(text);
}

void iiod__attr_read(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	Iiostream__AttrRead r = IIOSTREAM__ATTR_READ__INIT;
	char value[IIOD_MAX_VALUE];
	int err;

	if (cmd->kind == IIOD_ATTR_DEBUG) {
		iiod__send_int(c, -ENOENT); /* no debug attributes are described */
		return;
	}
	attr_request(cmd, &r);
	err = devices_attr_read(c->is->srv, &r, value, sizeof(value));
	if (err)
		iiod__send_int(c, err);
	else
		reply_value(c, value);
}

/* The reply to WRITE is the bytes taken. */
void iiod__attr_write(struct iiod_conn *c, const struct iiod_cmd *cmd, const char *value,
		      size_t len)
{
	struct server *srv = c->is->srv;
	Iiostream__AttrRead r = IIOSTREAM__ATTR_READ__INIT;
	Iiostream__AttrWrite w = IIOSTREAM__ATTR_WRITE__INIT;
	char after[IIOD_MAX_VALUE];
	int err;

	if (cmd->number > IIOD_MAX_VALUE) {
		iiod__send_int(c, -EFBIG);
		return;
	}
	if (cmd->kind == IIOD_ATTR_DEBUG) {
		iiod__send_int(c, -ENOENT);
		return;
	}
	/* a libiio client has no certificate: --allow-write must name "plain" */
	if (!iiod__allowed(c, &srv->cfg->allow_write, "attribute write", "--allow-write")) {
		iiod__send_int(c, -EACCES);
		return;
	}
	attr_request(cmd, &r);
	w.device = r.device;
	w.channel = r.channel;
	w.attr = r.attr;
	w.buffer = r.buffer;
	w.output = r.output;
	/* libiio sends the string with its NUL, a raw write may not; any other
	 * NUL is the value's own, and refused (devices_attr_write) */
	w.value.data = (uint8_t *)value;
	w.value.len = len;
	if (w.value.len && value[w.value.len - 1] == '\0')
		w.value.len--;
	err = devices_attr_write(srv, &w, after, sizeof(after));
	if (err) {
		iiod__send_int(c, err);
		return;
	}
	log_info("iiod client %u (%s): %s %s%s%s = %s", c->id, c->peer, cmd->device,
		 cmd->channel, cmd->channel[0] ? " " : "", cmd->attr, after);
	iiod__send_int(c, (long long)cmd->number);
}
