// SPDX-License-Identifier: GPL-2.0-or-later
// libwatchqueue: filesystem and mount watches against the fake seam.
#include <cstring>

#include "lib_fake.hpp"
#include "wq_catch.hpp"

namespace wq = watchqueue;
using libtest::arg_of;
using libtest::FakeSys;

TEST_CASE("filesystem watches: WQ_IOC_WATCH_SB with the descriptor and id") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    q.watch_filesystem(7, 3);
    auto w = arg_of<wq_watch_sb>(sys.last_ioctl(WQ_IOC_WATCH_SB), true);
    CHECK(w.fd == 7);
    CHECK(w.watch_id == 3);
    CHECK(w.flags == 0);
    CHECK(w.__reserved == 0);
    q.unwatch_filesystem(8);
    w = arg_of<wq_watch_sb>(sys.last_ioctl(WQ_IOC_WATCH_SB), true);
    CHECK(w.fd == 8);
    CHECK(w.watch_id == -1);
    CHECK_FALSE(sys.last_ioctl(WQ_IOC_WATCH_MOUNT));
}

TEST_CASE("mount watches: WQ_IOC_WATCH_MOUNT with the directory and id") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    q.watch_mounts(9, 255);
    auto w = arg_of<wq_watch_mount>(sys.last_ioctl(WQ_IOC_WATCH_MOUNT), true);
    CHECK(w.fd == 9);
    CHECK(w.watch_id == 255);
    CHECK(w.flags == 0);
    CHECK(w.__reserved == 0);
    q.unwatch_mounts(9);
    w = arg_of<wq_watch_mount>(sys.last_ioctl(WQ_IOC_WATCH_MOUNT), true);
    CHECK(w.watch_id == -1);
    CHECK_FALSE(sys.last_ioctl(WQ_IOC_WATCH_SB));
}

TEST_CASE("bad ids and descriptors are refused before any ioctl") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    std::error_code ec;
    q.watch_filesystem(7, 256, ec);
    CHECK(ec == std::errc::invalid_argument);
    q.watch_mounts(7, 1000, ec);
    CHECK(ec == std::errc::invalid_argument);
    q.watch_filesystem(-1, 0, ec);
    CHECK(ec == std::errc::bad_file_descriptor);
    q.unwatch_mounts(-1, ec);
    CHECK(ec == std::errc::bad_file_descriptor);
    CHECK(sys.ioctl_count(WQ_IOC_WATCH_SB) == 0);
    CHECK(sys.ioctl_count(WQ_IOC_WATCH_MOUNT) == 0);
    q.watch_filesystem(7, 0, ec);
    CHECK_FALSE(ec);
}

TEST_CASE("the kernel's errors come back with errno and what was attempted") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    sys.ioctl_errno[WQ_IOC_WATCH_SB] = EOPNOTSUPP;
    sys.ioctl_errno[WQ_IOC_WATCH_MOUNT] = ENOTDIR;
    std::error_code ec;
    q.watch_filesystem(7, 0, ec);
    CHECK(ec == std::errc::operation_not_supported);
    q.watch_mounts(7, 0, ec);
    CHECK(ec == std::errc::not_a_directory);
    try {
        q.watch_filesystem(7, 0);
        FAIL("no exception");
    } catch (const wq::error& e) {
        CHECK(e.code() == std::errc::operation_not_supported);
        CHECK_THAT(e.what(), Catch::StartsWith("watching a filesystem: "));
    }
    CHECK_THROWS_WITH(q.watch_mounts(7, 0), Catch::StartsWith("watching mounts: "));
    sys.ioctl_errno[WQ_IOC_WATCH_SB] = EBADSLT;
    CHECK_THROWS_WITH(q.unwatch_filesystem(7),
                      Catch::StartsWith("removing the watch of a filesystem"));
}

TEST_CASE("a notification pipe has no filesystem or mount watches") {
    FakeSys sys;
    sys.open_errno = ENOENT;
    sys.pipe_errno = 0;
    wq::Queue q = libtest::open(sys);
    REQUIRE(q.backend() == wq::Backend::pipe);
    std::error_code ec;
    q.watch_filesystem(7, 0, ec);
    CHECK(ec == std::errc::operation_not_supported);
    q.watch_mounts(7, 0, ec);
    CHECK(ec == std::errc::operation_not_supported);
    CHECK(sys.ioctl_count(WQ_IOC_WATCH_SB) == 0);
    CHECK(sys.ioctl_count(WQ_IOC_WATCH_MOUNT) == 0);
    CHECK(sys.keyctls.empty());
    try {
        q.watch_filesystem(7, 0);
        FAIL("no exception");
    } catch (const wq::error& e) {
        CHECK(e.code() == std::errc::operation_not_supported);
        CHECK_THAT(e.what(), Catch::Contains("notification pipe has key watches only"));
        CHECK_THAT(e.what(), Catch::Contains("modprobe watch_queue"));
    }
    CHECK_THROWS_WITH(q.unwatch_mounts(7), Catch::Contains("notification pipe"));
}

TEST_CASE("feature bits for filesystem and mount watches") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    CHECK((q.info().features & (wq::feature::sb | wq::feature::mount)) == 0);
    sys.features |= WQ_FEATURE_SB | WQ_FEATURE_MOUNT;
    const auto f = q.info().features;
    CHECK((f & wq::feature::sb) != 0);
    CHECK((f & wq::feature::mount) != 0);
    CHECK((f & wq::feature::sb_fs_errors) == 0);
    sys.features |= WQ_FEATURE_SB_FS_ERRORS;
    CHECK((q.info().features & wq::feature::sb_fs_errors) != 0);
}
