// SPDX-License-Identifier: GPL-2.0-or-later
// wqmon's --metrics-textfile: the counters in Prometheus' text format, and
// the file written atomically, on time, in a real temporary directory.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib_fake.hpp"
#include "metrics.hpp"
#include "output.hpp"
#include "watches.hpp"
#include "wq_catch.hpp"
#include "wqmon_helpers.hpp"

namespace wq = watchqueue;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using wqmontest::decode;

namespace {

// A directory of the test's own, removed with what is in it at the end.
class TempDir {
public:
    TempDir() {
        std::string pattern = "/tmp/wqmon-metrics-XXXXXX";
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        dir_ = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    TempDir(TempDir&&) = delete;
    TempDir& operator=(TempDir&&) = delete;
    ~TempDir() {
        std::error_code ec;
        fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(dir_, ec);
    }
    [[nodiscard]] const std::string& path() const { return dir_; }
    [[nodiscard]] std::string file(const std::string& name) const { return dir_ + "/" + name; }

private:
    std::string dir_;
};

// Standard error into a file while the object lives.
class CaptureStderr {
public:
    CaptureStderr() {
        std::string pattern = "/tmp/wqmon-metrics-err-XXXXXX";
        fd_ = ::mkstemp(pattern.data());
        REQUIRE(fd_ >= 0);
        path_ = pattern;
        (void)std::fflush(stderr);
        saved_ = ::dup(STDERR_FILENO);
        REQUIRE(saved_ >= 0);
        REQUIRE(::dup2(fd_, STDERR_FILENO) == STDERR_FILENO);
    }
    CaptureStderr(const CaptureStderr&) = delete;
    CaptureStderr& operator=(const CaptureStderr&) = delete;
    CaptureStderr(CaptureStderr&&) = delete;
    CaptureStderr& operator=(CaptureStderr&&) = delete;
    ~CaptureStderr() {
        restore();
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    // What was written so far; stderr is restored.
    std::string text() {
        restore();
        std::ifstream in(path_);
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    }

private:
    void restore() {
        if (saved_ >= 0) {
            (void)std::fflush(stderr);
            ::dup2(saved_, STDERR_FILENO);
            ::close(saved_);
            saved_ = -1;
        }
    }
    int fd_ = -1;
    int saved_ = -1;
    std::string path_;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

ino_t inode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_ino;
}

std::set<std::string> names_in(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
        names.insert(e.path().filename());
    }
    return names;
}

std::vector<std::byte> block_record(wq::BlockSubtype s, std::uint64_t dev, std::uint64_t sector) {
    std::vector<std::byte> payload(16);
    std::memcpy(payload.data(), &dev, 8);
    std::memcpy(payload.data() + 8, &sector, 8);
    return libtest::make_record(WQ_TYPE_BLOCK, static_cast<std::uint32_t>(s), 255, payload);
}

std::vector<std::byte> usb_record(wq::UsbSubtype s, const std::string& name) {
    std::vector<std::byte> payload(9);
    payload[8] = static_cast<std::byte>(name.size());
    for (const char c : name) {
        payload.push_back(static_cast<std::byte>(c));
    }
    return libtest::make_record(WQ_TYPE_USB, static_cast<std::uint32_t>(s), 255, payload);
}

std::vector<std::byte> removal_record(std::uint32_t watch_id) {
    return libtest::make_record(WQ_TYPE_META, WQ_META_REMOVAL, watch_id);
}

// One line of the text format: a comment or a sample, nothing else.
// https://prometheus.io/docs/instrumenting/exposition_formats/
const std::regex help_re(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]*)");
const std::regex type_re(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
const std::regex sample_re(R"(([a-zA-Z_:][a-zA-Z0-9_:]*))"
                           R"((\{[a-z_][a-z0-9_]*="(?:[^"\\]|\\[\\"n])*")"
                           R"((?:,[a-z_][a-z0-9_]*="(?:[^"\\]|\\[\\"n])*")*\})?)"
                           R"( (-?[0-9]+(?:\.[0-9]+)?))");

// The samples of @text ("name{labels}" -> value), checking every line on
// the way: HELP, then TYPE, then the family's samples; each family once,
// in sorted order (so each once); counters named *_total.
std::map<std::string, std::string> parse_text(const std::string& text) {
    std::map<std::string, std::string> samples;
    REQUIRE_FALSE(text.empty());
    REQUIRE(text.back() == '\n');
    std::istringstream in(text);
    std::string line;
    std::string family; // of the samples that follow
    std::string help_of;
    std::string previous;
    std::smatch m;
    while (std::getline(in, line)) {
        INFO(line);
        if (std::regex_match(line, m, help_re)) {
            CHECK(previous < m[1].str());
            previous = m[1];
            help_of = m[1];
            family.clear();
        } else if (std::regex_match(line, m, type_re)) {
            CHECK(m[1] == help_of);
            family = m[1];
            if (m[2] == "counter") {
                CHECK(family.ends_with("_total"));
            }
        } else if (std::regex_match(line, m, sample_re)) {
            CHECK(m[1] == family);
            CHECK(samples.emplace(m[1].str() + m[2].str(), m[3]).second);
        } else {
            FAIL("not a line of the text format: " << line);
        }
    }
    return samples;
}

wqmon::Formatter formatter() {
    wqmon::Formatter f;
    f.labels = {{0, "@s"}, {1, "/srv"}, {2, "/mnt"}, {255, "devices"}};
    f.enrich.block = [](std::uint64_t dev) -> std::optional<wq::DeviceInfo> {
        if (dev == makedev(8, 16)) {
            return wq::DeviceInfo{"/dev/sdb", "", "QEMU HARDDISK", ""};
        }
        return std::nullopt;
    };
    return f;
}

} // namespace

TEST_CASE("metrics: written at once, the counters alerts need at 0") {
    const TempDir dir;
    const std::string path = dir.file("watch_queue.prom");
    const wqmon::Formatter f = formatter();
    const std::uint64_t before = wqmon::now().realtime_us / 1000000;
    const wqmon::MetricsFile m(path, 15s, f);
    const std::string text = read_file(path);
    CHECK(text == m.render());
    const auto samples = parse_text(text);
    CHECK(samples.at("watch_queue_records_lost_total") == "0");
    CHECK(samples.at("watch_queue_loss_records_total") == "0");
    CHECK(samples.at("watch_queue_monitor_gaps_total") == "0");
    CHECK(samples.at("watch_queue_monitor_gap_seconds_total") == "0.000000");
    const double start = std::stod(samples.at("watch_queue_monitor_start_time_seconds"));
    CHECK(start >= static_cast<double>(before));
    CHECK(start <= static_cast<double>(before + 60));
    CHECK(samples.size() == 5); // nothing counted yet: no labelled series
    CHECK(names_in(dir.path()) == std::set<std::string>{"watch_queue.prom"});
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
}

TEST_CASE("metrics: counts per type, device, subtype and watch") {
    const TempDir dir;
    wqmon::Formatter f = formatter();
    int lookups = 0;
    const auto lookup = f.enrich.block;
    f.enrich.block = [&](std::uint64_t dev) {
        ++lookups;
        return lookup(dev);
    };
    wqmon::MetricsFile m(dir.file("watch_queue.prom"), 15s, f);
    const auto feed = [&](const std::vector<std::byte>& bytes, std::uint64_t realtime_us) {
        m.record(decode(bytes), {1, realtime_us});
    };
    using BS = wq::BlockSubtype;
    feed(block_record(BS::critical_medium, makedev(8, 16), 4660), 1000000);
    feed(block_record(BS::critical_medium, makedev(8, 16), 4661), 1000001);
    feed(block_record(BS::io, makedev(8, 16), 0), 1000002);
    feed(block_record(BS::timeout, makedev(259, 0), 8), 1500000); // unknown to udev
    feed(usb_record(wq::UsbSubtype::device_add, "1-1"), 2000000);
    feed(usb_record(wq::UsbSubtype::bus_remove, "usb2"), 2000000);
    using SB = wq::SuperblockSubtype;
    const std::uint64_t sda1 = makedev(8, 1);
    feed(libtest::sb_record(SB::readonly, sda1, wq::info_flag::sb_is_now_ro, 1), 3000000);
    feed(libtest::sb_record(SB::readonly, sda1, 0, 1), 3000001);
    feed(libtest::sb_error_record(SB::writeback_error, sda1, EIO, 0, 12, 1), 3000002);
    feed(libtest::sb_error_record(SB::writeback_error, sda1, EIO, 0, 13, 1), 3000003);
    feed(libtest::sb_error_record(SB::error, sda1, EUCLEAN, 0, 0, 1), 3000004);
    feed(libtest::sb_error_record(SB::edquot, sda1, EDQUOT, 4, 1000, 1), 3000005);
    feed(libtest::sb_error_record(SB::enospc, sda1, ENOSPC, 0, 0, 1), 3000006);
    using MS = wq::MountSubtype;
    feed(libtest::mount_record(MS::new_mount, 40, 30, 0, 2), 4000000);
    feed(libtest::mount_record(MS::move_from, 40, 30, 0, 2), 4000001);
    feed(libtest::key_record(wq::KeySubtype::updated, 5, 0, 0), 5000000);
    feed(libtest::key_record(wq::KeySubtype::linked, 5, 6, 0), 5000001);
    feed(libtest::key_record(wq::KeySubtype::setattr, 5, 0, 7), 5000002); // no label: "watch 7"
    feed(libtest::loss_record(17), 6000000);
    feed(libtest::make_record(WQ_TYPE_META, WQ_META_LOSS, 0), 6000001); // no count: 1
    feed(removal_record(0), 7000000);
    feed(libtest::make_record(0x7e57, 3, 2), 8000000);
    m.gap({{10000000, 0}, {12500000, 0}});
    m.gap({{20000000, 0}, {20000001, 0}});

    const auto s = parse_text(m.render());
    CHECK(s.at(R"(watch_queue_block_errors_total{device="8:16",name="sdb",kind="medium"})") == "2");
    CHECK(s.at(R"(watch_queue_block_errors_total{device="8:16",name="sdb",kind="io"})") == "1");
    CHECK(s.at(R"(watch_queue_block_errors_total{device="259:0",name="",kind="timeout"})") == "1");
    CHECK(lookups == 2); // once per disk
    CHECK(s.at(R"(watch_queue_usb_events_total{event="add",port="1-1"})") == "1");
    CHECK(s.at(R"(watch_queue_usb_events_total{event="bus_remove",port="usb2"})") == "1");
    const std::string fsev = R"(watch_queue_filesystem_events_total{device="8:1",watched="/srv",)";
    CHECK(s.at(fsev + R"(event="read_only"})") == "1");
    CHECK(s.at(fsev + R"(event="read_write"})") == "1");
    CHECK(s.at(fsev + R"(event="writeback_error"})") == "2");
    CHECK(s.at(fsev + R"(event="error"})") == "1");
    CHECK(s.at(fsev + R"(event="quota"})") == "1");
    CHECK(s.at(fsev + R"(event="no_space"})") == "1");
    CHECK(s.at(R"(watch_queue_mount_changes_total{watched="/mnt",event="new"})") == "1");
    CHECK(s.at(R"(watch_queue_mount_changes_total{watched="/mnt",event="move_from"})") == "1");
    CHECK(s.at(R"(watch_queue_key_events_total{watched="@s",event="updated"})") == "1");
    CHECK(s.at(R"(watch_queue_key_events_total{watched="@s",event="linked"})") == "1");
    CHECK(s.at(R"(watch_queue_key_events_total{watched="watch 7",event="setattr"})") == "1");
    CHECK(s.at("watch_queue_records_lost_total") == "18");
    CHECK(s.at("watch_queue_loss_records_total") == "2");
    CHECK(s.at(R"(watch_queue_watches_removed_total{watched="@s"})") == "1");
    CHECK(s.at("watch_queue_monitor_gaps_total") == "2");
    CHECK(s.at("watch_queue_monitor_gap_seconds_total") == "2.500001");
    const std::map<std::string, std::string> records = {
        {"block", "4"}, {"usb", "2"},  {"fs", "7"},      {"mount", "2"},
        {"key", "3"},   {"loss", "2"}, {"removal", "1"}, {"raw", "1"}};
    const std::map<std::string, std::string> last = {
        {"block", "1.500000"}, {"usb", "2.000000"},  {"fs", "3.000006"},      {"mount", "4.000001"},
        {"key", "5.000002"},   {"loss", "6.000001"}, {"removal", "7.000000"}, {"raw", "8.000000"}};
    for (const auto& [type, n] : records) {
        INFO(type);
        const std::string labels = R"({type=")" + type + R"("})";
        CHECK(s.at("watch_queue_records_total" + labels) == n);
        CHECK(s.at("watch_queue_last_event_timestamp_seconds" + labels) == last.at(type));
    }
    // nothing else
    CHECK(s.size() == 5 + 3 + 2 + 6 + 2 + 3 + 1 + 8 + 8);
}

TEST_CASE("metrics: label values escaped, invalid UTF-8 replaced") {
    const TempDir dir;
    wqmon::Formatter f = formatter();
    f.labels[3] = "/a \"b\" \\c\nd";
    wqmon::MetricsFile m(dir.file("watch_queue.prom"), 15s, f);
    m.record(decode(libtest::mount_record(wq::MountSubtype::unmount, 40, 30, 0, 3)), {});
    m.record(decode(usb_record(wq::UsbSubtype::device_error, "1-\xff\xc3")), {});
    m.record(decode(usb_record(wq::UsbSubtype::device_error, "1-\xc3\xa9")), {});
    const std::string text = m.render();
    CHECK_THAT(text, Catch::Contains(R"(watch_queue_mount_changes_total{watched="/a \"b\" \\c\nd",)"
                                     R"(event="unmount"} 1)"
                                     "\n"));
    CHECK_THAT(text, Catch::Contains("watch_queue_usb_events_total{event=\"error\",port=\"1-"
                                     "\xef\xbf\xbd\xef\xbf\xbd\"} 1\n"));
    CHECK_THAT(text, Catch::Contains("port=\"1-\xc3\xa9\"} 1\n"));
    parse_text(text);
}

