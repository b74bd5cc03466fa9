// SPDX-License-Identifier: GPL-2.0-or-later
#include "error.h"

#include <system_error>

namespace wqt {

void throw_errno(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), what);
}

} // namespace wqt
