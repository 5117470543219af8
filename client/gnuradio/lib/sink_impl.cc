/* SPDX-License-Identifier: MIT */
/*
 * iiostream.sink: work() converts its inputs into a block of scans and
 * sends it with iios_tx_send(), which waits for a credit (the DAC's clock
 * paces the flowgraph); a status thread asks for the transmission's status
 * while work() sends nothing, so every underflow is reported, as a message
 * and in the log, even when the flowgraph has stopped feeding.
 *
 * Nothing waits without a bound: each libiiostream call returns within
 * min(timeout, 1 s); a send that found no credit returns from work() with
 * the block still pending (the scheduler calls again), and no credit for
 * timeout plus one block's duration ends the transmission with an error.
 */
#include "sink_impl.h"

#include <gnuradio/io_signature.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace gr {
namespace iiostream {

namespace {

using clock = std::chrono::steady_clock;

const pmt::pmt_t COUNT_KEY = pmt::string_to_symbol("count");
const pmt::pmt_t SAMPLES_KEY = pmt::string_to_symbol("samples");
const pmt::pmt_t POSITION_KEY = pmt::string_to_symbol("position");

constexpr std::chrono::milliseconds STATUS_PERIOD(50);
constexpr std::chrono::milliseconds IDLE_WAIT(100);

size_t n_inputs(output_kind kind, size_t channels)
{
    return kind == output_kind::complex_float ? channels / 2 : channels;
}

const char* or_null(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

std::string plural(uint64_t n, const char* what)
{
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

} // namespace

sink::sptr sink::make(const std::string& url,
                      const std::vector<int>& channels,
                      const std::string& input_type,
                      double sample_rate,
                      unsigned int block_size,
                      bool cyclic,
                      bool keep_playing,
                      double timeout,
                      const std::string& ca_file,
                      const std::string& cert_file,
                      const std::string& key_file,
                      const std::string& tls_server_name,
                      const std::string& device)
{
    output_kind kind =
        check_block_params("iiostream sink", "input", input_type, channels, sample_rate, timeout);
    return gnuradio::make_block_sptr<sink_impl>(url,
                                                channels,
                                                kind,
                                                sample_rate,
                                                block_size,
                                                cyclic,
                                                keep_playing,
                                                timeout,
                                                ca_file,
                                                cert_file,
                                                key_file,
                                                tls_server_name,
                                                device);
}

sink_impl::sink_impl(const std::string& url,
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
                     const std::string& device)
    : gr::sync_block("iiostream_sink",
                     gr::io_signature::make((int)n_inputs(kind, channels.size()),
                                            (int)n_inputs(kind, channels.size()),
                                            output_item_size(kind)),
                     gr::io_signature::make(0, 0, 0)),
      d_url(url),
      d_channels(channels),
      d_kind(kind),
      d_sample_rate(sample_rate),
      d_block_size(block_size),
      d_cyclic(cyclic),
      d_keep_playing(keep_playing),
      d_timeout(timeout),
      d_ca_file(ca_file),
      d_cert_file(cert_file),
      d_key_file(key_file),
      d_tls_server_name(tls_server_name),
      d_device(device),
      d_call_timeout_ms((int)std::clamp(timeout * 1000, 1.0, 1000.0)),
      d_port(pmt::string_to_symbol("underflow"))
{
    std::string why;

    message_port_register_out(d_port);
    /* Connect now, so that a wrong URL, certificate, device or rate is an
     * error of make(), where the flowgraph is built. */
    why = open();
    if (!why.empty())
        throw std::runtime_error("iiostream sink: " + why);
}

sink_impl::~sink_impl()
{
    stop();
    close_client();
}

/* ---- connection ---------------------------------------------------------- */

/* Connect, find the output device, write its rate: "" or why not. */
std::string sink_impl::open()
{
    iios_options o{};
    iios_client* c;
    char err[1024]; /* room for trust on first use's advice (two fingerprints, a path) */
    const struct iios_server_info* si;
    const iios_stream_desc* dev = nullptr;
    std::string names;
    int r;

    o.timeout_ms = d_call_timeout_ms;
    o.client_name = "gr-iiostream sink";
    o.ca_file = or_null(d_ca_file);
    o.cert_file = or_null(d_cert_file);
    o.key_file = or_null(d_key_file);
    o.tls_server_name = or_null(d_tls_server_name);
    r = iios_connect(d_url.c_str(), &o, &c, err, sizeof(err));
    if (r < 0)
        return "cannot connect to " + d_url + ": " + err;
    si = iios_server_info(c);
    for (uint32_t i = 0; i < si->n_streams && !dev; i++) {
        const iios_stream_desc& s = si->streams[i];

        if (!s.output)
            continue;
        if (d_device.empty() || d_device == s.device || d_device == s.id)
            dev = &s;
        names += std::string(names.empty() ? "" : ", ") + s.device;
    }
    if (!dev) {
        std::string why =
            si->version < 3
                ? d_url + ": the daemon speaks protocol version " + std::to_string(si->version) +
                      ": it cannot transmit"
            : d_device.empty() ? d_url + ": the daemon has no output device"
                               : d_url + ": no output device '" + d_device + "' (" +
                                     (names.empty() ? "the daemon has none"
                                                    : "the daemon's: " + names) +
                                     ")";
        iios_close(c);
        return why;
    }
    d_device_ref = dev->id;
    if (d_sample_rate > 0) {
        iios_attr_ref ref{};
        char value[64], result[64];

        ref.attr = "sampling_frequency";
        ref.device = d_device_ref.c_str();
        if (d_sample_rate == std::floor(d_sample_rate))
            snprintf(value, sizeof(value), "%.0f", d_sample_rate);
        else
            snprintf(value, sizeof(value), "%.6f", d_sample_rate);
        r = iios_attr_set(c, &ref, value, result, sizeof(result));
        if (r < 0) {
            std::string why = d_url + ": cannot set " + dev->device +
                              "'s sampling_frequency to " + value + ": " + iios_errmsg(c);
            iios_close(c);
            return why;
        }
        if (std::strtod(result, nullptr) != d_sample_rate)
            d_logger->warn("{}: sampling_frequency is {} (asked for {})", d_url, result, value);
    }
    d_client = c;
    return "";
}

void sink_impl::close_client()
{
    iios_close(d_client);
    d_client = nullptr;
    d_transmitting = false;
}

/* Take the device and get ready to fill its blocks: "" or why not. */
std::string sink_impl::take_device()
{
    iios_tx_options opts{};
    iios_tx_info info;
    std::string why;
    size_t most;

    opts.keep_playing = d_keep_playing;
    if (iios_tx_start(d_client, d_device_ref.c_str(), &opts, &info) < 0)
        return d_url + ": cannot transmit to " + d_device_ref + ": " + iios_errmsg(d_client);
    d_transmitting = true;
    d_reported = 0;
    why = d_writer.init(info, d_channels, d_kind);
    if (!why.empty())
        why = d_url + ": " + info.device + ": " + why;
    most = why.empty() ? info.block_size / d_writer.scan_bytes() : 0;
    if (why.empty() && d_block_size > most)
        why = d_url + ": block_size " + std::to_string(d_block_size) +
              " scans is more than the daemon's blocks of " + info.device + " hold (" +
              std::to_string(most) + " scans of " + std::to_string(d_writer.scan_bytes()) +
              " bytes: its --block-size)";
    if (!why.empty()) { /* give the device back, untouched */
        iios_tx_stop(d_client, false, nullptr);
        d_transmitting = false;
        return why;
    }
    d_block_scans = d_block_size ? d_block_size : most;
    d_buf.assign(d_block_scans * d_writer.scan_bytes(), 0);
    d_rate = (double)info.sample_rate;
    d_stall = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(
        d_timeout + (info.sample_rate ? (double)d_block_scans / (double)info.sample_rate : 0)));
    {
        std::lock_guard<std::mutex> lock(d_error_mutex);
        d_played_on = info.device;
    }
    d_logger->info("{}: transmitting to {}: {} scans/s, blocks of {} scans ({} bytes){}{}{}",
                   d_url,
                   info.device,
                   info.sample_rate,
                   d_block_scans,
                   d_block_scans * d_writer.scan_bytes(),
                   d_cyclic ? ", cyclic" : "",
                   d_keep_playing ? ", plays on when we leave" : "",
                   iios_tls_info(d_client) ? std::string(", ") + iios_tls_info(d_client) : "");
    return "";
}

/* ---- sending and status (d_client_mutex held) ----------------------------- */

/* One attempt to send the first `scans` scans of d_buf (waiting for a
 * credit at most the call's timeout). failed also when the transmission
 * has ended already (the status said so: the client is closed). */
tx_result sink_impl::send_pending(size_t scans, clock::time_point give_up)
{
    int r;

    if (!d_transmitting)
        return tx_result::failed;
    r = iios_tx_send(d_client,
                     d_buf.data(),
                     scans * d_writer.scan_bytes(),
                     d_cyclic ? IIOS_TX_CYCLIC : 0);
    if (r == 0) {
        d_blocks_sent++;
        take_status();
        return tx_result::sent;
    }
    if (r == -ETIMEDOUT) {
        take_status();
        if (!d_transmitting)
            return tx_result::failed;
        if (clock::now() < give_up)
            return tx_result::waiting;
        char s[32];
        snprintf(s, sizeof(s), "%.1f", std::chrono::duration<double>(d_stall).count());
        fail("no credit from " + d_url + " in " + s + " s: the daemon stalled");
        close_client();
        return tx_result::failed;
    }
    lost(r);
    return tx_result::failed;
}

/* The latest status, and its news. */
void sink_impl::take_status()
{
    struct iios_tx_status st;
    int r;

    if (!d_transmitting)
        return;
    r = iios_tx_status(d_client, &st);
    if (r < 0) {
        lost(r);
        return;
    }
    report(st);
}

/* The transmission ended with error r: say why, and close. */
void sink_impl::lost(int r)
{
    if (r == -ESHUTDOWN)
        fail("the daemon at " + d_url + " shut down");
    else
        fail("lost the transmission to " + d_url + ": " + iios_errmsg(d_client));
    close_client();
}

/* Every new underflow: a message on "underflow" and a warning. */
void sink_impl::report(const struct iios_tx_status& st)
{
    uint64_t fresh;

    d_blocks_played = st.blocks_played;
    d_underflow_samples = st.underflow_samples;
    d_underflow_position = st.underflow_position;
    d_underflows = st.underflows;
    if (st.underflows <= d_reported)
        return;
    fresh = st.underflows - d_reported;
    d_reported = st.underflows;
    pmt::pmt_t msg = pmt::make_dict();
    msg = pmt::dict_add(msg, COUNT_KEY, pmt::from_uint64(st.underflows));
    msg = pmt::dict_add(msg, SAMPLES_KEY, pmt::from_uint64(st.underflow_samples));
    msg = pmt::dict_add(msg, POSITION_KEY, pmt::from_uint64(st.underflow_position));
    message_port_pub(d_port, msg);
    d_logger->warn("underflow: the device ran dry {} before our scan {} ({} in all, {} of "
                   "silence so far): the flowgraph sent too slowly",
                   fresh == 1 ? std::string("once") : plural(fresh, "time"),
                   st.underflow_position,
                   st.underflows,
                   plural(st.underflow_samples, "scan"));
}

/* The end: the last partial block, then drain (or leave it playing). */
void sink_impl::finish()
{
    struct iios_tx_status st{};
    const clock::time_point give_up = clock::now() + d_stall;
    int r;

    if (!d_transmitting)
        return;
    if (d_fill && !d_looping) {
        tx_result t;

        while ((t = send_pending(d_fill, give_up)) == tx_result::waiting)
            ;
        if (t == tx_result::failed)
            return;
        d_fill = 0;
        if (!d_transmitting) /* its status said the transmission ended */
            return;
    }
    if (d_keep_playing) {
        r = iios_tx_status(d_client, &st);
    } else {
        /* the queue plays out: at most a ring of blocks, then the reply */
        const clock::time_point deadline =
            clock::now() + d_stall +
            std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(
                d_rate > 0 ? (double)(d_blocks_sent * d_block_scans) / d_rate : 0));

        while ((r = iios_tx_stop(d_client, true, &st)) == -ETIMEDOUT &&
               clock::now() < deadline)
            ;
        d_transmitting = false;
    }
    if (r < 0) {
        fail(d_url + ": stopping the transmission to " + device() + ": " +
             iios_errmsg(d_client));
        return;
    }
    report(st);
    std::string line = d_url + ": " + device() + ": " + plural(d_blocks_sent, "block") +
                       " sent, " + plural(st.blocks_played, "block") + " played, " +
                       plural(st.underflows, "underflow") +
                       (st.underflows ? " (" + plural(st.underflow_samples, "scan") +
                                            " of silence)"
                                      : "") +
                       (d_keep_playing ? "; the device plays on" : "; stopped");
    if (st.underflows)
        d_logger->warn("{}", line);
    else
        d_logger->info("{}", line);
}

/* ---- the status thread ---------------------------------------------------- */

void sink_impl::status_loop()
{
    std::unique_lock<std::mutex> lock(d_status_mutex);

    while (!d_status_stop) {
        d_status_cond.wait_for(lock, STATUS_PERIOD);
        if (d_status_stop)
            break;
        lock.unlock();
        /* work() takes the status after each send itself: skip while it
         * holds the client */
        std::unique_lock<std::mutex> client(d_client_mutex, std::try_to_lock);
        if (client.owns_lock())
            take_status();
        client = {};
        lock.lock();
    }
}

/* ---- the flowgraph's side -------------------------------------------------- */

bool sink_impl::start()
{
    std::string why;

    d_fill = 0;
    d_looping = false;
    d_waiting = false;
    d_done = false;
    d_blocks_sent = 0;
    d_blocks_played = 0;
    d_underflows = 0;
    d_underflow_samples = 0;
    d_underflow_position = 0;
    set_error("");
    {
        std::lock_guard<std::mutex> client(d_client_mutex);

        if (!d_client)
            why = open();
        if (why.empty())
            why = take_device();
    }
    if (!why.empty()) {
        /* work() ends the flowgraph */
        fail(why);
        return true;
    }
    d_status_stop = false;
    d_status_thread = std::thread(&sink_impl::status_loop, this);
    return true;
}

bool sink_impl::stop()
{
    {
        std::lock_guard<std::mutex> lock(d_status_mutex);
        d_status_stop = true;
    }
    d_status_cond.notify_all();
    if (d_status_thread.joinable())
        d_status_thread.join();
    std::lock_guard<std::mutex> client(d_client_mutex);
    finish();
    close_client();
    return true;
}

std::string sink_impl::device() const
{
    std::lock_guard<std::mutex> lock(d_error_mutex);
    return d_played_on;
}

std::string sink_impl::last_error() const
{
    std::lock_guard<std::mutex> lock(d_error_mutex);
    return d_error;
}

void sink_impl::set_error(const std::string& e)
{
    std::lock_guard<std::mutex> lock(d_error_mutex);
    d_error = e;
}

void sink_impl::fail(const std::string& why)
{
    set_error(why);
    d_logger->error("{}", why);
}

bool sink_impl::failed() const
{
    std::lock_guard<std::mutex> lock(d_error_mutex);
    return !d_error.empty();
}

int sink_impl::work(int noutput_items,
                    gr_vector_const_void_star& input_items,
                    gr_vector_void_star& output_items)
{
    const size_t want = (size_t)noutput_items, sb = d_writer.scan_bytes();
    size_t consumed = 0;

    (void)output_items;
    if (d_done)
        return WORK_DONE;
    if (failed()) { /* logged where it happened */
        d_done = true;
        return WORK_DONE;
    }
    if (d_looping) {
        /* cyclic: the loop plays until the flowgraph stops; take no more */
        std::this_thread::sleep_for(IDLE_WAIT);
        return 0;
    }
    for (;;) {
        if (d_fill == d_block_scans) {
            std::lock_guard<std::mutex> client(d_client_mutex);

            if (!d_transmitting) /* the status thread saw it end */
                return (int)consumed;
            if (!d_waiting) { /* the stall clock runs while a full block waits */
                d_waiting = true;
                d_wait_since = clock::now();
            }
            switch (send_pending(d_fill, d_wait_since + d_stall)) {
            case tx_result::sent:
                d_waiting = false;
                d_fill = 0;
                if (d_cyclic) {
                    d_looping = true;
                    return (int)consumed;
                }
                break;
            case tx_result::waiting:
                return (int)consumed;
            case tx_result::failed:
                return (int)consumed; /* the next call ends it */
            }
        }
        if (consumed == want)
            break;
        size_t n = std::min(want - consumed, d_block_scans - d_fill);
        d_writer.fill(d_buf.data() + d_fill * sb, n, input_items, consumed);
        d_fill += n;
        consumed += n;
    }
    return (int)consumed;
}

} // namespace iiostream
} // namespace gr
