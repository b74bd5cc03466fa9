// SPDX-License-Identifier: GPL-2.0-or-later
#include "privileges.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include "watches.hpp"
#include <fmt/format.h>

namespace wqmon {
namespace {

using CapData = std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3>;

CapData get_caps() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    CapData data{};
    if (::syscall(SYS_capget, &header, data.data()) < 0) {
        throw Fatal{fmt::format("capget: {}", std::strerror(errno))};
    }
    return data;
}

std::uint64_t join(std::uint32_t low, std::uint32_t high) {
    return low | (static_cast<std::uint64_t>(high) << 32U);
}

} // namespace

std::uint64_t needed_capabilities(const Options& o) noexcept {
    // the global device watch, and filesystem watches that see every inode
    // (without it only the caller's own inodes are reported)
    return o.devices || !o.fs.empty() ? std::uint64_t{1} << CAP_SYS_ADMIN : 0;
}

void drop_capabilities(const Options& o) {
    const CapData now = get_caps();
    const std::uint64_t permitted = join(now[0].permitted, now[1].permitted);
    if (permitted == 0) {
        return;
    }
    const std::uint64_t keep = needed_capabilities(o) & permitted;
    // the bounding set first: dropping from it needs CAP_SETPCAP, which
    // the capset below gives away
    if ((permitted & (std::uint64_t{1} << CAP_SETPCAP)) != 0) {
        for (unsigned cap = 0; cap <= CAP_LAST_CAP; ++cap) {
            if ((keep & (std::uint64_t{1} << cap)) == 0 && ::prctl(PR_CAPBSET_DROP, cap) < 0 &&
                errno != EINVAL) {
                throw Fatal{fmt::format("dropping capability {} from the bounding set: {}", cap,
                                        std::strerror(errno))};
            }
        }
    }
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    static_assert(std::tuple_size_v<CapData> == 2, "two 32-bit words");
    const auto low = static_cast<std::uint32_t>(keep);
    const auto high = static_cast<std::uint32_t>(keep >> 32U);
    const CapData data{{{low, low, 0}, {high, high, 0}}};
    if (::syscall(SYS_capset, &header, data.data()) < 0) {
        throw Fatal{fmt::format("capset: {}", std::strerror(errno))};
    }
}

} // namespace wqmon
