// SPDX-License-Identifier: GPL-2.0-or-later
// WQ_IOC_SYNC: wait until the records posted before the call are consumed.
#include <future>
#include <unistd.h>

#include <sys/ioctl.h>

#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

int sync_errno(const Queue& q) {
    return errno_of(::ioctl(q.fd(), WQ_IOC_SYNC));
}

// Runs SYNC in a thread; the future gives its errno.
std::future<int> sync_async(const Queue& q) {
    return std::async(std::launch::async, [&q] { return sync_errno(q); });
}

} // namespace

TEST_CASE("SYNC on an empty queue returns at once", "[sync]") {
    SECTION("sized") {
        Queue q = sized_queue(65536);
        CHECK(sync_errno(q) == 0);
    }
    SECTION("unsized") {
        Queue q;
        CHECK(sync_errno(q) == 0);
    }
}

TEST_CASE("SYNC returns when a consumer drains the queue", "[sync]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 1);
    tm.post({.object = 0, .producer = 1, .count = 10, .size = 48});
    auto done = sync_async(q);
    CHECK(done.wait_for(300ms) == std::future_status::timeout);
    SECTION("by read()") {
        collect_read(q);
    }
    SECTION("by the mmap consumer advancing its position") {
        collect_mmap(q);
    }
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    CHECK(done.get() == 0);
}

TEST_CASE("SYNC waits only for the records posted before the call", "[sync]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 1);
    tm.post({.object = 0, .producer = 1, .count = 4, .size = 32});
    auto done = sync_async(q);
    std::this_thread::sleep_for(200ms);
    tm.post({.object = 0, .producer = 1, .count = 4, .size = 32, .first_seq = 4});
    CHECK(done.wait_for(100ms) == std::future_status::timeout);
    Bytes buf(std::size_t{4} * 32); // exactly the first four
    REQUIRE(::read(q.fd(), buf.data(), buf.size()) == 128);
    REQUIRE(done.wait_for(10s) == std::future_status::ready);
    CHECK(done.get() == 0);
    CHECK(q.fionread() == 128);
}

TEST_CASE("SYNC is interrupted by a signal", "[sync]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 1);
    tm.post({.object = 0, .producer = 1, .size = 32});
    const SignalCatcher catcher(SIGUSR1, false);
    const std::jthread sender = signal_later(::pthread_self(), SIGUSR1, 300ms);
    CHECK(sync_errno(q) == EINTR);
    CHECK(q.fionread() == 32);
}
