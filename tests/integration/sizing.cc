// SPDX-License-Identifier: GPL-2.0-or-later
// WQ_IOC_SET_SIZE, WQ_IOC_SET_RING_BYTES and WQ_IOC_GET_INFO.
#include <bit>
#include <climits>

#include <sys/ioctl.h>
#include <sys/mman.h>

#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

int set_size(const Queue& q, unsigned long notes) {
    return errno_of(::ioctl(q.fd(), WQ_IOC_SET_SIZE, notes));
}

int set_bytes(const Queue& q, std::uint64_t bytes) {
    return errno_of(::ioctl(q.fd(), WQ_IOC_SET_RING_BYTES, &bytes));
}

void check_ring_size(const wq_ring_info& info, std::uint64_t at_least) {
    CHECK(info.data_size >= at_least);
    CHECK(info.data_size >= page_size());
    CHECK(std::has_single_bit(info.data_size));
}

constexpr std::uint64_t mib16 = 16ULL << 20;

} // namespace

TEST_CASE("SET_SIZE accepts 1..512 notes", "[sizing]") {
    for (const unsigned long notes : {1UL, 2UL, 31UL, 32UL, 33UL, 256UL, 511UL, 512UL}) {
        INFO("notes " << notes);
        Queue q;
        REQUIRE(set_size(q, notes) == 0);
        check_ring_size(q.info(), notes * WQ_RECORD_MAX);
    }
}

TEST_CASE("SET_SIZE rejects 0 and more than 512 notes with EINVAL", "[sizing]") {
    for (const unsigned long notes : {0UL, 513UL, 1024UL, 1UL << 32, ULONG_MAX}) {
        INFO("notes " << notes);
        Queue q;
        CHECK(set_size(q, notes) == EINVAL);
        CHECK(q.info().data_size == 0);
        CHECK(set_size(q, 4) == 0); // a failed attempt does not use up the one sizing
    }
}

TEST_CASE("the queue is sized once: a second SET_SIZE or SET_RING_BYTES gives EBUSY", "[sizing]") {
    Queue q;
    SECTION("SET_SIZE first") {
        REQUIRE(set_size(q, 8) == 0);
    }
    SECTION("SET_RING_BYTES first") {
        REQUIRE(set_bytes(q, 65536) == 0);
    }
    const std::uint64_t size = q.info().data_size;
    CHECK(set_size(q, 8) == EBUSY);
    CHECK(set_size(q, 512) == EBUSY);
    CHECK(set_bytes(q, 65536) == EBUSY);
    CHECK(set_bytes(q, 4096) == EBUSY);
    CHECK(q.info().data_size == size);
}

TEST_CASE("sizing after the first watch gives EBUSY; the watch sized the queue", "[sizing]") {
    TestModule tm;
    Queue q;
    tm.watch(q.fd(), 0, 1);
    const std::uint64_t def = read_param("default_ring_bytes");
    const std::uint64_t expect = std::bit_ceil(std::max<std::uint64_t>(def, page_size()));
    CHECK(q.info().data_size == expect);
    CHECK(set_size(q, 8) == EBUSY);
    CHECK(set_bytes(q, 65536) == EBUSY);
}

TEST_CASE("a ring of N notes holds N maximum-size records", "[sizing]") {
    TestModule tm;
    for (const unsigned long notes : {1UL, 33UL, 512UL}) {
        INFO("notes " << notes);
        Queue q(O_RDWR | O_CLOEXEC | O_NONBLOCK);
        REQUIRE(set_size(q, notes) == 0);
        tm.watch(q.fd(), 0, 3);
        const wqt_post p =
            tm.post({.object = 0, .producer = 1, .count = notes, .size = WQ_RECORD_MAX});
        REQUIRE(p.posted == notes);
        CHECK(q.info().lost == 0);
        SyntheticChecker checker;
        checker.expect({.producer = 1, .watch_id = 3, .size = WQ_RECORD_MAX});
        checker.set_posted(1, p.posted);
        feed_all(checker, collect_read(q));
        checker.finish();
        INFO(checker.report());
        CHECK(checker.ok());
        CHECK(checker.delivered() == notes);
    }
}

TEST_CASE("SET_RING_BYTES rounds up to a power of two of at least a page", "[sizing]") {
    const std::uint64_t pg = page_size();
    const std::pair<std::uint64_t, std::uint64_t> cases[] = {
        {1, pg},          {pg - 8, pg},   {pg, pg},           {pg + 1, 2 * pg}, {5000, 2 * pg},
        {3 * pg, 4 * pg}, {65536, 65536}, {mib16 - 1, mib16}, {mib16, mib16},
    };
    for (const auto& [ask, get] : cases) {
        INFO("ask " << ask);
        Queue q;
        REQUIRE(set_bytes(q, ask) == 0);
        CHECK(q.info().data_size == get);
    }
}

TEST_CASE("SET_RING_BYTES out of range gives EINVAL", "[sizing]") {
    const std::uint64_t max = read_param("max_ring_bytes");
    CHECK(max == mib16); // the documented default
    for (const std::uint64_t bytes : {max + 1, 2 * max, std::uint64_t{0}, std::uint64_t{1} << 63,
                                      (std::uint64_t{1} << 63) + 1, ~std::uint64_t{0}}) {
        INFO("bytes " << bytes);
        Queue q;
        CHECK(set_bytes(q, bytes) == EINVAL);
        CHECK(q.info().data_size == 0);
    }
    Queue q;
    CHECK(set_bytes(q, max) == 0);
    CHECK(q.info().data_size == max);
}

TEST_CASE("SET_RING_BYTES with a bad pointer gives EFAULT", "[sizing]") {
    Queue q;
    void* none = ::mmap(nullptr, page_size(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(none != MAP_FAILED);
    CHECK(errno_of(::ioctl(q.fd(), WQ_IOC_SET_RING_BYTES, none)) == EFAULT);
    CHECK(errno_of(::ioctl(q.fd(), WQ_IOC_SET_RING_BYTES, nullptr)) == EFAULT);
    ::munmap(none, page_size());
    CHECK(q.info().data_size == 0);
}

TEST_CASE("GET_INFO describes an unsized and a sized queue", "[sizing]") {
    Queue q;
    wq_ring_info info = q.info();
    CHECK(info.size == sizeof(wq_ring_info));
    CHECK(info.abi_version == WQ_ABI_VERSION);
    CHECK(info.data_size == 0);
    CHECK((info.features & WQ_FEATURE_MMAP) != 0);
    CHECK((info.features & WQ_FEATURE_SYNC) != 0);

    REQUIRE(set_bytes(q, 65536) == 0);
    info = q.info();
    const std::uint64_t pg = page_size();
    CHECK(info.data_size == 65536);
    CHECK(info.consumer_off % pg == 0);
    CHECK(info.producer_off % pg == 0);
    CHECK(info.data_off % pg == 0);
    CHECK(info.data_off >= sizeof(wq_ring_producer));
    CHECK(info.producer_len >= info.data_off + 2 * info.data_size);
    CHECK(info.producer_len % pg == 0);
    // The consumer page and the read-only part do not overlap.
    CHECK((info.consumer_off + pg <= info.producer_off ||
           info.producer_off + info.producer_len <= info.consumer_off));
    CHECK(info.lost == 0);
    for (const auto r : info.__reserved) {
        CHECK(r == 0);
    }
}

TEST_CASE("GET_INFO with a bad pointer gives EFAULT", "[sizing]") {
    Queue q;
    CHECK(errno_of(::ioctl(q.fd(), WQ_IOC_GET_INFO, nullptr)) == EFAULT);
}
