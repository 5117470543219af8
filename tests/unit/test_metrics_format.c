// SPDX-License-Identifier: MIT
/*
 * What /metrics and /api/v1/status are written with, and the counters they
 * read, with no daemon: the text buffer (server/base/strbuf.c), the latency
 * histogram (base/histogram.c), Prometheus' exposition format
 * (http/prom_text.c), the JSON writer and its escaper (http/json_out.c),
 * and the send queue counting a device's sent bytes and send latency as
 * each frame's send completes (tx/send_queue.c, on the real sim source
 * and block pool, the pool's clock the test's).
 */
#include <criterion/criterion.h>

#include <string.h>

#include "json_out.h"
#include "pool_fixture.h"
#include "prom_text.h"
#include "send_queue.h"
#include "strbuf.h"

#define MS 1000000ull

/* ---- strbuf ------------------------------------------------------------ */

Test(strbuf, grows_past_its_first_allocation_and_stays_terminated)
{
	struct strbuf sb = STRBUF_INIT;
	char big[1000];

	cr_assert_str_eq(strbuf_str(&sb), "");
	memset(big, 'x', sizeof(big));
	for (int i = 0; i < 100; i++)
		strbuf_append(&sb, big, sizeof(big));
	strbuf_printf(&sb, "%s=%d;", "end", 42);
	/* a printf longer than the room left: formatted again after growing */
	strbuf_printf(&sb, "%2000s|", "right");
	cr_assert_eq(strbuf_error(&sb), 0);
	cr_assert_eq(sb.len, 100000 + 7 + 2001);
	cr_assert_eq(strlen(strbuf_str(&sb)), sb.len);
	cr_assert(strncmp(sb.buf + 100000, "end=42;", 7) == 0);
	cr_assert_str_eq(sb.buf + sb.len - 6, "right|");
	strbuf_free(&sb);
	cr_assert_null(sb.buf);
}

/* ---- histogram --------------------------------------------------------- */

Test(histogram, bounds_are_inclusive_and_the_overflow_counts_only_in_inf)
{
	struct histogram h = { 0 };

	histogram_add(&h, 0);               /* le 100 µs */
	histogram_add(&h, 100000);          /* exactly 100 µs: le 100 µs too */
	histogram_add(&h, 100001);          /* le 250 µs */
	histogram_add(&h, 3 * MS);          /* le 5 ms */
	histogram_add(&h, 11000 * MS);      /* above 10 s */
	cr_assert_eq(h.count, 5);
	cr_assert_eq(h.sum_ns, 0 + 100000 + 100001 + 3 * MS + 11000 * MS);
	cr_assert_eq(histogram_cumulative(&h, 0), 2);
	cr_assert_eq(histogram_cumulative(&h, 1), 3);
	cr_assert_eq(histogram_cumulative(&h, 4), 3, "2.5 ms: the 3 ms one is above");
	cr_assert_eq(histogram_cumulative(&h, 5), 4);
	cr_assert_eq(histogram_cumulative(&h, HISTOGRAM_BUCKETS - 1), 4, "10 s");
	cr_assert_eq(histogram_cumulative(&h, HISTOGRAM_BUCKETS), h.count);
	for (unsigned i = 1; i < HISTOGRAM_BUCKETS; i++)
		cr_assert_gt(histogram_bounds_ns[i], histogram_bounds_ns[i - 1]);
}

/* ---- Prometheus text --------------------------------------------------- */

static char *render_label(const char *value)
{
	struct strbuf sb = STRBUF_INIT;
	struct prom_label l = { "device", value };

	prom_u64(&sb, "iiostream_x_total", &l, 1, 7);
	cr_assert_eq(strbuf_error(&sb), 0);
	return sb.buf;
}

Test(prom_text, label_values_escape_backslash_quote_and_newline)
{
	char *s = render_label("a\\b\"c\nd");

	cr_assert_str_eq(s, "iiostream_x_total{device=\"a\\\\b\\\"c\\nd\"} 7\n");
	free(s);
}

Test(prom_text, bytes_that_are_not_utf8_become_the_replacement_character)
{
	/* a lone continuation byte, a truncated 3-byte sequence, an overlong
	 * '/', a surrogate; é (2 bytes) and € (3 bytes) pass */
	char *s = render_label("\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80|\xc3\xa9\xe2\x82\xac");

	cr_assert_str_eq(s, "iiostream_x_total{device=\""
			    "\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
			    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xc3\xa9\xe2\x82\xac\"} 7\n");
	free(s);
}

Test(prom_text, help_escapes_backslash_and_newline_but_keeps_quotes)
{
	struct strbuf sb = STRBUF_INIT;

	prom_family(&sb, "iiostream_y_total", "counter", "say \"hi\"\\\nthen");
	prom_u64(&sb, "iiostream_y_total", NULL, 0, 0);
	cr_assert_str_eq(strbuf_str(&sb), "# HELP iiostream_y_total say \"hi\"\\\\\\nthen\n"
					  "# TYPE iiostream_y_total counter\n"
					  "iiostream_y_total 0\n");
	strbuf_free(&sb);
}

