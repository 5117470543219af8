/* SPDX-License-Identifier: MIT */
/*
 * iiostream.source: a receive thread reads blocks with libiiostream into a
 * block_queue; work() converts them into the outputs and tags them.
 *
 * Nothing here waits without a bound: each libiiostream call returns within
 * min(timeout, 1 s), the receive thread checks for stop() between calls,
 * and work() waits at most 100 ms for a block before returning 0 (the
 * scheduler calls it again), so stopping a flowgraph never hangs on the
 * network.
 */
#include "source_impl.h"

#include <gnuradio/io_signature.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace gr {
namespace iiostream {

namespace {

const pmt::pmt_t TIME_KEY = pmt::string_to_symbol("rx_time");
const pmt::pmt_t RATE_KEY = pmt::string_to_symbol("rx_rate");
const pmt::pmt_t SAMPLE_KEY = pmt::string_to_symbol("rx_sample");
const pmt::pmt_t LOSS_KEY = pmt::string_to_symbol("rx_loss");
const pmt::pmt_t LOST_SAMPLES_KEY = pmt::string_to_symbol("lost_samples");
const pmt::pmt_t LOST_BLOCKS_KEY = pmt::string_to_symbol("lost_blocks");
const pmt::pmt_t CAUSE_KEY = pmt::string_to_symbol("cause");

constexpr std::chrono::milliseconds WORK_WAIT(100);
constexpr std::chrono::milliseconds BACKOFF_FIRST(100);
constexpr std::chrono::milliseconds BACKOFF_MAX(5000);
constexpr unsigned int DEFAULT_SLOTS = 4;
/* Output buffers of at least this many bytes: with GNU Radio's default (a
 * few thousand items) work() and the scheduler run so often per daemon
 * block that they, not the network, set the rate (bench/gr_bench.py). */
constexpr size_t OUTPUT_BUFFER_BYTES = 2 << 20;

/* Errors after which connecting again may work. */
bool transient(int err)
{
    switch (-err) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETUNREACH:
    case ENETDOWN:
    case ENOTCONN:
    case EPIPE:
    case ESHUTDOWN:
    case EBUSY: /* other clients receive other channels: they may leave */
    case EAGAIN:
        return true;
    default:
        return false;
    }
}

size_t n_outputs(output_kind kind, size_t channels)
{
    return kind == output_kind::complex_float ? channels / 2 : channels;
}

const char* or_null(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

std::string channel_list(const std::vector<int>& channels)
{
    std::string s;

    for (int c : channels)
        s += (s.empty() ? "" : ",") + std::to_string(c);
    return s;
}

} // namespace

source::sptr source::make(const std::string& url,
                          const std::vector<int>& channels,
                          const std::string& output_type,
                          double sample_rate,
                          unsigned int block_size,
                          unsigned int block_count,
                          bool reconnect,
                          double timeout,
                          const std::string& ca_file,
                          const std::string& cert_file,
                          const std::string& key_file,
                          const std::string& tls_server_name,
                          const std::string& device)
{
    output_kind kind = check_block_params(
        "iiostream source", "output", output_type, channels, sample_rate, timeout);
    return gnuradio::make_block_sptr<source_impl>(url,
                                                  channels,
                                                  kind,
                                                  sample_rate,
                                                  block_size,
                                                  block_count,
                                                  reconnect,
                                                  timeout,
                                                  ca_file,
                                                  cert_file,
                                                  key_file,
                                                  tls_server_name,
                                                  device);
}

source_impl::source_impl(const std::string& url,
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
                         const std::string& device)
    : gr::sync_block("iiostream_source",
                     gr::io_signature::make(0, 0, 0),
                     gr::io_signature::make((int)n_outputs(kind, channels.size()),
                                            (int)n_outputs(kind, channels.size()),
                                            (int)output_item_size(kind))),
      d_url(url),
      d_channels(channels),
      d_kind(kind),
      d_sample_rate(sample_rate),
      d_block_size(block_size),
      d_block_count(block_count),
      d_reconnect(reconnect),
      d_timeout(timeout),
      d_ca_file(ca_file),
      d_cert_file(cert_file),
      d_key_file(key_file),
      d_tls_server_name(tls_server_name),
      d_device(device),
      d_call_timeout_ms((int)std::clamp(timeout * 1000, 1.0, 1000.0)),
      d_id(pmt::string_to_symbol(alias()))
{
    std::string why;

    set_min_output_buffer((long)(OUTPUT_BUFFER_BYTES / output_item_size(kind)));
    /* Connect now, so that a wrong URL, certificate or rate is an error of
     * make(), where the flowgraph is built. */
    switch (open(&why)) {
    case rx_status::ok:
        break;
    case rx_status::lost:
        if (d_reconnect) {
            d_logger->warn("{}; trying again when the flowgraph starts", why);
            break;
        }
        [[fallthrough]];
    default:
        throw std::runtime_error("iiostream source: " + why);
    }
}

source_impl::~source_impl()
{
    stop();
    close_client();
}

/* ---- connection (make(), then the receive thread) ---------------------- */

rx_status source_impl::open(std::string* why)
{
    iios_options o{};
    iios_client* c;
    char err[1024]; /* room for trust on first use's advice (two fingerprints, a path) */
    int r;

    o.timeout_ms = d_call_timeout_ms;
    o.client_name = "gr-iiostream";
    o.ca_file = or_null(d_ca_file);
    o.cert_file = or_null(d_cert_file);
    o.key_file = or_null(d_key_file);
    o.tls_server_name = or_null(d_tls_server_name);
    r = iios_connect(d_url.c_str(), &o, &c, err, sizeof(err));
    if (r < 0) {
        *why = "cannot connect to " + d_url + ": " + err;
        return transient(r) ? rx_status::lost : rx_status::fatal;
    }
    if (!d_device.empty()) {
        /* An unknown device is an error of make(), not of start(). */
        const struct iios_server_info* si = iios_server_info(c);
        std::string names;
        bool found = false;

        for (uint32_t i = 0; i < si->n_streams && !found; i++) {
            found = d_device == si->streams[i].device || d_device == si->streams[i].id;
            names += std::string(names.empty() ? "" : ", ") + si->streams[i].device;
        }
        if (!found) {
            *why = d_url + ": no streamed device '" + d_device + "' (the daemon streams " +
                   names +
                   (si->version < 2 ? "; an older daemon, protocol version 1" : "") + ")";
            iios_close(c);
            return rx_status::fatal;
        }
    }
    if (d_sample_rate > 0) {
        iios_attr_ref ref{};
        char value[64], result[64];

        ref.attr = "sampling_frequency";
        ref.device = d_device.c_str();
        if (d_sample_rate == std::floor(d_sample_rate))
            snprintf(value, sizeof(value), "%.0f", d_sample_rate);
        else
            snprintf(value, sizeof(value), "%.6f", d_sample_rate);
        r = iios_attr_set(c, &ref, value, result, sizeof(result));
        if (r < 0) {
            *why = d_url + ": cannot set sampling_frequency to " + value + ": " +
                   iios_errmsg(c);
            iios_close(c);
            return transient(r) ? rx_status::lost : rx_status::fatal;
        }
        if (std::strtod(result, nullptr) != d_sample_rate)
            d_logger->warn("{}: sampling_frequency is {} (asked for {})", d_url, result, value);
    }
    d_client = c;
    return rx_status::ok;
}

void source_impl::close_client()
{
    iios_close(d_client);
    d_client = nullptr;
}

rx_status source_impl::subscribe(std::shared_ptr<const stream_desc>* stream, std::string* why)
{
    std::vector<uint32_t> ch(d_channels.begin(), d_channels.end());
    auto desc = std::make_shared<stream_desc>();
    iios_stream_info info;
    std::string bad;
    int r;

    r = iios_subscribe_device(d_client,
                              d_device.c_str(),
                              d_block_count,
                              ch.data(),
                              (uint32_t)ch.size(),
                              &info);
    /* The source always streams every channel (EOPNOTSUPP), or other
     * clients receive another set (EBUSY): take what is captured and pick
     * ours from it (format.init() says if they are not there). */
    if (r == -EOPNOTSUPP || r == -EBUSY)
        r = iios_subscribe_device(d_client, d_device.c_str(), d_block_count, nullptr, 0, &info);
    if (r < 0) {
        *why = d_url + ": cannot subscribe to " +
               (d_device.empty() ? std::string() : "device " + d_device + ", ") + "channels " +
               channel_list(d_channels) + ": " + iios_errmsg(d_client);
        return transient(r) ? rx_status::lost : rx_status::fatal;
    }
    bad = desc->format.init(info, d_channels, d_kind);
    if (!bad.empty()) {
        *why = d_url + ": " + bad;
        return rx_status::fatal;
    }
    if (d_block_size && info.block_size != d_block_size) {
        *why = d_url + ": the daemon's blocks are " + std::to_string(info.block_size) +
               " bytes, block_size asks for " + std::to_string(d_block_size) +
               " (the daemon's --block-size sets it; 0 takes any)";
        return rx_status::fatal;
    }
    {
        std::lock_guard<std::mutex> lock(d_error_mutex);
        d_streamed = info.device;
    }
    desc->rate = (double)info.sample_rate;
    desc->block_bytes = info.block_size;
    desc->subscription = ++d_subscriptions;
    d_logger->info("{}: {} of {}, {} scans/s, blocks of {} bytes, {} queued by the daemon at "
                   "most{}",
                   d_url,
                   ch.size() == 1 ? "channel " + channel_list(d_channels)
                                  : "channels " + channel_list(d_channels),
                   info.device,
                   info.sample_rate,
                   info.block_size,
                   info.max_queue_blocks,
                   iios_tls_info(d_client) ? std::string(", ") + iios_tls_info(d_client) : "");
    *stream = desc;
    return rx_status::ok;
}

/* Receive blocks into the queue until stop(), an error or a stall. */
rx_status source_impl::pump(const std::shared_ptr<const stream_desc>& stream,
                            std::string* why,
                            bool* delivered)
{
    using clock = std::chrono::steady_clock;
    const size_t scan_bytes = stream->format.scan_bytes();
    double block_s = stream->rate > 0 ? (double)(stream->block_bytes / scan_bytes) / stream->rate
                                      : 0;
    const auto stall = std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(d_timeout + block_s));
    bool first = true;

