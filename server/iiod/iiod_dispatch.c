// SPDX-License-Identifier: MIT
/*
 * A parsed command (iiod_cmd.h) to what it does (iiod_internal.h): buffers
 * in iiod_buffer.c, attributes in iiod_attr.c, the rest here (HELP,
 * VERSION, PRINT, the trigger and buffer-count commands). Every command
 * is answered, but an empty line and EXIT; WRITE is run by the receive
 * path once its value has arrived (iiod_input.c).
 */
#include <errno.h>
#include <stdio.h>

#include "devices.h"
#include "iiod_internal.h"
#include "iiod_xml.h"
#include "server.h"

static const char help_text[] =
	"iiostreamd speaks these iiod commands (docs/iiod-compat.md):\n"
	"VERSION, PRINT, TIMEOUT <ms>, EXIT,\n"
	"READ <dev> [INPUT|OUTPUT <chn>|BUFFER] <attr>,\n"
	"WRITE <dev> [INPUT|OUTPUT <chn>|BUFFER] <attr> <bytes> + the value,\n"
	"OPEN <dev> <samples> <mask>, READBUF <dev> <bytes>, CLOSE <dev>,\n"
	"GETTRIG <dev>, SETTRIG <dev>, SET <dev> BUFFERS_COUNT <n>\n";

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

/* GETTRIG, SETTRIG, SET (buffers): the device must exist; it has no
 * trigger, and the block ring's size is the daemon's (--blocks). */
static void trigger_or_buffers(struct iiod_conn *c, const struct iiod_cmd *cmd)
{
	Iiostream__AttrRead probe = IIOSTREAM__ATTR_READ__INIT;
	char scratch[64];

	probe.device = (char *)cmd->device;
	probe.channel = (char *)"";
	probe.attr = (char *)"name";
	if (devices_attr_read(c->is->srv, &probe, scratch, sizeof(scratch)) == -ENODEV)
		iiod__send_int(c, -ENODEV);
	else if (cmd->op == IIOD_OP_SETTRIG && cmd->trigger[0])
		iiod__send_int(c, -ENOENT);
	else if (cmd->op == IIOD_OP_SET_BUFFERS && cmd->number == 0)
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
		iiod__send_int(c, -ENOSYS); /* input devices only */
		return;
	case IIOD_OP_READ:
		iiod__attr_read(c, cmd);
		return;
	case IIOD_OP_WRITE:
		break; /* the value comes first: see iiod_input.c */
	case IIOD_OP_GETTRIG:
	case IIOD_OP_SETTRIG:
	case IIOD_OP_SET_BUFFERS:
		trigger_or_buffers(c, cmd);
		return;
	}
}
