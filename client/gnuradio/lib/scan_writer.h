/* SPDX-License-Identifier: MIT */
/*
 * From a sink block's inputs to scans (what an output device plays: one
 * sample of each of its channels, in ascending scan index, each laid out as
 * IIO's scan_type says): the inverse of scan_format, on the same layout.
 */
#ifndef INCLUDED_IIOSTREAM_SCAN_WRITER_H
#define INCLUDED_IIOSTREAM_SCAN_WRITER_H

#include "scan_format.h"

#include <iiostream.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gr {
namespace iiostream {

class scan_writer
{
public:
    /*
     * Scans of the device `info` describes, filled from inputs of `kind`
     * for `channels` (scan indices, in input order; "complex" takes them
     * in I/Q pairs). Returns "" on success, else why not (as
     * scan_format::init() says it). The device's other channels are
     * written 0.
     */
    std::string init(const iios_tx_info& info, const std::vector<int>& channels,
                     output_kind kind);

    size_t scan_bytes() const { return d_layout.scan_bytes(); }

    /*
     * Write `scans` whole scans at `out` from the inputs: input k's items
     * `pos` onwards of in[k]. "float" and "complex" parts are scaled by
     * 2^(bits-1) (signed channels; 2^bits unsigned), rounded to nearest
     * and saturated to the channel's range, so a float of [-1, 1) is the
     * sample scan_format reads back as it; "short" is the sample itself,
     * saturated to the channel's bits.
     */
    void fill(uint8_t* out, size_t scans, const std::vector<const void*>& in,
              size_t pos) const;

private:
    void put(uint8_t* scan, const channel_format& ch, int64_t v) const;
    int64_t from_float(float x, const channel_format& ch) const;
    int64_t saturate(int64_t v, const channel_format& ch) const;

    scan_format d_layout; /* the channels written, in input order */
    output_kind d_kind = output_kind::complex_float;
    bool d_covers = false;  /* the channels written fill every byte of a scan */
    bool d_s16 = false;     /* every channel: int16 LE, 16 bits, no shift */
    bool d_iq_scan = false; /* complex into a scan of exactly I, Q int16 */
};

} // namespace iiostream
} // namespace gr

#endif /* INCLUDED_IIOSTREAM_SCAN_WRITER_H */
