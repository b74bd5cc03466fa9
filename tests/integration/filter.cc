// SPDX-License-Identifier: GPL-2.0-or-later
// WQ_IOC_SET_FILTER: validation and matching.
#include <atomic>
#include <cstring>

#include <sys/ioctl.h>
#include <sys/mman.h>

#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

int set_filter_raw(const Queue& q, const void* arg) {
    return errno_of(::ioctl(q.fd(), WQ_IOC_SET_FILTER, arg));
}

int set_filter(const Queue& q, std::span<const wq_notification_type_filter> entries) {
    const auto blob = filter_blob(entries);
    return set_filter_raw(q, blob.data());
}

// Posts one record of each subtype in @subtypes (producer 1, seq 0, 1, ...).
std::uint64_t post_subtypes(TestModule& tm, std::uint32_t object,
                            std::initializer_list<std::uint32_t> subtypes) {
    std::uint64_t seq = 0;
    for (const std::uint32_t s : subtypes) {
        tm.post({.object = object, .producer = 1, .subtype = s, .first_seq = seq++});
    }
    return seq;
}

std::vector<std::uint32_t> subtypes_of(const std::vector<Bytes>& recs) {
    std::vector<std::uint32_t> out;
    out.reserve(recs.size());
    for (const Bytes& r : recs) {
        out.push_back(header_of(r).subtype);
    }
    return out;
}

} // namespace

