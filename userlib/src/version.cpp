// SPDX-License-Identifier: LGPL-2.1-or-later
#include <watchqueue/version.hpp>

namespace watchqueue {

const char* version() noexcept {
    return WATCHQUEUE_VERSION_STRING;
}

} // namespace watchqueue
