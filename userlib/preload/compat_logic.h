// SPDX-License-Identifier: LGPL-2.1-or-later
// Decision logic of the preload compatibility library (libwatchqueue-compat).
//
// Everything here is header-only and generic over a system-call seam (the
// SysApi concept below): preload.cpp instantiates it with RealSys
// (real_sys.h), the unit tests with a fake. The functions never throw,
// allocate or lock, so the interposed wrappers stay async-signal-safe and
// thread-safe, and they leave errno as the caller expects (documented per
// function).
//
// This header includes glibc's <fcntl.h>; it must therefore never be
// included together with <linux/watch_queue.h> (see upstream_abi.cpp for the
// checks against upstream's definitions).
#pragma once

#include <atomic>
#include <cerrno>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>

#include <sys/stat.h>

#include <linux/wq_dev.h>

namespace wqc {

// Upstream's O_NOTIFICATION_PIPE is defined as O_EXCL (<linux/watch_queue.h>).
inline constexpr int kNotificationPipe = O_EXCL;
// Flags upstream's pipe2() accepts together with O_NOTIFICATION_PIPE.
inline constexpr int kNotificationPipeFlags = O_CLOEXEC | O_NONBLOCK | O_DIRECT | kNotificationPipe;

// <linux/keyctl.h> values (checked in upstream_abi.cpp).
inline constexpr int kKeyctlCapabilities = 31;
inline constexpr int kKeyctlWatchKey = 32;
inline constexpr std::size_t kCaps1Index = 1;
inline constexpr unsigned char kCaps1Notifications = 0x04;

// The system calls the logic needs. Each returns what the libc function of
// the same name returns and sets errno the same way.
template <class S>
concept SysApi = requires(S& sys, const char* path, int fd, int flags, bool cloexec,
                          struct stat* st, unsigned long request, void* arg) {
    { sys.open_path(path, flags) } -> std::same_as<int>;
    { sys.close_fd(fd) } -> std::same_as<int>;
    { sys.fstat_fd(fd, st) } -> std::same_as<int>;
    { sys.stat_path(path, st) } -> std::same_as<int>;
    { sys.ioctl_fd(fd, request, arg) } -> std::same_as<int>;
    // fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 0)
    { sys.dup_fd(fd, cloexec) } -> std::same_as<int>;
};

// Restores errno when it goes out of scope.
class ErrnoGuard {
public:
    ErrnoGuard() noexcept = default;
    ErrnoGuard(const ErrnoGuard&) = delete;
    ErrnoGuard(ErrnoGuard&&) = delete;
    ErrnoGuard& operator=(const ErrnoGuard&) = delete;
    ErrnoGuard& operator=(ErrnoGuard&&) = delete;
    ~ErrnoGuard() { errno = saved_; }

private:
    int saved_ = errno;
};

// What an interposed call did, for the debug log.
enum class Route : std::uint8_t {
    passed,    // the real function alone, result untouched
    device,    // served by /dev/watch_queue instead of the real function
    no_device, // would have been served by the device, but it is unusable
    patched,   // real function, then KEYCTL_CAPS1_NOTIFICATIONS added
};

struct Outcome {
    long ret;
    Route route;
    int device_err = 0; // Route::no_device: why the device could not be used
};

// A pipe2() that failed with @err for @flags asked for a notification pipe
// that the kernel cannot make: ENOPKG (CONFIG_WATCH_QUEUE off) or EINVAL
// (kernels before 5.8, which reject the flag). Flags that upstream's pipe2()
// would refuse anyway keep their EINVAL.
constexpr bool wants_device_pipe(int flags, int err) noexcept {
    return (flags & kNotificationPipe) != 0 && (flags & ~kNotificationPipeFlags) == 0 &&
           (err == ENOPKG || err == EINVAL);
}

// True if @fd is an open /dev/watch_queue: a character device whose device
// number is that of WQ_DEV_PATH. errno is preserved.
template <SysApi S>
bool is_device_fd(S& sys, int fd) noexcept {
    const ErrnoGuard keep;
    struct stat fd_st {};
    if (sys.fstat_fd(fd, &fd_st) != 0 || !S_ISCHR(fd_st.st_mode)) {
        return false;
    }
    struct stat dev_st {};
    return sys.stat_path(WQ_DEV_PATH, &dev_st) == 0 && S_ISCHR(dev_st.st_mode) &&
           dev_st.st_rdev == fd_st.st_rdev;
}

// Fills @fds like pipe2(@fds, @flags) would with a notification pipe: fds[0]
// is a new open of the device (O_RDWR plus @flags' O_CLOEXEC/O_NONBLOCK),
// fds[1] a duplicate with the same close-on-exec choice. Returns 0, or -1
// with errno from open/fcntl and @fds untouched.
template <SysApi S>
int open_device_pipe(S& sys, int fds[2], int flags) noexcept {
    const bool cloexec = (flags & O_CLOEXEC) != 0;
    const int fd = sys.open_path(WQ_DEV_PATH, O_RDWR | (flags & (O_CLOEXEC | O_NONBLOCK)));
    if (fd < 0) {
        return -1;
    }
    const int twin = sys.dup_fd(fd, cloexec);
    if (twin < 0) {
        const int err = errno;
        sys.close_fd(fd);
        errno = err;
        return -1;
    }
    fds[0] = fd;
    fds[1] = twin;
    return 0;
}

// KEYCTL_WATCH_KEY on a device fd: WQ_IOC_WATCH_KEY with the same arguments.
// Returns the ioctl's result, errno as the ioctl left it.
template <SysApi S>
long device_watch_key(S& sys, int fd, std::int32_t key, std::int32_t watch_id) noexcept {
    struct wq_watch_key arg {};
    arg.key = key;
    arg.watch_id = watch_id;
    return sys.ioctl_fd(fd, WQ_IOC_WATCH_KEY, &arg);
}

// True if the device can be opened and reports WQ_FEATURE_KEYS. errno is
// preserved.
template <SysApi S>
bool device_has_keys(S& sys) noexcept {
    const ErrnoGuard keep;
    const int fd = sys.open_path(WQ_DEV_PATH, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    struct wq_ring_info info {};
    info.size = sizeof(info);
    const bool keys =
        sys.ioctl_fd(fd, WQ_IOC_GET_INFO, &info) == 0 && (info.features & WQ_FEATURE_KEYS) != 0;
    sys.close_fd(fd);
    return keys;
}

// After a successful KEYCTL_CAPABILITIES (@ret >= 0) into @buf of @buflen
// bytes: sets KEYCTL_CAPS1_NOTIFICATIONS if the kernel did not and the device
// can watch keys. Returns whether it set the bit. errno is preserved.
template <SysApi S>
bool patch_capabilities(S& sys, long ret, unsigned char* buf, std::size_t buflen) noexcept {
    if (ret < 0 || buf == nullptr || buflen <= kCaps1Index ||
        (buf[kCaps1Index] & kCaps1Notifications) != 0 || !device_has_keys(sys)) {
        return false;
    }
    buf[kCaps1Index] |= kCaps1Notifications;
    return true;
}

// keyctl(cmd, arg2, arg3, arg4, ...), whichever way it was called
// (libkeyutils' keyctl(), one of its wrappers, or syscall(__NR_keyctl, ...)).
// KEYCTL_WATCH_KEY on a device fd is served by device_watch_key;
// KEYCTL_CAPABILITIES is called through and patched; everything else is
// @call_real alone. @call_real makes the call unchanged and returns its
// result; it is called at most once, with errno as it was on entry. The
// arguments are truncated to the C types the kernel gives them (int option,
// key_serial_t key, int fd, int watch_id).
template <SysApi S, class Real>
Outcome route_keyctl(S& sys, long cmd, unsigned long arg2, unsigned long arg3, unsigned long arg4,
                     const Real& call_real) noexcept {
    switch (static_cast<int>(cmd)) {
    case kKeyctlWatchKey: {
        const int fd = static_cast<int>(arg3);
        if (is_device_fd(sys, fd)) {
            return {device_watch_key(sys, fd, static_cast<std::int32_t>(arg2),
                                     static_cast<std::int32_t>(arg4)),
                    Route::device};
        }
        break;
    }
    case kKeyctlCapabilities: {
        const long ret = call_real();
        auto* buf = reinterpret_cast<unsigned char*>(arg2); // NOLINT(performance-no-int-to-ptr)
        const bool patched = patch_capabilities(sys, ret, buf, static_cast<std::size_t>(arg3));
        return {ret, patched ? Route::patched : Route::passed};
    }
    default:
        break;
    }
    return {call_real(), Route::passed};
}

// pipe2(@fds, @flags): @call_real is the real pipe2 (called once, first).
// Where it fails because the kernel has no notification pipes, the device
// takes its place; if the device cannot be used (it cannot be opened or its
// descriptor duplicated) the original failure is returned unchanged.
template <SysApi S, class Real>
Outcome route_pipe2(S& sys, int fds[2], int flags, const Real& call_real) noexcept {
    const int entry_errno = errno;
    const int ret = call_real();
    if (ret == 0 || !wants_device_pipe(flags, errno)) {
        return {ret, Route::passed};
    }
    const int err = errno;
    if (open_device_pipe(sys, fds, flags) == 0) {
        errno = entry_errno; // as after a pipe2() that succeeded
        return {0, Route::device};
    }
    const Outcome out{ret, Route::no_device, errno};
    errno = err;
    return out;
}

// The one line printed on stderr, once per process, when a notification pipe
// was refused because the module is not loaded (see module_missing).
inline constexpr char kMissingModuleHint[] =
    "watch_queue: " WQ_DEV_PATH " is missing; load the module: modprobe watch_queue";

// After route_pipe2() returned @out with errno @err: the kernel has no
// notification pipes (ENOPKG passed through) because WQ_DEV_PATH does not
// exist, i.e. the module is not loaded. A device that exists but cannot be
// used (EACCES, EMFILE, ...) and kernels before 5.8 (EINVAL) are not this.
constexpr bool module_missing(const Outcome& out, int err) noexcept {
    return out.route == Route::no_device && err == ENOPKG && out.device_err == ENOENT;
}

// True for the first caller only, in any thread; no lock, no allocation.
class Once {
public:
    [[nodiscard]] bool first() noexcept { return !done_.exchange(true, std::memory_order_relaxed); }

private:
    std::atomic<bool> done_{false};
};

} // namespace wqc
