// SPDX-License-Identifier: MIT
/*
 * The spectrum engine (server/spectrum/) with no daemon and no HTTP:
 *   - the FFT's levels and window against signals whose spectrum is known;
 *   - where the sim's pattern puts its peak (the figure the browser test
 *     asserts), computed from the real pattern;
 *   - reading channels out of any scan format, and refusing what it cannot;
 *   - the frame format, whole and truncated;
 *   - a viewer's query and messages, and what they refuse;
 *   - the spectrum source as a subscriber of a real fan-out over the real
 *     sim source and block pool (as test_fanout.c): one frame per interval,
 *     no block held back, viewers at their own rates, slow viewers
 *     skipping (counted), the last viewer unsubscribing; the pool's clock
 *     is the test's, so every frame time is known.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fanout.h"
#include "iiostream/pattern.h"
#include "iiostream/scan.h"
#include "pool_fixture.h"
#include "spectrum_fft.h"
#include "spectrum_frame.h"
#include "spectrum_query.h"
#include "spectrum_reader.h"
#include "spectrum_source.h"

static const uint32_t sizes[] = { 1024, 2048, 4096 };

/* ---- the sim's peak ---------------------------------------------------------
 *
 * Channel c of scan n is (0x9e37 n + 0x3c6f c + const) mod 2^16 (pattern.h;
 * the terms in n >> 16 and n >> 32 only shift its phase every 65536
 * scans), read as int16: a full-scale sawtooth of 0x9e37 / 2^16 cycles per
 * scan. Sampled, its fundamental 0.618 aliases to 0.618 - 1 = -0.382, and
 * its mirror -0.618 to +0.382: a real channel peaks at
 * (2^16 - 0x9e37) / 2^16 * fs = 25033/65536 fs = 0.381973 fs.
 * Channel 1 is channel 0 two scans ahead (2 * 0x9e37 = 0x3c6e mod 2^16,
 * plus one count), so ch0 + j ch1 weighs each frequency f (cycles/scan) by
 * |1 + j e^(j 4 pi f)| = 2 |cos(pi/4 + 2 pi f)|: 2.00 at +0.382 and 0.09
 * at -0.382. The I/Q spectrum's peak is at +25033/65536 fs; the 2nd
 * harmonic (+-0.236, half the amplitude) is 5 dB or more below it.
 */
#define SIM_PEAK_NUM 25033u /* (65536 - 0x9e37) */

/* The bin the sim's peak falls in (the nearest bin centre). */
static uint32_t sim_peak_bin(enum spectrum_kind kind, uint32_t bins)
{
	if (kind == SPECTRUM_COMPLEX) /* bin i: (i - bins/2) fs / bins */
		return bins / 2 + (uint32_t)lround((double)SIM_PEAK_NUM * bins / 65536.0);
	return (uint32_t)lround((double)SIM_PEAK_NUM * 2 * bins / 65536.0); /* i fs / 2bins */
}

/* ---- a sim-like format, by hand -------------------------------------------- */

static void format_of(struct source_format *fmt, const char *const *types, uint32_t n,
		      uint64_t mask, bool timestamp)
{
	struct iios_scan_layout l;
	uint32_t i;

	memset(fmt, 0, sizeof(*fmt));
	fmt->device = "test";
	fmt->device_channels = n;
	fmt->scan_elements = n + (timestamp ? 1 : 0);
	fmt->timestamp_index = timestamp ? (int)n : -1;
	for (i = 0; i < n; i++)
		cr_assert_eq(iios_scan_type_parse(types[i], &fmt->type[i]), 0, "%s", types[i]);
	if (timestamp)
		fmt->type[n] = iios_scan_type_timestamp();
	fmt->channel_mask = mask;
	cr_assert_eq(iios_scan_layout_from_mask(&l, fmt->type, fmt->scan_elements, mask,
						fmt->timestamp_index), 0);
	fmt->scan_bytes = l.scan_bytes;
	fmt->channels = (uint32_t)__builtin_popcountll(mask);
}

static void s16_format(struct source_format *fmt, uint32_t channels)
{
	static const char *const t[] = { "le:s16/16>>0", "le:s16/16>>0", "le:s16/16>>0",
					 "le:s16/16>>0" };

	format_of(fmt, t, channels, (1ull << channels) - 1, false);
}

/* ---- the FFT ----------------------------------------------------------------- */

