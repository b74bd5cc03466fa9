// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers shared by the integration tests (run as root in a guest with
// watch_queue.ko and wq_test.ko loaded).
#pragma once

#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <poll.h>
#include <string>
#include <thread>
#include <vector>

#include <linux/wq_dev.h>

#include "checker.h"
#include "error.h"
#include "queue.h"
#include "ring.h"
#include "testmod.h"

namespace it {

using namespace wqt; // NOLINT(google-build-using-namespace): test code

using Bytes = std::vector<std::byte>;
using namespace std::chrono_literals;

std::size_t page_size();

// A queue of @bytes ring bytes (SET_RING_BYTES), O_NONBLOCK unless @block.
Queue sized_queue(std::uint64_t bytes, bool block = false);

// Reads (O_NONBLOCK) until EAGAIN, in reads of @bufsize bytes.
std::vector<Bytes> collect_read(Queue& q, std::size_t bufsize = 65536);
// Consumes through the mapping (Queue::map()) until the ring is empty.
std::vector<Bytes> collect_mmap(Queue& q);
// Feeds every record to @checker, then returns how many there were.
std::size_t feed_all(SyntheticChecker& checker, const std::vector<Bytes>& records);

Header header_of(const Bytes& rec);
bool is_loss(const Bytes& rec);
std::uint64_t loss_count(const Bytes& rec);

// poll() for @events, returning revents (0 on timeout).
short poll_events(int fd, short events, int timeout_ms);

// Installs a do-nothing handler for @sig (SA_RESTART if @restart); restores
// the previous one when destroyed.
class SignalCatcher {
public:
    SignalCatcher(int sig, bool restart);
    SignalCatcher(const SignalCatcher&) = delete;
    SignalCatcher& operator=(const SignalCatcher&) = delete;
    SignalCatcher(SignalCatcher&&) = delete;
    SignalCatcher& operator=(SignalCatcher&&) = delete;
    ~SignalCatcher();

private:
    int sig_;
    struct sigaction old_ {};
};

// Failures seen by helper threads (Catch2's assertions are for the main
// thread only): REQUIRE(failures.empty()) afterwards, INFO(failures.str()).
class Failures {
public:
    void add(std::string what);
    [[nodiscard]] bool empty() const;
    [[nodiscard]] std::string str() const;

private:
    mutable std::mutex mutex_;
    std::vector<std::string> list_;
};

// Runs @fn in a thread; an exception it throws becomes a failure.
std::jthread spawn(Failures& failures, std::function<void()> fn);

// Sends @sig to thread @target after @delay, from a helper thread.
std::jthread signal_later(pthread_t target, int sig, std::chrono::milliseconds delay);

// A module parameter of watch_queue (/sys/module/watch_queue/parameters),
// restored to its value at construction when destroyed.
class ParamGuard {
public:
    explicit ParamGuard(const std::string& name);
    ParamGuard(const ParamGuard&) = delete;
    ParamGuard& operator=(const ParamGuard&) = delete;
    ParamGuard(ParamGuard&&) = delete;
    ParamGuard& operator=(ParamGuard&&) = delete;
    ~ParamGuard();
    void set(std::uint64_t value) const;
    [[nodiscard]] std::uint64_t original() const noexcept { return original_; }

private:
    std::string path_;
    std::uint64_t original_;
};

std::uint64_t read_param(const std::string& name);

// Runs @fn in a child process after @setup (false: setup failed) and returns
// the numbers @fn returned.  A child whose setup fails, that throws or dies
// makes this throw.
std::vector<long> run_in_child(const std::function<bool()>& setup,
                               const std::function<std::vector<long>()>& fn);

// Runs @fn in a child process as uid/gid 65534 with no supplementary groups
// and no capabilities; returns the numbers @fn returned.  A child that
// throws, fails to drop privileges or dies makes this throw.
std::vector<long> run_unprivileged(const std::function<std::vector<long>()>& fn);

// Retries @fn (returning errno, 0 on success) for up to @limit while it
// returns @transient: resources a queue or watch frees may be released after
// an RCU grace period rather than at close().
int retry_while(int transient, const std::function<int()>& fn,
                std::chrono::milliseconds limit = 2000ms);

} // namespace it
