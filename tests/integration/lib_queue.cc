// SPDX-License-Identifier: GPL-2.0-or-later
// libwatchqueue against the real device: records posted by wq_test.ko and by
// real key operations, consumed through batches of the mapped ring and
// through read(), with loss, filters, removal, waiting and errors.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <vector>
#include <wq_test_uapi.h>

#include <sys/syscall.h>

#include <linux/keyctl.h>

#include "testmod.h"
#include "wq_catch.hpp"
#include <watchqueue/watchqueue.hpp>

namespace wq = watchqueue;
using namespace std::chrono_literals;

namespace {

std::uint32_t seq_of(const wq::Record& rec) {
    wqt_record r{};
    std::memcpy(&r, rec.bytes.data(), sizeof(r));
    return r.seq;
}

// Every record ready now, through batches of the mapped ring.
std::vector<wq::Record> drain(wq::Queue& q, std::vector<std::vector<std::byte>>& keep) {
    std::vector<wq::Record> out;
    for (;;) {
        wq::Batch batch = q.batch();
        if (batch.empty()) {
            return out;
        }
        for (const wq::Record& rec : batch) {
            keep.emplace_back(rec.bytes.begin(), rec.bytes.end()); // outlives the batch
            wq::Record copy = rec;
            copy.bytes = {keep.back().data(), keep.back().size()};
            out.push_back(copy);
        }
    }
}

// True if the library decodes no event of @rec (the test module's type).
bool is_raw(const wq::Record& rec) {
    return wq::visit(
        [](const auto& ev) { return std::is_same_v<std::decay_t<decltype(ev)>, wq::RawEvent>; },
        rec);
}

long keyctl(int op, unsigned long a2 = 0, unsigned long a3 = 0, unsigned long a4 = 0) {
    return ::syscall(SYS_keyctl, op, a2, a3, a4, 0);
}

std::int32_t add_user_key(const char* desc, const std::string& payload, std::int32_t ring) {
    const long id = ::syscall(SYS_add_key, "user", desc, payload.data(), payload.size(), ring);
    REQUIRE(id > 0);
    return static_cast<std::int32_t>(id);
}

} // namespace

TEST_CASE("synthetic records arrive through batches of the mapped ring", "[lib][mmap]") {
    wqt::TestModule tm;
    wq::Queue q = wq::Queue::open({.ring_bytes = 1 << 16});
    REQUIRE(q.backend() == wq::Backend::device);
    tm.watch(q.fd(), 0, 7);
    CHECK(q.wait(0ms) == wq::WaitResult::timeout);
    tm.post({.object = 0, .count = 200, .size = 24, .subtype = 5});
    CHECK(q.wait(1000ms) == wq::WaitResult::ready);
    std::vector<std::vector<std::byte>> keep;
    const auto recs = drain(q, keep);
    REQUIRE(recs.size() == 200);
    for (std::size_t i = 0; i < recs.size(); ++i) {
        CHECK(recs[i].raw_type() == WQT_TYPE);
        CHECK(recs[i].subtype == 5);
        CHECK(recs[i].watch_id() == 7);
        CHECK(recs[i].length() == 24);
        CHECK(is_raw(recs[i]));
        CHECK(seq_of(recs[i]) == i);
    }
    CHECK(q.ring().empty());
    CHECK(q.wait(0ms) == wq::WaitResult::timeout);
    q.sync(); // everything consumed: returns at once
}

TEST_CASE("read() gives the same records", "[lib][read]") {
    wqt::TestModule tm;
    wq::Queue q = wq::Queue::open({.notes = 16});
    tm.watch(q.fd(), 1, 2);
    tm.post({.object = 1, .count = 10, .size = 16});
    std::vector<std::byte> buf(4096);
    wq::Records records = q.read(buf);
    std::uint32_t expect = 0;
    for (const wq::Record& rec : records) {
        CHECK(rec.raw_type() == WQT_TYPE);
        CHECK(rec.watch_id() == 2);
        CHECK(seq_of(rec) == expect++);
    }
    CHECK(expect == 10);
    CHECK(q.read(buf).size_bytes() == 0); // EAGAIN: no records, no error
}

