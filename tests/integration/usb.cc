// SPDX-License-Identifier: GPL-2.0-or-later
// USB records (WQ_TYPE_USB) on the global device watch, from a virtual bus
// inside the test guest: dummy_hcd (a host controller and a device
// controller wired to each other) and configfs gadgets bound to it.  Runs
// as root in the test guest (no udev: modules are loaded here, usbfs nodes
// come from devtmpfs).
#include <array>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <utility>

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/usb/functionfs.h>
#include <linux/usbdevice_fs.h>

#include "device_helpers.h"
#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;
namespace fs = std::filesystem;

namespace {

const std::string gadget_root = "/sys/kernel/config/usb_gadget";
const std::string usb_devices = "/sys/bus/usb/devices";

struct UsbRecord {
    Header h;
    std::uint32_t error = 0;
    std::uint32_t reserved = 0;
    std::string name;
};

std::string describe(const UsbRecord& r) {
    return "subtype " + std::to_string(r.h.subtype) + " '" + r.name + "' error " +
           std::to_string(r.error);
}

// Decodes and checks the framing: length = offsetof(name) + name_len
// rounded up to 8, zero padding.
UsbRecord decode_usb(const Bytes& rec) {
    UsbRecord u;
    u.h = header_of(rec);
    constexpr std::size_t name_off = offsetof(wq_usb_notification, name);
    static_assert(name_off == 17);
    if (u.h.type != WQ_TYPE_USB || rec.size() < name_off) {
        throw std::runtime_error("not a USB record");
    }
    std::memcpy(&u.error, rec.data() + offsetof(wq_usb_notification, error), 4);
    std::memcpy(&u.reserved, rec.data() + offsetof(wq_usb_notification, reserved), 4);
    const auto len = static_cast<std::size_t>(rec[offsetof(wq_usb_notification, name_len)]);
    if (len > WQ_USB_MAX_NAME_LEN || rec.size() != ((name_off + len + 7) & ~std::size_t{7})) {
        throw std::runtime_error("USB record of " + std::to_string(rec.size()) +
                                 " bytes, name_len " + std::to_string(len));
    }
    u.name.assign(reinterpret_cast<const char*>(rec.data() + name_off), len);
    for (std::size_t i = name_off + len; i < rec.size(); ++i) {
        if (rec[i] != std::byte{0}) {
            throw std::runtime_error("USB record padding not zero");
        }
    }
    return u;
}

// Collects the USB records of @q (ignoring block records) until @done
// says the list is complete or @limit passes.
std::vector<UsbRecord> usb_records(Queue& q,
                                   const std::function<bool(const std::vector<UsbRecord>&)>& done,
                                   std::chrono::milliseconds limit = 20s) {
    std::vector<UsbRecord> got;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        for (const Bytes& rec : collect_read(q)) {
            const Header h = header_of(rec);
            if (h.type == WQ_TYPE_USB) {
                got.push_back(decode_usb(rec));
            } else if (h.type != WQ_TYPE_BLOCK) {
                throw std::runtime_error("unexpected record type " + std::to_string(h.type));
            }
        }
        if (done(got) || std::chrono::steady_clock::now() > deadline) {
            return got;
        }
        poll_events(q.fd(), POLLIN, 100);
    }
}

// Waits for a record of @subtype naming @name; returns the records seen.
std::vector<UsbRecord> wait_usb(Queue& q, unsigned subtype, const std::string& name,
                                std::chrono::milliseconds limit = 20s) {
    return usb_records(
        q,
        [&](const std::vector<UsbRecord>& got) {
            return std::any_of(got.begin(), got.end(), [&](const UsbRecord& r) {
                return r.h.subtype == subtype && r.name == name;
            });
        },
        limit);
}

std::optional<UsbRecord> find(const std::vector<UsbRecord>& recs, unsigned subtype,
                              const std::string& name) {
    for (const UsbRecord& r : recs) {
        if (r.h.subtype == subtype && r.name == name) {
            return r;
        }
    }
    return std::nullopt;
}

