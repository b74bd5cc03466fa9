// SPDX-License-Identifier: GPL-2.0-or-later
// Test cases with known outcomes for tap-reporter-check.sh, which runs this
// binary with the "tap-cases" reporter and checks its TAP. Not a test
// itself: one case fails on purpose.
#include "wq_catch.hpp"

TEST_CASE("sample passes") {
    CHECK(1 + 1 == 2);
}

TEST_CASE("sample fails # with a hash") {
    const int answer = 41;
    INFO("the info of the failure");
    CHECK(answer == 42);
}

TEST_CASE("sample warns") {
    WARN("SKIPPED: the sample's warning");
    CHECK(true);
}

TEST_CASE("sample sections") {
    SECTION("first") {
        CHECK(true);
    }
    SECTION("second") {
        CHECK(true);
    }
}
