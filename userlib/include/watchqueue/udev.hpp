// SPDX-License-Identifier: LGPL-2.1-or-later
// Optional enrichment of device records with udev's view (built with
// libudev: Meson option -Dudev=auto|enabled|disabled).  Without libudev,
// or when udev knows nothing of the device, the functions return nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api.hpp"

namespace watchqueue {
inline namespace v0 {

struct DeviceInfo {
    std::string node;    // /dev/sda
    std::string vendor;  // USB: manufacturer string or ID_VENDOR
    std::string product; // USB: product; block: ID_MODEL or the model attribute
    std::string serial;
};

// True if the library was built with libudev.
WATCHQUEUE_API bool udev_available() noexcept;

// A block device by its dev_t (st_rdev encoding, as in BlockEvent::dev).
WATCHQUEUE_API std::optional<DeviceInfo> describe_block(std::uint64_t dev) noexcept;

// A USB device by its name in /sys/bus/usb/devices ("1-1.2", "usb1").
WATCHQUEUE_API std::optional<DeviceInfo> describe_usb(std::string_view name) noexcept;

} // namespace v0
} // namespace watchqueue
