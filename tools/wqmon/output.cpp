// SPDX-License-Identifier: GPL-2.0-or-later
#include "output.hpp"

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

} // namespace

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
