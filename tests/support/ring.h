// SPDX-License-Identifier: GPL-2.0-or-later
// Record framing and ring walking, independent of the device: used on the
// real mmap'd ring and on read() buffers, and unit-tested on a fake ring.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <linux/wq_dev.h>

namespace wqt {

using Record = std::span<const std::byte>;

// The decoded 8-byte header of a record.
struct Header {
    std::uint32_t type = 0;
    std::uint32_t subtype = 0;
    std::uint32_t info = 0;

    [[nodiscard]] std::uint32_t length() const noexcept { return info & WQ_INFO_LENGTH; }
    [[nodiscard]] std::uint32_t watch_id() const noexcept {
        return (info & WQ_INFO_ID) >> WQ_INFO_ID__SHIFT;
    }
};

// Decodes the header at @p (at least 8 readable bytes).
Header decode_header(const std::byte* p) noexcept;

// Why a record is invalid (none: it is valid).
enum class RecordError {
    none,
    too_short, // length < 8
    too_long,  // length > WQ_RECORD_MAX
    unaligned, // length not a multiple of 8
    past_end,  // the record extends past the head / the end of the buffer
    no_header, // fewer than 8 bytes left for the header
};

const char* to_string(RecordError err) noexcept;

// Checks the length in @info for a record with @available bytes up to the
// head (or the end of a read() buffer).
RecordError check_record(std::uint32_t info, std::uint64_t available) noexcept;

// A ring or a read() buffer broke the framing rules.
class RingError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Splits the bytes returned by one read() into records; throws RingError if
// a record is invalid or split.
std::vector<Record> split_records(std::span<const std::byte> buf);

// The consumer's view of a mapped ring.
struct RingView {
    const std::byte* data = nullptr; // data area, mapped twice back to back
    std::uint64_t data_size = 0;     // a power of two
    const __u64* head = nullptr;     // producer position (read-only)
    __u64* tail = nullptr;           // consumer position
};

// Positions are __u64 as in the uapi structs.
inline __u64 load_acquire(const __u64* p) noexcept {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

inline __u64 load_relaxed(const __u64* p) noexcept {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

// NOLINTNEXTLINE(readability-non-const-parameter): the value is stored through p
inline void store_release(__u64* p, __u64 value) noexcept {
    __atomic_store_n(p, value, __ATOMIC_RELEASE);
}

// The positions one batch covers.
struct Batch {
    std::uint64_t tail = 0;
    std::uint64_t head = 0;
};

// Loads the head once (acquire) and the own tail; throws RingError if the
// tail is not 8-aligned or not within data_size behind the head.
Batch begin_batch(const RingView& ring);

// The record at position @pos of @batch, validated; throws RingError.
Record record_at(const RingView& ring, const Batch& batch, std::uint64_t pos);

// Consumes the records between the tail and a head loaded once with acquire
// semantics, in place, calling fn(Record) for each; fn may return false to
// stop after that record.  Then stores the new tail once with release
// semantics.  Returns the number of records consumed.  On a RingError the
// tail is left unchanged.
template <class Fn>
std::size_t consume_batch(const RingView& ring, Fn&& fn) {
    const Batch batch = begin_batch(ring);
    std::uint64_t pos = batch.tail;
    std::size_t count = 0;
    while (pos != batch.head) {
        const Record rec = record_at(ring, batch, pos);
        pos += rec.size();
        ++count;
        if constexpr (std::is_same_v<std::invoke_result_t<Fn&, Record>, bool>) {
            if (!fn(rec)) {
                break;
            }
        } else {
            fn(rec);
        }
    }
    if (pos != batch.tail) {
        store_release(ring.tail, pos);
    }
    return count;
}

} // namespace wqt
