// SPDX-License-Identifier: GPL-2.0-or-later
// RAII memory mapping.
#pragma once

#include <cstddef>
#include <cstdint>

#include <sys/types.h>

namespace wqt {

class Mapping {
public:
    Mapping() noexcept = default;
    Mapping(void* addr, std::size_t len) noexcept : addr_(addr), len_(len) {}
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    Mapping(Mapping&& other) noexcept : addr_(other.addr_), len_(other.len_) {
        other.addr_ = nullptr;
        other.len_ = 0;
    }
    Mapping& operator=(Mapping&& other) noexcept;
    ~Mapping() { reset(); }

    [[nodiscard]] void* get() const noexcept { return addr_; }
    [[nodiscard]] std::size_t size() const noexcept { return len_; }
    [[nodiscard]] explicit operator bool() const noexcept { return addr_ != nullptr; }
    void reset() noexcept;

private:
    void* addr_ = nullptr;
    std::size_t len_ = 0;
};

// mmap(2) of @fd that throws std::system_error naming @what.
Mapping map_fd(int fd, std::size_t len, int prot, int flags, std::uint64_t offset,
               const char* what);

} // namespace wqt