Test(spectrum_fft, complex_tone_reads_0_dbfs_at_its_bin_for_every_size)
{
	size_t s;

	for (s = 0; s < 3; s++) {
		uint32_t N = sizes[s], k0 = N / 8 + 3, n;
		struct spectrum_fft f;
		struct spectrum_peak pk;
		float *db = malloc(sizeof(float) * N), *in;

		cr_assert_eq(spectrum_fft_init(&f, SPECTRUM_COMPLEX, N), 0);
		in = spectrum_fft_input(&f);
		for (n = 0; n < N; n++) { /* amplitude 1: full scale */
			in[2 * n] = (float)cos(2 * M_PI * k0 * n / N);
			in[2 * n + 1] = (float)sin(2 * M_PI * k0 * n / N);
		}
		spectrum_fft_run(&f, db, &pk);
		cr_assert_eq(pk.bin, N / 2 + k0, "N %u: peak at %u", N, pk.bin);
		cr_assert_float_eq(pk.dbfs, 0.0f, 0.05f, "N %u: %f dBFS", N, pk.dbfs);
		/* the mirror frequency (-k0) is empty: the I/Q sign is right */
		cr_assert_lt(db[N / 2 - k0], -100.0f);
		spectrum_fft_free(&f);
		free(db);
	}
}

Test(spectrum_fft, real_sine_reads_0_dbfs_at_its_bin_for_every_size)
{
	size_t s;

	for (s = 0; s < 3; s++) {
		uint32_t N = sizes[s], k0 = N / 3, n;
		struct spectrum_fft f;
		struct spectrum_peak pk;
		float *db = malloc(sizeof(float) * N), *in;

		cr_assert_eq(spectrum_fft_init(&f, SPECTRUM_REAL, N), 0);
		cr_assert_eq(f.samples, 2 * N);
		in = spectrum_fft_input(&f);
		for (n = 0; n < 2 * N; n++)
			in[n] = (float)sin(2 * M_PI * k0 * n / (2.0 * N));
		spectrum_fft_run(&f, db, &pk);
		cr_assert_eq(pk.bin, k0, "N %u: peak at %u", N, pk.bin);
		cr_assert_float_eq(pk.dbfs, 0.0f, 0.05f, "N %u: %f dBFS", N, pk.dbfs);
		spectrum_fft_free(&f);
		free(db);
	}
}

/* A tone half-way between two bins is the window's worst case; 6 bins
 * from it, Blackman-Harris' -92 dB sidelobes hold everything more than
 * 90 dB down (Hann's would be at -40). */
Test(spectrum_fft, window_sidelobes_stay_90_db_down_beyond_its_main_lobe)
{
	const uint32_t N = 2048;
	struct spectrum_fft f;
	struct spectrum_peak pk;
	float db[2048], *in;
	double k0 = 300.5;
	uint32_t n, i;

	cr_assert_eq(spectrum_fft_init(&f, SPECTRUM_COMPLEX, N), 0);
	in = spectrum_fft_input(&f);
	for (n = 0; n < N; n++) {
		in[2 * n] = (float)(0.5 * cos(2 * M_PI * k0 * n / N));
		in[2 * n + 1] = (float)(0.5 * sin(2 * M_PI * k0 * n / N));
	}
	spectrum_fft_run(&f, db, &pk);
	/* -6 dBFS less the window's scalloping loss at half a bin (0.83 dB) */
	cr_assert_float_eq(pk.dbfs, -6.02f - 0.83f, 0.1f, "%f", pk.dbfs);
	for (i = 0; i < N; i++)
		if (abs((int)i - (int)pk.bin) > 5)
			cr_assert_lt(db[i], pk.dbfs - 90.0f, "bin %u: %f dB", i, db[i]);
	spectrum_fft_free(&f);
}

Test(spectrum_fft, refuses_sizes_not_offered_and_empty_bins_read_minus_200)
{
	struct spectrum_fft f;
	struct spectrum_peak pk;
	float db[1024];

	cr_assert_eq(spectrum_fft_init(&f, SPECTRUM_COMPLEX, 1000), -EINVAL);
	cr_assert_eq(spectrum_fft_init(&f, SPECTRUM_REAL, 8192), -EINVAL);
	cr_assert_eq(spectrum_fft_init(&f, SPECTRUM_REAL, 1024), 0);
	memset(spectrum_fft_input(&f), 0, sizeof(float) * f.samples);
	spectrum_fft_run(&f, db, &pk);
	cr_assert_float_eq(db[17], -200.0f, 0.01f);
	spectrum_fft_free(&f);
}

/* ---- the sim's peak, from the real pattern ----------------------------------- */

/* The spectrum of `bins` of the sim's 2-channel pattern from scan `first`,
 * read as the engine reads a block. */
