// SPDX-License-Identifier: GPL-2.0-or-later
// Catch2 v2 or v3, whichever meson found (meson.build defines WQ_CATCH2_V3
// for v3): the tests are written against v2's names.
#pragma once

#ifdef WQ_CATCH2_V3
#include <catch2/catch_all.hpp>

namespace Catch {
// v2's string and predicate matchers; v3 keeps them in Catch::Matchers, and renamed
// Contains to ContainsSubstring (Matchers::Contains is its range matcher).
inline Matchers::StringContainsMatcher Contains(const std::string& str,
                                                CaseSensitive cs = CaseSensitive::Yes) {
    return Matchers::ContainsSubstring(str, cs);
}
using Matchers::EndsWith;
using Matchers::Predicate;
using Matchers::StartsWith;
} // namespace Catch
#else
#include <catch2/catch.hpp>
#endif
