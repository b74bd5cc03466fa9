// SPDX-License-Identifier: GPL-2.0-or-later
// libwatchqueue: filesystem (superblock) and mount records, their names,
// flags and length checks, and filters on them.
#include <cerrno>
#include <cstring>

#include <sys/sysmacros.h>

#include "lib_fake.hpp"
#include "wq_catch.hpp"

namespace wq = watchqueue;
using SB = wq::SuperblockSubtype;
using MS = wq::MountSubtype;

namespace {

std::span<const std::byte> span_of(const std::vector<std::byte>& v) {
    return {v.data(), v.size()};
}

wq::record_errc error_of(const std::vector<std::byte>& buf) {
    std::error_code ec;
    auto rec = wq::decode_record(span_of(buf), ec);
    CHECK_FALSE(rec);
    REQUIRE(ec.category() == wq::record_category());
    return static_cast<wq::record_errc>(ec.value());
}

wq::SuperblockEvent sb_of(const std::vector<std::byte>& buf) {
    return wq::as_superblock(wq::decode_record(span_of(buf))).value();
}

wq::MountEvent mount_of(const std::vector<std::byte>& buf) {
    return wq::as_mount(wq::decode_record(span_of(buf))).value();
}

// Sets the record's length field (and only that) to @len.
std::vector<std::byte> with_length(std::vector<std::byte> buf, std::uint32_t len) {
    wq_notification hdr{};
    std::memcpy(&hdr, buf.data(), sizeof(hdr));
    hdr.info = (hdr.info & ~WQ_INFO_LENGTH) | len;
    std::memcpy(buf.data(), &hdr, sizeof(hdr));
    buf.resize(len);
    return buf;
}

} // namespace

TEST_CASE("type names of filesystem and mount records") {
    CHECK(wq::type_name(WQ_TYPE_SUPERBLOCK) == "fs");
    CHECK(wq::type_name(WQ_TYPE_MOUNT) == "mount");
    CHECK(wq::type_name(6) == "?");
}

TEST_CASE("read-only transitions of a filesystem: 16 bytes, flags from info") {
    const std::uint64_t dev = makedev(259, 3);
    const auto buf = libtest::sb_record(SB::readonly, dev, WQ_SB_IS_NOW_RO, 4);
    REQUIRE(buf.size() == 16);
    const wq::Record rec = wq::decode_record(span_of(buf));
    CHECK(rec.type == wq::Type::superblock);
    CHECK(rec.watch_id() == 4);
    const auto ro = wq::as_superblock(rec).value();
    CHECK(ro.subtype == SB::readonly);
    CHECK(ro.sb_id == dev);
    CHECK(ro.is_now_ro);
    CHECK_FALSE(ro.emergency);
    CHECK(ro.error == 0);
    CHECK(ro.ino == 0);

    const auto emergency =
        sb_of(libtest::sb_record(SB::readonly, dev, WQ_SB_IS_NOW_RO | WQ_SB_EMERGENCY));
    CHECK(emergency.is_now_ro);
    CHECK(emergency.emergency);

    const auto rw = sb_of(libtest::sb_record(SB::readonly, dev));
    CHECK_FALSE(rw.is_now_ro);
    CHECK_FALSE(rw.emergency);
    CHECK(wq::subtype_name(SB::readonly) == "readonly");
}

