// SPDX-License-Identifier: MIT
/* The spectrum frame on the wire: see spectrum_frame.h. */
#include "spectrum_frame.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Little-endian stores and loads, whatever the host. */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void putf32(uint8_t *p, float f)
{
	uint32_t v;

	memcpy(&v, &f, sizeof(v));
	put32(p, v);
}

static void putf64(uint8_t *p, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	put64(p, v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static float getf32(const uint8_t *p)
{
	uint32_t v = get32(p);
	float f;

	memcpy(&f, &v, sizeof(f));
	return f;
}

static double getf64(const uint8_t *p)
{
	uint64_t v = get64(p);
	double d;

	memcpy(&d, &v, sizeof(d));
	return d;
}

static uint8_t quantise(float db)
{
	float v = (db - SPECTRUM_DB_OFFSET) / SPECTRUM_DB_STEP;

	if (!(v > 0)) /* NaN too */
		return 0;
	if (v >= 255)
		return 255;
	return (uint8_t)lrintf(v);
}

size_t spectrum_frame_encode(struct spectrum_frame_header *h, const float *db, uint8_t *out,
			     size_t len)
{
	size_t need = SPECTRUM_FRAME_HEADER_BYTES + (size_t)h->bins;
	uint32_t i;

	if (len < need)
		return 0;
	h->db_offset = SPECTRUM_DB_OFFSET;
	h->db_step = SPECTRUM_DB_STEP;
	put32(out, SPECTRUM_FRAME_MAGIC);
	put16(out + 4, SPECTRUM_FRAME_VERSION);
	put16(out + 6, SPECTRUM_FRAME_HEADER_BYTES);
	put32(out + 8, h->bins);
	put32(out + 12, h->flags);
	putf64(out + 16, h->sample_rate);
	putf64(out + 24, h->centre_hz);
	putf64(out + 32, h->span_hz);
	put64(out + 40, h->timestamp_ns);
	put64(out + 48, h->first_sample);
	put64(out + 56, h->sequence);
	put64(out + 64, h->frames_skipped);
	put32(out + 72, h->peak_bin);
	putf32(out + 76, h->peak_dbfs);
	putf32(out + 80, h->db_offset);
	putf32(out + 84, h->db_step);
	put16(out + 88, h->channel_i);
	put16(out + 90, h->channel_q);
	put32(out + 92, 0);
	for (i = 0; i < h->bins; i++)
		out[SPECTRUM_FRAME_HEADER_BYTES + i] = quantise(db[i]);
	return need;
}

void spectrum_frame_set_skipped(uint8_t *frame, uint64_t skipped)
{
	put64(frame + 64, skipped);
}

int spectrum_frame_parse(const uint8_t *buf, size_t len, struct spectrum_frame_header *h,
			 const uint8_t **levels)
{
	uint16_t hdr;

	if (len < SPECTRUM_FRAME_HEADER_BYTES || get32(buf) != SPECTRUM_FRAME_MAGIC ||
	    get16(buf + 4) != SPECTRUM_FRAME_VERSION)
		return -EBADMSG;
	hdr = get16(buf + 6);
	h->bins = get32(buf + 8);
	if (hdr < SPECTRUM_FRAME_HEADER_BYTES || h->bins == 0 || h->bins > 4096 ||
	    len < (size_t)hdr + h->bins)
		return -EBADMSG;
	h->flags = get32(buf + 12);
	h->sample_rate = getf64(buf + 16);
	h->centre_hz = getf64(buf + 24);
	h->span_hz = getf64(buf + 32);
	h->timestamp_ns = get64(buf + 40);
	h->first_sample = get64(buf + 48);
	h->sequence = get64(buf + 56);
	h->frames_skipped = get64(buf + 64);
	h->peak_bin = get32(buf + 72);
	h->peak_dbfs = getf32(buf + 76);
	h->db_offset = getf32(buf + 80);
	h->db_step = getf32(buf + 84);
	h->channel_i = get16(buf + 88);
	h->channel_q = get16(buf + 90);
	*levels = buf + hdr;
	return 0;
}
