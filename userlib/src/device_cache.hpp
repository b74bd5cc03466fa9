// SPDX-License-Identifier: LGPL-2.1-or-later
// The cache of udev's answers behind describe_block(), describe_usb() and
// describe_device() (udev.hpp): a burst of errors from one disk costs one
// udev lookup, not one per record.
//
// Bounded and short-lived, because device numbers and USB names are reused:
// a disk replaced by another gets the old one's dev_t, a device plugged into
// the same port the old one's name.  So an entry, found or not found, is
// served for at most `ttl` after its lookup; at most `capacity` are kept
// (the oldest go first); and describe_device() looks a USB device up afresh
// on its add record and forgets it after its remove record.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "watchqueue/record.hpp"
#include "watchqueue/udev.hpp"

namespace watchqueue {
inline namespace v0 {
namespace detail {

// How one lookup uses the cache.
enum class CacheUse {
    cached,  // a fresh entry if there is one, else look up and keep
    refresh, // look up and keep (the device was just added)
    take,    // a fresh entry if there is one, else look up; keep nothing
             // (the device was just removed: its name may come back as
             // another device)
};

// What a USB record's subtype means for the cache.
inline CacheUse cache_use(UsbSubtype subtype) noexcept {
    switch (subtype) {
    case UsbSubtype::device_add:
    case UsbSubtype::bus_add:
        return CacheUse::refresh;
    case UsbSubtype::device_remove:
    case UsbSubtype::bus_remove:
        return CacheUse::take;
    case UsbSubtype::device_reset:
    case UsbSubtype::device_error:
        break;
    }
    return CacheUse::cached;
}

// Not thread-safe: the caller locks.
template <class Key>
class DeviceCache {
public:
    using Clock = std::chrono::steady_clock;
    using Info = std::optional<DeviceInfo>; // nullopt: udev knew nothing

    static constexpr std::size_t default_capacity = 64;
    static constexpr Clock::duration default_ttl = std::chrono::seconds(5);

    explicit DeviceCache(std::size_t capacity = default_capacity, Clock::duration ttl = default_ttl)
        : capacity_(capacity), ttl_(ttl) {}

    // @key's device as @use says, calling @lookup (Key -> Info) when the
    // cache cannot answer.
    template <class Lookup>
    Info get(const Key& key, Clock::time_point now, CacheUse use, Lookup&& lookup) {
        const auto it = find(key);
        const bool fresh = it != entries_.end() && now - it->looked_up < ttl_;
        if (fresh && use != CacheUse::refresh) {
            Info info = it->info;
            if (use == CacheUse::take) {
                entries_.erase(it);
            }
            return info;
        }
        if (it != entries_.end()) {
            entries_.erase(it); // stale, or to be refreshed
        }
        Info info = std::forward<Lookup>(lookup)(key);
        if (use != CacheUse::take && capacity_ > 0) {
            if (entries_.size() >= capacity_) {
                entries_.erase(entries_.begin()); // the oldest lookup
            }
            entries_.push_back({key, info, now});
        }
        return info;
    }

    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

private:
    struct Entry {
        Key key;
        Info info;
        Clock::time_point looked_up;
    };

    typename std::vector<Entry>::iterator find(const Key& key) {
        return std::find_if(entries_.begin(), entries_.end(),
                            [&](const Entry& e) { return e.key == key; });
    }

    std::size_t capacity_;
    Clock::duration ttl_;
    std::vector<Entry> entries_; // in the order of their lookups
};

} // namespace detail
} // namespace v0
} // namespace watchqueue
