// SPDX-License-Identifier: LGPL-2.1-or-later
/// @file
/// Optional enrichment of device records with udev's view (built with
/// libudev: Meson option `-Dudev=auto|enabled|disabled`).  Without libudev,
/// or when udev knows nothing of the device, the functions return nullopt.
///
/// Answers are cached per device (by dev_t, by USB name), found or not, so
/// that a burst of records about one device costs one udev lookup: at most
/// 64 devices of each kind, each for at most 5 seconds after its lookup, as
/// device numbers and USB names are reused by the next device.
/// describe_device() also looks a USB device up afresh on its add record
/// and forgets it after its remove record.  Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api.hpp"
#include "record.hpp"

namespace watchqueue {
inline namespace v0 {

/// What udev says of a device; empty strings for what it does not say.
struct DeviceInfo {
    std::string node;    ///< the device node: /dev/sda, /dev/bus/usb/001/004
    std::string vendor;  ///< USB: the manufacturer string or ID_VENDOR; block: ID_VENDOR
    std::string product; ///< USB: the product string; block: ID_MODEL or the model attribute
    std::string serial;  ///< the serial number
};

/// True if the library was built with libudev.
WATCHQUEUE_API bool udev_available() noexcept;

/// A block device by its dev_t (st_rdev encoding, as in BlockEvent::dev).
WATCHQUEUE_API std::optional<DeviceInfo> describe_block(std::uint64_t dev) noexcept;

/// A USB device by its name in /sys/bus/usb/devices ("1-1.2", "usb1").
WATCHQUEUE_API std::optional<DeviceInfo> describe_usb(std::string_view name) noexcept;

/// The device a block or USB record is about (nullopt for other records):
/// describe_block() of a BlockEvent's dev; for a UsbEvent, describe_usb()
/// of its name, except that device_add and bus_add look it up anew, and
/// device_remove and bus_remove give what was cached (udev may know nothing
/// of it by now) and then forget it.
WATCHQUEUE_API std::optional<DeviceInfo> describe_device(const Record& rec) noexcept;

} // namespace v0
} // namespace watchqueue
