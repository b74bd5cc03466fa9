// SPDX-License-Identifier: GPL-2.0-or-later
// libwatchqueue: the filter builder refuses what the device would refuse.
#include "wq_catch.hpp"
#include <watchqueue/watchqueue.hpp>

namespace wq = watchqueue;

TEST_CASE("a filter is built from valid entries") {
    const wq::Filter f = wq::FilterBuilder()
                             .add({wq::KeySubtype::linked, wq::KeySubtype::unlinked})
                             .add(wq::Type::block, wq::InfoMatch::watch(5))
                             .add(0x7e57, {0U, 255U})
                             .build();
    REQUIRE(f.entries().size() == 3);
    CHECK(f.entries()[0].type == 1);
    CHECK(f.entries()[0].subtypes.count() == 2);
    CHECK(f.entries()[0].subtypes.test(2));
    CHECK(f.entries()[1].subtypes.all());
    CHECK(f.entries()[1].info_mask == 0xff00);
    CHECK(f.entries()[1].info_filter == 0x0500);
    CHECK(f.entries()[2].subtypes.test(255));
}

TEST_CASE("invalid filters cannot be built") {
    auto refused = [](const wq::FilterBuilder& b) {
        std::error_code ec;
        (void)b.build(ec);
        CHECK(ec == std::errc::invalid_argument);
        CHECK_THROWS_AS(b.build(), wq::error);
        return b.problem();
    };
    CHECK(refused(wq::FilterBuilder()).empty()); // no entry
    CHECK_FALSE(refused(wq::FilterBuilder().add(0x1000000)).empty());
    CHECK_FALSE(refused(wq::FilterBuilder().add(1, {256U})).empty());
    CHECK_FALSE(refused(wq::FilterBuilder().add(1, std::bitset<256>())).empty());
    CHECK_FALSE(refused(wq::FilterBuilder().add(1, wq::InfoMatch{0xff00, 0x10000})).empty());
    CHECK_FALSE(refused(wq::FilterBuilder().add(1, wq::InfoMatch{0x7f, 0x10})).empty());
    wq::FilterBuilder many;
    for (unsigned i = 0; i < 17; ++i) {
        many.add(i);
    }
    CHECK(refused(many).find("16") != std::string::npos);
    // the first problem is kept, later valid entries do not hide it
    CHECK_FALSE(refused(wq::FilterBuilder().add(1, {300U}).add(2)).empty());
}
