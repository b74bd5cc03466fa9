// SPDX-License-Identifier: GPL-2.0-or-later
// wqmon: prints key, keyring, device, filesystem and mount notifications
// from /dev/watch_queue, consumed zero-copy from the mapped ring.
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <optional>
#include <poll.h>
#include <string>
#include <unistd.h>
#include <vector>

#include <sys/signalfd.h>
#include <sys/stat.h>

#include "journal.hpp"
#include "metrics.hpp"
#include "options.hpp"
#include "output.hpp"
#include "privileges.hpp"
#include "watches.hpp"
#include <fmt/format.h>
#include <watchqueue/watchqueue.hpp>

namespace {

namespace wq = watchqueue;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

using wqmon::Fatal;

constexpr const char* device_path = "/dev/watch_queue";
// --wait-device: how often the device node is looked at while it is awaited,
// and how long wqmon lets go of it after SIGHUP if nobody reloads the module.
constexpr auto device_poll = 100ms;
constexpr auto release_limit = 30s;

// Where records go: stdout (unless --journal) and the sinks.
class Monitor {
public:
    Monitor(const wqmon::Options& o, wqmon::Formatter& fmt) : o_(o), fmt_(fmt) {}

    void add_sink(std::unique_ptr<wqmon::Sink> sink) { sinks_.push_back(std::move(sink)); }

    // False once --count records were handled.
    bool consume(wq::Queue& queue) {
        // head loaded once (a notification pipe: one read() into the queue)
        wq::Batch batch = queue.batch();
        return handle_all(batch);
    } // the batch publishes its position; the next poll() re-checks the head

    void gap(const wqmon::Gap& gap) {
        if (!o_.journal) {
            fmt::print(stdout, "{}\n", o_.json ? fmt_.json(gap) : fmt_.human(gap));
        }
        for (auto& sink : sinks_) {
            sink->gap(gap);
        }
    }

    void flush(bool final) {
        const auto now = Clock::now();
        for (auto& sink : sinks_) {
            sink->flush(now, final);
        }
    }

    // The earliest time a sink wants flush() called.
    [[nodiscard]] std::optional<Clock::time_point> next_flush() const {
        std::optional<Clock::time_point> next;
        for (const auto& sink : sinks_) {
            const auto t = sink->next_flush();
            if (t && (!next || *t < *next)) {
                next = t;
            }
        }
        return next;
    }

private:
    template <class Range>
    bool handle_all(Range&& records) {
        // NOLINTNEXTLINE(readability-use-anyofallof): handles as it goes
        for (const wq::Record& rec : records) {
            const wqmon::Timestamp ts = wqmon::now(); // when wqmon read it
            if (!o_.journal) {
                const std::string out = o_.json ? fmt_.json(rec, ts) : fmt_.human(rec, ts);
                fmt::print(stdout, "{}\n", out);
            }
            for (auto& sink : sinks_) {
                sink->record(rec, ts);
            }
            if (o_.count != 0 && ++handled_ >= o_.count) {
                return false; // the rest stays in the ring
            }
        }
        return true;
    }

    const wqmon::Options& o_;
    wqmon::Formatter& fmt_;
    std::vector<std::unique_ptr<wqmon::Sink>> sinks_;
    std::uint64_t handled_ = 0;
};

int signal_fd() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) < 0) {
        throw Fatal{fmt::format("sigprocmask: {}", std::strerror(errno))};
    }
    const int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        throw Fatal{fmt::format("signalfd: {}", std::strerror(errno))};
    }
    return fd;
}

// The signal waiting on @sigfd, 0 if none.
int take_signal(int sigfd) {
    signalfd_siginfo si{};
    if (::read(sigfd, &si, sizeof(si)) != static_cast<ssize_t>(sizeof(si))) {
        return 0;
    }
    return static_cast<int>(si.ssi_signo);
}

// Sleeps up to @wait; true if SIGINT or SIGTERM arrived (SIGHUP is ignored
// while wqmon has no queue).
bool stop_requested(int sigfd, std::chrono::milliseconds wait) {
    pollfd pfd{sigfd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(wait.count())) > 0) {
        const int sig = take_signal(sigfd);
        return sig == SIGINT || sig == SIGTERM;
    }
    return false;
}

// The device node's inode, or 0 if there is none.
ino_t device_inode() {
    struct stat st {};
    return ::stat(device_path, &st) == 0 ? st.st_ino : 0;
}

bool module_missing(const std::error_code& ec) {
    return ec == std::errc::no_such_file_or_directory || ec == std::errc::no_such_device ||
           ec == std::errc::no_such_device_or_address;
}

// The queue, or nullopt if a signal asked wqmon to stop while it waited for
// the device (--wait-device).
std::optional<wq::Queue> open_queue(const wqmon::Options& o, int sigfd) {
    wq::QueueOptions qo;
    qo.ring_bytes = o.ring_bytes;
    qo.backend = wqmon::backend_for(o);
    bool said = false;
    for (;;) {
        std::error_code ec;
        wq::Queue queue(qo, ec);
        if (!ec) {
            return queue;
        }
        if (!o.wait_device || !module_missing(ec)) {
            throw Fatal{wq::open_error_message(device_path, ec)};
        }
        if (!said && !o.quiet) {
            fmt::print(stderr, "wqmon: waiting for {} (module not loaded)\n", device_path);
            said = true;
        }
        if (stop_requested(sigfd, device_poll)) {
            return std::nullopt;
        }
    }
}

