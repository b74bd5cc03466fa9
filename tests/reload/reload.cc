// SPDX-License-Identifier: GPL-2.0-or-later
// wq-reload: load and unload watch_queue.ko and wq_test.ko over and over
// with queues opened, sized, mapped, watching test objects and a key,
// records posted and read, and queues closed just before the unload (their
// memory is still on its way out through RCU and the module's workqueue).
// In every cycle, unloading watch_queue while a queue is open, or while a
// ring is still mapped after its descriptor was closed, must be refused;
// once everything is closed the unload must succeed.  Every tenth cycle
// also checks that rmmod(8) refuses with "in use"; some cycles unload
// wq_test while a queue still watches its objects.
//
// Run as root in a guest with neither module loaded; leaves them unloaded.
// Usage: wq-reload [CYCLES]  (default $WQ_RELOAD_CYCLES or 100); module
// paths from $WQ_MODDIR/watch_queue.ko and $WQ_TESTMODDIR/wq_test.ko;
// $WQ_RELOAD_KEY_EVERY (default 10): a key watch every Nth cycle.
// Output: TAP (tests/support/tap.h): a line per check, "# ..." notes and the
// plan at the end; exit 0 iff none failed.
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>
#include <wq_test_uapi.h>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/keyctl.h>
#include <linux/wq_dev.h>

#include "tap.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using wqt::tap::check;
using wqt::tap::fail;
using wqt::tap::say;

// A failure inside a cycle: reported once, with the cycle, and the run ends.
struct CycleError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A whole decimal int, or nullopt.
std::optional<int> parse_int(std::string_view s) {
    int v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

std::string err_str(int err) {
    return std::string(std::strerror(err)) + " (" + std::to_string(err) + ")";
}

void load(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw CycleError("open " + path + ": " + err_str(errno));
    }
    const long rc = ::syscall(SYS_finit_module, fd, "", 0);
    const int err = errno;
    ::close(fd);
    if (rc < 0) {
        throw CycleError("loading " + path + ": " + err_str(err));
    }
}

// delete_module(2) without waiting: 0 or errno.
int try_unload(const char* name) {
    return ::syscall(SYS_delete_module, name, O_NONBLOCK) < 0 ? errno : 0;
}

void unload(const char* name) {
    // close() has dropped the module reference by the time it returns
    // (the final fput runs before the return to user space): no retry.
    if (const int err = try_unload(name); err != 0) {
        throw CycleError(std::string("unloading ") + name + " with nothing open: " + err_str(err));
    }
}

bool loaded(const char* name) {
    struct stat st {};
    return ::stat((std::string("/sys/module/") + name).c_str(), &st) == 0;
}

int open_dev(const char* path) {
    for (int i = 0; i < 100; ++i) {
        const int fd = ::open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0 || errno != ENOENT) {
            return fd;
        }
        std::this_thread::sleep_for(10ms);
    }
    return -1;
}

int must_open(const char* path) {
    const int fd = open_dev(path);
    if (fd < 0) {
        throw CycleError(std::string("open ") + path + ": " + err_str(errno));
    }
    return fd;
}

void must(bool ok, const std::string& what) {
    if (!ok) {
        throw CycleError(what + ": " + err_str(errno));
    }
}

void watch(int testfd, int qfd, std::uint32_t object, std::int32_t id) {
    wqt_watch w{};
    w.fd = qfd;
    w.watch_id = id;
    w.object = object;
    must(::ioctl(testfd, WQT_IOC_WATCH, &w) == 0, "WQT_IOC_WATCH object " + std::to_string(object));
}

void post(int testfd, std::uint32_t object, wqt_context ctx, std::uint64_t count) {
    wqt_post p{};
    p.object = object;
    p.context = ctx;
    p.cpu = -1;
    p.producer = 1;
    p.count = count;
    p.size = 32;
    p.batch = 8;
    must(::ioctl(testfd, WQT_IOC_POST, &p) == 0 && p.posted == count, "WQT_IOC_POST");
}

// rmmod(8) must refuse with "in use" (kmod checks the reference count).
bool rmmod_says_in_use(const char* name, std::string* out) {
    const std::string cmd = std::string("rmmod ") + name + " 2>&1";
    // NOLINTNEXTLINE(cert-env33-c): the test runs rmmod(8) on purpose
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
        *out = "popen failed";
        return false;
    }
    char buf[512];
    out->clear();
    while (std::fgets(buf, sizeof(buf), p) != nullptr) {
        *out += buf;
    }
    const int status = ::pclose(p);
    while (!out->empty() && out->back() == '\n') {
        out->pop_back();
    }
    return WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
           out->find("in use") != std::string::npos;
}