static struct spectrum_peak sim_spectrum(enum spectrum_kind kind, uint32_t bins, uint64_t first,
					 float *db)
{
	struct source_format fmt;
	struct spectrum_reader rd;
	struct spectrum_fft f;
	struct spectrum_peak pk;
	uint32_t scans = kind == SPECTRUM_COMPLEX ? bins : 2 * bins;
	uint8_t *raw = malloc((size_t)scans * 4);
	char err[200];

	s16_format(&fmt, 2);
	iios_pattern_fill(raw, first, scans, 2);
	cr_assert_eq(spectrum_reader_init(&rd, &fmt, 0,
					  kind == SPECTRUM_COMPLEX ? 1 : SPECTRUM_NO_CHANNEL, err,
					  sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(spectrum_fft_init(&f, kind, bins), 0);
	spectrum_reader_read(&rd, raw, scans, spectrum_fft_input(&f));
	spectrum_fft_run(&f, db, &pk);
	spectrum_fft_free(&f);
	free(raw);
	return pk;
}

Test(spectrum_sim, iq_peak_is_at_plus_25033_65536_fs_for_every_size_and_start)
{
	static const uint64_t starts[] = { 0, 65536 - 100, 123456789, 1ull << 33 };
	size_t s, k;

	for (s = 0; s < 3; s++) {
		for (k = 0; k < 4; k++) {
			uint32_t N = sizes[s], want = sim_peak_bin(SPECTRUM_COMPLEX, N);
			float *db = malloc(sizeof(float) * N);
			struct spectrum_peak pk = sim_spectrum(SPECTRUM_COMPLEX, N, starts[k], db);

			cr_assert_eq(pk.bin, want, "N %u, first %llu: peak at bin %u, want %u", N,
				     (unsigned long long)starts[k], pk.bin, want);
			/* the mirror (-0.382 fs) is 20 dB or more down */
			cr_assert_lt(db[N - want], pk.dbfs - 20.0f, "N %u: mirror %f, peak %f", N,
				     db[N - want], pk.dbfs);
			free(db);
		}
	}
}

Test(spectrum_sim, real_peak_is_at_25033_65536_fs_for_every_size_and_start)
{
	static const uint64_t starts[] = { 0, 65536 - 100, 123456789, 1ull << 33 };
	size_t s, k;

	for (s = 0; s < 3; s++) {
		for (k = 0; k < 4; k++) {
			uint32_t N = sizes[s], want = sim_peak_bin(SPECTRUM_REAL, N);
			float *db = malloc(sizeof(float) * N);
			struct spectrum_peak pk = sim_spectrum(SPECTRUM_REAL, N, starts[k], db);

			cr_assert_leq(abs((int)pk.bin - (int)want), 1,
				      "N %u, first %llu: peak at bin %u, want %u +- 1", N,
				      (unsigned long long)starts[k], pk.bin, want);
			/* a sawtooth's fundamental is 2/pi of full scale: -3.9 dBFS */
			cr_assert_float_eq(pk.dbfs, -3.9f, 1.0f, "%f", pk.dbfs);
			free(db);
		}
	}
}

/* ---- reading scans ----------------------------------------------------------- */

/* Each channel of any format reads as its pattern value over full scale. */
Test(spectrum_reader, reads_every_integer_format_as_full_scale_floats)
{
	static const char *const t[] = { "be:s24/32>>8", "le:u12/16>>4", "le:S12/16>>0",
					 "le:s16/16>>0" };
	struct source_format fmt;
	struct spectrum_reader rd;
	struct iios_scan_layout l;
	uint8_t raw[64 * 32];
	float out[2 * 64];
	char err[200];
	uint32_t i, ch;

	format_of(&fmt, t, 4, 0xf | 1ull << 4, true); /* with a timestamp */
	iios_scan_layout_from_mask(&l, fmt.type, 5, fmt.channel_mask, 4);
	cr_assert_leq(l.scan_bytes * 64, sizeof(raw));
	iios_scan_fill(&l, raw, 1000, 64, NULL);
	for (ch = 0; ch < 4; ch++) {
		const struct iios_scan_type *ty = &fmt.type[ch];
		int q = (int)((ch + 1) % 4);

		cr_assert_eq(spectrum_reader_init(&rd, &fmt, ch, q, err, sizeof(err)), 0, "%s", err);
		spectrum_reader_read(&rd, raw, 64, out);
		for (i = 0; i < 64; i++) {
			uint64_t v = iios_scan_pattern_value(1000 + i, ch, 0, ty->bits);
			double want;

			if (ty->is_signed) /* sign-extend the bits-bit value */
				want = (double)((int64_t)(v << (64 - ty->bits)) >> (64 - ty->bits));
			else
				want = (double)v - (double)(1ull << (ty->bits - 1));
			want /= (double)(1ull << (ty->bits - 1));
			cr_assert_float_eq(out[2 * i], want, 1e-6, "ch %u (%s) scan %u: %f, want %f",
					   ch, t[ch], i, out[2 * i], want);
		}
	}
}

Test(spectrum_reader, refuses_what_it_cannot_show_saying_why)
{
	static const char *const t[] = { "le:s16/16>>0", "le:s16/16X2>>0", "le:s64/64>>0",
					 "le:s16/16>>0" };
	struct source_format fmt;
	struct spectrum_reader rd;
	char err[200];

	format_of(&fmt, t, 4, 0x7 | 1ull << 4, true); /* channel 3 not captured */
	cr_assert_eq(spectrum_reader_init(&rd, &fmt, 9, 0, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "channels 0..3"), "%s", err);
	cr_assert_eq(spectrum_reader_init(&rd, &fmt, 4, SPECTRUM_NO_CHANNEL, err, sizeof(err)),
		     -EINVAL, "the timestamp is not a channel");
	cr_assert_eq(spectrum_reader_init(&rd, &fmt, 0, 0, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "two different channels"), "%s", err);
	cr_assert_eq(spectrum_reader_init(&rd, &fmt, 0, 3, err, sizeof(err)), -EBUSY);
	cr_assert(strstr(err, "not in the capture"), "%s", err);
	cr_assert_eq(spectrum_reader_init(&rd, &fmt, 1, SPECTRUM_NO_CHANNEL, err, sizeof(err)),
		     -EOPNOTSUPP);
	cr_assert(strstr(err, "le:s16/16X2>>0"), "%s", err);
	cr_assert_eq(spectrum_reader_init(&rd, &fmt, 0, 2, err, sizeof(err)), -EOPNOTSUPP);
	cr_assert(strstr(err, "le:s64/64>>0"), "%s", err);
	cr_assert_eq(spectrum_reader_init(&rd, &fmt, 0, SPECTRUM_NO_CHANNEL, err, sizeof(err)), 0);
	cr_assert_eq(rd.scan_bytes, fmt.scan_bytes);
}

/* ---- the frame ----------------------------------------------------------------- */

static size_t sample_frame(uint8_t *buf, size_t len, struct spectrum_frame_header *h)
{
	float db[1024];
	uint32_t i;

	memset(h, 0, sizeof(*h));
	h->bins = 1024;
	h->flags = SPECTRUM_FRAME_COMPLEX;
	h->sample_rate = 25e6;
	h->span_hz = 25e6;
	h->timestamp_ns = 0x1122334455667788ull;
	h->first_sample = 1ull << 40;
	h->sequence = 7;
	h->frames_skipped = 3;
	h->peak_bin = 903;
	h->peak_dbfs = -3.25f;
	h->channel_i = 0;
	h->channel_q = 1;
	for (i = 0; i < 1024; i++)
		db[i] = -170.0f + (float)i * 0.2f; /* below the range, in it, above it */
	return spectrum_frame_encode(h, db, buf, len);
}

Test(spectrum_frame, round_trips_and_quantises_to_0_625_db)
{
	uint8_t buf[SPECTRUM_FRAME_MAX];
	struct spectrum_frame_header h, g;
	const uint8_t *lv;
	size_t len = sample_frame(buf, sizeof(buf), &h);

	cr_assert_eq(len, 96 + 1024);
	cr_assert_eq(memcmp(buf, "IISP", 4), 0);
	cr_assert_eq(spectrum_frame_parse(buf, len, &g, &lv), 0);
	cr_assert_eq(lv, buf + 96);
	cr_assert_eq(g.bins, 1024);
	cr_assert_eq(g.flags, SPECTRUM_FRAME_COMPLEX);
	cr_assert_eq(g.sample_rate, 25e6);
	cr_assert_eq(g.span_hz, 25e6);
	cr_assert_eq(g.timestamp_ns, h.timestamp_ns);
	cr_assert_eq(g.first_sample, h.first_sample);
	cr_assert_eq(g.sequence, 7);
	cr_assert_eq(g.frames_skipped, 3);
	cr_assert_eq(g.peak_bin, 903);
	cr_assert_eq(g.peak_dbfs, -3.25f);
	cr_assert_eq(g.channel_q, 1);
	cr_assert_eq(lv[0], 0, "below the range: 0");
	cr_assert_eq(lv[1023], 255, "above 0 dBFS: 255");
	cr_assert_float_eq(spectrum_frame_level(&g, 255), 0.0f, 1e-6);
	/* -100 dBFS (bin 350) reads back within half a step */
	cr_assert_float_eq(spectrum_frame_level(&g, lv[350]), -100.0f, 0.3125f + 1e-4);
	spectrum_frame_set_skipped(buf, 42);
	cr_assert_eq(spectrum_frame_parse(buf, len, &g, &lv), 0);
	cr_assert_eq(g.frames_skipped, 42);
}

Test(spectrum_frame, parse_refuses_every_truncation_and_bad_header)
{
	uint8_t buf[SPECTRUM_FRAME_MAX];
	struct spectrum_frame_header h, g;
	const uint8_t *lv;
	size_t len = sample_frame(buf, sizeof(buf), &h), n;

	for (n = 0; n < len; n++)
		cr_assert_eq(spectrum_frame_parse(buf, n, &g, &lv), -EBADMSG, "%zu bytes", n);
	cr_assert_eq(spectrum_frame_encode(&h, NULL, buf, 96 + 1023), 0, "no room: nothing");
	buf[0] ^= 1;
	cr_assert_eq(spectrum_frame_parse(buf, len, &g, &lv), -EBADMSG, "magic");
	buf[0] ^= 1;
	buf[4] = 2;
	cr_assert_eq(spectrum_frame_parse(buf, len, &g, &lv), -EBADMSG, "version");
	buf[4] = 1;
	buf[6] = 95;
	cr_assert_eq(spectrum_frame_parse(buf, len, &g, &lv), -EBADMSG, "header_bytes");
	buf[6] = 96;
	buf[9] = 0x20; /* bins 8192 + ... */
	cr_assert_eq(spectrum_frame_parse(buf, len, &g, &lv), -EBADMSG, "bins");
}

/* ---- a viewer's query -------------------------------------------------------- */

static int parse(const char *text, struct spectrum_query *q, char *err)
{
	return spectrum_query_parse(text, strlen(text), q, err, 200);
}

Test(spectrum_query, takes_every_key_percent_decoded_and_leaves_the_rest_unset)
{
	struct spectrum_query q;
	char err[200];

	cr_assert_eq(parse("", &q, err), 0);
	cr_assert(!q.device_set && !q.channels_set && !q.bins_set && !q.fps_set);
	cr_assert_eq(parse("device=iio%3Adevice0&channels=0,1&bins=4096&fps=10", &q, err), 0,
		     "%s", err);
	cr_assert_str_eq(q.device, "iio:device0");
	cr_assert_eq(q.nchannels, 2);
	cr_assert_eq(q.channels[0], 0);
	cr_assert_eq(q.channels[1], 1);
	cr_assert_eq(q.bins, 4096);
	cr_assert_eq(q.fps, 10);
	cr_assert_eq(parse("channels=3&&", &q, err), 0, "empty pairs are nothing: %s", err);
	cr_assert(q.channels_set && !q.bins_set);
	cr_assert_eq(q.nchannels, 1);
	cr_assert_eq(q.channels[0], 3);
	cr_assert_eq(parse("device=my+adc", &q, err), 0);
	cr_assert_str_eq(q.device, "my adc", "a form's '+' is a space");
	/* a WebSocket message is not NUL-terminated: len bounds it */
	cr_assert_eq(spectrum_query_parse("fps=5XYZ", 5, &q, err, sizeof(err)), 0);
	cr_assert_eq(q.fps, 5);
}

Test(spectrum_query, refuses_each_bad_pair_naming_it)
{
	static const struct {
		const char *q, *says;
	} bad[] = {
		{ "colour=red", "unknown key 'colour'" },
		{ "fps=5&fps=6", "'fps' given twice" },
		{ "bins=1000", "bins '1000'" },
		{ "bins=", "bins ''" },
		{ "fps=0", "fps '0'" },
		{ "fps=26", "fps '26'" },
		{ "fps=-1", "fps '-1'" },
		{ "channels=0,1,2", "channels '0,1,2'" },
		{ "channels=64", "channels '64'" },
		{ "channels=a", "channels 'a'" },
		{ "channels=0,", "channels '0,'" },
		{ "device=", "device: empty" },
		{ "device=%zz", "bad %-escape" },
		{ "device=%4", "bad %-escape" },
		{ "device=a%00b", "a NUL" },
		{ "bins", "key=value wanted" },
		{ "bins=99999999", "bins '99999999'" },
		{ "colour=\x01\xff", "unknown key 'colour'" },
		{ "device=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "too long" },
	};
	struct spectrum_query q;
	char err[200];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i].q, &q, err), -EINVAL, "'%s' was taken", bad[i].q);
		cr_assert(strstr(err, bad[i].says), "'%s': '%s' does not say '%s'", bad[i].q, err,
			  bad[i].says);
	}
}

