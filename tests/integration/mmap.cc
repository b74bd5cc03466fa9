// SPDX-License-Identifier: GPL-2.0-or-later
// The mmap interface: mapping rules and zero-copy consumption in place.
#include <cstring>
#include <fcntl.h>

#include <sys/ioctl.h>
#include <sys/mman.h>

#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

// errno of an mmap of the queue (0 if it succeeded; the mapping is undone).
int map_errno(const Queue& q, std::size_t len, int prot, int flags, std::uint64_t off) {
    void* addr = ::mmap(nullptr, len, prot, flags, q.fd(), static_cast<off_t>(off));
    if (addr == MAP_FAILED) {
        return errno;
    }
    ::munmap(addr, len);
    return 0;
}

} // namespace

TEST_CASE("the consumer page maps read-write and the producer part read-only", "[mmap]") {
    Queue q = sized_queue(65536);
    const wq_ring_info info = q.info();
    const std::size_t pg = page_size();
    CHECK(map_errno(q, pg, PROT_READ | PROT_WRITE, MAP_SHARED, info.consumer_off) == 0);
    CHECK(map_errno(q, info.producer_len, PROT_READ, MAP_SHARED, info.producer_off) == 0);
    const RingView& ring = q.map();
    CHECK(ring.data_size == 65536);
    CHECK(*ring.head == 0);
    CHECK(*ring.tail == 0);
    CHECK(q.producer().data_size == 65536);
    CHECK(q.producer().lost == 0);
    for (const auto r : q.producer().__reserved) {
        CHECK(r == 0);
    }
}

TEST_CASE("a writable mapping of the consumer page needs a writable descriptor", "[mmap]") {
    Queue q(O_RDONLY | O_CLOEXEC);
    q.set_ring_bytes(65536);
    const wq_ring_info info = q.info();
    CHECK(map_errno(q, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED, info.consumer_off) ==
          EACCES);
    CHECK(map_errno(q, page_size(), PROT_READ, MAP_SHARED, info.consumer_off) == 0);
    CHECK(map_errno(q, info.producer_len, PROT_READ, MAP_SHARED, info.producer_off) == 0);
}

TEST_CASE("bad mappings are refused", "[mmap]") {
    Queue q = sized_queue(65536);
    const wq_ring_info info = q.info();
    const std::size_t pg = page_size();
    const std::uint64_t end =
        std::max(info.consumer_off + pg, info.producer_off + info.producer_len);
    SECTION("the read-only part writable: EPERM") {
        CHECK(map_errno(q, info.producer_len, PROT_READ | PROT_WRITE, MAP_SHARED,
                        info.producer_off) == EPERM);
        CHECK(map_errno(q, pg, PROT_WRITE, MAP_SHARED, info.producer_off) == EPERM);
    }
    SECTION("the read-only part private: EINVAL") {
        CHECK(map_errno(q, info.producer_len, PROT_READ, MAP_PRIVATE, info.producer_off) == EINVAL);
    }
    SECTION("a writable mapping reaching from the consumer page into the read-only part") {
        const int err = map_errno(q, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, info.consumer_off);
        CHECK((err == EPERM || err == EINVAL));
    }
    SECTION("past the end: EINVAL") {
        CHECK(map_errno(q, pg, PROT_READ, MAP_SHARED, end) == EINVAL);
        CHECK(map_errno(q, info.producer_len + pg, PROT_READ, MAP_SHARED, info.producer_off) ==
              EINVAL);
        CHECK(map_errno(q, pg, PROT_READ, MAP_SHARED, std::uint64_t{1} << 40) == EINVAL);
    }
    SECTION("an offset that is not page aligned: EINVAL") {
        CHECK(map_errno(q, pg, PROT_READ, MAP_SHARED, info.producer_off + 8) == EINVAL);
    }
}

