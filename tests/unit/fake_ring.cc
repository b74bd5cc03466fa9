// SPDX-License-Identifier: GPL-2.0-or-later
#include "fake_ring.h"

#include <cstring>
#include <stdexcept>
#include <unistd.h>
#include <wq_test_uapi.h>

#include <sys/mman.h>

#include "error.h"

namespace wqt::fake {

FakeRing::FakeRing(std::size_t data_size, std::uint64_t start)
    : head(start), tail(start), size_(data_size), write_pos_(start) {
    const int fd = ::memfd_create("fake-ring", MFD_CLOEXEC);
    if (fd < 0) {
        throw_errno("memfd_create");
    }
    memfd_.reset(fd);
    if (::ftruncate(fd, static_cast<off_t>(size_)) < 0) {
        throw_errno("ftruncate memfd");
    }
    void* base = ::mmap(nullptr, 2 * size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        throw_errno("mmap reservation");
    }
    reserve_ = Mapping(base, 2 * size_);
    auto* bytes = static_cast<std::byte*>(base);
    for (std::byte* half : {bytes, bytes + size_}) {
        if (::mmap(half, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
            MAP_FAILED) {
            throw_errno("mmap memfd twice");
        }
    }
    data_ = bytes;
}

RingView FakeRing::view() noexcept {
    return RingView{data_, size_, &head, &tail};
}

bool FakeRing::write(std::span<const std::byte> rec) {
    if (write_pos_ + rec.size() - load_acquire(&tail) > size_) {
        return false;
    }
    // One copy through the double mapping, as the kernel's producer does.
    std::memcpy(data_ + (write_pos_ & (size_ - 1)), rec.data(), rec.size());
    write_pos_ += rec.size();
    return true;
}

void FakeRing::publish() noexcept {
    store_release(&head, write_pos_);
}

void FakeRing::push(std::span<const std::byte> rec) {
    if (!write(rec)) {
        throw std::runtime_error("fake ring full");
    }
    publish();
}

std::vector<std::byte> header_only(std::uint32_t type, std::uint32_t subtype, std::uint32_t info,
                                   std::size_t size) {
    std::vector<std::byte> rec(size);
    wq_notification n{};
    n.type = type;
    n.subtype = subtype;
    n.info = info;
    std::memcpy(rec.data(), &n, std::min(size, sizeof(n)));
    return rec;
}

std::vector<std::byte> synthetic(std::uint32_t producer, std::uint32_t seq, std::uint32_t size,
                                 std::uint32_t subtype, std::uint32_t watch_id) {
    auto rec = header_only(WQT_TYPE, subtype, size | (watch_id << WQ_INFO_ID__SHIFT), size);
    wqt_record r{};
    std::memcpy(&r, rec.data(), sizeof(wq_notification));
    r.producer = static_cast<std::uint16_t>(producer);
    r.check = wqt_check(producer, seq, size);
    r.seq = seq;
    std::memcpy(rec.data(), &r, sizeof(r));
    for (std::uint32_t i = sizeof(r); i < size; ++i) {
        rec[i] = std::byte{wqt_fill(seq, i)};
    }
    return rec;
}

std::vector<std::byte> loss(std::uint64_t count) {
    auto rec = header_only(WQ_TYPE_META, WQ_META_LOSS, sizeof(wq_loss_notification),
                           sizeof(wq_loss_notification));
    std::memcpy(rec.data() + offsetof(wq_loss_notification, count), &count, sizeof(count));
    return rec;
}

std::vector<std::byte> removal(std::uint32_t watch_id, std::optional<std::uint64_t> id) {
    const std::size_t size = id ? sizeof(wq_removal_notification) : sizeof(wq_notification);
    auto rec =
        header_only(WQ_TYPE_META, WQ_META_REMOVAL,
                    static_cast<std::uint32_t>(size) | (watch_id << WQ_INFO_ID__SHIFT), size);
    if (id) {
        std::memcpy(rec.data() + offsetof(wq_removal_notification, id), &*id, sizeof(*id));
    }
    return rec;
}

} // namespace wqt::fake