std::string all_of(const std::vector<UsbRecord>& recs) {
    std::string s;
    for (const UsbRecord& r : recs) {
        s += describe(r) + "\n";
    }
    return s;
}

std::string usb_hooks() {
    return read_line("/sys/module/watch_queue/parameters/usb_hooks");
}

Queue device_queue() {
    return sized_queue(std::uint64_t{256} * 1024);
}

bool module_loaded(const std::string& name) {
    return fs::exists("/sys/module/" + name);
}

// The bus of dummy_hcd's (high-speed) root hub: "usbN".
std::string dummy_bus() {
    for (const auto& e : fs::directory_iterator("/sys/bus/platform/devices/dummy_hcd.0")) {
        std::string name = e.path().filename();
        if (name.rfind("usb", 0) == 0) {
            return name;
        }
    }
    throw std::runtime_error("dummy_hcd.0 has no root hub");
}

// The device on port 1 of dummy_hcd's root hub ("N-1").
std::string dummy_port1_device() {
    return dummy_bus().substr(3) + "-1";
}

void load_dummy_hcd() {
    run("modprobe dummy_hcd");
    if (!wait_for([] { return fs::exists("/sys/class/udc/dummy_udc.0"); })) {
        throw std::runtime_error("dummy_udc.0 did not appear");
    }
}

void unload_dummy_hcd() {
    // NOLINTNEXTLINE(cert-env33-c): modprobe(8) on purpose, retried while the module is busy
    wait_for([] { return std::system("modprobe -r dummy_hcd 2>/dev/null") == 0; }, 10s);
}

// A configfs gadget with one configuration; unbound and removed when
// destroyed.  With the default function (Loopback, usb_f_ss_lb) the host
// enumerates it fully; no host driver binds to it.
class Gadget {
public:
    explicit Gadget(std::string function = "Loopback.0") : function_(std::move(function)) {
        run("modprobe libcomposite");
        fs::create_directory(dir_);
        write_text(dir_ + "/idVendor", "0x1d6b");
        write_text(dir_ + "/idProduct", "0x0104");
        fs::create_directory(dir_ + "/strings/0x409");
        write_text(dir_ + "/strings/0x409/serialnumber", "wq0001");
        write_text(dir_ + "/strings/0x409/product", "watch_queue test gadget");
        fs::create_directory(dir_ + "/configs/c.1");
        write_text(dir_ + "/configs/c.1/MaxPower", "100");
        fs::create_directory(dir_ + "/functions/" + function_);
    }
    Gadget(const Gadget&) = delete;
    Gadget& operator=(const Gadget&) = delete;
    Gadget(Gadget&&) = delete;
    Gadget& operator=(Gadget&&) = delete;
    ~Gadget() {
        try {
            unbind();
        } catch (...) { // NOLINT(bugprone-empty-catch): best effort
        }
        ::unlink(link().c_str());
        ::rmdir((dir_ + "/configs/c.1").c_str());
        ::rmdir((dir_ + "/functions/" + function_).c_str());
        ::rmdir((dir_ + "/strings/0x409").c_str());
        ::rmdir(dir_.c_str());
    }

    void bind() {
        if (!fs::exists(link())) {
            fs::create_directory_symlink(dir_ + "/functions/" + function_, link());
        }
        write_text(dir_ + "/UDC", "dummy_udc.0");
        bound_ = true;
    }
    void unbind() {
        if (bound_) {
            bound_ = false;
            write_text(dir_ + "/UDC", "\n");
        }
    }

private:
    [[nodiscard]] std::string link() const { return dir_ + "/configs/c.1/" + function_; }

    std::string function_;
    std::string dir_ = gadget_root + "/wq";
    bool bound_ = false;
};

