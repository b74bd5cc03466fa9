// SPDX-License-Identifier: GPL-2.0-or-later
// The test-only module /dev/wq_test: watches of synthetic objects and posts
// of synthetic records (see tests/kmod/wq_test_uapi.h).
#pragma once

#include <cstdint>
#include <string>
#include <wq_test_uapi.h>

#include "fd.h"

namespace wqt {

// The object id (as in removal records) of test object @object.
constexpr std::uint64_t object_id(std::uint32_t object) noexcept {
    return std::uint64_t{object} + 1;
}

// What to post; the defaults post one 16-byte record from process context.
struct PostSpec {
    std::uint32_t object = 0;
    wqt_context context = WQT_CTX_PROCESS;
    std::int32_t cpu = -1;
    std::uint32_t producer = 0;
    std::uint64_t count = 1;
    std::uint32_t size = 16;
    std::uint32_t batch = 1;
    std::uint64_t interval_ns = 0;
    std::uint32_t subtype = 0;
    std::uint64_t first_seq = 0;
};

const char* to_string(wqt_context ctx) noexcept;

class TestModule {
public:
    explicit TestModule(const std::string& path = WQT_DEV_PATH);

    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

    // Queue @qfd watches @object tagged @watch_id (0..255).
    void watch(int qfd, std::uint32_t object, std::uint8_t watch_id);
    // Ends the watch of @object by @qfd (watch_id -1).
    void unwatch(int qfd, std::uint32_t object);
    // As watch/unwatch with any watch_id, returning errno (0 on success).
    int try_watch(int qfd, std::uint32_t object, std::int32_t watch_id) noexcept;
    // @object dies: every watching queue gets a removal record.
    void kill(std::uint32_t object);
    // Posts and returns the kernel's answer (posted, in_context filled in).
    wqt_post post(const PostSpec& spec);

private:
    Fd fd_;
};

} // namespace wqt
