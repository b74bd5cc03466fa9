// SPDX-License-Identifier: GPL-2.0-or-later
// Block error records (WQ_TYPE_BLOCK) through WQ_IOC_WATCH_DEVICES: real
// I/O errors from scsi_debug (medium errors, timeouts) and null_blk (bad
// blocks, timeouts), global and per-disk watches, permissions, filters,
// stacked devices.  Runs as root in the test guest (no udev: modules are
// loaded here, device nodes come from devtmpfs).
#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/fs.h>

#include "device_helpers.h"
#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t sector_size = 512;
// scsi_debug's default medium error address (0x1234): the sense data's
// information field then names the first bad sector exactly.
constexpr std::uint64_t medium_start = 0x1234;
constexpr std::uint64_t medium_count = 8;

std::uint64_t rdev_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) {
        throw_errno("stat " + path);
    }
    return st.st_rdev;
}

// One O_DIRECT read of @len bytes at @sector of @dev: 0 or the errno.
int read_at(const std::string& dev, std::uint64_t sector, std::size_t len = sector_size) {
    const Fd fd = open_fd(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
    void* buf = nullptr;
    if (::posix_memalign(&buf, 4096, len) != 0) {
        throw std::runtime_error("posix_memalign");
    }
    const ssize_t n = ::pread(fd.get(), buf, len, static_cast<off_t>(sector * sector_size));
    const int err = n < 0 ? errno : 0;
    std::free(buf); // NOLINT(cppcoreguidelines-no-malloc): posix_memalign
    return err;
}

struct BlockRecord {
    Header h;
    std::uint64_t dev = 0;
    std::uint64_t sector = 0;
};

BlockRecord decode_block(const Bytes& rec) {
    BlockRecord b;
    b.h = header_of(rec);
    if (rec.size() != sizeof(wq_block_notification)) {
        throw std::runtime_error("block record of " + std::to_string(rec.size()) + " bytes");
    }
    std::memcpy(&b.dev, rec.data() + offsetof(wq_block_notification, dev), 8);
    std::memcpy(&b.sector, rec.data() + offsetof(wq_block_notification, sector), 8);
    return b;
}

// Block records read from @q (others are checked to be no block record).
std::vector<BlockRecord> block_records(Queue& q) {
    std::vector<BlockRecord> out;
    for (const Bytes& rec : collect_read(q)) {
        const Header h = header_of(rec);
        REQUIRE(h.type == WQ_TYPE_BLOCK);
        out.push_back(decode_block(rec));
    }
    return out;
}

// Block records of disk @dev, waiting up to @limit for at least @n.
std::vector<BlockRecord> records_of(Queue& q, std::uint64_t dev, std::size_t n,
                                    std::chrono::milliseconds limit = 5s) {
    std::vector<BlockRecord> got;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        for (const BlockRecord& b : block_records(q)) {
            if (b.dev == dev) {
                got.push_back(b);
            }
        }
        if (got.size() >= n || std::chrono::steady_clock::now() > deadline) {
            return got;
        }
        poll_events(q.fd(), POLLIN, 50);
    }
}

// A watching queue: 256 KiB ring, non-blocking.
Queue device_queue() {
    return sized_queue(std::uint64_t{256} * 1024);
}

