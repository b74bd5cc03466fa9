// SPDX-License-Identifier: GPL-2.0-or-later
// wq-stress: everything at once, for a bounded time, as root in a guest with
// watch_queue.ko and wq_test.ko loaded.
//
//  * producers: process, softirq and hardirq context on every CPU (up to
//    two), posting numbered records through wq_test's WQT_IOC_POST to two
//    "stable" objects and to six "churn" objects;
//  * stable queues: open for the whole run and watching both stable
//    objects, consumed through mmap and through read(), two of them with a
//    one-page ring and a slow consumer (loss); their filters are replaced
//    all the time by filters that pass every synthetic record, so their
//    accounting stays exact: per producer, in order, no duplicates, intact,
//    and delivered + lost == posted;
//  * churn: queues opened, sized (or not), filtered, mapped, read, watching
//    churn and stable objects and a key, watches added and removed, objects
//    killed, keys updated and invalidated, queues closed with watches on;
//  * a watchdog: a worker that makes no progress for --stall seconds ends
//    the run with a failed check (exit 2).
//
// Output: TAP (tests/support/tap.h): a line per check, "# ..." information
// and the plan at the end.  Exit status 0 only if nothing failed.
//
// Options: --seconds N (default $WQ_STRESS_SECONDS or 60), --stall N
// (default $WQ_STRESS_STALL or 60), --seed N.
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <poll.h>
#include <pthread.h>
#include <random>
#include <sched.h>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>

#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <linux/keyctl.h>

#include "checker.h"
#include "error.h"
#include "parse_number.h"
#include "queue.h"
#include "ring.h"
#include "tap.h"
#include "testmod.h"

using namespace wqt; // NOLINT(google-build-using-namespace): test code
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t stable_objects = 2; // objects 0 and 1
constexpr std::uint32_t first_churn_object = 2;
constexpr std::uint32_t sentinel_producer = 1000;
constexpr std::uint32_t churn_producer_base = 100;

struct Options {
    int seconds = 60;
    int stall = 60;
    unsigned seed = 0;
};

using wqt::parse_number;

template <class T>
T env_number(const char* name, T fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? parse_number<T>(v, name) : fallback;
}

// ------------------------------------------------------------------ output

using tap::check;
using tap::fail;
using tap::pass;
using tap::say;

// ---------------------------------------------------------------- watchdog

// Prints a file as "# " lines, if it can be read (a task's kernel stack
// needs root).
void print_file(const std::string& title, const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "re");
    if (f == nullptr) {
        return;
    }
    say("# " + title + ":");
    std::array<char, 512> line{};
    while (std::fgets(line.data(), static_cast<int>(line.size()), f) != nullptr) {
        std::string l(line.data());
        if (!l.empty() && l.back() == '\n') {
            l.pop_back();
        }
        say("#   " + l);
    }
    (void)std::fclose(f); // read only: nothing is lost
}

// Where a stalled worker is: its kernel stack and system call, and the
// module's hook state, so that a stall report says what it waited for.
void describe_stall(pid_t tid) {
    if (tid != 0) {
        const std::string task = "/proc/self/task/" + std::to_string(tid);
        print_file("its system call", task + "/syscall");
        print_file("its kernel stack", task + "/stack");
    }
    print_file("key hooks", "/sys/module/watch_queue/parameters/key_hooks");
    print_file("key hooks armed since load", "/sys/module/watch_queue/parameters/key_hooks_arms");
}

// Each worker bumps its counter whenever it gets something done; the
// watchdog fails the run if one does not for --stall seconds.
class Watchdog {
public:
    struct Worker {
        std::string name;
        std::atomic<std::uint64_t> progress{0};
        std::atomic<bool> done{false};
        std::atomic<pid_t> tid{0}; // set by the worker's thread
    };

    Worker& add(std::string name) {
        const std::lock_guard lock(mutex_);
        workers_.push_back(std::make_unique<Worker>());
        workers_.back()->name = std::move(name);
        return *workers_.back();
    }

