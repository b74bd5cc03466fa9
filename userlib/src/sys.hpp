// SPDX-License-Identifier: LGPL-2.1-or-later
// The seam over the system calls the library makes: the real implementation
// forwards to libc; the unit tests substitute their own (tests/unit/
// lib_fake.*).  Every call follows the libc convention (-1 or MAP_FAILED and
// errno on failure) and never throws.
//
// Private to the library and its tests: not installed, and no public header
// names it, so it can change with the library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <poll.h>
#include <system_error>

#include <sys/types.h>

#include "watchqueue/queue.hpp"

namespace watchqueue {
inline namespace v0 {
namespace detail {

class Sys {
public:
    Sys() = default;
    Sys(const Sys&) = delete;
    Sys& operator=(const Sys&) = delete;
    Sys(Sys&&) = delete;
    Sys& operator=(Sys&&) = delete;
    virtual ~Sys() = default;

    virtual int open(const char* path, int flags) noexcept = 0;
    virtual int close(int fd) noexcept = 0;
    // @arg is passed as the ioctl's third argument (a pointer or an integer).
    virtual int ioctl(int fd, unsigned long request, std::uintptr_t arg) noexcept = 0;
    virtual void* mmap(std::size_t len, int prot, int flags, int fd, off_t off) noexcept = 0;
    virtual int munmap(void* addr, std::size_t len) noexcept = 0;
    virtual ssize_t read(int fd, void* buf, std::size_t len) noexcept = 0;
    virtual int poll(pollfd* fds, nfds_t nfds, int timeout_ms) noexcept = 0;
    virtual int pipe2(int fds[2], int flags) noexcept = 0;
    // keyctl(KEYCTL_WATCH_KEY, key, fd, watch_id)
    virtual long keyctl_watch_key(std::int32_t key, int fd, int watch_id) noexcept = 0;
};

// The libc-backed implementation (a process-wide singleton).
Sys& system_sys() noexcept;

// Opens a queue as Queue's constructors do, with its system calls going to
// @sys, which must outlive the queue: the unit tests' way in.  Throws
// watchqueue::error, or reports in @ec.  Exported (the tests link the
// shared library), but declared in no installed header.
WATCHQUEUE_API Queue open_queue(const QueueOptions& options, Sys& sys);
WATCHQUEUE_API Queue open_queue(const QueueOptions& options, Sys& sys,
                                std::error_code& ec) noexcept;

} // namespace detail
} // namespace v0
} // namespace watchqueue
