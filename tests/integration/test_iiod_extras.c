// SPDX-License-Identifier: MIT
/*
 * What iiod 0.24 serves beyond single attributes and samples, on the
 * iiod-compatible listener: a READ without an attribute name (every
 * attribute of a kind at once, libiio's iio_device_attr_read_all()),
 * debug attributes, and GETTRIG/SETTRIG. The host has only sim devices,
 * which have no debug attributes and take no trigger; the context XML
 * with debug attributes and trigger devices is checked by parsing ours
 * with libiio itself. Clients: raw sockets for the exact bytes, and
 * libiio 0.24 (the library Debian's tools and python3-libiio use) through
 * its C API and iio_info.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <iio.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"
#include "iiod_xml.h"

static const char *const with_iiod[] = { "--channels", "2", "--rate", "1000000",
					 "--iiod-listen", "127.0.0.1:0", NULL };

/* ---- raw sockets ------------------------------------------------------ */

static void read_exactly(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = recv(fd, (char *)buf + got, len - got, 0);

		cr_assert_gt(r, 0, "reply cut short: %zu of %zu bytes", got, len);
		got += (size_t)r;
	}
}

/* Send `cmd`; its status line must be `want`. */
static void expect_reply(int fd, const char *cmd, const char *want)
{
	char line[256];

	iiod_port_send(fd, cmd, strlen(cmd));
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_str_eq(line, want, "'%s' got '%s', want '%s'", cmd, line, want);
}

/* Send a READ; its reply "<n>\n<n bytes>\n" into body (malloc'ed, n + 1
 * bytes with the final "\n"); returns n, or the negative status. */
static long read_reply(int fd, const char *cmd, char **body)
{
	char line[64];
	long n;

	*body = NULL;
	iiod_port_send(fd, cmd, strlen(cmd));
	iiod_port_read_line(fd, line, sizeof(line));
	n = strtol(line, NULL, 10);
	if (n < 0)
		return n;
	*body = malloc((size_t)n + 1);
	cr_assert_not_null(*body);
	read_exactly(fd, *body, (size_t)n + 1);
	cr_assert_eq((*body)[n], '\n', "'%s': no final newline", cmd);
	return n;
}

/* The next entry of a read-all body at *off: its length (negative: an
 * errno) and its value. */
static int32_t next_entry(const char *body, long n, long *off, const char **value)
{
	uint32_t be;
	int32_t len;

	cr_assert_leq(*off + 4, n, "entry header past the end (%ld of %ld)", *off, n);
	memcpy(&be, body + *off, 4);
	len = (int32_t)ntohl(be);
	*off += 4;
	*value = body + *off;
	if (len > 0) {
		long padded = (len + 3) & ~3;

		cr_assert_leq(*off + padded, n, "entry past the end");
		cr_assert_eq(body[*off + len - 1], '\0', "value without its NUL");
		for (long i = *off + len; i < *off + padded; i++)
			cr_assert_eq(body[i], '\0', "padding not zero");
		*off += padded;
	}
	return len;
}

/* ---- libiio ----------------------------------------------------------- */

static struct iio_context *libiio_context(const struct daemon *d)
{
	/* a copy: libiio 0.24 cuts the ":PORT" off the string it is given */
	char uri[sizeof(d->iiod_uri)];
	struct iio_context *ctx;

	memcpy(uri, d->iiod_uri, sizeof(uri));
	ctx = iio_create_context_from_uri(uri);
	cr_assert_not_null(ctx, "libiio could not create a context from %s: %s", d->iiod_uri,
			   strerror(errno));
	cr_assert_eq(iio_context_set_timeout(ctx, HANG_MS), 0);
	return ctx;
}

struct seen {
	int calls;
	char attr[64], value[64];
};

static int on_attr(struct iio_device *dev, const char *attr, const char *value, size_t len,
		   void *data)
{
	struct seen *s = data;

	(void)dev;
	s->calls++;
	snprintf(s->attr, sizeof(s->attr), "%s", attr);
	snprintf(s->value, sizeof(s->value), "%.*s", (int)len, value);
	return 0;
}

static int on_chn_attr(struct iio_channel *ch, const char *attr, const char *value, size_t len,
		       void *data)
{
	(void)ch;
	return on_attr(NULL, attr, value, len, data);
}

/* ---- READ without an attribute ------------------------------------------ */

