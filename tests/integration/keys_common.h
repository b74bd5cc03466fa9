// SPDX-License-Identifier: GPL-2.0-or-later
// Support for the key source tests (keys.cc): the keyctl(2), add_key(2) and
// request_key(2) system calls, key watches on a queue, and key records
// decoded into comparable events.  Everything that fails throws
// std::system_error with errno and what was attempted.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <linux/keyctl.h>
#include <linux/wq_dev.h>

#include "it_common.h"

namespace keys {

using namespace it;          // NOLINT(google-build-using-namespace): test code
using Serial = std::int32_t; // key_serial_t

// Key permission bits (<keyutils.h> has them; the uapi header does not).
constexpr std::uint32_t perm_view = 0x01;
constexpr std::uint32_t perm_all = 0x3f;
constexpr std::uint32_t possessor(std::uint32_t p) {
    return p << 24;
}
constexpr std::uint32_t owner(std::uint32_t p) {
    return p << 16;
}

constexpr uid_t nobody = 65534;

// ---- system calls --------------------------------------------------------

inline long keyctl_raw(int op, unsigned long a2 = 0, unsigned long a3 = 0, unsigned long a4 = 0,
                       unsigned long a5 = 0) {
    return ::syscall(SYS_keyctl, op, a2, a3, a4, a5);
}

// keyctl(@op, ...): errno of a failure, 0 on success.
inline int try_keyctl(int op, unsigned long a2 = 0, unsigned long a3 = 0, unsigned long a4 = 0,
                      unsigned long a5 = 0) {
    return errno_of(keyctl_raw(op, a2, a3, a4, a5));
}

inline long keyctl_or_throw(const std::string& what, int op, unsigned long a2 = 0,
                            unsigned long a3 = 0, unsigned long a4 = 0, unsigned long a5 = 0) {
    const long rc = keyctl_raw(op, a2, a3, a4, a5);
    if (rc < 0) {
        throw_errno(what);
    }
    return rc;
}

// A key id as the unsigned long the system calls take (sign-extended, as
// the kernel reads the int back).
inline unsigned long arg(Serial id) {
    return static_cast<unsigned long>(static_cast<long>(id));
}

inline Serial add_key(const std::string& type, const std::string& desc, std::string_view payload,
                      Serial ring) {
    const long rc = ::syscall(SYS_add_key, type.c_str(), desc.c_str(),
                              payload.empty() ? nullptr : payload.data(), payload.size(), ring);
    if (rc < 0) {
        throw_errno("add_key " + type + " " + desc);
    }
    return static_cast<Serial>(rc);
}

inline Serial new_keyring(const std::string& desc, Serial parent) {
    return add_key("keyring", desc, {}, parent);
}

inline Serial new_user_key(const std::string& desc, std::string_view payload, Serial parent) {
    return add_key("user", desc, payload, parent);
}

// request_key(2): the key's serial, or -errno.
inline Serial request_key(const std::string& type, const std::string& desc,
                          const std::string& callout, Serial dest) {
    const long rc = ::syscall(SYS_request_key, type.c_str(), desc.c_str(), callout.c_str(), dest);
    return rc < 0 ? -errno : static_cast<Serial>(rc);
}

// Joins a new anonymous session keyring (the calling thread's, inherited by
// threads and children created afterwards); returns its serial.
inline Serial join_new_session() {
    return static_cast<Serial>(
        keyctl_or_throw("join a new session keyring", KEYCTL_JOIN_SESSION_KEYRING, 0));
}

inline Serial keyring_id(Serial special) {
    return static_cast<Serial>(
        keyctl_or_throw("KEYCTL_GET_KEYRING_ID", KEYCTL_GET_KEYRING_ID, arg(special), 0));
}

inline int try_update(Serial key, std::string_view payload) {
    return try_keyctl(KEYCTL_UPDATE, arg(key), reinterpret_cast<unsigned long>(payload.data()),
                      payload.size());
}

inline void update(Serial key, std::string_view payload) {
    if (const int err = try_update(key, payload); err != 0) {
        throw_errno(err, "KEYCTL_UPDATE " + std::to_string(key));
    }
}

inline void link(Serial key, Serial ring) {
    keyctl_or_throw("KEYCTL_LINK", KEYCTL_LINK, arg(key), arg(ring));
}

inline void unlink(Serial key, Serial ring) {
    keyctl_or_throw("KEYCTL_UNLINK", KEYCTL_UNLINK, arg(key), arg(ring));
}

inline int try_move(Serial key, Serial from, Serial to, unsigned flags) {
    return try_keyctl(KEYCTL_MOVE, arg(key), arg(from), arg(to), flags);
}

inline void clear(Serial ring) {
    keyctl_or_throw("KEYCTL_CLEAR", KEYCTL_CLEAR, arg(ring));
}

inline int try_revoke(Serial key) {
    return try_keyctl(KEYCTL_REVOKE, arg(key));
}

inline void invalidate(Serial key) {
    keyctl_or_throw("KEYCTL_INVALIDATE", KEYCTL_INVALIDATE, arg(key));
}

inline int try_setperm(Serial key, std::uint32_t perm) {
    return try_keyctl(KEYCTL_SETPERM, arg(key), perm);
}

inline void setperm(Serial key, std::uint32_t perm) {
    if (const int err = try_setperm(key, perm); err != 0) {
        throw_errno(err, "KEYCTL_SETPERM " + std::to_string(key));
    }
}

inline void chown(Serial key, uid_t uid, gid_t gid) {
    keyctl_or_throw("KEYCTL_CHOWN", KEYCTL_CHOWN, arg(key), uid, gid);
}

inline void set_timeout(Serial key, unsigned seconds) {
    keyctl_or_throw("KEYCTL_SET_TIMEOUT", KEYCTL_SET_TIMEOUT, arg(key), seconds);
}

// KEYCTL_RESTRICT_KEYRING with no type: no more links at all.
// The permissions mask, from KEYCTL_DESCRIBE's "type;uid;gid;perm;desc".
inline std::uint32_t key_perm(Serial key) {
    std::array<char, 512> buf{};
    keyctl_or_throw("KEYCTL_DESCRIBE", KEYCTL_DESCRIBE, arg(key),
                    reinterpret_cast<unsigned long>(buf.data()), buf.size());
    std::istringstream in(buf.data());
    std::string field;
    for (int i = 0; i < 4; ++i) {
        std::getline(in, field, ';');
    }
    return static_cast<std::uint32_t>(std::stoul(field, nullptr, 16));
}

inline int try_restrict(Serial ring) {
    return try_keyctl(KEYCTL_RESTRICT_KEYRING, arg(ring), 0, 0);
}

// The serials linked in @ring (KEYCTL_READ of a keyring).
inline std::vector<Serial> keyring_contents(Serial ring) {
    std::vector<Serial> ids(64);
    const long n =
        keyctl_or_throw("KEYCTL_READ", KEYCTL_READ, arg(ring),
                        reinterpret_cast<unsigned long>(ids.data()), ids.size() * sizeof(Serial));
    ids.resize(static_cast<std::size_t>(n) / sizeof(Serial));
    return ids;
}

// ---- watches -------------------------------------------------------------

inline int try_watch(const Queue& q, Serial key, int watch_id, std::uint32_t flags = 0,
                     std::uint32_t reserved = 0) {
    wq_watch_key w{};
    w.key = key;
    w.watch_id = watch_id;
    w.flags = flags;
    w.__reserved = reserved;
    return errno_of(::ioctl(q.fd(), WQ_IOC_WATCH_KEY, &w));
}

inline void watch(const Queue& q, Serial key, int watch_id) {
    if (const int err = try_watch(q, key, watch_id); err != 0) {
        throw_errno(err,
                    "WQ_IOC_WATCH_KEY " + std::to_string(key) + " id " + std::to_string(watch_id));
    }
}

inline void unwatch(const Queue& q, Serial key) {
    watch(q, key, -1);
}

// ---- records -------------------------------------------------------------

// A record decoded field by field: key records (object = key_id) and
// removal records (object = id, aux 0); anything else keeps its header.
struct Event {
    std::uint32_t type = 0;
    std::uint32_t subtype = 0;
    std::uint32_t length = 0;
    std::uint32_t watch_id = 0;
    std::uint32_t type_info = 0; // info & WQ_INFO_TYPE_INFO
    std::uint64_t object = 0;
    std::uint64_t aux = 0;

