// SPDX-License-Identifier: GPL-2.0-or-later
// "tap-cases": a Catch2 reporter (v2 or v3) that prints TAP with one line
// per test case, "ok N - name" or "not ok N - name", and the plan "1..N"
// when the run ends, so that a run that dies early has no plan. Failed
// assertions and warnings (WARN, such as "SKIPPED: ...") are TAP
// diagnostics ("# ..."), with the file and line, and so is each test
// case's time (as --durations gave). Catch2's own TAP reporter
// prints a line per assertion, which counts assertions, not test cases.
#include <cstddef>
#include <iomanip>
#include <sstream>
#include <string>

// v2's single header declares the reporter interfaces only when asked.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include "wq_catch.hpp"
#ifdef WQ_CATCH2_V3
#include <catch2/reporters/catch_reporter_registrars.hpp>
#include <catch2/reporters/catch_reporter_streaming_base.hpp>
#endif

namespace {

// TAP's descriptions are one line; "#" would start a directive.
std::string one_line(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        out += c == '\n' ? ' ' : (c == '#' ? '_' : c);
    }
    return out;
}

// The lines of @text as TAP diagnostics.
void diagnose(std::ostream& os, const std::string& text) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        os << "# " << line << '\n';
    }
}

#ifdef WQ_CATCH2_V3
using Base = Catch::StreamingReporterBase;
#else
using Base = Catch::StreamingReporterBase<struct TapCasesReporter>;
#endif

struct TapCasesReporter final : Base {
#ifdef WQ_CATCH2_V3
    explicit TapCasesReporter(Catch::ReporterConfig&& config) : Base(CATCH_MOVE(config)) {}
    std::ostream& out() {
        return m_stream;
    }
    static const std::string& name_of(const Catch::TestCaseStats& stats) {
        return stats.testInfo->name;
    }
#else
    explicit TapCasesReporter(const Catch::ReporterConfig& config) : Base(config) {}
    std::ostream& out() {
        return stream;
    }
    static const std::string& name_of(const Catch::TestCaseStats& stats) {
        return stats.testInfo.name;
    }
    void noMatchingTestCases(const std::string& spec) override {
        out() << "# no test cases match " << spec << '\n';
    }
    void assertionStarting(const Catch::AssertionInfo& /*info*/) override {}
#endif

    static std::string getDescription() {
        return "TAP, a line per test case";
    }

#ifdef WQ_CATCH2_V3
    void assertionEnded(const Catch::AssertionStats& stats) override {
#else
    bool assertionEnded(const Catch::AssertionStats& stats) override {
#endif
        const Catch::AssertionResult& r = stats.assertionResult;
        if (!r.isOk() || r.getResultType() == Catch::ResultWas::Warning) {
            std::ostringstream what;
            what << r.getSourceInfo().file << ':' << r.getSourceInfo().line << ": ";
            if (r.hasExpression()) {
                what << r.getExpressionInMacro() << " with expansion " << r.getExpandedExpression();
            }
            if (r.hasMessage()) {
                what << ' ' << r.getMessage();
            }
            // A warning's message is its only information.
            for (const auto& info : stats.infoMessages) {
                if (!r.isOk()) {
                    what << "\n  " << info.message;
                }
            }
            diagnose(out(), what.str());
        }
#ifndef WQ_CATCH2_V3
        return true;
#endif
    }

    // A test case's time: its outermost section's, summed over the runs
    // that its nested sections make.
    void sectionStarting(const Catch::SectionInfo& info) override {
        ++depth_;
        Base::sectionStarting(info);
    }
    void sectionEnded(const Catch::SectionStats& stats) override {
        if (--depth_ == 0) {
            seconds_ += stats.durationInSeconds;
        }
        Base::sectionEnded(stats);
    }

    void testCaseEnded(const Catch::TestCaseStats& stats) override {
        ++cases_;
        const bool ok = stats.totals.assertions.failed == 0 && stats.totals.testCases.failed == 0;
        out() << (ok ? "ok " : "not ok ") << cases_ << " - " << one_line(name_of(stats)) << '\n';
        out() << "# " << std::fixed << std::setprecision(3) << seconds_ << " s\n";
        seconds_ = 0;
        if (!stats.stdOut.empty()) {
            diagnose(out(), stats.stdOut);
        }
        if (!stats.stdErr.empty()) {
            diagnose(out(), stats.stdErr);
        }
        out().flush();
        Base::testCaseEnded(stats);
    }

    void testRunEnded(const Catch::TestRunStats& stats) override {
        out() << "1.." << cases_ << '\n';
        out().flush();
        Base::testRunEnded(stats);
    }

private:
    std::size_t cases_ = 0;
    int depth_ = 0;
    double seconds_ = 0;
};

} // namespace

CATCH_REGISTER_REPORTER("tap-cases", TapCasesReporter)