TEST_CASE("SET_FILTER rejects malformed filters with EINVAL", "[filter]") {
    Queue q;
    const auto ok = type_filter(WQT_TYPE, {0});
    SECTION("nr_filters 0") {
        CHECK(set_filter_raw(q, filter_blob({}, 0).data()) == EINVAL);
    }
    SECTION("nr_filters 17") {
        const std::vector<wq_notification_type_filter> many(17, ok);
        CHECK(set_filter_raw(q, filter_blob(many).data()) == EINVAL);
    }
    SECTION("nr_filters far above 16") {
        const std::vector<wq_notification_type_filter> many(17, ok);
        CHECK(set_filter_raw(q, filter_blob(many, 0x4000'0000U).data()) == EINVAL);
    }
    SECTION("__reserved not 0") {
        const std::array one{ok};
        CHECK(set_filter_raw(q, filter_blob(one, {}, 1).data()) == EINVAL);
    }
    SECTION("info_filter outside info_mask") {
        const std::array one{type_filter(WQT_TYPE, {0}, 0x0100, 0x0000'fe00)};
        CHECK(set_filter(q, one) == EINVAL);
    }
    SECTION("info_mask covering the length") {
        for (const std::uint32_t mask : {0x1U, 0x40U, 0x7fU, 0xffffffffU}) {
            INFO("mask " << mask);
            const std::array one{type_filter(WQT_TYPE, {0}, 0, mask)};
            CHECK(set_filter(q, one) == EINVAL);
        }
    }
    SECTION("a bad entry after good ones") {
        const std::array two{ok, type_filter(WQT_TYPE, {1}, 0x10000, 0)};
        CHECK(set_filter(q, two) == EINVAL);
    }
}

TEST_CASE("SET_FILTER accepts 1..16 entries", "[filter]") {
    Queue q;
    for (const std::size_t n : {1U, 2U, 15U, 16U}) {
        const std::vector<wq_notification_type_filter> entries(n, type_filter(WQT_TYPE, {0}));
        CHECK(set_filter(q, entries) == 0);
    }
}

TEST_CASE("SET_FILTER with a bad pointer gives EFAULT", "[filter]") {
    Queue q;
    const std::size_t pg = page_size();
    auto* area = static_cast<std::byte*>(
        ::mmap(nullptr, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(area != MAP_FAILED);
    REQUIRE(::mprotect(area + pg, pg, PROT_NONE) == 0);
    SECTION("unmapped header") {
        CHECK(set_filter_raw(q, area + pg) == EFAULT);
    }
    SECTION("entries run into an unmapped page") {
        // A valid header announcing 2 entries, of which only part is readable.
        const std::array two{type_filter(WQT_TYPE, {0}), type_filter(WQT_TYPE, {1})};
        const auto blob = filter_blob(two);
        std::byte* at = area + pg - 8 - sizeof(wq_notification_type_filter);
        std::memcpy(at, blob.data(), 8 + sizeof(wq_notification_type_filter));
        CHECK(set_filter_raw(q, at) == EFAULT);
    }
    ::munmap(area, 2 * pg);
}

TEST_CASE("subtype filtering honours all 256 subtypes", "[filter]") {
    TestModule tm;
    for (const std::uint32_t s : {0U, 31U, 32U, 200U, 255U}) {
        INFO("filter passes subtype " << s);
        Queue q = sized_queue(65536);
        tm.watch(q.fd(), 0, 1);
        const std::array one{type_filter(WQT_TYPE, {s})};
        REQUIRE(set_filter(q, one) == 0);
        post_subtypes(tm, 0, {0, 1, 30, 31, 32, 33, 63, 64, 199, 200, 201, 254, 255});
        CHECK(subtypes_of(collect_read(q)) == std::vector<std::uint32_t>{s});
        CHECK(q.info().lost == 0);
    }
}

TEST_CASE("a filter entry passes several subtypes", "[filter]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 1);
    const std::array one{type_filter(WQT_TYPE, {0, 31, 32, 200, 255})};
    REQUIRE(set_filter(q, one) == 0);
    post_subtypes(tm, 0, {0, 1, 31, 32, 33, 199, 200, 255});
    CHECK(subtypes_of(collect_read(q)) == std::vector<std::uint32_t>{0, 31, 32, 200, 255});
}

TEST_CASE("type filtering: only listed types pass, dropped records are not loss", "[filter]") {
    TestModule tm;
    Queue q = sized_queue(page_size());
    tm.watch(q.fd(), 0, 1);
    SECTION("another type only") {
        const std::array one{type_filter(WQ_TYPE_KEY, {0})};
        REQUIRE(set_filter(q, one) == 0);
    }
    SECTION("the type with bits above 24 never matches") {
        const std::array one{type_filter(WQT_TYPE | (1U << 24), {0})};
        REQUIRE(set_filter(q, one) == 0);
    }
    // Far more than the ring holds: all dropped by the filter, none lost.
    tm.post({.object = 0, .producer = 1, .count = 500, .size = 120});
    CHECK(collect_read(q).empty());
    CHECK(q.info().lost == 0);
    // The same type with the subtype passes.
    const std::array one{type_filter(WQT_TYPE, {0})};
    REQUIRE(set_filter(q, one) == 0);
    tm.post({.object = 0, .producer = 1, .count = 1});
    CHECK(collect_read(q).size() == 1);
}

TEST_CASE("info filtering matches the watch id", "[filter]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 5);
    tm.watch(q.fd(), 1, 6);
    const std::array one{type_filter(WQT_TYPE, {0}, 6U << WQ_INFO_ID__SHIFT, WQ_INFO_ID)};
    REQUIRE(set_filter(q, one) == 0);
    tm.post({.object = 0, .producer = 1, .count = 3});
    tm.post({.object = 1, .producer = 2, .count = 4});
    const auto recs = collect_read(q);
    CHECK(recs.size() == 4);
    for (const Bytes& r : recs) {
        CHECK(header_of(r).watch_id() == 6);
    }
}

TEST_CASE("info filtering on type-specific bits", "[filter]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 5);
    SECTION("flags required to be clear: pass") {
        const std::array one{type_filter(WQT_TYPE, {0}, 0, WQ_INFO_TYPE_INFO)};
        REQUIRE(set_filter(q, one) == 0);
        tm.post({.object = 0, .producer = 1, .count = 2});
        CHECK(collect_read(q).size() == 2);
    }
    SECTION("a flag required to be set: dropped") {
        const std::array one{type_filter(WQT_TYPE, {0}, 0x10000, WQ_INFO_TYPE_INFO)};
        REQUIRE(set_filter(q, one) == 0);
        tm.post({.object = 0, .producer = 1, .count = 2});
        CHECK(collect_read(q).empty());
    }
}

TEST_CASE("a NULL filter removes the filter", "[filter]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 1);
    const std::array none{type_filter(WQ_TYPE_KEY, {0})};
    REQUIRE(set_filter(q, none) == 0);
    tm.post({.object = 0, .producer = 1});
    CHECK(collect_read(q).empty());
    REQUIRE(set_filter_raw(q, nullptr) == 0);
    tm.post({.object = 0, .producer = 1, .first_seq = 1});
    CHECK(collect_read(q).size() == 1);
    CHECK(set_filter_raw(q, nullptr) == 0); // clearing no filter is fine
}

TEST_CASE("meta records are never filtered", "[filter]") {
    TestModule tm;
    Queue q = sized_queue(page_size());
    tm.watch(q.fd(), 0, 9);
    const std::array one{type_filter(WQT_TYPE, {0})};
    REQUIRE(set_filter(q, one) == 0);
    // Overflow with records that pass: a loss record must still come.
    const wqt_post p = tm.post({.object = 0, .producer = 1, .count = 100, .size = 120});
    REQUIRE(q.info().lost > 0);
    auto recs = collect_read(q);
    tm.unwatch(q.fd(), 0);
    for (Bytes& r : collect_read(q)) {
        recs.push_back(std::move(r));
    }
    SyntheticChecker checker;
    checker.expect({.producer = 1, .watch_id = 9});
    checker.set_posted(1, p.posted);
    feed_all(checker, recs);
    checker.finish();
    INFO(checker.report());
    CHECK(checker.ok());
    CHECK(checker.loss_records() >= 1);
    REQUIRE(checker.removals().size() == 1);
    CHECK(checker.removals()[0].watch_id == 9);
}

TEST_CASE("replacing the filter while records are posted", "[filter]") {
    TestModule tm;
    Queue q = sized_queue(std::uint64_t{4} << 20);
    tm.watch(q.fd(), 0, 2);
    constexpr std::uint64_t count = 20000;
    std::atomic<bool> done{false};
    Failures failures;
    std::vector<std::jthread> posters;
    for (const std::uint32_t subtype : {1U, 2U}) {
        posters.push_back(spawn(failures, [subtype] {
            TestModule own;
            own.post({.object = 0, .producer = subtype, .count = count, .subtype = subtype});
        }));
    }
    std::jthread flipper = spawn(failures, [&] {
        const std::array a{type_filter(WQT_TYPE, {1})};
        const std::array b{type_filter(WQT_TYPE, {2})};
        const std::array ab{type_filter(WQT_TYPE, {1, 2})};
        for (int i = 0; !done; ++i) {
            const int err = i % 4 == 0   ? set_filter(q, a)
                            : i % 4 == 1 ? set_filter(q, b)
                            : i % 4 == 2 ? set_filter(q, ab)
                                         : set_filter_raw(q, nullptr);
            if (err != 0) {
                failures.add("SET_FILTER failed: errno " + std::to_string(err));
            }
        }
    });
    posters.clear(); // joins
    done = true;
    flipper.join();
    INFO(failures.str());
    REQUIRE(failures.empty());

    SyntheticChecker checker({.gaps_without_loss = true});
    checker.expect({.producer = 1, .subtype = 1, .watch_id = 2});
    checker.expect({.producer = 2, .subtype = 2, .watch_id = 2});
    checker.set_posted(1, count);
    checker.set_posted(2, count);
    feed_all(checker, collect_read(q));
    checker.finish();
    INFO(checker.report());
    CHECK(checker.ok());
    CHECK(checker.delivered() <= 2 * count);
    CHECK(q.info().lost == 0);

    // The last filter set is in force for later records.
    const std::array b{type_filter(WQT_TYPE, {2})};
    REQUIRE(set_filter(q, b) == 0);
    tm.post({.object = 0, .producer = 1, .count = 5, .subtype = 1, .first_seq = count});
    tm.post({.object = 0, .producer = 2, .count = 5, .subtype = 2, .first_seq = count});
    const auto after = subtypes_of(collect_read(q));
    CHECK(after == std::vector<std::uint32_t>(5, 2));
}
