// SPDX-License-Identifier: LGPL-2.1-or-later
// The batch view over the mapped ring; see ring.hpp for the ordering.
#include "watchqueue/ring.hpp"

#include <atomic>
#include <utility>

#include "watchqueue/error.hpp"

namespace watchqueue {
inline namespace v0 {
namespace {

std::uint64_t load_acquire(const std::uint64_t* p) noexcept {
    // The page is mapped read-only and std::atomic_ref<const T> is C++26:
    // the builtin takes a pointer to const.
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

} // namespace

bool RingView::empty() const noexcept {
    return load_acquire(head) ==
           std::atomic_ref<std::uint64_t>(*tail).load(std::memory_order_relaxed);
}

std::uint64_t RingView::lost_total() const noexcept {
    return lost != nullptr ? load_acquire(lost) : 0;
}

Batch::Batch(const RingView& ring, std::error_code& ec) noexcept {
    ec.clear();
    // Only this consumer writes tail: a relaxed load sees its own last store.
    const std::uint64_t tail =
        std::atomic_ref<std::uint64_t>(*ring.tail).load(std::memory_order_relaxed);
    const std::uint64_t head = load_acquire(ring.head);
    const std::uint64_t avail = head - tail;
    if (tail % 8 != 0 || avail > ring.data_size) {
        ec = record_errc::bad_position;
        return;
    }
    tail_ = ring.tail;
    start_ = tail;
    const std::byte* first = ring.data + (tail & (ring.data_size - 1));
    records_ = Records(std::span<const std::byte>(first, static_cast<std::size_t>(avail)));
}

Batch::Batch(const RingView& ring) {
    std::error_code ec;
    *this = Batch(ring, ec);
    if (ec) {
        throw error(ec, "starting a batch of the mapped ring");
    }
}

Batch::Batch(Batch&& other) noexcept
    : tail_(std::exchange(other.tail_, nullptr)), start_(other.start_),
      committed_(other.committed_), records_(std::exchange(other.records_, Records())) {}

Batch& Batch::operator=(Batch&& other) noexcept {
    if (this != &other) {
        commit();
        tail_ = std::exchange(other.tail_, nullptr);
        start_ = other.start_;
        committed_ = other.committed_;
        records_ = std::exchange(other.records_, Records());
    }
    return *this;
}

void Batch::commit() noexcept {
    if (tail_ == nullptr || records_.consumed() == committed_) {
        return;
    }
    committed_ = records_.consumed();
    std::atomic_ref<std::uint64_t>(*tail_).store(start_ + committed_, std::memory_order_release);
}

} // namespace v0
} // namespace watchqueue
