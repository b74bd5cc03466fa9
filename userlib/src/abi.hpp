// SPDX-License-Identifier: LGPL-2.1-or-later
// The device ABI as the library sees it: the uapi header, the table of
// everything in it the library depends on, and little helpers to read its
// structs.
//
// The table below has one row for every name uapi/linux/wq_dev.h defines:
// every enumerator and #define WQ_*, every struct wq_* and every member of
// one.  abi_check.cpp checks each row against the header with static_assert
// and checks that the rows and the header list the same names (the header's
// list is generated from it at build time by uapi-names), so:
//  - a constant, enumerator, struct or member added to the header without a
//    row here fails the library's build, naming it;
//  - an enumerator added to one of the library's enums (record.hpp) without
//    a row fails it too (-Wswitch made an error there);
//  - a value changed on either side fails it.
// A row pairs the header's name with the library's public constant that
// mirrors it, or, for what the library uses straight from the header
// (ioctl numbers, struct layouts, ...), with the value the library was
// written for: changing one of those is an ABI change (README, "ABI
// policy") and must be decided here, not happen silently.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <span>
#include <type_traits>

#include <linux/ioctl.h>
#include <linux/wq_dev.h>

#include "watchqueue/filter.hpp"
#include "watchqueue/queue.hpp"
#include "watchqueue/record.hpp"

// ---------------------------------------------------------------------------
// Enumerators: X(library enumerator, header enumerator), one list per enum
// of record.hpp.  The decoders know a subtype if and only if it has a row.

#define WQ_ABI_TYPES(X)                                                                            \
    X(Type::meta, WQ_TYPE_META)                                                                    \
    X(Type::key, WQ_TYPE_KEY)                                                                      \
    X(Type::block, WQ_TYPE_BLOCK)                                                                  \
    X(Type::usb, WQ_TYPE_USB)                                                                      \
    X(Type::superblock, WQ_TYPE_SUPERBLOCK)                                                        \
    X(Type::mount, WQ_TYPE_MOUNT)

#define WQ_ABI_KEY_SUBTYPES(X)                                                                     \
    X(KeySubtype::instantiated, WQ_KEY_INSTANTIATED)                                               \
    X(KeySubtype::updated, WQ_KEY_UPDATED)                                                         \
    X(KeySubtype::linked, WQ_KEY_LINKED)                                                           \
    X(KeySubtype::unlinked, WQ_KEY_UNLINKED)                                                       \
    X(KeySubtype::cleared, WQ_KEY_CLEARED)                                                         \
    X(KeySubtype::revoked, WQ_KEY_REVOKED)                                                         \
    X(KeySubtype::invalidated, WQ_KEY_INVALIDATED)                                                 \
    X(KeySubtype::setattr, WQ_KEY_SETATTR)

#define WQ_ABI_BLOCK_SUBTYPES(X)                                                                   \
    X(BlockSubtype::timeout, WQ_BLOCK_ERROR_TIMEOUT)                                               \
    X(BlockSubtype::no_space, WQ_BLOCK_ERROR_NO_SPACE)                                             \
    X(BlockSubtype::recoverable_transport, WQ_BLOCK_ERROR_RECOVERABLE_TRANSPORT)                   \
    X(BlockSubtype::critical_target, WQ_BLOCK_ERROR_CRITICAL_TARGET)                               \
    X(BlockSubtype::critical_nexus, WQ_BLOCK_ERROR_CRITICAL_NEXUS)                                 \
    X(BlockSubtype::critical_medium, WQ_BLOCK_ERROR_CRITICAL_MEDIUM)                               \
    X(BlockSubtype::protection, WQ_BLOCK_ERROR_PROTECTION)                                         \
    X(BlockSubtype::kernel_resource, WQ_BLOCK_ERROR_KERNEL_RESOURCE)                               \
    X(BlockSubtype::device_resource, WQ_BLOCK_ERROR_DEVICE_RESOURCE)                               \
    X(BlockSubtype::io, WQ_BLOCK_ERROR_IO)

