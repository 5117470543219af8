/* SPDX-License-Identifier: MIT */
/*
 * gr_unit_scan_format: scan_format against hand-made scans of formats the
 * simulated source never sends, and scan_writer (the sink's) as its
 * inverse on the same formats. Exit 0 when every check holds.
 */
#include "scan_format.h"
#include "scan_writer.h"

#include <gnuradio/gr_complex.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

using namespace gr::iiostream;

static int failures;

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__, \
                    __func__, #cond);                                             \
            failures++;                                                           \
        }                                                                         \
    } while (0)

struct chan {
    const char* id;
    unsigned index, bits, storage, shift;
    bool is_signed, be;
};

static iios_stream_info stream(std::initializer_list<chan> chans, uint32_t scan_bytes)
{
    iios_stream_info info{};
    uint32_t n = 0;

    for (const chan& c : chans) {
        iios_channel& o = info.channels[n++];
        snprintf(o.id, sizeof(o.id), "%s", c.id);
        o.index = c.index;
        o.bits = c.bits;
        o.storage_bits = c.storage;
        o.shift = c.shift;
        o.is_signed = c.is_signed;
        o.big_endian = c.be;
    }
    info.n_channels = n;
    info.scan_bytes = scan_bytes;
    info.block_size = 64 * scan_bytes;
    return info;
}

static void int16_iq_pairs_become_complex_scaled_by_32768()
{
    iios_stream_info info = stream({ { "voltage0", 0, 16, 16, 0, true, false },
                                     { "voltage1", 1, 16, 16, 0, true, false } },
                                   4);
    const int16_t in[] = { 16384, -32768, 1, 32767, -1, 0 };
    std::vector<gr_complex> out(4);
    scan_format f;

    CHECK(f.init(info, { 0, 1 }, output_kind::complex_float).empty());
    f.convert(reinterpret_cast<const uint8_t*>(in), 3, { out.data() }, 1);
    CHECK(out[1] == gr_complex(0.5f, -1.0f));
    CHECK(out[2] == gr_complex(1.0f / 32768, 32767.0f / 32768));
    CHECK(out[3] == gr_complex(-1.0f / 32768, 0.0f));

    /* Q, I swapped: the strided path, the same scale */
    CHECK(f.init(info, { 1, 0 }, output_kind::complex_float).empty());
    f.convert(reinterpret_cast<const uint8_t*>(in), 1, { out.data() }, 0);
    CHECK(out[0] == gr_complex(-1.0f, 0.5f));
}

/* The two-channel fast paths (VOLK) on long, unaligned runs, against the
 * definition, in both channel orders. */
static void two_channel_runs_convert_like_one_sample_at_a_time()
{
    iios_stream_info info = stream({ { "voltage0", 0, 16, 16, 0, true, false },
                                     { "voltage1", 1, 16, 16, 0, true, false } },
                                   4);
    const size_t n = 1001, pos = 3;
    std::vector<int16_t> in(2 * n + 2);
    std::vector<gr_complex> c(n + pos);
    std::vector<float> f0(n + pos), f1(n + pos);
    std::vector<int16_t> s0(n + pos), s1(n + pos);
    const uint8_t* raw = reinterpret_cast<const uint8_t*>(in.data() + 2); /* not 32-aligned */
    scan_format f;
    int wrong = 0;

    for (size_t i = 0; i < in.size(); i++)
        in[i] = (int16_t)(i * 0x9e37 + 0x1234);
    for (int order = 0; order < 2; order++) {
        std::vector<int> ch = order ? std::vector<int>{ 1, 0 } : std::vector<int>{ 0, 1 };

        CHECK(f.init(info, ch, output_kind::complex_float).empty());
        f.convert(raw, n, { c.data() }, pos);
        CHECK(f.init(info, ch, output_kind::real_float).empty());
        f.convert(raw, n, { f0.data(), f1.data() }, pos);
        CHECK(f.init(info, ch, output_kind::raw_short).empty());
        f.convert(raw, n, { s0.data(), s1.data() }, pos);
        for (size_t i = 0; i < n; i++) {
            int16_t a = in[2 + 2 * i + ch[0]], b = in[2 + 2 * i + ch[1]];

            wrong += c[pos + i] != gr_complex(a / 32768.0f, b / 32768.0f);
            wrong += f0[pos + i] != a / 32768.0f || f1[pos + i] != b / 32768.0f;
            wrong += s0[pos + i] != a || s1[pos + i] != b;
        }
    }
    CHECK(wrong == 0);
}