    void start(int stall_seconds) {
        thread_ = std::jthread(
            [this, stall_seconds](const std::stop_token& st) { run(st, stall_seconds); });
    }

    void stop() {
        thread_.request_stop();
        if (thread_.joinable()) {
            thread_.join();
        }
    }

private:
    void run(const std::stop_token& st, int stall_seconds) {
        struct Seen {
            std::uint64_t value = 0;
            Clock::time_point since;
        };
        std::vector<Seen> seen;
        while (!st.stop_requested()) {
            std::this_thread::sleep_for(500ms);
            const std::lock_guard lock(mutex_);
            seen.resize(workers_.size(), Seen{~std::uint64_t{0}, Clock::now()});
            for (std::size_t i = 0; i < workers_.size(); ++i) {
                const Worker& w = *workers_[i];
                const std::uint64_t v = w.progress.load();
                const auto now = Clock::now();
                if (v != seen[i].value || w.done) {
                    seen[i] = {v, now};
                    continue;
                }
                if (now - seen[i].since > std::chrono::seconds(stall_seconds)) {
                    fail("watchdog: worker '" + w.name + "' made no progress for " +
                         std::to_string(stall_seconds) + " s (hung in the kernel?)");
                    describe_stall(w.tid.load());
                    // Threads stuck in a system call cannot be joined: the
                    // plan now, so that the run still counts.
                    tap::plan();
                    ::_exit(2);
                }
            }
        }
    }

    std::mutex mutex_;
    std::deque<std::unique_ptr<Worker>> workers_;
    std::jthread thread_;
};

// ------------------------------------------------------------------- state

struct Shared {
    Options opt;
    std::atomic<bool> stop_churn{false};
    std::atomic<bool> stop_producers{false};
    std::mutex failures_mutex;
    std::vector<std::string> failures;
    std::atomic<std::int32_t> key{0}; // current key serial, 0: none
    bool keys = false;                // WQ_FEATURE_KEYS
    int cpus = 1;

    // Counters for the report.
    std::atomic<std::uint64_t> queues_opened{0};
    std::atomic<std::uint64_t> watches_added{0};
    std::atomic<std::uint64_t> watches_removed{0};
    std::atomic<std::uint64_t> key_watches{0};
    std::atomic<std::uint64_t> filters_set{0};
    std::atomic<std::uint64_t> kills{0};
    std::atomic<std::uint64_t> key_changes{0};
    std::atomic<std::uint64_t> churn_records{0};

    void failure(std::string what) {
        const std::lock_guard lock(failures_mutex);
        if (failures.size() < 50) {
            failures.push_back(std::move(what));
        }
    }
};

// Runs @fn; an exception becomes a failure of worker @w.
std::jthread worker(Shared& sh, Watchdog::Worker& w, std::function<void()> fn) {
    return std::jthread([&sh, &w, fn = std::move(fn)] {
        w.tid = ::gettid();
        try {
            fn();
        } catch (const std::exception& e) {
            sh.failure(w.name + ": " + e.what());
        }
        w.done = true;
    });
}

void pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (::pthread_setaffinity_np(::pthread_self(), sizeof(set), &set) != 0) {
        throw std::runtime_error("cannot pin a thread to cpu " + std::to_string(cpu));
    }
}

// --------------------------------------------------------------- producers

struct Producer {
    std::uint32_t id = 0;
    wqt_context context = WQT_CTX_PROCESS;
    int cpu = 0;
    std::uint32_t size = 16;
    std::uint32_t object = 0; // the stable object it posts to
    std::uint64_t first_seq = 0;
    std::uint64_t posted = 0;     // to the stable object
    std::uint64_t in_context = 0; // of those
    std::uint64_t churn_seq = 0;  // next seq of its churn producer
    std::uint64_t requests = 0;
};

