// SPDX-License-Identifier: LGPL-2.1-or-later
// Typed records.  A Record is a view of one record in place (in the mapped
// ring or a read() buffer): its header fields and its bytes.  Its event is
// decoded on request, by as_key(), as_block(), ... or visit().  Views into
// the ring (bytes, UsbEvent::name) stay valid until the batch that produced
// them is committed.
//
// ABI: how a new record type is added without breaking programs built
// against an older libwatchqueue (README, "ABI policy").
//  * Record's layout is fixed: the header's fields and a span of bytes.
//    It holds no decoded event, so a new type changes nothing in it.
//  * Each event type has its own struct and its own decoding function
//    exported by the library (as_key(), ...).  A new type is a new struct
//    and a new as_*() function: symbols are only added, and a program
//    built before sees the new records as they were, as records of a type
//    it does not know (RawEvent in visit()).
//  * visit() is a template compiled into the caller: it dispatches on the
//    types the caller's header knew.
//  * An event struct, Record and the other types of the public headers
//    never change within one soname.  If one must change, the inline
//    namespace (v0, as the soname libwatchqueue.so.0) and the soname are
//    bumped together, so that an old program fails to link rather than
//    misreading memory.
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

// Record types (the ABI's WQ_TYPE_*).  A Type may hold any 24-bit value,
// not only these: records of types this library does not know keep theirs.
enum class Type : std::uint32_t {
    meta = 0,
    key = 1,
    block = 2,
    usb = 3,
    superblock = 4,
    mount = 5,
};

enum class KeySubtype : std::uint8_t {
    instantiated = 0, // aux: 0 or -error
    updated = 1,
    linked = 2,   // key_id: keyring, aux: linked key
    unlinked = 3, // key_id: keyring, aux: unlinked key
    cleared = 4,
    revoked = 5,
    invalidated = 6,
    setattr = 7,
};

enum class BlockSubtype : std::uint8_t {
    timeout = 1,
    no_space = 2,
    recoverable_transport = 3,
    critical_target = 4,
    critical_nexus = 5,
    critical_medium = 6,
    protection = 7,
    kernel_resource = 8,
    device_resource = 9,
    io = 10,
};

enum class UsbSubtype : std::uint8_t {
    device_add = 0,
    device_remove = 1,
    bus_add = 2,
    bus_remove = 3,
    device_reset = 4,
    device_error = 5,
};

enum class SuperblockSubtype : std::uint8_t {
    readonly = 0,        // turned read-only or back to read-write
    error = 1,           // the filesystem reported an error
    edquot = 2,          // a quota limit was reached
    writeback_error = 4, // a write-back error was recorded (what fsync() returns)
    enospc = 5,          // an allocation failed for lack of space
};

enum class MountSubtype : std::uint8_t {
    new_mount = 0, // attached
    unmount = 1,   // detached
    readonly = 3,  // turned read-only or back to read-write
    setattr = 4,   // other per-mount attributes changed
    move_from = 5, // moved away from the watched place
    move_to = 6,   // moved to the watched place
};

// Type-specific bits of Record::info (the ABI's WQ_SB_* and WQ_MOUNT_*
// flags), e.g. for an InfoMatch; the events below decode them.
namespace info_flag {
inline constexpr std::uint32_t sb_is_now_ro = 0x10000U;
inline constexpr std::uint32_t sb_emergency = 0x20000U;
inline constexpr std::uint32_t mount_in_subtree = 0x10000U;
inline constexpr std::uint32_t mount_is_now_ro = 0x20000U;
} // namespace info_flag

// Records were dropped: count is how many since the previous loss record
// (absent on upstream notification pipes, whose loss record has no count).
struct LossEvent {
    std::optional<std::uint64_t> count;
};

// A watch ended (object destroyed or watch removed); the watch is the
// record's watch_id(); id is the object's (key serial, disk dev_t, a
// filesystem's sb_id) if any.
struct RemovalEvent {
    std::optional<std::uint64_t> id;
};

struct KeyEvent {
    KeySubtype subtype{};
    std::int32_t key = 0; // key serial (the keyring for linked/unlinked)
    std::uint32_t aux = 0;
};

struct BlockEvent {
    BlockSubtype subtype{};
    std::uint64_t dev = 0;    // whole disk, st_rdev encoding
    std::uint64_t sector = 0; // first failing 512-byte sector
};

struct UsbEvent {
    UsbSubtype subtype{};
    std::int32_t error = 0; // errno, or 0
    std::string_view name;  // "1-1.2", "usb1"; a view into the record
};

// One filesystem (superblock).  sb_id is st_dev of every file on it and
// makedev() of the "major:minor" field of /proc/self/mountinfo.
struct SuperblockEvent {
    SuperblockSubtype subtype{};
    std::uint64_t sb_id = 0;
    std::int32_t error = 0; // positive errno; 0 for readonly
    std::uint32_t aux = 0;  // edquot: the QUOTA_NL_* warning
    std::uint64_t ino = 0;  // inode number or 0; edquot: the quota's id (watcher's userns)
    bool is_now_ro = false; // readonly: now read-only (else read-write)
    bool emergency = false; // readonly: forced by the filesystem after errors
};