    for (;;) {
        rx_block* b = d_queue.acquire_free();
        iios_block blk;
        clock::time_point t0;
        int r;

        if (!b)
            return rx_status::stopped;
        /* The stall clock runs only while we wait for the daemon, not
         * while the flowgraph has every slot. */
        t0 = clock::now();
        while ((r = iios_next_block(d_client, &blk)) == -ETIMEDOUT) {
            if (d_queue.closed()) {
                d_queue.unacquire(b);
                return rx_status::stopped;
            }
            if (clock::now() - t0 >= stall) {
                d_queue.unacquire(b);
                char s[32];
                snprintf(s, sizeof(s), "%.1f", std::chrono::duration<double>(stall).count());
                *why = "no block from " + d_url + " in " + s + " s: the daemon stalled";
                return rx_status::lost;
            }
        }
        if (r < 0) {
            d_queue.unacquire(b);
            if (d_queue.closed())
                return rx_status::stopped;
            if (r == -ESHUTDOWN)
                *why = "the daemon at " + d_url + " shut down";
            else
                *why = "lost the daemon at " + d_url + ": " + iios_errmsg(d_client);
            return transient(r) ? rx_status::lost : rx_status::fatal;
        }
        if (blk.len % scan_bytes) {
            d_queue.unacquire(b);
            *why = d_url + ": a block of " + std::to_string(blk.len) +
                   " bytes is not whole scans of " + std::to_string(scan_bytes);
            return rx_status::fatal;
        }
        if (b->data.size() < blk.len)
            b->data.resize(blk.len);
        memcpy(b->data.data(), blk.data, blk.len);
        b->len = blk.len;
        b->meta = blk;
        b->meta.data = nullptr;
        b->stream = stream;
        b->stream_start = first;
        first = false;
        *delivered = true;
        d_queue.push(b);
    }
}

