// SPDX-License-Identifier: GPL-2.0-or-later
// libwatchqueue's ABI (README, "ABI policy"): everything it exports is in
// the inline namespace of its soname, and the public types keep their
// layout.  A test here that fails means a change that breaks programs
// built against the installed headers: keep the layout, or bump the soname
// (userlib/meson.build, debian/) and the inline namespace together.
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <typeinfo>

#include <linux/wq_dev.h>

#include "wq_catch.hpp"
#include <watchqueue/watchqueue.hpp>

namespace wq = watchqueue;

TEST_CASE("the API is in the inline namespace named after the soname") {
    // WQ_SOVERSION: userlib/meson.build's soversion
    const std::string ns = std::string("N10watchqueue2v") + WQ_SOVERSION;
    CHECK(std::string(typeid(wq::Queue).name()).starts_with(ns));
    CHECK(std::string(typeid(wq::Record).name()).starts_with(ns));
    CHECK(std::string(typeid(wq::error).name()).starts_with(ns));
    CHECK(std::string(typeid(wq::KeyEvent).name()).starts_with(ns));
    // and programs name it as watchqueue::
    STATIC_REQUIRE(std::is_same_v<wq::Queue, wq::v0::Queue>);
}

TEST_CASE("the public types keep their layout (LP64, libstdc++)") {
#if defined(__LP64__) && defined(__GLIBCXX__)
    struct Layout {
        const char* name;
        std::size_t size;
        std::size_t align;
        std::size_t want_size;
        std::size_t want_align;
    };
#define WQ_LAYOUT(T, size, align)                                                                  \
    Layout {                                                                                       \
#T, sizeof(wq::T), alignof(wq::T), size, align                                             \
    }
    const Layout layouts[] = {
        WQ_LAYOUT(Record, 32, 8),          WQ_LAYOUT(LossEvent, 16, 8),
        WQ_LAYOUT(RemovalEvent, 16, 8),    WQ_LAYOUT(KeyEvent, 12, 4),
        WQ_LAYOUT(BlockEvent, 24, 8),      WQ_LAYOUT(UsbEvent, 24, 8),
        WQ_LAYOUT(SuperblockEvent, 40, 8), WQ_LAYOUT(MountEvent, 32, 8),
        WQ_LAYOUT(QueueOptions, 56, 8),    WQ_LAYOUT(RingInfo, 64, 8),
        WQ_LAYOUT(RingView, 40, 8),        WQ_LAYOUT(Batch, 56, 8),
        WQ_LAYOUT(Records, 32, 8),         WQ_LAYOUT(Queue, 8, 8),
        WQ_LAYOUT(Filter, 24, 8),          WQ_LAYOUT(FilterEntry, 48, 8),
        WQ_LAYOUT(InfoMatch, 8, 4),        WQ_LAYOUT(FilterBuilder, 56, 8),
        WQ_LAYOUT(DeviceInfo, 128, 8),     WQ_LAYOUT(WatchId, 1, 1),
    };
#undef WQ_LAYOUT
    for (const Layout& l : layouts) {
        INFO(l.name);
        CHECK(l.size == l.want_size);
        CHECK(l.align == l.want_align);
    }
    CHECK(offsetof(wq::Record, type) == 0);
    CHECK(offsetof(wq::Record, subtype) == 4);
    CHECK(offsetof(wq::Record, info) == 8);
    CHECK(offsetof(wq::Record, bytes) == 16);
#else
    SUCCEED("the recorded layouts are those of LP64 with libstdc++");
#endif
}

// userlib/src/abi_check.cpp checks every constant, struct and member of the
// header at compile time; the header's bit-fields only with GCC, so here
// too, at run time.
TEST_CASE("the record header's bit-fields: type in bits 0..23, subtype in 24..31") {
    const unsigned char bytes[8] = {0x01, 0x02, 0x03, 0x04, 0x08, 0x01, 0, 0};
    wq_notification hdr{};
    static_assert(sizeof(hdr) == sizeof(bytes));
    std::memcpy(&hdr, bytes, sizeof(hdr));
    CHECK(hdr.type == 0x030201U);
    CHECK(hdr.subtype == 0x04U);
    CHECK(hdr.info == 0x108U); // length 8, watch 1
    // and as the library decodes them
    const auto rec = wq::decode_record(std::as_bytes(std::span(bytes)));
    CHECK(rec.raw_type() == 0x030201U);
    CHECK(rec.subtype == 0x04U);
    CHECK(rec.length() == 8);
    CHECK(rec.watch_id() == 1);
}
