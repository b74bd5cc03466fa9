// SPDX-License-Identifier: GPL-2.0-or-later
// What wqmon's unit tests share: records decoded from fake bytes, and
// command lines parsed as wqmon's main() would.
#pragma once

#include <cstddef>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "options.hpp"
#include <watchqueue/watchqueue.hpp>

namespace wqmontest {

// The record in @buf: a view of it, valid as long as @buf is.
inline watchqueue::Record decode(const std::vector<std::byte>& buf) {
    return watchqueue::decode_record({buf.data(), buf.size()});
}

// What parsing a command line printed, and its exit status.
struct Parsed {
    std::optional<wqmon::Options> options;
    int rc = -1;
    std::string out; // standard output
    std::string err; // standard error
};

// Parses "wqmon <args>", capturing what it prints.
inline Parsed parse_captured(std::vector<std::string> args) {
    args.insert(args.begin(), "wqmon");
    std::vector<char*> argv;
    argv.reserve(args.size());
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    Parsed p;
    std::ostringstream out;
    std::ostringstream err;
    p.options = wqmon::parse(static_cast<int>(argv.size()), argv.data(), p.rc, out, err);
    p.out = out.str();
    p.err = err.str();
    return p;
}

// Parses "wqmon <args>"; @rc is the exit status when it returns nothing.
inline std::optional<wqmon::Options> parse(std::vector<std::string> args, int& rc) {
    Parsed p = parse_captured(std::move(args));
    rc = p.rc;
    return std::move(p.options);
}

} // namespace wqmontest
