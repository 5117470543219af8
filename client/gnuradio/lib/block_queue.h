/* SPDX-License-Identifier: MIT */
/*
 * The blocks between the receive thread and work(): a fixed set of slots,
 * each owned by exactly one side at a time.
 *
 *   free ──acquire_free()──▶ receive thread fills it ──push()──▶ filled
 *   filled ──pop()──▶ work() converts it ──release()──▶ free
 *
 * When every slot is filled or in work(), the receive thread waits in
 * acquire_free() and stops reading the socket: the daemon's queue for this
 * client fills and the daemon skips blocks, which it reports in the next
 * block's header (lost_before/lost_samples). Nothing is dropped here, so
 * every loss is one the daemon counts.
 */
#ifndef INCLUDED_IIOSTREAM_BLOCK_QUEUE_H
#define INCLUDED_IIOSTREAM_BLOCK_QUEUE_H

#include "scan_format.h"

#include <iiostream.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gr {
namespace iiostream {

/* What a subscription delivers; shared by the blocks it delivered. */
struct stream_desc {
    scan_format format;
    double rate;           /* scans per second (0: as fast as possible) */
    uint32_t block_bytes;  /* largest block payload */
    uint64_t subscription; /* 1 for the first, +1 per reconnection */
};

struct rx_block {
    std::vector<uint8_t> data;  /* payload, len bytes used */
    size_t len = 0;
    iios_block meta{};          /* the header; meta.data is not used */
    std::shared_ptr<const stream_desc> stream;
    bool stream_start = false;  /* the first block of its subscription */
};

class block_queue
{
public:
    /* Forget everything; depth slots, all free, not closed or finished. */
    void reset(size_t depth);

    /* Receive thread: a free slot, waiting for one; nullptr once closed. */
    rx_block* acquire_free();
    /* Receive thread: hand a filled slot to work(). */
    void push(rx_block* b);
    /* Receive thread: give back a slot it did not fill. */
    void unacquire(rx_block* b);
    /* Receive thread: no more blocks will come; error "" after a stop. */
    void finish(const std::string& error);
    /* Receive thread: wait `d` unless closed first; false when closed. */
    bool sleep(std::chrono::milliseconds d);
    bool closed();

    /* work(): the next filled slot, waiting at most `wait`; nullptr if none. */
    rx_block* pop(std::chrono::milliseconds wait);
    /* work(): done with a slot. */
    void release(rx_block* b);
    /* work(): true when nothing is left and the thread finished; *error
     * gets what ended it. */
    bool drained(std::string* error);

    /* stop(): wake the receive thread and make it return. */
    void close();

private:
    std::mutex d_mutex;
    std::condition_variable d_cond;
    std::vector<std::unique_ptr<rx_block>> d_slots;
    std::deque<rx_block*> d_free;
    std::deque<rx_block*> d_filled;
    bool d_closed = false;
    bool d_finished = false;
    std::string d_error;
};

} // namespace iiostream
} // namespace gr

#endif /* INCLUDED_IIOSTREAM_BLOCK_QUEUE_H */
