/* SPDX-License-Identifier: MIT */
#ifndef INCLUDED_IIOSTREAM_SOURCE_H
#define INCLUDED_IIOSTREAM_SOURCE_H

#include <gnuradio/iiostream/api.h>
#include <gnuradio/sync_block.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gr {
namespace iiostream {

/*!
 * \brief Samples of an iiostreamd daemon (libiiostream) as a GNU Radio stream.
 * \ingroup iiostream
 *
 * \details
 * Connects to the daemon at \p url (tcp://HOST[:PORT] or tls://HOST[:PORT]),
 * subscribes to \p channels when the flowgraph starts, and emits their
 * samples on one output per channel, or per I/Q pair of channels:
 *
 * - "complex": gr_complex from channels[0],channels[1] (I, Q) on output 0,
 *   channels[2],channels[3] on output 1, and so on; each part scaled as
 *   "float" says.
 * - "float": one float output per channel, sample / 2^(bits-1) for signed
 *   channels ([-1, 1)), sample / 2^bits for unsigned ones ([0, 1)), bits
 *   being the channel's significant bits (IIO's scan_type: realbits).
 * - "short": one int16 output per channel, the sample as the device means
 *   it (its scan format applied: byte order, shift, sign extension of
 *   `bits`), not rescaled; for channels of at most 16 signed bits.
 *
 * Stream tags, on every output, at the first sample of each block the
 * daemon sends:
 * - "rx_time": (uint64 seconds, double fractional seconds), UHD's format,
 *   of the block's timestamp: the daemon host's CLOCK_MONOTONIC (time
 *   since its boot, not wall-clock time) at the block's first scan;
 * - "rx_sample": uint64, the absolute index of that scan in the capture;
 * - "rx_rate": double, scans per second, at the start of the stream and
 *   after every loss;
 * - "rx_loss": after samples were lost, a dict: "lost_samples" (uint64
 *   scans missing before this one), "lost_blocks" (uint64 blocks the
 *   daemon skipped for this flowgraph), "cause" ("skipped": the flowgraph
 *   read too slowly; "overflow": the source itself had no block to fill;
 *   "reconnect": the connection was lost and made again). Each loss is
 *   also logged as a warning.
 *
 * The network is read by a thread of the block with bounded waits, so
 * work() never blocks the scheduler for longer than 100 ms. When the
 * connection breaks, the daemon says Bye, or no block arrives for \p
 * timeout seconds plus one block's duration, the flowgraph ends (work()
 * returns WORK_DONE after logging the error, which last_error() returns),
 * or, with \p reconnect, the block connects again with backoff (0.1 s
 * doubling up to 5 s) and goes on with an "rx_loss" tag.
 */
class IIOSTREAM_API source : virtual public gr::sync_block
{
public:
    typedef std::shared_ptr<source> sptr;

    /*!
     * \param url tcp://HOST[:PORT] (default port 30432) or
     *        tls://HOST[:PORT] (default port 30433).
     * \param channels scan indices of the channels to receive, in output
     *        order (any order; "complex" takes them in I, Q pairs).
     * \param output_type "complex", "float" or "short".
     * \param sample_rate written to the device's sampling_frequency
     *        attribute (scans per second) before subscribing; 0 leaves it.
     *        It changes the capture for every client of the daemon.
     * \param block_size bytes per block the flowgraph expects; 0: the
     *        daemon's. The daemon's --block-size sets it and a client
     *        cannot change it: a different value ends the flowgraph at
     *        start with an error naming both.
     * \param block_count blocks the daemon may queue for this flowgraph
     *        before it skips (0: the daemon's --client-queue; it may
     *        lower it), and blocks this block buffers between the network
     *        and the scheduler (0: 4).
     * \param reconnect on a lost or stalled server, connect again (true)
     *        instead of ending the flowgraph with an error (false).
     * \param timeout seconds without a block (plus one block's duration)
     *        after which the server counts as stalled; also bounds each
     *        network wait to min(timeout, 1 s).
     * \param ca_file tls://: PEM CA the daemon's certificate must chain
     *        to ("": the system's CAs).
     * \param cert_file tls://: our PEM certificate, for daemons that require
     *        one ("": none).
     * \param key_file tls://: the private key of cert_file.
     * \param tls_server_name tls://: name the daemon's certificate must
     *        carry ("": the URL's host).
     * \param device the streamed device to receive, by name or id, as
     *        the daemon lists it (`iiostream info`; "": its first). A
     *        daemon streams several devices at once (several --source);
     *        one source block per device, each with its own connection.
     *        sample_rate is written to this device. An unknown device
     *        throws std::runtime_error from make() (ENODEV).
     *
     * Connects (and writes sampling_frequency) at once, so a bad URL,
     * certificate or rate throws std::runtime_error here; with \p
     * reconnect an unreachable daemon is only logged and tried again when
     * the flowgraph starts. Bad parameters throw std::invalid_argument.
     */
    static sptr make(const std::string& url,
                     const std::vector<int>& channels,
                     const std::string& output_type = "complex",
                     double sample_rate = 0,
                     unsigned int block_size = 0,
                     unsigned int block_count = 0,
                     bool reconnect = false,
                     double timeout = 5.0,
                     const std::string& ca_file = "",
                     const std::string& cert_file = "",
                     const std::string& key_file = "",
                     const std::string& tls_server_name = "",
                     const std::string& device = "");

    /*! The error that ended the stream ("" while there is none). */
    virtual std::string last_error() const = 0;

    /*! Scans lost so far (the sum of the rx_loss tags' lost_samples). */
    virtual uint64_t lost_samples() const = 0;

    /*! Blocks the daemon skipped for this flowgraph so far. */
    virtual uint64_t lost_blocks() const = 0;

    /*! Scans per second of the stream (0 before the first block). */
    virtual double stream_rate() const = 0;

    /*! The device streamed (as the daemon names it; "" before the
     *  flowgraph first subscribed). */
    virtual std::string device() const = 0;
};

} // namespace iiostream
} // namespace gr

#endif /* INCLUDED_IIOSTREAM_SOURCE_H */
