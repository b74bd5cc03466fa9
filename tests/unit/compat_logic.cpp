// SPDX-License-Identifier: GPL-2.0-or-later
// The compat library's decisions (userlib/preload/compat_logic.h) against a
// fake system-call seam: which pipe2() failures the device replaces, which
// fds are the device, KEYCTL_WATCH_KEY -> WQ_IOC_WATCH_KEY, the capability
// bit, and that results and errno pass through untouched everywhere else.
#include "compat_logic.h"

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/sysmacros.h>

#include "wq_catch.hpp"

namespace {

constexpr int kDeviceMajor = 10;
constexpr int kDeviceMinor = 121;
constexpr int kSentinelErrno = 4242; // errno on entry, to see it preserved

struct FakeFile {
    mode_t mode;
    dev_t rdev;
};

// A process with a few open files and, unless removed, /dev/watch_queue.
struct FakeSys {
    std::optional<FakeFile> device_node =
        FakeFile{S_IFCHR | 0666, makedev(kDeviceMajor, kDeviceMinor)};
    std::map<int, FakeFile> fds;
    int next_fd = 10;

    int open_errno = 0;  // open() fails with this if set
    int dup_errno = 0;   // dup fails with this if set
    int ioctl_errno = 0; // every ioctl fails with this if set
    std::uint64_t features = WQ_FEATURE_MMAP | WQ_FEATURE_SYNC | WQ_FEATURE_KEYS;

    std::vector<std::string> calls;
    std::optional<wq_watch_key> watch_arg;
    std::optional<std::uint32_t> info_size_in;

    int open_path(const char* path, int flags) {
        calls.push_back("open " + std::string(path) + " " + std::to_string(flags));
        if (open_errno != 0) {
            errno = open_errno;
            return -1;
        }
        if (!device_node || std::strcmp(path, WQ_DEV_PATH) != 0) {
            errno = ENOENT;
            return -1;
        }
        fds[next_fd] = *device_node;
        return next_fd++;
    }

    int close_fd(int fd) {
        calls.push_back("close " + std::to_string(fd));
        return fds.erase(fd) == 1 ? 0 : (errno = EBADF, -1);
    }

    int fstat_fd(int fd, struct stat* st) {
        calls.push_back("fstat " + std::to_string(fd));
        const auto it = fds.find(fd);
        if (it == fds.end()) {
            errno = EBADF;
            return -1;
        }
        *st = {};
        st->st_mode = it->second.mode;
        st->st_rdev = it->second.rdev;
        return 0;
    }

    int stat_path(const char* path, struct stat* st) {
        calls.push_back("stat " + std::string(path));
        if (!device_node || std::strcmp(path, WQ_DEV_PATH) != 0) {
            errno = ENOENT;
            return -1;
        }
        *st = {};
        st->st_mode = device_node->mode;
        st->st_rdev = device_node->rdev;
        return 0;
    }

    int ioctl_fd(int fd, unsigned long request, void* arg) {
        calls.push_back("ioctl " + std::to_string(fd));
        if (ioctl_errno != 0) {
            errno = ioctl_errno;
            return -1;
        }
        if (request == WQ_IOC_WATCH_KEY) {
            watch_arg = *static_cast<wq_watch_key*>(arg);
            return 0;
        }
        if (request == WQ_IOC_GET_INFO) {
            auto* info = static_cast<wq_ring_info*>(arg);
            info_size_in = info->size;
            info->abi_version = WQ_ABI_VERSION;
            info->features = features;
            return 0;
        }
        errno = ENOTTY;
        return -1;
    }

    int dup_fd(int fd, bool cloexec) {
        calls.push_back(std::string(cloexec ? "dup_cloexec " : "dup ") + std::to_string(fd));
        if (dup_errno != 0) {
            errno = dup_errno;
            return -1;
        }
        fds[next_fd] = fds.at(fd);
        return next_fd++;
    }

    // An open fd of the device, as a program would hold it.
    int add_device_fd() {
        fds[next_fd] = *device_node;
        return next_fd++;
    }
    int add_file(mode_t mode, dev_t rdev = 0) {
        fds[next_fd] = FakeFile{mode, rdev};
        return next_fd++;
    }
};

static_assert(wqc::SysApi<FakeSys>);

// A real function stand-in: counts calls, sees errno on entry, returns
// @ret with errno @err.
struct FakeReal {
    long ret = 0;
    int err = 0;
    mutable int calls = 0;
    mutable int errno_seen = 0;

