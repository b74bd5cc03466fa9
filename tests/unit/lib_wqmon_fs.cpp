// SPDX-License-Identifier: GPL-2.0-or-later
// wqmon's --fs and --mounts: parsing, filters, adding the watches (against
// the fake seam) and the output of filesystem and mount records.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include <sys/sysmacros.h>

#include "lib_fake.hpp"
#include "options.hpp"
#include "output.hpp"
#include "watches.hpp"
#include "wq_catch.hpp"
#include "wqmon_helpers.hpp"
#include <nlohmann/json.hpp>

namespace wq = watchqueue;
using Json = nlohmann::json;
using wqmontest::decode;
using wqmontest::parse;
using SB = wq::SuperblockSubtype;
using MS = wq::MountSubtype;
using libtest::arg_of;
using libtest::FakeSys;

namespace {

// A directory with one file in it, removed at the end of the test.
struct TempTree {
    std::string dir;
    std::string file;

    TempTree() {
        std::string pattern = "/tmp/wqmon-fs-XXXXXX";
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        dir = pattern;
        file = dir + "/data";
        const int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        ::close(fd);
    }
    TempTree(const TempTree&) = delete;
    TempTree& operator=(const TempTree&) = delete;
    TempTree(TempTree&&) = delete;
    TempTree& operator=(TempTree&&) = delete;
    ~TempTree() {
        ::unlink(file.c_str());
        ::rmdir(dir.c_str());
    }
};

// The message add_watches() fails with ("" if it does not).
std::string fatal_of(wq::Queue& q, const wqmon::Options& o) {
    wqmon::WatchLabels labels;
    try {
        wqmon::add_watches(q, o, labels);
    } catch (const wqmon::Fatal& f) {
        return f.message;
    }
    return "";
}

} // namespace

TEST_CASE("--fs and --mounts: repeatable, one value each, enough to watch") {
    int rc = -1;
    const auto o = parse({"--fs", "/srv", "--mounts", "/mnt", "--fs", "/var", "@s"}, rc);
    REQUIRE(o);
    CHECK(o->fs == std::vector<std::string>{"/srv", "/var"});
    CHECK(o->mounts == std::vector<std::string>{"/mnt"});
    REQUIRE(o->keys.size() == 1);
    CHECK(o->keys[0].label == "@s");

    CHECK(parse({"--mounts", "/"}, rc));
    CHECK(parse({"--fs", "/"}, rc));
    rc = -1;
    CHECK_FALSE(parse({"--fs"}, rc)); // no PATH
    CHECK(rc == 2);
    rc = -1;
    CHECK_FALSE(parse({"--mounts"}, rc));
    CHECK(rc == 2);
}

TEST_CASE("filesystem and mount watches need the device, keys alone do not") {
    wqmon::Options o;
    o.keys.push_back({"@s", wq::key_spec::session});
    CHECK(wqmon::backend_for(o) == wq::Backend::automatic);
    o.fs = {"/"};
    CHECK(wqmon::backend_for(o) == wq::Backend::device);
    o.fs.clear();
    o.mounts = {"/"};
    CHECK(wqmon::backend_for(o) == wq::Backend::device);
}

TEST_CASE("filters: --type fs/mount and their named subtypes") {
    int rc = -1;
    const auto o = parse(
        {"-s", "fs:wb-error,error,quota", "-s", "mount:new,move-to", "-t", "mount", "--fs", "/"},
        rc);
    REQUIRE(o);
    const auto f = wqmon::build_filter(*o);
    REQUIRE(f);
    REQUIRE(f->entries().size() == 2);
    CHECK(f->entries()[0].type == WQ_TYPE_SUPERBLOCK);
    CHECK(f->entries()[0].subtypes.count() == 3);
    CHECK(f->entries()[0].subtypes.test(WQ_SB_WRITEBACK_ERROR));
    CHECK(f->entries()[0].subtypes.test(WQ_SB_ERROR));
    CHECK(f->entries()[0].subtypes.test(WQ_SB_EDQUOT));
    CHECK(f->entries()[1].type == WQ_TYPE_MOUNT);
    CHECK(f->entries()[1].subtypes.count() == 2);
    CHECK(f->entries()[1].subtypes.test(WQ_MOUNT_NEW));
    CHECK(f->entries()[1].subtypes.test(WQ_MOUNT_MOVE_TO));

    const auto all = parse({"-t", "fs", "--fs", "/"}, rc);
    REQUIRE(all);
    const auto every = wqmon::build_filter(*all);
    REQUIRE(every);
    CHECK(every->entries().at(0).type == WQ_TYPE_SUPERBLOCK);
    CHECK(every->entries().at(0).subtypes.all());

    for (const char* bad : {"fs:?", "fs:expiry", "mount:?", "mount:expire", "sb:error"}) {
        rc = -1;
        CHECK_FALSE(parse({"-s", bad, "--fs", "/"}, rc));
        CHECK(rc == 2);
    }
    rc = -1;
    CHECK_FALSE(parse({"-t", "superblock", "--fs", "/"}, rc));
    CHECK(rc == 2);
}

