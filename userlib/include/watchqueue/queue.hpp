// SPDX-License-Identifier: LGPL-2.1-or-later
// A queue: one open of /dev/watch_queue (or, where the module is absent but
// the kernel has notification pipes, one upstream notification pipe), with
// its size, filter, watches and the two ways of consuming it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "api.hpp"
#include "filter.hpp"
#include "records.hpp"
#include "ring.hpp"

namespace watchqueue {
inline namespace v0 {

// Special key ids (<linux/keyctl.h> KEY_SPEC_*), resolved by the kernel in
// the caller's context; keyrings are created on demand.
namespace key_spec {
inline constexpr std::int32_t thread = -1;       // @t
inline constexpr std::int32_t process = -2;      // @p
inline constexpr std::int32_t session = -3;      // @s
inline constexpr std::int32_t user = -4;         // @u
inline constexpr std::int32_t user_session = -5; // @us
inline constexpr std::int32_t group = -6;        // @g
inline constexpr std::int32_t reqkey_auth = -7;  // @a
} // namespace key_spec

enum class Backend {
    automatic, // the device; a notification pipe if the device is missing
    device,    // /dev/watch_queue only
    pipe,      // upstream notification pipe only (key watches, read())
};

inline constexpr const char* device_path = "/dev/watch_queue";
inline constexpr unsigned max_notes = 512;

struct QueueOptions {
    unsigned notes = 0;           // 1..512 notes of 128 bytes; 0: not given
    std::uint64_t ring_bytes = 0; // device only; 0: not given
    Backend backend = Backend::automatic;
    std::string path = device_path;
};

// WQ_FEATURE_* bits of RingInfo::features.
namespace feature {
inline constexpr std::uint64_t mmap = 1U << 0U;
inline constexpr std::uint64_t sync = 1U << 1U;
inline constexpr std::uint64_t keys = 1U << 2U;
inline constexpr std::uint64_t block = 1U << 3U;
inline constexpr std::uint64_t usb = 1U << 4U;
inline constexpr std::uint64_t sb = 1U << 5U;           // watch_filesystem() usable
inline constexpr std::uint64_t sb_fs_errors = 1U << 6U; // SuperblockSubtype::error can be seen
inline constexpr std::uint64_t mount = 1U << 7U;        // watch_mounts() usable
} // namespace feature

// What Queue::wait() saw.
enum class WaitResult : std::uint8_t {
    ready,       // a record is ready
    timeout,     // the timeout passed with none
    interrupted, // a signal handler ran (EINTR): check why, then wait again
};

struct RingInfo {
    unsigned abi_version = 0;
    std::uint64_t data_size = 0;
    std::uint64_t lost = 0;
    std::uint64_t features = 0;
    std::uint64_t consumer_off = 0;
    std::uint64_t producer_off = 0;
    std::uint64_t producer_len = 0;
    std::uint64_t data_off = 0;
};

namespace detail {
struct QueueState;
struct QueueAccess;
} // namespace detail

class WATCHQUEUE_API Queue {
public:
    // A closed queue (to move an open one into).
    Queue() noexcept;
    // Opens and sizes a queue (256 notes unless options say otherwise).
    // Throws watchqueue::error; a missing device says how to load the module.
    explicit Queue(const QueueOptions& options);
    Queue(const QueueOptions& options, std::error_code& ec) noexcept;
    static Queue open(const QueueOptions& options = {}) { return Queue(options); }
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;
    Queue(Queue&& other) noexcept;
    Queue& operator=(Queue&& other) noexcept;
    ~Queue();

    [[nodiscard]] bool is_open() const noexcept;
    // The descriptor to add to the caller's poll/epoll set (POLLIN); -1 if
    // closed.
    [[nodiscard]] int fd() const noexcept;
    // Backend::device or Backend::pipe (Backend::device if closed).
    [[nodiscard]] Backend backend() const noexcept;
    // Unmaps the ring and closes the descriptors; every call but close()
    // and the move assignment then fails with EBADF.
    void close() noexcept;

    void set_filter(const Filter& filter);
    void set_filter(const Filter& filter, std::error_code& ec) noexcept;
    void clear_filter();
    void clear_filter(std::error_code& ec) noexcept;

    // A key or keyring by serial or key_spec; watch_id 0..255.
    void watch_key(std::int32_t key, unsigned watch_id);
    void watch_key(std::int32_t key, unsigned watch_id, std::error_code& ec) noexcept;
    void unwatch_key(std::int32_t key);
    void unwatch_key(std::int32_t key, std::error_code& ec) noexcept;

    // Every block error and USB event (CAP_SYS_ADMIN in the initial user
    // namespace: EPERM otherwise).
    void watch_devices(unsigned watch_id);
    void watch_devices(unsigned watch_id, std::error_code& ec) noexcept;
    void unwatch_devices();
    void unwatch_devices(std::error_code& ec) noexcept;
    // The errors of one disk, given an open descriptor of it (no capability).
    // The watch ends with the disk (a RemovalEvent when it is deleted).
    void watch_block(int blk_fd, unsigned watch_id);
    void watch_block(int blk_fd, unsigned watch_id, std::error_code& ec) noexcept;
    void unwatch_block(int blk_fd);
    void unwatch_block(int blk_fd, std::error_code& ec) noexcept;

    // The filesystem holding an open file or directory (not O_PATH); no
    // capability.  The watch is on the filesystem: @fd may be closed after,
    // and any file on it removes the watch.  EOPNOTSUPP without
    // feature::sb, and always on a notification pipe.  Without
    // CAP_SYS_ADMIN over the filesystem, records about files come only for
    // the caller's own files, quota records only for its own ids (see
    // uapi/linux/wq_dev.h).
    void watch_filesystem(int fd, unsigned watch_id);
    void watch_filesystem(int fd, unsigned watch_id, std::error_code& ec) noexcept;
    void unwatch_filesystem(int fd);
    void unwatch_filesystem(int fd, std::error_code& ec) noexcept;
    // The mounts at or below an open directory, as the caller sees its path
    // now (ENOTDIR for a file); @dir_fd may be closed after, the same
    // directory removes the watch.  EOPNOTSUPP without feature::mount, and
    // always on a notification pipe.
    void watch_mounts(int dir_fd, unsigned watch_id);
    void watch_mounts(int dir_fd, unsigned watch_id, std::error_code& ec) noexcept;
    void unwatch_mounts(int dir_fd);
    void unwatch_mounts(int dir_fd, std::error_code& ec) noexcept;

    [[nodiscard]] RingInfo info();
    [[nodiscard]] RingInfo info(std::error_code& ec) noexcept;

    // The records ready now (possibly none), on either backend; never
    // blocks.  On the device, zero-copy from the mapped ring (mapped on
    // first use).  On a notification pipe, the records one read() returned
    // into the queue's own buffer; those a batch leaves unconsumed (it was
    // committed early) come first in the next batch, and wait() returns at
    // once while there are any (a poll() of fd() does not know of them).
    [[nodiscard]] Batch batch();
    [[nodiscard]] Batch batch(std::error_code& ec) noexcept;
    // The mapped ring (maps it on first use); EOPNOTSUPP on a pipe.
    [[nodiscard]] const RingView& ring();
    [[nodiscard]] const RingView& ring(std::error_code& ec) noexcept;

    // One non-blocking read() into @buffer (at least 128 bytes); the
    // records it returned, none if nothing was ready.  Either backend; on a
    // pipe, do not mix it with batch(), whose unconsumed records it would
    // pass over.
    [[nodiscard]] Records read(std::span<std::byte> buffer);
    [[nodiscard]] Records read(std::span<std::byte> buffer, std::error_code& ec) noexcept;

    // Waits until a record is ready or @timeout passes (negative: forever;
    // zero: only looks), by poll().  Errors: the queue reports one
    // (POLLERR: a corrupt consumer position; EIO) or poll() fails; the
    // throwing overload throws watchqueue::error, the other sets @ec and
    // returns WaitResult::timeout.
    WaitResult wait(std::chrono::milliseconds timeout);
    WaitResult wait(std::chrono::milliseconds timeout, std::error_code& ec) noexcept;

    // Returns once every record posted before the call has been consumed.
    void sync();
    void sync(std::error_code& ec) noexcept;

private:
    friend struct detail::QueueAccess;

    // Everything else, so that the class's layout never changes.
    std::unique_ptr<detail::QueueState> state_;
};

} // namespace v0
} // namespace watchqueue