std::uint32_t producer_size(std::uint32_t id) {
    return 16 + 8 * (id % 14);
}

void run_producer(Shared& sh, Producer& p, Watchdog::Worker& w) {
    if (p.context == WQT_CTX_PROCESS) {
        pin_to_cpu(p.cpu);
    }
    TestModule tm;
    std::mt19937 rng(sh.opt.seed * 131 + p.id);
    const std::uint32_t batch = p.context == WQT_CTX_PROCESS ? 1 : 16;
    while (!sh.stop_producers) {
        const wqt_post r = tm.post({.object = p.object,
                                    .context = p.context,
                                    .cpu = p.cpu,
                                    .producer = p.id,
                                    .count = 100 + rng() % 200,
                                    .size = p.size,
                                    .batch = batch,
                                    .subtype = p.id,
                                    .first_seq = p.first_seq + p.posted});
        p.posted += r.posted;
        p.in_context += r.in_context;
        ++p.requests;
        ++w.progress;
        // The same context also feeds the churn objects.
        const wqt_post c =
            tm.post({.object = first_churn_object + static_cast<std::uint32_t>(rng() % 6),
                     .context = p.context,
                     .cpu = p.cpu,
                     .producer = churn_producer_base + p.id,
                     .count = 20 + rng() % 40,
                     .size = p.size,
                     .batch = batch,
                     .subtype = p.id,
                     .first_seq = p.churn_seq});
        p.churn_seq += c.posted;
        ++w.progress;
    }
}

// ----------------------------------------------------------- stable queues

// Three filters that each pass every synthetic record of the stable
// watches (ids @base and @base + 1), and no filter at all.
void set_pass_all_filter(Queue& q, unsigned variant, std::uint32_t base) {
    switch (variant % 4) {
    case 0:
        q.clear_filter();
        break;
    case 1: {
        wq_notification_type_filter f = type_filter(WQT_TYPE, {});
        std::fill(std::begin(f.subtype_filter), std::end(f.subtype_filter), ~0U);
        q.set_filter(std::span(&f, 1));
        break;
    }
    case 2: {
        std::array<wq_notification_type_filter, 3> f{};
        for (std::uint32_t i = 0; i < 2; ++i) {
            f[i] = type_filter(WQT_TYPE, {}, (base + i) << WQ_INFO_ID__SHIFT, WQ_INFO_ID);
            std::fill(std::begin(f[i].subtype_filter), std::end(f[i].subtype_filter), ~0U);
        }
        f[2] = type_filter(WQ_TYPE_KEY, {0, 1, 2});
        q.set_filter(f);
        break;
    }
    default: {
        // One entry per producer subtype (1..6), plus the sentinel's 0.
        std::vector<wq_notification_type_filter> f;
        f.push_back(type_filter(WQT_TYPE, {0, 1, 2, 3, 4, 5, 6}));
        f.push_back(type_filter(WQ_TYPE_USB, {1}));
        q.set_filter(f);
        break;
    }
    }
}

struct StableQueue {
    std::string name;
    bool mmap = false;
    std::uint64_t ring_bytes = 0;
    std::chrono::microseconds pause{0}; // between batches: a slow consumer
    std::uint32_t watch_base = 0;       // watch ids base, base + 1
    std::unique_ptr<Queue> q;
    SyntheticChecker checker;
    std::atomic<bool> sentinel_seen{false};
    std::uint64_t records = 0;
};

bool is_sentinel(Record r) {
    if (r.size() < sizeof(wqt_record) || decode_header(r.data()).type != WQT_TYPE) {
        return false;
    }
    std::uint16_t producer = 0;
    std::memcpy(&producer, r.data() + offsetof(wqt_record, producer), sizeof(producer));
    return producer == sentinel_producer;
}

