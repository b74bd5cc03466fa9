// SPDX-License-Identifier: GPL-2.0-or-later
// wq_bench: records per second through one /dev/watch_queue queue, consumed
// zero-copy through the mmap'd ring or with read() into a 4 KiB or a 64 KiB
// buffer.  The producer is wq_test.ko (WQT_IOC_POST, process context).
//
// Two modes:
//  - back-to-back on one CPU: post a burst that fits in the ring, then drain
//    it; the post and drain phases are timed separately, giving the
//    consumer-only rate (records / drain time) and the end-to-end rate
//    (records / (post + drain time));
//  - producer/consumer on two CPUs: a thread on one CPU posts in chunks
//    while the main thread consumes on another; delivered rate and loss.
//
// Each method has its own queue watching its own test object, and the three
// methods take turns (burst by burst, or slice by slice on two CPUs), so
// that the ratios compare figures measured side by side.
//
// A program that prints figures, not a test.  It needs root, watch_queue.ko
// and wq_test.ko; it exits with 1 on an error or if the accounting (records
// seen + records lost == records posted) does not add up.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <iterator>
#include <memory>
#include <optional>
#include <poll.h>
#include <sched.h>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>
#include <wq_test_uapi.h>

#include <sys/utsname.h>

#include <linux/wq_dev.h>

#include "error.h"
#include "parse_number.h"
#include "queue.h"
#include "testmod.h"

namespace {

using Clock = std::chrono::steady_clock;

// Output is best effort: printf's status is deliberately not checked.  C
// varargs keep the compiler's format checking.
[[gnu::format(printf, 2, 3)]] void say(FILE* f, const char* fmt, ...) { // NOLINT(cert-dcl50-cpp)
    va_list ap;
    va_start(ap, fmt);
    (void)std::vfprintf(f, fmt, ap);
    va_end(ap);
}

[[gnu::format(printf, 1, 2)]] void out(const char* fmt, ...) { // NOLINT(cert-dcl50-cpp)
    va_list ap;
    va_start(ap, fmt);
    (void)std::vfprintf(stdout, fmt, ap);
    va_end(ap);
}

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

enum class Method { mmap, read4k, read64k };
constexpr Method all_methods[] = {Method::mmap, Method::read4k, Method::read64k};

const char* to_string(Method m) {
    switch (m) {
    case Method::mmap:
        return "mmap";
    case Method::read4k:
        return "read4K";
    case Method::read64k:
        return "read64K";
    }
    return "?";
}

std::size_t read_buffer_size(Method m) {
    return m == Method::read4k ? 4096 : 65536;
}

struct Config {
    double seconds = 2.0;      // per measurement, unless records is set
    std::uint64_t records = 0; // per measurement; 0: bounded by seconds
    std::vector<std::uint32_t> sizes{16, 120};
    bool back_to_back = true;
    bool two_cpus = true;
    std::uint64_t b2b_ring_bytes = 1U << 20;
    std::uint64_t pc_ring_bytes = 4U << 20;
    std::uint64_t chunk = 4096;
    double spin_us = 200;     // two CPUs: consumer spins this long before poll()
    std::uint32_t object = 0; // first of three test objects, one per method
    std::uint64_t rounds = 4; // two CPUs: slices per method, interleaved
    int consumer_cpu = 0;
    int producer_cpu = 1;
};

// What one walk over records saw.  The checksum (lengths, types and subtypes
// of every record) keeps the compiler from dropping the header loads.
struct Tally {
    std::uint64_t records = 0;      // synthetic records (type WQT_TYPE)
    std::uint64_t loss_records = 0; // WQ_META_LOSS records
    std::uint64_t loss_counted = 0; // sum of their counts
    std::uint64_t other = 0;        // removal and foreign records
    std::uint64_t checksum = 0;
};

// Walks the records in [p, p + len), touching each header.  Kept inline
// and free of calls: this loop is what is being measured, identically for
// the mapped ring and for read()'s buffer.  The counters live in locals:
// stores through @t could alias the record bytes and would be redone for
// every record.
inline void walk(const std::byte* p, std::size_t len, Tally& t) {
    Tally l = t;
    std::size_t off = 0;
    while (off < len) {
        wq_notification n{};
        if (len - off < sizeof(n)) {
            throw wqt::RingError("truncated record header");
        }
        std::memcpy(&n, p + off, sizeof(n));
        const std::uint32_t rlen = n.info & WQ_INFO_LENGTH;
        if (rlen < sizeof(n) || rlen % WQ_RECORD_ALIGN != 0 || rlen > len - off) {
            throw wqt::RingError("bad record length " + std::to_string(rlen));
        }
        l.checksum += rlen + n.type + n.subtype;
        if (n.type == WQT_TYPE) {
            ++l.records;
        } else if (n.type == WQ_TYPE_META && n.subtype == WQ_META_LOSS &&
                   rlen >= sizeof(wq_loss_notification)) {
            std::uint64_t count = 0;
            std::memcpy(&count, p + off + offsetof(wq_loss_notification, count), sizeof(count));
            ++l.loss_records;
            l.loss_counted += count;
        } else {
            ++l.other;
        }
        off += rlen;
    }
    t = l;
}

// One queue watching a test object, consumed by one method.
class Consumer {
public:
    Consumer(wqt::TestModule& mod, std::uint32_t object, Method method, std::uint64_t ring_bytes)
        : queue_(O_RDWR | O_CLOEXEC | O_NONBLOCK), method_(method) {
        queue_.set_ring_bytes(ring_bytes);
        mod.watch(queue_.fd(), object, 1);
        const wq_ring_info info = queue_.info();
        data_size_ = info.data_size;
        if (method == Method::mmap) {
            if ((info.features & WQ_FEATURE_MMAP) == 0) {
                throw std::runtime_error("the queue device does not offer mmap");
            }
            const wqt::RingView& ring = queue_.map();
            data_ = ring.data;
            // The head is read-only memory; atomic_ref only loads it.
            head_ = const_cast<__u64*>(ring.head); // NOLINT(cppcoreguidelines-pro-type-const-cast)
            tail_ptr_ = ring.tail;
            tail_ = std::atomic_ref<__u64>(*tail_ptr_).load(std::memory_order_relaxed);
        } else {
            buf_.resize(read_buffer_size(method));
        }
    }