void source_impl::receive_loop()
{
    auto backoff = BACKOFF_FIRST;

    for (;;) {
        std::shared_ptr<const stream_desc> stream;
        rx_status s = rx_status::ok;
        bool delivered = false;
        std::string why;

        if (!d_client)
            s = open(&why);
        if (s == rx_status::ok)
            s = subscribe(&stream, &why);
        if (s == rx_status::ok)
            s = pump(stream, &why, &delivered);
        close_client();
        if (s == rx_status::stopped || d_queue.closed()) {
            d_queue.finish("");
            return;
        }
        if (s == rx_status::fatal || !d_reconnect) {
            d_queue.finish(why);
            return;
        }
        if (delivered)
            backoff = BACKOFF_FIRST;
        d_logger->warn("{}; connecting again in {:.1f} s", why, backoff.count() / 1000.0);
        if (!d_queue.sleep(backoff)) {
            d_queue.finish("");
            return;
        }
        backoff = std::min(backoff * 2, BACKOFF_MAX);
    }
}

/* ---- the flowgraph's side ---------------------------------------------- */

bool source_impl::start()
{
    d_cur = nullptr;
    d_cur_scans = 0;
    d_have_prev = false;
    d_done = false;
    d_subscriptions = 0;
    set_error("");
    d_queue.reset(d_block_count ? d_block_count : DEFAULT_SLOTS);
    d_thread = std::thread(&source_impl::receive_loop, this);
    return true;
}

bool source_impl::stop()
{
    d_queue.close();
    if (d_thread.joinable())
        d_thread.join();
    return true;
}

std::string source_impl::device() const
{
    std::lock_guard<std::mutex> lock(d_error_mutex);
    return d_streamed;
}

std::string source_impl::last_error() const
{
    std::lock_guard<std::mutex> lock(d_error_mutex);
    return d_error;
}

