// SPDX-License-Identifier: MIT
/*
 * `--source auto` (server/source/source_scan.c) on a sysfs tree the test
 * builds the way the kernel lays one out: which devices become streams,
 * through which source, in which order.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source_scan.h"

static char root[64];

static void make_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void make_dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(mkdir(path, 0755), 0, "%s", path);
}

/* A board: the module's ADC with a block node, an ADC without one, a DAC
 * with only the kfifo, a temperature monitor with no buffer, the module's
 * DAC with a block node, a trigger, and an ADC numbered past 9 (sorted by
 * number, not by name). */
static void make_board(void)
{
	snprintf(root, sizeof(root), "/tmp/iiostream-scan-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	make_dir("iio:device0");
	make_dir("iio:device0/scan_elements");
	make_file("iio:device0/scan_elements/in_voltage0_en", "1\n");
	make_file("iio:device0/block_device", "iio_block0\n");
	make_dir("iio:device1");
	make_dir("iio:device1/scan_elements");
	make_file("iio:device1/scan_elements/in_voltage0_en", "0\n");
	make_file("iio:device1/scan_elements/in_timestamp_en", "0\n");
	make_dir("iio:device2");
	make_dir("iio:device2/scan_elements");
	make_file("iio:device2/scan_elements/out_voltage0_en", "1\n");
	make_dir("iio:device3");
	make_file("iio:device3/in_temp0_raw", "42\n");
	make_dir("iio:device4");
	make_dir("iio:device4/scan_elements");
	make_file("iio:device4/scan_elements/out_voltage0_en", "0\n");
	make_file("iio:device4/scan_elements/out_voltage1_en", "0\n");
	make_file("iio:device4/block_device", "iio_block4\n");
	make_dir("trigger0");
	make_dir("iio:device11");
	make_dir("iio:device11/scan_elements");
	make_file("iio:device11/scan_elements/in_voltage0_en", "1\n");
}

static void remove_board(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(source_scan, .init = make_board, .fini = remove_board);

Test(source_scan, every_input_buffer_is_a_stream_block_interface_first)
{
	char specs[8][SOURCE_SPEC_MAX];
	uint32_t n = source_scan(root, ",blocks=16", specs, 8);

	cr_assert_eq(n, 4, "two ADCs, the module's ADC and its DAC: no kfifo DAC, monitor or trigger");
	cr_assert_str_eq(specs[0], "kernel:/dev/iio_block0,blocks=16");
	cr_assert_str_eq(specs[1], "readfd:/dev/iio:device1,blocks=16");
	cr_assert_str_eq(specs[2], "kernel:/dev/iio_block4,blocks=16", "the DAC's block node");
	cr_assert_str_eq(specs[3], "readfd:/dev/iio:device11,blocks=16", "by number: 11 after 1");
}

Test(source_scan, a_dac_is_a_spec_only_through_its_block_node)
{
	char specs[8][SOURCE_SPEC_MAX];
	uint32_t i, n = source_scan(root, "", specs, 8);

	for (i = 0; i < n; i++)
		cr_assert_str_neq(specs[i], "readfd:/dev/iio:device2",
				  "a kfifo DAC is the iiod port's, not a stream");
	cr_assert_eq(n, 4);
	cr_assert_str_eq(specs[2], "kernel:/dev/iio_block4");
	/* without its block node the module's DAC is left out too */
	snprintf(specs[0], SOURCE_SPEC_MAX, "%s/iio:device4/block_device", root);
	cr_assert_eq(unlink(specs[0]), 0);
	n = source_scan(root, "", specs, 8);
	cr_assert_eq(n, 3);
	for (i = 0; i < n; i++)
		cr_assert_null(strstr(specs[i], "device4"), "%s", specs[i]);
}

Test(source_scan, stops_at_max_and_finds_nothing_without_iio)
{
	char specs[8][SOURCE_SPEC_MAX];

	cr_assert_eq(source_scan(root, "", specs, 1), 1);
	cr_assert_str_eq(specs[0], "kernel:/dev/iio_block0");
	cr_assert_eq(source_scan("/nonexistent/iio", "", specs, 8), 0);
}

Test(source_scan, every_spec_it_writes_parses)
{
	char specs[8][SOURCE_SPEC_MAX], err[256];
	struct source_spec spec;
	uint32_t i, n = source_scan(root, ",client-queue=2", specs, 8);

	for (i = 0; i < n; i++) {
		cr_assert_eq(source_spec_parse(specs[i], &spec, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(spec.client_queue, 2);
	}
}

/* A probe standing in for ATTACH on a tree that has no device nodes:
 * device1 (an ADC without a block node) takes DMA-BUFs on buffer1, and
 * device2 (a DAC without one) on its output buffer2. */
static bool fake_dmabuf(const char *dir, const char *entry, bool output, uint32_t *buffer)
{
	(void)dir;
	if (strcmp(entry, "iio:device1") == 0 && !output) {
		*buffer = 1;
		return true;
	}
	if (strcmp(entry, "iio:device2") == 0 && output) {
		*buffer = 2;
		return true;
	}
	return false;
}

Test(source_scan, dmabuf_comes_after_a_block_node_and_before_read)
{
	char specs[8][SOURCE_SPEC_MAX], err[256];
	struct source_spec spec;
	uint32_t n = source_scan_with(root, ",blocks=16", specs, 8, fake_dmabuf);

	cr_assert_eq(n, 5, "the kfifo DAC streams now, through its DMABUF buffer");
	cr_assert_str_eq(specs[0], "kernel:/dev/iio_block0,blocks=16", "a block node first");
	cr_assert_str_eq(specs[1], "dmabuf:iio:device1,buffer=1,blocks=16");
	cr_assert_str_eq(specs[2], "dmabuf:iio:device2,buffer=2,blocks=16", "an output one too");
	cr_assert_str_eq(specs[3], "kernel:/dev/iio_block4,blocks=16");
	cr_assert_str_eq(specs[4], "readfd:/dev/iio:device11,blocks=16", "no DMABUF: read()");
	cr_assert_eq(source_spec_parse(specs[1], &spec, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(spec.ops, &source_dmabuf_ops);
	cr_assert_str_eq(spec.arg, "iio:device1");
	cr_assert(spec.buffer_set && spec.buffer == 1);
}

Test(source_scan, the_real_probe_takes_no_buffer_without_a_direction)
{
	uint32_t buffer = 99;

	/* the tree has no bufferN/direction, and no /dev/iio:device1 */
	cr_assert_not(source_scan_dmabuf_probe(root, "iio:device1", false, &buffer));
	cr_assert_eq(buffer, 99);
}
