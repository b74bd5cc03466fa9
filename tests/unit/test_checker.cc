// SPDX-License-Identifier: GPL-2.0-or-later
// The synthetic-record checker.
#include <algorithm>
#include <wq_test_uapi.h>

#include "checker.h"
#include "fake_ring.h"
#include "wq_catch.hpp"

using wqt::SyntheticChecker;
namespace fake = wqt::fake;

namespace {

void feed(SyntheticChecker& c, const std::vector<std::byte>& rec) {
    c.feed(rec);
}

bool has_error(const SyntheticChecker& c, const std::string& part) {
    return std::ranges::any_of(
        c.errors(), [&](const std::string& e) { return e.find(part) != std::string::npos; });
}

} // namespace

TEST_CASE("an intact stream from two producers passes", "[checker]") {
    SyntheticChecker c;
    c.expect({.producer = 1, .first_seq = 10, .subtype = 3, .watch_id = 7});
    c.expect({.producer = 2, .first_seq = 0, .size = 120});
    for (std::uint32_t i = 0; i < 50; ++i) {
        feed(c, fake::synthetic(1, 10 + i, 16 + 8 * (i % 14), 3, 7));
        feed(c, fake::synthetic(2, i, 120, i % 256));
    }
    c.set_posted(1, 50);
    c.set_posted(2, 50);
    c.finish();
    INFO(c.report());
    CHECK(c.ok());
    CHECK(c.delivered() == 100);
    CHECK(c.delivered(1) == 50);
    CHECK(c.lost_reported() == 0);
}

TEST_CASE("duplicates and reordering within a producer are caught", "[checker]") {
    SyntheticChecker c;
    c.expect({.producer = 1});
    feed(c, fake::synthetic(1, 0, 16));
    feed(c, fake::synthetic(1, 1, 16));
    SECTION("duplicate") {
        feed(c, fake::synthetic(1, 1, 16));
        CHECK(has_error(c, "duplicate"));
    }
    SECTION("reordered") {
        feed(c, fake::synthetic(1, 0, 16));
        CHECK(has_error(c, "out of order"));
    }
    CHECK_FALSE(c.ok());
}

TEST_CASE("corrupted contents are caught", "[checker]") {
    SyntheticChecker c;
    c.expect({.producer = 4, .subtype = 1, .watch_id = 2, .size = 40});
    auto rec = fake::synthetic(4, 0, 40, 1, 2);
    SECTION("fill byte") {
        rec[33] ^= std::byte{1};
        feed(c, rec);
        CHECK(has_error(c, "fill byte at offset 33"));
    }
    SECTION("check field") {
        rec[offsetof(wqt_record, check)] ^= std::byte{0x80};
        feed(c, rec);
        CHECK(has_error(c, "check field"));
    }
    SECTION("sequence number (check no longer matches)") {
        rec[offsetof(wqt_record, seq)] ^= std::byte{4};
        feed(c, rec);
        CHECK(has_error(c, "check field"));
    }
    SECTION("subtype") {
        feed(c, fake::synthetic(4, 0, 40, 9, 2));
        CHECK(has_error(c, "subtype 9"));
    }
    SECTION("watch id") {
        feed(c, fake::synthetic(4, 0, 40, 1, 3));
        CHECK(has_error(c, "watch id 3"));
    }
    SECTION("size") {
        feed(c, fake::synthetic(4, 0, 48, 1, 2));
        CHECK(has_error(c, "size 48"));
    }
    SECTION("unknown producer") {
        feed(c, fake::synthetic(5, 0, 40, 1, 2));
        CHECK(has_error(c, "undeclared producer 5"));
    }
    SECTION("unexpected type") {
        feed(c, fake::header_only(WQ_TYPE_KEY, 0, 16, 16));
        CHECK(has_error(c, "unexpected type 1"));
    }
    SECTION("length field disagrees with the record") {
        rec.resize(32);
        feed(c, rec);
        CHECK(has_error(c, "extends past"));
    }
    CHECK_FALSE(c.ok());
}

