// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers of the device suites (block.cc, usb.cc): shell commands, sysfs
// and configfs attributes, waiting, and WQ_IOC_WATCH_DEVICES.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace it {

// Runs a shell command; throws with its exit status unless that is 0.
void run(const std::string& cmd);
// A whole file; throws if it cannot be read.
std::string read_text(const std::string& path);
// A file without its trailing newlines and spaces.
std::string read_line(const std::string& path);
// Writes an attribute; throws with the value and path if that fails.
void write_text(const std::string& path, const std::string& value);
// Polls @pred every 20 ms until it holds (true) or @limit passes (false).
bool wait_for(const std::function<bool()>& pred,
              std::chrono::milliseconds limit = std::chrono::seconds(20));
// WQ_IOC_WATCH_DEVICES on queue @qfd; 0 or the errno.
int watch_devices(int qfd, int watch_id, int blk_fd = -1, std::uint32_t flags = 0,
                  std::uint32_t reserved = 0);

// A null_blk disk made through configfs (so that bad blocks can be set),
// named @name where the kernel names disks after the configfs item (6.1
// on), nullb<index> before; powered off and removed when destroyed.
class NullBlk {
public:
    explicit NullBlk(const std::string& name, const std::map<std::string, std::string>& attrs = {});
    NullBlk(const NullBlk&) = delete;
    NullBlk& operator=(const NullBlk&) = delete;
    NullBlk(NullBlk&&) = delete;
    NullBlk& operator=(NullBlk&&) = delete;
    ~NullBlk();

    [[nodiscard]] std::string node() const { return node_; }
    // Deletes the disk (del_gendisk()); the configfs item stays.
    void power_off();
    // Makes a new disk of the item, with the lowest free index.
    void power_on();
    // Sectors [first, last] fail from now on.
    void bad(std::uint64_t first, std::uint64_t last) const;

private:
    void setup(const std::map<std::string, std::string>& attrs);
    void find_node();
    void remove() const noexcept;

    std::string name_;
    std::string dir_;
    std::string node_;
};

} // namespace it
