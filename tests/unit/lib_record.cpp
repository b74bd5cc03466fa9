// SPDX-License-Identifier: GPL-2.0-or-later
// libwatchqueue: decoding of single records and their framing checks.
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "lib_fake.hpp"
#include "wq_catch.hpp"

namespace wq = watchqueue;
using libtest::make_record;

namespace {

std::span<const std::byte> span_of(const std::vector<std::byte>& v) {
    return {v.data(), v.size()};
}

template <class T>
std::vector<std::byte> bytes_of(const T& value) {
    std::vector<std::byte> out(sizeof(T));
    std::memcpy(out.data(), &value, sizeof(T));
    return out;
}

wq::record_errc error_of(const std::vector<std::byte>& buf) {
    std::error_code ec;
    auto rec = wq::decode_record(span_of(buf), ec);
    CHECK_FALSE(rec);
    REQUIRE(ec.category() == wq::record_category());
    return static_cast<wq::record_errc>(ec.value());
}

} // namespace

TEST_CASE("key records decode with subtype, key and aux") {
    const auto buf = libtest::key_record(wq::KeySubtype::linked, 1234, 5678, 7);
    const wq::Record rec = wq::decode_record(span_of(buf));
    CHECK(rec.type == wq::Type::key);
    CHECK(rec.watch_id() == 7);
    CHECK(rec.length() == 16);
    CHECK(rec.bytes.size() == 16);
    const auto key = wq::as_key(rec).value();
    CHECK(key.subtype == wq::KeySubtype::linked);
    CHECK(key.key == 1234);
    CHECK(key.aux == 5678);
    CHECK(wq::subtype_name(key.subtype) == "link");
}

TEST_CASE("the type is a Type that holds any 24-bit value") {
    STATIC_REQUIRE(std::is_same_v<decltype(wq::Record::type), wq::Type>);
    STATIC_REQUIRE(std::is_same_v<std::underlying_type_t<wq::Type>, std::uint32_t>);
    const auto buf = make_record(0xffffff, 0, 0);
    const wq::Record rec = wq::decode_record(span_of(buf));
    CHECK(rec.raw_type() == 0xffffff);
    CHECK(wq::type_name(wq::Type::meta) == "meta");
    CHECK(wq::type_name(wq::Type::superblock) == "fs");
    CHECK(wq::type_name(wq::Type::mount) == "mount");
    CHECK(wq::type_name(std::uint32_t{WQ_TYPE_BLOCK}) == "block"); // raw numbers too
}

TEST_CASE("meta records: loss with count, removal with and without id") {
    const auto loss = libtest::loss_record(99);
    const auto loss_rec = wq::decode_record(span_of(loss));
    CHECK(wq::as_loss(loss_rec).value().count == 99U);

    const auto pipe_loss = make_record(WQ_TYPE_META, WQ_META_LOSS, 0);
    const auto pipe_loss_rec = wq::decode_record(span_of(pipe_loss));
    CHECK_FALSE(wq::as_loss(pipe_loss_rec).value().count);

    const auto removal = make_record(WQ_TYPE_META, WQ_META_REMOVAL, 3, bytes_of(std::uint64_t{42}));
    const auto rec = wq::decode_record(span_of(removal));
    CHECK(rec.watch_id() == 3);
    CHECK(wq::as_removal(rec).value().id == 42U);

    const auto short_removal = make_record(WQ_TYPE_META, WQ_META_REMOVAL, 4);
    const auto short_rec = wq::decode_record(span_of(short_removal));
    CHECK_FALSE(wq::as_removal(short_rec).value().id);
}

TEST_CASE("block records decode dev and sector") {
    wq_block_notification n{};
    n.dev = 0x800010;
    n.sector = 123456789;
    auto buf = bytes_of(n);
    wq_notification hdr{};
    hdr.type = WQ_TYPE_BLOCK;
    hdr.subtype = WQ_BLOCK_ERROR_CRITICAL_MEDIUM;
    hdr.info = sizeof(n);
    std::memcpy(buf.data(), &hdr, sizeof(hdr));
    const auto rec = wq::decode_record(span_of(buf));
    const auto ev = wq::as_block(rec).value();
    CHECK(ev.subtype == wq::BlockSubtype::critical_medium);
    CHECK(ev.dev == 0x800010);
    CHECK(ev.sector == 123456789);
    CHECK(wq::subtype_name(ev.subtype) == "medium");
}

