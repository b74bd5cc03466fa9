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
#include <poll.h>
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

// Whole records from @fd (O_NONBLOCK), a notification pipe or the device
// alike, in reads of @bufsize bytes: at most @reads reads, or until EAGAIN.
std::vector<Bytes> read_fd(int fd, std::size_t bufsize = 65536, int reads = -1) {
    std::vector<Bytes> out;
    std::vector<std::byte> buf(bufsize);
    for (int i = 0; reads < 0 || i < reads; ++i) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EAGAIN) {
            break;
        }
        REQUIRE(n > 0);
        for (ssize_t off = 0; off < n;) {
            wq_notification h{};
            std::memcpy(&h, buf.data() + off, sizeof(h));
            const auto len = static_cast<ssize_t>(h.info & WQ_INFO_LENGTH);
            REQUIRE(len >= 8);
            REQUIRE(off + len <= n);
            out.emplace_back(buf.begin() + off, buf.begin() + off + len);
            off += len;
        }
    }
    return out;
}

// "r" for each record, "L" for each loss record.
std::string shape(const Seen& seen) {
    std::string out;
    for (const std::string& s : seen) {
        out += s == "loss" ? 'L' : 'r';
    }
    return out;
}

// A notification pipe sized with @notes, or none if the kernel has none
// (ENOPKG: CONFIG_WATCH_QUEUE off, every stock Debian kernel).  Fails the
// test where it must work: the debug and reference lanes' kernels.
struct NativePipe {
    int fd[2] = {-1, -1};

    explicit NativePipe(unsigned long notes) {
        const char* lane = std::getenv("WQ_LANE");
        const bool must_work =
            lane != nullptr && (std::string(lane) == "debug" || std::string(lane) == "reference");
        // <linux/watch_queue.h> cannot be included with glibc's <fcntl.h>:
        // O_NOTIFICATION_PIPE is O_EXCL, IOC_WATCH_QUEUE_SET_SIZE is ours.
        if (::pipe2(fd, O_EXCL | O_NONBLOCK | O_CLOEXEC) < 0) {
            INFO("pipe2(O_NOTIFICATION_PIPE): errno " << errno);
            REQUIRE_FALSE(must_work);
            fd[0] = fd[1] = -1;
            return;
        }
        REQUIRE(::ioctl(fd[0], WQ_IOC_SET_SIZE, notes) == 0);
    }
    NativePipe(const NativePipe&) = delete;
    NativePipe& operator=(const NativePipe&) = delete;
    NativePipe(NativePipe&&) = delete;
    NativePipe& operator=(NativePipe&&) = delete;
    ~NativePipe() {
        if (fd[0] >= 0) {
            ::close(fd[0]);
            ::close(fd[1]);
        }
    }
    [[nodiscard]] bool ok() const { return fd[0] >= 0; }
};

// A user key in a new session keyring, watched by @q (watch id 1) and, if
// there is one, by the notification pipe @p.
long watched_key(Queue& q, const NativePipe& p) {
    REQUIRE(keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0) > 0);
    const long key = ::syscall(SYS_add_key, "user", "capacity", "v", 1, KEY_SPEC_SESSION_KEYRING);
    REQUIRE(key > 0);
    if (p.ok()) {
        REQUIRE(keyctl(KEYCTL_WATCH_KEY, key, p.fd[0], 1) == 0);
    }
    wq_watch_key wk{};
    wk.key = static_cast<std::int32_t>(key);
    wk.watch_id = 1;
    REQUIRE(::ioctl(q.fd(), WQ_IOC_WATCH_KEY, &wk) == 0);
    return key;
}

