// SPDX-License-Identifier: GPL-2.0-or-later
// parity_bench: the module beside the kernel's own notification queue
// (issue 18), on a kernel built with CONFIG_WATCH_QUEUE and
// CONFIG_KEY_NOTIFICATIONS (the reference lane's).  One run measures one
// configuration and prints one line; tests/bench/run-parity-bench.sh runs
// every configuration, interleaved in rounds, and compares them.
//
// Operations (the default mode): the cost of three key operations, each in
// a tight loop pinned to one CPU and timed with CLOCK_MONOTONIC in batches:
//   update  keyctl(KEYCTL_UPDATE) of a user key
//   link    keyctl(KEYCTL_LINK) of a user key into a keyring
//   unlink  keyctl(KEYCTL_UNLINK) of it again
// (a batch links @batch distinct keys, then unlinks them), with N watchers
// of one kind watching the key and the keyring:
//   --watch none    nobody watches: the device is not touched, so the same
//                   binary measures the module not loaded
//   --watch pipe    N notification pipes of the kernel itself:
//                   pipe2(O_NOTIFICATION_PIPE), IOC_WATCH_QUEUE_SET_SIZE,
//                   keyctl(KEYCTL_WATCH_KEY); nothing of the project involved
//   --watch device  N /dev/watch_queue queues (WQ_IOC_WATCH_KEY)
//   --other         the watchers watch another key instead, so the
//                   operations post nothing (for the device: the module's
//                   key hooks are armed, and decline)
// Prints
//   parity_bench ops watch=KIND watchers=N other=0|1 ops=U clock=C
//       update_p10=.. update_mean=.. link_p10=.. link_mean=.. unlink_p10=.. unlink_mean=..
// in ns per operation: P10 is the 10th percentile of the batches (time lost
// to preemption only ever adds), MEAN the whole run.  Between batches
// (untimed) every watcher is drained and every record is checked: exactly
// one per operation, of the right subtype and object.
//
// Batches are short (32 operations) on purpose: the timer tick, and the
// RCU callbacks it runs (freeing what the earlier operations let go),
// costs a batch as much as ~1000 instructions per operation.  Under
// -icount an iteration of 256-operation batches lasted about one tick, so
// the tick fell into the same phase of every iteration and raised the
// 10th percentile of one operation for a whole run, at random.  With short
// batches it hits few of them and the percentile leaves it out.
//
// Consumption (--consume): the cost per record of reading the same key
// records from a notification pipe with read() and from a device queue with
// read() (both with 4 KiB and 64 KiB buffers) and through its mmap'd ring.
// All five consumers watch one key; @fill updates (untimed; at most 512, the
// most a notification pipe holds) give each consumer @fill 16-byte records,
// which each consumer then drains (timed, in an order that rotates by fill),
// walking every record's header alike.  Prints
//   parity_bench consume fill=F fills=N records=R clock=C
//       pipe_read4k_p10=.. pipe_read4k_mean=.. ... mmap_mean=..
// in ns per record.
//
// C is the cost of one clock reading (the least of many back-to-back
// pairs), subtracted from every timed interval.  Run under QEMU with
// -icount shift=0 (tests/vm/README.md), every ns is one guest instruction.
// A program that prints figures, not a test: it exits with 1 on an error
// or a missing, extra or unexpected record.

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include <sys/ioctl.h>

#include <linux/keyctl.h>
#include <linux/wq_dev.h>

#include "error.h"
#include "fd.h"
#include "key_ops.h"
#include "parse_number.h"
#include "queue.h"
#include "ring.h"

