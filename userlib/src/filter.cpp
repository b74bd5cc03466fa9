// SPDX-License-Identifier: LGPL-2.1-or-later
#include "watchqueue/filter.hpp"

#include "watchqueue/error.hpp"
#include <fmt/format.h>

namespace watchqueue {
inline namespace v0 {
namespace {

constexpr std::uint32_t max_type = 0xffffffU; // 24 bits

template <class Enum>
std::bitset<256> bits_of(std::initializer_list<Enum> subtypes) {
    std::bitset<256> bits;
    for (const Enum s : subtypes) {
        bits.set(static_cast<std::size_t>(s));
    }
    return bits;
}

} // namespace

FilterBuilder& FilterBuilder::add_entry(std::uint32_t type, const std::bitset<256>& subtypes,
                                        InfoMatch info, bool subtype_out_of_range) {
    if (!problem_.empty()) {
        return *this;
    }
    if (type > max_type) {
        problem_ = fmt::format("filter type {:#x} does not fit in 24 bits", type);
    } else if (subtype_out_of_range) {
        problem_ = fmt::format("filter of type {}: a subtype is above 255", type);
    } else if (subtypes.none()) {
        problem_ = fmt::format("filter of type {} lets no subtype through", type);
    } else if ((info.value & ~info.mask) != 0) {
        problem_ = fmt::format("filter of type {}: info value {:#x} has bits outside mask {:#x}",
                               type, info.value, info.mask);
    } else if ((info.mask & info_field::length) != 0) {
        problem_ = fmt::format("filter of type {}: info mask {:#x} covers the length bits", type,
                               info.mask);
    } else if (entries_.size() == max_filters) {
        problem_ = fmt::format("more than {} filter entries", max_filters);
    } else {
        entries_.push_back({type, subtypes, info.mask, info.value});
    }
    return *this;
}

FilterBuilder& FilterBuilder::add(std::uint32_t type, InfoMatch info) {
    return add_entry(type, std::bitset<256>().set(), info, false);
}

FilterBuilder& FilterBuilder::add(std::uint32_t type, std::initializer_list<unsigned> subtypes,
                                  InfoMatch info) {
    std::bitset<256> bits;
    bool out_of_range = false;
    for (const unsigned s : subtypes) {
        if (s < bits.size()) {
            bits.set(s);
        } else {
            out_of_range = true;
        }
    }
    return add_entry(type, bits, info, out_of_range);
}

FilterBuilder& FilterBuilder::add(std::uint32_t type, const std::bitset<256>& subtypes,
                                  InfoMatch info) {
    return add_entry(type, subtypes, info, false);
}

FilterBuilder& FilterBuilder::add(std::initializer_list<KeySubtype> subtypes, InfoMatch info) {
    return add_entry(static_cast<std::uint32_t>(Type::key), bits_of(subtypes), info, false);
}

FilterBuilder& FilterBuilder::add(std::initializer_list<BlockSubtype> subtypes, InfoMatch info) {
    return add_entry(static_cast<std::uint32_t>(Type::block), bits_of(subtypes), info, false);
}

FilterBuilder& FilterBuilder::add(std::initializer_list<UsbSubtype> subtypes, InfoMatch info) {
    return add_entry(static_cast<std::uint32_t>(Type::usb), bits_of(subtypes), info, false);
}

FilterBuilder& FilterBuilder::add(std::initializer_list<SuperblockSubtype> subtypes,
                                  InfoMatch info) {
    return add_entry(static_cast<std::uint32_t>(Type::superblock), bits_of(subtypes), info, false);
}

FilterBuilder& FilterBuilder::add(std::initializer_list<MountSubtype> subtypes, InfoMatch info) {
    return add_entry(static_cast<std::uint32_t>(Type::mount), bits_of(subtypes), info, false);
}

Filter FilterBuilder::build(std::error_code& ec) const noexcept {
    ec.clear();
    if (!problem_.empty() || entries_.empty()) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return Filter(std::vector<FilterEntry>{});
    }
    try {
        return Filter(entries_);
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return Filter(std::vector<FilterEntry>{});
    }
}

Filter FilterBuilder::build() const {
    if (!problem_.empty()) {
        throw error(std::make_error_code(std::errc::invalid_argument), problem_);
    }
    if (entries_.empty()) {
        throw error(std::make_error_code(std::errc::invalid_argument), "a filter with no entry");
    }
    return Filter(entries_);
}

} // namespace v0
} // namespace watchqueue