TEST_CASE("overflow: a loss record with the count, the total on the producer page", "[lib][loss]") {
    wqt::TestModule tm;
    wq::Queue q = wq::Queue::open({.ring_bytes = static_cast<std::uint64_t>(::getpagesize())});
    tm.watch(q.fd(), 2, 0);
    tm.post({.object = 2, .count = 200, .size = 120});
    const std::uint64_t lost = q.info().lost;
    REQUIRE(lost > 0);
    CHECK(q.ring().lost_total() == lost);
    std::vector<std::vector<std::byte>> keep;
    auto recs = drain(q, keep);
    tm.post({.object = 2, .count = 1, .size = 16, .first_seq = 1000});
    const auto more = drain(q, keep);
    recs.insert(recs.end(), more.begin(), more.end());
    std::uint64_t reported = 0;
    std::size_t data = 0;
    for (const wq::Record& rec : recs) {
        if (const auto loss = wq::as_loss(rec)) {
            REQUIRE(loss->count);
            reported += *loss->count;
        } else {
            ++data;
        }
    }
    CHECK(reported == lost);
    CHECK(data + lost == 201);
    REQUIRE_FALSE(recs.empty());
    CHECK(seq_of(recs.back()) == 1000);
}

TEST_CASE("a built filter is accepted and applied", "[lib][filter]") {
    wqt::TestModule tm;
    wq::Queue q = wq::Queue::open();
    q.set_filter(wq::FilterBuilder().add(WQT_TYPE, {3U, 200U}).build());
    tm.watch(q.fd(), 3, 0);
    tm.post({.object = 3, .count = 5, .subtype = 2});
    tm.post({.object = 3, .count = 4, .subtype = 200});
    tm.post({.object = 3, .count = 3, .subtype = 3});
    std::vector<std::vector<std::byte>> keep;
    const auto recs = drain(q, keep);
    REQUIRE(recs.size() == 7);
    CHECK(recs.front().subtype == 200);
    CHECK(recs.back().subtype == 3);
}

TEST_CASE("removal: the object's id and the watch id", "[lib][removal]") {
    wqt::TestModule tm;
    wq::Queue q = wq::Queue::open();
    tm.watch(q.fd(), 4, 9);
    tm.kill(4);
    std::vector<std::vector<std::byte>> keep;
    const auto recs = drain(q, keep);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].watch_id() == 9);
    CHECK(wq::as_removal(recs[0]).value().id == wqt::object_id(4));
}

TEST_CASE("key watches: real key changes decode as key events", "[lib][keys]") {
    REQUIRE(keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0) > 0); // a keyring of our own
    wq::Queue q = wq::Queue::open();
    q.watch_key(wq::key_spec::session, 1);
    const auto ring =
        static_cast<std::int32_t>(keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING));
    const std::int32_t key = add_user_key("lib-test", "one", KEY_SPEC_SESSION_KEYRING);
    q.watch_key(key, 2);
    REQUIRE(keyctl(KEYCTL_UPDATE, static_cast<unsigned long>(key),
                   reinterpret_cast<unsigned long>("two"), 3) == 0);
    REQUIRE(keyctl(KEYCTL_REVOKE, static_cast<unsigned long>(key)) == 0);
    CHECK(q.wait(2000ms) == wq::WaitResult::ready);
    std::vector<std::vector<std::byte>> keep;
    std::vector<wq::Record> recs;
    for (int i = 0; i < 20 && recs.size() < 3; ++i) {
        const auto more = drain(q, keep);
        recs.insert(recs.end(), more.begin(), more.end());
        (void)q.wait(100ms);
    }
    REQUIRE(recs.size() >= 3);
    const auto link = wq::as_key(recs[0]).value();
    CHECK(link.subtype == wq::KeySubtype::linked);
    CHECK(link.key == ring);
    CHECK(link.aux == static_cast<std::uint32_t>(key));
    CHECK(recs[0].watch_id() == 1);
    const auto upd = wq::as_key(recs[1]).value();
    CHECK(upd.subtype == wq::KeySubtype::updated);
    CHECK(upd.key == key);
    CHECK(recs[1].watch_id() == 2);
    CHECK(wq::as_key(recs[2]).value().subtype == wq::KeySubtype::revoked);

    const std::int32_t other = add_user_key("lib-test-2", "x", KEY_SPEC_SESSION_KEYRING);
    q.watch_key(other, 3);
    q.unwatch_key(other);
    std::error_code ec;
    q.unwatch_key(other, ec);
    CHECK(ec.value() == EBADSLT); // no such watch
    CHECK_THROWS_WITH(q.unwatch_key(other), Catch::Contains("removing the watch of key"));
}

