// SPDX-License-Identifier: LGPL-2.1-or-later
// Filters: a Filter can only be made by FilterBuilder::build(), which checks
// everything the device checks (1..16 entries, types of 24 bits, subtypes
// 0..255, an info filter inside its mask, a mask that leaves the length
// alone), so setting a built filter cannot fail with EINVAL.
#pragma once

#include <bitset>
#include <cstdint>
#include <initializer_list>
#include <system_error>
#include <vector>

#include "api.hpp"
#include "record.hpp"

namespace watchqueue {
inline namespace v0 {

inline constexpr std::size_t max_filters = 16;

struct FilterEntry {
    std::uint32_t type = 0;
    std::bitset<256> subtypes;
    std::uint32_t info_mask = 0;
    std::uint32_t info_filter = 0;
};

// (info & mask) == value, e.g. InfoMatch::watch(3).
struct InfoMatch {
    std::uint32_t mask = 0;
    std::uint32_t value = 0;

    static InfoMatch watch(unsigned watch_id) noexcept {
        return {0xff00U, (watch_id & 0xffU) << 8};
    }
};

class Filter {
public:
    [[nodiscard]] const std::vector<FilterEntry>& entries() const noexcept { return entries_; }

private:
    friend class FilterBuilder;
    explicit Filter(std::vector<FilterEntry> entries) : entries_(std::move(entries)) {}
    std::vector<FilterEntry> entries_;
};

// Collects entries; the first invalid argument is remembered and reported
// by build(), so calls can be chained.
class FilterBuilder {
public:
    // Every subtype of @type.
    WATCHQUEUE_API FilterBuilder& add(std::uint32_t type, InfoMatch info = {});
    // The listed subtypes of @type (each 0..255).
    WATCHQUEUE_API FilterBuilder& add(std::uint32_t type, std::initializer_list<unsigned> subtypes,
                                      InfoMatch info = {});
    WATCHQUEUE_API FilterBuilder& add(std::uint32_t type, const std::bitset<256>& subtypes,
                                      InfoMatch info = {});
    FilterBuilder& add(Type type, InfoMatch info = {}) {
        return add(static_cast<std::uint32_t>(type), info);
    }
    WATCHQUEUE_API FilterBuilder& add(std::initializer_list<KeySubtype> subtypes,
                                      InfoMatch info = {});
    WATCHQUEUE_API FilterBuilder& add(std::initializer_list<BlockSubtype> subtypes,
                                      InfoMatch info = {});
    WATCHQUEUE_API FilterBuilder& add(std::initializer_list<UsbSubtype> subtypes,
                                      InfoMatch info = {});
    WATCHQUEUE_API FilterBuilder& add(std::initializer_list<SuperblockSubtype> subtypes,
                                      InfoMatch info = {});
    WATCHQUEUE_API FilterBuilder& add(std::initializer_list<MountSubtype> subtypes,
                                      InfoMatch info = {});

    [[nodiscard]] WATCHQUEUE_API Filter build() const;
    [[nodiscard]] WATCHQUEUE_API Filter build(std::error_code& ec) const noexcept;
    // Why build() would fail ("" if it would not).
    [[nodiscard]] const std::string& problem() const noexcept { return problem_; }

private:
    FilterBuilder& add_entry(std::uint32_t type, const std::bitset<256>& subtypes, InfoMatch info,
                             bool subtype_out_of_range);
    std::vector<FilterEntry> entries_;
    std::string problem_;
};

} // namespace v0
} // namespace watchqueue