void run_consumer(Shared& sh, StableQueue& s, Watchdog::Worker& w,
                  const std::atomic<bool>& give_up) {
    const auto feed = [&](Record r) {
        s.checker.feed(r);
        ++s.records;
        if (is_sentinel(r)) {
            s.sentinel_seen = true;
        }
    };
    const RingView* ring = s.mmap ? &s.q->map() : nullptr;
    while (!s.sentinel_seen && !give_up) {
        std::size_t n = 0;
        if (ring != nullptr) {
            n = consume_batch(*ring, feed);
        } else {
            n = s.q->read_records(65536, feed);
        }
        ++w.progress;
        if (n == 0) {
            // Also flushes a pending loss record for the mmap consumer.
            pollfd p{s.q->fd(), POLLIN, 0};
            (void)::poll(&p, 1, 50);
        } else if (s.pause.count() > 0 && !sh.stop_producers) {
            std::this_thread::sleep_for(s.pause);
        }
    }
}

void run_filter_churn(Shared& sh, std::vector<std::unique_ptr<StableQueue>>& stable,
                      Watchdog::Worker& w) {
    unsigned n = 0;
    while (!sh.stop_churn) {
        for (auto& s : stable) {
            set_pass_all_filter(*s->q, n + s->watch_base, s->watch_base);
            ++sh.filters_set;
        }
        ++n;
        ++w.progress;
        std::this_thread::sleep_for(2ms);
    }
    for (auto& s : stable) {
        s->q->clear_filter();
    }
}

// ------------------------------------------------------------------- churn

long add_key(const char* desc, const std::string& payload) {
    return ::syscall(SYS_add_key, "user", desc, payload.data(), payload.size(),
                     KEY_SPEC_PROCESS_KEYRING);
}

// Updates the stress key all the time; now and then invalidates it (its
// watchers get removal records once it is destroyed) and makes a new one.
void run_key_churn(Shared& sh, Watchdog::Worker& w) {
    std::uint64_t n = 0;
    while (!sh.stop_churn) {
        const long serial = add_key("wq-stress", "payload-" + std::to_string(n));
        if (serial < 0) {
            throw_errno("add_key wq-stress");
        }
        sh.key = static_cast<std::int32_t>(serial);
        if (++n % 64 == 0) {
            if (::syscall(SYS_keyctl, KEYCTL_INVALIDATE, serial) < 0) {
                throw_errno("keyctl invalidate");
            }
            sh.key = 0;
        }
        ++sh.key_changes;
        ++w.progress;
        std::this_thread::sleep_for(1ms);
    }
}

void run_killer(Shared& sh, Watchdog::Worker& w) {
    TestModule tm;
    std::mt19937 rng(sh.opt.seed * 7 + 3);
    while (!sh.stop_churn) {
        tm.kill(first_churn_object + static_cast<std::uint32_t>(rng() % 6));
        ++sh.kills;
        ++w.progress;
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 20));
    }
}

// A checker for a churn queue: records in order per producer, intact, but
// gaps need no loss record (watches come and go).
SyntheticChecker churn_checker(const std::vector<Producer>& producers) {
    SyntheticChecker c(SyntheticChecker::Options{.gaps_without_loss = true});
    for (const Producer& p : producers) {
        c.expect({.producer = p.id, .subtype = p.id, .size = p.size});
        c.expect({.producer = churn_producer_base + p.id, .subtype = p.id, .size = p.size});
    }
    c.expect({.producer = sentinel_producer});
    return c;
}

void feed_churn(Shared& sh, SyntheticChecker& c, Record r) {
    ++sh.churn_records;
    if (decode_header(r.data()).type == WQ_TYPE_KEY) {
        return;
    }
    c.feed(r);
}

void check_churn_queue(Shared& sh, SyntheticChecker& c, const std::string& who) {
    if (!c.ok()) {
        sh.failure(who + ": " + c.report());
    }
}

