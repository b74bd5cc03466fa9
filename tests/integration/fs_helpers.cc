// SPDX-License-Identifier: GPL-2.0-or-later
#include "fs_helpers.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <linux/wq_dev.h>

#include "device_helpers.h"
#include "error.h"

namespace it {

int watch_sb(int qfd, int fd, int watch_id, std::uint32_t flags, std::uint32_t reserved) {
    wq_watch_sb req{};
    req.fd = fd;
    req.watch_id = watch_id;
    req.flags = flags;
    req.__reserved = reserved;
    return wqt::errno_of(::ioctl(qfd, WQ_IOC_WATCH_SB, &req));
}

int watch_mount(int qfd, int fd, int watch_id, std::uint32_t flags, std::uint32_t reserved) {
    wq_watch_mount req{};
    req.fd = fd;
    req.watch_id = watch_id;
    req.flags = flags;
    req.__reserved = reserved;
    return wqt::errno_of(::ioctl(qfd, WQ_IOC_WATCH_MOUNT, &req));
}

std::vector<Bytes> records_until(Queue& q,
                                 const std::function<bool(const std::vector<Bytes>&)>& done,
                                 std::chrono::milliseconds limit) {
    std::vector<Bytes> got;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        for (Bytes& rec : collect_read(q)) {
            got.push_back(std::move(rec));
        }
        if (done(got) || std::chrono::steady_clock::now() > deadline) {
            return got;
        }
        poll_events(q.fd(), POLLIN, 50);
    }
}

std::string capture(const std::string& cmd) {
    FILE* p = ::popen(cmd.c_str(), "r"); // NOLINT(cert-env33-c): test setup
    if (p == nullptr) {
        wqt::throw_errno("popen " + cmd);
    }
    std::string out;
    std::array<char, 256> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) {
        out.append(buf.data(), n);
    }
    const int rc = ::pclose(p);
    if (rc != 0) {
        throw std::runtime_error(cmd + ": exit status " + std::to_string(rc));
    }
    while (!out.empty() && out.back() == '\n') {
        out.pop_back();
    }
    return out;
}

wqt::Fd create_file(const std::string& path, int flags, mode_t mode) {
    const int fd = ::open(path.c_str(), flags | O_CREAT | O_CLOEXEC, mode);
    if (fd < 0) {
        wqt::throw_errno("create " + path);
    }
    return wqt::Fd(fd);
}

void make_dirs(const std::string& path, mode_t mode) {
    std::string partial;
    std::stringstream ss(path);
    std::string part;
    while (std::getline(ss, part, '/')) {
        if (part.empty()) {
            continue;
        }
        partial += "/" + part;
        if (::mkdir(partial.c_str(), mode) < 0 && errno != EEXIST) {
            wqt::throw_errno("mkdir " + partial);
        }
    }
}

void sys_mount(const std::string& source, const std::string& target, const char* type,
               unsigned long flags, const std::string& data) {
    if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(), type, flags,
                data.empty() ? nullptr : data.c_str()) < 0) {
        std::ostringstream what;
        what << "mount(" << (source.empty() ? "NULL" : source) << ", " << target << ", "
             << (type != nullptr ? type : "NULL") << ", 0x" << std::hex << flags << ", "
             << (data.empty() ? "NULL" : data) << ")";
        wqt::throw_errno(what.str());
    }
}

void sys_umount(const std::string& target, int flags) {
    if (::umount2(target.c_str(), flags) < 0) {
        wqt::throw_errno("umount2 " + target);
    }
}

void mount_tmpfs(const std::string& target, unsigned long flags) {
    sys_mount("wqtest", target, "tmpfs", flags, "size=1m,mode=0755");
}

bool MountEntry::read_only() const {
    return options.starts_with("ro") || super_options.starts_with("ro");
}

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            const std::string oct = s.substr(i + 1, 3);
            if (oct.find_first_not_of("01234567") == std::string::npos) {
                out += static_cast<char>(std::stoi(oct, nullptr, 8));
                i += 3;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

MountEntry parse_mountinfo_line(const std::string& line) {
    std::istringstream in(line);
    MountEntry e;
    std::string majmin;
    in >> e.id >> e.parent >> majmin >> e.root >> e.mount_point >> e.options;
    std::string field;
    // Optional fields up to the separator "-".
    while (in >> field && field != "-") {
    }
    in >> e.fs_type >> e.source >> e.super_options;
    if (!in && !in.eof()) {
        throw std::runtime_error("cannot parse mountinfo line: " + line);
    }
    const auto colon = majmin.find(':');
    if (colon == std::string::npos) {
        throw std::runtime_error("no major:minor in mountinfo line: " + line);
    }
    e.dev = makedev(std::stoul(majmin.substr(0, colon)), std::stoul(majmin.substr(colon + 1)));
    e.root = unescape(e.root);
    e.mount_point = unescape(e.mount_point);
    return e;
}

} // namespace

std::vector<MountEntry> mountinfo(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    std::vector<MountEntry> out;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) {
            out.push_back(parse_mountinfo_line(line));
        }
    }
    return out;
}

