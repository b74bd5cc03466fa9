// SPDX-License-Identifier: GPL-2.0-or-later
// mount_bench: the cost of one mount change with N mount watches in the
// namespace.
//
// A scratch tmpfs gets N directories d0..d(N-1), each watched once (250
// watches per queue, the watch ids of one queue); the changes are a tmpfs
// mounted on d0/m and unmounted again, so each change concerns one watch
// and the other N-1 watch directories elsewhere in the same namespace.
// For each change the program waits until d0's watch has delivered its
// record (NEW, then UNMOUNT) before making the next one.  Prints one line:
//   mount_bench watches=N changes=C cpu_per_change=CPU syscall=SYS
//               latency=LAT
// CPU: the CPU time of every thread in the system (the sum of
// /proc/<pid>/task/<tid>/schedstat's run times, kernel workers included)
// over the changes, divided by their number: the whole cost of a change
// (the mount and umount syscalls, the module's reads of the table, the
// records), idle time excluded.  SYS: the median time spent in mount(2)
// plus umount2(2) of one change.  LAT: the median time from the return of
// mount(2) until the record has been read (a re-read may wait for the
// rate limit).  All in ns; in a guest run with WQ_ICOUNT=0 the clock
// counts instructions.
//
// Runs as root (mounts); exits with 1 on an error or a wrong record.

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <exception>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <linux/wq_dev.h>

#include "error.h"

namespace {

constexpr int per_queue = 250;

[[noreturn]] void usage(int status) {
    (void)std::fprintf(status == 0 ? stdout : stderr,
                       "usage: mount_bench [--watches N] [--changes N]\n"
                       "  --watches N   mount watches in the namespace (default 1)\n"
                       "  --changes N   mount+umount pairs timed (default 200)\n");
    std::exit(status);
}

unsigned parse(std::string_view s) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
        usage(2);
    }
    return v;
}

std::uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

void check(bool ok, const std::string& what) {
    if (!ok) {
        wqt::throw_errno(what);
    }
}

// The run time of every thread now alive, ns.
std::uint64_t all_cpu_ns() {
    std::uint64_t sum = 0;
    DIR* proc = ::opendir("/proc");
    check(proc != nullptr, "opendir /proc");
    while (const dirent* p = ::readdir(proc)) {
        if (p->d_name[0] < '0' || p->d_name[0] > '9') {
            continue;
        }
        const std::string tasks = std::string("/proc/") + p->d_name + "/task";
        DIR* t = ::opendir(tasks.c_str());
        if (t == nullptr) {
            continue; // gone
        }
        while (const dirent* e = ::readdir(t)) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') {
                continue;
            }
            const std::string path = tasks + "/" + e->d_name + "/schedstat";
            FILE* f = std::fopen(path.c_str(), "re");
            if (f == nullptr) {
                continue;
            }
            // "<ns on the CPU> <ns waiting> <timeslices>"
            std::array<char, 128> line{};
            if (std::fgets(line.data(), static_cast<int>(line.size()), f) != nullptr) {
                const char* end = line.data() + std::strlen(line.data());
                unsigned long long run = 0;
                if (std::from_chars(line.data(), end, run).ec == std::errc{}) {
                    sum += run;
                }
            }
            (void)std::fclose(f);
        }
        ::closedir(t);
    }
    ::closedir(proc);
    return sum;
}

int open_queue() {
    const int fd = ::open(WQ_DEV_PATH, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    check(fd >= 0, "open " WQ_DEV_PATH);
    std::uint64_t bytes = std::uint64_t{64} * 1024;
    check(::ioctl(fd, WQ_IOC_SET_RING_BYTES, &bytes) == 0, "WQ_IOC_SET_RING_BYTES");
    return fd;
}

void watch(int qfd, const std::string& dir, int id) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    check(fd >= 0, "open " + dir);
    wq_watch_mount req{};
    req.fd = fd;
    req.watch_id = id;
    check(::ioctl(qfd, WQ_IOC_WATCH_MOUNT, &req) == 0, "WQ_IOC_WATCH_MOUNT " + dir);
    ::close(fd);
}

