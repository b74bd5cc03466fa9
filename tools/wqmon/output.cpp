// SPDX-License-Identifier: GPL-2.0-or-later
#include "output.hpp"

#include <array>
#include <cstring>
#include <string_view>
#include <variant>

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

std::string line(std::string_view source, Timestamp ts, std::string_view action,
                 std::string_view details) {
    return fmt::format("{:<6}[{}.{:06}] {:<8} {}", source, ts.sec, ts.usec, action, details);
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
    j["sb_id"] = ev.sb_id;
    j["major"] = major(ev.sb_id);
    j["minor"] = minor(ev.sb_id);
    if (ev.subtype == wq::SuperblockSubtype::readonly) {
        j["readonly"] = ev.is_now_ro;
        j["emergency"] = ev.emergency;
        return;
    }
    j["error"] = ev.error;
    j["error_name"] = errno_name(ev.error);
    j["aux"] = ev.aux;
    if (ev.subtype == wq::SuperblockSubtype::edquot) {
        j["id"] = ev.ino; // the quota's user or group id
        j["warning"] = quota_warning_name(ev.aux);
    } else {
        j["ino"] = ev.ino;
    }
}

void add_mount(Json& j, const wq::MountEvent& ev, const std::string& watched) {
    j["subtype"] = wq::subtype_name(ev.subtype);
    j["mount_id"] = ev.mount_id;
    j["parent_id"] = ev.parent_id;
    j["in_subtree"] = ev.in_subtree;
    j["object"] = watched;
    if (shows_ro(ev.subtype)) {
        j["readonly"] = ev.is_now_ro;
    }
}

} // namespace

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

std::string Formatter::human(const wq::Record& rec, Timestamp ts) const {
    return std::visit(
        Overloaded{
            [&](const wq::LossEvent& ev) {
                return line("LOSS", ts, "lost",
                            ev.count ? fmt::format("{} records", *ev.count) : "records");
            },
            [&](const wq::RemovalEvent& ev) {
                std::string details = label_of(labels, rec.watch_id());
                if (ev.id) {
                    details += fmt::format(" id {}", *ev.id);
                }
                return line("WATCH", ts, "gone", details);
            },
            [&](const wq::KeyEvent& ev) {
                std::string details = fmt::format("{}", ev.key);
                if (ev.subtype == wq::KeySubtype::linked ||
                    ev.subtype == wq::KeySubtype::unlinked ||
                    (ev.subtype == wq::KeySubtype::instantiated && ev.aux != 0)) {
                    details += fmt::format(" {}", static_cast<std::int32_t>(ev.aux));
                }
                return line("KEY", ts, wq::subtype_name(ev.subtype), details);
            },
            [&](const wq::BlockEvent& ev) {
                std::string details =
                    fmt::format("{}:{} sector {}", major(ev.dev), minor(ev.dev), ev.sector);
                const std::string dev = describe(lookup_block(enrich, ev.dev));
                if (!dev.empty()) {
                    details += " " + dev;
                }
                return line("BLOCK", ts, wq::subtype_name(ev.subtype), details);
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
                return line("USB", ts, wq::subtype_name(ev.subtype), details);
            },
            [&](const wq::SuperblockEvent& ev) {
                return line("FS", ts, wq::subtype_name(ev.subtype), fs_details(ev));
            },
            [&](const wq::MountEvent& ev) {
                return line("MOUNT", ts, wq::subtype_name(ev.subtype),
                            mount_details(ev, label_of(labels, rec.watch_id())));
            },
            [&](const wq::RawEvent&) {
                return line("RAW", ts, fmt::format("{:#x}/{}", rec.type, rec.subtype),
                            fmt::format("{} bytes", rec.length()));
            },
        },
        rec.event);
}

std::string Formatter::json(const wq::Record& rec, Timestamp ts) const {
    Json j;
    j["ts"] = ts.sec * 1000000 + ts.usec; // microseconds
    j["watch"] = rec.watch_id();
    std::visit(Overloaded{
                   [&](const wq::LossEvent& ev) {
                       j["type"] = "loss";
                       j["count"] = ev.count ? Json(*ev.count) : Json(nullptr);
                   },
                   [&](const wq::RemovalEvent& ev) {
                       j["type"] = "removal";
                       j["object"] = label_of(labels, rec.watch_id());
                       if (ev.id) {
                           j["id"] = *ev.id;
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
                       j["major"] = major(ev.dev);
                       j["minor"] = minor(ev.dev);
                       j["sector"] = ev.sector;
                       add_device(j, lookup_block(enrich, ev.dev));
                   },
                   [&](const wq::UsbEvent& ev) {
                       j["type"] = "usb";
                       j["subtype"] = wq::subtype_name(ev.subtype);
                       j["name"] = std::string(ev.name);
                       j["error"] = ev.error;
                       add_device(j, lookup_usb(enrich, ev.name));
                   },
                   [&](const wq::SuperblockEvent& ev) {
                       j["type"] = "fs";
                       add_fs(j, ev);
                   },
                   [&](const wq::MountEvent& ev) {
                       j["type"] = "mount";
                       add_mount(j, ev, label_of(labels, rec.watch_id()));
                   },
                   [&](const wq::RawEvent&) {
                       j["type"] = "raw";
                       j["record_type"] = rec.type;
                       j["subtype"] = rec.subtype;
                       j["length"] = rec.length();
                   },
               },
               rec.event);
    // invalid UTF-8 (a USB name is raw bytes) is replaced, never an exception
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace wqmon