    long operator()() const {
        ++calls;
        errno_seen = errno;
        if (err != 0) {
            errno = err;
        }
        return ret;
    }
};

unsigned long as_arg(long v) {
    return static_cast<unsigned long>(v);
}

} // namespace

TEST_CASE("wants_device_pipe: only the kernel's 'no notification pipes' errors", "[compat]") {
    using wqc::wants_device_pipe;
    const int notif = wqc::kNotificationPipe;

    CHECK(notif == O_EXCL);
    CHECK(wants_device_pipe(notif, ENOPKG));
    CHECK(wants_device_pipe(notif, EINVAL)); // before 5.8
    CHECK(wants_device_pipe(notif | O_CLOEXEC | O_NONBLOCK | O_DIRECT, ENOPKG));

    CHECK_FALSE(wants_device_pipe(notif, EMFILE));
    CHECK_FALSE(wants_device_pipe(notif, ENFILE));
    CHECK_FALSE(wants_device_pipe(notif, EPERM));
    CHECK_FALSE(wants_device_pipe(0, EINVAL));
    CHECK_FALSE(wants_device_pipe(O_CLOEXEC, ENOPKG));
    // Upstream refuses these flags with EINVAL too: that EINVAL stays.
    CHECK_FALSE(wants_device_pipe(notif | O_APPEND, EINVAL));
    CHECK_FALSE(wants_device_pipe(notif | O_NOATIME, ENOPKG));
}

TEST_CASE("is_device_fd: a character device with the node's device number", "[compat]") {
    FakeSys sys;
    const int dev = sys.add_device_fd();
    const int other_chr = sys.add_file(S_IFCHR | 0666, makedev(1, 3));
    const int regular = sys.add_file(S_IFREG | 0644);
    // A block device that happens to have the same numbers is not ours.
    const int blk = sys.add_file(S_IFBLK | 0660, makedev(kDeviceMajor, kDeviceMinor));
    const int fifo = sys.add_file(S_IFIFO | 0600);

    errno = kSentinelErrno;
    CHECK(wqc::is_device_fd(sys, dev));
    CHECK_FALSE(wqc::is_device_fd(sys, other_chr));
    CHECK_FALSE(wqc::is_device_fd(sys, regular));
    CHECK_FALSE(wqc::is_device_fd(sys, blk));
    CHECK_FALSE(wqc::is_device_fd(sys, fifo));
    CHECK_FALSE(wqc::is_device_fd(sys, 999)); // EBADF inside
    CHECK_FALSE(wqc::is_device_fd(sys, -1));
    CHECK(errno == kSentinelErrno);

    SECTION("the path is only looked at for character devices") {
        sys.calls.clear();
        CHECK_FALSE(wqc::is_device_fd(sys, regular));
        CHECK(sys.calls == std::vector<std::string>{"fstat " + std::to_string(regular)});
    }
    SECTION("no node: nothing is ours") {
        sys.device_node.reset();
        CHECK_FALSE(wqc::is_device_fd(sys, dev));
        CHECK(errno == kSentinelErrno);
    }
    SECTION("a node that is not a character device is not the device") {
        sys.device_node->mode = S_IFREG | 0644;
        CHECK_FALSE(wqc::is_device_fd(sys, dev));
    }
}

TEST_CASE("open_device_pipe: O_RDWR open plus a duplicate, flags honoured", "[compat]") {
    FakeSys sys;
    int fds[2] = {-7, -7};

    SECTION("no flags") {
        REQUIRE(wqc::open_device_pipe(sys, fds, wqc::kNotificationPipe) == 0);
        CHECK(sys.calls == std::vector<std::string>{
                               "open /dev/watch_queue " + std::to_string(O_RDWR), "dup 10"});
        CHECK(fds[0] == 10);
        CHECK(fds[1] == 11);
    }
    SECTION("O_CLOEXEC reaches both fds, O_NONBLOCK the open file, O_DIRECT nothing") {
        REQUIRE(wqc::open_device_pipe(
                    sys, fds, wqc::kNotificationPipe | O_CLOEXEC | O_NONBLOCK | O_DIRECT) == 0);
        CHECK(sys.calls ==
              std::vector<std::string>{"open /dev/watch_queue " +
                                           std::to_string(O_RDWR | O_CLOEXEC | O_NONBLOCK),
                                       "dup_cloexec 10"});
    }
    SECTION("open fails: its errno, fds untouched") {
        sys.open_errno = EACCES;
        CHECK(wqc::open_device_pipe(sys, fds, wqc::kNotificationPipe) == -1);
        CHECK(errno == EACCES);
        CHECK(fds[0] == -7);
        CHECK(fds[1] == -7);
    }
    SECTION("dup fails: the first fd is closed again, dup's errno, fds untouched") {
        sys.dup_errno = EMFILE;
        CHECK(wqc::open_device_pipe(sys, fds, wqc::kNotificationPipe) == -1);
        CHECK(errno == EMFILE);
        CHECK(sys.calls.back() == "close 10");
        CHECK(sys.fds.empty());
        CHECK(fds[0] == -7);
    }
}