Test(prom_text, doubles_use_the_formats_spelling_of_infinities_and_nan)
{
	struct strbuf sb = STRBUF_INIT;

	prom_format_double(&sb, 1.0 / 0.0);
	strbuf_putc(&sb, ' ');
	prom_format_double(&sb, -1.0 / 0.0);
	strbuf_putc(&sb, ' ');
	prom_format_double(&sb, 0.0 / 0.0);
	strbuf_putc(&sb, ' ');
	prom_format_double(&sb, 0.00025);
	strbuf_putc(&sb, ' ');
	prom_format_double(&sb, 1700000000.5);
	cr_assert_str_eq(strbuf_str(&sb), "+Inf -Inf NaN 0.00025 1700000000.5");
	strbuf_free(&sb);
}

/* The value of the line starting with `series ` in text. */
static uint64_t sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoull(p + n + 1, NULL, 10);
		p += n;
	}
	cr_assert_fail("no sample %s in:\n%s", series, text);
	return 0;
}

Test(prom_text, histogram_buckets_are_cumulative_in_seconds_and_inf_is_the_count)
{
	struct strbuf sb = STRBUF_INIT;
	struct prom_label l[2] = { { "device", "sim" }, { "direction", "rx" } };
	struct histogram h = { 0 };
	uint64_t prev = 0;

	histogram_add(&h, 50000);     /* 50 µs */
	histogram_add(&h, 700000);    /* 0.7 ms */
	histogram_add(&h, 700000);
	histogram_add(&h, 20000 * MS);/* 20 s: +Inf only */
	prom_histogram(&sb, "iiostream_send_latency_seconds", l, 2, &h);
	cr_assert_eq(strbuf_error(&sb), 0);
	const char *t = strbuf_str(&sb);

	cr_assert_eq(sample(t, "iiostream_send_latency_seconds_bucket{device=\"sim\","
			       "direction=\"rx\",le=\"0.0001\"}"), 1);
	cr_assert_eq(sample(t, "iiostream_send_latency_seconds_bucket{device=\"sim\","
			       "direction=\"rx\",le=\"0.0005\"}"), 1);
	cr_assert_eq(sample(t, "iiostream_send_latency_seconds_bucket{device=\"sim\","
			       "direction=\"rx\",le=\"0.001\"}"), 3);
	cr_assert_eq(sample(t, "iiostream_send_latency_seconds_bucket{device=\"sim\","
			       "direction=\"rx\",le=\"10\"}"), 3);
	cr_assert_eq(sample(t, "iiostream_send_latency_seconds_bucket{device=\"sim\","
			       "direction=\"rx\",le=\"+Inf\"}"), 4);
	cr_assert_eq(sample(t, "iiostream_send_latency_seconds_count{device=\"sim\","
			       "direction=\"rx\"}"), 4);
	cr_assert(strstr(t, "iiostream_send_latency_seconds_sum{device=\"sim\",direction=\"rx\"} "
			    "20.00145\n"), "%s", t);
	/* every bucket line, in order, never decreasing */
	for (const char *p = t; (p = strstr(p, "_bucket{")) != NULL; p++) {
		uint64_t v = strtoull(strchr(p, ' ') + 1, NULL, 10);

		cr_assert_geq(v, prev, "buckets must be cumulative:\n%s", t);
		prev = v;
	}
	cr_assert_eq(prev, h.count);
	strbuf_free(&sb);
}

/* ---- JSON -------------------------------------------------------------- */

static char *escaped(const char *s, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	json_escape(&sb, s, n);
	cr_assert_eq(strbuf_error(&sb), 0);
	return sb.buf;
}

Test(json, strings_escape_quotes_backslashes_and_every_control_character)
{
	char *s = escaped("a\"b\\c\n\r\t\b\f\x01\x1f\x7f/", 14);

	cr_assert_str_eq(s, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f/\"");
	free(s);
	s = escaped("nul\0after", 9);
	cr_assert_str_eq(s, "\"nul\\u0000after\"");
	free(s);
}

Test(json, bytes_that_are_not_utf8_become_u_fffd_and_utf8_passes)
{
	char *s = escaped("\xff|\xe2\x82|\xf4\x90\x80\x80|\xf0\x9f\x93\xa1", 14);

	/* 0xff; a truncated €; a code point above U+10FFFF (4 bytes); 📡 */
	cr_assert_str_eq(s, "\"\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd\\ufffd|"
			    "\xf0\x9f\x93\xa1\"");
	free(s);
}

