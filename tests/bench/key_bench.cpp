// SPDX-License-Identifier: GPL-2.0-or-later
// key_bench: the cost of keyctl(KEYCTL_UPDATE) on one "user" key, in a
// tight loop pinned to one CPU and timed with CLOCK_MONOTONIC, optionally
// with N queues on /dev/watch_queue watching the key.
//
// One run measures one configuration and prints one line:
//   key_bench watchers=N updates=U ns_per_update=MEAN batch_median=M
//             batch_p10=P records=R
// MEAN is the total time over the updates; M and P are the median and the
// 10th percentile of the ns/update of the batches.  Time spent preempted
// (the host of an emulated guest is busy, an interrupt) only ever adds to a
// batch, so the low percentile is the steadiest estimate of the cost itself.
// tests/bench/run-key-bench.sh runs this in each configuration (module not
// loaded, loaded without watches, one watcher, 64 watchers), interleaved in
// rounds, and compares the medians of the rounds.
//
// The updates are timed in batches; between batches (untimed) every queue
// is drained with read(), so that no queue ever overflows, and every record
// is checked to be the key's UPDATED.  With --watchers 0 the device is not
// touched at all, so the same binary measures the module not loaded.  With
// --watch-other the queues watch a second key instead: the hooks are armed
// but the updates post nothing, which separates the cost of the probes
// from the cost of posting.
//
// A program that prints figures, not a test.  It exits with 1 on an error
// or when a queue did not receive exactly one record per update.

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include <sys/ioctl.h>

#include <linux/wq_dev.h>

#include "error.h"
#include "key_ops.h"
#include "parse_number.h"
#include "queue.h"

namespace {

struct Config {
    unsigned watchers = 0;
    std::uint64_t updates = 40000; // timed
    std::uint64_t warmup = 2048;   // untimed, before
    std::uint64_t batch = 256;     // updates per timed batch, then a drain
    int cpu = 0;
    bool watch_other = false; // the queues watch another key
};

[[noreturn]] void usage(int status) {
    (void)std::fprintf(
        status == 0 ? stdout : stderr,
        "usage: key_bench [options]\n"
        "  --watchers N   queues watching the key (default 0: the device is not used)\n"
        "  --updates N    timed updates (default 40000)\n"
        "  --warmup N     untimed updates first (default 2048)\n"
        "  --batch N      updates per timed batch, then the queues are drained (default 256)\n"
        "  --cpu N        CPU to run on (default 0)\n"
        "  --watch-other  the queues watch a second key, not the updated one\n");
    std::exit(status);
}

template <class T>
T parse_number(std::string_view s, const char* opt) {
    const auto v = wqt::to_number<T>(s);
    if (!v) {
        (void)std::fprintf(stderr, "key_bench: bad value for %s\n", opt);
        usage(2);
    }
    return *v;
}

Config parse_args(int argc, char** argv) {
    Config cfg;
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view opt = args[i];
        if (opt == "-h" || opt == "--help") {
            usage(0);
        }
        if (opt == "--watch-other") {
            cfg.watch_other = true;
            continue;
        }
        if (i + 1 >= args.size()) {
            usage(2);
        }
        const std::string_view val = args[++i];
        if (opt == "--watchers") {
            cfg.watchers = parse_number<unsigned>(val, "--watchers");
        } else if (opt == "--updates") {
            cfg.updates = parse_number<std::uint64_t>(val, "--updates");
        } else if (opt == "--warmup") {
            cfg.warmup = parse_number<std::uint64_t>(val, "--warmup");
        } else if (opt == "--batch") {
            cfg.batch = parse_number<std::uint64_t>(val, "--batch");
        } else if (opt == "--cpu") {
            cfg.cpu = parse_number<int>(val, "--cpu");
        } else {
            usage(2);
        }
    }
    if (cfg.updates == 0 || cfg.batch == 0) {
        usage(2);
    }
    return cfg;
}