// scsi_debug disks with medium errors at [medium_start, +medium_count).
class ScsiDebug {
public:
    explicit ScsiDebug(int disks = 1, const std::string& extra = "") {
        run("modprobe sd_mod");
        run("modprobe scsi_debug dev_size_mb=16 num_tgts=" + std::to_string(disks) +
            " opts=2 medium_error_start=" + std::to_string(medium_start) +
            " medium_error_count=" + std::to_string(medium_count) + " " + extra);
        const bool found = wait_for([&] {
            disks_.clear();
            for (const auto& e : fs::directory_iterator("/sys/block")) {
                const std::string name = e.path().filename();
                const fs::path model = e.path() / "device/model";
                if (name.rfind("sd", 0) == 0 && fs::exists(model) &&
                    read_text(model).find("scsi_debug") != std::string::npos &&
                    fs::exists("/dev/" + name)) {
                    disks_.push_back(name);
                }
            }
            return disks_.size() == static_cast<std::size_t>(disks);
        });
        if (!found) {
            throw std::runtime_error("scsi_debug disks did not appear");
        }
        std::sort(disks_.begin(), disks_.end());
    }
    ScsiDebug(const ScsiDebug&) = delete;
    ScsiDebug& operator=(const ScsiDebug&) = delete;
    ScsiDebug(ScsiDebug&&) = delete;
    ScsiDebug& operator=(ScsiDebug&&) = delete;
    ~ScsiDebug() {
        // Busy for a moment after the last close (partition rescans).
        // NOLINTNEXTLINE(cert-env33-c): modprobe(8) on purpose, retried while the module is busy
        wait_for([] { return std::system("modprobe -r scsi_debug 2>/dev/null") == 0; }, 10s);
    }

    [[nodiscard]] std::string node(std::size_t i = 0) const { return "/dev/" + disks_.at(i); }
    [[nodiscard]] std::string name(std::size_t i = 0) const { return disks_.at(i); }

private:
    std::vector<std::string> disks_;
};

// disk_hooks: the disk lifetime hook targets, "+" armed, "!" not found.
std::string disk_hooks() {
    const std::string path = "/sys/module/watch_queue/parameters/disk_hooks";
    return fs::exists(path) ? read_line(path) : "(no disk_hooks)";
}

std::string block_hooks() {
    return read_text("/sys/module/watch_queue/parameters/block_hooks");
}

// block_hooks is the block line of the hooks parameter: "armed +<tracepoint>"
// or "disarmed <tracepoint>", block_rq_error where the kernel has it (6.1),
// block_rq_complete before (5.10; wq_block.c).
bool block_hooks_are(const std::string& state) {
    const std::string text = block_hooks();
    const std::string mark = state == "armed" ? "+" : "";
    return text == state + " " + mark + "block_rq_error\n" ||
           text == state + " " + mark + "block_rq_complete\n";
}

} // namespace

TEST_CASE("GET_INFO reports the block and USB sources", "[block]") {
    Queue q = device_queue();
    const wq_ring_info info = q.info();
    CHECK((info.features & WQ_FEATURE_BLOCK) != 0);
    CHECK((info.features & WQ_FEATURE_USB) != 0);
    // Nothing armed without a watch (a previous suite's last watch may
    // still be on its way out).
    CHECK(wait_for([] { return block_hooks_are("disarmed"); }, 5s));
}

