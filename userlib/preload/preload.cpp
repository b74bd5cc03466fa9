// SPDX-License-Identifier: LGPL-2.1-or-later
// libwatchqueue-compat.so: lets unmodified programs written against upstream's
// notification pipes use /dev/watch_queue on kernels without
// CONFIG_WATCH_QUEUE. Loaded with LD_PRELOAD, it interposes
//
//   pipe2()                 O_NOTIFICATION_PIPE: a device fd where the kernel
//                           has no notification pipes;
//   keyctl()                libkeyutils' variadic entry point,
//   keyctl_watch_key()      libkeyutils,
//   keyctl_capabilities()   libkeyutils,
//   syscall()               libc, for syscall(__NR_keyctl, ...):
//                           KEYCTL_WATCH_KEY on a device fd becomes
//                           WQ_IOC_WATCH_KEY; KEYCTL_CAPABILITIES reports
//                           KEYCTL_CAPS1_NOTIFICATIONS when the device can
//                           watch keys.
//
// Every other call, and every call where the kernel itself has notification
// pipes, goes to the next definition (dlsym(RTLD_NEXT)) with its arguments,
// return value and errno untouched. The decisions are in compat_logic.h.
//
// Where pipe2(O_NOTIFICATION_PIPE) fails with ENOPKG because /dev/watch_queue
// does not exist, the error passes through and one hint line (load the
// module) goes to stderr, once per process.
//
// Constraints: no exceptions, RTTI, allocation, locks or stdio; the only
// state is the lazily resolved next definitions (atomics, resolved on first
// use: that first dlsym() is the one step that is not async-signal-safe),
// the debug flag read from WQ_COMPAT_DEBUG by the constructor and the flag
// of the hint printed once.
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <unistd.h>

#include <sys/syscall.h>

#include "compat_logic.h"
#include "log_line.h"
#include "real_sys.h"

#define WQC_EXPORT __attribute__((visibility("default")))

#if __has_include(<keyutils.h>)
// libkeyutils' prototypes: the compiler then checks that the definitions
// below match them. Nothing is linked from libkeyutils.
#include <keyutils.h>
static_assert(KEYCTL_WATCH_KEY == wqc::kKeyctlWatchKey);
static_assert(KEYCTL_CAPABILITIES == wqc::kKeyctlCapabilities);
static_assert(KEYCTL_CAPS1_NOTIFICATIONS == wqc::kCaps1Notifications);
#else
// The same prototypes, for building without libkeyutils' header.
using key_serial_t = std::int32_t;
extern "C" {
long keyctl(int cmd, ...);
long keyctl_watch_key(key_serial_t id, int watch_queue_fd, int watch_id);
long keyctl_capabilities(unsigned char* buffer, std::size_t buflen);
}
#endif

namespace {

using wqc::LogLine;
using wqc::Outcome;
using wqc::Route;

// The next definition of a symbol after this library, looked up on first use.
// constinit: no static constructor. A failed lookup is not cached, so a
// library loaded later (dlopen) is still found.
template <class Fn>
class NextSymbol {
public:
    explicit constexpr NextSymbol(const char* name) noexcept : name_(name) {}

