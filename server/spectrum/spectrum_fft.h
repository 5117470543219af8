/* SPDX-License-Identifier: MIT */
/*
 * One spectrum computation: a window, an FFT (FFTW, single precision) and
 * the power of each bin in dBFS. Pure arithmetic on the caller's samples:
 * no loop, no blocks, so the unit tests check it against known signals.
 *
 * Two kinds:
 *   - SPECTRUM_COMPLEX: `bins` complex samples (I + jQ, interleaved), a
 *     complex FFT of size bins, fftshifted: bin i is the frequency
 *     (i - bins/2) * fs / bins, i.e. -fs/2 .. fs/2 - fs/bins;
 *   - SPECTRUM_REAL: 2 * bins real samples, a real FFT of size 2 * bins,
 *     one-sided: bin i is i * fs / (2 * bins), i.e. 0 .. fs/2 (Nyquist
 *     itself left out).
 *
 * Samples are in full-scale units: -1.0 .. +1.0 is the ADC's range
 * (spectrum_reader.h converts). dBFS: a complex exponential of amplitude 1
 * (complex) or a sine of amplitude 1 (real) centred on a bin reads 0 dBFS
 * there, whatever the size: the power is divided by the window's coherent
 * gain squared (and doubled on the one-sided real spectrum, but for DC).
 *
 * The window is 4-term Blackman-Harris (Harris 1978, "-92 dB"): its
 * highest sidelobe is -92 dB, just under a 16-bit ADC's ~96 dB of range,
 * so a strong tone does not bury the weak ones beside it in its own
 * leakage, as Hann's -31 dB sidelobes would (the sim's sawtooth has a
 * harmonic every few bins). Its price, a main lobe 8 bins wide and an
 * equivalent noise bandwidth of 2.0 bins, costs nothing at 1024+ bins.
 *
 * Plans: one FFTW plan per (kind, size), made with FFTW_ESTIMATE when the
 * first user of that size comes and kept while any user is left (a
 * measured plan would take seconds of the loop thread for a few
 * microseconds per frame). Only bins 1024, 2048 and 4096 are offered.
 * Everything runs on the daemon's loop thread (FFTW's planner is not
 * thread-safe; nothing here is locked).
 */
#ifndef IIOSTREAMD_SPECTRUM_FFT_H
#define IIOSTREAMD_SPECTRUM_FFT_H

#include <stdbool.h>
#include <stdint.h>

enum spectrum_kind {
	SPECTRUM_COMPLEX, /* an I/Q pair: -fs/2 .. fs/2 */
	SPECTRUM_REAL,    /* one real channel: 0 .. fs/2 */
};

/* The peak of one spectrum. */
struct spectrum_peak {
	uint32_t bin; /* the strongest bin (the lowest, on a tie) */
	float dbfs;   /* its level */
};

struct spectrum_plan; /* private to spectrum_fft.c: the shared plan and window */

struct spectrum_fft {
	/* read-only */
	enum spectrum_kind kind;
	uint32_t bins;     /* values out: 1024, 2048 or 4096 */
	uint32_t samples;  /* inputs per frame: bins (complex) or 2 * bins (real) */
	/* private */
	struct spectrum_plan *plan;
	float *in;         /* fftwf_malloc()ed: 2 * bins floats either way */
	void *out;         /* fftwf_complex[bins + 1] */
};

/* true for the sizes offered: 1024, 2048 and 4096. */
bool spectrum_bins_valid(uint32_t bins);

/* Set f up for `bins` bins of `kind`: 0; -EINVAL for a size not offered;
 * -ENOMEM. Nothing is left allocated on an error. */
int spectrum_fft_init(struct spectrum_fft *f, enum spectrum_kind kind, uint32_t bins);

/* Where the caller writes one frame's samples: f->samples complex values
 * as interleaved I, Q floats (complex), or f->samples floats (real). The
 * next spectrum_fft_run() windows them in place. */
static inline float *spectrum_fft_input(struct spectrum_fft *f)
{
	return f->in;
}

/* Window the input, transform it, and write f->bins levels in dBFS to
 * db[] (at least -200: an empty bin), in the bin order above; *peak gets
 * the strongest bin. */
void spectrum_fft_run(struct spectrum_fft *f, float *db, struct spectrum_peak *peak);

/* Release f's buffers and its share of the plan (the last user of a size
 * destroys its plan; the last of all lets FFTW free its own tables). */
void spectrum_fft_free(struct spectrum_fft *f);

/* The window's value at n of a size-`size` (periodic) window: exposed for
 * the unit tests. */
double spectrum_window_value(uint32_t n, uint32_t size);

#endif /* IIOSTREAMD_SPECTRUM_FFT_H */