Test(iiod_extras, a_read_of_every_attribute_matches_the_single_reads)
{
	struct daemon dm;
	char *body, line[64], single[64];
	const char *value;
	long n, off = 0;
	int fd;

	daemon_start(&dm, with_iiod);
	fd = iiod_port_connect(&dm, 0);
	/* the single READ first */
	n = read_reply(fd, "READ sim sampling_frequency\r\n", &body);
	cr_assert_eq(n, 8);
	snprintf(single, sizeof(single), "%s", body);
	cr_assert_str_eq(single, "1000000");
	free(body);
	/* the sim has one device attribute: one entry, as libiio lays it out */
	n = read_reply(fd, "READ sim \r\n", &body);
	cr_assert_eq(n, 12, "%ld bytes", n);
	cr_assert_eq(next_entry(body, n, &off, &value), 8);
	cr_assert_str_eq(value, single);
	cr_assert_eq(off, n);
	free(body);
	/* by name too, as iiod finds devices */
	n = read_reply(fd, "READ iiostream-sim\r\n", &body);
	cr_assert_eq(n, 12, "%ld bytes", n);
	free(body);
	/* its channels and its buffer have no attributes: empty, not refused */
	n = read_reply(fd, "READ sim INPUT voltage0 \r\n", &body);
	cr_assert_eq(n, 0);
	free(body);
	n = read_reply(fd, "READ sim BUFFER \r\n", &body);
	cr_assert_eq(n, 0);
	free(body);
	/* what is not there */
	cr_assert_eq(read_reply(fd, "READ nosuch \r\n", &body), -ENODEV);
	cr_assert_eq(read_reply(fd, "READ sim INPUT voltage7 \r\n", &body), -ENODEV);
	cr_assert_eq(read_reply(fd, "READ sim OUTPUT voltage0 \r\n", &body), -ENODEV);
	expect_reply(fd, "READ sim INPUT\r\n", "-22");
	/* a write shows in the next read of all */
	iiod_port_send(fd, "WRITE sim sampling_frequency 7\r\n250000\0", 39);
	iiod_port_read_line(fd, line, sizeof(line));
	cr_assert_str_eq(line, "7");
	n = read_reply(fd, "READ sim\r\n", &body);
	off = 0;
	cr_assert_eq(next_entry(body, n, &off, &value), 7);
	cr_assert_str_eq(value, "250000");
	free(body);
	close(fd);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* libiio's own read-all (iio_device_attr_read_all() sends "READ sim ")
 * parses the reply and hands every attribute to its callback by name. */
Test(iiod_extras, libiio_reads_every_attribute_at_once)
{
	struct seen s = { 0 };
	struct iio_context *ctx;
	struct iio_device *dev;
	struct iio_channel *ch;
	struct daemon dm;
	char value[64];

	daemon_start(&dm, with_iiod);
	ctx = libiio_context(&dm);
	dev = iio_context_find_device(ctx, "sim");
	cr_assert_not_null(dev);
	cr_assert_eq(iio_device_attr_read_all(dev, on_attr, &s), 0);
	cr_assert_eq(s.calls, 1);
	cr_assert_str_eq(s.attr, "sampling_frequency");
	cr_assert_gt(iio_device_attr_read(dev, "sampling_frequency", value, sizeof(value)), 0);
	cr_assert_str_eq(s.value, value);
	cr_assert_str_eq(s.value, "1000000");
	ch = iio_device_find_channel(dev, "voltage1", false);
	cr_assert_not_null(ch);
	s.calls = 0;
	cr_assert_eq(iio_channel_attr_read_all(ch, on_chn_attr, &s), 0);
	cr_assert_eq(s.calls, 0);
	cr_assert_eq(iio_device_buffer_attr_read_all(dev, on_attr, &s), 0);
	cr_assert_eq(s.calls, 0);
	iio_context_destroy(ctx);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* ---- debug attributes ---------------------------------------------------- */

Test(iiod_extras, a_sim_device_has_no_debug_attributes)
{
	struct seen s = { 0 };
	struct iio_context *ctx;
	struct iio_device *dev;
	struct daemon dm;
	char *body;
	int fd;

	daemon_start(&dm, with_iiod);
	fd = iiod_port_connect(&dm, 0);
	cr_assert_eq(read_reply(fd, "READ sim DEBUG \r\n", &body), 0);
	free(body);
	expect_reply(fd, "READ sim DEBUG direct_reg_access\r\n", "-2");
	expect_reply(fd, "READ nosuch DEBUG direct_reg_access\r\n", "-19");
	expect_reply(fd, "READ nosuch DEBUG\r\n", "-19");
	/* --allow-write is unset: the write is allowed, and finds nothing */
	iiod_port_send(fd, "WRITE sim DEBUG direct_reg_access 4\r\n0x0\0", 41);
	expect_reply(fd, "", "-2");
	close(fd);
	/* none listed in the XML, and libiio's read of all of them is empty */
	ctx = libiio_context(&dm);
	dev = iio_context_find_device(ctx, "sim");
	cr_assert_not_null(dev);
	cr_assert_eq(iio_device_get_debug_attrs_count(dev), 0);
	cr_assert_eq(iio_device_debug_attr_read_all(dev, on_attr, &s), 0);
	cr_assert_eq(s.calls, 0);
	iio_context_destroy(ctx);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* ---- triggers ------------------------------------------------------------ */

Test(iiod_extras, a_sim_device_takes_no_trigger)
{
	const struct iio_device *trig = NULL;
	struct iio_context *ctx;
	struct iio_device *dev;
	struct daemon dm;
	char out[160], err[512];
	char *text = NULL;
	FILE *f;
	size_t cap = 0;
	int fd, r;

	daemon_start(&dm, with_iiod);
	fd = iiod_port_connect(&dm, 0);
	/* as iiod answers for a device without trigger/current_trigger */
	expect_reply(fd, "GETTRIG sim\r\n", "-2");
	expect_reply(fd, "GETTRIG nosuch\r\n", "-19");
	expect_reply(fd, "SETTRIG sim\r\n", "-2");
	expect_reply(fd, "SETTRIG sim trigger0\r\n", "-2");
	expect_reply(fd, "SETTRIG nosuch\r\n", "-19");
	/* the connection goes on */
	expect_reply(fd, "VERSION\r\n", "0.24.v0.24  ");
	close(fd);
	ctx = libiio_context(&dm);
	dev = iio_context_find_device(ctx, "sim");
	cr_assert_not_null(dev);
	cr_assert_eq(iio_device_get_trigger(dev, &trig), -ENOENT);
	cr_assert_eq(iio_device_set_trigger(dev, NULL), -ENOENT);
	for (unsigned i = 0; i < iio_context_get_devices_count(ctx); i++)
		cr_assert(!iio_device_is_trigger(iio_context_get_device(ctx, i)));
	iio_context_destroy(ctx);
	/* iio_info says so, and still takes the whole context */
	snprintf(out, sizeof(out), "%s/info.txt", dm.dir);
	r = run_command((const char *const[]){ "iio_info", "-T", HARNESS_STR(HANG_MS), "-u",
					       dm.iiod_uri, NULL },
			out, err, sizeof(err), HANG_MS);
	if (r != 0)
		daemon_dump_log(&dm);
	cr_assert_eq(r, 0, "iio_info -u %s: %s", dm.iiod_uri, err);
	f = fopen(out, "r");
	cr_assert_not_null(f);
	cr_assert_gt(getdelim(&text, &cap, '\0', f), 0);
	fclose(f);
	cr_assert(strstr(text, "No trigger on this device"), "%s", text);
	cr_assert(strstr(text, "sampling_frequency value: 1000000"), "%s", text);
	free(text);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* SETTRIG and a debug WRITE are writes: a libiio client (no certificate)
 * may make them only when --allow-write is unset or names "plain". */
Test(iiod_extras, settrig_and_debug_writes_follow_allow_write)
{
	static const char *const certs_only[] = { "--iiod-listen", "127.0.0.1:0", "--allow-write",
						  "cn:lab-pc", NULL };
	static const char *const with_plain[] = { "--iiod-listen", "127.0.0.1:0", "--allow-write",
						  "cn:lab-pc,plain", NULL };
	struct iios_stats st;
	struct daemon dm;
	int fd;

	daemon_start(&dm, certs_only);
	fd = iiod_port_connect(&dm, 0);
	expect_reply(fd, "SETTRIG sim\r\n", "-13");
	expect_reply(fd, "SETTRIG sim trigger0\r\n", "-13");
	iiod_port_send(fd, "WRITE sim DEBUG direct_reg_access 4\r\n0x0\0", 41);
	expect_reply(fd, "", "-13");
	/* reading is not restricted */
	expect_reply(fd, "GETTRIG sim\r\n", "-2");
	expect_reply(fd, "READ sim DEBUG\r\n", "0");
	close(fd);
	cr_assert(daemon_log_contains(&dm, "trigger change (SETTRIG) refused by --allow-write"));
	cr_assert_eq(daemon_log_count(&dm, "attribute write refused by --allow-write"), 1);
	daemon_stats(&dm, &st);
	cr_assert_eq(st.requests_refused, 3, "%llu", (unsigned long long)st.requests_refused);
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);

	daemon_start(&dm, with_plain);
	fd = iiod_port_connect(&dm, 0);
	expect_reply(fd, "SETTRIG sim\r\n", "-2");
	iiod_port_send(fd, "WRITE sim DEBUG direct_reg_access 4\r\n0x0\0", 41);
	expect_reply(fd, "", "-2");
	close(fd);
	cr_assert(!daemon_log_contains(&dm, "refused by --allow-write"));
	cr_assert_eq(daemon_stop(&dm, HANG_MS), 0);
}

/* ---- the context XML --------------------------------------------------- */

static char *dup_s(const char *s)
{
	char *d = strdup(s);

	cr_assert_not_null(d);
	return d;
}

/* A board's devices as devices_iio.c describes them: an ADC with a debug
 * attribute and a trigger, and the trigger itself (no channels). libiio
 * parses our XML of them with its own DTD, as a network client does. */
Test(iiod_extras, libiio_parses_debug_attributes_and_trigger_devices_in_our_xml)
{
	Iiostream__DeviceDesc adc = IIOSTREAM__DEVICE_DESC__INIT, trg = IIOSTREAM__DEVICE_DESC__INIT;
	Iiostream__ChannelDesc ch = IIOSTREAM__CHANNEL_DESC__INIT;
	Iiostream__ScanFormat fmt = IIOSTREAM__SCAN_FORMAT__INIT;
	Iiostream__DeviceDesc *devs_v[2] = { &adc, &trg };
	Iiostream__ChannelDesc *chans[1] = { &ch };
	Iiostream__Devices devs = IIOSTREAM__DEVICES__INIT;
	char *adc_attrs[] = { dup_s("sampling_frequency") };
	char *adc_debug[] = { dup_s("direct_reg_access"), dup_s("pseudorandom_err_check") };
	char *trg_attrs[] = { dup_s("sampling_frequency") };
	struct iio_context *ctx;
	struct iio_device *d0, *d1;
	char *xml;
	size_t len;

	fmt.is_signed = true;
	fmt.bits = 16;
	fmt.storage_bits = 16;
	ch.id = dup_s("voltage0");
	ch.name = dup_s("");
	ch.type = dup_s("voltage");
	ch.scan_element = true;
	ch.format = &fmt;
	adc.id = dup_s("iio:device0");
	adc.name = dup_s("iiostream-sim");
	adc.label = dup_s("");
	adc.channels = chans;
	adc.n_channels = 1;
	adc.attrs = adc_attrs;
	adc.n_attrs = 1;
	adc.debug_attrs = adc_debug;
	adc.n_debug_attrs = 2;
	adc.trigger = dup_s("trigger0");
	trg.id = dup_s("trigger0");
	trg.name = dup_s("iiostream-sim-trig");
	trg.label = dup_s("");
	trg.attrs = trg_attrs;
	trg.n_attrs = 1;
	trg.is_trigger = true;
	devs.devices = devs_v;
	devs.n_devices = 2;

	xml = iiod_xml_context(&devs, "test", &len);
	cr_assert_not_null(xml);
	ctx = iio_create_xml_context_mem(xml, len);
	cr_assert_not_null(ctx, "libiio refused our XML (%s):\n%s", strerror(errno), xml);
	d0 = iio_context_find_device(ctx, "iio:device0");
	d1 = iio_context_find_device(ctx, "trigger0");
	cr_assert_not_null(d0);
	cr_assert_not_null(d1);
	cr_assert_eq(iio_device_get_debug_attrs_count(d0), 2);
	cr_assert_str_eq(iio_device_get_debug_attr(d0, 0), "direct_reg_access");
	cr_assert_str_eq(iio_device_get_debug_attr(d0, 1), "pseudorandom_err_check");
	cr_assert_eq(iio_device_get_attrs_count(d0), 1);
	cr_assert(!iio_device_is_trigger(d0));
	/* what a network client's GETTRIG reply is matched against */
	cr_assert(iio_device_is_trigger(d1));
	cr_assert_str_eq(iio_device_get_name(d1), "iiostream-sim-trig");
	cr_assert_eq(iio_device_get_debug_attrs_count(d1), 0);
	iio_context_destroy(ctx);
	free(xml);
	free(ch.id);
	free(ch.name);
	free(ch.type);
	free(adc.id);
	free(adc.name);
	free(adc.label);
	free(adc.trigger);
	free(trg.id);
	free(trg.name);
	free(trg.label);
	free(adc_attrs[0]);
	free(adc_debug[0]);
	free(adc_debug[1]);
	free(trg_attrs[0]);
}