#define WQ_ABI_USB_SUBTYPES(X)                                                                     \
    X(UsbSubtype::device_add, WQ_USB_DEVICE_ADD)                                                   \
    X(UsbSubtype::device_remove, WQ_USB_DEVICE_REMOVE)                                             \
    X(UsbSubtype::bus_add, WQ_USB_BUS_ADD)                                                         \
    X(UsbSubtype::bus_remove, WQ_USB_BUS_REMOVE)                                                   \
    X(UsbSubtype::device_reset, WQ_USB_DEVICE_RESET)                                               \
    X(UsbSubtype::device_error, WQ_USB_DEVICE_ERROR)

#define WQ_ABI_SB_SUBTYPES(X)                                                                      \
    X(SuperblockSubtype::readonly, WQ_SB_READONLY)                                                 \
    X(SuperblockSubtype::error, WQ_SB_ERROR)                                                       \
    X(SuperblockSubtype::edquot, WQ_SB_EDQUOT)                                                     \
    X(SuperblockSubtype::writeback_error, WQ_SB_WRITEBACK_ERROR)                                   \
    X(SuperblockSubtype::enospc, WQ_SB_ENOSPC)

#define WQ_ABI_MOUNT_SUBTYPES(X)                                                                   \
    X(MountSubtype::new_mount, WQ_MOUNT_NEW)                                                       \
    X(MountSubtype::unmount, WQ_MOUNT_UNMOUNT)                                                     \
    X(MountSubtype::readonly, WQ_MOUNT_READONLY)                                                   \
    X(MountSubtype::setattr, WQ_MOUNT_SETATTR)                                                     \
    X(MountSubtype::move_from, WQ_MOUNT_MOVE_FROM)                                                 \
    X(MountSubtype::move_to, WQ_MOUNT_MOVE_TO)

// ---------------------------------------------------------------------------
// Other constants: X(the library's value, header name).  The library's
// value is its public constant where it has one, else the value it was
// written for (it uses the header's name itself).

#define WQ_ABI_CONSTANTS(X)                                                                        \
    /* the device */                                                                               \
    X(1, WQ_ABI_VERSION) /* the ABI these rows describe */                                         \
    /* meta records: the library has no enum for these (record.cpp) */                             \
    X(0, WQ_META_REMOVAL)                                                                          \
    X(1, WQ_META_LOSS)                                                                             \
    /* the record header's info field */                                                           \
    X(info_field::length, WQ_INFO_LENGTH)                                                          \
    X(0, WQ_INFO_LENGTH__SHIFT)                                                                    \
    X(info_field::watch_id, WQ_INFO_ID)                                                            \
    X(info_field::watch_id_shift, WQ_INFO_ID__SHIFT)                                               \
    X(info_field::type_info, WQ_INFO_TYPE_INFO)                                                    \
    X(info_field::type_info_shift, WQ_INFO_TYPE_INFO__SHIFT)                                       \
    X(info_flag::sb_is_now_ro, WQ_SB_IS_NOW_RO)                                                    \
    X(info_flag::sb_emergency, WQ_SB_EMERGENCY)                                                    \
    X(info_flag::mount_in_subtree, WQ_MOUNT_IN_SUBTREE)                                            \
    X(info_flag::mount_is_now_ro, WQ_MOUNT_IS_NOW_RO)                                              \
    /* sizes and limits */                                                                         \
    X(record_align, WQ_RECORD_ALIGN)                                                               \
    X(record_max, WQ_RECORD_MAX)                                                                   \
    X(63, WQ_USB_MAX_NAME_LEN) /* record.cpp: the longest UsbEvent::name */                        \
    X(max_filters, WQ_MAX_FILTERS)                                                                 \
    X(max_notes, WQ_MAX_NOTES)                                                                     \
    X(128, WQ_NOTE_SIZE) /* QueueOptions::notes: "notes of 128 bytes" */                           \
    /* RingInfo::features */                                                                       \
    X(feature::mmap, WQ_FEATURE_MMAP)                                                              \
    X(feature::sync, WQ_FEATURE_SYNC)                                                              \
    X(feature::keys, WQ_FEATURE_KEYS)                                                              \
    X(feature::block, WQ_FEATURE_BLOCK)                                                            \
    X(feature::usb, WQ_FEATURE_USB)                                                                \
    X(feature::sb, WQ_FEATURE_SB)                                                                  \
    X(feature::sb_fs_errors, WQ_FEATURE_SB_FS_ERRORS)                                              \
    X(feature::mount, WQ_FEATURE_MOUNT)                                                            \
    /* ioctls: the numbers (their argument's size included) */                                     \
    X(_IOC(_IOC_NONE, 'W', 0x60, 0), WQ_IOC_SET_SIZE)                                              \
    X(_IOC(_IOC_NONE, 'W', 0x61, 0), WQ_IOC_SET_FILTER)                                            \
    X(_IOC(_IOC_NONE, 'W', 0x62, 0), WQ_IOC_SYNC)                                                  \
    X(_IOC(_IOC_WRITE, 'W', 0x70, 8), WQ_IOC_SET_RING_BYTES)                                       \
    X(_IOC(_IOC_READ | _IOC_WRITE, 'W', 0x71, 96), WQ_IOC_GET_INFO)                                \
    X(_IOC(_IOC_WRITE, 'W', 0x72, 16), WQ_IOC_WATCH_KEY)                                           \
    X(_IOC(_IOC_WRITE, 'W', 0x73, 16), WQ_IOC_WATCH_DEVICES)                                       \
    X(_IOC(_IOC_WRITE, 'W', 0x74, 16), WQ_IOC_WATCH_SB)                                            \
    X(_IOC(_IOC_WRITE, 'W', 0x75, 16), WQ_IOC_WATCH_MOUNT)

