// SPDX-License-Identifier: GPL-2.0-or-later
#include "it_common.h"

#include <array>
#include <cstring>
#include <fstream>
#include <grp.h>
#include <poll.h>
#include <stdexcept>
#include <unistd.h>

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>

namespace it {

std::size_t page_size() {
    return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

Queue sized_queue(std::uint64_t bytes, bool block) {
    Queue q(O_RDWR | O_CLOEXEC | (block ? 0 : O_NONBLOCK));
    q.set_ring_bytes(bytes);
    return q;
}

std::vector<Bytes> collect_read(Queue& q, std::size_t bufsize) {
    std::vector<Bytes> out;
    while (q.read_records(bufsize, [&](Record r) { out.emplace_back(r.begin(), r.end()); }) > 0) {
    }
    return out;
}

std::vector<Bytes> collect_mmap(Queue& q) {
    std::vector<Bytes> out;
    const RingView& ring = q.map();
    while (consume_batch(ring, [&](Record r) { out.emplace_back(r.begin(), r.end()); }) > 0) {
    }
    return out;
}

std::size_t feed_all(SyntheticChecker& checker, const std::vector<Bytes>& records) {
    for (const Bytes& r : records) {
        checker.feed(r);
    }
    return records.size();
}

Header header_of(const Bytes& rec) {
    if (rec.size() < sizeof(wq_notification)) {
        throw std::runtime_error("record shorter than a header");
    }
    return decode_header(rec.data());
}

bool is_loss(const Bytes& rec) {
    const Header h = header_of(rec);
    return h.type == WQ_TYPE_META && h.subtype == WQ_META_LOSS;
}

std::uint64_t loss_count(const Bytes& rec) {
    if (!is_loss(rec) || rec.size() != sizeof(wq_loss_notification)) {
        throw std::runtime_error("not a 16-byte loss record");
    }
    std::uint64_t n = 0;
    std::memcpy(&n, rec.data() + offsetof(wq_loss_notification, count), sizeof(n));
    return n;
}

short poll_events(int fd, short events, int timeout_ms) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, timeout_ms);
    if (n < 0) {
        throw_errno("poll");
    }
    return n == 0 ? short{0} : p.revents;
}

namespace {

extern "C" void ignore_signal(int /*sig*/) {}

} // namespace

SignalCatcher::SignalCatcher(int sig, bool restart) : sig_(sig) {
    struct sigaction sa {};
    sa.sa_handler = ignore_signal;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(sig, &sa, &old_) < 0) {
        throw_errno("sigaction");
    }
}

SignalCatcher::~SignalCatcher() {
    ::sigaction(sig_, &old_, nullptr);
}

void Failures::add(std::string what) {
    const std::lock_guard lock(mutex_);
    list_.push_back(std::move(what));
}

bool Failures::empty() const {
    const std::lock_guard lock(mutex_);
    return list_.empty();
}

std::string Failures::str() const {
    const std::lock_guard lock(mutex_);
    std::string s;
    for (const auto& f : list_) {
        s += f + '\n';
    }
    return s;
}

std::jthread spawn(Failures& failures, std::function<void()> fn) {
    return std::jthread([&failures, fn = std::move(fn)] {
        try {
            fn();
        } catch (const std::exception& e) {
            failures.add(e.what());
        }
    });
}

std::jthread signal_later(pthread_t target, int sig, std::chrono::milliseconds delay) {
    return std::jthread([=] {
        std::this_thread::sleep_for(delay);
        ::pthread_kill(target, sig);
    });
}

std::uint64_t read_param(const std::string& name) {
    const std::string path = "/sys/module/watch_queue/parameters/" + name;
    std::ifstream in(path);
    std::uint64_t v = 0;
    if (!(in >> v)) {
        throw std::runtime_error("cannot read " + path);
    }
    return v;
}

ParamGuard::ParamGuard(const std::string& name)
    : path_("/sys/module/watch_queue/parameters/" + name), original_(read_param(name)) {}

ParamGuard::~ParamGuard() {
    try {
        set(original_);
    } catch (...) { // NOLINT(bugprone-empty-catch): best effort in a destructor
    }
}

void ParamGuard::set(std::uint64_t value) const {
    std::ofstream out(path_);
    out << value << '\n';
    out.flush();
    if (!out) {
        throw std::runtime_error("cannot write " + std::to_string(value) + " to " + path_);
    }
}

namespace {

// Becomes uid/gid 65534 without capabilities; false if that failed.
bool drop_privileges() {
    constexpr uid_t nobody = 65534;
    if (::setgroups(0, nullptr) < 0 || ::setgid(nobody) < 0 || ::setuid(nobody) < 0) {
        return false;
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        return false;
    }
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> data{};
    if (::syscall(SYS_capget, &hdr, data.data()) < 0) {
        return false;
    }
    for (const auto& d : data) {
        if (d.effective != 0 || d.permitted != 0) {
            return false;
        }
    }
    return ::geteuid() == nobody && ::getegid() == nobody;
}

} // namespace

std::vector<long> run_unprivileged(const std::function<std::vector<long>()>& fn) {
    return run_in_child(drop_privileges, fn);
}

std::vector<long> run_in_child(const std::function<bool()>& setup,
                               const std::function<std::vector<long>()>& fn) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) {
        throw_errno("pipe2");
    }
    Fd rd(fds[0]);
    Fd wr(fds[1]);
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw_errno("fork");
    }
    if (pid == 0) {
        rd.reset();
        int status = 0;
        try {
            if (!setup()) {
                ::_exit(3);
            }
            const std::vector<long> out = fn();
            const auto len = static_cast<ssize_t>(out.size() * sizeof(long));
            status = ::write(wr.get(), out.data(), static_cast<std::size_t>(len)) == len ? 0 : 4;
        } catch (const std::exception& e) {
            (void)::write(STDERR_FILENO, e.what(), std::strlen(e.what()));
            (void)::write(STDERR_FILENO, "\n", 1);
            status = 5;
        }
        ::_exit(status);
    }
    wr.reset();
    std::vector<long> out;
    long v = 0;
    while (::read(rd.get(), &v, sizeof(v)) == static_cast<ssize_t>(sizeof(v))) {
        out.push_back(v);
    }
    int status = 0;
    if (::waitpid(pid, &status, 0) < 0) {
        throw_errno("waitpid");
    }
    if (WIFSIGNALED(status)) {
        throw std::runtime_error("child killed by signal " + std::to_string(WTERMSIG(status)));
    }
    if (WEXITSTATUS(status) == 3) {
        throw std::runtime_error("child setup failed (dropping privileges, joining a cgroup)");
    }
    if (WEXITSTATUS(status) != 0) {
        throw std::runtime_error("child failed, exit status " +
                                 std::to_string(WEXITSTATUS(status)));
    }
    return out;
}

int retry_while(int transient, const std::function<int()>& fn, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int err = fn();
    while (err == transient && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
        err = fn();
    }
    return err;
}

} // namespace it
