// SPDX-License-Identifier: GPL-2.0-or-later
// wq-faultinject: allocation failures injected into queue creation, sizing
// (16 MiB rings included) and watch creation must fail cleanly with ENOMEM
// and leave nothing behind.  Run as root in a guest with watch_queue.ko and
// wq_test.ko loaded, on a kernel with CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC
// and CONFIG_FAULT_INJECTION_DEBUG_FS (the debug lane); elsewhere it prints
// a note and exits 0 without a verdict.
//
// The work is done by a child running as uid 65534 without capabilities,
// so that the per-user limits apply (CAP_SYS_RESOURCE is exempt).  While
// it injects failures the limits are loose (closed queues are released
// after an RCU grace period, so their charges linger a little); for the
// checks after each phase the parent, asked through a pipe, sets
// max_user_queues 4, max_user_watches 8 and max_user_ring_bytes 33 MiB.
//
// Systematic phase: for each operation, /proc/thread-self/fail-nth makes the
// 1st, 2nd, ... allocation (slab or page) of the system call fail, until the
// call makes fewer allocations than that; for 16 MiB rings a sample of the
// ~4100 points (the first and last 48, and every 64th).  After an injected
// failure: the call failed with ENOMEM or succeeded (an allocation with a
// fallback), GET_INFO shows no half-sized ring, the same call without
// injection succeeds (no half-added watch: no EBUSY).  Random phase: the
// child's allocations fail at random (failslab/fail_page_alloc task filter,
// /proc/PID/make-it-fail) while it opens, sizes, filters, watches, reads
// and closes queues.  After each phase, the per-user counters must be back
// to zero: exactly max_user_queues queues open (EMFILE after), two 16 MiB
// rings fit and a third does not (ENOSPC), exactly max_user_watches
// watches can be added (EAGAIN after).  One queue stays open throughout,
// so that the module keeps the user's counters (it frees them with the
// user's last object) and a leaked charge cannot go unnoticed.  Leaks of
// memory are found by the lane's kmemleak scan at the end of the suite.
//
// Environment: WQ_FI_RANDOM (iterations of the random phase, default 300),
// WQ_FI_STRIDE (16 MiB sampling stride, default 64), WQ_FI_ARMING=1 (also
// sweep the first key watch, which arms the module's kprobes; the kernel's
// kprobe-on-ftrace code WARNs on an allocation failure there, see the
// README of tests/debug-kernel), WQ_FI_BIG_RANDOM=1 (random phase with
// 16 MiB rings as well: several failures in one call reach vmalloc's
// allocation-failure report).
//
// Output: TAP (tests/support/tap.h): a line per check, the child's
// included, "# ..." notes and the plan at the end; exit 0 iff none failed.
#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <grp.h>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>
#include <wq_test_uapi.h>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/keyctl.h>
#include <linux/wq_dev.h>

#include "parse_number.h"
#include "tap.h"

namespace {

using namespace std::chrono_literals;

constexpr unsigned max_queues = 4;
constexpr unsigned max_watches = 8;
constexpr std::uint64_t mib = 1ULL << 20;
constexpr std::uint64_t max_ring_bytes_per_user = 33 * mib;
constexpr const char* params = "/sys/module/watch_queue/parameters/";
constexpr std::uint64_t big_ring = 16 * mib;
constexpr const char* debugfs = "/sys/kernel/debug";

using wqt::tap::check;
using wqt::tap::fail;
using wqt::tap::say;

using wqt::parse_number;

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? parse_number<int>(v, name) : fallback;
}

// What /proc/thread-self/fail-nth reads: "%u\n".
unsigned parse_fail_nth(std::string_view s) {
    if (s.ends_with('\n')) {
        s.remove_suffix(1);
    }
    return parse_number<unsigned>(s, "fail-nth");
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::string s;
    std::getline(in, s);
    return s;
}

bool write_file(const std::string& path, const std::string& value) {
    std::ofstream out(path);
    out << value << '\n';
    out.flush();
    return static_cast<bool>(out);
}