static void channels_come_out_in_the_order_asked()
{
    iios_stream_info info = stream({ { "voltage0", 0, 16, 16, 0, true, false },
                                     { "voltage2", 2, 16, 16, 0, true, false },
                                     { "voltage5", 5, 16, 16, 0, true, false } },
                                   6);
    const int16_t in[] = { 10, 20, 50, 11, 21, 51 };
    std::vector<int16_t> a(2), b(2);
    std::vector<float> fa(2), fb(2);
    scan_format f;

    CHECK(f.init(info, { 5, 0 }, output_kind::raw_short).empty());
    f.convert(reinterpret_cast<const uint8_t*>(in), 2, { a.data(), b.data() }, 0);
    CHECK(a[0] == 50 && a[1] == 51 && b[0] == 10 && b[1] == 11);
    CHECK(f.init(info, { 2, 5 }, output_kind::real_float).empty());
    f.convert(reinterpret_cast<const uint8_t*>(in), 2, { fa.data(), fb.data() }, 0);
    CHECK(fa[0] == 20.0f / 32768 && fb[1] == 51.0f / 32768);
}

static void shifted_big_endian_12_bit_samples_are_sign_extended()
{
    /* 12 significant bits, stored big-endian in 16, shifted left by 4 (as
     * many ADCs deliver them): -5 is 0xffb << 4 = 0xffb0 */
    iios_stream_info info = stream({ { "voltage0", 0, 12, 16, 4, true, true } }, 2);
    const uint8_t in[] = { 0xff, 0xb0, 0x7f, 0xf0, 0x80, 0x00, 0x00, 0x1f };
    std::vector<int16_t> s(4);
    std::vector<float> f4(4);
    scan_format f;

    CHECK(f.init(info, { 0 }, output_kind::raw_short).empty());
    f.convert(in, 4, { s.data() }, 0);
    CHECK(s[0] == -5 && s[1] == 2047 && s[2] == -2048 && s[3] == 1); /* low 4 bits dropped */
    CHECK(f.init(info, { 0 }, output_kind::real_float).empty());
    f.convert(in, 4, { f4.data() }, 0);
    CHECK(f4[0] == -5.0f / 2048 && f4[1] == 2047.0f / 2048 && f4[2] == -1.0f);
}

static void unsigned_samples_scale_to_zero_one()
{
    iios_stream_info info = stream({ { "voltage0", 0, 8, 8, 0, false, false } }, 1);
    const uint8_t in[] = { 0, 128, 255 };
    std::vector<float> out(3);
    std::vector<int16_t> s(3);
    scan_format f;

    CHECK(f.init(info, { 0 }, output_kind::real_float).empty());
    f.convert(in, 3, { out.data() }, 0);
    CHECK(out[0] == 0.0f && out[1] == 0.5f && out[2] == 255.0f / 256);
    CHECK(f.init(info, { 0 }, output_kind::raw_short).empty());
    f.convert(in, 3, { s.data() }, 0);
    CHECK(s[0] == 0 && s[1] == 128 && s[2] == 255);
}

static void wider_samples_are_aligned_and_refused_as_short()
{
    /* int16 then a 24-in-32-bit sample: IIO aligns it to 4 bytes */
    iios_stream_info info = stream({ { "voltage0", 0, 16, 16, 0, true, false },
                                     { "accel", 1, 24, 32, 0, true, false } },
                                   8);
    uint8_t in[8] = { 0x02, 0x00, 0xee, 0xee, 0x00, 0x00, 0x80, 0x00 }; /* 2, 0x800000 */
    std::vector<float> a(1), b(1);
    scan_format f;

    CHECK(f.init(info, { 0, 1 }, output_kind::real_float).empty());
    CHECK(f.channels()[1].offset == 4);
    f.convert(in, 1, { a.data(), b.data() }, 0);
    CHECK(a[0] == 2.0f / 32768);
    CHECK(b[0] == -1.0f); /* 0x800000 is -2^23 in 24 bits */
    CHECK(!f.init(info, { 1 }, output_kind::raw_short).empty());
    CHECK(f.init(info, { 0 }, output_kind::raw_short).empty());
}

