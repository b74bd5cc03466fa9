// SPDX-License-Identifier: GPL-2.0-or-later
// Checks a stream of records from one queue against what the test module
// posted: per-producer sequence order, no duplicates, intact contents
// (check field and fill bytes), a loss record before every gap, and in the
// end delivered + reported losses == posted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ring.h"

namespace wqt {

struct ProducerSpec {
    std::uint32_t producer = 0;
    std::uint64_t first_seq = 0;
    std::optional<std::uint32_t> subtype;  // every record must have it
    std::optional<std::uint32_t> watch_id; // every record must carry it
    std::optional<std::uint32_t> size;     // every record must have it
};

struct RemovalSeen {
    std::uint32_t watch_id = 0;
    std::optional<std::uint64_t> object_id; // absent in the 8-byte form
};

class SyntheticChecker {
public:
    struct Options {
        // Gaps need no loss record (records dropped by a filter).
        bool gaps_without_loss = false;
        std::size_t max_errors = 20;
    };

    SyntheticChecker() : SyntheticChecker(Options{}) {}
    explicit SyntheticChecker(Options opt) : opt_(opt) {}

    // Declares a producer; records of undeclared producers are errors.
    void expect(const ProducerSpec& spec);
    // How many records the producer had posted (wqt_post.posted, summed).
    void set_posted(std::uint32_t producer, std::uint64_t posted);
    // Any record read from the queue, in order.
    void feed(Record rec);
    // End of the stream: accounts records missing at the end of each
    // producer and checks delivered + lost == posted.
    void finish();

    [[nodiscard]] bool ok() const noexcept { return nr_errors_ == 0; }
    [[nodiscard]] const std::vector<std::string>& errors() const noexcept { return errors_; }
    // Counters and the first errors, for INFO() in a failing test.
    [[nodiscard]] std::string report() const;

    [[nodiscard]] std::uint64_t delivered() const noexcept { return delivered_; }
    [[nodiscard]] std::uint64_t delivered(std::uint32_t producer) const;
    [[nodiscard]] std::uint64_t lost_reported() const noexcept { return lost_reported_; }
    [[nodiscard]] std::uint64_t loss_records() const noexcept { return loss_records_; }
    [[nodiscard]] std::uint64_t missing() const noexcept { return missing_; }
    [[nodiscard]] std::uint64_t posted() const noexcept;
    [[nodiscard]] const std::vector<RemovalSeen>& removals() const noexcept { return removals_; }

private:
    struct Producer {
        ProducerSpec spec;
        std::uint64_t next = 0; // expected seq of the next record
        std::uint64_t delivered = 0;
        std::optional<std::uint64_t> posted;
        std::uint64_t loss_records_at_last = 0;
    };

    void error(std::string msg);
    void feed_meta(const Header& h, Record rec);
    void feed_synthetic(const Header& h, Record rec);
    bool contents_ok(const Header& h, Record rec, const Producer& p);

    Options opt_;
    std::map<std::uint32_t, Producer> producers_;
    std::vector<std::string> errors_;
    std::vector<RemovalSeen> removals_;
    std::size_t nr_errors_ = 0;
    std::uint64_t records_ = 0;
    std::uint64_t delivered_ = 0;
    std::uint64_t lost_reported_ = 0;
    std::uint64_t loss_records_ = 0;
    std::uint64_t missing_ = 0;
};

} // namespace wqt
