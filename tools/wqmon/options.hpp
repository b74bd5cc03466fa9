// SPDX-License-Identifier: GPL-2.0-or-later
// wqmon's command line: what to watch, which records to keep, how to print.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <watchqueue/filter.hpp>

namespace wqmon {

struct KeyArg {
    std::string label; // as given: "@s", "1234"
    std::int32_t key = 0;
};

struct Options {
    std::vector<KeyArg> keys;
    bool devices = false;
    std::vector<std::string> blocks;   // block device paths
    std::vector<std::string> fs;       // --fs: files whose filesystem to watch
    std::vector<std::string> mounts;   // --mounts: directories whose mounts to watch
    std::vector<std::string> types;    // --type
    std::string key_letters;           // -f
    std::vector<std::string> subtypes; // --subtype TYPE:NAME[,NAME...]
    bool json = false;
    bool realtime = false;
    bool udev = true;
    bool quiet = false;
    std::uint64_t count = 0; // 0: unlimited
    double timeout = 0;      // seconds, 0: none
    std::uint64_t ring_bytes = 0;
};

// Parses argv; returns the options, or nullopt with @exit_code set (0 after
// --help, 2 after a usage error, the message already printed).
std::optional<Options> parse(int argc, char** argv, int& exit_code);

// "@s", "@u", ... or a decimal/0x serial; nullopt if neither.
std::optional<std::int32_t> parse_key(std::string_view arg) noexcept;

// The filter the options ask for (nullopt: no filter, every record).
// Throws std::invalid_argument with a message for a bad letter or name.
std::optional<watchqueue::Filter> build_filter(const Options& options);

} // namespace wqmon