// WQ_DEV_PATH, a string: checked against device_path by abi_check.cpp.
#define WQ_ABI_STRINGS(X) X(device_path, WQ_DEV_PATH)

// ---------------------------------------------------------------------------
// Structs: X(struct, size, alignment), and X(struct, member, offset) for
// every member; bit-fields X(struct, member, first bit, width).

#define WQ_ABI_STRUCTS(X)                                                                          \
    X(wq_notification, 8, 4)                                                                       \
    X(wq_removal_notification, 16, 8)                                                              \
    X(wq_loss_notification, 16, 8)                                                                 \
    X(wq_key_notification, 16, 4)                                                                  \
    X(wq_block_notification, 24, 8)                                                                \
    X(wq_usb_notification, 20, 4)                                                                  \
    X(wq_watch_devices, 16, 4)                                                                     \
    X(wq_superblock_notification, 16, 8)                                                           \
    X(wq_superblock_error_notification, 32, 8)                                                     \
    X(wq_mount_notification, 24, 8)                                                                \
    X(wq_watch_sb, 16, 4)                                                                          \
    X(wq_watch_mount, 16, 4)                                                                       \
    X(wq_watch_key, 16, 4)                                                                         \
    X(wq_notification_type_filter, 44, 4)                                                          \
    X(wq_notification_filter, 8, 4)                                                                \
    X(wq_ring_consumer, 8, 8)                                                                      \
    X(wq_ring_producer, 64, 8)                                                                     \
    X(wq_ring_info, 96, 8)

