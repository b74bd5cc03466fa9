// SPDX-License-Identifier: GPL-2.0-or-later
// libwatchqueue: batches over a fake double-mapped ring.
#include "lib_fake.hpp"
#include "wq_catch.hpp"

namespace wq = watchqueue;
using libtest::FakeRing;
using libtest::key_record;

TEST_CASE("a batch sees the records up to the head loaded once and publishes once") {
    FakeRing ring(4096);
    for (int i = 0; i < 3; ++i) {
        ring.post(key_record(wq::KeySubtype::updated, 100 + i, 0));
    }
    {
        wq::Batch batch(ring.view());
        ring.post(key_record(wq::KeySubtype::updated, 999, 0)); // after the head was loaded
        std::vector<std::int32_t> keys;
        for (const wq::Record& rec : batch) {
            keys.push_back(wq::as_key(rec).value().key);
            CHECK(ring.tail() == 0); // nothing published while iterating
        }
        CHECK(keys == std::vector<std::int32_t>{100, 101, 102});
    }
    CHECK(ring.tail() == 48);
    wq::Batch second(ring.view());
    CHECK(wq::as_key(*second.next()).value().key == 999);
    CHECK_FALSE(second.next());
    second.commit();
    CHECK(ring.tail() == 64);
    CHECK(ring.view().empty());
}

TEST_CASE("a partly consumed batch publishes only what was returned") {
    FakeRing ring(4096);
    ring.post(key_record(wq::KeySubtype::updated, 1, 0));
    ring.post(key_record(wq::KeySubtype::updated, 2, 0));
    {
        wq::Batch batch(ring.view());
        CHECK(batch.next());
    }
    CHECK(ring.tail() == 16);
    CHECK_FALSE(ring.view().empty());
}

TEST_CASE("records across the end of the data area are read in place") {
    // positions close to 2^64 and to the end of the data area
    const std::uint64_t start =
        (~std::uint64_t{0} - std::uint64_t{4096} * 3 - 40) & ~std::uint64_t{7};
    FakeRing ring(4096, start);
    REQUIRE(start % 8 == 0);
    std::uint64_t expect_tail = start;
    for (int round = 0; round < 600; ++round) {
        const auto rec = libtest::make_record(
            0x7e57, 1, 0, std::vector<std::byte>(std::size_t{8} * (round % 14), std::byte(round)));
        ring.post(rec);
        wq::Batch batch(ring.view());
        const auto got = batch.next();
        REQUIRE(got);
        REQUIRE(got->bytes.size() == rec.size());
        CHECK(std::equal(rec.begin(), rec.end(), got->bytes.begin()));
        expect_tail += rec.size();
    }
    CHECK(ring.tail() == expect_tail);
    CHECK(ring.tail() < start); // wrapped around 2^64
}

TEST_CASE("a corrupt consumer position is an error, not a wild read") {
    FakeRing ring(4096);
    ring.post(key_record(wq::KeySubtype::updated, 1, 0));
    ring.set_tail(3);
    std::error_code ec;
    wq::Batch bad(ring.view(), ec);
    CHECK(ec == wq::record_errc::bad_position);
    CHECK(bad.empty());
    ring.set_tail(ring.head() - 8192);
    CHECK_THROWS_AS(wq::Batch(ring.view()), wq::error);
}

TEST_CASE("a malformed record in the ring stops the batch before it") {
    FakeRing ring(4096);
    ring.post(key_record(wq::KeySubtype::updated, 1, 0));
    ring.post(libtest::raw_header(WQ_TYPE_KEY, 8, 8)); // key record of 8 bytes
    {
        wq::Batch batch(ring.view());
        std::error_code ec;
        CHECK(batch.next(ec));
        CHECK_FALSE(batch.next(ec));
        CHECK(ec == wq::record_errc::truncated);
    }
    CHECK(ring.tail() == 16);
}

TEST_CASE("loss: the record carries the count, the producer page the total") {
    FakeRing ring(4096);
    ring.post(libtest::loss_record(5));
    ring.set_lost(5);
    wq::Batch batch(ring.view());
    const auto rec = batch.next();
    REQUIRE(rec);
    CHECK(wq::as_loss(*rec).value().count == 5U);
    CHECK(ring.view().lost_total() == 5);
}

TEST_CASE("a moved batch commits once") {
    FakeRing ring(4096);
    ring.post(key_record(wq::KeySubtype::updated, 1, 0));
    wq::Batch a(ring.view());
    CHECK(a.next());
    wq::Batch b(std::move(a));
    ring.set_tail(0);
    a.commit(); // NOLINT(bugprone-use-after-move,clang-analyzer-cplusplus.Move): moved-from:
                // nothing
    CHECK(ring.tail() == 0);
    b.commit();
    CHECK(ring.tail() == 16);
}
