// SPDX-License-Identifier: GPL-2.0-or-later
// read(): whole records, ENOBUFS, short reads, EAGAIN, blocking and signals.
#include <unistd.h>

#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

ssize_t read_into(const Queue& q, Bytes& buf) {
    return ::read(q.fd(), buf.data(), buf.size());
}

// Posts records of sizes 16, 24, 120 (producer 1, seq 0..2).
void post_three(TestModule& tm, std::uint32_t object) {
    std::uint64_t seq = 0;
    for (const std::uint32_t size : {16U, 24U, 120U}) {
        tm.post({.object = object, .producer = 1, .size = size, .first_seq = seq++});
    }
}

} // namespace

TEST_CASE("read() returns as many whole records as fit", "[read]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 4);
    post_three(tm, 0);
    SECTION("a buffer for all of them") {
        Bytes buf(4096);
        REQUIRE(read_into(q, buf) == 160);
    }
    SECTION("a buffer ending inside the third: short read") {
        Bytes buf(16 + 24 + 119);
        REQUIRE(read_into(q, buf) == 40);
        Bytes rest(120);
        REQUIRE(read_into(q, rest) == 120);
        CHECK(header_of(rest).length() == 120);
    }
    SECTION("a buffer of exactly one record at a time") {
        for (const ssize_t size : {16, 24, 120}) {
            Bytes buf(static_cast<std::size_t>(size));
            REQUIRE(read_into(q, buf) == size);
            CHECK(header_of(buf).length() == size);
        }
    }
    Bytes buf(4096);
    CHECK(errno_of(read_into(q, buf)) == EAGAIN);
}

TEST_CASE("read() returns the records as posted", "[read]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 4);
    SyntheticChecker checker;
    checker.expect({.producer = 1, .watch_id = 4});
    std::uint64_t seq = 0;
    for (std::uint32_t size = 16; size <= WQ_RECORD_MAX; size += 8) {
        tm.post({.object = 0, .producer = 1, .size = size, .first_seq = seq++});
    }
    checker.set_posted(1, seq);
    feed_all(checker, collect_read(q, 200)); // a few records per read
    checker.finish();
    INFO(checker.report());
    CHECK(checker.ok());
    CHECK(checker.delivered() == seq);
}

TEST_CASE("read() with a buffer too small for the first record gives ENOBUFS", "[read]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 4);
    tm.post({.object = 0, .producer = 1, .size = 120});
    for (const std::size_t size : {1U, 8U, 16U, 119U}) {
        INFO("buffer " << size);
        Bytes buf(size);
        CHECK(errno_of(read_into(q, buf)) == ENOBUFS);
    }
    CHECK(q.fionread() == 120); // nothing was consumed
    Bytes buf(120);
    CHECK(read_into(q, buf) == 120);
}

TEST_CASE("read() of an empty queue with O_NONBLOCK gives EAGAIN", "[read]") {
    Queue q = sized_queue(page_size());
    Bytes buf(4096);
    CHECK(errno_of(read_into(q, buf)) == EAGAIN);
    Queue blocking = sized_queue(page_size(), true);
    blocking.set_nonblock(true);
    CHECK(errno_of(read_into(blocking, buf)) == EAGAIN);
}

TEST_CASE("a blocking read() is woken by a post from another thread", "[read]") {
    TestModule tm;
    Queue q = sized_queue(65536, true);
    tm.watch(q.fd(), 0, 4);
    Failures failures;
    const auto start = std::chrono::steady_clock::now();
    {
        const std::jthread poster = spawn(failures, [&] {
            std::this_thread::sleep_for(300ms);
            TestModule own;
            own.post({.object = 0, .producer = 1, .size = 32});
        });
        Bytes buf(4096);
        CHECK(read_into(q, buf) == 32);
    }
    CHECK(std::chrono::steady_clock::now() - start >= 250ms);
    INFO(failures.str());
    CHECK(failures.empty());
}

TEST_CASE("a blocking read() is interrupted by a signal", "[read]") {
    TestModule tm;
    Queue q = sized_queue(65536, true);
    tm.watch(q.fd(), 0, 4);
    Bytes buf(4096);
    SECTION("without SA_RESTART: EINTR") {
        const SignalCatcher catcher(SIGUSR1, false);
        const std::jthread sender = signal_later(::pthread_self(), SIGUSR1, 300ms);
        CHECK(errno_of(read_into(q, buf)) == EINTR);
    }
    SECTION("with SA_RESTART: the read goes on and gets the next record") {
        const SignalCatcher catcher(SIGUSR1, true);
        Failures failures;
        const std::jthread sender = signal_later(::pthread_self(), SIGUSR1, 200ms);
        const std::jthread poster = spawn(failures, [&] {
            std::this_thread::sleep_for(600ms);
            TestModule own;
            own.post({.object = 0, .producer = 1, .size = 24});
        });
        CHECK(read_into(q, buf) == 24);
    }
}
