// SPDX-License-Identifier: LGPL-2.1-or-later
/// @file
/// Filters: which records a queue keeps (WQ_IOC_SET_FILTER).
///
/// A Filter can only be made by FilterBuilder::build(), which checks
/// everything the device checks (1..16 entries, types of 24 bits, subtypes
/// 0..255, an info filter inside its mask, a mask that leaves the length
/// alone), so setting a built filter cannot fail with EINVAL.
#pragma once

#include <bitset>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <system_error>
#include <vector>

#include "api.hpp"
#include "record.hpp"

namespace watchqueue {
inline namespace v0 {

/// The most entries a filter may have (WQ_MAX_FILTERS).
inline constexpr std::size_t max_filters = 16;

/// One entry of a filter: the records of one type that it lets through.
struct FilterEntry {
    std::uint32_t type = 0;        ///< the record type (24 bits)
    std::bitset<256> subtypes;     ///< the subtypes let through
    std::uint32_t info_mask = 0;   ///< the bits of Record::info compared ...
    std::uint32_t info_filter = 0; ///< ... with these
};

/// A condition on Record::info: `(info & mask) == value`, e.g.
/// InfoMatch::watch(3) or a type's info_flag bits.
struct InfoMatch {
    std::uint32_t mask = 0;  ///< the bits compared
    std::uint32_t value = 0; ///< what they must be

    /// The records of watch @p watch_id (0..255).
    static InfoMatch watch(unsigned watch_id) noexcept {
        return {info_field::watch_id,
                (watch_id << info_field::watch_id_shift) & info_field::watch_id};
    }
};

/// A checked filter, made by FilterBuilder; Queue::set_filter() sets it.
class Filter {
public:
    /// Its entries, in the order they were added.
    [[nodiscard]] const std::vector<FilterEntry>& entries() const noexcept { return entries_; }

private:
    friend class FilterBuilder;
    explicit Filter(std::vector<FilterEntry> entries) : entries_(std::move(entries)) {}
    std::vector<FilterEntry> entries_;
};

/// Collects filter entries.  The first invalid argument is remembered and
/// reported by build(), so calls can be chained:
///
///     queue.set_filter(wq::FilterBuilder()
///                          .add({wq::KeySubtype::linked, wq::KeySubtype::unlinked})
///                          .add(wq::Type::block, wq::InfoMatch::watch(5))
///                          .build());
class FilterBuilder {
public:
    /// Every subtype of @p type (a record type number of 24 bits).
    WATCHQUEUE_API FilterBuilder& add(std::uint32_t type, InfoMatch info = {});
    /// The listed @p subtypes (each 0..255) of @p type.
    WATCHQUEUE_API FilterBuilder& add(std::uint32_t type, std::initializer_list<unsigned> subtypes,
                                      InfoMatch info = {});
    /// The @p subtypes set in the bitset, of @p type.
    WATCHQUEUE_API FilterBuilder& add(std::uint32_t type, const std::bitset<256>& subtypes,
                                      InfoMatch info = {});
    /// Every subtype of @p type.
    FilterBuilder& add(Type type, InfoMatch info = {}) {
        return add(static_cast<std::uint32_t>(type), info);
    }
    /// The listed key subtypes.
    WATCHQUEUE_API FilterBuilder& add(std::initializer_list<KeySubtype> subtypes,
                                      InfoMatch info = {});
    /// The listed block subtypes.
    WATCHQUEUE_API FilterBuilder& add(std::initializer_list<BlockSubtype> subtypes,
                                      InfoMatch info = {});
    /// The listed USB subtypes.
    WATCHQUEUE_API FilterBuilder& add(std::initializer_list<UsbSubtype> subtypes,
                                      InfoMatch info = {});
    /// The listed filesystem subtypes.
    WATCHQUEUE_API FilterBuilder& add(std::initializer_list<SuperblockSubtype> subtypes,
                                      InfoMatch info = {});
    /// The listed mount subtypes.
    WATCHQUEUE_API FilterBuilder& add(std::initializer_list<MountSubtype> subtypes,
                                      InfoMatch info = {});

    /// The filter; throws watchqueue::error (EINVAL, with problem() as the
    /// message) for an invalid entry or none at all.
    [[nodiscard]] WATCHQUEUE_API Filter build() const;
    /// The filter, or an empty one with @p ec set (EINVAL, ENOMEM).
    [[nodiscard]] WATCHQUEUE_API Filter build(std::error_code& ec) const noexcept;
    /// Why build() would fail ("" if it would not, or if there is no entry).
    [[nodiscard]] const std::string& problem() const noexcept { return problem_; }

private:
    FilterBuilder& add_entry(std::uint32_t type, const std::bitset<256>& subtypes, InfoMatch info,
                             bool subtype_out_of_range);
    std::vector<FilterEntry> entries_;
    std::string problem_;
};

} // namespace v0
} // namespace watchqueue
