// SPDX-License-Identifier: MIT
/*
 * The send queue (server/tx/send_queue.c) with no daemon and no socket: the
 * real `sim` source and block pool (the pool's clock is the test's), frames
 * pushed, "sent" by telling the queue how many bytes a socket took, pinned
 * and released as zero-copy completions and sendfile acks would.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "pool_fixture.h"
#include "send_queue.h"
#include "iiostream/frame.h"

#define BLOCKS 8
#define BLOCK_SIZE 4096
#define SCAN_BYTES 4 /* two channels of int16 */

static struct pool_fixture fx;
static struct send_queue q;
static struct stream_cursor cur; /* the one stream of most tests */

static void setup(void)
{
	pool_fixture_open(&fx, 2, BLOCK_SIZE, BLOCKS);
	cr_assert_eq(fx.src->ops->enable(fx.src), 0);
	send_queue_init(&q);
	memset(&cur, 0, sizeof(cur));
	stream_cursor_restart(&cur, 0, SCAN_BYTES);
}

/* Every test ends with nothing held: each frame's reference was dropped. */
static void teardown(void)
{
	send_queue_clear(&q);
	cr_assert_eq(fx.pool.held, 0, "%u blocks still held", fx.pool.held);
	pool_fixture_close(&fx);
}

TestSuite(send_queue, .init = setup, .fini = teardown);

/* A filled block pushed to the queue; the caller's own reference dropped,
 * so the queue's frame holds the only one. */
static struct pool_block *push_block(void)
{
	struct pool_block *b = pool_fixture_next_block(&fx);

	cr_assert_eq(send_queue_push_block(&q, b, &cur), 0);
	block_pool_unref(b);
	return b;
}

static struct out_frame *nth(struct out_frame_list *l, int n)
{
	struct out_frame *f = TAILQ_FIRST(l);

	while (f && n--)
		f = TAILQ_NEXT(f, link);
	return f;
}

/* Take the whole front frame, as a socket that took all of it. */
static void take_front(void)
{
	struct out_frame *f = TAILQ_FIRST(&q.outq);

	send_queue_encode(&q, f);
	send_queue_taken(&q, out_frame_len(f) - f->sent);
}

static void assert_counts(uint32_t queued, uint32_t pinned)
{
	struct out_frame *f;
	uint32_t nq = 0, np = 0;

	TAILQ_FOREACH(f, &q.outq, link)
		nq += f->blk != NULL;
	TAILQ_FOREACH(f, &q.pinned, link)
		np += f->blk != NULL;
	cr_assert_eq(q.queued_blocks, queued, "queued_blocks %u", q.queued_blocks);
	cr_assert_eq(q.pinned_blocks, pinned, "pinned_blocks %u", q.pinned_blocks);
	cr_assert_eq(nq, queued, "the count says %u queued, the list holds %u", queued, nq);
	cr_assert_eq(np, pinned, "the count says %u pinned, the list holds %u", pinned, np);
	cr_assert_eq(send_queue_blocks(&q), queued + pinned);
	cr_assert_eq(fx.pool.held, queued + pinned, "the pool has %u blocks out", fx.pool.held);
}

Test(send_queue, a_queued_block_holds_one_reference_until_taken_whole)
{
	struct pool_block *b = push_block();
	struct out_frame *f = TAILQ_FIRST(&q.outq);

	cr_assert_eq(b->refs, 1, "the frame holds exactly one reference");
	assert_counts(1, 0);
	send_queue_encode(&q, f);
	send_queue_taken(&q, out_frame_len(f) - 1);
	cr_assert_eq(f->sent, out_frame_len(f) - 1, "a partial send keeps its offset");
	assert_counts(1, 0);
	cr_assert_eq(q.blocks_sent, 0);
	send_queue_taken(&q, 1);
	assert_counts(0, 0);
	cr_assert_eq(q.blocks_sent, 1);
	cr_assert_eq(q.bytes_sent, b->bytes_used);
}

Test(send_queue, control_frames_count_bytes_and_hold_no_block)
{
	static const uint8_t a[10] = { 1 }, c[20] = { 2 };

	cr_assert_eq(send_queue_push_control(&q, a, sizeof(a)), 0);
	push_block();
	cr_assert_eq(send_queue_push_control(&q, c, sizeof(c)), 0);
	cr_assert_eq(q.queued_control, 30);
	assert_counts(1, 0);
	cr_assert_eq(send_queue_droppable(&q, NULL), 1, "a control frame is never droppable");
	send_queue_taken(&q, sizeof(a));
	cr_assert_eq(q.queued_control, 20);
	cr_assert_eq(memcmp(nth(&q.outq, 1)->head, c, sizeof(c)), 0, "a copy of the frame");
	send_queue_drop_unsent(&q, NULL);
	assert_counts(0, 0);
	cr_assert_eq(q.queued_control, 20, "dropping blocks leaves control frames");
	cr_assert_eq(q.blocks_sent, 0);
}

