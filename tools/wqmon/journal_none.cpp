// SPDX-License-Identifier: GPL-2.0-or-later
// Built without libsystemd: --journal is refused with a message.
#include "journal.hpp"
#include "watches.hpp"

namespace wqmon {

std::unique_ptr<Sink> make_journal_sink(const Formatter& /*fmt*/) {
    throw Fatal{"--journal: this wqmon was built without libsystemd"};
}

} // namespace wqmon
