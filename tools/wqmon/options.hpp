// SPDX-License-Identifier: GPL-2.0-or-later
// wqmon's command line: what to watch, which records to keep, how to print.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <watchqueue/filter.hpp>

namespace wqmon {

// wqmon's exit statuses, documented in wqmon.1 and --help.
namespace exit_status {
inline constexpr int ok = 0;        // SIGINT, SIGTERM, --count reached, --timeout without --count
inline constexpr int failure = 1;   // an error (the message says which)
inline constexpr int usage = 2;     // a usage error
inline constexpr int timeout = 124; // --timeout expired before --count records (as timeout(1))
} // namespace exit_status

// "wqmon 0.1.0": what --version prints (the version of meson's project()).
[[nodiscard]] std::string version_line();

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
    bool iso_time = false;
    bool udev = true;
    bool quiet = false;
    std::uint64_t count = 0; // 0: unlimited
    double timeout = 0;      // seconds, 0: none
    std::uint64_t ring_bytes = 0;
    bool journal = false;         // --journal: records to the journal, not stdout
    std::string metrics_textfile; // --metrics-textfile: "" for none
    double metrics_interval = 15; // seconds between rewrites of the metrics file
    bool wait_device = false;     // --wait-device: wait for the module, reopen on SIGHUP
};

// Parses argv; returns the options, or nullopt with @exit_code set (0 after
// --help or --version, printed on @out; exit_status::usage after a usage
// error, printed on @err as "wqmon: ...").
std::optional<Options> parse(int argc, char** argv, int& exit_code, std::ostream& out,
                             std::ostream& err);
std::optional<Options> parse(int argc, char** argv, int& exit_code);

// The exit status when --timeout expires: exit_status::timeout if --count
// records were asked for (they did not all arrive), else exit_status::ok.
[[nodiscard]] int timeout_exit_status(const Options& options) noexcept;

// "@s", "@u", ... or a decimal/0x serial; nullopt if neither.
std::optional<std::int32_t> parse_key(std::string_view arg) noexcept;

// The filter the options ask for (nullopt: no filter, every record).
// Throws std::invalid_argument with a message for a bad letter or name.
std::optional<watchqueue::Filter> build_filter(const Options& options);

} // namespace wqmon