// A debugfs or sysfs value set for the run and restored afterwards.
class Setting {
public:
    Setting(std::string path, const std::string& value)
        : path_(std::move(path)), old_(read_file(path_)) {
        if (!write_file(path_, value)) {
            throw std::runtime_error("cannot write '" + value + "' to " + path_);
        }
    }
    Setting(const Setting&) = delete;
    Setting& operator=(const Setting&) = delete;
    Setting(Setting&&) = delete;
    Setting& operator=(Setting&&) = delete;
    ~Setting() { (void)write_file(path_, old_); }

private:
    std::string path_;
    std::string old_;
};

// ------------------------------------------------------------ the child

struct Info {
    std::uint64_t data_size = 0;
    std::uint64_t producer_len = 0;
};

std::optional<Info> get_info(int fd) {
    wq_ring_info info{};
    info.size = sizeof(info);
    if (::ioctl(fd, WQ_IOC_GET_INFO, &info) < 0) {
        return std::nullopt;
    }
    return Info{info.data_size, info.producer_len};
}

// Consistent: unsized, or sized with the layout GET_INFO promises.
bool info_consistent(int fd, std::uint64_t* size_out = nullptr) {
    const auto inf = get_info(fd);
    if (!inf) {
        return false;
    }
    if (size_out != nullptr) {
        *size_out = inf->data_size;
    }
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    return inf->data_size == 0 ? inf->producer_len == 0
                               : inf->producer_len == page + 2 * inf->data_size &&
                                     (inf->data_size & (inf->data_size - 1)) == 0;
}

