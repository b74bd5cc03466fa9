// SPDX-License-Identifier: GPL-2.0-or-later
// The library's version: the generated macros and watchqueue::version(),
// both meson's project() version (WQ_EXPECTED_VERSION, given by meson).
#include <cstring>
#include <string>

#include "wq_catch.hpp"
#include <fmt/format.h>
#include <watchqueue/watchqueue.hpp> // the umbrella header brings version.hpp

#if !defined(WATCHQUEUE_VERSION) || WATCHQUEUE_VERSION < WATCHQUEUE_MAKE_VERSION(0, 1, 0)
#error "WATCHQUEUE_VERSION must be usable in #if"
#endif

TEST_CASE("the version macros are meson's project() version") {
    CHECK(std::string(WATCHQUEUE_VERSION_STRING) == WQ_EXPECTED_VERSION);
    CHECK(fmt::format("{}.{}.{}", WATCHQUEUE_VERSION_MAJOR, WATCHQUEUE_VERSION_MINOR,
                      WATCHQUEUE_VERSION_PATCH) == WQ_EXPECTED_VERSION);
    STATIC_REQUIRE(WATCHQUEUE_VERSION == WATCHQUEUE_VERSION_MAJOR * 1000000L +
                                             WATCHQUEUE_VERSION_MINOR * 1000L +
                                             WATCHQUEUE_VERSION_PATCH);
    // the number orders versions
    STATIC_REQUIRE(WATCHQUEUE_MAKE_VERSION(0, 2, 0) > WATCHQUEUE_MAKE_VERSION(0, 1, 999));
    STATIC_REQUIRE(WATCHQUEUE_MAKE_VERSION(1, 0, 0) > WATCHQUEUE_MAKE_VERSION(0, 999, 999));
}

TEST_CASE("watchqueue::version(): the library's own version at run time") {
    REQUIRE(watchqueue::version() != nullptr);
    CHECK(std::string(watchqueue::version()) == WQ_EXPECTED_VERSION);
    CHECK(std::strcmp(watchqueue::version(), WATCHQUEUE_VERSION_STRING) == 0);
}
