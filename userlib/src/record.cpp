// SPDX-License-Identifier: LGPL-2.1-or-later
// Decoding one record: framing checks first, then one decoder per type.
// A new type is one more decoder in decode_event().
#include "watchqueue/record.hpp"

#include <array>
#include <cstddef>

#include "abi.hpp"
#include "watchqueue/error.hpp"

namespace watchqueue {
namespace {

using Bytes = std::span<const std::byte>;

std::optional<Event> decode_meta(unsigned subtype, Bytes rec) noexcept {
    switch (subtype) {
    case WQ_META_LOSS:
        // upstream pipes: 8 bytes, no count; the device: 16 bytes
        if (rec.size() >= sizeof(wq_loss_notification)) {
            return LossEvent{abi::load<wq_loss_notification>(rec).count};
        }
        return LossEvent{};
    case WQ_META_REMOVAL:
        if (rec.size() >= sizeof(wq_removal_notification)) {
            return RemovalEvent{abi::load<wq_removal_notification>(rec).id};
        }
        return RemovalEvent{};
    default:
        return RawEvent{};
    }
}

std::optional<Event> decode_key(unsigned subtype, Bytes rec) noexcept {
    if (rec.size() < sizeof(wq_key_notification)) {
        return std::nullopt;
    }
    if (subtype > WQ_KEY_SETATTR) {
        return RawEvent{};
    }
    const auto n = abi::load<wq_key_notification>(rec);
    return KeyEvent{static_cast<KeySubtype>(subtype), static_cast<std::int32_t>(n.key_id), n.aux};
}

std::optional<Event> decode_block(unsigned subtype, Bytes rec) noexcept {
    if (rec.size() < sizeof(wq_block_notification)) {
        return std::nullopt;
    }
    if (subtype < WQ_BLOCK_ERROR_TIMEOUT || subtype > WQ_BLOCK_ERROR_IO) {
        return RawEvent{};
    }
    const auto n = abi::load<wq_block_notification>(rec);
    return BlockEvent{static_cast<BlockSubtype>(subtype), n.dev, n.sector};
}

std::optional<Event> decode_usb(unsigned subtype, Bytes rec) noexcept {
    constexpr std::size_t name_off = offsetof(wq_usb_notification, name);
    if (rec.size() < name_off) {
        return std::nullopt;
    }
    const auto name_len =
        std::to_integer<std::size_t>(rec[offsetof(wq_usb_notification, name_len)]);
    if (name_len > WQ_USB_MAX_NAME_LEN || name_off + name_len > rec.size()) {
        return std::nullopt;
    }
    if (subtype > WQ_USB_DEVICE_ERROR) {
        return RawEvent{};
    }
    std::int32_t error = 0;
    std::memcpy(&error, rec.data() + offsetof(wq_usb_notification, error), sizeof(error));
    const auto name = rec.subspan(name_off, name_len);
    return UsbEvent{static_cast<UsbSubtype>(subtype), error,
                    std::string_view(reinterpret_cast<const char*>(name.data()), name.size())};
}

bool is_sb_error_subtype(unsigned subtype) noexcept {
    return subtype == WQ_SB_ERROR || subtype == WQ_SB_EDQUOT || subtype == WQ_SB_WRITEBACK_ERROR ||
           subtype == WQ_SB_ENOSPC;
}

// READONLY is the 16-byte struct, the others the 32-byte error struct.
std::optional<Event> decode_superblock(unsigned subtype, std::uint32_t info, Bytes rec) noexcept {
    if (rec.size() < sizeof(wq_superblock_notification)) {
        return std::nullopt;
    }
    SuperblockEvent ev{};
    ev.subtype = static_cast<SuperblockSubtype>(subtype);
    ev.sb_id = abi::load<wq_superblock_notification>(rec).sb_id;
    ev.is_now_ro = (info & WQ_SB_IS_NOW_RO) != 0;
    ev.emergency = (info & WQ_SB_EMERGENCY) != 0;
    if (subtype == WQ_SB_READONLY) {
        return ev;
    }
    if (!is_sb_error_subtype(subtype)) {
        return RawEvent{};
    }
    if (rec.size() < sizeof(wq_superblock_error_notification)) {
        return std::nullopt;
    }
    const auto n = abi::load<wq_superblock_error_notification>(rec);
    ev.error = static_cast<std::int32_t>(n.error);
    ev.aux = n.aux;
    ev.ino = n.ino;
    return ev;
}

std::optional<Event> decode_mount(unsigned subtype, std::uint32_t info, Bytes rec) noexcept {
    if (rec.size() < sizeof(wq_mount_notification)) {
        return std::nullopt;
    }
    // 2 is the 2020 series' expiry, which the device reports as an unmount
    if (subtype > WQ_MOUNT_MOVE_TO || subtype == 2) {
        return RawEvent{};
    }
    const auto n = abi::load<wq_mount_notification>(rec);
    return MountEvent{static_cast<MountSubtype>(subtype), n.auxiliary_mount, n.triggered_on,
                      (info & WQ_MOUNT_IN_SUBTREE) != 0, (info & WQ_MOUNT_IS_NOW_RO) != 0};
}

// nullopt: shorter than the type's struct
std::optional<Event> decode_event(unsigned type, unsigned subtype, std::uint32_t info,
                                  Bytes rec) noexcept {
    switch (type) {
    case WQ_TYPE_META:
        return decode_meta(subtype, rec);
    case WQ_TYPE_KEY:
        return decode_key(subtype, rec);
    case WQ_TYPE_BLOCK:
        return decode_block(subtype, rec);
    case WQ_TYPE_USB:
        return decode_usb(subtype, rec);
    case WQ_TYPE_SUPERBLOCK:
        return decode_superblock(subtype, info, rec);
    case WQ_TYPE_MOUNT:
        return decode_mount(subtype, info, rec);
    default:
        return RawEvent{};
    }
}

} // namespace

std::optional<Record> decode_record(Bytes buf, std::error_code& ec) noexcept {
    ec.clear();
    if (buf.empty()) {
        return std::nullopt;
    }
    if (buf.size() < header_size) {
        ec = record_errc::past_end;
        return std::nullopt;
    }
    const auto hdr = abi::load<wq_notification>(buf);
    const std::size_t len = hdr.info & WQ_INFO_LENGTH;
    if (len < header_size) {
        ec = record_errc::too_short;
        return std::nullopt;
    }
    if (len % WQ_RECORD_ALIGN != 0) {
        ec = record_errc::unaligned;
        return std::nullopt;
    }
    if (len > buf.size()) {
        ec = record_errc::past_end;
        return std::nullopt;
    }
    const Bytes rec = buf.first(len);
    auto event = decode_event(hdr.type, hdr.subtype, hdr.info, rec);
    if (!event) {
        ec = record_errc::truncated;
        return std::nullopt;
    }
    return Record{static_cast<Type>(hdr.type), hdr.subtype, hdr.info, rec, *event};
}

Record decode_record(Bytes buf) {
    std::error_code ec;
    auto rec = decode_record(buf, ec);
    if (ec) {
        throw error(ec, "decoding a record");
    }
    if (!rec) {
        throw error(make_error_code(record_errc::past_end), "decoding a record");
    }
    return *rec;
}

std::string_view subtype_name(KeySubtype s) noexcept {
    static constexpr std::array<std::string_view, 8> names = {"inst", "upd", "link", "unlk",
                                                              "clr",  "rev", "inv",  "attr"};
    const auto i = static_cast<std::size_t>(s);
    return i < names.size() ? names.at(i) : "?";
}

std::string_view subtype_name(BlockSubtype s) noexcept {
    static constexpr std::array<std::string_view, 11> names = {
        "?",      "timeout",    "no-space",        "transport",       "target", "nexus",
        "medium", "protection", "kernel-resource", "device-resource", "io"};
    const auto i = static_cast<std::size_t>(s);
    return i < names.size() ? names.at(i) : "?";
}

std::string_view subtype_name(UsbSubtype s) noexcept {
    static constexpr std::array<std::string_view, 6> names = {"add",        "remove", "bus-add",
                                                              "bus-remove", "reset",  "error"};
    const auto i = static_cast<std::size_t>(s);
    return i < names.size() ? names.at(i) : "?";
}

std::string_view subtype_name(SuperblockSubtype s) noexcept {
    static constexpr std::array<std::string_view, 6> names = {"readonly", "error",    "quota",
                                                              "?",        "wb-error", "no-space"};
    const auto i = static_cast<std::size_t>(s);
    return i < names.size() ? names.at(i) : "?";
}

std::string_view subtype_name(MountSubtype s) noexcept {
    static constexpr std::array<std::string_view, 7> names = {
        "new", "unmount", "?", "readonly", "attr", "move-from", "move-to"};
    const auto i = static_cast<std::size_t>(s);
    return i < names.size() ? names.at(i) : "?";
}

std::string_view type_name(Type type) noexcept {
    static constexpr std::array<std::string_view, 6> names = {"meta", "key", "block",
                                                              "usb",  "fs",  "mount"};
    const auto i = static_cast<std::size_t>(type);
    return i < names.size() ? names.at(i) : "?";
}

} // namespace watchqueue
