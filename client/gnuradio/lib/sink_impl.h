/* SPDX-License-Identifier: MIT */
#ifndef INCLUDED_IIOSTREAM_SINK_IMPL_H
#define INCLUDED_IIOSTREAM_SINK_IMPL_H

#include "scan_writer.h"

#include <gnuradio/iiostream/sink.h>
#include <iiostream.h>
#include <pmt/pmt.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gr {
namespace iiostream {

/* How an attempt to send the pending block ended. */
enum class tx_result {
    sent,
    waiting, /* no credit yet (the call's timeout): try again */
    failed,  /* the transmission ended: d_error says why */
};

class sink_impl : public sink
{
public:
    sink_impl(const std::string& url,
              const std::vector<int>& channels,
              output_kind kind,
              double sample_rate,
              unsigned int block_size,
              bool cyclic,
              bool keep_playing,
              double timeout,
              const std::string& ca_file,
              const std::string& cert_file,
              const std::string& key_file,
              const std::string& tls_server_name,
              const std::string& device);
    ~sink_impl() override;

    bool start() override;
    bool stop() override;
    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;

    std::string last_error() const override;
    uint64_t blocks_sent() const override { return d_blocks_sent; }
    uint64_t blocks_played() const override { return d_blocks_played; }
    uint64_t underflows() const override { return d_underflows; }
    uint64_t underflow_samples() const override { return d_underflow_samples; }
    uint64_t underflow_position() const override { return d_underflow_position; }
    double device_rate() const override { return d_rate; }
    std::string device() const override;

private:
    /* The connection (d_client_mutex held, or no other thread running). */
    std::string open();
    std::string take_device();
    tx_result send_pending(size_t scans, std::chrono::steady_clock::time_point give_up);
    void take_status();
    void report(const struct iios_tx_status& st);
    void lost(int r);
    void finish();
    void close_client();

    /* The status thread: reports underflows while work() sends nothing. */
    void status_loop();

    void set_error(const std::string& e);
    void fail(const std::string& why); /* set_error() and log it */
    bool failed() const;

    /* parameters */
    const std::string d_url;
    const std::vector<int> d_channels;
    const output_kind d_kind;
    const double d_sample_rate;
    const unsigned int d_block_size;
    const bool d_cyclic;
    const bool d_keep_playing;
    const double d_timeout;
    const std::string d_ca_file, d_cert_file, d_key_file, d_tls_server_name;
    const std::string d_device; /* "": the daemon's first output device */
    const int d_call_timeout_ms; /* each libiiostream call: min(timeout, 1 s) */

    /* The connection and the transmission: libiiostream's calls on it are
     * made under d_client_mutex (a client is used by one thread at a
     * time): by work() and start()/stop() (the block's thread), and the
     * status thread. d_client is NULL when closed. */
    std::mutex d_client_mutex;
    iios_client* d_client = nullptr;
    bool d_transmitting = false;
    uint64_t d_reported = 0; /* underflows reported so far */

    /* work()'s (and stop()'s, after it): the block being filled */
    scan_writer d_writer;
    std::vector<uint8_t> d_buf;
    size_t d_block_scans = 0; /* scans per block sent */
    size_t d_fill = 0;        /* scans in d_buf */
    bool d_looping = false;   /* cyclic: the block is sent and loops */
    bool d_done = false;
    std::chrono::steady_clock::duration d_stall{}; /* timeout + a block's duration */
    bool d_waiting = false; /* d_buf is full and waits for a credit ... */
    std::chrono::steady_clock::time_point d_wait_since; /* ... since then */

    /* the status thread */
    std::thread d_status_thread;
    std::mutex d_status_mutex;
    std::condition_variable d_status_cond;
    bool d_status_stop = false;

    std::atomic<uint64_t> d_blocks_sent{ 0 };
    std::atomic<uint64_t> d_blocks_played{ 0 };
    std::atomic<uint64_t> d_underflows{ 0 };
    std::atomic<uint64_t> d_underflow_samples{ 0 };
    std::atomic<uint64_t> d_underflow_position{ 0 };
    std::atomic<double> d_rate{ 0 };
    mutable std::mutex d_error_mutex;
    std::string d_error;
    std::string d_played_on; /* the device's name, once taken (d_error_mutex) */
    std::string d_device_ref; /* the device named in requests (its id) */

    const pmt::pmt_t d_port;
};

} // namespace iiostream
} // namespace gr

#endif /* INCLUDED_IIOSTREAM_SINK_IMPL_H */