    bool operator==(const Event&) const = default;
};

inline Event key_event(std::uint32_t subtype, std::uint32_t watch_id, Serial key,
                       std::uint32_t aux = 0) {
    return {.type = WQ_TYPE_KEY,
            .subtype = subtype,
            .length = sizeof(wq_key_notification),
            .watch_id = watch_id,
            .object = static_cast<std::uint32_t>(key),
            .aux = aux};
}

inline std::uint32_t serial_aux(Serial key) {
    return static_cast<std::uint32_t>(key);
}

inline Event removal_event(std::uint32_t watch_id, Serial key) {
    return {.type = WQ_TYPE_META,
            .subtype = WQ_META_REMOVAL,
            .length = sizeof(wq_removal_notification),
            .watch_id = watch_id,
            .object = static_cast<std::uint32_t>(key)};
}

inline const char* key_subtype_name(std::uint32_t s) {
    constexpr const char* names[] = {"INSTANTIATED", "UPDATED", "LINKED",      "UNLINKED",
                                     "CLEARED",      "REVOKED", "INVALIDATED", "SETATTR"};
    return s < std::size(names) ? names[s] : "?";
}

inline std::ostream& operator<<(std::ostream& os, const Event& e) {
    if (e.type == WQ_TYPE_KEY) {
        os << "KEY " << key_subtype_name(e.subtype) << " key_id " << e.object << " aux " << e.aux;
    } else if (e.type == WQ_TYPE_META && e.subtype == WQ_META_REMOVAL) {
        os << "REMOVAL id " << e.object;
    } else {
        os << "type " << e.type << " subtype " << e.subtype << " object " << e.object;
    }
    return os << " (watch " << e.watch_id << ", length " << e.length << ", type info 0x" << std::hex
              << e.type_info << std::dec << ")";
}

inline Event decode_event(const Bytes& rec) {
    const Header h = header_of(rec);
    Event e{.type = h.type,
            .subtype = h.subtype,
            .length = h.length(),
            .watch_id = h.watch_id(),
            .type_info = h.info & WQ_INFO_TYPE_INFO};
    if (h.type == WQ_TYPE_KEY && rec.size() >= sizeof(wq_key_notification)) {
        wq_key_notification n{};
        std::memcpy(&n, rec.data(), sizeof(n));
        e.object = n.key_id;
        e.aux = n.aux;
    } else if (h.type == WQ_TYPE_META && rec.size() >= sizeof(wq_removal_notification)) {
        wq_removal_notification n{};
        std::memcpy(&n, rec.data(), sizeof(n));
        e.object = n.id;
    }
    return e;
}

// Every record ready now (the queue must be O_NONBLOCK).
inline std::vector<Event> events(Queue& q) {
    std::vector<Event> out;
    for (const Bytes& rec : collect_read(q)) {
        out.push_back(decode_event(rec));
    }
    return out;
}

// Reads until @n events have arrived or @limit has passed.
inline std::vector<Event> wait_events(Queue& q, std::size_t n,
                                      std::chrono::milliseconds limit = 10000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::vector<Event> out = events(q);
    while (out.size() < n) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            break;
        }
        poll_events(q.fd(), POLLIN, static_cast<int>(left.count()));
        for (const Event& e : events(q)) {
            out.push_back(e);
        }
    }
    return out;
}