int open_queue() {
    return ::open(WQ_DEV_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
}

// The parent's side of the protocol: 'T' tight limits, 'L' loose ones, 'F'
// the child's allocations may fail at random from now on, 'N' no longer
// (writing /proc/PID/make-it-fail needs CAP_SYS_RESOURCE); each answered
// with the same byte once done.
bool set_limits(bool tight) {
    const auto p = [](const char* name) {
        return std::string(params) + name;
    };
    return write_file(p("max_user_queues"), std::to_string(tight ? max_queues : 1024)) &&
           write_file(p("max_user_watches"), std::to_string(tight ? max_watches : 8192)) &&
           write_file(p("max_user_ring_bytes"),
                      std::to_string(tight ? max_ring_bytes_per_user : 1024 * mib));
}

class Child {
public:
    Child(int testfd, int key, int to_parent, int from_parent)
        : testfd_(testfd), key_(key), to_parent_(to_parent), from_parent_(from_parent),
          nth_fd_(::open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC)) {
        if (nth_fd_ < 0) {
            throw std::runtime_error(std::string("cannot open fail-nth: ") + std::strerror(errno));
        }
        // The module frees a user's counters with its last queue or watch:
        // this queue, open throughout, keeps them, so that a charge leaked
        // by an error path still shows in the checks at the end.
        pin_ = open_queue();
        if (pin_ < 0) {
            throw std::runtime_error(std::string("cannot open a queue: ") + std::strerror(errno));
        }
    }

    void run();

private:
    // Result of one system call under injection.
    struct Call {
        long rc = 0;
        int err = 0;
        bool injected = false;
    };

    // Makes the @nth allocation of @fn's system call fail.  Nothing may
    // allocate between arming and the call: the caller prepares its
    // arguments first (and the process is mlock'ed: no page faults).
    template <class Fn>
    Call with_nth(unsigned nth, Fn&& fn) {
        char buf[16];
        const int len = std::snprintf(buf, sizeof(buf), "%u", nth);
        if (::pwrite(nth_fd_, buf, static_cast<std::size_t>(len), 0) != len) {
            throw std::runtime_error("cannot write fail-nth");
        }
        Call c;
        c.rc = fn();
        c.err = c.rc < 0 ? errno : 0;
        const ssize_t n = ::pread(nth_fd_, buf, sizeof(buf) - 1, 0);
        // Disarm whatever is left before anything else allocates.
        (void)::pwrite(nth_fd_, "0", 1, 0);
        if (n <= 0) {
            throw std::runtime_error("cannot read fail-nth");
        }
        c.injected = parse_fail_nth({buf, static_cast<std::size_t>(n)}) == 0;
        return c;
    }

    // The number of allocations that @fn's system call makes (injecting
    // none); its return value in *@rc.  It may vary a little from call to
    // call (a slab needing a new page, a per-user struct already there).
    template <class Fn>
    unsigned count_allocations(Fn&& fn, long* rc = nullptr) {
        constexpr unsigned big = 1000000;
        char buf[16];
        const int len = std::snprintf(buf, sizeof(buf), "%u", big);
        (void)::pwrite(nth_fd_, buf, static_cast<std::size_t>(len), 0);
        const long r = fn();
        const ssize_t n = ::pread(nth_fd_, buf, sizeof(buf) - 1, 0);
        (void)::pwrite(nth_fd_, "0", 1, 0);
        if (n <= 0) {
            throw std::runtime_error("cannot read fail-nth");
        }
        if (rc != nullptr) {
            *rc = r;
        }
        return big - parse_fail_nth({buf, static_cast<std::size_t>(n)});
    }

    void make_it_fail(bool on) const { ask(on ? 'F' : 'N'); }

    // Asks the parent for tight (true) or loose limits and waits for it.
    void limits(bool tight) const { ask(tight ? 'T' : 'L'); }

    // Allocations may be failing (ENOMEM from the pipe itself): retry.
    void ask(char c) const {
        char ack = 0;
        ssize_t w = -1;
        ssize_t r = -1;
        for (int i = 0; i < 1000 && w != 1; ++i) {
            w = ::write(to_parent_, &c, 1);
        }
        for (int i = 0; i < 1000 && w == 1 && r != 1; ++i) {
            r = ::read(from_parent_, &ack, 1);
        }
        if (w != 1 || r != 1 || ack != c) {
            throw std::runtime_error(std::string("the parent did not do '") + c + "'");
        }
    }

    [[nodiscard]] int watch_object(int qfd, std::uint32_t object, std::int32_t id) const {
        wqt_watch w{};
        w.fd = qfd;
        w.watch_id = id;
        w.object = object;
        return ::ioctl(testfd_, WQT_IOC_WATCH, &w) < 0 ? errno : 0;
    }

    [[nodiscard]] int watch_key(int qfd, std::int32_t id) const {
        wq_watch_key wk{};
        wk.key = key_;
        wk.watch_id = id;
        return ::ioctl(qfd, WQ_IOC_WATCH_KEY, &wk) < 0 ? errno : 0;
    }

    void sweep_open();
    void sweep_size(const std::string& name, unsigned long cmd, std::uint64_t arg,
                    std::uint64_t want_size, unsigned stride);
    void sweep_watch(const std::string& name, bool sized, bool key);
    void random_phase(int iterations, bool big);
    void check_limits(const std::string& after);

    // Tallies one sweep: every point, what happened; problems as a failed check's text.
    struct Tally {
        unsigned points = 0;
        unsigned injected = 0;
        unsigned enomem = 0;
        unsigned succeeded = 0;
        std::vector<std::string> problems;
        void problem(std::string s) {
            if (problems.size() < 10) {
                problems.push_back(std::move(s));
            } else if (problems.size() == 10) {
                problems.emplace_back("...");
            }
        }
        [[nodiscard]] std::string summary() const {
            std::string s = std::to_string(points) + " points, " + std::to_string(injected) +
                            " injected: " + std::to_string(enomem) + " ENOMEM, " +
                            std::to_string(succeeded) + " succeeded anyway";
            for (const auto& p : problems) {
                s += "\n    " + p;
            }
            return s;
        }
    };

    int testfd_;
    int key_;
    int to_parent_;
    int from_parent_;
    int nth_fd_ = -1;
    int pin_ = -1;
};

// Sampled fail-nth points out of @total: all of them when @stride is 1.
std::vector<unsigned> points(unsigned total, unsigned stride) {
    std::vector<unsigned> out;
    for (unsigned n = 1; n <= total; ++n) {
        if (stride <= 1 || n <= 48 || n + 48 > total || n % stride == 0) {
            out.push_back(n);
        }
    }
    out.push_back(total + 1); // must not be injected: the sweep is complete
    return out;
}

