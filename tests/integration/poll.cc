// SPDX-License-Identifier: GPL-2.0-or-later
// poll(), epoll and FIONREAD.
#include <unistd.h>

#include <sys/epoll.h>

#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

class Epoll {
public:
    Epoll(int fd, std::uint32_t events) : ep_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (!ep_) {
            throw_errno("epoll_create1");
        }
        epoll_event ev{};
        ev.events = events;
        ev.data.fd = fd;
        if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
            throw_errno("epoll_ctl ADD");
        }
    }
    // The events reported within @timeout_ms, 0 if none.
    std::uint32_t wait(int timeout_ms) {
        epoll_event ev{};
        const int n = ::epoll_wait(ep_.get(), &ev, 1, timeout_ms);
        if (n < 0) {
            throw_errno("epoll_wait");
        }
        return n == 0 ? 0 : ev.events;
    }

private:
    Fd ep_;
};

} // namespace

TEST_CASE("poll reports POLLIN when a record is posted and not before", "[poll]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 1);
    CHECK(poll_events(q.fd(), POLLIN | POLLRDNORM, 0) == 0);
    tm.post({.object = 0, .producer = 1});
    CHECK(poll_events(q.fd(), POLLIN | POLLRDNORM, 0) == (POLLIN | POLLRDNORM));
    collect_read(q);
    CHECK(poll_events(q.fd(), POLLIN | POLLRDNORM, 0) == 0);
}

TEST_CASE("a blocking poll is woken by a post", "[poll]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 1);
    Failures failures;
    const auto start = std::chrono::steady_clock::now();
    const std::jthread poster = spawn(failures, [] {
        std::this_thread::sleep_for(300ms);
        TestModule own;
        own.post({.object = 0, .producer = 1});
    });
    CHECK((poll_events(q.fd(), POLLIN, 10000) & POLLIN) != 0);
    CHECK(std::chrono::steady_clock::now() - start >= 250ms);
    CHECK(std::chrono::steady_clock::now() - start < 9s);
}

TEST_CASE("epoll reports EPOLLIN when a record is posted and not before", "[poll]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 1);
    SECTION("level-triggered") {
        Epoll ep(q.fd(), EPOLLIN);
        CHECK(ep.wait(0) == 0);
        tm.post({.object = 0, .producer = 1});
        CHECK(ep.wait(1000) == EPOLLIN);
        CHECK(ep.wait(0) == EPOLLIN); // still readable
        collect_read(q);
        CHECK(ep.wait(0) == 0);
    }
    SECTION("edge-triggered") {
        Epoll ep(q.fd(), EPOLLIN | EPOLLET);
        CHECK(ep.wait(0) == 0);
        tm.post({.object = 0, .producer = 1});
        CHECK(ep.wait(1000) == EPOLLIN);
        CHECK(ep.wait(0) == 0); // reported once
        collect_read(q);
        tm.post({.object = 0, .producer = 1, .first_seq = 1});
        CHECK(ep.wait(1000) == EPOLLIN); // empty -> non-empty again
    }
    SECTION("woken from another thread") {
        Epoll ep(q.fd(), EPOLLIN);
        Failures failures;
        const std::jthread poster = spawn(failures, [] {
            std::this_thread::sleep_for(300ms);
            TestModule own;
            own.post({.object = 0, .producer = 1});
        });
        CHECK(ep.wait(10000) == EPOLLIN);
    }
}

TEST_CASE("a pending loss record on an emptied ring is readable", "[poll]") {
    TestModule tm;
    Queue q = sized_queue(page_size());
    tm.watch(q.fd(), 0, 1);
    constexpr std::uint32_t size = 64;
    const wqt_post p = tm.post({.object = 0, .producer = 1, .count = 200, .size = size});
    const std::uint64_t lost = q.info().lost;
    REQUIRE(lost > 0);
    const std::uint64_t kept = p.posted - lost;
    // Read the records one by one; the loss record is still to come.
    Bytes buf(size);
    for (std::uint64_t i = 0; i < kept; ++i) {
        REQUIRE(::read(q.fd(), buf.data(), buf.size()) == size);
        REQUIRE(header_of(buf).type == WQT_TYPE);
    }
    const std::size_t pending = q.fionread();
    CHECK((pending == 0 || pending == sizeof(wq_loss_notification)));
    CHECK((poll_events(q.fd(), POLLIN, 0) & POLLIN) != 0);
    Epoll ep(q.fd(), EPOLLIN);
    CHECK(ep.wait(0) == EPOLLIN);
    REQUIRE(::read(q.fd(), buf.data(), buf.size()) == sizeof(wq_loss_notification));
    buf.resize(sizeof(wq_loss_notification));
    CHECK(loss_count(buf) == lost);
    CHECK(poll_events(q.fd(), POLLIN, 0) == 0);
    CHECK(ep.wait(0) == 0);
    CHECK(errno_of(::read(q.fd(), buf.data(), buf.size())) == EAGAIN);
}

TEST_CASE("FIONREAD gives the bytes of whole records ready", "[poll]") {
    TestModule tm;
    SECTION("unsized queue") {
        Queue q;
        CHECK(q.fionread() == 0);
    }
    SECTION("records posted and read") {
        Queue q = sized_queue(65536);
        tm.watch(q.fd(), 0, 1);
        CHECK(q.fionread() == 0);
        std::uint64_t seq = 0;
        for (const std::uint32_t size : {16U, 24U, 120U}) {
            tm.post({.object = 0, .producer = 1, .size = size, .first_seq = seq++});
        }
        CHECK(q.fionread() == 160);
        Bytes buf(16);
        REQUIRE(::read(q.fd(), buf.data(), buf.size()) == 16);
        CHECK(q.fionread() == 144);
        collect_read(q);
        CHECK(q.fionread() == 0);
    }
    SECTION("records consumed through the mapping") {
        Queue q = sized_queue(65536);
        tm.watch(q.fd(), 0, 1);
        tm.post({.object = 0, .producer = 1, .count = 4, .size = 32});
        CHECK(q.fionread() == 128);
        collect_mmap(q);
        CHECK(q.fionread() == 0);
    }
}
