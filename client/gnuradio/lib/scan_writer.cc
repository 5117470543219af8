/* SPDX-License-Identifier: MIT */
#include "scan_writer.h"

#include <gnuradio/gr_complex.h>
#include <volk/volk.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace gr {
namespace iiostream {

std::string scan_writer::init(const iios_tx_info& info,
                              const std::vector<int>& channels,
                              output_kind kind)
{
    std::vector<bool> used;
    std::string why;

    why = d_layout.init(info.channels, info.n_channels, info.scan_bytes, channels, kind);
    if (!why.empty())
        return why;
    d_kind = kind;
    const std::vector<channel_format>& ch = d_layout.channels();

    /* Bytes of a scan no written channel covers are zeroed first. */
    used.assign(scan_bytes(), false);
    for (const channel_format& c : ch)
        for (unsigned i = 0; i < c.bytes; i++)
            used[c.offset + i] = true;
    d_covers = std::all_of(used.begin(), used.end(), [](bool b) { return b; });

    d_s16 = true;
    for (const channel_format& c : ch)
        if (c.bytes != 2 || c.bits != 16 || c.shift || !c.is_signed || c.big_endian)
            d_s16 = false;
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    d_s16 = false;
#endif
    d_iq_scan = d_s16 && kind == output_kind::complex_float && ch.size() == 2 &&
                scan_bytes() == 4 && ch[0].offset == 0;
    return "";
}

int64_t scan_writer::saturate(int64_t v, const channel_format& ch) const
{
    int64_t lo, hi;

    if (ch.bits >= 64)
        return v;
    if (ch.is_signed) {
        hi = (int64_t)((1ull << (ch.bits - 1)) - 1);
        lo = -hi - 1;
    } else {
        lo = 0;
        hi = (int64_t)((1ull << ch.bits) - 1);
    }
    return std::clamp(v, lo, hi);
}

int64_t scan_writer::from_float(float x, const channel_format& ch) const
{
    /* the inverse of scan_format's scale: x / ch.scale, in double so that
     * 32-bit channels keep their precision */
    double v = std::nearbyint((double)x / (double)ch.scale);
    double lo, hi;

    if (ch.is_signed) {
        hi = std::ldexp(1.0, (int)ch.bits - 1) - 1;
        lo = -hi - 1;
    } else {
        lo = 0;
        hi = std::ldexp(1.0, (int)ch.bits) - 1;
    }
    if (!(v >= lo)) /* NaN too */
        v = std::isnan(v) ? 0 : lo;
    if (v > hi)
        v = hi;
    if (ch.bits >= 64) /* a double cannot hold 2^63 - 1: the largest below it */
        return v >= 0x1p63 ? INT64_MAX : (int64_t)v;
    return (int64_t)v;
}

/* The sample v of `ch` into the scan at `scan`, as the device means it. */
void scan_writer::put(uint8_t* scan, const channel_format& ch, int64_t v) const
{
    uint8_t* p = scan + ch.offset;
    uint64_t raw = (uint64_t)v;

    if (ch.bits < 64)
        raw &= (1ull << ch.bits) - 1;
    raw <<= ch.shift;
    for (unsigned i = 0; i < ch.bytes; i++)
        p[ch.big_endian ? ch.bytes - 1 - i : i] = (uint8_t)(raw >> (8 * i));
}

void scan_writer::fill(uint8_t* out,
                       size_t scans,
                       const std::vector<const void*>& in,
                       size_t pos) const
{
    const std::vector<channel_format>& ch = d_layout.channels();
    const size_t sb = scan_bytes();

    if (d_iq_scan) {
        /* the whole scan is I, Q: one conversion of 2 * scans floats */
        volk_32f_s32f_convert_16i(
            reinterpret_cast<int16_t*>(out),
            reinterpret_cast<const float*>(static_cast<const gr_complex*>(in[0]) + pos),
            32768.0f,
            (unsigned int)(2 * scans));
        return;
    }
    if (!d_covers)
        memset(out, 0, scans * sb);
    for (size_t k = 0; k < ch.size(); k++) {
        const channel_format& c = ch[k];
        uint8_t* p = out;

        switch (d_kind) {
        case output_kind::complex_float: {
            if (k % 2)
                continue;
            const channel_format& q = ch[k + 1];
            const gr_complex* x = static_cast<const gr_complex*>(in[k / 2]) + pos;

            for (size_t i = 0; i < scans; i++, p += sb) {
                put(p, c, from_float(x[i].real(), c));
                put(p, q, from_float(x[i].imag(), q));
            }
            break;
        }
        case output_kind::real_float: {
            const float* x = static_cast<const float*>(in[k]) + pos;

            for (size_t i = 0; i < scans; i++, p += sb)
                put(p, c, from_float(x[i], c));
            break;
        }
        case output_kind::raw_short: {
            const int16_t* x = static_cast<const int16_t*>(in[k]) + pos;

            if (d_s16) { /* int16 LE samples: strided copies */
                if (sb == 2) {
                    memcpy(p + c.offset, x, 2 * scans);
                    break;
                }
                for (size_t i = 0; i < scans; i++, p += sb)
                    memcpy(p + c.offset, &x[i], 2);
                break;
            }
            for (size_t i = 0; i < scans; i++, p += sb)
                put(p, c, saturate(x[i], c));
            break;
        }
        }
    }
}

} // namespace iiostream
} // namespace gr