    [[nodiscard]] int fd() const noexcept { return queue_.fd(); }
    [[nodiscard]] std::uint64_t data_size() const noexcept { return data_size_; }
    [[nodiscard]] std::uint64_t lost() const { return queue_.info().lost; }

    // Consumes what is ready now: one batch up to the head for mmap, one
    // read() otherwise.  Returns the bytes consumed, 0 if nothing was ready.
    std::size_t consume_once(Tally& t) {
        if (method_ == Method::mmap) {
            const std::uint64_t head =
                std::atomic_ref<__u64>(*head_).load(std::memory_order_acquire);
            const std::uint64_t bytes = head - tail_;
            if (bytes == 0) {
                return 0;
            }
            if (bytes > data_size_ || tail_ % WQ_RECORD_ALIGN != 0) {
                throw wqt::RingError("producer head out of range");
            }
            // The data area is mapped twice: records never wrap.
            walk(data_ + (tail_ & (data_size_ - 1)), bytes, t);
            tail_ = head;
            std::atomic_ref<__u64>(*tail_ptr_).store(tail_, std::memory_order_release);
            return bytes;
        }
        const ssize_t n = ::read(queue_.fd(), buf_.data(), buf_.size());
        if (n < 0) {
            if (errno == EAGAIN) {
                return 0;
            }
            wqt::throw_errno("read");
        }
        walk(buf_.data(), static_cast<std::size_t>(n), t);
        return static_cast<std::size_t>(n);
    }

    // Consumes until nothing is ready.
    void drain(Tally& t) {
        while (consume_once(t) != 0) {
        }
    }

