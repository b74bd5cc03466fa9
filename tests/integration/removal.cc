// SPDX-License-Identifier: GPL-2.0-or-later
// Watches, watch ids, removal records and closing a watched queue.
#include <cstring>
#include <fcntl.h>

#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

// WQT_IOC_KILL is only used on this object, so that other tests never
// depend on whether a killed object can be watched again.
constexpr std::uint32_t doomed = WQT_NR_OBJECTS - 1;

} // namespace

TEST_CASE("unwatching gives a 16-byte removal record with the ids", "[removal]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 2, 42);
    tm.unwatch(q.fd(), 2);
    const auto recs = collect_read(q);
    REQUIRE(recs.size() == 1);
    const Header h = header_of(recs[0]);
    CHECK(h.type == WQ_TYPE_META);
    CHECK(h.subtype == WQ_META_REMOVAL);
    CHECK(h.length() == sizeof(wq_removal_notification));
    CHECK(h.watch_id() == 42);
    CHECK((h.info & WQ_INFO_TYPE_INFO) == 0);
    wq_removal_notification n{};
    REQUIRE(recs[0].size() == sizeof(n));
    std::memcpy(&n, recs[0].data(), sizeof(n));
    CHECK(n.id == object_id(2));
    // The watch is gone: posts are not delivered, a second unwatch fails.
    tm.post({.object = 2, .producer = 1});
    CHECK(collect_read(q).empty());
    CHECK(tm.try_watch(q.fd(), 2, -1) == EBADSLT);
}

TEST_CASE("unwatching an object never watched gives EBADSLT", "[removal]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    CHECK(tm.try_watch(q.fd(), 3, -1) == EBADSLT);
    tm.watch(q.fd(), 4, 1);
    CHECK(tm.try_watch(q.fd(), 3, -1) == EBADSLT);
}

TEST_CASE("a queue watches an object once: a second watch gives EBUSY", "[removal]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 1, 1);
    CHECK(tm.try_watch(q.fd(), 1, 1) == EBUSY);
    CHECK(tm.try_watch(q.fd(), 1, 2) == EBUSY);
    // Other queues may watch it too.
    Queue other = sized_queue(65536);
    CHECK(tm.try_watch(other.fd(), 1, 1) == 0);
    tm.post({.object = 1, .producer = 1});
    CHECK(collect_read(q).size() == 1);
    CHECK(collect_read(other).size() == 1);
}

TEST_CASE("a watch needs a queue file descriptor", "[removal]") {
    TestModule tm;
    CHECK(tm.try_watch(-1, 0, 1) == EBADF);
    const Fd null = open_fd("/dev/null", O_RDONLY | O_CLOEXEC);
    const int err = tm.try_watch(null.get(), 0, 1);
    CHECK((err == EINVAL || err == EBADF));
}

TEST_CASE("records carry the watch id in WQ_INFO_ID", "[removal]") {
    TestModule tm;
    for (const std::uint32_t id : {0U, 1U, 127U, 128U, 254U, 255U}) {
        INFO("watch id " << id);
        Queue q = sized_queue(65536);
        tm.watch(q.fd(), 0, static_cast<std::uint8_t>(id));
        tm.post({.object = 0, .producer = 1, .count = 2, .size = 24});
        SyntheticChecker checker;
        checker.expect({.producer = 1, .watch_id = id});
        checker.set_posted(1, 2);
        feed_all(checker, collect_read(q));
        checker.finish();
        INFO(checker.report());
        CHECK(checker.ok());
    }
}

TEST_CASE("one queue watching several objects tells them apart by watch id", "[removal]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    for (std::uint32_t obj = 0; obj < 4; ++obj) {
        tm.watch(q.fd(), obj, static_cast<std::uint8_t>(10 + obj));
    }
    SyntheticChecker checker;
    for (std::uint32_t obj = 0; obj < 4; ++obj) {
        checker.expect({.producer = obj + 1, .watch_id = 10 + obj});
        checker.set_posted(obj + 1,
                           tm.post({.object = obj, .producer = obj + 1, .count = 3}).posted);
    }
    feed_all(checker, collect_read(q));
    checker.finish();
    INFO(checker.report());
    CHECK(checker.ok());
}

TEST_CASE("an object dying gives every watching queue a removal record", "[removal]") {
    TestModule tm;
    std::vector<Queue> queues;
    for (std::uint8_t i = 0; i < 3; ++i) {
        queues.push_back(sized_queue(65536));
        tm.watch(queues.back().fd(), doomed, static_cast<std::uint8_t>(100 + i));
    }
    // A filter passing nothing does not stop removal records.
    const std::array none{type_filter(WQ_TYPE_KEY, {0})};
    queues[2].set_filter(none);
    tm.kill(doomed);
    for (std::uint8_t i = 0; i < 3; ++i) {
        INFO("queue " << int{i});
        SyntheticChecker checker;
        feed_all(checker, collect_read(queues[i]));
        CHECK(checker.ok());
        REQUIRE(checker.removals().size() == 1);
        CHECK(checker.removals()[0].watch_id == 100U + i);
        CHECK(checker.removals()[0].object_id == std::optional<std::uint64_t>(object_id(doomed)));
        CHECK(tm.try_watch(queues[i].fd(), doomed, -1) == EBADSLT);
    }
}

TEST_CASE("closing a watched queue, then posting", "[removal]") {
    TestModule tm;
    Queue survivor = sized_queue(65536);
    tm.watch(survivor.fd(), 5, 1);
    for (int round = 0; round < 20; ++round) {
        Queue q = sized_queue(page_size());
        tm.watch(q.fd(), 5, 2);
        tm.watch(q.fd(), 6, 3);
        tm.post({.object = 5, .producer = 1, .count = 5, .size = 120});
        q.close();
        tm.post({.object = 5, .producer = 1, .count = 5, .size = 120});
        tm.post({.object = 6, .producer = 1, .count = 5, .size = 120});
    }
    // The surviving watcher got everything; nothing else broke.
    CHECK(collect_read(survivor).size() == 200);
    Queue again = sized_queue(65536);
    tm.watch(again.fd(), 6, 4);
    tm.post({.object = 6, .producer = 1});
    CHECK(collect_read(again).size() == 1);
}