TEST_CASE("errno and quota warning names") {
    CHECK(wqmon::errno_name(EIO) == "EIO");
    CHECK(wqmon::errno_name(EUCLEAN) == "EUCLEAN");
    CHECK(wqmon::errno_name(EDQUOT) == "EDQUOT");
    CHECK(wqmon::errno_name(EOPNOTSUPP) == "EOPNOTSUPP");
    CHECK(wqmon::errno_name(0) == "errno 0");
    CHECK(wqmon::errno_name(4000) == "errno 4000");
    CHECK(wqmon::quota_warning_name(1) == "inode-hard");
    CHECK(wqmon::quota_warning_name(4) == "block-hard");
    CHECK(wqmon::quota_warning_name(6) == "block-soft");
    CHECK(wqmon::quota_warning_name(10) == "block-soft-below");
    CHECK(wqmon::quota_warning_name(0) == "warning 0");
    CHECK(wqmon::quota_warning_name(11) == "warning 11");
}

TEST_CASE("human lines of filesystem records: major:minor, errno names, inodes") {
    const wqmon::Formatter f;
    const wqmon::Timestamp ts{12000034, 0};
    const std::uint64_t dev = makedev(8, 1);
    CHECK(f.human(decode(libtest::sb_error_record(SB::writeback_error, dev, EIO, 0, 131074)), ts) ==
          "FS    [12.000034] wb-error 8:1 EIO ino 131074");
    CHECK(f.human(decode(libtest::sb_error_record(SB::error, dev, EUCLEAN, 0, 0)), ts) ==
          "FS    [12.000034] error    8:1 EUCLEAN");
    CHECK(f.human(decode(libtest::sb_error_record(SB::error, makedev(259, 65536), EIO, 0, 7)),
                  ts) == "FS    [12.000034] error    259:65536 EIO ino 7");
    CHECK(f.human(decode(libtest::sb_error_record(SB::enospc, dev, ENOSPC, 0, 0)), ts) ==
          "FS    [12.000034] no-space 8:1 ENOSPC");
    CHECK(f.human(decode(libtest::sb_error_record(SB::edquot, dev, EDQUOT, 4, 1000)), ts) ==
          "FS    [12.000034] quota    8:1 EDQUOT id 1000 block-hard");
    CHECK(f.human(decode(libtest::sb_error_record(SB::writeback_error, dev, 4000, 3, 2)), ts) ==
          "FS    [12.000034] wb-error 8:1 errno 4000 ino 2 aux 3");
    CHECK(f.human(decode(libtest::sb_record(SB::readonly, dev, WQ_SB_IS_NOW_RO)), ts) ==
          "FS    [12.000034] readonly 8:1 ro");
    CHECK(f.human(decode(libtest::sb_record(SB::readonly, dev, WQ_SB_IS_NOW_RO | WQ_SB_EMERGENCY)),
                  ts) == "FS    [12.000034] readonly 8:1 ro emergency");
    CHECK(f.human(decode(libtest::sb_record(SB::readonly, dev)), ts) ==
          "FS    [12.000034] readonly 8:1 rw");
}

