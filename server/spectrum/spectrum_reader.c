// SPDX-License-Identifier: MIT
/* A spectrum's channels read out of a stream's scans: see spectrum_reader.h. */
#include "spectrum_reader.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Scan indices the device has (its timestamp included, if any). */
static uint32_t elements(const struct source_format *fmt)
{
	return fmt->scan_elements ? fmt->scan_elements : fmt->device_channels;
}

/* Find channel `ch` in layout *l and set up slot k for it. */
static int take_channel(struct spectrum_reader *rd, int k, const struct source_format *fmt,
			const struct iios_scan_layout *l, uint32_t ch, char *err, size_t errlen)
{
	const struct iios_scan_type *t;
	char ts[IIOS_SCAN_TYPE_STR_MAX];
	uint32_t e;

	if (ch >= fmt->device_channels) {
		snprintf(err, errlen, "channel %u: %s has channels 0..%u", ch, fmt->device,
			 fmt->device_channels ? fmt->device_channels - 1 : 0);
		return -EINVAL;
	}
	for (e = 0; e < l->count && l->elem[e].index != ch; e++)
		;
	if (e == l->count) {
		snprintf(err, errlen,
			 "channel %u of %s is not in the capture now (mask 0x%llx): another "
			 "client chose the captured channels",
			 ch, fmt->device, (unsigned long long)fmt->channel_mask);
		return -EBUSY;
	}
	t = &l->elem[e].type;
	if (t->repeat != 1 || t->bits > 32) {
		iios_scan_type_print(t, ts, sizeof(ts));
		snprintf(err, errlen,
			 "channel %u of %s is %s: the spectrum reads one value of at most 32 bits "
			 "per scan",
			 ch, fmt->device, ts);
		return -EOPNOTSUPP;
	}
	rd->ch[k] = ch;
	rd->type[k] = *t;
	rd->offset[k] = l->elem[e].offset;
	rd->s16le[k] = iios_scan_type_is_s16le(t);
	rd->scale[k] = 1.0f / (float)(1ull << (t->bits - 1));
	rd->bias[k] = t->is_signed ? 0.0f : (float)(1ull << (t->bits - 1));
	return 0;
}

int spectrum_reader_init(struct spectrum_reader *rd, const struct source_format *fmt,
			 uint32_t ch_i, int ch_q, char *err, size_t errlen)
{
	struct iios_scan_layout l;
	int ret;

	memset(rd, 0, sizeof(*rd));
	if (ch_q != SPECTRUM_NO_CHANNEL && (ch_q < 0 || (uint32_t)ch_q == ch_i)) {
		snprintf(err, errlen, "channels %u,%d: two different channels make an I/Q pair",
			 ch_i, ch_q);
		return -EINVAL;
	}
	if (iios_scan_layout_from_mask(&l, fmt->type, elements(fmt), fmt->channel_mask,
				       fmt->timestamp_index) ||
	    l.scan_bytes != fmt->scan_bytes || l.scan_bytes == 0) {
		snprintf(err, errlen, "%s: its scan format is not one the spectrum can read",
			 fmt->device);
		return -EOPNOTSUPP;
	}
	ret = take_channel(rd, 0, fmt, &l, ch_i, err, errlen);
	if (!ret && ch_q != SPECTRUM_NO_CHANNEL)
		ret = take_channel(rd, 1, fmt, &l, (uint32_t)ch_q, err, errlen);
	if (ret) {
		memset(rd, 0, sizeof(*rd));
		return ret;
	}
	rd->complex = ch_q != SPECTRUM_NO_CHANNEL;
	rd->scan_bytes = l.scan_bytes;
	return 0;
}

static float value(const struct spectrum_reader *rd, int k, const uint8_t *scan)
{
	const uint8_t *p = scan + rd->offset[k];

	if (rd->s16le[k])
		return (float)(int16_t)(uint16_t)(p[0] | p[1] << 8) * (1.0f / 32768.0f);
	return ((float)iios_scan_type_read(&rd->type[k], p, 0) - rd->bias[k]) * rd->scale[k];
}

void spectrum_reader_read(const struct spectrum_reader *rd, const uint8_t *scans, uint32_t n,
			  float *out)
{
	uint32_t i;

	if (rd->complex) {
		for (i = 0; i < n; i++, scans += rd->scan_bytes) {
			out[2 * i] = value(rd, 0, scans);
			out[2 * i + 1] = value(rd, 1, scans);
		}
	} else {
		for (i = 0; i < n; i++, scans += rd->scan_bytes)
			out[i] = value(rd, 0, scans);
	}
}