MountEntry mount_at(const std::string& path) {
    const auto table = mountinfo();
    const auto it = std::find_if(table.rbegin(), table.rend(),
                                 [&](const MountEntry& e) { return e.mount_point == path; });
    if (it != table.rend()) {
        return *it;
    }
    throw std::runtime_error("nothing is mounted at " + path);
}

MountEntry added_mount(const std::vector<MountEntry>& before, const std::vector<MountEntry>& after,
                       const std::string& path) {
    std::vector<MountEntry> found;
    for (const MountEntry& e : after) {
        if (e.mount_point != path) {
            continue;
        }
        bool old = false;
        for (const MountEntry& b : before) {
            old = old || b.id == e.id;
        }
        if (!old) {
            found.push_back(e);
        }
    }
    if (found.size() != 1) {
        throw std::runtime_error(std::to_string(found.size()) + " new mounts at " + path);
    }
    return found[0];
}

ScratchMount::ScratchMount(std::string path) : path_(std::move(path)) {
    make_dirs(path_);
    sys_mount("wqscratch", path_, "tmpfs", 0, "size=4m,mode=0755");
    try {
        sys_mount("", path_, nullptr, MS_PRIVATE);
        id_ = mount_at(path_).id;
    } catch (...) {
        ::umount2(path_.c_str(), MNT_DETACH);
        throw;
    }
}

ScratchMount::~ScratchMount() {
    ::umount2(path_.c_str(), MNT_DETACH);
    ::rmdir(path_.c_str());
}

SysctlGuard::SysctlGuard(std::string path, const std::string& value)
    : path_(std::move(path)), original_(read_line(path_)) {
    write_text(path_, value);
}

SysctlGuard::~SysctlGuard() {
    try {
        write_text(path_, original_);
    } catch (...) { // NOLINT(bugprone-empty-catch): best effort in a destructor
    }
}

namespace {

// The child's side of NamespaceChild: 0 or the errno of the step that failed.
int enter_namespace(const std::string& mount_on, const std::string& unmount) {
    if (::unshare(CLONE_NEWNS) < 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
        return errno;
    }
    if (!mount_on.empty() &&
        ::mount("wqns", mount_on.c_str(), "tmpfs", 0, "size=1m,mode=0755") < 0) {
        return errno;
    }
    if (!unmount.empty() && ::umount2(unmount.c_str(), MNT_DETACH) < 0) {
        return errno;
    }
    return 0;
}

} // namespace

NamespaceChild::NamespaceChild(const std::string& mount_on, const std::string& unmount) {
    int ready[2];
    int release[2];
    if (::pipe2(ready, O_CLOEXEC) < 0) {
        wqt::throw_errno("pipe2");
    }
    wqt::Fd ready_rd(ready[0]);
    wqt::Fd ready_wr(ready[1]);
    if (::pipe2(release, O_CLOEXEC) < 0) {
        wqt::throw_errno("pipe2");
    }
    wqt::Fd release_rd(release[0]);
    release_ = wqt::Fd(release[1]);
    pid_ = ::fork();
    if (pid_ < 0) {
        wqt::throw_errno("fork");
    }
    if (pid_ == 0) {
        release_.reset();
        ready_rd.reset();
        const auto status = static_cast<unsigned char>(enter_namespace(mount_on, unmount));
        (void)::write(ready_wr.get(), &status, 1);
        char c = 0;
        while (::read(release_rd.get(), &c, 1) > 0) {
        }
        ::_exit(0);
    }
    ready_wr.reset();
    release_rd.reset();
    unsigned char status = 0xff;
    pollfd p{ready_rd.get(), POLLIN, 0};
    if (::poll(&p, 1, 20000) != 1 || ::read(ready_rd.get(), &status, 1) != 1 || status != 0) {
        release_.reset();
        ::waitpid(pid_, nullptr, 0);
        throw std::runtime_error(
            "namespace child failed: " +
            (status == 0xff ? std::string("no answer") : "errno " + std::to_string(status)));
    }
}

NamespaceChild::~NamespaceChild() {
    release_.reset();
    if (pid_ > 0) {
        ::waitpid(pid_, nullptr, 0);
    }
}

bool become_user(uid_t uid) {
    if (::setgroups(0, nullptr) < 0 || ::setgid(uid) < 0 || ::setuid(uid) < 0) {
        return false;
    }
    // Changing ids made the process undumpable: /proc/self would be root's.
    if (::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) {
        return false;
    }
    return ::geteuid() == uid && ::getegid() == uid;
}

bool become_user_in_ns(uid_t uid, bool map) {
    if (!become_user(uid) || ::unshare(CLONE_NEWUSER) < 0) {
        return false;
    }
    if (!map) {
        return true;
    }
    const std::string line = "0 " + std::to_string(uid) + " 1\n";
    try {
        // An unprivileged process may map its own ids only, groups denied.
        write_text("/proc/self/setgroups", "deny\n");
        write_text("/proc/self/uid_map", line);
        write_text("/proc/self/gid_map", line);
    } catch (const std::exception&) {
        return false;
    }
    return ::geteuid() == 0 && ::getegid() == 0;
}

} // namespace it
