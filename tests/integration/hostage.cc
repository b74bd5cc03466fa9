// SPDX-License-Identifier: GPL-2.0-or-later
// No global lock can be held hostage.  A reader whose read() buffer is a
// private mapping of a FUSE file whose server never answers sleeps in the
// copy to user space for as long as it likes.  Meanwhile other threads on
// its queue, and another user on a queue of its own, must still add watches
// of every kind at once, and killing the reader (its FUSE request aborted)
// must free everything: the processes go, the hooks are disarmed.
//
// Every step that the module could make hang runs in a child process and
// reports through a pipe, and the test waits for it with a deadline: on a
// module with the bug the test fails, then unwinds (aborting the FUSE
// connection frees the reader, and everything queued behind it) instead of
// hanging the suite.
#define FUSE_USE_VERSION 35
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <fuse_lowlevel.h>
#include <grp.h>
#include <map>
#include <optional>
#include <poll.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <linux/keyctl.h>

#include "device_helpers.h"
#include "fd.h"
#include "fs_helpers.h"
#include "it_common.h"
#include "wq_catch.hpp"

using namespace it; // NOLINT(google-build-using-namespace): test code
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const std::string fuse_dir = "/tmp/wq-hostage-fuse";
const std::string stuck_file = fuse_dir + "/stuck";
const std::string scratch_dir = "/tmp/wq-hostage-scratch";
constexpr std::size_t map_len = std::size_t{64} * 1024;

// A write whose failure nobody could act on: to a pipe the test reads with
// a deadline, or a child's last words on stderr.  (A plain (void) cast does
// not silence glibc's warn_unused_result under _FORTIFY_SOURCE.)
void write_ignoring_errors(int fd, const void* buf, std::size_t len) {
    [[maybe_unused]] const ssize_t n = ::write(fd, buf, len);
}

// ---- The FUSE server: a root directory holding one file, "stuck", whose
// reads are never answered.

constexpr fuse_ino_t stuck_ino = 2;
int read_notify_fd = -1; // a byte per READ request, to the test

void fill_attr(fuse_ino_t ino, struct stat* st) {
    *st = {};
    st->st_ino = ino;
    if (ino == FUSE_ROOT_ID) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
    } else {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = 1 << 20;
    }
}

void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    if (parent != FUSE_ROOT_ID || std::strcmp(name, "stuck") != 0) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    fuse_entry_param e{};
    e.ino = stuck_ino;
    e.attr_timeout = 3600;
    e.entry_timeout = 3600;
    fill_attr(stuck_ino, &e.attr);
    fuse_reply_entry(req, &e);
}

void fs_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
    if (ino != FUSE_ROOT_ID && ino != stuck_ino) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    struct stat st {};
    fill_attr(ino, &st);
    fuse_reply_attr(req, &st, 3600);
}

void fs_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    if (ino != stuck_ino) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    fi->direct_io = 0; // through the page cache: mmap works
    fi->keep_cache = 0;
    fuse_reply_open(req, fi);
}

// Never answered: the request stays pending until the connection goes.
void fs_read(fuse_req_t /*req*/, fuse_ino_t /*ino*/, size_t /*size*/, off_t /*off*/,
             fuse_file_info* /*fi*/) {
    const char b = 'r';
    write_ignoring_errors(read_notify_fd, &b, 1);
}

void fs_release(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* /*fi*/) {
    fuse_reply_err(req, 0);
}

// The server's process: mounts at fuse_dir, says so on @ready_fd, serves.
[[noreturn]] void run_server(int ready_fd, int read_fd) {
    read_notify_fd = read_fd;
    fuse_lowlevel_ops ops{};
    ops.lookup = fs_lookup;
    ops.getattr = fs_getattr;
    ops.open = fs_open;
    ops.read = fs_read;
    ops.release = fs_release;
    std::array<char, 16> arg0{"wq-hostage-fuse"};
    std::array<char*, 2> argv{arg0.data(), nullptr};
    fuse_args args = FUSE_ARGS_INIT(1, argv.data());
    fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), nullptr);
    if (se == nullptr || fuse_session_mount(se, fuse_dir.c_str()) != 0) {
        ::_exit(2);
    }
    const char b = 'm';
    write_ignoring_errors(ready_fd, &b, 1);
    ::close(ready_fd);
    fuse_session_loop(se);
    ::_exit(0);
}

// ---- Children report through pipes, the test waits with deadlines.

