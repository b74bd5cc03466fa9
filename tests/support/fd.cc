// SPDX-License-Identifier: GPL-2.0-or-later
#include "fd.h"

#include <fcntl.h>
#include <unistd.h>

#include "error.h"

namespace wqt {

void Fd::reset(int fd) noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = fd;
}

Fd open_fd(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags);
    if (fd < 0) {
        throw_errno("open " + path);
    }
    return Fd(fd);
}

} // namespace wqt
