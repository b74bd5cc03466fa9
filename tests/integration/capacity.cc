// SPDX-License-Identifier: GPL-2.0-or-later
// Upstream's capacity for upstream's sizing: after WQ_IOC_SET_SIZE(n) a
// queue holds at most n rounded up to a page of notes (32 on 4 KiB pages)
// records, whatever their size, and reports loss exactly where upstream's
// queue of notes would; WQ_IOC_SET_RING_BYTES keeps byte semantics.  Where
// the kernel has notification pipes (the debug and reference lanes), the
// same key operations go to a native pipe and to the device and must give
// the same records and the same loss, record for record.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <linux/keyctl.h>

#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

constexpr unsigned notes_per_page = 4096 / WQ_NOTE_SIZE;

unsigned capacity_of(unsigned notes) {
    return (notes + notes_per_page - 1) / notes_per_page * notes_per_page;
}

Queue notes_queue(unsigned notes) {
    Queue q(O_RDWR | O_NONBLOCK | O_CLOEXEC);
    q.set_size(notes);
    return q;
}

struct Drained {
    std::size_t records = 0;      // non-meta records
    std::size_t loss_records = 0; // loss records
    std::uint64_t lost = 0;       // their counts, added up
    bool loss_last = false;       // the last record read was the loss record
};

Drained drain(Queue& q) {
    Drained d;
    for (const Bytes& rec : collect_read(q)) {
        if (is_loss(rec)) {
            ++d.loss_records;
            d.lost += loss_count(rec);
            d.loss_last = true;
        } else {
            ++d.records;
            d.loss_last = false;
        }
    }
    return d;
}

long keyctl(int op, unsigned long a2 = 0, unsigned long a3 = 0, unsigned long a4 = 0,
            unsigned long a5 = 0) {
    return ::syscall(SYS_keyctl, op, a2, a3, a4, a5);
}

// One record as both implementations write it: type, subtype and the
// key serial for key records; "loss" for either implementation's loss mark.
using Seen = std::vector<std::string>;

Seen describe(const std::vector<Bytes>& records) {
    Seen out;
    for (const Bytes& rec : records) {
        const Header h = header_of(rec);
        if (h.type == WQ_TYPE_META && h.subtype == WQ_META_LOSS) {
            out.emplace_back("loss");
            continue;
        }
        std::int32_t key = 0;
        if (h.type == WQ_TYPE_KEY && rec.size() >= 12) {
            std::memcpy(&key, rec.data() + 8, sizeof(key));
        }
        out.push_back(std::to_string(h.type) + "/" + std::to_string(h.subtype) + "/" +
                      std::to_string(key));
    }
    return out;
}

// Whole records from a notification pipe (O_NONBLOCK) until EAGAIN.
std::vector<Bytes> read_pipe(int fd) {
    std::vector<Bytes> out;
    std::vector<std::byte> buf(65536);
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EAGAIN) {
            return out;
        }
        REQUIRE(n > 0);
        for (ssize_t off = 0; off < n;) {
            wq_notification h{};
            std::memcpy(&h, buf.data() + off, sizeof(h));
            const auto len = static_cast<ssize_t>(h.info & WQ_INFO_LENGTH);
            REQUIRE(len >= 8);
            out.emplace_back(buf.begin() + off, buf.begin() + off + len);
            off += len;
        }
    }
}

} // namespace

TEST_CASE("SET_SIZE(n) holds n rounded up to a page of notes records, then reports loss",
          "[capacity]") {
    const std::uint32_t size = GENERATE(16U, 120U);
    const unsigned notes = GENERATE(1U, 31U, 32U, 33U, 100U, 512U);
    const unsigned cap = capacity_of(notes);
    INFO("notes " << notes << ", capacity " << cap << ", records of " << size << " bytes");
    TestModule tm;
    Queue q = notes_queue(notes);
    tm.watch(q.fd(), 1, 3);
    tm.post({.object = 1, .count = cap + 7, .size = size});
    CHECK(q.info().lost == 7);
    const Drained first = drain(q);
    CHECK(first.records == cap);
    CHECK(first.loss_records == 1);
    CHECK(first.lost == 7);
    CHECK(first.loss_last); // the loss comes right after the last record kept

    // Reading gave the notes back: a full queue's worth fits again.
    tm.post({.object = 1, .count = cap, .size = size, .first_seq = cap + 7});
    const Drained second = drain(q);
    CHECK(second.records == cap);
    CHECK(second.loss_records == 0);
    CHECK(q.info().lost == 7);
}

