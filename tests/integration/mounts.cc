// SPDX-License-Identifier: GPL-2.0-or-later
// Mount records (WQ_TYPE_MOUNT) through WQ_IOC_WATCH_MOUNT, from real mount
// operations (mount(2), umount2(2), fspick/fsconfig) under a directory of a
// scratch tmpfs, checked against the mount ids /proc/self/mountinfo gives
// before and after each change.  Records arrive from a work item shortly
// after the change: a test toggles an attribute of a marker mount and
// waits for those records (settle()) rather than sleeping.  Other mount
// namespaces come from child processes.  Runs as root in the test guest.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <compare>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <optional>
#include <ostream>
#include <sched.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "device_helpers.h"
#include "fs_helpers.h"
#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

constexpr std::uint32_t in_subtree = WQ_MOUNT_IN_SUBTREE;
constexpr std::uint32_t now_ro = WQ_MOUNT_IS_NOW_RO;

// A mount record, the fields that identify it (the length is checked when
// decoding).
struct Rec {
    std::uint32_t subtype = 0;
    std::uint32_t flags = 0; // info & WQ_INFO_TYPE_INFO
    std::uint32_t watch_id = 0;
    std::uint64_t triggered_on = 0;
    std::uint64_t mount = 0; // auxiliary_mount

    // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy misreads a defaulted <=>
    friend auto operator<=>(const Rec&, const Rec&) = default;
};

const char* subtype_name(std::uint32_t subtype) {
    switch (subtype) {
    case WQ_MOUNT_NEW:
        return "NEW";
    case WQ_MOUNT_UNMOUNT:
        return "UNMOUNT";
    case WQ_MOUNT_READONLY:
        return "READONLY";
    case WQ_MOUNT_SETATTR:
        return "SETATTR";
    case WQ_MOUNT_MOVE_FROM:
        return "MOVE_FROM";
    case WQ_MOUNT_MOVE_TO:
        return "MOVE_TO";
    default:
        return "?";
    }
}

std::ostream& operator<<(std::ostream& os, const Rec& r) {
    os << "{" << subtype_name(r.subtype);
    if ((r.flags & in_subtree) != 0) {
        os << " IN_SUBTREE";
    }
    if ((r.flags & now_ro) != 0) {
        os << " IS_NOW_RO";
    }
    if ((r.flags & ~(in_subtree | now_ro)) != 0) {
        os << " flags 0x" << std::hex << r.flags << std::dec;
    }
    return os << " id " << r.watch_id << " on " << r.triggered_on << " mnt " << r.mount << "}";
}

Rec rec(std::uint32_t subtype, std::uint32_t flags, std::uint32_t watch_id,
        std::uint64_t triggered_on, std::uint64_t mount) {
    return {subtype, flags, watch_id, triggered_on, mount};
}

std::string describe(const std::vector<Rec>& recs) {
    std::ostringstream s;
    s << recs.size() << " records:";
    for (const Rec& r : recs) {
        s << "\n  " << r;
    }
    return s.str();
}

std::vector<Rec> sorted(std::vector<Rec> v) {
    std::ranges::sort(v);
    return v;
}

// A 24-byte mount record; anything else throws.
Rec decode_mount(const Bytes& bytes) {
    const Header h = header_of(bytes);
    if (h.type != WQ_TYPE_MOUNT || bytes.size() != sizeof(wq_mount_notification) ||
        h.length() != sizeof(wq_mount_notification)) {
        throw std::runtime_error("not a 24-byte mount record: type " + std::to_string(h.type) +
                                 " subtype " + std::to_string(h.subtype) + ", " +
                                 std::to_string(bytes.size()) + " bytes");
    }
    Rec r;
    r.subtype = h.subtype;
    r.flags = h.info & WQ_INFO_TYPE_INFO;
    r.watch_id = h.watch_id();
    std::memcpy(&r.triggered_on, bytes.data() + offsetof(wq_mount_notification, triggered_on), 8);
    std::memcpy(&r.mount, bytes.data() + offsetof(wq_mount_notification, auxiliary_mount), 8);
    return r;
}

std::vector<Rec> decode_all(const std::vector<Bytes>& recs) {
    std::vector<Rec> out;
    out.reserve(recs.size());
    for (const Bytes& b : recs) {
        out.push_back(decode_mount(b));
    }
    return out;
}

Queue mount_queue() {
    return sized_queue(64UL * 1024);
}

