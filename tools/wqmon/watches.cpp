// SPDX-License-Identifier: GPL-2.0-or-later
#include "watches.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <watchqueue/error.hpp>

namespace wqmon {
namespace {

namespace wq = watchqueue;

constexpr unsigned max_key_watches = 200;

// "No such file or directory (ENOENT)"
std::string describe(const std::error_code& ec) {
    if (ec.category() != std::system_category()) {
        return ec.message();
    }
    return fmt::format("{} ({})", ec.message(), errno_name(ec.value()));
}

std::string device_watch_error(const wq::error& e) {
    if (e.code() == std::errc::operation_not_permitted) {
        return "watching all devices needs CAP_SYS_ADMIN in the initial user namespace; "
               "or watch one block device you can open with --block DEV";
    }
    if (e.code() == std::errc::operation_not_supported) {
        return fmt::format("{} (this kernel offers no device events to watch_queue)", e.what());
    }
    return e.what();
}

// The hint for an error of WQ_IOC_WATCH_SB or WQ_IOC_WATCH_MOUNT.
std::string fs_hint(const std::error_code& ec, bool mounts) {
    if (ec == std::errc::operation_not_supported) {
        return mounts ? ": this kernel offers no mount events to watch_queue"
                      : ": this kernel offers no filesystem events to watch_queue";
    }
    if (ec == std::errc::device_or_resource_busy) {
        return mounts ? ": this directory is watched already"
                      : ": this filesystem is watched already (through another path)";
    }
    if (mounts && ec == std::errc::cross_device_link) {
        return ": the directory is not reachable from this process's root";
    }
    if (mounts && ec == std::errc::no_such_file_or_directory) {
        return ": mount watches need procfs mounted on /proc";
    }
    return "";
}

// Opens @path for the ioctl only: both watches outlive the descriptor.
int open_path(const std::string& path, bool directory) {
    const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (directory ? O_DIRECTORY : 0);
    const int fd = ::open(path.c_str(), flags);
    if (fd < 0) {
        const std::error_code ec(errno, std::system_category());
        if (directory && ec == std::errc::not_a_directory) {
            throw Fatal{
                fmt::format("--mounts {}: not a directory ({})", path, errno_name(ENOTDIR))};
        }
        throw Fatal{fmt::format("cannot open {}: {}", path, describe(ec))};
    }
    return fd;
}

void add_fs_watch(wq::Queue& queue, const std::string& path, unsigned id, bool mounts) {
    const int fd = open_path(path, mounts);
    std::error_code ec;
    if (mounts) {
        queue.watch_mounts(fd, id, ec);
    } else {
        queue.watch_filesystem(fd, id, ec);
    }
    ::close(fd);
    if (ec) {
        throw Fatal{fmt::format("cannot watch {} {}: {}{}",
                                mounts ? "mounts under" : "the filesystem of", path, describe(ec),
                                fs_hint(ec, mounts))};
    }
}

} // namespace

wq::Backend backend_for(const Options& o) noexcept {
    const bool keys_only = !o.devices && o.blocks.empty() && o.fs.empty() && o.mounts.empty();
    return keys_only && o.ring_bytes == 0 ? wq::Backend::automatic : wq::Backend::device;
}

void add_watches(wq::Queue& queue, const Options& o, WatchLabels& labels) {
    if (o.keys.size() > max_key_watches) {
        throw Fatal{fmt::format("at most {} keys", max_key_watches)};
    }
    if (o.keys.size() + o.blocks.size() + o.fs.size() + o.mounts.size() > devices_watch_id) {
        throw Fatal{fmt::format("at most {} watches", devices_watch_id)};
    }
    unsigned id = 0;
    for (const KeyArg& k : o.keys) {
        try {
            queue.watch_key(k.key, id);
        } catch (const wq::error& e) {
            throw Fatal{fmt::format("cannot watch key {}: {}", k.label, e.code().message())};
        }
        labels[id++] = k.label;
    }
    if (o.devices) {
        try {
            queue.watch_devices(devices_watch_id);
        } catch (const wq::error& e) {
            throw Fatal{device_watch_error(e)};
        }
        labels[devices_watch_id] = "devices";
    }
    for (const std::string& path : o.blocks) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
            throw Fatal{fmt::format("cannot open {}: {}", path, std::strerror(errno))};
        }
        std::error_code ec;
        queue.watch_block(fd, id, ec);
        ::close(fd); // the watch follows the disk's device number
        if (ec) {
            throw Fatal{fmt::format("cannot watch {}: {}", path, ec.message())};
        }
        labels[id++] = path;
    }
    for (const std::string& path : o.fs) {
        add_fs_watch(queue, path, id, false);
        labels[id++] = path;
    }
    for (const std::string& path : o.mounts) {
        add_fs_watch(queue, path, id, true);
        labels[id++] = path;
    }
}

} // namespace wqmon