Test(spectrum_query, refuses_overlong_text_and_survives_every_truncation)
{
	const char *good = "device=iio%3Adevice0&channels=0,1&bins=4096&fps=10";
	char big[SPECTRUM_QUERY_MAX + 2], err[200], *cut;
	struct spectrum_query q;
	size_t n;

	memset(big, '&', sizeof(big));
	cr_assert_eq(spectrum_query_parse(big, SPECTRUM_QUERY_MAX, &q, err, sizeof(err)), 0);
	cr_assert_eq(spectrum_query_parse(big, SPECTRUM_QUERY_MAX + 1, &q, err, sizeof(err)),
		     -EINVAL);
	/* each prefix in a buffer of its own size, so ASan sees any read past it */
	for (n = 0; n <= strlen(good); n++) {
		int ret;

		cut = malloc(n ? n : 1);
		memcpy(cut, good, n);
		ret = spectrum_query_parse(cut, n, &q, err, sizeof(err));
		cr_assert(ret == 0 || ret == -EINVAL);
		free(cut);
	}
}

/* ---- the source on a real fan-out ------------------------------------------------ */

#define BLOCKS 8
#define BLOCK_MS 10ull /* the test's clock advances this much per block */

static struct pool_fixture fx;
static struct fanout fo;
static struct source_format sfmt;