    // Waits up to @ms for something to be ready.
    void wait(int ms) const {
        pollfd pfd{queue_.fd(), POLLIN, 0};
        if (::poll(&pfd, 1, ms) < 0 && errno != EINTR) {
            wqt::throw_errno("poll");
        }
    }

private:
    wqt::Queue queue_;
    Method method_;
    std::uint64_t data_size_ = 0;
    // mmap
    const std::byte* data_ = nullptr;
    __u64* head_ = nullptr;
    __u64* tail_ptr_ = nullptr;
    std::uint64_t tail_ = 0;
    // read()
    std::vector<std::byte> buf_;
};

struct Result {
    std::uint32_t size = 0;
    Method method = Method::mmap;
    std::uint64_t posted = 0; // all records posted, warm-up included
    Tally seen;               // all records seen
    std::uint64_t lost = 0;   // the queue's loss count
    // Timed part only
    std::uint64_t timed_posted = 0;
    std::uint64_t timed_records = 0;
    double post_s = 0;    // back-to-back: post phases; two CPUs: producer time
    double consume_s = 0; // back-to-back: drain phases
    double total_s = 0;   // back-to-back: post + drain; two CPUs: wall time

    [[nodiscard]] bool accounted() const noexcept { return seen.records + lost == posted; }
    [[nodiscard]] double post_rate() const {
        return post_s > 0 ? static_cast<double>(timed_posted) / post_s : 0;
    }
    [[nodiscard]] double consume_rate() const {
        return consume_s > 0 ? static_cast<double>(timed_records) / consume_s : 0;
    }
    [[nodiscard]] double total_rate() const {
        return total_s > 0 ? static_cast<double>(timed_records) / total_s : 0;
    }
};

wqt::PostSpec post_spec(std::uint32_t object, std::uint32_t size, std::uint64_t count,
                        std::uint64_t first_seq) {
    wqt::PostSpec spec;
    spec.object = object;
    spec.context = WQT_CTX_PROCESS;
    spec.count = count;
    spec.size = size;
    spec.batch = 0;
    spec.first_seq = first_seq;
    return spec;
}

bool pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return ::sched_setaffinity(0, sizeof(set), &set) == 0; // this thread only
}

// One method's queue, watching its own test object, and its figures.  The
// three methods of a measurement run side by side, interleaved, so that a
// change in the machine's load (other guests, host tasks) hits them alike.
struct Cell {
    Cell(wqt::TestModule& mod, std::uint32_t object_, std::uint32_t size, Method method,
         std::uint64_t ring_bytes)
        : object(object_), consumer(mod, object_, method, ring_bytes) {
        r.size = size;
        r.method = method;
    }

    std::uint32_t object;
    Consumer consumer;
    Result r;
};

std::vector<std::unique_ptr<Cell>> make_cells(wqt::TestModule& mod, const Config& cfg,
                                              std::uint32_t size, std::uint64_t ring_bytes) {
    std::vector<std::unique_ptr<Cell>> cells;
    std::uint32_t object = cfg.object;
    for (const Method m : all_methods) {
        cells.push_back(std::make_unique<Cell>(mod, object++, size, m, ring_bytes));
    }
    return cells;
}

std::vector<Result> results_of(const std::vector<std::unique_ptr<Cell>>& cells) {
    std::vector<Result> out;
    for (const auto& cell : cells) {
        cell->r.lost = cell->consumer.lost();
        out.push_back(cell->r);
    }
    return out;
}

// One burst of @n records: post, then drain; both phases timed.
void burst(wqt::TestModule& mod, Cell& cell, std::uint64_t n) {
    Result& r = cell.r;
    const auto t0 = Clock::now();
    const wqt_post p = mod.post(post_spec(cell.object, r.size, n, r.posted));
    const auto t1 = Clock::now();
    const std::uint64_t before = r.seen.records;
    cell.consumer.drain(r.seen);
    const auto t2 = Clock::now();
    r.posted += p.posted;
    r.timed_posted += p.posted;
    r.timed_records += r.seen.records - before;
    r.post_s += std::chrono::duration<double>(t1 - t0).count();
    r.consume_s += std::chrono::duration<double>(t2 - t1).count();
    r.total_s = r.post_s + r.consume_s;
}

