// SPDX-License-Identifier: GPL-2.0-or-later
#include "ring.h"

#include <cstring>

namespace wqt {

Header decode_header(const std::byte* p) noexcept {
    wq_notification n{};
    std::memcpy(&n, p, sizeof(n));
    return Header{n.type, n.subtype, n.info};
}

const char* to_string(RecordError err) noexcept {
    switch (err) {
    case RecordError::none:
        return "valid";
    case RecordError::too_short:
        return "length below 8";
    case RecordError::too_long:
        return "length above 120";
    case RecordError::unaligned:
        return "length not a multiple of 8";
    case RecordError::past_end:
        return "record extends past the head";
    case RecordError::no_header:
        return "fewer than 8 bytes left for a header";
    }
    return "unknown";
}

RecordError check_record(std::uint32_t info, std::uint64_t available) noexcept {
    const std::uint32_t len = info & WQ_INFO_LENGTH;
    if (available < sizeof(wq_notification)) {
        return RecordError::no_header;
    }
    if (len < sizeof(wq_notification)) {
        return RecordError::too_short;
    }
    if (len > WQ_RECORD_MAX) {
        return RecordError::too_long;
    }
    if (len % WQ_RECORD_ALIGN != 0) {
        return RecordError::unaligned;
    }
    if (len > available) {
        return RecordError::past_end;
    }
    return RecordError::none;
}

std::vector<Record> split_records(std::span<const std::byte> buf) {
    std::vector<Record> out;
    std::size_t off = 0;
    while (off < buf.size()) {
        const std::size_t left = buf.size() - off;
        const std::uint32_t info =
            left >= sizeof(wq_notification) ? decode_header(&buf[off]).info : 0;
        const RecordError err = check_record(info, left);
        if (err != RecordError::none) {
            throw RingError("read() buffer offset " + std::to_string(off) + " of " +
                            std::to_string(buf.size()) + ": " + to_string(err));
        }
        out.push_back(buf.subspan(off, info & WQ_INFO_LENGTH));
        off += info & WQ_INFO_LENGTH;
    }
    return out;
}

Batch begin_batch(const RingView& ring) {
    const Batch batch{load_relaxed(ring.tail), load_acquire(ring.head)};
    if (batch.tail % WQ_RECORD_ALIGN != 0) {
        throw RingError("tail " + std::to_string(batch.tail) + " is not 8-aligned");
    }
    if (batch.head - batch.tail > ring.data_size) {
        throw RingError("head " + std::to_string(batch.head) + " and tail " +
                        std::to_string(batch.tail) + " are more than " +
                        std::to_string(ring.data_size) + " bytes apart");
    }
    return batch;
}

Record record_at(const RingView& ring, const Batch& batch, std::uint64_t pos) {
    const std::byte* p = ring.data + (pos & (ring.data_size - 1));
    const std::uint64_t available = batch.head - pos;
    const std::uint32_t info = available >= sizeof(wq_notification) ? decode_header(p).info : 0;
    const RecordError err = check_record(info, available);
    if (err != RecordError::none) {
        throw RingError("record at position " + std::to_string(pos) + " (head " +
                        std::to_string(batch.head) + "): " + to_string(err));
    }
    return {p, info & WQ_INFO_LENGTH};
}

} // namespace wqt
