// SPDX-License-Identifier: GPL-2.0-or-later
#include <array>
#include <cstdlib>
#include <optional>
#include <syslog.h>
#include <variant>

#include <sys/sysmacros.h>

#include "journal.hpp"
#include <fmt/format.h>

namespace wqmon {
namespace {

namespace wq = watchqueue;

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// Fixed for ever: journalctl MESSAGE_ID=... and the catalog depend on them.
constexpr std::array<MessageKind, 30> kinds = {{
    {"f92dc8762bbb405a9feb148aeea7070f", "key"},
    {"2752b10b0340476ab7e0c9a443e1ff74", "block-timeout"},
    {"ab0d1099d0d047b4aba6726fc0e91d28", "block-no-space"},
    {"e3d2b070b5e747eeb19c28cfe770eab3", "block-transport"},
    {"e3a8d090ae1240cfab0ca03141a74b7d", "block-target"},
    {"e745c51ebdb94dbabd23583fe22cb3df", "block-nexus"},
    {"82fc170d870743f48e4956f8b3880733", "block-medium"},
    {"c8c1c0fccc8a454abcd151178a2865c3", "block-protection"},
    {"84e75f3d982a4895939154b8c5b2cc3c", "block-kernel-resource"},
    {"f09d7de669624639b96fe4c3e271c7e8", "block-device-resource"},
    {"82b15389ed124d8d95eb8f6d3c689e86", "block-io"},
    {"d2870e2cc85e436292ab2e9a608654ff", "usb-add"},
    {"9d7706e431d948bfa847193e0e13f692", "usb-remove"},
    {"602e91b78a71441aa46bdecfa81746d2", "usb-bus-add"},
    {"a79c5b09fe004f66acd29acc9d112400", "usb-bus-remove"},
    {"9095b7d8216d4146b520950ac7cfbe7d", "usb-reset"},
    {"cf4d97344fbf4819b41a3815961f5352", "usb-error"},
    {"d989051b9e0d4336805c29f45491dcf4", "fs-read-only"},
    {"8d1c8128a1b446dca5f4a8650037af4d", "fs-read-write"},
    {"b0196a7d3f164362b63691f7260a948b", "fs-error"},
    {"a7a4ef75237d4ca5bd1090f03755bb71", "fs-quota"},
    {"7ea7926e9aac41a4b6596cbd8ffc7340", "fs-writeback-error"},
    {"6de79f23b4714a38b722f000c5e7a580", "fs-no-space"},
    {"bf2e79799114440988da6faac01321ce", "mount"},
    {"dcfc7bf229494ae6965128e2c56456a5", "loss"},
    {"681c1aa8edf540e7ade50762ce50fb30", "watch-gone"},
    {"496c7befa78c49948f40f0fe3225149c", "gap"},
    {"03c91f5ce0c5491cb95555eb9372765f", "unknown"},
    {"973d29809ea748d3b603891ada58a0ac", "start"},
    {"0fb15925df6140abaa4fbc94942920d3", "usb-other"},
}};

std::string_view id_of(std::string_view name) {
    for (const MessageKind& k : kinds) {
        if (k.name == name) {
            return k.id;
        }
    }
    return id_of("unknown");
}

class Fields {
public:
    Fields(std::string_view kind, int priority, const std::string& message) {
        add("MESSAGE", message);
        add("PRIORITY", priority);
        add("MESSAGE_ID", id_of(kind));
        add("SYSLOG_IDENTIFIER", "wqmon");
    }

    template <class T>
    void add(std::string_view name, const T& value) {
        fields_.push_back(fmt::format("{}={}", name, value));
    }

    void add_dev(std::uint64_t dev) {
        add("WQ_DEV_MAJOR", major(dev));
        add("WQ_DEV_MINOR", minor(dev));
    }

    // errno as journald's own ERRNO field and ours, with its name
    void add_errno(std::int32_t e) {
        const int value = std::abs(e);
        add("ERRNO", value);
        add("WQ_ERRNO", value);
        if (value != 0) {
            add("WQ_ERRNO_NAME", errno_name(value));
        }
    }

    void add_device(const std::optional<wq::DeviceInfo>& info) {
        if (!info) {
            return;
        }
        const std::pair<std::string_view, const std::string*> udev[] = {
            {"WQ_DEVNODE", &info->node},
            {"WQ_VENDOR", &info->vendor},
            {"WQ_PRODUCT", &info->product},
            {"WQ_SERIAL", &info->serial},
        };
        for (const auto& [name, value] : udev) {
            if (!value->empty()) {
                add(name, *value);
            }
        }
    }

