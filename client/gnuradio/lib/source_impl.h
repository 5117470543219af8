/* SPDX-License-Identifier: MIT */
#ifndef INCLUDED_IIOSTREAM_SOURCE_IMPL_H
#define INCLUDED_IIOSTREAM_SOURCE_IMPL_H

#include "block_queue.h"
#include "scan_format.h"

#include <gnuradio/iiostream/source.h>
#include <iiostream.h>
#include <pmt/pmt.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gr {
namespace iiostream {

/* How a step of the receive thread ended. */
enum class rx_status {
    ok,
    stopped, /* stop() asked: no error */
    lost,    /* the connection broke or stalled: reconnecting may help */
    fatal,   /* a refusal or a mismatch that another attempt would repeat */
};

class source_impl : public source
{
public:
    source_impl(const std::string& url,
                const std::vector<int>& channels,
                output_kind kind,
                double sample_rate,
                unsigned int block_size,
                unsigned int block_count,
                bool reconnect,
                double timeout,
                const std::string& ca_file,
                const std::string& cert_file,
                const std::string& key_file,
                const std::string& tls_server_name,
                const std::string& device);
    ~source_impl() override;

    bool start() override;
    bool stop() override;
    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;

    std::string last_error() const override;
    uint64_t lost_samples() const override { return d_lost_samples; }
    uint64_t lost_blocks() const override { return d_lost_blocks; }
    double stream_rate() const override { return d_stream_rate; }
    std::string device() const override;

private:
    /* Receive thread. */
    void receive_loop();
    rx_status open(std::string* why);
    rx_status subscribe(std::shared_ptr<const stream_desc>* stream, std::string* why);
    rx_status pump(const std::shared_ptr<const stream_desc>& stream,
                   std::string* why,
                   bool* delivered);
    void close_client();

    /* work(). */
    void tag_block(const rx_block& b, uint64_t item);
    void set_error(const std::string& e);

    /* parameters */
    const std::string d_url;
    const std::vector<int> d_channels;
    const output_kind d_kind;
    const double d_sample_rate;
    const unsigned int d_block_size;
    const unsigned int d_block_count;
    const bool d_reconnect;
    const double d_timeout;
    const std::string d_ca_file, d_cert_file, d_key_file, d_tls_server_name;
    const std::string d_device; /* "": the daemon's first streamed device */
    const int d_call_timeout_ms; /* each libiiostream call: min(timeout, 1 s) */

    /* The connection: the receive thread's while it runs, else the
     * caller's of make()/start()/stop() (a client is used from one thread
     * at a time). NULL when closed. */
    iios_client* d_client = nullptr;
    uint64_t d_subscriptions = 0;
    std::thread d_thread;
    block_queue d_queue;

    /* work()'s: the slot being emitted and how many scans of it are out */
    rx_block* d_cur = nullptr;
    size_t d_cur_scans = 0;
    bool d_have_prev = false;
    uint64_t d_next_sample = 0; /* the scan the next block should start at */
    bool d_done = false;

    std::atomic<uint64_t> d_lost_samples{ 0 };
    std::atomic<uint64_t> d_lost_blocks{ 0 };
    std::atomic<double> d_stream_rate{ 0 };
    mutable std::mutex d_error_mutex;
    std::string d_error;
    std::string d_streamed; /* the device's name, from the subscription (d_error_mutex) */

    const pmt::pmt_t d_id;
};

} // namespace iiostream
} // namespace gr

#endif /* INCLUDED_IIOSTREAM_SOURCE_IMPL_H */