// Back-to-back on one CPU: bursts that fit in the ring, one method after
// the other, until each method has its records or its time.
std::vector<Result> run_back_to_back(wqt::TestModule& mod, const Config& cfg, std::uint32_t size) {
    auto cells = make_cells(mod, cfg, size, cfg.b2b_ring_bytes);
    // Room for a loss record too, so a burst can never overflow.
    const std::uint64_t max_burst =
        (cells.front()->consumer.data_size() - sizeof(wq_loss_notification)) / size;

    // Warm-up (page faults, caches), counted but not timed.
    for (const auto& cell : cells) {
        Result& r = cell->r;
        const std::uint64_t warm = std::min<std::uint64_t>(max_burst, 1024);
        r.posted += mod.post(post_spec(cell->object, size, warm, r.posted)).posted;
        cell->consumer.drain(r.seen);
    }

    for (bool more = true; more;) {
        more = false;
        for (const auto& cell : cells) {
            const Result& r = cell->r;
            std::uint64_t n = max_burst;
            if (cfg.records != 0) {
                if (r.timed_posted >= cfg.records) {
                    continue;
                }
                n = std::min(n, cfg.records - r.timed_posted);
            } else if (r.total_s >= cfg.seconds) {
                continue;
            }
            burst(mod, *cell, n);
            more = true;
        }
    }
    return results_of(cells);
}

// One slice of the two-CPU mode: a producer thread posts @records records
// (or for @seconds) in chunks while this thread consumes.
void two_cpu_slice(wqt::TestModule& mod, const Config& cfg, Cell& cell, double seconds,
                   std::uint64_t records) {
    Result& r = cell.r;
    std::atomic<bool> go{false};
    std::atomic<bool> done{false};
    std::uint64_t produced = 0;
    double produce_s = 0;
    std::exception_ptr failure;

    std::thread producer([&] {
        try {
            if (!pin_to_cpu(cfg.producer_cpu)) {
                wqt::throw_errno("sched_setaffinity to CPU " + std::to_string(cfg.producer_cpu));
            }
            while (!go.load(std::memory_order_acquire)) {
                std::this_thread::yield();
            }
            const auto t0 = Clock::now();
            for (;;) {
                std::uint64_t n = cfg.chunk;
                if (records != 0) {
                    if (produced >= records) {
                        break;
                    }
                    n = std::min(n, records - produced);
                } else if (seconds_since(t0) >= seconds) {
                    break;
                }
                produced += mod.post(post_spec(cell.object, r.size, n, r.posted + produced)).posted;
            }
            produce_s = seconds_since(t0);
        } catch (...) {
            failure = std::current_exception();
        }
        done.store(true, std::memory_order_release);
    });

    const auto t0 = Clock::now();
    go.store(true, std::memory_order_release);
    try {
        // Spin a while before sleeping in poll(): a consumer that sleeps
        // at once makes the producer pay for a wake-up every few records.
        const auto spin = std::chrono::duration<double, std::micro>(cfg.spin_us);
        std::optional<Clock::time_point> idle_since;
        for (;;) {
            if (cell.consumer.consume_once(r.seen) != 0) {
                idle_since.reset();
                continue;
            }
            if (done.load(std::memory_order_acquire)) {
                // Every post has returned: what is not in the ring now is lost.
                cell.consumer.drain(r.seen);
                break;
            }
            const auto now = Clock::now();
            if (!idle_since) {
                idle_since = now;
            }
            if (now - *idle_since < spin) {
                continue;
            }
            cell.consumer.wait(10);
            idle_since.reset();
        }
    } catch (...) {
        producer.join();
        throw;
    }
    r.total_s += seconds_since(t0);
    producer.join();
    if (failure) {
        std::rethrow_exception(failure);
    }
    r.posted += produced;
    r.timed_posted += produced;
    r.post_s += produce_s;
    r.timed_records = r.seen.records;
}

// Producer thread on one CPU, consumer (this thread) on another; the
// methods take turns in cfg.rounds slices each.
std::vector<Result> run_two_cpus(wqt::TestModule& mod, const Config& cfg, std::uint32_t size) {
    auto cells = make_cells(mod, cfg, size, cfg.pc_ring_bytes);
    const std::uint64_t rounds = cfg.rounds;
    for (std::uint64_t i = 0; i < rounds; ++i) {
        // Records split exactly: slice i gets records * (i + 1) / rounds
        // minus what the slices before it got.
        const std::uint64_t records = cfg.records * (i + 1) / rounds - cfg.records * i / rounds;
        if (cfg.records != 0 && records == 0) {
            continue;
        }
        for (const auto& cell : cells) {
            two_cpu_slice(mod, cfg, *cell, cfg.seconds / static_cast<double>(rounds), records);
        }
    }
    return results_of(cells);
}