Fd open_dir(const std::string& path) {
    return open_fd(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

// A tmpfs mounted in the watched subtree (before anything watches it) whose
// nosuid flag settle() toggles: its SETATTR records show how far the module
// has read the mount table.  (A marker mounted and unmounted for each
// settle() would take the lowest free mount id, most often that of a mount
// the test just removed, which mountinfo cannot tell from a move.)  It is
// reached through a descriptor of its root, also while another mount covers
// it.
class Marker {
public:
    explicit Marker(const std::string& path) {
        make_dirs(path);
        const auto before = mountinfo();
        mount_tmpfs(path);
        id_ = added_mount(before, mountinfo(), path).id;
        root_ = open_fd(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }

    [[nodiscard]] std::uint64_t id() const noexcept { return id_; }

    // Flips nosuid; the mount is detached with the arena.
    void toggle() const {
        nosuid_ = !nosuid_;
        sys_mount("", "/proc/self/fd/" + std::to_string(root_.get()), nullptr,
                  MS_REMOUNT | MS_BIND | (nosuid_ ? static_cast<unsigned long>(MS_NOSUID) : 0UL));
    }

private:
    std::uint64_t id_ = 0;
    Fd root_;
    mutable bool nosuid_ = false;
};

// Every record posted about the changes made before the call: toggles the
// marker's nosuid flag twice, reading until the SETATTR record of each
// toggle has arrived.  The module reads the whole table on each pass, so a
// change made before the first toggle has been posted by the time the first
// SETATTR is; waiting for the second lets the pass that posted the first
// finish.  The marker's two records are left out.
std::vector<Rec> settle(Queue& q, const Marker& marker) {
    std::vector<Rec> got;
    std::size_t seen = 0;
    std::vector<std::size_t> at; // positions of the marker's records
    auto arrived = [&](std::size_t n) {
        return [&, n](const std::vector<Bytes>& more) {
            for (; seen < more.size(); ++seen) {
                got.push_back(decode_mount(more[seen]));
                if (got.back().subtype == WQ_MOUNT_SETATTR && got.back().mount == marker.id()) {
                    at.push_back(got.size() - 1);
                }
            }
            return at.size() >= n;
        };
    };
    for (const std::size_t n : {1U, 2U}) {
        marker.toggle();
        seen = 0;
        records_until(q, arrived(n));
        if (at.size() < n) {
            throw std::runtime_error("the marker's SETATTR (" + std::to_string(n) +
                                     ") never arrived; " + describe(got));
        }
    }
    got.erase(got.begin() + static_cast<std::ptrdiff_t>(at[1]));
    got.erase(got.begin() + static_cast<std::ptrdiff_t>(at[0]));
    return got;
}

// A scratch tmpfs at /run/wq-mnt-<pid> with the watched directory
// "watched" (and its marker) in it, and neighbours outside it.
class Arena {
public:
    Arena() : scratch_("/run/wq-mnt-" + std::to_string(::getpid())) {
        for (const char* d : {"/watched", "/watched/a", "/watched2", "/outside", "/outside2"}) {
            make_dirs(scratch_.path() + d);
        }
        marker_.emplace(at(".marker"));
    }

    [[nodiscard]] const std::string& base() const { return scratch_.path(); }
    [[nodiscard]] std::uint64_t base_id() const { return scratch_.id(); }
    [[nodiscard]] std::string watched() const { return base() + "/watched"; }
    [[nodiscard]] std::string at(const std::string& rel) const { return watched() + "/" + rel; }
    [[nodiscard]] const Marker& marker() const { return *marker_; }

private:
    ScratchMount scratch_;
    std::optional<Marker> marker_;
};

// Mounts a tmpfs at @path (made if missing) and returns its mountinfo entry.
MountEntry new_tmpfs(const std::string& path, unsigned long flags = 0) {
    make_dirs(path);
    const auto before = mountinfo();
    mount_tmpfs(path, flags);
    return added_mount(before, mountinfo(), path);
}

// mount(2) of any kind at @path; returns the mount that appeared there.
MountEntry new_mount(const std::string& source, const std::string& path, unsigned long flags) {
    make_dirs(path);
    const auto before = mountinfo();
    sys_mount(source, path, nullptr, flags);
    return added_mount(before, mountinfo(), path);
}

void remount(const std::string& path, unsigned long flags) {
    sys_mount("", path, nullptr, MS_REMOUNT | flags);
}

void move_mount_to(const std::string& from, const std::string& to) {
    make_dirs(to);
    sys_mount(from, to, nullptr, MS_MOVE);
}

} // namespace

// ---- the device and the arguments -------------------------------------------------

TEST_CASE("GET_INFO reports the mount source", "[mounts]") {
    const Queue q = mount_queue();
    CHECK((q.info().features & WQ_FEATURE_MOUNT) != 0);
}

TEST_CASE("mount watch arguments are checked", "[mounts]") {
    const Arena arena;
    const Marker inner(arena.at("a/.marker"));
    Queue q = mount_queue();
    const Fd d = open_dir(arena.watched());
    CHECK(watch_mount(q.fd(), d.get(), 256) == EINVAL);
    CHECK(watch_mount(q.fd(), d.get(), -2) == EINVAL);
    CHECK(watch_mount(q.fd(), d.get(), INT32_MIN) == EINVAL);
    CHECK(watch_mount(q.fd(), d.get(), 1, 1) == EINVAL);
    CHECK(watch_mount(q.fd(), d.get(), 1, 0x8000'0000U) == EINVAL);
    CHECK(watch_mount(q.fd(), d.get(), 1, 0, 1) == EINVAL);
    CHECK(watch_mount(q.fd(), d.get(), -1, 1) == EINVAL);
    CHECK(watch_mount(q.fd(), -1, 1) == EBADF);
    CHECK(watch_mount(q.fd(), 1000, 1) == EBADF);
    const Fd path = open_fd(arena.watched(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    CHECK(watch_mount(q.fd(), path.get(), 1) == EBADF);
    // Not a directory.
    const Fd file = create_file(arena.base() + "/file");
    CHECK(watch_mount(q.fd(), file.get(), 1) == ENOTDIR);
    const Fd null = open_fd("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(watch_mount(q.fd(), null.get(), 1) == ENOTDIR);
    CHECK(errno_of(::ioctl(q.fd(), WQ_IOC_WATCH_MOUNT, nullptr)) == EFAULT);
    // Not a queue.
    CHECK(watch_mount(null.get(), d.get(), 1) == ENOTTY);
    // None of them added a watch.
    CHECK(watch_mount(q.fd(), d.get(), -1) == EBADSLT);
    REQUIRE(watch_mount(q.fd(), open_dir(arena.at("a")).get(), 2) == 0);
    new_tmpfs(arena.at("x"));
    CHECK(settle(q, inner).empty());
}

TEST_CASE("a queue watches a directory once; -1 removes it with an 8-byte removal record",
          "[mounts]") {
    const Arena arena;
    const Marker inner(arena.at("a/.marker"));
    Queue q = mount_queue();
    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), 3) == 0);
    CHECK(watch_mount(q.fd(), open_dir(arena.watched()).get(), 3) == EBUSY);
    CHECK(watch_mount(q.fd(), open_dir(arena.watched()).get(), 4) == EBUSY);
    // Another directory, even inside the first, is another watch.
    REQUIRE(watch_mount(q.fd(), open_dir(arena.at("a")).get(), 5) == 0);
    // Another queue has its own watches.
    Queue other = mount_queue();
    CHECK(watch_mount(other.fd(), open_dir(arena.watched()).get(), 3) == 0);

    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), -1) == 0);
    const auto recs = collect_read(q);
    REQUIRE(recs.size() == 1);
    const Header h = header_of(recs[0]);
    CHECK(h.type == WQ_TYPE_META);
    CHECK(h.subtype == WQ_META_REMOVAL);
    CHECK(h.length() == 8);
    CHECK(recs[0].size() == 8);
    CHECK(h.watch_id() == 3);
    CHECK(watch_mount(q.fd(), open_dir(arena.watched()).get(), -1) == EBADSLT);

    // Only the watch of "a" is left: a mount in "watched" but outside "a"
    // is not seen by this queue, the other queue sees it.
    const MountEntry x = new_tmpfs(arena.at("x"));
    CHECK(settle(other, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_NEW, in_subtree, 3, arena.base_id(), x.id)});
    CHECK(settle(q, inner).empty());
}

