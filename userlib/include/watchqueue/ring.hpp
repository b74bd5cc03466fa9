// SPDX-License-Identifier: LGPL-2.1-or-later
/// @file
/// Zero-copy consumption of the mapped ring, liburing style: a Batch loads
/// the producer position once (acquire), iterates the records in place and
/// publishes the consumer position once (release) on commit() or
/// destruction.  On a notification pipe, Queue::batch() gives the same
/// Batch over the records one read() returned into the queue's buffer.
///
/// **Ordering and wake-ups.**  The acquire load of head pairs with the
/// kernel's release store after it wrote the records, so the records up to
/// head are visible.  The release store of tail pairs with the kernel's
/// acquire load of it before it reuses the space, so the records are not
/// overwritten while they are read.  A consumer that finds the ring empty
/// and wants to sleep must not rely on the head it loaded before
/// committing: a record posted between that load and going to sleep would
/// otherwise wait for the next one.  So after commit() either start a new
/// batch (re-check head) or call poll() or Queue::wait() before sleeping:
/// poll() registers the waiter and then checks the ring behind a full
/// barrier that pairs with the producer's, so it either sees the new record
/// or is woken by it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>

#include "api.hpp"
#include "records.hpp"

namespace watchqueue {
inline namespace v0 {

/// Where the mapped ring is (Queue::ring()); uapi/linux/wq_dev.h describes
/// the layout.
struct WATCHQUEUE_API RingView {
    const std::byte* data = nullptr;     ///< the data area, mapped twice back to back
    std::uint64_t data_size = 0;         ///< the data area's size, a power of two
    const std::uint64_t* head = nullptr; ///< the producer position (read-only page)
    const std::uint64_t* lost = nullptr; ///< total records lost (read-only page)
    std::uint64_t* tail = nullptr;       ///< the consumer position (its own page)

    /// True if no record is ready (loads head with acquire).
    [[nodiscard]] bool empty() const noexcept;
    /// How many records were lost since the queue was opened (0 without a
    /// loss counter).
    [[nodiscard]] std::uint64_t lost_total() const noexcept;
};

/// The records between the consumer position and the head loaded when the
/// batch began.  Move-only; commits on destruction.
class WATCHQUEUE_API Batch {
public:
    /// No records.
    Batch() noexcept = default;
    /// Loads head once; throws watchqueue::error (record_errc::bad_position)
    /// if the consumer position is not 8-aligned or not within data_size
    /// behind head.
    explicit Batch(const RingView& ring);
    /// As above; an empty batch with @p ec set on a bad position.
    Batch(const RingView& ring, std::error_code& ec) noexcept;
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    /// Takes over @p other's records; @p other commits nothing more.
    Batch(Batch&& other) noexcept;
    /// Commits this batch, then takes over @p other's records.
    Batch& operator=(Batch&& other) noexcept;
    /// Commits.
    ~Batch() { commit(); }

    /// The next record, or nullopt at the end; a malformed record sets
    /// @p ec and ends the batch before it.
    std::optional<Record> next(std::error_code& ec) noexcept { return records_.next(ec); }
    /// As above; throws watchqueue::error on a malformed record.
    std::optional<Record> next() { return records_.next(); }
    /// Iterates from the next record on.
    Records::iterator begin() { return records_.begin(); }
    /// The end.
    static Records::iterator end() noexcept { return {}; }

    /// True if the batch has no records.
    [[nodiscard]] bool empty() const noexcept { return records_.size_bytes() == 0; }
    /// The size of the batch's records in bytes.
    [[nodiscard]] std::size_t size_bytes() const noexcept { return records_.size_bytes(); }

    /// Publishes the position after the last record returned (release): the
    /// records not returned stay for the next batch.  Records and views
    /// obtained from this batch are invalid afterwards.
    void commit() noexcept;

private:
    std::uint64_t* tail_ = nullptr;
    std::uint64_t start_ = 0;
    std::size_t committed_ = 0;
    Records records_;
};

} // namespace v0
} // namespace watchqueue
