// SPDX-License-Identifier: GPL-2.0-or-later
// libwatchqueue: the queue against the fake system-call seam.
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <poll.h>

#include "lib_fake.hpp"
#include "wq_catch.hpp"

namespace wq = watchqueue;
using libtest::arg_of;
using libtest::FakeSys;

// The seam is the library's own: QueueOptions has no way to pass one in.
template <class Options>
concept takes_a_seam = requires(Options o) {
    o.sys;
};
static_assert(!takes_a_seam<wq::QueueOptions>);

TEST_CASE("open sizes the queue in notes by default, or in bytes") {
    FakeSys sys;
    {
        wq::Queue q = libtest::open(sys);
        CHECK(q.fd() == FakeSys::device_fd);
        CHECK(q.backend() == wq::Backend::device);
        CHECK(sys.opened.at(0) == "/dev/watch_queue");
        CHECK((sys.open_flags & O_ACCMODE) == O_RDWR);
        CHECK((sys.open_flags & O_CLOEXEC) != 0);
        REQUIRE(sys.last_ioctl(WQ_IOC_SET_SIZE));
        CHECK(sys.last_ioctl(WQ_IOC_SET_SIZE)->value == 256);
    }
    CHECK(sys.closed == std::vector<int>{FakeSys::device_fd});

    FakeSys bytes_sys;
    wq::Queue q = libtest::open(bytes_sys, {.ring_bytes = 1 << 20});
    CHECK(arg_of<__u64>(bytes_sys.last_ioctl(WQ_IOC_SET_RING_BYTES)) == 1 << 20);
    CHECK_FALSE(bytes_sys.last_ioctl(WQ_IOC_SET_SIZE));
}

TEST_CASE("a missing device says how to load the module") {
    FakeSys sys;
    sys.open_errno = ENOENT;
    try {
        wq::Queue q = libtest::open(sys);
        FAIL("no exception");
    } catch (const wq::error& e) {
        CHECK(e.code() == std::errc::no_such_file_or_directory);
        CHECK_THAT(e.what(), Catch::Contains("/dev/watch_queue not found: load the module with "
                                             "`modprobe watch_queue`"));
    }
    std::error_code ec;
    wq::Queue q = libtest::open(sys, {}, ec);
    CHECK(ec == std::errc::no_such_file_or_directory);
    CHECK_FALSE(q.is_open());
}

TEST_CASE("other open errors are reported with the path") {
    FakeSys sys;
    sys.open_errno = EMFILE;
    try {
        wq::Queue q = libtest::open(sys);
        FAIL("no exception");
    } catch (const wq::error& e) {
        CHECK(e.code() == std::errc::too_many_files_open);
        CHECK_THAT(e.what(), Catch::Contains("cannot open /dev/watch_queue"));
    }
}

TEST_CASE("a sizing error closes the descriptor") {
    FakeSys sys;
    sys.ioctl_errno[WQ_IOC_SET_SIZE] = ENOSPC;
    std::error_code ec;
    wq::Queue q = libtest::open(sys, {}, ec);
    CHECK(ec == std::errc::no_space_on_device);
    CHECK_FALSE(q.is_open());
    CHECK(sys.closed == std::vector<int>{FakeSys::device_fd});
}

