// SPDX-License-Identifier: GPL-2.0-or-later
// Filesystem records (WQ_TYPE_SUPERBLOCK) through WQ_IOC_WATCH_SB, from real
// events: ext4 on a loop device under a device-mapper table that a test
// switches to fail the writes of one file (write-back errors, with and
// without fsync), ext4 errors (sysfs trigger_fs_error), remounts, a full
// filesystem, a quota limit, the last unmount; tmpfs for remounts and the
// argument checks.  Runs as root in the test guest (no udev: dmsetup runs
// without udev synchronisation, device nodes come from devtmpfs).
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <utility>

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/quota.h>
#include <sys/stat.h>

#include <linux/fiemap.h>
#include <linux/fs.h>

#include "device_helpers.h"
#include "fs_helpers.h"
#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t sector_size = 512;
constexpr std::size_t file_len = 64UL * 1024; // 16 blocks of 4 KiB
constexpr uid_t nobody = 65534;
// Users of the permission tests: the watcher, and someone else.
constexpr uid_t watcher_uid = 1234;
constexpr uid_t other_uid = 4321;
// <linux/quota.h>'s QUOTA_NL_BHARDWARN (that header clashes with <sys/quota.h>).
constexpr std::uint32_t quota_nl_bhardwarn = 4;
const std::string top = "/run/wq-fs";

// ---- records -------------------------------------------------------------------

struct SbRecord {
    Header h;
    std::size_t size = 0;
    std::uint64_t sb_id = 0;
    std::uint32_t error = 0;
    std::uint32_t aux = 0;
    std::uint64_t ino = 0;

    [[nodiscard]] std::uint32_t flags() const { return h.info & WQ_INFO_TYPE_INFO; }
};

const char* subtype_name(std::uint32_t subtype) {
    switch (subtype) {
    case WQ_SB_READONLY:
        return "READONLY";
    case WQ_SB_ERROR:
        return "ERROR";
    case WQ_SB_EDQUOT:
        return "EDQUOT";
    case WQ_SB_WRITEBACK_ERROR:
        return "WRITEBACK_ERROR";
    case WQ_SB_ENOSPC:
        return "ENOSPC";
    default:
        return "?";
    }
}

std::string describe(const SbRecord& r) {
    std::ostringstream s;
    s << "type " << r.h.type << " " << subtype_name(r.h.subtype) << " (" << r.h.subtype << ") len "
      << r.h.length() << " id " << r.h.watch_id() << " flags 0x" << std::hex << r.flags()
      << std::dec << " sb_id " << r.sb_id << " error " << r.error << " aux " << r.aux << " ino "
      << r.ino;
    return s.str();
}

// Any record, decoded as far as its length allows (the fields past it stay 0).
SbRecord decode_sb(const Bytes& rec) {
    SbRecord r;
    r.h = header_of(rec);
    r.size = rec.size();
    if (rec.size() >= sizeof(wq_superblock_notification)) {
        std::memcpy(&r.sb_id, rec.data() + offsetof(wq_superblock_notification, sb_id), 8);
    }
    if (rec.size() >= sizeof(wq_superblock_error_notification)) {
        std::memcpy(&r.error, rec.data() + offsetof(wq_superblock_error_notification, error), 4);
        std::memcpy(&r.aux, rec.data() + offsetof(wq_superblock_error_notification, aux), 4);
        std::memcpy(&r.ino, rec.data() + offsetof(wq_superblock_error_notification, ino), 8);
    }
    return r;
}

std::vector<SbRecord> decode_all(const std::vector<Bytes>& recs) {
    std::vector<SbRecord> out;
    out.reserve(recs.size());
    for (const Bytes& rec : recs) {
        out.push_back(decode_sb(rec));
    }
    return out;
}

std::string describe(const std::vector<SbRecord>& recs) {
    std::string s = std::to_string(recs.size()) + " records:";
    for (const SbRecord& r : recs) {
        s += "\n  " + describe(r);
    }
    return s;
}

bool is_sb(const SbRecord& r, std::uint32_t subtype) {
    return r.h.type == WQ_TYPE_SUPERBLOCK && r.h.subtype == subtype;
}

std::size_t count_sb(const std::vector<SbRecord>& recs, std::uint32_t subtype) {
    return static_cast<std::size_t>(
        std::ranges::count_if(recs, [&](const SbRecord& r) { return is_sb(r, subtype); }));
}

// A predicate for records_until: a record of @subtype has arrived.
auto has_sb(std::uint32_t subtype, std::size_t n = 1) {
    return [=](const std::vector<Bytes>& recs) {
        return count_sb(decode_all(recs), subtype) >= n;
    };
}

bool is_removal(const SbRecord& r) {
    return r.h.type == WQ_TYPE_META && r.h.subtype == WQ_META_REMOVAL;
}

// Checks an error-type record (32 bytes) field by field.
void check_error_record(const SbRecord& r, std::uint32_t subtype, std::uint32_t watch_id,
                        std::uint64_t sb_id, std::uint32_t error, std::uint64_t ino,
                        std::uint32_t aux = 0) {
    INFO(describe(r));
    CHECK(r.h.type == WQ_TYPE_SUPERBLOCK);
    CHECK(r.h.subtype == subtype);
    CHECK(r.h.length() == sizeof(wq_superblock_error_notification));
    CHECK(r.size == sizeof(wq_superblock_error_notification));
    CHECK(r.h.watch_id() == watch_id);
    CHECK(r.flags() == 0);
    CHECK(r.sb_id == sb_id);
    CHECK(r.error == error);
    CHECK(r.aux == aux);
    CHECK(r.ino == ino);
}

// Checks a WQ_SB_READONLY record (16 bytes).
void check_readonly_record(const SbRecord& r, std::uint32_t watch_id, std::uint64_t sb_id,
                           std::uint32_t flags) {
    INFO(describe(r));
    CHECK(r.h.type == WQ_TYPE_SUPERBLOCK);
    CHECK(r.h.subtype == WQ_SB_READONLY);
    CHECK(r.h.length() == sizeof(wq_superblock_notification));
    CHECK(r.size == sizeof(wq_superblock_notification));
    CHECK(r.h.watch_id() == watch_id);
    CHECK(r.flags() == flags);
    CHECK(r.sb_id == sb_id);
}

Queue fs_queue() {
    return sized_queue(64UL * 1024);
}

struct stat stat_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) {
        throw_errno("stat " + path);
    }
    return st;
}