// Mounts are named by mountinfo's first field (statx's stx_mnt_id).
struct MountEvent {
    MountSubtype subtype{};
    std::uint64_t mount_id = 0;  // the mount changed (the ABI's auxiliary_mount)
    std::uint64_t parent_id = 0; // its parent; move_from: the old one (triggered_on)
    bool in_subtree = false;     // below the watched directory, not at it
    bool is_now_ro = false;      // new_mount, readonly: the mount is now read-only
};

// What visit() passes for a record of a type or subtype the caller's
// header does not decode: the Record has its type, subtype and bytes.
struct RawEvent {};

inline constexpr std::size_t header_size = 8;
inline constexpr std::size_t record_max = 120;

struct Record {
    Type type{};               // 24 bits; possibly none of the enumerators
    std::uint32_t subtype = 0; // 8 bits
    std::uint32_t info = 0;
    std::span<const std::byte> bytes; // the whole record, header included

    // The type as a number, for types this library has no name for.
    [[nodiscard]] std::uint32_t raw_type() const noexcept {
        return static_cast<std::uint32_t>(type);
    }
    [[nodiscard]] std::size_t length() const noexcept { return info & 0x7fU; }
    [[nodiscard]] unsigned watch_id() const noexcept { return (info >> 8) & 0xffU; }
    [[nodiscard]] unsigned type_info() const noexcept { return info >> 16; }
    // The bytes after the 8-byte header.
    [[nodiscard]] std::span<const std::byte> payload() const noexcept {
        return bytes.subspan(header_size);
    }
};

// Decodes the record at the start of @buf (the bytes up to the head or the
// end of a read() buffer).  Never reads outside @buf: a malformed record
// (length < 8, not a multiple of 8, past the end of @buf, shorter than its
// type's struct) gives a record_errc.
WATCHQUEUE_API std::optional<Record> decode_record(std::span<const std::byte> buf,
                                                   std::error_code& ec) noexcept;
WATCHQUEUE_API Record decode_record(std::span<const std::byte> buf);

// The record's event, if it is a record of that type and of a subtype the
// library knows (nullopt otherwise).  Each reads only rec.bytes: a Record
// from decode_record() (or a batch, or read()) always decodes; a shorter
// hand-made one gives nullopt.
WATCHQUEUE_API std::optional<LossEvent> as_loss(const Record& rec) noexcept;
WATCHQUEUE_API std::optional<RemovalEvent> as_removal(const Record& rec) noexcept;
WATCHQUEUE_API std::optional<KeyEvent> as_key(const Record& rec) noexcept;
WATCHQUEUE_API std::optional<BlockEvent> as_block(const Record& rec) noexcept;
WATCHQUEUE_API std::optional<UsbEvent> as_usb(const Record& rec) noexcept;
WATCHQUEUE_API std::optional<SuperblockEvent> as_superblock(const Record& rec) noexcept;
WATCHQUEUE_API std::optional<MountEvent> as_mount(const Record& rec) noexcept;

// Calls @f with the record's event: a LossEvent, RemovalEvent, KeyEvent,
// BlockEvent, UsbEvent, SuperblockEvent or MountEvent (as a const lvalue),
// or a RawEvent for anything else.  As std::visit, every call of @f must
// return the same type, which visit() returns.
//     wq::visit(Overloaded{[](const wq::KeyEvent& ev) { ... },
//                          [](const auto&) { ... }}, rec);
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

// Short names: "inst", "upd", "link", "unlk", "clr", "rev", "inv", "attr"
// for keys (keyctl watch's words), "medium", "io", ... for block, "add",
// "remove", "bus-add", "bus-remove", "reset", "error" for USB, "readonly",
// "error", "quota", "wb-error", "no-space" for filesystems, "new",
// "unmount", "readonly", "attr", "move-from", "move-to" for mounts; "?" if
// unknown.
WATCHQUEUE_API std::string_view subtype_name(KeySubtype s) noexcept;
WATCHQUEUE_API std::string_view subtype_name(BlockSubtype s) noexcept;
WATCHQUEUE_API std::string_view subtype_name(UsbSubtype s) noexcept;
WATCHQUEUE_API std::string_view subtype_name(SuperblockSubtype s) noexcept;
WATCHQUEUE_API std::string_view subtype_name(MountSubtype s) noexcept;
// "meta", "key", "block", "usb", "fs" (superblock), "mount"; "?" if unknown.
WATCHQUEUE_API std::string_view type_name(Type type) noexcept;
inline std::string_view type_name(std::uint32_t type) noexcept {
    return type_name(static_cast<Type>(type));
}

} // namespace v0
} // namespace watchqueue
