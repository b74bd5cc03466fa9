#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The "tap-cases" reporter (tests/support/tap_reporter.cc) against a sample
# with known outcomes: a line per test case, the failure and the warning
# as diagnostics, a time per case, the plan last, and a failing exit.
# Prints its own TAP; the sample's output only as diagnostics.
#
# usage: tap-reporter-check.sh SAMPLE_BINARY
set -u
sample=${1:?usage: tap-reporter-check.sh SAMPLE_BINARY}
out=$("$sample" --reporter tap-cases 2>&1)
rc=$?
n=0
fails=0
check() { # description, then the command that must succeed
	local what=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
		fails=$((fails + 1))
	fi
}
has() { grep -qxE -- "$1" <<<"$out"; }
check "the sample exits non-zero" test "$rc" -ne 0
check "a passing case is ok" has 'ok 1 - sample passes'
check "a failing case is not ok, its # made harmless" \
	has 'not ok 2 - sample fails _ with a hash'
check "the failed expression is a diagnostic" \
	has '# .*tap_sample\.cc:[0-9]+: CHECK\( ?answer == 42 ?\) with expansion 41 == 42'
check "the failure's INFO is a diagnostic" has '#   the info of the failure'
check "a warning is a diagnostic of an ok case" has '# .*SKIPPED: the sample.s warning'
check "a warned case is ok" has 'ok 3 - sample warns'
check "a case with sections is one line" has 'ok 4 - sample sections'
check "each case has its time" test "$(grep -cE '^# [0-9]+\.[0-9]{3} s$' <<<"$out")" -eq 4
check "the plan is the last line" test "$(tail -n 1 <<<"$out")" = "1..4"
check "no other line is a result" test "$(grep -cE '^(not )?ok ' <<<"$out")" -eq 4
echo "1..$n"
if ((fails)); then
	while IFS= read -r line; do echo "# | $line"; done <<<"$out"
	exit 1
fi