TEST_CASE("watch(Target): one call for every source, on the real device", "[lib][target]") {
    REQUIRE(keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0) > 0); // a keyring of our own
    wq::Queue q = wq::Queue::open();
    const std::int32_t key = add_user_key("lib-target", "one", KEY_SPEC_SESSION_KEYRING);
    q.watch(wq::target::Key{key}, 200);
    REQUIRE(keyctl(KEYCTL_UPDATE, static_cast<unsigned long>(key),
                   reinterpret_cast<unsigned long>("two"), 3) == 0);
    CHECK(q.wait(2000ms) == wq::WaitResult::ready);
    std::vector<std::vector<std::byte>> keep;
    auto recs = drain(q, keep);
    REQUIRE_FALSE(recs.empty());
    CHECK(wq::as_key(recs[0]).value().subtype == wq::KeySubtype::updated);
    CHECK(wq::as_key(recs[0]).value().key == key);
    CHECK(recs[0].watch_id() == 200);
    q.unwatch(wq::target::Key{key});
    std::error_code ec;
    q.unwatch(wq::target::Key{key}, ec);
    CHECK(ec.value() == EBADSLT); // removed by the call before

    // The other sources: added with their id, refused a second time, and
    // removed with a removal record carrying the id.
    const int dir = ::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(dir >= 0);
    const wq::Target others[] = {wq::target::Devices{}, wq::target::Filesystem{dir},
                                 wq::target::Mounts{dir}};
    unsigned id = 10;
    for (const wq::Target& t : others) {
        INFO("target alternative " << t.index());
        ++id;
        q.watch(t, id, ec);
        if (ec == std::errc::operation_not_supported) {
            continue; // not on this kernel
        }
        REQUIRE_FALSE(ec);
        q.watch(t, id + 100, ec);
        CHECK(ec == std::errc::device_or_resource_busy);
        q.unwatch(t);
        recs = drain(q, keep);
        const auto removal = std::find_if(recs.begin(), recs.end(), [id](const wq::Record& r) {
            return wq::as_removal(r) && r.watch_id() == id;
        });
        CHECK(removal != recs.end());
        q.unwatch(t, ec);
        CHECK(ec.value() == EBADSLT);
    }
    ::close(dir);
    CHECK_THROWS_WITH(q.watch(wq::target::Filesystem{dir}, 256),
                      Catch::Contains("watch id 256 is out of range"));
}

TEST_CASE("errors carry errno and what was attempted", "[lib][errors]") {
    try {
        // Backend::device: automatic would fall back to a notification
        // pipe where the kernel has them (the debug lane's does).
        wq::Queue q =
            wq::Queue::open({.backend = wq::Backend::device, .path = "/dev/no-such-watch-queue"});
        FAIL("opened");
    } catch (const wq::error& e) {
        CHECK(e.code() == std::errc::no_such_file_or_directory);
        CHECK_THAT(e.what(), Catch::Contains("modprobe watch_queue"));
    }
    wq::Queue q = wq::Queue::open();
    std::error_code ec;
    q.watch_key(0x7fffffff, 0, ec);
    CHECK(ec.value() == ENOKEY);
    CHECK_THROWS_WITH(q.watch_key(0x7fffffff, 0), Catch::Contains("watching key 2147483647"));

    const int not_block = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(not_block >= 0);
    q.watch_block(not_block, 0, ec);
    ::close(not_block);
    CHECK((ec.value() == ENOTBLK || ec == std::errc::operation_not_supported));

    wq::Queue sized = wq::Queue::open({.notes = 4});
    wqt::TestModule tm;
    tm.watch(sized.fd(), 5, 0);
    const wq::RingInfo info = sized.info();
    CHECK(info.abi_version == 1);
    CHECK((info.features & wq::feature::mmap) != 0);
}

