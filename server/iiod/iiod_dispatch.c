// SPDX-License-Identifier: MIT
/*
 * A parsed command (iiod_cmd.h) to what it does (iiod_internal.h): buffers
 * in iiod_buffer.c, attributes in iiod_attr.c, the rest here (HELP,
 * VERSION, PRINT, the trigger commands through devices_trigger_*(), and
 * the buffer count). Every command is answered, but an empty line and
 * EXIT; WRITE is run by the receive path once its value has arrived
 * (iiod_input.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "iiod_internal.h"
#include "iiod_xml.h"
#include "log.h"
#include "server.h"

static const char help_text[] =
	"iiostreamd speaks these iiod commands (docs/iiod-compat.md):\n"
	"VERSION, PRINT, TIMEOUT <ms>, EXIT,\n"
	"READ <dev> [INPUT|OUTPUT <chn>|BUFFER|DEBUG] [<attr>] (none: all of them),\n"
	"WRITE <dev> [INPUT|OUTPUT <chn>|BUFFER|DEBUG] <attr> <bytes> + the value,\n"
	"OPEN <dev> <samples> <mask> [CYCLIC], READBUF <dev> <bytes>,\n"
	"WRITEBUF <dev> <bytes> + the samples, CLOSE <dev>,\n"
	"GETTRIG <dev>, SETTRIG <dev> [<trigger>], SET <dev> BUFFERS_COUNT <n>\n";

static void reply_print(struct iiod_conn *c)
{
	Iiostream__Devices devs = IIOSTREAM__DEVICES__INIT;
	char head[32], *xml;
	size_t len;
	int n;

	if (devices_describe(c->is->srv, &devs)) {
		iiod__send_int(c, -ENOMEM);
		return;
	}
	xml = iiod_xml_context(&devs, "iiostreamd " IIOSTREAM_VERSION, &len);
	devices_describe_free(&devs);
	if (!xml) {
		iiod__send_int(c, -ENOMEM);
		return;
	}
	/* "<length>\n<xml>\n": the client reads length + 1 bytes */
	xml[len] = '\n';
	n = snprintf(head, sizeof(head), "%zu\n", len);
	iiod__send_reply(c, head, (size_t)n, xml, len + 1);
}

/* GETTRIG: iiod's get_trigger(): the trigger's name (not its id: libiio
 * finds it among the context's triggers by name) as "<length>\n<name>\n",
 * the length without a NUL; "0" when none is assigned; -ENOENT for a
 * device that takes no trigger (a sim stream's). */
static void get_trigger(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	char id[64], name[256];
	int err;

	err = devices_trigger_get(c->is->srv, cmd->device, id, sizeof(id), name, sizeof(name));
	if (err || !name[0]) {
		iiod__send_int(c, err);
		return;
	}
	iiod__send_sized(c, name, strlen(name));
}

/* SETTRIG: a write, under --allow-write like WRITE; then 0 or the errno
 * (iiod's set_trigger(): -ENOENT for a trigger the context does not have
 * and for a device that takes none, -EINVAL for a device that is no
 * trigger). */
static void set_trigger(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	int err;

	if (!iiod__allowed(c, &c->is->srv->cfg->allow_write, "trigger change (SETTRIG)",
			   "--allow-write")) {
		iiod__send_int(c, -EACCES);
		return;
	}
	err = devices_trigger_set(c->is->srv, cmd->device, cmd->trigger);
	if (err == -ENOENT)
		log_info("iiod client %u (%s): SETTRIG %s %s: %s", c->id, c->peer, cmd->device,
			 cmd->trigger, cmd->trigger[0] ? "no such trigger, or the device takes none"
						       : "the device takes no trigger");
	else if (!err)
		log_info("iiod client %u (%s): %s trigger = %s", c->id, c->peer, cmd->device,
			 cmd->trigger[0] ? cmd->trigger : "(none)");
	iiod__send_int(c, err);
}

/* SET <dev> BUFFERS_COUNT: the device must exist; the block ring's size is
 * the daemon's (--blocks), so any count is taken and changes nothing. */
static void set_buffers(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	Iiostream__AttrRead probe = IIOSTREAM__ATTR_READ__INIT;
	char scratch[64];

	probe.device = (char *)cmd->device;
	probe.channel = (char *)"";
	probe.attr = (char *)"name";
	if (devices_attr_read(c->is->srv, &probe, scratch, sizeof(scratch)) == -ENODEV)
		iiod__send_int(c, -ENODEV);
	else if (cmd->number == 0)
		iiod__send_int(c, -EINVAL);
	else
		iiod__send_int(c, 0);
}

void iiod__execute(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	switch (cmd->op) {
	case IIOD_OP_NONE:
		return; /* libiio's "\r\nEXIT\r\n" starts with one: no reply */
	case IIOD_OP_EXIT:
		iiod__conn_close(c);
		return;
	case IIOD_OP_HELP:
		iiod__send_text(c, help_text, sizeof(help_text) - 1);
		return;
	case IIOD_OP_VERSION:
		/* "%u.%u.%-7.7s\n": major, minor, git tag */
		iiod__send_text(c, "0.24.v0.24  \n", 13);
		return;
	case IIOD_OP_PRINT:
		reply_print(c);
		return;
	case IIOD_OP_ZPRINT:
		iiod__send_int(c, -EINVAL); /* no compressed XML, as Debian's iiod */
		return;
	case IIOD_OP_TIMEOUT:
		iiod__send_int(c, 0); /* nothing here blocks: accepted, nothing to set */
		return;
	case IIOD_OP_OPEN:
		iiod__send_int(c, iiod__buffer_open(c, cmd));
		return;
	case IIOD_OP_CLOSE:
		iiod__buffer_close_cmd(c, cmd);
		return;
	case IIOD_OP_READBUF:
		iiod__readbuf(c, cmd);
		return;
	case IIOD_OP_WRITEBUF:
		iiod__tx_writebuf(c, cmd); /* its samples: see iiod_input.c */
		return;
	case IIOD_OP_READ:
		iiod__attr_read(c, cmd);
		return;
	case IIOD_OP_WRITE:
		break; /* the value comes first: see iiod_input.c */
	case IIOD_OP_GETTRIG:
		get_trigger(c, cmd);
		return;
	case IIOD_OP_SETTRIG:
		set_trigger(c, cmd);
		return;
	case IIOD_OP_SET_BUFFERS:
		set_buffers(c, cmd);
		return;
	}
}
