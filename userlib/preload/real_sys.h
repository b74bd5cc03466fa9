// SPDX-License-Identifier: LGPL-2.1-or-later
// The system-call seam of compat_logic.h, backed by libc.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/stat.h>

namespace wqc {

struct RealSys {
    static int open_path(const char* path, int flags) noexcept { return ::open(path, flags); }
    static int close_fd(int fd) noexcept { return ::close(fd); }
    static int fstat_fd(int fd, struct stat* st) noexcept { return ::fstat(fd, st); }
    static int stat_path(const char* path, struct stat* st) noexcept { return ::stat(path, st); }
    static int ioctl_fd(int fd, unsigned long request, void* arg) noexcept {
        return ::ioctl(fd, request, arg);
    }
    static int dup_fd(int fd, bool cloexec) noexcept {
        return ::fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
    }
};

} // namespace wqc
