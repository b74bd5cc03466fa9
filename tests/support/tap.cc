// SPDX-License-Identifier: GPL-2.0-or-later
#include "tap.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include <sys/mman.h>

namespace wqt::tap {

namespace {

struct Counts {
    std::atomic<int> checks{0};
    std::atomic<int> failed{0};
};

// In a shared anonymous mapping made before main(), so that a forked child
// (wq-faultinject's) counts into its parent's plan; without one, the
// numbers are this process's own.
Counts* map_counts() {
    void* p =
        ::mmap(nullptr, sizeof(Counts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    static Counts local;
    return p == MAP_FAILED ? &local : new (p) Counts;
}

Counts* const counts = map_counts();
std::mutex out_mutex;

void print(const std::string& line) {
    // Nothing to do if stdout fails: the harness sees the missing lines.
    (void)std::fputs((line + '\n').c_str(), stdout);
    (void)std::fflush(stdout);
}

} // namespace

void say(const std::string& line) {
    const std::lock_guard lock(out_mutex);
    print(line);
}

void pass(const std::string& what) {
    check(true, what);
}

void fail(const std::string& what) {
    check(false, what);
}

void check(bool ok, const std::string& what) {
    // Numbered under the lock: the lines come out in their numbers' order.
    const std::lock_guard lock(out_mutex);
    const int n = ++counts->checks;
    if (!ok) {
        ++counts->failed;
    }
    print((ok ? "ok " : "not ok ") + std::to_string(n) + " - " + what);
}

int failed() {
    return counts->failed;
}

void plan() {
    const std::lock_guard lock(out_mutex);
    print("1.." + std::to_string(counts->checks));
}

} // namespace wqt::tap