TEST_CASE("device watch arguments are checked", "[block]") {
    Queue q = device_queue();
    CHECK(watch_devices(q.fd(), 1, -1, 1) == EINVAL);
    CHECK(watch_devices(q.fd(), 1, -1, 0, 1) == EINVAL);
    CHECK(watch_devices(q.fd(), 256) == EINVAL);
    CHECK(watch_devices(q.fd(), -2) == EINVAL);
    CHECK(watch_devices(q.fd(), 1, -2) == EBADF);
    CHECK(watch_devices(q.fd(), 1, 1000) == EBADF);
    const Fd null = open_fd("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(watch_devices(q.fd(), 1, null.get()) == ENOTBLK);
    const Fd dir = open_fd("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(watch_devices(q.fd(), 1, dir.get()) == ENOTBLK);
    // Not a queue.
    CHECK(watch_devices(null.get(), 1) == ENOTTY);
    CHECK(watch_devices(q.fd(), -1) == EBADSLT);
    // O_PATH never opened the device: refused like a closed descriptor.
    NullBlk nb("wqnb_args");
    const Fd path = open_fd(nb.node(), O_PATH | O_CLOEXEC);
    CHECK(watch_devices(q.fd(), 1, path.get()) == EBADF);
    const Fd disk = open_fd(nb.node(), O_RDONLY | O_CLOEXEC);
    CHECK(watch_devices(q.fd(), -1, disk.get()) == EBADSLT);
}

TEST_CASE("the global watch: once per queue, removal gives an 8-byte record", "[block]") {
    Queue q = device_queue();
    REQUIRE(watch_devices(q.fd(), 7) == 0);
    INFO(block_hooks());
    CHECK(block_hooks_are("armed"));
    CHECK(watch_devices(q.fd(), 7) == EBUSY);
    CHECK(watch_devices(q.fd(), 8) == EBUSY);
    Queue other = device_queue();
    CHECK(watch_devices(other.fd(), 7) == 0);
    REQUIRE(watch_devices(q.fd(), -1) == 0);
    const auto recs = collect_read(q);
    REQUIRE(recs.size() == 1);
    const Header h = header_of(recs[0]);
    CHECK(h.type == WQ_TYPE_META);
    CHECK(h.subtype == WQ_META_REMOVAL);
    CHECK(h.length() == 8);
    CHECK(h.watch_id() == 7);
    CHECK(watch_devices(q.fd(), -1) == EBADSLT);
    other.close();
    // The last watch gone, the tracepoint is released by a work item.
    CHECK(wait_for([] { return block_hooks_are("disarmed"); }, 5s));
}

TEST_CASE("a medium error gives CRITICAL_MEDIUM with the disk and the sector", "[block]") {
    ScsiDebug sd;
    Queue q = device_queue();
    REQUIRE(watch_devices(q.fd(), 3) == 0);
    const std::uint64_t dev = rdev_of(sd.node());
    // BLK_STS_MEDIUM is ENODATA for the reader.
    CHECK(read_at(sd.node(), medium_start + 2) == ENODATA);
    const auto recs = records_of(q, dev, 1);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].h.type == WQ_TYPE_BLOCK);
    CHECK(recs[0].h.subtype == WQ_BLOCK_ERROR_CRITICAL_MEDIUM);
    CHECK(recs[0].h.length() == sizeof(wq_block_notification));
    CHECK(recs[0].h.watch_id() == 3);
    CHECK((recs[0].h.info & WQ_INFO_TYPE_INFO) == 0);
    CHECK(recs[0].dev == dev);
    CHECK(major(recs[0].dev) == 8);
    CHECK(recs[0].sector == medium_start + 2);
    // Good sectors post nothing.
    CHECK(read_at(sd.node(), 0, 4096) == 0);
    CHECK(read_at(sd.node(), medium_start + medium_count) == 0);
    CHECK(records_of(q, dev, 1, 300ms).empty());
}

TEST_CASE("a request across a bad sector is reported at its first sector", "[block]") {
    ScsiDebug sd;
    Queue q = device_queue();
    REQUIRE(watch_devices(q.fd(), 1) == 0);
    const std::uint64_t dev = rdev_of(sd.node());
    // Sectors medium_start-4 .. medium_start+3, the first four good: the
    // request fails as a whole, and the record (like the kernel log)
    // gives where it starts.
    CHECK(read_at(sd.node(), medium_start - 4, 4096) == ENODATA);
    const auto recs = records_of(q, dev, 1);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].h.subtype == WQ_BLOCK_ERROR_CRITICAL_MEDIUM);
    CHECK(recs[0].sector == medium_start - 4);
}

TEST_CASE("null_blk bad blocks give IO errors at the sector", "[block]") {
    NullBlk nb("wqnb_io", {{"irqmode", "2"}, {"completion_nsec", "20000"}});
    nb.bad(100, 107);
    Queue q = device_queue();
    REQUIRE(watch_devices(q.fd(), 2) == 0);
    const std::uint64_t dev = rdev_of(nb.node());
    CHECK(read_at(nb.node(), 99) == 0);
    CHECK(read_at(nb.node(), 104) == EIO);
    const auto recs = records_of(q, dev, 1);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].h.subtype == WQ_BLOCK_ERROR_IO);
    CHECK(recs[0].h.watch_id() == 2);
    CHECK(recs[0].sector == 104);
    CHECK(records_of(q, dev, 1, 300ms).empty());
}