Fd open_dir(const std::string& path) {
    return open_fd(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

// ---- files and their blocks -----------------------------------------------------

// Writes @len bytes of @fill at offset 0 (whole pages: the page cache never
// has to read, and blocks already allocated are overwritten in place).
void overwrite(int fd, std::size_t len, char fill) {
    const std::string buf(len, fill);
    const ssize_t n = ::pwrite(fd, buf.data(), buf.size(), 0);
    if (n != static_cast<ssize_t>(len)) {
        throw_errno("pwrite");
    }
}

// A file of file_len bytes written and synced, so that its blocks are
// allocated and on the disk; open read-write.
Fd data_file(const std::string& path) {
    Fd f = create_file(path, O_RDWR | O_TRUNC);
    overwrite(f.get(), file_len, 'a');
    if (::fsync(f.get()) < 0) {
        throw_errno("fsync " + path);
    }
    return f;
}

struct Extent {
    std::uint64_t physical = 0; // bytes from the start of the device
    std::uint64_t length = 0;
};

// The file's extents on its device (FIEMAP), all of them allocated and written.
std::vector<Extent> extents_of(int fd) {
    constexpr unsigned max_extents = 32;
    std::vector<std::uint64_t> buf((sizeof(fiemap) + max_extents * sizeof(fiemap_extent)) / 8 + 1);
    auto* fm = reinterpret_cast<fiemap*>(buf.data());
    fm->fm_start = 0;
    fm->fm_length = FIEMAP_MAX_OFFSET;
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = max_extents;
    if (::ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
        throw_errno("FS_IOC_FIEMAP");
    }
    std::vector<Extent> out;
    for (unsigned i = 0; i < fm->fm_mapped_extents; ++i) {
        const fiemap_extent& e = fm->fm_extents[i];
        if ((e.fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC |
                           FIEMAP_EXTENT_UNWRITTEN | FIEMAP_EXTENT_NOT_ALIGNED)) != 0) {
            throw std::runtime_error("extent with flags " + std::to_string(e.fe_flags));
        }
        out.push_back({e.fe_physical, e.fe_length});
    }
    if (out.empty()) {
        throw std::runtime_error("the file has no extents");
    }
    return out;
}

// ---- ext4 on a switchable device ---------------------------------------------

struct Ext4Options {
    std::string features;                  // mkfs.ext4 -O
    std::string extended;                  // more of mkfs.ext4 -E
    std::string mount = "errors=continue"; // mount(2) data
    std::uint64_t mib = 32;
};

// ext4 made on a loop device (a file on /run's tmpfs) under a dm table of
// the same size, mounted at /run/wq-fs/<name>.  fail() switches the table so
// that writes (and reads) of the given extents fail with EIO (dm's "error"
// target) and everything else still works.
class Ext4 {
public:
    explicit Ext4(std::string name, const Ext4Options& o = {})
        : name_(std::move(name)), image_(top + "/" + name_ + ".img"), dir_(top + "/" + name_),
          sectors_(o.mib * 1024 * 1024 / sector_size), mount_data_(o.mount) {
        // Modules on Debian's kernels, built in on the debug kernel.
        run("modprobe -q loop; modprobe -q dm_mod; true");
        make_dirs(dir_);
        {
            const Fd img = create_file(image_, O_RDWR | O_TRUNC, 0600);
            if (::ftruncate(img.get(), static_cast<off_t>(o.mib * 1024 * 1024)) < 0) {
                throw_errno("ftruncate " + image_);
            }
        }
        try {
            loop_ = capture("losetup -f --show " + image_);
            dmsetup("create " + name_ + " --table '" + linear(0, sectors_) + "'");
            dm_ = find_dm();
            // Inode tables and journal written now: no lazy init writing
            // in the background later.
            run("mkfs.ext4 -q -F -b 4096 -m 0 -E lazy_itable_init=0,lazy_journal_init=0" +
                (o.extended.empty() ? "" : "," + o.extended) +
                (o.features.empty() ? "" : " -O " + o.features) + " " + dm_);
            sys_mount(dm_, dir_, "ext4", 0, o.mount);
            mounted_ = true;
        } catch (...) {
            teardown();
            throw;
        }
    }
    Ext4(const Ext4&) = delete;
    Ext4& operator=(const Ext4&) = delete;
    Ext4(Ext4&&) = delete;
    Ext4& operator=(Ext4&&) = delete;
    ~Ext4() { teardown(); }

    [[nodiscard]] const std::string& dir() const noexcept { return dir_; }
    [[nodiscard]] const std::string& dev() const noexcept { return dm_; }
    [[nodiscard]] std::uint64_t sb_id() const { return stat_of(dir_).st_dev; }
    [[nodiscard]] std::string path(const std::string& file) const { return dir_ + "/" + file; }

    // ext4_error() through sysfs: "EXT4-fs error ... <text>" and its handling.
    void trigger_error() const {
        write_text("/sys/fs/ext4/" + fs::path(dm_).filename().string() + "/trigger_fs_error",
                   "wq-test induced error\n");
    }

    // From now on I/O to @extents fails.
    void fail(const std::vector<Extent>& extents) const {
        std::vector<std::pair<std::uint64_t, std::uint64_t>> bad; // sectors [first, end)
        bad.reserve(extents.size());
        for (const Extent& e : extents) {
            bad.emplace_back(e.physical / sector_size, (e.physical + e.length) / sector_size);
        }
        std::ranges::sort(bad);
        std::string table;
        std::uint64_t at = 0;
        for (const auto& [first, end] : bad) {
            if (first > at) {
                table += linear(at, first - at) + "\n";
            }
            table += std::to_string(first) + " " + std::to_string(end - first) + " error\n";
            at = end;
        }
        if (at < sectors_) {
            table += linear(at, sectors_ - at) + "\n";
        }
        load(table);
    }

    // All I/O works again.
    void heal() const { load(linear(0, sectors_) + "\n"); }

    // Unmounted, @fn run (e.g. debugfs on dev()), mounted again: nothing of
    // the filesystem is cached any more.
    void offline(const std::function<void()>& fn) {
        unmount();
        fn();
        sys_mount(dm_, dir_, "ext4", 0, mount_data_);
        mounted_ = true;
    }

    void unmount() {
        if (mounted_) {
            sys_umount(dir_);
            mounted_ = false;
        }
    }

private:
    [[nodiscard]] std::string linear(std::uint64_t start, std::uint64_t len) const {
        return std::to_string(start) + " " + std::to_string(len) + " linear " + loop_ + " " +
               std::to_string(start);
    }

    static void dmsetup(const std::string& args) {
        run("DM_DISABLE_UDEV=1 dmsetup --noudevsync --noudevrules " + args + " >/dev/null");
    }

    // Swaps the table in without freezing the filesystem.
    void load(const std::string& table) const {
        const std::string file = top + "/" + name_ + ".table";
        write_text(file, table);
        dmsetup("load " + name_ + " " + file);
        dmsetup("suspend --nolockfs --noflush " + name_);
        dmsetup("resume " + name_);
        ::unlink(file.c_str());
    }

    [[nodiscard]] std::string find_dm() const {
        std::string node;
        for (const auto& e : fs::directory_iterator("/sys/block")) {
            const fs::path n = e.path() / "dm/name";
            if (fs::exists(n) && read_line(n) == name_) {
                node = "/dev/" + e.path().filename().string();
            }
        }
        if (node.empty() || !wait_for([&] { return fs::exists(node); })) {
            throw std::runtime_error("no device node for dm device " + name_);
        }
        return node;
    }

    void teardown() noexcept {
        if (mounted_ && ::umount2(dir_.c_str(), 0) < 0) {
            ::umount2(dir_.c_str(), MNT_DETACH);
        }
        mounted_ = false;
        if (!dm_.empty() || !loop_.empty()) {
            // NOLINTNEXTLINE(cert-env33-c): test cleanup
            (void)std::system(("DM_DISABLE_UDEV=1 dmsetup --noudevsync --noudevrules remove "
                               "--retry " +
                               name_ + " >/dev/null 2>&1")
                                  .c_str());
        }
        if (!loop_.empty()) {
            (void)std::system(("losetup -d " + loop_ + " 2>/dev/null").c_str()); // NOLINT
        }
        ::unlink(image_.c_str());
        ::rmdir(dir_.c_str());
    }

    std::string name_;
    std::string image_;
    std::string dir_;
    std::uint64_t sectors_;
    std::string mount_data_;
    std::string loop_;
    std::string dm_;
    bool mounted_ = false;
};

} // namespace

