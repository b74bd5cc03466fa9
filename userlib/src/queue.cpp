// SPDX-License-Identifier: LGPL-2.1-or-later
// The queue: opening (device, or an upstream notification pipe), sizing,
// filters, watches, mapping, read() and waiting.
#include "watchqueue/queue.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <unistd.h>
#include <utility>
#include <vector>

#include <sys/mman.h>

#include "abi.hpp"
#include "watchqueue/error.hpp"
#include <fmt/format.h>

namespace watchqueue {
namespace {

constexpr unsigned default_notes = 256;
constexpr unsigned max_watch_id = 255;
// <linux/watch_queue.h>: O_NOTIFICATION_PIPE is O_EXCL (not included: it
// cannot be included with <fcntl.h>).
constexpr int notification_pipe_flag = O_EXCL;

std::error_code last_error() noexcept {
    return {errno, std::system_category()};
}

void check(const std::error_code& ec, const std::string& what) {
    if (ec) {
        throw error(ec, what);
    }
}

std::error_code invalid() noexcept {
    return std::make_error_code(std::errc::invalid_argument);
}

std::uintptr_t ptr_arg(const void* p) noexcept {
    return reinterpret_cast<std::uintptr_t>(p);
}

// The device's filter struct: a header and a flexible array of entries.
std::vector<std::byte> filter_bytes(const Filter& filter) {
    const auto& entries = filter.entries();
    std::vector<std::byte> buf(sizeof(wq_notification_filter) +
                               entries.size() * sizeof(wq_notification_type_filter));
    wq_notification_filter hdr{};
    hdr.nr_filters = static_cast<__u32>(entries.size());
    std::memcpy(buf.data(), &hdr, sizeof(hdr));
    std::size_t off = sizeof(hdr);
    for (const FilterEntry& e : entries) {
        wq_notification_type_filter f{};
        f.type = e.type;
        f.info_mask = e.info_mask;
        f.info_filter = e.info_filter;
        for (std::size_t bit = 0; bit < e.subtypes.size(); ++bit) {
            if (e.subtypes.test(bit)) {
                f.subtype_filter[bit / 32] |= 1U << (bit % 32); // NOLINT
            }
        }
        std::memcpy(buf.data() + off, &f, sizeof(f));
        off += sizeof(f);
    }
    return buf;
}

} // namespace

Queue::Queue(const QueueOptions& options, std::error_code& ec) noexcept {
    open(options, ec);
}

Queue::Queue(const QueueOptions& options) {
    std::error_code ec;
    open(options, ec);
    if (ec) {
        const std::string what = backend_ == Backend::pipe
                                     ? std::string("setting up a notification pipe")
                                     : open_error_message(options.path, ec);
        throw error(ec, what);
    }
}

void Queue::open(const QueueOptions& options, std::error_code& ec) noexcept {
    ec.clear();
    sys_ = options.sys != nullptr ? options.sys : &system_sys();
    try {
        path_ = options.path;
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return;
    }
    if ((options.notes != 0 && options.ring_bytes != 0) || options.notes > max_notes) {
        ec = invalid();
        return;
    }
    if (options.backend != Backend::pipe) {
        backend_ = Backend::device;
        fd_ = sys_->open(options.path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd_ < 0) {
            ec = last_error();
            const bool missing = ec == std::errc::no_such_file_or_directory ||
                                 ec == std::errc::no_such_device ||
                                 ec == std::errc::no_such_device_or_address;
            if (options.backend == Backend::device || !missing) {
                return;
            }
            const std::error_code device_ec = ec;
            open_pipe(options, ec);
            if (ec == std::errc::invalid_argument || ec.value() == ENOPKG) {
                ec = device_ec; // no notification pipes either: report the device
                backend_ = Backend::device;
            }
            return;
        }
        size(options, ec);
    } else {
        open_pipe(options, ec);
    }
    if (ec) {
        close();
    }
}

void Queue::open_pipe(const QueueOptions& options, std::error_code& ec) noexcept {
    backend_ = Backend::pipe;
    if (options.ring_bytes != 0) {
        ec = invalid(); // pipes are sized in notes only
        return;
    }
    std::array<int, 2> fds{-1, -1};
    if (sys_->pipe2(fds.data(), O_CLOEXEC | O_NONBLOCK | notification_pipe_flag) < 0) {
        ec = last_error();
        return;
    }
    fd_ = fds[0];
    pipe_write_fd_ = fds[1]; // kept open: without a writer read() gives EOF
    size(options, ec);
    if (ec) {
        close();
    }
}

void Queue::size(const QueueOptions& options, std::error_code& ec) noexcept {
    if (options.ring_bytes != 0) {
        const std::uint64_t bytes = options.ring_bytes;
        ioctl(WQ_IOC_SET_RING_BYTES, ptr_arg(&bytes), ec);
    } else {
        ioctl(WQ_IOC_SET_SIZE, options.notes != 0 ? options.notes : default_notes, ec);
    }
}

Queue::Queue(Queue&& other) noexcept
    : sys_(other.sys_), fd_(std::exchange(other.fd_, -1)),
      pipe_write_fd_(std::exchange(other.pipe_write_fd_, -1)), backend_(other.backend_),
      path_(std::move(other.path_)), consumer_map_(std::exchange(other.consumer_map_, nullptr)),
      consumer_len_(other.consumer_len_),
      producer_map_(std::exchange(other.producer_map_, nullptr)),
      producer_len_(other.producer_len_), ring_(std::exchange(other.ring_, RingView{})) {}

Queue& Queue::operator=(Queue&& other) noexcept {
    if (this != &other) {
        close();
        sys_ = other.sys_;
        fd_ = std::exchange(other.fd_, -1);
        pipe_write_fd_ = std::exchange(other.pipe_write_fd_, -1);
        backend_ = other.backend_;
        path_ = std::move(other.path_);
        consumer_map_ = std::exchange(other.consumer_map_, nullptr);
        consumer_len_ = other.consumer_len_;
        producer_map_ = std::exchange(other.producer_map_, nullptr);
        producer_len_ = other.producer_len_;
        ring_ = std::exchange(other.ring_, RingView{});
    }
    return *this;
}

Queue::~Queue() {
    close();
}

void Queue::close() noexcept {
    unmap();
    if (pipe_write_fd_ >= 0) {
        sys_->close(pipe_write_fd_);
        pipe_write_fd_ = -1;
    }
    if (fd_ >= 0) {
        sys_->close(fd_);
        fd_ = -1;
    }
}

int Queue::ioctl(unsigned long request, std::uintptr_t arg, std::error_code& ec) noexcept {
    ec.clear();
    if (fd_ < 0) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return -1;
    }
    const int rc = sys_->ioctl(fd_, request, arg);
    if (rc < 0) {
        ec = last_error();
    }
    return rc;
}