TEST_CASE("a burst of errors on distinct sectors gives one record each", "[block]") {
    // Timer completions: the records are posted from hard interrupts.
    NullBlk nb("wqnb_burst", {{"irqmode", "2"}, {"completion_nsec", "100000"}});
    constexpr std::uint64_t n = 96;
    constexpr std::uint64_t stride = 4; // never adjacent: no request merging
    // One range of at most 512 sectors: 6.1's bad block table mis-sorts
    // the pieces of a longer one.
    nb.bad(0, n * stride - 1);
    Queue q = device_queue();
    REQUIRE(watch_devices(q.fd(), 4) == 0);
    const std::uint64_t dev = rdev_of(nb.node());
    Failures failures;
    {
        std::vector<std::jthread> readers;
        constexpr std::uint64_t threads = 8;
        for (std::uint64_t t = 0; t < threads; ++t) {
            readers.push_back(spawn(failures, [&, t] {
                for (std::uint64_t i = t; i < n; i += threads) {
                    const int err = read_at(nb.node(), i * stride);
                    if (err != EIO) {
                        throw std::runtime_error("sector " + std::to_string(i * stride) +
                                                 ": errno " + std::to_string(err));
                    }
                }
            }));
        }
    }
    INFO(failures.str());
    REQUIRE(failures.empty());
    const auto recs = records_of(q, dev, n);
    REQUIRE(recs.size() == n);
    std::set<std::uint64_t> sectors;
    for (const BlockRecord& b : recs) {
        CHECK(b.h.subtype == WQ_BLOCK_ERROR_IO);
        sectors.insert(b.sector);
    }
    CHECK(sectors.size() == n);
    CHECK(*sectors.begin() == 0);
    CHECK(*sectors.rbegin() == (n - 1) * stride);
    CHECK(q.info().lost == 0);
}

TEST_CASE("a request that times out gives TIMEOUT (null_blk)", "[block]") {
    // Completions 3 s late, the queue's timeout 100 ms (checked with a
    // granularity of a second): null_blk's timeout handler marks the
    // request timed out and the late completion ends it with
    // BLK_STS_TIMEOUT.  (Creating the disk takes a few completions: the
    // partition scan.)
    NullBlk nb("wqnb_timeout", {{"irqmode", "2"}, {"completion_nsec", "3000000000"}});
    const std::string name = fs::path(nb.node()).filename();
    write_text("/sys/block/" + name + "/queue/io_timeout", "100");
    Queue q = device_queue();
    REQUIRE(watch_devices(q.fd(), 5) == 0);
    const std::uint64_t dev = rdev_of(nb.node());
    CHECK(read_at(nb.node(), 64) == ETIMEDOUT);
    const auto recs = records_of(q, dev, 1);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].h.subtype == WQ_BLOCK_ERROR_TIMEOUT);
    CHECK(recs[0].sector == 64);
}

