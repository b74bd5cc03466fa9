// SPDX-License-Identifier: GPL-2.0-or-later
#include "output.hpp"

#include <array>
#include <cctype>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string_view>

#include <sys/sysmacros.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace wqmon {
namespace {

namespace wq = watchqueue;
using Json = nlohmann::json;

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string line(std::string_view source, std::string_view when, std::string_view action,
                 std::string_view details) {
    return fmt::format("{:<6}[{}] {:<8} {}", source, when, action, details);
}

std::string when(Timestamp ts, TimeStyle style) {
    switch (style) {
    case TimeStyle::iso:
        return iso_time(ts.realtime_us);
    case TimeStyle::realtime:
        return fmt::format("{}.{:06}", ts.realtime_us / 1000000, ts.realtime_us % 1000000);
    case TimeStyle::monotonic:
        break;
    }
    return fmt::format("{}.{:06}", ts.monotonic_us / 1000000, ts.monotonic_us % 1000000);
}

std::uint64_t micros(clockid_t clock) noexcept {
    timespec t{};
    ::clock_gettime(clock, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1000000 +
           static_cast<std::uint64_t>(t.tv_nsec) / 1000;
}

// "dev": {"major": M, "minor": m}, the same in every record with a device
Json dev_json(std::uint64_t dev) {
    return Json{{"major", major(dev)}, {"minor", minor(dev)}};
}

// "error" with "error_name" when there is an error
void add_error(Json& j, std::int32_t error) {
    j["error"] = error;
    if (error != 0) {
        j["error_name"] = errno_name(error);
    }
}

std::string label_of(const WatchLabels& labels, unsigned watch) {
    const auto it = labels.find(watch);
    return it != labels.end() ? it->second : fmt::format("watch {}", watch);
}

std::string describe(const std::optional<wq::DeviceInfo>& info) {
    if (!info) {
        return "";
    }
    std::string s = info->node;
    std::string what = info->vendor;
    if (!info->product.empty()) {
        what += (what.empty() ? "" : " ") + info->product;
    }
    if (!info->serial.empty()) {
        what += (what.empty() ? "serial " : ", serial ") + info->serial;
    }
    if (!what.empty()) {
        s += (s.empty() ? "(" : " (") + what + ")";
    }
    return s;
}

void add_device(Json& j, const std::optional<wq::DeviceInfo>& info) {
    if (!info) {
        return;
    }
    if (!info->node.empty()) {
        j["node"] = info->node;
    }
    if (!info->vendor.empty()) {
        j["vendor"] = info->vendor;
    }
    if (!info->product.empty()) {
        j["product"] = info->product;
    }
    if (!info->serial.empty()) {
        j["serial"] = info->serial;
    }
}

std::optional<wq::DeviceInfo> lookup_block(const Enricher& e, std::uint64_t dev) {
    return e.block ? e.block(dev) : std::nullopt;
}

std::optional<wq::DeviceInfo> lookup_usb(const Enricher& e, std::string_view name) {
    return e.usb ? e.usb(name) : std::nullopt;
}

std::string dev_name(std::uint64_t dev) {
    return fmt::format("{}:{}", major(dev), minor(dev));
}

// "8:1 ro emergency", "8:1 EIO ino 12", "8:1 EDQUOT id 1000 block-hard"
std::string fs_details(const wq::SuperblockEvent& ev) {
    std::string s = dev_name(ev.sb_id);
    if (ev.subtype == wq::SuperblockSubtype::readonly) {
        s += ev.is_now_ro ? " ro" : " rw";
        if (ev.emergency) {
            s += " emergency";
        }
        return s;
    }
    s += " " + errno_name(ev.error);
    if (ev.subtype == wq::SuperblockSubtype::edquot) {
        return s + fmt::format(" id {} {}", ev.ino, quota_warning_name(ev.aux));
    }
    if (ev.ino != 0) {
        s += fmt::format(" ino {}", ev.ino);
    }
    if (ev.aux != 0) {
        s += fmt::format(" aux {}", ev.aux);
    }
    return s;
}

// The read-only state is meaningful only for these two subtypes.
bool shows_ro(wq::MountSubtype s) {
    return s == wq::MountSubtype::new_mount || s == wq::MountSubtype::readonly;
}

// "mount 311 parent 29 below /mnt ro"
std::string mount_details(const wq::MountEvent& ev, const std::string& watched) {
    std::string s = fmt::format("mount {} parent {} {} {}", ev.mount_id, ev.parent_id,
                                ev.in_subtree ? "below" : "at", watched);
    if (ev.subtype == wq::MountSubtype::readonly) {
        s += ev.is_now_ro ? " ro" : " rw";
    } else if (ev.subtype == wq::MountSubtype::new_mount && ev.is_now_ro) {
        s += " ro";
    }
    return s;
}

void add_fs(Json& j, const wq::SuperblockEvent& ev) {
    j["subtype"] = wq::subtype_name(ev.subtype);
    j["dev"] = dev_json(ev.sb_id);
    if (ev.subtype == wq::SuperblockSubtype::readonly) {
        j["readonly"] = ev.is_now_ro;
        j["emergency"] = ev.emergency;
        return;
    }
    add_error(j, ev.error);
    j["aux"] = ev.aux;
    if (ev.subtype == wq::SuperblockSubtype::edquot) {
        j["id"] = ev.ino; // the quota's user or group id
        j["warning"] = quota_warning_name(ev.aux);
    } else {
        j["ino"] = ev.ino;
    }
}

void add_mount(Json& j, const wq::MountEvent& ev) {
    j["subtype"] = wq::subtype_name(ev.subtype);
    j["mount_id"] = ev.mount_id;
    j["parent_id"] = ev.parent_id;
    j["in_subtree"] = ev.in_subtree;
    if (shows_ro(ev.subtype)) {
        j["readonly"] = ev.is_now_ro;
    }
}

} // namespace

std::string watch_list(const WatchLabels& labels) {
    std::string list;
    for (const auto& [id, label] : labels) {
        list += (list.empty() ? "" : " ") + label;
    }
    return list;
}

Timestamp now() noexcept {
    return {micros(CLOCK_MONOTONIC), micros(CLOCK_REALTIME)};
}

std::string read_boot_id(const char* path) {
    std::ifstream in(path);
    std::string text;
    if (!std::getline(in, text)) {
        return "";
    }
    std::string id;
    for (const char c : text) {
        if (c == '-') {
            continue;
        }
        if (std::isxdigit(static_cast<unsigned char>(c)) == 0) {
            return "";
        }
        id += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return id.size() == 32 ? id : "";
}

std::string iso_time(std::uint64_t realtime_us) {
    const auto secs = static_cast<std::time_t>(realtime_us / 1000000);
    std::tm tm{};
    if (::localtime_r(&secs, &tm) == nullptr) {
        return fmt::format("@{}.{:06}", realtime_us / 1000000, realtime_us % 1000000);
    }
    std::array<char, 32> date{};
    std::array<char, 8> zone{}; // "+0100"
    (void)std::strftime(date.data(), date.size(), "%Y-%m-%dT%H:%M:%S", &tm);
    (void)std::strftime(zone.data(), zone.size(), "%z", &tm);
    const std::string_view z(zone.data());
    // ISO 8601's extended format wants the offset as +01:00
    const std::string offset =
        z.size() == 5 ? fmt::format("{}:{}", z.substr(0, 3), z.substr(3)) : std::string(z);
    return fmt::format("{}.{:06}{}", date.data(), realtime_us % 1000000, offset);
}

std::string errno_name(int e) {
    const char* name = e > 0 ? ::strerrorname_np(e) : nullptr;
    return name != nullptr ? std::string(name) : fmt::format("errno {}", e);
}

std::string quota_warning_name(std::uint32_t warning) {
    // QUOTA_NL_IHARDWARN (1) .. QUOTA_NL_BSOFTBELOW (10)
    static constexpr std::array<std::string_view, 10> names = {
        "inode-hard",       "inode-grace",     "inode-soft",       "block-hard",
        "block-grace",      "block-soft",      "inode-hard-below", "inode-soft-below",
        "block-hard-below", "block-soft-below"};
    if (warning >= 1 && warning <= names.size()) {
        return std::string(names.at(warning - 1));
    }
    return fmt::format("warning {}", warning);
}

Formatter::Parts Formatter::parts(const wq::Record& rec) const {
    return wq::visit(
        Overloaded{
            [&](const wq::LossEvent& ev) {
                return Parts{"LOSS", "lost",
                             ev.count ? fmt::format("{} records", *ev.count) : "records"};
            },
            [&](const wq::RemovalEvent& ev) {
                std::string details = label_of(labels, rec.watch_id());
                if (ev.id) {
                    details += fmt::format(" id {}", *ev.id);
                }
                return Parts{"WATCH", "gone", details};
            },
            [&](const wq::KeyEvent& ev) {
                std::string details = fmt::format("{}", ev.key);
                if (ev.subtype == wq::KeySubtype::linked ||
                    ev.subtype == wq::KeySubtype::unlinked ||
                    (ev.subtype == wq::KeySubtype::instantiated && ev.aux != 0)) {
                    details += fmt::format(" {}", static_cast<std::int32_t>(ev.aux));
                }
                return Parts{"KEY", std::string(wq::subtype_name(ev.subtype)), details};
            },
            [&](const wq::BlockEvent& ev) {
                std::string details =
                    fmt::format("{}:{} sector {}", major(ev.dev), minor(ev.dev), ev.sector);
                const std::string dev = describe(lookup_block(enrich, ev.dev));
                if (!dev.empty()) {
                    details += " " + dev;
                }
                return Parts{"BLOCK", std::string(wq::subtype_name(ev.subtype)), details};
            },
            [&](const wq::UsbEvent& ev) {
                std::string details(ev.name);
                if (ev.error != 0) {
                    details += fmt::format(" error {}", ev.error);
                }
                const std::string dev = describe(lookup_usb(enrich, ev.name));
                if (!dev.empty()) {
                    details += " " + dev;
                }
                return Parts{"USB", std::string(wq::subtype_name(ev.subtype)), details};
            },
            [&](const wq::SuperblockEvent& ev) {
                return Parts{"FS", std::string(wq::subtype_name(ev.subtype)), fs_details(ev)};
            },
            [&](const wq::MountEvent& ev) {
                return Parts{"MOUNT", std::string(wq::subtype_name(ev.subtype)),
                             mount_details(ev, label_of(labels, rec.watch_id()))};
            },
            [&](const wq::RawEvent&) {
                return Parts{"RAW", fmt::format("{:#x}/{}", rec.raw_type(), rec.subtype),
                             fmt::format("{} bytes", rec.length())};
            },
        },
        rec);
}

std::string Formatter::human(const wq::Record& rec, Timestamp ts) const {
    const Parts p = parts(rec);
    return line(p.source, when(ts, time_style), p.action, p.details);
}

std::string Formatter::human(const Gap& gap) const {
    return line("GAP", when(gap.to, time_style), "reopened", gap_details(gap));
}

std::string Formatter::json(const Gap& gap) const {
    Json j;
    j["time_monotonic_us"] = gap.to.monotonic_us;
    j["time_realtime_us"] = gap.to.realtime_us;
    if (!boot_id.empty()) {
        j["boot_id"] = boot_id;
    }
    j["type"] = "gap";
    j["from_monotonic_us"] = gap.from.monotonic_us;
    j["from_realtime_us"] = gap.from.realtime_us;
    return j.dump();
}

std::string gap_details(const Gap& gap) {
    const std::uint64_t us = gap.to.monotonic_us > gap.from.monotonic_us
                                 ? gap.to.monotonic_us - gap.from.monotonic_us
                                 : 0;
    return fmt::format("/dev/watch_queue: nothing seen for {}.{:06} s", us / 1000000, us % 1000000);
}

std::string Formatter::json(const wq::Record& rec, Timestamp ts) const {
    Json j;
    j["time_monotonic_us"] = ts.monotonic_us;
    j["time_realtime_us"] = ts.realtime_us;
    if (!boot_id.empty()) {
        j["boot_id"] = boot_id;
    }
    j["watch"] = rec.watch_id();
    if (!wq::as_loss(rec)) {
        j["watched"] = label_of(labels, rec.watch_id());
    }
    wq::visit(Overloaded{
                  [&](const wq::LossEvent& ev) {
                      j["type"] = "loss";
                      j["count"] = ev.count ? Json(*ev.count) : Json(nullptr);
                  },
                  [&](const wq::RemovalEvent& ev) {
                      j["type"] = "removal";
                      if (ev.id) {
                          j["object"] = *ev.id;
                      }
                  },
                  [&](const wq::KeyEvent& ev) {
                      j["type"] = "key";
                      j["subtype"] = wq::subtype_name(ev.subtype);
                      j["key"] = ev.key;
                      j["aux"] = ev.aux;
                  },
                  [&](const wq::BlockEvent& ev) {
                      j["type"] = "block";
                      j["subtype"] = wq::subtype_name(ev.subtype);
                      j["dev"] = dev_json(ev.dev);
                      j["sector"] = ev.sector;
                      add_device(j, lookup_block(enrich, ev.dev));
                  },
                  [&](const wq::UsbEvent& ev) {
                      j["type"] = "usb";
                      j["subtype"] = wq::subtype_name(ev.subtype);
                      j["name"] = std::string(ev.name);
                      add_error(j, ev.error);
                      add_device(j, lookup_usb(enrich, ev.name));
                  },
                  [&](const wq::SuperblockEvent& ev) {
                      j["type"] = "fs";
                      add_fs(j, ev);
                  },
                  [&](const wq::MountEvent& ev) {
                      j["type"] = "mount";
                      add_mount(j, ev);
                  },
                  [&](const wq::RawEvent&) {
                      j["type"] = "raw";
                      j["record_type"] = rec.raw_type();
                      j["subtype"] = rec.subtype;
                      j["length"] = rec.length();
                  },
              },
              rec);
    // invalid UTF-8 (a USB name is raw bytes) is replaced, never an exception
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace wqmon
