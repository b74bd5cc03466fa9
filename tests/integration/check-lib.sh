# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Sourced by the guest's check scripts (keyctl_compat.sh, wqmon.sh,
# examples.sh, fleet-journal.sh, fleet-metrics.sh, and the debug lane's
# fuzz and guest-checks): TAP, one numbered
# "ok N - <check>" or "not ok N - <check>: <reason>" line per check and the
# plan "1..N" when the script exits (tests/vm/guest-suite.sh fails a run
# without it); the count of failures; and the clean-up of what a script
# started (background programs in bg_pids, the scratch directory in work).

# A script that execs itself (into a new session keyring) hands the number
# of its checks so far on in WQ_CHECKS_DONE: an exec runs no EXIT trap.
checks=${WQ_CHECKS_DONE:-0}
unset WQ_CHECKS_DONE
failures=0
work=
bg_pids=()

pass() {
	checks=$((checks + 1))
	echo "ok $checks - $1"
}

fail() {
	checks=$((checks + 1))
	echo "not ok $checks - $1: $2"
	failures=$((failures + 1))
}

# A failed precondition: nothing else can be checked.
fatal() {
	fail "$1" "$2"
	exit 1
}

# A file on one line, for a failure's reason.
show() { tr '\n' '|' <"$1" | cut -c1-400; }

# For the exit: stopped programs are woken up so that they can die.
check_cleanup() {
	local pid
	for pid in "${bg_pids[@]}"; do
		kill -CONT "$pid" 2>/dev/null
		kill "$pid" 2>/dev/null
	done
	[[ -n $work ]] && rm -rf "$work"
}

# The EXIT trap: the script's clean-up (check_cleanup, or the function it
# names with on_exit), then the plan, last, so that an exit by fatal()
# still has the count.  Names with check_lib_: the scripts' own functions
# are check_*.
check_lib_cleanup=check_cleanup
on_exit() { check_lib_cleanup=$1; }
check_lib_exit() {
	"$check_lib_cleanup"
	echo "1..$checks"
}
trap check_lib_exit EXIT

# wait_exit PID: true once PID (a child of the script) has exited within
# $WAIT seconds; its exit status in $exit_status, which the sourcing
# scripts read.
# shellcheck disable=SC2034
exit_status=
wait_exit() {
	local deadline=$((SECONDS + WAIT))
	while kill -0 "$1" 2>/dev/null; do
		((SECONDS <= deadline)) || return 1
		sleep 0.1
	done
	wait "$1"
	# shellcheck disable=SC2034 # read by the sourcing scripts
	exit_status=$?
	return 0
}
