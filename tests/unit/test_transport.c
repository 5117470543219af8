// SPDX-License-Identifier: MIT
/*
 * server/tx/transport.c: transport names, and the zero-copy completion
 * tracker. Notification ids count successful MSG_ZEROCOPY calls and wrap
 * at 2^32; the kernel reports inclusive ranges, in order for TCP, but the
 * tracker must not release a block whose send is behind a gap.
 */
#include <criterion/criterion.h>

#include <errno.h>

#include "transport.h"

static struct zc_range rng(uint32_t lo, uint32_t hi)
{
	return (struct zc_range){ .lo = lo, .hi = hi };
}

Test(transport, names_round_trip_and_typos_are_refused)
{
	static const char *const names[] = { "auto", "copy", "zerocopy", "sendfile" };
	size_t i;

	for (i = 0; i < 4; i++) {
		int t = transport_parse(names[i]);

		cr_assert_geq(t, 0, "%s", names[i]);
		cr_assert_str_eq(transport_name((enum transport)t), names[i]);
	}
	cr_assert_eq(transport_parse("zero-copy"), -1);
	cr_assert_eq(transport_parse(""), -1);
	cr_assert_eq(transport_parse("COPY"), -1);
}

Test(transport, zc_before_follows_the_wrapping_id_space)
{
	cr_assert(zc_before(1, 2));
	cr_assert(!zc_before(2, 2));
	cr_assert(!zc_before(3, 2));
	cr_assert(zc_before(0xfffffffeu, 1), "an id just before the wrap is earlier");
	cr_assert(!zc_before(1, 0xfffffffeu));
}

Test(transport, in_order_ranges_advance_done)
{
	struct zc_tracker t = { .done = 0 };
	struct zc_range r;

	r = rng(0, 0);
	cr_assert_eq(zc_tracker_complete(&t, &r), 0);
	cr_assert_eq(t.done, 1);
	r = rng(1, 9);
	cr_assert_eq(zc_tracker_complete(&t, &r), 0);
	cr_assert_eq(t.done, 10);
}

Test(transport, a_range_across_the_wrap_completes_through_zero)
{
	struct zc_tracker t = { .done = 0xfffffff0u };
	struct zc_range r = rng(0xfffffff0u, 5);

	cr_assert_eq(zc_tracker_complete(&t, &r), 0);
	cr_assert_eq(t.done, 6);
}

Test(transport, an_early_range_waits_until_the_gap_closes)
{
	struct zc_tracker t = { .done = 10 };
	struct zc_range early = rng(15, 20), gap = rng(10, 14);

	cr_assert_eq(zc_tracker_complete(&t, &early), 0);
	cr_assert_eq(t.done, 10, "ids 10..14 are still in flight");
	cr_assert_eq(zc_tracker_complete(&t, &gap), 0);
	cr_assert_eq(t.done, 21, "the waiting range is merged once the gap closes");
	cr_assert_eq(t.nearly, 0);
}

Test(transport, early_ranges_merge_in_any_order)
{
	struct zc_tracker t = { .done = 0 };
	struct zc_range a = rng(30, 39), b = rng(10, 19), c = rng(20, 29), first = rng(0, 9);

	cr_assert_eq(zc_tracker_complete(&t, &a), 0);
	cr_assert_eq(zc_tracker_complete(&t, &b), 0);
	cr_assert_eq(zc_tracker_complete(&t, &c), 0);
	cr_assert_eq(t.done, 0);
	cr_assert_eq(zc_tracker_complete(&t, &first), 0);
	cr_assert_eq(t.done, 40);
	cr_assert_eq(t.nearly, 0);
}

Test(transport, an_old_or_overlapping_range_never_moves_done_back)
{
	struct zc_tracker t = { .done = 100 };
	struct zc_range old = rng(50, 60), overlap = rng(90, 105);

	cr_assert_eq(zc_tracker_complete(&t, &old), 0);
	cr_assert_eq(t.done, 100);
	cr_assert_eq(zc_tracker_complete(&t, &overlap), 0);
	cr_assert_eq(t.done, 106);
}

Test(transport, too_many_ranges_behind_a_gap_is_a_protocol_error)
{
	struct zc_tracker t = { .done = 0 };
	struct zc_range r;
	uint32_t i;

	for (i = 0; i < ZC_EARLY_MAX; i++) {
		r = rng(10 + 2 * i, 10 + 2 * i);
		cr_assert_eq(zc_tracker_complete(&t, &r), 0);
	}
	r = rng(100, 100);
	cr_assert_eq(zc_tracker_complete(&t, &r), -EPROTO);
	cr_assert_eq(t.done, 0, "nothing was released");
}
