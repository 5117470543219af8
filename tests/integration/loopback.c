// SPDX-License-Identifier: MIT
/* The transmit tests' loopback capture and its checks: see loopback.h. */
#include "loopback.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "iiostream/pattern.h"

static void *capture_run(void *arg)
{
	struct capture *cp = arg;
	struct iios_client *c = client_connect(cp->d);
	struct iios_stream_info info;
	struct iios_block blk;

	cp->err = iios_subscribe_device(c, "sim", 64, NULL, 0, &info);
	atomic_store(&cp->ready, true);
	while (!cp->err && !atomic_load(&cp->stop)) {
		cp->err = iios_next_block(c, &blk);
		if (cp->err)
			break;
		cp->lost += blk.lost_samples;
		if (cp->len + blk.bytes_used <= cp->cap) {
			memcpy(cp->buf + cp->len, blk.data, blk.bytes_used);
			atomic_store(&cp->len, cp->len + blk.bytes_used);
		}
		atomic_fetch_add(&cp->blocks, 1);
	}
	iios_close(c);
	return NULL;
}

void capture_start(struct capture *cp, const struct daemon *d, size_t cap)
{
	memset(cp, 0, sizeof(*cp));
	cp->d = d;
	cp->cap = cap;
	cp->buf = malloc(cap);
	cr_assert_not_null(cp->buf);
	cr_assert_eq(pthread_create(&cp->thread, NULL, capture_run, cp), 0);
	WAIT_UNTIL(atomic_load(&cp->ready) && atomic_load(&cp->blocks) > 0,
		   "the ADC's first block (err %d)", cp->err);
}

void capture_finish(struct capture *cp, uint64_t more)
{
	uint64_t n = atomic_load(&cp->blocks) + more;

	WAIT_UNTIL(atomic_load(&cp->blocks) >= n || cp->err, "%" PRIu64 " ADC blocks", n);
	atomic_store(&cp->stop, true);
	pthread_join(cp->thread, NULL);
	cr_assert_eq(cp->err, 0, "the capture failed: %d", cp->err);
	cr_assert_eq(cp->lost, 0, "the ADC lost %" PRIu64 " scans: the check needs them all",
		     cp->lost);
}

void set_loopback(const struct daemon *d, const char *on)
{
	struct iios_client *c = client_connect(d);
	struct iios_attr_ref ref = { .device = "sim-dac", .attr = "loopback" };
	char v[32];
	int err = iios_attr_set(c, &ref, on, v, sizeof(v));

	cr_assert_eq(err, 0, "loopback=%s: %s", on, iios_errmsg(c));
	iios_close(c);
}

bool scan_is(const uint8_t *scan, uint64_t n)
{
	uint32_t ch;

	for (ch = 0; ch < LOOPBACK_CHANNELS; ch++) {
		uint16_t v = (uint16_t)(scan[2 * ch] | scan[2 * ch + 1] << 8);

		if (v != iios_pattern_sample(n, ch))
			return false;
	}
	return true;
}

bool scan_is_silence(const uint8_t *scan)
{
	static const uint8_t zero[LOOPBACK_SCAN_BYTES];

	return memcmp(scan, zero, LOOPBACK_SCAN_BYTES) == 0;
}

size_t first_sound(const uint8_t *buf, size_t scans)
{
	size_t i = 0;

	while (i < scans && scan_is_silence(buf + i * LOOPBACK_SCAN_BYTES))
		i++;
	return i;
}

size_t sound_scans(struct capture *cp)
{
	size_t scans = atomic_load(&cp->len) / LOOPBACK_SCAN_BYTES;

	return scans - first_sound(cp->buf, scans);
}

size_t expect_run(const struct capture *cp, size_t at, uint64_t first, uint64_t n,
		  const char *what)
{
	size_t scans = cp->len / LOOPBACK_SCAN_BYTES;
	uint64_t k;

	cr_assert_leq(at + n, scans, "%s: the capture ends %zu scans in, %" PRIu64 " expected",
		      what, scans - at, n);
	for (k = 0; k < n; k++)
		cr_assert(scan_is(cp->buf + (at + k) * LOOPBACK_SCAN_BYTES, first + k),
			  "%s: scan %" PRIu64 " of the run (capture scan %zu) is not pattern scan "
			  "%" PRIu64,
			  what, k, at + k, first + k);
	return at + n;
}

void expect_silence_to_end(const struct capture *cp, size_t at, const char *what)
{
	size_t scans = cp->len / LOOPBACK_SCAN_BYTES, i;

	for (i = at; i < scans; i++)
		cr_assert(scan_is_silence(cp->buf + i * LOOPBACK_SCAN_BYTES),
			  "%s: capture scan %zu (%zu after the end) is not silence", what, i, i - at);
}