TEST_CASE("a gap preceded by a loss record with its count passes", "[checker]") {
    SyntheticChecker c;
    c.expect({.producer = 1});
    c.expect({.producer = 2});
    feed(c, fake::synthetic(1, 0, 16));
    feed(c, fake::synthetic(2, 0, 16));
    feed(c, fake::loss(3));
    feed(c, fake::synthetic(1, 3, 16)); // 1 and 2 lost
    feed(c, fake::synthetic(2, 2, 16)); // 1 lost
    feed(c, fake::synthetic(1, 4, 16));
    c.set_posted(1, 6); // 5 lost at the end, reported below
    c.set_posted(2, 3);
    feed(c, fake::loss(1));
    c.finish();
    INFO(c.report());
    CHECK(c.ok());
    CHECK(c.delivered() == 5);
    CHECK(c.lost_reported() == 4);
    CHECK(c.loss_records() == 2);
    CHECK(c.delivered() + c.lost_reported() == c.posted());
}

TEST_CASE("a gap without a loss record before it is caught", "[checker]") {
    SyntheticChecker c;
    c.expect({.producer = 1});
    c.expect({.producer = 2});
    feed(c, fake::synthetic(1, 0, 16));
    SECTION("no loss record at all") {
        feed(c, fake::synthetic(1, 2, 16));
        CHECK(has_error(c, "without a loss record"));
    }
    SECTION("the loss record came before this producer's previous record") {
        feed(c, fake::loss(1));
        feed(c, fake::synthetic(1, 1, 16));
        feed(c, fake::synthetic(1, 3, 16));
        CHECK(has_error(c, "without a loss record"));
    }
    SECTION("more missing than reported") {
        feed(c, fake::loss(1));
        feed(c, fake::synthetic(1, 3, 16));
        CHECK(has_error(c, "only 1 reported lost"));
    }
    CHECK_FALSE(c.ok());
}

TEST_CASE("loss accounting must balance at the end", "[checker]") {
    SyntheticChecker c;
    c.expect({.producer = 1});
    feed(c, fake::synthetic(1, 0, 16));
    SECTION("records missing at the end never reported") {
        c.set_posted(1, 3);
        c.finish();
        CHECK(has_error(c, "2 records missing but 0 reported lost"));
    }
    SECTION("more reported lost than missing") {
        feed(c, fake::loss(4));
        c.set_posted(1, 2);
        c.finish();
        CHECK(has_error(c, "delivered 1 + lost 4 != posted 2"));
    }
    SECTION("more delivered than posted") {
        feed(c, fake::synthetic(1, 1, 16));
        c.set_posted(1, 1);
        c.finish();
        CHECK(has_error(c, "only 1 posted"));
    }
    SECTION("posted count never given") {
        c.finish();
        CHECK(has_error(c, "posted count unknown"));
    }
    SECTION("a loss record with a zero count") {
        feed(c, fake::loss(0));
        CHECK(has_error(c, "count of 0"));
    }
    CHECK_FALSE(c.ok());
}

TEST_CASE("filtered streams may have gaps without loss records", "[checker]") {
    SyntheticChecker c({.gaps_without_loss = true});
    c.expect({.producer = 1});
    feed(c, fake::synthetic(1, 0, 16));
    feed(c, fake::synthetic(1, 5, 16));
    SECTION("gaps pass") {
        c.set_posted(1, 9);
        c.finish();
        CHECK(c.ok());
    }
    SECTION("duplicates still do not") {
        feed(c, fake::synthetic(1, 5, 16));
        CHECK(has_error(c, "duplicate"));
    }
}

TEST_CASE("removal records are collected, in both forms", "[checker]") {
    SyntheticChecker c;
    feed(c, fake::removal(9, 3));
    feed(c, fake::removal(255, std::nullopt));
    REQUIRE(c.removals().size() == 2);
    CHECK(c.removals()[0].watch_id == 9);
    CHECK(c.removals()[0].object_id == std::optional<std::uint64_t>(3));
    CHECK(c.removals()[1].watch_id == 255);
    CHECK_FALSE(c.removals()[1].object_id);
    CHECK(c.ok());
}

TEST_CASE("sequence numbers are compared modulo 2^32", "[checker]") {
    SyntheticChecker c;
    c.expect({.producer = 1, .first_seq = 0xffff'fffeULL});
    feed(c, fake::synthetic(1, 0xffff'fffeU, 16));
    feed(c, fake::synthetic(1, 0xffff'ffffU, 16));
    feed(c, fake::synthetic(1, 0, 16));
    c.set_posted(1, 3);
    c.finish();
    INFO(c.report());
    CHECK(c.ok());
}