// ---- attach, detach -------------------------------------------------------------

TEST_CASE("NEW and UNMOUNT at the directory and below it, with mountinfo's ids", "[mounts]") {
    const Arena arena;
    Queue q = mount_queue();
    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), 4) == 0);
    const std::uint64_t base = arena.base_id();

    // On the watched directory itself: no IN_SUBTREE.
    const MountEntry on_dir = new_tmpfs(arena.watched());
    CHECK(on_dir.parent == base);
    CHECK(settle(q, arena.marker()) == std::vector<Rec>{rec(WQ_MOUNT_NEW, 0, 4, base, on_dir.id)});
    sys_umount(arena.watched());
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_UNMOUNT, 0, 4, base, on_dir.id)});

    // Below it.
    const MountEntry a = new_tmpfs(arena.at("a"));
    CHECK(a.parent == base);
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_NEW, in_subtree, 4, base, a.id)});
    sys_umount(arena.at("a"));
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_UNMOUNT, in_subtree, 4, base, a.id)});

    // Read-only from the start.
    const MountEntry ro = new_tmpfs(arena.at("ro"), MS_RDONLY);
    CHECK(ro.read_only());
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_NEW, in_subtree | now_ro, 4, base, ro.id)});
    sys_umount(arena.at("ro"));
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_UNMOUNT, in_subtree, 4, base, ro.id)});
}

TEST_CASE("a mount replaced at once, with the same id: UNMOUNT and NEW", "[mounts]") {
    const Arena arena;
    Queue q = mount_queue();
    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), 5) == 0);
    const std::uint64_t base = arena.base_id();
    make_dirs(arena.base() + "/src");
    const MountEntry first = new_tmpfs(arena.at("a"));
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_NEW, in_subtree, 5, base, first.id)});
    // A bind mount in its place right away, most likely before the module
    // reads the table and with the same id (the lowest free one): mountinfo
    // tells the two apart by device number and root.
    sys_umount(arena.at("a"));
    const MountEntry second = new_mount(arena.base() + "/src", arena.at("a"), MS_BIND);
    INFO("ids " << first.id << " and " << second.id);
    CHECK(first.dev != second.dev);
    CHECK(second.root == "/src");
    CHECK(sorted(settle(q, arena.marker())) ==
          sorted({rec(WQ_MOUNT_UNMOUNT, in_subtree, 5, base, first.id),
                  rec(WQ_MOUNT_NEW, in_subtree, 5, base, second.id)}));
}

TEST_CASE("nested mounts name their parent mount; a lazy unmount detaches the tree", "[mounts]") {
    const Arena arena;
    Queue q = mount_queue();
    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), 6) == 0);
    const std::uint64_t base = arena.base_id();
    const MountEntry a = new_tmpfs(arena.at("a"));
    const MountEntry b = new_tmpfs(arena.at("a/b"));
    const MountEntry c = new_tmpfs(arena.at("a/b/c"));
    CHECK(b.parent == a.id);
    CHECK(c.parent == b.id);
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_NEW, in_subtree, 6, base, a.id),
                           rec(WQ_MOUNT_NEW, in_subtree, 6, a.id, b.id),
                           rec(WQ_MOUNT_NEW, in_subtree, 6, b.id, c.id)});
    sys_umount(arena.at("a"), MNT_DETACH);
    CHECK(sorted(settle(q, arena.marker())) ==
          sorted({rec(WQ_MOUNT_UNMOUNT, in_subtree, 6, base, a.id),
                  rec(WQ_MOUNT_UNMOUNT, in_subtree, 6, a.id, b.id),
                  rec(WQ_MOUNT_UNMOUNT, in_subtree, 6, b.id, c.id)}));
}

TEST_CASE("bind mounts: plain and recursive", "[mounts]") {
    const Arena arena;
    Queue q = mount_queue();
    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), 7) == 0);
    const std::uint64_t base = arena.base_id();
    // A directory of the scratch tmpfs, from outside the watched directory.
    make_dirs(arena.base() + "/src/t");
    const MountEntry bind = new_mount(arena.base() + "/src", arena.at("bind"), MS_BIND);
    CHECK(bind.root == "/src");
    CHECK(bind.parent == base);
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_NEW, in_subtree, 7, base, bind.id)});
    sys_umount(arena.at("bind"));
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_UNMOUNT, in_subtree, 7, base, bind.id)});

    // A tree with a mount in it (made outside: not reported), bound
    // recursively below the watched directory: both copies are new.
    new_tmpfs(arena.base() + "/src/t");
    CHECK(settle(q, arena.marker()).empty());
    const auto before = mountinfo();
    make_dirs(arena.at("rbind"));
    sys_mount(arena.base() + "/src", arena.at("rbind"), nullptr, MS_BIND | MS_REC);
    const auto after = mountinfo();
    const MountEntry top = added_mount(before, after, arena.at("rbind"));
    const MountEntry sub = added_mount(before, after, arena.at("rbind/t"));
    CHECK(sub.parent == top.id);
    CHECK(sorted(settle(q, arena.marker())) ==
          sorted({rec(WQ_MOUNT_NEW, in_subtree, 7, base, top.id),
                  rec(WQ_MOUNT_NEW, in_subtree, 7, top.id, sub.id)}));
}

