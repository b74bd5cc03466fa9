// SPDX-License-Identifier: GPL-2.0-or-later
#include "metrics.hpp"

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>
#include <utility>
#include <variant>
#include <vector>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "watches.hpp"
#include <fmt/format.h>

namespace wqmon {
namespace {

namespace wq = watchqueue;
using Clock = std::chrono::steady_clock;

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// The metric families, in the order they are written (sorted by name).
enum class Metric : std::uint8_t {
    block_errors,
    filesystem_events,
    key_events,
    last_event,
    loss_records,
    gap_seconds,
    gaps,
    start_time,
    mount_changes,
    records_lost,
    records,
    usb_events,
    watches_removed,
};

struct Family {
    std::string_view name;
    std::string_view type; // "counter" or "gauge"
    std::string_view help;
    // The label names, "" after the last. A family without labels is
    // always written, 0 at first, so that increase() has a first sample.
    std::array<std::string_view, 3> labels;
    bool seconds = false; // values are microseconds, written as seconds
};

constexpr std::array<Family, 13> families = {{
    {"watch_queue_block_errors_total",
     "counter",
     "Block I/O errors by disk (major:minor, kernel name) and kind of error.",
     {"device", "name", "kind"}},
    {"watch_queue_filesystem_events_total",
     "counter",
     "Filesystem events by filesystem (major:minor), watch and event.",
     {"device", "watched", "event"}},
    {"watch_queue_key_events_total",
     "counter",
     "Key and keyring events by watch and event.",
     {"watched", "event"}},
    {"watch_queue_last_event_timestamp_seconds",
     "gauge",
     "When wqmon read the last record of each type, in seconds since the Epoch.",
     {"type"},
     true},
    {"watch_queue_loss_records_total",
     "counter",
     "Loss records read (each says that records were dropped).",
     {}},
    {"watch_queue_monitor_gap_seconds_total",
     "counter",
     "Seconds during which wqmon could not watch (module reloads).",
     {},
     true},
    {"watch_queue_monitor_gaps_total",
     "counter",
     "Times wqmon could not watch for a while (module reloads).",
     {}},
    {"watch_queue_monitor_start_time_seconds",
     "gauge",
     "When wqmon started writing this file, in seconds since the Epoch.",
     {},
     true},
    {"watch_queue_mount_changes_total",
     "counter",
     "Mount changes by watch and event.",
     {"watched", "event"}},
    {"watch_queue_records_lost_total",
     "counter",
     "Records the kernel dropped because the queue was full.",
     {}},
    {"watch_queue_records_total", "counter", "Records read, by type.", {"type"}},
    {"watch_queue_usb_events_total", "counter", "USB events by event and port.", {"event", "port"}},
    {"watch_queue_watches_removed_total",
     "counter",
     "Watches that ended (their object went away), by watch.",
     {"watched"}},
}};

// The UTF-8 of @s with every byte that is not part of a valid sequence
// replaced by U+FFFD: Prometheus rejects label values that are not UTF-8
// (a USB name or a path is raw bytes).
std::string valid_utf8(std::string_view s) {
    static constexpr std::string_view replacement = "\xef\xbf\xbd";
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (b < 0x80) {
            len = 1;
            cp = b;
        } else if ((b & 0xe0U) == 0xc0) {
            len = 2;
            cp = b & 0x1fU;
        } else if ((b & 0xf0U) == 0xe0) {
            len = 3;
            cp = b & 0x0fU;
        } else if ((b & 0xf8U) == 0xf0) {
            len = 4;
            cp = b & 0x07U;
        }
        bool ok = len != 0 && i + len <= s.size();
        for (std::size_t k = 1; ok && k < len; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            ok = (c & 0xc0U) == 0x80;
            cp = (cp << 6U) | (c & 0x3fU);
        }
        // no overlong forms, no surrogates, nothing past U+10FFFF
        static constexpr std::array<std::uint32_t, 5> min_cp = {0, 0, 0x80, 0x800, 0x10000};
        if (ok && (cp < min_cp.at(len) || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)) {
            ok = false;
        }
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out.append(replacement);
            ++i;
        }
    }
    return out;
}