TEST_CASE("filesystem error records: errno, aux and inode of every subtype") {
    const std::uint64_t dev = makedev(8, 1);
    const auto wb = sb_of(libtest::sb_error_record(SB::writeback_error, dev, EIO, 0, 131074));
    CHECK(wb.subtype == SB::writeback_error);
    CHECK(wb.sb_id == dev);
    CHECK(wb.error == EIO);
    CHECK(wb.ino == 131074);
    CHECK(wq::subtype_name(wb.subtype) == "wb-error");

    const auto fs = sb_of(libtest::sb_error_record(SB::error, dev, EUCLEAN, 0, 12));
    CHECK(fs.subtype == SB::error);
    CHECK(fs.error == EUCLEAN);
    CHECK(fs.ino == 12);
    CHECK(wq::subtype_name(fs.subtype) == "error");

    const auto space = sb_of(libtest::sb_error_record(SB::enospc, dev, ENOSPC, 0, 0));
    CHECK(space.subtype == SB::enospc);
    CHECK(space.error == ENOSPC);
    CHECK(wq::subtype_name(space.subtype) == "no-space");

    const auto quota = sb_of(libtest::sb_error_record(SB::edquot, dev, EDQUOT, 4, 1000));
    CHECK(quota.subtype == SB::edquot);
    CHECK(quota.error == EDQUOT);
    CHECK(quota.aux == 4); // QUOTA_NL_BHARDWARN
    CHECK(quota.ino == 1000);
    CHECK(wq::subtype_name(quota.subtype) == "quota");
}

TEST_CASE("a longer filesystem record than the struct still decodes (the ABI may grow)") {
    auto buf = libtest::sb_error_record(SB::writeback_error, 7, EIO, 0, 99);
    buf.resize(40);
    buf = with_length(buf, 40);
    const auto ev = sb_of(buf);
    CHECK(ev.error == EIO);
    CHECK(ev.ino == 99);
}

TEST_CASE("short filesystem records are rejected") {
    // header only
    CHECK(error_of(libtest::raw_header(WQ_TYPE_SUPERBLOCK, 8, 8)) == wq::record_errc::truncated);
    // an error subtype in the 16-byte read-only struct
    for (const SB s : {SB::error, SB::edquot, SB::writeback_error, SB::enospc}) {
        const auto buf = with_length(libtest::sb_error_record(s, 1, EIO, 0, 1), 16);
        CHECK(error_of(buf) == wq::record_errc::truncated);
    }
    // a length past the end of the bytes there are
    auto cut = libtest::sb_error_record(SB::writeback_error, 1, EIO, 0, 1);
    cut.resize(24);
    CHECK(error_of(cut) == wq::record_errc::past_end);
    // a length that is not a multiple of 8
    CHECK(error_of(with_length(libtest::sb_record(SB::readonly, 1), 12)) ==
          wq::record_errc::unaligned);
    CHECK_THROWS_AS(wq::decode_record(span_of(libtest::raw_header(WQ_TYPE_SUPERBLOCK, 8, 8))),
                    wq::error);
}

TEST_CASE("unknown filesystem subtypes pass through raw, if they hold an sb_id") {
    const auto three = libtest::make_record(WQ_TYPE_SUPERBLOCK, 3, 0, std::vector<std::byte>(8));
    CHECK(libtest::is_raw(wq::decode_record(span_of(three))));
    const auto high = libtest::make_record(WQ_TYPE_SUPERBLOCK, 200, 0, std::vector<std::byte>(8));
    CHECK(libtest::is_raw(wq::decode_record(span_of(high))));
    CHECK(wq::subtype_name(static_cast<SB>(3)) == "?");
    CHECK(wq::subtype_name(static_cast<SB>(6)) == "?");
}

TEST_CASE("mount records: ids from the ABI's fields, flags from info, every subtype") {
    const auto buf =
        libtest::mount_record(MS::new_mount, 311, 29, WQ_MOUNT_IN_SUBTREE | WQ_MOUNT_IS_NOW_RO, 6);
    REQUIRE(buf.size() == 24);
    const wq::Record rec = wq::decode_record(span_of(buf));
    CHECK(rec.type == wq::Type::mount);
    CHECK(rec.watch_id() == 6);
    const auto ev = wq::as_mount(rec).value();
    CHECK(ev.subtype == MS::new_mount);
    CHECK(ev.mount_id == 311); // auxiliary_mount
    CHECK(ev.parent_id == 29); // triggered_on
    CHECK(ev.in_subtree);
    CHECK(ev.is_now_ro);

    const auto at = mount_of(libtest::mount_record(MS::unmount, 40, 1));
    CHECK(at.subtype == MS::unmount);
    CHECK_FALSE(at.in_subtree);
    CHECK_FALSE(at.is_now_ro);

    const std::array<std::pair<MS, std::string_view>, 6> names = {{
        {MS::new_mount, "new"},
        {MS::unmount, "unmount"},
        {MS::readonly, "readonly"},
        {MS::setattr, "attr"},
        {MS::move_from, "move-from"},
        {MS::move_to, "move-to"},
    }};
    for (const auto& [subtype, name] : names) {
        const auto m = mount_of(libtest::mount_record(subtype, 5, 6, WQ_MOUNT_IN_SUBTREE));
        CHECK(m.subtype == subtype);
        CHECK(m.in_subtree);
        CHECK(wq::subtype_name(subtype) == name);
    }
    const auto ro = mount_of(libtest::mount_record(MS::readonly, 5, 6, WQ_MOUNT_IS_NOW_RO));
    CHECK(ro.is_now_ro);
    CHECK_FALSE(ro.in_subtree);
}

