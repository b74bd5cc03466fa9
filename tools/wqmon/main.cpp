// SPDX-License-Identifier: GPL-2.0-or-later
// wqmon: prints key, keyring, device, filesystem and mount notifications
// from /dev/watch_queue, consumed zero-copy from the mapped ring.
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <poll.h>
#include <string>
#include <vector>

#include <sys/signalfd.h>

#include "options.hpp"
#include "output.hpp"
#include "watches.hpp"
#include <fmt/format.h>
#include <watchqueue/watchqueue.hpp>

namespace {

namespace wq = watchqueue;
using Clock = std::chrono::steady_clock;

using wqmon::Fatal;

class Monitor {
public:
    Monitor(const wqmon::Options& o, wq::Queue& queue, wqmon::Formatter fmt)
        : o_(o), queue_(queue), fmt_(std::move(fmt)) {}

    // False once --count records were printed.
    bool consume() {
        // head loaded once (a notification pipe: one read() into the queue)
        wq::Batch batch = queue_.batch();
        return print_all(batch);
    } // the batch publishes its position; the next poll() re-checks the head

private:
    template <class Range>
    bool print_all(Range&& records) {
        // NOLINTNEXTLINE(readability-use-anyofallof): prints as it goes
        for (const wq::Record& rec : records) {
            const wqmon::Timestamp ts = wqmon::now(); // when wqmon read it
            const std::string out = o_.json ? fmt_.json(rec, ts) : fmt_.human(rec, ts);
            fmt::print(stdout, "{}\n", out);
            if (o_.count != 0 && ++printed_ >= o_.count) {
                return false; // the rest stays in the ring
            }
        }
        return true;
    }

    const wqmon::Options& o_;
    wq::Queue& queue_;
    wqmon::Formatter fmt_;
    std::vector<std::byte> buffer_ = std::vector<std::byte>(4096);
    std::uint64_t printed_ = 0;
};

int signal_fd() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) < 0) {
        throw Fatal{fmt::format("sigprocmask: {}", std::strerror(errno))};
    }
    const int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        throw Fatal{fmt::format("signalfd: {}", std::strerror(errno))};
    }
    return fd;
}

int run(const wqmon::Options& o) {
    const int sigfd = signal_fd();
    wq::QueueOptions qo;
    qo.ring_bytes = o.ring_bytes;
    qo.backend = wqmon::backend_for(o);
    wq::Queue queue;
    try {
        queue = wq::Queue(qo);
    } catch (const wq::error& e) {
        throw Fatal{e.what()};
    }
    if (const auto filter = wqmon::build_filter(o)) {
        queue.set_filter(*filter);
    }
    wqmon::Formatter fmt;
    fmt.time_style = o.iso_time   ? wqmon::TimeStyle::iso
                     : o.realtime ? wqmon::TimeStyle::realtime
                                  : wqmon::TimeStyle::monotonic;
    if (o.json) {
        fmt.boot_id = wqmon::read_boot_id();
    }
    if (o.udev) {
        fmt.enrich = {wq::describe_block, wq::describe_usb};
    }
    wqmon::add_watches(queue, o, fmt.labels);
    if (!o.quiet) {
        // as udevadm monitor's banner: the watches are in place from here on
        std::string what;
        for (const auto& [id, label] : fmt.labels) {
            what += (what.empty() ? "" : " ") + label;
        }
        fmt::print(stderr, "wqmon: watching {}\n", what);
    }

    Monitor monitor(o, queue, std::move(fmt));
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(o.timeout));
    for (;;) {
        int wait_ms = -1;
        if (o.timeout > 0) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) {
                return wqmon::timeout_exit_status(o);
            }
            wait_ms = static_cast<int>(left.count());
        }
        std::array<pollfd, 2> fds{{{queue.fd(), POLLIN, 0}, {sigfd, POLLIN, 0}}};
        if (::poll(fds.data(), fds.size(), wait_ms) < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw Fatal{fmt::format("poll: {}", std::strerror(errno))};
        }
        if ((fds[1].revents & POLLIN) != 0) {
            return wqmon::exit_status::ok; // SIGINT or SIGTERM
        }
        if ((fds[0].revents & POLLERR) != 0) {
            throw Fatal{"the queue reports an error (corrupt consumer position)"};
        }
        if ((fds[0].revents & POLLIN) != 0 && !monitor.consume()) {
            return wqmon::exit_status::ok; // --count records
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    (void)setvbuf(stdout, nullptr, _IOLBF, 0);
    int exit_code = 0;
    const auto options = wqmon::parse(argc, argv, exit_code);
    if (!options) {
        return exit_code;
    }
    try {
        return run(*options);
    } catch (const Fatal& f) {
        fmt::print(stderr, "wqmon: {}\n", f.message);
    } catch (const std::exception& e) {
        fmt::print(stderr, "wqmon: {}\n", e.what());
    }
    return wqmon::exit_status::failure;
}