struct Stats {
    int cycles = 0;
    int key_every = 10; // a key watch (arming the kprobes) every Nth cycle
    double load_s = 0;
    double use_s = 0;
    double unload_s = 0;
    int refused_open = 0;
    int refused_mapped = 0;
    int rmmod_in_use = 0;
    int test_unloaded_with_watches = 0;
    std::string last_rmmod;
};

double since(Clock::time_point& t) {
    const auto now = Clock::now();
    const double s = std::chrono::duration<double>(now - t).count();
    t = now;
    return s;
}

void cycle(int n, const std::string& wq_ko, const std::string& test_ko, long key, Stats& st) {
    auto t = Clock::now();
    load(wq_ko);
    load(test_ko);
    st.load_s += since(t);
    const int testfd = must_open(WQT_DEV_PATH);
    std::vector<int> queues;
    queues.reserve(3);
    for (int i = 0; i < 3; ++i) {
        queues.push_back(must_open(WQ_DEV_PATH));
    }
    // Queue 0: sized, mapped, watching two objects; 1: unsized, watching
    // (sized by its first watch) and the key; 2: sized by notes, filtered.
    std::uint64_t bytes = std::uint64_t{4096} << (n % 6);
    must(::ioctl(queues[0], WQ_IOC_SET_RING_BYTES, &bytes) == 0, "WQ_IOC_SET_RING_BYTES");
    must(::ioctl(queues[2], WQ_IOC_SET_SIZE, 1 + n % WQ_MAX_NOTES) == 0, "WQ_IOC_SET_SIZE");
    // struct wq_notification_filter with one entry, as u32 words.
    std::array<std::uint32_t, 2 + sizeof(wq_notification_type_filter) / 4> filter{};
    filter[0] = 1;
    wq_notification_type_filter entry{};
    entry.type = WQT_TYPE;
    entry.subtype_filter[0] = 1;
    std::memcpy(&filter[2], &entry, sizeof(entry));
    must(::ioctl(queues[2], WQ_IOC_SET_FILTER, filter.data()) == 0, "WQ_IOC_SET_FILTER");
    watch(testfd, queues[0], 0, 1);
    watch(testfd, queues[0], 1, 2);
    watch(testfd, queues[1], 0, 3);
    watch(testfd, queues[2], 1, 4);
    // Arming and disarming the key kprobes is the slow part of a cycle
    // (ftrace, RCU tasks grace periods): not every cycle.
    if (key > 0 && n % st.key_every == 0) {
        wq_watch_key wk{};
        wk.key = static_cast<std::int32_t>(key);
        wk.watch_id = 5;
        must(::ioctl(queues[1], WQ_IOC_WATCH_KEY, &wk) == 0, "WQ_IOC_WATCH_KEY");
        // A key change posts through the armed kprobes.
        must(::syscall(SYS_keyctl, KEYCTL_UPDATE, key, "y", 1) == 0, "keyctl update");
    }
    post(testfd, 0, WQT_CTX_PROCESS, 50);
    post(testfd, 1, n % 2 != 0 ? WQT_CTX_SOFTIRQ : WQT_CTX_HARDIRQ, 50);
    std::vector<char> buf(65536);
    must(::read(queues[1], buf.data(), buf.size()) > 0, "read");

    wq_ring_info info{};
    info.size = sizeof(info);
    must(::ioctl(queues[0], WQ_IOC_GET_INFO, &info) == 0, "WQ_IOC_GET_INFO");
    void* ring = ::mmap(nullptr, info.producer_len, PROT_READ, MAP_SHARED, queues[0],
                        static_cast<off_t>(info.producer_off));
    must(ring != MAP_FAILED, "mmap");

    st.use_s += since(t);
    ::close(testfd);
    // Every third cycle wq_test goes first, while queues still watch its
    // objects; otherwise it stays (a dependency of watch_queue) until the
    // queues are closed.
    const bool test_first = n % 3 == 0;
    if (test_first) {
        unload("wq_test");
        ++st.test_unloaded_with_watches;
    }
    // Refused while a queue is open.
    const int err = try_unload("watch_queue");
    if (err != EWOULDBLOCK && err != EBUSY) {
        throw CycleError("unloading watch_queue with queues open: " +
                         (err != 0 ? err_str(err) : std::string("it was unloaded")));
    }
    ++st.refused_open;
    if (n % 10 == 0) {
        if (!rmmod_says_in_use("watch_queue", &st.last_rmmod)) {
            throw CycleError("rmmod watch_queue with queues open: '" + st.last_rmmod + "'");
        }
        ++st.rmmod_in_use;
    }
    for (const int fd : queues) {
        ::close(fd);
    }
    if (!test_first) {
        unload("wq_test");
    }
    // Refused while a ring is still mapped (the mapping holds the file).
    const int err2 = try_unload("watch_queue");
    if (err2 != EWOULDBLOCK && err2 != EBUSY) {
        throw CycleError("unloading watch_queue with a ring mapped: " +
                         (err2 != 0 ? err_str(err2) : std::string("it was unloaded")));
    }
    ++st.refused_mapped;
    ::munmap(ring, info.producer_len);
    unload("watch_queue");
    st.unload_s += since(t);
    ++st.cycles;
}

