// SPDX-License-Identifier: MIT
/*
 * server/tx/transport.c: transport names, and the zero-copy completion
 * tracker. Notification ids count successful MSG_ZEROCOPY calls and wrap
 * at 2^32; the kernel reports inclusive ranges, in order for TCP, but the
 * tracker must not release a block whose send is behind a gap.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* A connected TCP pair on loopback: fds[0] the daemon's side. */
static void loopback_pair(int fds[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(l, 0);
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l, 1), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	fds[1] = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(fds[1], (struct sockaddr *)&a, sizeof(a)), 0);
	fds[0] = accept(l, NULL, NULL);
	cr_assert_geq(fds[0], 0);
	close(l);
}

/* What a plain connection to a peer on this host uses, as Stats say it. */
static void assert_chosen(enum transport asked, bool tls, const char *label,
			  const struct tx_ops *ops)
{
	struct tx t;
	int fds[2];

	loopback_pair(fds);
	tx_init(&t, fds[0], 1, "127.0.0.1:1");
	tx_choose(&t, asked, tls);
	cr_assert_str_eq(tx_label(&t), label, "--transport %s", transport_name(asked));
	cr_assert_eq(t.ops, ops, "--transport %s: %s", transport_name(asked), t.ops->name);
	tx_free(&t);
	close(fds[0]);
	close(fds[1]);
}

/* Does this kernel (or emulator: qemu-user has no SO_ZEROCOPY) let a TCP
 * socket send with MSG_ZEROCOPY? */
static bool zerocopy_available(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	bool ok;

	cr_assert_geq(fd, 0);
	ok = setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) == 0;
	close(fd);
	return ok;
}

Test(transport, a_local_peer_gets_copy_except_where_zerocopy_was_asked)
{
	assert_chosen(TRANSPORT_COPY, false, "copy", &tx_copy_ops);
	assert_chosen(TRANSPORT_AUTO, false, "auto:copy", &tx_copy_ops);
	if (zerocopy_available())
		assert_chosen(TRANSPORT_ZEROCOPY, false, "zerocopy", &tx_zerocopy_ops);
	else /* asked for, not possible: copy sends, and the log says why */
		assert_chosen(TRANSPORT_ZEROCOPY, false, "copy", &tx_copy_ops);
	assert_chosen(TRANSPORT_SENDFILE, false, "sendfile:copy", &tx_copy_ops);
	assert_chosen(TRANSPORT_ZEROCOPY, true, "copy", &tx_copy_ops);
}

Test(transport, auto_falling_back_says_copied)
{
	struct tx t;
	int fds[2];

	loopback_pair(fds);
	tx_init(&t, fds[0], 1, "127.0.0.1:1");
	tx_choose(&t, TRANSPORT_AUTO, false);
	tx_set_ops(&t, &tx_copied_ops);
	cr_assert_str_eq(tx_label(&t), "auto:copied");
	cr_assert_not_null(t.ops->errqueue, "completions of sends made are still read");
	close(fds[0]);
	close(fds[1]);
}

/* The copy transport puts exactly the queued frames on the wire. */
Test(transport, copy_sends_control_frames_in_order_and_retires_them)
{
	static const uint8_t a[] = "first", b[] = "second";
	uint8_t got[sizeof(a) + sizeof(b)];
	struct tx t;
	int fds[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	tx_init(&t, fds[0], 1, "test");
	cr_assert_eq(tx_push_control(&t, a, sizeof(a)), 0);
	cr_assert_eq(tx_push_control(&t, b, sizeof(b)), 0);
	cr_assert_eq(t.q.queued_control, sizeof(a) + sizeof(b));
	cr_assert_eq(t.ops->send(&t), 0);
	cr_assert(tx_all_sent(&t));
	cr_assert_eq(t.q.queued_control, 0);
	cr_assert_eq(recv(fds[1], got, sizeof(got), MSG_WAITALL), (ssize_t)sizeof(got));
	cr_assert_eq(memcmp(got, a, sizeof(a)), 0);
	cr_assert_eq(memcmp(got + sizeof(a), b, sizeof(b)), 0);
	close(fds[0]);
	close(fds[1]);
}