// FunctionFS instance "wq" with full-speed descriptors only: on
// dummy_hcd's high-speed port the gadget offers no configuration, so
// the host cannot enumerate it.
class FullSpeedOnlyFunction {
public:
    FullSpeedOnlyFunction() {
        run("modprobe usb_f_fs");
        fs::create_directories(mnt_);
    }
    FullSpeedOnlyFunction(const FullSpeedOnlyFunction&) = delete;
    FullSpeedOnlyFunction& operator=(const FullSpeedOnlyFunction&) = delete;
    FullSpeedOnlyFunction(FullSpeedOnlyFunction&&) = delete;
    FullSpeedOnlyFunction& operator=(FullSpeedOnlyFunction&&) = delete;
    ~FullSpeedOnlyFunction() {
        ep0_.reset();
        ::umount(mnt_.c_str());
    }

    // After the gadget made the instance: mount it and write the
    // descriptors and strings, which makes the function ready.
    void start() {
        if (::mount("wq", mnt_.c_str(), "functionfs", 0, nullptr) < 0) {
            throw_errno("mount functionfs");
        }
        ep0_ = open_fd(mnt_ + "/ep0", O_RDWR | O_CLOEXEC);
        struct __attribute__((packed)) {
            usb_functionfs_descs_head_v2 head;
            __le32 fs_count;
            usb_interface_descriptor intf;
        } descs{};
        descs.head.magic = FUNCTIONFS_DESCRIPTORS_MAGIC_V2;
        descs.head.length = sizeof(descs);
        descs.head.flags = FUNCTIONFS_HAS_FS_DESC;
        descs.fs_count = 1;
        descs.intf.bLength = USB_DT_INTERFACE_SIZE;
        descs.intf.bDescriptorType = USB_DT_INTERFACE;
        descs.intf.bInterfaceClass = USB_CLASS_VENDOR_SPEC;
        if (::write(ep0_.get(), &descs, sizeof(descs)) != static_cast<ssize_t>(sizeof(descs))) {
            throw_errno("write FunctionFS descriptors");
        }
        usb_functionfs_strings_head strings{};
        strings.magic = FUNCTIONFS_STRINGS_MAGIC;
        strings.length = sizeof(strings);
        if (::write(ep0_.get(), &strings, sizeof(strings)) !=
            static_cast<ssize_t>(sizeof(strings))) {
            throw_errno("write FunctionFS strings");
        }
    }

private:
    std::string mnt_ = "/run/wq-ffs";
    Fd ep0_;
};

} // namespace

TEST_CASE("bus add and remove, root hubs, and attaching to usbcore later", "[usb]") {
    unload_dummy_hcd();
    Queue q = device_queue();
    REQUIRE(watch_devices(q.fd(), 12) == 0);
    const bool usbcore_was_loaded = module_loaded("usbcore");
    INFO("usbcore loaded before the watch: " << usbcore_was_loaded);
    CHECK(usb_hooks().rfind("armed ", 0) == 0);
    // Loads usbcore first if needed: the watch attaches when it is live.
    load_dummy_hcd();
    const std::string bus = dummy_bus();
    CHECK(usb_hooks().rfind("armed usbcore ", 0) == 0);
    auto recs = wait_usb(q, WQ_USB_DEVICE_ADD, bus);
    INFO(all_of(recs));
    const auto bus_add = find(recs, WQ_USB_BUS_ADD, bus);
    REQUIRE(bus_add);
    CHECK(bus_add->h.watch_id() == 12);
    CHECK(bus_add->error == 0);
    CHECK(bus_add->reserved == 0);
    CHECK((bus_add->h.info & WQ_INFO_TYPE_INFO) == 0);
    CHECK(bus_add->h.length() == 24);
    // The root hub is a device too, named like its bus; after the bus.
    REQUIRE(find(recs, WQ_USB_DEVICE_ADD, bus));
    CHECK(recs.front().h.subtype == WQ_USB_BUS_ADD);

    unload_dummy_hcd();
    recs = wait_usb(q, WQ_USB_BUS_REMOVE, bus);
    INFO(all_of(recs));
    REQUIRE(recs.size() == 2);
    CHECK(recs[0].h.subtype == WQ_USB_DEVICE_REMOVE);
    CHECK(recs[0].name == bus);
    CHECK(recs[1].h.subtype == WQ_USB_BUS_REMOVE);
    CHECK(recs[1].name == bus);
}

