// SPDX-License-Identifier: GPL-2.0-or-later
// Error reporting and argument building of the support library (no device).
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

#include "fd.h"
#include "queue.h"
#include "wq_catch.hpp"

namespace {

int errno_thrown(const std::function<void()>& fn, std::string* what = nullptr) {
    try {
        fn();
    } catch (const std::system_error& e) {
        if (what != nullptr) {
            *what = e.what();
        }
        return e.code().value();
    }
    return 0;
}

} // namespace

TEST_CASE("Fd closes what it owns", "[support]") {
    int raw = -1;
    {
        wqt::Fd fd = wqt::open_fd("/dev/null", O_RDONLY | O_CLOEXEC);
        raw = fd.get();
        CHECK(::fcntl(raw, F_GETFD) >= 0);
        wqt::Fd moved = std::move(fd);
        CHECK_FALSE(fd); // NOLINT(bugprone-use-after-move): checking the moved-from state
        CHECK(moved.get() == raw);
    }
    CHECK(::fcntl(raw, F_GETFD) == -1);
}

TEST_CASE("failures name errno and what was attempted", "[support]") {
    std::string what;
    CHECK(errno_thrown([] { wqt::Queue q(O_RDONLY, "/nonexistent/watch_queue"); }, &what) ==
          ENOENT);
    CHECK_THAT(what, Catch::Contains("open /nonexistent/watch_queue"));

    wqt::Queue not_a_queue(O_RDONLY | O_CLOEXEC, "/dev/null");
    CHECK(errno_thrown([&] { not_a_queue.set_size(4); }, &what) == ENOTTY);
    CHECK_THAT(what, Catch::Contains("WQ_IOC_SET_SIZE 4"));
    CHECK(errno_thrown([&] { (void)not_a_queue.info(); }, &what) == ENOTTY);
    CHECK_THAT(what, Catch::Contains("WQ_IOC_GET_INFO"));
    CHECK_THROWS_AS(not_a_queue.ring(), std::logic_error);
}

TEST_CASE("filters are laid out as struct wq_notification_filter", "[support]") {
    const wq_notification_type_filter f = wqt::type_filter(7, {0, 31, 32, 200, 255}, 0x100, 0xff00);
    CHECK(f.type == 7);
    CHECK(f.info_filter == 0x100);
    CHECK(f.info_mask == 0xff00);
    CHECK(f.subtype_filter[0] == 0x8000'0001U);
    CHECK(f.subtype_filter[1] == 1U);
    CHECK(f.subtype_filter[6] == 1U << 8);
    CHECK(f.subtype_filter[7] == 1U << 31);

    const std::array entries{f, wqt::type_filter(1, {3})};
    const auto blob = wqt::filter_blob(entries);
    REQUIRE(blob.size() * 4 == sizeof(wq_notification_filter) + 2 * sizeof(f));
    CHECK(blob[0] == 2);
    CHECK(blob[1] == 0);
    const auto* filter = reinterpret_cast<const wq_notification_filter*>(blob.data());
    CHECK(filter->filters[1].type == 1);
    CHECK(filter->filters[1].subtype_filter[0] == 8);

    const auto bad = wqt::filter_blob(entries, 17, 5);
    CHECK(bad[0] == 17);
    CHECK(bad[1] == 5);
}