static void capture_start(void *ctx)
{
	(void)ctx;
	cr_assert_eq(fx.src->ops->enable(fx.src), 0);
}

static void capture_stop(void *ctx)
{
	(void)ctx;
	fx.src->ops->disable(fx.src);
}

static const struct fanout_hooks hooks = { capture_start, capture_stop };

/* A viewer that keeps the last frame it got, and answers `answer`. */
struct test_viewer {
	struct spectrum_viewer v;
	int answer;            /* what send() returns */
	uint32_t got;          /* frames taken (answer 0) */
	uint32_t asked;        /* send() calls */
	uint8_t last[SPECTRUM_FRAME_MAX];
	size_t last_len;
};

static int test_send(struct spectrum_viewer *v, const void *frame, size_t len)
{
	struct test_viewer *t = (struct test_viewer *)v;

	t->asked++;
	if (t->answer)
		return t->answer;
	cr_assert_leq(len, sizeof(t->last));
	memcpy(t->last, frame, len);
	t->last_len = len;
	t->got++;
	return 0;
}

static const struct spectrum_viewer_ops test_viewer_ops = { .send = test_send };

static void viewer_init(struct test_viewer *t, uint32_t fps, int answer)
{
	memset(t, 0, sizeof(*t));
	t->v.ops = &test_viewer_ops;
	t->v.fps = fps;
	t->answer = answer;
}