// After SIGHUP: wqmon has closed its queue so that the module can be
// unloaded. Returns once the device was removed and came back, or is
// another node already, or after release_limit; false if a signal asked
// wqmon to stop meanwhile.
bool await_reload(const wqmon::Options& o, int sigfd, ino_t released) {
    if (!o.quiet) {
        fmt::print(stderr, "wqmon: released {}; waiting for the module to be reloaded\n",
                   device_path);
    }
    const auto limit = Clock::now() + release_limit;
    bool gone = false;
    while (Clock::now() < limit) {
        const ino_t ino = device_inode();
        gone = gone || ino == 0;
        if (ino != 0 && (gone || ino != released)) {
            return true;
        }
        if (stop_requested(sigfd, device_poll)) {
            return false;
        }
    }
    if (!gone && !o.quiet) {
        fmt::print(stderr, "wqmon: the module was not reloaded; reopening {}\n", device_path);
    }
    return true;
}

enum class Outcome : std::uint8_t { exit, reopen };

// Consumes @queue until a signal, --count or --timeout; @code is the exit
// status when the outcome is exit.
Outcome watch(const wqmon::Options& o, wq::Queue& queue, Monitor& monitor, int sigfd,
              Clock::time_point deadline, int& code) {
    for (;;) {
        int wait_ms = -1;
        auto until = monitor.next_flush();
        if (o.timeout > 0 && (!until || deadline < *until)) {
            until = deadline;
        }
        if (until) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(*until - Clock::now());
            wait_ms = static_cast<int>(std::max<std::int64_t>(left.count(), 0));
        }
        if (o.timeout > 0 && Clock::now() >= deadline) {
            code = wqmon::timeout_exit_status(o);
            return Outcome::exit;
        }
        std::array<pollfd, 2> fds{{{queue.fd(), POLLIN, 0}, {sigfd, POLLIN, 0}}};
        if (::poll(fds.data(), fds.size(), wait_ms) < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw Fatal{fmt::format("poll: {}", std::strerror(errno))};
        }
        if ((fds[1].revents & POLLIN) != 0) {
            const int sig = take_signal(sigfd);
            if (sig == SIGHUP && o.wait_device) {
                return Outcome::reopen;
            }
            if (sig != 0) {
                code = wqmon::exit_status::ok; // SIGINT, SIGTERM or SIGHUP
                return Outcome::exit;
            }
        }
        if ((fds[0].revents & POLLERR) != 0) {
            throw Fatal{"the queue reports an error (corrupt consumer position)"};
        }
        if ((fds[0].revents & POLLIN) != 0 && !monitor.consume(queue)) {
            code = wqmon::exit_status::ok; // --count records
            return Outcome::exit;
        }
        monitor.flush(false);
    }
}

void banner(const wqmon::Formatter& fmt) {
    // as udevadm monitor's banner: the watches are in place from here on
    fmt::print(stderr, "wqmon: watching {}\n", wqmon::watch_list(fmt.labels));
}

int run(const wqmon::Options& o) {
    wqmon::drop_capabilities(o);
    const int sigfd = signal_fd();
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
    const auto filter = wqmon::build_filter(o);
    Monitor monitor(o, fmt);
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(o.timeout));
    std::optional<wqmon::Timestamp> closed_at; // set while a gap is open
    for (;;) {
        std::optional<wq::Queue> queue = open_queue(o, sigfd);
        if (!queue) {
            monitor.flush(true);
            return wqmon::exit_status::ok;
        }
        if (filter) {
            queue->set_filter(*filter);
        }
        fmt.labels.clear();
        wqmon::add_watches(*queue, o, fmt.labels);
        if (!o.quiet) {
            banner(fmt);
        }
        if (closed_at) {
            monitor.gap({*closed_at, wqmon::now()});
            closed_at.reset();
        } else {
            // the sinks' first entries name the watches
            if (o.journal) {
                monitor.add_sink(wqmon::make_journal_sink(fmt));
            }
            if (!o.metrics_textfile.empty()) {
                monitor.add_sink(std::make_unique<wqmon::MetricsFile>(
                    o.metrics_textfile,
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::duration<double>(o.metrics_interval)),
                    fmt));
            }
        }
        int code = wqmon::exit_status::ok;
        if (watch(o, *queue, monitor, sigfd, deadline, code) == Outcome::exit) {
            monitor.flush(true);
            return code;
        }
        const ino_t released = device_inode();
        closed_at = wqmon::now();
        queue.reset(); // unmapped and closed: the module may go
        if (!await_reload(o, sigfd, released)) {
            monitor.flush(true);
            return wqmon::exit_status::ok;
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
