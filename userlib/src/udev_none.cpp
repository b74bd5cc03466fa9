// SPDX-License-Identifier: LGPL-2.1-or-later
// Built without libudev: no enrichment.
#include "watchqueue/udev.hpp"

namespace watchqueue {
inline namespace v0 {

bool udev_available() noexcept {
    return false;
}

std::optional<DeviceInfo> describe_block(std::uint64_t /*dev*/) noexcept {
    return std::nullopt;
}

std::optional<DeviceInfo> describe_usb(std::string_view /*name*/) noexcept {
    return std::nullopt;
}

std::optional<DeviceInfo> describe_device(const Record& /*rec*/) noexcept {
    return std::nullopt;
}

} // namespace v0
} // namespace watchqueue
