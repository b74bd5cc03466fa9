// SPDX-License-Identifier: GPL-2.0-or-later
// wqmon's output: one human line per record (udevadm monitor's layout,
// keyctl watch's words) or one JSON object per line.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <watchqueue/record.hpp>
#include <watchqueue/udev.hpp>

namespace wqmon {

// When wqmon read a record, in microseconds of both clocks.
struct Timestamp {
    std::uint64_t monotonic_us = 0; // CLOCK_MONOTONIC: since boot (boot_id names the boot)
    std::uint64_t realtime_us = 0;  // CLOCK_REALTIME: since the Epoch
};

// What wqmon could not see: the queue was closed from @from until the
// watches were in place again at @to (the module was reloaded).
struct Gap {
    Timestamp from;
    Timestamp to;
};

// "/dev/watch_queue: nothing seen for 1.500000 s"
[[nodiscard]] std::string gap_details(const Gap& gap);

// The clock of the human lines' times, and how they are written.
enum class TimeStyle : std::uint8_t {
    monotonic, // [1234.567890], seconds since boot (the default, as udevadm monitor)
    realtime,  // [1767225600.000000], seconds since the Epoch (--realtime)
    iso,       // [2026-01-01T00:00:00.000000+00:00], local time (--iso-time)
};

// Device lookups (udev by default; tests pass their own).
struct Enricher {
    std::function<std::optional<watchqueue::DeviceInfo>(std::uint64_t)> block;
    std::function<std::optional<watchqueue::DeviceInfo>(std::string_view)> usb;
};

// What each watch id stands for ("@s", "/dev/sda", "devices", the path of
// a --fs or --mounts watch).
using WatchLabels = std::map<unsigned, std::string>;

// Every watch's label in id order, space-separated: "@s /dev/sda devices".
[[nodiscard]] std::string watch_list(const WatchLabels& labels);

// Both clocks now.
[[nodiscard]] Timestamp now() noexcept;

// The boot's id as journald names it (_BOOT_ID): the 32 hex digits of
// @path (/proc/sys/kernel/random/boot_id) without dashes; "" if it cannot be
// read or is not a UUID.
[[nodiscard]] std::string read_boot_id(const char* path = "/proc/sys/kernel/random/boot_id");

// ISO 8601 in local time with microseconds and the UTC offset:
// "2026-01-31T12:00:00.000001+01:00".
[[nodiscard]] std::string iso_time(std::uint64_t realtime_us);

// "EIO", "EUCLEAN", ...; "errno N" for a number glibc has no name for.
[[nodiscard]] std::string errno_name(int e);

// A quota warning (QUOTA_NL_* of <linux/quota.h>): "block-hard", ...;
// "warning N" if unknown.
[[nodiscard]] std::string quota_warning_name(std::uint32_t warning);

struct Formatter {
    WatchLabels labels;
    Enricher enrich;
    TimeStyle time_style = TimeStyle::monotonic;
    std::string boot_id; // JSON's boot_id; left out if empty

    // A record in words: "BLOCK", "medium", "8:0 sector 8 /dev/sdb (Linux scsi_debug)".
    struct Parts {
        std::string_view source; // KEY BLOCK USB FS MOUNT WATCH LOSS RAW
        std::string action;
        std::string details;
    };
    [[nodiscard]] Parts parts(const watchqueue::Record& rec) const;

    [[nodiscard]] std::string human(const watchqueue::Record& rec, Timestamp ts) const;
    [[nodiscard]] std::string json(const watchqueue::Record& rec, Timestamp ts) const;
    // "GAP   [time] reopened /dev/watch_queue: nothing seen for 1.500000 s",
    // and in JSON {"type": "gap", "from_...": ...} with the times of both ends.
    [[nodiscard]] std::string human(const Gap& gap) const;
    [[nodiscard]] std::string json(const Gap& gap) const;
};

} // namespace wqmon