// A label value in the text format: backslash, double quote and newline
// escaped.
std::string escape(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string seconds(std::uint64_t us) {
    return fmt::format("{}.{:06}", us / 1000000, us % 1000000);
}

std::string dev_label(std::uint64_t dev) {
    return fmt::format("{}:{}", major(dev), minor(dev));
}

std::string_view key_event(wq::KeySubtype s) {
    static constexpr std::array<std::string_view, 8> names = {"instantiated", "updated", "linked",
                                                              "unlinked",     "cleared", "revoked",
                                                              "invalidated",  "setattr"};
    const auto i = static_cast<std::size_t>(s);
    return i < names.size() ? names.at(i) : "unknown";
}

std::string_view fs_event(const wq::SuperblockEvent& ev) {
    switch (ev.subtype) {
    case wq::SuperblockSubtype::readonly:
        return ev.is_now_ro ? "read_only" : "read_write";
    case wq::SuperblockSubtype::error:
        return "error";
    case wq::SuperblockSubtype::edquot:
        return "quota";
    case wq::SuperblockSubtype::writeback_error:
        return "writeback_error";
    case wq::SuperblockSubtype::enospc:
        return "no_space";
    }
    return "unknown";
}

// A subtype's name as a label value, in snake case as every other label
// value here: "move-from" -> "move_from", "kernel-resource" -> "kernel_resource".
template <class Subtype>
std::string snake_name(Subtype s) {
    std::string name(wq::subtype_name(s));
    for (char& c : name) {
        if (c == '-') {
            c = '_';
        }
    }
    return name;
}

// Writes @text to @path through @tmp, renamed over @path: 0 or an errno.
// The temporary file is removed if anything fails.
int write_atomically(const std::string& path, const std::string& tmp, std::string_view text) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        return errno;
    }
    int err = 0;
    // readable by node_exporter's user whatever wqmon's umask
    if (::fchmod(fd, 0644) < 0) {
        err = errno;
    }
    std::size_t done = 0;
    while (err == 0 && done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno != EINTR) {
            err = errno;
        } else if (n == 0) {
            err = EIO;
        } else if (n > 0) {
            done += static_cast<std::size_t>(n);
        }
    }
    if (::close(fd) < 0 && err == 0) {
        err = errno;
    }
    if (err == 0 && ::rename(tmp.c_str(), path.c_str()) < 0) {
        err = errno;
    }
    if (err != 0) {
        ::unlink(tmp.c_str());
    }
    return err;
}

} // namespace

struct MetricsFile::State {
    using Series = std::map<std::vector<std::string>, std::uint64_t>;

    std::string path;
    std::string tmp; // PATH.tmp.<pid>, in the same directory
    std::chrono::milliseconds interval;
    const Formatter* formatter;
    std::array<Series, families.size()> series;
    std::map<std::uint64_t, std::string> disk_names; // looked up once per disk
    Clock::time_point last_write;
    bool failing = false; // the last write failed and was reported

    State(std::string p, std::chrono::milliseconds i, const Formatter& f)
        : path(std::move(p)), tmp(fmt::format("{}.tmp.{}", path, ::getpid())), interval(i),
          formatter(&f) {
        for (std::size_t m = 0; m < families.size(); ++m) {
            if (families.at(m).labels[0].empty()) {
                series.at(m)[{}] = 0;
            }
        }
        set(Metric::start_time, {}, now().realtime_us);
    }

    Series& of(Metric m) { return series.at(static_cast<std::size_t>(m)); }
    void add(Metric m, std::vector<std::string> labels, std::uint64_t n = 1) {
        of(m)[std::move(labels)] += n;
    }
    void set(Metric m, std::vector<std::string> labels, std::uint64_t value) {
        of(m)[std::move(labels)] = value;
    }

    // What watch @id stands for, as wqmon's output names it.
    [[nodiscard]] std::string watched(unsigned id) const {
        const auto it = formatter->labels.find(id);
        return valid_utf8(it != formatter->labels.end() ? it->second : fmt::format("watch {}", id));
    }

    // The disk's kernel name ("sdb", the basename of its node); "" if udev
    // does not know it.
    const std::string& disk_name(std::uint64_t dev) {
        auto it = disk_names.find(dev);
        if (it == disk_names.end()) {
            std::string name;
            const auto& lookup = formatter->enrich.block;
            if (const auto info = lookup ? lookup(dev) : std::nullopt; info) {
                name = info->node.substr(info->node.rfind('/') + 1); // npos + 1 == 0
            }
            it = disk_names.emplace(dev, valid_utf8(name)).first;
        }
        return it->second;
    }

