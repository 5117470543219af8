/* SPDX-License-Identifier: MIT */
#include "scan_format.h"

#include <gnuradio/gr_complex.h>
#include <volk/volk.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace gr {
namespace iiostream {

bool parse_output_kind(const std::string& name, output_kind* out)
{
    if (name == "complex")
        *out = output_kind::complex_float;
    else if (name == "float")
        *out = output_kind::real_float;
    else if (name == "short")
        *out = output_kind::raw_short;
    else
        return false;
    return true;
}

output_kind check_block_params(const std::string& block,
                               const std::string& items,
                               const std::string& type,
                               const std::vector<int>& channels,
                               double sample_rate,
                               double timeout)
{
    output_kind kind;

    if (!parse_output_kind(type, &kind))
        throw std::invalid_argument(block + ": " + items + "_type '" + type +
                                    "' is not complex, float or short");
    if (channels.empty())
        throw std::invalid_argument(block + ": no channels given");
    for (size_t i = 0; i < channels.size(); i++) {
        if (channels[i] < 0 || channels[i] >= IIOS_MAX_CHANNELS)
            throw std::invalid_argument(block + ": channel " + std::to_string(channels[i]) +
                                        " is not a scan index (0.." +
                                        std::to_string(IIOS_MAX_CHANNELS - 1) + ")");
        if (std::find(channels.begin(), channels.begin() + i, channels[i]) !=
            channels.begin() + i)
            throw std::invalid_argument(block + ": channel " + std::to_string(channels[i]) +
                                        " given twice");
    }
    if (kind == output_kind::complex_float && channels.size() % 2)
        throw std::invalid_argument(block + ": complex " + items +
                                    " takes channels in I/Q pairs, " +
                                    std::to_string(channels.size()) + " channels given");
    if (!(sample_rate >= 0) || !std::isfinite(sample_rate))
        throw std::invalid_argument(block + ": sample_rate must be >= 0");
    if (!(timeout > 0) || timeout > 1e6)
        throw std::invalid_argument(block + ": timeout must be > 0 seconds");
    return kind;
}

size_t output_item_size(output_kind kind)
{
    switch (kind) {
    case output_kind::complex_float:
        return sizeof(gr_complex);
    case output_kind::real_float:
        return sizeof(float);
    case output_kind::raw_short:
        break;
    }
    return sizeof(int16_t);
}

static std::string describe(const iios_channel* chans, uint32_t n)
{
    std::string s;

    for (uint32_t i = 0; i < n; i++) {
        if (i)
            s += ", ";
        s += std::string(chans[i].id) + " [" + std::to_string(chans[i].index) + "]";
    }
    return s.empty() ? "no channel" : s;
}

std::string scan_format::init(const iios_stream_info& info,
                              const std::vector<int>& channels,
                              output_kind kind)
{
    return init(info.channels, info.n_channels, info.scan_bytes, channels, kind);
}

std::string scan_format::init(const iios_channel* chans,
                              uint32_t n_channels,
                              uint32_t scan_bytes,
                              const std::vector<int>& channels,
                              output_kind kind)
{
    std::vector<channel_format> all; /* every channel of the scan, in order */
    unsigned off = 0;

    d_ch.clear();
    d_kind = kind;
    d_scan_bytes = scan_bytes;
    if (channels.empty())
        return "no channels given";
    if (kind == output_kind::complex_float && channels.size() % 2)
        return "complex output takes channels in I/Q pairs: " +
               std::to_string(channels.size()) + " channels given";

    /* IIO's layout: each sample aligned to its own storage size. A stream
     * described without channels holds int16 channels 0..n-1 (the
     * pattern's layout). */
    if (n_channels == 0) {
        for (uint32_t i = 0; i < scan_bytes / 2; i++)
            all.push_back({ i, 2 * i, 2, 16, 0, true, false, 0 });
    }
    for (uint32_t i = 0; i < n_channels; i++) {
        const iios_channel& c = chans[i];
        unsigned bytes = c.storage_bits / 8;

        if (c.repeat > 1) /* (IIO's Xrepeat: several values in one element) */
            return std::string("channel ") + c.id + " repeats its value " +
                   std::to_string(c.repeat) + " times in a scan (X" +
                   std::to_string(c.repeat) + "): this block reads one value per channel";
        if (c.storage_bits % 8 || (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) ||
            c.bits == 0 || c.bits + c.shift > c.storage_bits)
            return std::string("channel ") + c.id + " has a scan format this block cannot read (" +
                   std::to_string(c.bits) + " bits >> " + std::to_string(c.shift) + " in " +
                   std::to_string(c.storage_bits) + ")";
        off = (off + bytes - 1) / bytes * bytes;
        all.push_back({ c.index, off, bytes, c.bits, c.shift, c.is_signed, c.big_endian, 0 });
        off += bytes;
    }
    if (off > scan_bytes)
        return "the stream's channels take " + std::to_string(off) + " bytes, its scans " +
               std::to_string(scan_bytes);

    for (int want : channels) {
        const channel_format* found = nullptr;

        for (const channel_format& c : all)
            if (want >= 0 && c.index == (uint32_t)want)
                found = &c;
        if (!found)
            return "channel " + std::to_string(want) + " is not in the stream (it holds " +
                   describe(chans, n_channels) + ")";
        for (const channel_format& c : d_ch)
            if (c.index == found->index)
                return "channel " + std::to_string(want) + " given twice";
        channel_format ch = *found;
        if (kind == output_kind::raw_short &&
            (ch.bits > 16 || (!ch.is_signed && ch.bits > 15)))
            return "channel " + std::to_string(want) + " has " + std::to_string(ch.bits) +
                   (ch.is_signed ? " signed" : " unsigned") +
                   " bits: too many for short output (use float)";
        if (ch.bits == 64)
            ch.scale = ch.is_signed ? 0x1p-63f : 0x1p-64f;
        else
            ch.scale =
                1.0f / (float)(ch.is_signed ? 1ull << (ch.bits - 1) : 1ull << ch.bits);
        d_ch.push_back(ch);
    }

    d_s16 = true;
    for (const channel_format& c : d_ch)
        if (c.bytes != 2 || c.bits != 16 || c.shift || !c.is_signed || c.big_endian)
            d_s16 = false;
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    d_s16 = false;
#endif
    d_pair = d_s16 && d_ch.size() == 2 && d_scan_bytes == 4;
    d_iq_scan = d_pair && kind == output_kind::complex_float && d_ch[0].offset == 0;
    return "";
}

/* The sample of `ch` in the scan at `scan`, as the device means it. */
int64_t scan_format::sample(const uint8_t* scan, const channel_format& ch) const
{
    const uint8_t* p = scan + ch.offset;
    uint64_t raw = 0;

    for (unsigned i = 0; i < ch.bytes; i++)
        raw |= (uint64_t)p[ch.big_endian ? i : ch.bytes - 1 - i] << (8 * (ch.bytes - 1 - i));
    raw >>= ch.shift;
    if (ch.bits < 64) {
        raw &= (1ull << ch.bits) - 1;
        if (ch.is_signed && (raw >> (ch.bits - 1)) & 1)
            raw |= ~((1ull << ch.bits) - 1); /* sign-extend */
    }
    return (int64_t)raw;
}

void scan_format::convert(const uint8_t* in,
                          size_t scans,
                          const std::vector<void*>& out,
                          size_t pos) const
{
    const size_t sb = d_scan_bytes;

    if (d_iq_scan) {
        /* the whole scan is I, Q: one conversion of 2 * scans int16 */
        volk_16i_s32f_convert_32f(reinterpret_cast<float*>(static_cast<gr_complex*>(out[0]) + pos),
                                  reinterpret_cast<const int16_t*>(in),
                                  32768.0f,
                                  (unsigned int)(2 * scans));
        return;
    }
    if (d_pair && d_kind != output_kind::complex_float) {
        /* two int16 channels: deinterleave the whole run at once */
        const lv_16sc_t* pairs = reinterpret_cast<const lv_16sc_t*>(in);
        size_t first = d_ch[0].offset == 0 ? 0 : 1; /* the output of each scan's 1st sample */

        if (d_kind == output_kind::real_float)
            volk_16ic_s32f_deinterleave_32f_x2(static_cast<float*>(out[first]) + pos,
                                               static_cast<float*>(out[1 - first]) + pos,
                                               pairs,
                                               32768.0f,
                                               (unsigned int)scans);
        else
            volk_16ic_deinterleave_16i_x2(static_cast<int16_t*>(out[first]) + pos,
                                          static_cast<int16_t*>(out[1 - first]) + pos,
                                          pairs,
                                          (unsigned int)scans);
        return;
    }
    if (d_s16) {
        /* int16 LE samples: strided reads, no format work */
        for (size_t k = 0; k < d_ch.size(); k++) {
            const uint8_t* p = in + d_ch[k].offset;
            int16_t v;

            switch (d_kind) {
            case output_kind::complex_float: {
                if (k % 2)
                    continue;
                gr_complex* o = static_cast<gr_complex*>(out[k / 2]) + pos;
                const uint8_t* q = in + d_ch[k + 1].offset;
                int16_t w;

                for (size_t i = 0; i < scans; i++, p += sb, q += sb) {
                    memcpy(&v, p, 2);
                    memcpy(&w, q, 2);
                    o[i] = gr_complex(v * (1.0f / 32768), w * (1.0f / 32768));
                }
                break;
            }
            case output_kind::real_float: {
                float* o = static_cast<float*>(out[k]) + pos;

                for (size_t i = 0; i < scans; i++, p += sb) {
                    memcpy(&v, p, 2);
                    o[i] = v * (1.0f / 32768);
                }
                break;
            }
            case output_kind::raw_short: {
                int16_t* o = static_cast<int16_t*>(out[k]) + pos;

                if (sb == 2) {
                    memcpy(o, p, 2 * scans);
                    break;
                }
                for (size_t i = 0; i < scans; i++, p += sb)
                    memcpy(&o[i], p, 2);
                break;
            }
            }
        }
        return;
    }
    /* any other scan format: one sample at a time */
    for (size_t k = 0; k < d_ch.size(); k++) {
        const channel_format& c = d_ch[k];
        const uint8_t* p = in;

        switch (d_kind) {
        case output_kind::complex_float: {
            if (k % 2)
                continue;
            const channel_format& q = d_ch[k + 1];
            gr_complex* o = static_cast<gr_complex*>(out[k / 2]) + pos;

            for (size_t i = 0; i < scans; i++, p += sb)
                o[i] = gr_complex((float)sample(p, c) * c.scale, (float)sample(p, q) * q.scale);
            break;
        }
        case output_kind::real_float: {
            float* o = static_cast<float*>(out[k]) + pos;

            for (size_t i = 0; i < scans; i++, p += sb)
                o[i] = (float)sample(p, c) * c.scale;
            break;
        }
        case output_kind::raw_short: {
            int16_t* o = static_cast<int16_t*>(out[k]) + pos;

            for (size_t i = 0; i < scans; i++, p += sb)
                o[i] = (int16_t)sample(p, c);
            break;
        }
        }
    }
}

} // namespace iiostream
} // namespace gr