static void bad_channel_lists_are_refused_with_a_reason()
{
    iios_stream_info info = stream({ { "voltage0", 0, 16, 16, 0, true, false },
                                     { "voltage1", 1, 16, 16, 0, true, false } },
                                   4);
    scan_format f;
    std::string why;

    why = f.init(info, { 0, 3 }, output_kind::real_float);
    CHECK(why.find("channel 3 is not in the stream") != std::string::npos);
    CHECK(why.find("voltage1 [1]") != std::string::npos);
    CHECK(!f.init(info, { 0 }, output_kind::complex_float).empty());
    CHECK(!f.init(info, { 1, 1 }, output_kind::real_float).empty());
    CHECK(!f.init(info, {}, output_kind::real_float).empty());
    info.channels[1].repeat = 2; /* IIO's X2: two values in one element */
    why = f.init(info, { 0 }, output_kind::real_float);
    CHECK(why.find("voltage1 repeats its value 2 times") != std::string::npos);
}


/* ---- scan_writer: the sink's inputs into scans ---- */

static iios_tx_info device(const iios_stream_info& s)
{
    iios_tx_info info{};

    info.n_channels = s.n_channels;
    memcpy(info.channels, s.channels, sizeof(info.channels));
    info.scan_bytes = s.scan_bytes;
    info.block_size = s.block_size;
    return info;
}

static void complex_is_scaled_by_32768_rounded_and_saturated_like_gr_iio()
{
    iios_tx_info info = device(stream({ { "voltage0", 0, 16, 16, 0, true, false },
                                        { "voltage1", 1, 16, 16, 0, true, false } },
                                      4));
    const std::vector<gr_complex> in = { { 0.5f, -1.0f },
                                         { 1.0f, 2.0f },
                                         { -3.0f, 1.5f / 32768 },
                                         { 2.5f / 32768, -0.5f / 32768 } };
    int16_t out[8];
    scan_writer w;

    /* I, Q: the VOLK path */
    CHECK(w.init(info, { 0, 1 }, output_kind::complex_float).empty());
    w.fill(reinterpret_cast<uint8_t*>(out), 4, { in.data() }, 0);
    CHECK(out[0] == 16384 && out[1] == -32768);
    CHECK(out[2] == 32767 && out[3] == 32767);
    CHECK(out[4] == -32768 && out[5] == 2); /* halves round to even */
    CHECK(out[6] == 2 && out[7] == 0);
    /* Q, I: the sample-by-sample path, the same numbers */
    CHECK(w.init(info, { 1, 0 }, output_kind::complex_float).empty());
    w.fill(reinterpret_cast<uint8_t*>(out), 3, { in.data() }, 1);
    CHECK(out[1] == 32767 && out[0] == 32767);
    CHECK(out[3] == -32768 && out[2] == 2);
    CHECK(out[5] == 2 && out[4] == 0);
}

/* Whatever scan_format reads, scan_writer writes back byte for byte, in
 * every format (the bits outside a sample zero). */
