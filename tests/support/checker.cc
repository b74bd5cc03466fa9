// SPDX-License-Identifier: GPL-2.0-or-later
#include "checker.h"

#include <cstring>
#include <wq_test_uapi.h>

namespace wqt {

namespace {

template <class T>
T load(Record rec, std::size_t off) {
    T v{};
    std::memcpy(&v, rec.data() + off, sizeof(v));
    return v;
}

std::string where(std::uint64_t record_no) {
    return "record #" + std::to_string(record_no) + ": ";
}

} // namespace

void SyntheticChecker::expect(const ProducerSpec& spec) {
    Producer p;
    p.spec = spec;
    p.next = spec.first_seq;
    producers_[spec.producer] = p;
}

void SyntheticChecker::set_posted(std::uint32_t producer, std::uint64_t posted) {
    auto it = producers_.find(producer);
    if (it == producers_.end()) {
        error("posted count for undeclared producer " + std::to_string(producer));
        return;
    }
    it->second.posted = posted;
}

std::uint64_t SyntheticChecker::delivered(std::uint32_t producer) const {
    const auto it = producers_.find(producer);
    return it == producers_.end() ? 0 : it->second.delivered;
}

std::uint64_t SyntheticChecker::posted() const noexcept {
    std::uint64_t sum = 0;
    for (const auto& [id, p] : producers_) {
        sum += p.posted.value_or(0);
    }
    return sum;
}

void SyntheticChecker::error(std::string msg) {
    if (errors_.size() < opt_.max_errors) {
        errors_.push_back(std::move(msg));
    }
    ++nr_errors_;
}

void SyntheticChecker::feed(Record rec) {
    const std::uint64_t no = records_++;
    const std::uint32_t info =
        rec.size() >= sizeof(wq_notification) ? decode_header(rec.data()).info : 0;
    if (const RecordError err = check_record(info, rec.size()); err != RecordError::none) {
        error(where(no) + to_string(err));
        return;
    }
    const Header h = decode_header(rec.data());
    if (h.length() != rec.size()) {
        error(where(no) + "length " + std::to_string(h.length()) + " in a " +
              std::to_string(rec.size()) + "-byte record");
        return;
    }
    if (h.type == WQ_TYPE_META) {
        feed_meta(h, rec);
    } else if (h.type == WQT_TYPE) {
        feed_synthetic(h, rec);
    } else {
        error(where(no) + "unexpected type " + std::to_string(h.type));
    }
}

void SyntheticChecker::feed_meta(const Header& h, Record rec) {
    const std::uint64_t no = records_ - 1;
    if (h.subtype == WQ_META_LOSS) {
        if (rec.size() != sizeof(wq_loss_notification)) {
            error(where(no) + "loss record of " + std::to_string(rec.size()) + " bytes");
            return;
        }
        const auto count = load<std::uint64_t>(rec, offsetof(wq_loss_notification, count));
        if (count == 0) {
            error(where(no) + "loss record with a count of 0");
        }
        ++loss_records_;
        lost_reported_ += count;
    } else if (h.subtype == WQ_META_REMOVAL) {
        RemovalSeen r{h.watch_id(), std::nullopt};
        if (rec.size() == sizeof(wq_removal_notification)) {
            r.object_id = load<std::uint64_t>(rec, offsetof(wq_removal_notification, id));
        } else if (rec.size() != sizeof(wq_notification)) {
            error(where(no) + "removal record of " + std::to_string(rec.size()) + " bytes");
            return;
        }
        removals_.push_back(r);
    } else {
        error(where(no) + "unknown meta subtype " + std::to_string(h.subtype));
    }
}

bool SyntheticChecker::contents_ok(const Header& h, Record rec, const Producer& p) {
    const std::uint64_t no = records_ - 1;
    const auto seq = load<std::uint32_t>(rec, offsetof(wqt_record, seq));
    const auto check = load<std::uint16_t>(rec, offsetof(wqt_record, check));
    const auto size = static_cast<std::uint32_t>(rec.size());
    bool ok = true;
    if (check != wqt_check(p.spec.producer, seq, size)) {
        error(where(no) + "producer " + std::to_string(p.spec.producer) + " seq " +
              std::to_string(seq) + ": bad check field");
        ok = false;
    }
    for (std::uint32_t i = sizeof(wqt_record); i < size; ++i) {
        if (std::to_integer<std::uint8_t>(rec[i]) != wqt_fill(seq, i)) {
            error(where(no) + "producer " + std::to_string(p.spec.producer) + " seq " +
                  std::to_string(seq) + ": bad fill byte at offset " + std::to_string(i));
            ok = false;
            break;
        }
    }
    if (p.spec.subtype && h.subtype != *p.spec.subtype) {
        error(where(no) + "subtype " + std::to_string(h.subtype) + ", expected " +
              std::to_string(*p.spec.subtype));
        ok = false;
    }
    if (p.spec.watch_id && h.watch_id() != *p.spec.watch_id) {
        error(where(no) + "watch id " + std::to_string(h.watch_id()) + ", expected " +
              std::to_string(*p.spec.watch_id));
        ok = false;
    }
    if (p.spec.size && size != *p.spec.size) {
        error(where(no) + "size " + std::to_string(size) + ", expected " +
              std::to_string(*p.spec.size));
        ok = false;
    }
    return ok;
}

void SyntheticChecker::feed_synthetic(const Header& h, Record rec) {
    const std::uint64_t no = records_ - 1;
    if (rec.size() < sizeof(wqt_record)) {
        error(where(no) + "synthetic record of " + std::to_string(rec.size()) + " bytes");
        return;
    }
    const auto producer = load<std::uint16_t>(rec, offsetof(wqt_record, producer));
    const auto it = producers_.find(producer);
    if (it == producers_.end()) {
        error(where(no) + "record of undeclared producer " + std::to_string(producer));
        return;
    }
    Producer& p = it->second;
    if (!contents_ok(h, rec, p)) {
        return;
    }
    // Sequence numbers are 32 bits in the record: unwrap against the expected one.
    const auto seq32 = load<std::uint32_t>(rec, offsetof(wqt_record, seq));
    const auto delta = static_cast<std::int32_t>(seq32 - static_cast<std::uint32_t>(p.next));
    const std::uint64_t seq = p.next + static_cast<std::uint64_t>(static_cast<std::int64_t>(delta));
    const std::string who = "producer " + std::to_string(producer) + " seq " + std::to_string(seq);
    if (delta < 0) {
        error(where(no) + who +
              (delta == -1 ? std::string(": duplicate")
                           : ": out of order, expected seq " + std::to_string(p.next)));
        return;
    }
    if (delta > 0 && !opt_.gaps_without_loss) {
        const auto gap = static_cast<std::uint64_t>(delta);
        if (loss_records_ == p.loss_records_at_last) {
            error(where(no) + who + ": " + std::to_string(gap) +
                  " records missing without a loss record before it");
        }
        if (missing_ + gap > lost_reported_) {
            error(where(no) + who + ": " + std::to_string(missing_ + gap) +
                  " records missing so far but only " + std::to_string(lost_reported_) +
                  " reported lost");
        }
    }
    missing_ += static_cast<std::uint64_t>(delta);
    p.next = seq + 1;
    p.loss_records_at_last = loss_records_;
    ++p.delivered;
    ++delivered_;
}

void SyntheticChecker::finish() {
    std::uint64_t posted_total = 0;
    for (auto& [id, p] : producers_) {
        if (!p.posted) {
            error("producer " + std::to_string(id) + ": posted count unknown");
            continue;
        }
        posted_total += *p.posted;
        const std::uint64_t end = p.spec.first_seq + *p.posted;
        if (p.next > end) {
            error("producer " + std::to_string(id) + ": seq " + std::to_string(p.next - 1) +
                  " delivered but only " + std::to_string(*p.posted) + " posted");
            continue;
        }
        missing_ += end - p.next;
        p.next = end;
    }
    if (opt_.gaps_without_loss) {
        return;
    }
    if (missing_ != lost_reported_) {
        error(std::to_string(missing_) + " records missing but " + std::to_string(lost_reported_) +
              " reported lost");
    }
    if (delivered_ + lost_reported_ != posted_total) {
        error("delivered " + std::to_string(delivered_) + " + lost " +
              std::to_string(lost_reported_) + " != posted " + std::to_string(posted_total));
    }
}

std::string SyntheticChecker::report() const {
    std::string s = "records " + std::to_string(records_) + ", delivered " +
                    std::to_string(delivered_) + ", loss records " + std::to_string(loss_records_) +
                    " reporting " + std::to_string(lost_reported_) + ", missing " +
                    std::to_string(missing_) + ", posted " + std::to_string(posted()) +
                    ", errors " + std::to_string(nr_errors_);
    for (const auto& e : errors_) {
        s += "\n  " + e;
    }
    return s;
}

} // namespace wqt