namespace {

// Upstream's <linux/watch_queue.h> cannot be included beside glibc's
// <fcntl.h>; its two definitions used here, with the same values.
constexpr int o_notification_pipe = O_EXCL;
constexpr unsigned long ioc_watch_queue_set_size = _IO('W', 0x60);
static_assert(ioc_watch_queue_set_size == WQ_IOC_SET_SIZE);

// The most a notification pipe holds (upstream's limit on SET_SIZE).
constexpr std::uint64_t pipe_notes = 512;

enum class Kind { none, pipe, device };

struct Config {
    bool consume = false;
    Kind kind = Kind::none;
    unsigned watchers = 0;
    bool other = false;
    std::uint64_t ops = 8192;   // timed, per operation
    std::uint64_t warmup = 512; // untimed, per operation, before
    std::uint64_t batch = 32;   // operations per timed batch
    std::uint64_t fill = 512;   // consume: records per fill
    std::uint64_t fills = 64;   // consume: timed fills
    int cpu = 0;
};

[[noreturn]] void usage(int status) {
    (void)std::fprintf(
        status == 0 ? stdout : stderr,
        "usage: parity_bench [options]\n"
        "  --watch KIND   none (default), pipe (the kernel's notification pipes) or device\n"
        "  --watchers N   watchers of that kind (default 1, or 0 for none)\n"
        "  --other        the watchers watch another key: nothing is posted\n"
        "  --ops N        timed operations of each kind (default 8192)\n"
        "  --warmup N     untimed operations of each kind first (default 512)\n"
        "  --batch N      operations per timed batch, then the watchers are drained\n"
        "                 (default 32, at most 512)\n"
        "  --consume      measure consumption per record instead (pipe read(), device\n"
        "                 read() and mmap)\n"
        "  --fill N       consume: records per fill (default 512, at most 512)\n"
        "  --fills N      consume: timed fills (default 64)\n"
        "  --cpu N        CPU to run on (default 0)\n");
    std::exit(status);
}

template <class T>
T parse_number(std::string_view s, const char* opt) {
    const auto v = wqt::to_number<T>(s);
    if (!v) {
        (void)std::fprintf(stderr, "parity_bench: bad value for %s\n", opt);
        usage(2);
    }
    return *v;
}

Config parse_args(int argc, char** argv) {
    Config cfg;
    std::optional<unsigned> watchers;
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view opt = args[i];
        if (opt == "-h" || opt == "--help") {
            usage(0);
        }
        if (opt == "--other") {
            cfg.other = true;
            continue;
        }
        if (opt == "--consume") {
            cfg.consume = true;
            continue;
        }
        if (i + 1 >= args.size()) {
            usage(2);
        }
        const std::string_view val = args[++i];
        if (opt == "--watch") {
            if (val == "none") {
                cfg.kind = Kind::none;
            } else if (val == "pipe") {
                cfg.kind = Kind::pipe;
            } else if (val == "device") {
                cfg.kind = Kind::device;
            } else {
                usage(2);
            }
        } else if (opt == "--watchers") {
            watchers = parse_number<unsigned>(val, "--watchers");
        } else if (opt == "--ops") {
            cfg.ops = parse_number<std::uint64_t>(val, "--ops");
        } else if (opt == "--warmup") {
            cfg.warmup = parse_number<std::uint64_t>(val, "--warmup");
        } else if (opt == "--batch") {
            cfg.batch = parse_number<std::uint64_t>(val, "--batch");
        } else if (opt == "--fill") {
            cfg.fill = parse_number<std::uint64_t>(val, "--fill");
        } else if (opt == "--fills") {
            cfg.fills = parse_number<std::uint64_t>(val, "--fills");
        } else if (opt == "--cpu") {
            cfg.cpu = parse_number<int>(val, "--cpu");
        } else {
            usage(2);
        }
    }
    cfg.watchers = watchers.value_or(cfg.kind == Kind::none ? 0 : 1);
    if (cfg.ops == 0 || cfg.batch == 0 || cfg.batch > pipe_notes || cfg.fill == 0 ||
        cfg.fill > pipe_notes || cfg.fills == 0 ||
        (cfg.kind == Kind::none) != (cfg.watchers == 0)) {
        usage(2);
    }
    return cfg;
}

// The cost of one clock reading: the least of many back-to-back pairs.
std::uint64_t clock_cost() {
    std::uint64_t best = UINT64_MAX;
    for (int i = 0; i < 256; ++i) {
        const std::uint64_t t0 = bench::now_ns();
        const std::uint64_t t1 = bench::now_ns();
        best = std::min(best, t1 - t0);
    }
    return best;
}

// Per-operation (or per-record) figures of one run.
struct Figures {
    std::vector<double> per_batch; // ns per item of each timed batch
    std::uint64_t ns = 0;          // all timed batches
    std::uint64_t items = 0;

    void add(std::uint64_t elapsed, std::uint64_t clock, std::uint64_t n) {
        const std::uint64_t t = elapsed > clock ? elapsed - clock : 0;
        per_batch.push_back(static_cast<double>(t) / static_cast<double>(n));
        ns += t;
        items += n;
    }
    [[nodiscard]] double p10() const {
        std::vector<double> v = per_batch;
        std::ranges::sort(v);
        return v.empty() ? 0 : v[static_cast<std::size_t>(0.1 * static_cast<double>(v.size() - 1))];
    }
    [[nodiscard]] double mean() const {
        return items == 0 ? 0 : static_cast<double>(ns) / static_cast<double>(items);
    }
};

// What the records of one drain must be.
struct Expect {
    std::uint32_t subtype = 0;
    std::int32_t object = 0; // key_id: the key, or the keyring for (un)link
};