TEST_CASE("human lines of mount records: ids, where, read-only state") {
    wqmon::Formatter f;
    f.labels[2] = "/mnt";
    const wqmon::Timestamp ts{5000000, 0};
    const auto line = [&](MS s, std::uint32_t flags, std::uint32_t watch = 2) {
        return f.human(decode(libtest::mount_record(s, 311, 29, flags, watch)), ts);
    };
    CHECK(line(MS::new_mount, WQ_MOUNT_IN_SUBTREE | WQ_MOUNT_IS_NOW_RO) ==
          "MOUNT [5.000000] new      mount 311 parent 29 below /mnt ro");
    CHECK(line(MS::new_mount, 0) == "MOUNT [5.000000] new      mount 311 parent 29 at /mnt");
    CHECK(line(MS::unmount, WQ_MOUNT_IN_SUBTREE) ==
          "MOUNT [5.000000] unmount  mount 311 parent 29 below /mnt");
    CHECK(line(MS::readonly, WQ_MOUNT_IS_NOW_RO) ==
          "MOUNT [5.000000] readonly mount 311 parent 29 at /mnt ro");
    CHECK(line(MS::readonly, 0) == "MOUNT [5.000000] readonly mount 311 parent 29 at /mnt rw");
    CHECK(line(MS::setattr, 0) == "MOUNT [5.000000] attr     mount 311 parent 29 at /mnt");
    CHECK(line(MS::move_from, WQ_MOUNT_IN_SUBTREE) ==
          "MOUNT [5.000000] move-from mount 311 parent 29 below /mnt");
    CHECK(line(MS::move_to, 0) == "MOUNT [5.000000] move-to  mount 311 parent 29 at /mnt");
    CHECK(line(MS::unmount, 0, 9) == "MOUNT [5.000000] unmount  mount 311 parent 29 at watch 9");
}

TEST_CASE("JSON of filesystem records") {
    const wqmon::Formatter f;
    const std::uint64_t dev = makedev(8, 1);
    const Json wb = Json::parse(
        f.json(decode(libtest::sb_error_record(SB::writeback_error, dev, EIO, 0, 131074, 3)),
               {1000002, 0}));
    CHECK(wb["type"] == "fs");
    CHECK(wb["subtype"] == "wb-error");
    CHECK(wb["dev"] == Json{{"major", 8}, {"minor", 1}});
    CHECK_FALSE(wb.contains("sb_id"));
    CHECK_FALSE(wb.contains("major"));
    CHECK(wb["error"] == EIO);
    CHECK(wb["error_name"] == "EIO");
    CHECK(wb["ino"] == 131074);
    CHECK(wb["watch"] == 3);
    CHECK(wb["time_monotonic_us"] == 1000002);
    CHECK_FALSE(wb.contains("readonly"));

    const Json quota =
        Json::parse(f.json(decode(libtest::sb_error_record(SB::edquot, dev, EDQUOT, 1, 1000)), {}));
    CHECK(quota["subtype"] == "quota");
    CHECK(quota["error_name"] == "EDQUOT");
    CHECK(quota["id"] == 1000);
    CHECK(quota["aux"] == 1);
    CHECK(quota["warning"] == "inode-hard");
    CHECK_FALSE(quota.contains("ino"));

    const Json ro = Json::parse(f.json(
        decode(libtest::sb_record(SB::readonly, dev, WQ_SB_IS_NOW_RO | WQ_SB_EMERGENCY)), {}));
    CHECK(ro["subtype"] == "readonly");
    CHECK(ro["readonly"] == true);
    CHECK(ro["emergency"] == true);
    CHECK_FALSE(ro.contains("error"));
    const Json rw = Json::parse(f.json(decode(libtest::sb_record(SB::readonly, dev)), {}));
    CHECK(rw["readonly"] == false);
    CHECK(rw["emergency"] == false);
}

TEST_CASE("JSON of mount records") {
    wqmon::Formatter f;
    f.labels[1] = "/mnt";
    const Json j = Json::parse(
        f.json(decode(libtest::mount_record(MS::new_mount, 311, 29, WQ_MOUNT_IN_SUBTREE, 1)), {}));
    CHECK(j["type"] == "mount");
    CHECK(j["subtype"] == "new");
    CHECK(j["mount_id"] == 311);
    CHECK(j["parent_id"] == 29);
    CHECK(j["in_subtree"] == true);
    CHECK(j["readonly"] == false);
    CHECK(j["watched"] == "/mnt");
    CHECK_FALSE(j.contains("object"));
    CHECK(j["watch"] == 1);
    const Json ro = Json::parse(
        f.json(decode(libtest::mount_record(MS::readonly, 1, 2, WQ_MOUNT_IS_NOW_RO, 1)), {}));
    CHECK(ro["readonly"] == true);
    CHECK(ro["in_subtree"] == false);
    const Json gone = Json::parse(f.json(decode(libtest::mount_record(MS::unmount, 1, 2)), {}));
    CHECK_FALSE(gone.contains("readonly"));
}

