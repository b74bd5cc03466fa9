// SPDX-License-Identifier: GPL-2.0-or-later
#include "queue.h"

#include <cstring>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mman.h>

#include "error.h"

namespace wqt {

wq_notification_type_filter type_filter(std::uint32_t type,
                                        std::initializer_list<unsigned> subtypes,
                                        std::uint32_t info_filter, std::uint32_t info_mask) {
    wq_notification_type_filter f{};
    f.type = type;
    f.info_filter = info_filter;
    f.info_mask = info_mask;
    for (const unsigned s : subtypes) {
        f.subtype_filter[(s / 32) % 8] |= 1U << (s % 32);
    }
    return f;
}

std::vector<std::uint32_t> filter_blob(std::span<const wq_notification_type_filter> entries,
                                       std::optional<std::uint32_t> nr_filters,
                                       std::uint32_t reserved) {
    constexpr std::size_t words_per_entry = sizeof(wq_notification_type_filter) / 4;
    std::vector<std::uint32_t> blob(2 + entries.size() * words_per_entry);
    blob[0] = nr_filters.value_or(static_cast<std::uint32_t>(entries.size()));
    blob[1] = reserved;
    if (!entries.empty()) {
        std::memcpy(&blob[2], entries.data(), entries.size_bytes());
    }
    return blob;
}

Queue::Queue(int flags, const std::string& path) : fd_(open_fd(path, flags)) {}

void Queue::close() noexcept {
    fd_.reset();
}

void Queue::set_size(unsigned long notes) {
    if (::ioctl(fd(), WQ_IOC_SET_SIZE, notes) < 0) {
        throw_errno("WQ_IOC_SET_SIZE " + std::to_string(notes));
    }
}

void Queue::set_ring_bytes(std::uint64_t bytes) {
    if (::ioctl(fd(), WQ_IOC_SET_RING_BYTES, &bytes) < 0) {
        throw_errno("WQ_IOC_SET_RING_BYTES " + std::to_string(bytes));
    }
}

void Queue::set_filter(std::span<const wq_notification_type_filter> entries) {
    auto blob = filter_blob(entries);
    if (::ioctl(fd(), WQ_IOC_SET_FILTER, blob.data()) < 0) {
        throw_errno("WQ_IOC_SET_FILTER with " + std::to_string(entries.size()) + " entries");
    }
}

void Queue::clear_filter() {
    if (::ioctl(fd(), WQ_IOC_SET_FILTER, nullptr) < 0) {
        throw_errno("WQ_IOC_SET_FILTER NULL");
    }
}

wq_ring_info Queue::info() const {
    wq_ring_info info{};
    info.size = sizeof(info);
    if (::ioctl(fd(), WQ_IOC_GET_INFO, &info) < 0) {
        throw_errno("WQ_IOC_GET_INFO");
    }
    return info;
}

void Queue::sync() {
    if (::ioctl(fd(), WQ_IOC_SYNC) < 0) {
        throw_errno("WQ_IOC_SYNC");
    }
}

std::size_t Queue::fionread() const {
    int n = 0;
    if (::ioctl(fd(), FIONREAD, &n) < 0) {
        throw_errno("FIONREAD");
    }
    return static_cast<std::size_t>(n);
}

void Queue::set_nonblock(bool on) {
    const int flags = ::fcntl(fd(), F_GETFL);
    if (flags < 0 || ::fcntl(fd(), F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) < 0) {
        throw_errno("fcntl O_NONBLOCK");
    }
}

const RingView& Queue::map() {
    if (producer_map_) {
        return view_;
    }
    const wq_ring_info inf = info();
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    consumer_map_ =
        map_fd(fd(), page, PROT_READ | PROT_WRITE, MAP_SHARED, inf.consumer_off, "consumer page");
    producer_map_ = map_fd(fd(), inf.producer_len, PROT_READ, MAP_SHARED, inf.producer_off,
                           "producer and data");
    const auto* base = static_cast<const std::byte*>(producer_map_.get());
    view_.data = base + inf.data_off;
    view_.data_size = inf.data_size;
    view_.head = &static_cast<const wq_ring_producer*>(producer_map_.get())->head;
    view_.tail = &static_cast<wq_ring_consumer*>(consumer_map_.get())->tail;
    return view_;
}

void Queue::unmap() noexcept {
    producer_map_.reset();
    consumer_map_.reset();
    view_ = RingView{};
}

const RingView& Queue::ring() const {
    if (!producer_map_) {
        throw std::logic_error("Queue::ring() before Queue::map()");
    }
    return view_;
}

const wq_ring_producer& Queue::producer() const {
    (void)ring();
    return *static_cast<const wq_ring_producer*>(producer_map_.get());
}

std::optional<std::vector<std::byte>> Queue::read_once(std::size_t bufsize) {
    std::vector<std::byte> buf(bufsize);
    const ssize_t n = ::read(fd(), buf.data(), buf.size());
    if (n < 0) {
        if (errno == EAGAIN) {
            return std::nullopt;
        }
        throw_errno("read of " + std::to_string(bufsize) + " bytes");
    }
    buf.resize(static_cast<std::size_t>(n));
    return buf;
}

} // namespace wqt