struct Pipe {
    Pipe() {
        std::array<int, 2> fds{};
        if (::pipe2(fds.data(), O_CLOEXEC) < 0) {
            throw_errno("pipe2");
        }
        rd = Fd(fds[0]);
        wr = Fd(fds[1]);
    }
    Fd rd;
    Fd wr;
};

// What a child reports: a step (tag), its errno and how long it took.
struct Msg {
    std::int32_t tag = 0;
    std::int32_t err = 0;
    std::int64_t ms = 0;
};

enum Tag : std::int32_t {
    setup_done = 1,
    read_returned,
    key_watch,
    disk_watch,
    global_watch,
    sb_watch,
    mount_watch,
    second_reader, // ms: its pid
    second_read,
};

const char* tag_name(std::int32_t tag) {
    switch (tag) {
    case key_watch:
        return "key watch";
    case disk_watch:
        return "disk watch";
    case global_watch:
        return "global device watch";
    case sb_watch:
        return "filesystem watch";
    case mount_watch:
        return "mount watch";
    default:
        return "?";
    }
}

void send(int fd, std::int32_t tag, int err, std::int64_t ms = 0) {
    const Msg m{tag, err, ms};
    // One write of a few bytes to a pipe: atomic among the threads.
    write_ignoring_errors(fd, &m, sizeof(m));
}

// The next message, or nullopt once @deadline passes or the writers are gone.
std::optional<Msg> receive(int fd, Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{fd, POLLIN, 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return std::nullopt;
        }
        Msg m;
        if (::read(fd, &m, sizeof(m)) != static_cast<ssize_t>(sizeof(m))) {
            return std::nullopt;
        }
        return m;
    }
}

// One byte on @fd before @deadline.
bool receive_byte(int fd, Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    char b = 0;
    return ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0))) == 1 &&
           ::read(fd, &b, 1) == 1;
}

// A child process, killed (SIGKILL) and reaped with a deadline.
class Child {
public:
    explicit Child(const std::function<void()>& body) : pid_(::fork()) {
        if (pid_ < 0) {
            throw_errno("fork");
        }
        if (pid_ == 0) {
            try {
                body();
            } catch (const std::exception& e) {
                write_ignoring_errors(STDERR_FILENO, e.what(), std::strlen(e.what()));
                write_ignoring_errors(STDERR_FILENO, "\n", 1);
            }
            ::_exit(5);
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    Child(Child&&) = delete;
    Child& operator=(Child&&) = delete;
    ~Child() {
        kill();
        reap(10s);
    }

    void kill() const {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
        }
    }
    // Waits up to @limit for the process to end; true once it has.
    bool reap(std::chrono::milliseconds limit) {
        const auto deadline = Clock::now() + limit;
        while (pid_ > 0) {
            int status = 0;
            const pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_ || (r < 0 && errno == ECHILD)) {
                pid_ = -1;
                break;
            }
            if (Clock::now() > deadline) {
                return false;
            }
            std::this_thread::sleep_for(20ms);
        }
        return true;
    }

private:
    pid_t pid_ = -1;
};

// Becomes uid/gid 65534 with no supplementary groups and no capabilities.
void become_nobody() {
    constexpr uid_t nobody = 65534;
    if (::setgroups(0, nullptr) < 0 || ::setgid(nobody) < 0 || ::setuid(nobody) < 0 ||
        ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || ::geteuid() != nobody) {
        throw_errno("dropping privileges");
    }
}

long new_key(const std::string& desc) {
    const long serial = ::syscall(SYS_add_key, "user", desc.c_str(), "x", 1,
                                  static_cast<long>(KEY_SPEC_PROCESS_KEYRING));
    if (serial < 0) {
        throw_errno("add_key " + desc);
    }
    return serial;
}

int watch_key(int qfd, long serial, int watch_id) {
    wq_watch_key req{};
    req.key = static_cast<std::int32_t>(serial);
    req.watch_id = watch_id;
    return ::ioctl(qfd, WQ_IOC_WATCH_KEY, &req) < 0 ? errno : 0;
}

// Runs each watch in a thread of its own (a hang in one must not hide the
// others) and reports it, timed, on @out; returns once all are done.
void watch_all(int out, const std::vector<std::pair<Tag, std::function<int()>>>& watches) {
    std::vector<std::thread> threads;
    threads.reserve(watches.size());
    for (const auto& [tag, fn] : watches) {
        threads.emplace_back([out, tag = tag, fn = fn] {
            const auto start = Clock::now();
            const int err = fn();
            send(out, tag, err,
                 std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)
                     .count());
        });
    }
    for (auto& t : threads) {
        t.join();
    }
}