TEST_CASE("watches and filters use the device's ioctls") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    q.watch_key(wq::key_spec::session, 3);
    auto wk = arg_of<wq_watch_key>(sys.last_ioctl(WQ_IOC_WATCH_KEY));
    CHECK(wk.key == -3);
    CHECK(wk.watch_id == 3);
    q.unwatch_key(1234);
    wk = arg_of<wq_watch_key>(sys.last_ioctl(WQ_IOC_WATCH_KEY));
    CHECK(wk.key == 1234);
    CHECK(wk.watch_id == -1);

    q.watch_devices(9);
    auto wd = arg_of<wq_watch_devices>(sys.last_ioctl(WQ_IOC_WATCH_DEVICES));
    CHECK(wd.blk_fd == -1);
    CHECK(wd.watch_id == 9);
    q.watch_block(7, 10);
    wd = arg_of<wq_watch_devices>(sys.last_ioctl(WQ_IOC_WATCH_DEVICES));
    CHECK(wd.blk_fd == 7);
    CHECK(wd.watch_id == 10);
    q.unwatch_block(7);
    wd = arg_of<wq_watch_devices>(sys.last_ioctl(WQ_IOC_WATCH_DEVICES));
    CHECK(wd.watch_id == -1);

    std::error_code ec;
    q.watch_key(1, 256, ec);
    CHECK(ec == std::errc::invalid_argument);

    sys.ioctl_errno[WQ_IOC_WATCH_DEVICES] = EPERM;
    q.watch_devices(1, ec);
    CHECK(ec == std::errc::operation_not_permitted);
    CHECK_THROWS_WITH(q.watch_devices(1), Catch::Contains("watching all devices"));

    q.set_filter(wq::FilterBuilder().add({wq::KeySubtype::revoked}).add(0x7e57, {200U}).build());
    const auto* call = sys.last_ioctl(WQ_IOC_SET_FILTER);
    const auto hdr = arg_of<wq_notification_filter>(call);
    CHECK(hdr.nr_filters == 2);
    REQUIRE(call->arg.size() == sizeof(hdr) + 2 * sizeof(wq_notification_type_filter));
    wq_notification_type_filter second{};
    std::memcpy(&second, call->arg.data() + sizeof(hdr) + sizeof(second), sizeof(second));
    CHECK(second.type == 0x7e57);
    CHECK(second.subtype_filter[200 / 32] == 1U << (200 % 32));
    q.clear_filter();
    CHECK(sys.last_ioctl(WQ_IOC_SET_FILTER)->value == 0);
}

TEST_CASE("the mapped ring is consumed through batches and unmapped on close") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    sys.ring.post(libtest::key_record(wq::KeySubtype::revoked, 77, 0));
    CHECK(q.wait(std::chrono::milliseconds(0)) == wq::WaitResult::ready);
    {
        wq::Batch batch = q.batch();
        const auto rec = batch.next();
        REQUIRE(rec);
        CHECK(wq::as_key(*rec).value().subtype == wq::KeySubtype::revoked);
    }
    CHECK(sys.ring.tail() == 16);
    CHECK(q.wait(std::chrono::milliseconds(0)) == wq::WaitResult::timeout);
    CHECK(q.batch().empty());
    q.close();
    CHECK(sys.unmapped.size() == 2);
}

TEST_CASE("a ring description that does not add up is refused") {
    FakeSys sys;
    sys.ioctl_errno[WQ_IOC_GET_INFO] = ENODATA;
    wq::Queue q = libtest::open(sys);
    std::error_code ec;
    (void)q.batch(ec);
    CHECK(ec == std::errc::no_message_available);
    CHECK_THROWS_WITH(q.batch(), Catch::Contains("mapping the ring"));
}

TEST_CASE("read() fallback: the same records, EAGAIN is no record") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    auto buf = libtest::key_record(wq::KeySubtype::updated, 5, 0);
    const auto loss = libtest::loss_record(2);
    buf.insert(buf.end(), loss.begin(), loss.end());
    sys.reads.push_back(buf);
    std::vector<std::byte> space(4096);
    wq::Records records = q.read(space);
    CHECK(wq::as_key(*records.next()).value().key == 5);
    CHECK(wq::as_loss(*records.next()).value().count == 2U);
    CHECK_FALSE(records.next());
    CHECK(q.read(space).size_bytes() == 0);
}

TEST_CASE("without the module, key watches go through a notification pipe") {
    FakeSys sys;
    sys.open_errno = ENOENT;
    sys.pipe_errno = 0;
    wq::Queue q = libtest::open(sys);
    CHECK(q.backend() == wq::Backend::pipe);
    CHECK(q.fd() == FakeSys::pipe_read_fd);
    CHECK((sys.pipe_flags & O_EXCL) != 0); // O_NOTIFICATION_PIPE
    CHECK(sys.last_ioctl(WQ_IOC_SET_SIZE)->value == 256);
    q.watch_key(wq::key_spec::user, 4);
    REQUIRE(sys.keyctls.size() == 1);
    CHECK(sys.keyctls[0].key == -4);
    CHECK(sys.keyctls[0].fd == FakeSys::pipe_read_fd);
    CHECK(sys.keyctls[0].watch_id == 4);
    q.unwatch_key(wq::key_spec::user);
    CHECK(sys.keyctls.at(1).watch_id == -1);
    std::error_code ec;
    q.watch_devices(0, ec);
    CHECK(ec == std::errc::operation_not_supported);
    (void)q.ring(ec); // the mapped ring is the device's alone
    CHECK(ec == std::errc::operation_not_supported);
    q.close();
    CHECK(sys.closed.size() == 2); // both ends
}