std::string rate(double per_s) {
    char buf[32];
    if (per_s >= 1e6) {
        (void)std::snprintf(buf, sizeof(buf), "%.2fM", per_s / 1e6);
    } else if (per_s >= 1e3) {
        (void)std::snprintf(buf, sizeof(buf), "%.1fk", per_s / 1e3);
    } else {
        (void)std::snprintf(buf, sizeof(buf), "%.0f", per_s);
    }
    return buf;
}

std::string accounting(const Result& r) {
    if (r.accounted()) {
        return "ok";
    }
    return "MISMATCH: seen " + std::to_string(r.seen.records) + " + lost " +
           std::to_string(r.lost) + " != posted " + std::to_string(r.posted);
}

const Result* find(const std::vector<Result>& rs, std::uint32_t size, Method m) {
    for (const Result& r : rs) {
        if (r.size == size && r.method == m) {
            return &r;
        }
    }
    return nullptr;
}

template <class Rate>
std::optional<double> ratio(const std::vector<Result>& rs, std::uint32_t size, Method other,
                            Rate rate_of) {
    const Result* a = find(rs, size, Method::mmap);
    const Result* b = find(rs, size, other);
    if (a == nullptr || b == nullptr || rate_of(*b) <= 0) {
        return std::nullopt;
    }
    return rate_of(*a) / rate_of(*b);
}

std::string fmt_ratio(std::optional<double> x) {
    if (!x) {
        return "n/a";
    }
    char buf[32];
    (void)std::snprintf(buf, sizeof(buf), "%.2f", *x);
    return buf;
}

template <class Rate>
void print_ratios(const std::vector<Result>& rs, const Config& cfg, const char* mode,
                  const char* what, Rate rate_of) {
    for (const std::uint32_t size : cfg.sizes) {
        out("%4u  %-12s %-11s %12s %13s\n", size, mode, what,
            fmt_ratio(ratio(rs, size, Method::read4k, rate_of)).c_str(),
            fmt_ratio(ratio(rs, size, Method::read64k, rate_of)).c_str());
    }
}

[[noreturn]] void usage(int status) {
    say(status == 0 ? stdout : stderr,
        "usage: wq_bench [options]\n"
        "  --seconds S        time per measurement (default 2)\n"
        "  --records N        records per measurement instead of a time\n"
        "  --sizes A,B,...    record sizes, 16..120, multiples of 8 (default 16,120)\n"
        "  --modes M,...      b2b (one CPU) and/or 2cpu (default both)\n"
        "  --ring-bytes N     ring for back-to-back (default 1048576)\n"
        "  --pc-ring-bytes N  ring for two CPUs (default 4194304)\n"
        "  --chunk N          records per WQT_IOC_POST on two CPUs (default 4096)\n"
        "  --spin-us N        two CPUs: an idle consumer spins N us before poll() (default 200)\n"
        "  --object N         first of the three wq_test objects used, one per method "
        "(default 0)\n"
        "  --rounds N         two CPUs: slices per method, interleaved (default 4)\n"
        "  --consumer-cpu N   (default 0)\n"
        "  --producer-cpu N   (default 1)\n"
        "Needs root with watch_queue.ko and wq_test.ko loaded.\n");
    std::exit(status);
}

template <class T>
T parse_number(std::string_view s, const char* opt) {
    const auto v = wqt::to_number<T>(s);
    if (!v) {
        say(stderr, "wq_bench: bad value '%.*s' for %s\n", static_cast<int>(s.size()), s.data(),
            opt);
        usage(2);
    }
    return *v;
}

std::vector<std::string_view> split(std::string_view s) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        const auto comma = s.find(',');
        out.push_back(s.substr(0, comma));
        s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    }
    return out;
}