// ---- the device and the arguments -------------------------------------------------

TEST_CASE("GET_INFO reports the superblock source and ext4 errors", "[fs]") {
    // ext4 is a module on Debian's kernels: its error functions can be
    // found once it is loaded.
    run("modprobe -q ext4; true");
    const Queue q = fs_queue();
    const wq_ring_info info = q.info();
    CHECK((info.features & WQ_FEATURE_SB) != 0);
    // ext4's error functions (or 7.x's fserror layer) are found on every
    // supported kernel.
    CHECK((info.features & WQ_FEATURE_SB_FS_ERRORS) != 0);
}

TEST_CASE("filesystem watch arguments are checked", "[fs]") {
    const ScratchMount scratch(top + "/args");
    const std::string file = scratch.path() + "/f";
    // Read-only: a remount read-only later must not find it open for writing.
    const Fd f = create_file(file, O_RDONLY);
    Queue q = fs_queue();
    CHECK(watch_sb(q.fd(), f.get(), 256) == EINVAL);
    CHECK(watch_sb(q.fd(), f.get(), -2) == EINVAL);
    CHECK(watch_sb(q.fd(), f.get(), INT32_MIN) == EINVAL);
    CHECK(watch_sb(q.fd(), f.get(), INT32_MAX) == EINVAL);
    CHECK(watch_sb(q.fd(), f.get(), 1, 1) == EINVAL);
    CHECK(watch_sb(q.fd(), f.get(), 1, 0x8000'0000U) == EINVAL);
    CHECK(watch_sb(q.fd(), f.get(), 1, 0, 1) == EINVAL);
    CHECK(watch_sb(q.fd(), f.get(), -1, 1) == EINVAL);
    CHECK(watch_sb(q.fd(), f.get(), -1, 0, 1) == EINVAL);
    CHECK(watch_sb(q.fd(), -1, 1) == EBADF);
    CHECK(watch_sb(q.fd(), -7, 1) == EBADF);
    CHECK(watch_sb(q.fd(), 1000, 1) == EBADF);
    // O_PATH opened nothing: refused like a closed descriptor.
    const Fd path = open_fd(file, O_PATH | O_CLOEXEC);
    CHECK(watch_sb(q.fd(), path.get(), 1) == EBADF);
    const Fd dir_path = open_fd(scratch.path(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    CHECK(watch_sb(q.fd(), dir_path.get(), 1) == EBADF);
    CHECK(errno_of(::ioctl(q.fd(), WQ_IOC_WATCH_SB, nullptr)) == EFAULT);
    // Not a queue.
    const Fd null = open_fd("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(watch_sb(null.get(), f.get(), 1) == ENOTTY);
    // Nothing was added by any of them.
    CHECK(watch_sb(q.fd(), f.get(), -1) == EBADSLT);
    sys_mount("", scratch.path(), nullptr, MS_REMOUNT | MS_RDONLY);
    sys_mount("", scratch.path(), nullptr, MS_REMOUNT);
    std::this_thread::sleep_for(200ms);
    CHECK(collect_read(q).empty());
}

TEST_CASE("a queue watches a filesystem once; -1 removes it with a 16-byte removal record",
          "[fs]") {
    const ScratchMount scratch(top + "/once");
    const std::string bind = top + "/once-bind";
    make_dirs(scratch.path() + "/d");
    make_dirs(bind);
    sys_mount(scratch.path() + "/d", bind, nullptr, MS_BIND);
    struct Unbind {
        std::string path;
        explicit Unbind(std::string p) : path(std::move(p)) {}
        Unbind(const Unbind&) = delete;
        Unbind& operator=(const Unbind&) = delete;
        Unbind(Unbind&&) = delete;
        Unbind& operator=(Unbind&&) = delete;
        ~Unbind() {
            ::umount2(path.c_str(), MNT_DETACH);
            ::rmdir(path.c_str());
        }
    } unbind{bind};
    const std::uint64_t sb_id = stat_of(scratch.path()).st_dev;
    CHECK(stat_of(bind).st_dev == sb_id);
    CHECK(mount_at(bind).dev == sb_id);

    Queue q = fs_queue();
    Queue other = fs_queue();
    {
        const Fd f = create_file(scratch.path() + "/f", O_RDONLY);
        REQUIRE(watch_sb(q.fd(), f.get(), 3) == 0);
    }
    // Any file of the filesystem is the same watch, through any mount.
    CHECK(watch_sb(q.fd(), open_dir(scratch.path()).get(), 3) == EBUSY);
    CHECK(watch_sb(q.fd(), open_dir(scratch.path() + "/d").get(), 4) == EBUSY);
    CHECK(watch_sb(q.fd(), open_dir(bind).get(), 5) == EBUSY);
    // Another filesystem is not watched: nothing to remove there.
    CHECK(watch_sb(q.fd(), open_dir("/dev").get(), -1) == EBADSLT);
    // Another queue has its own watch.
    CHECK(watch_sb(other.fd(), open_dir(bind).get(), 9) == 0);

    // Removed given another file of the filesystem (through the bind mount).
    REQUIRE(watch_sb(q.fd(), open_dir(bind).get(), -1) == 0);
    const auto recs = decode_all(collect_read(q));
    INFO(describe(recs));
    REQUIRE(recs.size() == 1);
    CHECK(is_removal(recs[0]));
    CHECK(recs[0].h.length() == sizeof(wq_removal_notification));
    CHECK(recs[0].size == sizeof(wq_removal_notification));
    CHECK(recs[0].h.watch_id() == 3);
    CHECK(recs[0].flags() == 0);
    CHECK(recs[0].sb_id == sb_id); // wq_removal_notification.id
    CHECK(watch_sb(q.fd(), open_dir(bind).get(), -1) == EBADSLT);

    // Watched again with another id; the other queue was not affected.
    REQUIRE(watch_sb(q.fd(), open_dir(scratch.path()).get(), 6) == 0);
    sys_mount("", scratch.path(), nullptr, MS_REMOUNT | MS_RDONLY);
    const auto mine = decode_all(records_until(q, has_sb(WQ_SB_READONLY)));
    const auto theirs = decode_all(records_until(other, has_sb(WQ_SB_READONLY)));
    INFO(describe(mine));
    INFO(describe(theirs));
    REQUIRE(mine.size() == 1);
    REQUIRE(theirs.size() == 1);
    check_readonly_record(mine[0], 6, sb_id, WQ_SB_IS_NOW_RO);
    check_readonly_record(theirs[0], 9, sb_id, WQ_SB_IS_NOW_RO);
    sys_mount("", scratch.path(), nullptr, MS_REMOUNT);
}

// ---- write-back errors ----------------------------------------------------------

TEST_CASE("fsync after a failed write-back: WRITEBACK_ERROR (EIO) is queued before fsync returns",
          "[fs]") {
    Ext4 ext4("wqfs_fsync");
    const Fd f = data_file(ext4.path("data"));
    struct stat st {};
    REQUIRE(::fstat(f.get(), &st) == 0);
    CHECK(st.st_dev == ext4.sb_id());
    // sb_id is also what mountinfo's major:minor of the mount says.
    CHECK(mount_at(ext4.dir()).dev == st.st_dev);

    Queue q = fs_queue();
    REQUIRE(watch_sb(q.fd(), f.get(), 5) == 0);
    ext4.fail(extents_of(f.get()));
    overwrite(f.get(), file_len, 'b');
    CHECK(collect_read(q).empty()); // dirty pages only, no write-back yet
    CHECK(errno_of(::fsync(f.get())) == EIO);
    // Drained at once, without waiting: posted before the write-back that
    // fsync waited for completed.
    const auto recs = decode_all(collect_read(q));
    INFO(describe(recs));
    REQUIRE(!recs.empty());
    // One record per failed write-back completion (a bio may cover part of
    // the file), all of them about this file.
    for (const SbRecord& r : recs) {
        check_error_record(r, WQ_SB_WRITEBACK_ERROR, 5, st.st_dev, EIO, st.st_ino);
    }

    // The error was reported to this file: a second fsync has nothing to
    // write and nothing to report, and nothing new is posted.
    CHECK(::fsync(f.get()) == 0);
    CHECK(collect_read(q).empty());
    // The device works again: the file can be written and synced.
    ext4.heal();
    overwrite(f.get(), file_len, 'c');
    CHECK(::fsync(f.get()) == 0);
    CHECK(collect_read(q).empty());
}

TEST_CASE("write-back errors are reported without any fsync (background write-back)", "[fs]") {
    Ext4 ext4("wqfs_background");
    const std::string file = ext4.path("data");
    std::vector<Extent> extents;
    struct stat st {};
    {
        const Fd f = data_file(file);
        extents = extents_of(f.get());
        REQUIRE(::fstat(f.get(), &st) == 0);
    }
    Queue q = fs_queue();
    REQUIRE(watch_sb(q.fd(), open_dir(ext4.dir()).get(), 6) == 0);
    // The flusher writes pages dirty for more than a second, every half second.
    const SysctlGuard expire("/proc/sys/vm/dirty_expire_centisecs", "100");
    const SysctlGuard period("/proc/sys/vm/dirty_writeback_centisecs", "50");
    ext4.fail(extents);
    {
        // Written and closed: nobody calls fsync, syncfs or sync.
        const Fd f = open_fd(file, O_WRONLY | O_CLOEXEC);
        overwrite(f.get(), file_len, 'b');
    }
    auto recs = decode_all(records_until(q, has_sb(WQ_SB_WRITEBACK_ERROR), 60s));
    REQUIRE(count_sb(recs, WQ_SB_WRITEBACK_ERROR) >= 1);
    // The flusher may still be busy with the rest of the file (one record
    // per failed completion).  Nobody has seen the error yet, so the first
    // fsync, even on a descriptor opened afterwards, reports it
    // (errseq_sample()), once the write-back in flight has ended.
    const Fd again = open_fd(file, O_WRONLY | O_CLOEXEC);
    CHECK(errno_of(::fsync(again.get())) == EIO);
    for (const Bytes& rec : collect_read(q)) {
        recs.push_back(decode_sb(rec));
    }
    INFO(describe(recs));
    for (const SbRecord& r : recs) {
        check_error_record(r, WQ_SB_WRITEBACK_ERROR, 6, st.st_dev, EIO, st.st_ino);
    }
    // Reported: nothing more to report, nothing new posted.
    CHECK(::fsync(again.get()) == 0);
    CHECK(collect_read(q).empty());
}

// ---- filesystem errors, read-only ------------------------------------------------

TEST_CASE("an ext4 error gives WQ_SB_ERROR; errors=continue keeps the filesystem writable",
          "[fs]") {
    Ext4 ext4("wqfs_error", {.mount = "errors=continue"});
    const std::uint64_t sb_id = ext4.sb_id();
    Queue q = fs_queue();
    REQUIRE(watch_sb(q.fd(), open_dir(ext4.dir()).get(), 7) == 0);
    ext4.trigger_error();
    auto recs = decode_all(records_until(q, has_sb(WQ_SB_ERROR)));
    INFO(describe(recs));
    REQUIRE(recs.size() == 1);
    // ext4_error() names no inode and gives no errno: EFSCORRUPTED.
    check_error_record(recs[0], WQ_SB_ERROR, 7, sb_id, EUCLEAN, 0);
    // Still writable, and no read-only record: a remount afterwards is the
    // next record.
    CHECK_NOTHROW(create_file(ext4.path("after"), O_RDONLY));
    sys_mount("", ext4.dir(), nullptr, MS_REMOUNT | MS_RDONLY);
    recs = decode_all(records_until(q, has_sb(WQ_SB_READONLY)));
    INFO(describe(recs));
    REQUIRE(recs.size() == 1);
    check_readonly_record(recs[0], 7, sb_id, WQ_SB_IS_NOW_RO);
}

TEST_CASE("errors=remount-ro: the error, then READONLY with IS_NOW_RO and EMERGENCY", "[fs]") {
    Ext4 ext4("wqfs_emergency", {.mount = "errors=remount-ro"});
    const std::uint64_t sb_id = ext4.sb_id();
    Queue q = fs_queue();
    REQUIRE(watch_sb(q.fd(), open_dir(ext4.dir()).get(), 8) == 0);
    ext4.trigger_error();
    const auto recs = decode_all(records_until(q, has_sb(WQ_SB_READONLY)));
    INFO(describe(recs));
    REQUIRE(count_sb(recs, WQ_SB_ERROR) >= 1);
    REQUIRE(count_sb(recs, WQ_SB_READONLY) == 1);
    const auto error =
        std::ranges::find_if(recs, [](const SbRecord& r) { return is_sb(r, WQ_SB_ERROR); });
    check_error_record(*error, WQ_SB_ERROR, 8, sb_id, EUCLEAN, 0);
    const auto ro =
        std::ranges::find_if(recs, [](const SbRecord& r) { return is_sb(r, WQ_SB_READONLY); });
    check_readonly_record(*ro, 8, sb_id, WQ_SB_IS_NOW_RO | WQ_SB_EMERGENCY);
    // Anything else is an error the journal abort caused.
    for (const SbRecord& r : recs) {
        INFO(describe(r));
        CHECK((is_sb(r, WQ_SB_ERROR) || is_sb(r, WQ_SB_READONLY)));
    }
    // Writes are refused now (EROFS; EIO where ext4 shuts down).
    const int err =
        errno_of(::open(ext4.path("after").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    CHECK((err == EROFS || err == EIO));
}

TEST_CASE("remounting read-only and back gives READONLY records; other remounts give none",
          "[fs]") {
    auto check = [](const std::string& dir) {
        const std::uint64_t sb_id = stat_of(dir).st_dev;
        Queue q = fs_queue();
        REQUIRE(watch_sb(q.fd(), open_dir(dir).get(), 11) == 0);
        // No change of the filesystem's state: a remount read-write while
        // read-write, one mount made read-only (not the filesystem).
        sys_mount("", dir, nullptr, MS_REMOUNT);
        sys_mount("", dir, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY);
        const MountEntry per_mount = mount_at(dir);
        CHECK(per_mount.options.starts_with("ro"));
        CHECK(per_mount.super_options.starts_with("rw"));
        sys_mount("", dir, nullptr, MS_REMOUNT | MS_BIND);
        // The filesystem read-only: the first record.
        sys_mount("", dir, nullptr, MS_REMOUNT | MS_RDONLY);
        auto recs = decode_all(records_until(q, has_sb(WQ_SB_READONLY)));
        std::this_thread::sleep_for(100ms);
        for (const Bytes& rec : collect_read(q)) {
            recs.push_back(decode_sb(rec));
        }
        INFO(describe(recs));
        REQUIRE(recs.size() == 1);
        check_readonly_record(recs[0], 11, sb_id, WQ_SB_IS_NOW_RO);
        CHECK(mount_at(dir).read_only());
        // Read-only again: no change.
        sys_mount("", dir, nullptr, MS_REMOUNT | MS_RDONLY);
        // Read-write.
        sys_mount("", dir, nullptr, MS_REMOUNT);
        recs = decode_all(records_until(q, has_sb(WQ_SB_READONLY)));
        INFO(describe(recs));
        REQUIRE(recs.size() == 1);
        check_readonly_record(recs[0], 11, sb_id, 0);
    };
    SECTION("ext4") {
        Ext4 ext4("wqfs_remount");
        check(ext4.dir());
    }
    SECTION("tmpfs") {
        const ScratchMount scratch(top + "/remount");
        check(scratch.path());
    }
}

// ---- space and quota -----------------------------------------------------------

TEST_CASE("a full filesystem gives WQ_SB_ENOSPC, at most once a second", "[fs]") {
    Ext4 ext4("wqfs_full", {.mib = 16});
    const std::uint64_t sb_id = ext4.sb_id();
    Queue q = fs_queue();
    REQUIRE(watch_sb(q.fd(), open_dir(ext4.dir()).get(), 9) == 0);
    const Fd f = create_file(ext4.path("fill"), O_WRONLY);
    const std::string chunk(1024UL * 1024, 'x');
    int err = 0;
    // The first failed allocation may end the write before the failing
    // one with a short count: the window starts with that one.
    auto window_start = std::chrono::steady_clock::now();
    auto last_start = window_start;
    for (int i = 0; i < 64 && err == 0; ++i) {
        window_start = last_start;
        last_start = std::chrono::steady_clock::now();
        if (::write(f.get(), chunk.data(), chunk.size()) < 0) {
            err = errno;
        }
    }
    REQUIRE(err == ENOSPC);
    // A burst of failures right after the first one.  A large write may
    // fail while smaller ones still fit (7.x reserves space per large
    // folio): small writes until they fail too.
    int failures = 0;
    for (int i = 0; i < 4000 && failures < 20; ++i) {
        failures += ::write(f.get(), chunk.data(), 4096) < 0 && errno == ENOSPC ? 1 : 0;
    }
    const auto elapsed = std::chrono::steady_clock::now() - window_start;
    CHECK(failures == 20);
    auto recs = decode_all(collect_read(q));
    INFO(describe(recs));
    const std::size_t n = count_sb(recs, WQ_SB_ENOSPC);
    const auto whole_seconds =
        static_cast<std::size_t>(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count());
    INFO("the failures took " << std::chrono::duration<double>(elapsed).count() << " s");
    CHECK(n >= 1);
    CHECK(n <= 1 + whole_seconds);
    for (const SbRecord& r : recs) {
        if (is_sb(r, WQ_SB_ENOSPC)) {
            check_error_record(r, WQ_SB_ENOSPC, 9, sb_id, ENOSPC, 0);
        } else {
            // Delayed allocation may fail at write-back time too.
            INFO(describe(r));
            CHECK(is_sb(r, WQ_SB_WRITEBACK_ERROR));
            CHECK(r.error == ENOSPC);
        }
    }
    // The limit is a rate: a failure a second later is reported again.
    std::this_thread::sleep_for(1100ms);
    err = 0;
    for (int i = 0; i < 1000 && err == 0; ++i) {
        if (::write(f.get(), chunk.data(), 4096) < 0) {
            err = errno;
        }
    }
    REQUIRE(err == ENOSPC);
    recs = decode_all(records_until(q, has_sb(WQ_SB_ENOSPC)));
    INFO(describe(recs));
    CHECK(count_sb(recs, WQ_SB_ENOSPC) >= 1);
}

TEST_CASE("a quota hard limit gives WQ_SB_EDQUOT with the user id", "[fs]") {
    if (!fs::exists("/proc/sys/fs/quota")) {
        WARN("this kernel has no disk quota support (CONFIG_QUOTA): EDQUOT not tested");
        return;
    }
    Ext4 ext4("wqfs_quota", {.features = "quota",
                             .extended = "quotatype=usrquota",
                             .mount = "errors=continue,usrquota"});
    const std::uint64_t sb_id = ext4.sb_id();
    REQUIRE(::chown(ext4.dir().c_str(), nobody, nobody) == 0);
    dqblk limit{};
    limit.dqb_bhardlimit = 64; // in 1 KiB units
    limit.dqb_valid = QIF_BLIMITS;
    REQUIRE(::quotactl(QCMD(Q_SETQUOTA, USRQUOTA), ext4.dev().c_str(), static_cast<int>(nobody),
                       reinterpret_cast<caddr_t>(&limit)) == 0);
    Queue q = fs_queue();
    REQUIRE(watch_sb(q.fd(), open_dir(ext4.dir()).get(), 10) == 0);
    const std::string file = ext4.path("q");
    const auto got = run_unprivileged([&] {
        const Fd f = create_file(file, O_WRONLY);
        const std::string chunk(4096, 'q');
        long written = 0;
        for (int i = 0; i < 64; ++i) {
            if (::write(f.get(), chunk.data(), chunk.size()) < 0) {
                return std::vector<long>{errno, written};
            }
            written += 4096;
        }
        return std::vector<long>{0, written};
    });
    REQUIRE(got.size() == 2);
    CHECK(got[0] == EDQUOT);
    CHECK(got[1] <= 64L * 1024);
    auto recs = decode_all(records_until(q, has_sb(WQ_SB_EDQUOT)));
    std::this_thread::sleep_for(100ms);
    for (const Bytes& rec : collect_read(q)) {
        recs.push_back(decode_sb(rec));
    }
    INFO(describe(recs));
    // One warning per limit reached (the kernel warns once until usage drops).
    REQUIRE(recs.size() == 1);
    check_error_record(recs[0], WQ_SB_EDQUOT, 10, sb_id, EDQUOT, nobody, quota_nl_bhardwarn);
}

// ---- lifetime, isolation -----------------------------------------------------------

TEST_CASE("the last unmount posts the 16-byte removal record; a bind mount keeps the watch",
          "[fs]") {
    Ext4 ext4("wqfs_umount");
    const std::uint64_t sb_id = ext4.sb_id();
    const std::string bind = top + "/wqfs_umount_bind";
    make_dirs(bind);
    sys_mount(ext4.dir(), bind, nullptr, MS_BIND);
    Queue q = fs_queue();
    REQUIRE(watch_sb(q.fd(), open_dir(ext4.dir()).get(), 12) == 0);
    ext4.unmount();
    // Still mounted through the bind mount: the watch lives on.
    sys_mount("", bind, nullptr, MS_REMOUNT | MS_RDONLY);
    auto recs = decode_all(records_until(q, has_sb(WQ_SB_READONLY)));
    {
        INFO(describe(recs));
        REQUIRE(recs.size() == 1);
        check_readonly_record(recs[0], 12, sb_id, WQ_SB_IS_NOW_RO);
    }
    sys_umount(bind);
    ::rmdir(bind.c_str());
    recs = decode_all(records_until(q, [](const std::vector<Bytes>& r) { return !r.empty(); }));
    std::this_thread::sleep_for(100ms);
    for (const Bytes& rec : collect_read(q)) {
        recs.push_back(decode_sb(rec));
    }
    INFO(describe(recs));
    REQUIRE(recs.size() == 1);
    CHECK(is_removal(recs[0]));
    CHECK(recs[0].h.length() == sizeof(wq_removal_notification));
    CHECK(recs[0].size == sizeof(wq_removal_notification));
    CHECK(recs[0].h.watch_id() == 12);
    CHECK(recs[0].sb_id == sb_id);
}

TEST_CASE("another filesystem's events are not reported", "[fs]") {
    Ext4 a("wqfs_a");
    Ext4 b("wqfs_b");
    const std::uint64_t id_a = a.sb_id();
    const std::uint64_t id_b = b.sb_id();
    REQUIRE(id_a != id_b);
    Queue qa = fs_queue();
    Queue qb = fs_queue();
    REQUIRE(watch_sb(qa.fd(), open_dir(a.dir()).get(), 1) == 0);
    REQUIRE(watch_sb(qb.fd(), open_dir(b.dir()).get(), 2) == 0);
    // Errors and a remount on b, then an error on a.
    b.trigger_error();
    sys_mount("", b.dir(), nullptr, MS_REMOUNT | MS_RDONLY);
    {
        const ScratchMount other(top + "/unrelated");
        sys_mount("", other.path(), nullptr, MS_REMOUNT | MS_RDONLY);
    }
    a.trigger_error();
    const auto recs_b = decode_all(records_until(qb, has_sb(WQ_SB_READONLY)));
    const auto recs_a = decode_all(records_until(qa, has_sb(WQ_SB_ERROR)));
    std::this_thread::sleep_for(100ms);
    INFO("a: " << describe(recs_a));
    INFO("b: " << describe(recs_b));
    REQUIRE(recs_a.size() == 1);
    check_error_record(recs_a[0], WQ_SB_ERROR, 1, id_a, EUCLEAN, 0);
    CHECK(collect_read(qa).empty());
    REQUIRE(recs_b.size() == 2);
    check_error_record(recs_b[0], WQ_SB_ERROR, 2, id_b, EUCLEAN, 0);
    check_readonly_record(recs_b[1], 2, id_b, WQ_SB_IS_NOW_RO);
    CHECK(collect_read(qb).empty());
}

TEST_CASE("an unprivileged user watches a filesystem it can open", "[fs]") {
    Ext4 ext4("wqfs_user");
    const std::uint64_t sb_id = ext4.sb_id();
    const std::string file = ext4.path("mine");
    std::vector<Extent> extents;
    struct stat st {};
    {
        const Fd f = data_file(file);
        extents = extents_of(f.get());
        REQUIRE(::fstat(f.get(), &st) == 0);
    }
    REQUIRE(::chown(file.c_str(), nobody, nobody) == 0);
    ext4.fail(extents);
    const auto got = run_unprivileged([&] {
        Queue q = fs_queue();
        const long watched = watch_sb(q.fd(), open_dir(ext4.dir()).get(), 13);
        const Fd f = open_fd(file, O_RDWR | O_CLOEXEC);
        overwrite(f.get(), file_len, 'u');
        const long err = errno_of(::fsync(f.get()));
        const auto recs = decode_all(collect_read(q));
        const bool ok = !recs.empty() && std::ranges::all_of(recs, [&](const SbRecord& r) {
            return is_sb(r, WQ_SB_WRITEBACK_ERROR) && r.h.watch_id() == 13 && r.sb_id == sb_id &&
                   r.error == EIO && r.ino == st.st_ino &&
                   r.h.length() == sizeof(wq_superblock_error_notification);
        });
        const long removed = watch_sb(q.fd(), f.get(), -1);
        return std::vector<long>{watched, err, static_cast<long>(recs.size()), ok ? 1 : 0, removed};
    });
    REQUIRE(got.size() == 5);
    CHECK(got[0] == 0);   // no capability needed
    CHECK(got[1] == EIO); // fsync failed
    CHECK(got[2] >= 1);   // and its records were queued
    CHECK(got[3] == 1);   // field by field
    CHECK(got[4] == 0);   // removed
}

// ---- who sees what ------------------------------------------------------------------

namespace {

// The records of @recs naming inode @ino.
std::size_t count_ino(const std::vector<SbRecord>& recs, std::uint64_t ino) {
    return static_cast<std::size_t>(
        std::ranges::count_if(recs, [&](const SbRecord& r) { return r.ino == ino; }));
}

// Adds a watch of the filesystem of @fd to queue @qfd (inherited) from a
// child process set up by @setup: the watch keeps the child's credentials
// while the queue stays with the caller.  0 or the errno.
long watch_sb_as(const std::function<bool()>& setup, int qfd, int fd, int watch_id) {
    const auto got =
        run_in_child(setup, [&] { return std::vector<long>{watch_sb(qfd, fd, watch_id)}; });
    return got.size() == 1 ? got[0] : -1;
}

} // namespace

TEST_CASE("without CAP_SYS_ADMIN over the filesystem a watch sees only its own files' write-back "
          "errors; root sees all",
          "[fs]") {
    Ext4 ext4("wqfs_owner");
    const std::uint64_t sb_id = ext4.sb_id();
    const std::string mine = ext4.path("mine");     // the watcher's
    const std::string theirs = ext4.path("theirs"); // root's
    std::vector<Extent> extents;
    struct stat st_mine {};
    struct stat st_theirs {};
    for (const auto& [path, st] : {std::pair{&mine, &st_mine}, std::pair{&theirs, &st_theirs}}) {
        const Fd f = data_file(*path);
        const auto e = extents_of(f.get());
        extents.insert(extents.end(), e.begin(), e.end());
        REQUIRE(::fstat(f.get(), st) == 0);
    }
    REQUIRE(::chown(mine.c_str(), watcher_uid, watcher_uid) == 0);
    Queue user_q = fs_queue();
    Queue root_q = fs_queue();
    const Fd dir = open_dir(ext4.dir());
    REQUIRE(watch_sb_as([] { return become_user(watcher_uid); }, user_q.fd(), dir.get(), 3) == 0);
    REQUIRE(watch_sb(root_q.fd(), dir.get(), 4) == 0);
    ext4.fail(extents);
    // Another user's file first: its records are queued by the time its
    // fsync returns, then the watcher's own.
    for (const std::string* path : {&theirs, &mine}) {
        const Fd f = open_fd(*path, O_RDWR | O_CLOEXEC);
        overwrite(f.get(), file_len, 'b');
        CHECK(errno_of(::fsync(f.get())) == EIO);
    }
    const auto user_recs = decode_all(collect_read(user_q));
    const auto root_recs = decode_all(collect_read(root_q));
    INFO("watcher: " << describe(user_recs));
    INFO("root: " << describe(root_recs));
    CHECK(count_ino(user_recs, st_theirs.st_ino) == 0);
    CHECK(count_ino(user_recs, st_mine.st_ino) >= 1);
    for (const SbRecord& r : user_recs) {
        check_error_record(r, WQ_SB_WRITEBACK_ERROR, 3, sb_id, EIO, st_mine.st_ino);
    }
    CHECK(count_ino(root_recs, st_theirs.st_ino) >= 1);
    CHECK(count_ino(root_recs, st_mine.st_ino) >= 1);
    CHECK(count_sb(root_recs, WQ_SB_WRITEBACK_ERROR) == root_recs.size());

    // Filesystem-wide records (an error naming no file, a remount) reach
    // every watcher.
    ext4.heal();
    ext4.trigger_error();
    sys_mount("", ext4.dir(), nullptr, MS_REMOUNT | MS_RDONLY);
    for (Queue* q : {&user_q, &root_q}) {
        const auto recs = decode_all(records_until(*q, has_sb(WQ_SB_READONLY)));
        INFO(describe(recs));
        REQUIRE(recs.size() == 2);
        const std::uint32_t id = q == &user_q ? 3 : 4;
        check_error_record(recs[0], WQ_SB_ERROR, id, sb_id, EUCLEAN, 0);
        check_readonly_record(recs[1], id, sb_id, WQ_SB_IS_NOW_RO);
    }
}

TEST_CASE("without CAP_SYS_ADMIN over the filesystem a watch sees only errors naming its own "
          "files; root sees all",
          "[fs]") {
    Ext4 ext4("wqfs_owner_err");
    const std::uint64_t sb_id = ext4.sb_id();
    const std::string mine = ext4.path("mine");     // the watcher's
    const std::string theirs = ext4.path("theirs"); // root's
    (void)data_file(mine);
    (void)data_file(theirs);
    REQUIRE(::chown(mine.c_str(), watcher_uid, watcher_uid) == 0);
    const ino_t ino_mine = stat_of(mine).st_ino;
    const ino_t ino_theirs = stat_of(theirs).st_ino;
    // Both files' extent headers destroyed: looking either up makes ext4
    // report corruption naming that inode ("bad extent header").
    ext4.offline([&] {
        for (const char* name : {"mine", "theirs"}) {
            run("debugfs -w -R 'sif /" + std::string(name) + " block[0] 0' " + ext4.dev() +
                " >/dev/null 2>&1");
        }
    });
    Queue user_q = fs_queue();
    Queue root_q = fs_queue();
    const Fd dir = open_dir(ext4.dir());
    REQUIRE(watch_sb_as([] { return become_user(watcher_uid); }, user_q.fd(), dir.get(), 5) == 0);
    REQUIRE(watch_sb(root_q.fd(), dir.get(), 6) == 0);
    struct stat st {};
    CHECK(errno_of(::stat(theirs.c_str(), &st)) == EUCLEAN);
    CHECK(errno_of(::stat(mine.c_str(), &st)) == EUCLEAN);
    const auto root_recs = decode_all(records_until(root_q, [&](const std::vector<Bytes>& r) {
        const auto recs = decode_all(r);
        return count_ino(recs, ino_mine) >= 1 && count_ino(recs, ino_theirs) >= 1;
    }));
    const auto user_recs = decode_all(collect_read(user_q));
    INFO("watcher: " << describe(user_recs));
    INFO("root: " << describe(root_recs));
    CHECK(count_ino(root_recs, ino_theirs) >= 1);
    CHECK(count_ino(root_recs, ino_mine) >= 1);
    CHECK(count_sb(root_recs, WQ_SB_ERROR) == root_recs.size());
    CHECK(count_ino(user_recs, ino_theirs) == 0);
    CHECK(count_ino(user_recs, ino_mine) >= 1);
    for (const SbRecord& r : user_recs) {
        check_error_record(r, WQ_SB_ERROR, 5, sb_id, EUCLEAN, ino_mine);
    }
}

TEST_CASE("quota records: root sees every id; others only their own, as their user namespace "
          "numbers it",
          "[fs]") {
    if (!fs::exists("/proc/sys/fs/quota")) {
        WARN("this kernel has no disk quota support (CONFIG_QUOTA): EDQUOT not tested");
        return;
    }
    std::unique_ptr<SysctlGuard> userns; // Debian's switch for unprivileged user namespaces
    if (fs::exists("/proc/sys/kernel/unprivileged_userns_clone")) {
        userns = std::make_unique<SysctlGuard>("/proc/sys/kernel/unprivileged_userns_clone", "1");
    }
    Ext4 ext4("wqfs_quota_ids", {.features = "quota",
                                 .extended = "quotatype=usrquota",
                                 .mount = "errors=continue,usrquota"});
    const std::uint64_t sb_id = ext4.sb_id();
    REQUIRE(::chmod(ext4.dir().c_str(), 01777) == 0);
    for (const uid_t uid : {watcher_uid, other_uid}) {
        dqblk limit{};
        limit.dqb_bhardlimit = 64; // in 1 KiB units
        limit.dqb_valid = QIF_BLIMITS;
        REQUIRE(::quotactl(QCMD(Q_SETQUOTA, USRQUOTA), ext4.dev().c_str(), static_cast<int>(uid),
                           reinterpret_cast<caddr_t>(&limit)) == 0);
    }
    const Fd dir = open_dir(ext4.dir());
    Queue root_q = fs_queue();
    Queue plain_q = fs_queue();    // watcher_uid
    Queue mapped_q = fs_queue();   // watcher_uid as 0 of a user namespace
    Queue unmapped_q = fs_queue(); // watcher_uid in a user namespace mapping nothing
    REQUIRE(watch_sb(root_q.fd(), dir.get(), 20) == 0);
    REQUIRE(watch_sb_as([] { return become_user(watcher_uid); }, plain_q.fd(), dir.get(), 21) == 0);
    REQUIRE(watch_sb_as([] { return become_user_in_ns(watcher_uid, true); }, mapped_q.fd(),
                        dir.get(), 22) == 0);
    REQUIRE(watch_sb_as([] { return become_user_in_ns(watcher_uid, false); }, unmapped_q.fd(),
                        dir.get(), 23) == 0);
    // The other user reaches its limit, then the watcher.
    for (const uid_t uid : {other_uid, watcher_uid}) {
        const std::string file = ext4.path("q" + std::to_string(uid));
        const auto got =
            run_in_child([uid] { return become_user(uid); },
                         [&] {
                             const Fd f = create_file(file, O_WRONLY);
                             const std::string chunk(4096, 'q');
                             for (int i = 0; i < 64; ++i) {
                                 if (::write(f.get(), chunk.data(), chunk.size()) < 0) {
                                     return std::vector<long>{errno};
                                 }
                             }
                             return std::vector<long>{0};
                         });
        REQUIRE(got == std::vector<long>{EDQUOT});
    }
    const auto root_recs = decode_all(records_until(root_q, has_sb(WQ_SB_EDQUOT, 2)));
    std::this_thread::sleep_for(100ms);
    {
        INFO(describe(root_recs));
        REQUIRE(root_recs.size() == 2);
        check_error_record(root_recs[0], WQ_SB_EDQUOT, 20, sb_id, EDQUOT, other_uid,
                           quota_nl_bhardwarn);
        check_error_record(root_recs[1], WQ_SB_EDQUOT, 20, sb_id, EDQUOT, watcher_uid,
                           quota_nl_bhardwarn);
    }
    // Each watcher: its own warning only, its id as it knows it (an id
    // its namespace does not map: the overflow id, as stat(2) shows it).
    const auto overflow =
        static_cast<std::uint32_t>(std::stoul(read_line("/proc/sys/kernel/overflowuid")));
    for (const auto& [q, watch_id, id] : {std::tuple{&plain_q, 21U, std::uint64_t{watcher_uid}},
                                          std::tuple{&mapped_q, 22U, std::uint64_t{0}},
                                          std::tuple{&unmapped_q, 23U, std::uint64_t{overflow}}}) {
        const auto recs = decode_all(collect_read(*q));
        INFO("watch " << watch_id << ": " << describe(recs));
        CHECK(recs.size() == 1);
        if (!recs.empty()) { // the watcher's own, the last
            check_error_record(recs.back(), WQ_SB_EDQUOT, watch_id, sb_id, EDQUOT, id,
                               quota_nl_bhardwarn);
        }
    }
}

TEST_CASE("more errors than the ring holds: a loss record with the count", "[fs]") {
    Ext4 ext4("wqfs_loss");
    const std::uint64_t sb_id = ext4.sb_id();
    Queue q = sized_queue(page_size()); // 128 records of 32 bytes with 4 KiB pages
    REQUIRE(watch_sb(q.fd(), open_dir(ext4.dir()).get(), 14) == 0);
    constexpr std::uint64_t n = 300;
    for (std::uint64_t i = 0; i < n; ++i) {
        ext4.trigger_error();
    }
    std::uint64_t errors = 0;
    std::uint64_t lost = 0;
    std::size_t losses = 0;
    std::size_t first_loss_at = 0;
    std::size_t seen = 0;
    records_until(q, [&](const std::vector<Bytes>& recs) {
        for (; seen < recs.size(); ++seen) {
            const Bytes& rec = recs[seen];
            if (is_loss(rec)) {
                lost += loss_count(rec);
                if (losses++ == 0) {
                    first_loss_at = seen;
                }
                continue;
            }
            const SbRecord r = decode_sb(rec);
            if (is_sb(r, WQ_SB_ERROR) && r.sb_id == sb_id && r.error == EUCLEAN &&
                r.h.watch_id() == 14) {
                ++errors;
            } else {
                FAIL_CHECK("unexpected record: " << describe(r));
            }
        }
        return errors + lost >= n;
    });
    INFO(errors << " error records, " << losses << " loss records counting " << lost);
    CHECK(losses >= 1);
    CHECK(first_loss_at >= 1);
    CHECK(lost > 0);
    CHECK(errors + lost == n);
    CHECK(q.info().lost == lost);
    // With room again, the next error arrives without another loss record.
    ext4.trigger_error();
    const auto recs = decode_all(records_until(q, has_sb(WQ_SB_ERROR)));
    INFO(describe(recs));
    REQUIRE(recs.size() == 1);
    check_error_record(recs[0], WQ_SB_ERROR, 14, sb_id, EUCLEAN, 0);
}
