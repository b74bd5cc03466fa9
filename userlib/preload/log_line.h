// SPDX-License-Identifier: LGPL-2.1-or-later
// One line of the WQ_COMPAT_DEBUG log, formatted without allocating, locking
// or stdio, so that it may be built and written from any context in which
// the interposed calls may run (signal handlers, after fork, ...).
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string_view>
#include <unistd.h>

namespace wqc {

class LogLine {
public:
    static constexpr std::size_t kCapacity = 240; // excluding the final newline

    LogLine& text(std::string_view s) noexcept {
        for (const char c : s) {
            put(c);
        }
        return *this;
    }

    LogLine& num(long v) noexcept {
        // Negate in unsigned arithmetic: LONG_MIN has no positive twin.
        auto mag = static_cast<unsigned long>(v);
        if (v < 0) {
            put('-');
            mag = 0UL - mag;
        }
        return unum(mag);
    }

    LogLine& unum(unsigned long v) noexcept { return digits(v, 10); }

    LogLine& hex(unsigned long v) noexcept { return text("0x").digits(v, 16); }

    // The errno name (EBUSY), or its number if glibc does not know it.
    LogLine& err(int e) noexcept {
        const char* name = ::strerrorname_np(e);
        return name != nullptr ? text(name) : text("errno ").num(e);
    }

    // A call's result: "0", "3", or "-1 EBUSY" (with @e the errno it left).
    LogLine& result(long ret, int e) noexcept {
        num(ret);
        return ret < 0 ? text(" ").err(e) : *this;
    }

    // The line so far, without a newline; "..." at its end if it was cut.
    [[nodiscard]] std::string_view view() const noexcept { return {buf_, len_}; }

    // Writes the line and a newline to @fd in one write(); errno preserved.
    void write_to(int fd) noexcept {
        const int saved = errno;
        buf_[len_] = '\n';
        [[maybe_unused]] const ssize_t n = ::write(fd, buf_, len_ + 1);
        errno = saved;
    }

private:
    LogLine& digits(unsigned long v, unsigned base) noexcept {
        char out[64];
        std::size_t n = 0;
        do {
            out[n++] = "0123456789abcdef"[v % base];
            v /= base;
        } while (v != 0);
        while (n > 0) {
            put(out[--n]);
        }
        return *this;
    }

    void put(char c) noexcept {
        if (len_ < kCapacity) {
            buf_[len_++] = c;
        } else {
            std::memcpy(buf_ + kCapacity - 3, "...", 3);
        }
    }

    char buf_[kCapacity + 1]{};
    std::size_t len_ = 0;
};

} // namespace wqc