TEST_CASE("moving mounts: MOVE_TO into the subtree, MOVE_FROM out of it, both within it",
          "[mounts]") {
    const Arena arena;
    Queue q = mount_queue();
    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), 8) == 0);
    const std::uint64_t base = arena.base_id();
    const std::string outside = arena.base() + "/outside";
    const MountEntry o = new_tmpfs(outside);
    CHECK(settle(q, arena.marker()).empty());

    // Onto the watched directory itself and back out.
    move_mount_to(outside, arena.watched());
    CHECK(mount_at(arena.watched()).id == o.id);
    CHECK(settle(q, arena.marker()) == std::vector<Rec>{rec(WQ_MOUNT_MOVE_TO, 0, 8, base, o.id)});
    move_mount_to(arena.watched(), outside);
    CHECK(settle(q, arena.marker()) == std::vector<Rec>{rec(WQ_MOUNT_MOVE_FROM, 0, 8, base, o.id)});

    // Into the subtree.
    move_mount_to(outside, arena.at("m"));
    CHECK(mount_at(arena.at("m")).id == o.id);
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_MOVE_TO, in_subtree, 8, base, o.id)});

    // Within it, to another parent mount: both halves.
    const MountEntry a = new_tmpfs(arena.at("a"));
    make_dirs(arena.at("a/x"));
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_NEW, in_subtree, 8, base, a.id)});
    move_mount_to(arena.at("m"), arena.at("a/x"));
    CHECK(mount_at(arena.at("a/x")).parent == a.id);
    CHECK(sorted(settle(q, arena.marker())) ==
          sorted({rec(WQ_MOUNT_MOVE_FROM, in_subtree, 8, base, o.id),
                  rec(WQ_MOUNT_MOVE_TO, in_subtree, 8, a.id, o.id)}));

    // Out of it: MOVE_FROM names the old parent.
    move_mount_to(arena.at("a/x"), outside);
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_MOVE_FROM, in_subtree, 8, a.id, o.id)});
    // Moved around outside: nothing.
    move_mount_to(outside, arena.base() + "/outside2");
    CHECK(settle(q, arena.marker()).empty());
}

// ---- read-only and attributes ---------------------------------------------------

TEST_CASE("a mount made read-only and back: READONLY with and without IS_NOW_RO", "[mounts]") {
    const Arena arena;
    Queue q = mount_queue();
    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), 9) == 0);
    const std::uint64_t base = arena.base_id();
    const MountEntry a = new_tmpfs(arena.at("a"));
    CHECK(settle(q, arena.marker()).size() == 1);
    remount(arena.at("a"), MS_BIND | MS_RDONLY);
    const MountEntry ro = mount_at(arena.at("a"));
    CHECK(ro.options.starts_with("ro"));
    CHECK(ro.super_options.starts_with("rw"));
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_READONLY, in_subtree | now_ro, 9, base, a.id)});
    remount(arena.at("a"), MS_BIND);
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_READONLY, in_subtree, 9, base, a.id)});
    // Unchanged: nothing.
    remount(arena.at("a"), MS_BIND);
    CHECK(settle(q, arena.marker()).empty());

    // The mount on the watched directory itself (the marker directory is
    // made while it is writable).
    const MountEntry top = new_tmpfs(arena.watched());
    CHECK(settle(q, arena.marker()) == std::vector<Rec>{rec(WQ_MOUNT_NEW, 0, 9, base, top.id)});
    remount(arena.watched(), MS_BIND | MS_RDONLY);
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_READONLY, now_ro, 9, base, top.id)});
}

TEST_CASE("a filesystem remounted read-only: READONLY for each of its mounts", "[mounts]") {
    const Arena arena;
    Queue q = mount_queue();
    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), 10) == 0);
    const std::uint64_t base = arena.base_id();
    const MountEntry a = new_tmpfs(arena.at("a"));
    const MountEntry b = new_mount(arena.at("a"), arena.at("b"), MS_BIND);
    CHECK(a.dev == b.dev);
    CHECK(settle(q, arena.marker()).size() == 2);

    // The classic remount: the filesystem and the mount it names.
    remount(arena.at("a"), MS_RDONLY);
    CHECK(mount_at(arena.at("b")).super_options.starts_with("ro"));
    CHECK(sorted(settle(q, arena.marker())) ==
          sorted({rec(WQ_MOUNT_READONLY, in_subtree | now_ro, 10, base, a.id),
                  rec(WQ_MOUNT_READONLY, in_subtree | now_ro, 10, base, b.id)}));
    remount(arena.at("a"), 0);
    CHECK(sorted(settle(q, arena.marker())) ==
          sorted({rec(WQ_MOUNT_READONLY, in_subtree, 10, base, a.id),
                  rec(WQ_MOUNT_READONLY, in_subtree, 10, base, b.id)}));
}

TEST_CASE("a filesystem reconfigured read-only (fspick, fsconfig): READONLY for its mounts",
          "[mounts]") {
    const Arena arena;
    Queue q = mount_queue();
    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), 11) == 0);
    const std::uint64_t base = arena.base_id();
    const MountEntry a = new_tmpfs(arena.at("a"));
    const MountEntry b = new_mount(arena.at("a"), arena.at("b"), MS_BIND);
    CHECK(settle(q, arena.marker()).size() == 2);
    // Only the superblock changes; no mount flag does.
    auto reconfigure = [&](const char* flag) {
        const Fd fc(::fspick(AT_FDCWD, arena.at("a").c_str(), FSPICK_CLOEXEC));
        REQUIRE(fc);
        REQUIRE(::fsconfig(fc.get(), FSCONFIG_SET_FLAG, flag, nullptr, 0) == 0);
        REQUIRE(::fsconfig(fc.get(), FSCONFIG_CMD_RECONFIGURE, nullptr, nullptr, 0) == 0);
    };
    reconfigure("ro");
    const MountEntry now = mount_at(arena.at("a"));
    CHECK(now.options.starts_with("rw"));
    CHECK(now.super_options.starts_with("ro"));
    CHECK(sorted(settle(q, arena.marker())) ==
          sorted({rec(WQ_MOUNT_READONLY, in_subtree | now_ro, 11, base, a.id),
                  rec(WQ_MOUNT_READONLY, in_subtree | now_ro, 11, base, b.id)}));
    reconfigure("rw");
    CHECK(sorted(settle(q, arena.marker())) ==
          sorted({rec(WQ_MOUNT_READONLY, in_subtree, 11, base, a.id),
                  rec(WQ_MOUNT_READONLY, in_subtree, 11, base, b.id)}));
}

