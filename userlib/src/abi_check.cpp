// SPDX-License-Identifier: LGPL-2.1-or-later
// Checks the ABI table of abi.hpp against uapi/linux/wq_dev.h, at compile
// time: every row's value, and that the table and the header name the same
// constants, enumerators, structs and members (wq_dev_names.hpp, generated
// from the header by uapi-names).  No code: a failure is a build error.
#include <algorithm>
#include <cstddef>
#include <iterator>
#include <string_view>
#include <type_traits>
#include <utility>

#include "abi.hpp"
#include "wq_dev_names.hpp" // generated

#if defined(__GNUC__) && !defined(__clang__)
#include <array>
#include <bit>
#include <cstdint>
#endif

namespace watchqueue::abi {
namespace {

// Equal values: integers of any signedness, enumerators as their number.
template <class A, class B>
constexpr bool same(A a, B b) noexcept {
    if constexpr (std::is_enum_v<A>) {
        return same(static_cast<std::underlying_type_t<A>>(a), b);
    } else if constexpr (std::is_enum_v<B>) {
        return same(a, static_cast<std::underlying_type_t<B>>(b));
    } else {
        return std::cmp_equal(a, b);
    }
}

// ---------------------------------------------------------------------------
// Each row's value.

#define WQ_CHECK_VALUE(lib, uapi)                                                                  \
    static_assert(same(lib, uapi), #uapi " differs between uapi/linux/wq_dev.h and the library");
WQ_ABI_TYPES(WQ_CHECK_VALUE)
WQ_ABI_KEY_SUBTYPES(WQ_CHECK_VALUE)
WQ_ABI_BLOCK_SUBTYPES(WQ_CHECK_VALUE)
WQ_ABI_USB_SUBTYPES(WQ_CHECK_VALUE)
WQ_ABI_SB_SUBTYPES(WQ_CHECK_VALUE)
WQ_ABI_MOUNT_SUBTYPES(WQ_CHECK_VALUE)
WQ_ABI_CONSTANTS(WQ_CHECK_VALUE)
#undef WQ_CHECK_VALUE

#define WQ_CHECK_STRING(lib, uapi)                                                                 \
    static_assert(std::string_view(lib) == std::string_view(uapi),                                 \
                  #uapi " differs between uapi/linux/wq_dev.h and the library");
WQ_ABI_STRINGS(WQ_CHECK_STRING)
#undef WQ_CHECK_STRING

#define WQ_CHECK_STRUCT(s, size, align)                                                            \
    static_assert(sizeof(s) == (size) && alignof(s) == (align),                                    \
                  "struct " #s ": its size or alignment changed in uapi/linux/wq_dev.h");
WQ_ABI_STRUCTS(WQ_CHECK_STRUCT)
#undef WQ_CHECK_STRUCT

#define WQ_CHECK_MEMBER(s, m, off)                                                                 \
    static_assert(offsetof(s, m) == (off), #s "." #m ": its offset changed in wq_dev.h");
WQ_ABI_MEMBERS(WQ_CHECK_MEMBER)
#undef WQ_CHECK_MEMBER

// Bit-fields have no offsetof; GCC can bit_cast them at compile time
// (clang cannot yet: there, tests/unit/lib_abi.cpp checks them at run time).
#if defined(__GNUC__) && !defined(__clang__)
template <class S>
constexpr S all_ones() noexcept {
    std::array<std::uint8_t, sizeof(S)> bytes{};
    bytes.fill(0xff);
    return std::bit_cast<S>(bytes);
}
template <class S>
constexpr S one_bit(std::size_t bit) noexcept {
    std::array<std::uint8_t, sizeof(S)> bytes{};
    bytes.at(bit / 8) = static_cast<std::uint8_t>(1U << (bit % 8)); // little-endian bit order
    return std::bit_cast<S>(bytes);
}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WQ_CHECK_BITFIELD(s, m, first, width)                                                      \
    static_assert(all_ones<s>().m == (1ULL << (width)) - 1 && one_bit<s>(first).m == 1,            \
                  #s "." #m ": its bits changed in uapi/linux/wq_dev.h");
WQ_ABI_BITFIELDS(WQ_CHECK_BITFIELD)
#undef WQ_CHECK_BITFIELD
#endif
#endif

// ---------------------------------------------------------------------------
// The library's enums: every enumerator has a row (-Wswitch: a switch
// without default must name them all).  Every case returns true: that is
// the point.
// NOLINTBEGIN(bugprone-branch-clone)

#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
#define WQ_CASE(lib, uapi)                                                                         \
    case lib:                                                                                      \
        return true;
constexpr bool has_row(Type v) noexcept {
    switch (v) { WQ_ABI_TYPES(WQ_CASE) }
    return false;
}
constexpr bool has_row(KeySubtype v) noexcept {
    switch (v) { WQ_ABI_KEY_SUBTYPES(WQ_CASE) }
    return false;
}
constexpr bool has_row(BlockSubtype v) noexcept {
    switch (v) { WQ_ABI_BLOCK_SUBTYPES(WQ_CASE) }
    return false;
}
constexpr bool has_row(UsbSubtype v) noexcept {
    switch (v) { WQ_ABI_USB_SUBTYPES(WQ_CASE) }
    return false;
}
constexpr bool has_row(SuperblockSubtype v) noexcept {
    switch (v) { WQ_ABI_SB_SUBTYPES(WQ_CASE) }
    return false;
}
constexpr bool has_row(MountSubtype v) noexcept {
    switch (v) { WQ_ABI_MOUNT_SUBTYPES(WQ_CASE) }
    return false;
}
#undef WQ_CASE
#pragma GCC diagnostic pop
// NOLINTEND(bugprone-branch-clone)
static_assert(has_row(Type::meta) && has_row(KeySubtype::setattr) && has_row(BlockSubtype::io) &&
              has_row(UsbSubtype::device_error) && has_row(SuperblockSubtype::enospc) &&
              has_row(MountSubtype::move_to));

// ---------------------------------------------------------------------------
// The same names in the table and in the header.

#define WQ_NAME(lib, uapi) std::string_view(#uapi),
#define WQ_NAME1(a, ...) std::string_view(#a),
#define WQ_NAME2(a, b, ...) std::string_view(#a "." #b),
constexpr std::string_view table_constants[] = {
    WQ_ABI_TYPES(WQ_NAME) WQ_ABI_KEY_SUBTYPES(WQ_NAME) WQ_ABI_BLOCK_SUBTYPES(WQ_NAME)
        WQ_ABI_USB_SUBTYPES(WQ_NAME) WQ_ABI_SB_SUBTYPES(WQ_NAME) WQ_ABI_MOUNT_SUBTYPES(WQ_NAME)
            WQ_ABI_CONSTANTS(WQ_NAME) WQ_ABI_STRINGS(WQ_NAME)};
constexpr std::string_view table_structs[] = {WQ_ABI_STRUCTS(WQ_NAME1)};
constexpr std::string_view table_members[] = {WQ_ABI_MEMBERS(WQ_NAME2) WQ_ABI_BITFIELDS(WQ_NAME2)};
#undef WQ_NAME

#define WQ_HDR1(a) std::string_view(#a),
#define WQ_HDR2(a, b) std::string_view(#a "." #b),
constexpr std::string_view header_constants[] = {WQ_DEV_CONSTANTS(WQ_HDR1)};
constexpr std::string_view header_structs[] = {WQ_DEV_STRUCTS(WQ_HDR1)};
constexpr std::string_view header_members[] = {WQ_DEV_MEMBERS(WQ_HDR2) WQ_DEV_BITFIELDS(WQ_HDR2)};
#undef WQ_HDR1
#undef WQ_HDR2

template <std::size_t N>
constexpr bool listed(const std::string_view (&names)[N], std::string_view name) noexcept {
    return std::ranges::find(names, name) != std::end(names);
}

// A header name without a row: add one to abi.hpp.
#define WQ_IN_TABLE(a)                                                                             \
    static_assert(listed(table_constants, #a),                                                     \
                  #a " is in uapi/linux/wq_dev.h but has no row in userlib/src/abi.hpp");
WQ_DEV_CONSTANTS(WQ_IN_TABLE)
#undef WQ_IN_TABLE
#define WQ_IN_TABLE(a)                                                                             \
    static_assert(listed(table_structs, #a),                                                       \
                  "struct " #a                                                                     \
                  " is in uapi/linux/wq_dev.h but has no row in userlib/src/abi.hpp");
WQ_DEV_STRUCTS(WQ_IN_TABLE)
#undef WQ_IN_TABLE
#define WQ_IN_TABLE(a, b)                                                                          \
    static_assert(listed(table_members, #a "." #b),                                                \
                  #a "." #b " is in uapi/linux/wq_dev.h but has no row in userlib/src/abi.hpp");
WQ_DEV_MEMBERS(WQ_IN_TABLE)
WQ_DEV_BITFIELDS(WQ_IN_TABLE)
#undef WQ_IN_TABLE

// A row the header no longer has (a row naming something the header never
// defined does not compile at all).
#define WQ_IN_HEADER(lib, uapi)                                                                    \
    static_assert(listed(header_constants, #uapi),                                                 \
                  #uapi " has a row in userlib/src/abi.hpp but is not in uapi/linux/wq_dev.h");
WQ_ABI_TYPES(WQ_IN_HEADER)
WQ_ABI_KEY_SUBTYPES(WQ_IN_HEADER)
WQ_ABI_BLOCK_SUBTYPES(WQ_IN_HEADER)
WQ_ABI_USB_SUBTYPES(WQ_IN_HEADER)
WQ_ABI_SB_SUBTYPES(WQ_IN_HEADER)
WQ_ABI_MOUNT_SUBTYPES(WQ_IN_HEADER)
WQ_ABI_CONSTANTS(WQ_IN_HEADER)
WQ_ABI_STRINGS(WQ_IN_HEADER)
#undef WQ_IN_HEADER
#define WQ_IN_HEADER(s, ...)                                                                       \
    static_assert(listed(header_structs, #s),                                                      \
                  "struct " #s " has a row in userlib/src/abi.hpp but is not in the header");
WQ_ABI_STRUCTS(WQ_IN_HEADER)
#undef WQ_IN_HEADER
#define WQ_IN_HEADER(s, m, ...)                                                                    \
    static_assert(listed(header_members, #s "." #m),                                               \
                  #s "." #m " has a row in userlib/src/abi.hpp but is not in the header");
WQ_ABI_MEMBERS(WQ_IN_HEADER)
WQ_ABI_BITFIELDS(WQ_IN_HEADER)
#undef WQ_IN_HEADER
#undef WQ_NAME1
#undef WQ_NAME2

} // namespace
} // namespace watchqueue::abi