TEST_CASE("USB records carry their name; a name past the record is an error") {
    std::vector<std::byte> payload(4 + 4 + 1);
    const std::int32_t err = -71;
    std::memcpy(payload.data(), &err, sizeof(err));
    const std::string name = "1-1.2";
    payload[8] = static_cast<std::byte>(name.size());
    for (const char c : name) {
        payload.push_back(static_cast<std::byte>(c));
    }
    const auto buf = make_record(WQ_TYPE_USB, WQ_USB_DEVICE_RESET, 0, payload);
    CHECK(buf.size() == 24);
    const auto rec = wq::decode_record(span_of(buf));
    const auto ev = wq::as_usb(rec).value();
    CHECK(ev.subtype == wq::UsbSubtype::device_reset);
    CHECK(ev.error == -71);
    CHECK(ev.name == "1-1.2");

    auto bad = buf;
    bad[16] = std::byte{40}; // name_len beyond the 24-byte record
    CHECK(error_of(bad) == wq::record_errc::truncated);
}

TEST_CASE("unknown types and subtypes pass through raw") {
    const auto buf = make_record(0x7e57, 9, 1, std::vector<std::byte>(24, std::byte{0xab}));
    const auto rec = wq::decode_record(span_of(buf));
    CHECK(libtest::is_raw(rec));
    CHECK(rec.raw_type() == 0x7e57);
    CHECK(rec.type == static_cast<wq::Type>(0x7e57)); // kept, though not an enumerator
    CHECK(wq::type_name(rec.type) == "?");
    CHECK(rec.subtype == 9);
    CHECK(rec.payload().size() == 24);
    CHECK(rec.payload()[0] == std::byte{0xab});

    const auto odd_key = make_record(WQ_TYPE_KEY, 200, 0, std::vector<std::byte>(8));
    const auto odd_rec = wq::decode_record(span_of(odd_key));
    CHECK(libtest::is_raw(odd_rec));
}

TEST_CASE("malformed records are errors, never out-of-bounds reads") {
    CHECK(error_of(libtest::raw_header(WQ_TYPE_KEY, 0, 16)) == wq::record_errc::too_short);
    CHECK(error_of(libtest::raw_header(WQ_TYPE_KEY, 4, 16)) == wq::record_errc::too_short);
    CHECK(error_of(libtest::raw_header(0x99, 12, 16)) == wq::record_errc::unaligned);
    CHECK(error_of(libtest::raw_header(0x99, 24, 16)) == wq::record_errc::past_end);
    CHECK(error_of(libtest::raw_header(WQ_TYPE_KEY, 8, 8)) == wq::record_errc::truncated);
    CHECK(error_of(libtest::raw_header(WQ_TYPE_BLOCK, 16, 16)) == wq::record_errc::truncated);
    CHECK(error_of(libtest::raw_header(WQ_TYPE_USB, 8, 8)) == wq::record_errc::truncated);
    // fewer than 8 bytes left for a header
    CHECK(error_of(std::vector<std::byte>(4)) == wq::record_errc::past_end);

    const auto bad = libtest::raw_header(WQ_TYPE_KEY, 4, 16);
    try {
        (void)wq::decode_record(span_of(bad));
        FAIL("no exception");
    } catch (const wq::error& e) {
        CHECK(e.code() == wq::record_errc::too_short);
        CHECK(e.code() == std::errc::bad_message);
        CHECK(std::string(e.what()).find("decoding a record") != std::string::npos);
    }
}