TEST_CASE("a SCSI command that keeps timing out is reported as IO", "[block]") {
    ScsiDebug sd;
    const std::string sysdev = "/sys/block/" + sd.name() + "/device";
    write_text(sysdev + "/timeout", "1");
    // sd takes a disk offline after two medium access timeouts by default.
    for (const auto& e : fs::directory_iterator(sysdev + "/scsi_disk")) {
        write_text(e.path() / "max_medium_access_timeouts", "1000");
    }
    Queue q = device_queue();
    REQUIRE(watch_devices(q.fd(), 6) == 0);
    const std::uint64_t dev = rdev_of(sd.node());
    // Every READ/WRITE is dropped (SDEBUG_OPT_MAC_TIMEOUT, every_nth 1;
    // TEST UNIT READY still answers, so the device stays online): the
    // error handler aborts and retries the read until the retries run
    // out, then completes it with DID_TIME_OUT, which the SCSI layer
    // maps to BLK_STS_IOERR, not BLK_STS_TIMEOUT.
    write_text("/sys/bus/pseudo/drivers/scsi_debug/every_nth", "1");
    write_text("/sys/bus/pseudo/drivers/scsi_debug/opts", "128");
    const int err = read_at(sd.node(), 8);
    write_text("/sys/bus/pseudo/drivers/scsi_debug/opts", "0");
    write_text("/sys/bus/pseudo/drivers/scsi_debug/every_nth", "0");
    CHECK(err == EIO);
    const auto recs = records_of(q, dev, 1, 10s);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].h.subtype == WQ_BLOCK_ERROR_IO);
    CHECK(recs[0].sector == 8);
    CHECK(read_at(sd.node(), 8) == 0);
}

TEST_CASE("a disk watch sees that disk only; the global watch sees all", "[block]") {
    NullBlk a("wqnb_a");
    NullBlk b("wqnb_b");
    a.bad(10, 10);
    b.bad(20, 20);
    const std::uint64_t dev_a = rdev_of(a.node());
    const std::uint64_t dev_b = rdev_of(b.node());
    Queue qa = device_queue();
    Queue global = device_queue();
    {
        const Fd fa = open_fd(a.node(), O_RDONLY | O_CLOEXEC);
        REQUIRE(watch_devices(qa.fd(), 9, fa.get()) == 0);
        CHECK(watch_devices(qa.fd(), 9, fa.get()) == EBUSY);
        CHECK(watch_devices(qa.fd(), 10, fa.get()) == EBUSY);
    }
    // The watch outlives the descriptor it was made with.
    REQUIRE(watch_devices(global.fd(), 1) == 0);
    CHECK(read_at(b.node(), 20) == EIO);
    CHECK(read_at(a.node(), 10) == EIO);
    const auto recs_a = block_records(qa);
    REQUIRE(recs_a.size() == 1);
    CHECK(recs_a[0].dev == dev_a);
    CHECK(recs_a[0].sector == 10);
    CHECK(recs_a[0].h.watch_id() == 9);
    std::vector<BlockRecord> all = block_records(global);
    std::erase_if(all, [&](const BlockRecord& r) { return r.dev != dev_a && r.dev != dev_b; });
    REQUIRE(all.size() == 2);
    CHECK(all[0].dev == dev_b);
    CHECK(all[0].sector == 20);
    CHECK(all[1].dev == dev_a);
    CHECK(all[1].sector == 10);

    // Unwatching: the 16-byte removal record carries the device number.
    const Fd fa = open_fd(a.node(), O_RDONLY | O_CLOEXEC);
    REQUIRE(watch_devices(qa.fd(), -1, fa.get()) == 0);
    const auto rm = collect_read(qa);
    REQUIRE(rm.size() == 1);
    CHECK(header_of(rm[0]).subtype == WQ_META_REMOVAL);
    CHECK(header_of(rm[0]).watch_id() == 9);
    REQUIRE(rm[0].size() == sizeof(wq_removal_notification));
    wq_removal_notification n{};
    std::memcpy(&n, rm[0].data(), sizeof(n));
    CHECK(n.id == dev_a);
    CHECK(watch_devices(qa.fd(), -1, fa.get()) == EBADSLT);
    CHECK(read_at(a.node(), 10) == EIO);
    CHECK(collect_read(qa).empty());
}