TEST_CASE("mapping an unsized queue gives ENODATA", "[mmap]") {
    Queue q;
    const wq_ring_info info = q.info();
    REQUIRE(info.data_size == 0);
    const std::size_t pg = page_size();
    CHECK(map_errno(q, pg, PROT_READ | PROT_WRITE, MAP_SHARED, info.consumer_off) == ENODATA);
    CHECK(map_errno(q, pg, PROT_READ, MAP_SHARED, info.producer_off) == ENODATA);
    CHECK(map_errno(q, pg, PROT_READ, MAP_SHARED, 0) == ENODATA);
}

TEST_CASE("mprotect cannot make the read-only part writable", "[mmap]") {
    Queue q = sized_queue(65536);
    const wq_ring_info info = q.info();
    const Mapping m =
        map_fd(q.fd(), info.producer_len, PROT_READ, MAP_SHARED, info.producer_off, "producer");
    CHECK(errno_of(::mprotect(m.get(), m.size(), PROT_READ | PROT_WRITE)) == EACCES);
    CHECK(errno_of(::mprotect(m.get(), page_size(), PROT_WRITE)) == EACCES);
    CHECK(::mprotect(m.get(), m.size(), PROT_READ) == 0);
}

TEST_CASE("mremap cannot grow a mapping", "[mmap]") {
    Queue q = sized_queue(65536);
    const wq_ring_info info = q.info();
    const std::size_t pg = page_size();
    SECTION("the read-only part") {
        Mapping m =
            map_fd(q.fd(), info.producer_len, PROT_READ, MAP_SHARED, info.producer_off, "producer");
        void* grown = ::mremap(m.get(), m.size(), m.size() + pg, MREMAP_MAYMOVE);
        CHECK(grown == MAP_FAILED);
        if (grown != MAP_FAILED) {
            m = Mapping(grown, m.size() + pg); // NOLINT: keep ownership right if it succeeded
        }
    }
    SECTION("the consumer page") {
        Mapping m =
            map_fd(q.fd(), pg, PROT_READ | PROT_WRITE, MAP_SHARED, info.consumer_off, "consumer");
        void* grown = ::mremap(m.get(), pg, 2 * pg, MREMAP_MAYMOVE);
        CHECK(grown == MAP_FAILED);
        if (grown != MAP_FAILED) {
            m = Mapping(grown, 2 * pg);
        }
    }
}

TEST_CASE("records read in place equal those read with read()", "[mmap]") {
    TestModule tm;
    Queue by_map = sized_queue(65536);
    Queue by_read = sized_queue(65536);
    tm.watch(by_map.fd(), 0, 7);
    tm.watch(by_read.fd(), 0, 7);
    by_map.map();
    std::uint64_t seq = 0;
    for (std::uint32_t size = 16; size <= WQ_RECORD_MAX; size += 8) {
        tm.post(
            {.object = 0, .producer = 1, .size = size, .subtype = size % 256, .first_seq = seq++});
    }
    const std::uint64_t head = by_map.head();
    const auto mapped = collect_mmap(by_map);
    CHECK(by_map.tail() == head);
    const auto read = collect_read(by_read);
    CHECK(mapped.size() == seq);
    CHECK(mapped == read);
    SyntheticChecker checker;
    checker.expect({.producer = 1, .watch_id = 7});
    checker.set_posted(1, seq);
    feed_all(checker, mapped);
    checker.finish();
    INFO(checker.report());
    CHECK(checker.ok());
}

TEST_CASE("read() advances the consumer position seen through the mapping", "[mmap]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 1);
    const RingView& ring = q.map();
    tm.post({.object = 0, .producer = 1, .count = 3, .size = 40});
    CHECK(q.head() == 120);
    Bytes buf(40);
    REQUIRE(::read(q.fd(), buf.data(), buf.size()) == 40);
    CHECK(q.tail() == 40);
    CHECK(consume_batch(ring, [](Record) {}) == 2);
    CHECK(q.tail() == 120);
    CHECK(errno_of(::read(q.fd(), buf.data(), buf.size())) == EAGAIN);
}

