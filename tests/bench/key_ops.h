// SPDX-License-Identifier: GPL-2.0-or-later
// The key operations and clock the key benchmarks share (key_bench,
// parity_bench): raw keyctl(2)/add_key(2), so that nothing but the system
// call is on the measured path.
#ifndef WQ_BENCH_KEY_OPS_H
#define WQ_BENCH_KEY_OPS_H

#include <cstdint>
#include <ctime>
#include <sched.h>
#include <string>
#include <string_view>
#include <unistd.h>

#include <sys/syscall.h>

#include <linux/keyctl.h>

#include "error.h"

namespace bench {

inline long keyctl(int op, unsigned long a2 = 0, unsigned long a3 = 0, unsigned long a4 = 0) {
    return ::syscall(SYS_keyctl, op, a2, a3, a4, 0UL);
}

// A key serial as keyctl(2) takes it (sign-extended).
inline unsigned long key_arg(std::int32_t serial) {
    return static_cast<unsigned long>(static_cast<long>(serial));
}

// A key of @type ("user" with a payload, or "keyring") in the session
// keyring.
inline std::int32_t make_key(const char* type, const std::string& desc) {
    const char payload[] = "payload0";
    const bool keyring = std::string_view(type) == "keyring";
    const long k = ::syscall(SYS_add_key, type, desc.c_str(), keyring ? nullptr : payload,
                             keyring ? 0 : sizeof(payload) - 1, KEY_SPEC_SESSION_KEYRING);
    if (k < 0) {
        wqt::throw_errno(std::string("add_key ") + type + " " + desc);
    }
    return static_cast<std::int32_t>(k);
}

// @n updates of @key, the payload changing so that each is a real update.
inline void update_key(std::int32_t key, std::uint64_t n) {
    char payload[8] = {'u', 'p', 'd', 'a', 't', 'e', '0', '0'};
    for (std::uint64_t i = 0; i < n; ++i) {
        payload[7] = static_cast<char>('0' + (i & 7));
        if (keyctl(KEYCTL_UPDATE, key_arg(key), reinterpret_cast<unsigned long>(payload),
                   sizeof(payload)) < 0) {
            wqt::throw_errno("KEYCTL_UPDATE");
        }
    }
}

inline std::uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000U +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

// Runs on @cpu only, in a session keyring of its own.
inline void pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (::sched_setaffinity(0, sizeof(set), &set) < 0) {
        wqt::throw_errno("sched_setaffinity to CPU " + std::to_string(cpu));
    }
    if (keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0) < 0) {
        wqt::throw_errno("join a new session keyring");
    }
}

} // namespace bench

#endif // WQ_BENCH_KEY_OPS_H
