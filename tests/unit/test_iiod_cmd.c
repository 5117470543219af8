// SPDX-License-Identifier: MIT
/* The iiod command-line parser: every command libiio 0.24 sends, and the
 * malformed lines a stranger might. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "iiod_cmd.h"

static struct iiod_cmd cmd;
static char err[256];

static int parse(const char *line)
{
	err[0] = '\0';
	return iiod_cmd_parse(line, strlen(line), &cmd, err, sizeof(err));
}

Test(iiod_cmd, simple_commands_in_any_case)
{
	cr_assert_eq(parse("VERSION"), 0);
	cr_assert_eq(cmd.op, IIOD_OP_VERSION);
	cr_assert_eq(parse("print"), 0);
	cr_assert_eq(cmd.op, IIOD_OP_PRINT);
	cr_assert_eq(parse("ZPRINT"), 0);
	cr_assert_eq(cmd.op, IIOD_OP_ZPRINT);
	cr_assert_eq(parse("  Exit  "), 0);
	cr_assert_eq(cmd.op, IIOD_OP_EXIT);
	cr_assert_eq(parse(""), 0);
	cr_assert_eq(cmd.op, IIOD_OP_NONE);
	cr_assert_eq(parse("TIMEOUT 5000"), 0);
	cr_assert_eq(cmd.op, IIOD_OP_TIMEOUT);
	cr_assert_eq(cmd.number, 5000);
}

Test(iiod_cmd, open_takes_samples_and_a_mask_highest_word_first)
{
	cr_assert_eq(parse("OPEN iio:device0 4096 0000000100000005"), 0, "%s", err);
	cr_assert_eq(cmd.op, IIOD_OP_OPEN);
	cr_assert_str_eq(cmd.device, "iio:device0");
	cr_assert_eq(cmd.number, 4096);
	cr_assert_eq(cmd.mask_words, 2);
	cr_assert_eq(cmd.mask[0], 5);
	cr_assert_eq(cmd.mask[1], 1);
	cr_assert(!cmd.cyclic);
	cr_assert_eq(parse("OPEN sim 16 0000000F CYCLIC"), 0, "%s", err);
	cr_assert(cmd.cyclic);
	cr_assert_eq(cmd.mask[0], 15);
	cr_assert_eq(parse("OPEN sim 16 00f"), -EINVAL);
	cr_assert(strstr(err, "mask"), "%s", err);
	cr_assert_eq(parse("OPEN sim 16 0000000g"), -EINVAL);
	cr_assert_eq(parse("OPEN sim -1 00000001"), -EINVAL);
	cr_assert_eq(parse("OPEN sim 16 00000001 LOOP"), -EINVAL);
	cr_assert_eq(parse("OPEN sim 16 000000010000000100000001000000010000000100000001"),
		     -EINVAL);
}

Test(iiod_cmd, read_and_write_name_the_attribute_kind)
{
	cr_assert_eq(parse("READ iio:device0 sampling_frequency"), 0, "%s", err);
	cr_assert_eq(cmd.op, IIOD_OP_READ);
	cr_assert_eq(cmd.kind, IIOD_ATTR_DEVICE);
	cr_assert_str_eq(cmd.attr, "sampling_frequency");
	cr_assert_eq(parse("READ iio:device0 INPUT voltage1 scale"), 0, "%s", err);
	cr_assert_eq(cmd.kind, IIOD_ATTR_CHANNEL);
	cr_assert(!cmd.output);
	cr_assert_str_eq(cmd.channel, "voltage1");
	cr_assert_str_eq(cmd.attr, "scale");
	cr_assert_eq(parse("READ dev OUTPUT altvoltage0 frequency"), 0, "%s", err);
	cr_assert(cmd.output);
	cr_assert_eq(parse("READ dev BUFFER length"), 0, "%s", err);
	cr_assert_eq(cmd.kind, IIOD_ATTR_BUFFER);
	cr_assert_eq(parse("READ dev DEBUG direct_reg_access"), 0, "%s", err);
	cr_assert_eq(cmd.kind, IIOD_ATTR_DEBUG);
	cr_assert_eq(parse("WRITE iio:device0 sampling_frequency 7"), 0, "%s", err);
	cr_assert_eq(cmd.op, IIOD_OP_WRITE);
	cr_assert_eq(cmd.number, 7);
	cr_assert_eq(parse("WRITE dev INPUT voltage0 scale 3"), 0, "%s", err);
	cr_assert_eq(cmd.kind, IIOD_ATTR_CHANNEL);
	cr_assert_eq(cmd.number, 3);
	/* the value's length is missing, or the channel is */
	cr_assert_eq(parse("WRITE dev sampling_frequency"), -EINVAL);
	cr_assert(strstr(err, "usage: WRITE"), "%s", err);
	cr_assert_eq(parse("READ dev INPUT"), -EINVAL);
	cr_assert_eq(parse("READ dev OUTPUT voltage0 scale extra"), -EINVAL);
	cr_assert_eq(parse("READ dev DEBUG direct_reg_access extra"), -EINVAL);
	cr_assert_eq(parse("READ"), -EINVAL);
	cr_assert(!cmd.all_attrs);
}

