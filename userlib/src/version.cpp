// SPDX-License-Identifier: LGPL-2.1-or-later
#include <watchqueue/version.hpp>

namespace watchqueue {
inline namespace v0 {

const char* version() noexcept {
    return WATCHQUEUE_VERSION_STRING;
}

} // namespace v0
} // namespace watchqueue
