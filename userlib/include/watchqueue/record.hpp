// SPDX-License-Identifier: LGPL-2.1-or-later
/// @file
/// Records and their events.
///
/// A Record is a view of one record where it lies (in the mapped ring, a
/// read() buffer or the queue's buffer on a notification pipe): its header's
/// fields and its bytes.  Its event is decoded on request, by as_key(),
/// as_block(), ... or visit().  Views into the ring (Record::bytes,
/// UsbEvent::name) stay valid until the batch that produced them is
/// committed; a Record of a read() buffer as long as the buffer.
///
/// **ABI: how a new record type is added** without breaking programs built
/// against an older libwatchqueue (README, "ABI policy"):
///  - Record's layout is fixed: the header's fields and a span of bytes.  It
///    holds no decoded event, so a new type changes nothing in it.
///  - Each event type has its own struct and its own decoding function
///    exported by the library (as_key(), ...).  A new type is a new struct
///    and a new `as_*()` function: symbols are only added, and a program
///    built before sees the new records as they were, as records of a type
///    it does not know (a RawEvent in visit()).
///  - visit() is a template compiled into the caller: it dispatches on the
///    types the caller's header knew.
///  - An event struct, Record and the other types of the public headers
///    never change within one soname.  If one must change, the inline
///    namespace (`v0`, as the soname `libwatchqueue.so.0`) and the soname
///    are bumped together, so that an old program fails to link rather than
///    misreading memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "api.hpp"

