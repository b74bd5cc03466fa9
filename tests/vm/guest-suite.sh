#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs inside the test guest, as root: loads watch_queue.ko and wq_test.ko,
# runs every integration suite, unloads both modules.
#
# Environment (set by tests/vm/run-lane):
#   WQ_SRC         repository root
#   WQ_MODDIR      directory with watch_queue.ko
#   WQ_TESTMODDIR  directory with wq_test.ko
#   WQ_OUT         writable directory shared with the host
#   WQ_BIN         meson build directory (default $WQ_SRC/build/meson)
#   WQ_LANE, WQ_KVER   lane name and kernel release, for the log
#   WQ_SUITES      optional: space-separated suite names to run (default: all)
#   WQ_SUITE_TIMEOUT   optional: seconds per suite (default 900)
#
# Output in $WQ_OUT: results.txt with one line "<suite> <passed> <failed>"
# per suite (test cases or checks, from their TAP), plus the pseudo-suites
# "modules" (load, device node, unload) and "kernel-log" (none of the
# reports of tests/vm/splat-patterns: BUG, WARNING, Oops, lockdep, KASAN,
# ...); <suite>.log with each suite's output; dmesg.txt.  Exits non-zero
# if anything failed.
set -u

: "${WQ_SRC:?WQ_SRC is not set}"
: "${WQ_MODDIR:?WQ_MODDIR is not set}"
: "${WQ_TESTMODDIR:?WQ_TESTMODDIR is not set}"
: "${WQ_OUT:?WQ_OUT is not set}"
WQ_BIN=${WQ_BIN:-$WQ_SRC/build/meson}
suite_timeout=${WQ_SUITE_TIMEOUT:-900}
results=$WQ_OUT/results.txt
status=0

log() { echo "guest-suite[${WQ_LANE:-?} ${WQ_KVER:-$(uname -r)}]: $*"; }

result() { # suite passed failed
    echo "$1 $2 $3" >>"$results"
    [ "$3" -eq 0 ] || status=1
}

# Test cases or checks passed and failed from the TAP in $1 (Catch2's
# "tap-cases" reporter, a line per test case; the other suites, a line per
# check), given the exit status $2: prints "passed failed". A run that
# ended without its plan (it crashed or timed out) or whose plan does not
# match its lines, or a non-zero exit with no failed case, fails once more.
tap_counts() {
    local file=$1 rc=$2 passed failed plan
    passed=$(grep -cE '^ok [0-9]+ - ' "$file")
    failed=$(grep -cE '^not ok [0-9]+ - ' "$file")
    plan=$(grep -E '^1\.\.[0-9]+$' "$file" | tail -n 1)
    if [ -z "$plan" ] || [ "${plan#1..}" -ne $((passed + failed)) ]; then
        failed=$((failed + 1))
    elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
    fi
    echo "$passed $failed"
}

