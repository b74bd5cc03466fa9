// SPDX-License-Identifier: LGPL-2.1-or-later
// Errors: std::system_error carrying errno (std::system_category) or a
// framing error of a record (watchqueue::record_category) and what was
// attempted.  Every throwing call has a non-throwing overload taking a
// std::error_code& ({fmt}'s convention); those never throw.
#pragma once

#include <string>
#include <system_error>

#include "api.hpp"

namespace watchqueue {
inline namespace v0 {

// A record or a ring position broke the framing rules of the ABI.
enum class record_errc {
    too_short = 1, // length < 8
    unaligned,     // length not a multiple of 8
    past_end,      // the record extends past the head / the end of the buffer
    truncated,     // shorter than the struct of its type
    bad_position,  // the consumer position is not 8-aligned or too far behind
};

WATCHQUEUE_API const std::error_category& record_category() noexcept;

inline std::error_code make_error_code(record_errc e) noexcept {
    return {static_cast<int>(e), record_category()};
}

// Thrown by the throwing overloads; code() is errno (system_category) or a
// record_errc, what() says what was attempted.
class WATCHQUEUE_API error : public std::system_error {
public:
    using std::system_error::system_error;
};

// The message for a failure to open the device: says how to load the module
// when the device is missing.
WATCHQUEUE_API std::string open_error_message(const std::string& path, std::error_code ec);

} // namespace v0
} // namespace watchqueue

template <>
struct std::is_error_code_enum<watchqueue::record_errc> : std::true_type {};
