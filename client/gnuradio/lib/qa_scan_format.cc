/* SPDX-License-Identifier: MIT */
/*
 * gr_unit_scan_format: scan_format against hand-made scans of formats the
 * simulated source never sends. Exit 0 when every check holds.
 */
#include "scan_format.h"

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

int main()
{
    int16_iq_pairs_become_complex_scaled_by_32768();
    two_channel_runs_convert_like_one_sample_at_a_time();
    channels_come_out_in_the_order_asked();
    shifted_big_endian_12_bit_samples_are_sign_extended();
    unsigned_samples_scale_to_zero_one();
    wider_samples_are_aligned_and_refused_as_short();
    bad_channel_lists_are_refused_with_a_reason();
    if (failures) {
        fprintf(stderr, "gr_unit_scan_format: %d checks failed\n", failures);
        return 1;
    }
    printf("gr_unit_scan_format: all checks passed\n");
    return 0;
}