// One churn queue's life: open, maybe size, maybe filter, watch objects
// (and the key), consume some, remove some watches, close (often with
// watches still on).
void churn_one_queue(Shared& sh, TestModule& tm, std::mt19937& rng,
                     const std::vector<Producer>& producers, Watchdog::Worker& w,
                     const std::string& who) {
    Queue q(O_RDWR | O_NONBLOCK | O_CLOEXEC);
    ++sh.queues_opened;
    const unsigned how = rng() % 4;
    if (how == 1) {
        q.set_size(1 + rng() % WQ_MAX_NOTES);
    } else if (how == 2) {
        q.set_ring_bytes(std::uint64_t{4096} << (rng() % 9)); // 4 KiB .. 1 MiB
    }
    if (rng() % 3 == 0) {
        std::vector<wq_notification_type_filter> f;
        f.push_back(type_filter(WQT_TYPE, {1, 3, 5}));
        if (rng() % 2 == 0) {
            f.push_back(type_filter(WQT_TYPE, {2, 4, 6}, 7U << WQ_INFO_ID__SHIFT, WQ_INFO_ID));
        }
        q.set_filter(f);
        ++sh.filters_set;
    }
    std::vector<std::uint32_t> watching;
    for (std::uint32_t obj = 0; obj < WQT_NR_OBJECTS; ++obj) {
        if (rng() % 2 == 0) {
            continue;
        }
        const int err = tm.try_watch(q.fd(), obj, static_cast<std::int32_t>(rng() % 256));
        if (err == 0) {
            watching.push_back(obj);
            ++sh.watches_added;
        } else {
            throw_errno(err, "WQT_IOC_WATCH object " + std::to_string(obj));
        }
    }
    if (sh.keys && rng() % 2 == 0) {
        wq_watch_key wk{};
        wk.key = sh.key.load();
        wk.watch_id = static_cast<std::int32_t>(rng() % 256);
        if (wk.key != 0) {
            if (::ioctl(q.fd(), WQ_IOC_WATCH_KEY, &wk) == 0) {
                ++sh.key_watches;
            } else if (errno != EKEYREVOKED && errno != ENOKEY && errno != EKEYEXPIRED &&
                       errno != EACCES) {
                // The key may be invalidated or destroyed under us.
                throw_errno("WQ_IOC_WATCH_KEY " + std::to_string(wk.key));
            }
        }
    }
    SyntheticChecker c = churn_checker(producers);
    const bool use_mmap = q.info().data_size != 0 && rng() % 2 == 0;
    const RingView* ring = use_mmap ? &q.map() : nullptr;
    const unsigned rounds = 1 + rng() % 6;
    for (unsigned i = 0; i < rounds && !sh.stop_churn; ++i) {
        if (ring != nullptr) {
            unsigned budget = 512; // a ring holds up to ~65000 records
            consume_batch(*ring, [&](Record r) {
                feed_churn(sh, c, r);
                return --budget > 0;
            });
        } else if (rng() % 4 != 0) { // now and then leave it to overflow
            try {
                q.read_records(1 + rng() % 4096, [&](Record r) { feed_churn(sh, c, r); });
            } catch (const std::system_error& e) {
                if (e.code().value() != ENOBUFS) { // a buffer too small: fine
                    throw;
                }
            }
        }
        if (!watching.empty() && rng() % 5 == 0) {
            const std::size_t k = rng() % watching.size();
            const int err = tm.try_watch(q.fd(), watching[k], -1);
            // EBADSLT: the object was killed meanwhile.
            if (err != 0 && err != EBADSLT) {
                throw_errno(err, "WQT_IOC_WATCH remove object " + std::to_string(watching[k]));
            }
            if (err == 0) {
                ++sh.watches_removed;
            }
            watching.erase(watching.begin() + static_cast<long>(k));
        }
        ++w.progress;
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 1000));
    }
    check_churn_queue(sh, c, who);
}