// What the watches are of: opened by root, used by either child.
struct Targets {
    std::string disk;
};

// The stuck reader's process (root): a queue with records ready, a thread
// in read() into the FUSE mapping, then, on @go, a thread per watch kind on
// the same queue.  A child of its own reads the same queue into ordinary
// memory on @go2: it must wait for the stuck reader, killably.
[[noreturn]] void run_reader(const Targets& t, int out, int go, int go2) {
    Queue q(O_RDWR | O_CLOEXEC); // blocking reads
    q.set_ring_bytes(65536);
    TestModule tm;
    tm.watch(q.fd(), 0, 1);
    if (tm.post({.object = 0, .producer = 1, .count = 4}).posted != 4) {
        throw std::runtime_error("no records posted");
    }
    const Fd file = open_fd(stuck_file, O_RDONLY | O_CLOEXEC);
    void* map = ::mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE, file.get(), 0);
    if (map == MAP_FAILED) {
        throw_errno("mmap " + stuck_file);
    }
    const long key = new_key("wq-hostage-reader");
    const Fd disk = open_fd(t.disk, O_RDONLY | O_CLOEXEC);
    const Fd dir = open_fd(scratch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const pid_t second = ::fork();
    if (second < 0) {
        throw_errno("fork");
    }
    if (second == 0) {
        char b = 0;
        std::array<char, 4096> buf{};
        if (::read(go2, &b, 1) == 1) {
            const ssize_t n = ::read(q.fd(), buf.data(), buf.size());
            send(out, second_read, n < 0 ? errno : 0, n);
        }
        ::_exit(0);
    }
    send(out, second_reader, 0, second);
    send(out, setup_done, 0);

    // The copy to the mapping faults into FUSE, which never answers.
    std::thread reader([&] {
        const ssize_t n = ::read(q.fd(), map, 4096);
        send(out, read_returned, n < 0 ? errno : 0, n);
    });
    reader.detach();

    char b = 0;
    if (::read(go, &b, 1) != 1) {
        ::_exit(6);
    }
    const int qfd = q.fd();
    watch_all(out, {
                       {key_watch,
                        [&] {
                            return watch_key(qfd, key, 2);
                        }},
                       {disk_watch,
                        [&] {
                            return watch_devices(qfd, 3, disk.get());
                        }},
                       {global_watch,
                        [&] {
                            return watch_devices(qfd, 4);
                        }},
                       {sb_watch,
                        [&] {
                            return watch_sb(qfd, dir.get(), 5);
                        }},
                       {mount_watch,
                        [&] {
                            return watch_mount(qfd, dir.get(), 6);
                        }},
                   });
    for (;;) {
        ::pause(); // until killed
    }
}