#define WQ_ABI_MEMBERS(X)                                                                          \
    X(wq_notification, info, 4)                                                                    \
    X(wq_removal_notification, watch, 0)                                                           \
    X(wq_removal_notification, id, 8)                                                              \
    X(wq_loss_notification, watch, 0)                                                              \
    X(wq_loss_notification, count, 8)                                                              \
    X(wq_key_notification, watch, 0)                                                               \
    X(wq_key_notification, key_id, 8)                                                              \
    X(wq_key_notification, aux, 12)                                                                \
    X(wq_block_notification, watch, 0)                                                             \
    X(wq_block_notification, dev, 8)                                                               \
    X(wq_block_notification, sector, 16)                                                           \
    X(wq_usb_notification, watch, 0)                                                               \
    X(wq_usb_notification, error, 8)                                                               \
    X(wq_usb_notification, reserved, 12)                                                           \
    X(wq_usb_notification, name_len, 16)                                                           \
    X(wq_usb_notification, name, 17)                                                               \
    X(wq_watch_devices, watch_id, 0)                                                               \
    X(wq_watch_devices, flags, 4)                                                                  \
    X(wq_watch_devices, blk_fd, 8)                                                                 \
    X(wq_watch_devices, __reserved, 12)                                                            \
    X(wq_superblock_notification, watch, 0)                                                        \
    X(wq_superblock_notification, sb_id, 8)                                                        \
    X(wq_superblock_error_notification, s, 0)                                                      \
    X(wq_superblock_error_notification, error, 16)                                                 \
    X(wq_superblock_error_notification, aux, 20)                                                   \
    X(wq_superblock_error_notification, ino, 24)                                                   \
    X(wq_mount_notification, watch, 0)                                                             \
    X(wq_mount_notification, triggered_on, 8)                                                      \
    X(wq_mount_notification, auxiliary_mount, 16)                                                  \
    X(wq_watch_sb, fd, 0)                                                                          \
    X(wq_watch_sb, watch_id, 4)                                                                    \
    X(wq_watch_sb, flags, 8)                                                                       \
    X(wq_watch_sb, __reserved, 12)                                                                 \
    X(wq_watch_mount, fd, 0)                                                                       \
    X(wq_watch_mount, watch_id, 4)                                                                 \
    X(wq_watch_mount, flags, 8)                                                                    \
    X(wq_watch_mount, __reserved, 12)                                                              \
    X(wq_watch_key, key, 0)                                                                        \
    X(wq_watch_key, watch_id, 4)                                                                   \
    X(wq_watch_key, flags, 8)                                                                      \
    X(wq_watch_key, __reserved, 12)                                                                \
    X(wq_notification_type_filter, type, 0)                                                        \
    X(wq_notification_type_filter, info_filter, 4)                                                 \
    X(wq_notification_type_filter, info_mask, 8)                                                   \
    X(wq_notification_type_filter, subtype_filter, 12)                                             \
    X(wq_notification_filter, nr_filters, 0)                                                       \
    X(wq_notification_filter, __reserved, 4)                                                       \
    X(wq_notification_filter, filters, 8)                                                          \
    X(wq_ring_consumer, tail, 0)                                                                   \
    X(wq_ring_producer, head, 0)                                                                   \
    X(wq_ring_producer, lost, 8)                                                                   \
    X(wq_ring_producer, data_size, 16)                                                             \
    X(wq_ring_producer, __reserved, 24)                                                            \
    X(wq_ring_info, size, 0)                                                                       \
    X(wq_ring_info, abi_version, 4)                                                                \
    X(wq_ring_info, data_size, 8)                                                                  \
    X(wq_ring_info, consumer_off, 16)                                                              \
    X(wq_ring_info, producer_off, 24)                                                              \
    X(wq_ring_info, producer_len, 32)                                                              \
    X(wq_ring_info, data_off, 40)                                                                  \
    X(wq_ring_info, lost, 48)                                                                      \
    X(wq_ring_info, features, 56)                                                                  \
    X(wq_ring_info, __reserved, 64)

// The header's bit-fields; record.cpp reads them through the struct.
#define WQ_ABI_BITFIELDS(X)                                                                        \
    X(wq_notification, type, 0, 24)                                                                \
    X(wq_notification, subtype, 24, 8)

namespace watchqueue::abi {

#define WQ_ABI_VALUE(lib, uapi) static_cast<unsigned>(uapi),

// The subtypes the decoders know, per type: the table's rows.
inline constexpr std::array key_subtypes{WQ_ABI_KEY_SUBTYPES(WQ_ABI_VALUE)};
inline constexpr std::array block_subtypes{WQ_ABI_BLOCK_SUBTYPES(WQ_ABI_VALUE)};
inline constexpr std::array usb_subtypes{WQ_ABI_USB_SUBTYPES(WQ_ABI_VALUE)};
inline constexpr std::array sb_subtypes{WQ_ABI_SB_SUBTYPES(WQ_ABI_VALUE)};
inline constexpr std::array mount_subtypes{WQ_ABI_MOUNT_SUBTYPES(WQ_ABI_VALUE)};

#undef WQ_ABI_VALUE

// True if @value is one of @known.
template <std::size_t N>
constexpr bool known(const std::array<unsigned, N>& known, unsigned value) noexcept {
    return std::find(known.begin(), known.end(), value) != known.end();
}

// Copies a struct out of possibly unaligned bytes (@bytes.size() >= sizeof(T)).
template <class T>
T load(std::span<const std::byte> bytes) noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    T value{};
    std::memcpy(&value, bytes.data(), sizeof(T));
    return value;
}

} // namespace watchqueue::abi