void Queue::set_filter(const Filter& filter, std::error_code& ec) noexcept {
    try {
        const std::vector<std::byte> buf = filter_bytes(filter);
        ioctl(WQ_IOC_SET_FILTER, ptr_arg(buf.data()), ec);
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
    }
}

void Queue::set_filter(const Filter& filter) {
    std::error_code ec;
    set_filter(filter, ec);
    check(ec, "setting the queue's filter");
}

void Queue::clear_filter(std::error_code& ec) noexcept {
    ioctl(WQ_IOC_SET_FILTER, 0, ec);
}

void Queue::clear_filter() {
    std::error_code ec;
    clear_filter(ec);
    check(ec, "removing the queue's filter");
}

void Queue::watch_key(std::int32_t key, unsigned watch_id, std::error_code& ec) noexcept {
    ec.clear();
    if (watch_id > max_watch_id) {
        ec = invalid();
        return;
    }
    if (backend_ == Backend::pipe) {
        if (sys_->keyctl_watch_key(key, fd_, static_cast<int>(watch_id)) < 0) {
            ec = last_error();
        }
        return;
    }
    const wq_watch_key arg{key, static_cast<__s32>(watch_id), 0, 0};
    ioctl(WQ_IOC_WATCH_KEY, ptr_arg(&arg), ec);
}

