// SPDX-License-Identifier: LGPL-2.1-or-later
/// @file
/// Errors: a std::system_error carrying an errno (std::system_category) or a
/// framing error of a record (watchqueue::record_category), and what was
/// attempted.
///
/// Every call that can fail has a throwing form and a non-throwing overload
/// taking a `std::error_code&` ({fmt}'s convention); the latter never throw.
#pragma once

#include <string>
#include <system_error>

#include "api.hpp"

/// libwatchqueue: the C++ client of /dev/watch_queue.
namespace watchqueue {
inline namespace v0 {

/// A record or a ring position broke the framing rules of the ABI
/// (uapi/linux/wq_dev.h); in the category record_category().
enum class record_errc {
    too_short = 1, ///< the record's length is below 8
    unaligned,     ///< the record's length is not a multiple of 8
    past_end,      ///< the record extends past the head or the end of the buffer
    truncated,     ///< the record is shorter than the struct of its type
    bad_position,  ///< the consumer position is not 8-aligned or too far behind the head
};

/// The category of record_errc ("watchqueue.record").  Its errors compare
/// equal to `std::errc::bad_message`, `bad_position` to `std::errc::io_error`.
WATCHQUEUE_API const std::error_category& record_category() noexcept;

/// A record_errc as a std::error_code (found by argument-dependent lookup).
inline std::error_code make_error_code(record_errc e) noexcept {
    return {static_cast<int>(e), record_category()};
}

/// What the throwing calls throw: code() is an errno (std::system_category)
/// or a record_errc, what() says what was attempted, then the error.
class WATCHQUEUE_API error : public std::system_error {
public:
    using std::system_error::system_error;
};

/// The message for a failure to open @p path with @p ec: when the device is
/// missing, it says how to load the module.
WATCHQUEUE_API std::string open_error_message(const std::string& path, std::error_code ec);

} // namespace v0
} // namespace watchqueue

/// @cond
// record_errc converts to std::error_code.
template <>
struct std::is_error_code_enum<watchqueue::record_errc> : std::true_type {};
/// @endcond
