// SPDX-License-Identifier: GPL-2.0-or-later
// wqmon's option parsing, filters and output formatting, without a kernel.
#include <cstring>

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
using wqmontest::parse;

TEST_CASE("key arguments: special ids and serials") {
    CHECK(wqmon::parse_key("@s") == wq::key_spec::session);
    CHECK(wqmon::parse_key("@us") == wq::key_spec::user_session);
    CHECK(wqmon::parse_key("1234") == 1234);
    CHECK(wqmon::parse_key("0x10") == 16);
    CHECK_FALSE(wqmon::parse_key("@x"));
    CHECK_FALSE(wqmon::parse_key("-3"));
    CHECK_FALSE(wqmon::parse_key("12a"));
    CHECK_FALSE(wqmon::parse_key(""));
}

TEST_CASE("options parse, usage errors exit 2") {
    int rc = -1;
    const auto o = parse({"--json", "-n", "3", "--timeout", "1.5", "-f", "pr", "@s", "99"}, rc);
    REQUIRE(o);
    CHECK(o->json);
    CHECK(o->count == 3);
    CHECK(o->timeout == 1.5);
    REQUIRE(o->keys.size() == 2);
    CHECK(o->keys[1].key == 99);
    CHECK_FALSE(parse({"@nope"}, rc));
    CHECK(rc == 2);
    CHECK_FALSE(parse({}, rc)); // nothing to watch
    CHECK(rc == 2);
    CHECK_FALSE(parse({"-f", "q", "@s"}, rc));
    CHECK(rc == 2);
}

TEST_CASE("filters: keyctl letters, types and named subtypes") {
    wqmon::Options o;
    CHECK_FALSE(wqmon::build_filter(o));
    o.key_letters = "pr";
    o.subtypes = {"block:medium,io"};
    o.types = {"usb"};
    const auto f = wqmon::build_filter(o);
    REQUIRE(f);
    REQUIRE(f->entries().size() == 3);
    CHECK(f->entries()[0].type == 1);
    CHECK(f->entries()[0].subtypes.to_ulong() == ((1U << 1U) | (1U << 5U)));
    CHECK(f->entries()[1].type == 2);
    CHECK(f->entries()[1].subtypes.test(6));
    CHECK(f->entries()[1].subtypes.test(10));
    CHECK(f->entries()[1].subtypes.count() == 2);
    CHECK(f->entries()[2].subtypes.all());
    o.subtypes = {"usb:plug"};
    CHECK_THROWS_AS(wqmon::build_filter(o), std::invalid_argument);
}

TEST_CASE("human lines follow udevadm monitor and keyctl watch") {
    wqmon::Formatter f;
    f.labels[0] = "@s";
    const wqmon::Timestamp ts{12000034, 0};
    CHECK(f.human(decode(libtest::key_record(wq::KeySubtype::linked, 5, 6)), ts) ==
          "KEY   [12.000034] link     5 6");
    CHECK(f.human(decode(libtest::key_record(wq::KeySubtype::updated, 5, 0)), ts) ==
          "KEY   [12.000034] upd      5");
    CHECK(f.human(decode(libtest::loss_record(17)), ts) == "LOSS  [12.000034] lost     17 records");
    std::vector<std::byte> id(8);
    const std::uint64_t serial = 5;
    std::memcpy(id.data(), &serial, sizeof(serial));
    CHECK(f.human(decode(libtest::make_record(WQ_TYPE_META, WQ_META_REMOVAL, 0, id)), ts) ==
          "WATCH [12.000034] gone     @s id 5");
}

TEST_CASE("device records are enriched when a lookup is given") {
    wqmon::Formatter f;
    f.enrich.block = [](std::uint64_t dev) -> std::optional<wq::DeviceInfo> {
        if (dev != makedev(8, 0)) {
            return std::nullopt;
        }
        return wq::DeviceInfo{"/dev/sda", "", "QEMU HARDDISK", "QM1"};
    };
    std::vector<std::byte> payload(16);
    const std::uint64_t dev = makedev(8, 0);
    const std::uint64_t sector = 2048;
    std::memcpy(payload.data(), &dev, 8);
    std::memcpy(payload.data() + 8, &sector, 8);
    const auto buf =
        libtest::make_record(WQ_TYPE_BLOCK, WQ_BLOCK_ERROR_CRITICAL_MEDIUM, 0, payload);
    const auto rec = decode(buf);
    CHECK(f.human(rec, {1000000, 0}) ==
          "BLOCK [1.000000] medium   8:0 sector 2048 /dev/sda (QEMU HARDDISK, serial QM1)");
    const Json j = Json::parse(f.json(rec, {1000000, 0}));
    CHECK(j["type"] == "block");
    CHECK(j["dev"] == Json{{"major", 8}, {"minor", 0}});
    CHECK(j["sector"] == 2048);
    CHECK(j["node"] == "/dev/sda");
    CHECK(j["time_monotonic_us"] == 1000000);
}

TEST_CASE("JSON: one object per record, loss first-class, names escaped") {
    wqmon::Formatter f;
    const Json loss = Json::parse(f.json(decode(libtest::loss_record(3)), {5, 7}));
    CHECK(loss["type"] == "loss");
    CHECK(loss["count"] == 3);
    CHECK(loss["time_monotonic_us"] == 5);
    CHECK(loss["time_realtime_us"] == 7);

    std::vector<std::byte> payload(9);
    const std::string name = "a\"\\\n\xff";
    payload[8] = static_cast<std::byte>(name.size());
    for (const char c : name) {
        payload.push_back(static_cast<std::byte>(c));
    }
    const std::string out =
        f.json(decode(libtest::make_record(WQ_TYPE_USB, WQ_USB_DEVICE_ADD, 0, payload)), {});
    CHECK(out.find('\n') == std::string::npos);
    const Json usb = Json::parse(out);
    CHECK(usb["type"] == "usb");
    CHECK(usb["subtype"] == "add");
    CHECK(usb["name"].get<std::string>().substr(0, 4) == "a\"\\\n");

    const Json raw = Json::parse(f.json(decode(libtest::make_record(0x7e57, 3, 2)), {}));
    CHECK(raw["type"] == "raw");
    CHECK(raw["record_type"] == 0x7e57);
    CHECK(raw["watch"] == 2);
}

TEST_CASE("repeatable options take one value each: keys may follow") {
    int rc = -1;
    const auto o = parse({"-s", "key:inv", "--type", "block", "-t", "usb", "@s", "42"}, rc);
    REQUIRE(o);
    CHECK(o->types == std::vector<std::string>{"block", "usb"});
    CHECK(o->subtypes == std::vector<std::string>{"key:inv"});
    REQUIRE(o->keys.size() == 2);
    CHECK(o->keys[0].label == "@s");
}
