// SPDX-License-Identifier: GPL-2.0-or-later
// RAII file descriptor.
#pragma once

#include <string>

namespace wqt {

class Fd {
public:
    Fd() noexcept = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    ~Fd() { reset(); }

    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    // Closes the current descriptor (if any) and owns @fd.
    void reset(int fd = -1) noexcept;

private:
    int fd_ = -1;
};

// open(2) that throws std::system_error naming @path.
Fd open_fd(const std::string& path, int flags);

} // namespace wqt