// Another user (uid 65534) on an unsized queue of its own: a watch of every
// kind it may add (the global device watch needs CAP_SYS_ADMIN).
[[noreturn]] void run_other_user(const Targets& t, int out) {
    const Fd disk = open_fd(t.disk, O_RDONLY | O_CLOEXEC);
    const Fd dir = open_fd(scratch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    become_nobody();
    const Queue q(O_RDWR | O_CLOEXEC);
    const long key = new_key("wq-hostage-other"); // its own: it may view it
    send(out, setup_done, 0);
    const int qfd = q.fd();
    watch_all(out, {
                       {key_watch,
                        [&] {
                            return watch_key(qfd, key, 1);
                        }},
                       {disk_watch,
                        [&] {
                            return watch_devices(qfd, 2, disk.get());
                        }},
                       {sb_watch,
                        [&] {
                            return watch_sb(qfd, dir.get(), 3);
                        }},
                       {mount_watch,
                        [&] {
                            return watch_mount(qfd, dir.get(), 4);
                        }},
                   });
    ::_exit(0);
}

// The FUSE mount point, detached (with whatever is mounted) when destroyed.
class FuseDir {
public:
    FuseDir() { make_dirs(fuse_dir); }
    FuseDir(const FuseDir&) = delete;
    FuseDir& operator=(const FuseDir&) = delete;
    FuseDir(FuseDir&&) = delete;
    FuseDir& operator=(FuseDir&&) = delete;
    ~FuseDir() { release(); }
    static void release() noexcept {
        ::umount2(fuse_dir.c_str(), MNT_DETACH);
        ::rmdir(fuse_dir.c_str());
    }
};

std::string param(const std::string& name) {
    return read_line("/sys/module/watch_queue/parameters/" + name);
}

// Every source's hooks are disarmed: no watch is left anywhere.
bool all_disarmed() {
    const std::string block = param("block_hooks");
    return param("key_hooks").rfind("disarmed", 0) == 0 && block.rfind("disarmed", 0) == 0 &&
           param("usb_hooks").rfind("disarmed", 0) == 0 &&
           param("sb_hooks").find('+') == std::string::npos;
}

// A reader's read() returned (the stuck one's, or the second one's).
struct Reads {
    bool stuck_returned = false;
    bool second_returned = false;

    // Takes @m if it is about a read; false if it is not.
    bool take(const Msg& m) {
        stuck_returned = stuck_returned || m.tag == read_returned;
        second_returned = second_returned || m.tag == second_read;
        return m.tag == read_returned || m.tag == second_read;
    }
};

// Collects @n watch reports from @fd until @deadline into @got (by tag);
// true if all came.
bool collect(int fd, std::size_t n, Clock::time_point deadline, std::map<std::int32_t, Msg>& got,
             Reads& reads) {
    while (got.size() < n) {
        const auto m = receive(fd, deadline);
        if (!m) {
            return false;
        }
        if (!reads.take(*m)) {
            got[m->tag] = *m;
        }
    }
    return true;
}

// The state letter of process @pid ('Z' once it died, 'X' if gone).
char proc_state(pid_t pid) {
    try {
        const std::string stat = read_line("/proc/" + std::to_string(pid) + "/stat");
        const auto paren = stat.rfind(')');
        return paren == std::string::npos || paren + 2 >= stat.size() ? '?' : stat[paren + 2];
    } catch (...) {
        return 'X';
    }
}

} // namespace

// Whether the kernel has FUSE (built in, or as a module modprobe loads).
static bool have_fuse() {
    // NOLINTNEXTLINE(cert-env33-c): modprobe(8) on purpose; failing is fine, checked below
    (void)std::system("modprobe -q fuse");
    std::ifstream fss("/proc/filesystems");
    std::string line;
    while (std::getline(fss, line)) {
        if (line.ends_with("\tfuse")) {
            return true;
        }
    }
    return false;
}