TEST_CASE("route_pipe2: the device only where the kernel has no notification pipes", "[compat]") {
    FakeSys sys;
    int fds[2] = {-7, -7};
    FakeReal real;
    errno = kSentinelErrno;

    SECTION("kernel notification pipe: passed through, device untouched") {
        const auto out = wqc::route_pipe2(sys, fds, wqc::kNotificationPipe, real);
        CHECK(out.ret == 0);
        CHECK(out.route == wqc::Route::passed);
        CHECK(real.calls == 1);
        CHECK(real.errno_seen == kSentinelErrno);
        CHECK(sys.calls.empty());
        CHECK(errno == kSentinelErrno);
    }
    SECTION("ENOPKG: device fds, errno as on entry") {
        real = {-1, ENOPKG};
        const auto out = wqc::route_pipe2(sys, fds, wqc::kNotificationPipe | O_NONBLOCK, real);
        CHECK(out.ret == 0);
        CHECK(out.route == wqc::Route::device);
        CHECK(real.calls == 1);
        CHECK(fds[0] == 10);
        CHECK(fds[1] == 11);
        CHECK(errno == kSentinelErrno);
    }
    SECTION("EINVAL from a kernel before 5.8: device fds") {
        real = {-1, EINVAL};
        CHECK(wqc::route_pipe2(sys, fds, wqc::kNotificationPipe, real).route == wqc::Route::device);
    }
    SECTION("no device: the original failure, unchanged") {
        sys.device_node.reset();
        real = {-1, ENOPKG};
        const auto out = wqc::route_pipe2(sys, fds, wqc::kNotificationPipe, real);
        CHECK(out.ret == -1);
        CHECK(errno == ENOPKG);
        CHECK(out.route == wqc::Route::no_device);
        CHECK(out.device_err == ENOENT);
        CHECK(fds[0] == -7);
        CHECK(fds[1] == -7);
    }
    SECTION("device cannot give a second fd: the original failure") {
        sys.dup_errno = EMFILE;
        real = {-1, ENOPKG};
        const auto out = wqc::route_pipe2(sys, fds, wqc::kNotificationPipe, real);
        CHECK(out.ret == -1);
        CHECK(errno == ENOPKG);
        CHECK(out.device_err == EMFILE);
        CHECK(sys.fds.empty());
    }
    SECTION("other failures pass through") {
        real = {-1, EMFILE};
        const auto out = wqc::route_pipe2(sys, fds, wqc::kNotificationPipe, real);
        CHECK(out.ret == -1);
        CHECK(errno == EMFILE);
        CHECK(out.route == wqc::Route::passed);
        CHECK(sys.calls.empty());
    }
    SECTION("flags upstream refuses keep their EINVAL") {
        real = {-1, EINVAL};
        const auto out = wqc::route_pipe2(sys, fds, wqc::kNotificationPipe | O_APPEND, real);
        CHECK(out.ret == -1);
        CHECK(errno == EINVAL);
        CHECK(sys.calls.empty());
    }
    SECTION("ordinary pipes are never touched") {
        real = {-1, EINVAL};
        const auto out = wqc::route_pipe2(sys, fds, O_CLOEXEC, real);
        CHECK(out.route == wqc::Route::passed);
        CHECK(errno == EINVAL);
        CHECK(sys.calls.empty());
    }
}

TEST_CASE("module_missing: ENOPKG passed through because the device node does not exist",
          "[compat]") {
    FakeSys sys;
    int fds[2] = {-7, -7};
    FakeReal real{-1, ENOPKG};
    const auto route = [&](int flags = wqc::kNotificationPipe) {
        errno = kSentinelErrno;
        const auto out = wqc::route_pipe2(sys, fds, flags, real);
        return wqc::module_missing(out, errno);
    };

    SECTION("no node, no notification pipes: the hint") {
        sys.device_node.reset();
        CHECK(route());
        CHECK(route(wqc::kNotificationPipe | O_CLOEXEC));
    }
    SECTION("the device served the pipe: no hint") {
        CHECK_FALSE(route());
    }
    SECTION("the device exists but cannot be opened or duplicated: no hint") {
        sys.open_errno = EACCES;
        CHECK_FALSE(route());
        sys.open_errno = 0;
        sys.dup_errno = EMFILE;
        CHECK_FALSE(route());
    }
    SECTION("a kernel before 5.8 (EINVAL), or no device for other reasons: no hint") {
        sys.device_node.reset();
        real = {-1, EINVAL};
        CHECK_FALSE(route());
        real = {-1, EMFILE};
        CHECK_FALSE(route());
        real = {0, 0};
        CHECK_FALSE(route());
    }
    SECTION("ordinary pipes and refused flags: no hint") {
        sys.device_node.reset();
        CHECK_FALSE(route(O_CLOEXEC));
        CHECK_FALSE(route(wqc::kNotificationPipe | O_APPEND));
    }
}