Test(json, the_writer_places_commas_and_keys_and_writes_null_for_what_json_lacks)
{
	struct strbuf sb = STRBUF_INIT;
	struct json_out j;

	json_init(&j, &sb);
	json_object_begin(&j, NULL);
	json_u64(&j, "n", 18446744073709551615ull);
	json_i64(&j, "neg", -5);
	json_array_begin(&j, "list");
	json_string(&j, NULL, "x");
	json_bool(&j, NULL, true);
	json_object_begin(&j, NULL);
	json_object_end(&j);
	json_array_end(&j);
	json_double(&j, "half", 0.5);
	json_double(&j, "inf", 1.0 / 0.0);
	json_string(&j, "none", NULL);
	json_object_end(&j);
	cr_assert_eq(json_finish(&j), 0);
	cr_assert_str_eq(strbuf_str(&sb), "{\"n\":18446744073709551615,\"neg\":-5,"
					  "\"list\":[\"x\",true,{}],\"half\":0.5,"
					  "\"inf\":null,\"none\":null}");
	strbuf_free(&sb);
}

Test(json, an_unbalanced_document_is_an_error)
{
	struct strbuf sb = STRBUF_INIT;
	struct json_out j;

	json_init(&j, &sb);
	json_object_begin(&j, NULL);
	cr_assert_eq(json_finish(&j), -EINVAL);
	json_object_end(&j);
	cr_assert_eq(json_finish(&j), 0);
	json_object_end(&j);
	cr_assert_eq(json_finish(&j), -EINVAL);
	strbuf_free(&sb);
}

/* ---- a device's sent bytes and send latency (send_queue.c) ------------- */

#define BLOCK_SIZE 4096

static struct pool_fixture fx;
static struct send_queue q;
static struct stream_cursor cur;
static struct send_stats stats;

static void sq_setup(void)
{
	pool_fixture_open(&fx, 2, BLOCK_SIZE, 8);
	cr_assert_eq(fx.src->ops->enable(fx.src), 0);
	send_queue_init(&q);
	memset(&cur, 0, sizeof(cur));
	memset(&stats, 0, sizeof(stats));
	stream_cursor_restart(&cur, 0, 4);
	cur.stats = &stats;
}

static void sq_teardown(void)
{
	send_queue_clear(&q);
	cr_assert_eq(fx.pool.held, 0, "%u blocks still held", fx.pool.held);
	pool_fixture_close(&fx);
}

TestSuite(send_stats, .init = sq_setup, .fini = sq_teardown);

/* A block dequeued at the test clock's `at`, queued, its reference ours no more. */
static struct out_frame *push_at(uint64_t at)
{
	struct pool_block *b;

	fx.clock_ns = at;
	b = pool_fixture_next_block(&fx);
	cr_assert_eq(send_queue_push_block(&q, b, &cur), 0);
	block_pool_unref(b);
	send_queue_encode(&q, TAILQ_LAST(&q.outq, out_frame_list));
	return TAILQ_LAST(&q.outq, out_frame_list);
}

Test(send_stats, a_copied_frame_counts_its_payload_and_latency_when_taken_whole)
{
	struct out_frame *f = push_at(1000 * MS);
	size_t len = out_frame_len(f);

	fx.clock_ns = 1003 * MS;
	send_queue_taken(&q, len - 1);
	cr_assert_eq(stats.bytes_sent, 0, "a frame is sent when its last byte is");
	cr_assert_eq(stats.latency.count, 0);
	send_queue_taken(&q, 1);
	cr_assert_eq(stats.blocks_sent, 1);
	cr_assert_eq(stats.bytes_sent, BLOCK_SIZE, "payload bytes, the head not counted");
	cr_assert_eq(stats.latency.count, 1);
	cr_assert_eq(stats.latency.sum_ns, 3 * MS);
	cr_assert_eq(histogram_cumulative(&stats.latency, 4), 0, "3 ms is above 2.5 ms");
	cr_assert_eq(histogram_cumulative(&stats.latency, 5), 1, "and at most 5 ms");
}

Test(send_stats, a_zero_copy_frame_counts_its_latency_at_its_completion_only)
{
	struct out_frame *f = push_at(0);
	size_t len = out_frame_len(f);

	send_queue_mark_zc(&q, len, 0);
	fx.clock_ns = 1 * MS;
	send_queue_taken(&q, len);
	cr_assert_eq(stats.bytes_sent, BLOCK_SIZE, "taken whole: sent");
	cr_assert_eq(stats.latency.count, 0, "its pages are still the kernel's");
	fx.clock_ns = 40 * MS;
	send_queue_release(&q, 1, 0); /* completions up to id 0 */
	cr_assert_eq(stats.latency.count, 1);
	cr_assert_eq(stats.latency.sum_ns, 40 * MS);
}

Test(send_stats, frames_dropped_or_cleared_count_nothing)
{
	struct out_frame *f;

	push_at(0);
	send_queue_drop_unsent(&q, &cur); /* never started */
	f = push_at(0);
	send_queue_mark_zc(&q, out_frame_len(f), 0);
	send_queue_taken(&q, out_frame_len(f));
	send_queue_clear(&q); /* pinned, never completed: the connection reset */
	cr_assert_eq(stats.blocks_sent, 1, "only the frame taken whole");
	cr_assert_eq(stats.latency.count, 0);
}