void Child::sweep_open() {
    Tally t;
    long fd = -1;
    const unsigned total = count_allocations([] { return static_cast<long>(open_queue()); }, &fd);
    if (fd >= 0) {
        ::close(static_cast<int>(fd));
    }
    for (const unsigned n : points(total, 1)) {
        const Call c = with_nth(n, [] { return static_cast<long>(open_queue()); });
        ++t.points;
        if (c.rc >= 0) {
            ::close(static_cast<int>(c.rc));
        }
        if (!c.injected) {
            if (c.rc < 0) {
                t.problem("point " + std::to_string(n) + " (not injected): open failed with " +
                          std::strerror(c.err));
            }
            continue;
        }
        ++t.injected;
        if (c.rc >= 0) {
            ++t.succeeded;
        } else if (c.err == ENOMEM) {
            ++t.enomem;
        } else {
            t.problem("point " + std::to_string(n) + ": open failed with " + std::strerror(c.err) +
                      ", not ENOMEM");
        }
    }
    check(t.problems.empty() && t.injected > 0,
          "open under fail-nth (" + std::to_string(total) + " allocations): " + t.summary());
}

void Child::sweep_size(const std::string& name, unsigned long cmd, std::uint64_t arg,
                       std::uint64_t want_size, unsigned stride) {
    Tally t;
    std::uint64_t bytes = arg;
    const auto call = [&](int fd) {
        return cmd == WQ_IOC_SET_SIZE ? ::ioctl(fd, cmd, static_cast<unsigned long>(arg))
                                      : ::ioctl(fd, cmd, &bytes);
    };
    unsigned total = 0;
    {
        const int fd = open_queue();
        if (fd < 0) {
            check(false, name + ": cannot open a queue: " + std::strerror(errno));
            return;
        }
        total = count_allocations([&] { return call(fd); });
        ::close(fd);
    }
    for (const unsigned n : points(total, stride)) {
        const int fd = open_queue();
        if (fd < 0) {
            t.problem("point " + std::to_string(n) +
                      ": open without injection failed: " + std::strerror(errno));
            break;
        }
        const Call c = with_nth(n, [&] { return static_cast<long>(call(fd)); });
        ++t.points;
        std::uint64_t size = 0;
        const bool consistent = info_consistent(fd, &size);
        if (!c.injected) {
            if (c.rc != 0) {
                t.problem("point " + std::to_string(n) + " (not injected): failed with " +
                          std::strerror(c.err));
            }
        } else if (c.rc == 0) {
            ++t.injected;
            ++t.succeeded;
        } else {
            ++t.injected;
            if (c.err == ENOMEM) {
                ++t.enomem;
            } else {
                t.problem("point " + std::to_string(n) + ": failed with " + std::strerror(c.err) +
                          ", not ENOMEM");
            }
        }
        const bool failed = c.rc != 0;
        if (!consistent || (failed && size != 0) || (!failed && size != want_size)) {
            t.problem("point " + std::to_string(n) + ": GET_INFO after " +
                      (failed ? "failure" : "success") + ": data_size " + std::to_string(size) +
                      (consistent ? "" : ", inconsistent layout"));
        }
        if (failed) {
            // Nothing half done: the same call now succeeds.
            if (call(fd) != 0) {
                t.problem("point " + std::to_string(n) +
                          ": retry without injection failed: " + std::strerror(errno));
            } else if (!info_consistent(fd, &size) || size != want_size) {
                t.problem("point " + std::to_string(n) + ": retry sized " + std::to_string(size));
            }
        }
        ::close(fd);
    }
    check(t.problems.empty() && t.injected > 0,
          name + " under fail-nth (" + std::to_string(total) + " allocations): " + t.summary());
}

