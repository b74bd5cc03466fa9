// SPDX-License-Identifier: GPL-2.0-or-later
// wqmon keeps no capability it does not need: CAP_SYS_ADMIN for the global
// device watch and for filesystem watches that see every inode, nothing
// otherwise (a service started with more keeps only that).
#pragma once

#include <cstdint>

#include "options.hpp"

namespace wqmon {

// The capabilities (bit numbers of <linux/capability.h>) the watches of @o
// need, every time they are added (also after the module was reloaded).
[[nodiscard]] std::uint64_t needed_capabilities(const Options& o) noexcept;

// Reduces the effective, permitted and inheritable sets (and, when
// CAP_SETPCAP allows, the bounding set) to needed_capabilities(@o). A
// process without capabilities is left alone. Throws Fatal on failure.
void drop_capabilities(const Options& o);

} // namespace wqmon
