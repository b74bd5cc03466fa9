// SPDX-License-Identifier: LGPL-2.1-or-later
// The libc-backed system-call seam.
#include "sys.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

namespace watchqueue {
inline namespace v0 {
namespace detail {
namespace {

constexpr long keyctl_watch_key_op = 32; // KEYCTL_WATCH_KEY (5.8+)

class LibcSys final : public Sys {
public:
    int open(const char* path, int flags) noexcept override {
        return ::open(path, flags); // NOLINT(cppcoreguidelines-pro-type-vararg)
    }
    int close(int fd) noexcept override { return ::close(fd); }
    int ioctl(int fd, unsigned long request, std::uintptr_t arg) noexcept override {
        return ::ioctl(fd, request, arg); // NOLINT(cppcoreguidelines-pro-type-vararg)
    }
    void* mmap(std::size_t len, int prot, int flags, int fd, off_t off) noexcept override {
        return ::mmap(nullptr, len, prot, flags, fd, off);
    }
    int munmap(void* addr, std::size_t len) noexcept override { return ::munmap(addr, len); }
    ssize_t read(int fd, void* buf, std::size_t len) noexcept override {
        return ::read(fd, buf, len);
    }
    int poll(pollfd* fds, nfds_t nfds, int timeout_ms) noexcept override {
        return ::poll(fds, nfds, timeout_ms);
    }
    int pipe2(int fds[2], int flags) noexcept override { return ::pipe2(fds, flags); }
    long keyctl_watch_key(std::int32_t key, int fd, int watch_id) noexcept override {
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg)
        return ::syscall(SYS_keyctl, keyctl_watch_key_op, key, fd, watch_id);
    }
};

} // namespace

Sys& system_sys() noexcept {
    static LibcSys sys;
    return sys;
}

} // namespace detail
} // namespace v0
} // namespace watchqueue