TEST_CASE("metrics: rewritten once per interval, and on the final flush") {
    const TempDir dir;
    const std::string path = dir.file("watch_queue.prom");
    const wqmon::Formatter f = formatter();
    const auto t0 = Clock::now();
    wqmon::MetricsFile m(path, 2s, f);
    const auto t1 = Clock::now();
    REQUIRE(m.next_flush());
    CHECK(*m.next_flush() >= t0 + 2s);
    CHECK(*m.next_flush() <= t1 + 2s);
    const std::string first = read_file(path);
    const ino_t first_ino = inode_of(path);

    m.record(decode(libtest::key_record(wq::KeySubtype::updated, 5, 0)), {1, 2});
    m.flush(t0 + 1999ms, false); // before the interval: nothing written
    CHECK(read_file(path) == first);
    CHECK(inode_of(path) == first_ino);
    CHECK(*m.next_flush() <= t1 + 2s);

    m.flush(t1 + 2s, false); // the interval is over
    const std::string second = read_file(path);
    CHECK(second == m.render());
    CHECK(second != first);
    const ino_t second_ino = inode_of(path);
    CHECK(second_ino != first_ino); // a new file, renamed over the old one
    CHECK(*m.next_flush() == t1 + 4s);

    m.flush(t1 + 4s, false); // rewritten every interval, even unchanged
    CHECK(inode_of(path) != second_ino);
    CHECK(read_file(path) == second);

    m.record(decode(libtest::key_record(wq::KeySubtype::revoked, 5, 0)), {1, 3});
    m.flush(t1 + 4s + 1ms, true); // final: written whatever the time
    CHECK(read_file(path) == m.render());
    CHECK_THAT(read_file(path), Catch::Contains(R"(event="revoked"} 1)"));
    CHECK(names_in(dir.path()) == std::set<std::string>{"watch_queue.prom"});
}

