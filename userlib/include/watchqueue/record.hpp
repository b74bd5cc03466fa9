// SPDX-License-Identifier: LGPL-2.1-or-later
// Typed records.  A Record is a view of one record in place (in the mapped
// ring or a read() buffer): its header, its bytes and the decoded event.
// Views into the ring (bytes, UsbEvent::name) stay valid until the batch
// that produced them is committed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <variant>

namespace watchqueue {

// Record types (the ABI's WQ_TYPE_*).
enum class Type : std::uint32_t {
    meta = 0,
    key = 1,
    block = 2,
    usb = 3,
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

// Records were dropped: count is how many since the previous loss record
// (absent on upstream notification pipes, whose loss record has no count).
struct LossEvent {
    std::optional<std::uint64_t> count;
};

// A watch ended (object destroyed or watch removed); the watch is the
// record's watch_id(); id is the object's (key serial, disk dev_t) if any.
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

// A record of a type or subtype this library does not decode.
struct RawEvent {};

using Event = std::variant<LossEvent, RemovalEvent, KeyEvent, BlockEvent, UsbEvent, RawEvent>;

inline constexpr std::size_t header_size = 8;
inline constexpr std::size_t record_max = 120;

struct Record {
    std::uint32_t type = 0;    // 24 bits
    std::uint32_t subtype = 0; // 8 bits
    std::uint32_t info = 0;
    std::span<const std::byte> bytes; // the whole record, header included
    Event event;

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
std::optional<Record> decode_record(std::span<const std::byte> buf, std::error_code& ec) noexcept;
Record decode_record(std::span<const std::byte> buf);

// Short names: "inst", "upd", "link", "unlk", "clr", "rev", "inv", "attr"
// for keys (keyctl watch's words), "medium", "io", ... for block, "add",
// "remove", "bus-add", "bus-remove", "reset", "error" for USB; "?" if unknown.
std::string_view subtype_name(KeySubtype s) noexcept;
std::string_view subtype_name(BlockSubtype s) noexcept;
std::string_view subtype_name(UsbSubtype s) noexcept;
std::string_view type_name(std::uint32_t type) noexcept; // "meta", "key", ..., "?"

} // namespace watchqueue