Config parse_args(int argc, char** argv) {
    Config cfg;
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view opt = args[i];
        if (opt == "-h" || opt == "--help") {
            usage(0);
        }
        if (i + 1 >= args.size()) {
            say(stderr, "wq_bench: unknown option or missing value: %.*s\n",
                static_cast<int>(opt.size()), opt.data());
            usage(2);
        }
        const std::string_view val = args[++i];
        if (opt == "--seconds") {
            cfg.seconds = parse_number<double>(val, "--seconds");
            cfg.records = 0;
            if (!(cfg.seconds > 0)) {
                usage(2);
            }
        } else if (opt == "--records") {
            cfg.records = parse_number<std::uint64_t>(val, "--records");
            if (cfg.records == 0) {
                usage(2);
            }
        } else if (opt == "--sizes") {
            cfg.sizes.clear();
            for (const std::string_view s : split(val)) {
                const auto size = parse_number<std::uint32_t>(s, "--sizes");
                if (size < WQT_RECORD_MIN || size > WQT_RECORD_MAX || size % WQ_RECORD_ALIGN != 0) {
                    say(stderr, "wq_bench: sizes are 16..120, multiples of 8\n");
                    usage(2);
                }
                cfg.sizes.push_back(size);
            }
        } else if (opt == "--modes") {
            cfg.back_to_back = cfg.two_cpus = false;
            for (const std::string_view m : split(val)) {
                if (m == "b2b") {
                    cfg.back_to_back = true;
                } else if (m == "2cpu") {
                    cfg.two_cpus = true;
                } else {
                    usage(2);
                }
            }
        } else if (opt == "--ring-bytes") {
            cfg.b2b_ring_bytes = parse_number<std::uint64_t>(val, "--ring-bytes");
        } else if (opt == "--pc-ring-bytes") {
            cfg.pc_ring_bytes = parse_number<std::uint64_t>(val, "--pc-ring-bytes");
        } else if (opt == "--chunk") {
            cfg.chunk = std::max<std::uint64_t>(1, parse_number<std::uint64_t>(val, "--chunk"));
        } else if (opt == "--spin-us") {
            cfg.spin_us = parse_number<double>(val, "--spin-us");
            if (!(cfg.spin_us >= 0)) {
                usage(2);
            }
        } else if (opt == "--object") {
            cfg.object = parse_number<std::uint32_t>(val, "--object");
            if (cfg.object > WQT_NR_OBJECTS - std::size(all_methods)) {
                say(stderr, "wq_bench: --object must leave room for three objects\n");
                usage(2);
            }
        } else if (opt == "--rounds") {
            cfg.rounds = parse_number<std::uint64_t>(val, "--rounds");
            if (cfg.rounds == 0) {
                usage(2);
            }
        } else if (opt == "--consumer-cpu") {
            cfg.consumer_cpu = parse_number<int>(val, "--consumer-cpu");
        } else if (opt == "--producer-cpu") {
            cfg.producer_cpu = parse_number<int>(val, "--producer-cpu");
        } else {
            say(stderr, "wq_bench: unknown option %.*s\n", static_cast<int>(opt.size()),
                opt.data());
            usage(2);
        }
    }
    if (cfg.sizes.empty()) {
        usage(2);
    }
    return cfg;
}

bool cpu_usable(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    return cpu >= 0 && cpu < CPU_SETSIZE && ::sched_getaffinity(0, sizeof(set), &set) == 0 &&
           CPU_ISSET(cpu, &set);
}