TEST_CASE("notes are given back as the consumer reads, through read() or the mapping",
          "[capacity]") {
    TestModule tm;
    Queue q = notes_queue(1); // 32 records
    tm.watch(q.fd(), 2, 0);
    tm.post({.object = 2, .count = 32});
    SECTION("read(): 10 read, exactly 10 more fit") {
        REQUIRE(q.read_records(160, [](const Record&) {}) == 10); // 16 bytes each
        tm.post({.object = 2, .count = 10, .first_seq = 32});
        CHECK(q.info().lost == 0);
        tm.post({.object = 2, .count = 1, .first_seq = 42});
        CHECK(q.info().lost == 1);
    }
    SECTION("mmap: all 32 consumed, exactly 32 more fit") {
        q.map();
        REQUIRE(collect_mmap(q).size() == 32);
        tm.post({.object = 2, .count = 32, .first_seq = 32});
        CHECK(q.info().lost == 0);
        tm.post({.object = 2, .count = 1, .first_seq = 64});
        CHECK(q.info().lost == 1);
        // A mapping's reader meets the loss record before the next record.
        REQUIRE(collect_mmap(q).size() == 32);
        tm.post({.object = 2, .count = 1, .first_seq = 65});
        const std::vector<Bytes> next = collect_mmap(q);
        REQUIRE(next.size() == 2);
        CHECK(is_loss(next[0]));
        CHECK(loss_count(next[0]) == 1);
    }
}

TEST_CASE("SET_RING_BYTES keeps byte semantics: a page holds 256 records of 16 bytes",
          "[capacity]") {
    TestModule tm;
    Queue q = sized_queue(4096);
    tm.watch(q.fd(), 3, 0);
    tm.post({.object = 3, .count = 256});
    CHECK(q.info().lost == 0);
    tm.post({.object = 3, .count = 1, .first_seq = 256});
    CHECK(q.info().lost == 1);
    const Drained d = drain(q);
    CHECK(d.records == 256);
    CHECK(d.lost == 1);
}

TEST_CASE("the same key operations give the same records and loss on a native pipe",
          "[capacity][pipe]") {
    // The debug and reference lanes' kernels have notification pipes.
    const char* lane = std::getenv("WQ_LANE");
    const bool must_work =
        lane != nullptr && (std::string(lane) == "debug" || std::string(lane) == "reference");
    // <linux/watch_queue.h> cannot be included with glibc's <fcntl.h>:
    // O_NOTIFICATION_PIPE is O_EXCL, IOC_WATCH_QUEUE_SET_SIZE is ours.
    int pfd[2];
    if (::pipe2(pfd, O_EXCL | O_NONBLOCK | O_CLOEXEC) < 0) {
        REQUIRE_FALSE(must_work);
        SUCCEED("no notification pipes in this kernel (errno " << errno << ")");
        return;
    }
    REQUIRE(::ioctl(pfd[0], WQ_IOC_SET_SIZE, 1) == 0);
    Queue q = notes_queue(1);

    REQUIRE(keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0) > 0);
    const long key = ::syscall(SYS_add_key, "user", "capacity", "v", 1, KEY_SPEC_SESSION_KEYRING);
    REQUIRE(key > 0);
    REQUIRE(keyctl(KEYCTL_WATCH_KEY, key, pfd[0], 1) == 0);
    wq_watch_key wk{};
    wk.key = static_cast<std::int32_t>(key);
    wk.watch_id = 1;
    REQUIRE(::ioctl(q.fd(), WQ_IOC_WATCH_KEY, &wk) == 0);

    // 40 updates: 32 notes, then loss; then 5 more after reading.
    for (int i = 0; i < 40; ++i) {
        REQUIRE(keyctl(KEYCTL_UPDATE, key, reinterpret_cast<unsigned long>("w"), 1) == 0);
    }
    Seen native = describe(read_pipe(pfd[0]));
    Seen ours = describe(collect_read(q));
    for (int i = 0; i < 5; ++i) {
        REQUIRE(keyctl(KEYCTL_UPDATE, key, reinterpret_cast<unsigned long>("x"), 1) == 0);
    }
    const Seen native2 = describe(read_pipe(pfd[0]));
    const Seen ours2 = describe(collect_read(q));
    native.insert(native.end(), native2.begin(), native2.end());
    ours.insert(ours.end(), ours2.begin(), ours2.end());
    CHECK(native.size() == 32 + 1 + 5);
    CHECK(ours == native);
    ::close(pfd[0]);
    ::close(pfd[1]);
    keyctl(KEYCTL_INVALIDATE, key);
}
