/* SPDX-License-Identifier: MIT */
/*
 * From scans (as the daemon sends them: one sample of each captured
 * channel, in ascending scan index, each laid out as IIO's scan_type says)
 * to the block's outputs: complex I/Q pairs, floats, or int16.
 */
#ifndef INCLUDED_IIOSTREAM_SCAN_FORMAT_H
#define INCLUDED_IIOSTREAM_SCAN_FORMAT_H

#include <iiostream.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gr {
namespace iiostream {

enum class output_kind {
    complex_float, /* "complex": gr_complex per I/Q pair of channels */
    real_float,    /* "float": float per channel, scaled to [-1, 1) */
    raw_short,     /* "short": int16 per channel, not rescaled */
};

/* "complex", "float" or "short"; false for anything else. */
bool parse_output_kind(const std::string& name, output_kind* out);

/* The parameters the source and the sink share, checked as their make()
 * checks them: the item type ("complex", "float", "short"), the channels
 * (scan indices, none twice, complex in I/Q pairs), sample_rate >= 0 and a
 * timeout in seconds > 0. Throws std::invalid_argument naming `block`
 * ("iiostream sink") and what its items are (`items`: "input" or
 * "output"); returns the item kind. */
output_kind check_block_params(const std::string& block,
                               const std::string& items,
                               const std::string& type,
                               const std::vector<int>& channels,
                               double sample_rate,
                               double timeout);

/* Bytes of one output item. */
size_t output_item_size(output_kind kind);

/* Where one channel's sample is in a scan, and what it means. */
struct channel_format {
    uint32_t index;    /* scan index */
    unsigned offset;   /* byte offset in the scan */
    unsigned bytes;    /* storage: 1, 2, 4 or 8 */
    unsigned bits;     /* significant bits, 1..64 */
    unsigned shift;    /* right shift before use */
    bool is_signed;
    bool big_endian;
    float scale;       /* float outputs: 2^-(bits-1) signed, 2^-bits unsigned */
};

class scan_format
{
public:
    /*
     * The format of `channels` (scan indices, in output order) in the
     * stream `info` describes, for outputs of `kind`. Returns "" on
     * success, else why not (a channel the stream does not hold, a sample
     * "short" cannot hold, an odd channel count for "complex", ...).
     */
    std::string init(const iios_stream_info& info,
                     const std::vector<int>& channels,
                     output_kind kind);
    /* The same for scans of chans[0..n_channels-1] (ascending scan index,
     * laid out as IIO lays them out) of scan_bytes bytes: an output
     * device's (iios_tx_info), which scan_writer fills. */
    std::string init(const iios_channel* chans,
                     uint32_t n_channels,
                     uint32_t scan_bytes,
                     const std::vector<int>& channels,
                     output_kind kind);

    size_t scan_bytes() const { return d_scan_bytes; }
    const std::vector<channel_format>& channels() const { return d_ch; }

    /*
     * Convert `scans` whole scans at `in` into the outputs: output k gets
     * them at item `pos` onwards of out[k].
     */
    void convert(const uint8_t* in,
                 size_t scans,
                 const std::vector<void*>& out,
                 size_t pos) const;

private:
    int64_t sample(const uint8_t* scan, const channel_format& ch) const;

    std::vector<channel_format> d_ch; /* one per channel, output order */
    output_kind d_kind = output_kind::real_float;
    size_t d_scan_bytes = 0;
    bool d_s16 = false;     /* every channel: int16 LE, 16 bits, no shift */
    bool d_pair = false;    /* ... and the scan is exactly two of them */
    bool d_iq_scan = false; /* complex from a pair scan, I first */
};

} // namespace iiostream
} // namespace gr

#endif /* INCLUDED_IIOSTREAM_SCAN_FORMAT_H */
