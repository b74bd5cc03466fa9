// SPDX-License-Identifier: GPL-2.0-or-later
// Per-user limits (module parameters), for an unprivileged user; users with
// CAP_SYS_RESOURCE are not subject to them.
#include <fcntl.h>
#include <unistd.h>

#include <sys/ioctl.h>

#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

int open_queue(std::vector<Fd>& keep) {
    const int fd = ::open(WQ_DEV_PATH, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    keep.emplace_back(fd);
    return 0;
}

int ring_bytes(const Queue& q, std::uint64_t bytes) {
    return errno_of(::ioctl(q.fd(), WQ_IOC_SET_RING_BYTES, &bytes));
}

} // namespace

TEST_CASE("max_user_queues: opening past the limit gives EMFILE", "[limits]") {
    const ParamGuard limit("max_user_queues");
    limit.set(3);
    const auto out = run_unprivileged([] {
        std::vector<Fd> keep;
        std::vector<long> res;
        res.reserve(6);
        for (int i = 0; i < 4; ++i) {
            res.push_back(open_queue(keep));
        }
        keep.pop_back(); // close one: a queue can be opened again
        res.push_back(retry_while(EMFILE, [&] { return open_queue(keep); }));
        res.push_back(open_queue(keep));
        return res;
    });
    CHECK(out == std::vector<long>{0, 0, 0, EMFILE, 0, EMFILE});
    // Root (CAP_SYS_RESOURCE) is not limited.
    std::vector<Fd> keep;
    for (int i = 0; i < 6; ++i) {
        CHECK(open_queue(keep) == 0);
    }
}

TEST_CASE("max_user_watches: a watch past the limit gives EAGAIN", "[limits]") {
    const ParamGuard limit("max_user_watches");
    limit.set(2);
    TestModule tm; // opened as root, used by the child
    const auto out = run_unprivileged([&tm] {
        Queue a = sized_queue(page_size());
        Queue b = sized_queue(page_size());
        std::vector<long> res;
        res.push_back(tm.try_watch(a.fd(), 0, 1));
        res.push_back(tm.try_watch(b.fd(), 1, 1));
        res.push_back(tm.try_watch(a.fd(), 2, 1)); // per user, not per queue
        res.push_back(tm.try_watch(b.fd(), 2, 1));
        res.push_back(tm.try_watch(a.fd(), 0, -1));
        res.push_back(retry_while(EAGAIN, [&] { return tm.try_watch(b.fd(), 2, 1); }));
        res.push_back(tm.try_watch(a.fd(), 3, 1));
        return res;
    });
    CHECK(out == std::vector<long>{0, 0, EAGAIN, EAGAIN, 0, 0, EAGAIN});
    Queue q = sized_queue(page_size());
    for (std::uint32_t obj = 0; obj < 4; ++obj) {
        CHECK(tm.try_watch(q.fd(), obj, 1) == 0);
    }
}

TEST_CASE("max_user_ring_bytes: sizing past the limit gives ENOSPC", "[limits]") {
    const ParamGuard limit("max_user_ring_bytes");
    limit.set(65536);
    const auto out = run_unprivileged([] {
        std::vector<long> res;
        auto a = std::make_unique<Queue>();
        Queue b;
        Queue c;
        Queue d;
        res.push_back(ring_bytes(*a, 32768));
        res.push_back(ring_bytes(b, 65536));
        res.push_back(errno_of(::ioctl(b.fd(), WQ_IOC_SET_SIZE, 512UL)));
        res.push_back(ring_bytes(b, 8192));
        a.reset(); // its ring memory is given back
        res.push_back(retry_while(ENOSPC, [&] { return ring_bytes(c, 32768); }));
        res.push_back(ring_bytes(d, 65536));
        return res;
    });
    CHECK(out == std::vector<long>{0, ENOSPC, ENOSPC, 0, 0, ENOSPC});
    Queue q;
    CHECK(ring_bytes(q, 1 << 20) == 0); // root is not limited
}

TEST_CASE("an unprivileged user may use a queue within the limits", "[limits]") {
    TestModule tm;
    const auto out = run_unprivileged([&tm] {
        Queue q = sized_queue(65536);
        q.map();
        std::vector<long> res;
        res.push_back(tm.try_watch(q.fd(), 0, 9));
        tm.post({.object = 0, .producer = 1, .count = 3});
        res.push_back(static_cast<long>(collect_mmap(q).size()));
        return res;
    });
    CHECK(out == std::vector<long>{0, 3});
}