TEST_CASE("a partition stands for its whole disk", "[block]") {
    ScsiDebug sd;
    // An MBR with one partition: sectors 2048..(2048+8192).
    {
        std::array<unsigned char, 512> mbr{};
        unsigned char* e = &mbr[446];
        e[4] = 0x83;
        const std::uint32_t start = 2048;
        const std::uint32_t count = 8192;
        std::memcpy(e + 8, &start, 4);
        std::memcpy(e + 12, &count, 4);
        mbr[510] = 0x55;
        mbr[511] = 0xaa;
        const Fd disk = open_fd(sd.node(), O_RDWR | O_CLOEXEC);
        REQUIRE(::pwrite(disk.get(), mbr.data(), mbr.size(), 0) == 512);
        REQUIRE(::fsync(disk.get()) == 0);
        REQUIRE(::ioctl(disk.get(), BLKRRPART) == 0);
    }
    const std::string part = sd.node() + "1";
    REQUIRE(wait_for([&] { return fs::exists(part); }));
    Queue q = device_queue();
    {
        const Fd p = open_fd(part, O_RDONLY | O_CLOEXEC);
        REQUIRE(watch_devices(q.fd(), 11, p.get()) == 0);
        // The disk itself is the same object.
        const Fd d = open_fd(sd.node(), O_RDONLY | O_CLOEXEC);
        CHECK(watch_devices(q.fd(), 11, d.get()) == EBUSY);
    }
    // Sector medium_start of the disk is sector medium_start - 2048 of
    // the partition; records give the disk and the disk's sector.
    CHECK(read_at(part, medium_start - 2048) == ENODATA);
    const auto recs = block_records(q);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].dev == rdev_of(sd.node()));
    CHECK(recs[0].dev != rdev_of(part));
    CHECK(recs[0].sector == medium_start);
    CHECK(recs[0].h.subtype == WQ_BLOCK_ERROR_CRITICAL_MEDIUM);
}

TEST_CASE("the global watch needs CAP_SYS_ADMIN; a disk watch needs the disk", "[block]") {
    NullBlk nb("wqnb_perm");
    nb.bad(30, 30);
    const std::uint64_t dev = rdev_of(nb.node());
    REQUIRE(::chown(nb.node().c_str(), 65534, 65534) == 0);
    const auto got = run_unprivileged([&] {
        Queue q = device_queue();
        const long global = watch_devices(q.fd(), 1);
        // A disk the user may open: allowed, and it works.
        const Fd disk = open_fd(nb.node(), O_RDONLY | O_CLOEXEC);
        const long local = watch_devices(q.fd(), 2, disk.get());
        const long io = read_at(nb.node(), 30);
        const auto recs = block_records(q);
        const long n = static_cast<long>(recs.size());
        const bool ok = n == 1 && recs[0].dev == dev && recs[0].sector == 30 &&
                        recs[0].h.subtype == WQ_BLOCK_ERROR_IO;
        // Removal of a global watch it does not have: nothing to remove.
        const long remove = watch_devices(q.fd(), -1);
        return std::vector<long>{global, local, io, n, ok ? 1 : 0, remove};
    });
    REQUIRE(got.size() == 6);
    CHECK(got[0] == EPERM);
    CHECK(got[1] == 0);
    CHECK(got[2] == EIO);
    CHECK(got[3] == 1);
    CHECK(got[4] == 1);
    CHECK(got[5] == EBADSLT);
    // A user who cannot open the disk cannot watch it either.
    REQUIRE(::chown(nb.node().c_str(), 0, 0) == 0);
    REQUIRE(::chmod(nb.node().c_str(), 0600) == 0);
    const auto denied = run_unprivileged([&] {
        return std::vector<long>{errno_of(::open(nb.node().c_str(), O_RDONLY | O_CLOEXEC))};
    });
    CHECK(denied.at(0) == EACCES);
}

TEST_CASE("subtype filters apply to block records", "[block]") {
    ScsiDebug sd;
    NullBlk nb("wqnb_filter");
    nb.bad(40, 40);
    Queue q = device_queue();
    const std::array filters{type_filter(WQ_TYPE_BLOCK, {WQ_BLOCK_ERROR_IO})};
    q.set_filter(filters);
    REQUIRE(watch_devices(q.fd(), 1) == 0);
    CHECK(read_at(sd.node(), medium_start) == ENODATA); // MEDIUM: filtered out
    CHECK(read_at(nb.node(), 40) == EIO);               // IO: passes
    const auto recs = block_records(q);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].dev == rdev_of(nb.node()));
    CHECK(recs[0].h.subtype == WQ_BLOCK_ERROR_IO);
}