void run_queue_churn(Shared& sh, const std::vector<Producer>& producers, Watchdog::Worker& w,
                     unsigned idx) {
    TestModule tm;
    std::mt19937 rng(sh.opt.seed * 1009 + idx);
    std::uint64_t n = 0;
    while (!sh.stop_churn) {
        churn_one_queue(sh, tm, rng, producers, w, w.name + " queue " + std::to_string(n++));
        ++w.progress;
    }
}

// One long-lived queue whose watches of every object are added and
// removed over and over while records flow.
void run_watch_churn(Shared& sh, const std::vector<Producer>& producers, Watchdog::Worker& w) {
    TestModule tm;
    std::mt19937 rng(sh.opt.seed * 31 + 17);
    Queue q(O_RDWR | O_NONBLOCK | O_CLOEXEC);
    q.set_ring_bytes(16384);
    SyntheticChecker c = churn_checker(producers);
    std::array<bool, WQT_NR_OBJECTS> on{};
    while (!sh.stop_churn) {
        const auto obj = static_cast<std::uint32_t>(rng() % WQT_NR_OBJECTS);
        if (!on[obj]) {
            const int err = tm.try_watch(q.fd(), obj, static_cast<std::int32_t>(obj));
            // EBUSY: still on from before a kill we did not see.
            if (err != 0 && err != EBUSY) {
                throw_errno(err, "WQT_IOC_WATCH object " + std::to_string(obj));
            }
            on[obj] = true;
            ++sh.watches_added;
        } else {
            const int err = tm.try_watch(q.fd(), obj, -1);
            if (err != 0 && err != EBADSLT) {
                throw_errno(err, "WQT_IOC_WATCH remove object " + std::to_string(obj));
            }
            on[obj] = false;
            ++sh.watches_removed;
        }
        q.read_records(65536, [&](Record r) { feed_churn(sh, c, r); });
        ++w.progress;
    }
    check_churn_queue(sh, c, w.name);
}

// ------------------------------------------------------------------- main

Options parse(int argc, char** argv) {
    Options o;
    o.seconds = env_number("WQ_STRESS_SECONDS", 60);
    o.stall = env_number("WQ_STRESS_STALL", 60);
    // Unsigned, as the run prints it.
    o.seed = env_number("WQ_STRESS_SEED", static_cast<unsigned>(::time(nullptr)));
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 < argc && a == "--seconds") {
            o.seconds = parse_number<int>(argv[++i], a);
        } else if (i + 1 < argc && a == "--stall") {
            o.stall = parse_number<int>(argv[++i], a);
        } else if (i + 1 < argc && a == "--seed") {
            o.seed = parse_number<unsigned>(argv[++i], a);
        } else {
            throw std::runtime_error("usage: wq-stress [--seconds N] [--stall N] [--seed N]");
        }
    }
    return o;
}