// One watcher: a notification pipe or a device queue, watching the key
// (watch id 1) and the keyring (watch id 2), or only the other key.
class Watcher {
public:
    Watcher(Kind kind, std::uint64_t capacity_records) : kind_(kind) {
        if (kind == Kind::pipe) {
            int fds[2];
            if (::pipe2(fds, o_notification_pipe | O_NONBLOCK | O_CLOEXEC) < 0) {
                wqt::throw_errno(
                    "pipe2(O_NOTIFICATION_PIPE) (a kernel without CONFIG_WATCH_QUEUE?)");
            }
            read_end_.reset(fds[0]);
            write_end_.reset(fds[1]);
            if (::ioctl(fd(), ioc_watch_queue_set_size, pipe_notes) < 0) {
                wqt::throw_errno("IOC_WATCH_QUEUE_SET_SIZE");
            }
        } else {
            queue_.emplace(O_RDWR | O_CLOEXEC | O_NONBLOCK);
            // Room for the records of a batch twice over, a power of two.
            std::uint64_t bytes = 4096;
            while (bytes < 2 * capacity_records * sizeof(wq_key_notification)) {
                bytes *= 2;
            }
            queue_->set_ring_bytes(bytes);
        }
    }

    [[nodiscard]] int fd() const { return kind_ == Kind::pipe ? read_end_.get() : queue_->fd(); }
    [[nodiscard]] wqt::Queue& queue() { return *queue_; }

    void watch(std::int32_t key, std::int32_t watch_id) {
        if (kind_ == Kind::pipe) {
            if (bench::keyctl(KEYCTL_WATCH_KEY, bench::key_arg(key),
                              static_cast<unsigned long>(fd()),
                              static_cast<unsigned long>(watch_id)) < 0) {
                wqt::throw_errno("KEYCTL_WATCH_KEY");
            }
            return;
        }
        wq_watch_key w{};
        w.key = key;
        w.watch_id = watch_id;
        if (::ioctl(fd(), WQ_IOC_WATCH_KEY, &w) < 0) {
            wqt::throw_errno("WQ_IOC_WATCH_KEY");
        }
    }

    // Reads everything; every record must match @expect.  Returns the count.
    std::uint64_t drain(const Expect& expect, std::vector<std::byte>& buf) {
        std::uint64_t count = 0;
        for (;;) {
            const ssize_t n = ::read(fd(), buf.data(), buf.size());
            if (n < 0) {
                if (errno == EAGAIN) {
                    return count;
                }
                wqt::throw_errno("read");
            }
            for (const wqt::Record r :
                 wqt::split_records(std::span(buf.data(), static_cast<std::size_t>(n)))) {
                check(r, expect);
                ++count;
            }
        }
    }

private:
    static void check(wqt::Record r, const Expect& expect) {
        wq_key_notification n{};
        if (r.size() != sizeof(n)) {
            throw std::runtime_error("unexpected record of " + std::to_string(r.size()) +
                                     " bytes (a loss record?)");
        }
        std::memcpy(&n, r.data(), sizeof(n));
        if (n.watch.type != WQ_TYPE_KEY || n.watch.subtype != expect.subtype ||
            n.key_id != static_cast<std::uint32_t>(expect.object)) {
            throw std::runtime_error("unexpected record: type " + std::to_string(n.watch.type) +
                                     " subtype " + std::to_string(n.watch.subtype) + " key " +
                                     std::to_string(n.key_id));
        }
    }

    Kind kind_;
    wqt::Fd read_end_;
    wqt::Fd write_end_;
    std::optional<wqt::Queue> queue_;
};

const char* const op_names[] = {"update", "link", "unlink"};