# Runs a program that prints TAP (a line per test case or check, and the
# plan) as suite $1.
run_check_suite() { # suite command...
    local suite=$1 out rc counts passed failed
    shift
    if [ -n "${WQ_SUITES:-}" ] && [[ " $WQ_SUITES " != *" $suite "* ]]; then
        return 0
    fi
    log "suite $suite"
    out=$WQ_OUT/$suite.log
    timeout --kill-after=10 "$suite_timeout" "$@" >"$out" 2>&1
    rc=$?
    [ "$rc" -eq 124 ] && echo "guest-suite: timed out after ${suite_timeout}s" >>"$out"
    # No process substitution: the guest has no /dev/fd.
    counts=$(tap_counts "$out" "$rc")
    passed=${counts% *}
    failed=${counts#* }
    log "suite $suite: $passed passed, $failed failed (exit $rc)"
    result "$suite" "$passed" "$failed"
}

wait_for_node() { # path
    local i
    for i in $(seq 50); do
        [ -c "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

mkdir -p "$WQ_OUT"
: >"$results"
dmesg -C 2>/dev/null || true

mod_ok=0
mod_failed=0
loaded=()
for ko in "$WQ_MODDIR/watch_queue.ko" "$WQ_TESTMODDIR/wq_test.ko"; do
    if insmod "$ko"; then
        loaded+=("$(basename "$ko" .ko)")
        mod_ok=$((mod_ok + 1))
    else
        log "insmod $ko failed"
        mod_failed=$((mod_failed + 1))
    fi
done

if [ "$mod_failed" -eq 0 ]; then
    for node in /dev/watch_queue /dev/wq_test; do
        if ! wait_for_node "$node"; then
            log "$node did not appear"
            mod_failed=$((mod_failed + 1))
        fi
    done
    mode=$(stat -c %A /dev/watch_queue 2>/dev/null)
    if [ "$mode" != "crw-rw-rw-" ]; then
        log "/dev/watch_queue has mode '$mode', expected crw-rw-rw-"
        mod_failed=$((mod_failed + 1))
    fi
fi

if [ "$mod_failed" -eq 0 ]; then
    for bin in "$WQ_BIN"/tests/integration/it-*; do
        if [ -f "$bin" ] && [ -x "$bin" ]; then
            run_check_suite "${bin##*/it-}" "$bin" --reporter tap-cases
        fi
    done
    # The module's KUnit suites, run when it was loaded, on a kernel with
    # KUnit (the debug lane's).
    if [ -d /sys/kernel/debug/kunit ]; then
        run_check_suite kunit "$WQ_SRC/tests/debug-kernel/kunit-results"
    fi
    # Programs that print TAP, a line per check.
    compat_lib=$WQ_BIN/userlib/preload/libwatchqueue-compat.so
    run_check_suite compat-upstream-api \
        env LD_PRELOAD="$compat_lib" "$WQ_BIN/tests/integration/upstream-api-keys"
    run_check_suite compat-keyctl \
        env WQ_COMPAT_LIB="$compat_lib" "$WQ_SRC/tests/integration/keyctl_compat.sh"
    # wqmon, the CLI monitor, end to end on real events.
    run_check_suite wqmon \
        env WQMON="$WQ_BIN/tools/wqmon/wqmon" "$WQ_SRC/tests/integration/wqmon.sh"
    # wqmon --journal against the real systemd-journald: a medium error, a
    # write-back error, and the module reloaded under the running wqmon.
    run_check_suite fleet-journal \
        env WQMON="$WQ_BIN/tools/wqmon/wqmon" WQ_MODDIR="$WQ_MODDIR" \
        WQ_TESTMODDIR="$WQ_TESTMODDIR" "$WQ_SRC/tests/integration/fleet-journal.sh"
    # wqmon --metrics-textfile read by node_exporter's textfile collector.
    run_check_suite fleet-metrics \
        env WQMON="$WQ_BIN/tools/wqmon/wqmon" "$WQ_SRC/tests/integration/fleet-metrics.sh"
    # The library's example programs (userlib/examples).
    run_check_suite examples \
        env WQ_EXAMPLES="$WQ_BIN/userlib/examples" "$WQ_SRC/tests/integration/examples.sh"
    # Everything at once (tests/stress): 60 s on the debug lane, 15 s
    # elsewhere; allocation failures injected (tests/faultinject, debug
    # lane only: it needs CONFIG_FAILSLAB and CONFIG_FAIL_PAGE_ALLOC).
    if [ "${WQ_LANE:-}" = debug ]; then
        run_check_suite stress "$WQ_BIN/tests/stress/wq-stress" --seconds "${WQ_STRESS_SECONDS:-60}"
        run_check_suite faultinject "$WQ_BIN/tests/faultinject/wq-faultinject"
    else
        run_check_suite stress "$WQ_BIN/tests/stress/wq-stress" --seconds "${WQ_STRESS_SECONDS:-15}"
    fi
    # trinity and stress-ng against the device, unprivileged (debug lane,
    # or any lane by name: WQ_SUITES=fuzz).
    if [ "${WQ_LANE:-}" = debug ] || [[ " ${WQ_SUITES:-} " == *" fuzz "* ]]; then
        run_check_suite fuzz "$WQ_SRC/tests/debug-kernel/fuzz"
    fi
else
    log "modules not usable: no suite run"
fi

for ((i = ${#loaded[@]} - 1; i >= 0; i--)); do
    if rmmod "${loaded[i]}"; then
        mod_ok=$((mod_ok + 1))
    else
        log "rmmod ${loaded[i]} failed"
        lsmod >&2
        mod_failed=$((mod_failed + 1))
    fi
done
result modules "$mod_ok" "$mod_failed"

# Load/use/unload cycles with both modules unloaded (tests/reload): 100 on
# the debug lane, 20 elsewhere.  Then, on a debug kernel, kmemleak and
# lockdep over the whole run (tests/debug-kernel/guest-checks).
if [ "$mod_failed" -eq 0 ]; then
    cycles=20
    [ "${WQ_LANE:-}" = debug ] && cycles=100
    run_check_suite reload "$WQ_BIN/tests/reload/wq-reload" "${WQ_RELOAD_CYCLES:-$cycles}"
fi
if [ -e /sys/kernel/debug/kmemleak ] || [ -e /proc/lockdep_stats ]; then
    run_check_suite debug-checks "$WQ_SRC/tests/debug-kernel/guest-checks"
fi

dmesg >"$WQ_OUT/dmesg.txt" 2>&1
# The same patterns run-lane looks for in the console (tests/vm/splat-patterns).
if grep -qF -f "$WQ_SRC/tests/vm/splat-patterns" "$WQ_OUT/dmesg.txt"; then
    log "kernel log reports a problem (see dmesg.txt)"
    result kernel-log 0 1
else
    result kernel-log 1 0
fi

log "results:"
cat "$results"
exit "$status"
