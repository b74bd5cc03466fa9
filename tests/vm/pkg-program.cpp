// SPDX-License-Identifier: GPL-2.0-or-later
// The smallest user of the installed libwatchqueue-dev: built in the
// package lane's chroot with `pkg-config --cflags --libs watchqueue`, run in
// its guest. Watches the session keyring, links a new key into it and
// waits for the record. Exits 0 when it arrives, 1 otherwise.
#include <chrono>
#include <cstdio>
#include <unistd.h>

#include <sys/syscall.h>

#include <linux/keyctl.h>
#include <linux/wq_dev.h> // the ABI header, found through pkg-config

#include <watchqueue/watchqueue.hpp>

namespace wq = watchqueue;

static_assert(sizeof(struct wq_key_notification) > sizeof(struct wq_notification));

int main() {
    try {
        wq::Queue queue = wq::Queue::open({.notes = 64});
        queue.watch_key(KEY_SPEC_SESSION_KEYRING, 7);
        const long key =
            syscall(SYS_add_key, "user", "wq-pkg-program", "x", 1, KEY_SPEC_SESSION_KEYRING);
        if (key < 0) {
            std::perror("add_key");
            return 1;
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            queue.wait(std::chrono::milliseconds(500));
            for (const wq::Record& rec : queue.batch()) {
                const auto ev = wq::as_key(rec);
                if (ev && ev->subtype == wq::KeySubtype::linked &&
                    static_cast<long>(ev->aux) == key) {
                    std::printf("linked %ld into %d\n", key, ev->key);
                    return 0;
                }
            }
        }
        (void)std::fprintf(stderr, "no link record for key %ld within 10 s\n", key);
    } catch (const wq::error& e) {
        (void)std::fprintf(stderr, "program: %s\n", e.what());
    }
    return 1;
}