TEST_CASE("other mount attributes give SETATTR", "[mounts]") {
    const Arena arena;
    Queue q = mount_queue();
    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), 12) == 0);
    const std::uint64_t base = arena.base_id();
    const MountEntry a = new_tmpfs(arena.at("a"));
    CHECK(settle(q, arena.marker()).size() == 1);
    const std::string path = arena.at("a");
    const Rec setattr = rec(WQ_MOUNT_SETATTR, in_subtree, 12, base, a.id);

    remount(path, MS_BIND | MS_NOSUID);
    CHECK(mount_at(path).options.find("nosuid") != std::string::npos);
    CHECK(settle(q, arena.marker()) == std::vector<Rec>{setattr});
    remount(path, MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    CHECK(settle(q, arena.marker()) == std::vector<Rec>{setattr});
    remount(path, MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME);
    CHECK(mount_at(path).options.find("noatime") != std::string::npos);
    CHECK(settle(q, arena.marker()) == std::vector<Rec>{setattr});
    // Read-only alone: READONLY, not SETATTR.
    remount(path, MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_RDONLY);
    CHECK(settle(q, arena.marker()) ==
          std::vector<Rec>{rec(WQ_MOUNT_READONLY, in_subtree | now_ro, 12, base, a.id)});
    // Both at once: both (noatime is kept when no atime flag is given).
    remount(path, MS_BIND);
    CHECK(sorted(settle(q, arena.marker())) ==
          sorted({rec(WQ_MOUNT_READONLY, in_subtree, 12, base, a.id), setattr}));
}

// ---- what is not reported ---------------------------------------------------------

TEST_CASE("mounts outside the watched directory give nothing", "[mounts]") {
    const Arena arena;
    Queue q = mount_queue();
    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), 13) == 0);
    // A sibling whose name starts with the watched one's, the parent
    // directory's neighbours, a bind of the watched directory elsewhere and
    // a mount elsewhere in the system.
    const std::string sibling = arena.base() + "/watched2";
    const std::string outside = arena.base() + "/outside";
    const std::string bind = arena.base() + "/outside2";
    const std::string elsewhere = "/run/wq-mnt-elsewhere-" + std::to_string(::getpid());
    new_tmpfs(sibling);
    new_tmpfs(outside);
    new_mount(arena.watched(), bind, MS_BIND);
    new_tmpfs(elsewhere);
    for (const std::string& p : {sibling, outside, bind, elsewhere}) {
        remount(p, MS_BIND | MS_RDONLY);
        remount(p, MS_BIND | MS_NOSUID);
    }
    CHECK(settle(q, arena.marker()).empty());
    for (const std::string& p : {sibling, outside, bind, elsewhere}) {
        sys_umount(p);
    }
    ::rmdir(elsewhere.c_str());
    CHECK(settle(q, arena.marker()).empty());
}

TEST_CASE("mounts made in another mount namespace are not reported", "[mounts]") {
    const Arena arena;
    const MountEntry a = new_tmpfs(arena.at("a"));
    Queue q = mount_queue();
    REQUIRE(watch_mount(q.fd(), open_dir(arena.watched()).get(), 14) == 0);
    make_dirs(arena.at("ns"));
    // The child mounts below the watched directory and unmounts its copy
    // of "a", in its own namespace.
    const NamespaceChild child(arena.at("ns"), arena.at("a"));
    const auto theirs = mountinfo("/proc/" + std::to_string(child.pid()) + "/mountinfo");
    CHECK(std::ranges::count_if(
              theirs, [&](const MountEntry& e) { return e.mount_point == arena.at("ns"); }) == 1);
    CHECK(std::ranges::none_of(
        theirs, [&](const MountEntry& e) { return e.mount_point == arena.at("a"); }));
    CHECK(settle(q, arena.marker()).empty());
    CHECK(mount_at(arena.at("a")).id == a.id);
}

TEST_CASE("a directory of another mount namespace gives EXDEV", "[mounts]") {
    const Arena arena;
    make_dirs(arena.base() + "/ns");
    const NamespaceChild child(arena.base() + "/ns");
    const std::string root = "/proc/" + std::to_string(child.pid()) + "/root";
    Queue q = mount_queue();
    // The child's own tmpfs, and the child's copy of the scratch tmpfs.
    CHECK(watch_mount(q.fd(), open_dir(root + arena.base() + "/ns").get(), 1) == EXDEV);
    CHECK(watch_mount(q.fd(), open_dir(root + arena.watched()).get(), 1) == EXDEV);
    // The same paths in this namespace.
    CHECK(watch_mount(q.fd(), open_dir(arena.base() + "/ns").get(), 1) == 0);
    CHECK(watch_mount(q.fd(), open_dir(arena.watched()).get(), 2) == 0);
}

TEST_CASE("without procfs on /proc a mount watch gives ENOENT", "[mounts]") {
    const Arena arena;
    const std::string dir = arena.watched();
    const auto got = run_in_child(
        [] {
            return ::unshare(CLONE_NEWNS) == 0 &&
                   ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                   ::umount2("/proc", MNT_DETACH) == 0;
        },
        [&] {
            Queue q = mount_queue();
            return std::vector<long>{watch_mount(q.fd(), open_dir(dir).get(), 1)};
        });
    REQUIRE(got.size() == 1);
    CHECK(got[0] == ENOENT);
}

// ---- permissions ------------------------------------------------------------------

