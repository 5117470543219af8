// SPDX-License-Identifier: MIT
/*
 * Devices and attributes (DevicesRequest, AttrRead/AttrWrite routing) against
 * the real daemon on the sim source. This host has no IIO devices, so the
 * context is the sim's own; tests/module/guest-module.sh checks the same
 * through libiio's local context with the kernel module's device.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static const char *const four_channels[] = { "--channels", "4", "--rate", "1000000", NULL };

static bool has(char **names, uint32_t n, const char *name)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

Test(devices, the_sim_describes_its_device_channels_and_attributes)
{
	struct iios_devices *d = NULL;
	const struct iios_device_desc *sim = NULL;
	struct iios_client *c;
	struct daemon dm;
	uint32_t i;

	daemon_start(&dm, four_channels);
	c = client_connect(&dm);
	cr_assert_eq(iios_devices(c, &d), 0, "%s", iios_errmsg(c));
	cr_assert(strcmp(d->context, "sim") == 0 || strcmp(d->context, "local+sim") == 0, "%s",
		  d->context);
	for (i = 0; i < d->n_devices; i++)
		if (strcmp(d->devices[i].id, "sim") == 0)
			sim = &d->devices[i];
	cr_assert_not_null(sim, "no sim device in %u devices", d->n_devices);
	cr_assert_str_eq(sim->name, "iiostream-sim");
	cr_assert(sim->streamed);
	cr_assert_eq(sim->n_channels, 4);
	for (i = 0; i < 4; i++) {
		const struct iios_channel_desc *ch = &sim->channels[i];
		char id[16];

		snprintf(id, sizeof(id), "voltage%u", i);
		cr_assert_str_eq(ch->id, id);
		cr_assert_str_eq(ch->type, "voltage");
		cr_assert(!ch->output && ch->scan_element);
		cr_assert_eq(ch->index, (int32_t)i);
		cr_assert(ch->is_signed && ch->bits == 16 && ch->storage_bits == 16 && !ch->shift);
	}
	cr_assert(has(sim->attrs, sim->n_attrs, "sampling_frequency"));
	iios_devices_free(d);
	iios_close(c);
	cr_assert_eq(daemon_stop(&dm, 5000), 0);
}

Test(devices, attributes_are_routed_by_device_channel_and_kind)
{
	struct iios_attr_ref ref = { .attr = "sampling_frequency" };
	struct iios_stream_info info;
	struct iios_client *c;
	struct daemon dm;
	char value[64];

	daemon_start(&dm, four_channels);
	c = client_connect(&dm);
	/* the streamed device by default, by its id and by its name */
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), 0, "%s", iios_errmsg(c));
	cr_assert_str_eq(value, "1000000");
	ref.device = "sim";
	cr_assert_eq(iios_attr_set(c, &ref, "250000", value, sizeof(value)), 0, "%s",
		     iios_errmsg(c));
	cr_assert_str_eq(value, "250000");
	ref.device = "iiostream-sim";
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), 0, "%s", iios_errmsg(c));
	cr_assert_str_eq(value, "250000");
	cr_assert_eq(iios_subscribe(c, 0, &info), 0, "%s", iios_errmsg(c));
	cr_assert_eq(info.sample_rate, 250000, "the stream did not take the new rate");
	cr_assert_eq(iios_unsubscribe(c), 0, "%s", iios_errmsg(c));

	/* what is not there, said and survived */
	ref.device = "no-such-device";
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), -ENODEV);
	cr_assert(strstr(iios_errmsg(c), "no-such-device"), "%s", iios_errmsg(c));
	ref.device = NULL;
	ref.buffer = true;
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), -ENOENT);
	ref.buffer = false;
	ref.channel = "voltage0";
	cr_assert_eq(iios_attr_get(c, &ref, value, sizeof(value)), -ENOENT);
	ref.channel = NULL;
	ref.attr = "no_such_attr";
	cr_assert_eq(iios_attr_set(c, &ref, "1", value, sizeof(value)), -ENOENT);
	cr_assert_eq(iios_ping(c, NULL), 0, "the connection did not survive: %s", iios_errmsg(c));
	iios_close(c);
	cr_assert_eq(daemon_stop(&dm, 5000), 0);
}
