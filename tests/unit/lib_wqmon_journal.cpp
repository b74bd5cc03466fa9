// SPDX-License-Identifier: GPL-2.0-or-later
// wqmon --journal: the fields of each entry (what journalctl -o json shows),
// without a journal.
#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <syslog.h>

#include <sys/sysmacros.h>

#include <linux/wq_dev.h>

#include "journal.hpp"
#include "lib_fake.hpp"
#include "output.hpp"
#include "privileges.hpp"
#include "wq_catch.hpp"
#include "wqmon_helpers.hpp"

namespace wq = watchqueue;
using wqmontest::decode;

namespace {

// "NAME=value" fields as a map; a repeated name fails the test.
std::map<std::string, std::string> by_name(const std::vector<std::string>& fields) {
    std::map<std::string, std::string> m;
    for (const std::string& f : fields) {
        const auto eq = f.find('=');
        REQUIRE(eq != std::string::npos);
        CHECK(m.emplace(f.substr(0, eq), f.substr(eq + 1)).second);
    }
    return m;
}

std::string id_named(std::string_view name) {
    for (const wqmon::MessageKind& k : wqmon::message_kinds()) {
        if (k.name == name) {
            return std::string(k.id);
        }
    }
    FAIL("no message kind " << name);
    return "";
}

} // namespace

TEST_CASE("journal: message ids are distinct journal ids") {
    std::set<std::string_view> ids;
    std::set<std::string_view> names;
    for (const wqmon::MessageKind& k : wqmon::message_kinds()) {
        CHECK(k.id.size() == 32);
        CHECK(std::all_of(k.id.begin(), k.id.end(),
                          [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }));
        CHECK(ids.insert(k.id).second);
        CHECK(names.insert(k.name).second);
    }
    CHECK(ids.size() == wqmon::message_kinds().size());
}

TEST_CASE("journal: a medium error is an error entry with the device's fields") {
    wqmon::Formatter f;
    f.labels[255] = "devices";
    f.enrich.block = [](std::uint64_t dev) -> std::optional<wq::DeviceInfo> {
        if (dev != makedev(8, 16)) {
            return std::nullopt;
        }
        return wq::DeviceInfo{"/dev/sdb", "Linux", "scsi_debug", "S1"};
    };
    std::vector<std::byte> payload(16);
    const std::uint64_t dev = makedev(8, 16);
    const std::uint64_t sector = 4660;
    std::memcpy(payload.data(), &dev, 8);
    std::memcpy(payload.data() + 8, &sector, 8);
    const auto m = by_name(wqmon::journal_fields(
        decode(libtest::make_record(WQ_TYPE_BLOCK, WQ_BLOCK_ERROR_CRITICAL_MEDIUM, 255, payload)),
        f));
    CHECK(m.at("MESSAGE") == "medium error on /dev/sdb (8:16) at sector 4660");
    CHECK(m.at("PRIORITY") == std::to_string(LOG_ERR));
    CHECK(m.at("MESSAGE_ID") == id_named("block-medium"));
    CHECK(m.at("SYSLOG_IDENTIFIER") == "wqmon");
    CHECK(m.at("WQ_TYPE") == "block");
    CHECK(m.at("WQ_SUBTYPE") == "medium");
    CHECK(m.at("WQ_DEV_MAJOR") == "8");
    CHECK(m.at("WQ_DEV_MINOR") == "16");
    CHECK(m.at("WQ_SECTOR") == "4660");
    CHECK(m.at("WQ_DEVNODE") == "/dev/sdb");
    CHECK(m.at("WQ_VENDOR") == "Linux");
    CHECK(m.at("WQ_PRODUCT") == "scsi_debug");
    CHECK(m.at("WQ_SERIAL") == "S1");
    CHECK(m.at("WQ_WATCHED") == "devices");
    CHECK(m.at("WQ_WATCH_ID") == "255");

    // a timeout is a warning, and without udev the node is left out
    f.enrich.block = nullptr;
    const auto t = by_name(wqmon::journal_fields(
        decode(libtest::make_record(WQ_TYPE_BLOCK, WQ_BLOCK_ERROR_TIMEOUT, 255, payload)), f));
    CHECK(t.at("PRIORITY") == std::to_string(LOG_WARNING));
    CHECK(t.at("MESSAGE_ID") == id_named("block-timeout"));
    CHECK(t.at("MESSAGE") == "I/O timeout on 8:16 at sector 4660");
    CHECK_FALSE(t.contains("WQ_DEVNODE"));
}