static void writing_what_was_read_gives_the_same_scans()
{
    const std::vector<iios_stream_info> formats = {
        stream({ { "voltage0", 0, 16, 16, 0, true, false },
                 { "voltage1", 1, 16, 16, 0, true, false } },
               4),
        stream({ { "voltage0", 0, 12, 16, 4, true, true },
                 { "voltage1", 1, 12, 16, 0, true, false } },
               4),
        stream({ { "voltage0", 0, 8, 8, 0, false, false },
                 { "voltage1", 1, 16, 16, 0, true, false },
                 { "voltage2", 2, 24, 32, 0, true, true } },
               8),
        stream({ { "voltage0", 0, 14, 16, 2, false, false },
                 { "voltage1", 1, 16, 16, 0, true, true } },
               4),
    };
    const size_t scans = 257;
    int tried = 0;

    for (const iios_stream_info& s : formats) {
        std::vector<int> chans;
        for (uint32_t i = 0; i < s.n_channels; i++)
            chans.push_back((int)i);
        for (output_kind kind :
             { output_kind::real_float, output_kind::raw_short, output_kind::complex_float }) {
            scan_format r;
            scan_writer w;
            std::vector<int> use = chans;

            if (kind == output_kind::complex_float && use.size() % 2)
                use.pop_back();
            if (!r.init(s, use, kind).empty())
                continue; /* e.g. 24 bits as short: refused by both */
            CHECK(w.init(device(s), use, kind).empty());
            /* scans of valid samples (each value within its bits, the rest
             * 0), made from floats that are exact samples */
            std::vector<uint8_t> in(scans * s.scan_bytes), back(in.size(), 0xa5);
            scan_writer maker;
            std::vector<std::vector<float>> val(use.size(), std::vector<float>(scans));
            std::vector<const void*> vp;
            for (size_t k = 0; k < use.size(); k++) {
                const channel_format& c = r.channels()[k];
                long span = 1L << c.bits;
                for (size_t i = 0; i < scans; i++) {
                    long v = (long)((i * 7919 + k * 104729) % (size_t)span);
                    if (c.is_signed)
                        v -= span / 2;
                    val[k][i] = (float)v * c.scale;
                }
                vp.push_back(val[k].data());
            }
            CHECK(maker.init(device(s), use, output_kind::real_float).empty());
            maker.fill(in.data(), scans, vp, 0);
            /* read it, write it back */
            size_t outs = kind == output_kind::complex_float ? use.size() / 2 : use.size();
            std::vector<std::vector<uint8_t>> mid(outs,
                                                  std::vector<uint8_t>(scans * sizeof(gr_complex)));
            std::vector<void*> mp;
            std::vector<const void*> mc;
            for (auto& m : mid) {
                mp.push_back(m.data());
                mc.push_back(m.data());
            }
            r.convert(in.data(), scans, mp, 0);
            w.fill(back.data(), scans, mc, 0);
            CHECK(back == in);
            tried++;
        }
    }
    CHECK(tried == 11); /* every format and kind but 24 bits as short */
}

static void channels_not_written_play_zero_and_wide_ones_saturate()
{
    /* a 24-in-32 big-endian channel and an int16 one that is not written */
    iios_tx_info info = device(stream({ { "voltage0", 0, 16, 16, 0, true, false },
                                        { "voltage1", 1, 24, 32, 0, true, true } },
                                      8));
    const float in[] = { -1.0f, 0.5f, 7.0f };
    uint8_t out[24];
    scan_writer w;

    memset(out, 0xee, sizeof(out));
    CHECK(w.init(info, { 1 }, output_kind::real_float).empty());
    w.fill(out, 3, { in }, 0);
    const uint8_t want[24] = { 0, 0, 0, 0, 0x00, 0x80, 0x00, 0x00, /* -2^23 */
                               0, 0, 0, 0, 0x00, 0x40, 0x00, 0x00, /* 2^22 */
                               0, 0, 0, 0, 0x00, 0x7f, 0xff, 0xff }; /* saturated */
    CHECK(memcmp(out, want, sizeof(want)) == 0);
    /* short into 12 bits saturates to the 12-bit range, shifted */
    info = device(stream({ { "voltage0", 0, 12, 16, 4, true, false } }, 2));
    const int16_t s[] = { 5000, -5000, -5 };
    int16_t o[3];
    CHECK(w.init(info, { 0 }, output_kind::raw_short).empty());
    w.fill(reinterpret_cast<uint8_t*>(o), 3, { s }, 0);
    CHECK(o[0] == (int16_t)(2047 << 4) && o[1] == (int16_t)0x8000 && o[2] == (int16_t)0xffb0);
}

int main()
{
    int16_iq_pairs_become_complex_scaled_by_32768();
    two_channel_runs_convert_like_one_sample_at_a_time();
    channels_come_out_in_the_order_asked();
    shifted_big_endian_12_bit_samples_are_sign_extended();
    unsigned_samples_scale_to_zero_one();
    wider_samples_are_aligned_and_refused_as_short();
    bad_channel_lists_are_refused_with_a_reason();
    complex_is_scaled_by_32768_rounded_and_saturated_like_gr_iio();
    writing_what_was_read_gives_the_same_scans();
    channels_not_written_play_zero_and_wide_ones_saturate();
    if (failures) {
        fprintf(stderr, "gr_unit_scan_format: %d checks failed\n", failures);
        return 1;
    }
    printf("gr_unit_scan_format: all checks passed\n");
    return 0;
}