static void open_stream(uint32_t channels, uint32_t block_size)
{
	pool_fixture_open(&fx, channels, block_size, BLOCKS);
	fanout_init(&fo, &fx.pool, &hooks, NULL);
	fx.src->ops->format(fx.src, &sfmt);
	fx.clock_ns = 1000000000ull;
}

static struct spectrum_source *open_spectrum(uint32_t ch_i, int ch_q, uint32_t bins)
{
	struct spectrum_key key = { .ch_i = ch_i, .ch_q = ch_q, .bins = bins };
	struct spectrum_source *s = NULL;
	char err[200];

	cr_assert_eq(spectrum_source_open(&fx.loop, &fo, &sfmt, &key, &s, err, sizeof(err)), 0,
		     "%s", err);
	return s;
}

/* One block through the fan-out at the next tick of the test's clock, then
 * the loop's turn that runs a pending FFT. Nothing may stay held. */
static void deliver_block_after(uint64_t ms)
{
	long turns;
	int err;

	fx.clock_ns += ms * 1000000ull;
	for (turns = 0; (err = fanout_deliver_one(&fo)) == -EAGAIN; turns++) {
		cr_assert_lt(turns, 10000000, "the source filled no block");
		uv_run(&fx.loop, UV_RUN_NOWAIT);
	}
	cr_assert_eq(err, 0);
	cr_assert_eq(fx.pool.held, 0, "a block was held back from the stream");
	uv_run(&fx.loop, UV_RUN_NOWAIT);
}

static void deliver_block(void)
{
	deliver_block_after(BLOCK_MS);
}

static void close_all(struct spectrum_source *s)
{
	spectrum_source_close(s);
	pool_fixture_close(&fx); /* runs the loop dry: asserts no handle leaked */
}

Test(spectrum_source, takes_one_block_per_frame_interval_and_holds_none)
{
	struct spectrum_source *s;
	struct test_viewer a;
	struct spectrum_frame_header h;
	const uint8_t *lv;
	int i;

	open_stream(2, 16384); /* 4096 scans a block: a 2048-bin frame fits in one */
	s = open_spectrum(0, 1, 2048);
	viewer_init(&a, 25, 0);
	spectrum_source_attach(s, &a.v);
	cr_assert_eq(fo.nsubs, 1, "the first viewer subscribes it");
	for (i = 0; i < 100; i++) /* 1 s of 10 ms blocks */
		deliver_block();
	cr_assert_eq(s->frames, 25, "%llu frames in 1 s at 25 fps",
		     (unsigned long long)s->frames);
	cr_assert_eq(s->blocks_copied, 25);
	cr_assert_eq(a.got, 25);
	cr_assert_eq(s->sub.blocks_skipped, 0, "never behind: no skip counted");
	cr_assert_eq(fo.blocks_skipped, 0);
	cr_assert_eq(spectrum_frame_parse(a.last, a.last_len, &h, &lv), 0);
	cr_assert_eq(h.sequence, 25);
	cr_assert_eq(h.bins, 2048);
	cr_assert_eq(h.flags, SPECTRUM_FRAME_COMPLEX);
	cr_assert_eq(h.frames_skipped, 0);
	cr_assert_eq(h.peak_bin, sim_peak_bin(SPECTRUM_COMPLEX, 2048),
		     "the sim's peak through the whole engine: %u", h.peak_bin);
	cr_assert_eq(h.first_sample % 4096, 0, "a frame starts at its block's first scan");
	cr_assert_eq(spectrum_source_detach(&a.v), 0);
	cr_assert_eq(fo.nsubs, 0, "the last viewer leaving unsubscribes it");
	close_all(s);
}