TEST_CASE("a reader stuck in its copy to user space holds no lock that others need", "[hostage]") {
    // Every stock Debian kernel has FUSE; the debug lane's kernel is built
    // without it (tests/debug-kernel/debug.config), and there the scenario
    // cannot be set up.
    const char* lane = std::getenv("WQ_LANE");
    if (!have_fuse()) {
        REQUIRE((lane != nullptr && std::string(lane) == "debug"));
        SUCCEED("no FUSE in this kernel: the scenario needs a FUSE server");
        return;
    }
    if (!fs::exists("/dev/fuse")) {
        run("mknod -m 0666 /dev/fuse c 10 229");
    }
    REQUIRE(all_disarmed()); // nothing watched yet: the end state is ours
    NullBlk nb("wqnb_hostage");
    const ScratchMount scratch(scratch_dir);
    const FuseDir fuse_mount_point;
    const Targets targets{nb.node()};

    Pipe ready;
    Pipe reads;
    std::optional<Child> server;
    server.emplace([&] {
        ready.rd.reset();
        reads.rd.reset();
        run_server(ready.wr.get(), reads.wr.get());
    });
    ready.wr.reset();
    reads.wr.reset();
    const bool mounted = receive_byte(ready.rd.get(), Clock::now() + 10s);
    struct stat st {};
    const bool served = mounted && ::stat(stuck_file.c_str(), &st) == 0 && S_ISREG(st.st_mode);

    // The stuck reader: until its FUSE read request arrives.
    Pipe rmsgs;
    Pipe go;
    Pipe go2;
    pid_t second = -1;
    std::optional<Child> reader;
    bool reader_ready = false;
    bool stuck = false;
    if (served) {
        reader.emplace([&] {
            rmsgs.rd.reset();
            go.wr.reset();
            go2.wr.reset();
            run_reader(targets, rmsgs.wr.get(), go.rd.get(), go2.rd.get());
        });
        rmsgs.wr.reset();
        go.rd.reset();
        go2.rd.reset();
        const auto deadline = Clock::now() + 10s;
        for (auto m = receive(rmsgs.rd.get(), deadline); m; m = receive(rmsgs.rd.get(), deadline)) {
            if (m->tag == second_reader) {
                second = static_cast<pid_t>(m->ms);
            }
            if (m->tag == setup_done) {
                reader_ready = second > 0;
                break;
            }
        }
        stuck = reader_ready && receive_byte(reads.rd.get(), Clock::now() + 10s);
    }

    // Watches on the stuck reader's queue, then another user's.
    std::map<std::int32_t, Msg> same_queue;
    std::map<std::int32_t, Msg> other_user;
    Reads rd;
    bool second_killed = false;
    char second_state = '?';
    bool same_all = false;
    bool other_all = false;
    Pipe umsgs;
    std::optional<Child> other;
    if (stuck) {
        const char b = 'g';
        REQUIRE(::write(go.wr.get(), &b, 1) == 1);
        same_all = collect(rmsgs.rd.get(), 5, Clock::now() + 10s, same_queue, rd);
        other.emplace([&] {
            umsgs.rd.reset();
            run_other_user(targets, umsgs.wr.get());
        });
        umsgs.wr.reset();
        const auto m = receive(umsgs.rd.get(), Clock::now() + 10s);
        if (m && m->tag == setup_done) {
            other_all = collect(umsgs.rd.get(), 4, Clock::now() + 10s, other_user, rd);
        }
        // A second reader of the queue waits for the stuck one, and dies
        // when killed (a fatal signal ends its wait for the reader lock).
        REQUIRE(::write(go2.wr.get(), &b, 1) == 1);
        std::this_thread::sleep_for(300ms);
        ::kill(second, SIGKILL);
        second_killed = wait_for(
            [&] {
                second_state = proc_state(second);
                return second_state == 'Z' || second_state == 'X';
            },
            5s);
        // Nothing above was helped by the stuck read ending.
        for (auto m = receive(rmsgs.rd.get(), Clock::now()); m;
             m = receive(rmsgs.rd.get(), Clock::now())) {
            rd.take(*m);
        }
    }

    // Kill the reader, abort its FUSE request (the server goes, and with it
    // the connection): everything must end.
    const auto kill_start = Clock::now();
    if (reader) {
        reader->kill();
    }
    server->kill();
    const bool server_gone = server->reap(10s);
    const bool reader_gone = !reader || reader->reap(10s);
    const bool other_gone = !other || other->reap(10s);
    const auto unwound_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - kill_start).count();
    FuseDir::release();
    const bool disarmed = wait_for(all_disarmed, 20s);

    REQUIRE(mounted);
    REQUIRE(served);
    REQUIRE(reader_ready);
    REQUIRE(stuck);
    CHECK_FALSE(rd.stuck_returned);
    CHECK_FALSE(rd.second_returned);
    {
        INFO("the second reader's state after SIGKILL: " << second_state);
        CHECK(second_killed);
    }
    for (const Tag tag : {key_watch, disk_watch, global_watch, sb_watch, mount_watch}) {
        INFO("same queue, " << tag_name(tag));
        const auto it = same_queue.find(tag);
        CHECK(it != same_queue.end()); // else: still waiting after 10 s
        if (it != same_queue.end()) {
            INFO("errno " << it->second.err << ", " << it->second.ms << " ms");
            CHECK(it->second.err == 0);
        }
    }
    CHECK(same_all);
    for (const Tag tag : {key_watch, disk_watch, sb_watch, mount_watch}) {
        INFO("uid 65534, " << tag_name(tag));
        const auto it = other_user.find(tag);
        CHECK(it != other_user.end()); // else: still waiting after 10 s
        if (it != other_user.end()) {
            INFO("errno " << it->second.err << ", " << it->second.ms << " ms");
            CHECK(it->second.err == 0);
            CHECK(it->second.ms < 1000);
        }
    }
    CHECK(other_all);
    INFO("after the kill, everything ended in " << unwound_ms << " ms");
    CHECK(server_gone);
    CHECK(reader_gone);
    CHECK(other_gone);
    INFO("key_hooks " << param("key_hooks") << "; block_hooks " << param("block_hooks")
                      << "; usb_hooks " << param("usb_hooks") << "; sb_hooks "
                      << param("sb_hooks"));
    CHECK(disarmed);
}