/* libiio 0.24 reads every attribute of a kind at once with the attribute
 * left out ("READ dev \r\n", iio_device_attr_read_all()); after the device
 * the kind's keywords are keywords, in any case, never an attribute. */
Test(iiod_cmd, read_without_an_attribute_reads_every_attribute_of_its_kind)
{
	cr_assert_eq(parse("READ iio:device0 "), 0, "%s", err);
	cr_assert_eq(cmd.op, IIOD_OP_READ);
	cr_assert_eq(cmd.kind, IIOD_ATTR_DEVICE);
	cr_assert(cmd.all_attrs);
	cr_assert_str_eq(cmd.device, "iio:device0");
	cr_assert_str_eq(cmd.attr, "");
	cr_assert_eq(parse("READ iio:device0 DEBUG "), 0, "%s", err);
	cr_assert_eq(cmd.kind, IIOD_ATTR_DEBUG);
	cr_assert(cmd.all_attrs);
	cr_assert_eq(parse("READ iio:device0 buffer"), 0, "%s", err);
	cr_assert_eq(cmd.kind, IIOD_ATTR_BUFFER);
	cr_assert(cmd.all_attrs);
	cr_assert_eq(parse("READ iio:device0 INPUT voltage1 "), 0, "%s", err);
	cr_assert_eq(cmd.kind, IIOD_ATTR_CHANNEL);
	cr_assert(cmd.all_attrs);
	cr_assert(!cmd.output);
	cr_assert_str_eq(cmd.channel, "voltage1");
	cr_assert_str_eq(cmd.attr, "");
	cr_assert_eq(parse("READ dev Output altvoltage0"), 0, "%s", err);
	cr_assert(cmd.output);
	cr_assert(cmd.all_attrs);
	/* one attribute still names it, and is not all of them */
	cr_assert_eq(parse("READ dev DEBUG direct_reg_access"), 0, "%s", err);
	cr_assert(!cmd.all_attrs);
	cr_assert_str_eq(cmd.attr, "direct_reg_access");
	/* WRITE always names its attribute and size */
	cr_assert_eq(parse("WRITE dev DEBUG 4"), -EINVAL);
	cr_assert_eq(parse("WRITE dev 4"), -EINVAL);
	cr_assert_eq(parse("WRITE dev INPUT voltage0 4"), -EINVAL);
	cr_assert_eq(parse("WRITE dev DEBUG direct_reg_access 4"), 0, "%s", err);
	cr_assert_eq(cmd.kind, IIOD_ATTR_DEBUG);
	cr_assert_eq(cmd.number, 4);
	cr_assert(!cmd.all_attrs);
}

Test(iiod_cmd, buffer_and_trigger_commands)
{
	cr_assert_eq(parse("READBUF iio:device0 8192"), 0, "%s", err);
	cr_assert_eq(cmd.op, IIOD_OP_READBUF);
	cr_assert_eq(cmd.number, 8192);
	cr_assert_eq(parse("WRITEBUF iio:device0 8"), 0, "%s", err);
	cr_assert_eq(cmd.op, IIOD_OP_WRITEBUF);
	cr_assert_eq(parse("CLOSE iio:device0"), 0, "%s", err);
	cr_assert_eq(cmd.op, IIOD_OP_CLOSE);
	cr_assert_eq(parse("GETTRIG iio:device0"), 0, "%s", err);
	cr_assert_eq(cmd.op, IIOD_OP_GETTRIG);
	cr_assert_eq(parse("SETTRIG iio:device0"), 0, "%s", err);
	cr_assert_str_eq(cmd.trigger, "");
	cr_assert_eq(parse("SETTRIG iio:device0 trigger0"), 0, "%s", err);
	cr_assert_str_eq(cmd.trigger, "trigger0");
	cr_assert_eq(parse("SET iio:device0 BUFFERS_COUNT 4"), 0, "%s", err);
	cr_assert_eq(cmd.op, IIOD_OP_SET_BUFFERS);
	cr_assert_eq(cmd.number, 4);
	cr_assert_eq(parse("SET iio:device0 COUNT 4"), -EINVAL);
	cr_assert_eq(parse("READBUF iio:device0 12x"), -EINVAL);
	cr_assert_eq(parse("READBUF iio:device0 1234567890123456789"), -EINVAL);
}

Test(iiod_cmd, garbage_is_refused_with_a_reason)
{
	char longword[300];

	cr_assert_eq(parse("FROB dev"), -EINVAL);
	cr_assert(strstr(err, "unknown command 'FROB'"), "%s", err);
	cr_assert_eq(parse("READ dev\x01 attr"), -EINVAL);
	cr_assert_eq(parse("a b c d e f g h i"), -EINVAL);
	memset(longword, 'x', sizeof(longword));
	memcpy(longword, "CLOSE ", 6);
	longword[sizeof(longword) - 1] = '\0';
	cr_assert_eq(parse(longword), -EINVAL);
	cr_assert(strstr(err, "longer than"), "%s", err);
	/* not NUL-terminated: the length is what counts */
	cr_assert_eq(iiod_cmd_parse("VERSIONXYZ", 7, &cmd, err, sizeof(err)), 0);
	cr_assert_eq(cmd.op, IIOD_OP_VERSION);
}
