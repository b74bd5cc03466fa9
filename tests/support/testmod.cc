// SPDX-License-Identifier: GPL-2.0-or-later
#include "testmod.h"

#include <fcntl.h>

#include <sys/ioctl.h>

#include "error.h"

namespace wqt {

const char* to_string(wqt_context ctx) noexcept {
    switch (ctx) {
    case WQT_CTX_PROCESS:
        return "process";
    case WQT_CTX_SOFTIRQ:
        return "softirq";
    case WQT_CTX_HARDIRQ:
        return "hardirq";
    }
    return "unknown";
}

TestModule::TestModule(const std::string& path) : fd_(open_fd(path, O_RDWR | O_CLOEXEC)) {}

int TestModule::try_watch(int qfd, std::uint32_t object, std::int32_t watch_id) noexcept {
    wqt_watch w{};
    w.fd = qfd;
    w.watch_id = watch_id;
    w.object = object;
    return errno_of(::ioctl(fd(), WQT_IOC_WATCH, &w));
}

void TestModule::watch(int qfd, std::uint32_t object, std::uint8_t watch_id) {
    if (const int err = try_watch(qfd, object, watch_id); err != 0) {
        throw_errno(err, "WQT_IOC_WATCH object " + std::to_string(object) + " watch id " +
                             std::to_string(watch_id) + " by fd " + std::to_string(qfd));
    }
}

void TestModule::unwatch(int qfd, std::uint32_t object) {
    if (const int err = try_watch(qfd, object, -1); err != 0) {
        throw_errno(err, "WQT_IOC_WATCH (remove) object " + std::to_string(object) + " by fd " +
                             std::to_string(qfd));
    }
}

void TestModule::kill(std::uint32_t object) {
    std::uint32_t obj = object;
    if (::ioctl(fd(), WQT_IOC_KILL, &obj) < 0) {
        throw_errno("WQT_IOC_KILL object " + std::to_string(object));
    }
}

wqt_post TestModule::post(const PostSpec& spec) {
    wqt_post p{};
    p.object = spec.object;
    p.context = spec.context;
    p.cpu = spec.cpu;
    p.producer = spec.producer;
    p.count = spec.count;
    p.size = spec.size;
    p.batch = spec.batch;
    p.interval_ns = spec.interval_ns;
    p.subtype = spec.subtype;
    p.first_seq = spec.first_seq;
    if (::ioctl(fd(), WQT_IOC_POST, &p) < 0) {
        throw_errno("WQT_IOC_POST " + std::to_string(spec.count) + " x " +
                    std::to_string(spec.size) + " bytes to object " + std::to_string(spec.object) +
                    " from " + to_string(spec.context) + " on cpu " + std::to_string(spec.cpu));
    }
    return p;
}

} // namespace wqt