Test(send_queue, gather_gives_head_then_payload_from_the_offset_sent)
{
	struct pool_block *b = push_block();
	struct iovec iov[4];
	size_t payload, head;

	cr_assert_eq(send_queue_gather(&q, iov, 4, 1 << 20, &payload), 2);
	head = TAILQ_FIRST(&q.outq)->head_len;
	cr_assert_eq(iov[0].iov_len, head);
	cr_assert_eq(iov[1].iov_base, (void *)b->data);
	cr_assert_eq(payload, b->bytes_used);
	send_queue_taken(&q, head + 100);
	cr_assert_eq(send_queue_gather(&q, iov, 4, 1 << 20, &payload), 1, "the head is sent");
	cr_assert_eq(iov[0].iov_base, (void *)(b->data + 100));
	cr_assert_eq(payload, b->bytes_used - 100);
	cr_assert_eq(send_queue_gather(&q, iov, 1, 1 << 20, &payload), 0,
		     "a frame needs room for two pieces");
}

Test(send_queue, dropping_unsent_blocks_keeps_a_started_frame)
{
	struct pool_block *first = push_block();

	push_block();
	push_block();
	send_queue_encode(&q, TAILQ_FIRST(&q.outq));
	send_queue_taken(&q, 1);
	send_queue_drop_unsent(&q, NULL);
	assert_counts(1, 0);
	cr_assert_eq(TAILQ_FIRST(&q.outq)->blk, first, "the started frame stays, to keep framing");
}

Test(send_queue, drop_oldest_takes_the_oldest_frame_not_encoded)
{
	struct pool_block *b0 = push_block(), *b2;

	push_block();
	b2 = push_block();
	send_queue_encode(&q, TAILQ_FIRST(&q.outq));
	cr_assert_eq(send_queue_droppable(&q, NULL), 2, "an encoded head fixed lost_before: kept");
	send_queue_drop_oldest(&q, NULL);
	assert_counts(2, 0);
	cr_assert_eq(nth(&q.outq, 0)->blk, b0);
	cr_assert_eq(nth(&q.outq, 1)->blk, b2);
}

Test(send_queue, a_dropped_block_shows_as_lost_before_the_next)
{
	struct pool_block *b1;
	Iiostream__Envelope *env;
	struct out_frame *f;

	push_block();
	b1 = push_block();
	push_block();
	take_front();
	cr_assert_eq(TAILQ_FIRST(&q.outq)->blk, b1);
	send_queue_drop_oldest(&q, NULL);
	f = TAILQ_FIRST(&q.outq);
	send_queue_encode(&q, f);
	cr_assert_gt(iios_frame_parse(f->head, f->head_len, 4096, &env), 0);
	cr_assert_eq(env->msg_case, IIOSTREAM__ENVELOPE__MSG_BLOCK);
	cr_assert_eq(env->block->lost_before, 1);
	cr_assert_eq(env->block->lost_samples, b1->bytes_used / SCAN_BYTES);
	cr_assert_eq(env->block->payload_len, f->blk->bytes_used);
	iios_frame_free(env);
	take_front();
	assert_counts(0, 0);
}

Test(send_queue, zero_copy_frames_are_pinned_until_their_last_send_completes)
{
	struct zc_tracker zc = { .done = 0 };
	struct zc_range r0 = { 0, 0, false }, r1 = { 1, 1, false };
	struct out_frame *f0;
	size_t n;

	push_block();
	push_block();
	f0 = TAILQ_FIRST(&q.outq);
	send_queue_encode(&q, f0);
	send_queue_encode(&q, TAILQ_NEXT(f0, link));
	/* send 0: all of frame 0 and 5 bytes of frame 1 */
	n = out_frame_len(f0) + 5;
	send_queue_mark_zc(&q, n, 0);
	send_queue_taken(&q, n);
	assert_counts(1, 1);
	/* send 1: the rest of frame 1 */
	n = out_frame_len(TAILQ_FIRST(&q.outq)) - 5;
	send_queue_mark_zc(&q, n, 1);
	send_queue_taken(&q, n);
	assert_counts(0, 2);
	cr_assert_eq(q.blocks_sent, 2, "taken whole counts as sent, pinned or not");
	send_queue_release(&q, zc.done, 0);
	assert_counts(0, 2);
	cr_assert_eq(zc_tracker_complete(&zc, &r0), 0);
	send_queue_release(&q, zc.done, 0);
	assert_counts(0, 1);
	cr_assert_eq(zc_tracker_complete(&zc, &r1), 0);
	send_queue_release(&q, zc.done, 0);
	assert_counts(0, 0);
}

Test(send_queue, a_completion_ahead_of_a_gap_releases_nothing)
{
	struct zc_tracker zc = { .done = 0 };
	struct zc_range r0 = { 0, 0, false }, r1 = { 1, 1, true };

	push_block();
	push_block();
	for (uint32_t id = 0; id < 2; id++) {
		struct out_frame *f = TAILQ_FIRST(&q.outq);

		send_queue_encode(&q, f);
		send_queue_mark_zc(&q, out_frame_len(f), id);
		take_front();
	}
	assert_counts(0, 2);
	cr_assert_eq(zc_tracker_complete(&zc, &r1), 0);
	send_queue_release(&q, zc.done, 0);
	assert_counts(0, 2);
	cr_assert_eq(zc_tracker_complete(&zc, &r0), 0);
	send_queue_release(&q, zc.done, 0);
	assert_counts(0, 0);
}