int run(int cycles) {
    const char* moddir = std::getenv("WQ_MODDIR");
    const char* testmoddir = std::getenv("WQ_TESTMODDIR");
    if (moddir == nullptr || testmoddir == nullptr) {
        fail("WQ_MODDIR and WQ_TESTMODDIR must name the module directories");
        return 1;
    }
    const std::string wq_ko = std::string(moddir) + "/watch_queue.ko";
    const std::string test_ko = std::string(testmoddir) + "/wq_test.ko";
    if (loaded("watch_queue") || loaded("wq_test")) {
        fail("watch_queue or wq_test is already loaded");
        return 1;
    }
    const long key = ::syscall(SYS_add_key, "user", "wq-reload", "x", 1, KEY_SPEC_PROCESS_KEYRING);
    if (key < 0) {
        say("# add_key failed (" + err_str(errno) + "): no key watches");
    }
    Stats st;
    if (const char* v = std::getenv("WQ_RELOAD_KEY_EVERY"); v != nullptr && *v != '\0') {
        const auto every = parse_int(v);
        if (!every) {
            fail(std::string("WQ_RELOAD_KEY_EVERY is not a number: '") + v + "'");
            return 1;
        }
        if (*every > 0) {
            st.key_every = *every;
        }
    }
    const auto start = Clock::now();
    std::string error;
    for (int n = 0; n < cycles && error.empty(); ++n) {
        try {
            cycle(n, wq_ko, test_ko, key, st);
        } catch (const CycleError& e) {
            error = "cycle " + std::to_string(n) + ": " + e.what();
        }
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    const double secs = static_cast<double>(ms.count()) / 1000.0;
    // Whatever state a failure left: try to end with both unloaded.
    for (int i = 0; i < 50 && (loaded("wq_test") || loaded("watch_queue")); ++i) {
        (void)try_unload("wq_test");
        (void)try_unload("watch_queue");
        std::this_thread::sleep_for(100ms);
    }
    // Both buffers are large enough for what is printed into them.
    char elapsed[64];
    (void)std::snprintf(elapsed, sizeof(elapsed), "%.1f s", secs);
    char split[160];
    (void)std::snprintf(
        split, sizeof(split),
        "# time: loading %.1f s, using %.1f s, unloading %.1f s (key watch every %d)", st.load_s,
        st.use_s, st.unload_s, st.key_every);
    say(split);
    check(error.empty() && st.cycles == cycles,
          std::to_string(st.cycles) + "/" + std::to_string(cycles) + " load/use/unload cycles in " +
              elapsed + (error.empty() ? "" : ": " + error));
    check(st.refused_open == st.cycles && st.cycles > 0,
          "unload refused while a queue was open (" + std::to_string(st.refused_open) + ")");
    check(st.refused_mapped == st.cycles && st.cycles > 0,
          "unload refused while a ring was mapped after close (" +
              std::to_string(st.refused_mapped) + ")");
    check(st.rmmod_in_use > 0 && st.rmmod_in_use == (st.cycles + 9) / 10,
          "rmmod refused with 'in use' (" + std::to_string(st.rmmod_in_use) + " times: '" +
              st.last_rmmod + "')");
    check(st.test_unloaded_with_watches > 0, "wq_test unloaded while queues watched its objects (" +
                                                 std::to_string(st.test_unloaded_with_watches) +
                                                 " times)");
    check(!loaded("watch_queue") && !loaded("wq_test"), "both modules unloaded at the end");
    return wqt::tap::failed() == 0 ? 0 : 1;
}

// The cycle count from the command line or the environment, then the run.
int run_args(int argc, char** argv) {
    int cycles = 100;
    if (const char* v = std::getenv("WQ_RELOAD_CYCLES"); v != nullptr && *v != '\0') {
        const auto n = parse_int(v);
        if (!n) {
            fail(std::string("WQ_RELOAD_CYCLES is not a number: '") + v + "'");
            return 1;
        }
        cycles = *n;
    }
    if (argc > 1) {
        const auto n = parse_int(argv[1]);
        if (!n) {
            fail(std::string("the cycle count is not a number: '") + argv[1] + "'");
            return 1;
        }
        cycles = *n;
    }
    try {
        return run(cycles);
    } catch (const std::exception& e) {
        fail(e.what());
        return 1;
    }
}

} // namespace

int main(int argc, char** argv) {
    const int rc = run_args(argc, argv);
    wqt::tap::plan(); // after every way out of the run
    return rc;
}