TEST_CASE("an unprivileged user may watch a directory and gets the records", "[mounts]") {
    const Arena arena;
    const std::string dir = arena.watched();
    const std::string target = arena.at("u");
    make_dirs(target);
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    Fd ready_rd(fds[0]);
    Fd ready_wr(fds[1]);
    // Mounts once the unprivileged watcher says it watches.
    std::atomic<std::uint64_t> made{0};
    Failures failures;
    std::jthread mounter = spawn(failures, [&] {
        if (poll_events(ready_rd.get(), POLLIN, 30000) == 0) {
            throw std::runtime_error("the watcher never got ready");
        }
        const auto before = mountinfo();
        mount_tmpfs(target);
        made = added_mount(before, mountinfo(), target).id;
    });
    const auto got = run_unprivileged([&] {
        Queue q = mount_queue();
        const long watched = watch_mount(q.fd(), open_dir(dir).get(), 15);
        if (::write(ready_wr.get(), "x", 1) != 1) {
            throw_errno("write");
        }
        const auto recs = decode_all(records_until(
            q, [](const std::vector<Bytes>& r) { return !r.empty(); }, 20s));
        if (recs.size() != 1) {
            return std::vector<long>{watched, static_cast<long>(recs.size())};
        }
        const Rec& r = recs[0];
        return std::vector<long>{watched,
                                 1,
                                 static_cast<long>(r.subtype),
                                 static_cast<long>(r.flags),
                                 static_cast<long>(r.watch_id),
                                 static_cast<long>(r.triggered_on),
                                 static_cast<long>(r.mount)};
    });
    mounter.join();
    INFO(failures.str());
    REQUIRE(failures.empty());
    REQUIRE(got.size() >= 2);
    CHECK(got[0] == 0);
    REQUIRE(got[1] == 1);
    REQUIRE(got.size() == 7);
    CHECK(got[2] == WQ_MOUNT_NEW);
    CHECK(got[3] == static_cast<long>(in_subtree));
    CHECK(got[4] == 15);
    CHECK(got[5] == static_cast<long>(arena.base_id()));
    CHECK(got[6] == static_cast<long>(made.load()));
    sys_umount(target);
}

// ---- one table per namespace ------------------------------------------------------

namespace {

constexpr int many_queues = 8;
constexpr int many_dirs = 250; // watch ids 0..249 in each queue: 2000 watches

// The number of shared mount tables the module keeps.
std::uint64_t mount_tables() {
    return read_param("mount_tables");
}

// What the module charges for one copy of this namespace's table: its text
// in a buffer of 16 KiB doubled until the text fits, plus 56 bytes a line.
std::uint64_t table_bytes() {
    // Read here, not by cat(1): tests call this once per mount they make.
    std::ifstream in("/proc/self/mountinfo");
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto lines = static_cast<std::uint64_t>(std::ranges::count(text, '\n'));
    std::uint64_t cap = 16384;
    while (cap <= text.size()) {
        cap *= 2;
    }
    return cap + 1 + (lines + 1) * 56;
}

// many_dirs directories "d<i>" below @base.
std::vector<std::string> make_many_dirs(const std::string& base) {
    std::vector<std::string> dirs;
    for (int i = 0; i < many_dirs; ++i) {
        dirs.push_back(base + "/d" + std::to_string(i));
        make_dirs(dirs.back());
    }
    return dirs;
}

// Each of @queues watches each of @dirs, with the directory's index as
// watch id; returns how many watches were added.
long watch_many(std::vector<Queue>& queues, const std::vector<std::string>& dirs) {
    long added = 0;
    for (Queue& q : queues) {
        for (std::size_t i = 0; i < dirs.size(); ++i) {
            added += watch_mount(q.fd(), open_dir(dirs[i]).get(), static_cast<int>(i)) == 0 ? 1 : 0;
        }
    }
    return added;
}

// Waits until the module keeps @n tables (a closed queue's watches go with
// its last reference).
bool tables_become(std::uint64_t n, int tries = 200) {
    for (int i = 0; i < tries && mount_tables() != n; ++i) {
        ::usleep(10000);
    }
    return mount_tables() == n;
}

} // namespace

TEST_CASE("2000 watches in one namespace share one table, charged to the user once", "[mounts]") {
    const Arena arena;
    const std::vector<std::string> dirs = make_many_dirs(arena.at("many"));
    const std::uint64_t before = mount_tables();
    const std::uint64_t one = table_bytes();
    // Room for one table and a second one while it is re-read, far from
    // 2000 copies.
    const ParamGuard limit("max_user_mount_table_bytes");
    limit.set(3 * one);
    const auto got = run_unprivileged([&] {
        std::vector<Queue> queues;
        queues.reserve(many_queues);
        for (int i = 0; i < many_queues; ++i) {
            queues.push_back(mount_queue());
        }
        const long added = watch_many(queues, dirs);
        return std::vector<long>{added, static_cast<long>(mount_tables())};
    });
    INFO("one table: " << one << " bytes");
    CHECK(got == std::vector<long>{long{many_queues} * many_dirs, static_cast<long>(before + 1)});
    CHECK(tables_become(before));
}

TEST_CASE("max_user_mount_table_bytes: a watch whose table does not fit gives ENOSPC", "[mounts]") {
    const Arena arena;
    const std::string dir = arena.watched();
    const std::uint64_t one = table_bytes();
    const std::uint64_t before = mount_tables();
    const ParamGuard limit("max_user_mount_table_bytes");
    limit.set(one / 2);
    auto attempt = [&] {
        return run_unprivileged([&] {
            Queue q = mount_queue();
            return std::vector<long>{watch_mount(q.fd(), open_dir(dir).get(), 1),
                                     static_cast<long>(mount_tables())};
        });
    };
    CHECK(attempt() == std::vector<long>{ENOSPC, static_cast<long>(before)});
    // Nothing was left charged: with room for one table, it fits.
    limit.set(one + one / 2);
    CHECK(attempt() == std::vector<long>{0, static_cast<long>(before + 1)});
    limit.set(one / 2);
    CHECK(attempt() == std::vector<long>{ENOSPC, static_cast<long>(before)});
    // Root (CAP_SYS_RESOURCE) is not limited.
    Queue q = mount_queue();
    CHECK(watch_mount(q.fd(), open_dir(dir).get(), 1) == 0);
}

