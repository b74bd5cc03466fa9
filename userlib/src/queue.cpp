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
#include <new>
#include <unistd.h>
#include <utility>
#include <vector>

#include <sys/mman.h>

#include "abi.hpp"
#include "queue_state.hpp"
#include "watchqueue/error.hpp"
#include <fmt/format.h>

namespace watchqueue {
inline namespace v0 {
namespace {

constexpr unsigned default_notes = 256;
// What one read() of a notification pipe may return (whole records of at
// most 128 bytes); a power of two, as Batch wants of a ring.
constexpr std::size_t pipe_buffer_size = 4096;
constexpr unsigned max_watch_id = WatchId::max;
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

void size(detail::QueueState& q, const QueueOptions& options, std::error_code& ec) noexcept {
    if (options.ring_bytes != 0) {
        const std::uint64_t bytes = options.ring_bytes;
        q.ioctl(WQ_IOC_SET_RING_BYTES, ptr_arg(&bytes), ec);
    } else {
        q.ioctl(WQ_IOC_SET_SIZE, options.notes != 0 ? options.notes : default_notes, ec);
    }
}

void open_pipe(detail::QueueState& q, const QueueOptions& options, std::error_code& ec) noexcept {
    q.backend = Backend::pipe;
    if (options.ring_bytes != 0) {
        ec = invalid(); // pipes are sized in notes only
        return;
    }
    std::array<int, 2> fds{-1, -1};
    if (q.sys.pipe2(fds.data(), O_CLOEXEC | O_NONBLOCK | notification_pipe_flag) < 0) {
        ec = last_error();
        return;
    }
    q.fd = fds[0];
    q.pipe_write_fd = fds[1]; // kept open: without a writer read() gives EOF
    size(q, options, ec);
}

// Opens the device or a notification pipe as @options say; on failure
// q.backend says which one failed.
void open(detail::QueueState& q, const QueueOptions& options, std::error_code& ec) noexcept {
    ec.clear();
    if ((options.notes != 0 && options.ring_bytes != 0) || options.notes > max_notes) {
        ec = invalid();
        return;
    }
    if (options.backend == Backend::pipe) {
        open_pipe(q, options, ec);
        return;
    }
    q.backend = Backend::device;
    q.fd = q.sys.open(options.path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (q.fd >= 0) {
        size(q, options, ec);
        return;
    }
    ec = last_error();
    const bool missing = ec == std::errc::no_such_file_or_directory ||
                         ec == std::errc::no_such_device ||
                         ec == std::errc::no_such_device_or_address;
    if (options.backend == Backend::device || !missing) {
        return;
    }
    const std::error_code device_ec = ec;
    open_pipe(q, options, ec);
    if (ec == std::errc::invalid_argument || ec.value() == ENOPKG) {
        ec = device_ec; // no notification pipes either: report the device
        q.backend = Backend::device;
    }
}

// Opens a queue; nullptr with @ec set on failure, @tried saying which
// backend failed.
std::unique_ptr<detail::QueueState> open_state(const QueueOptions& options, detail::Sys& sys,
                                               std::error_code& ec, Backend& tried) noexcept {
    std::unique_ptr<detail::QueueState> q(new (std::nothrow) detail::QueueState(sys));
    if (!q) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        tried = options.backend == Backend::pipe ? Backend::pipe : Backend::device;
        return nullptr;
    }
    open(*q, options, ec);
    tried = q->backend;
    if (ec) {
        return nullptr; // the state's destructor closes what was opened
    }
    return q;
}

} // namespace

namespace detail {

QueueState::~QueueState() {
    unmap();
    if (pipe_write_fd >= 0) {
        sys.close(pipe_write_fd);
    }
    if (fd >= 0) {
        sys.close(fd);
    }
}

int QueueState::ioctl(unsigned long request, std::uintptr_t arg, std::error_code& ec) noexcept {
    ec.clear();
    const int rc = sys.ioctl(fd, request, arg);
    if (rc < 0) {
        ec = last_error();
    }
    return rc;
}

void QueueState::watch_devices(int blk_fd, int watch_id, std::error_code& ec) noexcept {
    ec.clear();
    if (backend == Backend::pipe) {
        ec = std::make_error_code(std::errc::operation_not_supported);
        return;
    }
    if (watch_id > static_cast<int>(max_watch_id)) {
        ec = invalid();
        return;
    }
    const wq_watch_devices arg{.watch_id = watch_id, .flags = 0, .blk_fd = blk_fd, .__reserved = 0};
    ioctl(WQ_IOC_WATCH_DEVICES, ptr_arg(&arg), ec);
}

RingInfo QueueState::info(std::error_code& ec) noexcept {
    if (backend == Backend::pipe) {
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

void QueueState::map(std::error_code& ec) noexcept {
    ec.clear();
    if (ring.data != nullptr) {
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
    void* cons =
        sys.mmap(page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(ri.consumer_off));
    if (cons == MAP_FAILED) {
        ec = last_error();
        return;
    }
    void* prod =
        sys.mmap(ri.producer_len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(ri.producer_off));
    if (prod == MAP_FAILED) {
        ec = last_error();
        sys.munmap(cons, page);
        return;
    }
    consumer_map = cons;
    consumer_len = page;
    producer_map = prod;
    producer_len = ri.producer_len;
    const auto* producer = static_cast<const std::byte*>(prod);
    ring.data = producer + ri.data_off;
    ring.data_size = data_size;
    ring.head = reinterpret_cast<const std::uint64_t*>(producer + offsetof(wq_ring_producer, head));
    ring.lost = reinterpret_cast<const std::uint64_t*>(producer + offsetof(wq_ring_producer, lost));
    ring.tail = reinterpret_cast<std::uint64_t*>(static_cast<std::byte*>(cons) +
                                                 offsetof(wq_ring_consumer, tail));
}

void QueueState::unmap() noexcept {
    if (producer_map != nullptr) {
        sys.munmap(producer_map, producer_len);
        producer_map = nullptr;
    }
    if (consumer_map != nullptr) {
        sys.munmap(consumer_map, consumer_len);
        consumer_map = nullptr;
    }
    ring = RingView{};
}

const RingView& QueueState::pipe_records(std::error_code& ec) noexcept {
    ec.clear();
    if (pipe_buf.empty()) {
        try {
            pipe_buf.resize(pipe_buffer_size);
        } catch (const std::bad_alloc&) {
            ec = std::make_error_code(std::errc::not_enough_memory);
            return pipe_view;
        }
        pipe_view.data = pipe_buf.data();
        pipe_view.data_size = pipe_buf.size();
        pipe_view.head = &pipe_head;
        pipe_view.tail = &pipe_tail;
    }
    if (pipe_pending()) {
        return pipe_view; // what the last batch left, before reading more
    }
    pipe_head = pipe_tail = 0;
    const ssize_t n = sys.read(fd, pipe_buf.data(), pipe_buf.size());
    if (n > 0) {
        pipe_head = static_cast<std::uint64_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        ec = last_error();
    }
    return pipe_view;
}

Queue open_queue(const QueueOptions& options, Sys& sys, std::error_code& ec) noexcept {
    Backend tried{};
    return QueueAccess::make(open_state(options, sys, ec, tried));
}

Queue open_queue(const QueueOptions& options, Sys& sys) {
    std::error_code ec;
    Backend tried{};
    Queue q = QueueAccess::make(open_state(options, sys, ec, tried));
    if (ec) {
        throw error(ec, tried == Backend::pipe ? std::string("setting up a notification pipe")
                                               : open_error_message(options.path, ec));
    }
    return q;
}

} // namespace detail

Queue::Queue() noexcept = default;

Queue::Queue(const QueueOptions& options)
    : Queue(detail::open_queue(options, detail::system_sys())) {}

Queue::Queue(const QueueOptions& options, std::error_code& ec) noexcept
    : Queue(detail::open_queue(options, detail::system_sys(), ec)) {}

Queue::Queue(Queue&& other) noexcept = default;
Queue& Queue::operator=(Queue&& other) noexcept = default;
Queue::~Queue() = default;

bool Queue::is_open() const noexcept {
    return state_ != nullptr;
}

int Queue::fd() const noexcept {
    return state_ ? state_->fd : -1;
}

Backend Queue::backend() const noexcept {
    return state_ ? state_->backend : Backend::device;
}

void Queue::close() noexcept {
    state_.reset();
}

void Queue::set_filter(const Filter& filter, std::error_code& ec) noexcept {
    auto* q = detail::live(state_, ec);
    if (q == nullptr) {
        return;
    }
    try {
        const std::vector<std::byte> buf = filter_bytes(filter);
        q->ioctl(WQ_IOC_SET_FILTER, ptr_arg(buf.data()), ec);
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
    if (auto* q = detail::live(state_, ec)) {
        q->ioctl(WQ_IOC_SET_FILTER, 0, ec);
    }
}

void Queue::clear_filter() {
    std::error_code ec;
    clear_filter(ec);
    check(ec, "removing the queue's filter");
}

void Queue::watch_key(std::int32_t key, unsigned watch_id, std::error_code& ec) noexcept {
    auto* q = detail::live(state_, ec);
    if (q == nullptr) {
        return;
    }
    if (watch_id > max_watch_id) {
        ec = invalid();
        return;
    }
    if (q->backend == Backend::pipe) {
        if (q->sys.keyctl_watch_key(key, q->fd, static_cast<int>(watch_id)) < 0) {
            ec = last_error();
        }
        return;
    }
    const wq_watch_key arg{
        .key = key, .watch_id = static_cast<__s32>(watch_id), .flags = 0, .__reserved = 0};
    q->ioctl(WQ_IOC_WATCH_KEY, ptr_arg(&arg), ec);
}

void Queue::watch_key(std::int32_t key, unsigned watch_id) {
    std::error_code ec;
    watch_key(key, watch_id, ec);
    check(ec, fmt::format("watching key {}", key));
}

void Queue::unwatch_key(std::int32_t key, std::error_code& ec) noexcept {
    auto* q = detail::live(state_, ec);
    if (q == nullptr) {
        return;
    }
    if (q->backend == Backend::pipe) {
        if (q->sys.keyctl_watch_key(key, q->fd, -1) < 0) {
            ec = last_error();
        }
        return;
    }
    const wq_watch_key arg{.key = key, .watch_id = -1, .flags = 0, .__reserved = 0};
    q->ioctl(WQ_IOC_WATCH_KEY, ptr_arg(&arg), ec);
}

void Queue::unwatch_key(std::int32_t key) {
    std::error_code ec;
    unwatch_key(key, ec);
    check(ec, fmt::format("removing the watch of key {}", key));
}

void Queue::watch_devices(unsigned watch_id, std::error_code& ec) noexcept {
    if (auto* q = detail::live(state_, ec)) {
        q->watch_devices(-1, static_cast<int>(std::min(watch_id, max_watch_id + 1)), ec);
    }
}

void Queue::watch_devices(unsigned watch_id) {
    std::error_code ec;
    watch_devices(watch_id, ec);
    check(ec, "watching all devices");
}

void Queue::unwatch_devices(std::error_code& ec) noexcept {
    if (auto* q = detail::live(state_, ec)) {
        q->watch_devices(-1, -1, ec);
    }
}

void Queue::unwatch_devices() {
    std::error_code ec;
    unwatch_devices(ec);
    check(ec, "removing the device watch");
}

void Queue::watch_block(int blk_fd, unsigned watch_id, std::error_code& ec) noexcept {
    auto* q = detail::live(state_, ec);
    if (q == nullptr) {
        return;
    }
    if (blk_fd < 0) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return;
    }
    q->watch_devices(blk_fd, static_cast<int>(std::min(watch_id, max_watch_id + 1)), ec);
}

void Queue::watch_block(int blk_fd, unsigned watch_id) {
    std::error_code ec;
    watch_block(blk_fd, watch_id, ec);
    check(ec, "watching a block device");
}

void Queue::unwatch_block(int blk_fd, std::error_code& ec) noexcept {
    auto* q = detail::live(state_, ec);
    if (q == nullptr) {
        return;
    }
    if (blk_fd < 0) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return;
    }
    q->watch_devices(blk_fd, -1, ec);
}

void Queue::unwatch_block(int blk_fd) {
    std::error_code ec;
    unwatch_block(blk_fd, ec);
    check(ec, "removing the watch of a block device");
}

RingInfo Queue::info(std::error_code& ec) noexcept {
    auto* q = detail::live(state_, ec);
    return q != nullptr ? q->info(ec) : RingInfo{};
}

RingInfo Queue::info() {
    std::error_code ec;
    RingInfo result = info(ec);
    check(ec, "getting the ring's description");
    return result;
}

const RingView& Queue::ring(std::error_code& ec) noexcept {
    static const RingView none;
    auto* q = detail::live(state_, ec);
    if (q == nullptr) {
        return none;
    }
    q->map(ec);
    return q->ring;
}

const RingView& Queue::ring() {
    std::error_code ec;
    const RingView& view = ring(ec);
    check(ec, "mapping the ring");
    return view;
}

Batch Queue::batch(std::error_code& ec) noexcept {
    auto* q = detail::live(state_, ec);
    if (q == nullptr) {
        return {};
    }
    if (q->backend == Backend::pipe) {
        const RingView& records = q->pipe_records(ec);
        return ec ? Batch() : Batch(records, ec);
    }
    q->map(ec);
    return ec ? Batch() : Batch(q->ring, ec);
}

Batch Queue::batch() {
    if (state_ && state_->backend == Backend::pipe) {
        std::error_code ec;
        const RingView& records = state_->pipe_records(ec);
        check(ec, "reading the notification pipe");
        return Batch(records);
    }
    return Batch(ring());
}

Records Queue::read(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    auto* q = detail::live(state_, ec);
    if (q == nullptr) {
        return {};
    }
    const ssize_t n = q->sys.read(q->fd, buffer.data(), buffer.size());
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

WaitResult Queue::wait(std::chrono::milliseconds timeout, std::error_code& ec) noexcept {
    auto* q = detail::live(state_, ec);
    if (q == nullptr) {
        return WaitResult::timeout;
    }
    if (q->pipe_pending()) {
        return WaitResult::ready; // read from the pipe, left by a batch
    }
    pollfd pfd{q->fd, POLLIN, 0};
    const int ms = timeout.count() < 0 ? -1
                                       : static_cast<int>(std::min<std::int64_t>(
                                             timeout.count(), std::numeric_limits<int>::max()));
    const int rc = q->sys.poll(&pfd, 1, ms);
    if (rc < 0) {
        if (errno == EINTR) {
            return WaitResult::interrupted;
        }
        ec = last_error();
        return WaitResult::timeout;
    }
    if (rc == 0) {
        return WaitResult::timeout;
    }
    if ((pfd.revents & POLLIN) == 0 || (pfd.revents & (POLLERR | POLLNVAL)) != 0) {
        ec = std::make_error_code(std::errc::io_error);
        return WaitResult::timeout;
    }
    return WaitResult::ready;
}

WaitResult Queue::wait(std::chrono::milliseconds timeout) {
    std::error_code ec;
    const WaitResult result = wait(timeout, ec);
    check(ec, "waiting for the queue");
    return result;
}

void Queue::sync(std::error_code& ec) noexcept {
    if (auto* q = detail::live(state_, ec)) {
        q->ioctl(WQ_IOC_SYNC, 0, ec);
    }
}

void Queue::sync() {
    std::error_code ec;
    sync(ec);
    check(ec, "waiting for the queue to drain");
}

} // namespace v0
} // namespace watchqueue