TEST_CASE("Records walks a read() buffer and stops at a malformed record") {
    auto buf = libtest::key_record(wq::KeySubtype::updated, 1, 0);
    const auto loss = libtest::loss_record(3);
    buf.insert(buf.end(), loss.begin(), loss.end());
    const auto bad = libtest::raw_header(WQ_TYPE_KEY, 9, 16);
    buf.insert(buf.end(), bad.begin(), bad.end());

    wq::Records records(span_of(buf));
    std::error_code ec;
    CHECK(records.next(ec));
    CHECK(records.next(ec));
    CHECK(records.consumed() == 32);
    CHECK_FALSE(records.next(ec));
    CHECK(ec == wq::record_errc::unaligned);
    CHECK_FALSE(records.next(ec)); // stays stopped
    CHECK(records.consumed() == 32);

    wq::Records again(span_of(buf));
    int seen = 0;
    CHECK_THROWS_AS(
        [&] {
            for ([[maybe_unused]] const wq::Record& rec : again) {
                ++seen;
            }
        }(),
        wq::error);
    CHECK(seen == 2);
}

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// What visit() passed: the event type's name.
std::string visited(const wq::Record& rec) {
    return wq::visit(Overloaded{
                         [](const wq::LossEvent&) { return std::string("loss"); },
                         [](const wq::RemovalEvent&) { return std::string("removal"); },
                         [](const wq::KeyEvent&) { return std::string("key"); },
                         [](const wq::BlockEvent&) { return std::string("block"); },
                         [](const wq::UsbEvent&) { return std::string("usb"); },
                         [](const wq::SuperblockEvent&) { return std::string("fs"); },
                         [](const wq::MountEvent&) { return std::string("mount"); },
                         [](const wq::RawEvent&) { return std::string("raw"); },
                     },
                     rec);
}

} // namespace

TEST_CASE("visit() passes each record's event as its own type, anything else as raw") {
    wq_block_notification block{};
    block.watch.type = WQ_TYPE_BLOCK;
    block.watch.subtype = WQ_BLOCK_ERROR_IO;
    block.watch.info = sizeof(block);
    std::vector<std::byte> usb_payload(16);
    usb_payload[4 + 4] = std::byte{1}; // name_len
    const std::vector<std::pair<std::vector<std::byte>, std::string>> cases = {
        {libtest::loss_record(1), "loss"},
        {make_record(WQ_TYPE_META, WQ_META_REMOVAL, 0), "removal"},
        {make_record(WQ_TYPE_META, 7, 0), "raw"}, // an unknown meta record
        {libtest::key_record(wq::KeySubtype::updated, 1, 0), "key"},
        {bytes_of(block), "block"},
        {make_record(WQ_TYPE_USB, WQ_USB_DEVICE_ADD, 0, usb_payload), "usb"},
        {libtest::sb_record(wq::SuperblockSubtype::readonly, 1), "fs"},
        {libtest::mount_record(wq::MountSubtype::unmount, 1, 2), "mount"},
        {make_record(0x7e57, 0, 0), "raw"},
        {make_record(WQ_TYPE_KEY, 99, 0, std::vector<std::byte>(8)), "raw"},
    };
    for (const auto& [buf, want] : cases) {
        CHECK(visited(wq::decode_record(span_of(buf))) == want);
    }
    // the callable's result comes back; void works too
    int calls = 0;
    wq::visit([&](const auto&) { ++calls; }, wq::decode_record(span_of(cases[0].first)));
    CHECK(calls == 1);
}

TEST_CASE("as_*() decode only their own type, and never past the record's bytes") {
    const auto buf = libtest::key_record(wq::KeySubtype::revoked, 5, 0);
    const wq::Record rec = wq::decode_record(span_of(buf));
    CHECK(wq::as_key(rec));
    CHECK_FALSE(wq::as_loss(rec));
    CHECK_FALSE(wq::as_removal(rec));
    CHECK_FALSE(wq::as_block(rec));
    CHECK_FALSE(wq::as_usb(rec));
    CHECK_FALSE(wq::as_superblock(rec));
    CHECK_FALSE(wq::as_mount(rec));

    // A hand-made Record whose bytes are too short for its type: nullopt,
    // where decode_record() would have refused it as truncated.
    wq::Record cut = rec;
    cut.bytes = cut.bytes.first(8);
    CHECK_FALSE(wq::as_key(cut));
    CHECK(libtest::is_raw(cut));
    for (const wq::Type t :
         {wq::Type::block, wq::Type::usb, wq::Type::superblock, wq::Type::mount}) {
        wq::Record other = cut;
        other.type = t;
        CHECK(libtest::is_raw(other));
    }
}

TEST_CASE("a Record holds its header and a view of its bytes, nothing decoded") {
    // Its layout does not depend on the event types: adding one leaves it be.
    STATIC_REQUIRE(sizeof(wq::Record) ==
                   3 * sizeof(std::uint32_t) + sizeof(std::span<const std::byte>) +
                       (alignof(std::span<const std::byte>) -
                        3 * sizeof(std::uint32_t) % alignof(std::span<const std::byte>)) %
                           alignof(std::span<const std::byte>));
    STATIC_REQUIRE(std::is_trivially_copyable_v<wq::Record>);
}
