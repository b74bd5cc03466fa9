// SPDX-License-Identifier: LGPL-2.1-or-later
/// @file
/// What a queue watches (a Target) and the id the watch's records carry (a
/// WatchId), for Queue::watch() and Queue::unwatch().
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <variant>

#include "error.hpp"

namespace watchqueue {
inline namespace v0 {

/// The id a watch's records carry (Record::watch_id()): 0..255, the eight
/// bits of the record header's watch id field.  A WatchId is always in
/// range, so a call taking one cannot fail for the id:
///
///     queue.watch(wq::target::Key{wq::key_spec::session}, 3); // an integer converts
///     constexpr wq::WatchId id{300};    // does not compile
///     queue.watch(target, n);           // throws watchqueue::error (EINVAL) if n > 255
///     if (auto id = wq::WatchId::from(n)) { ... } // checks without throwing
class WatchId {
public:
    /// The largest id.
    static constexpr unsigned max = 255;

    /// Id 0.
    constexpr WatchId() noexcept = default;
    /// Id @p id.  Throws watchqueue::error with EINVAL, naming the value,
    /// if @p id is not 0..max; in a constant expression that does not
    /// compile.  Implicit, so that an integer can be given where a WatchId
    /// is taken.
    template <std::integral T>
    requires(!std::same_as<T, bool>) constexpr WatchId(
        T id) // NOLINT(google-explicit-constructor,hicpp-explicit-conversions)
        : id_(checked(id)) {}

    /// Id @p id, or nullopt if it is not 0..max; never throws.
    template <std::integral T>
    requires(!std::same_as<T, bool>)
        [[nodiscard]] static constexpr std::optional<WatchId> from(T id) noexcept {
        if (!in_range(id)) {
            return std::nullopt;
        }
        return WatchId(id);
    }

    /// The id, 0..max.
    [[nodiscard]] constexpr unsigned value() const noexcept { return id_; }

    /// Equal ids.
    friend constexpr bool operator==(WatchId, WatchId) noexcept = default;

private:
    template <class T>
    static constexpr bool in_range(T id) noexcept {
        if constexpr (std::is_signed_v<T>) {
            return id >= 0 && static_cast<long long>(id) <= static_cast<long long>(max);
        } else {
            return static_cast<unsigned long long>(id) <= max;
        }
    }
    template <class T>
    static constexpr std::uint8_t checked(T id) {
        if (!in_range(id)) {
            out_of_range(std::to_string(id));
        }
        return static_cast<std::uint8_t>(id);
    }
    [[noreturn]] static void out_of_range(const std::string& id) {
        throw error(std::make_error_code(std::errc::invalid_argument),
                    "watch id " + id + " is out of range (0.." + std::to_string(max) + ")");
    }

    std::uint8_t id_ = 0;
};

/// The objects a queue can watch, one struct per event source: the
/// alternatives of Target.
namespace target {

/// A key or keyring (WQ_IOC_WATCH_KEY; Queue::watch_key()): needs View
/// permission on it.
struct Key {
    std::int32_t serial = 0; ///< its serial, or a key_spec id
};

/// Every block error and USB event on the machine (WQ_IOC_WATCH_DEVICES
/// with no disk; Queue::watch_devices()): needs CAP_SYS_ADMIN in the
/// initial user namespace.
struct Devices {};

/// The errors of one disk (WQ_IOC_WATCH_DEVICES; Queue::watch_block()).
struct Block {
    int fd = -1; ///< an open descriptor of the disk or of one of its partitions
};

/// The filesystem holding a file (WQ_IOC_WATCH_SB;
/// Queue::watch_filesystem()).
struct Filesystem {
    int fd = -1; ///< an open file or directory on it (not O_PATH)
};

/// The mounts at or below a directory (WQ_IOC_WATCH_MOUNT;
/// Queue::watch_mounts()).
struct Mounts {
    int dir_fd = -1; ///< an open directory
};

} // namespace target

/// Anything a queue can watch, for Queue::watch() and Queue::unwatch().
/// A new event source adds an alternative; as Queue::watch() and
/// Queue::unwatch() are compiled into the caller, that changes no symbol of
/// the library.  So do not put a Target in an ABI of your own (a function
/// of a shared library taking one): its layout grows with the sources.
using Target =
    std::variant<target::Key, target::Devices, target::Block, target::Filesystem, target::Mounts>;

} // namespace v0
} // namespace watchqueue