    std::vector<std::string> take() { return std::move(fields_); }

private:
    std::vector<std::string> fields_;
};

std::string_view key_verb(wq::KeySubtype s) {
    switch (s) {
    case wq::KeySubtype::instantiated:
        return "instantiated";
    case wq::KeySubtype::updated:
        return "updated";
    case wq::KeySubtype::linked:
        return "linked";
    case wq::KeySubtype::unlinked:
        return "unlinked";
    case wq::KeySubtype::cleared:
        return "cleared";
    case wq::KeySubtype::revoked:
        return "revoked";
    case wq::KeySubtype::invalidated:
        return "invalidated";
    case wq::KeySubtype::setattr:
        return "changed attributes";
    }
    return "changed";
}

struct BlockKind {
    std::string_view kind;
    std::string_view words;
    int priority;
};

BlockKind block_kind(wq::BlockSubtype s) {
    switch (s) {
    case wq::BlockSubtype::timeout:
        return {"block-timeout", "I/O timeout", LOG_WARNING};
    case wq::BlockSubtype::no_space:
        return {"block-no-space", "out of space (thin provisioning)", LOG_ERR};
    case wq::BlockSubtype::recoverable_transport:
        return {"block-transport", "transport error (retried)", LOG_WARNING};
    case wq::BlockSubtype::critical_target:
        return {"block-target", "target error", LOG_ERR};
    case wq::BlockSubtype::critical_nexus:
        return {"block-nexus", "nexus (path) error", LOG_ERR};
    case wq::BlockSubtype::critical_medium:
        return {"block-medium", "medium error", LOG_ERR};
    case wq::BlockSubtype::protection:
        return {"block-protection", "data integrity (protection information) error", LOG_ERR};
    case wq::BlockSubtype::kernel_resource:
        return {"block-kernel-resource", "kernel resource shortage", LOG_WARNING};
    case wq::BlockSubtype::device_resource:
        return {"block-device-resource", "device resource shortage", LOG_WARNING};
    case wq::BlockSubtype::io:
        return {"block-io", "I/O error", LOG_ERR};
    }
    return {"unknown", "error", LOG_ERR};
}

std::string device_words(std::uint64_t dev, const std::optional<wq::DeviceInfo>& info) {
    std::string s = fmt::format("{}:{}", major(dev), minor(dev));
    if (info && !info->node.empty()) {
        s = fmt::format("{} ({})", info->node, s);
    }
    return s;
}

// "1-1.2" -> bus 1, port path "1.2"; "usb3" -> bus 3
void add_usb_name(Fields& f, std::string_view name) {
    f.add("WQ_USB_NAME", name);
    if (name.starts_with("usb")) {
        f.add("WQ_USB_BUS", name.substr(3));
        return;
    }
    const auto dash = name.find('-');
    if (dash != std::string_view::npos) {
        f.add("WQ_USB_BUS", name.substr(0, dash));
        f.add("WQ_USB_PORT", name.substr(dash + 1));
    }
}

std::vector<std::string> usb_fields(const wq::UsbEvent& ev, const Formatter& fmt) {
    const auto info = fmt.enrich.usb ? fmt.enrich.usb(ev.name) : std::nullopt;
    std::string what = fmt::format("USB {} {}", ev.name.starts_with("usb") ? "bus" : "device",
                                   std::string(ev.name));
    if (info && (!info->vendor.empty() || !info->product.empty())) {
        what +=
            fmt::format(" ({}{}{})", info->vendor,
                        info->vendor.empty() || info->product.empty() ? "" : " ", info->product);
    }
    std::string_view kind = "usb-other";
    std::string message;
    int priority = LOG_INFO;
    switch (ev.subtype) {
    case wq::UsbSubtype::device_add:
        kind = "usb-add";
        message = what + " added";
        priority = LOG_NOTICE;
        break;
    case wq::UsbSubtype::device_remove:
        kind = "usb-remove";
        message = what + " removed";
        priority = LOG_NOTICE;
        break;
    case wq::UsbSubtype::bus_add:
        kind = "usb-bus-add";
        message = what + " added";
        break;
    case wq::UsbSubtype::bus_remove:
        kind = "usb-bus-remove";
        message = what + " removed";
        break;
    case wq::UsbSubtype::device_reset:
        kind = "usb-reset";
        message = what + " reset";
        priority = LOG_WARNING;
        break;
    case wq::UsbSubtype::device_error:
        kind = "usb-error";
        message = fmt::format("{} error {}", what, errno_name(std::abs(ev.error)));
        priority = LOG_ERR;
        break;
    default:
        message = what + " changed";
        break;
    }
    Fields f(kind, priority, message);
    f.add("WQ_TYPE", "usb");
    f.add("WQ_SUBTYPE", wq::subtype_name(ev.subtype));
    add_usb_name(f, ev.name);
    if (ev.error != 0) {
        f.add_errno(ev.error);
    }
    f.add_device(info);
    return f.take();
}

std::vector<std::string> fs_fields(const wq::SuperblockEvent& ev, const std::string& watched) {
    const std::string fs =
        fmt::format("filesystem {}:{} ({})", major(ev.sb_id), minor(ev.sb_id), watched);
    std::string_view kind;
    std::string message;
    int priority = LOG_ERR;
    switch (ev.subtype) {
    case wq::SuperblockSubtype::readonly:
        kind = ev.is_now_ro ? "fs-read-only" : "fs-read-write";
        message = ev.is_now_ro ? fs + " is now read-only" : fs + " is read-write again";
        if (ev.emergency) {
            message += " (emergency, after errors)";
        }
        priority = ev.is_now_ro ? (ev.emergency ? LOG_CRIT : LOG_ERR) : LOG_NOTICE;
        break;
    case wq::SuperblockSubtype::error:
        kind = "fs-error";
        message = fmt::format("{} reported an error: {}", fs, errno_name(ev.error));
        break;
    case wq::SuperblockSubtype::edquot:
        kind = "fs-quota";
        message = fmt::format("{}: quota id {} reached its {} limit", fs, ev.ino,
                              quota_warning_name(ev.aux));
        priority = LOG_WARNING;
        break;
    case wq::SuperblockSubtype::writeback_error:
        kind = "fs-writeback-error";
        message = fmt::format("{}: write-back error {}", fs, errno_name(ev.error));
        break;
    case wq::SuperblockSubtype::enospc:
        kind = "fs-no-space";
        message = fmt::format("{} is out of space", fs);
        priority = LOG_WARNING;
        break;
    default:
        kind = "unknown";
        message = fs + " changed";
        priority = LOG_INFO;
        break;
    }
    if (ev.ino != 0 && ev.subtype != wq::SuperblockSubtype::edquot) {
        message += fmt::format(" (inode {})", ev.ino);
    }
    Fields f(kind, priority, message);
    f.add("WQ_TYPE", "fs");
    f.add("WQ_SUBTYPE", wq::subtype_name(ev.subtype));
    f.add("WQ_WATCHED", watched);
    f.add_dev(ev.sb_id);
    if (ev.subtype == wq::SuperblockSubtype::readonly) {
        f.add("WQ_READONLY", ev.is_now_ro ? 1 : 0);
        f.add("WQ_EMERGENCY", ev.emergency ? 1 : 0);
        return f.take();
    }
    f.add_errno(ev.error);
    f.add("WQ_AUX", ev.aux);
    if (ev.subtype == wq::SuperblockSubtype::edquot) {
        f.add("WQ_QUOTA_ID", ev.ino);
        f.add("WQ_QUOTA_WARNING", quota_warning_name(ev.aux));
    } else if (ev.ino != 0) {
        f.add("WQ_INO", ev.ino);
    }
    return f.take();
}

std::string watched_of(const Formatter& fmt, unsigned watch) {
    const auto it = fmt.labels.find(watch);
    return it != fmt.labels.end() ? it->second : fmt::format("watch {}", watch);
}

} // namespace

std::span<const MessageKind> message_kinds() noexcept {
    return kinds;
}

std::vector<std::string> journal_fields(const wq::Record& rec, const Formatter& fmt) {
    const std::string watched = watched_of(fmt, rec.watch_id());
    std::vector<std::string> out = wq::visit(
        Overloaded{
            [&](const wq::LossEvent& ev) {
                Fields f("loss", LOG_WARNING,
                         ev.count ? fmt::format("{} records lost: the queue was full", *ev.count)
                                  : std::string("records lost: the queue was full"));
                f.add("WQ_TYPE", "loss");
                if (ev.count) {
                    f.add("WQ_LOST", *ev.count);
                }
                return f.take();
            },
            [&](const wq::RemovalEvent& ev) {
                Fields f("watch-gone", LOG_NOTICE,
                         fmt::format("watch on {} ended: the object is gone", watched));
                f.add("WQ_TYPE", "removal");
                f.add("WQ_WATCHED", watched);
                if (ev.id) {
                    f.add("WQ_OBJECT", *ev.id);
                }
                return f.take();
            },
            [&](const wq::KeyEvent& ev) {
                const bool link =
                    ev.subtype == wq::KeySubtype::linked || ev.subtype == wq::KeySubtype::unlinked;
                std::string message = fmt::format("key {} {}", ev.key, key_verb(ev.subtype));
                if (link) {
                    message = fmt::format("keyring {}: key {} {}", ev.key,
                                          static_cast<std::int32_t>(ev.aux), key_verb(ev.subtype));
                }
                Fields f("key", LOG_INFO, message + fmt::format(" (watching {})", watched));
                f.add("WQ_TYPE", "key");
                f.add("WQ_SUBTYPE", wq::subtype_name(ev.subtype));
                f.add("WQ_WATCHED", watched);
                f.add("WQ_KEY", ev.key);
                f.add("WQ_AUX", ev.aux);
                if (link) {
                    f.add("WQ_LINKED_KEY", static_cast<std::int32_t>(ev.aux));
                }
                return f.take();
            },
            [&](const wq::BlockEvent& ev) {
                const auto info = fmt.enrich.block ? fmt.enrich.block(ev.dev) : std::nullopt;
                const BlockKind k = block_kind(ev.subtype);
                Fields f(k.kind, k.priority,
                         fmt::format("{} on {} at sector {}", k.words, device_words(ev.dev, info),
                                     ev.sector));
                f.add("WQ_TYPE", "block");
                f.add("WQ_SUBTYPE", wq::subtype_name(ev.subtype));
                f.add("WQ_WATCHED", watched);
                f.add_dev(ev.dev);
                f.add("WQ_SECTOR", ev.sector);
                f.add_device(info);
                return f.take();
            },
            [&](const wq::UsbEvent& ev) {
                auto fields = usb_fields(ev, fmt);
                fields.push_back("WQ_WATCHED=" + watched);
                return fields;
            },
            [&](const wq::SuperblockEvent& ev) { return fs_fields(ev, watched); },
            [&](const wq::MountEvent& ev) {
                Fields f("mount", LOG_INFO,
                         fmt::format("mount {}: {}", wq::subtype_name(ev.subtype),
                                     fmt.parts(rec).details));
                f.add("WQ_TYPE", "mount");
                f.add("WQ_SUBTYPE", wq::subtype_name(ev.subtype));
                f.add("WQ_WATCHED", watched);
                f.add("WQ_MOUNT_ID", ev.mount_id);
                f.add("WQ_PARENT_MOUNT_ID", ev.parent_id);
                f.add("WQ_IN_SUBTREE", ev.in_subtree ? 1 : 0);
                if (ev.subtype == wq::MountSubtype::new_mount ||
                    ev.subtype == wq::MountSubtype::readonly) {
                    f.add("WQ_READONLY", ev.is_now_ro ? 1 : 0);
                }
                return f.take();
            },
            [&](const wq::RawEvent&) {
                Fields f("unknown", LOG_INFO,
                         fmt::format("record of type {:#x} subtype {} ({} bytes) from {}",
                                     rec.raw_type(), rec.subtype, rec.length(), watched));
                f.add("WQ_TYPE", "raw");
                f.add("WQ_RECORD_TYPE", rec.raw_type());
                f.add("WQ_SUBTYPE", rec.subtype);
                f.add("WQ_LENGTH", rec.length());
                f.add("WQ_WATCHED", watched);
                return f.take();
            },
        },
        rec);
    if (!wq::as_loss(rec)) {
        out.push_back(fmt::format("WQ_WATCH_ID={}", rec.watch_id()));
    }
    return out;
}

std::vector<std::string> journal_fields(const Gap& gap) {
    const std::uint64_t us = gap.to.monotonic_us > gap.from.monotonic_us
                                 ? gap.to.monotonic_us - gap.from.monotonic_us
                                 : 0;
    Fields f("gap", LOG_WARNING,
             fmt::format("no records seen for {}.{:06} s: /dev/watch_queue was closed so that "
                         "the module could be reloaded",
                         us / 1000000, us % 1000000));
    f.add("WQ_TYPE", "gap");
    f.add("WQ_GAP_FROM_REALTIME_US", gap.from.realtime_us);
    f.add("WQ_GAP_TO_REALTIME_US", gap.to.realtime_us);
    f.add("WQ_GAP_USEC", us);
    return f.take();
}

std::vector<std::string> journal_start_fields(const Formatter& fmt) {
    const std::string what = watch_list(fmt.labels);
    Fields f("start", LOG_INFO, "watching " + what);
    f.add("WQ_TYPE", "start");
    f.add("WQ_WATCHED", what);
    return f.take();
}

} // namespace wqmon
