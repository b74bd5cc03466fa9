// SPDX-License-Identifier: LGPL-2.1-or-later
// Decoding records: framing checks when a record is read (decode_record()),
// then one decoder per event type (as_key(), ...), called by the caller
// when it wants the event.  A new type is a new decoder and as_*()
// function, and a case in complete() if it has a struct (README, "ABI
// policy").
#include "watchqueue/record.hpp"

#include <array>
#include <cstddef>
#include <cstring>

#include "abi.hpp"
#include "watchqueue/error.hpp"

namespace watchqueue {
inline namespace v0 {
namespace {

using Bytes = std::span<const std::byte>;

// The decoders never read outside @rec and give nullopt for a record too
// short for its struct or of a subtype they do not know.

std::optional<KeyEvent> decode_key(unsigned subtype, Bytes rec) noexcept {
    if (rec.size() < sizeof(wq_key_notification) || !abi::known(abi::key_subtypes, subtype)) {
        return std::nullopt;
    }
    const auto n = abi::load<wq_key_notification>(rec);
    return KeyEvent{static_cast<KeySubtype>(subtype), static_cast<std::int32_t>(n.key_id), n.aux};
}

std::optional<BlockEvent> decode_block(unsigned subtype, Bytes rec) noexcept {
    if (rec.size() < sizeof(wq_block_notification) || !abi::known(abi::block_subtypes, subtype)) {
        return std::nullopt;
    }
    const auto n = abi::load<wq_block_notification>(rec);
    return BlockEvent{static_cast<BlockSubtype>(subtype), n.dev, n.sector};
}

constexpr std::size_t usb_name_off = offsetof(wq_usb_notification, name);

// The USB device name's bytes, or nullopt if the record cannot hold it.
std::optional<Bytes> usb_name(Bytes rec) noexcept {
    if (rec.size() < usb_name_off) {
        return std::nullopt;
    }
    const auto name_len =
        std::to_integer<std::size_t>(rec[offsetof(wq_usb_notification, name_len)]);
    if (name_len > WQ_USB_MAX_NAME_LEN || usb_name_off + name_len > rec.size()) {
        return std::nullopt;
    }
    return rec.subspan(usb_name_off, name_len);
}

std::optional<UsbEvent> decode_usb(unsigned subtype, Bytes rec) noexcept {
    const auto name = usb_name(rec);
    if (!name || !abi::known(abi::usb_subtypes, subtype)) {
        return std::nullopt;
    }
    std::int32_t error = 0;
    std::memcpy(&error, rec.data() + offsetof(wq_usb_notification, error), sizeof(error));
    return UsbEvent{static_cast<UsbSubtype>(subtype), error,
                    std::string_view(reinterpret_cast<const char*>(name->data()), name->size())};
}

bool is_sb_error_subtype(unsigned subtype) noexcept {
    return subtype == WQ_SB_ERROR || subtype == WQ_SB_EDQUOT || subtype == WQ_SB_WRITEBACK_ERROR ||
           subtype == WQ_SB_ENOSPC;
}

// The size of the filesystem struct of @subtype: READONLY (and subtypes not
// known here) the 16-byte struct, the others the 32-byte error struct.
std::size_t sb_struct_size(unsigned subtype) noexcept {
    return is_sb_error_subtype(subtype) ? sizeof(wq_superblock_error_notification)
                                        : sizeof(wq_superblock_notification);
}

std::optional<SuperblockEvent> decode_superblock(unsigned subtype, std::uint32_t info,
                                                 Bytes rec) noexcept {
    if (rec.size() < sb_struct_size(subtype) || !abi::known(abi::sb_subtypes, subtype)) {
        return std::nullopt;
    }
    SuperblockEvent ev{};
    ev.subtype = static_cast<SuperblockSubtype>(subtype);
    ev.sb_id = abi::load<wq_superblock_notification>(rec).sb_id;
    ev.is_now_ro = (info & WQ_SB_IS_NOW_RO) != 0;
    ev.emergency = (info & WQ_SB_EMERGENCY) != 0;
    if (subtype != WQ_SB_READONLY) {
        const auto n = abi::load<wq_superblock_error_notification>(rec);
        ev.error = static_cast<std::int32_t>(n.error);
        ev.aux = n.aux;
        ev.ino = n.ino;
    }
    return ev;
}

std::optional<MountEvent> decode_mount(unsigned subtype, std::uint32_t info, Bytes rec) noexcept {
    // 2, the 2020 series' expiry, has no row: the device reports an unmount
    if (rec.size() < sizeof(wq_mount_notification) || !abi::known(abi::mount_subtypes, subtype)) {
        return std::nullopt;
    }
    const auto n = abi::load<wq_mount_notification>(rec);
    return MountEvent{static_cast<MountSubtype>(subtype), n.auxiliary_mount, n.triggered_on,
                      (info & WQ_MOUNT_IN_SUBTREE) != 0, (info & WQ_MOUNT_IS_NOW_RO) != 0};
}

// False if @rec is shorter than the struct its type (and subtype) promise,
// whether or not the subtype is known: a framing error, not a raw record.
// A new type that has a struct is one more case here.
bool complete(std::uint32_t type, unsigned subtype, Bytes rec) noexcept {
    switch (type) {
    case WQ_TYPE_KEY:
        return rec.size() >= sizeof(wq_key_notification);
    case WQ_TYPE_BLOCK:
        return rec.size() >= sizeof(wq_block_notification);
    case WQ_TYPE_USB:
        return usb_name(rec).has_value();
    case WQ_TYPE_SUPERBLOCK:
        return rec.size() >= sb_struct_size(subtype);
    case WQ_TYPE_MOUNT:
        return rec.size() >= sizeof(wq_mount_notification);
    default: // meta records may be short (upstream pipes' loss has no count)
        return true;
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
    if (!complete(hdr.type, hdr.subtype, rec)) {
        ec = record_errc::truncated;
        return std::nullopt;
    }
    return Record{static_cast<Type>(hdr.type), hdr.subtype, hdr.info, rec};
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

std::optional<LossEvent> as_loss(const Record& rec) noexcept {
    if (rec.type != Type::meta || rec.subtype != WQ_META_LOSS) {
        return std::nullopt;
    }
    // upstream pipes: 8 bytes, no count; the device: 16 bytes
    if (rec.bytes.size() >= sizeof(wq_loss_notification)) {
        return LossEvent{abi::load<wq_loss_notification>(rec.bytes).count};
    }
    return LossEvent{};
}

std::optional<RemovalEvent> as_removal(const Record& rec) noexcept {
    if (rec.type != Type::meta || rec.subtype != WQ_META_REMOVAL) {
        return std::nullopt;
    }
    if (rec.bytes.size() >= sizeof(wq_removal_notification)) {
        return RemovalEvent{abi::load<wq_removal_notification>(rec.bytes).id};
    }
    return RemovalEvent{};
}

std::optional<KeyEvent> as_key(const Record& rec) noexcept {
    return rec.type == Type::key ? decode_key(rec.subtype, rec.bytes) : std::nullopt;
}

std::optional<BlockEvent> as_block(const Record& rec) noexcept {
    return rec.type == Type::block ? decode_block(rec.subtype, rec.bytes) : std::nullopt;
}

std::optional<UsbEvent> as_usb(const Record& rec) noexcept {
    return rec.type == Type::usb ? decode_usb(rec.subtype, rec.bytes) : std::nullopt;
}

std::optional<SuperblockEvent> as_superblock(const Record& rec) noexcept {
    return rec.type == Type::superblock ? decode_superblock(rec.subtype, rec.info, rec.bytes)
                                        : std::nullopt;
}

std::optional<MountEvent> as_mount(const Record& rec) noexcept {
    return rec.type == Type::mount ? decode_mount(rec.subtype, rec.info, rec.bytes) : std::nullopt;
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

} // namespace v0
} // namespace watchqueue
