// SPDX-License-Identifier: LGPL-2.1-or-later
// Iteration over a contiguous run of records: the bytes one read() returned,
// or the part of the mapped ring between the consumer and producer
// positions (contiguous in memory because the data area is mapped twice).
#pragma once

#include <cstddef>
#include <iterator>
#include <optional>
#include <span>
#include <system_error>

#include "api.hpp"
#include "record.hpp"

namespace watchqueue {
inline namespace v0 {

class WATCHQUEUE_API Records {
public:
    Records() noexcept = default;
    explicit Records(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}

    // The next record, or nullopt at the end.  A malformed record sets @ec
    // (a record_errc) and stops the iteration there for good.
    std::optional<Record> next(std::error_code& ec) noexcept;
    // As above; throws watchqueue::error on a malformed record.
    std::optional<Record> next();

    // Bytes consumed so far (up to the end of the last record returned).
    [[nodiscard]] std::size_t consumed() const noexcept { return pos_; }
    [[nodiscard]] std::size_t size_bytes() const noexcept { return bytes_.size(); }
    [[nodiscard]] bool at_end() const noexcept { return pos_ == bytes_.size() || failed_; }

    // Input iterator: for (const Record& r : records); ++ throws like next().
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Record;
        using difference_type = std::ptrdiff_t;
        using pointer = const Record*;
        using reference = const Record&;

        iterator() noexcept = default;
        explicit iterator(Records* owner) : owner_(owner) { ++*this; }
        reference operator*() const noexcept { return *current_; }
        pointer operator->() const noexcept { return &*current_; }
        iterator& operator++() {
            current_ = owner_->next();
            if (!current_) {
                owner_ = nullptr;
            }
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept {
            return a.owner_ == b.owner_;
        }

    private:
        Records* owner_ = nullptr;
        std::optional<Record> current_;
    };

    iterator begin() { return iterator(this); }
    static iterator end() noexcept { return {}; }

private:
    std::span<const std::byte> bytes_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

} // namespace v0
} // namespace watchqueue
