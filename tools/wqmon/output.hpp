// SPDX-License-Identifier: GPL-2.0-or-later
// wqmon's output: one human line per record (udevadm monitor's layout,
// keyctl watch's words) or one JSON object per line.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <watchqueue/record.hpp>
#include <watchqueue/udev.hpp>

namespace wqmon {

struct Timestamp {
    std::uint64_t sec = 0;
    std::uint32_t usec = 0;
};

// Device lookups (udev by default; tests pass their own).
struct Enricher {
    std::function<std::optional<watchqueue::DeviceInfo>(std::uint64_t)> block;
    std::function<std::optional<watchqueue::DeviceInfo>(std::string_view)> usb;
};

// What each watch id stands for ("@s", "/dev/sda", "devices", the path of
// a --fs or --mounts watch).
using WatchLabels = std::map<unsigned, std::string>;

// "EIO", "EUCLEAN", ...; "errno N" for a number glibc has no name for.
[[nodiscard]] std::string errno_name(int e);

// A quota warning (QUOTA_NL_* of <linux/quota.h>): "block-hard", ...;
// "warning N" if unknown.
[[nodiscard]] std::string quota_warning_name(std::uint32_t warning);

struct Formatter {
    WatchLabels labels;
    Enricher enrich;

    [[nodiscard]] std::string human(const watchqueue::Record& rec, Timestamp ts) const;
    [[nodiscard]] std::string json(const watchqueue::Record& rec, Timestamp ts) const;
};

} // namespace wqmon