/* 1024-bin real frames need 2048 scans: four blocks of 512 scans each. */
Test(spectrum_source, a_frame_spans_blocks_that_follow_on_and_restarts_after_a_gap)
{
	struct spectrum_source *s;
	struct test_viewer a;
	struct spectrum_frame_header h;
	const uint8_t *lv;
	struct pool_block *b;
	uint64_t gap_first;
	int i;

	open_stream(2, 2048); /* 512 scans a block */
	s = open_spectrum(1, SPECTRUM_NO_CHANNEL, 1024);
	viewer_init(&a, 25, 0);
	spectrum_source_attach(s, &a.v);
	for (i = 0; i < 4; i++)
		deliver_block();
	cr_assert_eq(a.got, 1, "four blocks in a row make one frame");
	cr_assert_eq(spectrum_frame_parse(a.last, a.last_len, &h, &lv), 0);
	cr_assert_eq(h.flags, 0, "real");
	cr_assert_eq(h.channel_i, 1);
	cr_assert_eq(h.channel_q, SPECTRUM_FRAME_NO_CHANNEL);
	cr_assert_leq(abs((int)h.peak_bin - (int)sim_peak_bin(SPECTRUM_REAL, 1024)), 1);
	/* next frame: two blocks, then one the fan-out never offers (a gap) */
	fx.clock_ns += 40 * 1000000ull;
	deliver_block();
	deliver_block();
	cr_assert_eq(s->state, SPECTRUM_FILLING);
	b = pool_fixture_next_block(&fx);
	gap_first = b->first_sample;
	block_pool_unref(b);
	for (i = 0; i < 3; i++)
		deliver_block();
	cr_assert_eq(s->restarts, 1);
	cr_assert_eq(a.got, 1, "3 blocks after the gap are not a frame yet");
	deliver_block();
	cr_assert_eq(a.got, 2);
	cr_assert_eq(spectrum_frame_parse(a.last, a.last_len, &h, &lv), 0);
	cr_assert_eq(h.first_sample, gap_first + 512, "it began again after the gap");
	spectrum_source_detach(&a.v);
	close_all(s);
}

Test(spectrum_source, each_viewer_gets_frames_at_its_own_rate)
{
	struct spectrum_source *s;
	struct test_viewer fast, slow;
	int i;

	open_stream(2, 16384);
	s = open_spectrum(0, 1, 1024);
	viewer_init(&fast, 25, 0);
	viewer_init(&slow, 5, 0);
	spectrum_source_attach(s, &slow.v);
	cr_assert_eq(s->fps, 5);
	spectrum_source_attach(s, &fast.v);
	cr_assert_eq(s->fps, 25, "computed at the fastest viewer's rate");
	for (i = 0; i < 100; i++)
		deliver_block();
	cr_assert_eq(fast.got, 25);
	cr_assert_eq(slow.got, 5);
	cr_assert_eq(slow.v.frames_skipped, 0, "not due is not skipped");
	/* the fast one leaves: back to 5 frames a second for the other */
	spectrum_source_detach(&fast.v);
	cr_assert_eq(s->fps, 5);
	for (i = 0; i < 100; i++)
		deliver_block();
	cr_assert_eq(s->frames, 25 + 5, "%llu", (unsigned long long)s->frames);
	cr_assert_eq(slow.got, 10);
	spectrum_viewer_set_fps(&slow.v, 100);
	cr_assert_eq(slow.v.fps, SPECTRUM_FPS_MAX, "clamped");
	spectrum_source_detach(&slow.v);
	close_all(s);
}

/* Blocks every 15 ms do not divide 40 ms: frames are still due every
 * 40 ms (each from the first block at or after its time), so 25 a
 * second on average, not one every 45 ms (22/s); a 10/s viewer beside it
 * gets 10 a second. */