void Queue::watch_key(std::int32_t key, unsigned watch_id) {
    std::error_code ec;
    watch_key(key, watch_id, ec);
    check(ec, fmt::format("watching key {}", key));
}

void Queue::unwatch_key(std::int32_t key, std::error_code& ec) noexcept {
    ec.clear();
    if (backend_ == Backend::pipe) {
        if (sys_->keyctl_watch_key(key, fd_, -1) < 0) {
            ec = last_error();
        }
        return;
    }
    const wq_watch_key arg{key, -1, 0, 0};
    ioctl(WQ_IOC_WATCH_KEY, ptr_arg(&arg), ec);
}

void Queue::unwatch_key(std::int32_t key) {
    std::error_code ec;
    unwatch_key(key, ec);
    check(ec, fmt::format("removing the watch of key {}", key));
}

void Queue::watch_devices_ioctl(int blk_fd, int watch_id, std::error_code& ec) noexcept {
    ec.clear();
    if (backend_ == Backend::pipe) {
        ec = std::make_error_code(std::errc::operation_not_supported);
        return;
    }
    if (watch_id > static_cast<int>(max_watch_id)) {
        ec = invalid();
        return;
    }
    const wq_watch_devices arg{watch_id, 0, blk_fd, 0};
    ioctl(WQ_IOC_WATCH_DEVICES, ptr_arg(&arg), ec);
}

void Queue::watch_devices(unsigned watch_id, std::error_code& ec) noexcept {
    watch_devices_ioctl(-1, static_cast<int>(std::min(watch_id, max_watch_id + 1)), ec);
}

void Queue::watch_devices(unsigned watch_id) {
    std::error_code ec;
    watch_devices(watch_id, ec);
    check(ec, "watching all devices");
}

void Queue::unwatch_devices(std::error_code& ec) noexcept {
    watch_devices_ioctl(-1, -1, ec);
}

void Queue::unwatch_devices() {
    std::error_code ec;
    unwatch_devices(ec);
    check(ec, "removing the device watch");
}

void Queue::watch_block(int blk_fd, unsigned watch_id, std::error_code& ec) noexcept {
    if (blk_fd < 0) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return;
    }
    watch_devices_ioctl(blk_fd, static_cast<int>(std::min(watch_id, max_watch_id + 1)), ec);
}

void Queue::watch_block(int blk_fd, unsigned watch_id) {
    std::error_code ec;
    watch_block(blk_fd, watch_id, ec);
    check(ec, "watching a block device");
}

void Queue::unwatch_block(int blk_fd, std::error_code& ec) noexcept {
    if (blk_fd < 0) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return;
    }
    watch_devices_ioctl(blk_fd, -1, ec);
}

void Queue::unwatch_block(int blk_fd) {
    std::error_code ec;
    unwatch_block(blk_fd, ec);
    check(ec, "removing the watch of a block device");
}

RingInfo Queue::info(std::error_code& ec) noexcept {
    if (backend_ == Backend::pipe) {
        ec = std::make_error_code(std::errc::operation_not_supported);
        return {};
    }
    wq_ring_info raw{};
    raw.size = sizeof(raw);
    if (ioctl(WQ_IOC_GET_INFO, ptr_arg(&raw), ec) < 0) {
        return {};
    }
    return {raw.abi_version,  raw.data_size,    raw.lost,         raw.features,
            raw.consumer_off, raw.producer_off, raw.producer_len, raw.data_off};
}

RingInfo Queue::info() {
    std::error_code ec;
    RingInfo result = info(ec);
    check(ec, "getting the ring's description");
    return result;
}

