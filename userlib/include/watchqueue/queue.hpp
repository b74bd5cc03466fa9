// SPDX-License-Identifier: LGPL-2.1-or-later
/// @file
/// A queue: one open of /dev/watch_queue (or, where the module is absent but
/// the kernel has notification pipes, one upstream notification pipe), with
/// its size, filter, watches and the ways of consuming it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "api.hpp"
#include "filter.hpp"
#include "records.hpp"
#include "ring.hpp"
#include "watch.hpp"

namespace watchqueue {
inline namespace v0 {

/// Special key ids (`<linux/keyctl.h>` KEY_SPEC_*), for Queue::watch_key():
/// the kernel resolves them in the caller's context and creates keyrings
/// on demand.
namespace key_spec {
inline constexpr std::int32_t thread = -1;       ///< @@t, the thread keyring
inline constexpr std::int32_t process = -2;      ///< @@p, the process keyring
inline constexpr std::int32_t session = -3;      ///< @@s, the session keyring
inline constexpr std::int32_t user = -4;         ///< @@u, the user keyring
inline constexpr std::int32_t user_session = -5; ///< @@us, the user session keyring
inline constexpr std::int32_t group = -6;        ///< @@g, the group keyring
inline constexpr std::int32_t reqkey_auth = -7;  ///< @@a, the request-key authorisation key
} // namespace key_spec

/// What a queue is opened on.
enum class Backend {
    automatic, ///< the device; an upstream notification pipe if the device is missing
    device,    ///< /dev/watch_queue only
    pipe,      ///< an upstream notification pipe only (key watches)
};

/// The device's path.
inline constexpr const char* device_path = "/dev/watch_queue";
/// The most notes (of 128 bytes) a queue may be sized to (WQ_MAX_NOTES).
inline constexpr unsigned max_notes = 512;

/// How to open a queue.  Give at most one of notes and ring_bytes.
struct QueueOptions {
    /// 1..512 notes of 128 bytes (0: 256); the queue then holds at most
    /// notes rounded up to a multiple of 32 records, as upstream's does.
    unsigned notes = 0;
    std::uint64_t ring_bytes = 0;         ///< the ring's size in bytes (device only); 0: not given
    Backend backend = Backend::automatic; ///< what to open
    std::string path = device_path;       ///< the device
};

/// WQ_FEATURE_* bits of RingInfo::features: what the module offers.
namespace feature {
inline constexpr std::uint64_t mmap = 1U << 0U;         ///< the ring can be mapped
inline constexpr std::uint64_t sync = 1U << 1U;         ///< Queue::sync() works
inline constexpr std::uint64_t keys = 1U << 2U;         ///< key watches
inline constexpr std::uint64_t block = 1U << 3U;        ///< block error records
inline constexpr std::uint64_t usb = 1U << 4U;          ///< USB records
inline constexpr std::uint64_t sb = 1U << 5U;           ///< Queue::watch_filesystem() usable
inline constexpr std::uint64_t sb_fs_errors = 1U << 6U; ///< SuperblockSubtype::error can be seen
inline constexpr std::uint64_t mount = 1U << 7U;        ///< Queue::watch_mounts() usable
} // namespace feature

/// What Queue::wait() saw.
enum class WaitResult : std::uint8_t {
    ready,       ///< a record is ready
    timeout,     ///< the timeout passed with none
    interrupted, ///< a signal handler ran (EINTR): check why, then wait again
};

/// The ring's description (WQ_IOC_GET_INFO; see uapi/linux/wq_dev.h).
struct RingInfo {
    unsigned abi_version = 0;       ///< the device ABI's version
    std::uint64_t data_size = 0;    ///< the data area's size in bytes
    std::uint64_t lost = 0;         ///< records lost since the queue was opened
    std::uint64_t features = 0;     ///< feature bits
    std::uint64_t consumer_off = 0; ///< mmap offset of the consumer page
    std::uint64_t producer_off = 0; ///< mmap offset of the producer page and data
    std::uint64_t producer_len = 0; ///< length of that mapping
    std::uint64_t data_off = 0;     ///< offset of the data area in it
};

namespace detail {
struct QueueState;
struct QueueAccess;
} // namespace detail

/// One queue: move-only, closed on destruction.  Calls on one Queue (and
/// its batches) must not overlap, except sync(), which may wait in one
/// thread while another consumes.
///
/// Each call that can fail comes twice: one throws watchqueue::error with
/// the errno and what was attempted, the other takes a `std::error_code&`,
/// never throws and clears it on success.  A closed queue fails every call
/// with EBADF.
class WATCHQUEUE_API Queue {
public:
    /// A closed queue (to move an open one into).
    Queue() noexcept;
    /// Opens and sizes a queue (256 notes unless @p options say otherwise).
    /// Throws watchqueue::error; a missing device says how to load the
    /// module.
    explicit Queue(const QueueOptions& options);
    /// As above; a closed queue and @p ec set on failure.
    Queue(const QueueOptions& options, std::error_code& ec) noexcept;
    /// Queue(options), e.g. `Queue::open({.notes = 64})`.
    static Queue open(const QueueOptions& options = {}) { return Queue(options); }
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;
    /// Takes over @p other's queue; @p other is closed.
    Queue(Queue&& other) noexcept;
    /// Closes this queue, then takes over @p other's.
    Queue& operator=(Queue&& other) noexcept;
    /// Closes the queue.
    ~Queue();

    /// False once closed (or never opened).
    [[nodiscard]] bool is_open() const noexcept;
    /// The descriptor to add to the caller's poll or epoll set (POLLIN); -1
    /// if closed.
    [[nodiscard]] int fd() const noexcept;
    /// Backend::device or Backend::pipe (Backend::device if closed).
    [[nodiscard]] Backend backend() const noexcept;
    /// Unmaps the ring and closes the descriptors; every call but close()
    /// and the move assignment then fails with EBADF.
    void close() noexcept;

    /// Keeps only the records @p filter lets through.
    void set_filter(const Filter& filter);
    /// As above, reporting errors in @p ec.
    void set_filter(const Filter& filter, std::error_code& ec) noexcept;
    /// Keeps every record again.
    void clear_filter();
    /// As above, reporting errors in @p ec.
    void clear_filter(std::error_code& ec) noexcept;

    /// Watches a key or keyring, by serial or key_spec; @p watch_id is
    /// 0..255 (EINVAL otherwise), as for every watch.  Needs View
    /// permission on the key.
    void watch_key(std::int32_t key, unsigned watch_id);
    /// As above, reporting errors in @p ec.
    void watch_key(std::int32_t key, unsigned watch_id, std::error_code& ec) noexcept;
    /// Removes the watch of @p key.
    void unwatch_key(std::int32_t key);
    /// As above, reporting errors in @p ec.
    void unwatch_key(std::int32_t key, std::error_code& ec) noexcept;

    /// Watches every block error and USB event (CAP_SYS_ADMIN in the
    /// initial user namespace: EPERM otherwise).
    void watch_devices(unsigned watch_id);
    /// As above, reporting errors in @p ec.
    void watch_devices(unsigned watch_id, std::error_code& ec) noexcept;
    /// Removes the watch of every device.
    void unwatch_devices();
    /// As above, reporting errors in @p ec.
    void unwatch_devices(std::error_code& ec) noexcept;
    /// Watches the errors of one disk, given an open descriptor of it (no
    /// capability).  The watch ends with the disk (a RemovalEvent when it
    /// is deleted).
    void watch_block(int blk_fd, unsigned watch_id);
    /// As above, reporting errors in @p ec.
    void watch_block(int blk_fd, unsigned watch_id, std::error_code& ec) noexcept;
    /// Removes the watch of the disk @p blk_fd is open on.
    void unwatch_block(int blk_fd);
    /// As above, reporting errors in @p ec.
    void unwatch_block(int blk_fd, std::error_code& ec) noexcept;

    /// Watches the filesystem holding an open file or directory (not
    /// O_PATH); no capability.  The watch is on the filesystem: @p fd may
    /// be closed after, and any file on it removes the watch.  EOPNOTSUPP
    /// without feature::sb, and always on a notification pipe.  Without
    /// CAP_SYS_ADMIN over the filesystem, records about files come only for
    /// the caller's own files, quota records only for its own ids (see
    /// uapi/linux/wq_dev.h).
    void watch_filesystem(int fd, unsigned watch_id);
    /// As above, reporting errors in @p ec.
    void watch_filesystem(int fd, unsigned watch_id, std::error_code& ec) noexcept;
    /// Removes the watch of the filesystem holding @p fd.
    void unwatch_filesystem(int fd);
    /// As above, reporting errors in @p ec.
    void unwatch_filesystem(int fd, std::error_code& ec) noexcept;
    /// Watches the mounts at or below an open directory, as the caller sees
    /// its path now (ENOTDIR for a file); @p dir_fd may be closed after, the
    /// same directory removes the watch.  EOPNOTSUPP without
    /// feature::mount, and always on a notification pipe.
    void watch_mounts(int dir_fd, unsigned watch_id);
    /// As above, reporting errors in @p ec.
    void watch_mounts(int dir_fd, unsigned watch_id, std::error_code& ec) noexcept;
    /// Removes the watch of the mounts at or below @p dir_fd.
    void unwatch_mounts(int dir_fd);
    /// As above, reporting errors in @p ec.
    void unwatch_mounts(int dir_fd, std::error_code& ec) noexcept;

    /// Watches @p target, its records carrying @p id: one call for every
    /// source, the same as the call for that source (watch_key(),
    /// watch_devices(), watch_block(), watch_filesystem(), watch_mounts()),
    /// whose conditions and errors apply.  An integer converts to a
    /// WatchId, which throws watchqueue::error (EINVAL) if it is not 0..255:
    ///
    ///     queue.watch(wq::target::Key{wq::key_spec::session}, 1);
    ///     queue.watch(wq::target::Filesystem{fd}, 2);
    ///
    /// Compiled into the caller (it calls those exported functions), so a
    /// new source adds no symbol here.
    void watch(const Target& target, WatchId id) {
        on(target, [this, id](const auto& t) { add(t, id); });
    }
    /// As above, reporting errors in @p ec.  An integer given as @p id is
    /// converted before the call, and throws if it is out of range: check
    /// one with WatchId::from() to stay free of exceptions.
    void watch(const Target& target, WatchId id, std::error_code& ec) noexcept {
        on(target, [this, id, &ec](const auto& t) { add(t, id, ec); });
    }
    /// Removes the watch of @p target: unwatch_key(), unwatch_devices(),
    /// unwatch_block(), unwatch_filesystem() or unwatch_mounts().
    void unwatch(const Target& target) {
        on(target, [this](const auto& t) { remove(t); });
    }
    /// As above, reporting errors in @p ec.
    void unwatch(const Target& target, std::error_code& ec) noexcept {
        on(target, [this, &ec](const auto& t) { remove(t, ec); });
    }

    /// The ring's description (device only: EOPNOTSUPP on a pipe).
    [[nodiscard]] RingInfo info();
    /// As above, reporting errors in @p ec.
    [[nodiscard]] RingInfo info(std::error_code& ec) noexcept;

    /// The records ready now (possibly none), on either backend; never
    /// blocks.  On the device, zero-copy from the mapped ring (mapped on
    /// first use).  On a notification pipe, the records one read() returned
    /// into the queue's own buffer; those a batch leaves unconsumed (it was
    /// committed early) come first in the next batch, and wait() returns at
    /// once while there are any (a poll() of fd() does not know of them).
    /// The batch must end before the queue is closed.
    [[nodiscard]] Batch batch();
    /// As above, reporting errors in @p ec (then the batch is empty).
    [[nodiscard]] Batch batch(std::error_code& ec) noexcept;
    /// The mapped ring (mapped on first use); EOPNOTSUPP on a pipe.
    [[nodiscard]] const RingView& ring();
    /// As above, reporting errors in @p ec.
    [[nodiscard]] const RingView& ring(std::error_code& ec) noexcept;

    /// One non-blocking read() into @p buffer (at least 128 bytes); the
    /// records it returned, none if nothing was ready.  Either backend; on
    /// a pipe, do not mix it with batch(), whose unconsumed records it
    /// would pass over.
    [[nodiscard]] Records read(std::span<std::byte> buffer);
    /// As above, reporting errors in @p ec.
    [[nodiscard]] Records read(std::span<std::byte> buffer, std::error_code& ec) noexcept;

    /// Waits until a record is ready or @p timeout passes (negative:
    /// forever; zero: only looks), by poll().  Errors: the queue reports
    /// one (POLLERR: a corrupt consumer position; EIO) or poll() fails.
    WaitResult wait(std::chrono::milliseconds timeout);
    /// As above, reporting errors in @p ec (then it returns
    /// WaitResult::timeout).
    WaitResult wait(std::chrono::milliseconds timeout, std::error_code& ec) noexcept;

    /// Returns once every record posted before the call has been consumed
    /// (WQ_IOC_SYNC): for a program whose records another thread consumes.
    /// Device only.
    void sync();
    /// As above, reporting errors in @p ec.
    void sync(std::error_code& ec) noexcept;

private:
    friend struct detail::QueueAccess;

    // Calls @p f with @p target's alternative (std::visit without its
    // bad_variant_access: a Target's alternatives cannot be valueless).
    template <class F>
    static void on(const Target& target, F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (void)((target.index() == I ? (f(*std::get_if<I>(&target)), true) : false) || ...);
        }
        (std::make_index_sequence<std::variant_size_v<Target>>());
    }
    // watch() and unwatch() of each target (a new alternative of Target
    // without them does not compile).
    void add(const target::Key& t, WatchId id) { watch_key(t.serial, id.value()); }
    void add(const target::Devices& /*t*/, WatchId id) { watch_devices(id.value()); }
    void add(const target::Block& t, WatchId id) { watch_block(t.fd, id.value()); }
    void add(const target::Filesystem& t, WatchId id) { watch_filesystem(t.fd, id.value()); }
    void add(const target::Mounts& t, WatchId id) { watch_mounts(t.dir_fd, id.value()); }
    void remove(const target::Key& t) { unwatch_key(t.serial); }
    void remove(const target::Devices& /*t*/) { unwatch_devices(); }
    void remove(const target::Block& t) { unwatch_block(t.fd); }
    void remove(const target::Filesystem& t) { unwatch_filesystem(t.fd); }
    void remove(const target::Mounts& t) { unwatch_mounts(t.dir_fd); }
    void add(const target::Key& t, WatchId id, std::error_code& ec) noexcept {
        watch_key(t.serial, id.value(), ec);
    }
    void add(const target::Devices& /*t*/, WatchId id, std::error_code& ec) noexcept {
        watch_devices(id.value(), ec);
    }
    void add(const target::Block& t, WatchId id, std::error_code& ec) noexcept {
        watch_block(t.fd, id.value(), ec);
    }
    void add(const target::Filesystem& t, WatchId id, std::error_code& ec) noexcept {
        watch_filesystem(t.fd, id.value(), ec);
    }
    void add(const target::Mounts& t, WatchId id, std::error_code& ec) noexcept {
        watch_mounts(t.dir_fd, id.value(), ec);
    }
    void remove(const target::Key& t, std::error_code& ec) noexcept { unwatch_key(t.serial, ec); }
    void remove(const target::Devices& /*t*/, std::error_code& ec) noexcept { unwatch_devices(ec); }
    void remove(const target::Block& t, std::error_code& ec) noexcept { unwatch_block(t.fd, ec); }
    void remove(const target::Filesystem& t, std::error_code& ec) noexcept {
        unwatch_filesystem(t.fd, ec);
    }
    void remove(const target::Mounts& t, std::error_code& ec) noexcept {
        unwatch_mounts(t.dir_fd, ec);
    }

    // Everything else, so that the class's layout never changes.
    std::unique_ptr<detail::QueueState> state_;
};

} // namespace v0
} // namespace watchqueue
