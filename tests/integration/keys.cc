// SPDX-License-Identifier: GPL-2.0-or-later
// The key source: WQ_IOC_WATCH_KEY and the records real key operations
// (keyctl(2), add_key(2), request_key(2)) post, checked field by field
// against upstream's notify_key() call sites.
//
// Every test case starts in a new anonymous session keyring of its own, so
// its keys are possessed, private to it and dropped with that keyring.
#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>
#include <sched.h>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/utsname.h>

#include "keys_common.h"
#include "wq_catch.hpp"

using namespace keys;

namespace {

using Events = std::vector<Event>;

// A new session keyring for the calling thread (and what it creates later).
struct Session {
    Serial id = join_new_session();
};

// A unique description, so that a test never meets keys of another.
std::string unique(const std::string& what) {
    static std::atomic<unsigned> n{0};
    return "wqkeys:" + what + ":" + std::to_string(::getpid()) + ":" + std::to_string(n++);
}

Queue key_queue() {
    return sized_queue(65536);
}

// Every hook target was found on this kernel (a missing one shows as "!name").
bool hooks_complete(const HookState& s) {
    return !s.hooks.empty() &&
           std::ranges::none_of(s.hooks, [](const std::string& h) { return h.starts_with('!'); });
}

// Whether the hook engine can use ftrace callbacks: where the kernel exports
// what a module needs to remove them cleanly (Debian's 6.1 and later).
bool ftrace_hooks() {
    utsname u{};
    if (::uname(&u) != 0) {
        throw std::runtime_error("uname failed");
    }
    return !std::string(u.release).starts_with("5.");
}

// How the exported @fn (key_update, key_unlink) is followed while armed:
// redirected through ftrace, or a return probe (no misses: ":0").
std::string exported_hook(const std::string& fn) {
    return "+" + fn + (ftrace_hooks() ? "@ftrace" : ":0");
}

// How the entry of @fn (__key_link, __key_link_end) is hooked while armed:
// an ftrace callback, or a kprobe.
std::string entry_hook(const std::string& fn) {
    return "+" + fn + (ftrace_hooks() ? "@ftrace" : "");
}

// Missed return probes (name:N while armed), summed.
unsigned long hooks_missed(const HookState& s) {
    unsigned long missed = 0;
    for (const std::string& h : s.hooks) {
        if (const auto colon = h.rfind(':'); colon != std::string::npos) {
            missed += std::stoul(h.substr(colon + 1));
        }
    }
    return missed;
}

// /etc/request-key.d entry sending "wqkeys:*" user keys to a helper that
// acts on the callout information "<action> <delay seconds> [<argument>]"
// with keyutils' own keyctl(1): instantiate with the argument as payload,
// reject with the argument as error, negate, or set the requestor's
// destination keyring's permissions (KEY_SPEC_REQUESTOR_KEYRING) to the
// argument and instantiate, or report its authorisation key (below) and
// instantiate; the key is also linked into the requestor's session keyring
// (%S).  The guest's root is a throw-away overlay; both files are removed
// afterwards anyway.
class RequestKeyHelper {
public:
    RequestKeyHelper() {
        if (!std::filesystem::exists("/sbin/request-key")) {
            throw std::runtime_error("/sbin/request-key (keyutils) is missing");
        }
        std::filesystem::create_directories("/etc/request-key.d");
        write_file(script_, "#!/bin/sh\nauth=" + auth_file_prefix + script_body);
        std::filesystem::permissions(script_, std::filesystem::perms::owner_all);
        write_file(conf_, "create user wqkeys:* * /bin/sh " + script_ + " %k %S %c\n");
    }
    RequestKeyHelper(const RequestKeyHelper&) = delete;
    RequestKeyHelper& operator=(const RequestKeyHelper&) = delete;
    RequestKeyHelper(RequestKeyHelper&&) = delete;
    RequestKeyHelper& operator=(RequestKeyHelper&&) = delete;
    ~RequestKeyHelper() {
        std::error_code ec;
        std::filesystem::remove(conf_, ec);
        std::filesystem::remove(script_, ec);
    }

    // With the callout "auth-instantiate <delay> <payload>", the helper
    // writes the serial of its authorisation key (the one it holds for
    // @key) to a file before sleeping; this waits for it.
    static Serial wait_auth_key(Serial key, std::chrono::milliseconds limit = 10000ms) {
        const std::string path = auth_file_prefix + std::to_string(key);
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!std::filesystem::exists(path)) {
            if (std::chrono::steady_clock::now() > deadline) {
                throw std::runtime_error(path +
                                         " did not appear: the helper's keyctl id @a failed");
            }
            std::this_thread::sleep_for(20ms);
        }
        const Serial auth = std::stoi(read_line(path));
        std::filesystem::remove(path);
        return auth;
    }

private:
    static inline const std::string auth_file_prefix = "/run/wq-keys-test-auth.";
    // After "auth=<auth_file_prefix>": the helper, called with the key, the
    // requestor's session keyring and the callout.
    static constexpr const char* script_body =
        "$1\n"
        "key=$1 ring=$2\n"
        "set -- $3\n"
        "if [ \"$1\" = auth-instantiate ]; then\n"
        "  /bin/keyctl id @a >\"$auth.tmp\" && /bin/mv \"$auth.tmp\" \"$auth\" || exit 1\n"
        "fi\n"
        "/bin/sleep \"$2\"\n"
        "case $1 in\n"
        "instantiate|auth-instantiate) exec /bin/keyctl instantiate \"$key\" \"$3\" \"$ring\" ;;\n"
        "reject) exec /bin/keyctl reject \"$key\" 30 \"$3\" \"$ring\" ;;\n"
        "negate) exec /bin/keyctl negate \"$key\" 30 \"$ring\" ;;\n"
        "setperm-requestor) /bin/keyctl setperm -8 \"$3\" || exit 1\n"
        "  exec /bin/keyctl instantiate \"$key\" x \"$ring\" ;;\n"
        "esac\n"
        "exit 1\n";
    std::string conf_ = "/etc/request-key.d/wq-keys-test.conf";
    std::string script_ = "/run/wq-keys-test-helper.sh";
};

// A request_key(2) of the "wqkeys:" user key @desc into @dest, in a thread
// of its own while the helper works on it; the key under construction is
// known from the LINKED record that its construction posts on @dest (which
// @dest_watch watches).
class BackgroundRequest {
public:
    BackgroundRequest(const std::string& desc, const std::string& callout, Serial dest,
                      Queue& dest_watch)
        : requester_(
              spawn(failures_, [=, this] { got_ = request_key("user", desc, callout, dest); })),
          started_(wait_events(dest_watch, 1)) {}
    BackgroundRequest(const BackgroundRequest&) = delete;
    BackgroundRequest& operator=(const BackgroundRequest&) = delete;
    BackgroundRequest(BackgroundRequest&&) = delete;
    BackgroundRequest& operator=(BackgroundRequest&&) = delete;
    ~BackgroundRequest() = default;

    // The records @dest_watch got when construction started.
    [[nodiscard]] const Events& started() const { return started_; }
    // Waits for request_key(2): what it returned; throws what failed in it.
    Serial finish() {
        requester_.join();
        if (!failures_.empty()) {
            throw std::runtime_error(failures_.str());
        }
        return got_.load();
    }

private:
    Failures failures_;
    std::atomic<Serial> got_{0};
    std::jthread requester_;
    Events started_;
};

} // namespace

// ---- the device ------------------------------------------------------------

TEST_CASE("GET_INFO reports WQ_FEATURE_KEYS", "[keys]") {
    const Queue q = key_queue();
    CHECK((q.info().features & WQ_FEATURE_KEYS) != 0);
}

