// SPDX-License-Identifier: GPL-2.0-or-later
#include "lib_fake.hpp"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <ranges>
#include <span>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

#include <sys/mman.h>

namespace libtest {
namespace {

[[noreturn]] void fail(const char* what) {
    throw std::system_error(errno, std::system_category(), what);
}

template <class T>
std::vector<std::byte> bytes_of(const T& value) {
    std::vector<std::byte> out(sizeof(T));
    std::memcpy(out.data(), &value, sizeof(T));
    return out;
}

} // namespace

std::vector<std::byte> make_record(std::uint32_t type, std::uint32_t subtype,
                                   std::uint32_t watch_id, std::vector<std::byte> payload) {
    const std::size_t len = (sizeof(wq_notification) + payload.size() + 7) & ~std::size_t{7};
    wq_notification hdr{};
    hdr.type = type;
    hdr.subtype = subtype;
    hdr.info = static_cast<std::uint32_t>(len) | (watch_id << WQ_INFO_ID__SHIFT);
    std::vector<std::byte> rec(len);
    std::memcpy(rec.data(), &hdr, sizeof(hdr));
    if (!payload.empty()) {
        std::memcpy(rec.data() + sizeof(hdr), payload.data(), payload.size());
    }
    return rec;
}

std::vector<std::byte> key_record(watchqueue::KeySubtype s, std::int32_t key, std::uint32_t aux,
                                  std::uint32_t watch_id) {
    std::vector<std::byte> payload(sizeof(key) + sizeof(aux));
    std::memcpy(payload.data(), &key, sizeof(key));
    std::memcpy(payload.data() + sizeof(key), &aux, sizeof(aux));
    return make_record(WQ_TYPE_KEY, static_cast<std::uint32_t>(s), watch_id, payload);
}

std::vector<std::byte> loss_record(std::uint64_t count) {
    return make_record(WQ_TYPE_META, WQ_META_LOSS, 0, bytes_of(count));
}

namespace {

// The header of a whole struct T: its size as the length.
template <class T>
wq_notification header_of(std::uint32_t type, std::uint32_t subtype, std::uint32_t flags,
                          std::uint32_t watch_id) {
    wq_notification hdr{};
    hdr.type = type;
    hdr.subtype = subtype;
    hdr.info = static_cast<std::uint32_t>(sizeof(T)) | (watch_id << WQ_INFO_ID__SHIFT) | flags;
    return hdr;
}

} // namespace

std::vector<std::byte> sb_record(watchqueue::SuperblockSubtype s, std::uint64_t sb_id,
                                 std::uint32_t flags, std::uint32_t watch_id) {
    wq_superblock_notification n{};
    n.watch = header_of<wq_superblock_notification>(WQ_TYPE_SUPERBLOCK,
                                                    static_cast<std::uint32_t>(s), flags, watch_id);
    n.sb_id = sb_id;
    return bytes_of(n);
}

std::vector<std::byte> sb_error_record(watchqueue::SuperblockSubtype s, std::uint64_t sb_id,
                                       std::uint32_t error, std::uint32_t aux, std::uint64_t ino,
                                       std::uint32_t watch_id) {
    wq_superblock_error_notification n{};
    n.s.watch = header_of<wq_superblock_error_notification>(
        WQ_TYPE_SUPERBLOCK, static_cast<std::uint32_t>(s), 0, watch_id);
    n.s.sb_id = sb_id;
    n.error = error;
    n.aux = aux;
    n.ino = ino;
    return bytes_of(n);
}

std::vector<std::byte> mount_record(watchqueue::MountSubtype s, std::uint64_t mount,
                                    std::uint64_t parent, std::uint32_t flags,
                                    std::uint32_t watch_id) {
    wq_mount_notification n{};
    n.watch = header_of<wq_mount_notification>(WQ_TYPE_MOUNT, static_cast<std::uint32_t>(s), flags,
                                               watch_id);
    n.triggered_on = parent;
    n.auxiliary_mount = mount;
    return bytes_of(n);
}

std::vector<std::byte> raw_header(std::uint32_t type, std::uint32_t info, std::size_t total) {
    wq_notification hdr{};
    hdr.type = type;
    hdr.info = info;
    std::vector<std::byte> rec(std::max(total, sizeof(hdr)));
    std::memcpy(rec.data(), &hdr, sizeof(hdr));
    rec.resize(total);
    return rec;
}

FakeRing::FakeRing(std::size_t data_size, std::uint64_t start)
    : data_size_(data_size), page_(static_cast<std::size_t>(::getpagesize())),
      producer_len_(page_ + 2 * data_size) {
    const int memfd = ::memfd_create("fake-ring", MFD_CLOEXEC);
    if (memfd < 0 || ::ftruncate(memfd, static_cast<off_t>(data_size)) < 0) {
        fail("memfd");
    }
    base_ =
        ::mmap(nullptr, producer_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base_ == MAP_FAILED) {
        fail("mmap");
    }
    auto* data = static_cast<std::byte*>(base_) + page_;
    for (std::size_t copy = 0; copy < 2; ++copy) {
        if (::mmap(data + copy * data_size, data_size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_FIXED, memfd, 0) == MAP_FAILED) {
            fail("mmap data");
        }
    }
    ::close(memfd);
    consumer_ = ::mmap(nullptr, page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (consumer_ == MAP_FAILED) {
        fail("mmap consumer");
    }
    producer()->head = start;
    producer()->data_size = data_size;
    set_tail(start);
}

FakeRing::~FakeRing() {
    ::munmap(base_, producer_len_);
    ::munmap(consumer_, page_);
}

wq_ring_producer* FakeRing::producer() const noexcept {
    return static_cast<wq_ring_producer*>(base_);
}

watchqueue::RingView FakeRing::view() const noexcept {
    // __u64 is unsigned long long, std::uint64_t unsigned long: same object
    return {static_cast<const std::byte*>(base_) + page_, data_size_,
            reinterpret_cast<const std::uint64_t*>(&producer()->head),
            reinterpret_cast<const std::uint64_t*>(&producer()->lost),
            reinterpret_cast<std::uint64_t*>(&static_cast<wq_ring_consumer*>(consumer_)->tail)};
}

void FakeRing::post(const std::vector<std::byte>& rec) {
    const std::uint64_t head = producer()->head;
    if (head + rec.size() - tail() > data_size_) {
        throw std::length_error("fake ring full");
    }
    auto* data = static_cast<std::byte*>(base_) + page_;
    std::memcpy(data + (head & (data_size_ - 1)), rec.data(), rec.size()); // wraps into copy 2
    __atomic_store_n(&producer()->head, head + rec.size(), __ATOMIC_RELEASE);
}

void FakeRing::set_lost(std::uint64_t lost) {
    producer()->lost = lost;
}

std::uint64_t FakeRing::head() const noexcept {
    return __atomic_load_n(&producer()->head, __ATOMIC_ACQUIRE);
}

std::uint64_t FakeRing::tail() const noexcept {
    return __atomic_load_n(&static_cast<wq_ring_consumer*>(consumer_)->tail, __ATOMIC_ACQUIRE);
}

void FakeRing::set_tail(std::uint64_t tail) noexcept {
    static_cast<wq_ring_consumer*>(consumer_)->tail = tail;
}

int FakeSys::open(const char* path, int flags) noexcept {
    opened.emplace_back(path);
    open_flags = flags;
    if (open_errno != 0) {
        errno = open_errno;
        return -1;
    }
    return device_fd;
}

int FakeSys::close(int fd) noexcept {
    closed.push_back(fd);
    return 0;
}

int FakeSys::ioctl(int /*fd*/, unsigned long request, std::uintptr_t arg) noexcept {
    IoctlCall call{request, {}, arg};
    std::size_t size = _IOC_SIZE(request);
    if (request == WQ_IOC_SET_FILTER && arg != 0) {
        // NOLINTNEXTLINE(performance-no-int-to-ptr): the seam passes pointers as integers
        const auto* f = reinterpret_cast<const wq_notification_filter*>(arg);
        size = sizeof(*f) + f->nr_filters * sizeof(wq_notification_type_filter);
    }
    if (size != 0 && arg != 0) {
        const auto* p =
            reinterpret_cast<const std::byte*>(arg); // NOLINT(performance-no-int-to-ptr)
        call.arg.assign(p, p + size);
    }
    ioctls.push_back(call);
    if (auto it = ioctl_errno.find(request); it != ioctl_errno.end()) {
        errno = it->second;
        return -1;
    }
    if (request == WQ_IOC_GET_INFO && arg != 0) {
        auto* info = reinterpret_cast<wq_ring_info*>(arg); // NOLINT(performance-no-int-to-ptr)
        info->abi_version = WQ_ABI_VERSION;
        info->data_size = ring.data_size();
        info->consumer_off = 0;
        info->producer_off = ring.page();
        info->producer_len = ring.producer_len();
        info->data_off = ring.page();
        info->features = features;
    }
    return 0;
}

void* FakeSys::mmap(std::size_t len, int prot, int flags, int fd, off_t off) noexcept {
    if (fd != device_fd || (flags & MAP_SHARED) == 0) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    if (off == 0 && len == ring.page() && (prot & PROT_WRITE) != 0) {
        return ring.consumer_base();
    }
    if (static_cast<std::size_t>(off) == ring.page() && len == ring.producer_len() &&
        (prot & PROT_WRITE) == 0) {
        return ring.producer_base();
    }
    errno = EINVAL;
    return MAP_FAILED;
}

int FakeSys::munmap(void* addr, std::size_t /*len*/) noexcept {
    unmapped.push_back(addr);
    return 0;
}

ssize_t FakeSys::read(int /*fd*/, void* buf, std::size_t len) noexcept {
    if (reads.empty()) {
        errno = EAGAIN;
        return -1;
    }
    const std::vector<std::byte> next = reads.front();
    if (next.size() > len) {
        errno = ENOBUFS;
        return -1;
    }
    reads.pop_front();
    std::memcpy(buf, next.data(), next.size());
    return static_cast<ssize_t>(next.size());
}

int FakeSys::poll(pollfd* fds, nfds_t nfds, int timeout_ms) noexcept {
    poll_timeouts.push_back(timeout_ms);
    if (poll_errno != 0) {
        errno = poll_errno;
        return -1;
    }
    int ready = 0;
    for (pollfd& p : std::span<pollfd>(fds, nfds)) {
        p.revents = poll_revents;
        if (ring.head() != ring.tail() || !reads.empty()) {
            p.revents |= POLLIN;
        }
        ready += p.revents != 0 ? 1 : 0;
    }
    return ready;
}

int FakeSys::pipe2(int fds[2], int flags) noexcept {
    pipe_flags = flags;
    if (pipe_errno != 0) {
        errno = pipe_errno;
        return -1;
    }
    fds[0] = pipe_read_fd;
    fds[1] = pipe_write_fd;
    return 0;
}

long FakeSys::keyctl_watch_key(std::int32_t key, int fd, int watch_id) noexcept {
    keyctls.push_back({key, fd, watch_id});
    return 0;
}

const IoctlCall* FakeSys::last_ioctl(unsigned long request) const noexcept {
    // NOLINTNEXTLINE(modernize-loop-convert): backwards
    for (auto it = ioctls.rbegin(); it != ioctls.rend(); ++it) {
        if (it->request == request) {
            return &*it;
        }
    }
    return nullptr;
}

std::size_t FakeSys::ioctl_count(unsigned long request) const noexcept {
    return static_cast<std::size_t>(std::ranges::count_if(
        ioctls, [request](const IoctlCall& call) { return call.request == request; }));
}

} // namespace libtest