// @n updates of @key, timed.
std::uint64_t timed_updates(std::int32_t key, std::uint64_t n) {
    const std::uint64_t t0 = bench::now_ns();
    bench::update_key(key, n);
    return bench::now_ns() - t0;
}

// One watcher: a queue and the records it has received.
struct Watcher {
    wqt::Queue queue;
    std::uint64_t records = 0;
};

// Reads everything @w holds; every record must be the key's UPDATED.
void drain(Watcher& w, std::int32_t key) {
    for (;;) {
        const std::size_t n = w.queue.read_records(65536, [&](wqt::Record r) {
            wq_key_notification n{};
            if (r.size() != sizeof(n)) {
                throw std::runtime_error("unexpected record of " + std::to_string(r.size()) +
                                         " bytes (a loss record?)");
            }
            std::memcpy(&n, r.data(), sizeof(n));
            if (n.watch.type != WQ_TYPE_KEY || n.watch.subtype != WQ_KEY_UPDATED ||
                n.key_id != static_cast<std::uint32_t>(key)) {
                throw std::runtime_error("unexpected record");
            }
        });
        if (n == 0) {
            return;
        }
        w.records += n;
    }
}

int run(const Config& cfg) {
    bench::pin_to_cpu(cfg.cpu);
    const std::int32_t key = bench::make_key("user", "key_bench");
    const std::int32_t watched = cfg.watch_other ? bench::make_key("user", "key_bench_other") : key;

    // Each ring holds two batches of 16-byte records.
    const std::uint64_t ring_bytes = 2 * cfg.batch * sizeof(wq_key_notification);
    std::vector<Watcher> watchers;
    watchers.reserve(cfg.watchers);
    for (unsigned i = 0; i < cfg.watchers; ++i) {
        watchers.push_back({wqt::Queue(O_RDWR | O_CLOEXEC | O_NONBLOCK)});
        watchers.back().queue.set_ring_bytes(ring_bytes);
        wq_watch_key w{};
        w.key = watched;
        w.watch_id = 1;
        if (::ioctl(watchers.back().queue.fd(), WQ_IOC_WATCH_KEY, &w) < 0) {
            wqt::throw_errno("WQ_IOC_WATCH_KEY");
        }
    }

    std::uint64_t done = 0;
    std::uint64_t elapsed = 0;
    std::vector<double> batches; // ns/update of each timed batch
    const std::uint64_t total = cfg.warmup + cfg.updates;
    while (done < total) {
        const bool timed = done >= cfg.warmup;
        const std::uint64_t limit = timed ? total : cfg.warmup;
        const std::uint64_t n = std::min(cfg.batch, limit - done);
        const std::uint64_t t = timed_updates(key, n);
        if (timed) {
            elapsed += t;
            batches.push_back(static_cast<double>(t) / static_cast<double>(n));
        }
        done += n;
        for (Watcher& w : watchers) {
            drain(w, key);
        }
    }

    const std::uint64_t expected = cfg.watch_other ? 0 : total;
    for (const Watcher& w : watchers) {
        if (w.records != expected) {
            (void)std::fprintf(stderr, "key_bench: a queue received %llu records, expected %llu\n",
                               static_cast<unsigned long long>(w.records),
                               static_cast<unsigned long long>(expected));
            return 1;
        }
    }
    std::ranges::sort(batches);
    const auto quantile = [&](double q) {
        return batches[static_cast<std::size_t>(q * static_cast<double>(batches.size() - 1))];
    };
    (void)std::printf(
        "key_bench watchers=%u updates=%llu ns_per_update=%.1f batch_median=%.1f "
        "batch_p10=%.1f records=%llu\n",
        cfg.watchers, static_cast<unsigned long long>(cfg.updates),
        static_cast<double>(elapsed) / static_cast<double>(cfg.updates), quantile(0.5),
        quantile(0.1),
        static_cast<unsigned long long>(watchers.empty() ? 0 : watchers.front().records));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const Config cfg = parse_args(argc, argv);
    try {
        return run(cfg);
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "key_bench: %s\n", e.what());
        return 1;
    }
}