// ---- environment ---------------------------------------------------------

// The first line of a (proc or sysfs) file.
inline std::string read_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line)) {
        throw std::runtime_error("cannot read " + path);
    }
    return line;
}

inline void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
        throw std::runtime_error("cannot write " + path);
    }
}

// /sys/module/watch_queue/parameters/key_hooks: "armed" or "disarmed", then
// one word per hook target ("!name" if it is missing on this kernel,
// "name:missed" while armed).
struct HookState {
    bool armed = false;
    std::vector<std::string> hooks;
    std::string line;
    std::chrono::milliseconds waited{0}; // by wait_hooks()
};

inline HookState key_hooks() {
    HookState s;
    s.line = read_line("/sys/module/watch_queue/parameters/key_hooks");
    std::istringstream words(s.line);
    std::string state;
    words >> state;
    if (state != "armed" && state != "disarmed") {
        throw std::runtime_error("key_hooks: unexpected state in '" + s.line + "'");
    }
    s.armed = state == "armed";
    for (std::string w; words >> w;) {
        s.hooks.push_back(w);
    }
    return s;
}

// Polls key_hooks until it says @armed or @limit has passed; returns the
// last state.  Disarming is a work item that unregisters every probe, each
// after an RCU grace period: about a second under emulation on a busy host,
// after key_hooks_linger_ms (5 s by default; see LingerGuard).
inline HookState wait_hooks(bool armed, std::chrono::milliseconds limit = 12000ms) {
    const auto start = std::chrono::steady_clock::now();
    HookState s = key_hooks();
    while (s.armed != armed && std::chrono::steady_clock::now() < start + limit) {
        std::this_thread::sleep_for(20ms);
        s = key_hooks();
    }
    s.waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    return s;
}

// key_hooks_linger_ms set to @ms for a test, restored afterwards: tests that
// check disarming do not wait out the default grace period each time.
class LingerGuard {
public:
    explicit LingerGuard(std::uint64_t ms = 100) { guard_.set(ms); }

private:
    ParamGuard guard_{"key_hooks_linger_ms"};
};

// A sysctl under /proc/sys, restored to its value at construction.
class SysctlGuard {
public:
    explicit SysctlGuard(std::string path) : path_(std::move(path)), original_(read_line(path_)) {}
    SysctlGuard(const SysctlGuard&) = delete;
    SysctlGuard& operator=(const SysctlGuard&) = delete;
    SysctlGuard(SysctlGuard&&) = delete;
    SysctlGuard& operator=(SysctlGuard&&) = delete;
    ~SysctlGuard() {
        try {
            write_file(path_, original_ + "\n");
        } catch (...) { // NOLINT(bugprone-empty-catch): best effort in a destructor
        }
    }
    void set(const std::string& value) const { write_file(path_, value + "\n"); }

private:
    std::string path_;
    std::string original_;
};

} // namespace keys
