// SPDX-License-Identifier: LGPL-2.1-or-later
// What an open Queue holds, behind its one pointer: the public class's
// layout stays the same whatever is added here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "sys.hpp"
#include "watchqueue/queue.hpp"
#include "watchqueue/ring.hpp"

namespace watchqueue {
inline namespace v0 {
namespace detail {

struct QueueState {
    explicit QueueState(Sys& s) noexcept : sys(s) {}
    QueueState(const QueueState&) = delete;
    QueueState& operator=(const QueueState&) = delete;
    QueueState(QueueState&&) = delete;
    QueueState& operator=(QueueState&&) = delete;
    // Unmaps the ring and closes the descriptors.
    ~QueueState();

    Sys& sys;
    Backend backend = Backend::device;
    int fd = -1;
    int pipe_write_fd = -1; // the notification pipe's write end, kept open
    void* consumer_map = nullptr;
    std::size_t consumer_len = 0;
    void* producer_map = nullptr;
    std::size_t producer_len = 0;
    RingView ring;
    // A notification pipe's records between the read() that returned them
    // and the batch that consumes them, presented to Batch as a ring that
    // never wraps: pipe_head is the bytes read, pipe_tail those consumed.
    std::vector<std::byte> pipe_buf;
    std::uint64_t pipe_head = 0;
    std::uint64_t pipe_tail = 0;
    RingView pipe_view;

    int ioctl(unsigned long request, std::uintptr_t arg, std::error_code& ec) noexcept;
    // WQ_IOC_GET_INFO (device only).
    RingInfo info(std::error_code& ec) noexcept;
    // Maps the ring unless it is mapped (device only).
    void map(std::error_code& ec) noexcept;
    void unmap() noexcept;
    // The notification pipe's records not yet consumed: those an earlier
    // batch left, else what one non-blocking read() returns (none on
    // EAGAIN or EINTR).
    const RingView& pipe_records(std::error_code& ec) noexcept;
    // True if a batch would have records without reading (pipe only).
    [[nodiscard]] bool pipe_pending() const noexcept { return pipe_tail != pipe_head; }
    // WQ_IOC_WATCH_DEVICES: every device (@blk_fd -1) or one disk; @watch_id
    // -1 removes the watch.
    void watch_devices(int blk_fd, int watch_id, std::error_code& ec) noexcept;
    // WQ_IOC_WATCH_SB or WQ_IOC_WATCH_MOUNT on @fd.
    void watch_fd(unsigned long request, int fd, int watch_id, std::error_code& ec) noexcept;
};

// The state of a queue, or nullptr and EBADF in @ec for a closed one;
// clears @ec otherwise.
inline QueueState* live(const std::unique_ptr<QueueState>& state, std::error_code& ec) noexcept {
    ec.clear();
    if (!state) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
    }
    return state.get();
}

// Makes a Queue of a state (Queue::state_ is private).
struct QueueAccess {
    static Queue make(std::unique_ptr<QueueState> state) noexcept {
        Queue q;
        q.state_ = std::move(state);
        return q;
    }
};

} // namespace detail
} // namespace v0
} // namespace watchqueue