TEST_CASE("journal: filesystem entries") {
    using SB = wq::SuperblockSubtype;
    wqmon::Formatter f;
    f.labels[0] = "/srv";
    const std::uint64_t dev = makedev(254, 3);
    const auto wb = by_name(wqmon::journal_fields(
        decode(libtest::sb_error_record(SB::writeback_error, dev, EIO, 0, 12)), f));
    CHECK(wb.at("MESSAGE") == "filesystem 254:3 (/srv): write-back error EIO (inode 12)");
    CHECK(wb.at("PRIORITY") == std::to_string(LOG_ERR));
    CHECK(wb.at("MESSAGE_ID") == id_named("fs-writeback-error"));
    CHECK(wb.at("ERRNO") == std::to_string(EIO));
    CHECK(wb.at("WQ_ERRNO_NAME") == "EIO");
    CHECK(wb.at("WQ_INO") == "12");
    CHECK(wb.at("WQ_WATCHED") == "/srv");

    const auto ro = by_name(wqmon::journal_fields(
        decode(libtest::sb_record(SB::readonly, dev, WQ_SB_IS_NOW_RO | WQ_SB_EMERGENCY)), f));
    CHECK(ro.at("MESSAGE_ID") == id_named("fs-read-only"));
    CHECK(ro.at("PRIORITY") == std::to_string(LOG_CRIT));
    CHECK(ro.at("WQ_READONLY") == "1");
    CHECK(ro.at("WQ_EMERGENCY") == "1");
    const auto rw =
        by_name(wqmon::journal_fields(decode(libtest::sb_record(SB::readonly, dev)), f));
    CHECK(rw.at("MESSAGE_ID") == id_named("fs-read-write"));
    CHECK(rw.at("PRIORITY") == std::to_string(LOG_NOTICE));

    const auto quota = by_name(wqmon::journal_fields(
        decode(libtest::sb_error_record(SB::edquot, dev, EDQUOT, 4, 1000)), f));
    CHECK(quota.at("WQ_QUOTA_ID") == "1000");
    CHECK(quota.at("WQ_QUOTA_WARNING") == "block-hard");
    CHECK_FALSE(quota.contains("WQ_INO"));
}

TEST_CASE("journal: keys, USB, loss and gaps") {
    wqmon::Formatter f;
    f.labels[1] = "@s";
    const auto link = by_name(
        wqmon::journal_fields(decode(libtest::key_record(wq::KeySubtype::linked, 100, 200, 1)), f));
    CHECK(link.at("MESSAGE") == "keyring 100: key 200 linked (watching @s)");
    CHECK(link.at("PRIORITY") == std::to_string(LOG_INFO));
    CHECK(link.at("WQ_KEY") == "100");
    CHECK(link.at("WQ_LINKED_KEY") == "200");
    CHECK(link.at("WQ_SUBTYPE") == "link");

    std::vector<std::byte> payload(9);
    const std::string name = "3-1.4";
    payload[8] = static_cast<std::byte>(name.size());
    for (const char c : name) {
        payload.push_back(static_cast<std::byte>(c));
    }
    const auto usb = by_name(wqmon::journal_fields(
        decode(libtest::make_record(WQ_TYPE_USB, WQ_USB_DEVICE_ADD, 255, payload)), f));
    CHECK(usb.at("MESSAGE") == "USB device 3-1.4 added");
    CHECK(usb.at("WQ_USB_BUS") == "3");
    CHECK(usb.at("WQ_USB_PORT") == "1.4");
    CHECK(usb.at("MESSAGE_ID") == id_named("usb-add"));

    const auto loss = by_name(wqmon::journal_fields(decode(libtest::loss_record(7)), f));
    CHECK(loss.at("WQ_LOST") == "7");
    CHECK(loss.at("PRIORITY") == std::to_string(LOG_WARNING));
    CHECK_FALSE(loss.contains("WQ_WATCH_ID"));

    const auto gap = by_name(wqmon::journal_fields(wqmon::Gap{{1000000, 5}, {3500000, 9}}));
    CHECK(gap.at("MESSAGE_ID") == id_named("gap"));
    CHECK(gap.at("WQ_GAP_USEC") == "2500000");
    CHECK(gap.at("MESSAGE").starts_with("no records seen for 2.500000 s"));

    const auto start = by_name(wqmon::journal_start_fields(f));
    CHECK(start.at("MESSAGE") == "watching @s");
    CHECK(start.at("MESSAGE_ID") == id_named("start"));
}

TEST_CASE("journal: usage and the capability wqmon keeps") {
    int rc = -1;
    CHECK_FALSE(wqmontest::parse({"--journal", "--json", "@s"}, rc));
    CHECK(rc == 2);
    const auto o = wqmontest::parse({"--journal", "--wait-device", "--devices"}, rc);
    REQUIRE(o);
    CHECK(o->journal);
    CHECK(o->wait_device);
    CHECK(wqmon::needed_capabilities(*o) == (std::uint64_t{1} << 21)); // CAP_SYS_ADMIN
    const auto fs = wqmontest::parse({"--fs", "/"}, rc);
    REQUIRE(fs);
    CHECK(wqmon::needed_capabilities(*fs) == (std::uint64_t{1} << 21));
    const auto keys = wqmontest::parse({"--mounts", "/", "@u"}, rc);
    REQUIRE(keys);
    CHECK(wqmon::needed_capabilities(*keys) == 0);
    CHECK_FALSE(wqmontest::parse({"--metrics-interval", "0", "@s"}, rc));
    CHECK(rc == 2);
}
