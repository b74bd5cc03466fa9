// SPDX-License-Identifier: GPL-2.0-or-later
// The journal sink, through libsystemd's native protocol.
#include <cstdio>
#include <cstring>

#include <sys/uio.h>

#include "journal.hpp"
#include "watches.hpp"
#include <fmt/format.h>
#include <systemd/sd-journal.h>

namespace wqmon {
namespace {

// sd_journal_sendv's result: 0 or -errno.
int send(const std::vector<std::string>& fields) {
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (const std::string& f : fields) {
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): iovec is not const
        iov.push_back({const_cast<char*>(f.data()), f.size()});
    }
    return sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

class JournalSink final : public Sink {
public:
    explicit JournalSink(const Formatter& fmt) : fmt_(fmt) {
        if (const int rc = send(journal_start_fields(fmt_)); rc < 0) {
            throw Fatal{fmt::format("cannot write to the journal: {}", std::strerror(-rc))};
        }
    }

    void record(const watchqueue::Record& rec, Timestamp /*ts*/) override {
        report(send(journal_fields(rec, fmt_)));
    }

    void gap(const Gap& gap) override {
        report(send(journal_fields(gap)));
        report(send(journal_start_fields(fmt_))); // the watches, as they are again
    }

    void flush(std::chrono::steady_clock::time_point /*now*/, bool /*final*/) override {}

private:
    // journald restarting is no reason to stop watching: say so once per
    // run of failures, on stderr (which a service's journal still keeps).
    void report(int rc) {
        if (rc < 0 && !failing_) {
            fmt::print(stderr, "wqmon: journal: cannot send an entry: {}\n", std::strerror(-rc));
        }
        failing_ = rc < 0;
    }

    const Formatter& fmt_;
    bool failing_ = false;
};

} // namespace

std::unique_ptr<Sink> make_journal_sink(const Formatter& fmt) {
    return std::make_unique<JournalSink>(fmt);
}

} // namespace wqmon