TEST_CASE("a burst of changes reaches every one of 2000 watches sharing a table", "[mounts]") {
    const Arena arena;
    const std::vector<std::string> dirs = make_many_dirs(arena.at("many"));
    const std::uint64_t before = mount_tables();
    std::vector<Queue> queues;
    queues.reserve(many_queues);
    for (int i = 0; i < many_queues; ++i) {
        queues.push_back(mount_queue());
    }
    REQUIRE(watch_many(queues, dirs) == long{many_queues} * many_dirs);
    CHECK(mount_tables() == before + 1);
    const std::uint64_t base = arena.base_id();

    // 250 mounts as fast as they can be made, read in far fewer passes:
    // each queue gets one NEW per watch, for its own directory's mount.
    for (const std::string& d : dirs) {
        make_dirs(d + "/m");
    }
    for (const std::string& d : dirs) {
        mount_tmpfs(d + "/m");
    }
    const auto table = mountinfo();
    std::vector<Rec> expect_new;
    std::vector<Rec> expect_gone;
    for (std::size_t i = 0; i < dirs.size(); ++i) {
        const auto it = std::ranges::find_if(
            table, [&](const MountEntry& e) { return e.mount_point == dirs[i] + "/m"; });
        REQUIRE(it != table.end());
        const auto id = static_cast<std::uint32_t>(i);
        expect_new.push_back(rec(WQ_MOUNT_NEW, in_subtree, id, base, it->id));
        expect_gone.push_back(rec(WQ_MOUNT_UNMOUNT, in_subtree, id, base, it->id));
    }
    auto all_of = [&](Queue& q) {
        return sorted(decode_all(
            records_until(q, [](const std::vector<Bytes>& r) { return r.size() >= many_dirs; })));
    };
    for (Queue& q : queues) {
        CHECK(all_of(q) == sorted(expect_new));
    }
    for (const std::string& d : dirs) {
        sys_umount(d + "/m");
    }
    for (Queue& q : queues) {
        CHECK(all_of(q) == sorted(expect_gone));
    }
    // Nothing more, nothing for the marker's directory.
    Queue watcher = mount_queue();
    REQUIRE(watch_mount(watcher.fd(), open_dir(arena.watched()).get(), 1) == 0);
    CHECK(mount_tables() == before + 1);
    CHECK(settle(watcher, arena.marker()).empty());
    for (Queue& q : queues) {
        CHECK(collect_read(q).empty());
    }
}

TEST_CASE("a thread in a mount namespace of its own watches that namespace", "[mounts]") {
    const Arena arena;
    const std::string dir = arena.at("t");
    make_dirs(dir + "/m");
    // The thread unshares its namespace (and so its fs context); the
    // process's other threads, /proc/self among them, stay in this one.
    const auto got = run_in_child(
        [] { return true; },
        [&] {
            std::vector<long> out;
            std::thread t([&] {
                if (::unshare(CLONE_NEWNS) != 0 ||
                    ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
                    out = {-1};
                    return;
                }
                Queue q = mount_queue();
                out.push_back(watch_mount(q.fd(), open_dir(dir).get(), 1));
                const auto before = mountinfo("/proc/thread-self/mountinfo");
                mount_tmpfs(dir + "/m");
                const MountEntry m =
                    added_mount(before, mountinfo("/proc/thread-self/mountinfo"), dir + "/m");
                const auto recs = decode_all(records_until(
                    q, [](const std::vector<Bytes>& r) { return !r.empty(); }, 5s));
                out.push_back(static_cast<long>(recs.size()));
                if (!recs.empty()) {
                    out.push_back(recs[0].subtype);
                    out.push_back(static_cast<long>(recs[0].mount == m.id));
                }
            });
            t.join();
            return out;
        });
    CHECK(got == std::vector<long>{0, 1, WQ_MOUNT_NEW, 1});
}

TEST_CASE("a table that fits the per-user limit once is re-read within it", "[mounts]") {
    const Arena arena;
    const std::string dir = arena.watched();
    const std::uint64_t one = table_bytes();
    // Room for one table, not for two: each re-read replaces the table.
    const ParamGuard limit("max_user_mount_table_bytes");
    limit.set(one + one / 2);
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    Fd ready_rd(fds[0]);
    Fd ready_wr(fds[1]);
    std::vector<std::string> targets;
    for (const char* t : {"u1", "u2", "u3"}) {
        targets.push_back(arena.at(t));
        make_dirs(targets.back());
    }
    Failures failures;
    std::jthread mounter = spawn(failures, [&] {
        if (poll_events(ready_rd.get(), POLLIN, 30000) == 0) {
            throw std::runtime_error("the watcher never got ready");
        }
        for (const std::string& t : targets) {
            mount_tmpfs(t);
            std::this_thread::sleep_for(50ms);
        }
    });
    const auto got = run_unprivileged([&] {
        Queue q = mount_queue();
        const long watched = watch_mount(q.fd(), open_dir(dir).get(), 1);
        if (::write(ready_wr.get(), "x", 1) != 1) {
            throw_errno("write");
        }
        const auto recs = decode_all(records_until(
            q, [](const std::vector<Bytes>& r) { return r.size() >= 3; }, 20s));
        long news = 0;
        for (const Rec& r : recs) {
            news += r.subtype == WQ_MOUNT_NEW ? 1 : 0;
        }
        return std::vector<long>{watched, static_cast<long>(recs.size()), news};
    });
    mounter.join();
    for (const std::string& t : targets) {
        ::umount2(t.c_str(), MNT_DETACH);
    }
    INFO(failures.str());
    REQUIRE(failures.empty());
    CHECK(got == std::vector<long>{0, 3, 3});
}