TEST_CASE("without the module or notification pipes the device error is reported") {
    FakeSys sys;
    sys.open_errno = ENOENT;
    sys.pipe_errno = ENOPKG;
    CHECK_THROWS_WITH(libtest::open(sys), Catch::Contains("modprobe watch_queue"));
    sys.pipe_errno = 0;
    CHECK_THROWS_WITH(libtest::open(sys, {.backend = wq::Backend::device}),
                      Catch::Contains("modprobe watch_queue"));
}

TEST_CASE("a closed queue fails every call with EBADF, never touching a descriptor") {
    FakeSys sys;
    wq::Queue opened = libtest::open(sys);
    wq::Queue moved(std::move(opened));
    CHECK(moved.is_open());
    CHECK(moved.fd() == FakeSys::device_fd);
    wq::Queue closed_by_call(std::move(moved));
    closed_by_call.close();
    CHECK(sys.closed == std::vector<int>{FakeSys::device_fd});
    const std::size_t ioctls = sys.ioctls.size();

    wq::Queue never_opened;
    // NOLINTNEXTLINE(bugprone-use-after-move,clang-analyzer-cplusplus.Move): closed by the move
    for (wq::Queue* q : {&never_opened, &opened, &closed_by_call}) {
        CHECK_FALSE(q->is_open());
        CHECK(q->fd() == -1);
        std::error_code ec;
        q->watch_key(1, 0, ec);
        CHECK(ec == std::errc::bad_file_descriptor);
        q->watch_filesystem(7, 0, ec);
        CHECK(ec == std::errc::bad_file_descriptor);
        q->watch_devices(0, ec);
        CHECK(ec == std::errc::bad_file_descriptor);
        (void)q->info(ec);
        CHECK(ec == std::errc::bad_file_descriptor);
        (void)q->batch(ec);
        CHECK(ec == std::errc::bad_file_descriptor);
        std::vector<std::byte> space(256);
        CHECK(q->read(space, ec).size_bytes() == 0);
        CHECK(ec == std::errc::bad_file_descriptor);
        CHECK(q->wait(std::chrono::milliseconds(0), ec) == wq::WaitResult::timeout);
        CHECK(ec == std::errc::bad_file_descriptor);
        q->sync(ec);
        CHECK(ec == std::errc::bad_file_descriptor);
        CHECK_THROWS_WITH(q->watch_mounts(7, 0), Catch::StartsWith("watching mounts: "));
        CHECK_THROWS_AS(q->batch(), wq::error);
        q->close(); // again: nothing happens
    }
    CHECK(sys.ioctls.size() == ioctls);
    CHECK(sys.closed.size() == 1);
}

TEST_CASE("wait() tells a record from a timeout from a signal") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    using std::chrono::milliseconds;
    CHECK(q.wait(milliseconds(250)) == wq::WaitResult::timeout);
    sys.ring.post(libtest::key_record(wq::KeySubtype::updated, 1, 0));
    CHECK(q.wait(milliseconds(250)) == wq::WaitResult::ready);
    sys.poll_errno = EINTR;
    std::error_code ec;
    CHECK(q.wait(milliseconds(250), ec) == wq::WaitResult::interrupted);
    CHECK_FALSE(ec);
    CHECK(q.wait(milliseconds(250)) == wq::WaitResult::interrupted); // no exception either
    // the timeout as poll() takes it: negative is forever, too long is clamped
    (void)q.wait(milliseconds(-5));
    (void)q.wait(milliseconds(std::int64_t{1} << 40));
    CHECK(sys.poll_timeouts == std::vector<int>{250, 250, 250, 250, -1, INT_MAX});
}

TEST_CASE("wait() reports the queue's errors and poll()'s") {
    FakeSys sys;
    wq::Queue q = libtest::open(sys);
    using std::chrono::milliseconds;
    sys.ring.post(libtest::key_record(wq::KeySubtype::updated, 1, 0));
    sys.poll_revents = POLLERR; // a corrupt consumer position
    std::error_code ec;
    CHECK(q.wait(milliseconds(0), ec) == wq::WaitResult::timeout);
    CHECK(ec == std::errc::io_error);
    CHECK_THROWS_WITH(q.wait(milliseconds(0)), Catch::Contains("waiting for the queue"));
    sys.poll_revents = 0;
    sys.poll_errno = ENOMEM;
    CHECK(q.wait(milliseconds(0), ec) == wq::WaitResult::timeout);
    CHECK(ec == std::errc::not_enough_memory);
}

