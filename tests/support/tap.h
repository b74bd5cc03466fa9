// SPDX-License-Identifier: GPL-2.0-or-later
// TAP for the guest programs that are not Catch2 binaries (wq-stress,
// wq-faultinject, wq-reload): a numbered "ok N - <check>" or
// "not ok N - <check>" line per check, "# ..." notes, and the plan "1..N"
// at the end, which tests/vm/guest-suite.sh requires (a run that crashed
// prints none and fails).  Every line is flushed at once; threads may
// report concurrently, and a forked child numbers on from its parent (the
// counts are shared with it).
#pragma once

#include <string>

namespace wqt::tap {

// A line as it is: a "# ..." note.
void say(const std::string& line);

void pass(const std::string& what);
void fail(const std::string& what);
void check(bool ok, const std::string& what);

// Checks failed so far, by this process and its children.
[[nodiscard]] int failed();

// Prints the plan "1..N": once, at the end of the run.
void plan();

} // namespace wqt::tap