int run_ops(const Config& cfg) {
    bench::pin_to_cpu(cfg.cpu);
    const std::int32_t key = bench::make_key("user", "parity_bench");
    const std::int32_t keyring = bench::make_key("keyring", "parity_bench_ring");
    const std::int32_t other = bench::make_key("user", "parity_bench_other");
    std::vector<std::int32_t> links;
    for (std::uint64_t i = 0; i < cfg.batch; ++i) {
        links.push_back(bench::make_key("user", "parity_bench_link" + std::to_string(i)));
    }

    std::vector<Watcher> watchers;
    watchers.reserve(cfg.watchers);
    for (unsigned i = 0; i < cfg.watchers; ++i) {
        watchers.emplace_back(cfg.kind, cfg.batch);
        if (cfg.other) {
            watchers.back().watch(other, 1);
        } else {
            watchers.back().watch(key, 1);
            watchers.back().watch(keyring, 2);
        }
    }

    std::vector<std::byte> buf(65536);
    const std::uint64_t clock = clock_cost();
    std::array<Figures, 3> figures;
    std::uint64_t received = 0;
    const auto drain_all = [&](const Expect& expect, std::uint64_t n) {
        for (Watcher& w : watchers) {
            const std::uint64_t got = w.drain(expect, buf);
            if (got != (cfg.other ? 0 : n)) {
                throw std::runtime_error("a watcher received " + std::to_string(got) +
                                         " records for " + std::to_string(n) + " operations");
            }
            received += got;
        }
    };
    const auto link_all = [&](int op, std::uint64_t n) {
        for (std::uint64_t i = 0; i < n; ++i) {
            if (bench::keyctl(op, bench::key_arg(links[i]), bench::key_arg(keyring)) < 0) {
                wqt::throw_errno(op == KEYCTL_LINK ? "KEYCTL_LINK" : "KEYCTL_UNLINK");
            }
        }
    };

    const std::uint64_t total = cfg.warmup + cfg.ops;
    for (std::uint64_t done = 0; done < total;) {
        const bool timed = done >= cfg.warmup;
        const std::uint64_t n = std::min(cfg.batch, (timed ? total : cfg.warmup) - done);
        std::array<std::uint64_t, 6> t{};
        t[0] = bench::now_ns();
        bench::update_key(key, n);
        t[1] = bench::now_ns();
        drain_all({WQ_KEY_UPDATED, key}, n);
        t[2] = bench::now_ns();
        link_all(KEYCTL_LINK, n);
        t[3] = bench::now_ns();
        drain_all({WQ_KEY_LINKED, keyring}, n);
        t[4] = bench::now_ns();
        link_all(KEYCTL_UNLINK, n);
        t[5] = bench::now_ns();
        drain_all({WQ_KEY_UNLINKED, keyring}, n);
        if (timed) {
            for (std::size_t op = 0; op < figures.size(); ++op) {
                figures[op].add(t[2 * op + 1] - t[2 * op], clock, n);
            }
        }
        done += n;
    }

    const char* kind = cfg.kind == Kind::pipe     ? "pipe"
                       : cfg.kind == Kind::device ? "device"
                                                  : "none";
    (void)std::printf("parity_bench ops watch=%s watchers=%u other=%d ops=%llu clock=%llu", kind,
                      cfg.watchers, cfg.other ? 1 : 0, static_cast<unsigned long long>(cfg.ops),
                      static_cast<unsigned long long>(clock));
    for (std::size_t i = 0; i < figures.size(); ++i) {
        (void)std::printf(" %s_p10=%.1f %s_mean=%.1f", op_names[i], figures[i].p10(), op_names[i],
                          figures[i].mean());
    }
    (void)std::printf(" records=%llu\n", static_cast<unsigned long long>(received));
    return 0;
}

// ----------------------------------------------------------- consumption

// What a consumer saw; the checksum keeps the header loads from being
// optimised away.
struct Tally {
    std::uint64_t records = 0; // the key's UPDATED records
    std::uint64_t other = 0;   // anything else
    std::uint64_t checksum = 0;
};

// Walks the records in [p, p + len), touching each header: the same loop
// for every consumer, inline and free of calls.
inline void walk(const std::byte* p, std::size_t len, std::uint32_t key, Tally& t) {
    Tally l = t;
    std::size_t off = 0;
    while (off < len) {
        wq_key_notification n{};
        if (len - off < sizeof(wq_notification)) {
            throw wqt::RingError("truncated record header");
        }
        std::memcpy(&n.watch, p + off, sizeof(n.watch));
        const std::uint32_t rlen = n.watch.info & WQ_INFO_LENGTH;
        if (rlen < sizeof(wq_notification) || rlen % WQ_RECORD_ALIGN != 0 || rlen > len - off) {
            throw wqt::RingError("bad record length " + std::to_string(rlen));
        }
        l.checksum += rlen + n.watch.type + n.watch.subtype;
        if (rlen == sizeof(n)) {
            std::memcpy(&n, p + off, sizeof(n));
        }
        if (rlen == sizeof(n) && n.watch.type == WQ_TYPE_KEY && n.watch.subtype == WQ_KEY_UPDATED &&
            n.key_id == key) {
            ++l.records;
        } else {
            ++l.other;
        }
        off += rlen;
    }
    t = l;
}

enum class Method { pipe_read4k, pipe_read64k, dev_read4k, dev_read64k, mmap };
constexpr std::array all_methods = {Method::pipe_read4k, Method::pipe_read64k, Method::dev_read4k,
                                    Method::dev_read64k, Method::mmap};

