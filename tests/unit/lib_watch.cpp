// SPDX-License-Identifier: GPL-2.0-or-later
// libwatchqueue: Queue::watch() and Queue::unwatch() over a Target, and
// WatchId, against the fake seam: each target must reach its ioctl with the
// struct the device expects.
#include <cstdint>
#include <optional>
#include <type_traits>

#include "lib_fake.hpp"
#include "wq_catch.hpp"

namespace wq = watchqueue;
using libtest::arg_of;
using libtest::FakeSys;

namespace {

// True if WatchId(N) is a constant expression (in range).
template <long long N>
concept constant_watch_id = requires {
    typename std::integral_constant<unsigned, wq::WatchId(N).value()>;
};

// The WQ_IOC_WATCH_* calls made, of every kind.
std::size_t watch_ioctls(const FakeSys& sys) {
    return sys.ioctl_count(WQ_IOC_WATCH_KEY) + sys.ioctl_count(WQ_IOC_WATCH_DEVICES) +
           sys.ioctl_count(WQ_IOC_WATCH_SB) + sys.ioctl_count(WQ_IOC_WATCH_MOUNT);
}

} // namespace

TEST_CASE("WatchId: 0..255, out of range unrepresentable") {
    STATIC_REQUIRE(wq::WatchId().value() == 0);
    STATIC_REQUIRE(wq::WatchId(255).value() == 255);
    STATIC_REQUIRE(wq::WatchId(std::uint8_t{7}) == wq::WatchId(7U));
    STATIC_REQUIRE(sizeof(wq::WatchId) == 1);
    STATIC_REQUIRE(constant_watch_id<0>);
    STATIC_REQUIRE(constant_watch_id<255>);
    STATIC_REQUIRE_FALSE(constant_watch_id<256>); // does not compile as a constant
    STATIC_REQUIRE_FALSE(constant_watch_id<-1>);
    STATIC_REQUIRE_FALSE(std::is_convertible_v<bool, wq::WatchId>);
    STATIC_REQUIRE(std::is_convertible_v<int, wq::WatchId>);

    CHECK(wq::WatchId::from(255) == wq::WatchId(255));
    CHECK(wq::WatchId::from(256) == std::nullopt);
    CHECK(wq::WatchId::from(-1) == std::nullopt);
    CHECK(wq::WatchId::from(4294967296LL + 3) == std::nullopt); // not truncated to 3
    CHECK(wq::WatchId::from(std::uint64_t{1} << 63U) == std::nullopt);

    int n = 256;
    try {
        const wq::WatchId id(n);
        FAIL("no exception for " << id.value());
    } catch (const wq::error& e) {
        CHECK(e.code() == std::errc::invalid_argument);
        CHECK_THAT(e.what(), Catch::StartsWith("watch id 256 is out of range (0..255)"));
    }
    n = -1;
    CHECK_THROWS_WITH(wq::WatchId(n), Catch::StartsWith("watch id -1 is out of range"));
}

TEST_CASE("watch(Target): each target reaches its ioctl with the device's struct") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);

    q.watch(wq::target::Key{wq::key_spec::session}, 3);
    auto wk = arg_of<wq_watch_key>(sys.last_ioctl(WQ_IOC_WATCH_KEY), true);
    CHECK(wk.key == -3);
    CHECK(wk.watch_id == 3);
    CHECK(wk.flags == 0);
    CHECK(wk.__reserved == 0);

    q.watch(wq::target::Devices{}, 255);
    auto wd = arg_of<wq_watch_devices>(sys.last_ioctl(WQ_IOC_WATCH_DEVICES), true);
    CHECK(wd.blk_fd == -1);
    CHECK(wd.watch_id == 255);
    CHECK(wd.flags == 0);
    CHECK(wd.__reserved == 0);

    q.watch(wq::target::Block{11}, wq::WatchId(4));
    wd = arg_of<wq_watch_devices>(sys.last_ioctl(WQ_IOC_WATCH_DEVICES), true);
    CHECK(wd.blk_fd == 11);
    CHECK(wd.watch_id == 4);
    CHECK(wd.flags == 0);
    CHECK(wd.__reserved == 0);

    q.watch(wq::target::Filesystem{12}, 5);
    auto ws = arg_of<wq_watch_sb>(sys.last_ioctl(WQ_IOC_WATCH_SB), true);
    CHECK(ws.fd == 12);
    CHECK(ws.watch_id == 5);
    CHECK(ws.flags == 0);
    CHECK(ws.__reserved == 0);

    q.watch(wq::target::Mounts{13}, 0);
    auto wm = arg_of<wq_watch_mount>(sys.last_ioctl(WQ_IOC_WATCH_MOUNT), true);
    CHECK(wm.fd == 13);
    CHECK(wm.watch_id == 0);
    CHECK(wm.flags == 0);
    CHECK(wm.__reserved == 0);

    CHECK(watch_ioctls(sys) == 5);
}