TEST_CASE("a table that outgrows the per-user limit: its watches get a loss record", "[mounts]") {
    // The watcher must make the table, and so pay for it: not join one
    // that earlier test cases' closed queues still hold (2000 watches go
    // slowly on a debug kernel).
    REQUIRE(tables_become(0, 6000));
    const Arena arena;
    const std::string dir = arena.watched();
    const std::uint64_t one = table_bytes();
    // Room for this table, not for one whose text needs a buffer twice as
    // large.
    const ParamGuard limit("max_user_mount_table_bytes");
    limit.set(one + one / 2);
    int fds[4];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(fds + 2, O_CLOEXEC) == 0);
    const Fd ready_rd(fds[0]);
    const Fd ready_wr(fds[1]);
    const Fd lost_rd(fds[2]);
    const Fd lost_wr(fds[3]);
    std::vector<std::string> grown;
    Failures failures;
    // Outside the watched directory: nothing to report but the loss.
    std::jthread mounter = spawn(failures, [&] {
        if (poll_events(ready_rd.get(), POLLIN, 30000) == 0) {
            throw std::runtime_error("the watcher never got ready");
        }
        while (table_bytes() < 2 * one) {
            grown.push_back(arena.base() + "/outside/g" + std::to_string(grown.size()));
            make_dirs(grown.back());
            mount_tmpfs(grown.back());
        }
        if (poll_events(lost_rd.get(), POLLIN, 200000) == 0) {
            throw std::runtime_error("the watcher never saw the loss");
        }
        // A mount in the directory, reported once the table fits again.
        // Made before the others go, so that its id is not one of theirs
        // (mountinfo cannot tell a reused id from a move).
        make_dirs(arena.at("after"));
        mount_tmpfs(arena.at("after"));
        for (const std::string& g : grown) {
            sys_umount(g);
        }
    });
    const auto got = run_unprivileged([&] {
        Queue q = mount_queue();
        const long watched = watch_mount(q.fd(), open_dir(dir).get(), 1);
        if (::write(ready_wr.get(), "x", 1) != 1) {
            throw_errno("write");
        }
        const auto has_loss = [](const std::vector<Bytes>& r) {
            return std::ranges::any_of(r, [](const Bytes& b) { return is_loss(b); });
        };
        auto recs = records_until(q, has_loss, 180s);
        const long lost = std::ranges::count_if(recs, [](const Bytes& b) { return is_loss(b); });
        const long others = static_cast<long>(recs.size()) - lost;
        if (::write(lost_wr.get(), "x", 1) != 1) {
            throw_errno("write");
        }
        // More loss records may come while the table shrinks back.
        recs = records_until(
            q,
            [](const std::vector<Bytes>& r) {
                return std::ranges::any_of(r, [](const Bytes& b) { return !is_loss(b); });
            },
            180s);
        std::vector<long> out{watched, lost > 0 ? 1 : 0, others};
        for (const Bytes& b : recs) {
            if (!is_loss(b)) {
                out.push_back(static_cast<long>(decode_mount(b).subtype));
            }
        }
        return out;
    });
    mounter.join();
    INFO(failures.str() << grown.size() << " mounts grew the table past " << 2 * one << " bytes");
    REQUIRE(failures.empty());
    CHECK(got == std::vector<long>{0, 1, 0, WQ_MOUNT_NEW});
    ::umount2(arena.at("after").c_str(), MNT_DETACH);
}

TEST_CASE("a table's charge passes to another user when its payer's watches end", "[mounts]") {
    // As above: the first user must make the table.
    REQUIRE(tables_become(0, 6000));
    const Arena arena;
    const std::string dir = arena.watched();
    const std::uint64_t one = table_bytes();
    const std::uint64_t before = mount_tables();
    // Room for one table per user.
    const ParamGuard limit("max_user_mount_table_bytes");
    limit.set(one + one / 2);
    constexpr uid_t first = 65534;
    constexpr uid_t second = 65533;
    // A watch of the directory in a mount namespace of its own: a second
    // table for the user.
    const auto own_namespace = [] {
        return ::unshare(CLONE_NEWNS) == 0 &&
               ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    };
    // 0 or the errno; ENOSPC is retried for a while if @wait (a closed
    // queue's watches go after a grace period).
    const auto second_table = [&](uid_t uid, bool wait) {
        const auto watch = [&] {
            Queue q = mount_queue();
            return watch_mount(q.fd(), open_dir(dir).get(), 1);
        };
        const auto got = run_in_child(
            [&] { return own_namespace() && become_user(uid); },
            [&] { return std::vector<long>{wait ? retry_while(ENOSPC, watch) : watch()}; });
        return got.empty() ? -1L : got[0];
    };

    // Each user holds a watch of the same table until told to stop.
    struct Holder {
        Fd ready_rd, ready_wr, stop_rd, stop_wr;
        std::vector<long> got;
    };
    const auto make_holder = [] {
        int fds[4];
        if (::pipe2(fds, O_CLOEXEC) != 0 || ::pipe2(fds + 2, O_CLOEXEC) != 0) {
            throw_errno("pipe2");
        }
        return Holder{Fd(fds[0]), Fd(fds[1]), Fd(fds[2]), Fd(fds[3]), {}};
    };
    Holder a = make_holder();
    Holder b = make_holder();
    Failures failures;
    const auto hold = [&](uid_t uid, Holder& h) {
        h.got = run_in_child([uid] { return become_user(uid); },
                             [&] {
                                 Queue q = mount_queue();
                                 const long watched = watch_mount(q.fd(), open_dir(dir).get(), 1);
                                 if (::write(h.ready_wr.get(), "x", 1) != 1) {
                                     throw_errno("write");
                                 }
                                 poll_events(h.stop_rd.get(), POLLIN, 60000);
                                 return std::vector<long>{watched};
                             });
    };
    std::jthread holder_a = spawn(failures, [&] { hold(first, a); });
    REQUIRE(poll_events(a.ready_rd.get(), POLLIN, 30000) != 0);
    CHECK(mount_tables() == before + 1);
    std::jthread holder_b = spawn(failures, [&] { hold(second, b); });
    REQUIRE(poll_events(b.ready_rd.get(), POLLIN, 30000) != 0);
    CHECK(mount_tables() == before + 1);

    // The first user pays: it has no room for a second table.
    CHECK(second_table(first, false) == ENOSPC);
    // Its watch ends; the second user's remains and pays from now on.
    REQUIRE(::write(a.stop_wr.get(), "x", 1) == 1);
    holder_a.join();
    CHECK(second_table(first, true) == 0);
    CHECK(second_table(second, false) == ENOSPC);
    REQUIRE(::write(b.stop_wr.get(), "x", 1) == 1);
    holder_b.join();
    INFO(failures.str());
    CHECK(failures.empty());
    CHECK(a.got == std::vector<long>{0});
    CHECK(b.got == std::vector<long>{0});
    CHECK(tables_become(before));
}