void Queue::map(std::error_code& ec) noexcept {
    ec.clear();
    if (ring_.data != nullptr) {
        return;
    }
    const RingInfo ri = info(ec);
    if (ec) {
        return;
    }
    const auto page = static_cast<std::uint64_t>(::getpagesize());
    const std::uint64_t data_size = ri.data_size;
    if (data_size == 0 || (data_size & (data_size - 1)) != 0 ||
        ri.producer_len < ri.data_off + 2 * data_size || ri.data_off < sizeof(wq_ring_producer)) {
        ec = std::make_error_code(std::errc::protocol_error);
        return;
    }
    void* cons = sys_->mmap(page, PROT_READ | PROT_WRITE, MAP_SHARED, fd_,
                            static_cast<off_t>(ri.consumer_off));
    if (cons == MAP_FAILED) {
        ec = last_error();
        return;
    }
    void* prod = sys_->mmap(ri.producer_len, PROT_READ, MAP_SHARED, fd_,
                            static_cast<off_t>(ri.producer_off));
    if (prod == MAP_FAILED) {
        ec = last_error();
        sys_->munmap(cons, page);
        return;
    }
    consumer_map_ = cons;
    consumer_len_ = page;
    producer_map_ = prod;
    producer_len_ = ri.producer_len;
    const auto* producer = static_cast<const std::byte*>(prod);
    ring_.data = producer + ri.data_off;
    ring_.data_size = data_size;
    ring_.head =
        reinterpret_cast<const std::uint64_t*>(producer + offsetof(wq_ring_producer, head));
    ring_.lost =
        reinterpret_cast<const std::uint64_t*>(producer + offsetof(wq_ring_producer, lost));
    ring_.tail = reinterpret_cast<std::uint64_t*>(static_cast<std::byte*>(cons) +
                                                  offsetof(wq_ring_consumer, tail));
}

void Queue::unmap() noexcept {
    if (producer_map_ != nullptr) {
        sys_->munmap(producer_map_, producer_len_);
        producer_map_ = nullptr;
    }
    if (consumer_map_ != nullptr) {
        sys_->munmap(consumer_map_, consumer_len_);
        consumer_map_ = nullptr;
    }
    ring_ = RingView{};
}

const RingView& Queue::ring(std::error_code& ec) noexcept {
    map(ec);
    return ring_;
}

const RingView& Queue::ring() {
    std::error_code ec;
    map(ec);
    check(ec, "mapping the ring");
    return ring_;
}

Batch Queue::batch(std::error_code& ec) noexcept {
    map(ec);
    if (ec) {
        return {};
    }
    return {ring_, ec};
}

Batch Queue::batch() {
    return Batch(ring());
}

Records Queue::read(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    ec.clear();
    const ssize_t n = sys_->read(fd_, buffer.data(), buffer.size());
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            ec = last_error();
        }
        return {};
    }
    return Records(std::span<const std::byte>(buffer.data(), static_cast<std::size_t>(n)));
}

Records Queue::read(std::span<std::byte> buffer) {
    std::error_code ec;
    Records records = read(buffer, ec);
    check(ec, "reading the queue");
    return records;
}

bool Queue::wait(std::chrono::milliseconds timeout, std::error_code& ec) noexcept {
    ec.clear();
    pollfd pfd{fd_, POLLIN, 0};
    const int ms = timeout.count() < 0 ? -1
                                       : static_cast<int>(std::min<std::int64_t>(
                                             timeout.count(), std::numeric_limits<int>::max()));
    const int rc = sys_->poll(&pfd, 1, ms);
    if (rc < 0) {
        if (errno != EINTR) {
            ec = last_error();
        }
        return false;
    }
    if (rc > 0 && (pfd.revents & (POLLERR | POLLNVAL)) != 0) {
        ec = std::make_error_code(std::errc::io_error);
        return false;
    }
    return rc > 0 && (pfd.revents & POLLIN) != 0;
}

bool Queue::wait(std::chrono::milliseconds timeout) {
    std::error_code ec;
    const bool ready = wait(timeout, ec);
    check(ec, "waiting for the queue");
    return ready;
}

void Queue::sync(std::error_code& ec) noexcept {
    ioctl(WQ_IOC_SYNC, 0, ec);
}

void Queue::sync() {
    std::error_code ec;
    sync(ec);
    check(ec, "waiting for the queue to drain");
}

} // namespace watchqueue
