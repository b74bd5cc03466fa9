// SPDX-License-Identifier: GPL-2.0-or-later
#include "device_helpers.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>

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

NullBlk::NullBlk(const std::string& name, const std::map<std::string, std::string>& attrs)
    : name_(name), dir_("/sys/kernel/config/nullb/" + name) {
    run("modprobe null_blk nr_devices=0");
    std::filesystem::create_directory(dir_);
    try {
        setup(attrs);
    } catch (...) {
        remove(); // a half-made disk would keep null_blk loaded
        throw;
    }
}

NullBlk::~NullBlk() {
    remove();
}

void NullBlk::power_off() {
    write_text(dir_ + "/power", "0");
    if (!wait_for([&] { return !std::filesystem::exists(node_); })) {
        throw std::runtime_error(node_ + " did not go away");
    }
}

void NullBlk::power_on() {
    write_text(dir_ + "/power", "1");
    find_node();
}

void NullBlk::bad(std::uint64_t first, std::uint64_t last) const {
    write_text(dir_ + "/badblocks", "+" + std::to_string(first) + "-" + std::to_string(last));
}

void NullBlk::setup(const std::map<std::string, std::string>& attrs) {
    write_text(dir_ + "/size", "16"); // MiB
    write_text(dir_ + "/blocksize", "512");
    for (const auto& [attr, value] : attrs) {
        write_text(dir_ + "/" + attr, value);
    }
    write_text(dir_ + "/power", "1");
    find_node();
}

void NullBlk::find_node() {
    // Newer kernels (6.1) name the disk after the configfs item; 5.10
    // names it nullb<index>.
    const std::string indexed = "/dev/nullb" + read_line(dir_ + "/index");
    // Takes the first name that exists.
    const auto take = [&](const std::string& n) {
        if (!std::filesystem::exists(n)) {
            return false;
        }
        node_ = n;
        return true;
    };
    if (!wait_for([&] {
            return std::ranges::any_of(std::array{"/dev/" + name_, indexed}, take);
        })) {
        throw std::runtime_error("/dev/" + name_ + " (or " + indexed + ") did not appear");
    }
}

void NullBlk::remove() const noexcept {
    try {
        write_text(dir_ + "/power", "0");
    } catch (...) { // NOLINT(bugprone-empty-catch): best effort
    }
    ::rmdir(dir_.c_str());
}

} // namespace it
