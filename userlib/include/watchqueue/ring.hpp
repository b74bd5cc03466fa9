// SPDX-License-Identifier: LGPL-2.1-or-later
// Zero-copy consumption of the mapped ring, liburing style: a Batch loads the
// producer position once (acquire), iterates the records in place and
// publishes the consumer position once (release) on commit() or destruction.
// On a notification pipe, Queue::batch() gives the same Batch over the
// records one read() returned into the queue's buffer.
//
// Ordering and wake-ups.  The acquire load of head pairs with the kernel's
// release store after it wrote the records, so the records up to head are
// visible.  The release store of tail pairs with the kernel's acquire load
// of it before it reuses the space, so the records are not overwritten while
// they are read.  A consumer that finds the ring empty and wants to sleep
// must not rely on the head it loaded before committing: a record posted
// between that load and going to sleep would otherwise wait for the next
// one.  So after commit() either start a new batch (re-check head) or call
// poll()/Queue::wait() before sleeping: poll() registers the waiter and then
// checks the ring behind a full barrier that pairs with the producer's, so
// it either sees the new record or is woken by it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>

#include "api.hpp"
#include "records.hpp"

namespace watchqueue {
inline namespace v0 {

// Where the mapped ring is; see the ABI header for the layout.
struct WATCHQUEUE_API RingView {
    const std::byte* data = nullptr;     // data area, mapped twice back to back
    std::uint64_t data_size = 0;         // a power of two
    const std::uint64_t* head = nullptr; // producer position (read-only page)
    const std::uint64_t* lost = nullptr; // total records lost (read-only page)
    std::uint64_t* tail = nullptr;       // consumer position (own page)

    // True if no record is ready (loads head with acquire).
    [[nodiscard]] bool empty() const noexcept;
    [[nodiscard]] std::uint64_t lost_total() const noexcept;
};

class WATCHQUEUE_API Batch {
public:
    Batch() noexcept = default;
    // Loads head once; throws watchqueue::error (record_errc::bad_position)
    // if the consumer position is not 8-aligned or not within data_size
    // behind head.
    explicit Batch(const RingView& ring);
    Batch(const RingView& ring, std::error_code& ec) noexcept;
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    Batch(Batch&& other) noexcept;
    Batch& operator=(Batch&& other) noexcept;
    ~Batch() { commit(); }

    std::optional<Record> next(std::error_code& ec) noexcept { return records_.next(ec); }
    std::optional<Record> next() { return records_.next(); }
    Records::iterator begin() { return records_.begin(); }
    static Records::iterator end() noexcept { return {}; }

    [[nodiscard]] bool empty() const noexcept { return records_.size_bytes() == 0; }
    [[nodiscard]] std::size_t size_bytes() const noexcept { return records_.size_bytes(); }

    // Publishes the position after the last record returned (release).
    // Records and views obtained from this batch are invalid afterwards.
    void commit() noexcept;

private:
    std::uint64_t* tail_ = nullptr;
    std::uint64_t start_ = 0;
    std::size_t committed_ = 0;
    Records records_;
};

} // namespace v0
} // namespace watchqueue
