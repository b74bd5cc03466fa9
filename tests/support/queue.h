// SPDX-License-Identifier: GPL-2.0-or-later
// One queue on /dev/watch_queue: sizing, filters, GET_INFO, the two ring
// mappings and the read() reader.  Every failure throws std::system_error
// with errno and what was attempted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <linux/wq_dev.h>

#include "fd.h"
#include "mapping.h"
#include "ring.h"

namespace wqt {

// A filter entry passing @subtypes of @type when (info & info_mask) == info_filter.
wq_notification_type_filter type_filter(std::uint32_t type,
                                        std::initializer_list<unsigned> subtypes,
                                        std::uint32_t info_filter = 0, std::uint32_t info_mask = 0);

// A struct wq_notification_filter with @entries, as u32 words (aligned);
// @nr_filters and @reserved may be overridden to build invalid filters.
std::vector<std::uint32_t> filter_blob(std::span<const wq_notification_type_filter> entries,
                                       std::optional<std::uint32_t> nr_filters = {},
                                       std::uint32_t reserved = 0);

class Queue {
public:
    // O_RDWR: a shared writable mapping of the consumer page needs it.
    explicit Queue(int flags = O_RDWR | O_CLOEXEC, const std::string& path = WQ_DEV_PATH);

    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    void close() noexcept;

    void set_size(unsigned long notes);
    void set_ring_bytes(std::uint64_t bytes);
    void set_filter(std::span<const wq_notification_type_filter> entries);
    void clear_filter();
    [[nodiscard]] wq_ring_info info() const;
    void sync();
    [[nodiscard]] std::size_t fionread() const;
    void set_nonblock(bool on);

    // Maps the consumer page (RW) and the producer+data part (RO) as
    // GET_INFO describes them; returns the view.  Idempotent.
    const RingView& map();
    void unmap() noexcept;
    [[nodiscard]] const RingView& ring() const;
    [[nodiscard]] const wq_ring_producer& producer() const;
    [[nodiscard]] std::uint64_t head() const { return load_acquire(ring().head); }
    [[nodiscard]] std::uint64_t tail() const { return load_acquire(ring().tail); }

    // One read() into a buffer of @bufsize bytes: the bytes read, or nullopt
    // on EAGAIN.  Throws on any other error (ENOBUFS included).
    std::optional<std::vector<std::byte>> read_once(std::size_t bufsize);

    // One read() (see read_once), then fn(Record) for each record read.
    // Returns the number of records; 0 on EAGAIN.
    template <class Fn>
    std::size_t read_records(std::size_t bufsize, Fn&& fn) {
        const auto buf = read_once(bufsize);
        if (!buf) {
            return 0;
        }
        const auto records = split_records(*buf);
        for (const Record rec : records) {
            fn(rec);
        }
        return records.size();
    }

private:
    Fd fd_;
    Mapping consumer_map_;
    Mapping producer_map_;
    RingView view_;
};

} // namespace wqt