int run(const Config& cfg) {
    utsname uts{};
    ::uname(&uts);
    const long ncpu = ::sysconf(_SC_NPROCESSORS_ONLN);
    const bool two_cpus_ok = cfg.two_cpus && cfg.producer_cpu != cfg.consumer_cpu &&
                             cpu_usable(cfg.producer_cpu) && cpu_usable(cfg.consumer_cpu);
    if (!pin_to_cpu(cfg.consumer_cpu)) {
        wqt::throw_errno("sched_setaffinity to CPU " + std::to_string(cfg.consumer_cpu));
    }
    wqt::TestModule mod;

    out("wq_bench: kernel %s, %ld CPUs online; ", uts.release, ncpu);
    if (cfg.records != 0) {
        out("%llu records per measurement\n", static_cast<unsigned long long>(cfg.records));
    } else {
        out("%.1f s per measurement\n", cfg.seconds);
    }

    bool all_accounted = true;
    std::vector<Result> b2b;
    std::vector<Result> pc;
    if (cfg.back_to_back) {
        out("\nback-to-back on CPU %d: post a burst (WQT_IOC_POST, process context), then "
            "drain it; methods take turns burst by burst; ring %llu bytes\n",
            cfg.consumer_cpu, static_cast<unsigned long long>(cfg.b2b_ring_bytes));
        out("%4s  %-8s %10s %10s %8s %10s %10s %11s  %s\n", "size", "method", "posted", "seen",
            "lost", "post/s", "consume/s", "end2end/s", "accounting");
        for (const std::uint32_t size : cfg.sizes) {
            for (const Result& r : run_back_to_back(mod, cfg, size)) {
                all_accounted = all_accounted && r.accounted();
                out("%4u  %-8s %10llu %10llu %8llu %10s %10s %11s  %s\n", size, to_string(r.method),
                    static_cast<unsigned long long>(r.posted),
                    static_cast<unsigned long long>(r.seen.records),
                    static_cast<unsigned long long>(r.lost), rate(r.post_rate()).c_str(),
                    rate(r.consume_rate()).c_str(), rate(r.total_rate()).c_str(),
                    accounting(r).c_str());
                b2b.push_back(r);
            }
        }
    }
    if (cfg.two_cpus && !two_cpus_ok) {
        out("\ntwo CPUs: skipped (CPUs %d and %d are not both usable)\n", cfg.producer_cpu,
            cfg.consumer_cpu);
    } else if (cfg.two_cpus) {
        out("\nproducer on CPU %d (chunks of %llu), consumer on CPU %d (spins %.0f us before "
            "poll()); methods take turns in %llu slices each; ring %llu bytes\n",
            cfg.producer_cpu, static_cast<unsigned long long>(cfg.chunk), cfg.consumer_cpu,
            cfg.spin_us, static_cast<unsigned long long>(cfg.rounds),
            static_cast<unsigned long long>(cfg.pc_ring_bytes));
        out("%4s  %-8s %10s %10s %10s %10s %11s  %s\n", "size", "method", "posted", "seen", "lost",
            "produce/s", "delivered/s", "accounting");
        for (const std::uint32_t size : cfg.sizes) {
            for (const Result& r : run_two_cpus(mod, cfg, size)) {
                all_accounted = all_accounted && r.accounted();
                out("%4u  %-8s %10llu %10llu %10llu %10s %11s  %s\n", size, to_string(r.method),
                    static_cast<unsigned long long>(r.posted),
                    static_cast<unsigned long long>(r.seen.records),
                    static_cast<unsigned long long>(r.lost), rate(r.post_rate()).c_str(),
                    rate(r.total_rate()).c_str(), accounting(r).c_str());
                pc.push_back(r);
            }
        }
    }

    out("\n%4s  %-12s %-11s %12s %13s\n", "size", "mode", "rate", "mmap/read4K", "mmap/read64K");
    const auto consume = [](const Result& r) {
        return r.consume_rate();
    };
    const auto total = [](const Result& r) {
        return r.total_rate();
    };
    if (!b2b.empty()) {
        print_ratios(b2b, cfg, "back-to-back", "consume", consume);
        print_ratios(b2b, cfg, "back-to-back", "end-to-end", total);
    }
    if (!pc.empty()) {
        print_ratios(pc, cfg, "two CPUs", "delivered", total);
    }

    // The target compares the consumers alone: back-to-back drain rates.
    const Result* mm = find(b2b, 16, Method::mmap);
    const Result* r4 = find(b2b, 16, Method::read4k);
    const std::optional<double> target = ratio(b2b, 16, Method::read4k, consume);
    const bool pass = target && *target >= 5.0 && mm->accounted() && r4->accounted();
    out("\naccounting (seen + lost == posted): %s\n"
        "target: back-to-back consume rates of 16-byte records\n",
        all_accounted ? "ok in every measurement" : "MISMATCH (see above)");
    out("TARGET mmap >= 5x read4K for 16-byte records: %s %s\n", fmt_ratio(target).c_str(),
        pass ? "PASS" : "MISS");
    if (!target) {
        out("(not measured: needs size 16 and mode b2b)\n");
    }
    return all_accounted ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    // Line-buffered, so that a slow run shows its progress.
    (void)std::setvbuf(stdout, nullptr, _IOLBF, 0);
    const Config cfg = parse_args(argc, argv);
    try {
        return run(cfg);
    } catch (const std::exception& e) {
        say(stderr, "wq_bench: %s\n", e.what());
        return 1;
    }
}
