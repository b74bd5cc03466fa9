// SPDX-License-Identifier: GPL-2.0-or-later
// The mmap batch reader on a fake ring laid out as the kernel lays it out.
#include <cstring>
#include <limits>
#include <vector>
#include <wq_test_uapi.h>

#include "fake_ring.h"
#include "ring.h"
#include "wq_catch.hpp"

using wqt::Record;
using wqt::RingError;
using wqt::fake::FakeRing;

namespace {

constexpr std::size_t page = 4096;

std::vector<std::vector<std::byte>> drain(FakeRing& ring) {
    std::vector<std::vector<std::byte>> out;
    wqt::consume_batch(ring.view(), [&](Record r) { out.emplace_back(r.begin(), r.end()); });
    return out;
}

} // namespace

TEST_CASE("an empty ring gives an empty batch and leaves the tail", "[ring]") {
    FakeRing ring(page);
    CHECK(wqt::consume_batch(ring.view(), [](Record) { FAIL("no record expected"); }) == 0);
    CHECK(ring.tail == 0);
}

TEST_CASE("records are consumed in order and the tail reaches the head", "[ring]") {
    FakeRing ring(page);
    const std::vector<std::vector<std::byte>> recs = {
        wqt::fake::synthetic(1, 0, 16), wqt::fake::synthetic(1, 1, 120), wqt::fake::loss(3),
        wqt::fake::synthetic(2, 7, 24, 5, 9)};
    for (const auto& r : recs) {
        ring.push(r);
    }
    CHECK(drain(ring) == recs);
    CHECK(ring.tail == ring.head);
    CHECK(ring.head == 16 + 120 + 16 + 24);
}

TEST_CASE("a record straddling the end of the data area is read in place", "[ring]") {
    // Start 40 bytes before the end: a 120-byte record wraps.
    FakeRing ring(page, page - 40);
    const auto rec = wqt::fake::synthetic(3, 42, 120);
    ring.push(rec);
    const std::byte* first = nullptr;
    wqt::consume_batch(ring.view(), [&](Record r) {
        first = r.data();
        CHECK(std::equal(r.begin(), r.end(), rec.begin(), rec.end()));
    });
    // In place: the span starts inside the data area and runs into the second mapping.
    CHECK(first == ring.data() + page - 40);
    // The second mapping aliases the first: the wrapped bytes are at the start.
    CHECK(std::memcmp(ring.data(), rec.data() + 40, 80) == 0);
}

TEST_CASE("many rounds through a small ring keep every record intact", "[ring]") {
    FakeRing ring(page);
    std::uint32_t next_push = 0;
    std::uint32_t next_seen = 0;
    for (int round = 0; round < 200; ++round) {
        for (int i = 0; i < 25; ++i) {
            const auto rec = wqt::fake::synthetic(1, next_push, 16 + 8 * (next_push % 14));
            if (!ring.write(rec)) {
                break;
            }
            ++next_push;
        }
        ring.publish();
        wqt::consume_batch(ring.view(), [&](Record r) {
            const auto expect = wqt::fake::synthetic(1, next_seen, 16 + 8 * (next_seen % 14));
            REQUIRE(std::equal(r.begin(), r.end(), expect.begin(), expect.end()));
            ++next_seen;
        });
    }
    CHECK(next_seen == next_push);
    CHECK(ring.head > 10 * page);
}

TEST_CASE("free-running positions may wrap around 2^64", "[ring]") {
    const std::uint64_t start = std::numeric_limits<std::uint64_t>::max() - 31;
    FakeRing ring(page, start);
    ring.push(wqt::fake::synthetic(1, 0, 24));
    ring.push(wqt::fake::synthetic(1, 1, 24));
    CHECK(ring.head < ring.tail); // wrapped
    CHECK(drain(ring).size() == 2);
    CHECK(ring.tail == ring.head);
}

TEST_CASE("the head is loaded once per batch", "[ring]") {
    FakeRing ring(page);
    ring.push(wqt::fake::synthetic(1, 0, 16));
    ring.push(wqt::fake::synthetic(1, 1, 16));
    int seen = 0;
    wqt::consume_batch(ring.view(), [&](Record) {
        // Records published during the batch belong to the next batch.
        ring.push(wqt::fake::synthetic(1, static_cast<std::uint32_t>(2 + seen), 16));
        ++seen;
    });
    CHECK(seen == 2);
    CHECK(ring.tail == 32);
    CHECK(drain(ring).size() == 2);
}

TEST_CASE("the tail is stored once, after the batch", "[ring]") {
    FakeRing ring(page);
    for (std::uint32_t i = 0; i < 4; ++i) {
        ring.push(wqt::fake::synthetic(1, i, 32));
    }
    wqt::consume_batch(ring.view(), [&](Record) { CHECK(ring.tail == 0); });
    CHECK(ring.tail == 128);
}

TEST_CASE("the callback may stop the batch after a record", "[ring]") {
    FakeRing ring(page);
    for (std::uint32_t i = 0; i < 4; ++i) {
        ring.push(wqt::fake::synthetic(1, i, 32));
    }
    CHECK(wqt::consume_batch(ring.view(), [](Record) { return false; }) == 1);
    CHECK(ring.tail == 32);
    int n = 0;
    CHECK(wqt::consume_batch(ring.view(), [&](Record) { return ++n < 2; }) == 2);
    CHECK(ring.tail == 96);
}

TEST_CASE("a corrupt record stops the batch and keeps the tail", "[ring]") {
    FakeRing ring(page);
    ring.push(wqt::fake::synthetic(1, 0, 16));
    SECTION("zero length") {
        ring.push(wqt::fake::header_only(WQT_TYPE, 0, 0, 16));
    }
    SECTION("length not a multiple of 8") {
        ring.push(wqt::fake::header_only(WQT_TYPE, 0, 12, 16));
    }
    SECTION("length above 120") {
        ring.push(wqt::fake::header_only(WQT_TYPE, 0, 127, 128));
    }
    SECTION("record past the head") {
        auto rec = wqt::fake::header_only(WQT_TYPE, 0, 32, 16); // claims 32, 16 published
        ring.push(rec);
    }
    CHECK_THROWS_AS(drain(ring), RingError);
    CHECK(ring.tail == 0);
}

TEST_CASE("a corrupt consumer position is reported", "[ring]") {
    FakeRing ring(page);
    ring.push(wqt::fake::synthetic(1, 0, 16));
    ring.push(wqt::fake::synthetic(1, 1, 16));
    SECTION("tail not 8-aligned") {
        ring.tail = 4;
    }
    SECTION("tail ahead of the head") {
        ring.tail = 40;
    }
    SECTION("tail more than data_size behind the head") {
        ring.head = page + 32;
        ring.tail = 24;
    }
    const std::uint64_t before = ring.tail;
    CHECK_THROWS_AS(drain(ring), RingError);
    CHECK(ring.tail == before);
}

TEST_CASE("a full ring (head - tail == data_size) is valid", "[ring]") {
    FakeRing ring(page);
    std::uint32_t n = 0;
    while (ring.write(wqt::fake::synthetic(1, n, 64))) {
        ++n;
    }
    ring.publish();
    CHECK(ring.head - ring.tail == page);
    CHECK(drain(ring).size() == n);
}