TEST_CASE("dm-linear over a failing disk: the disk's error, nothing from dm", "[block]") {
    ScsiDebug sd;
    const std::uint64_t sectors = std::uint64_t{16} * 1024 * 1024 / sector_size;
    run("dmsetup --noudevsync --noudevrules create wq_linear --table '0 " +
        std::to_string(sectors) + " linear " + sd.node() + " 0' >/dev/null");
    struct Remove {
        Remove() = default;
        Remove(const Remove&) = delete;
        Remove& operator=(const Remove&) = delete;
        Remove(Remove&&) = delete;
        Remove& operator=(Remove&&) = delete;
        // NOLINTNEXTLINE(cert-env33-c): dmsetup(8) on purpose; best effort in a destructor
        ~Remove() { (void)std::system("dmsetup --noudevsync remove wq_linear"); }
    } remove;
    std::string dm;
    for (const auto& e : fs::directory_iterator("/sys/block")) {
        const fs::path name = e.path() / "dm/name";
        if (fs::exists(name) && read_text(name) == "wq_linear\n") {
            dm = "/dev/" + e.path().filename().string();
        }
    }
    REQUIRE(!dm.empty());
    REQUIRE(wait_for([&] { return fs::exists(dm); }));
    Queue q = device_queue();
    REQUIRE(watch_devices(q.fd(), 1) == 0);
    {
        // A watch of the dm device itself never fires.
        const Fd d = open_fd(dm, O_RDONLY | O_CLOEXEC);
        REQUIRE(watch_devices(q.fd(), 2, d.get()) == 0);
    }
    CHECK(read_at(dm, medium_start + 1) == ENODATA);
    std::vector<BlockRecord> recs = block_records(q);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].dev == rdev_of(sd.node()));
    CHECK(recs[0].sector == medium_start + 1);
    CHECK(recs[0].h.watch_id() == 1);
    CHECK(recs[0].h.subtype == WQ_BLOCK_ERROR_CRITICAL_MEDIUM);
}

TEST_CASE("a disk watch ends with its disk, not passed on to the next one", "[block]") {
    NullBlk nb("wqnb_gone");
    nb.bad(50, 50);
    const std::uint64_t dev = rdev_of(nb.node());
    Queue old_q = device_queue();
    {
        const Fd fd = open_fd(nb.node(), O_RDONLY | O_CLOEXEC);
        REQUIRE(watch_devices(old_q.fd(), 12, fd.get()) == 0);
    }
    INFO("disk_hooks: " << disk_hooks());
    CHECK(disk_hooks().find("+del_gendisk") != std::string::npos);

    // Deleted: the watch ends with the 16-byte removal record.
    nb.power_off();
    std::vector<Bytes> rm;
    wait_for(
        [&] {
            for (Bytes& r : collect_read(old_q)) {
                rm.push_back(std::move(r));
            }
            return !rm.empty();
        },
        5s);
    CHECK(rm.size() == 1);
    if (!rm.empty()) {
        const Header h = header_of(rm[0]);
        CHECK(h.type == WQ_TYPE_META);
        CHECK(h.subtype == WQ_META_REMOVAL);
        CHECK(h.watch_id() == 12);
        REQUIRE(rm[0].size() == sizeof(wq_removal_notification));
        wq_removal_notification n{};
        std::memcpy(&n, rm[0].data(), sizeof(n));
        CHECK(n.id == dev);
    }

    // A new disk with the same number (another user's, say) and an error
    // on it: a fresh watch of it gets the record, the old queue nothing.
    nb.power_on();
    REQUIRE(rdev_of(nb.node()) == dev);
    Queue fresh = device_queue();
    const Fd fd = open_fd(nb.node(), O_RDONLY | O_CLOEXEC);
    REQUIRE(watch_devices(fresh.fd(), 13, fd.get()) == 0);
    CHECK(read_at(nb.node(), 50) == EIO);
    const auto got = records_of(fresh, dev, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].h.watch_id() == 13);
    CHECK(got[0].sector == 50);
    // Posted before read() returned; a bounded wait to be sure, then the
    // old queue must hold nothing, consumed or not.
    CHECK(records_of(old_q, dev, 1, 300ms).empty());
    CHECK(::ioctl(old_q.fd(), WQ_IOC_SYNC) == 0);
    int ready = -1;
    CHECK(::ioctl(old_q.fd(), FIONREAD, &ready) == 0);
    CHECK(ready == 0);
    // The old watch is gone, not just silent.
    CHECK(watch_devices(old_q.fd(), -1, fd.get()) == EBADSLT);
    CHECK(watch_devices(old_q.fd(), 12, fd.get()) == 0);
}