void Child::sweep_watch(const std::string& name, bool sized, bool key) {
    Tally t;
    unsigned sized_by_failure = 0;
    const auto prepare = [&]() {
        const int fd = open_queue();
        if (fd >= 0 && sized) {
            std::uint64_t bytes = 65536;
            if (::ioctl(fd, WQ_IOC_SET_RING_BYTES, &bytes) < 0) {
                ::close(fd);
                return -1;
            }
        }
        return fd;
    };
    const auto add = [&](int fd) {
        return key ? watch_key(fd, 7) : watch_object(fd, 3, 7);
    };
    const auto remove = [&](int fd) {
        return key ? watch_key(fd, -1) : watch_object(fd, 3, -1);
    };
    unsigned total = 0;
    {
        const int fd = prepare();
        if (fd < 0) {
            check(false, name + ": cannot prepare a queue: " + std::strerror(errno));
            return;
        }
        total = count_allocations([&] { return add(fd) == 0 ? 0L : -1L; });
        ::close(fd);
    }
    for (const unsigned n : points(total, 1)) {
        const int fd = prepare();
        if (fd < 0) {
            t.problem("point " + std::to_string(n) +
                      ": queue without injection failed: " + std::strerror(errno));
            break;
        }
        const Call c = with_nth(n, [&]() -> long {
            const int err = add(fd);
            errno = err;
            return err == 0 ? 0 : -1;
        });
        ++t.points;
        if (!c.injected) {
            if (c.rc != 0) {
                t.problem("point " + std::to_string(n) + " (not injected): failed with " +
                          std::strerror(c.err));
            }
        } else {
            ++t.injected;
            if (c.rc == 0) {
                ++t.succeeded;
            } else if (c.err == ENOMEM) {
                ++t.enomem;
            } else {
                t.problem("point " + std::to_string(n) + ": failed with " + std::strerror(c.err) +
                          ", not ENOMEM");
            }
        }
        std::uint64_t size = 0;
        if (!info_consistent(fd, &size)) {
            t.problem("point " + std::to_string(n) + ": inconsistent GET_INFO");
        }
        if (c.rc != 0 && !sized && size != 0) {
            ++sized_by_failure;
        }
        if (c.rc != 0) {
            // No half-added watch: adding it now works (not EBUSY).
            if (const int err = add(fd); err != 0) {
                t.problem("point " + std::to_string(n) +
                          ": retry without injection: " + std::strerror(err));
            }
        }
        // The watch exists exactly once: removing it works.
        if (const int err = remove(fd); err != 0) {
            t.problem("point " + std::to_string(n) + ": removing the watch: " + std::strerror(err));
        }
        ::close(fd);
    }
    check(t.problems.empty() && t.injected > 0,
          name + " under fail-nth (" + std::to_string(total) + " allocations): " + t.summary());
    if (sized_by_failure > 0) {
        // The watch sizes an unsized queue first (default_ring_bytes) and
        // keeps that ring when a later step fails: a complete, consistent
        // ring, but SET_SIZE now gives EBUSY although no watch was added.
        say("# note: " + name + ": " + std::to_string(sized_by_failure) +
            " failed watch additions left the queue sized with the default ring");
    }
}