TEST_CASE("metrics: mode 0644 whatever the umask") {
    const TempDir dir;
    const std::string path = dir.file("watch_queue.prom");
    const wqmon::Formatter f = formatter();
    const mode_t old = ::umask(077);
    wqmon::MetricsFile m(path, 1s, f);
    m.flush(Clock::now() + 1s, true);
    ::umask(old);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
}

TEST_CASE("metrics: a directory that cannot be written fails at once, naming the path") {
    const TempDir dir;
    const wqmon::Formatter f = formatter();
    const std::string missing = dir.file("missing/watch_queue.prom");
    try {
        const wqmon::MetricsFile m(missing, 15s, f);
        FAIL("no Fatal for " << missing);
    } catch (const wqmon::Fatal& e) {
        CHECK(e.message == "metrics: cannot write " + missing + ": " + std::strerror(ENOENT));
    }

    if (::geteuid() == 0) {
        return; // root writes into a read-only directory
    }
    const std::string ro = dir.file("ro");
    REQUIRE(::mkdir(ro.c_str(), 0555) == 0);
    try {
        const wqmon::MetricsFile m(ro + "/watch_queue.prom", 15s, f);
        FAIL("no Fatal in a read-only directory");
    } catch (const wqmon::Fatal& e) {
        CHECK(e.message ==
              "metrics: cannot write " + ro + "/watch_queue.prom: " + std::strerror(EACCES));
    }
    CHECK(names_in(ro).empty());
}

