// SPDX-License-Identifier: GPL-2.0-or-later
// --journal: one native systemd journal entry per record, with a fixed
// MESSAGE_ID per kind of event (explained in wqmon.catalog), a PRIORITY
// that fits it and every field of the record as a WQ_* field.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sink.hpp"

namespace wqmon {

// A kind of event with its own MESSAGE_ID and catalog entry.
struct MessageKind {
    std::string_view id; // 32 lower-case hex digits
    std::string_view name;
};

// Every kind wqmon logs (the catalog must explain each).
[[nodiscard]] std::span<const MessageKind> message_kinds() noexcept;

// The fields of one journal entry ("MESSAGE=...", "PRIORITY=3",
// "MESSAGE_ID=...", "WQ_TYPE=block", ...), in the order they are sent.
[[nodiscard]] std::vector<std::string> journal_fields(const watchqueue::Record& rec,
                                                      const Formatter& fmt);
[[nodiscard]] std::vector<std::string> journal_fields(const Gap& gap);
// The entry wqmon logs once its watches are in place.
[[nodiscard]] std::vector<std::string> journal_start_fields(const Formatter& fmt);

// The sink sending those entries to journald. Throws Fatal if wqmon was
// built without libsystemd or the journal does not take the first entry.
[[nodiscard]] std::unique_ptr<Sink> make_journal_sink(const Formatter& fmt);

} // namespace wqmon
