// SPDX-License-Identifier: GPL-2.0-or-later
// --metrics-textfile: counters in Prometheus' text format for
// node_exporter's textfile collector, rewritten atomically (a temporary file
// in the same directory, then rename) at most once per interval and when
// wqmon exits.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "sink.hpp"

namespace wqmon {

class MetricsFile final : public Sink {
public:
    // @fmt's labels (what each watch id stands for) and enricher (udev
    // device names) are read at each record; @fmt must outlive this.
    MetricsFile(std::string path, std::chrono::milliseconds interval, const Formatter& fmt);
    ~MetricsFile() override;
    MetricsFile(const MetricsFile&) = delete;
    MetricsFile& operator=(const MetricsFile&) = delete;
    MetricsFile(MetricsFile&&) = delete;
    MetricsFile& operator=(MetricsFile&&) = delete;

    void record(const watchqueue::Record& rec, Timestamp ts) override;
    void gap(const Gap& gap) override;
    void flush(std::chrono::steady_clock::time_point now, bool final) override;
    [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> next_flush() const override;

    // The file's text as it would be written now (for tests).
    [[nodiscard]] std::string render() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace wqmon
