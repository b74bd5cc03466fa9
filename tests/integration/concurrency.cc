// SPDX-License-Identifier: GPL-2.0-or-later
// Producers in process, softirq and hardirq context on every CPU at once,
// one queue consumed through mmap and one through read(): nothing is
// duplicated, reordered within a producer or corrupted, and
// delivered + lost == posted exactly, with and without forced overflow.
#include <atomic>
#include <cstring>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

constexpr std::uint32_t sentinel_producer = 1000;

struct Run {
    const char* name;
    std::uint64_t ring_bytes;
    std::chrono::microseconds consumer_pause; // between batches while producers run
    std::uint64_t per_producer;
    bool force_overflow;
};

struct ProducerPlan {
    PostSpec spec;
    wqt_post result{};
};

bool is_sentinel(Record r) {
    if (r.size() < sizeof(wqt_record) || decode_header(r.data()).type != WQT_TYPE) {
        return false;
    }
    std::uint16_t producer = 0;
    std::memcpy(&producer, r.data() + offsetof(wqt_record, producer), sizeof(producer));
    return producer == sentinel_producer;
}

void pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (::pthread_setaffinity_np(::pthread_self(), sizeof(set), &set) != 0) {
        throw std::runtime_error("cannot pin a thread to cpu " + std::to_string(cpu));
    }
}

std::vector<ProducerPlan> plan(int cpus, std::uint64_t count) {
    std::vector<ProducerPlan> out;
    for (int cpu = 0; cpu < cpus; ++cpu) {
        for (const wqt_context ctx : {WQT_CTX_PROCESS, WQT_CTX_SOFTIRQ, WQT_CTX_HARDIRQ}) {
            const auto id = static_cast<std::uint32_t>(out.size() + 1);
            ProducerPlan p;
            p.spec = {.object = id % 2,
                      .context = ctx,
                      .cpu = cpu,
                      .producer = id,
                      .count = count,
                      .size = 16 + 8 * (id % 14),
                      .batch = ctx == WQT_CTX_PROCESS ? 1U : 64U,
                      .subtype = id,
                      .first_seq = std::uint64_t{1000} * id};
            out.push_back(p);
        }
    }
    return out;
}

void expect_all(SyntheticChecker& checker, const std::vector<ProducerPlan>& plans,
                std::uint32_t watch_base) {
    for (const ProducerPlan& p : plans) {
        checker.expect({.producer = p.spec.producer,
                        .first_seq = p.spec.first_seq,
                        .subtype = p.spec.subtype,
                        .watch_id = watch_base + p.spec.object,
                        .size = p.spec.size});
    }
    checker.expect({.producer = sentinel_producer, .watch_id = watch_base});
    checker.set_posted(sentinel_producer, 1);
}

} // namespace

TEST_CASE("concurrent producers in all contexts on all CPUs", "[concurrency]") {
    const Run run = GENERATE(Run{"large ring, fast consumers", std::uint64_t{1} << 20,
                                 std::chrono::microseconds{0}, 20000, false},
                             Run{"one-page ring, slow consumers (overflow)", 4096,
                                 std::chrono::microseconds{3000}, 20000, true});
    INFO(run.name);
    const int cpus = std::min<int>(2, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
    TestModule tm;
    Queue by_map = sized_queue(std::max<std::uint64_t>(run.ring_bytes, page_size()));
    Queue by_read = sized_queue(std::max<std::uint64_t>(run.ring_bytes, page_size()));
    for (std::uint32_t obj = 0; obj < 2; ++obj) {
        tm.watch(by_map.fd(), obj, static_cast<std::uint8_t>(10 + obj));
        tm.watch(by_read.fd(), obj, static_cast<std::uint8_t>(20 + obj));
    }
    const RingView& ring = by_map.map();

    std::vector<ProducerPlan> plans = plan(cpus, run.per_producer);
    SyntheticChecker map_checker;
    SyntheticChecker read_checker;
    expect_all(map_checker, plans, 10);
    expect_all(read_checker, plans, 20);
    std::atomic<bool> producing{true};
    std::atomic<bool> stop{false}; // consumers give up (the test failed)
    std::atomic<int> finished{0};  // consumers that saw the sentinel
    Failures failures;

    const auto pause = [&] {
        if (producing && run.consumer_pause.count() > 0) {
            std::this_thread::sleep_for(run.consumer_pause);
        }
    };
    std::jthread map_consumer = spawn(failures, [&] {
        bool seen = false;
        while (!seen && !stop) {
            if (consume_batch(ring, [&](Record r) {
                    map_checker.feed(r);
                    seen = seen || is_sentinel(r);
                }) == 0) {
                poll_events(by_map.fd(), POLLIN, 100);
            }
            pause();
        }
        ++finished;
    });
    std::jthread read_consumer = spawn(failures, [&] {
        bool seen = false;
        while (!seen && !stop) {
            if (by_read.read_records(65536, [&](Record r) {
                    read_checker.feed(r);
                    seen = seen || is_sentinel(r);
                }) == 0) {
                poll_events(by_read.fd(), POLLIN, 100);
            }
            pause();
        }
        ++finished;
    });

    {
        std::vector<std::jthread> producers;
        producers.reserve(plans.size());
        for (ProducerPlan& p : plans) {
            producers.push_back(spawn(failures, [&p] {
                if (p.spec.context == WQT_CTX_PROCESS) {
                    pin_to_cpu(p.spec.cpu);
                }
                TestModule own;
                p.result = own.post(p.spec);
            }));
        }
    }
    producing = false;
    // Let the consumers drain what was posted, then post the sentinel: it
    // and any pending loss record fit, and every loss is reported before it.
    try {
        by_map.sync();
        by_read.sync();
        tm.post({.object = 0, .producer = sentinel_producer, .size = 16});
    } catch (...) {
        stop = true;
        throw;
    }
    // A consumer that never sees the sentinel must not hang the suite.
    for (int i = 0; i < 600 && finished < 2; ++i) {
        std::this_thread::sleep_for(100ms);
    }
    stop = true;
    map_consumer.join();
    read_consumer.join();
    INFO(failures.str());
    REQUIRE(failures.empty());

    std::uint64_t posted = 0;
    for (const ProducerPlan& p : plans) {
        INFO("producer " << p.spec.producer << " " << to_string(p.spec.context) << " on cpu "
                         << p.spec.cpu);
        CHECK(p.result.posted == p.spec.count);
        // An irq_work run from the idle loop is not in hard interrupt
        // context (see wq_test_uapi.h): require some, not all, there.
        if (p.spec.context == WQT_CTX_HARDIRQ) {
            CHECK(p.result.in_context > 0);
        } else {
            CHECK(p.result.in_context == p.result.posted);
        }
        posted += p.result.posted;
    }
    for (auto* q : {&by_map, &by_read}) {
        SyntheticChecker& checker = q == &by_map ? map_checker : read_checker;
        INFO((q == &by_map ? "mmap consumer" : "read() consumer"));
        for (const ProducerPlan& p : plans) {
            checker.set_posted(p.spec.producer, p.result.posted);
        }
        checker.finish();
        INFO(checker.report());
        CHECK(checker.ok());
        CHECK(checker.delivered() + checker.lost_reported() == posted + 1);
        CHECK(checker.lost_reported() == q->info().lost);
        if (run.force_overflow) {
            CHECK(checker.lost_reported() > 0);
        }
    }
    CHECK(load_acquire(&by_map.producer().lost) == map_checker.lost_reported());
}
