// SPDX-License-Identifier: LGPL-2.1-or-later
#include "watchqueue/error.hpp"

#include <cerrno>

#include <fmt/format.h>

namespace watchqueue {
inline namespace v0 {
namespace {

class RecordCategory final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "watchqueue.record"; }
    [[nodiscard]] std::string message(int value) const override {
        switch (static_cast<record_errc>(value)) {
        case record_errc::too_short:
            return "record length below 8 bytes";
        case record_errc::unaligned:
            return "record length not a multiple of 8";
        case record_errc::past_end:
            return "record extends past the end of the batch";
        case record_errc::truncated:
            return "record shorter than its type's struct";
        case record_errc::bad_position:
            return "consumer position corrupt";
        }
        return "unknown record error";
    }
    [[nodiscard]] std::error_condition default_error_condition(int value) const noexcept override {
        if (static_cast<record_errc>(value) == record_errc::bad_position) {
            return std::errc::io_error;
        }
        return std::errc::bad_message;
    }
};

} // namespace

const std::error_category& record_category() noexcept {
    static const RecordCategory category;
    return category;
}

std::string open_error_message(const std::string& path, std::error_code ec) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::no_such_device ||
        ec == std::errc::no_such_device_or_address) {
        return fmt::format("{} not found: load the module with `modprobe watch_queue`", path);
    }
    return fmt::format("cannot open {}", path);
}

} // namespace v0
} // namespace watchqueue
