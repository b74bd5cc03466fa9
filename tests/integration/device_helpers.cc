// SPDX-License-Identifier: GPL-2.0-or-later
#include "device_helpers.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <sys/ioctl.h>

#include <linux/wq_dev.h>

#include "error.h"

namespace it {

void run(const std::string& cmd) {
    const int rc = std::system(cmd.c_str()); // NOLINT(cert-env33-c): test setup
    if (rc != 0) {
        throw std::runtime_error(cmd + ": exit status " + std::to_string(rc));
    }
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string read_line(const std::string& path) {
    std::string s = read_text(path);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

void write_text(const std::string& path, const std::string& value) {
    std::ofstream out(path);
    out << value;
    out.flush();
    if (!out) {
        throw std::runtime_error("cannot write '" + value + "' to " + path);
    }
}

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

int watch_devices(int qfd, int watch_id, int blk_fd, std::uint32_t flags, std::uint32_t reserved) {
    wq_watch_devices req{};
    req.watch_id = watch_id;
    req.flags = flags;
    req.blk_fd = blk_fd;
    req.__reserved = reserved;
    return wqt::errno_of(::ioctl(qfd, WQ_IOC_WATCH_DEVICES, &req));
}

} // namespace it