void source_impl::set_error(const std::string& e)
{
    std::lock_guard<std::mutex> lock(d_error_mutex);
    d_error = e;
}

/* Tags at `item`, the first sample of block b, on every output. */
void source_impl::tag_block(const rx_block& b, uint64_t item)
{
    const iios_block& m = b.meta;
    const size_t scans = b.len / b.stream->format.scan_bytes();
    uint64_t lost_samples = 0, lost_blocks = 0;
    const char* cause = nullptr;
    pmt::pmt_t loss;

    if (b.stream_start && b.stream->subscription > 1 && d_have_prev) {
        cause = "reconnect";
        /* exact when the daemon kept counting; a restarted one counts anew */
        lost_samples = m.first_sample > d_next_sample ? m.first_sample - d_next_sample : 0;
    } else if (m.lost_before) {
        cause = "skipped";
        lost_blocks = m.lost_before;
        lost_samples = m.lost_samples;
    } else if (m.lost_samples) {
        cause = "overflow";
        lost_samples = m.lost_samples;
    }
    if (cause) {
        loss = pmt::make_dict();
        loss = pmt::dict_add(loss, LOST_SAMPLES_KEY, pmt::from_uint64(lost_samples));
        loss = pmt::dict_add(loss, LOST_BLOCKS_KEY, pmt::from_uint64(lost_blocks));
        loss = pmt::dict_add(loss, CAUSE_KEY, pmt::string_to_symbol(cause));
        d_lost_samples += lost_samples;
        d_lost_blocks += lost_blocks;
        if (lost_blocks)
            d_logger->warn("lost {} scans before scan {}: the daemon skipped {} block{} "
                           "(the flowgraph read too slowly)",
                           lost_samples,
                           m.first_sample,
                           lost_blocks,
                           lost_blocks == 1 ? "" : "s");
        else if (std::strcmp(cause, "overflow") == 0)
            d_logger->warn("lost {} scans before scan {}: the source overflowed",
                           lost_samples,
                           m.first_sample);
        else
            d_logger->warn("reconnected: the stream goes on at scan {} ({})",
                           m.first_sample,
                           m.first_sample >= d_next_sample
                               ? std::to_string(lost_samples) + " scans missing"
                               : "the daemon counts anew: see rx_time for the gap");
    }
    if (b.stream_start)
        d_stream_rate = b.stream->rate;
    for (int k = 0; k < (int)n_outputs(d_kind, d_channels.size()); k++) {
        if (cause)
            add_item_tag(k, item, LOSS_KEY, loss, d_id);
        if (b.stream_start || cause)
            add_item_tag(k, item, RATE_KEY, pmt::from_double(b.stream->rate), d_id);
        if (m.flags & IIOS_BLOCK_TIMESTAMP_VALID)
            add_item_tag(k,
                         item,
                         TIME_KEY,
                         pmt::make_tuple(pmt::from_uint64(m.timestamp_ns / 1000000000ull),
                                         pmt::from_double((double)(m.timestamp_ns %
                                                                   1000000000ull) /
                                                          1e9)),
                         d_id);
        add_item_tag(k, item, SAMPLE_KEY, pmt::from_uint64(m.first_sample), d_id);
    }
    d_have_prev = true;
    d_next_sample = m.first_sample + scans;
}

int source_impl::work(int noutput_items,
                      gr_vector_const_void_star& input_items,
                      gr_vector_void_star& output_items)
{
    size_t produced = 0, want = (size_t)noutput_items;
    std::string err;

    (void)input_items;
    if (d_done)
        return WORK_DONE;
    while (produced < want) {
        if (!d_cur) {
            d_cur = d_queue.pop(produced ? std::chrono::milliseconds(0) : WORK_WAIT);
            if (!d_cur)
                break;
            d_cur_scans = 0;
            if (d_cur->len == 0) {
                d_queue.release(d_cur);
                d_cur = nullptr;
                continue;
            }
            tag_block(*d_cur, nitems_written(0) + produced);
        }
        const scan_format& f = d_cur->stream->format;
        size_t total = d_cur->len / f.scan_bytes();
        size_t n = std::min(total - d_cur_scans, want - produced);

        f.convert(d_cur->data.data() + d_cur_scans * f.scan_bytes(), n, output_items, produced);
        produced += n;
        d_cur_scans += n;
        if (d_cur_scans == total) {
            d_queue.release(d_cur);
            d_cur = nullptr;
        }
    }
    if (produced == 0 && d_queue.drained(&err)) {
        d_done = true;
        if (!err.empty()) {
            set_error(err);
            d_logger->error("{}", err);
        }
        return WORK_DONE;
    }
    return (int)produced;
}

} // namespace iiostream
} // namespace gr
