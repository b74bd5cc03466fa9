// SPDX-License-Identifier: GPL-2.0-or-later
// Loss: a record that does not fit is counted and reported by a loss record
// before any later record, in read() and in mmap mode.
#include <atomic>
#include <unistd.h>

#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

enum class Mode { read, mmap };

std::vector<Bytes> collect(Queue& q, Mode mode) {
    return mode == Mode::read ? collect_read(q) : collect_mmap(q);
}

} // namespace

TEST_CASE("overflow gives a loss record with the exact count", "[loss]") {
    const Mode mode = GENERATE(Mode::read, Mode::mmap);
    INFO((mode == Mode::read ? "read() mode" : "mmap mode"));
    TestModule tm;
    Queue q = sized_queue(page_size());
    tm.watch(q.fd(), 0, 3);
    if (mode == Mode::mmap) {
        q.map();
    }
    const wqt_post p = tm.post({.object = 0, .producer = 1, .count = 300, .size = 120});
    REQUIRE(p.posted == 300);
    const std::uint64_t lost = q.info().lost;
    CHECK(lost > 0);
    CHECK(lost < 300);
    if (mode == Mode::mmap) {
        CHECK(load_acquire(&q.producer().lost) == lost);
    }
    auto recs = collect(q, mode);
    // A record posted after the loss comes after the loss record.
    const wqt_post later = tm.post({.object = 0, .producer = 1, .size = 16, .first_seq = 300});
    for (Bytes& r : collect(q, mode)) {
        recs.push_back(std::move(r));
    }
    REQUIRE(recs.size() >= 2);
    const Bytes& loss_rec = recs[recs.size() - 2];
    REQUIRE(is_loss(loss_rec));
    CHECK(loss_count(loss_rec) == lost);
    CHECK(header_of(recs.back()).type == WQT_TYPE);

    SyntheticChecker checker;
    checker.expect({.producer = 1, .watch_id = 3});
    checker.set_posted(1, p.posted + later.posted);
    feed_all(checker, recs);
    checker.finish();
    INFO(checker.report());
    CHECK(checker.ok());
    CHECK(checker.loss_records() == 1);
    CHECK(checker.delivered() + checker.lost_reported() == 301);
    CHECK(q.info().lost == lost); // a running total, not reset by the loss record
}

TEST_CASE("each run of losses gets its own loss record", "[loss]") {
    const Mode mode = GENERATE(Mode::read, Mode::mmap);
    INFO((mode == Mode::read ? "read() mode" : "mmap mode"));
    TestModule tm;
    Queue q = sized_queue(page_size());
    tm.watch(q.fd(), 0, 3);
    SyntheticChecker checker;
    checker.expect({.producer = 1, .watch_id = 3});
    std::uint64_t seq = 0;
    std::uint64_t previous_total = 0;
    for (int run = 0; run < 4; ++run) {
        seq += tm.post({.object = 0, .producer = 1, .count = 100, .size = 64, .first_seq = seq})
                   .posted;
        const std::uint64_t total = q.info().lost;
        CHECK(total > previous_total);
        // Read half of what is there, so that the next run overflows again.
        std::size_t n = 0;
        if (mode == Mode::read) {
            Bytes buf(64);
            ssize_t got = 0;
            while (n < 30 && (got = ::read(q.fd(), buf.data(), buf.size())) > 0) {
                checker.feed(Record(buf.data(), static_cast<std::size_t>(got)));
                ++n;
            }
        } else {
            consume_batch(q.map(), [&](Record r) {
                checker.feed(r);
                return ++n < 30;
            });
        }
        previous_total = total;
    }
    for (const Bytes& r : collect(q, mode)) {
        checker.feed(r);
    }
    seq += tm.post({.object = 0, .producer = 1, .size = 16, .first_seq = seq}).posted;
    for (const Bytes& r : collect(q, mode)) {
        checker.feed(r);
    }
    checker.set_posted(1, seq);
    checker.finish();
    INFO(checker.report());
    CHECK(checker.ok());
    CHECK(checker.loss_records() >= 4);
    CHECK(checker.lost_reported() == q.info().lost);
}

TEST_CASE("loss records are exact under a concurrent consumer", "[loss]") {
    const Mode mode = GENERATE(Mode::read, Mode::mmap);
    INFO((mode == Mode::read ? "read() mode" : "mmap mode"));
    TestModule tm;
    Queue q = sized_queue(page_size());
    tm.watch(q.fd(), 0, 3);
    if (mode == Mode::mmap) {
        q.map();
    }
    SyntheticChecker checker;
    checker.expect({.producer = 1, .watch_id = 3});
    std::atomic<bool> stop{false};
    Failures failures;
    {
        const std::jthread consumer = spawn(failures, [&] {
            while (!stop) {
                for (const Bytes& r : collect(q, mode)) {
                    checker.feed(r);
                }
                std::this_thread::sleep_for(1ms);
            }
        });
        tm.post({.object = 0, .producer = 1, .count = 20000, .size = 56});
        stop = true;
    }
    INFO(failures.str());
    REQUIRE(failures.empty());
    for (const Bytes& r : collect(q, mode)) {
        checker.feed(r);
    }
    tm.post({.object = 0, .producer = 1, .size = 16, .first_seq = 20000});
    for (const Bytes& r : collect(q, mode)) {
        checker.feed(r);
    }
    checker.set_posted(1, 20001);
    checker.finish();
    INFO(checker.report());
    CHECK(checker.ok());
    CHECK(checker.lost_reported() == q.info().lost);
}