/* As the sendfile transport does: a block frame taken whole waits for the
 * peer's ack of its last byte (ack_end, a stream offset); `acked` is what
 * the socket took minus SIOCOUTQ. */
Test(send_queue, sendfile_frames_are_pinned_until_the_peer_acked_them)
{
	uint64_t stream = 0;

	push_block();
	push_block();
	for (int i = 0; i < 2; i++) {
		struct out_frame *f = TAILQ_FIRST(&q.outq);

		send_queue_encode(&q, f);
		stream += out_frame_len(f);
		f->ack_pending = true;
		f->ack_end = stream;
		take_front();
	}
	assert_counts(0, 2);
	send_queue_release(&q, 0, nth(&q.pinned, 0)->ack_end - 1);
	assert_counts(0, 2);
	send_queue_release(&q, 0, nth(&q.pinned, 0)->ack_end);
	assert_counts(0, 1);
	send_queue_release(&q, 0, stream - 1);
	assert_counts(0, 1);
	send_queue_release(&q, 0, stream);
	assert_counts(0, 0);
}

Test(send_queue, clear_gives_back_queued_and_pinned_blocks)
{
	static const uint8_t ping[8];

	push_block();
	push_block();
	cr_assert_eq(send_queue_push_control(&q, ping, sizeof(ping)), 0);
	send_queue_encode(&q, TAILQ_FIRST(&q.outq));
	send_queue_mark_zc(&q, out_frame_len(TAILQ_FIRST(&q.outq)), 0);
	take_front();
	assert_counts(1, 1);
	send_queue_clear(&q);
	assert_counts(0, 0);
	cr_assert_eq(q.queued_control, 0);
	cr_assert(send_queue_idle(&q));
}

/* The head of the front frame, encoded now. */
static Iiostream__BlockHeader *front_header(Iiostream__Envelope **env)
{
	struct out_frame *f = TAILQ_FIRST(&q.outq);

	send_queue_encode(&q, f);
	cr_assert_gt(iios_frame_parse(f->head, f->head_len, 4096, env), 0);
	cr_assert_eq((*env)->msg_case, IIOSTREAM__ENVELOPE__MSG_BLOCK);
	return (*env)->block;
}

/* One connection, two subscriptions: each stream counts its own frames,
 * is dropped on its own, and its headers carry its id and its own losses. */
Test(send_queue, two_streams_keep_their_own_counts_ids_and_continuity)
{
	static struct stream_cursor other;
	struct pool_block *b[4];
	Iiostream__Envelope *env;
	int i;

	stream_cursor_restart(&other, 7, SCAN_BYTES);
	for (i = 0; i < 4; i++) {
		b[i] = pool_fixture_next_block(&fx);
		/* sequences 0, 1 to the first stream, 2 to the other, 3 to the first */
		cr_assert_eq(send_queue_push_block(&q, b[i], i == 2 ? &other : &cur), 0);
		block_pool_unref(b[i]);
	}
	cr_assert_eq(stream_cursor_blocks(&cur), 3);
	cr_assert_eq(stream_cursor_blocks(&other), 1);
	cr_assert_eq(send_queue_droppable(&q, &other), 1);
	cr_assert_eq(send_queue_droppable(&q, NULL), 4);
	for (i = 0; i < 4; i++) {
		Iiostream__BlockHeader *h = front_header(&env);

		cr_assert_eq(h->stream_id, i == 2 ? 7u : 0u, "block %d", i);
		/* block 3 follows block 1 on its stream: block 2 is not its loss */
		cr_assert_eq(h->lost_before, i == 3 ? 1u : 0u, "block %d", i);
		iios_frame_free(env);
		take_front();
	}
	cr_assert_eq(stream_cursor_blocks(&cur), 0);
	cr_assert_eq(stream_cursor_blocks(&other), 0);
}

Test(send_queue, dropping_one_stream_leaves_the_other)
{
	static struct stream_cursor other;
	struct pool_block *b;
	int i;

	stream_cursor_restart(&other, 1, SCAN_BYTES);
	for (i = 0; i < 4; i++) {
		b = pool_fixture_next_block(&fx);
		cr_assert_eq(send_queue_push_block(&q, b, i % 2 ? &other : &cur), 0);
		block_pool_unref(b);
	}
	send_queue_drop_oldest(&q, &other);
	cr_assert_eq(stream_cursor_blocks(&other), 1);
	cr_assert_eq(stream_cursor_blocks(&cur), 2);
	cr_assert_eq(TAILQ_FIRST(&q.outq)->cur, &cur, "the first stream's oldest stays");
	send_queue_drop_unsent(&q, &cur);
	cr_assert_eq(stream_cursor_blocks(&cur), 0);
	cr_assert_eq(stream_cursor_blocks(&other), 1, "unsubscribing one stream keeps the other");
	assert_counts(1, 0);
}
