# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Sourced by the guest's check scripts (keyctl_compat.sh, wqmon.sh,
# examples.sh): one "PASS <check>" or "FAIL <check>: <reason>" line per
# check, the count of failures, and the clean-up of what a script started
# (background programs in bg_pids, the scratch directory in work).

failures=0
work=
bg_pids=()

pass() { echo "PASS $1"; }

fail() {
	echo "FAIL $1: $2"
	failures=$((failures + 1))
}

# A failed precondition: nothing else can be checked.
fatal() {
	fail "$1" "$2"
	exit 1
}

# A file on one line, for a FAIL message.
show() { tr '\n' '|' <"$1" | cut -c1-400; }

# For trap ... EXIT: stopped programs are woken up so that they can die.
check_cleanup() {
	local pid
	for pid in "${bg_pids[@]}"; do
		kill -CONT "$pid" 2>/dev/null
		kill "$pid" 2>/dev/null
	done
	[[ -n $work ]] && rm -rf "$work"
}

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
