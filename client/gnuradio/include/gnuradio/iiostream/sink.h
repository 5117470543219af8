/* SPDX-License-Identifier: MIT */
#ifndef INCLUDED_IIOSTREAM_SINK_H
#define INCLUDED_IIOSTREAM_SINK_H

#include <gnuradio/iiostream/api.h>
#include <gnuradio/sync_block.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gr {
namespace iiostream {

/*!
 * \brief A GNU Radio stream played by an output device (a DAC) of an
 * iiostreamd daemon (libiiostream's transmit API).
 * \ingroup iiostream
 *
 * \details
 * Connects to the daemon at \p url (tcp://HOST[:PORT] or tls://HOST[:PORT]),
 * takes the output device \p device when the flowgraph starts (one owner
 * at a time: another one's is an error naming it), and plays its inputs,
 * one per channel or per I/Q pair of channels, in blocks of \p block_size
 * scans:
 *
 * - "complex": gr_complex into channels[0],channels[1] (I, Q) from input 0,
 *   channels[2],channels[3] from input 1, and so on; each part scaled as
 *   "float" says.
 * - "float": one float input per channel, x * 2^(bits-1) for signed
 *   channels (x * 2^bits unsigned), rounded to nearest and saturated to
 *   the channel's range: [-1, 1) spans a signed channel, x * 32768 into
 *   int16 as gr-iio's sinks scale, and what iiostream.source reads back is
 *   x again.
 * - "short": one int16 input per channel, the sample as the device means
 *   it (the scan format applied), saturated to the channel's bits.
 *
 * The device's channels that \p channels does not name play 0.
 *
 * Each block is sent with iios_tx_send(), which waits for a credit: the
 * device's ring stays full and the flowgraph runs at the DAC's clock, as
 * with hardware (no Throttle). Stream tags are not interpreted (no
 * tx_sob/tx_eob/tx_time): the input is one continuous stream, and a
 * flowgraph that falls behind makes the DAC underflow.
 *
 * Underflows (the device ran dry and played silence) are never silent:
 * each new one is logged as a warning and published on the message port
 * "underflow" as a dict: "count" (uint64, underflows since start),
 * "samples" (uint64, scans of silence they played so far), "position"
 * (uint64, the index of our scan, counted from 0 at start, before which
 * the last silence was played). A thread of the block asks for the
 * status every 50 ms while the flowgraph sends nothing, so one is
 * reported even when the flowgraph has stopped feeding.
 *
 * \p cyclic: the first \p block_size scans are sent as one cyclic block,
 * which the device plays in a loop (as gr-iio's cyclic sinks do); the
 * block then takes no more input, and the loop plays until the flowgraph
 * stops.
 *
 * When the flowgraph ends (its inputs are done) or is stopped, the scans
 * of a last, partial block are sent, the device plays what is queued and
 * stops (iios_tx_stop() with drain; a cyclic block stops at once), and
 * a line says how many blocks were played and how many underflows there
 * were. With \p keep_playing the connection is closed instead, and the
 * device plays on: queued blocks play out, a cyclic block loops until the
 * next owner replaces it; a connection lost mid-flowgraph does the same
 * (without it, the daemon stops the device when we are gone).
 *
 * Errors (a refused device, a lost or stalled daemon: no credit for \p
 * timeout seconds) end the flowgraph: work() returns WORK_DONE after
 * logging the error, which last_error() returns.
 */
class IIOSTREAM_API sink : virtual public gr::sync_block
{
public:
    typedef std::shared_ptr<sink> sptr;

    /*!
     * \param url tcp://HOST[:PORT] (default port 30432) or
     *        tls://HOST[:PORT] (default port 30433).
     * \param channels scan indices of the device's channels to play, in
     *        input order ("complex" takes them in I, Q pairs).
     * \param input_type "complex", "float" or "short".
     * \param sample_rate written to the device's sampling_frequency
     *        attribute (scans per second) at make(); 0 leaves it.
     * \param block_size scans per block sent; 0: as many as the daemon's
     *        blocks hold (its --block-size), which is also the most.
     * \param cyclic play the first block_size scans in a loop.
     * \param keep_playing when the flowgraph stops or the connection is
     *        lost, the device plays on (true) or stops (false).
     * \param timeout seconds without a credit (plus one block's duration)
     *        after which the daemon counts as stalled; also bounds each
     *        network wait to min(timeout, 1 s).
     * \param ca_file tls://: PEM CA the daemon's certificate must chain
     *        to ("": the system's CAs).
     * \param cert_file tls://: our PEM certificate, for daemons that
     *        require one ("": none).
     * \param key_file tls://: the private key of cert_file.
     * \param tls_server_name tls://: name the daemon's certificate must
     *        carry ("": the URL's host).
     * \param device the output device, by name or id as the daemon lists
     *        it (`iiostream info`; "": its first output device). An
     *        unknown one throws std::runtime_error from make() (ENODEV).
     *
     * Connects (and writes sampling_frequency) at once, so a bad URL,
     * certificate, device or rate throws std::runtime_error here. Bad
     * parameters throw std::invalid_argument. The device is taken when
     * the flowgraph starts.
     */
    static sptr make(const std::string& url,
                     const std::vector<int>& channels,
                     const std::string& input_type = "complex",
                     double sample_rate = 0,
                     unsigned int block_size = 0,
                     bool cyclic = false,
                     bool keep_playing = false,
                     double timeout = 5.0,
                     const std::string& ca_file = "",
                     const std::string& cert_file = "",
                     const std::string& key_file = "",
                     const std::string& tls_server_name = "",
                     const std::string& device = "");

    /*! The error that ended the transmission ("" while there is none). */
    virtual std::string last_error() const = 0;

    /*! Blocks sent so far (since the flowgraph started). */
    virtual uint64_t blocks_sent() const = 0;

    /*! Blocks the device finished playing, as the daemon last said. */
    virtual uint64_t blocks_played() const = 0;

    /*! Underflows so far, as the daemon last said. */
    virtual uint64_t underflows() const = 0;

    /*! Scans of silence the underflows played so far. */
    virtual uint64_t underflow_samples() const = 0;

    /*! Our scan index (from 0 at start) before which the last underflow
     *  put silence; 0 if none. */
    virtual uint64_t underflow_position() const = 0;

    /*! Scans per second of the device (0 before the flowgraph started). */
    virtual double device_rate() const = 0;

    /*! The device transmitted to (as the daemon names it; "" before the
     *  flowgraph first started). */
    virtual std::string device() const = 0;
};

} // namespace iiostream
} // namespace gr

#endif /* INCLUDED_IIOSTREAM_SINK_H */
