// SPDX-License-Identifier: GPL-2.0-or-later
// wqmon's contract with scripts: --version, exit statuses, "wqmon:" usage
// errors, the JSON fields of every record type (documented in wqmon.1's
// JSON OUTPUT) and the time formats.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#include <sys/sysmacros.h>

#include "lib_fake.hpp"
#include "options.hpp"
#include "output.hpp"
#include "wq_catch.hpp"
#include "wqmon_helpers.hpp"
#include <nlohmann/json.hpp>

namespace wq = watchqueue;
using Json = nlohmann::json;
using wqmontest::decode;
using wqmontest::parse_captured;

namespace {

// The keys of a JSON object.
std::set<std::string> keys_of(const Json& j) {
    std::set<std::string> keys;
    for (const auto& item : j.items()) {
        keys.insert(item.key());
    }
    return keys;
}

// TZ set for the life of the object, restored after.
class ScopedTz {
public:
    explicit ScopedTz(const char* tz) {
        const char* old = std::getenv("TZ");
        if (old != nullptr) {
            old_ = old;
        }
        ::setenv("TZ", tz, 1);
        ::tzset();
    }
    ScopedTz(const ScopedTz&) = delete;
    ScopedTz& operator=(const ScopedTz&) = delete;
    ScopedTz(ScopedTz&&) = delete;
    ScopedTz& operator=(ScopedTz&&) = delete;
    ~ScopedTz() {
        if (old_) {
            ::setenv("TZ", old_->c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }

private:
    std::optional<std::string> old_;
};

// A file with @text, removed at the end of the test.
class TempFile {
public:
    explicit TempFile(const std::string& text) {
        std::string pattern = "/tmp/wqmon-contract-XXXXXX";
        const int fd = ::mkstemp(pattern.data());
        REQUIRE(fd >= 0);
        REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        ::close(fd);
        path_ = pattern;
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    TempFile(TempFile&&) = delete;
    TempFile& operator=(TempFile&&) = delete;
    ~TempFile() { ::unlink(path_.c_str()); }
    [[nodiscard]] const char* path() const { return path_.c_str(); }

private:
    std::string path_;
};

std::vector<std::byte> usb_record(wq::UsbSubtype s, std::uint32_t error, const std::string& name,
                                  std::uint32_t watch_id) {
    std::vector<std::byte> payload(9);
    std::memcpy(payload.data(), &error, sizeof(error));
    payload[8] = static_cast<std::byte>(name.size());
    for (const char c : name) {
        payload.push_back(static_cast<std::byte>(c));
    }
    return libtest::make_record(WQ_TYPE_USB, static_cast<std::uint32_t>(s), watch_id, payload);
}

std::vector<std::byte> block_record(std::uint64_t dev, std::uint64_t sector,
                                    std::uint32_t watch_id) {
    std::vector<std::byte> payload(16);
    std::memcpy(payload.data(), &dev, 8);
    std::memcpy(payload.data() + 8, &sector, 8);
    return libtest::make_record(WQ_TYPE_BLOCK, WQ_BLOCK_ERROR_CRITICAL_MEDIUM, watch_id, payload);
}

std::vector<std::byte> removal_record(std::optional<std::uint64_t> id, std::uint32_t watch_id) {
    std::vector<std::byte> payload;
    if (id) {
        payload.resize(8);
        std::memcpy(payload.data(), &*id, 8);
    }
    return libtest::make_record(WQ_TYPE_META, WQ_META_REMOVAL, watch_id, payload);
}

} // namespace

TEST_CASE("--version and -V print 'wqmon' and meson's project version, exit 0") {
    for (const char* flag : {"--version", "-V"}) {
        const auto p = parse_captured({flag});
        CHECK_FALSE(p.options);
        CHECK(p.rc == wqmon::exit_status::ok);
        CHECK(p.out == "wqmon " WQ_EXPECTED_VERSION "\n");
        CHECK(p.err.empty());
    }
    CHECK(wqmon::version_line() == "wqmon " WQ_EXPECTED_VERSION);
    // with other options too: scripts probe with it before anything else
    CHECK(parse_captured({"--json", "-V", "@s"}).out == "wqmon " WQ_EXPECTED_VERSION "\n");
}

TEST_CASE("usage errors, CLI11's own included: 'wqmon:' on stderr, exit 2, nothing on stdout") {
    const std::vector<std::vector<std::string>> bad = {
        {"--bogus", "@s"},               // unknown option (CLI11)
        {"-n", "x", "@s"},               // not a number (CLI11)
        {"--timeout", "-1", "@s"},       // fails the check (CLI11)
        {"--fs"},                        // value missing (CLI11)
        {"@s", "--count"},               // value missing at the end (CLI11)
        {},                              // nothing to watch (wqmon)
        {"@nope"},                       // not a key (wqmon)
        {"-s", "usb:plug", "--devices"}, // unknown subtype (wqmon)
    };
    for (const auto& args : bad) {
        const auto p = parse_captured(args);
        INFO("wqmon " << (args.empty() ? "" : args.front()) << " ...: " << p.err);
        CHECK_FALSE(p.options);
        CHECK(p.rc == wqmon::exit_status::usage);
        CHECK(p.rc == 2);
        CHECK(p.out.empty());
        CHECK_THAT(p.err, Catch::StartsWith("wqmon: "));
        CHECK_THAT(p.err, Catch::EndsWith("\nTry 'wqmon --help' for more information.\n"));
        // one line of message, then the hint: no CLI11 "Run with --help"
        CHECK(p.err.find("Run with") == std::string::npos);
    }
    CHECK(parse_captured({"--bogus", "@s"}).err ==
          "wqmon: The following argument was not expected: --bogus\n"
          "Try 'wqmon --help' for more information.\n");
}

TEST_CASE("--help lists every exit status, --version and --iso-time; exit 0") {
    const auto p = parse_captured({"--help"});
    CHECK_FALSE(p.options);
    CHECK(p.rc == 0);
    CHECK(p.err.empty());
    for (const char* text : {"Exit status: 0 ", "124 when --timeout expires before --count",
                             "1 on errors", "2 on usage errors", "-V,--version", "--iso-time"}) {
        CHECK_THAT(p.out, Catch::Contains(text));
    }
}

TEST_CASE("exit statuses: a distinct one when --timeout ends a --count wait") {
    CHECK(wqmon::exit_status::ok == 0);
    CHECK(wqmon::exit_status::failure == 1);
    CHECK(wqmon::exit_status::usage == 2);
    CHECK(wqmon::exit_status::timeout == 124);
    const auto o = parse_captured({"-n", "1", "--timeout", "10", "@s"}).options;
    REQUIRE(o);
    CHECK(wqmon::timeout_exit_status(*o) == 124);
    // without --count the timeout is the planned end
    const auto plain = parse_captured({"--timeout", "10", "@s"}).options;
    REQUIRE(plain);
    CHECK(wqmon::timeout_exit_status(*plain) == 0);
}

TEST_CASE("ISO 8601 times: local time, microseconds, the offset as +hh:mm") {
    constexpr std::uint64_t t = 1767225600123456; // 2026-01-01T00:00:00.123456Z
    {
        const ScopedTz tz("UTC0");
        CHECK(wqmon::iso_time(t) == "2026-01-01T00:00:00.123456+00:00");
        CHECK(wqmon::iso_time(0) == "1970-01-01T00:00:00.000000+00:00");
    }
    {
        const ScopedTz tz("<+0530>-5:30");
        CHECK(wqmon::iso_time(t) == "2026-01-01T05:30:00.123456+05:30");
    }
    {
        const ScopedTz tz("<-03>3");
        CHECK(wqmon::iso_time(t + 5) == "2025-12-31T21:00:00.123461-03:00");
    }
}

TEST_CASE("human times: monotonic by default, --realtime, --iso-time") {
    const ScopedTz tz("UTC0");
    wqmon::Formatter f;
    const auto buf = libtest::key_record(wq::KeySubtype::updated, 5, 0);
    const auto rec = decode(buf);
    const wqmon::Timestamp ts{12000034, 1767225600000001};
    CHECK(f.human(rec, ts) == "KEY   [12.000034] upd      5");
    f.time_style = wqmon::TimeStyle::realtime;
    CHECK(f.human(rec, ts) == "KEY   [1767225600.000001] upd      5");
    f.time_style = wqmon::TimeStyle::iso;
    CHECK(f.human(rec, ts) == "KEY   [2026-01-01T00:00:00.000001+00:00] upd      5");

    int rc = -1;
    const auto o = wqmontest::parse({"--iso-time", "@s"}, rc);
    REQUIRE(o);
    CHECK(o->iso_time);
    CHECK_FALSE(o->realtime);
}

TEST_CASE("both clocks now, read at one moment") {
    timespec before{};
    REQUIRE(::clock_gettime(CLOCK_MONOTONIC, &before) == 0);
    const wqmon::Timestamp ts = wqmon::now();
    timespec after{};
    REQUIRE(::clock_gettime(CLOCK_REALTIME, &after) == 0);
    const auto us = [](const timespec& t) {
        return static_cast<std::uint64_t>(t.tv_sec) * 1000000 +
               static_cast<std::uint64_t>(t.tv_nsec) / 1000;
    };
    CHECK(ts.monotonic_us >= us(before));
    CHECK(ts.realtime_us <= us(after));
    CHECK(ts.realtime_us > 1700000000ULL * 1000000); // not the monotonic clock
}

TEST_CASE("boot_id: journald's form of /proc/sys/kernel/random/boot_id") {
    const TempFile good("0F4E8E1C-7a4b-4d5e-9a2b-1c3d5e7f9a0b\n");
    CHECK(wqmon::read_boot_id(good.path()) == "0f4e8e1c7a4b4d5e9a2b1c3d5e7f9a0b");
    const TempFile short_id("0f4e8e1c-7a4b\n");
    CHECK(wqmon::read_boot_id(short_id.path()).empty());
    const TempFile junk("0f4e8e1c-7a4b-4d5e-9a2b-1c3d5e7f9a0z\n");
    CHECK(wqmon::read_boot_id(junk.path()).empty());
    CHECK(wqmon::read_boot_id("/nonexistent/boot_id").empty());
    if (::access("/proc/sys/kernel/random/boot_id", R_OK) == 0) {
        CHECK(wqmon::read_boot_id().size() == 32);
    }
}

TEST_CASE("JSON: the documented fields of every record type, and no others") {
    wqmon::Formatter f;
    f.boot_id = "0f4e8e1c7a4b4d5e9a2b1c3d5e7f9a0b";
    f.labels = {{0, "@s"}, {1, "/dev/sda"}, {2, "/srv"}, {3, "/mnt"}, {255, "devices"}};
    const wqmon::Timestamp ts{1000001, 1767225600000002};
    const auto json = [&](const std::vector<std::byte>& rec) {
        return Json::parse(f.json(decode(rec), ts));
    };
    const std::set<std::string> common = {
        "type", "watch", "watched", "time_monotonic_us", "time_realtime_us", "boot_id"};
    const auto with = [&](std::set<std::string> more) {
        more.insert(common.begin(), common.end());
        return more;
    };

    const Json key = json(libtest::key_record(wq::KeySubtype::linked, 5, 6));
    CHECK(keys_of(key) == with({"subtype", "key", "aux"}));
    CHECK(key["watched"] == "@s");
    CHECK(key["time_monotonic_us"] == 1000001);
    CHECK(key["time_realtime_us"] == 1767225600000002);
    CHECK(key["boot_id"] == f.boot_id);

    const Json block = json(block_record(makedev(8, 16), 2048, 1));
    CHECK(keys_of(block) == with({"subtype", "dev", "sector"}));
    CHECK(block["dev"] == Json{{"major", 8}, {"minor", 16}});
    CHECK(block["watched"] == "/dev/sda");

    const Json usb = json(usb_record(wq::UsbSubtype::device_reset, EPROTO, "1-1", 255));
    CHECK(keys_of(usb) == with({"subtype", "name", "error", "error_name"}));
    CHECK(usb["error"] == EPROTO);
    CHECK(usb["error_name"] == "EPROTO");
    CHECK(usb["watched"] == "devices");
    const Json usb_ok = json(usb_record(wq::UsbSubtype::device_add, 0, "1-1", 255));
    CHECK(keys_of(usb_ok) == with({"subtype", "name", "error"}));
    CHECK(usb_ok["error"] == 0);

    const std::uint64_t sb = makedev(259, 65536);
    const Json fs_err =
        json(libtest::sb_error_record(wq::SuperblockSubtype::error, sb, EUCLEAN, 0, 12, 2));
    CHECK(keys_of(fs_err) == with({"subtype", "dev", "error", "error_name", "aux", "ino"}));
    CHECK(fs_err["dev"] == Json{{"major", 259}, {"minor", 65536}});
    CHECK(fs_err["error_name"] == "EUCLEAN");
    CHECK(fs_err["watched"] == "/srv");
    const Json quota =
        json(libtest::sb_error_record(wq::SuperblockSubtype::edquot, sb, EDQUOT, 4, 1000, 2));
    CHECK(keys_of(quota) ==
          with({"subtype", "dev", "error", "error_name", "aux", "id", "warning"}));
    const Json ro = json(libtest::sb_record(wq::SuperblockSubtype::readonly, sb, 0, 2));
    CHECK(keys_of(ro) == with({"subtype", "dev", "readonly", "emergency"}));

    const Json mnt = json(libtest::mount_record(wq::MountSubtype::new_mount, 311, 29, 0, 3));
    CHECK(keys_of(mnt) == with({"subtype", "mount_id", "parent_id", "in_subtree", "readonly"}));
    CHECK(mnt["watched"] == "/mnt");
    const Json unmount = json(libtest::mount_record(wq::MountSubtype::unmount, 311, 29, 0, 3));
    CHECK(keys_of(unmount) == with({"subtype", "mount_id", "parent_id", "in_subtree"}));

    // loss: of no watch in particular
    const Json loss = json(libtest::loss_record(17));
    CHECK(keys_of(loss) == std::set<std::string>{"type", "watch", "count", "time_monotonic_us",
                                                 "time_realtime_us", "boot_id"});

    // removal: the object's id where the record has one
    const Json gone = json(removal_record(987654321, 0));
    CHECK(keys_of(gone) == with({"object"}));
    CHECK(gone["object"] == 987654321);
    CHECK(gone["watched"] == "@s");
    const Json disk_gone = json(removal_record(makedev(8, 16), 1));
    CHECK(disk_gone["object"] == makedev(8, 16));
    const Json all_gone = json(removal_record(std::nullopt, 255));
    CHECK(keys_of(all_gone) == common);
    CHECK(all_gone["watched"] == "devices");

    // without a boot id (no /proc): left out
    f.boot_id.clear();
    CHECK_FALSE(json(libtest::loss_record(1)).contains("boot_id"));
}
