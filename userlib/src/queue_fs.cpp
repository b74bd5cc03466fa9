// SPDX-License-Identifier: LGPL-2.1-or-later
// The queue's filesystem and mount watches (WQ_IOC_WATCH_SB and
// WQ_IOC_WATCH_MOUNT): both take a descriptor and a watch id.
#include <algorithm>

#include "abi.hpp"
#include "queue_state.hpp"
#include "watchqueue/error.hpp"
#include "watchqueue/queue.hpp"

namespace watchqueue {
inline namespace v0 {
namespace {

constexpr int max_watch_id = WatchId::max;

void check(const std::error_code& ec, const std::string& what) {
    if (ec) {
        throw error(ec, what);
    }
}

int add_id(unsigned watch_id) noexcept {
    return static_cast<int>(std::min(watch_id, static_cast<unsigned>(max_watch_id) + 1));
}

// Upstream's notification pipes only carry key watches: say so rather than
// leave a bare EOPNOTSUPP.
std::string context(const std::unique_ptr<detail::QueueState>& state, const char* what) {
    std::string s(what);
    if (state && state->backend == Backend::pipe) {
        s += " (a notification pipe has key watches only: load the module with `modprobe "
             "watch_queue`)";
    }
    return s;
}

} // namespace

namespace detail {

void QueueState::watch_fd(unsigned long request, int fd, int watch_id,
                          std::error_code& ec) noexcept {
    ec.clear();
    if (backend == Backend::pipe) {
        ec = std::make_error_code(std::errc::operation_not_supported);
        return;
    }
    if (fd < 0) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return;
    }
    if (watch_id > max_watch_id) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return;
    }
    if (request == WQ_IOC_WATCH_SB) {
        const wq_watch_sb arg{.fd = fd, .watch_id = watch_id, .flags = 0, .__reserved = 0};
        ioctl(request, reinterpret_cast<std::uintptr_t>(&arg), ec);
    } else {
        const wq_watch_mount arg{.fd = fd, .watch_id = watch_id, .flags = 0, .__reserved = 0};
        ioctl(request, reinterpret_cast<std::uintptr_t>(&arg), ec);
    }
}

} // namespace detail

void Queue::watch_filesystem(int fd, unsigned watch_id, std::error_code& ec) noexcept {
    if (auto* q = detail::live(state_, ec)) {
        q->watch_fd(WQ_IOC_WATCH_SB, fd, add_id(watch_id), ec);
    }
}

void Queue::watch_filesystem(int fd, unsigned watch_id) {
    std::error_code ec;
    watch_filesystem(fd, watch_id, ec);
    check(ec, context(state_, "watching a filesystem"));
}

void Queue::unwatch_filesystem(int fd, std::error_code& ec) noexcept {
    if (auto* q = detail::live(state_, ec)) {
        q->watch_fd(WQ_IOC_WATCH_SB, fd, -1, ec);
    }
}

void Queue::unwatch_filesystem(int fd) {
    std::error_code ec;
    unwatch_filesystem(fd, ec);
    check(ec, context(state_, "removing the watch of a filesystem"));
}

void Queue::watch_mounts(int dir_fd, unsigned watch_id, std::error_code& ec) noexcept {
    if (auto* q = detail::live(state_, ec)) {
        q->watch_fd(WQ_IOC_WATCH_MOUNT, dir_fd, add_id(watch_id), ec);
    }
}

void Queue::watch_mounts(int dir_fd, unsigned watch_id) {
    std::error_code ec;
    watch_mounts(dir_fd, watch_id, ec);
    check(ec, context(state_, "watching mounts"));
}

void Queue::unwatch_mounts(int dir_fd, std::error_code& ec) noexcept {
    if (auto* q = detail::live(state_, ec)) {
        q->watch_fd(WQ_IOC_WATCH_MOUNT, dir_fd, -1, ec);
    }
}

void Queue::unwatch_mounts(int dir_fd) {
    std::error_code ec;
    unwatch_mounts(dir_fd, ec);
    check(ec, context(state_, "removing a mount watch"));
}

} // namespace v0
} // namespace watchqueue
