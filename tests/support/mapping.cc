// SPDX-License-Identifier: GPL-2.0-or-later
#include "mapping.h"

#include <string>

#include <sys/mman.h>

#include "error.h"

namespace wqt {

Mapping& Mapping::operator=(Mapping&& other) noexcept {
    if (this != &other) {
        reset();
        addr_ = other.addr_;
        len_ = other.len_;
        other.addr_ = nullptr;
        other.len_ = 0;
    }
    return *this;
}

void Mapping::reset() noexcept {
    if (addr_ != nullptr) {
        ::munmap(addr_, len_);
    }
    addr_ = nullptr;
    len_ = 0;
}

Mapping map_fd(int fd, std::size_t len, int prot, int flags, std::uint64_t offset,
               const char* what) {
    void* addr = ::mmap(nullptr, len, prot, flags, fd, static_cast<off_t>(offset));
    if (addr == MAP_FAILED) {
        throw_errno(std::string("mmap ") + what + " (" + std::to_string(len) + " bytes at offset " +
                    std::to_string(offset) + ")");
    }
    return {addr, len};
}

} // namespace wqt
