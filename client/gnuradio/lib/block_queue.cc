/* SPDX-License-Identifier: MIT */
#include "block_queue.h"

namespace gr {
namespace iiostream {

void block_queue::reset(size_t depth)
{
    std::lock_guard<std::mutex> lock(d_mutex);

    d_free.clear();
    d_filled.clear();
    d_slots.resize(depth);
    for (auto& s : d_slots) {
        if (!s)
            s = std::make_unique<rx_block>();
        s->stream.reset();
        d_free.push_back(s.get());
    }
    d_closed = false;
    d_finished = false;
    d_error.clear();
}

rx_block* block_queue::acquire_free()
{
    std::unique_lock<std::mutex> lock(d_mutex);
    rx_block* b;

    d_cond.wait(lock, [this] { return d_closed || !d_free.empty(); });
    if (d_closed)
        return nullptr;
    b = d_free.front();
    d_free.pop_front();
    return b;
}

void block_queue::push(rx_block* b)
{
    {
        std::lock_guard<std::mutex> lock(d_mutex);
        d_filled.push_back(b);
    }
    d_cond.notify_all();
}

void block_queue::unacquire(rx_block* b)
{
    std::lock_guard<std::mutex> lock(d_mutex);
    d_free.push_front(b);
}

void block_queue::finish(const std::string& error)
{
    {
        std::lock_guard<std::mutex> lock(d_mutex);
        d_finished = true;
        d_error = error;
    }
    d_cond.notify_all();
}

bool block_queue::sleep(std::chrono::milliseconds d)
{
    std::unique_lock<std::mutex> lock(d_mutex);

    return !d_cond.wait_for(lock, d, [this] { return d_closed; });
}

bool block_queue::closed()
{
    std::lock_guard<std::mutex> lock(d_mutex);
    return d_closed;
}

rx_block* block_queue::pop(std::chrono::milliseconds wait)
{
    std::unique_lock<std::mutex> lock(d_mutex);
    rx_block* b;

    if (wait.count() > 0)
        d_cond.wait_for(
            lock, wait, [this] { return !d_filled.empty() || d_finished || d_closed; });
    if (d_filled.empty())
        return nullptr;
    b = d_filled.front();
    d_filled.pop_front();
    return b;
}

void block_queue::release(rx_block* b)
{
    {
        std::lock_guard<std::mutex> lock(d_mutex);
        d_free.push_back(b);
    }
    d_cond.notify_all();
}

bool block_queue::drained(std::string* error)
{
    std::lock_guard<std::mutex> lock(d_mutex);

    if (!d_finished || !d_filled.empty())
        return false;
    *error = d_error;
    return true;
}

void block_queue::close()
{
    {
        std::lock_guard<std::mutex> lock(d_mutex);
        d_closed = true;
    }
    d_cond.notify_all();
}

} // namespace iiostream
} // namespace gr
