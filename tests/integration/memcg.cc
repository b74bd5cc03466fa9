// SPDX-License-Identifier: GPL-2.0-or-later
// Ring memory is charged to the opener's memory cgroup, a mount table to
// its watcher's, also when the module re-reads it (cgroup v2).
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sched.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mount.h>

#include "fs_helpers.h"
#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t mib = 1ULL << 20;
constexpr std::size_t mounts = 1000; // mount table growth, see below

bool write_file(const fs::path& path, const std::string& value) {
    std::ofstream out(path);
    out << value << '\n';
    out.flush();
    return static_cast<bool>(out);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The cgroup2 root with the memory controller enabled for children, or an
// empty path and the reason in @why.
fs::path cgroup2_memory_root(std::string& why) {
    fs::path root = "/sys/fs/cgroup";
    if (!fs::exists(root / "cgroup.controllers")) {
        if (::mount("cgroup2", root.c_str(), "cgroup2", 0, nullptr) < 0) {
            root = "/tmp/wq-cgroup2";
            fs::create_directories(root);
            if (::mount("cgroup2", root.c_str(), "cgroup2", 0, nullptr) < 0) {
                why = "cannot mount cgroup2: " + std::string(std::strerror(errno));
                return {};
            }
        }
    }
    if (read_file(root / "cgroup.controllers").find("memory") == std::string::npos) {
        why = "the memory controller is not available in cgroup2";
        return {};
    }
    if (read_file(root / "cgroup.subtree_control").find("memory") == std::string::npos &&
        !write_file(root / "cgroup.subtree_control", "+memory")) {
        why = "cannot enable the memory controller for child cgroups";
        return {};
    }
    return root;
}

// The cgroup this process is in, below @root.
fs::path own_cgroup(const fs::path& root) {
    const std::string self = read_file("/proc/self/cgroup");
    const auto at = self.find("0::/");
    if (at == std::string::npos) {
        throw std::runtime_error("no cgroup2 line in /proc/self/cgroup");
    }
    const auto end = self.find('\n', at);
    return root / self.substr(at + 4, end == std::string::npos ? end : end - at - 4);
}

class Cgroup {
public:
    explicit Cgroup(fs::path path) : path_(std::move(path)) { fs::create_directory(path_); }
    Cgroup(const Cgroup&) = delete;
    Cgroup& operator=(const Cgroup&) = delete;
    Cgroup(Cgroup&&) = delete;
    Cgroup& operator=(Cgroup&&) = delete;
    ~Cgroup() { ::rmdir(path_.c_str()); }
    [[nodiscard]] const fs::path& path() const noexcept { return path_; }
    [[nodiscard]] std::uint64_t memory_current() const {
        return std::stoull(read_file(path_ / "memory.current"));
    }

private:
    fs::path path_;
};

} // namespace

TEST_CASE("ring memory is charged to the memory cgroup", "[memcg]") {
    std::string why;
    const fs::path root = cgroup2_memory_root(why);
    if (root.empty()) {
        WARN("SKIPPED: " << why);
        return;
    }
    const Cgroup cg(root / ("wq-test-" + std::to_string(::getpid())));
    REQUIRE(write_file(cg.path() / "memory.max", std::to_string(8 * mib)));
    if (fs::exists(cg.path() / "memory.swap.max")) {
        write_file(cg.path() / "memory.swap.max", "0");
    }

    // Outside the small cgroup a 16 MiB ring can be had.
    {
        Queue q;
        CHECK_NOTHROW(q.set_ring_bytes(16 * mib));
    }

    std::vector<long> out;
    const auto join = [&cg] {
        return write_file(cg.path() / "cgroup.procs", std::to_string(::getpid()));
    };
    try {
        out = run_in_child(join, [&cg] {
            std::vector<long> res;
            Queue big;
            std::uint64_t bytes = 16 * mib;
            res.push_back(errno_of(::ioctl(big.fd(), WQ_IOC_SET_RING_BYTES, &bytes)));
            const std::uint64_t before = cg.memory_current();
            Queue small;
            bytes = mib;
            res.push_back(errno_of(::ioctl(small.fd(), WQ_IOC_SET_RING_BYTES, &bytes)));
            res.push_back(static_cast<long>(cg.memory_current() - before));
            return res;
        });
    } catch (const std::exception& e) {
        FAIL(e.what() << " (if SIGKILL: the memcg OOM killer ran; ring allocations should "
                         "fail with ENOMEM, e.g. __GFP_RETRY_MAYFAIL or __GFP_NORETRY)");
    }
    REQUIRE(out.size() == 3);
    CHECK(out[0] == ENOMEM);
    CHECK(out[1] == 0);
    // The memcg charges in per-CPU batches (MEMCG_CHARGE_BATCH, at most 64
    // pages): up to one batch may come from stock precharged earlier.
    constexpr long charge_batch = 64L * 4096;
    CHECK(out[2] >= static_cast<long>(mib) - charge_batch);
}

TEST_CASE("a mount table the module re-reads is charged to its watcher's memory cgroup",
          "[memcg]") {
    std::string why;
    const fs::path root = cgroup2_memory_root(why);
    if (root.empty()) {
        WARN("SKIPPED: " << why);
        return;
    }
    const fs::path home = own_cgroup(root);
    const Cgroup cg(root / ("wq-table-" + std::to_string(::getpid())));
    const auto join = [&cg] {
        return write_file(cg.path() / "cgroup.procs", std::to_string(::getpid())) &&
               ::unshare(CLONE_NEWNS) == 0 &&
               ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    };
    // 1000 bind mounts on paths of 700 characters: the table's text, about
    // 800 KiB, grows from one buffer of 16 KiB to one of 1 MiB.
    const auto got = run_in_child(join, [&] {
        const ScratchMount scratch("/run/wq-memcg-" + std::to_string(::getpid()));
        std::string deep = scratch.path();
        for (const char c : {'a', 'b', 'c'}) {
            deep += "/" + std::string(230, c);
        }
        make_dirs(deep);
        make_dirs(scratch.path() + "/src");
        Queue q = sized_queue(64UL * 1024);
        const Fd dir = open_fd(scratch.path(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const long watched = watch_mount(q.fd(), dir.get(), 1);
        // Out of the cgroup: from here on only the module charges it.
        if (!write_file(home / "cgroup.procs", std::to_string(::getpid()))) {
            throw std::runtime_error("cannot go back to " + home.string());
        }
        const std::uint64_t before = cg.memory_current();
        for (std::size_t i = 0; i < mounts; ++i) {
            const std::string target = deep + "/m" + std::to_string(i);
            make_dirs(target);
            sys_mount(scratch.path() + "/src", target, nullptr, MS_BIND);
        }
        const auto recs = records_until(
            q, [](const std::vector<Bytes>& r) { return r.size() >= mounts; },
            std::chrono::seconds(120));
        const std::uint64_t after = cg.memory_current();
        return std::vector<long>{watched, static_cast<long>(recs.size()),
                                 static_cast<long>(after) - static_cast<long>(before)};
    });
    REQUIRE(got.size() == 3);
    CHECK(got[0] == 0);
    CHECK(got[1] == static_cast<long>(mounts));
    INFO("memory.current grew by " << got[2] << " bytes");
    // The new table (1 MiB of text and its index) less the first one,
    // give or take the memcg's per-CPU charge batch (at most 64 pages).
    CHECK(got[2] >= static_cast<long>(mib) - 64L * 4096);
}
