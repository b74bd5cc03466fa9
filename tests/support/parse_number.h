// SPDX-License-Identifier: GPL-2.0-or-later
// A whole string as a decimal number, for the test programs' options and
// settings: "12x", " 12", "" and a value out of the type's range are not
// numbers (std::atoi would read them as 12, 12, 0 and garbage).
#ifndef WQ_TEST_PARSE_NUMBER_H
#define WQ_TEST_PARSE_NUMBER_H

#include <charconv>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace wqt {

// @s as a T if the whole of it is one.
template <class T>
std::optional<T> to_number(std::string_view s) {
    T v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

// The same, or std::runtime_error naming @what.
template <class T>
T parse_number(std::string_view s, std::string_view what) {
    if (const auto v = to_number<T>(s)) {
        return *v;
    }
    throw std::runtime_error(std::string(what) + " is not a number: '" + std::string(s) + "'");
}

} // namespace wqt

#endif // WQ_TEST_PARSE_NUMBER_H