TEST_CASE("metrics: a failed write is reported once, never fatal, and retried") {
    const TempDir dir;
    const std::string sub = dir.file("textfile");
    REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
    const std::string path = sub + "/watch_queue.prom";
    const wqmon::Formatter f = formatter();
    const auto t1 = Clock::now();
    wqmon::MetricsFile m(path, 1s, f);
    // the directory goes away under wqmon
    REQUIRE(fs::remove_all(sub) == 2);
    std::string err;
    {
        CaptureStderr capture;
        CHECK_NOTHROW(m.flush(t1 + 2s, false));
        CHECK_NOTHROW(m.flush(t1 + 4s, false));
        CHECK_NOTHROW(m.flush(t1 + 5s, true));
        err = capture.text();
    }
    CHECK(err == "wqmon: metrics: cannot write " + path + ": " + std::strerror(ENOENT) + "\n");
    CHECK(*m.next_flush() == t1 + 6s);
    // back: written at the next interval, reported again if it fails again
    REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
    m.record(decode(libtest::loss_record(3)), {});
    m.flush(t1 + 6s, false);
    CHECK(read_file(path) == m.render());
    CHECK(names_in(sub) == std::set<std::string>{"watch_queue.prom"});
    REQUIRE(fs::remove_all(sub) == 2);
    {
        CaptureStderr capture;
        m.flush(t1 + 7s, false);
        err = capture.text();
    }
    CHECK_THAT(err, Catch::StartsWith("wqmon: metrics: cannot write "));
}

TEST_CASE("metrics: the temporary file is removed when the rename fails") {
    const TempDir dir;
    const std::string path = dir.file("watch_queue.prom");
    const wqmon::Formatter f = formatter();
    const auto t1 = Clock::now();
    wqmon::MetricsFile m(path, 1s, f);
    // a directory in the file's place: the rename fails
    REQUIRE(::unlink(path.c_str()) == 0);
    REQUIRE(::mkdir(path.c_str(), 0755) == 0);
    std::string err;
    {
        CaptureStderr capture;
        m.flush(t1 + 1s, true);
        err = capture.text();
    }
    CHECK(err == "wqmon: metrics: cannot write " + path + ": " + std::strerror(EISDIR) + "\n");
    CHECK(names_in(dir.path()) == std::set<std::string>{"watch_queue.prom"});
}