// Waits for the next record of @qfd and checks that it is a mount record
// of @subtype from watch 0.
void await(int qfd, unsigned subtype) {
    alignas(8) unsigned char buf[256];
    for (;;) {
        pollfd p{qfd, POLLIN, 0};
        check(::poll(&p, 1, 10000) >= 0, "poll");
        if (p.revents == 0) {
            throw std::runtime_error("no record within 10 s");
        }
        const ssize_t n = ::read(qfd, buf, sizeof(buf));
        if (n < 0 && errno == EAGAIN) {
            continue;
        }
        check(n >= 0, "read");
        wq_notification h{};
        std::memcpy(&h, buf, sizeof(h));
        if (static_cast<std::size_t>(n) != sizeof(wq_mount_notification) ||
            h.type != WQ_TYPE_MOUNT || h.subtype != subtype || (h.info & WQ_INFO_ID) != 0) {
            throw std::runtime_error("unexpected record: type " + std::to_string(h.type) +
                                     " subtype " + std::to_string(h.subtype) + ", " +
                                     std::to_string(n) + " bytes");
        }
        return;
    }
}

std::uint64_t median(std::vector<std::uint64_t> v) {
    std::ranges::sort(v);
    return v.empty() ? 0 : v[v.size() / 2];
}

int run(unsigned watches, unsigned changes) {
    const std::string base = "/run/wq-mount-bench-" + std::to_string(::getpid());
    check(::mkdir(base.c_str(), 0755) == 0, "mkdir " + base);
    check(::mount("bench", base.c_str(), "tmpfs", 0, "mode=0755") == 0, "mount " + base);
    std::vector<int> queues;
    std::string m;
    try {
        for (unsigned i = 0; i < watches; ++i) {
            const std::string d = base + "/d" + std::to_string(i);
            check(::mkdir(d.c_str(), 0755) == 0, "mkdir " + d);
            if (i % per_queue == 0) {
                queues.push_back(open_queue());
            }
            watch(queues.back(), d, static_cast<int>(i % per_queue));
        }
        m = base + "/d0/m";
        check(::mkdir(m.c_str(), 0755) == 0, "mkdir " + m);
        const int q0 = queues.at(0);

        auto change = [&](std::vector<std::uint64_t>* sys, std::vector<std::uint64_t>* lat) {
            const std::uint64_t t0 = now_ns();
            check(::mount("bench", m.c_str(), "tmpfs", 0, "size=64k") == 0, "mount " + m);
            const std::uint64_t t1 = now_ns();
            await(q0, WQ_MOUNT_NEW);
            const std::uint64_t t2 = now_ns();
            check(::umount2(m.c_str(), 0) == 0, "umount " + m);
            const std::uint64_t t3 = now_ns();
            await(q0, WQ_MOUNT_UNMOUNT);
            if (sys != nullptr) {
                sys->push_back((t1 - t0) + (t3 - t2));
                lat->push_back(t2 - t1);
            }
        };
        for (int i = 0; i < 5; ++i) {
            change(nullptr, nullptr); // warm-up
        }
        std::vector<std::uint64_t> sys;
        std::vector<std::uint64_t> lat;
        const std::uint64_t cpu0 = all_cpu_ns();
        for (unsigned i = 0; i < changes; ++i) {
            change(&sys, &lat);
        }
        const std::uint64_t cpu1 = all_cpu_ns();
        std::printf("mount_bench watches=%u changes=%u cpu_per_change=%llu syscall=%llu "
                    "latency=%llu\n",
                    watches, changes, static_cast<unsigned long long>((cpu1 - cpu0) / changes),
                    static_cast<unsigned long long>(median(sys)),
                    static_cast<unsigned long long>(median(lat)));
    } catch (...) {
        for (const int q : queues) {
            ::close(q);
        }
        ::umount2(base.c_str(), MNT_DETACH);
        throw;
    }
    for (const int q : queues) {
        ::close(q);
    }
    check(::umount2(base.c_str(), MNT_DETACH) == 0, "umount " + base);
    ::rmdir(base.c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    unsigned watches = 1;
    unsigned changes = 200;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--help") {
            usage(0);
        }
        if (i + 1 >= argc) {
            usage(2);
        }
        if (a == "--watches") {
            watches = parse(argv[++i]);
        } else if (a == "--changes") {
            changes = parse(argv[++i]);
        } else {
            usage(2);
        }
    }
    if (watches == 0 || changes == 0) {
        usage(2);
    }
    try {
        return run(watches, changes);
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "mount_bench: %s\n", e.what());
        return 1;
    }
}
