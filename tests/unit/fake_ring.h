// SPDX-License-Identifier: GPL-2.0-or-later
// A ring in memory laid out as the kernel lays it out: a power-of-two data
// area mapped twice back to back (memfd_create + two mmaps of the same
// pages), free-running head and tail, and records built as the kernel and
// the test module build them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "fd.h"
#include "mapping.h"
#include "ring.h"

namespace wqt::fake {

class FakeRing {
public:
    // @data_size: a power of two, multiple of the page size; positions start
    // at @start (e.g. close to 2^64 to test wrapping of the positions).
    explicit FakeRing(std::size_t data_size, std::uint64_t start = 0);
    FakeRing(const FakeRing&) = delete;
    FakeRing& operator=(const FakeRing&) = delete;
    FakeRing(FakeRing&&) = delete; // view() points into the object
    FakeRing& operator=(FakeRing&&) = delete;
    ~FakeRing() = default;

    [[nodiscard]] RingView view() noexcept;
    [[nodiscard]] std::size_t data_size() const noexcept { return size_; }
    [[nodiscard]] const std::byte* data() const noexcept { return data_; }

    // Producer side: copy @rec at the (unpublished) write position; returns
    // false, writing nothing, if it does not fit.
    bool write(std::span<const std::byte> rec);
    // Publishes everything written so far (store-release of the head).
    void publish() noexcept;
    // write() + publish(); throws if it does not fit.
    void push(std::span<const std::byte> rec);

    __u64 head = 0;
    __u64 tail = 0;

private:
    std::size_t size_;
    Fd memfd_;
    Mapping reserve_;
    std::byte* data_ = nullptr;
    std::uint64_t write_pos_ = 0;
};

std::vector<std::byte> header_only(std::uint32_t type, std::uint32_t subtype, std::uint32_t info,
                                   std::size_t size);
std::vector<std::byte> synthetic(std::uint32_t producer, std::uint32_t seq, std::uint32_t size,
                                 std::uint32_t subtype = 0, std::uint32_t watch_id = 0);
std::vector<std::byte> loss(std::uint64_t count);
std::vector<std::byte> removal(std::uint32_t watch_id, std::optional<std::uint64_t> id);

} // namespace wqt::fake