int run(const Options& opt) {
    Shared sh;
    sh.opt = opt;
    sh.cpus = std::clamp(static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)), 1, 2);
    say("# wq-stress: " + std::to_string(opt.seconds) + " s, stall limit " +
        std::to_string(opt.stall) + " s, seed " + std::to_string(opt.seed) + ", " +
        std::to_string(sh.cpus) + " CPUs");

    Watchdog dog;
    Watchdog::Worker& main_w = dog.add("main");
    dog.start(opt.stall);

    // Producers: each context on each CPU.
    std::vector<Producer> producers;
    for (int cpu = 0; cpu < sh.cpus; ++cpu) {
        for (const wqt_context ctx : {WQT_CTX_PROCESS, WQT_CTX_SOFTIRQ, WQT_CTX_HARDIRQ}) {
            Producer p;
            p.id = static_cast<std::uint32_t>(producers.size() + 1);
            p.context = ctx;
            p.cpu = cpu;
            p.size = producer_size(p.id);
            p.object = p.id % stable_objects;
            p.first_seq = std::uint64_t{1} << 20 | std::uint64_t{p.id} << 24;
            producers.push_back(p);
        }
    }

    // Stable queues.
    std::vector<std::unique_ptr<StableQueue>> stable;
    const auto add_stable = [&](std::string name, bool mmap, std::uint64_t bytes,
                                std::chrono::microseconds pause, std::uint32_t base) {
        auto s = std::make_unique<StableQueue>();
        s->name = std::move(name);
        s->mmap = mmap;
        s->ring_bytes = bytes;
        s->pause = pause;
        s->watch_base = base;
        s->q = std::make_unique<Queue>(O_RDWR | O_NONBLOCK | O_CLOEXEC);
        s->q->set_ring_bytes(bytes);
        stable.push_back(std::move(s));
    };
    add_stable("mmap 256 KiB", true, 256 << 10, 0us, 10);
    add_stable("read 256 KiB", false, 256 << 10, 0us, 20);
    add_stable("mmap 4 KiB slow", true, 4096, 2000us, 30);
    add_stable("read 4 KiB slow", false, 4096, 2000us, 40);
    TestModule tm;
    for (auto& s : stable) {
        for (std::uint32_t obj = 0; obj < stable_objects; ++obj) {
            tm.watch(s->q->fd(), obj, static_cast<std::uint8_t>(s->watch_base + obj));
        }
        for (const Producer& p : producers) {
            s->checker.expect({.producer = p.id,
                               .first_seq = p.first_seq,
                               .subtype = p.id,
                               .watch_id = s->watch_base + p.object,
                               .size = p.size});
        }
        s->checker.expect({.producer = sentinel_producer, .watch_id = s->watch_base});
        s->checker.set_posted(sentinel_producer, 1);
    }
    sh.keys = (stable.front()->q->info().features & WQ_FEATURE_KEYS) != 0;
    if (!sh.keys) {
        say("# key watches unavailable (no WQ_FEATURE_KEYS): no key churn");
    } else {
        // The process keyring, made before the threads so that all share it.
        const long serial = add_key("wq-stress", "initial");
        if (serial < 0) {
            throw_errno("add_key wq-stress");
        }
        sh.key = static_cast<std::int32_t>(serial);
    }

    std::atomic<bool> give_up{false};
    std::vector<std::jthread> consumers;
    std::vector<std::jthread> churners;
    std::vector<std::jthread> producer_threads;
    for (auto& s : stable) {
        Watchdog::Worker& w = dog.add("consumer " + s->name);
        StableQueue* sp = s.get();
        consumers.push_back(
            worker(sh, w, [&sh, sp, &w, &give_up] { run_consumer(sh, *sp, w, give_up); }));
    }
    {
        Watchdog::Worker& w = dog.add("filter churn");
        churners.push_back(worker(sh, w, [&sh, &stable, &w] { run_filter_churn(sh, stable, w); }));
    }
    if (sh.keys) {
        Watchdog::Worker& w = dog.add("key churn");
        churners.push_back(worker(sh, w, [&sh, &w] { run_key_churn(sh, w); }));
    }
    {
        Watchdog::Worker& w = dog.add("object killer");
        churners.push_back(worker(sh, w, [&sh, &w] { run_killer(sh, w); }));
    }
    for (unsigned i = 0; i < 3; ++i) {
        Watchdog::Worker& w = dog.add("queue churn " + std::to_string(i));
        churners.push_back(
            worker(sh, w, [&sh, &producers, &w, i] { run_queue_churn(sh, producers, w, i); }));
    }
    {
        Watchdog::Worker& w = dog.add("watch churn");
        churners.push_back(
            worker(sh, w, [&sh, &producers, &w] { run_watch_churn(sh, producers, w); }));
    }
    for (Producer& p : producers) {
        Watchdog::Worker& w = dog.add("producer " + std::to_string(p.id) + " " +
                                      to_string(p.context) + " cpu " + std::to_string(p.cpu));
        Producer* pp = &p;
        producer_threads.push_back(worker(sh, w, [&sh, pp, &w] { run_producer(sh, *pp, w); }));
    }

    const auto end = Clock::now() + std::chrono::seconds(opt.seconds);
    while (Clock::now() < end) {
        std::this_thread::sleep_for(200ms);
        ++main_w.progress;
    }
    sh.stop_producers = true;
    for (auto& t : producer_threads) {
        t.join();
    }
    ++main_w.progress;
    sh.stop_churn = true;
    for (auto& t : churners) {
        t.join();
    }
    ++main_w.progress;

    // Drain, then a sentinel that fits in every ring after any pending loss.
    for (auto& s : stable) {
        s->q->sync();
        ++main_w.progress;
    }
    tm.post({.object = 0, .producer = sentinel_producer, .size = 16});
    for (int i = 0; i < 600; ++i) {
        if (std::all_of(stable.begin(), stable.end(),
                        [](const auto& s) { return s->sentinel_seen.load(); })) {
            break;
        }
        std::this_thread::sleep_for(100ms);
        ++main_w.progress;
    }
    give_up = true;
    for (auto& t : consumers) {
        t.join();
    }
    dog.stop();

    // ---- verdicts
    {
        const std::lock_guard lock(sh.failures_mutex);
        std::string all;
        for (const auto& f : sh.failures) {
            all += "\n    " + f;
        }
        check(sh.failures.empty(), "workers: no unexpected error" + all);
    }
    std::uint64_t posted_total = 0;
    bool contexts_ok = true;
    std::string contexts;
    for (const Producer& p : producers) {
        posted_total += p.posted;
        contexts += " " + std::to_string(p.id) + ":" + to_string(p.context) + "/cpu" +
                    std::to_string(p.cpu) + "=" + std::to_string(p.posted) + "(" +
                    std::to_string(p.in_context) + " in context)";
        if (p.posted == 0 || p.in_context == 0) {
            contexts_ok = false;
        }
    }
    check(contexts_ok, "every producer posted, in its context:" + contexts);
    for (auto& s : stable) {
        for (const Producer& p : producers) {
            s->checker.set_posted(p.id, p.posted);
        }
        s->checker.finish();
        const std::uint64_t lost = s->q->info().lost;
        const bool ok = s->checker.ok() && s->sentinel_seen && s->checker.lost_reported() == lost &&
                        s->checker.delivered() + s->checker.lost_reported() == posted_total + 1;
        check(ok, "stable queue '" + s->name + "': delivered " +
                      std::to_string(s->checker.delivered()) + " + lost " +
                      std::to_string(s->checker.lost_reported()) + " == posted " +
                      std::to_string(posted_total + 1) + " (ring lost " + std::to_string(lost) +
                      (s->sentinel_seen ? "" : ", sentinel never seen") + ")" +
                      (s->checker.ok() ? "" : "\n  " + s->checker.report()));
    }
    say("# churn: " + std::to_string(sh.queues_opened) + " queues, " +
        std::to_string(sh.watches_added) + " watches added, " + std::to_string(sh.watches_removed) +
        " removed, " + std::to_string(sh.key_watches) + " key watches, " +
        std::to_string(sh.filters_set) + " filters set, " + std::to_string(sh.kills) +
        " object kills, " + std::to_string(sh.key_changes) + " key changes, " +
        std::to_string(sh.churn_records) + " records read by churn queues");
    print_file("key hooks armed since load", "/sys/module/watch_queue/parameters/key_hooks_arms");
    check(sh.queues_opened > 0 && sh.watches_added > 0 && sh.filters_set > 0 && sh.kills > 0,
          "churn happened");
    pass("watchdog: every worker made progress (limit " + std::to_string(opt.stall) + " s)");
    return tap::failed() == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    int rc = 1;
    try {
        rc = run(parse(argc, argv));
    } catch (const std::exception& e) {
        fail(std::string("wq-stress: ") + e.what());
    }
    tap::plan();
    return rc;
}