    [[nodiscard]] Fn get() noexcept {
        void* addr = addr_.load(std::memory_order_acquire);
        if (addr == nullptr) {
            const int saved = errno;
            addr = ::dlsym(RTLD_NEXT, name_);
            errno = saved;
            addr_.store(addr, std::memory_order_release);
        }
        return reinterpret_cast<Fn>(addr);
    }

private:
    const char* name_;
    std::atomic<void*> addr_{nullptr};
};

using Pipe2Fn = int (*)(int*, int);
using SyscallFn = long (*)(long, ...);
using KeyctlFn = long (*)(int, ...);
using WatchKeyFn = long (*)(key_serial_t, int, int);
using CapabilitiesFn = long (*)(unsigned char*, std::size_t);

constinit NextSymbol<Pipe2Fn> next_pipe2{"pipe2"};
constinit NextSymbol<SyscallFn> next_syscall{"syscall"};
constinit NextSymbol<KeyctlFn> next_keyctl{"keyctl"};
constinit NextSymbol<WatchKeyFn> next_watch_key{"keyctl_watch_key"};
constinit NextSymbol<CapabilitiesFn> next_capabilities{"keyctl_capabilities"};

constinit std::atomic<bool> debug_enabled{false};
constinit wqc::Once missing_module_hint;

// The constructor's only job: WQ_COMPAT_DEBUG set to anything but "" or "0".
__attribute__((constructor)) void read_debug_env() noexcept {
    const char* v = ::secure_getenv("WQ_COMPAT_DEBUG");
    debug_enabled.store(v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0,
                        std::memory_order_relaxed);
}

bool debugging() noexcept {
    return debug_enabled.load(std::memory_order_relaxed);
}

LogLine log_start() noexcept {
    LogLine line;
    line.text("watchqueue-compat[").num(::getpid()).text("]: ");
    return line;
}

long enosys() noexcept {
    errno = ENOSYS;
    return -1;
}

long raw_keyctl(long cmd, unsigned long a2, unsigned long a3, unsigned long a4,
                unsigned long a5) noexcept {
    const SyscallFn real = next_syscall.get();
    return real != nullptr ? real(SYS_keyctl, cmd, a2, a3, a4, a5) : enosys();
}

// keyctl() as libkeyutils would do it: its own entry point if loaded, else
// the system call.
long call_keyctl(int cmd, unsigned long a2, unsigned long a3, unsigned long a4,
                 unsigned long a5) noexcept {
    const KeyctlFn real = next_keyctl.get();
    return real != nullptr ? real(cmd, a2, a3, a4, a5) : raw_keyctl(cmd, a2, a3, a4, a5);
}

void log_keyctl(const char* entry, long cmd, unsigned long a2, unsigned long a3, unsigned long a4,
                const Outcome& out, int err) noexcept {
    LogLine line = log_start();
    line.text(entry);
    if (static_cast<int>(cmd) == wqc::kKeyctlWatchKey) {
        line.text(" KEYCTL_WATCH_KEY key ")
            .num(static_cast<std::int32_t>(a2))
            .text(" fd ")
            .num(static_cast<int>(a3))
            .text(" id ")
            .num(static_cast<std::int32_t>(a4))
            .text(out.route == Route::device ? ": WQ_IOC_WATCH_KEY on " WQ_DEV_PATH " = "
                                             : ": not " WQ_DEV_PATH ", passed through = ");
    } else {
        line.text(" KEYCTL_CAPABILITIES")
            .text(out.route == Route::patched ? ": KEYCTL_CAPS1_NOTIFICATIONS added (" WQ_DEV_PATH
                                                " watches keys) = "
                                              : ": unchanged = ");
    }
    line.result(out.ret, err).write_to(STDERR_FILENO);
}

// The routing shared by the keyctl entry points; logs the two commands it
// may change when WQ_COMPAT_DEBUG is set.
template <class Real>
long keyctl_entry(const char* entry, long cmd, unsigned long a2, unsigned long a3, unsigned long a4,
                  const Real& call_real) noexcept {
    wqc::RealSys sys;
    const Outcome out = wqc::route_keyctl(sys, cmd, a2, a3, a4, call_real);
    const int err = errno;
    const int op = static_cast<int>(cmd);
    if ((op == wqc::kKeyctlWatchKey || op == wqc::kKeyctlCapabilities) && debugging()) {
        log_keyctl(entry, cmd, a2, a3, a4, out, err);
    }
    errno = err;
    return out.ret;
}

void log_pipe2(int flags, const int fds[2], const Outcome& out, int err) noexcept {
    LogLine line = log_start();
    line.text("pipe2 O_NOTIFICATION_PIPE flags ").hex(static_cast<unsigned>(flags));
    switch (out.route) {
    case Route::device:
        line.text(": kernel has no notification pipes, using " WQ_DEV_PATH " (fds ")
            .num(fds[0])
            .text(", ")
            .num(fds[1])
            .text(")");
        break;
    case Route::no_device:
        line.text(": kernel has no notification pipes and " WQ_DEV_PATH " is unusable (")
            .err(out.device_err)
            .text("): ")
            .result(out.ret, err);
        break;
    default:
        line.text(": passed through = ").result(out.ret, err);
        break;
    }
    line.write_to(STDERR_FILENO);
}

} // namespace

