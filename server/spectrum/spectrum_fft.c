// SPDX-License-Identifier: MIT
/* Window, FFT and dBFS of one spectrum frame: see spectrum_fft.h. */
#include "spectrum_fft.h"

#include <errno.h>
#include <fftw3.h>
#include <math.h>
#include <string.h>

/* The offered sizes, in the order of plans[][]. */
static const uint32_t sizes[] = { 1024, 2048, 4096 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Power below this is an empty bin: -200 dBFS, far below any ADC's floor,
 * and log10f() never sees 0. */
#define POWER_FLOOR 1e-20f

struct spectrum_plan {
	unsigned users;     /* spectrum_fft structs of this kind and size */
	fftwf_plan plan;    /* out of place, for any fftwf_malloc()ed arrays */
	float *window;      /* fftwf_malloc()ed, `samples` values */
	float inv_gain2;    /* 1 / (sum of the window)^2 */
};

static struct spectrum_plan plans[2][NSIZES];

bool spectrum_bins_valid(uint32_t bins)
{
	size_t i;

	for (i = 0; i < NSIZES; i++)
		if (sizes[i] == bins)
			return true;
	return false;
}

static struct spectrum_plan *plan_slot(enum spectrum_kind kind, uint32_t bins)
{
	size_t i;

	for (i = 0; i < NSIZES; i++)
		if (sizes[i] == bins)
			return &plans[kind == SPECTRUM_REAL][i];
	return NULL;
}

double spectrum_window_value(uint32_t n, uint32_t size)
{
	/* 4-term Blackman-Harris, periodic (DFT-even), so that the frame is
	 * one period of it */
	const double a0 = 0.35875, a1 = 0.48829, a2 = 0.14128, a3 = 0.01168;
	double x = 2.0 * M_PI * n / size;

	return a0 - a1 * cos(x) + a2 * cos(2 * x) - a3 * cos(3 * x);
}

/* The first user of a size plans it, on its own arrays (FFTW_ESTIMATE
 * reads and writes neither); later users run it on theirs with the
 * new-array interface, which fftwf_malloc()'s alignment allows. */
static int plan_get(struct spectrum_plan *p, struct spectrum_fft *f)
{
	double sum = 0;
	uint32_t n;

	if (p->users) {
		p->users++;
		return 0;
	}
	p->window = fftwf_malloc(sizeof(float) * f->samples);
	if (!p->window)
		return -ENOMEM;
	if (f->kind == SPECTRUM_COMPLEX)
		p->plan = fftwf_plan_dft_1d((int)f->samples, (fftwf_complex *)f->in, f->out,
					    FFTW_FORWARD, FFTW_ESTIMATE);
	else
		p->plan = fftwf_plan_dft_r2c_1d((int)f->samples, f->in, f->out, FFTW_ESTIMATE);
	if (!p->plan) {
		fftwf_free(p->window);
		p->window = NULL;
		return -ENOMEM;
	}
	for (n = 0; n < f->samples; n++) {
		p->window[n] = (float)spectrum_window_value(n, f->samples);
		sum += p->window[n];
	}
	p->inv_gain2 = (float)(1.0 / (sum * sum));
	p->users = 1;
	return 0;
}

static void plan_put(struct spectrum_plan *p)
{
	size_t k, i;

	if (--p->users)
		return;
	fftwf_destroy_plan(p->plan);
	fftwf_free(p->window);
	p->plan = NULL;
	p->window = NULL;
	for (k = 0; k < 2; k++)
		for (i = 0; i < NSIZES; i++)
			if (plans[k][i].users)
				return;
	fftwf_cleanup(); /* no plan left: FFTW's twiddle tables go too */
}

int spectrum_fft_init(struct spectrum_fft *f, enum spectrum_kind kind, uint32_t bins)
{
	struct spectrum_plan *p = plan_slot(kind, bins);
	int err;

	memset(f, 0, sizeof(*f));
	if (!p || (kind != SPECTRUM_COMPLEX && kind != SPECTRUM_REAL))
		return -EINVAL;
	f->kind = kind;
	f->bins = bins;
	f->samples = kind == SPECTRUM_COMPLEX ? bins : 2 * bins;
	f->in = fftwf_malloc(sizeof(float) * 2 * bins);
	f->out = fftwf_malloc(sizeof(fftwf_complex) * (bins + 1));
	if (!f->in || !f->out) {
		err = -ENOMEM;
		goto err_free;
	}
	memset(f->in, 0, sizeof(float) * 2 * bins);
	err = plan_get(p, f);
	if (err)
		goto err_free;
	f->plan = p;
	return 0;

err_free:
	fftwf_free(f->out);
	fftwf_free(f->in);
	memset(f, 0, sizeof(*f));
	return err;
}

static void apply_window(struct spectrum_fft *f)
{
	const float *w = f->plan->window;
	float *x = f->in;
	uint32_t n;

	if (f->kind == SPECTRUM_COMPLEX) {
		for (n = 0; n < f->samples; n++) {
			x[2 * n] *= w[n];
			x[2 * n + 1] *= w[n];
		}
	} else {
		for (n = 0; n < f->samples; n++)
			x[n] *= w[n];
	}
}

static float bin_power(const fftwf_complex *X, uint32_t k)
{
	return X[k][0] * X[k][0] + X[k][1] * X[k][1];
}

void spectrum_fft_run(struct spectrum_fft *f, float *db, struct spectrum_peak *peak)
{
	const fftwf_complex *X = f->out;
	uint32_t i, half = f->bins / 2;
	float scale = f->plan->inv_gain2, best = -1;

	apply_window(f);
	if (f->kind == SPECTRUM_COMPLEX)
		fftwf_execute_dft(f->plan->plan, (fftwf_complex *)f->in, f->out);
	else
		fftwf_execute_dft_r2c(f->plan->plan, f->in, f->out);
	peak->bin = 0;
	for (i = 0; i < f->bins; i++) {
		float pw;

		if (f->kind == SPECTRUM_COMPLEX)
			pw = bin_power(X, (i + half) % f->bins) * scale; /* fftshift */
		else /* one-sided: a sine's power is in two bins, +f and -f */
			pw = bin_power(X, i) * scale * (i ? 4.0f : 1.0f);
		if (pw > best) {
			best = pw;
			peak->bin = i;
		}
		db[i] = 10.0f * log10f(pw > POWER_FLOOR ? pw : POWER_FLOOR);
	}
	peak->dbfs = db[peak->bin];
}

void spectrum_fft_free(struct spectrum_fft *f)
{
	if (f->plan)
		plan_put(f->plan);
	fftwf_free(f->out);
	fftwf_free(f->in);
	memset(f, 0, sizeof(*f));
}
