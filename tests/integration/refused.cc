// SPDX-License-Identifier: GPL-2.0-or-later
// write(), splice() and sendfile() on the device give EXDEV.
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

#include <sys/sendfile.h>
#include <sys/uio.h>

#include "it_common.h"
#include "wq_catch.hpp"

using namespace it;

namespace {

struct Pipe {
    Fd rd;
    Fd wr;
};

Pipe make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        throw_errno("pipe2");
    }
    return {Fd(fds[0]), Fd(fds[1])};
}

Fd temp_file() {
    char name[] = "/tmp/wq-refused-XXXXXX";
    const int fd = ::mkostemp(name, O_CLOEXEC);
    if (fd < 0) {
        throw_errno("mkostemp in /tmp");
    }
    ::unlink(name);
    Fd f(fd);
    const char data[64] = {1};
    if (::write(fd, data, sizeof(data)) != static_cast<ssize_t>(sizeof(data))) {
        throw_errno("write temp file");
    }
    ::lseek(fd, 0, SEEK_SET);
    return f;
}

} // namespace

TEST_CASE("write() and writev() give EXDEV", "[refused]") {
    Queue q(O_RDWR | O_CLOEXEC);
    q.set_ring_bytes(page_size());
    const std::array<std::byte, 16> rec{};
    CHECK(errno_of(::write(q.fd(), rec.data(), rec.size())) == EXDEV);
    iovec iov{const_cast<std::byte*>(rec.data()), rec.size()}; // NOLINT: writev takes non-const
    CHECK(errno_of(::writev(q.fd(), &iov, 1)) == EXDEV);
    SECTION("also on an unsized queue") {
        Queue unsized(O_RDWR | O_CLOEXEC);
        CHECK(errno_of(::write(unsized.fd(), rec.data(), rec.size())) == EXDEV);
    }
}

TEST_CASE("splice() out of and into the device gives EXDEV", "[refused]") {
    TestModule tm;
    Queue q(O_RDWR | O_CLOEXEC | O_NONBLOCK);
    q.set_ring_bytes(page_size());
    tm.watch(q.fd(), 0, 1);
    tm.post({.object = 0, .producer = 1, .size = 32});
    const Pipe p = make_pipe();
    CHECK(errno_of(::splice(q.fd(), nullptr, p.wr.get(), nullptr, 4096, SPLICE_F_NONBLOCK)) ==
          EXDEV);
    const char data[16] = {};
    REQUIRE(::write(p.wr.get(), data, sizeof(data)) == 16);
    CHECK(errno_of(::splice(p.rd.get(), nullptr, q.fd(), nullptr, 16, SPLICE_F_NONBLOCK)) == EXDEV);
    // The record is still there for read().
    CHECK(collect_read(q).size() == 1);
}

TEST_CASE("sendfile() into the device gives EXDEV, out of it fails", "[refused]") {
    TestModule tm;
    Queue q(O_RDWR | O_CLOEXEC | O_NONBLOCK);
    q.set_ring_bytes(page_size());
    tm.watch(q.fd(), 0, 1);
    tm.post({.object = 0, .producer = 1, .size = 32});
    const Fd file = temp_file();
    // Out of the device: the VFS itself refuses a non-regular input file
    // (EINVAL) before the device is asked; either way nothing is consumed.
    const int out_err = errno_of(::sendfile(file.get(), q.fd(), nullptr, 4096));
    CHECK((out_err == EXDEV || out_err == EINVAL));
    off_t off = 0;
    CHECK(errno_of(::sendfile(q.fd(), file.get(), &off, 64)) == EXDEV);
    CHECK(collect_read(q).size() == 1);
}
