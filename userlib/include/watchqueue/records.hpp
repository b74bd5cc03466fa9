// SPDX-License-Identifier: LGPL-2.1-or-later
/// @file
/// Iteration over a contiguous run of records: the bytes one read()
/// returned, or the part of the mapped ring between the consumer and
/// producer positions (contiguous in memory because the data area is mapped
/// twice).
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

/// The records in a run of bytes, in order; a view, as its Records are.
class WATCHQUEUE_API Records {
public:
    /// No records.
    Records() noexcept = default;
    /// The records in @p bytes, which must outlive this and its Records.
    explicit Records(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}

    /// The next record, or nullopt at the end.  A malformed record sets
    /// @p ec (a record_errc) and stops the iteration there for good.
    std::optional<Record> next(std::error_code& ec) noexcept;
    /// As above; throws watchqueue::error on a malformed record.
    std::optional<Record> next();

    /// The bytes consumed so far (up to the end of the last record returned).
    [[nodiscard]] std::size_t consumed() const noexcept { return pos_; }
    /// The size of the run of bytes.
    [[nodiscard]] std::size_t size_bytes() const noexcept { return bytes_.size(); }
    /// True once every record was returned, or a malformed one was found.
    [[nodiscard]] bool at_end() const noexcept { return pos_ == bytes_.size() || failed_; }

    /// Input iterator, for `for (const Record& r : records)`; ++ throws as
    /// next() does.
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag; ///< single pass
        using value_type = Record;                         ///< a record
        using difference_type = std::ptrdiff_t;            ///< unused
        using pointer = const Record*;                     ///< to the current record
        using reference = const Record&;                   ///< the current record

        /// The end.
        iterator() noexcept = default;
        /// The first record of @p owner (the end if there is none).
        explicit iterator(Records* owner) : owner_(owner) { ++*this; }
        /// The current record.
        reference operator*() const noexcept { return *current_; }
        /// The current record.
        pointer operator->() const noexcept { return &*current_; }
        /// The next record (next()).
        iterator& operator++() {
            current_ = owner_->next();
            if (!current_) {
                owner_ = nullptr;
            }
            return *this;
        }
        /// The next record (next()).
        void operator++(int) { ++*this; }
        /// Both at the end, or iterating the same Records.
        friend bool operator==(const iterator& a, const iterator& b) noexcept {
            return a.owner_ == b.owner_;
        }

    private:
        Records* owner_ = nullptr;
        std::optional<Record> current_;
    };

    /// Iterates from the next record on.
    iterator begin() { return iterator(this); }
    /// The end.
    static iterator end() noexcept { return {}; }

private:
    std::span<const std::byte> bytes_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

} // namespace v0
} // namespace watchqueue
