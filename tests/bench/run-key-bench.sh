#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest script (tests/vm/run-lane --script tests/bench/run-key-bench.sh LANE):
# the cost of keyctl(KEYCTL_UPDATE) in five configurations measured side by
# side, interleaved in rounds (the order rotates every round) so that drift
# hits them all alike:
#   not loaded     watch_queue.ko not loaded
#   no watches     loaded, no key watch (the hooks are not registered)
#   armed          one queue watching another key: the hooks run, nothing
#                  is posted (the cost of the probes alone)
#   1 watcher      one queue watching the updated key
#   64 watchers    64 queues watching it
# Each measurement is one run of key_bench (pinned to CPU 0, updates timed
# in batches of 256 with CLOCK_MONOTONIC, the queues drained between
# batches), giving two figures: the 10th percentile of its batches'
# ns/update (time lost to preemption only ever adds, so this is the steady
# figure under emulation on a busy host) and the plain mean.  Prints, per
# configuration, the median of the rounds of both and their ratios to "not
# loaded", then the targets, judged on the percentile figure, as PASS/MISS
# lines; the same goes to $WQ_OUT/key-bench.txt.  A figure printer, not a
# test: a MISS does not fail the run, an error does.
# Run with WQ_ICOUNT=0 (tests/vm/README.md), the guest clock counts
# instructions: the figures are then instructions per update.
#
# Environment: WQ_MODDIR, WQ_BIN, WQ_OUT (set by run-lane), WQ_TESTMODDIR
# (to reload wq_test.ko if it was loaded); optional KEY_BENCH_ROUNDS (7),
# KEY_BENCH_UPDATES (16000 per measurement).
set -u

BENCH_NAME=run-key-bench
# shellcheck source=tests/bench/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

: "${WQ_MODDIR:?WQ_MODDIR is not set}"
: "${WQ_OUT:?WQ_OUT is not set}"
WQ_BIN=${WQ_BIN:-${WQ_SRC:-.}/build/meson}
readonly bench=$WQ_BIN/tests/bench/key_bench
readonly ko=$WQ_MODDIR/watch_queue.ko
readonly rounds=${KEY_BENCH_ROUNDS:-7}
readonly updates=${KEY_BENCH_UPDATES:-16000}
readonly report=$WQ_OUT/key-bench.txt
readonly hooks=/sys/module/watch_queue/parameters/key_hooks
readonly configs=(unloaded idle armed one many)

declare -A label=([unloaded]="not loaded" [idle]="no watches" [armed]="armed, other"
	[one]="1 watcher" [many]="64 watchers")
declare -A options=([unloaded]="--watchers 0" [idle]="--watchers 0"
	[armed]="--watchers 1 --watch-other" [one]="--watchers 1" [many]="--watchers 64")
declare -A p10s=() means=()

# The previous run's queues are closed; the hooks are disarmed by a work
# item, at once: the module is loaded with key_hooks_linger_ms=0 (the
# linger limits how often a user can make the hooks re-arm, which does not
# matter here, and would race with this wait).
wait_disarmed() {
	local i state
	for i in $(seq 100); do
		read -r state _ <"$hooks"
		[[ $state == disarmed ]] && return 0
		sleep 0.05
	done
	die "key hooks still armed: $(cat "$hooks")"
}

measure() { # config
	local line p10 mean
	if [[ $1 == unloaded ]]; then
		unload
	else
		load key_hooks_linger_ms=0
		wait_disarmed
	fi
	# shellcheck disable=SC2086 # options is a word list
	line=$("$bench" ${options[$1]} --updates "$updates") ||
		die "key_bench failed (${label[$1]})"
	p10=${line##*batch_p10=}
	p10=${p10%% *}
	mean=${line##*ns_per_update=}
	mean=${mean%% *}
	p10s[$1]+="$p10 "
	means[$1]+="$mean "
	echo "  ${label[$1]}: $p10 ns/update (mean $mean)"
}

[[ -x $bench ]] || die "$bench is missing (build with meson first)"
[[ -f $ko ]] || die "$ko is missing"
mkdir -p "$WQ_OUT"
had_watch_queue=0 had_wq_test=0
loaded watch_queue && had_watch_queue=1
loaded wq_test && had_wq_test=1

{
	echo "key bench: keyctl(KEYCTL_UPDATE) of one user key, $updates updates per measurement,"
	echo "$rounds rounds, CPU 0, kernel $(uname -r)"
} | tee "$report"

run_rounds

# Leave the modules as they were found.
unload
if ((had_watch_queue)); then
	load
	if ((had_wq_test)) && [[ -n ${WQ_TESTMODDIR:-} ]]; then
		insmod "$WQ_TESTMODDIR/wq_test.ko" || die "insmod wq_test.ko failed"
	fi
fi

declare -A p10=() mean=()
for c in "${configs[@]}"; do
	# shellcheck disable=SC2086 # the figures are word lists
	p10[$c]=$(median ${p10s[$c]})
	# shellcheck disable=SC2086
	mean[$c]=$(median ${means[$c]})
done

target() { # config limit-percent text
	awk -v a="${p10[$1]}" -v b="${p10[unloaded]}" -v lim="$2" -v text="$3" 'BEGIN {
		printf "%s %s (%+.1f%%)\n", (a <= b * (1 + lim / 100)) ? "PASS" : "MISS", text,
			(a / b - 1) * 100 }'
}

{
	echo "ns/update, median of the rounds: p10 = 10th percentile of a run's batches, mean = whole run"
	printf '%-12s %9s %7s %9s %7s\n' configuration p10 ratio mean ratio
	for c in "${configs[@]}"; do
		printf '%-12s %9s %7s %9s %7s\n' "${label[$c]}" \
			"${p10[$c]}" "$(ratio "${p10[$c]}" "${p10[unloaded]}")" \
			"${mean[$c]}" "$(ratio "${mean[$c]}" "${mean[unloaded]}")"
	done
	echo "per round (p10):"
	for c in "${configs[@]}"; do
		printf '  %-12s %s\n' "${label[$c]}" "${p10s[$c]}"
	done
	target idle 1 "no watches within 1% of not loaded"
	target one 10 "one watcher within 10% of not loaded"
} | tee -a "$report"
