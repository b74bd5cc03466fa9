// SPDX-License-Identifier: LGPL-2.1-or-later
// The device ABI as the library sees it: the uapi header, checked against
// the public headers' constants, and little helpers to read its structs.
#pragma once

#include <cstddef>
#include <cstring>
#include <span>
#include <type_traits>

#include <linux/wq_dev.h>

#include "watchqueue/filter.hpp"
#include "watchqueue/queue.hpp"
#include "watchqueue/record.hpp"

namespace watchqueue::abi {

static_assert(static_cast<unsigned>(Type::key) == WQ_TYPE_KEY);
static_assert(static_cast<unsigned>(Type::block) == WQ_TYPE_BLOCK);
static_assert(static_cast<unsigned>(Type::usb) == WQ_TYPE_USB);
static_assert(static_cast<unsigned>(Type::superblock) == WQ_TYPE_SUPERBLOCK);
static_assert(static_cast<unsigned>(Type::mount) == WQ_TYPE_MOUNT);
static_assert(static_cast<unsigned>(KeySubtype::setattr) == WQ_KEY_SETATTR);
static_assert(static_cast<unsigned>(BlockSubtype::io) == WQ_BLOCK_ERROR_IO);
static_assert(static_cast<unsigned>(UsbSubtype::device_error) == WQ_USB_DEVICE_ERROR);
static_assert(static_cast<unsigned>(SuperblockSubtype::readonly) == WQ_SB_READONLY);
static_assert(static_cast<unsigned>(SuperblockSubtype::error) == WQ_SB_ERROR);
static_assert(static_cast<unsigned>(SuperblockSubtype::edquot) == WQ_SB_EDQUOT);
static_assert(static_cast<unsigned>(SuperblockSubtype::writeback_error) == WQ_SB_WRITEBACK_ERROR);
static_assert(static_cast<unsigned>(SuperblockSubtype::enospc) == WQ_SB_ENOSPC);
static_assert(static_cast<unsigned>(MountSubtype::new_mount) == WQ_MOUNT_NEW);
static_assert(static_cast<unsigned>(MountSubtype::unmount) == WQ_MOUNT_UNMOUNT);
static_assert(static_cast<unsigned>(MountSubtype::readonly) == WQ_MOUNT_READONLY);
static_assert(static_cast<unsigned>(MountSubtype::setattr) == WQ_MOUNT_SETATTR);
static_assert(static_cast<unsigned>(MountSubtype::move_from) == WQ_MOUNT_MOVE_FROM);
static_assert(static_cast<unsigned>(MountSubtype::move_to) == WQ_MOUNT_MOVE_TO);
static_assert(info_flag::sb_is_now_ro == WQ_SB_IS_NOW_RO);
static_assert(info_flag::sb_emergency == WQ_SB_EMERGENCY);
static_assert(info_flag::mount_in_subtree == WQ_MOUNT_IN_SUBTREE);
static_assert(info_flag::mount_is_now_ro == WQ_MOUNT_IS_NOW_RO);
static_assert(header_size == sizeof(wq_notification));
static_assert(record_max == WQ_RECORD_MAX);
static_assert(max_filters == WQ_MAX_FILTERS);
static_assert(max_notes == WQ_MAX_NOTES);
static_assert(feature::usb == WQ_FEATURE_USB && feature::block == WQ_FEATURE_BLOCK);
static_assert(feature::sb == WQ_FEATURE_SB && feature::sb_fs_errors == WQ_FEATURE_SB_FS_ERRORS);
static_assert(feature::mount == WQ_FEATURE_MOUNT);

// Copies a struct out of possibly unaligned bytes (@bytes.size() >= sizeof(T)).
template <class T>
T load(std::span<const std::byte> bytes) noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    T value{};
    std::memcpy(&value, bytes.data(), sizeof(T));
    return value;
}

} // namespace watchqueue::abi
