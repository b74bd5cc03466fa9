// SPDX-License-Identifier: LGPL-2.1-or-later
// Device enrichment through libudev, cached (device_cache.hpp).
#include "watchqueue/udev.hpp"

#include <chrono>
#include <libudev.h>
#include <memory>
#include <mutex>
#include <string>

#include <sys/sysmacros.h>

#include "device_cache.hpp"

namespace watchqueue {
inline namespace v0 {
namespace {

struct UdevUnref {
    void operator()(udev* u) const noexcept { udev_unref(u); }
    void operator()(udev_device* d) const noexcept { udev_device_unref(d); }
};
using UdevPtr = std::unique_ptr<udev, UdevUnref>;
using DevicePtr = std::unique_ptr<udev_device, UdevUnref>;

std::string property(udev_device* dev, const char* name) {
    const char* value = udev_device_get_property_value(dev, name);
    return value != nullptr ? value : "";
}

std::string attribute(udev_device* dev, const char* name) {
    const char* value = udev_device_get_sysattr_value(dev, name);
    std::string s = value != nullptr ? value : "";
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) {
        s.pop_back();
    }
    return s;
}

std::string first_of(const std::string& a, const std::string& b) {
    return !a.empty() ? a : b;
}

std::optional<DeviceInfo> lookup_block(std::uint64_t dev) {
    const UdevPtr u(udev_new());
    if (!u) {
        return std::nullopt;
    }
    const DevicePtr d(udev_device_new_from_devnum(u.get(), 'b', static_cast<dev_t>(dev)));
    if (!d) {
        return std::nullopt;
    }
    DeviceInfo info;
    const char* node = udev_device_get_devnode(d.get());
    info.node = node != nullptr ? node : "";
    info.vendor = first_of(property(d.get(), "ID_VENDOR"), attribute(d.get(), "device/vendor"));
    info.product = first_of(property(d.get(), "ID_MODEL"), attribute(d.get(), "device/model"));
    info.serial = first_of(property(d.get(), "ID_SERIAL_SHORT"), attribute(d.get(), "serial"));
    return info;
}

std::optional<DeviceInfo> lookup_usb(const std::string& sysname) {
    const UdevPtr u(udev_new());
    if (!u) {
        return std::nullopt;
    }
    const DevicePtr d(udev_device_new_from_subsystem_sysname(u.get(), "usb", sysname.c_str()));
    if (!d) {
        return std::nullopt;
    }
    DeviceInfo info;
    const char* node = udev_device_get_devnode(d.get());
    info.node = node != nullptr ? node : "";
    info.vendor = first_of(attribute(d.get(), "manufacturer"), property(d.get(), "ID_VENDOR"));
    info.product = first_of(attribute(d.get(), "product"), property(d.get(), "ID_MODEL"));
    info.serial = first_of(attribute(d.get(), "serial"), property(d.get(), "ID_SERIAL_SHORT"));
    return info;
}

// A cache of udev's answers (device_cache.hpp) and its lock.
template <class Key>
struct Cache {
    std::mutex lock;
    detail::DeviceCache<Key> devices;
};

Cache<std::uint64_t>& block_cache() {
    static Cache<std::uint64_t> cache;
    return cache;
}

Cache<std::string>& usb_cache() {
    static Cache<std::string> cache;
    return cache;
}

// The device @id names, from @cache as @use says or by @lookup; nullopt on
// any failure.
template <class Key, class Id, class Lookup>
std::optional<DeviceInfo> cached(Cache<Key>& cache, const Id& id, detail::CacheUse use,
                                 Lookup lookup) noexcept {
    try {
        const std::lock_guard<std::mutex> hold(cache.lock);
        return cache.devices.get(Key(id), std::chrono::steady_clock::now(), use, lookup);
    } catch (...) {
        return std::nullopt;
    }
}

} // namespace

bool udev_available() noexcept {
    return true;
}

std::optional<DeviceInfo> describe_block(std::uint64_t dev) noexcept {
    return cached(block_cache(), dev, detail::CacheUse::cached, lookup_block);
}

std::optional<DeviceInfo> describe_usb(std::string_view name) noexcept {
    return cached(usb_cache(), name, detail::CacheUse::cached, lookup_usb);
}

std::optional<DeviceInfo> describe_device(const Record& rec) noexcept {
    if (const auto block = as_block(rec)) {
        return describe_block(block->dev);
    }
    if (const auto usb = as_usb(rec)) {
        return cached(usb_cache(), usb->name, detail::cache_use(usb->subtype), lookup_usb);
    }
    return std::nullopt;
}

} // namespace v0
} // namespace watchqueue