extern "C" {

// NOLINTNEXTLINE(readability-inconsistent-declaration-parameter-name): glibc's are reserved
WQC_EXPORT int pipe2(int fds[2], int flags) noexcept {
    const Pipe2Fn real = next_pipe2.get();
    if (real == nullptr) {
        return static_cast<int>(enosys());
    }
    if ((flags & wqc::kNotificationPipe) == 0) {
        return real(fds, flags);
    }
    wqc::RealSys sys;
    const Outcome out = wqc::route_pipe2(sys, fds, flags, [&] { return real(fds, flags); });
    const int err = errno;
    if (debugging()) {
        log_pipe2(flags, fds, out, err);
    }
    if (wqc::module_missing(out, err) && missing_module_hint.first()) {
        LogLine hint;
        hint.text(wqc::kMissingModuleHint).write_to(STDERR_FILENO);
    }
    errno = err;
    return static_cast<int>(out.ret);
}

// syscall(2) takes up to six arguments after the number; reading six is what
// glibc's own implementation does whatever the caller passed.
// NOLINTNEXTLINE(readability-inconsistent-declaration-parameter-name): glibc's are reserved
WQC_EXPORT long syscall(long number, ...) noexcept {
    std::va_list ap;
    va_start(ap, number);
    const long a1 = va_arg(ap, long);
    const long a2 = va_arg(ap, long);
    const long a3 = va_arg(ap, long);
    const long a4 = va_arg(ap, long);
    const long a5 = va_arg(ap, long);
    const long a6 = va_arg(ap, long);
    va_end(ap);

    const SyscallFn real = next_syscall.get();
    if (real == nullptr) {
        return enosys();
    }
    if (number != SYS_keyctl) {
        return real(number, a1, a2, a3, a4, a5, a6);
    }
    return keyctl_entry("syscall(__NR_keyctl)", a1, static_cast<unsigned long>(a2),
                        static_cast<unsigned long>(a3), static_cast<unsigned long>(a4),
                        [&] { return real(number, a1, a2, a3, a4, a5, a6); });
}

// libkeyutils: long keyctl(int cmd, ...), which reads four unsigned longs.
WQC_EXPORT long keyctl(int cmd, ...) {
    std::va_list ap;
    va_start(ap, cmd);
    const unsigned long a2 = va_arg(ap, unsigned long);
    const unsigned long a3 = va_arg(ap, unsigned long);
    const unsigned long a4 = va_arg(ap, unsigned long);
    const unsigned long a5 = va_arg(ap, unsigned long);
    va_end(ap);

    return keyctl_entry("keyctl", cmd, a2, a3, a4,
                        [&] { return call_keyctl(cmd, a2, a3, a4, a5); });
}

WQC_EXPORT long keyctl_watch_key(key_serial_t id, int watch_queue_fd, int watch_id) {
    const auto a2 = static_cast<unsigned long>(id);
    const auto a3 = static_cast<unsigned long>(watch_queue_fd);
    const auto a4 = static_cast<unsigned long>(watch_id);
    return keyctl_entry("keyctl_watch_key", wqc::kKeyctlWatchKey, a2, a3, a4, [&] {
        const WatchKeyFn real = next_watch_key.get();
        return real != nullptr ? real(id, watch_queue_fd, watch_id)
                               : call_keyctl(wqc::kKeyctlWatchKey, a2, a3, a4, 0);
    });
}

WQC_EXPORT long keyctl_capabilities(unsigned char* buffer, std::size_t buflen) {
    const auto a2 = reinterpret_cast<unsigned long>(buffer);
    return keyctl_entry("keyctl_capabilities", wqc::kKeyctlCapabilities, a2, buflen, 0, [&] {
        const CapabilitiesFn real = next_capabilities.get();
        return real != nullptr ? real(buffer, buflen)
                               : call_keyctl(wqc::kKeyctlCapabilities, a2, buflen, 0, 0);
    });
}

} // extern "C"