TEST_CASE("unwatch(Target): the same ioctls with watch id -1") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    const std::size_t before = sys.ioctls.size();
    const wq::Target targets[] = {wq::target::Key{1234}, wq::target::Devices{},
                                  wq::target::Block{11}, wq::target::Filesystem{12},
                                  wq::target::Mounts{13}};
    for (const wq::Target& t : targets) {
        q.unwatch(t);
    }
    REQUIRE(sys.ioctls.size() == before + 5);
    const auto wk = arg_of<wq_watch_key>(sys.last_ioctl(WQ_IOC_WATCH_KEY), true);
    CHECK(wk.key == 1234);
    CHECK(wk.watch_id == -1);
    const auto devices = arg_of<wq_watch_devices>(&sys.ioctls.at(before + 1), true);
    CHECK(devices.blk_fd == -1);
    CHECK(devices.watch_id == -1);
    const auto block = arg_of<wq_watch_devices>(sys.last_ioctl(WQ_IOC_WATCH_DEVICES), true);
    CHECK(block.blk_fd == 11);
    CHECK(block.watch_id == -1);
    const auto ws = arg_of<wq_watch_sb>(sys.last_ioctl(WQ_IOC_WATCH_SB), true);
    CHECK(ws.fd == 12);
    CHECK(ws.watch_id == -1);
    const auto wm = arg_of<wq_watch_mount>(sys.last_ioctl(WQ_IOC_WATCH_MOUNT), true);
    CHECK(wm.fd == 13);
    CHECK(wm.watch_id == -1);
}

TEST_CASE("watch(Target) reports as the call of its source does") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    std::error_code ec;

    sys.ioctl_errno[WQ_IOC_WATCH_DEVICES] = EPERM;
    q.watch(wq::target::Devices{}, 1, ec);
    CHECK(ec == std::errc::operation_not_permitted);
    CHECK_THROWS_WITH(q.watch(wq::target::Devices{}, 1),
                      Catch::StartsWith("watching all devices: "));
    sys.ioctl_errno[WQ_IOC_WATCH_SB] = EBADSLT;
    CHECK_THROWS_WITH(q.unwatch(wq::target::Filesystem{7}),
                      Catch::StartsWith("removing the watch of a filesystem"));
    sys.ioctl_errno[WQ_IOC_WATCH_KEY] = EACCES;
    try {
        q.watch(wq::target::Key{99}, 1);
        FAIL("no exception");
    } catch (const wq::error& e) {
        CHECK(e.code() == std::errc::permission_denied);
        CHECK_THAT(e.what(), Catch::StartsWith("watching key 99: "));
    }

    q.watch(wq::target::Block{-1}, 0, ec); // refused before any ioctl
    CHECK(ec == std::errc::bad_file_descriptor);
    q.watch(wq::target::Mounts{7}, 0, ec); // success clears ec
    CHECK_FALSE(ec);
}

TEST_CASE("an id out of range is refused before the call reaches the queue") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    const std::size_t before = sys.ioctls.size();
    CHECK_THROWS_MATCHES(q.watch(wq::target::Filesystem{7}, 256), wq::error,
                         Catch::Predicate<wq::error>([](const wq::error& e) {
                             return e.code() == std::errc::invalid_argument;
                         }));
    const unsigned big = 1000;
    if (const auto id = wq::WatchId::from(big)) {
        FAIL("1000 accepted");
    }
    CHECK(sys.ioctls.size() == before);
}

TEST_CASE("watch(Target) on a notification pipe: keys by keyctl, the rest EOPNOTSUPP") {
    FakeSys sys;
    sys.open_errno = ENOENT;
    sys.pipe_errno = 0;
    wq::Queue q = libtest::open(sys);
    REQUIRE(q.backend() == wq::Backend::pipe);
    q.watch(wq::target::Key{wq::key_spec::user}, 8);
    REQUIRE(sys.keyctls.size() == 1);
    CHECK(sys.keyctls[0].key == wq::key_spec::user);
    CHECK(sys.keyctls[0].fd == FakeSys::pipe_read_fd);
    CHECK(sys.keyctls[0].watch_id == 8);
    q.unwatch(wq::target::Key{wq::key_spec::user});
    CHECK(sys.keyctls.at(1).watch_id == -1);

    std::error_code ec;
    q.watch(wq::target::Filesystem{7}, 0, ec);
    CHECK(ec == std::errc::operation_not_supported);
    q.unwatch(wq::target::Block{7}, ec);
    CHECK(ec == std::errc::operation_not_supported);
    CHECK_THROWS_WITH(q.watch(wq::target::Mounts{7}, 0), Catch::Contains("notification pipe"));
    CHECK(watch_ioctls(sys) == 0);
}

TEST_CASE("a closed queue: watch(Target) fails with EBADF") {
    wq::Queue q;
    std::error_code ec;
    q.watch(wq::target::Key{1}, 0, ec);
    CHECK(ec == std::errc::bad_file_descriptor);
    q.unwatch(wq::target::Mounts{1}, ec);
    CHECK(ec == std::errc::bad_file_descriptor);
    CHECK_THROWS_AS(q.watch(wq::target::Devices{}, 0), wq::error);
}

TEST_CASE("the watch id in records and filters: the header's field") {
    const auto rec = libtest::key_record(wq::KeySubtype::linked, 5, 6, 200);
    const wq::Record r = wq::decode_record(rec);
    CHECK(r.watch_id() == 200);
    CHECK(wq::WatchId(r.watch_id()).value() == 200); // always representable
    const auto m = wq::InfoMatch::watch(200);
    CHECK(m.mask == WQ_INFO_ID);
    CHECK(m.value == (200U << WQ_INFO_ID__SHIFT));
    CHECK((r.info & m.mask) == m.value);
    CHECK(r.length() == (r.info & WQ_INFO_LENGTH));
}
