// SPDX-License-Identifier: LGPL-2.1-or-later
// The fsync-then-drain pattern of a database: watch the filesystem of the
// data file, write, fsync(), then look at the queue without blocking.  Every
// write-back error fsync() waited for is in the queue by the time it returns
// (the "Delivery guarantee" of uapi/linux/wq_dev.h), so an error record for
// the filesystem, or a lost record, means the data may not be durable.
//
// Usage: example-fsync-drain FILE (appends a line to FILE).  Exit status 0:
// durable; 1: may not be (or nothing could be checked), with a message.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <unistd.h>

#include <sys/stat.h>

#include <watchqueue/watchqueue.hpp>

namespace wq = watchqueue;

namespace {

// Why the data on filesystem @dev may not be durable; "" if nothing says so.
// Conservative: an error of any file of the filesystem counts.
std::string drain(wq::Queue& queue, dev_t dev, std::error_code& ec) {
    std::string why;
    wq::Batch batch = queue.batch(ec); // the records there now: never blocks
    if (ec) {
        return why;
    }
    while (const auto rec = batch.next(ec)) {
        if (wq::as_loss(*rec)) {
            why = "notifications were lost";
        }
        const auto fs = wq::as_superblock(*rec);
        if (fs && fs->sb_id == dev &&
            (fs->subtype == wq::SuperblockSubtype::writeback_error ||
             fs->subtype == wq::SuperblockSubtype::error)) {
            why = std::string(wq::subtype_name(fs->subtype)) + ": " + std::strerror(fs->error) +
                  " (inode " + std::to_string(fs->ino) + ")";
        }
    }
    if (!ec && queue.ring(ec).lost_total() != 0) {
        why = "notifications were lost"; // a loss not yet followed by a record
    }
    return why;
}

int check(wq::Queue& queue, int fd, const char* path) {
    struct stat st {};
    std::error_code ec;
    if (::fstat(fd, &st) == 0) {
        queue.watch_filesystem(fd, 0, ec); // before the write: nothing is missed
    } else {
        ec.assign(errno, std::system_category());
    }
    if (ec) {
        (void)std::fprintf(stderr, "%s: cannot watch its filesystem: %s\n", path,
                           ec.message().c_str());
        return 1;
    }
    constexpr std::string_view line = "one committed transaction\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        (void)std::fprintf(stderr, "%s: write failed\n", path);
        return 1;
    }
    if (::fsync(fd) != 0) {
        (void)std::fprintf(stderr, "%s: may not be durable: fsync: %s\n", path,
                           std::strerror(errno));
        return 1;
    }
    const std::string why = drain(queue, st.st_dev, ec);
    if (ec || !why.empty()) {
        (void)std::fprintf(stderr, "%s: may not be durable: %s\n", path,
                           ec ? ec.message().c_str() : why.c_str());
        return 1;
    }
    std::printf("%s: durable\n", path);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        (void)std::fprintf(stderr, "usage: example-fsync-drain FILE\n");
        return 1;
    }
    const char* path = argv[1];
    wq::Queue queue;
    try {
        queue = wq::Queue::open({.backend = wq::Backend::device});
    } catch (const wq::error& e) {
        (void)std::fprintf(stderr, "fsync-drain: %s\n", e.what());
        return 1;
    }
    const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        (void)std::fprintf(stderr, "%s: %s\n", path, std::strerror(errno));
        return 1;
    }
    const int rc = check(queue, fd, path);
    ::close(fd);
    return rc;
}
