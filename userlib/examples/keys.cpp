// SPDX-License-Identifier: LGPL-2.1-or-later
// Watches the session keyring and prints its changes until interrupted:
// zero-copy from the mapped ring, or, without the module, from a kernel
// notification pipe (Backend::automatic); the same batches either way.
#include <cstdio>

#include <watchqueue/watchqueue.hpp>

namespace wq = watchqueue;

int main() {
    // One line per event even into a pipe or file.
    (void)std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        wq::Queue queue = wq::Queue::open({.notes = 64});
        queue.watch(wq::target::Key{wq::key_spec::session}, 0); // as watch_key(session, 0)
        for (;;) {
            queue.wait(std::chrono::milliseconds(-1)); // poll(): see ring.hpp
            wq::Batch batch = queue.batch();           // head loaded once
            for (const wq::Record& rec : batch) {
                if (const auto key = wq::as_key(rec)) {
                    std::printf("%d %.*s %u\n", key->key,
                                static_cast<int>(wq::subtype_name(key->subtype).size()),
                                wq::subtype_name(key->subtype).data(), key->aux);
                } else if (const auto loss = wq::as_loss(rec)) {
                    std::printf("-- LOSS (%llu) --\n",
                                static_cast<unsigned long long>(loss->count.value_or(0)));
                }
            }
        } // batch destroyed: consumer position published once
    } catch (const wq::error& e) {
        (void)std::fprintf(stderr, "keys: %s\n", e.what());
        return 1;
    }
}
