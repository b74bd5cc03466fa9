// SPDX-License-Identifier: GPL-2.0-or-later
// libwatchqueue-compat.so itself, linked into this test ahead of libkeyutils
// and libc so that it interposes exactly as under LD_PRELOAD. Each call is
// compared with libc's own entry point (found through a libc handle) on the
// running kernel: without a usable /dev/watch_queue every result and errno
// must be identical; with one, the notification-pipe calls are served by it.
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <keyutils.h>
#include <string>
#include <system_error>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "compat_logic.h"
#include "fd.h"
#include "queue.h"
#include "wq_catch.hpp"

namespace {

constexpr int kSentinelErrno = 4242;

using SyscallFn = long (*)(long, ...);
using Pipe2Fn = int (*)(int*, int);

// libc's own definitions, bypassing the library under test.
struct Libc {
    SyscallFn syscall;
    Pipe2Fn pipe2;
};

const Libc& libc() {
    static const Libc fns = [] {
        void* handle = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        REQUIRE(handle != nullptr);
        Libc l{reinterpret_cast<SyscallFn>(dlsym(handle, "syscall")),
               reinterpret_cast<Pipe2Fn>(dlsym(handle, "pipe2"))};
        REQUIRE(l.syscall != nullptr);
        REQUIRE(l.pipe2 != nullptr);
        return l;
    }();
    return fns;
}

struct Result {
    long ret;
    int err;
    bool operator==(const Result&) const = default;
};

template <class F>
Result call(F&& f) {
    errno = kSentinelErrno;
    const long ret = f();
    return {ret, errno};
}

std::string describe(const Result& r) {
    return std::to_string(r.ret) + " (errno " + std::to_string(r.err) + ")";
}

// Which object defines @fn as this program sees it.
std::string defining_object(void* fn) {
    Dl_info info{};
    REQUIRE(dladdr(fn, &info) != 0);
    return info.dli_fname != nullptr ? info.dli_fname : "";
}

bool device_usable() {
    wqt::Fd fd(::open(WQ_DEV_PATH, O_RDWR | O_CLOEXEC));
    return static_cast<bool>(fd);
}

bool device_has_keys() {
    try {
        const wqt::Queue queue;
        return (queue.info().features & WQ_FEATURE_KEYS) != 0;
    } catch (const std::system_error&) {
        return false;
    }
}

// Standard error sent to a temporary file while the object lives.
class StderrCapture {
public:
    StderrCapture() : file_(std::tmpfile()), saved_(::dup(STDERR_FILENO)) {
        REQUIRE(file_ != nullptr);
        REQUIRE(saved_ >= 0);
        REQUIRE(::dup2(::fileno(file_), STDERR_FILENO) == STDERR_FILENO);
    }
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;
    StderrCapture(StderrCapture&&) = delete;
    StderrCapture& operator=(StderrCapture&&) = delete;
    ~StderrCapture() {
        restore();
        (void)std::fclose(file_); // a temporary file, already read
    }

    // Restores stderr and returns what was written to it.
    std::string text() {
        restore();
        std::string out;
        std::array<char, 512> buf{};
        ssize_t n = 0;
        off_t off = 0;
        while ((n = ::pread(::fileno(file_), buf.data(), buf.size(), off)) > 0) {
            out.append(buf.data(), static_cast<std::size_t>(n));
            off += n;
        }
        return out;
    }

private:
    void restore() {
        if (saved_ >= 0) {
            ::dup2(saved_, STDERR_FILENO);
            ::close(saved_);
            saved_ = -1;
        }
    }
    std::FILE* file_;
    int saved_;
};

bool debug_log_on() {
    const char* v = std::getenv("WQ_COMPAT_DEBUG");
    return v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0;
}

// An ordinary pipe: never the device.
std::array<wqt::Fd, 2> plain_pipe() {
    int fds[2];
    REQUIRE(libc().pipe2(fds, O_CLOEXEC) == 0);
    return {wqt::Fd(fds[0]), wqt::Fd(fds[1])};
}

} // namespace