namespace watchqueue {
inline namespace v0 {

/// Record types (the ABI's WQ_TYPE_*).  A Type may hold any 24-bit value,
/// not only these: records of types this library does not know keep theirs.
enum class Type : std::uint32_t {
    meta = 0,       ///< loss and removal records (LossEvent, RemovalEvent)
    key = 1,        ///< keys and keyrings (KeyEvent)
    block = 2,      ///< block-device errors (BlockEvent)
    usb = 3,        ///< USB devices and buses (UsbEvent)
    superblock = 4, ///< filesystems (SuperblockEvent)
    mount = 5,      ///< mounts (MountEvent)
};

/// Key record subtypes (upstream's NOTIFY_KEY_*).
enum class KeySubtype : std::uint8_t {
    instantiated = 0, ///< instantiated; aux: 0 or -error
    updated = 1,      ///< its payload was updated
    linked = 2,       ///< key: the keyring; aux: the key linked into it
    unlinked = 3,     ///< key: the keyring; aux: the key unlinked from it
    cleared = 4,      ///< the keyring was cleared
    revoked = 5,      ///< revoked
    invalidated = 6,  ///< invalidated
    setattr = 7,      ///< its attributes (permissions, owner, expiry) changed
};

/// Block error subtypes: what failed (the request's blk_status_t).
enum class BlockSubtype : std::uint8_t {
    timeout = 1,               ///< the device did not answer in time
    no_space = 2,              ///< out of space (thin provisioning)
    recoverable_transport = 3, ///< link or path failure; may work on another path or a retry
    critical_target = 4,       ///< the target rejected the command
    critical_nexus = 5,        ///< reservation conflict
    critical_medium = 6,       ///< unreadable or unwritable medium
    protection = 7,            ///< integrity (T10 PI) check failed
    kernel_resource = 8,       ///< the kernel ran out of resources
    device_resource = 9,       ///< the device ran out of resources
    io = 10,                   ///< any other I/O error
};

/// USB record subtypes.
enum class UsbSubtype : std::uint8_t {
    device_add = 0,    ///< a device (root hubs included) was enumerated
    device_remove = 1, ///< a device is going away (unplugged, its port disabled, its bus removed)
    bus_add = 2,       ///< a host controller registered its bus ("usb<busnum>")
    bus_remove = 3,    ///< the bus was unregistered
    device_reset = 4,  ///< a configured device was reset; UsbEvent::error says if it failed
    device_error = 5,  ///< the hub driver gave up enumerating a newly connected device
};

/// Filesystem record subtypes.
enum class SuperblockSubtype : std::uint8_t {
    readonly = 0,        ///< turned read-only or back to read-write
    error = 1,           ///< the filesystem reported an error
    edquot = 2,          ///< a quota limit was reached
    writeback_error = 4, ///< a write-back error was recorded (what fsync() returns)
    enospc = 5,          ///< an allocation failed for lack of space
};

/// Mount record subtypes.
enum class MountSubtype : std::uint8_t {
    new_mount = 0, ///< attached
    unmount = 1,   ///< detached
    readonly = 3,  ///< turned read-only or back to read-write
    setattr = 4,   ///< other per-mount attributes changed
    move_from = 5, ///< moved away from the watched place
    move_to = 6,   ///< moved to the watched place
};

/// Type-specific bits of Record::info (the ABI's WQ_SB_* and WQ_MOUNT_*
/// flags), e.g. for an InfoMatch; the events decode them.
namespace info_flag {
inline constexpr std::uint32_t sb_is_now_ro = 0x10000U;     ///< SuperblockEvent::is_now_ro
inline constexpr std::uint32_t sb_emergency = 0x20000U;     ///< SuperblockEvent::emergency
inline constexpr std::uint32_t mount_in_subtree = 0x10000U; ///< MountEvent::in_subtree
inline constexpr std::uint32_t mount_is_now_ro = 0x20000U;  ///< MountEvent::is_now_ro
} // namespace info_flag

/// The fields of Record::info (the ABI's WQ_INFO_*): the record's length,
/// its watch id and the type-specific flags (info_flag).
namespace info_field {
inline constexpr std::uint32_t length = 0x7fU;          ///< the length in bytes, header included
inline constexpr std::uint32_t watch_id = 0xff00U;      ///< the watch id ...
inline constexpr unsigned watch_id_shift = 8;           ///< ... shifted this far
inline constexpr std::uint32_t type_info = 0xffff0000U; ///< the type-specific flags ...
inline constexpr unsigned type_info_shift = 16;         ///< ... shifted this far
} // namespace info_field

/// Records' lengths are multiples of this (WQ_RECORD_ALIGN).
inline constexpr std::size_t record_align = 8;

/// Records were dropped (the queue was full).
struct LossEvent {
    /// How many since the previous loss record; absent on upstream
    /// notification pipes, whose loss record has no count.
    std::optional<std::uint64_t> count;
};

/// A watch ended (its object was destroyed or the watch removed); the
/// watch is the record's Record::watch_id().
struct RemovalEvent {
    /// The object's id, if the record has one: a key serial, a disk's
    /// dev_t, a filesystem's sb_id.
    std::optional<std::uint64_t> id;
};

/// A key or keyring changed.
struct KeyEvent {
    KeySubtype subtype{};  ///< what happened
    std::int32_t key = 0;  ///< the key's serial (the keyring's for linked/unlinked)
    std::uint32_t aux = 0; ///< linked/unlinked: the other key; instantiated: 0 or -error
};

/// A block request failed.
struct BlockEvent {
    BlockSubtype subtype{};   ///< the request's status
    std::uint64_t dev = 0;    ///< the whole disk, in st_rdev encoding
    std::uint64_t sector = 0; ///< the first failing 512-byte sector
};

/// A USB device or bus event.
struct UsbEvent {
    UsbSubtype subtype{};   ///< what happened
    std::int32_t error = 0; ///< device_reset: 0, or the errno the reset failed with; else 0
    std::string_view name;  ///< "1-1.2", "usb1" (/sys/bus/usb/devices); a view into the record
};

/// A filesystem (superblock) event.
struct SuperblockEvent {
    SuperblockSubtype subtype{}; ///< what happened
    /// The filesystem: st_dev of every file on it, and makedev() of the
    /// "major:minor" field of /proc/self/mountinfo.
    std::uint64_t sb_id = 0;
    std::int32_t error = 0; ///< a positive errno; 0 for readonly
    std::uint32_t aux = 0;  ///< edquot: the QUOTA_NL_* warning
    /// The inode number, or 0; edquot: the quota's id (in the watcher's
    /// user namespace).
    std::uint64_t ino = 0;
    bool is_now_ro = false; ///< readonly: it is now read-only (else read-write)
    bool emergency = false; ///< readonly: forced by the filesystem after errors
};

/// A mount event.  Mounts are named by mountinfo's first field (statx's
/// stx_mnt_id).
struct MountEvent {
    MountSubtype subtype{};      ///< what happened
    std::uint64_t mount_id = 0;  ///< the mount changed (the ABI's auxiliary_mount)
    std::uint64_t parent_id = 0; ///< its parent; move_from: the old one (triggered_on)
    bool in_subtree = false;     ///< below the watched directory, not at it
    bool is_now_ro = false;      ///< new_mount, readonly: the mount is now read-only
};

/// What visit() passes for a record of a type or subtype the caller's
/// header does not decode: the Record has its type, subtype and bytes.
struct RawEvent {};

/// The size of a record's header (struct wq_notification).
inline constexpr std::size_t header_size = 8;
/// The largest record the device posts (WQ_RECORD_MAX).
inline constexpr std::size_t record_max = 120;

/// One record: its header's fields and a view of its bytes.
struct Record {
    Type type{};               ///< 24 bits; possibly none of the enumerators
    std::uint32_t subtype = 0; ///< 8 bits
    /// Length (bits 0..6), watch id (8..15) and type-specific flags
    /// (16..31); see length(), watch_id(), type_info().
    std::uint32_t info = 0;
    std::span<const std::byte> bytes; ///< the whole record, header included

    /// The type as a number, for types this library has no name for.
    [[nodiscard]] std::uint32_t raw_type() const noexcept {
        return static_cast<std::uint32_t>(type);
    }
    /// The record's length in bytes, header included.
    [[nodiscard]] std::size_t length() const noexcept { return info & info_field::length; }
    /// The id given when the watch was added (0..255).
    [[nodiscard]] unsigned watch_id() const noexcept {
        return (info & info_field::watch_id) >> info_field::watch_id_shift;
    }
    /// The type-specific bits of info (info_flag, shifted down 16 bits).
    [[nodiscard]] unsigned type_info() const noexcept {
        return (info & info_field::type_info) >> info_field::type_info_shift;
    }
    /// The bytes after the 8-byte header.
    [[nodiscard]] std::span<const std::byte> payload() const noexcept {
        return bytes.subspan(header_size);
    }
};

/// Decodes the record at the start of @p buf (the bytes up to the head, or
/// to the end of a read() buffer).  Never reads outside @p buf: a malformed
/// record (length below 8, not a multiple of 8, past the end of @p buf,
/// shorter than its type's struct) sets @p ec to a record_errc.  nullopt
/// without an error when @p buf is empty.
WATCHQUEUE_API std::optional<Record> decode_record(std::span<const std::byte> buf,
                                                   std::error_code& ec) noexcept;
/// As above; throws watchqueue::error for a malformed record or an empty
/// @p buf.
WATCHQUEUE_API Record decode_record(std::span<const std::byte> buf);

/// @name Events
/// The record's event, if it is a record of that type and of a subtype the
/// library knows; nullopt otherwise.  Each reads only Record::bytes: a
/// Record from decode_record() (or a batch, or read()) always decodes, a
/// shorter hand-made one gives nullopt.
/// @{

/// A loss record's event.
WATCHQUEUE_API std::optional<LossEvent> as_loss(const Record& rec) noexcept;
/// A removal record's event.
WATCHQUEUE_API std::optional<RemovalEvent> as_removal(const Record& rec) noexcept;
/// A key record's event.
WATCHQUEUE_API std::optional<KeyEvent> as_key(const Record& rec) noexcept;
/// A block record's event.
WATCHQUEUE_API std::optional<BlockEvent> as_block(const Record& rec) noexcept;
/// A USB record's event.
WATCHQUEUE_API std::optional<UsbEvent> as_usb(const Record& rec) noexcept;
/// A filesystem record's event.
WATCHQUEUE_API std::optional<SuperblockEvent> as_superblock(const Record& rec) noexcept;
/// A mount record's event.
WATCHQUEUE_API std::optional<MountEvent> as_mount(const Record& rec) noexcept;
/// @}

/// Calls @p f with the record's event: a LossEvent, RemovalEvent, KeyEvent,
/// BlockEvent, UsbEvent, SuperblockEvent or MountEvent (as a const lvalue),
/// or a RawEvent for anything else.  As with std::visit, every call of
/// @p f must return the same type, which visit() returns:
///
///     wq::visit(Overloaded{[](const wq::KeyEvent& ev) { ... },
///                          [](const auto&) { ... }},
///               rec);
///
/// A template compiled into the caller: a record of a type added to the
/// library after the caller was built comes as a RawEvent.
template <class F>
std::invoke_result_t<F, const RawEvent&> visit(F&& f, const Record& rec) {
    switch (rec.type) {
    case Type::meta:
        if (const auto ev = as_loss(rec)) {
            return std::invoke(std::forward<F>(f), *ev);
        }
        if (const auto ev = as_removal(rec)) {
            return std::invoke(std::forward<F>(f), *ev);
        }
        break;
    case Type::key:
        if (const auto ev = as_key(rec)) {
            return std::invoke(std::forward<F>(f), *ev);
        }
        break;
    case Type::block:
        if (const auto ev = as_block(rec)) {
            return std::invoke(std::forward<F>(f), *ev);
        }
        break;
    case Type::usb:
        if (const auto ev = as_usb(rec)) {
            return std::invoke(std::forward<F>(f), *ev);
        }
        break;
    case Type::superblock:
        if (const auto ev = as_superblock(rec)) {
            return std::invoke(std::forward<F>(f), *ev);
        }
        break;
    case Type::mount:
        if (const auto ev = as_mount(rec)) {
            return std::invoke(std::forward<F>(f), *ev);
        }
        break;
    }
    const RawEvent raw;
    return std::invoke(std::forward<F>(f), raw);
}

/// @name Names
/// Short names of subtypes and types, as wqmon prints them; "?" for a value
/// without one.
/// @{

/// "inst", "upd", "link", "unlk", "clr", "rev", "inv", "attr" (keyctl
/// watch's words).
WATCHQUEUE_API std::string_view subtype_name(KeySubtype s) noexcept;
/// "timeout", "no-space", "transport", "target", "nexus", "medium",
/// "protection", "kernel-resource", "device-resource", "io".
WATCHQUEUE_API std::string_view subtype_name(BlockSubtype s) noexcept;
/// "add", "remove", "bus-add", "bus-remove", "reset", "error".
WATCHQUEUE_API std::string_view subtype_name(UsbSubtype s) noexcept;
/// "readonly", "error", "quota", "wb-error", "no-space".
WATCHQUEUE_API std::string_view subtype_name(SuperblockSubtype s) noexcept;
/// "new", "unmount", "readonly", "attr", "move-from", "move-to".
WATCHQUEUE_API std::string_view subtype_name(MountSubtype s) noexcept;
/// "meta", "key", "block", "usb", "fs" (superblock), "mount".
WATCHQUEUE_API std::string_view type_name(Type type) noexcept;
/// type_name() of a raw type number.
inline std::string_view type_name(std::uint32_t type) noexcept {
    return type_name(static_cast<Type>(type));
}
/// @}

} // namespace v0
} // namespace watchqueue
