// SPDX-License-Identifier: GPL-2.0-or-later
// What wqmon's unit tests share: records decoded from fake bytes, and
// command lines parsed as wqmon's main() would.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "options.hpp"
#include <watchqueue/watchqueue.hpp>

namespace wqmontest {

inline watchqueue::Record decode(const std::vector<std::byte>& buf) {
    return watchqueue::decode_record({buf.data(), buf.size()});
}

// Parses "wqmon <args>"; @rc is the exit status when it returns nothing.
inline std::optional<wqmon::Options> parse(std::vector<std::string> args, int& rc) {
    args.insert(args.begin(), "wqmon");
    std::vector<char*> argv;
    argv.reserve(args.size());
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    return wqmon::parse(static_cast<int>(argv.size()), argv.data(), rc);
}

} // namespace wqmontest
