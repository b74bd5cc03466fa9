// SPDX-License-Identifier: GPL-2.0-or-later
// A fake of the system calls libwatchqueue makes (its private Sys seam,
// userlib/src/sys.hpp): a device
// with a ring in memory laid out as the kernel lays it out (a power-of-two
// data area mapped twice back to back), ioctls recorded, read() served from
// a byte queue, poll() answered from the ring's state.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <linux/wq_dev.h>

#include "sys.hpp" // the library's private seam
#include <watchqueue/watchqueue.hpp>

namespace libtest {

// A record as the kernel builds it: header + payload, padded to 8.
std::vector<std::byte> make_record(std::uint32_t type, std::uint32_t subtype,
                                   std::uint32_t watch_id, std::vector<std::byte> payload = {});
std::vector<std::byte> key_record(watchqueue::KeySubtype s, std::int32_t key, std::uint32_t aux,
                                  std::uint32_t watch_id = 0);
std::vector<std::byte> loss_record(std::uint64_t count);
// Filesystem and mount records filled in through the ABI's structs; @flags
// are the WQ_SB_* / WQ_MOUNT_* bits of info.
std::vector<std::byte> sb_record(watchqueue::SuperblockSubtype s, std::uint64_t sb_id,
                                 std::uint32_t flags = 0, std::uint32_t watch_id = 0);
std::vector<std::byte> sb_error_record(watchqueue::SuperblockSubtype s, std::uint64_t sb_id,
                                       std::uint32_t error, std::uint32_t aux, std::uint64_t ino,
                                       std::uint32_t watch_id = 0);
std::vector<std::byte> mount_record(watchqueue::MountSubtype s, std::uint64_t mount,
                                    std::uint64_t parent, std::uint32_t flags = 0,
                                    std::uint32_t watch_id = 0);
// True if visit() passes @rec's event as a RawEvent: a type or subtype the
// library does not decode.
inline bool is_raw(const watchqueue::Record& rec) {
    return watchqueue::visit(
        [](const auto& ev) {
            return std::is_same_v<std::decay_t<decltype(ev)>, watchqueue::RawEvent>;
        },
        rec);
}

// A header with an arbitrary info (length) and @total bytes.
std::vector<std::byte> raw_header(std::uint32_t type, std::uint32_t info, std::size_t total);

// The ring: producer page + data twice, and the consumer page.
class FakeRing {
public:
    explicit FakeRing(std::size_t data_size, std::uint64_t start = 0);
    FakeRing(const FakeRing&) = delete;
    FakeRing& operator=(const FakeRing&) = delete;
    FakeRing(FakeRing&&) = delete;
    FakeRing& operator=(FakeRing&&) = delete;
    ~FakeRing();

    // Appends a record at head and publishes it (release).
    void post(const std::vector<std::byte>& rec);
    void set_lost(std::uint64_t lost);
    [[nodiscard]] std::uint64_t head() const noexcept;
    [[nodiscard]] std::uint64_t tail() const noexcept;
    void set_tail(std::uint64_t tail) noexcept;
    [[nodiscard]] std::size_t data_size() const noexcept { return data_size_; }
    [[nodiscard]] std::size_t producer_len() const noexcept { return producer_len_; }
    [[nodiscard]] std::size_t page() const noexcept { return page_; }
    [[nodiscard]] void* producer_base() const noexcept { return base_; }
    [[nodiscard]] void* consumer_base() const noexcept { return consumer_; }
    [[nodiscard]] watchqueue::RingView view() const noexcept;

private:
    [[nodiscard]] wq_ring_producer* producer() const noexcept;
    std::size_t data_size_;
    std::size_t page_;
    std::size_t producer_len_;
    void* base_ = nullptr;
    void* consumer_ = nullptr;
};

struct IoctlCall {
    unsigned long request = 0;
    std::vector<std::byte> arg; // copied from the pointer (sized by the request)
    std::uintptr_t value = 0;   // the raw argument
};

class FakeSys final : public watchqueue::detail::Sys {
public:
    static constexpr int device_fd = 42;
    static constexpr int pipe_read_fd = 50;
    static constexpr int pipe_write_fd = 51;

    explicit FakeSys(std::size_t data_size = 4096, std::uint64_t start = 0)
        : ring(data_size, start) {}

    FakeRing ring;
    int open_errno = 0;                       // open() fails with this if non-zero
    int pipe_errno = ENOPKG;                  // pipe2() fails with this if non-zero
    std::map<unsigned long, int> ioctl_errno; // per request
    std::vector<IoctlCall> ioctls;
    std::vector<std::string> opened;
    std::vector<int> closed;
    std::vector<void*> unmapped;
    std::deque<std::vector<std::byte>> reads; // what each read() returns
    struct KeyctlCall {
        std::int32_t key;
        int fd;
        int watch_id;
    };
    std::vector<KeyctlCall> keyctls;
    int open_flags = 0;
    int pipe_flags = 0;
    int poll_errno = 0;             // poll() fails with this if non-zero
    short poll_revents = 0;         // added to what poll() reports (POLLERR, ...)
    std::vector<int> poll_timeouts; // the timeout of each poll()
    // what WQ_IOC_GET_INFO reports
    std::uint64_t features = WQ_FEATURE_MMAP | WQ_FEATURE_SYNC | WQ_FEATURE_KEYS;

    int open(const char* path, int flags) noexcept override;
    int close(int fd) noexcept override;
    int ioctl(int fd, unsigned long request, std::uintptr_t arg) noexcept override;
    void* mmap(std::size_t len, int prot, int flags, int fd, off_t off) noexcept override;
    int munmap(void* addr, std::size_t len) noexcept override;
    ssize_t read(int fd, void* buf, std::size_t len) noexcept override;
    int poll(pollfd* fds, nfds_t nfds, int timeout_ms) noexcept override;
    int pipe2(int fds[2], int flags) noexcept override;
    long keyctl_watch_key(std::int32_t key, int fd, int watch_id) noexcept override;

    [[nodiscard]] const IoctlCall* last_ioctl(unsigned long request) const noexcept;
    // How many ioctls of @request were made.
    [[nodiscard]] std::size_t ioctl_count(unsigned long request) const noexcept;
};

// A queue opened with @options whose system calls go to @sys (which must
// outlive it); throws as Queue's constructor does, or reports in @ec.
inline watchqueue::Queue open(FakeSys& sys, const watchqueue::QueueOptions& options = {}) {
    return watchqueue::detail::open_queue(options, sys);
}
inline watchqueue::Queue open(FakeSys& sys, const watchqueue::QueueOptions& options,
                              std::error_code& ec) {
    return watchqueue::detail::open_queue(options, sys, ec);
}

// A recorded ioctl's argument as T; throws (failing the test) if there was
// no such call or its argument is shorter than T, or, with @exact, longer.
template <class T>
T arg_of(const IoctlCall* call, bool exact = false) {
    if (call == nullptr) {
        throw std::runtime_error("no such ioctl call");
    }
    if (call->arg.size() < sizeof(T) || (exact && call->arg.size() != sizeof(T))) {
        throw std::runtime_error("ioctl argument of " + std::to_string(call->arg.size()) +
                                 " bytes, expected " + std::to_string(sizeof(T)));
    }
    T value{};
    std::memcpy(&value, call->arg.data(), sizeof(T));
    return value;
}

} // namespace libtest