TEST_CASE("the module hint: one line, printed once", "[compat]") {
    CHECK(std::string(wqc::kMissingModuleHint) ==
          "watch_queue: /dev/watch_queue is missing; load the module: modprobe watch_queue");
    CHECK(std::string(wqc::kMissingModuleHint).find('\n') == std::string::npos);
    wqc::Once once;
    CHECK(once.first());
    CHECK_FALSE(once.first());
    CHECK_FALSE(once.first());

    // many threads race for it: exactly one wins
    wqc::Once raced;
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    threads.reserve(8);
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&] {
            for (int j = 0; j < 100; ++j) {
                if (raced.first()) {
                    ++winners;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(winners == 1);
}

TEST_CASE("route_keyctl: KEYCTL_WATCH_KEY on the device becomes WQ_IOC_WATCH_KEY", "[compat]") {
    FakeSys sys;
    const int dev = sys.add_device_fd();
    FakeReal real{-1, EOPNOTSUPP};
    errno = kSentinelErrno;

    SECTION("add a watch") {
        const auto out = wqc::route_keyctl(sys, wqc::kKeyctlWatchKey, 1234, as_arg(dev), 1, real);
        CHECK(out.ret == 0);
        CHECK(out.route == wqc::Route::device);
        CHECK(real.calls == 0);
        REQUIRE(sys.watch_arg);
        CHECK(sys.watch_arg->key == 1234);
        CHECK(sys.watch_arg->watch_id == 1);
        CHECK(sys.watch_arg->flags == 0);
        CHECK(sys.watch_arg->__reserved == 0);
        CHECK(errno == kSentinelErrno);
    }
    SECTION("special ids and removal arrive sign-extended or not, as the kernel truncates") {
        // keyctl(KEYCTL_WATCH_KEY, KEY_SPEC_SESSION_KEYRING, fd, -1) through
        // a variadic unsigned long, with and without sign extension.
        wqc::route_keyctl(sys, wqc::kKeyctlWatchKey, as_arg(-3), as_arg(dev), as_arg(-1), real);
        REQUIRE(sys.watch_arg);
        CHECK(sys.watch_arg->key == -3);
        CHECK(sys.watch_arg->watch_id == -1);
        wqc::route_keyctl(sys, wqc::kKeyctlWatchKey, 0xfffffffdUL, as_arg(dev) | 0xabc00000000UL,
                          0xffffffffUL, real);
        CHECK(sys.watch_arg->key == -3);
        CHECK(sys.watch_arg->watch_id == -1);
        CHECK(real.calls == 0);
    }
    SECTION("out-of-range ids are the module's to refuse") {
        wqc::route_keyctl(sys, wqc::kKeyctlWatchKey, 5, as_arg(dev), 256, real);
        REQUIRE(sys.watch_arg);
        CHECK(sys.watch_arg->watch_id == 256);
    }
    SECTION("the ioctl's failure is the result") {
        sys.ioctl_errno = EBUSY;
        const auto out = wqc::route_keyctl(sys, wqc::kKeyctlWatchKey, 5, as_arg(dev), 1, real);
        CHECK(out.ret == -1);
        CHECK(errno == EBUSY);
        CHECK(real.calls == 0);
    }
    SECTION("the option is an int to the kernel") {
        const long option = (1L << 32) | wqc::kKeyctlWatchKey;
        CHECK(wqc::route_keyctl(sys, option, 5, as_arg(dev), 1, real).route == wqc::Route::device);
    }
    SECTION("any other fd: the real call, untouched") {
        const int pipe_fd = sys.add_file(S_IFIFO | 0600);
        for (const int fd : {pipe_fd, 999, -1}) {
            real.calls = 0;
            errno = kSentinelErrno;
            const auto out = wqc::route_keyctl(sys, wqc::kKeyctlWatchKey, 5, as_arg(fd), 1, real);
            CHECK(out.ret == -1);
            CHECK(out.route == wqc::Route::passed);
            CHECK(errno == EOPNOTSUPP);
            CHECK(real.calls == 1);
            CHECK(real.errno_seen == kSentinelErrno);
        }
        CHECK_FALSE(sys.watch_arg);
    }
}

TEST_CASE("route_keyctl: KEYCTL_CAPABILITIES gains the notification bit from the device",
          "[compat]") {
    FakeSys sys;
    unsigned char caps[4] = {0x7b, 0x03, 0xee, 0xee};
    const auto buf = reinterpret_cast<unsigned long>(caps);
    FakeReal real{2, 0};
    errno = kSentinelErrno;

    auto route = [&](std::size_t len) {
        return wqc::route_keyctl(sys, wqc::kKeyctlCapabilities, buf, len, 0, real);
    };

    SECTION("device with keys: bit set, nothing else changed") {
        const auto out = route(sizeof(caps));
        CHECK(out.ret == 2);
        CHECK(out.route == wqc::Route::patched);
        CHECK(real.calls == 1);
        CHECK(caps[0] == 0x7b);
        CHECK(caps[1] == (0x03 | wqc::kCaps1Notifications));
        CHECK(caps[2] == 0xee);
        CHECK(errno == kSentinelErrno);
        REQUIRE(sys.info_size_in);
        CHECK(*sys.info_size_in == sizeof(wq_ring_info));
        CHECK(sys.calls.front() == "open /dev/watch_queue " + std::to_string(O_RDWR | O_CLOEXEC));
        CHECK(sys.fds.empty()); // the probe's fd is closed again
    }
    SECTION("the kernel has notifications: untouched, device never opened") {
        caps[1] = 0x07;
        CHECK(route(sizeof(caps)).route == wqc::Route::passed);
        CHECK(caps[1] == 0x07);
        CHECK(sys.calls.empty());
    }
    SECTION("device without key support: untouched") {
        sys.features = WQ_FEATURE_MMAP;
        CHECK(route(sizeof(caps)).route == wqc::Route::passed);
        CHECK(caps[1] == 0x03);
        CHECK(sys.fds.empty());
    }
    SECTION("device absent, unopenable or not answering: untouched, errno kept") {
        SECTION("absent") {
            sys.device_node.reset();
        }
        SECTION("EACCES") {
            sys.open_errno = EACCES;
        }
        SECTION("ioctl fails") {
            sys.ioctl_errno = ENOTTY;
        }
        CHECK(route(sizeof(caps)).route == wqc::Route::passed);
        CHECK(caps[1] == 0x03);
        CHECK(errno == kSentinelErrno);
        CHECK(sys.fds.empty());
    }
    SECTION("a buffer without byte 1: untouched, device never opened") {
        CHECK(route(1).route == wqc::Route::passed);
        CHECK(route(0).route == wqc::Route::passed);
        CHECK(caps[1] == 0x03);
        CHECK(sys.calls.empty());
    }
    SECTION("a failed call: result and errno untouched") {
        real = {-1, EFAULT};
        const auto out = route(sizeof(caps));
        CHECK(out.ret == -1);
        CHECK(errno == EFAULT);
        CHECK(caps[1] == 0x03);
        CHECK(sys.calls.empty());
    }
    SECTION("a null buffer is the kernel's business") {
        real = {2, 0};
        const auto out = wqc::route_keyctl(sys, wqc::kKeyctlCapabilities, 0, 0, 0, real);
        CHECK(out.ret == 2);
        CHECK(out.route == wqc::Route::passed);
    }
}

TEST_CASE("route_keyctl: every other command is the real call alone", "[compat]") {
    FakeSys sys;
    const int dev = sys.add_device_fd();
    errno = kSentinelErrno;

    for (const long cmd : {0L, 1L, 2L, 29L, 30L, 33L, -1L, 1L << 40}) {
        FakeReal real{12345, 0};
        const auto out = wqc::route_keyctl(sys, cmd, as_arg(dev), as_arg(dev), 1, real);
        CHECK(out.ret == 12345);
        CHECK(out.route == wqc::Route::passed);
        CHECK(real.calls == 1);
        CHECK(real.errno_seen == kSentinelErrno);
    }
    FakeReal failing{-1, ENOKEY};
    CHECK(wqc::route_keyctl(sys, 0, 1, 2, 3, failing).ret == -1);
    CHECK(errno == ENOKEY);
    CHECK(sys.calls.empty());
}
