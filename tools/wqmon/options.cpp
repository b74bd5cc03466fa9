// SPDX-License-Identifier: GPL-2.0-or-later
#include "options.hpp"

#include <array>
#include <bitset>
#include <charconv>
#include <iostream>
#include <map>
#include <stdexcept>
#include <utility>

#include "wqmon_config.h"
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <watchqueue/queue.hpp>
#include <watchqueue/record.hpp>

namespace wqmon {
namespace {

namespace wq = watchqueue;

constexpr std::array<std::pair<std::string_view, std::int32_t>, 7> special_keys = {{
    {"@t", wq::key_spec::thread},
    {"@p", wq::key_spec::process},
    {"@s", wq::key_spec::session},
    {"@u", wq::key_spec::user},
    {"@us", wq::key_spec::user_session},
    {"@g", wq::key_spec::group},
    {"@a", wq::key_spec::reqkey_auth},
}};

// keyctl watch -f letters, in subtype order
constexpr std::string_view key_letter_order = "iplncrvs";

std::uint32_t type_number(std::string_view name) {
    for (std::uint32_t t = 1; t <= 5; ++t) {
        if (wq::type_name(t) == name) {
            return t;
        }
    }
    throw std::invalid_argument(
        fmt::format("unknown type '{}' (key, block, usb, fs or mount)", name));
}

unsigned subtype_number(std::uint32_t type, std::string_view name) {
    for (unsigned s = 0; s < 256; ++s) {
        std::string_view known;
        if (type == 1 && s <= 7) {
            known = wq::subtype_name(static_cast<wq::KeySubtype>(s));
        } else if (type == 2 && s >= 1 && s <= 10) {
            known = wq::subtype_name(static_cast<wq::BlockSubtype>(s));
        } else if (type == 3 && s <= 5) {
            known = wq::subtype_name(static_cast<wq::UsbSubtype>(s));
        } else if (type == 4 && s <= 5) {
            known = wq::subtype_name(static_cast<wq::SuperblockSubtype>(s));
        } else if (type == 5 && s <= 6) {
            known = wq::subtype_name(static_cast<wq::MountSubtype>(s));
        }
        if (!known.empty() && known != "?" && known == name) {
            return s;
        }
    }
    throw std::invalid_argument(
        fmt::format("unknown subtype '{}' of type {}", name, wq::type_name(type)));
}

// Usage errors, CLI11's own included: "wqmon: what\n" and where to look.
std::string failure_message(const CLI::App* /*app*/, const CLI::Error& e) {
    return fmt::format("wqmon: {}\nTry 'wqmon --help' for more information.\n", e.what());
}

} // namespace

std::string version_line() {
    return fmt::format("wqmon {}", WQMON_VERSION);
}

int timeout_exit_status(const Options& options) noexcept {
    return options.count != 0 ? exit_status::timeout : exit_status::ok;
}

std::optional<std::int32_t> parse_key(std::string_view arg) noexcept {
    for (const auto& [name, id] : special_keys) {
        if (arg == name) {
            return id;
        }
    }
    int base = 10;
    if (arg.starts_with("0x")) {
        arg.remove_prefix(2);
        base = 16;
    }
    std::int32_t value = 0;
    const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), value, base);
    if (ec != std::errc() || end != arg.data() + arg.size() || arg.empty() || value <= 0) {
        return std::nullopt;
    }
    return value;
}

std::optional<wq::Filter> build_filter(const Options& options) {
    std::map<std::uint32_t, std::bitset<256>> wanted; // empty set: all subtypes
    for (const std::string& t : options.types) {
        wanted[type_number(t)];
    }
    if (!options.key_letters.empty()) {
        auto& bits = wanted[1];
        for (const char c : options.key_letters) {
            const auto pos = key_letter_order.find(c);
            if (pos == std::string_view::npos) {
                throw std::invalid_argument(
                    fmt::format("unknown key filter letter '{}' (one of {})", c, key_letter_order));
            }
            bits.set(pos);
        }
    }
    for (const std::string& spec : options.subtypes) {
        const auto colon = spec.find(':');
        if (colon == std::string::npos) {
            throw std::invalid_argument(
                fmt::format("'{}': expected TYPE:SUBTYPE[,SUBTYPE...]", spec));
        }
        const std::uint32_t type = type_number(std::string_view(spec).substr(0, colon));
        auto& bits = wanted[type];
        std::string_view rest = std::string_view(spec).substr(colon + 1);
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            bits.set(subtype_number(type, rest.substr(0, comma)));
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
    }
    if (wanted.empty()) {
        return std::nullopt;
    }
    wq::FilterBuilder builder;
    for (const auto& [type, bits] : wanted) {
        builder.add(type, bits.none() ? std::bitset<256>().set() : bits);
    }
    return builder.build();
}

std::optional<Options> parse(int argc, char** argv, int& exit_code) {
    return parse(argc, argv, exit_code, std::cout, std::cerr);
}

