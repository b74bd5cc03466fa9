// SPDX-License-Identifier: LGPL-2.1-or-later
#include "watchqueue/records.hpp"

#include "watchqueue/error.hpp"

namespace watchqueue {
inline namespace v0 {

std::optional<Record> Records::next(std::error_code& ec) noexcept {
    ec.clear();
    if (failed_ || pos_ == bytes_.size()) {
        return std::nullopt;
    }
    auto rec = decode_record(bytes_.subspan(pos_), ec);
    if (ec) {
        failed_ = true;
        return std::nullopt;
    }
    pos_ += rec->bytes.size();
    return rec;
}

std::optional<Record> Records::next() {
    std::error_code ec;
    auto rec = next(ec);
    if (ec) {
        throw error(ec, "reading the record at offset " + std::to_string(pos_));
    }
    return rec;
}

} // namespace v0
} // namespace watchqueue
