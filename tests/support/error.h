// SPDX-License-Identifier: GPL-2.0-or-later
// Errors of the test support code: std::system_error carrying errno and what
// was attempted.
#pragma once

#include <cerrno>
#include <string>

namespace wqt {

// Throws std::system_error(err, what).
[[noreturn]] void throw_errno(int err, const std::string& what);

// Throws std::system_error(errno, what).
[[noreturn]] inline void throw_errno(const std::string& what) {
    throw_errno(errno, what);
}

// errno of a failed call (rc < 0), 0 when it succeeded: lets a test write
// CHECK(errno_of(ioctl(...)) == EINVAL).
inline int errno_of(long rc) noexcept {
    return rc < 0 ? errno : 0;
}

} // namespace wqt