void update_key(long key, int times) {
    for (int i = 0; i < times; ++i) {
        REQUIRE(keyctl(KEYCTL_UPDATE, key, reinterpret_cast<unsigned long>("w"), 1) == 0);
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

TEST_CASE("a run of losses gives one loss record, whatever polls come in between", "[capacity]") {
    TestModule tm;
    Queue q = notes_queue(1);
    tm.watch(q.fd(), 4, 0);
    tm.post({.object = 4, .count = 32});
    // Upstream marks the last record queued; a poll() or FIONREAD in the
    // middle of the run writes no loss record behind the unread ones.
    for (unsigned i = 0; i < 10; ++i) {
        tm.post({.object = 4, .count = 1, .first_seq = 32 + i});
        CHECK((poll_events(q.fd(), POLLIN, 0) & POLLIN) != 0);
        CHECK(q.fionread() == std::size_t{32} * 16); // as upstream: the queued records' bytes
    }
    CHECK(q.info().lost == 10);
    SECTION("read()") {
        const Drained d = drain(q);
        CHECK(d.records == 32);
        CHECK(d.loss_records == 1);
        CHECK(d.lost == 10);
        CHECK(d.loss_last);
    }
    SECTION("mmap: the loss record comes once every record is consumed and the reader polls") {
        q.map();
        REQUIRE(collect_mmap(q).size() == 32);
        CHECK((poll_events(q.fd(), POLLIN, 0) & POLLIN) != 0);
        const std::vector<Bytes> rest = collect_mmap(q);
        REQUIRE(rest.size() == 1);
        CHECK(is_loss(rest[0]));
        CHECK(loss_count(rest[0]) == 10);
    }
}

TEST_CASE("records of the largest size, each behind a loss record, still fit", "[capacity]") {
    TestModule tm;
    Queue q = notes_queue(1);
    tm.watch(q.fd(), 5, 0);
    tm.post({.object = 5, .count = 32, .size = WQ_RECORD_MAX});
    std::uint64_t seq = 32;
    // Lose one, read one, post one: 32 loss records between 32 records.
    for (unsigned i = 0; i < 32; ++i) {
        tm.post({.object = 5, .count = 1, .size = WQ_RECORD_MAX, .first_seq = seq++});
        CHECK(q.info().lost == i + 1);
        REQUIRE(q.read_records(WQ_RECORD_MAX, [](const Record&) {}) == 1);
        tm.post({.object = 5, .count = 1, .size = WQ_RECORD_MAX, .first_seq = seq++});
        CHECK(q.info().lost == i + 1);
    }
    std::string seen;
    for (const Bytes& rec : collect_read(q)) {
        seen += is_loss(rec) ? 'L' : 'r';
    }
    std::string want;
    for (unsigned i = 0; i < 32; ++i) {
        want += "Lr";
    }
    CHECK(seen == want);
}

// The same key operations, polls and reads against a notification pipe
// (where the kernel has them) and the device: upstream's capacity and loss,
// record for record.  On every kernel the device's records are checked
// against what upstream's queue gives (pipe_read(), post_one_notification()):
// a run of lost records is one loss record, right after the last record
// queued before the run, read once that record has been read.
TEST_CASE("the same key operations give the same records and loss on a native pipe",
          "[capacity][pipe]") {
    const unsigned long notes = GENERATE(1UL, 33UL);
    const unsigned cap = capacity_of(notes);
    INFO("notes " << notes << ", capacity " << cap);
    NativePipe p(notes);
    Queue q = notes_queue(notes);
    const long key = watched_key(q, p);
    std::vector<int> fds{q.fd()};
    if (p.ok()) {
        fds.push_back(p.fd[0]);
    }
    std::vector<Seen> seen(fds.size());
    const auto read_each = [&](std::size_t bufsize, int reads) {
        for (std::size_t i = 0; i < fds.size(); ++i) {
            const Seen s = describe(read_fd(fds[i], bufsize, reads));
            seen[i].insert(seen[i].end(), s.begin(), s.end());
        }
    };

    // A full queue, then a run of 8 lost, with poll() and FIONREAD between.
    update_key(key, static_cast<int>(cap));
    for (int i = 0; i < 8; ++i) {
        update_key(key, 1);
        for (const int fd : fds) {
            CHECK((poll_events(fd, POLLIN, 0) & POLLIN) != 0);
            int ready = -1;
            REQUIRE(::ioctl(fd, FIONREAD, &ready) == 0);
            CHECK(ready == static_cast<int>(cap * sizeof(wq_key_notification)));
        }
    }
    // Five read give five notes back: five fit, the next two are lost.
    read_each(5 * sizeof(wq_key_notification), 1);
    update_key(key, 7);
    read_each(65536, -1);
    // The trailing loss record has been read: three more fit.
    update_key(key, 3);
    read_each(65536, -1);

    const std::string want = std::string(cap, 'r') + "L" + std::string(5, 'r') + "L" + "rrr";
    CHECK(shape(seen[0]) == want);
    CHECK(q.info().lost == 10);
    if (p.ok()) {
        CHECK(seen[0] == seen[1]);
    }
    keyctl(KEYCTL_INVALIDATE, key);
}

TEST_CASE("sized with one note, 64 key records: 32 records, then the loss record",
          "[capacity][pipe]") {
    NativePipe p(1);
    Queue q = notes_queue(1);
    const long key = watched_key(q, p);
    update_key(key, 64);
    std::vector<int> fds{q.fd()};
    if (p.ok()) {
        fds.push_back(p.fd[0]);
    }
    for (const int fd : fds) {
        INFO((fd == q.fd() ? "device" : "native pipe"));
        // What a reader waiting for the loss record reads: never EAGAIN
        // before it (a blocking reader would wait for ever).
        const Seen s = describe(read_fd(fd));
        CHECK(shape(s) == std::string(32, 'r') + "L");
    }
    keyctl(KEYCTL_INVALIDATE, key);
}