TEST_CASE("the key hooks are all present and armed only while a key watch exists", "[keys]") {
    const Session s;
    const LingerGuard linger;
    // Queues of earlier test cases may still be disarming (a work item).
    HookState st = wait_hooks(false);
    INFO("key_hooks: " << st.line);
    REQUIRE_FALSE(st.armed);
    CHECK(hooks_complete(st));

    const Serial a = new_user_key(unique("hooks-a"), "a", s.id);
    const Serial b = new_user_key(unique("hooks-b"), "b", s.id);
    Queue q = key_queue();
    watch(q, a, 1);
    st = key_hooks();
    INFO("key_hooks: " << st.line);
    CHECK(st.armed);
    CHECK(hooks_complete(st));
    CHECK(std::ranges::count(st.hooks, exported_hook("key_update")) == 1);
    CHECK(std::ranges::count(st.hooks, exported_hook("key_unlink")) == 1);
    CHECK(std::ranges::count(st.hooks, entry_hook("__key_link")) == 1);
    CHECK(std::ranges::count(st.hooks, entry_hook("__key_link_end")) == 1);

    // Still armed while any watch remains.
    Queue q2 = key_queue();
    watch(q2, b, 2);
    unwatch(q, a);
    std::this_thread::sleep_for(300ms);
    st = key_hooks();
    CHECK(st.armed);
    update(b, "b2");
    CHECK(events(q2) == Events{key_event(WQ_KEY_UPDATED, 2, b)});
    CHECK(hooks_missed(key_hooks()) == 0);

    // Last watch removed: disarmed.
    unwatch(q2, b);
    st = wait_hooks(false);
    INFO("disarmed after " << st.waited.count() << " ms");
    CHECK_FALSE(st.armed);
    CHECK(hooks_complete(st));

    // Watching again arms them again; closing the queue disarms them.
    watch(q, a, 3);
    CHECK(key_hooks().armed);
    q.close();
    st = wait_hooks(false);
    INFO("disarmed after closing the queue after " << st.waited.count() << " ms");
    CHECK_FALSE(st.armed);
}

// /sys/module/watch_queue/parameters/hooks: one line per hook set, "<set>:
// <armed|disarmed>" then its targets; the per-source aliases are that line
// without the name (usb_hooks: after the notifier's state).  Printed for the
// suite's log, which thus records each kernel's hook targets.
TEST_CASE("the hooks parameter shows every hook set in one format", "[keys]") {
    const LingerGuard linger;
    REQUIRE_FALSE(wait_hooks(false).armed);
    std::ifstream in("/sys/module/watch_queue/parameters/hooks");
    std::map<std::string, std::string> sets;
    for (std::string line; std::getline(in, line);) {
        std::cout << "hooks: " << line << "\n";
        const auto colon = line.find(": ");
        REQUIRE(colon != std::string::npos);
        sets[line.substr(0, colon)] = line.substr(colon + 2);
    }
    for (const char* name : {"keys", "block", "disk", "usb", "sb"}) {
        INFO("set " << name);
        REQUIRE(sets.contains(name));
        const std::string& line = sets[name];
        CHECK((line.starts_with("armed ") || line.starts_with("disarmed ")));
    }
    CHECK(sets["keys"] == key_hooks().line);
    CHECK(sets["keys"].starts_with("disarmed "));
    for (const char* name : {"block", "disk", "sb"}) {
        INFO("set " << name);
        const std::string alias =
            read_line(std::string("/sys/module/watch_queue/parameters/") + name + "_hooks");
        // A device or filesystem watch of another suite may just be ending.
        if (!alias.starts_with("armed ")) {
            CHECK(sets[name] == alias);
        }
    }
}

// A watch refused after the hooks were armed for it (here by the per-user
// watch limit, which root is exempt from) must not leave them armed.
TEST_CASE("a key watch refused past the watch limit leaves the hooks disarmed", "[keys]") {
    const Session s;
    const LingerGuard linger;
    const Serial k = new_user_key(unique("limit"), "x", s.id);
    REQUIRE_FALSE(wait_hooks(false).armed);
    const ParamGuard limit("max_user_watches");
    limit.set(0);
    const auto out = run_unprivileged([k] {
        const Queue q = key_queue();
        return std::vector<long>{try_watch(q, k, 1)};
    });
    CHECK(out == std::vector<long>{EAGAIN});
    const HookState st = wait_hooks(false);
    INFO("key_hooks: " << st.line);
    CHECK_FALSE(st.armed);
}

// ---- watch ids and arguments ------------------------------------------------

TEST_CASE("key records carry the watch id in WQ_INFO_ID", "[keys]") {
    const Session s;
    Queue q = key_queue();
    for (const int id : {0, 1, 255}) {
        INFO("watch id " << id);
        const Serial k = new_user_key(unique("id"), "x", s.id);
        watch(q, k, id);
        update(k, "y");
        CHECK(events(q) == Events{key_event(WQ_KEY_UPDATED, static_cast<std::uint32_t>(id), k)});
    }
}