TEST_CASE("records wrapping around the end of the ring are read in place", "[mmap]") {
    TestModule tm;
    Queue q = sized_queue(page_size());
    tm.watch(q.fd(), 0, 1);
    const RingView& ring = q.map();
    SyntheticChecker checker;
    checker.expect({.producer = 1, .watch_id = 1});
    std::uint64_t seq = 0;
    bool wrapped_seen = false;
    for (int round = 0; round < 200; ++round) {
        const std::uint32_t size = 16 + 8 * static_cast<std::uint32_t>(round % 14);
        const wqt_post p =
            tm.post({.object = 0, .producer = 1, .count = 7, .size = size, .first_seq = seq});
        seq += p.posted;
        consume_batch(ring, [&](Record r) {
            const auto off = static_cast<std::size_t>(r.data() - ring.data);
            wrapped_seen = wrapped_seen || off + r.size() > ring.data_size;
            checker.feed(r);
        });
    }
    checker.set_posted(1, seq);
    checker.finish();
    INFO(checker.report());
    CHECK(checker.ok());
    CHECK(checker.lost_reported() == 0);
    CHECK(wrapped_seen);
}

TEST_CASE("a corrupt consumer position hurts only its own queue", "[mmap]") {
    TestModule tm;
    Queue q = sized_queue(page_size());
    Queue other = sized_queue(page_size());
    tm.watch(q.fd(), 0, 1);
    tm.watch(other.fd(), 0, 2);
    const RingView& ring = q.map();
    tm.post({.object = 0, .producer = 1, .count = 2, .size = 32});
    const std::uint64_t head = q.head();
    SECTION("not 8-aligned") {
        store_release(ring.tail, head - 4);
    }
    SECTION("ahead of the head") {
        store_release(ring.tail, head + 8);
    }
    SECTION("more than data_size behind the head") {
        store_release(ring.tail, head - ring.data_size - 8);
    }
    CHECK((poll_events(q.fd(), POLLIN, 0) & POLLERR) != 0);
    Bytes buf(4096);
    CHECK(errno_of(::read(q.fd(), buf.data(), buf.size())) == EIO);
    // Posts to it are lost and counted; the other queue is not affected.
    tm.post({.object = 0, .producer = 1, .count = 3, .size = 32, .first_seq = 2});
    CHECK(load_acquire(&q.producer().lost) == 3);
    CHECK(q.info().lost == 3);
    CHECK(collect_read(other).size() == 5);
    // A valid position again: the loss is reported before the next record.
    store_release(ring.tail, head);
    CHECK((poll_events(q.fd(), POLLIN, 0) & POLLERR) == 0);
    tm.post({.object = 0, .producer = 1, .count = 1, .size = 32, .first_seq = 5});
    const auto recs = collect_mmap(q);
    REQUIRE(recs.size() == 2);
    CHECK(loss_count(recs[0]) == 3);
    CHECK(header_of(recs[1]).type == WQT_TYPE);
}

TEST_CASE("a mapping outlives the file descriptor", "[mmap]") {
    TestModule tm;
    Queue q = sized_queue(65536);
    tm.watch(q.fd(), 0, 1);
    const RingView& ring = q.map();
    tm.post({.object = 0, .producer = 1, .count = 2, .size = 24});
    // The mapping holds the open file: the queue lives on until munmap.
    q.close();
    tm.post({.object = 0, .producer = 1, .count = 2, .size = 24, .first_seq = 2});
    SyntheticChecker checker;
    checker.expect({.producer = 1, .watch_id = 1});
    checker.set_posted(1, 4);
    consume_batch(ring, [&](Record r) { checker.feed(r); });
    checker.finish();
    INFO(checker.report());
    CHECK(checker.ok());
    // Unmapping releases the queue; posting to the object is then harmless.
    q.unmap();
    tm.post({.object = 0, .producer = 1, .count = 2, .size = 24, .first_seq = 4});
}
