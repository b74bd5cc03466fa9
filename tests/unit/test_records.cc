// SPDX-License-Identifier: GPL-2.0-or-later
// Record framing rules and the read() buffer splitter.
#include "fake_ring.h"
#include "ring.h"
#include "wq_catch.hpp"

using wqt::RecordError;

TEST_CASE("record lengths: 8..120 and a multiple of 8", "[records]") {
    CHECK(wqt::check_record(8, 8) == RecordError::none);
    CHECK(wqt::check_record(120, 4096) == RecordError::none);
    CHECK(wqt::check_record(0, 4096) == RecordError::too_short);
    CHECK(wqt::check_record(7, 4096) == RecordError::too_short);
    CHECK(wqt::check_record(12, 4096) == RecordError::unaligned);
    CHECK(wqt::check_record(121, 4096) == RecordError::too_long);
    CHECK(wqt::check_record(127, 4096) == RecordError::too_long);
    CHECK(wqt::check_record(24, 16) == RecordError::past_end);
    CHECK(wqt::check_record(8, 4) == RecordError::no_header);
    // Bits outside the length field do not change the length.
    CHECK(wqt::check_record(0xffff'ff10U, 16) == RecordError::none);
}

TEST_CASE("the header decodes type, subtype, length and watch id", "[records]") {
    const auto rec = wqt::fake::header_only(0xabcdef, 0x9a, 0x1234'5618, 24);
    const wqt::Header h = wqt::decode_header(rec.data());
    CHECK(h.type == 0xabcdef);
    CHECK(h.subtype == 0x9a);
    CHECK(h.length() == 0x18);
    CHECK(h.watch_id() == 0x56);
}

TEST_CASE("a read() buffer splits into whole records", "[records]") {
    std::vector<std::byte> buf;
    for (const auto& r : {wqt::fake::synthetic(1, 0, 16), wqt::fake::loss(2),
                          wqt::fake::removal(4, 5), wqt::fake::synthetic(1, 3, 120)}) {
        buf.insert(buf.end(), r.begin(), r.end());
    }
    const auto recs = wqt::split_records(buf);
    REQUIRE(recs.size() == 4);
    CHECK(recs[0].size() == 16);
    CHECK(recs[3].size() == 120);
    CHECK(recs[3].data() == buf.data() + 48);
    CHECK(wqt::split_records({}).empty());
}

TEST_CASE("a split or invalid record in a read() buffer is an error", "[records]") {
    auto buf = wqt::fake::synthetic(1, 0, 32);
    SECTION("truncated record") {
        buf.resize(24);
    }
    SECTION("trailing partial header") {
        buf.resize(36);
    }
    SECTION("zero length") {
        buf = wqt::fake::header_only(1, 0, 0, 16);
    }
    CHECK_THROWS_AS(wqt::split_records(buf), wqt::RingError);
}