    // Counts @rec; returns its type's label.
    std::string_view count(const wq::Record& rec) {
        return wq::visit(
            Overloaded{
                [&](const wq::LossEvent& ev) -> std::string_view {
                    add(Metric::loss_records, {});
                    add(Metric::records_lost, {}, ev.count.value_or(1));
                    return "loss";
                },
                [&](const wq::RemovalEvent&) -> std::string_view {
                    add(Metric::watches_removed, {watched(rec.watch_id())});
                    return "removal";
                },
                [&](const wq::KeyEvent& ev) -> std::string_view {
                    add(Metric::key_events,
                        {watched(rec.watch_id()), std::string(key_event(ev.subtype))});
                    return "key";
                },
                [&](const wq::BlockEvent& ev) -> std::string_view {
                    add(Metric::block_errors,
                        {dev_label(ev.dev), disk_name(ev.dev), snake_name(ev.subtype)});
                    return "block";
                },
                [&](const wq::UsbEvent& ev) -> std::string_view {
                    add(Metric::usb_events, {snake_name(ev.subtype), valid_utf8(ev.name)});
                    return "usb";
                },
                [&](const wq::SuperblockEvent& ev) -> std::string_view {
                    add(Metric::filesystem_events,
                        {dev_label(ev.sb_id), watched(rec.watch_id()), std::string(fs_event(ev))});
                    return "fs";
                },
                [&](const wq::MountEvent& ev) -> std::string_view {
                    add(Metric::mount_changes, {watched(rec.watch_id()), snake_name(ev.subtype)});
                    return "mount";
                },
                [&](const wq::RawEvent&) -> std::string_view { return "raw"; },
            },
            rec);
    }

    [[nodiscard]] std::string message(int err) const {
        return fmt::format("metrics: cannot write {}: {}", path, std::strerror(err));
    }
};

MetricsFile::MetricsFile(std::string path, std::chrono::milliseconds interval, const Formatter& fmt)
    : state_(std::make_unique<State>(std::move(path), interval, fmt)) {
    // node_exporter sees the file at once, and a wrong path fails here
    if (const int err = write_atomically(state_->path, state_->tmp, render()); err != 0) {
        throw Fatal{state_->message(err)};
    }
    state_->last_write = Clock::now();
}

MetricsFile::~MetricsFile() = default;

void MetricsFile::record(const wq::Record& rec, Timestamp ts) {
    const std::string type(state_->count(rec));
    state_->add(Metric::records, {type});
    state_->set(Metric::last_event, {type}, ts.realtime_us);
}

void MetricsFile::gap(const Gap& gap) {
    state_->add(Metric::gaps, {});
    if (gap.to.monotonic_us > gap.from.monotonic_us) {
        state_->add(Metric::gap_seconds, {}, gap.to.monotonic_us - gap.from.monotonic_us);
    }
}

void MetricsFile::flush(Clock::time_point now, bool final) {
    State& s = *state_;
    if (!final && now - s.last_write < s.interval) {
        return;
    }
    // Rewritten every interval even when nothing changed: the file's mtime
    // says that wqmon is alive. A failure is retried at the next interval.
    s.last_write = now;
    const int err = write_atomically(s.path, s.tmp, render());
    if (err == 0) {
        s.failing = false;
    } else if (!s.failing) {
        s.failing = true; // reported once, not every interval
        (void)std::fputs(fmt::format("wqmon: {}\n", s.message(err)).c_str(), stderr);
    }
}

std::optional<Clock::time_point> MetricsFile::next_flush() const {
    return state_->last_write + state_->interval;
}

std::string MetricsFile::render() const {
    std::string out;
    for (std::size_t m = 0; m < families.size(); ++m) {
        const Family& f = families.at(m);
        const State::Series& series = state_->series.at(m);
        if (series.empty()) {
            continue;
        }
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
        for (const auto& [labels, value] : series) {
            out += f.name;
            for (std::size_t i = 0; i < labels.size(); ++i) {
                out += fmt::format("{}{}=\"{}\"", i == 0 ? "{" : ",", f.labels.at(i),
                                   escape(labels[i]));
            }
            out += labels.empty() ? " " : "} ";
            out += f.seconds ? seconds(value) : std::to_string(value);
            out += '\n';
        }
    }
    return out;
}

} // namespace wqmon