// Retries @fn (true: as expected) for a while: queues and watches are
// released after an RCU grace period and a work item, not at close().
bool eventually(const std::function<bool()>& fn) {
    for (int i = 0; i < 400; ++i) {
        if (fn()) {
            return true;
        }
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

void Child::check_limits(const std::string& after) {
    limits(true);
    std::string detail;
    const bool queues_ok = eventually([&] {
        std::vector<int> fds;
        bool ok = true;
        for (unsigned i = 1; i < max_queues && ok; ++i) { // the pin is one
            const int fd = open_queue();
            ok = fd >= 0;
            if (ok) {
                fds.push_back(fd);
            } else {
                detail = "queue " + std::to_string(i + 1) + ": " + std::strerror(errno);
            }
        }
        if (ok) {
            const int fd = open_queue();
            ok = fd < 0 && errno == EMFILE;
            if (!ok) {
                detail = "queue " + std::to_string(max_queues + 1) + " was not refused (EMFILE)";
            }
            if (fd >= 0) {
                ::close(fd);
            }
        }
        for (const int fd : fds) {
            ::close(fd);
        }
        return ok;
    });
    check(queues_ok, "after " + after + ": exactly max_user_queues (" + std::to_string(max_queues) +
                         ") queues can be opened" + (queues_ok ? "" : ": " + detail));

    const bool rings_ok = eventually([&] {
        std::array<int, 3> fds{-1, -1, -1};
        bool ok = true;
        std::array<int, 3> errs{};
        for (std::size_t i = 0; i < fds.size(); ++i) {
            fds[i] = open_queue();
            std::uint64_t bytes = big_ring;
            errs[i] = fds[i] < 0                                           ? errno
                      : ::ioctl(fds[i], WQ_IOC_SET_RING_BYTES, &bytes) < 0 ? errno
                                                                           : 0;
        }
        ok = errs[0] == 0 && errs[1] == 0 && errs[2] == ENOSPC;
        detail = std::string(std::strerror(errs[0])) + ", " + std::strerror(errs[1]) + ", " +
                 std::strerror(errs[2]);
        for (const int fd : fds) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
        return ok;
    });
    check(rings_ok, "after " + after + ": two 16 MiB rings fit max_user_ring_bytes, a third " +
                        "gets ENOSPC" + (rings_ok ? "" : " (got " + detail + ")"));

    const bool watches_ok = eventually([&] {
        const int fd = open_queue();
        if (fd < 0) {
            detail = std::string("open: ") + std::strerror(errno);
            return false;
        }
        bool ok = true;
        for (std::uint32_t obj = 0; obj < max_watches && ok; ++obj) {
            const int err = watch_object(fd, obj, static_cast<std::int32_t>(obj));
            ok = err == 0;
            if (!ok) {
                detail = "watch " + std::to_string(obj + 1) + ": " + std::strerror(err);
            }
        }
        if (ok) {
            const int err = watch_key(fd, 99);
            ok = err == EAGAIN;
            if (!ok) {
                detail = "watch " + std::to_string(max_watches + 1) + ": " +
                         (err != 0 ? std::strerror(err) : "succeeded") + ", not EAGAIN";
            }
        }
        ::close(fd);
        return ok;
    });
    check(watches_ok, "after " + after + ": exactly max_user_watches (" +
                          std::to_string(max_watches) + ") watches can be added" +
                          (watches_ok ? "" : ": " + detail));
    limits(false);
}

void Child::random_phase(int iterations, bool big) {
    // NOLINTNEXTLINE(cert-msc32-c,cert-msc51-cpp): a fixed seed, for runs that can be repeated
    std::mt19937 rng(12345);
    std::map<std::string, unsigned> errors; // unexpected errno per operation
    unsigned ops = 0;
    unsigned enomem = 0;
    {
        make_it_fail(true);
        for (int i = 0; i < iterations; ++i) {
            const int fd = open_queue();
            ++ops;
            if (fd < 0) {
                (errno == ENOMEM ? enomem : errors["open " + std::string(std::strerror(errno))])++;
                continue;
            }
            const auto note = [&](const char* op, int err, std::initializer_list<int> fine) {
                ++ops;
                if (err == 0 || std::find(fine.begin(), fine.end(), err) != fine.end()) {
                    return;
                }
                (err == ENOMEM ? enomem : errors[std::string(op) + " " + std::strerror(err)])++;
            };
            std::uint64_t bytes =
                big && rng() % 4 == 0 ? big_ring : std::uint64_t{4096} << (rng() % 9);
            if (rng() % 4 != 0) {
                note("size", ::ioctl(fd, WQ_IOC_SET_RING_BYTES, &bytes) < 0 ? errno : 0, {});
            }
            if (rng() % 2 == 0) {
                std::array<std::uint32_t, 2 + sizeof(wq_notification_type_filter) / 4> blob{};
                blob[0] = 1;
                wq_notification_type_filter f{};
                f.type = WQT_TYPE;
                f.subtype_filter[0] = ~0U;
                std::memcpy(&blob[2], &f, sizeof(f));
                note("filter", ::ioctl(fd, WQ_IOC_SET_FILTER, blob.data()) < 0 ? errno : 0, {});
            }
            for (std::uint32_t obj = 0; obj < 3; ++obj) {
                note("watch", watch_object(fd, obj, static_cast<std::int32_t>(obj)), {});
            }
            note("key watch", watch_key(fd, 9), {});
            if (rng() % 2 == 0) {
                note("unwatch", watch_object(fd, 1, -1), {EBADSLT});
            }
            std::array<char, 512> buf{};
            ++ops;
            (void)::read(fd, buf.data(), buf.size());
            ::close(fd);
        }
        make_it_fail(false);
    }
    std::string detail;
    for (const auto& [what, n] : errors) {
        detail += "\n    " + what + ": " + std::to_string(n);
    }
    check(errors.empty() && enomem > 0,
          "random allocation failures (" + std::to_string(iterations) + " queue lives, " +
              std::to_string(ops) + " operations, " + std::to_string(enomem) +
              " ENOMEM): no other error" + detail);
}

void Child::run() {
    sweep_open();
    check_limits("failed opens");
    // A queue sized in notes holds as many records of the largest size,
    // each behind a loss record, and one loss record more (wq_dev.h).
    constexpr std::uint64_t loss = sizeof(wq_loss_notification);
    sweep_size("WQ_IOC_SET_SIZE 512 notes", WQ_IOC_SET_SIZE, WQ_MAX_NOTES,
               std::bit_ceil(WQ_MAX_NOTES * (WQ_RECORD_MAX + loss) + loss), 1);
    sweep_size("WQ_IOC_SET_RING_BYTES 1 MiB", WQ_IOC_SET_RING_BYTES, mib, mib, 1);
    sweep_size("WQ_IOC_SET_RING_BYTES 16 MiB", WQ_IOC_SET_RING_BYTES, big_ring, big_ring,
               static_cast<unsigned>(std::max(1, env_int("WQ_FI_STRIDE", 64))));
    check_limits("failed sizing");
    sweep_watch("WQT_IOC_WATCH on a sized queue", true, false);
    sweep_watch("WQT_IOC_WATCH on an unsized queue", false, false);
    sweep_watch("WQ_IOC_WATCH_KEY on a sized queue", true, true);
    sweep_watch("WQ_IOC_WATCH_KEY on an unsized queue", false, true);
    check_limits("failed watches");
    random_phase(env_int("WQ_FI_RANDOM", 300), env_int("WQ_FI_BIG_RANDOM", 0) != 0);
    check_limits("random failures");
}

// ------------------------------------------------------------ the parent

bool drop_to_nobody() {
    constexpr uid_t nobody = 65534;
    // mlockall needs the limit raised while still root.
    const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    if (::setrlimit(RLIMIT_MEMLOCK, &unlimited) < 0) {
        return false;
    }
    if (::setgroups(0, nullptr) < 0 || ::setgid(nobody) < 0 || ::setuid(nobody) < 0) {
        return false;
    }
    // Dumpable again, so that /proc/thread-self/fail-nth is ours.
    if (::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) {
        return false;
    }
    // No page fault may allocate between arming fail-nth and the call.
    return ::mlockall(MCL_CURRENT | MCL_FUTURE) == 0 && ::geteuid() == nobody;
}

// Touches the stack the child will use, so that it is there (and locked)
// before any allocation is made to fail.
void prefault_stack() {
    constexpr std::size_t bytes = std::size_t{256} * 1024;
    std::array<char, bytes> area; // NOLINT(cppcoreguidelines-pro-type-member-init)
    std::memset(area.data(), 1, area.size());
    asm volatile("" : : "r"(area.data()) : "memory");
}

int child_main(int testfd, int to_parent, int from_parent) {
    prefault_stack();
    if (!drop_to_nobody()) {
        fail(std::string("cannot become uid 65534 (mlocked, dumpable): ") + std::strerror(errno));
        return 1;
    }
    const long key =
        ::syscall(SYS_add_key, "user", "wq-faultinject", "x", 1, KEY_SPEC_PROCESS_KEYRING);
    if (key < 0) {
        fail(std::string("add_key: ") + std::strerror(errno));
        return 1;
    }
    try {
        Child c(testfd, static_cast<int>(key), to_parent, from_parent);
        c.run();
    } catch (const std::exception& e) {
        fail(e.what());
        return 1;
    }
    return wqt::tap::failed() == 0 ? 0 : 1;
}

int run() {
    const std::string slab = std::string(debugfs) + "/failslab";
    const std::string page = std::string(debugfs) + "/fail_page_alloc";
    struct stat st {};
    if (::stat(slab.c_str(), &st) < 0 || ::stat(page.c_str(), &st) < 0 ||
        ::stat("/proc/self/fail-nth", &st) < 0) {
        say("# no failslab/fail_page_alloc in debugfs (CONFIG_FAULT_INJECTION_DEBUG_FS): "
            "nothing to do on this kernel");
        return 0;
    }
    const int testfd = ::open(WQT_DEV_PATH, O_RDWR | O_CLOEXEC);
    if (testfd < 0) {
        fail(std::string("open " WQT_DEV_PATH ": ") + std::strerror(errno));
        return 1;
    }
    // A key watch of our own keeps the module's key kprobes armed, so the
    // child's first key watch does not register them (see WQ_FI_ARMING).
    const int armer = open_queue();
    const long armer_key =
        ::syscall(SYS_add_key, "user", "wq-faultinject-armer", "x", 1, KEY_SPEC_PROCESS_KEYRING);
    bool armed = false;
    if (armer >= 0 && armer_key >= 0 && env_int("WQ_FI_ARMING", 0) == 0) {
        wq_watch_key wk{};
        wk.key = static_cast<std::int32_t>(armer_key);
        wk.watch_id = 1;
        armed = ::ioctl(armer, WQ_IOC_WATCH_KEY, &wk) == 0;
        say(std::string("# key hooks kept armed by a root watch: ") + (armed ? "yes" : "no"));
    }

    std::vector<std::unique_ptr<Setting>> settings;
    const auto set = [&](const std::string& path, const std::string& value) {
        settings.push_back(std::make_unique<Setting>(path, value));
    };
    try {
        for (const std::string& attr : {slab, page}) {
            // Only fail-nth and, in the random phase, make-it-fail tasks.
            set(attr + "/probability", "0");
            set(attr + "/interval", "1");
            set(attr + "/times", "-1");
            set(attr + "/space", "0");
            set(attr + "/verbose", "0");
            set(attr + "/task-filter", "Y");
            set(attr + "/ignore-gfp-wait", "N");
        }
        set(page + "/ignore-gfp-highmem", "N");
        set(page + "/min-order", "0");
        // Restored at the end; loose until the child asks for tight ones.
        set(std::string(params) + "max_user_queues", "1024");
        set(std::string(params) + "max_user_watches", "8192");
        set(std::string(params) + "max_user_ring_bytes", std::to_string(1024 * mib));
    } catch (const std::exception& e) {
        fail(std::string("setup: ") + e.what());
        return 1;
    }
    int up[2];   // child -> parent
    int down[2]; // parent -> child
    if (::pipe2(up, O_CLOEXEC) < 0 || ::pipe2(down, O_CLOEXEC) < 0) {
        fail("pipe2");
        return 1;
    }
    // Nothing buffered may be printed twice; a failure shows as missing lines.
    (void)std::fflush(stdout);
    const pid_t pid = ::fork();
    if (pid < 0) {
        fail("fork");
        return 1;
    }
    if (pid == 0) {
        ::close(up[0]);
        ::close(down[1]);
        ::_exit(child_main(testfd, up[1], down[0]));
    }
    ::close(up[1]);
    ::close(down[0]);
    // The random phase needs a probability; the child flips make-it-fail
    // only around it, and the task filter spares every other task.
    (void)write_file(slab + "/probability", "10");
    (void)write_file(page + "/probability", "10");
    const std::string child_fail = "/proc/" + std::to_string(pid) + "/make-it-fail";
    char c = 0;
    while (::read(up[0], &c, 1) == 1) {
        const bool done = c == 'T' || c == 'L'   ? set_limits(c == 'T')
                          : c == 'F' || c == 'N' ? write_file(child_fail, c == 'F' ? "1" : "0")
                                                 : false;
        if (!done || ::write(down[1], &c, 1) != 1) {
            fail(std::string("cannot do '") + c + "' for the child");
            break;
        }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    settings.clear();
    if (armer >= 0) {
        ::close(armer);
    }
    if (!WIFEXITED(status)) {
        fail("the child died (signal " + std::to_string(WTERMSIG(status)) + ")");
        return 1;
    }
    return WEXITSTATUS(status);
}

} // namespace

int main() {
    int rc = 1;
    try {
        rc = run();
    } catch (const std::exception& e) {
        fail(e.what());
    }
    wqt::tap::plan();
    return rc;
}
