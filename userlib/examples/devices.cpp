// SPDX-License-Identifier: LGPL-2.1-or-later
// Watches every device (needs CAP_SYS_ADMIN) and prints block errors and USB
// events, with udev's names where available.
#include <cstdio>
#include <string>

#include <sys/sysmacros.h>

#include <watchqueue/watchqueue.hpp>

namespace wq = watchqueue;

namespace {

void print(const wq::BlockEvent& ev) {
    const auto info = wq::describe_block(ev.dev);
    std::printf("block %u:%u %s sector %llu %s\n", major(ev.dev), minor(ev.dev),
                std::string(wq::subtype_name(ev.subtype)).c_str(),
                static_cast<unsigned long long>(ev.sector), info ? info->node.c_str() : "");
}

void print(const wq::UsbEvent& ev) {
    const std::string name(ev.name);
    const auto info = wq::describe_usb(ev.name);
    std::printf("usb %s %s %s %s\n", std::string(wq::subtype_name(ev.subtype)).c_str(),
                name.c_str(), info ? info->vendor.c_str() : "", info ? info->product.c_str() : "");
}

} // namespace

int main() {
    // One line per event even into a pipe or file.
    (void)std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        wq::Queue queue = wq::Queue::open();
        queue.watch_devices(0);
        for (;;) {
            queue.wait(std::chrono::milliseconds(-1));
            for (const wq::Record& rec : queue.batch()) {
                if (const auto block = wq::as_block(rec)) {
                    print(*block);
                } else if (const auto usb = wq::as_usb(rec)) {
                    print(*usb);
                } else if (wq::as_loss(rec)) {
                    std::printf("-- LOSS --\n");
                }
            }
        }
    } catch (const wq::error& e) {
        (void)std::fprintf(stderr, "devices: %s\n", e.what());
        return 1;
    }
}