const char* to_string(Method m) {
    switch (m) {
    case Method::pipe_read4k:
        return "pipe_read4k";
    case Method::pipe_read64k:
        return "pipe_read64k";
    case Method::dev_read4k:
        return "dev_read4k";
    case Method::dev_read64k:
        return "dev_read64k";
    case Method::mmap:
        return "mmap";
    }
    return "?";
}

// One consumer: its watcher, its way of reading and its figures.
struct Consumer {
    Consumer(Method m, std::uint64_t fill)
        : method(m),
          watcher(m == Method::pipe_read4k || m == Method::pipe_read64k ? Kind::pipe : Kind::device,
                  fill),
          buf(m == Method::pipe_read4k || m == Method::dev_read4k ? 4096 : 65536) {
        if (m == Method::mmap) {
            if ((watcher.queue().info().features & WQ_FEATURE_MMAP) == 0) {
                throw std::runtime_error("the queue device does not offer mmap");
            }
            ring = watcher.queue().map();
        }
    }

    // Consumes until nothing is left.
    void drain(std::uint32_t key) {
        if (method == Method::mmap) {
            for (;;) {
                const std::uint64_t head = wqt::load_acquire(ring.head);
                const std::uint64_t tail = wqt::load_relaxed(ring.tail);
                if (head == tail) {
                    return;
                }
                if (head - tail > ring.data_size || tail % WQ_RECORD_ALIGN != 0) {
                    throw wqt::RingError("producer head out of range");
                }
                // The data area is mapped twice: records never wrap.
                walk(ring.data + (tail & (ring.data_size - 1)), head - tail, key, tally);
                wqt::store_release(ring.tail, head);
            }
        }
        for (;;) {
            const ssize_t n = ::read(watcher.fd(), buf.data(), buf.size());
            if (n < 0) {
                if (errno == EAGAIN) {
                    return;
                }
                wqt::throw_errno(std::string("read (") + to_string(method) + ")");
            }
            walk(buf.data(), static_cast<std::size_t>(n), key, tally);
        }
    }

    Method method;
    Watcher watcher;
    std::vector<std::byte> buf;
    wqt::RingView ring;
    Tally tally;
    Figures figures;
};

int run_consume(const Config& cfg) {
    bench::pin_to_cpu(cfg.cpu);
    const std::int32_t key = bench::make_key("user", "parity_bench");
    std::vector<Consumer> consumers;
    consumers.reserve(all_methods.size());
    for (const Method m : all_methods) {
        consumers.emplace_back(m, cfg.fill);
        consumers.back().watcher.watch(key, 1);
    }
    const auto ukey = static_cast<std::uint32_t>(key);
    const std::uint64_t clock = clock_cost();
    // One untimed fill first: page faults, first use of the buffers.
    const std::uint64_t rounds = cfg.fills + 1;
    for (std::uint64_t r = 0; r < rounds; ++r) {
        bench::update_key(key, cfg.fill);
        for (std::size_t i = 0; i < consumers.size(); ++i) {
            Consumer& c = consumers[(i + r) % consumers.size()];
            const std::uint64_t before = c.tally.records;
            const std::uint64_t t0 = bench::now_ns();
            c.drain(ukey);
            const std::uint64_t t1 = bench::now_ns();
            if (c.tally.records - before != cfg.fill || c.tally.other != 0) {
                throw std::runtime_error(std::string(to_string(c.method)) + " consumed " +
                                         std::to_string(c.tally.records - before) +
                                         " records of the key and " +
                                         std::to_string(c.tally.other) + " others, expected " +
                                         std::to_string(cfg.fill));
            }
            if (r > 0) {
                c.figures.add(t1 - t0, clock, cfg.fill);
            }
        }
    }
    const std::uint64_t records = cfg.fill * cfg.fills;
    (void)std::printf(
        "parity_bench consume fill=%llu fills=%llu records=%llu clock=%llu",
        static_cast<unsigned long long>(cfg.fill), static_cast<unsigned long long>(cfg.fills),
        static_cast<unsigned long long>(records), static_cast<unsigned long long>(clock));
    std::uint64_t checksum = 0;
    for (const Consumer& c : consumers) {
        (void)std::printf(" %s_p10=%.2f %s_mean=%.2f", to_string(c.method), c.figures.p10(),
                          to_string(c.method), c.figures.mean());
        checksum += c.tally.checksum;
    }
    (void)std::printf(" checksum=%llu\n", static_cast<unsigned long long>(checksum));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const Config cfg = parse_args(argc, argv);
    try {
        return cfg.consume ? run_consume(cfg) : run_ops(cfg);
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "parity_bench: %s\n", e.what());
        return 1;
    }
}