TEST_CASE("short mount records are rejected; unknown subtypes pass raw") {
    CHECK(error_of(libtest::raw_header(WQ_TYPE_MOUNT, 8, 8)) == wq::record_errc::truncated);
    CHECK(error_of(with_length(libtest::mount_record(MS::new_mount, 1, 2), 16)) ==
          wq::record_errc::truncated);
    auto cut = libtest::mount_record(MS::unmount, 1, 2);
    cut.resize(16);
    CHECK(error_of(cut) == wq::record_errc::past_end);

    for (const unsigned subtype : {2U, 7U, 255U}) {
        const auto raw =
            libtest::make_record(WQ_TYPE_MOUNT, subtype, 0, std::vector<std::byte>(16));
        CHECK(libtest::is_raw(wq::decode_record(span_of(raw))));
    }
    CHECK(wq::subtype_name(static_cast<MS>(2)) == "?");
    CHECK(wq::subtype_name(static_cast<MS>(7)) == "?");
}

TEST_CASE("a batch of mixed records decodes in order") {
    auto buf = libtest::sb_record(SB::readonly, 1, WQ_SB_IS_NOW_RO);
    for (const auto& more : {libtest::mount_record(MS::move_to, 2, 3), libtest::loss_record(4),
                             libtest::sb_error_record(SB::writeback_error, 1, EIO, 0, 5)}) {
        buf.insert(buf.end(), more.begin(), more.end());
    }
    wq::Records records(span_of(buf));
    CHECK(wq::as_superblock(*records.next()).value().is_now_ro);
    CHECK(wq::as_mount(*records.next()).value().mount_id == 2);
    CHECK(wq::as_loss(*records.next()).value().count == 4U);
    CHECK(wq::as_superblock(*records.next()).value().ino == 5);
    CHECK_FALSE(records.next());
    CHECK(records.consumed() == 16 + 24 + 16 + 32);
}

TEST_CASE("filters on filesystem and mount subtypes and flags") {
    const wq::Filter f =
        wq::FilterBuilder()
            .add({SB::writeback_error, SB::error})
            .add({MS::new_mount, MS::unmount},
                 wq::InfoMatch{wq::info_flag::mount_in_subtree, wq::info_flag::mount_in_subtree})
            .build();
    REQUIRE(f.entries().size() == 2);
    CHECK(f.entries()[0].type == WQ_TYPE_SUPERBLOCK);
    CHECK(f.entries()[0].subtypes.count() == 2);
    CHECK(f.entries()[0].subtypes.test(WQ_SB_WRITEBACK_ERROR));
    CHECK(f.entries()[0].subtypes.test(WQ_SB_ERROR));
    CHECK(f.entries()[1].type == WQ_TYPE_MOUNT);
    CHECK(f.entries()[1].subtypes.test(WQ_MOUNT_NEW));
    CHECK(f.entries()[1].subtypes.test(WQ_MOUNT_UNMOUNT));
    CHECK(f.entries()[1].info_mask == WQ_MOUNT_IN_SUBTREE);
    CHECK(f.entries()[1].info_filter == WQ_MOUNT_IN_SUBTREE);
}