TEST_CASE("a deleted disk cannot be watched through a descriptor left open", "[block]") {
    NullBlk nb("wqnb_dead");
    const Fd fd = open_fd(nb.node(), O_RDONLY | O_CLOEXEC);
    nb.power_off();
    Queue q = device_queue();
    CHECK(watch_devices(q.fd(), 1, fd.get()) == ENODEV);
    CHECK(collect_read(q).empty());
}

TEST_CASE("the disk hooks are disarmed when no disk is watched", "[block]") {
    {
        NullBlk nb("wqnb_hooks");
        Queue q = device_queue();
        const Fd fd = open_fd(nb.node(), O_RDONLY | O_CLOEXEC);
        REQUIRE(watch_devices(q.fd(), 1, fd.get()) == 0);
        INFO("disk_hooks: " << disk_hooks());
        CHECK(disk_hooks().find("+del_gendisk") != std::string::npos);
    }
    INFO("disk_hooks: " << disk_hooks());
    CHECK(wait_for([] { return disk_hooks().find('+') == std::string::npos; }, 5s));
    CHECK(disk_hooks().find('!') == std::string::npos);
}

TEST_CASE("a new medium ends a disk watch where disks have sequence numbers", "[block]") {
    run("modprobe loop");
    const std::string img = "/tmp/wq_medium.img";
    run("truncate -s 1M " + img);
    run("losetup --find --show " + img + " >" + img + ".dev");
    const std::string dev = read_line(img + ".dev");
    const std::uint64_t rdev = rdev_of(dev);
    const bool has_seq = fs::exists("/sys/block/" + fs::path(dev).filename().string() + "/diskseq");
    Queue q = device_queue();
    {
        const Fd fd = open_fd(dev, O_RDONLY | O_CLOEXEC);
        REQUIRE(watch_devices(q.fd(), 14, fd.get()) == 0);
    }
    // Unbinding the file is a media change (5.15+): the watch ends.  5.10
    // has no disk sequence numbers and keeps the watch on the drive.
    run("losetup -d " + dev);
    std::vector<Bytes> rm;
    wait_for(
        [&] {
            for (Bytes& r : collect_read(q)) {
                rm.push_back(std::move(r));
            }
            return !rm.empty();
        },
        has_seq ? 5s : 300ms);
    ::unlink(img.c_str());
    ::unlink((img + ".dev").c_str());
    if (!has_seq) {
        CHECK(rm.empty());
        return;
    }
    REQUIRE(rm.size() == 1);
    CHECK(header_of(rm[0]).subtype == WQ_META_REMOVAL);
    CHECK(header_of(rm[0]).watch_id() == 14);
    REQUIRE(rm[0].size() == sizeof(wq_removal_notification));
    wq_removal_notification n{};
    std::memcpy(&n, rm[0].data(), sizeof(n));
    CHECK(n.id == rdev);
}