namespace {

// A queue on a notification pipe (no module, pipes available).
wq::Queue open_pipe(FakeSys& sys) {
    sys.open_errno = ENOENT;
    sys.pipe_errno = 0;
    wq::Queue q = libtest::open(sys);
    REQUIRE(q.backend() == wq::Backend::pipe);
    return q;
}

std::vector<std::byte> concat(std::initializer_list<std::vector<std::byte>> parts) {
    std::vector<std::byte> out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

} // namespace

TEST_CASE("batch() on a notification pipe: the records of one read(), in the queue's buffer") {
    FakeSys sys;
    wq::Queue q = open_pipe(sys);
    CHECK(q.batch().empty()); // EAGAIN: nothing, no error
    sys.reads.push_back(concat({libtest::key_record(wq::KeySubtype::updated, 1, 0),
                                libtest::key_record(wq::KeySubtype::revoked, 2, 0)}));
    sys.reads.push_back(libtest::loss_record(4));
    CHECK(q.wait(std::chrono::milliseconds(0)) == wq::WaitResult::ready);
    std::vector<std::int32_t> keys;
    for (const wq::Record& rec : q.batch()) {
        keys.push_back(wq::as_key(rec).value().key);
    }
    CHECK(keys == std::vector<std::int32_t>{1, 2});
    CHECK(sys.reads.size() == 1); // one read() per batch
    {
        wq::Batch batch = q.batch();
        const auto rec = batch.next();
        REQUIRE(rec);
        CHECK(wq::as_loss(*rec).value().count == 4U);
        CHECK_FALSE(batch.next());
    }
    CHECK(sys.reads.empty());
    CHECK(sys.unmapped.empty()); // nothing was mapped
    CHECK(sys.ioctl_count(WQ_IOC_GET_INFO) == 0);
}

TEST_CASE("a pipe's records a batch left are the next batch's, before any read()") {
    FakeSys sys;
    wq::Queue q = open_pipe(sys);
    sys.reads.push_back(concat({libtest::key_record(wq::KeySubtype::updated, 1, 0),
                                libtest::key_record(wq::KeySubtype::updated, 2, 0),
                                libtest::key_record(wq::KeySubtype::updated, 3, 0)}));
    sys.reads.push_back(libtest::key_record(wq::KeySubtype::updated, 4, 0));
    {
        wq::Batch batch = q.batch();
        CHECK(wq::as_key(*batch.next()).value().key == 1); // then stop, as at --count
    }
    // the two left are ready, though the pipe has nothing new to poll()
    const std::size_t polls = sys.poll_timeouts.size();
    CHECK(q.wait(std::chrono::milliseconds(-1)) == wq::WaitResult::ready);
    CHECK(sys.poll_timeouts.size() == polls);
    std::vector<std::int32_t> keys;
    for (const wq::Record& rec : q.batch()) {
        keys.push_back(wq::as_key(rec).value().key);
    }
    CHECK(keys == std::vector<std::int32_t>{2, 3});
    CHECK(sys.reads.size() == 1); // not read yet
    for (const wq::Record& rec : q.batch()) {
        keys.push_back(wq::as_key(rec).value().key);
    }
    CHECK(keys == std::vector<std::int32_t>{2, 3, 4});
}

TEST_CASE("a pipe's read() errors come back from batch(), a malformed record stops it") {
    FakeSys sys;
    wq::Queue q = open_pipe(sys);
    sys.reads.emplace_back(8192); // more than the buffer: ENOBUFS
    std::error_code ec;
    CHECK(q.batch(ec).empty());
    CHECK(ec == std::errc::no_buffer_space);
    CHECK_THROWS_WITH(q.batch(), Catch::Contains("reading the notification pipe"));
    sys.reads.clear();
    sys.reads.push_back(concat({libtest::key_record(wq::KeySubtype::updated, 1, 0),
                                libtest::raw_header(WQ_TYPE_KEY, 12, 16)}));
    wq::Batch batch = q.batch(ec);
    CHECK_FALSE(ec);
    CHECK(batch.next(ec));
    CHECK_FALSE(batch.next(ec));
    CHECK(ec == wq::record_errc::unaligned);
}
