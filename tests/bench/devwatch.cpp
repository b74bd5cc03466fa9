// SPDX-License-Identifier: GPL-2.0-or-later
// wq_devwatch: holds a device watch and drains its queue until SIGTERM or
// SIGINT, for the block benchmark (tests/bench/run-block-bench.sh).
//
//   wq_devwatch            the global device watch (needs CAP_SYS_ADMIN)
//   wq_devwatch DISK       a watch of the block device DISK only
//
// Prints "ready" on stdout once the watch exists (the hooks are armed
// then), and on exit "records N lost M" on stdout.  Exit status 1 on an
// error.
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <unistd.h>
#include <vector>

#include <sys/ioctl.h>

#include <linux/wq_dev.h>

#include "error.h"
#include "fd.h"
#include "queue.h"

namespace {

std::atomic<bool> stop{false};

extern "C" void on_signal(int /*sig*/) {
    stop.store(true);
}

int run(int argc, char** argv) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);

    wqt::Queue q(O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    q.set_ring_bytes(1 << 20);
    wqt::Fd disk;
    wq_watch_devices req{};
    req.watch_id = 1;
    req.blk_fd = -1;
    if (argc > 1) {
        disk = wqt::open_fd(argv[1], O_RDONLY | O_CLOEXEC);
        req.blk_fd = disk.get();
    }
    if (::ioctl(q.fd(), WQ_IOC_WATCH_DEVICES, &req) < 0) {
        wqt::throw_errno("WQ_IOC_WATCH_DEVICES");
    }
    std::printf("ready\n");
    (void)std::fflush(stdout); // if it fails, the caller sees no "ready"

    unsigned long long records = 0;
    std::vector<char> buf(65536);
    while (!stop.load()) {
        pollfd p{q.fd(), POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) {
            continue;
        }
        const ssize_t n = ::read(q.fd(), buf.data(), buf.size());
        for (ssize_t off = 0; off + 8 <= n;) {
            wq_notification h{};
            std::memcpy(&h, buf.data() + off, sizeof(h));
            off += h.info & WQ_INFO_LENGTH;
            ++records;
            if ((h.info & WQ_INFO_LENGTH) == 0) {
                break;
            }
        }
    }
    std::printf("records %llu lost %llu\n", records,
                static_cast<unsigned long long>(q.info().lost));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "wq_devwatch: %s\n", e.what());
        return 1;
    }
}