TEST_CASE("a watch holds usbcore only while it exists", "[usb]") {
    run("modprobe usbcore");
    const auto refcnt = [] {
        return std::stoi(read_line("/sys/module/usbcore/refcnt"));
    };
    const int before = refcnt();
    {
        Queue q = device_queue();
        REQUIRE(watch_devices(q.fd(), 1) == 0);
        CHECK(usb_hooks().rfind("armed usbcore +usb_reset_and_verify_device:0 +_dev_err", 0) == 0);
        // A reference per usbcore function taken.
        CHECK(refcnt() > before);
    }
    CHECK(wait_for([] { return usb_hooks().rfind("disarmed !usbcore ", 0) == 0; }, 5s));
    CHECK(refcnt() == before);
}

TEST_CASE("a gadget bound to the dummy controller: device add and remove", "[usb]") {
    load_dummy_hcd();
    run("modprobe usb_f_ss_lb");
    const std::string name = dummy_port1_device();
    Queue q = device_queue();
    REQUIRE(watch_devices(q.fd(), 3) == 0);
    {
        Gadget g;
        g.bind();
        auto recs = wait_usb(q, WQ_USB_DEVICE_ADD, name);
        INFO(all_of(recs));
        const auto add = find(recs, WQ_USB_DEVICE_ADD, name);
        REQUIRE(add);
        CHECK(add->h.watch_id() == 3);
        CHECK(add->error == 0);
        CHECK(fs::exists(usb_devices + "/" + name));
        g.unbind();
        recs = wait_usb(q, WQ_USB_DEVICE_REMOVE, name);
        INFO(all_of(recs));
        REQUIRE(find(recs, WQ_USB_DEVICE_REMOVE, name));
    }
    unload_dummy_hcd();
}

TEST_CASE("USBDEVFS_RESET gives DEVICE_RESET", "[usb]") {
    load_dummy_hcd();
    run("modprobe usb_f_ss_lb");
    const std::string name = dummy_port1_device();
    Queue q = device_queue();
    REQUIRE(watch_devices(q.fd(), 4) == 0);
    {
        Gadget g;
        g.bind();
        REQUIRE(find(wait_usb(q, WQ_USB_DEVICE_ADD, name), WQ_USB_DEVICE_ADD, name));
        const int busnum = std::stoi(read_line(usb_devices + "/" + name + "/busnum"));
        const int devnum = std::stoi(read_line(usb_devices + "/" + name + "/devnum"));
        char node[64];
        // Large enough for any two ints.
        (void)std::snprintf(node, sizeof(node), "/dev/bus/usb/%03d/%03d", busnum, devnum);
        if (!fs::exists(node)) {
            // devtmpfs normally has it; usbfs's char major is 189.
            fs::create_directories(fs::path(node).parent_path());
            REQUIRE(::mknod(node, S_IFCHR | 0600, makedev(189, (busnum - 1) * 128 + devnum - 1)) ==
                    0);
        }
        {
            const Fd dev = open_fd(node, O_RDWR | O_CLOEXEC);
            REQUIRE(::ioctl(dev.get(), USBDEVFS_RESET, 0) == 0);
        }
        const auto recs = wait_usb(q, WQ_USB_DEVICE_RESET, name);
        INFO(all_of(recs));
        const auto reset = find(recs, WQ_USB_DEVICE_RESET, name);
        REQUIRE(reset);
        CHECK(reset->error == 0);
        CHECK(reset->h.watch_id() == 4);
        // The device survived the reset: no remove or add.
        CHECK(recs.size() == 1);
        // A root hub cannot be reset that way: no record.
        const int root = std::stoi(dummy_bus().substr(3));
        (void)std::snprintf(node, sizeof(node), "/dev/bus/usb/%03d/001", root);
        {
            const Fd hub = open_fd(node, O_RDWR | O_CLOEXEC);
            CHECK(errno_of(::ioctl(hub.get(), USBDEVFS_RESET, 0)) != 0);
        }
        CHECK(usb_records(
                  q, [](const auto&) { return false; }, 500ms)
                  .empty());
    }
    unload_dummy_hcd();
}

