// SPDX-License-Identifier: GPL-2.0-or-later
// libwatchqueue: the cache of udev's answers (userlib/src/device_cache.hpp)
// against a counting lookup and a clock of the test's own.
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "device_cache.hpp" // the library's private header
#include "lib_fake.hpp"
#include "wq_catch.hpp"

namespace wq = watchqueue;
using wq::detail::CacheUse;
using Cache = wq::detail::DeviceCache<std::string>;
using namespace std::chrono_literals;

namespace {

// A lookup that counts its calls and names the device after the call.
struct Lookup {
    int calls = 0;
    bool known = true;
    std::optional<wq::DeviceInfo> operator()(const std::string& name) {
        ++calls;
        if (!known) {
            return std::nullopt;
        }
        return wq::DeviceInfo{"/dev/bus/usb/" + name, "vendor " + std::to_string(calls), "", ""};
    }
};

std::string vendor_of(const std::optional<wq::DeviceInfo>& info) {
    return info ? info->vendor : "(unknown)";
}

const Cache::Clock::time_point t0{};

} // namespace

TEST_CASE("a device is looked up once, then served from the cache until its time is up") {
    Cache cache(4, 5s);
    Lookup lookup;
    auto get = [&](const std::string& name, Cache::Clock::time_point now) {
        return vendor_of(cache.get(name, now, CacheUse::cached, std::ref(lookup)));
    };
    CHECK(get("1-1", t0) == "vendor 1");
    for (int i = 0; i < 100; ++i) {
        CHECK(get("1-1", t0 + 4999ms) == "vendor 1"); // a burst: one lookup
    }
    CHECK(lookup.calls == 1);
    CHECK(get("1-1", t0 + 5s) == "vendor 2"); // too old: looked up again
    CHECK(lookup.calls == 2);
    CHECK(cache.size() == 1);
}

TEST_CASE("what udev did not know is cached too, for as long") {
    Cache cache(4, 5s);
    Lookup lookup;
    lookup.known = false;
    CHECK_FALSE(cache.get("9-9", t0, CacheUse::cached, std::ref(lookup)));
    CHECK_FALSE(cache.get("9-9", t0 + 1s, CacheUse::cached, std::ref(lookup)));
    CHECK(lookup.calls == 1);
    lookup.known = true;
    CHECK(cache.get("9-9", t0 + 6s, CacheUse::cached, std::ref(lookup)));
    CHECK(lookup.calls == 2);
}

TEST_CASE("the cache holds at most its capacity, the oldest lookups going first") {
    Cache cache(3, 5s);
    Lookup lookup;
    for (const char* name : {"a", "b", "c", "d"}) {
        (void)cache.get(name, t0, CacheUse::cached, std::ref(lookup));
    }
    CHECK(cache.size() == 3);
    CHECK(lookup.calls == 4);
    (void)cache.get("d", t0, CacheUse::cached, std::ref(lookup));
    (void)cache.get("b", t0, CacheUse::cached, std::ref(lookup));
    CHECK(lookup.calls == 4); // still there
    (void)cache.get("a", t0, CacheUse::cached, std::ref(lookup));
    CHECK(lookup.calls == 5); // "a" went first
    CHECK(cache.size() == 3);

    Cache none(0, 5s);
    (void)none.get("a", t0, CacheUse::cached, std::ref(lookup));
    CHECK(none.size() == 0);
}

TEST_CASE("an add record looks the device up anew, a remove record forgets it") {
    Cache cache(4, 5s);
    Lookup lookup;
    auto get = [&](CacheUse use, Cache::Clock::duration at) {
        return vendor_of(cache.get("1-2", t0 + at, use, std::ref(lookup)));
    };
    CHECK(get(CacheUse::refresh, 0s) == "vendor 1");
    CHECK(get(CacheUse::cached, 1s) == "vendor 1");
    // removed: the name of what was there, then nothing is kept
    CHECK(get(CacheUse::take, 2s) == "vendor 1");
    CHECK(cache.size() == 0);
    // another device in the same port, seen through a record without add
    CHECK(get(CacheUse::cached, 3s) == "vendor 2");
    // and a new add replaces a fresh entry
    CHECK(get(CacheUse::refresh, 3s) == "vendor 3");
    CHECK(get(CacheUse::cached, 4s) == "vendor 3");
    // a remove of a device not cached: looked up, not kept
    Cache empty(4, 5s);
    (void)empty.get("5-5", t0, CacheUse::take, std::ref(lookup));
    CHECK(empty.size() == 0);
}

TEST_CASE("which USB records refresh the cache and which end an entry") {
    using S = wq::UsbSubtype;
    CHECK(wq::detail::cache_use(S::device_add) == CacheUse::refresh);
    CHECK(wq::detail::cache_use(S::bus_add) == CacheUse::refresh);
    CHECK(wq::detail::cache_use(S::device_remove) == CacheUse::take);
    CHECK(wq::detail::cache_use(S::bus_remove) == CacheUse::take);
    CHECK(wq::detail::cache_use(S::device_reset) == CacheUse::cached);
    CHECK(wq::detail::cache_use(S::device_error) == CacheUse::cached);
}

TEST_CASE("describe_device(): block and USB records only") {
    // Other records have no device; the names here are ones no machine has.
    const auto key = libtest::key_record(wq::KeySubtype::updated, 1, 0);
    CHECK_FALSE(wq::describe_device(wq::decode_record({key.data(), key.size()})));
    std::vector<std::byte> usb(4 + 4 + 1 + 6);
    usb[8] = std::byte{6};
    std::memcpy(usb.data() + 9, "99-9.9", 6);
    const auto buf = libtest::make_record(WQ_TYPE_USB, WQ_USB_DEVICE_REMOVE, 0, usb);
    CHECK_FALSE(wq::describe_device(wq::decode_record({buf.data(), buf.size()})));
    CHECK_FALSE(wq::describe_usb("99-9.9"));
}