TEST_CASE("WQ_IOC_WATCH_KEY validates its argument", "[keys]") {
    const Session s;
    Queue q = key_queue();
    const Serial k = new_user_key(unique("args"), "x", s.id);
    CHECK(try_watch(q, k, 256) == EINVAL);
    CHECK(try_watch(q, k, -2) == EINVAL);
    CHECK(try_watch(q, k, INT32_MIN) == EINVAL);
    CHECK(try_watch(q, k, INT32_MAX) == EINVAL);
    CHECK(try_watch(q, k, 1, 1) == EINVAL);
    CHECK(try_watch(q, k, 1, 0x8000'0000U) == EINVAL);
    CHECK(try_watch(q, k, 1, 0, 1) == EINVAL);
    CHECK(try_watch(q, k, -1, 0, 1) == EINVAL);
    // None of them added a watch.
    update(k, "y");
    CHECK(events(q).empty());
    CHECK(try_watch(q, k, -1) == EBADSLT);
    // A bad pointer.
    CHECK(errno_of(::ioctl(q.fd(), WQ_IOC_WATCH_KEY, nullptr)) == EFAULT);
    // A key that cannot be found: an invalidated one.
    const Serial gone = new_user_key(unique("gone"), "x", s.id);
    invalidate(gone);
    CHECK(try_watch(q, gone, 1) == ENOKEY);
}

TEST_CASE("a second watch of a key by one queue gives EBUSY", "[keys]") {
    const Session s;
    Queue q = key_queue();
    const Serial k = new_user_key(unique("busy"), "x", s.id);
    watch(q, k, 1);
    CHECK(try_watch(q, k, 1) == EBUSY);
    CHECK(try_watch(q, k, 2) == EBUSY);
    update(k, "y");
    CHECK(events(q) == Events{key_event(WQ_KEY_UPDATED, 1, k)});
}

TEST_CASE("watch id -1 removes the watch with a removal record", "[keys]") {
    const Session s;
    Queue q = key_queue();
    const Serial k = new_user_key(unique("unwatch"), "x", s.id);
    const Serial other = new_user_key(unique("never"), "x", s.id);
    CHECK(try_watch(q, other, -1) == EBADSLT);
    watch(q, k, 42);
    unwatch(q, k);
    CHECK(events(q) == Events{removal_event(42, k)});
    update(k, "y");
    setperm(k, possessor(perm_all) | owner(perm_view));
    CHECK(events(q).empty());
    CHECK(try_watch(q, k, -1) == EBADSLT);
    // The key can be watched again, with another id.
    watch(q, k, 7);
    update(k, "z");
    CHECK(events(q) == Events{key_event(WQ_KEY_UPDATED, 7, k)});
}

TEST_CASE("special key ids are resolved in the caller's context", "[keys]") {
    const Session s;
    Queue q = key_queue();
    watch(q, KEY_SPEC_SESSION_KEYRING, 3);
    const Serial k = new_user_key(unique("spec"), "x", KEY_SPEC_SESSION_KEYRING);
    CHECK(events(q) == Events{key_event(WQ_KEY_LINKED, 3, s.id, serial_aux(k))});
    // The watch is on the keyring itself: removing it by serial works.
    unwatch(q, s.id);
    CHECK(events(q) == Events{removal_event(3, s.id)});
}

namespace {

// Events through run_in_child()'s numbers: a count, then the fields.
void put_events(std::vector<long>& out, const Events& evs) {
    out.push_back(static_cast<long>(evs.size()));
    for (const Event& e : evs) {
        for (const std::uint64_t v :
             {std::uint64_t{e.type}, std::uint64_t{e.subtype}, std::uint64_t{e.length},
              std::uint64_t{e.watch_id}, std::uint64_t{e.type_info}, e.object, e.aux}) {
            out.push_back(static_cast<long>(v));
        }
    }
}

Events take_events(const std::vector<long>& in, std::size_t& pos) {
    Events evs(static_cast<std::size_t>(in.at(pos++)));
    for (Event& e : evs) {
        e.type = static_cast<std::uint32_t>(in.at(pos++));
        e.subtype = static_cast<std::uint32_t>(in.at(pos++));
        e.length = static_cast<std::uint32_t>(in.at(pos++));
        e.watch_id = static_cast<std::uint32_t>(in.at(pos++));
        e.type_info = static_cast<std::uint32_t>(in.at(pos++));
        e.object = static_cast<std::uint64_t>(in.at(pos++));
        e.aux = static_cast<std::uint64_t>(in.at(pos++));
    }
    return evs;
}

} // namespace

// keyctl_chown/keyctl_setperm take special ids too: the record names the
// keyring the id resolves to for the caller, and no other.  The attributes
// are set to what they are (still a change for upstream), so the user
// keyrings, which outlive the test, are left as they were.  In a child
// process: the thread and process keyrings it creates go with it, where
// they would change what later tests' request_key() calls find.
TEST_CASE("SETATTR of keyrings named by special ids", "[keys]") {
    const Session s;
    struct Spec {
        const char* name;
        Serial id;
    };
    const std::array specs{
        Spec{"thread", KEY_SPEC_THREAD_KEYRING},
        Spec{"process", KEY_SPEC_PROCESS_KEYRING},
        Spec{"session", KEY_SPEC_SESSION_KEYRING},
        Spec{"user", KEY_SPEC_USER_KEYRING},
        Spec{"user session", KEY_SPEC_USER_SESSION_KEYRING},
    };
    Queue q = key_queue();
    const auto change_each = [&] {
        std::vector<long> out;
        for (std::size_t i = 0; i < specs.size(); ++i) {
            const auto ring = static_cast<Serial>(
                keyctl_or_throw("create the keyring", KEYCTL_GET_KEYRING_ID, arg(specs[i].id), 1));
            watch(q, ring, static_cast<int>(20 + i));
            out.push_back(ring);
            setperm(specs[i].id, key_perm(ring));
            put_events(out, events(q));
            chown(specs[i].id, ::geteuid(), static_cast<gid_t>(-1));
            put_events(out, events(q));
        }
        return out;
    };
    const std::vector<long> got = run_in_child([] { return true; }, change_each);
    std::size_t pos = 0;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const auto ring = static_cast<Serial>(got.at(pos++));
        INFO(specs[i].name << " keyring " << ring);
        const Events setattr{key_event(WQ_KEY_SETATTR, static_cast<std::uint32_t>(20 + i), ring)};
        CHECK(take_events(got, pos) == setattr); // setperm
        CHECK(take_events(got, pos) == setattr); // chown
        if (specs[i].id == KEY_SPEC_SESSION_KEYRING) {
            CHECK(ring == s.id);
        }
    }
    CHECK(pos == got.size());
}

// ---- one record per operation --------------------------------------------------

TEST_CASE("UPDATED: keyctl_update and add_key of an existing key", "[keys]") {
    const Session s;
    const Serial ring = new_keyring(unique("upd-ring"), s.id);
    const std::string desc = unique("upd");
    const Serial k = new_user_key(desc, "v1", ring);
    Queue qk = key_queue();
    Queue qr = key_queue();
    watch(qk, k, 1);
    watch(qr, ring, 2);

    SECTION("keyctl_update") {
        update(k, "v2");
        CHECK(events(qk) == Events{key_event(WQ_KEY_UPDATED, 1, k)});
    }
    SECTION("add_key of the same type and description into the same keyring") {
        CHECK(new_user_key(desc, "v2", ring) == k);
        CHECK(events(qk) == Events{key_event(WQ_KEY_UPDATED, 1, k)});
    }
    SECTION("failed updates post nothing") {
        CHECK(try_update(ring, "payload") == EOPNOTSUPP); // keyrings cannot be updated
        const std::string too_big(40000, 'x');            // "user" payloads: < 32 KiB
        CHECK(try_update(k, too_big) == EINVAL);
        CHECK(errno_of(::syscall(SYS_add_key, "user", desc.c_str(), too_big.data(), too_big.size(),
                                 ring)) == EINVAL);
        CHECK(events(qk).empty());
    }
    // The keyring did not change.
    CHECK(events(qr).empty());
}

TEST_CASE("LINKED and UNLINKED on the keyring, with the child's serial", "[keys]") {
    const Session s;
    const Serial ring = new_keyring(unique("link-ring"), s.id);
    const Serial other = new_keyring(unique("link-other"), s.id);
    Queue q = key_queue();
    watch(q, ring, 5);

    SECTION("add_key of a new key") {
        const Serial k = new_user_key(unique("new"), "x", ring);
        CHECK(events(q) == Events{key_event(WQ_KEY_LINKED, 5, ring, serial_aux(k))});
    }
    SECTION("keyctl_link, a second link of the same key, keyctl_unlink") {
        const Serial k = new_user_key(unique("k"), "x", other);
        link(k, ring);
        CHECK(events(q) == Events{key_event(WQ_KEY_LINKED, 5, ring, serial_aux(k))});
        // Upstream's __key_link notifies every link, a repeated one too.
        link(k, ring);
        CHECK(events(q) == Events{key_event(WQ_KEY_LINKED, 5, ring, serial_aux(k))});
        unlink(k, ring);
        CHECK(events(q) == Events{key_event(WQ_KEY_UNLINKED, 5, ring, serial_aux(k))});
        // Not linked any more: ENOENT and nothing posted.
        CHECK(try_keyctl(KEYCTL_UNLINK, arg(k), arg(ring)) == ENOENT);
        CHECK(events(q).empty());
    }
    SECTION("a keyring replacing one of the same description: LINKED only") {
        const std::string desc = unique("sub");
        const Serial first = new_keyring(desc, ring);
        const Serial second = new_keyring(desc, ring);
        CHECK(first != second);
        CHECK(events(q) == Events{key_event(WQ_KEY_LINKED, 5, ring, serial_aux(first)),
                                  key_event(WQ_KEY_LINKED, 5, ring, serial_aux(second))});
        CHECK(keyring_contents(ring) == std::vector<Serial>{second});
    }
    SECTION("links of other keyrings are not seen") {
        const Serial k = new_user_key(unique("elsewhere"), "x", other);
        unlink(k, other);
        CHECK(events(q).empty());
    }
}

TEST_CASE("key_move: UNLINKED on the source, then LINKED on the destination", "[keys]") {
    const Session s;
    const Serial from = new_keyring(unique("from"), s.id);
    const Serial to = new_keyring(unique("to"), s.id);
    const std::string desc = unique("moved");
    const Serial k = new_user_key(desc, "x", from);
    Queue q = key_queue();
    Queue qk = key_queue();
    watch(q, from, 1);
    watch(q, to, 2);
    watch(qk, k, 3);

    SECTION("a move and a move back") {
        REQUIRE(try_move(k, from, to, 0) == 0);
        CHECK(events(q) == Events{key_event(WQ_KEY_UNLINKED, 1, from, serial_aux(k)),
                                  key_event(WQ_KEY_LINKED, 2, to, serial_aux(k))});
        REQUIRE(try_move(k, to, from, KEYCTL_MOVE_EXCL) == 0);
        CHECK(events(q) == Events{key_event(WQ_KEY_UNLINKED, 2, to, serial_aux(k)),
                                  key_event(WQ_KEY_LINKED, 1, from, serial_aux(k))});
    }
    SECTION("failed moves post nothing") {
        // Not in the source keyring.
        CHECK(try_move(k, to, from, 0) == ENOENT);
        // KEYCTL_MOVE_EXCL onto a key of the same type and description.
        const Serial twin = new_user_key(desc, "y", to);
        CHECK(events(q) == Events{key_event(WQ_KEY_LINKED, 2, to, serial_aux(twin))});
        CHECK(try_move(k, from, to, KEYCTL_MOVE_EXCL) == EEXIST);
        CHECK(events(q).empty());
    }
    // The moved key itself did not change.
    CHECK(events(qk).empty());
}

TEST_CASE("CLEARED: keyctl_clear posts CLEARED and nothing per child", "[keys]") {
    const Session s;
    const Serial ring = new_keyring(unique("clear"), s.id);
    for (int i = 0; i < 3; ++i) {
        new_user_key(unique("child"), "x", ring);
    }
    REQUIRE(keyring_contents(ring).size() == 3);
    Queue q = key_queue();
    watch(q, ring, 4);
    clear(ring);
    CHECK(events(q) == Events{key_event(WQ_KEY_CLEARED, 4, ring)});
    CHECK(keyring_contents(ring).empty());
    // Upstream notifies a clear of an empty keyring too.
    clear(ring);
    CHECK(events(q) == Events{key_event(WQ_KEY_CLEARED, 4, ring)});
    // Clearing a key that is not a keyring fails and posts nothing.
    const Serial k = new_user_key(unique("not-a-ring"), "x", s.id);
    watch(q, k, 5);
    CHECK(try_keyctl(KEYCTL_CLEAR, arg(k)) == ENOTDIR);
    CHECK(events(q).empty());
}

TEST_CASE("REVOKED: posted once; a revoked key cannot be named any more", "[keys]") {
    const Session s;
    Queue q = key_queue();

    SECTION("a key") {
        const Serial k = new_user_key(unique("revoke"), "x", s.id);
        watch(q, k, 6);
        REQUIRE(try_revoke(k) == 0);
        CHECK(events(q) == Events{key_event(WQ_KEY_REVOKED, 6, k)});
        CHECK(try_revoke(k) == EKEYREVOKED);
        CHECK(events(q).empty());
        // Like keyctl(KEYCTL_WATCH_KEY): neither a new watch nor removing one.
        Queue other = key_queue();
        CHECK(try_watch(other, k, 1) == EKEYREVOKED);
        CHECK(try_watch(q, k, -1) == EKEYREVOKED);
        CHECK(events(q).empty());
    }
    SECTION("a keyring: its links go without CLEARED or UNLINKED") {
        const Serial ring = new_keyring(unique("revoke-ring"), s.id);
        new_user_key(unique("child"), "x", ring);
        watch(q, ring, 7);
        REQUIRE(try_revoke(ring) == 0);
        CHECK(events(q) == Events{key_event(WQ_KEY_REVOKED, 7, ring)});
    }
}

TEST_CASE("INVALIDATED, then the removal record when the key is collected", "[keys]") {
    const Session s;
    const Serial ring = new_keyring(unique("inval-ring"), s.id);
    const Serial k = new_user_key(unique("inval"), "x", ring);
    Queue qk = key_queue();
    Queue qr = key_queue();
    watch(qk, k, 8);
    watch(qr, ring, 9);
    invalidate(k);
    // Invalidated keys are collected at once, whatever gc_delay says.
    CHECK(wait_events(qk, 2) == Events{key_event(WQ_KEY_INVALIDATED, 8, k), removal_event(8, k)});
    // The collector drops the link without UNLINKED, as upstream's keyring_gc().
    CHECK(events(qr).empty());
    CHECK(keyring_contents(ring).empty());
    CHECK(try_watch(qk, k, -1) == ENOKEY);
    CHECK(try_keyctl(KEYCTL_INVALIDATE, arg(k)) == ENOKEY);
    std::this_thread::sleep_for(200ms);
    CHECK(events(qk).empty());
}

TEST_CASE("SETATTR: setperm, chown, set_timeout and restrict_keyring", "[keys]") {
    const Session s;
    const Serial ring = new_keyring(unique("attr-ring"), s.id);
    const Serial k = new_user_key(unique("attr"), "x", ring);
    Queue qk = key_queue();
    Queue qr = key_queue();
    watch(qk, k, 10);
    watch(qr, ring, 11);
    const Events setattr{key_event(WQ_KEY_SETATTR, 10, k)};

    SECTION("keyctl_setperm") {
        setperm(k, possessor(perm_all) | owner(perm_all));
        CHECK(events(qk) == setattr);
        // The same permissions again: still a change of attributes.
        setperm(k, possessor(perm_all) | owner(perm_all));
        CHECK(events(qk) == setattr);
        CHECK(try_setperm(k, 0x4000'0000U) == EINVAL);
        CHECK(events(qk).empty());
    }
    SECTION("keyctl_chown") {
        chown(k, nobody, nobody);
        CHECK(events(qk) == setattr);
        chown(k, 0, static_cast<gid_t>(-1));
        CHECK(events(qk) == setattr);
        // Neither uid nor gid given: a no-op that upstream does not notify.
        CHECK(try_keyctl(KEYCTL_CHOWN, arg(k), static_cast<uid_t>(-1), static_cast<gid_t>(-1)) ==
              0);
        CHECK(events(qk).empty());
    }
    SECTION("keyctl_set_timeout") {
        set_timeout(k, 3600);
        CHECK(events(qk) == setattr);
        set_timeout(k, 0);
        CHECK(events(qk) == setattr);
    }
    SECTION("keyctl_restrict_keyring") {
        REQUIRE(try_restrict(ring) == 0);
        CHECK(events(qr) == Events{key_event(WQ_KEY_SETATTR, 11, ring)});
        CHECK(try_restrict(ring) == EEXIST);
        const Serial other = new_user_key(unique("outsider"), "x", s.id);
        CHECK(try_keyctl(KEYCTL_LINK, arg(other), arg(ring)) == EPERM);
        CHECK(events(qr).empty());
    }
    SECTION("keyctl_setperm on a keyring") {
        setperm(ring, possessor(perm_all) | owner(perm_all));
        CHECK(events(qr) == Events{key_event(WQ_KEY_SETATTR, 11, ring)});
    }
    // Nothing crossed over between the key and its keyring.
    CHECK(events(qk).empty());
    CHECK(events(qr).empty());
}

// Two tasks revoking (or invalidating) one key at the same moment: both may
// pass the lookup and call key_revoke(), where upstream notifies only the
// one that sets the flag.  Repeated until both calls succeeded a number of
// times, so that the case where both really ran the kernel function is
// covered, not just the one where the second was refused at lookup.
TEST_CASE("racing revokes and invalidations post the record once", "[keys][race]") {
    const Session s;
    struct Op {
        const char* name;
        int cmd;
        std::uint32_t subtype;
    };
    const Op op = GENERATE(Op{"revoke", KEYCTL_REVOKE, WQ_KEY_REVOKED},
                           Op{"invalidate", KEYCTL_INVALIDATE, WQ_KEY_INVALIDATED});
    INFO("operation: " << op.name);
    constexpr int iterations = 300;
    constexpr int enough_doubles = 30;
    // One queue for all rounds, so that the hooks stay armed throughout.
    Queue q = key_queue();
    // Round r starts when round == r; each racer adds 1 to arrived before
    // its call (both calls start together once arrived == 2r) and to
    // finished after it.  round -1 ends the racers.
    std::atomic<int> round{0};
    std::atomic<int> arrived{0};
    std::atomic<int> finished{0};
    std::atomic<Serial> target{0};
    std::array<std::atomic<int>, 2> result{};
    Failures failures;
    std::string doubled;
    int both_succeeded = 0;
    int done = 0;
    {
        std::vector<std::jthread> racers;
        racers.reserve(2);
        for (int t = 0; t < 2; ++t) {
            racers.push_back(spawn(failures, [&, t] {
                cpu_set_t set;
                CPU_ZERO(&set);
                CPU_SET(t % std::max(1U, std::thread::hardware_concurrency()), &set);
                (void)::sched_setaffinity(0, sizeof(set), &set);
                for (int r = 1;; ++r) {
                    for (int now = round.load(); now != r; now = round.load()) {
                        if (now < 0) {
                            return;
                        }
                        round.wait(now);
                    }
                    arrived.fetch_add(1);
                    while (arrived.load() < 2 * r) {
                    }
                    result.at(static_cast<std::size_t>(t)) = try_keyctl(op.cmd, arg(target.load()));
                    finished.fetch_add(1);
                    finished.notify_all();
                }
            }));
        }
        for (int r = 1; r <= iterations && both_succeeded < enough_doubles; ++r) {
            const Serial k = new_user_key(unique("race"), "x", s.id);
            watch(q, k, 1);
            target = k;
            round = r;
            round.notify_all();
            for (int now = finished.load(); now < 2 * r; now = finished.load()) {
                finished.wait(now);
            }
            ++done;
            both_succeeded += result[0] == 0 && result[1] == 0 ? 1 : 0;
            // Removal records of keys collected meanwhile are not counted.
            const auto n = std::ranges::count(events(q), key_event(op.subtype, 1, k));
            if (n != 1) {
                doubled += "iteration " + std::to_string(r) + ": " + std::to_string(n) +
                           " records, errnos " + std::to_string(result[0]) + "/" +
                           std::to_string(result[1]) + "\n";
            }
        }
        round = -1;
        round.notify_all();
    }
    REQUIRE(failures.empty());
    INFO("iterations " << done << ", both calls succeeded in " << both_succeeded);
    INFO(doubled);
    CHECK(doubled.empty());
    if (both_succeeded == 0) {
        WARN("the two calls never both succeeded: the race was not exercised");
    }
}

// ---- filters and several queues ----------------------------------------------

TEST_CASE("a subtype filter lets only its subtypes through; removals always pass", "[keys]") {
    const Session s;
    const Serial ring = new_keyring(unique("filter-ring"), s.id);
    const Serial k = new_user_key(unique("filter-k"), "x", s.id);
    const Serial k2 = new_user_key(unique("filter-k2"), "x", s.id);
    const Serial k3 = new_user_key(unique("filter-k3"), "x", s.id);

    // One queue per subtype, one with two subtypes, one without a filter.
    std::vector<std::vector<unsigned>> wanted;
    for (unsigned st = WQ_KEY_INSTANTIATED; st <= WQ_KEY_SETATTR; ++st) {
        wanted.push_back({st});
    }
    wanted.push_back({WQ_KEY_UPDATED, WQ_KEY_REVOKED});
    std::vector<Queue> queues;
    for (const auto& subtypes : wanted) {
        Queue q = key_queue();
        wq_notification_type_filter f = type_filter(WQ_TYPE_KEY, {});
        for (const unsigned st : subtypes) {
            f.subtype_filter[0] |= 1U << st;
        }
        q.set_filter(std::span(&f, 1));
        queues.push_back(std::move(q));
    }
    queues.push_back(key_queue());
    for (const Queue& q : queues) {
        watch(q, k, 1);
        watch(q, ring, 2);
        watch(q, k3, 3);
    }

    update(k, "y");
    setperm(k, possessor(perm_all) | owner(perm_view));
    link(k2, ring);
    unlink(k2, ring);
    link(k2, ring);
    clear(ring);
    REQUIRE(try_revoke(k) == 0);
    invalidate(k3);
    const Events all{key_event(WQ_KEY_UPDATED, 1, k),
                     key_event(WQ_KEY_SETATTR, 1, k),
                     key_event(WQ_KEY_LINKED, 2, ring, serial_aux(k2)),
                     key_event(WQ_KEY_UNLINKED, 2, ring, serial_aux(k2)),
                     key_event(WQ_KEY_LINKED, 2, ring, serial_aux(k2)),
                     key_event(WQ_KEY_CLEARED, 2, ring),
                     key_event(WQ_KEY_REVOKED, 1, k),
                     key_event(WQ_KEY_INVALIDATED, 3, k3),
                     removal_event(3, k3)};

    for (std::size_t i = 0; i < queues.size(); ++i) {
        Events expected;
        for (const Event& e : all) {
            const bool pass = i == wanted.size() || e.type != WQ_TYPE_KEY ||
                              std::ranges::find(wanted[i], e.subtype) != wanted[i].end();
            if (pass) {
                expected.push_back(e);
            }
        }
        INFO("queue " << i << (i < wanted.size() ? " (filtered)" : " (no filter)"));
        // The removal record comes from the key collector, a little later.
        CHECK(wait_events(queues[i], expected.size()) == expected);
    }
}

TEST_CASE("a filter on the watch id in info", "[keys]") {
    const Session s;
    const Serial a = new_user_key(unique("id-a"), "x", s.id);
    const Serial b = new_user_key(unique("id-b"), "x", s.id);
    Queue q = key_queue();
    const auto f = type_filter(WQ_TYPE_KEY, {WQ_KEY_UPDATED}, 2U << WQ_INFO_ID__SHIFT, WQ_INFO_ID);
    q.set_filter(std::span(&f, 1));
    watch(q, a, 1);
    watch(q, b, 2);
    update(a, "y");
    update(b, "y");
    unwatch(q, a);
    CHECK(events(q) == Events{key_event(WQ_KEY_UPDATED, 2, b), removal_event(1, a)});
}

TEST_CASE("a key watched by several queues: each gets the record once, with its id", "[keys]") {
    const Session s;
    const Serial k = new_user_key(unique("multi"), "x", s.id);
    std::vector<Queue> queues;
    const std::vector<std::uint32_t> ids{10, 20, 30};
    for (const std::uint32_t id : ids) {
        queues.push_back(key_queue());
        watch(queues.back(), k, static_cast<int>(id));
    }
    update(k, "y");
    for (std::size_t i = 0; i < ids.size(); ++i) {
        CHECK(events(queues[i]) == Events{key_event(WQ_KEY_UPDATED, ids[i], k)});
    }
    // A closed queue drops out; a removed watch posts its removal to its queue only.
    queues[0].close();
    unwatch(queues[1], k);
    set_timeout(k, 3600);
    CHECK(events(queues[1]) == Events{removal_event(20, k)});
    CHECK(events(queues[2]) == Events{key_event(WQ_KEY_SETATTR, 30, k)});
}

// Watches come and go (arming and disarming the hooks) while other threads
// update, link and unlink: every record must still be well formed and
// about the watched objects, and the kernel log stays clean.  A loss record
// is allowed: the workers may fill the ring while this thread, on a busy
// emulated machine, is not scheduled.
TEST_CASE("key operations racing with watches that come and go", "[keys]") {
    const Session s;
    // Short, so that the hooks really come and go during the churn.
    const LingerGuard linger(5);
    const Serial ring = new_keyring(unique("churn-ring"), s.id);
    const Serial k = new_user_key(unique("churn"), "x", ring);
    std::atomic<bool> stop{false};
    Failures failures;
    std::vector<std::string> bad;
    std::size_t seen = 0;
    std::size_t losses = 0;
    {
        std::vector<std::jthread> workers;
        workers.push_back(spawn(failures, [&] {
            while (!stop) {
                update(k, "y");
            }
        }));
        workers.push_back(spawn(failures, [&] {
            while (!stop) {
                unlink(new_user_key(unique("churn-child"), "c", ring), ring);
            }
        }));
        const auto deadline = std::chrono::steady_clock::now() + 3s;
        while (std::chrono::steady_clock::now() < deadline) {
            Queue q = key_queue();
            watch(q, k, 1);
            watch(q, ring, 2);
            std::this_thread::sleep_for(10ms);
            unwatch(q, k);
            for (const Event& e : events(q)) {
                ++seen;
                if (e.type == WQ_TYPE_META && e.subtype == WQ_META_LOSS) {
                    ++losses;
                    continue;
                }
                const bool ok =
                    e.type_info == 0 &&
                    ((e == key_event(WQ_KEY_UPDATED, 1, k)) || e == removal_event(1, k) ||
                     (e.type == WQ_TYPE_KEY && e.length == sizeof(wq_key_notification) &&
                      e.watch_id == 2 && e.object == static_cast<std::uint32_t>(ring) &&
                      (e.subtype == WQ_KEY_LINKED || e.subtype == WQ_KEY_UNLINKED) && e.aux != 0));
                if (!ok && bad.size() < 10) {
                    std::ostringstream os;
                    os << e;
                    bad.push_back(os.str());
                }
            }
        }
        stop = true;
    }
    INFO(failures.str());
    REQUIRE(failures.empty());
    std::ostringstream shown;
    for (const std::string& b : bad) {
        shown << "\n  unexpected: " << b;
    }
    INFO("records seen: " << seen << ", loss records: " << losses << shown.str());
    CHECK(bad.empty());
    CHECK(seen > losses);
    CHECK_FALSE(wait_hooks(false).armed);
}

// ---- the end of a key ---------------------------------------------------------------

TEST_CASE("a destroyed key's watchers get a removal record and lose the watch", "[keys]") {
    const Session s;
    const SysctlGuard gc_delay("/proc/sys/kernel/keys/gc_delay");
    gc_delay.set("1");
    const Serial k = new_user_key(unique("doomed"), "x", s.id);
    Queue q = key_queue();
    Queue q2 = key_queue();
    watch(q, k, 12);
    watch(q2, k, 13);
    Events first;

    SECTION("unlinked from its only keyring") {
        unlink(k, s.id);
    }
    SECTION("revoked, then collected after gc_delay") {
        REQUIRE(try_revoke(k) == 0);
        first = {key_event(WQ_KEY_REVOKED, 12, k)};
    }
    SECTION("expired, then collected after gc_delay") {
        set_timeout(k, 1);
        first = {key_event(WQ_KEY_SETATTR, 12, k)};
    }
    Events expected = first;
    expected.push_back(removal_event(12, k));
    CHECK(wait_events(q, expected.size()) == expected);
    const Events second = wait_events(q2, expected.size());
    REQUIRE_FALSE(second.empty());
    CHECK(second.back() == removal_event(13, k));
    // The key is gone, and so is the watch.
    CHECK(try_watch(q, k, -1) == ENOKEY);
    CHECK(try_watch(q, k, 1) == ENOKEY);
    std::this_thread::sleep_for(200ms);
    CHECK(events(q).empty());
    CHECK(events(q2).empty());
}

// ---- permission ------------------------------------------------------------------------

TEST_CASE("watching a key needs View permission on it", "[keys]") {
    const Session s;
    // Possessor: everything; owner (root): view; others: nothing.
    const Serial hidden = new_user_key(unique("hidden"), "x", s.id);
    setperm(hidden, possessor(perm_all) | owner(perm_view));
    // Owned by nobody, who may only view it.
    const Serial given = new_user_key(unique("given"), "y", s.id);
    chown(given, nobody, nobody);
    setperm(given, owner(perm_view));

    const std::vector<long> r = run_unprivileged([&] {
        Queue q = key_queue();
        std::vector<long> out;
        // Still in root's session keyring: the key is possessed.
        out.push_back(try_watch(q, hidden, 1));
        out.push_back(try_watch(q, hidden, -1));
        (void)events(q);
        // A session keyring of its own: no possession, no View.
        join_new_session();
        out.push_back(try_watch(q, hidden, 1));
        out.push_back(try_watch(q, given, 2));
        const Serial own = new_user_key(unique("own"), "z", KEY_SPEC_SESSION_KEYRING);
        out.push_back(try_watch(q, own, 3));
        update(own, "zz");
        // Giving it away needs CAP_SYS_ADMIN: refused, nothing posted.
        out.push_back(try_keyctl(KEYCTL_CHOWN, arg(own), 0, static_cast<gid_t>(-1)));
        out.push_back(events(q) == Events{key_event(WQ_KEY_UPDATED, 3, own)} ? 1 : 0);
        return out;
    });
    REQUIRE(r.size() == 7);
    CHECK(r[0] == 0);      // possessed: possessor View
    CHECK(r[1] == 0);      // and removed again
    CHECK(r[2] == EACCES); // not possessed, not the owner, no "other" View
    CHECK(r[3] == 0);      // the owner's View
    CHECK(r[4] == 0);      // its own key
    CHECK(r[5] == EACCES); // chown to root
    CHECK(r[6] == 1);      // its records: UPDATED only
}

// ---- keys under construction ----------------------------------------------------------

// Upstream's lookup_user_key() (which KEYCTL_WATCH_KEY and WQ_IOC_WATCH_KEY
// both use) waits for a key under construction and refuses an uninstantiated
// or negative one, so a key can only be watched once it is instantiated:
// INSTANTIATED (and a rejection's -error in aux) never reaches a watcher of
// the key.  What is visible is the link into the destination keyring when
// construction starts, and the watch completing only after instantiation.
TEST_CASE("request_key: LINKED when construction starts; no watch before instantiation",
          "[keys][request-key]") {
    const Session s;
    const RequestKeyHelper helper;
    const Serial dest = new_keyring(unique("dest"), s.id);
    Queue qd = key_queue();
    watch(qd, dest, 1);
    // The helper links the key it instantiates or rejects into our session.
    Queue qs = key_queue();
    watch(qs, s.id, 9);

    SECTION("instantiated by the helper") {
        const std::string desc = unique("positive");
        BackgroundRequest req(desc, "instantiate 2 payload", dest, qd);
        REQUIRE(req.started().size() == 1);
        const auto k = static_cast<Serial>(req.started()[0].aux);
        CHECK(req.started()[0] == key_event(WQ_KEY_LINKED, 1, dest, serial_aux(k)));
        // The helper is still sleeping: the watch waits for it.
        Queue qk = key_queue();
        const auto t0 = std::chrono::steady_clock::now();
        const int err = try_watch(qk, k, 2);
        const auto waited = std::chrono::steady_clock::now() - t0;
        CHECK(req.finish() == k);
        CHECK(err == 0);
        CHECK(waited >= 500ms);
        CHECK(events(qk).empty());
        CHECK(events(qs) == Events{key_event(WQ_KEY_LINKED, 9, s.id, serial_aux(k))});
        update(k, "again");
        CHECK(events(qk) == Events{key_event(WQ_KEY_UPDATED, 2, k)});
        CHECK(events(qd).empty());
        // Requested again, the key is found without construction and linked.
        CHECK(request_key("user", desc, "instantiate 0 other", dest) == k);
        CHECK(events(qd) == Events{key_event(WQ_KEY_LINKED, 1, dest, serial_aux(k))});
        CHECK(events(qk).empty());
    }
    // Instantiation links the key (__key_link), then invalidates the
    // authorisation key, then ends the link (__key_link_end): upstream posts
    // LINKED first, and so must the module, whose LINKED waits for the end
    // of the link.
    SECTION("instantiated: LINKED before the authorisation key's INVALIDATED") {
        BackgroundRequest req(unique("auth-order"), "auth-instantiate 2 payload", dest, qd);
        REQUIRE(req.started().size() == 1);
        const auto k = static_cast<Serial>(req.started()[0].aux);
        // The same queue as the session keyring's, so that the order shows.
        const Serial auth = RequestKeyHelper::wait_auth_key(k);
        watch(qs, auth, 7);
        CHECK(req.finish() == k);
        const Events evs = wait_events(qs, 2);
        std::ostringstream seen;
        for (const Event& e : evs) {
            seen << e << "; ";
        }
        INFO("records: " << seen.str());
        REQUIRE(evs.size() >= 2);
        CHECK(evs[0] == key_event(WQ_KEY_LINKED, 9, s.id, serial_aux(k)));
        CHECK(evs[1] == key_event(WQ_KEY_INVALIDATED, 7, auth));
    }
    SECTION("rejected by the helper") {
        const std::string desc = unique("rejected");
        CHECK(request_key("user", desc, "reject 0 rejected", dest) == -EKEYREJECTED);
        const Events linked = events(qd);
        REQUIRE(linked.size() == 1);
        const auto k = static_cast<Serial>(linked[0].aux);
        CHECK(linked[0] == key_event(WQ_KEY_LINKED, 1, dest, serial_aux(k)));
        CHECK(events(qs) == Events{key_event(WQ_KEY_LINKED, 9, s.id, serial_aux(k))});
        Queue qk = key_queue();
        CHECK(try_watch(qk, k, 2) == EKEYREJECTED);
        // Asked again, the negative key is found: no new key, no record.
        CHECK(request_key("user", desc, "reject 0 rejected", dest) == -EKEYREJECTED);
        CHECK(events(qd).empty());
    }
    SECTION("the helper sets the requestor's keyring's permissions") {
        const std::uint32_t perm = key_perm(dest);
        std::ostringstream callout;
        callout << "setperm-requestor 0 0x" << std::hex << perm;
        const Serial k = request_key("user", unique("req-attr"), callout.str(), dest);
        CHECK(k > 0);
        const Events got = events(qd);
        REQUIRE(got.size() == 2);
        CHECK(got[0] == key_event(WQ_KEY_LINKED, 1, dest, serial_aux(k)));
        CHECK(got[1] == key_event(WQ_KEY_SETATTR, 1, dest));
        CHECK(key_perm(dest) == perm);
    }
    SECTION("negated by the helper") {
        const std::string desc = unique("negated");
        CHECK(request_key("user", desc, "negate 0", dest) == -ENOKEY);
        const Events linked = events(qd);
        REQUIRE(linked.size() == 1);
        const auto k = static_cast<Serial>(linked[0].aux);
        CHECK(linked[0] == key_event(WQ_KEY_LINKED, 1, dest, serial_aux(k)));
        CHECK(events(qs) == Events{key_event(WQ_KEY_LINKED, 9, s.id, serial_aux(k))});
        Queue qk = key_queue();
        CHECK(try_watch(qk, k, 2) == ENOKEY);
    }
}

// ---- loss is never silent; the hooks linger ---------------------------------------

namespace {

// Records lost, from the loss records among @evs.
std::uint64_t lost_in(const Events& evs) {
    std::uint64_t lost = 0;
    for (const Event& e : evs) {
        if (e.type == WQ_TYPE_META && e.subtype == WQ_META_LOSS) {
            lost += e.object; // the loss record's count
        }
    }
    return lost;
}

// @n threads blocked inside add_key(2), in __key_create_or_update(), a
// hooked function, for as long as the request_key(2) helper sleeps: each
// updates the key "wqkeys:block..." under construction in @dest, and the
// kernel makes it wait for the construction to end.  Any user can do this
// to a key of their own.
class BlockedAddKeys {
public:
    BlockedAddKeys(Serial dest, Queue& dest_watch, int n, int helper_seconds) {
        const std::string desc = unique("block");
        requester_ = spawn(failures_, [=, this] {
            requested_ = request_key(
                "user", desc, "instantiate " + std::to_string(helper_seconds) + " done", dest);
        });
        // The key is linked into @dest when its construction starts.
        const Events linked = wait_events(dest_watch, 1);
        if (linked.size() != 1 || linked[0].subtype != WQ_KEY_LINKED) {
            throw std::runtime_error("request_key did not start constructing a key");
        }
        key_ = static_cast<Serial>(linked[0].aux);
        for (int i = 0; i < n; ++i) {
            blocked_.push_back(spawn(failures_, [=, this] {
                started_.fetch_add(1);
                const long rc = ::syscall(SYS_add_key, "user", desc.c_str(), "x", 1, dest);
                if (rc == key_) {
                    updated_.fetch_add(1);
                }
            }));
        }
        while (started_.load() < n) {
            std::this_thread::sleep_for(10ms);
        }
        // Let the last ones reach the wait.
        std::this_thread::sleep_for(1s);
    }
    // Waits for the helper and every blocked call; returns how many calls
    // updated the key, which proves they waited for its construction.
    int finish() {
        requester_.join();
        blocked_.clear();
        if (!failures_.empty()) {
            throw std::runtime_error(failures_.str());
        }
        if (requested_ != key_) {
            throw std::runtime_error("request_key gave " + std::to_string(requested_));
        }
        return updated_.load();
    }
    [[nodiscard]] Serial key() const { return key_; }

private:
    Failures failures_;
    std::jthread requester_;
    std::vector<std::jthread> blocked_;
    std::atomic<int> started_{0};
    std::atomic<int> updated_{0};
    std::atomic<Serial> requested_{0};
    Serial key_ = 0;
};

// Operations on a watched key @k and keyring @ring while other calls are
// blocked; returns the number of records they must produce.
std::size_t watched_operations(Serial session, Serial k, const std::string& k_desc, Serial ring,
                               Serial child, int rounds) {
    std::size_t records = 0;
    for (int i = 0; i < rounds; ++i) {
        // add_key of an existing key: UPDATED, through __key_create_or_update.
        if (add_key("user", k_desc, "v" + std::to_string(i), session) != k) {
            throw std::runtime_error("add_key did not update the watched key");
        }
        update(k, "u");                                     // UPDATED
        setperm(k, possessor(perm_all) | owner(perm_view)); // SETATTR
        link(child, ring);                                  // LINKED
        unlink(child, ring);                                // UNLINKED
        records += 5;
    }
    return records;
}

} // namespace

// More blocked key operations than the 128 slots and return instances each
// hook used to have: the watched key's own operations still get records.
TEST_CASE("key operations of others blocked in hooked calls do not cost records",
          "[keys][loss][request-key]") {
    const Session s;
    const RequestKeyHelper helper;
    const Serial dest = new_keyring(unique("block-dest"), s.id);
    const std::string k_desc = unique("victim");
    const Serial k = new_user_key(k_desc, "x", s.id);
    const Serial ring = new_keyring(unique("victim-ring"), s.id);
    const Serial child = new_user_key(unique("victim-child"), "c", s.id);
    Queue qd = key_queue();
    watch(qd, dest, 1);
    Queue q = sized_queue(1 << 20);
    watch(q, k, 2);
    watch(q, ring, 3);

    constexpr int blocked = 200;
    BlockedAddKeys blockers(dest, qd, blocked, 6);
    const std::size_t expected = watched_operations(s.id, k, k_desc, ring, child, 4);
    const int updated = blockers.finish();
    CHECK(updated == blocked);

    const Events got = wait_events(q, expected, 3000ms);
    const auto delivered = static_cast<std::size_t>(
        std::ranges::count_if(got, [](const Event& e) { return e.type == WQ_TYPE_KEY; }));
    const std::uint64_t lost = lost_in(got);
    INFO("key_hooks: " << key_hooks().line);
    INFO("delivered " << delivered << ", reported lost " << lost << ", operations " << expected);
    CHECK(delivered + lost >= expected);
    // Return instances are plenty for 200: nothing is lost at all.
    CHECK(delivered == expected);
    CHECK(lost == 0);
}

// A hook out of return instances misses calls: whatever they were about,
// every queue watching keys gets a loss record.  key_hooks_maxactive is
// lowered so that a few blocked calls exhaust __key_create_or_update's.
TEST_CASE("calls a hook misses are reported as loss to every key watcher",
          "[keys][loss][request-key]") {
    const Session s;
    const LingerGuard linger;
    const ParamGuard maxactive("key_hooks_maxactive");
    maxactive.set(8);
    const RequestKeyHelper helper;
    const Serial dest = new_keyring(unique("miss-dest"), s.id);
    const std::string k_desc = unique("miss-victim");
    const Serial k = new_user_key(k_desc, "x", s.id);
    const Serial ring = new_keyring(unique("miss-ring"), s.id);
    const Serial child = new_user_key(unique("miss-child"), "c", s.id);
    // Armed again from scratch, with the new number of instances.
    REQUIRE_FALSE(wait_hooks(false).armed);
    {
        Queue qd = key_queue();
        watch(qd, dest, 1);
        Queue q = sized_queue(1 << 20);
        watch(q, k, 2);
        watch(q, ring, 3);
        // A queue watching only an unrelated key: it might have missed a
        // record too, so it is told.
        const Serial other = new_user_key(unique("miss-other"), "o", s.id);
        Queue q_other = key_queue();
        watch(q_other, other, 4);

        BlockedAddKeys blockers(dest, qd, 24, 4);
        const std::size_t expected = watched_operations(s.id, k, k_desc, ring, child, 3);
        const int updated = blockers.finish();
        INFO("blocked calls that updated the key: " << updated);

        // The loss is seen when the calls holding the instances return.
        const Events got = wait_events(q, expected, 3000ms);
        const auto delivered = static_cast<std::size_t>(
            std::ranges::count_if(got, [](const Event& e) { return e.type == WQ_TYPE_KEY; }));
        const std::uint64_t lost = lost_in(got);
        const HookState st = key_hooks();
        INFO("key_hooks: " << st.line);
        INFO("delivered " << delivered << ", reported lost " << lost << ", operations "
                          << expected);
        CHECK(hooks_missed(st) > 0);
        CHECK(lost > 0);
        CHECK(delivered + lost >= expected);
        // The records that were not missed arrive whole and in order.
        const Events other_got = wait_events(q_other, 1, 3000ms);
        CHECK(lost_in(other_got) > 0);
        // Loss is counted in the ring's producer page too.
        CHECK(q.info().lost >= lost);
    }
    // Disarmed before the instance count goes back, for later tests.
    CHECK_FALSE(wait_hooks(false).armed);
}

// Opening a queue, watching a key and closing it, in a loop, must not make
// the module register and unregister its kprobes each time (every cycle
// patches kernel text and interrupts every CPU): after the last watch the
// hooks stay armed for key_hooks_linger_ms, then go.
TEST_CASE("the key hooks linger after the last watch and are armed once for many watches",
          "[keys]") {
    const Session s;
    const Serial k = new_user_key(unique("linger"), "x", s.id);
    {
        const LingerGuard fast;
        REQUIRE_FALSE(wait_hooks(false).armed);
    }
    const LingerGuard linger(3000);
    const std::uint64_t arms_before = read_param("key_hooks_arms");
    const auto start = std::chrono::steady_clock::now();
    constexpr int cycles = 100;
    for (int i = 0; i < cycles; ++i) {
        Queue q = key_queue();
        watch(q, k, 1);
    }
    const auto loop_time = std::chrono::steady_clock::now() - start;
    const std::uint64_t arms = read_param("key_hooks_arms") - arms_before;
    INFO("armed " << arms << " times in " << cycles << " cycles of "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(loop_time).count()
                  << " ms");
    // Once, or once more per linger period the loop took.
    CHECK(arms >= 1);
    CHECK(arms <= 1 + static_cast<std::uint64_t>(loop_time / 3000ms));
    // Still armed right after the last close; disarmed after the period.
    const auto closed = std::chrono::steady_clock::now();
    CHECK(key_hooks().armed);
    const HookState st = wait_hooks(false, 15000ms);
    const auto armed_for = std::chrono::steady_clock::now() - closed;
    INFO("disarmed after "
         << std::chrono::duration_cast<std::chrono::milliseconds>(armed_for).count() << " ms");
    CHECK_FALSE(st.armed);
    CHECK(armed_for >= 2500ms);
    CHECK(read_param("key_hooks_arms") - arms_before == arms);
}

// Every field of every key record type holds its defined value: the
// header's type info bits are 0, aux is 0 or the other key's serial, and
// the record is exactly 16 bytes; removal records carry the serial.
// Records are read raw, so stray bytes in any field show.
TEST_CASE("key records carry no stray bytes in aux or elsewhere", "[keys]") {
    const Session s;
    const SysctlGuard gc_delay("/proc/sys/kernel/keys/gc_delay");
    gc_delay.set("1");
    const Serial ring = new_keyring(unique("raw-ring"), s.id);
    const Serial k = new_user_key(unique("raw-k"), "x", s.id);
    const Serial k2 = new_user_key(unique("raw-k2"), "x", s.id);
    const Serial k3 = new_user_key(unique("raw-k3"), "x", s.id);
    Queue q = key_queue();
    watch(q, ring, 1);
    watch(q, k, 2);
    watch(q, k3, 3);
    // Several rounds, so that reused return instances are covered too.
    for (int round = 0; round < 3; ++round) {
        update(k, "y");
        setperm(k, possessor(perm_all) | owner(perm_view));
        set_timeout(k, 3600);
        link(k2, ring);
        unlink(k2, ring);
        link(k2, ring);
        clear(ring);
    }
    REQUIRE(try_revoke(k) == 0);
    invalidate(k3);
    std::vector<Bytes> raw;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (raw.size() < 3 * 7 + 3 && std::chrono::steady_clock::now() < deadline) {
        for (Bytes& r : collect_read(q)) {
            raw.push_back(std::move(r));
        }
        std::this_thread::sleep_for(20ms);
    }
    // 7 per round, REVOKED, INVALIDATED and k3's removal record.
    REQUIRE(raw.size() == 3 * 7 + 3);
    for (const Bytes& r : raw) {
        const Event e = decode_event(r);
        INFO(e);
        CHECK(r.size() == 16);
        CHECK(e.length == 16);
        CHECK(e.type_info == 0);
        if (e.type == WQ_TYPE_KEY) {
            const bool links = e.subtype == WQ_KEY_LINKED || e.subtype == WQ_KEY_UNLINKED;
            CHECK(e.aux == (links ? serial_aux(k2) : 0U));
            CHECK(e.object == static_cast<std::uint32_t>(links || e.subtype == WQ_KEY_CLEARED ? ring
                                                         : e.subtype == WQ_KEY_INVALIDATED    ? k3
                                                                                              : k));
        } else {
            CHECK(e == removal_event(3, k3));
        }
    }
}