std::optional<Options> parse(int argc, char** argv, int& exit_code, std::ostream& out,
                             std::ostream& err) {
    Options o;
    std::vector<std::string> key_args;
    CLI::App app("Print notifications of key, keyring, device, filesystem and mount changes from "
                 "/dev/watch_queue.",
                 "wqmon");
    app.add_option("key", key_args, "Keys or keyrings to watch: @s @u @us @p @t @g @a or a serial");
    app.add_flag("-d,--devices", o.devices,
                 "Watch every device: block errors and USB events (needs CAP_SYS_ADMIN)");
    app.add_option("-b,--block", o.blocks, "Watch the errors of one block device")
        ->type_name("DEV")
        ->allow_extra_args(false); // one value per use: keys may follow
    app.add_option("--fs", o.fs,
                   "Watch the filesystem holding PATH: write-back and filesystem errors, "
                   "read-only changes, quota and space")
        ->type_name("PATH")
        ->allow_extra_args(false); // one value per use: keys may follow
    app.add_option("--mounts", o.mounts, "Watch the mounts at or below the directory DIR")
        ->type_name("DIR")
        ->allow_extra_args(false); // one value per use: keys may follow
    app.add_option("-t,--type", o.types, "Only records of TYPE: key, block, usb, fs, mount")
        ->type_name("TYPE")
        ->allow_extra_args(false); // one value per use: keys may follow
    app.add_option("-f,--filter", o.key_letters,
                   "Only these key changes (keyctl watch's letters): i(nstantiated) "
                   "u(p)dated l(inked) u(n)linked c(leared) r(evoked) in(v)alidated (s)etattr")
        ->type_name("LETTERS");
    app.add_option("-s,--subtype", o.subtypes,
                   "Only these subtypes of TYPE, e.g. block:medium,io, usb:add,remove or "
                   "fs:wb-error,error")
        ->type_name("TYPE:NAMES")
        ->allow_extra_args(false); // one value per use: keys may follow
    app.add_flag("-j,--json", o.json, "Print one JSON object per line");
    app.add_option("-n,--count", o.count, "Exit after N records")->type_name("N");
    app.add_option("--timeout", o.timeout,
                   "Exit after SECS seconds (status 124 if --count records did not all arrive)")
        ->type_name("SECS")
        ->check(CLI::NonNegativeNumber.description(""));
    app.add_flag("--realtime", o.realtime,
                 "Human output: times from CLOCK_REALTIME (default: CLOCK_MONOTONIC, as udevadm "
                 "monitor)");
    app.add_flag("--iso-time", o.iso_time,
                 "Human output: wall-clock times in ISO 8601 with the UTC offset "
                 "(2026-01-31T12:00:00.000000+01:00)");
    bool no_udev = false;
    app.add_flag("--no-udev", no_udev, "Do not look device names up in udev");
    app.add_flag("-q,--quiet", o.quiet, "No banner on stderr once the watches are in place");
    app.add_option("--ring-bytes", o.ring_bytes, "Size of the queue's ring in bytes")
        ->type_name("BYTES");
    app.add_flag("--journal", o.journal,
                 "Send each record to the systemd journal as one entry with its fields, "
                 "instead of printing it");
    app.add_option("--metrics-textfile", o.metrics_textfile,
                   "Keep counters in Prometheus' text format in PATH, for node_exporter's "
                   "textfile collector")
        ->type_name("PATH");
    app.add_option("--metrics-interval", o.metrics_interval,
                   "Rewrite the --metrics-textfile every SECS seconds (default 15)")
        ->type_name("SECS")
        ->check(CLI::PositiveNumber.description(""));
    app.add_flag("--wait-device", o.wait_device,
                 "Wait for /dev/watch_queue when it is missing; on SIGHUP, close it so that the "
                 "module can be reloaded, then reopen it and add the watches again");
    app.set_version_flag("-V,--version", version_line(), "Print the version and exit");
    app.footer("Exit status: 0 on SIGINT or SIGTERM, after --count records, or when --timeout "
               "expires without --count; 124 when --timeout expires before --count records "
               "arrived; 1 on errors; 2 on usage errors. See wqmon(1).");
    app.failure_message(failure_message);
    // usage errors exit with 2, as getopt-based tools do
    auto usage = [&](const CLI::Error& e) {
        exit_code = app.exit(e, out, err) == 0 ? exit_status::ok : exit_status::usage;
        return std::nullopt;
    };
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return usage(e);
    }
    o.udev = !no_udev;
    for (const std::string& k : key_args) {
        const auto key = parse_key(k);
        if (!key) {
            return usage(CLI::ValidationError(
                "key", fmt::format("'{}' is not a key serial or one of @s @u @us @p @t @g @a", k)));
        }
        o.keys.push_back({k, *key});
    }
    if (o.keys.empty() && !o.devices && o.blocks.empty() && o.fs.empty() && o.mounts.empty()) {
        return usage(CLI::ValidationError(
            "nothing to watch", "give keys, --devices, --block DEV, --fs PATH or --mounts DIR"));
    }
    if (o.journal && o.json) {
        return usage(CLI::ValidationError(
            "--json", "--journal sends records to the journal: there is no output to format"));
    }
    try {
        (void)build_filter(o);
    } catch (const std::exception& e) {
        return usage(CLI::ValidationError("filter", e.what()));
    }
    return o;
}

} // namespace wqmon
