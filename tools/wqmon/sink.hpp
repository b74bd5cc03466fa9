// SPDX-License-Identifier: GPL-2.0-or-later
// Where wqmon sends records besides stdout: the journal (--journal) and a
// Prometheus textfile (--metrics-textfile).
#pragma once

#include <chrono>
#include <optional>

#include "output.hpp"
#include <watchqueue/record.hpp>

namespace wqmon {

class Sink {
public:
    Sink() = default;
    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;
    Sink(Sink&&) = delete;
    Sink& operator=(Sink&&) = delete;
    virtual ~Sink() = default;

    // One record, read at @ts. Must not throw for a record it cannot
    // describe; throws Fatal (watches.hpp) only when the sink is broken.
    virtual void record(const watchqueue::Record& rec, Timestamp ts) = 0;
    // wqmon saw nothing during @gap.
    virtual void gap(const Gap& gap) = 0;
    // Called after every wake-up of the main loop and once before wqmon
    // exits (@final): write out what is due.
    virtual void flush(std::chrono::steady_clock::time_point now, bool final) = 0;
    // When flush() next has something to do (nullopt: only on the next
    // record or gap).
    [[nodiscard]] virtual std::optional<std::chrono::steady_clock::time_point> next_flush() const {
        return std::nullopt;
    }
};

} // namespace wqmon