TEST_CASE("--fs and --mounts add their watches after the keys, labelled by path") {
    const TempTree tree;
    FakeSys sys;
    wq::Queue q = libtest::open(sys, {.backend = wq::Backend::device});
    wqmon::Options o;
    o.keys.push_back({"@s", wq::key_spec::session});
    o.fs = {tree.file};
    o.mounts = {tree.dir};
    wqmon::WatchLabels labels;
    wqmon::add_watches(q, o, labels);
    const auto sb = arg_of<wq_watch_sb>(sys.last_ioctl(WQ_IOC_WATCH_SB), true);
    CHECK(sb.watch_id == 1);
    CHECK(sb.fd >= 0);
    const auto mnt = arg_of<wq_watch_mount>(sys.last_ioctl(WQ_IOC_WATCH_MOUNT), true);
    CHECK(mnt.watch_id == 2);
    CHECK(mnt.fd >= 0);
    CHECK(labels == wqmon::WatchLabels{{0, "@s"}, {1, tree.file}, {2, tree.dir}});
    // both watches outlive the descriptors they were added with
    CHECK(::fcntl(sb.fd, F_GETFD) == -1);
    CHECK(::fcntl(mnt.fd, F_GETFD) == -1);
}

TEST_CASE("--fs and --mounts errors: clear messages with the errno") {
    const TempTree tree;
    FakeSys sys;
    wq::Queue q = libtest::open(sys, {.backend = wq::Backend::device});
    wqmon::Options o;

    o.fs = {tree.dir + "/missing"};
    CHECK(fatal_of(q, o) ==
          "cannot open " + tree.dir + "/missing: No such file or directory (ENOENT)");
    o.fs.clear();
    o.mounts = {tree.file};
    CHECK(fatal_of(q, o) == "--mounts " + tree.file + ": not a directory (ENOTDIR)");
    CHECK_FALSE(sys.last_ioctl(WQ_IOC_WATCH_SB));
    CHECK_FALSE(sys.last_ioctl(WQ_IOC_WATCH_MOUNT));

    o.mounts.clear();
    o.fs = {tree.file};
    sys.ioctl_errno[WQ_IOC_WATCH_SB] = EOPNOTSUPP;
    CHECK(fatal_of(q, o) == "cannot watch the filesystem of " + tree.file +
                                ": Operation not supported (EOPNOTSUPP): this kernel offers no "
                                "filesystem events to watch_queue");
    sys.ioctl_errno[WQ_IOC_WATCH_SB] = EBUSY;
    CHECK_THAT(fatal_of(q, o), Catch::EndsWith("(EBUSY): this filesystem is watched already "
                                               "(through another path)"));

    o.fs.clear();
    o.mounts = {tree.dir};
    sys.ioctl_errno[WQ_IOC_WATCH_MOUNT] = EOPNOTSUPP;
    CHECK(fatal_of(q, o) == "cannot watch mounts under " + tree.dir +
                                ": Operation not supported (EOPNOTSUPP): this kernel offers no "
                                "mount events to watch_queue");
    sys.ioctl_errno[WQ_IOC_WATCH_MOUNT] = EXDEV;
    CHECK_THAT(fatal_of(q, o),
               Catch::EndsWith("(EXDEV): the directory is not reachable from this process's root"));
    sys.ioctl_errno[WQ_IOC_WATCH_MOUNT] = ENOENT;
    CHECK_THAT(fatal_of(q, o),
               Catch::EndsWith("(ENOENT): mount watches need procfs mounted on /proc"));
    sys.ioctl_errno[WQ_IOC_WATCH_MOUNT] = EACCES;
    CHECK_THAT(fatal_of(q, o), Catch::EndsWith(": Permission denied (EACCES)"));
}

TEST_CASE("more watches than watch ids is an error, before any is added") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys, {.backend = wq::Backend::device});
    wqmon::Options o;
    o.fs.assign(200, "/");
    o.mounts.assign(56, "/");
    CHECK(fatal_of(q, o) == "at most 255 watches");
    CHECK_FALSE(sys.last_ioctl(WQ_IOC_WATCH_SB));
}
