// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers of the filesystem and mount suites (fs.cc, mounts.cc): the
// WQ_IOC_WATCH_SB / WQ_IOC_WATCH_MOUNT ioctls, /proc/self/mountinfo, mount(2)
// wrappers that throw, scratch tmpfs mounts, sysctls restored afterwards and
// a child process living in a mount namespace of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <fcntl.h>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "fd.h"
#include "it_common.h"

namespace it {

// WQ_IOC_WATCH_SB on queue @qfd for the filesystem of @fd; 0 or the errno.
int watch_sb(int qfd, int fd, int watch_id, std::uint32_t flags = 0, std::uint32_t reserved = 0);
// WQ_IOC_WATCH_MOUNT on queue @qfd for the directory @fd; 0 or the errno.
int watch_mount(int qfd, int fd, int watch_id, std::uint32_t flags = 0, std::uint32_t reserved = 0);

// Records read from @q (non-blocking) until @done(all records so far) holds
// or @limit passes; returns them all either way.
std::vector<Bytes> records_until(Queue& q,
                                 const std::function<bool(const std::vector<Bytes>&)>& done,
                                 std::chrono::milliseconds limit = std::chrono::seconds(10));

// A shell command's standard output, without trailing newlines; throws
// unless it exits with 0.
std::string capture(const std::string& cmd);

// open(@path, @flags | O_CREAT | O_CLOEXEC, @mode); throws naming @path.
wqt::Fd create_file(const std::string& path, int flags = O_RDWR, mode_t mode = 0644);

// mkdir -p with @mode for the directories it creates.
void make_dirs(const std::string& path, mode_t mode = 0755);

// mount(2) and umount2(2) that throw std::system_error naming what failed.
void sys_mount(const std::string& source, const std::string& target, const char* type,
               unsigned long flags, const std::string& data = "");
void sys_umount(const std::string& target, int flags = 0);
// A tmpfs mounted at @target (source "wqtest"), @flags as mount(2).
void mount_tmpfs(const std::string& target, unsigned long flags = 0);

// One line of /proc/self/mountinfo.
struct MountEntry {
    std::uint64_t id = 0;     // field 1, the mount id records carry
    std::uint64_t parent = 0; // field 2
    dev_t dev = 0;            // field 3 "major:minor" as makedev()
    std::string root;
    std::string mount_point;
    std::string options; // per-mount options ("rw,nosuid,relatime")
    std::string fs_type;
    std::string source;
    std::string super_options; // the filesystem's options ("ro,...")

    // The mount or its filesystem is read-only.
    [[nodiscard]] bool read_only() const;
};

// The mount table of the calling process, in its order; mount points have
// their octal escapes (\040 ...) decoded.
std::vector<MountEntry> mountinfo(const std::string& path = "/proc/self/mountinfo");
// The topmost mount at @path (the last entry with that mount point); throws
// if there is none.
MountEntry mount_at(const std::string& path);
// The mount at @path in @after whose id is not in @before; throws if there
// is not exactly one.
MountEntry added_mount(const std::vector<MountEntry>& before, const std::vector<MountEntry>& after,
                       const std::string& path);

// Setups for run_in_child(): become user and group @uid with no supplementary
// groups and no capabilities (the process stays dumpable, so that /proc/self
// is its own); false if that failed.
bool become_user(uid_t uid);
// The same, then a new user namespace (unshare(CLONE_NEWUSER)) in which, if
// @map, id 0 is @uid (uid and gid maps "0 @uid 1"); without @map, no id is
// mapped there.
bool become_user_in_ns(uid_t uid, bool map);

// A directory with a tmpfs of its own, mounted private (no propagation to or
// from other namespaces) and detached with everything below it when
// destroyed, then removed.
class ScratchMount {
public:
    explicit ScratchMount(std::string path);
    ScratchMount(const ScratchMount&) = delete;
    ScratchMount& operator=(const ScratchMount&) = delete;
    ScratchMount(ScratchMount&&) = delete;
    ScratchMount& operator=(ScratchMount&&) = delete;
    ~ScratchMount();

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] std::uint64_t id() const noexcept { return id_; }

private:
    std::string path_;
    std::uint64_t id_ = 0;
};

// A sysctl (/proc/sys/...) set for the lifetime of the object, then restored.
class SysctlGuard {
public:
    SysctlGuard(std::string path, const std::string& value);
    SysctlGuard(const SysctlGuard&) = delete;
    SysctlGuard& operator=(const SysctlGuard&) = delete;
    SysctlGuard(SysctlGuard&&) = delete;
    SysctlGuard& operator=(SysctlGuard&&) = delete;
    ~SysctlGuard();

private:
    std::string path_;
    std::string original_;
};

// A child process in a new mount namespace (everything made private) that
// optionally mounts a tmpfs at @mount_on, or unmounts (detaches) @unmount,
// there, and then waits until this object is destroyed.  The constructor
// returns once the child is ready; it throws if the child failed.
class NamespaceChild {
public:
    explicit NamespaceChild(const std::string& mount_on = "", const std::string& unmount = "");
    NamespaceChild(const NamespaceChild&) = delete;
    NamespaceChild& operator=(const NamespaceChild&) = delete;
    NamespaceChild(NamespaceChild&&) = delete;
    NamespaceChild& operator=(NamespaceChild&&) = delete;
    ~NamespaceChild();

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }

private:
    pid_t pid_ = -1;
    wqt::Fd release_; // closing it lets the child exit
};

} // namespace it