TEST_CASE("a device that cannot be enumerated gives DEVICE_ERROR", "[usb]") {
    load_dummy_hcd();
    const std::string name = dummy_port1_device();
    Queue q = device_queue();
    REQUIRE(watch_devices(q.fd(), 5) == 0);
    {
        // Torn down in this order: function (unmounted), then gadget.
        Gadget g("ffs.wq");
        FullSpeedOnlyFunction ffs;
        ffs.start();
        g.bind();
        // The hub driver tries four times (power-cycling the port half
        // way), then gives up: "unable to enumerate USB device".
        const auto recs = wait_usb(q, WQ_USB_DEVICE_ERROR, name, 60s);
        INFO(all_of(recs));
        const auto err = find(recs, WQ_USB_DEVICE_ERROR, name);
        REQUIRE(err);
        CHECK(err->h.watch_id() == 5);
        CHECK(err->error == 0);
        CHECK(!find(recs, WQ_USB_DEVICE_ADD, name));
        CHECK(!fs::exists(usb_devices + "/" + name));
        g.unbind();
    }
    unload_dummy_hcd();
}

TEST_CASE("subtype filters apply to USB records", "[usb]") {
    unload_dummy_hcd();
    Queue q = device_queue();
    const std::array filters{type_filter(WQ_TYPE_USB, {WQ_USB_DEVICE_ADD, WQ_USB_DEVICE_REMOVE})};
    q.set_filter(filters);
    REQUIRE(watch_devices(q.fd(), 6) == 0);
    load_dummy_hcd();
    const std::string bus = dummy_bus();
    unload_dummy_hcd();
    const auto recs = wait_usb(q, WQ_USB_DEVICE_REMOVE, bus);
    INFO(all_of(recs));
    REQUIRE(recs.size() == 2);
    CHECK(recs[0].h.subtype == WQ_USB_DEVICE_ADD);
    CHECK(recs[0].name == bus);
    CHECK(recs[1].h.subtype == WQ_USB_DEVICE_REMOVE);
    CHECK(recs[1].name == bus);
}

TEST_CASE("USB records need the global watch", "[usb]") {
    unload_dummy_hcd();
    // A queue with only a disk watch gets no USB record.
    run("modprobe -r null_blk && modprobe null_blk nr_devices=1");
    REQUIRE(wait_for([] { return fs::exists("/dev/nullb0"); }));
    Queue q = device_queue();
    {
        const Fd disk = open_fd("/dev/nullb0", O_RDONLY | O_CLOEXEC);
        wq_watch_devices req{};
        req.watch_id = 1;
        req.blk_fd = disk.get();
        REQUIRE(::ioctl(q.fd(), WQ_IOC_WATCH_DEVICES, &req) == 0);
    }
    Queue global = device_queue();
    REQUIRE(watch_devices(global.fd(), 1) == 0);
    load_dummy_hcd();
    const std::string bus = dummy_bus();
    REQUIRE(find(wait_usb(global, WQ_USB_DEVICE_ADD, bus), WQ_USB_DEVICE_ADD, bus));
    CHECK(collect_read(q).empty());
    unload_dummy_hcd();
    run("modprobe -r null_blk");
}