TEST_CASE("the library is in front of libc and libkeyutils", "[compat][preload]") {
    for (void* fn :
         {reinterpret_cast<void*>(&::pipe2), reinterpret_cast<void*>(&::syscall),
          reinterpret_cast<void*>(&::keyctl), reinterpret_cast<void*>(&::keyctl_watch_key),
          reinterpret_cast<void*>(&::keyctl_capabilities)}) {
        CHECK_THAT(defining_object(fn), Catch::Contains("libwatchqueue-compat.so"));
    }
}

TEST_CASE("pipe2 of ordinary pipes, and with flags upstream refuses, is libc's",
          "[compat][preload]") {
    int fds[2] = {-1, -1};
    errno = kSentinelErrno;
    REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    const wqt::Fd rd(fds[0]);
    const wqt::Fd wr(fds[1]);
    CHECK(errno == kSentinelErrno);
    struct stat st {};
    REQUIRE(::fstat(rd.get(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
    CHECK((::fcntl(wr.get(), F_GETFD) & FD_CLOEXEC) != 0);
    CHECK((::fcntl(wr.get(), F_GETFL) & O_NONBLOCK) != 0);

    // Bad flags: libc's error.
    const Result raw = call([&] { return libc().pipe2(fds, O_APPEND | O_EXCL); });
    const Result ours = call([&] { return ::pipe2(fds, O_APPEND | O_EXCL); });
    CHECK(ours == raw);
    CHECK(ours.ret == -1);
}

TEST_CASE("pipe2(O_NOTIFICATION_PIPE): the kernel's pipe, else the device, else the kernel's "
          "error",
          "[compat][preload]") {
    int raw_fds[2] = {-1, -1};
    const Result raw = call([&] { return libc().pipe2(raw_fds, wqc::kNotificationPipe); });
    if (raw.ret == 0) {
        ::close(raw_fds[0]);
        ::close(raw_fds[1]);
    }

    // The first notification pipe of this process (this test comes first).
    int fds[2] = {-1, -1};
    StderrCapture capture;
    const Result ours =
        call([&] { return ::pipe2(fds, wqc::kNotificationPipe | O_CLOEXEC | O_NONBLOCK); });
    const std::string said = capture.text();
    INFO("libc pipe2: " << describe(raw) << ", interposed: " << describe(ours)
                        << ", stderr: " << said);
    struct stat node_st {};
    const bool node_missing = ::stat(WQ_DEV_PATH, &node_st) != 0 && errno == ENOENT;
    if (raw.ret != 0 && raw.err == ENOPKG && node_missing) {
        // The module is not loaded: the error passes through, with a hint.
        CHECK(ours == raw);
        CHECK_THAT(said, Catch::EndsWith(std::string(wqc::kMissingModuleHint) + "\n"));
        // once per process
        StderrCapture again;
        const Result second = call([&] { return ::pipe2(fds, wqc::kNotificationPipe); });
        CHECK(second == raw);
        const std::string said_again = again.text();
        CHECK(said_again.find("modprobe") == std::string::npos);
    } else if (!debug_log_on()) {
        CHECK(said.empty());
    }
    if (raw.ret == 0) {
        // The kernel has notification pipes: nothing changes.
        REQUIRE(ours.ret == 0);
        const wqt::Fd rd(fds[0]);
        const wqt::Fd wr(fds[1]);
        struct stat st {};
        REQUIRE(::fstat(rd.get(), &st) == 0);
        CHECK(S_ISFIFO(st.st_mode));
    } else if (device_usable()) {
        REQUIRE(ours.ret == 0);
        const wqt::Fd rd(fds[0]);
        const wqt::Fd wr(fds[1]);
        CHECK(ours.err == kSentinelErrno);
        struct stat node {};
        struct stat st0 {};
        struct stat st1 {};
        REQUIRE(::stat(WQ_DEV_PATH, &node) == 0);
        REQUIRE(::fstat(rd.get(), &st0) == 0);
        REQUIRE(::fstat(wr.get(), &st1) == 0);
        CHECK(S_ISCHR(st0.st_mode));
        CHECK(st0.st_rdev == node.st_rdev);
        // fds[1] is a duplicate: the same open file, so the same inode.
        CHECK(rd.get() != wr.get());
        CHECK(st1.st_ino == st0.st_ino);
        for (const int fd : {rd.get(), wr.get()}) {
            CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
            CHECK((::fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
            CHECK((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
        }

        int plain[2] = {-1, -1};
        REQUIRE(::pipe2(plain, wqc::kNotificationPipe) == 0);
        const wqt::Fd prd(plain[0]);
        const wqt::Fd pwr(plain[1]);
        CHECK((::fcntl(prd.get(), F_GETFD) & FD_CLOEXEC) == 0);
        CHECK((::fcntl(pwr.get(), F_GETFD) & FD_CLOEXEC) == 0);
        CHECK((::fcntl(prd.get(), F_GETFL) & O_NONBLOCK) == 0);
    } else {
        CHECK(ours == raw);
        CHECK(ours.ret == -1);
        CHECK((ours.err == ENOPKG || ours.err == EINVAL));
    }
}

TEST_CASE("syscall() forwards all six arguments and errno", "[compat][preload]") {
    errno = kSentinelErrno;
    CHECK(::syscall(SYS_getpid) == ::getpid());
    CHECK(errno == kSentinelErrno);

    const Result closed = call([] { return ::syscall(SYS_close, -1); });
    CHECK(closed == Result{-1, EBADF});

#if defined(SYS_mmap) && defined(__LP64__)
    // mmap's sixth argument is the offset: map the second page of a memfd
    // whose pages hold different bytes.
    const long page = ::sysconf(_SC_PAGESIZE);
    const wqt::Fd mem(::memfd_create("compat-preload", MFD_CLOEXEC));
    REQUIRE(mem);
    const std::string pages = std::string(page, 'a') + std::string(page, 'b');
    REQUIRE(::write(mem.get(), pages.data(), pages.size()) == static_cast<ssize_t>(pages.size()));
    const long addr = ::syscall(SYS_mmap, 0L, page, static_cast<long>(PROT_READ),
                                static_cast<long>(MAP_PRIVATE), static_cast<long>(mem.get()), page);
    REQUIRE(addr != -1);
    auto* p =
        reinterpret_cast<void*>(addr); // NOLINT(performance-no-int-to-ptr): mmap via syscall()
    CHECK(*static_cast<const char*>(p) == 'b');
    ::munmap(p, page);
#endif
}

TEST_CASE("keyctl commands other than the two notification ones pass through",
          "[compat][preload]") {
    const long session = KEY_SPEC_SESSION_KEYRING;
    const Result raw = call([&] { return libc().syscall(SYS_keyctl, 0L, session, 0L); });
    INFO("KEYCTL_GET_KEYRING_ID(@s): " << describe(raw));
    CHECK(call([&] { return ::keyctl(KEYCTL_GET_KEYRING_ID, session, 0); }) == raw);
    CHECK(call([&] { return ::syscall(SYS_keyctl, 0L, session, 0L); }) == raw);
    CHECK(call([&] { return long{::keyctl_get_keyring_ID(KEY_SPEC_SESSION_KEYRING, 0)}; }) == raw);

    // KEYCTL_MOVE reads a fifth argument (flags): an unknown flag is EINVAL
    // before the (absent) key is even looked up.
    const long missing_key = 0x7ffffff0;
    for (const long flags : {0L, 2L}) {
        const Result raw_move = call(
            [&] { return libc().syscall(SYS_keyctl, 30L, missing_key, session, session, flags); });
        INFO("KEYCTL_MOVE flags " << flags << ": " << describe(raw_move));
        CHECK(call([&] { return ::keyctl(30, missing_key, session, session, flags); }) == raw_move);
        CHECK(call([&] {
                  return ::syscall(SYS_keyctl, 30L, missing_key, session, session, flags);
              }) == raw_move);
    }
}

TEST_CASE("KEYCTL_WATCH_KEY on anything but the device is the kernel's", "[compat][preload]") {
    const auto pipe = plain_pipe();
    const long fd = pipe[0].get();
    const long session = KEY_SPEC_SESSION_KEYRING;
    const Result raw = call([&] { return libc().syscall(SYS_keyctl, 32L, session, fd, 1L); });
    INFO("kernel: " << describe(raw));
    CHECK(raw.ret == -1);
    CHECK(call([&] { return ::keyctl(KEYCTL_WATCH_KEY, session, fd, 1); }) == raw);
    CHECK(call([&] { return ::keyctl_watch_key(KEY_SPEC_SESSION_KEYRING, pipe[0].get(), 1); }) ==
          raw);
    CHECK(call([&] { return ::syscall(SYS_keyctl, 32L, session, fd, 1L); }) == raw);

    const Result raw_bad_fd =
        call([&] { return libc().syscall(SYS_keyctl, 32L, session, -1L, 1L); });
    CHECK(call([&] { return ::keyctl_watch_key(KEY_SPEC_SESSION_KEYRING, -1, 1); }) == raw_bad_fd);
}

TEST_CASE("KEYCTL_WATCH_KEY on the device goes to the module", "[compat][preload]") {
    if (!device_has_keys()) {
        SUCCEED("no " WQ_DEV_PATH " with key support here: nothing to route");
        return;
    }
    int fds[2] = {-1, -1};
    REQUIRE(::pipe2(fds, wqc::kNotificationPipe | O_CLOEXEC) == 0);
    const wqt::Fd rd(fds[0]);
    const wqt::Fd wr(fds[1]);
    const long fd = rd.get();
    const long session = KEY_SPEC_SESSION_KEYRING;
    // Upstream refuses watch ids above 255 with EINVAL; so does the module,
    // where the kernel without notifications would say EOPNOTSUPP.
    CHECK(call([&] { return ::keyctl(KEYCTL_WATCH_KEY, session, fd, 256); }) == Result{-1, EINVAL});
    CHECK(call([&] { return ::keyctl_watch_key(KEY_SPEC_SESSION_KEYRING, wr.get(), 256); }) ==
          Result{-1, EINVAL});
    CHECK(call([&] { return ::syscall(SYS_keyctl, 32L, session, fd, 256L); }) ==
          Result{-1, EINVAL});
}

TEST_CASE("KEYCTL_CAPABILITIES reports notifications when the device can watch keys",
          "[compat][preload]") {
    std::array<unsigned char, 16> raw_caps{};
    const Result raw = call(
        [&] { return libc().syscall(SYS_keyctl, 31L, raw_caps.data(), long{raw_caps.size()}); });
    INFO("kernel: " << describe(raw));
    if (raw.ret < 0) {
        SUCCEED("no KEYCTL_CAPABILITIES on this kernel");
        return;
    }
    auto expected = raw_caps;
    if (device_has_keys()) {
        expected[1] |= wqc::kCaps1Notifications;
    }

    std::array<unsigned char, 16> caps{};
    CHECK(call([&] { return ::keyctl(KEYCTL_CAPABILITIES, caps.data(), caps.size()); }) == raw);
    CHECK(caps == expected);
    caps = {};
    CHECK(call([&] {
              return ::syscall(SYS_keyctl, 31L, caps.data(), static_cast<long>(caps.size()));
          }) == raw);
    CHECK(caps == expected);
    caps = {};
    CHECK(call([&] { return ::keyctl_capabilities(caps.data(), caps.size()); }) == raw);
    CHECK(caps == expected);

    // One byte: byte 1 is not the caller's, so nothing is added.
    caps = {};
    CHECK(call([&] { return ::keyctl_capabilities(caps.data(), 1); }).ret == raw.ret);
    CHECK(caps[1] == 0);
}
