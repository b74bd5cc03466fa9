// SPDX-License-Identifier: GPL-2.0-or-later
// The compat library's allocation-free debug log line.
#include <cerrno>
#include <climits>
#include <string>

#include "log_line.h"
#include "wq_catch.hpp"

TEST_CASE("LogLine formats text, numbers and errno names", "[compat]") {
    wqc::LogLine line;
    line.text("fd ").num(3).text(" ").num(-42).text(" ").unum(ULONG_MAX).text(" ").num(LONG_MIN);
    CHECK(line.view() == "fd 3 -42 18446744073709551615 -9223372036854775808");

    wqc::LogLine hex;
    hex.hex(0).text(" ").hex(0x80880).text(" ").hex(ULONG_MAX);
    CHECK(hex.view() == "0x0 0x80880 0xffffffffffffffff");

    wqc::LogLine errs;
    errs.err(EBUSY).text(" ").err(100000).text(" ").result(0, EBUSY).text(" ").result(-1, ENOPKG);
    CHECK(errs.view() == "EBUSY errno 100000 0 -1 ENOPKG");
}

TEST_CASE("LogLine cuts long lines and marks the cut", "[compat]") {
    wqc::LogLine line;
    const std::string part(100, 'x');
    line.text(part).text(part).text(part);
    const auto view = line.view();
    CHECK(view.size() == wqc::LogLine::kCapacity);
    CHECK(view.substr(view.size() - 3) == "...");
    CHECK(view.substr(0, 10) == "xxxxxxxxxx");
}