Test(spectrum_source, keeps_the_rate_on_average_whatever_the_block_period)
{
	struct spectrum_source *s;
	struct test_viewer fast, ten;
	int i;

	open_stream(2, 16384);
	s = open_spectrum(0, 1, 1024);
	viewer_init(&fast, 25, 0);
	viewer_init(&ten, 10, 0);
	spectrum_source_attach(s, &fast.v);
	spectrum_source_attach(s, &ten.v);
	for (i = 0; i < 200; i++) /* 3 s */
		deliver_block_after(15);
	cr_assert_geq(fast.got, 74, "%u frames in 3 s", fast.got);
	cr_assert_leq(fast.got, 76, "%u frames in 3 s", fast.got);
	cr_assert_geq(ten.got, 29, "%u frames in 3 s", ten.got);
	cr_assert_leq(ten.got, 31, "%u frames in 3 s", ten.got);
	/* a pause of the stream longer than an interval: no burst after it */
	deliver_block_after(500);
	deliver_block_after(15);
	deliver_block_after(15);
	cr_assert_leq(fast.got, 77, "%u: frames burst after a pause", fast.got);
	spectrum_source_detach(&fast.v);
	spectrum_source_detach(&ten.v);
	close_all(s);
}

Test(spectrum_source, a_slow_viewer_skips_frames_counted_and_told_and_harms_no_one)
{
	struct spectrum_source *s;
	struct test_viewer ok, stuck;
	struct spectrum_frame_header h;
	const uint8_t *lv;
	int i;

	open_stream(2, 16384);
	s = open_spectrum(0, 1, 4096); /* 4096 scans: exactly one block */
	viewer_init(&ok, 25, 0);
	viewer_init(&stuck, 25, -EAGAIN);
	spectrum_source_attach(s, &stuck.v);
	spectrum_source_attach(s, &ok.v);
	for (i = 0; i < 40; i++)
		deliver_block();
	cr_assert_eq(ok.got, 10);
	cr_assert_eq(stuck.asked, 10, "tried with every frame");
	cr_assert_eq(stuck.v.frames_skipped, 10);
	cr_assert_eq(stuck.v.frames_sent, 0);
	/* its connection drains: the next frame it gets says what it missed */
	stuck.answer = 0;
	for (i = 0; i < 4; i++)
		deliver_block();
	cr_assert_eq(stuck.got, 1);
	cr_assert_eq(spectrum_frame_parse(stuck.last, stuck.last_len, &h, &lv), 0);
	cr_assert_eq(h.frames_skipped, 10);
	cr_assert_eq(spectrum_frame_parse(ok.last, ok.last_len, &h, &lv), 0);
	cr_assert_eq(h.frames_skipped, 0, "each viewer's own count");
	cr_assert_eq(ok.got, 11);
	/* a viewer that is going (-EPIPE) is neither counted nor sent to */
	stuck.answer = -EPIPE;
	for (i = 0; i < 4; i++)
		deliver_block();
	cr_assert_eq(stuck.v.frames_skipped, 10);
	cr_assert_eq(fo.blocks_skipped, 0);
	spectrum_source_detach(&stuck.v);
	spectrum_source_detach(&ok.v);
	close_all(s);
}

/* offer() copies and keeps nothing; while a frame waits for its FFT
 * (the loop's next turn) every block passes over it. */
Test(spectrum_source, offer_keeps_no_reference_and_passes_while_a_frame_waits_for_its_fft)
{
	struct spectrum_source *s;
	struct test_viewer a;
	struct pool_block *b;

	open_stream(2, 16384);
	s = open_spectrum(0, 1, 2048);
	viewer_init(&a, 25, 0);
	spectrum_source_attach(s, &a.v);
	fx.clock_ns += BLOCK_MS * 1000000ull;
	b = pool_fixture_next_block(&fx);
	fanout_offer(&fo, b);
	cr_assert_eq(s->state, SPECTRUM_READY);
	cr_assert_eq(b->refs, 1, "only the test's own reference is left");
	cr_assert_eq(s->sub.ops->held(&s->sub), 0);
	cr_assert_eq(s->sub.ops->offer(&s->sub, b), SUB_PASS, "its FFT is pending");
	cr_assert_eq(s->blocks_copied, 1);
	block_pool_unref(b);
	cr_assert_eq(fx.pool.held, 0);
	cr_assert_eq(a.got, 0, "the FFT runs on the loop's turn, not in the walk");
	uv_run(&fx.loop, UV_RUN_NOWAIT);
	cr_assert_eq(a.got, 1);
	cr_assert_eq(s->state, SPECTRUM_WAITING);
	cr_assert_eq(fo.blocks_skipped, 0);
	spectrum_source_detach(&a.v);
	close_all(s);
}

Test(spectrum_source, open_refuses_channels_and_sizes_saying_why)
{
	struct spectrum_key key = { .ch_i = 0, .ch_q = 5, .bins = 2048 };
	struct spectrum_source *s = NULL;
	char err[200];

	open_stream(2, 16384);
	cr_assert_eq(spectrum_source_open(&fx.loop, &fo, &sfmt, &key, &s, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "channels 0..1"), "%s", err);
	key.ch_q = 1;
	key.bins = 3000;
	cr_assert_eq(spectrum_source_open(&fx.loop, &fo, &sfmt, &key, &s, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "1024, 2048 or 4096"), "%s", err);
	cr_assert_null(s);
	pool_fixture_close(&fx);
}