TEST_CASE("the global device watch needs nothing but root here", "[lib][devices]") {
    wq::Queue q = wq::Queue::open();
    std::error_code ec;
    q.watch_devices(0, ec);
    if (ec == std::errc::operation_not_supported) {
        SUCCEED("no device events on this kernel");
        return;
    }
    REQUIRE_FALSE(ec);
    q.watch_devices(1, ec);
    CHECK(ec == std::errc::device_or_resource_busy);
    q.unwatch_devices();
    std::vector<std::vector<std::byte>> keep;
    const auto recs = drain(q, keep);
    REQUIRE(recs.size() == 1);
    CHECK(wq::as_removal(recs[0]));
}

// The pipe backend against the kernel's own notification pipes. Stock
// Debian kernels have none (pipe2(O_NOTIFICATION_PIPE) gives ENOPKG), so
// there this only checks that the library says so; the debug and reference
// lanes' kernels have CONFIG_WATCH_QUEUE and CONFIG_KEY_NOTIFICATIONS, and
// there the fallback must work (WQ_LANE=debug or reference).
TEST_CASE("Backend::pipe: key events through the kernel's notification pipe", "[lib][pipe]") {
    const char* lane = std::getenv("WQ_LANE");
    const bool must_work =
        lane != nullptr && (std::string(lane) == "debug" || std::string(lane) == "reference");
    std::error_code ec;
    wq::Queue q(wq::QueueOptions{.notes = 32, .backend = wq::Backend::pipe}, ec);
    if (!must_work && ec.value() == ENOPKG) {
        SUCCEED("no notification pipes in this kernel: " << ec.message());
        return;
    }
    REQUIRE_FALSE(ec);
    REQUIRE(q.backend() == wq::Backend::pipe);
    REQUIRE(keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0) > 0);
    const std::int32_t key = add_user_key("lib-pipe", "one", KEY_SPEC_SESSION_KEYRING);
    q.watch_key(key, 7);
    REQUIRE(keyctl(KEYCTL_UPDATE, static_cast<unsigned long>(key),
                   reinterpret_cast<unsigned long>("two"), 3) == 0);
    REQUIRE(q.wait(5000ms) == wq::WaitResult::ready);
    {
        wq::Batch batch = q.batch(); // the same call as on the device
        const std::optional<wq::Record> rec = batch.next();
        REQUIRE(rec.has_value());
        const auto upd = wq::as_key(*rec);
        REQUIRE(upd);
        CHECK(upd->subtype == wq::KeySubtype::updated);
        CHECK(upd->key == key);
        CHECK(rec->watch_id() == 7);
    }
    REQUIRE(keyctl(KEYCTL_UPDATE, static_cast<unsigned long>(key),
                   reinterpret_cast<unsigned long>("six"), 3) == 0);
    REQUIRE(q.wait(5000ms) == wq::WaitResult::ready);
    std::vector<std::byte> buffer(4096);
    wq::Records recs = q.read(buffer);
    const std::optional<wq::Record> rec = recs.next();
    REQUIRE(rec.has_value());
    CHECK(wq::as_key(*rec).value().key == key);
    // The mapped ring is the device's alone.
    std::error_code map_ec;
    (void)q.ring(map_ec);
    CHECK(map_ec == std::errc::operation_not_supported);
}
